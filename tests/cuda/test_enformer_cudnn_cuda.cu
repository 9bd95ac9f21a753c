// Cross-tests of the cuDNN convolution yardstick (kernels/enformer/cudnn_conv.cu) against the CPU
// reference ops::conv1d_ref, per precision and for Enformer's kernel widths 1, 5 and 15, with the
// ConvBlock input transform, output GELU and residual variants (separate and in place), batch
// chunking, and conv_selector AUTO against CUSTOM (the timing runs must not change the result,
// in particular with an in-place residual). Skipped without a GPU; the cuDNN tests also without a
// loadable cuDNN 9.
#include "enformer/cudnn_conv.cuh"
#include "scpx/core/device.hpp"
#include "scpx/core/error.hpp"
#include "scpx/ops/conv1d.hpp"

#include <cuda_bf16.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace cu = scpx::cuda;
using scpx::gpu::precision;

namespace {

#define SKIP_WITHOUT_GPU()                                                                                   \
    if (!scpx::gpu::available()) GTEST_SKIP() << scpx::gpu::describe()
#define SKIP_WITHOUT_CUDNN()                                                                                 \
    SKIP_WITHOUT_GPU();                                                                                      \
    if (!cu::cudnn_library::get()) GTEST_SKIP() << cu::cudnn_library::describe()

#define CUDA_OK(expr) ASSERT_EQ((expr), cudaSuccess) << #expr

/// Device buffer holding floats in a precision's storage type (fp32, or bf16 for BF16).
class dev_tensor {
public:
    dev_tensor(std::size_t n, precision p) : n_(n), p_(p) {
        if (cudaMalloc(&ptr_, std::max<std::size_t>(1, n) * cu::element_bytes(p)) != cudaSuccess) ptr_ = nullptr;
    }
    ~dev_tensor() { cudaFree(ptr_); }
    dev_tensor(const dev_tensor&) = delete;
    dev_tensor& operator=(const dev_tensor&) = delete;
    void* get() const { return ptr_; }
    void upload(const std::vector<float>& h) const {
        if (p_ == precision::BF16) {
            std::vector<__nv_bfloat16> b(h.size());
            for (std::size_t i = 0; i < h.size(); ++i) b[i] = __float2bfloat16_rn(h[i]);
            cudaMemcpy(ptr_, b.data(), b.size() * 2, cudaMemcpyHostToDevice);
        } else {
            cudaMemcpy(ptr_, h.data(), h.size() * 4, cudaMemcpyHostToDevice);
        }
    }
    std::vector<float> download() const {
        std::vector<float> h(n_);
        if (p_ == precision::BF16) {
            std::vector<__nv_bfloat16> b(n_);
            cudaMemcpy(b.data(), ptr_, n_ * 2, cudaMemcpyDeviceToHost);
            for (std::size_t i = 0; i < n_; ++i) h[i] = __bfloat162float(b[i]);
        } else {
            cudaMemcpy(h.data(), ptr_, n_ * 4, cudaMemcpyDeviceToHost);
        }
        return h;
    }

private:
    void* ptr_ = nullptr;
    std::size_t n_;
    precision p_;
};

class dev_floats {
public:
    explicit dev_floats(const std::vector<float>& h) {
        cudaMalloc(&ptr_, std::max<std::size_t>(1, h.size()) * 4);
        cudaMemcpy(ptr_, h.data(), h.size() * 4, cudaMemcpyHostToDevice);
    }
    ~dev_floats() { cudaFree(ptr_); }
    dev_floats(const dev_floats&) = delete;
    dev_floats& operator=(const dev_floats&) = delete;
    const float* get() const { return ptr_; }

private:
    float* ptr_ = nullptr;
};

/// Values exactly representable in bf16, so both sides see the same inputs in every precision.
std::vector<float> random_vec(std::size_t n, std::mt19937& rng, float scale) {
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> v(n);
    for (float& x : v) x = __bfloat162float(__float2bfloat16_rn(d(rng)));
    return v;
}

/// One convolution case: which ConvBlock parts are on.
struct conv_case {
    std::int64_t batch = 2, length = 97, cin = 32, cout = 48, kernel = 5;
    bool bn = true, in_gelu = true, bias = true, out_gelu = false;
    enum { NONE, SEPARATE, IN_PLACE } residual = NONE;
    std::string name() const {
        return std::to_string(batch) + "x" + std::to_string(length) + "x" + std::to_string(cin) + "->" +
               std::to_string(cout) + " k" + std::to_string(kernel) + (bn ? " bn" : "") + (in_gelu ? " gelu_in" : "") +
               (out_gelu ? " gelu_out" : "") +
               (residual == SEPARATE ? " res" : residual == IN_PLACE ? " res_inplace" : "");
    }
};

/// Host data of a case and its CPU reference result.
struct case_data {
    std::vector<float> x, w, bias, scale, shift, residual, ref;
};

case_data make_data(const conv_case& c, unsigned seed) {
    std::mt19937 rng(seed);
    case_data d;
    d.x = random_vec(static_cast<std::size_t>(c.batch * c.length * c.cin), rng, 1.0f);
    d.w = random_vec(static_cast<std::size_t>(c.kernel * c.cin * c.cout), rng,
                     1.0f / std::sqrt(static_cast<float>(c.kernel * c.cin)));
    d.bias = random_vec(static_cast<std::size_t>(c.cout), rng, 0.5f);
    d.scale = random_vec(static_cast<std::size_t>(c.cin), rng, 1.0f);
    d.shift = random_vec(static_cast<std::size_t>(c.cin), rng, 0.5f);
    d.residual = random_vec(static_cast<std::size_t>(c.batch * c.length * c.cout), rng, 1.0f);
    d.ref.assign(d.residual.size(), 0.0f);
    scpx::ops::conv1d_params p;
    p.batch = c.batch;
    p.length = c.length;
    p.cin = c.cin;
    p.cout = c.cout;
    p.kernel = c.kernel;
    p.x = d.x.data();
    p.w = d.w.data();
    p.bias = c.bias ? d.bias.data() : nullptr;
    p.in_scale = c.bn ? d.scale.data() : nullptr;
    p.in_shift = c.bn ? d.shift.data() : nullptr;
    p.in_gelu = c.in_gelu;
    p.out_gelu = c.out_gelu;
    p.residual = c.residual != conv_case::NONE ? d.residual.data() : nullptr;
    p.y = d.ref.data();
    scpx::ops::conv1d_ref(p);
    return d;
}

/// Device copies of a case's inputs, and the conv1d_args pointing at them.
struct dev_case {
    dev_tensor x, w, y, residual;
    dev_floats bias, scale, shift;
    cu::conv1d_args args;
    dev_case(const conv_case& c, const case_data& d, precision p)
        : x(d.x.size(), p), w(d.w.size(), p), y(d.residual.size(), p), residual(d.residual.size(), p), bias(d.bias),
          scale(d.scale), shift(d.shift) {
        x.upload(d.x);
        w.upload(d.w);
        residual.upload(d.residual);
        y.upload(c.residual == conv_case::IN_PLACE ? d.residual : std::vector<float>(d.residual.size(), 1e30f));
        args.batch = c.batch;
        args.length = c.length;
        args.cin = c.cin;
        args.cout = c.cout;
        args.kernel = c.kernel;
        args.x = x.get();
        args.w = w.get();
        args.bias = c.bias ? bias.get() : nullptr;
        args.in_scale = c.bn ? scale.get() : nullptr;
        args.in_shift = c.bn ? shift.get() : nullptr;
        args.in_gelu = c.in_gelu;
        args.out_gelu = c.out_gelu;
        args.residual = c.residual == conv_case::SEPARATE ? residual.get()
                        : c.residual == conv_case::IN_PLACE ? y.get()
                                                            : nullptr;
        args.y = y.get();
        args.prec = p;
    }
};

/// max |a − r| / max |r|: the errors of TF32/BF16 products scale with the output magnitude.
double rel_max_err(const std::vector<float>& a, const std::vector<float>& r) {
    double num = 0, den = 0;
    for (std::size_t i = 0; i < r.size(); ++i) {
        const double d = std::fabs(static_cast<double>(a[i]) - r[i]);
        if (std::isnan(d)) return INFINITY;  // std::max would silently drop a NaN
        num = std::max(num, d);
        den = std::max(den, std::fabs(static_cast<double>(r[i])));
    }
    return num / std::max(den, 1e-30);
}

/// Tolerances relative to the largest output (sums of k·cin ≤ 480 products): fp32 differs only
/// by summation order; TF32 rounds both operands to 10-bit mantissas; BF16 also stores the
/// transformed input and the output in bf16 (8-bit mantissa: 2^-9 ≈ 2e-3 per rounding).
double tolerance(precision p) {
    switch (p) {
    case precision::FP32: return 3e-5;
    case precision::TF32: return 4e-3;
    case precision::BF16: return 2e-2;
    }
    return 0;
}

std::vector<conv_case> cases() {
    std::vector<conv_case> v;
    conv_case stem;  // Enformer's stem: one-hot (cin 4), k = 15, no input transform
    stem.cin = 4;
    stem.cout = 32;
    stem.kernel = 15;
    stem.bn = stem.in_gelu = false;
    v.push_back(stem);
    conv_case tower;  // tower ConvBlock k = 5: BN → GELU → conv
    v.push_back(tower);
    conv_case pw = tower;  // pointwise block x + ConvBlock(x) (in place, as the model runs it)
    pw.kernel = 1;
    pw.cin = pw.cout = 40;
    pw.residual = conv_case::IN_PLACE;
    v.push_back(pw);
    conv_case sep = pw;  // residual from another buffer
    sep.residual = conv_case::SEPARATE;
    sep.kernel = 5;
    v.push_back(sep);
    conv_case fin = tower;  // final pointwise: ConvBlock(1) → GELU
    fin.kernel = 1;
    fin.out_gelu = true;
    v.push_back(fin);
    conv_case odd = fin;  // output GELU with an in-place residual (the scratch-output path)
    odd.residual = conv_case::IN_PLACE;
    odd.cin = odd.cout = 24;
    odd.kernel = 15;
    v.push_back(odd);
    conv_case gelu_only = tower;  // GELU without BN (the bias_act input pass)
    gelu_only.bn = false;
    gelu_only.bias = false;
    gelu_only.kernel = 15;
    v.push_back(gelu_only);
    conv_case bare = tower;  // the model's tower k = 5: input transformed by the pool, bias folded
    bare.bn = bare.in_gelu = false;  // into the next block — cuDNN's output is y itself, no epilogue
    bare.bias = false;
    v.push_back(bare);
    return v;
}

/// Runs every case through cuDNN in precision p and compares with the CPU reference.
void check_cudnn(precision p) {
    cu::cudnn_conv1d conv;
    unsigned seed = 11;
    for (const conv_case& c : cases()) {
        SCOPED_TRACE(c.name() + " " + std::to_string(static_cast<int>(p)));
        const case_data d = make_data(c, seed++);
        dev_case dc(c, d, p);
        std::size_t bytes = 0;
        try {
            bytes = conv.scratch_bytes(dc.args);
        } catch (const scpx::cuda_error& e) {
            // cuDNN may have no NHWC kernel for 4 input channels in bf16: a limitation of the
            // yardstick (AUTO then uses the custom kernel), not an error of ours.
            if (c.cin % 8 != 0 && std::string(e.what()).find("no forward algorithm") != std::string::npos) {
                std::printf("[ cudnn ] %s: %s\n", c.name().c_str(), e.what());
                continue;
            }
            throw;
        }
        void* scratch = nullptr;
        CUDA_OK(cudaMalloc(&scratch, std::max<std::size_t>(bytes, 1)));
        conv.run(dc.args, scratch, bytes, nullptr);
        CUDA_OK(cudaDeviceSynchronize());
        // A second run on the same plan (measured algorithm, cached filter) must agree; for the
        // in-place residual, restore y first.
        const std::vector<float> first = dc.y.download();
        if (c.residual == conv_case::IN_PLACE) dc.y.upload(d.residual);
        conv.run(dc.args, scratch, bytes, nullptr);
        CUDA_OK(cudaDeviceSynchronize());
        cudaFree(scratch);
        const std::vector<float> second = dc.y.download();
        const double err = rel_max_err(first, d.ref);
        EXPECT_LT(err, tolerance(p)) << "relative max error " << err;
        EXPECT_LT(rel_max_err(second, first), tolerance(p));
        EXPECT_FALSE(std::isnan(err));
    }
}

} // namespace

