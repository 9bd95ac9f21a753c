#pragma once
// Device tensors with guard bands for the Enformer kernel cross-tests: the allocation holds
// `guard` extra elements before and after the tensor, all filled with a sentinel byte, so a test
// can assert that a kernel wrote nothing outside its output. Host data is always float; upload
// converts to the storage type of the precision (bf16 rounds to nearest even), download converts
// back.
#include "common.cuh"
#include "enformer/kernel_types.cuh"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace scpx::test {

/// Sentinel byte of the guard bands: 0x7F7F7F7F is a finite float (3.39e38) and 0x7F7F a finite
/// bf16, so a guard value read by mistake shows up as a huge number rather than silently.
constexpr unsigned char kSentinel = 0x7F;

/// "fp32" / "tf32" / "bf16" (gpu::to_string lives in scpx_lib, which this binary does not link).
inline const char* name(gpu::precision p) {
    return p == gpu::precision::FP32 ? "fp32" : p == gpu::precision::TF32 ? "tf32" : "bf16";
}

/// Value `v` after a round trip through precision p's storage type.
inline float round_to(gpu::precision p, float v) {
    return p == gpu::precision::BF16 ? __bfloat162float(__float2bfloat16_rn(v)) : v;
}

inline void round_all(gpu::precision p, std::vector<float>& v) {
    for (auto& x : v) x = round_to(p, x);
}

class guarded_buffer {
public:
    /// n elements of elem_bytes (4: float, 2: bf16) between two guard bands of `guard` elements.
    guarded_buffer(std::size_t n, std::size_t elem_bytes, std::size_t guard = 1024)
        : n_(n), eb_(elem_bytes), guard_(guard) {
        SCPX_CUDA_CHECK(cudaMalloc(&base_, bytes_total()));
        SCPX_CUDA_CHECK(cudaMemset(base_, kSentinel, bytes_total()));
    }
    guarded_buffer(std::size_t n, gpu::precision p, std::size_t guard = 1024)
        : guarded_buffer(n, cuda::element_bytes(p), guard) {}
    ~guarded_buffer() { cudaFree(base_); }
    guarded_buffer(const guarded_buffer&) = delete;
    guarded_buffer& operator=(const guarded_buffer&) = delete;

    void* data() { return static_cast<unsigned char*>(base_) + guard_ * eb_; }
    template <class T> T* as() { return static_cast<T*>(data()); }
    std::size_t size_bytes() const { return n_ * eb_; }

    /// Copies host floats in, converted to the element type (v.size() must be n).
    void upload(const std::vector<float>& v) {
        std::vector<unsigned char> raw(n_ * eb_);
        for (std::size_t i = 0; i < n_; ++i) {
            if (eb_ == 2) {
                const __nv_bfloat16 b = __float2bfloat16_rn(v[i]);
                std::memcpy(raw.data() + 2 * i, &b, 2);
            } else {
                std::memcpy(raw.data() + 4 * i, &v[i], 4);
            }
        }
        SCPX_CUDA_CHECK(cudaMemcpy(data(), raw.data(), raw.size(), cudaMemcpyHostToDevice));
    }

    /// The tensor as host floats.
    std::vector<float> download() const {
        const auto all = raw();
        std::vector<float> v(n_);
        for (std::size_t i = 0; i < n_; ++i) {
            const unsigned char* at = all.data() + (guard_ + i) * eb_;
            if (eb_ == 2) {
                __nv_bfloat16 b;
                std::memcpy(&b, at, 2);
                v[i] = __bfloat162float(b);
            } else {
                std::memcpy(&v[i], at, 4);
            }
        }
        return v;
    }

    /// Number of guard bytes (before and after the tensor) that no longer hold the sentinel.
    std::size_t damaged_guard_bytes() const {
        const auto all = raw();
        std::size_t bad = 0;
        const std::size_t g = guard_ * eb_, t = n_ * eb_;
        for (std::size_t i = 0; i < g; ++i) bad += all[i] != kSentinel;
        for (std::size_t i = g + t; i < all.size(); ++i) bad += all[i] != kSentinel;
        return bad;
    }

private:
    std::size_t bytes_total() const { return (n_ + 2 * guard_) * eb_; }
    std::vector<unsigned char> raw() const {
        std::vector<unsigned char> all(bytes_total());
        SCPX_CUDA_CHECK(cudaMemcpy(all.data(), base_, all.size(), cudaMemcpyDeviceToHost));
        return all;
    }

    std::size_t n_, eb_, guard_;
    void* base_ = nullptr;
};

/// Error of a result against a reference: the largest absolute difference and the RMS of the
/// differences, both relative to the RMS of the reference (so one tolerance fits outputs of any
/// scale), plus the index of the largest difference for the failure message.
struct error_stats {
    double max_rel = 0.0, rms_rel = 0.0;
    std::size_t worst = 0;
    bool finite = true;
};

template <class A, class B> error_stats compare(const std::vector<A>& got, const std::vector<B>& ref) {
    error_stats e;
    double sq = 0.0, ref_sq = 0.0, max_abs = 0.0;
    for (std::size_t i = 0; i < ref.size(); ++i) {
        const double g = static_cast<double>(got[i]), r = static_cast<double>(ref[i]);
        if (!std::isfinite(g)) e.finite = false;
        const double d = std::abs(g - r);
        if (d > max_abs) {
            max_abs = d;
            e.worst = i;
        }
        sq += d * d;
        ref_sq += r * r;
    }
    const double ref_rms = std::sqrt(ref_sq / static_cast<double>(ref.size()));
    e.max_rel = max_abs / ref_rms;
    e.rms_rel = std::sqrt(sq / static_cast<double>(ref.size())) / ref_rms;
    return e;
}

} // namespace scpx::test
