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

/// Channel of a base: A C G T (either case) → 0..3, anything else → −1 (its row is all `other`).
/// constexpr so that the CUDA encoder (kernels/enformer/onehot.cu, --expt-relaxed-constexpr) uses
/// this very definition.
constexpr int onehot_channel(char base) noexcept {
    switch (base) {
    case 'A': case 'a': return 0;
    case 'C': case 'c': return 1;
    case 'G': case 'g': return 2;
    case 'T': case 't': return 3;
    default: return -1;
    }
}

/// Encodes `seq` into `out`, which must hold `4 * seq.size()` floats: `out[4*i + c]`.
void onehot_ref(std::string_view seq, float* out, onehot_n_mode n_mode = onehot_n_mode::ZERO);

/// Same, returning a new `[L, 4]` buffer.
std::vector<float> onehot_ref(std::string_view seq, onehot_n_mode n_mode = onehot_n_mode::ZERO);

} // namespace scpx::seq