TEST(CudaEnformerCudnn, LibraryDescribed) {
    const std::string why = cu::cudnn_library::describe();
    EXPECT_FALSE(why.empty());
    if (const cu::cudnn_library* lib = cu::cudnn_library::get()) {
        EXPECT_EQ(lib->version() / 10000, 9u) << why;
        EXPECT_NE(why.find("cuDNN 9."), std::string::npos) << why;
    } else {
        EXPECT_NE(why.find("not usable"), std::string::npos) << why;
    }
    std::printf("[ cudnn ] %s\n", why.c_str());
}

TEST(CudaEnformerCudnn, ParseConvBackend) {
    EXPECT_EQ(cu::parse_conv_backend("custom"), cu::conv_backend::CUSTOM);
    EXPECT_EQ(cu::parse_conv_backend("cudnn"), cu::conv_backend::CUDNN);
    EXPECT_EQ(cu::parse_conv_backend("auto"), cu::conv_backend::AUTO);
    EXPECT_THROW(cu::parse_conv_backend("cuDNN!"), scpx::usage_error);
    EXPECT_THROW(cu::parse_conv_backend(""), scpx::usage_error);
}

TEST(CudaEnformerCudnn, MatchesReferenceFp32) {
    SKIP_WITHOUT_CUDNN();
    check_cudnn(precision::FP32);
}

