#pragma once
/// @file r_rng.hpp
/// R's default random number generator, bit for bit: Mersenne-Twister seeded the way
/// `set.seed()` does it (src/main/RNG.c: RNG_Init, FixupSeeds, MT_genrand), `unif_rand()` and
/// the R >= 3.6.0 default `sample.kind = "Rejection"` (R_unif_index/rbits) with `sample()` /
/// `sample.int()` for equal probabilities (src/main/random.c: do_sample).
///
/// Exists so that fold ids drawn "from a seed" can be the very fold ids PredictDb-nextflow's
/// R scripts draw (`set.seed(seed)`, then `sample(1:k, n, replace = TRUE)` gene after gene).
/// Not implemented: other RNG kinds, "Rounding" sampling (R < 3.6), `prob =` weights, n > 2^31.

#include <array>
#include <cstdint>
#include <vector>

namespace scpx::enet {

/// R's Mersenne-Twister with R's seeding; a value type (copy it to snapshot the stream).
class r_rng {
public:
    /// Same state as R after `set.seed(seed)` (any int; R rejects only NA).
    explicit r_rng(std::int32_t seed);

    /// R's `set.seed(seed)`: 50 LCG scrambling steps, 625 LCG words, mti = 624.
    void set_seed(std::int32_t seed);

    /// R's `unif_rand()`: one tempered MT word × 2^-32, kept inside (0, 1).
    double unif_rand();

    /// `runif(1)` (min 0, max 1): one unif_rand() draw.
    double runif() { return unif_rand(); }

    /// R's `R_unif_index(dn)` under "Rejection": an integer in [0, dn) built from
    /// ceil(log2(dn)) random bits, 16 per unif_rand() draw, redrawn while >= dn.
    /// Note dn = 1 still consumes one draw (bits = 0), as in R.
    double unif_index(double dn);

    /// `sample.int(n, size, replace = TRUE)`: size values in 1..n.
    std::vector<int> sample_replace(int n, int size);

    /// `sample.int(n, size, replace = FALSE)` (size <= n): R's partial Fisher-Yates
    /// (`j = R_unif_index(m); y[i] = x[j] + 1; x[j] = x[--m]`); size == n gives `sample(1:n)`.
    /// size < 2 falls back to R's single-draw branch (identical result for size 1).
    std::vector<int> sample_no_replace(int n, int size);

    /// `sample(1:n)` (a permutation of 1..n).
    std::vector<int> permutation(int n) { return sample_no_replace(n, n); }

    /// `.Random.seed[-1]`: mti followed by the 624 state words (as R stores them, unsigned).
    const std::array<std::uint32_t, 625>& state() const { return state_; }

private:
    double mt_genrand();
    double rbits(int bits);

    std::array<std::uint32_t, 625> state_{}; // state_[0] = mti, state_[1..624] = mt
};

} // namespace scpx::enet
