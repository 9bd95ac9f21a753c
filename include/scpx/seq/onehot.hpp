#pragma once
/// @file onehot.hpp
/// One-hot encoding of DNA for the Enformer input: CPU reference (the specification; a CUDA
/// version must match it exactly).
///
/// Layout: float32 `[L, 4]` row-major, channel order A, C, G, T (enformer.md §1), one row per base.
/// Lower-case letters are encoded like upper-case ones.

#include <cstddef>
#include <string_view>
#include <vector>

namespace scpx::seq {

/// How a base other than A/C/G/T (N, IUPAC ambiguity codes, padding) is encoded.
enum class onehot_n_mode {
    ZERO,    ///< all-zero row (enformer-pytorch, scpx default; pipeline.md §1)
    QUARTER  ///< 0.25 in each channel (the TF-Hub feature pipeline)
};

/// Encodes `seq` into `out`, which must hold `4 * seq.size()` floats: `out[4*i + c]`.
void onehot_ref(std::string_view seq, float* out, onehot_n_mode n_mode = onehot_n_mode::ZERO);

/// Same, returning a new `[L, 4]` buffer.
std::vector<float> onehot_ref(std::string_view seq, onehot_n_mode n_mode = onehot_n_mode::ZERO);

} // namespace scpx::seq