TEST(CudaEnformerCudnn, MatchesReferenceTf32) {
    SKIP_WITHOUT_CUDNN();
    check_cudnn(precision::TF32);
}

TEST(CudaEnformerCudnn, MatchesReferenceBf16) {
    SKIP_WITHOUT_CUDNN();
    check_cudnn(precision::BF16);
}

// Batches too large for cuDNN's int descriptors run in chunks of whole sequences; the limit is
// lowered through the environment so that a small batch of 5 runs as chunks of 2, 2 and 1.
TEST(CudaEnformerCudnn, ChunkedBatchMatches) {
    SKIP_WITHOUT_CUDNN();
    conv_case c;
    c.batch = 5;
    c.length = 50;
    c.cin = 16;
    c.cout = 24;
    c.residual = conv_case::IN_PLACE;
    ASSERT_EQ(setenv("SCPX_CUDNN_MAX_ELEMENTS", std::to_string(2 * c.length * c.cout).c_str(), 1), 0);
    cu::cudnn_conv1d conv;  // reads the limit when constructed
    unsetenv("SCPX_CUDNN_MAX_ELEMENTS");
    const case_data d = make_data(c, 5);
    dev_case dc(c, d, precision::FP32);
    const std::size_t bytes = conv.scratch_bytes(dc.args);
    void* scratch = nullptr;
    CUDA_OK(cudaMalloc(&scratch, std::max<std::size_t>(bytes, 1)));
    conv.run(dc.args, scratch, bytes, nullptr);
    CUDA_OK(cudaDeviceSynchronize());
    cudaFree(scratch);
    EXPECT_LT(rel_max_err(dc.y.download(), d.ref), tolerance(precision::FP32));
}

