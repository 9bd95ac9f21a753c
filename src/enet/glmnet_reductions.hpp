#pragma once
// Reductions of the glmnet port's coordinate descent (glmnet_path.cpp): glmnet's own dot products
// in Eigen's SSE2 order (dot_e and its fused and four-wide forms, bit-identical to R), the
// half-precision screening estimates and the finiteness scan.
//
// Internal linkage on purpose (anonymous namespace): this header is only for translation units
// compiled with -ffp-contract=off (src/enet/CMakeLists.txt). A copy built with contraction on would
// fuse glmnet's products into FMAs and stop matching R, and internal linkage keeps the linker from
// ever picking such a copy.
#include <Eigen/Core>

#include <cstddef>
#include <cstdint>
#include <vector>
#if defined(__AVX__)
#include <immintrin.h>
#endif

namespace scpx::enet {
namespace {

// Reductions in the exact order of Eigen's SSE2 redux, which is what glmnetpp runs inside R
// (CRAN builds have no -mavx): products in pairs, two 2-lane accumulators over blocks of four
// elements, one leftover pair, lane sum, then the scalar tail. Written out by hand (internal
// linkage, compiled with -ffp-contract=off) so the result does not depend on this build's
// -march or on which TU's Eigen instantiation the linker keeps. This is what makes the port
// agree with glmnet bit for bit instead of to ~1e-12 (see tests/unit/enet).
using cvec_map = Eigen::Map<const Eigen::VectorXd>;

/// The end of dot_e(a, b, n) once p0, p1 hold the two lanes of its packet sum over the blocks of
/// four (n ≥ 4), or the products of elements 0 and 1 (n = 2, 3): the leftover pair, the lane sum
/// and the scalar tail, in Eigen's order.
inline double finish_dot_e(double p0, double p1, const double* a, const double* b, int n) {
    const int aligned = n & ~1;           // elements covered by whole 2-lane packets
    const int aligned2 = n & ~3;          // ... by whole blocks of two packets
    if (aligned2 > 0 && aligned > aligned2) {
        p0 = p0 + a[aligned2] * b[aligned2];
        p1 = p1 + a[aligned2 + 1] * b[aligned2 + 1];
    }
    double res = p0 + p1;
    for (int i = aligned; i < n; ++i) res = res + a[i] * b[i];
    return res;
}

inline double dot_e(const double* a, const double* b, int n) {
    if (n < 2) return n == 1 ? a[0] * b[0] : 0.0;
    double p0 = a[0] * b[0], p1 = a[1] * b[1];
    if (n >= 4) {
        const int aligned2 = n & ~3;
        double q0 = a[2] * b[2], q1 = a[3] * b[3];
        for (int i = 4; i < aligned2; i += 4) {
            p0 = p0 + a[i] * b[i];
            p1 = p1 + a[i + 1] * b[i + 1];
            q0 = q0 + a[i + 2] * b[i + 2];
            q1 = q1 + a[i + 3] * b[i + 3];
        }
        p0 = p0 + q0;
        p1 = p1 + q1;
    }
    return finish_dot_e(p0, p1, a, b, n);
}

#if defined(__AVX__)
/// finish_dot_e for the four lanes of an AVX accumulator (lanes 0,1 = Eigen's packet_res0,
/// lanes 2,3 = packet_res1; n ≥ 4).
inline double finish_dot_e(__m256d acc, const double* a, const double* b, int n) {
    alignas(32) double l[4];
    _mm256_store_pd(l, acc);
    return finish_dot_e(l[0] + l[2], l[1] + l[3], a, b, n);
}
#endif

/// r -= d·xp element-wise, then returns dot_e(r, xk, n): one sweep over r instead of two, with
/// exactly the numbers of the separate update and dot (naive mode: the residual update of one
/// coordinate is fused with the gradient of the next).
inline double axpy_dot_e(double* r, double d, const double* xp, const double* xk, int n) {
#if defined(__AVX__)
    if (n >= 8) {
        const int aligned2 = n & ~3;
        const __m256d dv = _mm256_set1_pd(d);
        __m256d rv = _mm256_sub_pd(_mm256_loadu_pd(r), _mm256_mul_pd(dv, _mm256_loadu_pd(xp)));
        _mm256_storeu_pd(r, rv);
        __m256d acc = _mm256_mul_pd(rv, _mm256_loadu_pd(xk));
        for (int i = 4; i < aligned2; i += 4) {
            rv = _mm256_sub_pd(_mm256_loadu_pd(r + i), _mm256_mul_pd(dv, _mm256_loadu_pd(xp + i)));
            _mm256_storeu_pd(r + i, rv);
            acc = _mm256_add_pd(acc, _mm256_mul_pd(rv, _mm256_loadu_pd(xk + i)));
        }
        for (int i = aligned2; i < n; ++i) r[i] = r[i] - d * xp[i];
        return finish_dot_e(acc, r, xk, n);
    }
#endif
    for (int i = 0; i < n; ++i) r[i] = r[i] - d * xp[i];
    return dot_e(r, xk, n);
}

/// Four dot products a·b[c], each bit-identical to dot_e(a, b[c], n): the four independent
/// accumulator chains hide the add latency that bounds a single dot_e. Used where many columns
/// meet the same vector (KKT checks, new gram columns); each result equals dot_e's bit for bit.
/// Its own loop rather than dot4_pairs_e with the same a four times: one load of a per step
/// instead of four measured ~4 % faster on the p = 6,000 3-repeat benchmark.
inline void dot4_e(const double* a, const double* const* b, int n, double* out) {
#if defined(__AVX__)
    if (n >= 8) {
        const int aligned2 = n & ~3;
        __m256d av = _mm256_loadu_pd(a);
        __m256d c0 = _mm256_mul_pd(av, _mm256_loadu_pd(b[0]));
        __m256d c1 = _mm256_mul_pd(av, _mm256_loadu_pd(b[1]));
        __m256d c2 = _mm256_mul_pd(av, _mm256_loadu_pd(b[2]));
        __m256d c3 = _mm256_mul_pd(av, _mm256_loadu_pd(b[3]));
        for (int i = 4; i < aligned2; i += 4) {
            av = _mm256_loadu_pd(a + i);
            c0 = _mm256_add_pd(c0, _mm256_mul_pd(av, _mm256_loadu_pd(b[0] + i)));
            c1 = _mm256_add_pd(c1, _mm256_mul_pd(av, _mm256_loadu_pd(b[1] + i)));
            c2 = _mm256_add_pd(c2, _mm256_mul_pd(av, _mm256_loadu_pd(b[2] + i)));
            c3 = _mm256_add_pd(c3, _mm256_mul_pd(av, _mm256_loadu_pd(b[3] + i)));
        }
        const __m256d cs[4] = {c0, c1, c2, c3};
        for (int c = 0; c < 4; ++c) out[c] = finish_dot_e(cs[c], a, b[c], n);
        return;
    }
#endif
    for (int c = 0; c < 4; ++c) out[c] = dot_e(a, b[c], n);
}

/// dot_e(a[c], b[c], n) for four pairs at once, each bit-identical to dot_e (four independent
/// accumulator chains instead of one: standardisation's means and sums of squares).
inline void dot4_pairs_e(const double* const* a, const double* const* b, int n, double* out) {
#if defined(__AVX__)
    if (n >= 8) {
        const int aligned2 = n & ~3;
        __m256d c[4];
        for (int k = 0; k < 4; ++k) c[k] = _mm256_mul_pd(_mm256_loadu_pd(a[k]), _mm256_loadu_pd(b[k]));
        for (int i = 4; i < aligned2; i += 4)
            for (int k = 0; k < 4; ++k)
                c[k] = _mm256_add_pd(c[k], _mm256_mul_pd(_mm256_loadu_pd(a[k] + i), _mm256_loadu_pd(b[k] + i)));
        for (int k = 0; k < 4; ++k) out[k] = finish_dot_e(c[k], a[k], b[k], n);
        return;
    }
#endif
    for (int k = 0; k < 4; ++k) out[k] = dot_e(a[k], b[k], n);
}

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define SCPX_ENET_HALF_SCREEN 1
/// Screening copy of x̃ in IEEE half precision: column-major, `ld` values per column (n rounded
/// up to a multiple of 16, zero-padded, so the estimate kernel has no tail).
void to_half(const Eigen::MatrixXd& x, int ld, std::vector<std::uint16_t>& out) {
    const auto n = static_cast<int>(x.rows());
    out.assign(static_cast<size_t>(ld) * static_cast<size_t>(x.cols()), 0);
    for (Eigen::Index j = 0; j < x.cols(); ++j) {
        const double* c = x.col(j).data();
        std::uint16_t* h = out.data() + static_cast<std::ptrdiff_t>(j) * ld;
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            const __m256 f = _mm256_set_m128(_mm256_cvtpd_ps(_mm256_loadu_pd(c + i + 4)),
                                             _mm256_cvtpd_ps(_mm256_loadu_pd(c + i)));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(h + i), _mm256_cvtps_ph(f, _MM_FROUND_TO_NEAREST_INT));
        }
        for (; i < n; ++i) h[i] = _cvtss_sh(static_cast<float>(c[i]), _MM_FROUND_TO_NEAREST_INT);
    }
}

