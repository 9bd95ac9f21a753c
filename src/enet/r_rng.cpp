// R's default RNG (Mersenne-Twister + set.seed scrambling) and R >= 3.6 "Rejection" sampling,
// following R's src/main/RNG.c (RNG_Init, FixupSeeds, MT_genrand, fixup, rbits, R_unif_index)
// and src/main/random.c (do_sample, equal-probability branch). Every arithmetic step is kept in
// R's types (unsigned 32-bit words, doubles) so the streams agree exactly.
#include "scpx/enet/r_rng.hpp"

#include "scpx/core/error.hpp"

#include <fmt/format.h>

#include <cmath>

namespace scpx::enet {

namespace {

constexpr int mt_n = 624;
constexpr int mt_m = 397;
constexpr std::uint32_t matrix_a = 0x9908b0dfU;
constexpr std::uint32_t upper_mask = 0x80000000U;
constexpr std::uint32_t lower_mask = 0x7fffffffU;
constexpr std::uint32_t tempering_mask_b = 0x9d2c5680U;
constexpr std::uint32_t tempering_mask_c = 0xefc60000U;
constexpr double i2_32m1 = 2.328306437080797e-10; // 1/(2^32 - 1), R's fixup constant

// R: ensure 0 and 1 are never returned.
double fixup(double x) {
    if (x <= 0.0) return 0.5 * i2_32m1;
    if ((1.0 - x) <= 0.0) return 1.0 - 0.5 * i2_32m1;
    return x;
}

} // namespace

r_rng::r_rng(std::int32_t seed) { set_seed(seed); }

void r_rng::set_seed(std::int32_t seed) {
    // R's set.seed passes the int as Int32 (unsigned 32-bit); the LCG wraps modulo 2^32.
    std::uint32_t s = static_cast<std::uint32_t>(seed);
    for (int j = 0; j < 50; ++j) s = 69069U * s + 1U; // "initial scrambling"
    // All 625 words, state_[0] (mti) included, "for historical consistency".
    for (std::uint32_t& w : state_) {
        s = 69069U * s + 1U;
        w = s;
    }
    // FixupSeeds(initial = 1): mti = 624 so the first draw regenerates the block. R re-randomizes
    // an all-zero state from the clock; the LCG (odd increment, full period) cannot give 624
    // consecutive zero words, so that branch is unreachable from a seed.
    state_[0] = static_cast<std::uint32_t>(mt_n);
}

double r_rng::mt_genrand() {
    static constexpr std::uint32_t mag01[2] = {0x0U, matrix_a};
    std::uint32_t* mt = state_.data() + 1;
    int mti = static_cast<int>(state_[0]);
    if (mti >= mt_n) {
        // mti == N + 1 (never seeded) cannot occur: the constructor always seeds.
        int kk = 0;
        for (; kk < mt_n - mt_m; ++kk) {
            const std::uint32_t y = (mt[kk] & upper_mask) | (mt[kk + 1] & lower_mask);
            mt[kk] = mt[kk + mt_m] ^ (y >> 1) ^ mag01[y & 0x1U];
        }
        for (; kk < mt_n - 1; ++kk) {
            const std::uint32_t y = (mt[kk] & upper_mask) | (mt[kk + 1] & lower_mask);
            mt[kk] = mt[kk + (mt_m - mt_n)] ^ (y >> 1) ^ mag01[y & 0x1U];
        }
        const std::uint32_t y = (mt[mt_n - 1] & upper_mask) | (mt[0] & lower_mask);
        mt[mt_n - 1] = mt[mt_m - 1] ^ (y >> 1) ^ mag01[y & 0x1U];
        mti = 0;
    }
    std::uint32_t y = mt[mti++];
    y ^= (y >> 11);
    y ^= (y << 7) & tempering_mask_b;
    y ^= (y << 15) & tempering_mask_c;
    y ^= (y >> 18);
    state_[0] = static_cast<std::uint32_t>(mti);
    return static_cast<double>(y) * 2.3283064365386963e-10; // [0, 1)
}

double r_rng::unif_rand() { return fixup(mt_genrand()); }

double r_rng::rbits(int bits) {
    // 16 bits per draw, for n = 0; n <= bits; n += 16 (so bits = 16 takes two draws).
    std::uint64_t v = 0;
    for (int n = 0; n <= bits; n += 16) {
        const int v1 = static_cast<int>(std::floor(unif_rand() * 65536));
        v = 65536 * v + static_cast<std::uint64_t>(v1);
    }
    const std::uint64_t one64 = 1;
    return static_cast<double>(v & ((one64 << bits) - 1));
}

double r_rng::unif_index(double dn) {
    if (dn <= 0) return 0.0;
    const int bits = static_cast<int>(std::ceil(std::log2(dn)));
    double dv;
    do {
        dv = rbits(bits);
    } while (dn <= dv);
    return dv;
}

std::vector<int> r_rng::sample_replace(int n, int size) {
    if (size < 0) throw usage_error(fmt::format("r_rng::sample_replace: invalid size {}", size));
    if (n < 0 || (size > 0 && n == 0))
        throw usage_error(fmt::format("r_rng::sample_replace: invalid first argument {}", n));
    std::vector<int> y(static_cast<std::size_t>(size));
    const double dn = n;
    for (int& v : y) v = static_cast<int>(unif_index(dn) + 1);
    return y;
}

std::vector<int> r_rng::sample_no_replace(int n, int size) {
    if (size < 0) throw usage_error(fmt::format("r_rng::sample_no_replace: invalid size {}", size));
    if (n < 0 || (size > 0 && n == 0))
        throw usage_error(fmt::format("r_rng::sample_no_replace: invalid first argument {}", n));
    if (size > n)
        throw usage_error(fmt::format(
            "r_rng::sample_no_replace: cannot take a sample larger than the population ({} > {})", size, n));
    // do_sample: `replace || k < 2` takes the with-replacement loop (same draws for k = 1).
    if (size < 2) return sample_replace(n, size);
    std::vector<int> x(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) x[static_cast<std::size_t>(i)] = i;
    std::vector<int> y(static_cast<std::size_t>(size));
    int m = n;
    for (int i = 0; i < size; ++i) {
        const auto j = static_cast<std::size_t>(unif_index(m));
        y[static_cast<std::size_t>(i)] = x[j] + 1;
        x[j] = x[static_cast<std::size_t>(--m)];
    }
    return y;
}

} // namespace scpx::enet