TEST(CudaEnformerCudnn, TooSmallScratchThrows) {
    SKIP_WITHOUT_CUDNN();
    conv_case c;  // BN + GELU: needs scratch for the transformed input
    const case_data d = make_data(c, 3);
    dev_case dc(c, d, precision::FP32);
    cu::cudnn_conv1d conv;
    const std::size_t bytes = conv.scratch_bytes(dc.args);
    ASSERT_GT(bytes, 0u);
    EXPECT_THROW(conv.run(dc.args, nullptr, 0, nullptr), scpx::usage_error);
}

// AUTO times both implementations on the caller's buffers and keeps the faster: the result must
// be that of CUSTOM within the precision's tolerance (and the in-place residual added once).
// Runs without cuDNN too (AUTO then falls back to the custom kernel).
TEST(CudaEnformerConvSelector, AutoMatchesCustom) {
    SKIP_WITHOUT_GPU();
    for (precision p : {precision::FP32, precision::TF32, precision::BF16}) {
        cu::conv_selector custom(cu::conv_backend::CUSTOM), autosel(cu::conv_backend::AUTO);
        unsigned seed = 101;
        for (const conv_case& c : cases()) {
            SCOPED_TRACE(c.name() + " " + std::to_string(static_cast<int>(p)));
            const case_data d = make_data(c, seed++);
            dev_case a(c, d, p), b(c, d, p);
            EXPECT_EQ(custom.max_scratch_bytes(a.args), 0u);
            const std::size_t bytes = autosel.max_scratch_bytes(b.args);
            void* scratch = nullptr;
            CUDA_OK(cudaMalloc(&scratch, std::max<std::size_t>(bytes, 1)));
            custom.run(a.args, nullptr, 0, nullptr);
            autosel.run(b.args, scratch, bytes, nullptr);  // first call: times both, then runs
            CUDA_OK(cudaDeviceSynchronize());
            const std::vector<float> ya = a.y.download(), yb = b.y.download();
            // Second call of the same shape uses the remembered choice.
            if (c.residual == conv_case::IN_PLACE) b.y.upload(d.residual);
            autosel.run(b.args, scratch, bytes, nullptr);
            CUDA_OK(cudaDeviceSynchronize());
            cudaFree(scratch);
            EXPECT_LT(rel_max_err(yb, ya), 2 * tolerance(p));
            EXPECT_LT(rel_max_err(b.y.download(), ya), 2 * tolerance(p));
            EXPECT_LT(rel_max_err(ya, d.ref), tolerance(p));
        }
        const std::string rep = autosel.report();
        EXPECT_EQ(static_cast<std::size_t>(std::count(rep.begin(), rep.end(), '\n')), cases().size()) << rep;
        if (cu::cudnn_library::get()) EXPECT_NE(rep.find(" → "), std::string::npos) << rep;  // the shape head has "→" too
        std::printf("%s", rep.c_str());
    }
}

TEST(CudaEnformerConvSelector, ForcedCudnnWithoutLibraryThrows) {
    SKIP_WITHOUT_GPU();
    if (cu::cudnn_library::get()) {
        EXPECT_NO_THROW({ cu::conv_selector s(cu::conv_backend::CUDNN); });
    } else {
        EXPECT_THROW({ cu::conv_selector s(cu::conv_backend::CUDNN); }, scpx::usage_error);
    }
}
