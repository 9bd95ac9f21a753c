#pragma once
/// @file onehot.cuh
/// Enformer's input one-hot built on the device from DNA letters, so a forward pass uploads one
/// byte per base instead of four fp32 values (16 bytes): out[i, :] = A C G T one-hot of bases[i]
/// (either case); any other byte (N, IUPAC codes, padding) gives a row of `other` (0, or 0.25 for
/// the TF-Hub convention). The encoding of seq::onehot_ref, value for value.

#include "kernel_types.cuh"

namespace scpx::cuda {

/// Encodes `count` letters from device memory `bases` into `out` ([count, 4], precision's type),
/// enqueued on `stream`. @throws usage_error on a bad argument
void onehot_encode(const char* bases, std::int64_t count, float other, void* out, precision prec, cudaStream_t stream);

} // namespace scpx::cuda