/// Screening estimates of <x̃_j, r> for four half-precision columns and a float copy of r
/// (both `ld` long): float products and sums, eight lanes × two chains per column. Error bound:
/// screen_grads. A quarter of the bytes of the exact dot, which is what the strong-rule and KKT
/// scans are bound by.
inline void dot4_screen(const float* r, const std::uint16_t* const* b, int ld, double* out) {
    __m256 c[8];
    for (auto& v : c) v = _mm256_setzero_ps();
    for (int i = 0; i < ld; i += 16) {
        const __m256 r0 = _mm256_loadu_ps(r + i), r1 = _mm256_loadu_ps(r + i + 8);
        for (int k = 0; k < 4; ++k) {
            const auto* h = reinterpret_cast<const __m128i*>(b[k] + i);
            c[2 * k] = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(h)), r0, c[2 * k]);
            c[2 * k + 1] = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(h + 1)), r1, c[2 * k + 1]);
        }
    }
    for (int k = 0; k < 4; ++k) {
        alignas(32) float l[8];
        _mm256_store_ps(l, _mm256_add_ps(c[2 * k], c[2 * k + 1]));
        out[k] = static_cast<double>(((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7])));
    }
}
#endif

/// True when every value is finite: v·0 is ±0 for finite v and NaN for ±inf or NaN, and a NaN
/// survives the sums. Eight independent sums so the scan vectorises (Eigen's allFinite does not;
/// it ran once per fold fit over the whole training matrix).
bool all_finite(const double* d, std::ptrdiff_t n) {
    double acc[8] = {};
    std::ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; ++k) acc[k] += d[i + k] * 0.0;
    double s = 0.0;
    for (double a : acc) s += a;
    for (; i < n; ++i) s += d[i] * 0.0;
    return s == 0.0;
}

} // namespace
} // namespace scpx::enet
