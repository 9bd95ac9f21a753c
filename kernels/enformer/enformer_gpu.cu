// Enformer forward pass on one CUDA device (host API: include/scpx/model/enformer_gpu.hpp),
// layer by layer as the CPU reference src/model/enformer.cpp, built from the kernels in this
// folder (conv1d / cuDNN via conv_selector, softmax_pool, layer_norm, rel_attention, cuBLASLt
// GEMMs, elementwise passes).
//
// Memory: two device allocations for the object's life.
//  * weights: every tensor once, in the precision's type (bf16 converted on the host) except the
//    per-channel parameters (biases, folded BN scale/shift, LN gamma/beta, relative biases) that
//    stay fp32 — kernel_types.cuh;
//  * arena: sized by reserve(batch, length) from a plan of named regions (see arena_plan), reused
//    by every layer and call. predict() never allocates: it only re-plans into a bigger arena when
//    a call needs more than was reserved.
// Both trunk ping-pong buffers hold the largest conv-trunk activation; the transformer, the crop
// and the heads have their own (much smaller) regions, so every kernel's "output must not overlap
// the input" rule holds by construction.
//
// This file is compiled into scpx_lib (src/model/CMakeLists.txt), not scpx_kernels: it takes the
// relative keys from the CPU model (enformer_model::relative_keys, the reference's own positional
// features and projection), and scpx_lib → scpx_kernels is the only link direction.
#include "scpx/model/enformer_gpu.hpp"

#include "common.cuh"
#include "enformer/conv1d.cuh"
#include "enformer/conv_dual.cuh"
#include "enformer/conv_gemm.cuh"
#include "enformer/cudnn_conv.cuh"
#include "enformer/elementwise.cuh"
#include "enformer/gemm.cuh"
#include "enformer/layer_norm.cuh"
#include "enformer/rel_attention.cuh"
#include "enformer/onehot.cuh"
#include "enformer/rel_attention_flash.cuh"
#include "enformer/rel_attention_gemm.cuh"
#include "enformer/softmax_pool.cuh"
#include "enformer/softmax_pool_gemm.cuh"
#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace scpx::model {

namespace {

constexpr std::size_t kAlign = 256;                       // every region starts 256-B aligned (cuBLASLt's default)
constexpr std::size_t kGemmWorkspace = 32u << 20;         // cuBLASLt workspace (its recommended ≥ 32 MiB on Hopper)
constexpr int kGemmTuneCandidates = 8;  // conv "auto": heuristic answers timed per GEMM shape
constexpr std::size_t kNone = static_cast<std::size_t>(-1);

std::size_t align_up(std::size_t v) { return (v + kAlign - 1) / kAlign * kAlign; }
std::size_t sz(std::int64_t v) { return static_cast<std::size_t>(v); }

/// One cudaMalloc, freed on destruction.
struct device_block {
    void* ptr = nullptr;
    std::size_t bytes = 0;
    device_block() = default;
    device_block(const device_block&) = delete;
    device_block& operator=(const device_block&) = delete;
    ~device_block() { release(); }
    void release() {
        if (ptr) cudaFree(ptr);  // nothing useful to do with an error while releasing
        ptr = nullptr;
        bytes = 0;
    }
    /// Allocates `n` bytes, naming `what` in the out-of-memory message.
    void allocate(std::size_t n, const std::string& what) {
        release();
        const cudaError_t e = cudaMalloc(&ptr, n);
        if (e != cudaSuccess) {
            cudaGetLastError();
            ptr = nullptr;
            std::size_t free_b = 0, total_b = 0;
            cudaMemGetInfo(&free_b, &total_b);
            char buf[160];
            std::snprintf(buf, sizeof buf, "%.2f GiB (%.2f GiB free of %.2f GiB)", n / 1073741824.0,
                          free_b / 1073741824.0, total_b / 1073741824.0);
            const std::string msg = "Enformer on the GPU: cannot allocate " + what + ": " + buf + " — " +
                                    detail::cuda_error_string(e) + "; use a smaller batch or length";
            if (e == cudaErrorMemoryAllocation) throw cuda_out_of_memory(msg);
            throw cuda_error(msg);
        }
        bytes = n;
    }
    char* at(std::size_t offset) const { return offset == kNone ? nullptr : static_cast<char*>(ptr) + offset; }
};

// Weights on the device, as offsets into the weight block (kNone: absent).
struct d_conv {
    std::int64_t cin = 0, cout = 0, kernel = 1;
    std::size_t w = kNone, bias = kNone, scale = kNone, shift = kNone;
};
struct d_pool {
    std::int64_t channels = 0;
    std::size_t w = kNone;
};
struct d_tower {
    d_conv conv, pointwise;
    d_pool pool;
};
struct d_layer {
    std::size_t ln1_g, ln1_b, qkv, content_bias, pos_bias, out_w, out_b, ln2_g, ln2_b, w1, b1, w2, b2;
    std::int64_t qkv_cols = 0, hidden = 0;
};
struct d_head {
    std::string name;
    std::int64_t tracks = 0;
    std::size_t w = kNone, bias = kNone;
};

/// Named regions of the arena for one (batch, length).
struct arena_plan {
    std::int64_t batch = 0, length = 0, n = 0;
    std::size_t in_f32 = kNone, in = kNone, in_bases = kNone, act0 = kNone, act1 = kNone;
    std::size_t ln = kNone, qkv = kNone, attn = kNone, hidden = kNone;
    std::size_t rel_keys = kNone, rel_keys_layer_bytes = 0;
    std::size_t emb_in = kNone, emb = kNone, emb_f32 = kNone, head_f32 = kNone;
    std::size_t gemm_ws = kNone, conv_scratch = kNone, conv_scratch_bytes = 0;
    std::size_t attn_ws = kNone, attn_ws_bytes = 0; ///< attention "gemm": logits workspace
    std::size_t pool_ws = kNone, pool_ws_bytes = 0; ///< pool "gemm": logits workspace
    std::size_t stem_next = kNone; ///< fused stem: one sequence's gelu(bn(stem output))
    std::size_t act_bytes = 0;     ///< one trunk activation buffer (the largest stage output of the batch)
    std::size_t total = 0;
    std::vector<std::pair<std::string, std::size_t>> sizes; ///< for the debug log
    std::size_t add(const std::string& name, std::size_t bytes) {
        const std::size_t off = total;
        total = align_up(total + bytes);
        sizes.emplace_back(name, bytes);
        return off;
    }
};

/// A slim copy of the weights with only what the relative keys need (config, gamma table,
/// to_rel_k), so the CPU model's positional features and projection can be reused without a
/// second copy of the whole model on the host.
enformer_weights rel_key_weights(const enformer_weights& w) {
    enformer_weights s;
    s.config = w.config;
    s.gamma_table = w.gamma_table;
    s.gamma_table_n = w.gamma_table_n;
    s.source = w.source;
    s.layers.resize(w.layers.size());
    for (size_t j = 0; j < w.layers.size(); ++j) s.layers[j].rel_k = w.layers[j].rel_k;
    return s;
}

} // namespace

/// CUDA events between the stages of predict() (enformer_gpu_options::profile_stages). Events
/// are created on first use and reused; elapsed times are read once per call, after the stream
/// has finished, so profiling adds no synchronisation inside the pass.
class stage_profile {
public:
    enum stage { input, stem, tower, attention, feed_forward, final_pointwise, heads, count };

    ~stage_profile() {
        for (cudaEvent_t e : events_) cudaEventDestroy(e);
    }
    void enable(bool on) { on_ = on; }
    /// Starts a call: the next mark closes the first interval.
    void begin(cudaStream_t s) {
        owner_.clear();
        mark(s, count);
    }
    /// Ends the interval since the previous mark, charging it to `st`.
    void mark(cudaStream_t s, stage st) {
        if (!on_) return;
        const std::size_t i = owner_.size();
        if (i == events_.size()) {
            cudaEvent_t e = nullptr;
            SCPX_CUDA_CHECK(cudaEventCreate(&e));
            events_.push_back(e);
        }
        SCPX_CUDA_CHECK(cudaEventRecord(events_[i], s));
        owner_.push_back(st);
    }
    /// After the stream has finished: adds this call's intervals to the totals.
    void finish() {
        const std::size_t marks = owner_.size();
        if (!on_ || marks < 2) return;
        SCPX_CUDA_CHECK(cudaEventSynchronize(events_[marks - 1]));
        bool seen[count] = {};
        for (std::size_t i = 1; i < marks; ++i) {
            float t = 0;
            SCPX_CUDA_CHECK(cudaEventElapsedTime(&t, events_[i - 1], events_[i]));
            ms_[owner_[i]] += t;
            seen[owner_[i]] = true;
        }
        for (int st = 0; st < count; ++st) calls_[st] += seen[st];
    }
    std::vector<enformer_stage_time> times() const {
        static const char* const names[count] = {"input", "stem", "conv tower", "attention", "feed-forward",
                                                  "final pointwise", "heads"};
        std::vector<enformer_stage_time> out;
        if (!on_) return out;
        for (int st = 0; st < count; ++st) out.push_back({names[st], ms_[st], calls_[st]});
        return out;
    }
    void reset() {
        for (int st = 0; st < count; ++st) ms_[st] = 0, calls_[st] = 0;
    }

private:
    bool on_ = false;
    std::vector<cudaEvent_t> events_;
    std::vector<int> owner_; ///< the stage each mark of this call closes (events_[i] is mark i)
    double ms_[count] = {};
    std::int64_t calls_[count] = {};
};

struct enformer_gpu_model::impl {
    enformer_gpu_options opt;
    stage_profile profile;
    enformer_config cfg;
    gpu::precision prec = gpu::precision::FP32;
    std::size_t elem = 4;
    int device = 0;
    cudaStream_t stream = nullptr;
    std::string device_name;
    std::string attention_note; ///< why the attention core in use differs from the one asked for
    bool batch_gemms = false;   ///< enformer_gpu_options::batch_gemms resolved
    bool batch_steps = false;   ///< enformer_gpu_options::batch_steps resolved
    bool fused_stem = false;    ///< enformer_gpu_options::fused_stem, where it applies
    std::string stem_note;      ///< why a fused stem asked for is not used
    std::size_t folded_convs = 0; ///< convolutions whose bias went into the pointwise block after them
    std::map<std::size_t, std::size_t> bias_bf16_of; ///< BF16: fp32 bias offset → its bf16 copy

    device_block weights;
    d_conv stem_conv;
    d_conv stem_pointwise;
    d_pool stem_pool;
    std::vector<d_tower> tower;
    std::vector<d_layer> layers;
    d_conv final_pointwise;
    std::vector<d_head> heads;

    enformer_model rel_model;  ///< CPU model holding only what relative_keys() needs

    device_block arena;
    arena_plan plan;
    std::unique_ptr<cuda::gemm_engine> gemm;
    void* gemm_ws_ptr = nullptr;  ///< the workspace `gemm` was built with
    std::unique_ptr<cuda::conv_selector> convs;

    explicit impl(const enformer_weights& w) : rel_model(rel_key_weights(w)) {}
    ~impl() {
        if (stream) cudaStreamSynchronize(stream); // before the profile's events go
        gemm.reset();
        convs.reset();
        if (stream) {
            cudaStreamSynchronize(stream);
            cudaStreamDestroy(stream);
        }
    }

    void upload_weights(const enformer_weights& w);
    arena_plan make_plan(std::int64_t batch, std::int64_t length);
    std::size_t scratch_floor = 0;  ///< cuDNN scratch a request needed beyond the plan's (odd bin counts)
    /// cuDNN scratch of one convolution (shape only: the pointers are placeholders).
    std::size_t scratch_need(const d_conv& c, std::int64_t B, std::int64_t L, bool residual, bool out_gelu) {
        // x and y distinct, residual = x: the pattern of every call of predict (no in-place residual).
        alignas(256) static char placeholder[2][256];
        void* px = placeholder[0];
        void* py = placeholder[1];
        return convs->max_scratch_bytes(conv_args(c, px, B, L, py, residual ? px : nullptr, out_gelu));
    }
    void reserve(std::int64_t batch, std::int64_t length);
    /// Frees the arena and what points into it (the GEMM engine's workspace); the next reserve
    /// allocates anew.
    void drop_arena() {
        SCPX_CUDA_CHECK(cudaStreamSynchronize(stream));
        convs->set_gemm(nullptr);
        gemm.reset();
        arena.release();
    }
    /// The attention's sizes and precision for batch B at n positions (pointers unset).
    cuda::rel_attention_args attention_shape(std::int64_t B, std::int64_t n) const {
        cuda::rel_attention_args at;
        at.batch = B;
        at.n = n;
        at.heads = cfg.heads;
        at.key = cfg.key_size;
        at.value = cfg.value();
        at.flash_query_rows = opt.flash_query_rows;
        at.prec = prec;
        return at;
    }

    void* wp(std::size_t off) const { return weights.at(off); }
    const float* wf(std::size_t off) const { return reinterpret_cast<const float*>(weights.at(off)); }
    void* ap(std::size_t off) const { return arena.at(off); }
    /// The bf16 copy made at upload of the fp32 bias at `off` (BF16), or null.
    const __nv_bfloat16* bias_bf16_copy(std::size_t off) const {
        const auto it = bias_bf16_of.find(off);
        return it == bias_bf16_of.end() ? nullptr : static_cast<const __nv_bfloat16*>(wp(it->second));
    }

    /// One call's host input: fp32 one-hot rows, or DNA letters (`other`: the value of a
    /// non-ACGT row) encoded on the device.
    struct host_input {
        const float* onehot = nullptr;
        const char* bases = nullptr;
        float other = 0.0f;
    };
    enformer_output run(const host_input& in, std::int64_t B, std::int64_t length, const enformer_gpu_request& req);

    cuda::conv1d_args conv_args(const d_conv& c, const void* x, std::int64_t B, std::int64_t L, void* y,
                                const void* residual, bool out_gelu, bool input_transformed = false) const;
    /// `input_transformed`: x already holds BN → GELU of the block's input (the pool before it
    /// applied c's transform), so the convolution runs without one.
    void conv(const d_conv& c, const void* x, std::int64_t B, std::int64_t L, void* y, const void* residual = nullptr,
              bool out_gelu = false, bool input_transformed = false);
    /// The pool's shape and the run's pooling options (chunk, bf16 logits): what both the plan's
    /// workspace size and the pool itself are computed from, so the two cannot disagree.
    cuda::softmax_pool_args pool_args(const d_pool& p, const void* x, std::int64_t B, std::int64_t L, void* y) const;
    /// Pools x into y. With `next` (the ConvBlock that reads y) and the cuBLASLt pool, the pass also
    /// applies next's BN → GELU to what it stores and returns true: the caller then runs `next`
    /// with input_transformed (one pass over the activations fewer). Returns false otherwise.
    bool pool(const d_pool& p, const void* x, std::int64_t B, std::int64_t L, void* y, const d_conv* next = nullptr);
    /// D = A·W (+ bias) (ReLU) (+ C) over `batch` sequences of `rows` rows each (contiguous): one
    /// GEMM per sequence so that a sequence's result never depends on the rest of the batch
    /// (cuBLASLt may choose another algorithm, i.e. another summation order, for another M), or
    /// with batch_gemms one GEMM over all batch·rows rows (fuller waves, fewer launches).
    void gemm_run(std::int64_t batch, std::int64_t rows, std::int64_t n, std::int64_t k, const void* a,
                  std::size_t b_off, std::size_t bias_off, cuda::gemm_epilogue epi, void* d, const void* c = nullptr,
                  bool d_f32 = false);
};

void enformer_gpu_model::impl::upload_weights(const enformer_weights& w) {
    // Pass 1 lays out offsets; pass 2 converts and copies each tensor (host bf16 rounding via
    // cuda_bf16.h's host-callable round-to-nearest-even, the same rule as f32_to_bf16).
    struct item {
        const std::vector<float>* src;
        bool typed;
        std::size_t offset;
    };
    std::vector<item> items;
    std::size_t total = 0;
    auto add = [&](const std::vector<float>& v, bool typed) -> std::size_t {
        if (v.empty()) return kNone;
        const std::size_t off = total;
        total = align_up(total + v.size() * (typed ? elem : 4));
        items.push_back({&v, typed, off});
        return off;
    };
    // BF16: a bf16 copy of each bias a cuBLASLt GEMM may add (the transformer's, the k = 1
    // convolutions' GEMM route), made once here for the bf16 bias epilogue (gemm_args::bias_bf16)
    // instead of a conversion on every call.
    auto add_bias_bf16 = [&](std::size_t f32_off, const std::vector<float>& v) {
        if (prec == gpu::precision::BF16 && f32_off != kNone) bias_bf16_of[f32_off] = add(v, true);
    };
    auto add_conv = [&](const conv_weights& c, const bn_weights* bn) {
        d_conv d;
        d.cin = c.cin;
        d.cout = c.cout;
        d.kernel = c.kernel;
        d.w = add(c.w, true);
        d.bias = add(c.bias, false);
        if (c.kernel == 1) add_bias_bf16(d.bias, c.bias);
        if (bn) {
            d.scale = add(bn->scale, false);
            d.shift = add(bn->shift, false);
        }
        return d;
    };
    auto add_pool = [&](const pool_weights& p) {
        d_pool d;
        d.channels = p.channels;
        d.w = add(p.w, true);
        return d;
    };
    // fold_conv_bias: a wide convolution (the stem's k = 15, each tower block's k = 5) whose output
    // y = c + b (c: the bias-free convolution) feeds only the residual pointwise block after it
    // hands b to that block: gelu(s·y + h) = gelu(s·c + (h + s·b)) and y + W·gelu(·) + b_pw =
    // c + W·gelu(·) + (b_pw + b). `folded` owns the new per-channel vectors until pass 2 has copied
    // them (a deque: `items` keeps pointers into it); the weights themselves are not copied.
    std::deque<conv_block_weights> folded;
    auto add_folded = [&](const conv_weights& c, const bn_weights* bn, const conv_block_weights& next,
                          d_conv& conv, d_conv& pointwise) {
        const bool fold = opt.fold_conv_bias && !c.bias.empty() && !next.bn.scale.empty() && next.conv.kernel == 1 &&
                          next.conv.cin == c.cout && next.conv.cout == next.conv.cin &&
                          static_cast<std::int64_t>(c.bias.size()) == c.cout;
        conv = add_conv(c, bn);
        if (!fold) {
            pointwise = add_conv(next.conv, &next.bn);
            return;
        }
        conv_block_weights& pw = folded.emplace_back();
        pw.bn = next.bn;
        pw.conv.cin = next.conv.cin;
        pw.conv.cout = next.conv.cout;
        pw.conv.kernel = 1;
        pw.conv.bias = next.conv.bias;
        pw.conv.bias.resize(static_cast<std::size_t>(pw.conv.cout), 0.0f);  // a block without a bias gets one
        for (std::size_t o = 0; o < c.bias.size(); ++o) {
            pw.bn.shift[o] += pw.bn.scale[o] * c.bias[o];
            pw.conv.bias[o] += c.bias[o];
        }
        conv.bias = kNone;
        pointwise = add_conv(pw.conv, &pw.bn);
        pointwise.w = add(next.conv.w, true);
        ++folded_convs;
    };
    add_folded(w.stem_conv, nullptr, w.stem_pointwise, stem_conv, stem_pointwise);
    stem_pool = add_pool(w.stem_pool);
    for (const auto& t : w.tower) {
        d_tower d;
        add_folded(t.conv.conv, &t.conv.bn, t.pointwise, d.conv, d.pointwise);
        d.pool = add_pool(t.pool);
        tower.push_back(d);
    }
    for (const auto& l : w.layers) {
        d_layer d;
        d.ln1_g = add(l.ln1_gamma, false);
        d.ln1_b = add(l.ln1_beta, false);
        d.qkv = add(l.qkv.w, true);
        d.qkv_cols = l.qkv.out;
        d.content_bias = add(l.content_bias, false);
        d.pos_bias = add(l.pos_bias, false);
        d.out_w = add(l.out.w, true);
        d.out_b = add(l.out.bias, false);
        add_bias_bf16(d.out_b, l.out.bias);
        d.ln2_g = add(l.ln2_gamma, false);
        d.ln2_b = add(l.ln2_beta, false);
        d.w1 = add(l.mlp1.w, true);
        d.b1 = add(l.mlp1.bias, false);
        add_bias_bf16(d.b1, l.mlp1.bias);
        d.hidden = l.mlp1.out;
        d.w2 = add(l.mlp2.w, true);
        d.b2 = add(l.mlp2.bias, false);
        add_bias_bf16(d.b2, l.mlp2.bias);
        layers.push_back(d);
    }
    final_pointwise = add_conv(w.final_pointwise.conv, &w.final_pointwise.bn);
    for (const auto& h : w.heads) heads.push_back({h.name, h.linear.out, add(h.linear.w, true), add(h.linear.bias, false)});

    weights.allocate(std::max<std::size_t>(total, kAlign), "the weights");
    std::vector<__nv_bfloat16> tmp;
    for (const auto& it : items) {
        if (it.typed && prec == gpu::precision::BF16) {
            tmp.resize(it.src->size());
            for (size_t i = 0; i < tmp.size(); ++i) tmp[i] = __float2bfloat16_rn((*it.src)[i]);
            SCPX_CUDA_CHECK(cudaMemcpy(weights.at(it.offset), tmp.data(), tmp.size() * 2, cudaMemcpyHostToDevice));
        } else {
            SCPX_CUDA_CHECK(cudaMemcpy(weights.at(it.offset), it.src->data(), it.src->size() * 4, cudaMemcpyHostToDevice));
        }
    }
    // A pageable cudaMemcpy may return before its DMA lands, and these copies run on the legacy
    // stream, which `stream` (non-blocking) does not wait for: finish them before any kernel.
    SCPX_CUDA_CHECK(cudaDeviceSynchronize());
}

cuda::conv1d_args enformer_gpu_model::impl::conv_args(const d_conv& c, const void* x, std::int64_t B, std::int64_t L,
                                                       void* y, const void* residual, bool out_gelu,
                                                       bool input_transformed) const {
    cuda::conv1d_args a;
    a.batch = B;
    a.length = L;
    a.cin = c.cin;
    a.cout = c.cout;
    a.kernel = c.kernel;
    a.x = x;
    a.w = wp(c.w);
    a.bias = wf(c.bias);
    a.bias_bf16 = bias_bf16_copy(c.bias);
    if (!input_transformed) {
        a.in_scale = wf(c.scale);
        a.in_shift = wf(c.shift);
        a.in_gelu = c.scale != kNone;  // ConvBlock = BN → GELU → conv; the stem conv has neither
    }
    a.out_gelu = out_gelu;
    a.residual = residual;
    a.y = y;
    a.prec = prec;
    a.gemm_chunk_rows = opt.gemm_chunk_rows;
    a.span_batch = batch_steps;
    return a;
}

void enformer_gpu_model::impl::conv(const d_conv& c, const void* x, std::int64_t B, std::int64_t L, void* y,
                                    const void* residual, bool out_gelu, bool input_transformed) {
    convs->run(conv_args(c, x, B, L, y, residual, out_gelu, input_transformed), ap(plan.conv_scratch),
               plan.conv_scratch_bytes, stream);
}

cuda::softmax_pool_args enformer_gpu_model::impl::pool_args(const d_pool& p, const void* x, std::int64_t B,
                                                             std::int64_t L, void* y) const {
    cuda::softmax_pool_args a;
    a.batch = B;
    a.length = L;
    a.channels = p.channels;
    a.x = x;
    a.w = wp(p.w);
    a.y = y;
    a.prec = prec;
    a.chunk_pairs = opt.pool_chunk_pairs;
    a.bf16_logits = opt.pool_bf16_logits;
    a.span_batch = batch_steps;
    return a;
}

bool enformer_gpu_model::impl::pool(const d_pool& p, const void* x, std::int64_t B, std::int64_t L, void* y,
                                    const d_conv* next) {
    cuda::softmax_pool_args a = pool_args(p, x, B, L, y);
    if (plan.pool_ws == kNone) {
        cuda::softmax_pool(a, stream);
        return false;
    }
    const bool hoist = next && next->scale != kNone;
    if (hoist) {
        a.out_scale = wf(next->scale);
        a.out_shift = wf(next->shift);
        a.out_gelu = true;
    }
    cuda::softmax_pool_gemm(a, *gemm, arena.at(plan.pool_ws), plan.pool_ws_bytes, stream);
    return hoist;
}

void enformer_gpu_model::impl::gemm_run(std::int64_t batch, std::int64_t rows, std::int64_t n, std::int64_t k,
                                        const void* a, std::size_t b_off, std::size_t bias_off,
                                        cuda::gemm_epilogue epi, void* d, const void* c, bool d_f32) {
    if (batch_gemms) {
        rows *= batch;
        batch = 1;
    }
    const std::size_t a_step = sz(rows * k) * elem, d_step = sz(rows * n) * (d_f32 ? 4 : elem);
    for (std::int64_t s = 0; s < batch; ++s) {
        cuda::gemm_args g;
        g.m = rows;
        g.n = n;
        g.k = k;
        g.a = static_cast<const char*>(a) + sz(s) * a_step;
        g.b = wp(b_off);
        g.bias = wf(bias_off);
        g.bias_bf16 = bias_bf16_copy(bias_off);
        g.epilogue = epi;
        g.beta = c ? 1.0f : 0.0f;
        g.c = c ? static_cast<const char*>(c) + sz(s) * d_step : nullptr;
        g.d = static_cast<char*>(d) + sz(s) * d_step;
        g.d_f32 = d_f32;
        g.prec = prec;
        gemm->run(g, stream);
    }
}

arena_plan enformer_gpu_model::impl::make_plan(std::int64_t B, std::int64_t L) {
    arena_plan p;
    p.batch = B;
    p.length = L;
    // Largest conv-trunk activation: every stage's output at its length (pool outputs are smaller).
    std::int64_t max_act = B * L * stem_conv.cout, len = L;
    len /= 2;
    for (const auto& t : tower) {
        max_act = std::max(max_act, B * len * std::max(t.conv.cin, t.conv.cout));
        len /= 2;
    }
    const std::int64_t n = len, d = cfg.dim, H = cfg.heads, K = cfg.key_size, V = cfg.value();
    const std::int64_t T = cfg.target_length;
    p.n = n;
    std::int64_t qkv_cols = 0, hidden = 0, max_tracks = 1;
    for (const auto& l : layers) {
        qkv_cols = std::max(qkv_cols, l.qkv_cols);
        hidden = std::max(hidden, l.hidden);
    }
    for (const auto& h : heads) max_tracks = std::max(max_tracks, h.tracks);

    // The cuBLASLt workspace first, so its address is the same for every plan in one allocation.
    p.gemm_ws = p.add("cuBLASLt workspace", kGemmWorkspace);
    if (prec == gpu::precision::BF16) p.in_f32 = p.add("input fp32", sz(B * L * 4) * 4);
    p.in = p.add("input", sz(B * L * 4) * elem);
    p.in_bases = p.add("input bases", sz(B * L));
    p.act0 = p.add("trunk activations A", sz(max_act) * elem);
    p.act_bytes = sz(max_act) * elem;
    p.act1 = p.add("trunk activations B", sz(max_act) * elem);
    if (fused_stem) p.stem_next = p.add("stem: pointwise input (one sequence)", sz(L * stem_pointwise.cin) * elem);
    p.ln = p.add("layer norm", sz(B * n * d) * elem);
    p.qkv = p.add("qkv", sz(B * n * qkv_cols) * elem);
    p.attn = p.add("attention out", sz(B * n * H * V) * elem);
    p.hidden = p.add("MLP hidden", sz(B * n * hidden) * elem);
    p.rel_keys_layer_bytes = align_up(sz((2 * n - 1) * H * K) * elem);
    p.rel_keys = p.add("relative keys", p.rel_keys_layer_bytes * layers.size());
    p.emb_in = p.add("cropped trunk", sz(B * T * d) * elem);
    p.emb = p.add("trunk embedding", sz(B * T * final_pointwise.cout) * elem);
    if (prec == gpu::precision::BF16) p.emb_f32 = p.add("trunk embedding fp32", sz(B * T * final_pointwise.cout) * 4);
    p.head_f32 = p.add("head out fp32", sz(B * T * max_tracks) * 4);
    if (opt.pool == "gemm") {
        // The widest chunk over every pool of the plan (stem and tower stages).
        std::size_t s = 0;
        // (The size reads shapes and options only: no tensors yet.)
        auto q = [&](const d_pool& pl, std::int64_t len_p) {
            s = std::max(s, cuda::softmax_pool_gemm_workspace_bytes(pool_args(pl, nullptr, B, len_p, nullptr)));
        };
        q(stem_pool, L);
        std::int64_t lt = L / 2;
        for (const auto& t : tower) {
            q(t.pool, lt);
            lt /= 2;
        }
        p.pool_ws_bytes = s;
        p.pool_ws = p.add("pool logits", s);
    }
    if (opt.attention == "gemm") {
        p.attn_ws_bytes = cuda::rel_attention_gemm_workspace_bytes(attention_shape(B, n));
        p.attn_ws = p.add("attention logits", p.attn_ws_bytes);
    }
    // cuDNN scratch only when cuDNN may run: the largest need over every convolution of the plan.
    if (opt.conv_backend != "custom") {
        // Size queries read shapes only; the pointers are placeholders of the right alignment.
        std::size_t s = 0;
        auto q = [&](const d_conv& c, std::int64_t len_c, bool residual, bool out_gelu) {
            s = std::max(s, scratch_need(c, B, len_c, residual, out_gelu));
        };
        q(stem_conv, L, false, false);
        q(stem_pointwise, L, true, false);
        std::int64_t lt = L / 2;
        for (const auto& t : tower) {
            q(t.conv, lt, false, false);
            q(t.pointwise, lt, true, false);
            lt /= 2;
        }
        q(final_pointwise, T, false, true);
        q(final_pointwise, 4, false, true);  // the features' central bins
        s = std::max(s, scratch_floor);
        p.conv_scratch_bytes = s;
        if (s > 0) p.conv_scratch = p.add("cuDNN scratch", s);
    }
    return p;
}

void enformer_gpu_model::impl::reserve(std::int64_t B, std::int64_t L) {
    enformer_check_length(cfg, L, "Enformer input");
    if (B < 1) throw usage_error("Enformer: batch must be >= 1");
    SCPX_CUDA_CHECK(cudaSetDevice(device));
    const bool same_length = plan.length == L && arena.ptr;
    if (same_length && B <= plan.batch) return;
    arena_plan p = make_plan(B, L);
    if (p.total > arena.bytes) {
        drop_arena();
        arena.allocate(p.total, "the activation arena for " + std::to_string(B) + " x " + std::to_string(L) + " bp");
        for (const auto& [name, bytes] : p.sizes)
            SCPX_LOG_DBG("Enformer GPU arena: {} {:.1f} MiB", name, static_cast<double>(bytes) / 1048576.0);
    }
    plan = std::move(p);
    if (!gemm || gemm_ws_ptr != ap(plan.gemm_ws)) {
        gemm = std::make_unique<cuda::gemm_engine>(ap(plan.gemm_ws), kGemmWorkspace);
        // The throughput mode times implementations already (convs); it times GEMM algorithms too.
        const int tune = opt.gemm_tune >= 0 ? opt.gemm_tune : opt.conv_backend == "auto" ? kGemmTuneCandidates : 0;
        if (tune > 1) gemm->set_autotune(tune);
        gemm_ws_ptr = ap(plan.gemm_ws);
        convs->set_gemm(gemm.get());  // AUTO's GEMM candidate (pointwise ConvBlocks, the stem)
    }
    // Relative keys of this length: the CPU reference's own table and projection (fp32), stored in
    // the precision's type.
    const std::int64_t n = plan.n, HK = cfg.heads * cfg.key_size;
    std::vector<__nv_bfloat16> tmp;
    for (size_t j = 0; j < layers.size(); ++j) {
        const auto& rk = rel_model.relative_keys(static_cast<std::int64_t>(j), n);
        SCPX_ASSERT(rk.size() == sz((2 * n - 1) * HK));
        char* dst = arena.at(plan.rel_keys) + j * plan.rel_keys_layer_bytes;
        if (prec == gpu::precision::BF16) {
            tmp.resize(rk.size());
            for (size_t i = 0; i < rk.size(); ++i) tmp[i] = __float2bfloat16_rn(rk[i]);
            SCPX_CUDA_CHECK(cudaMemcpyAsync(dst, tmp.data(), tmp.size() * 2, cudaMemcpyHostToDevice, stream));
            SCPX_CUDA_CHECK(cudaStreamSynchronize(stream));  // tmp is reused
        } else {
            SCPX_CUDA_CHECK(cudaMemcpyAsync(dst, rk.data(), rk.size() * 4, cudaMemcpyHostToDevice, stream));
        }
    }
    SCPX_CUDA_CHECK(cudaStreamSynchronize(stream));
}

enformer_gpu_model::enformer_gpu_model(const enformer_weights& weights, const enformer_gpu_options& options) {
    if (!gpu::available()) throw usage_error("Enformer on the GPU: " + gpu::describe());
    int count = 0;
    SCPX_CUDA_CHECK(cudaGetDeviceCount(&count));
    if (options.device < 0 || options.device >= count)
        throw usage_error("Enformer on the GPU: no CUDA device " + std::to_string(options.device) + " (" +
                          std::to_string(count) + " visible)");
    weights.config.validate();
    const auto backend = cuda::parse_conv_backend(options.conv_backend);
    enformer_check_gpu_kernels(options.attention, options.pool, "Enformer on the GPU: attention",
                               "Enformer on the GPU: pool");
    if (options.gemm_chunk_rows < 0 || options.pool_chunk_pairs < 0)
        throw usage_error("Enformer on the GPU: gemm_chunk_rows (" + std::to_string(options.gemm_chunk_rows) +
                          ") and pool_chunk_pairs (" + std::to_string(options.pool_chunk_pairs) +
                          ") must be >= 0 (0: a whole sequence per step)");
    if (options.flash_query_rows != 0 && options.flash_query_rows != 64 && options.flash_query_rows != 128)
        throw usage_error("Enformer on the GPU: flash_query_rows must be 0, 64 or 128 (got " +
                          std::to_string(options.flash_query_rows) + ")");
    p_ = std::make_unique<impl>(weights);
    auto& m = *p_;
    m.opt = options;
    m.profile.enable(options.profile_stages);
    m.cfg = weights.config;
    m.prec = options.prec;
    m.elem = cuda::element_bytes(options.prec);
    m.device = options.device;
    m.batch_gemms = options.batch_gemms >= 0 ? options.batch_gemms != 0 : options.conv_backend == "auto";
    m.batch_steps = options.batch_steps >= 0 ? options.batch_steps != 0 : m.batch_gemms;
    SCPX_CUDA_CHECK(cudaSetDevice(m.device)); // before the flash check, which reads the device's limits
    // auto: the fastest measured per precision (docs/PERFORMANCE.md) — flash for BF16 where the
    // device can run it, the cuBLASLt path otherwise.
    if (m.opt.attention == "auto")
        m.opt.attention = m.prec == gpu::precision::BF16 && cuda::rel_attention_flash_supports(m.attention_shape(1, 1))
                              ? "flash"
                              : "gemm";
    if (m.opt.attention == "flash" && !cuda::rel_attention_flash_supports(m.attention_shape(1, 1))) {
        // The flash kernel is tensor-core only, for Enformer-sized heads, within the device's
        // shared memory per block: the gemm path instead.
        m.attention_note = m.prec == gpu::precision::FP32 ? " (flash takes TF32/BF16 only)"
                                                          : " (flash does not fit this device's shared memory)";
        m.opt.attention = "gemm";
    }
    cudaDeviceProp prop{};
    SCPX_CUDA_CHECK(cudaGetDeviceProperties(&prop, m.device));
    char buf[96];
    std::snprintf(buf, sizeof buf, " (sm_%d%d, %.1f GiB)", prop.major, prop.minor,
                  static_cast<double>(prop.totalGlobalMem) / 1073741824.0);
    m.device_name = std::string(prop.name) + buf;
    SCPX_CUDA_CHECK(cudaStreamCreateWithFlags(&m.stream, cudaStreamNonBlocking));
    m.convs = std::make_unique<cuda::conv_selector>(backend);
    m.upload_weights(weights);
    if (options.fused_stem) {
        // Shape-only check (no pointers): BF16, the stem's k·cin ≤ 64, a BN in the block after it.
        const bool ok = m.prec == gpu::precision::BF16 && m.stem_pointwise.scale != kNone &&
                        cuda::conv_dual_supports(m.conv_args(m.stem_conv, nullptr, 1, 1, nullptr, nullptr, false));
        m.fused_stem = ok;
        if (!ok)
            m.stem_note = m.prec != gpu::precision::BF16 ? " (fused stem: BF16 only)"
                                                          : " (fused stem: not for this stem or device)";
    }
}

enformer_gpu_model::~enformer_gpu_model() = default;

void enformer_gpu_model::reserve(std::int64_t batch, std::int64_t length) { p_->reserve(batch, length); }

std::int64_t enformer_gpu_model::reserve_largest(std::int64_t max_batch, std::int64_t length) {
    if (max_batch < 1) throw usage_error("Enformer: batch must be >= 1");
    // Headroom: the throughput mode's first call times its convolution candidates into a
    // temporary output of up to one trunk activation (conv_selector); an arena that leaves no room
    // for it would make every such shape fall back to the untimed custom kernel.
    const auto room_for = [](std::size_t bytes) {
        void* probe = nullptr;
        if (cudaMalloc(&probe, bytes) != cudaSuccess) {
            cudaGetLastError();
            return false;
        }
        cudaFree(probe);
        return true;
    };
    for (std::int64_t b = max_batch;; b /= 2) {
        try {
            p_->reserve(b, length);
        } catch (const cuda_out_of_memory&) {
            if (b == 1) throw;  // reserve left no arena behind: the next size starts clean
            continue;
        }
        if (b == 1 || room_for(p_->plan.act_bytes)) return b;
        p_->drop_arena();
    }
}

enformer_output enformer_gpu_model::predict(const float* onehot, std::int64_t B, std::int64_t length,
                                            const enformer_gpu_request& req) {
    impl::host_input in;
    in.onehot = onehot;
    return p_->run(in, B, length, req);
}

enformer_output enformer_gpu_model::predict_bases(std::string_view bases, std::int64_t B, std::int64_t length,
                                                  seq::onehot_n_mode n_mode, const enformer_gpu_request& req) {
    enformer_check_bases(bases.size(), B, length);
    impl::host_input in;
    in.bases = bases.data();
    in.other = n_mode == seq::onehot_n_mode::QUARTER ? 0.25f : 0.0f;
    return p_->run(in, B, length, req);
}

enformer_output enformer_gpu_model::impl::run(const host_input& in, std::int64_t B, std::int64_t length,
                                              const enformer_gpu_request& req) {
    auto& m = *this;
    const auto& cfg = m.cfg;
    if (B < 1) throw usage_error("Enformer: batch must be >= 1");
    enformer_check_length(cfg, length, "Enformer input");
    const std::int64_t T = cfg.target_length;
    if (req.bin0 < 0 || req.bins < 0 || req.bin0 + req.bins > T || (req.bins == 0 && req.bin0 != 0))
        throw usage_error("Enformer: output bins [" + std::to_string(req.bin0) + ", " +
                          std::to_string(req.bin0 + req.bins) + ") are not within the " + std::to_string(T) +
                          " target bins");
    const std::int64_t bins = req.bins > 0 ? req.bins : T;
    std::vector<const d_head*> heads;
    if (req.heads.empty()) {
        for (const auto& h : m.heads) heads.push_back(&h);
    } else {
        for (const auto& name : req.heads) {
            auto it = std::find_if(m.heads.begin(), m.heads.end(), [&](const d_head& h) { return h.name == name; });
            if (it == m.heads.end()) throw usage_error("Enformer: the model has no head named '" + name + "'");
            heads.push_back(&*it);
        }
    }
    m.reserve(B, length);
    if (m.opt.conv_backend != "custom") {
        // The plan covers the full and the 4-bin final pointwise; another bin count may need more
        // cuDNN workspace: grow once, before any work is queued.
        const std::size_t need = m.scratch_need(m.final_pointwise, B, bins, false, true);
        if (need > m.plan.conv_scratch_bytes) {
            m.scratch_floor = need;
            m.plan.length = 0;  // force a new plan
            m.reserve(B, length);
        }
    }
    SCPX_CUDA_CHECK(cudaSetDevice(m.device));
    const auto& p = m.plan;
    const cudaStream_t s = m.stream;
    const auto prec = m.prec;
    const std::size_t elem = m.elem;

    auto& prof = m.profile;
    prof.begin(s);
    // Input → device one-hot in the precision's type: letters as bytes (encoded there), or fp32 rows.
    const std::int64_t in_count = B * length * 4;
    if (in.bases) {
        SCPX_CUDA_CHECK(cudaMemcpyAsync(m.ap(p.in_bases), in.bases, sz(B * length), cudaMemcpyHostToDevice, s));
        cuda::onehot_encode(static_cast<const char*>(m.ap(p.in_bases)), B * length, in.other, m.ap(p.in), prec, s);
    } else if (prec == gpu::precision::BF16) {
        SCPX_CUDA_CHECK(cudaMemcpyAsync(m.ap(p.in_f32), in.onehot, sz(in_count) * 4, cudaMemcpyHostToDevice, s));
        cuda::f32_to_bf16(reinterpret_cast<const float*>(m.ap(p.in_f32)), reinterpret_cast<__nv_bfloat16*>(m.ap(p.in)),
                          in_count, s);
    } else {
        SCPX_CUDA_CHECK(cudaMemcpyAsync(m.ap(p.in), in.onehot, sz(in_count) * 4, cudaMemcpyHostToDevice, s));
    }

    // Stem: conv15 → x + ConvBlock1(x) → softmax pool.
    std::int64_t L = length;
    void* a = m.ap(p.act0);
    void* b = m.ap(p.act1);
    prof.mark(s, stage_profile::input);
    if (m.fused_stem) {
        // One sequence at a time (stem_next holds one): the dual pass writes the conv's output to
        // `a` and the pointwise block's input gelu(bn(·)) to stem_next; the pointwise GEMM reads
        // that with `a` as its residual.
        const std::size_t in_step = sz(L * 4) * elem, act_step = sz(L * m.stem_conv.cout) * elem;
        for (std::int64_t q = 0; q < B; ++q) {
            char* const y = static_cast<char*>(a) + sz(q) * act_step;
            cuda::conv_dual_args d;
            d.conv = m.conv_args(m.stem_conv, static_cast<const char*>(m.ap(p.in)) + sz(q) * in_step, 1, L, y, nullptr,
                                 false);
            d.next_scale = m.wf(m.stem_pointwise.scale);
            d.next_shift = m.wf(m.stem_pointwise.shift);
            d.y2 = m.ap(p.stem_next);
            cuda::conv_dual(d, s);
            cuda::conv_gemm(m.conv_args(m.stem_pointwise, m.ap(p.stem_next), 1, L,
                                        static_cast<char*>(b) + sz(q) * act_step, y, false, /*input_transformed=*/true),
                            *m.gemm, nullptr, 0, s);
        }
    } else {
        m.conv(m.stem_conv, m.ap(p.in), B, L, a);
        m.conv(m.stem_pointwise, a, B, L, b, /*residual=*/a);
    }
    // Each pool also applies the BN → GELU of the tower ConvBlock after it when it can (`ready`):
    // that block's input is used by nothing else.
    bool ready = m.pool(m.stem_pool, b, B, L, a, m.tower.empty() ? nullptr : &m.tower.front().conv);
    prof.mark(s, stage_profile::stem);
    L /= 2;
    // Conv tower: ConvBlock5 → residual pointwise ConvBlock → softmax pool; x lives in `a`.
    for (std::size_t i = 0; i < m.tower.size(); ++i) {
        const auto& t = m.tower[i];
        m.conv(t.conv, a, B, L, b, nullptr, false, /*input_transformed=*/ready);
        m.conv(t.pointwise, b, B, L, a, /*residual=*/b);
        ready = m.pool(t.pool, a, B, L, b, i + 1 < m.tower.size() ? &m.tower[i + 1].conv : nullptr);
        std::swap(a, b);
        L /= 2;
    }
    prof.mark(s, stage_profile::tower);
    // Transformer, in place on x: x += Wo·attn(LN(x)) + bo; x += W2·ReLU(W1·LN(x) + b1) + b2.
    const std::int64_t n = L, d = cfg.dim, H = cfg.heads, K = cfg.key_size, V = cfg.value();
    SCPX_ASSERT(n == p.n);
    void* x = a;
    for (size_t j = 0; j < m.layers.size(); ++j) {
        const auto& l = m.layers[j];
        cuda::layer_norm_args ln;
        ln.rows = B * n;
        ln.channels = d;
        ln.x = x;
        ln.gamma = m.wf(l.ln1_g);
        ln.beta = m.wf(l.ln1_b);
        ln.y = m.ap(p.ln);
        ln.prec = prec;
        cuda::layer_norm(ln, s);
        m.gemm_run(B, n, l.qkv_cols, d, m.ap(p.ln), l.qkv, kNone, cuda::gemm_epilogue::NONE, m.ap(p.qkv));

        cuda::rel_attention_args at = m.attention_shape(B, n);
        at.qkv = m.ap(p.qkv);
        at.rel_k = m.arena.at(p.rel_keys) + j * p.rel_keys_layer_bytes;
        at.content_bias = m.wf(l.content_bias);
        at.pos_bias = m.wf(l.pos_bias);
        at.q_scale = 1.0f / std::sqrt(static_cast<float>(K));  // as ops::rel_attention_ref
        at.out = m.ap(p.attn);
        if (p.attn_ws != kNone)
            cuda::rel_attention_gemm(at, *m.gemm, m.arena.at(p.attn_ws), p.attn_ws_bytes, s);
        else if (m.opt.attention == "flash")
            cuda::rel_attention_flash(at, s);
        else
            cuda::rel_attention(at, s);
        m.gemm_run(B, n, d, H * V, m.ap(p.attn), l.out_w, l.out_b, cuda::gemm_epilogue::BIAS, x, /*c=*/x);
        prof.mark(s, stage_profile::attention);

        ln.gamma = m.wf(l.ln2_g);
        ln.beta = m.wf(l.ln2_b);
        cuda::layer_norm(ln, s);
        m.gemm_run(B, n, l.hidden, d, m.ap(p.ln), l.w1, l.b1, cuda::gemm_epilogue::RELU_BIAS, m.ap(p.hidden));
        m.gemm_run(B, n, d, l.hidden, m.ap(p.hidden), l.w2, l.b2, cuda::gemm_epilogue::BIAS, x, /*c=*/x);
        prof.mark(s, stage_profile::feed_forward);
    }

    // Crop + bin selection in one gather: rows trim + bin0 … of every sequence.
    const std::int64_t trim = (n - T) / 2;
    cuda::copy_rows_args cr;
    cr.batch = B;
    cr.rows = bins;
    cr.cols = d;
    cr.row0 = trim + req.bin0;
    cr.x_row_stride = d;
    cr.x_batch_stride = n * d;
    cr.x = x;
    cr.y = m.ap(p.emb_in);
    cr.elem_bytes = elem;
    cuda::copy_rows(cr, s);
    // Final pointwise: ConvBlock(d → 2d, k = 1) then GELU, on the selected bins only.
    const std::int64_t E = m.final_pointwise.cout;
    m.conv(m.final_pointwise, m.ap(p.emb_in), B, bins, m.ap(p.emb), nullptr, /*out_gelu=*/true);
    prof.mark(s, stage_profile::final_pointwise);

    enformer_output out;
    out.batch = B;
    out.bins = bins;
    if (req.trunk_embedding) {
        out.trunk_embedding.resize(sz(B * bins * E));
        const void* src = m.ap(p.emb);
        if (prec == gpu::precision::BF16) {
            cuda::bf16_to_f32(reinterpret_cast<const __nv_bfloat16*>(m.ap(p.emb)), reinterpret_cast<float*>(m.ap(p.emb_f32)),
                              B * bins * E, s);
            src = m.ap(p.emb_f32);
        }
        SCPX_CUDA_CHECK(cudaMemcpyAsync(out.trunk_embedding.data(), src, out.trunk_embedding.size() * 4,
                                        cudaMemcpyDeviceToHost, s));
    }
    // Heads: Linear (GEMM, fp32 out) → bias + softplus in one pass.
    for (const auto* h : heads) {
        m.gemm_run(B, bins, h->tracks, E, m.ap(p.emb), h->w, kNone, cuda::gemm_epilogue::NONE, m.ap(p.head_f32),
                   nullptr, /*d_f32=*/true);
        cuda::bias_act_args ba;
        ba.rows = B * bins;
        ba.cols = h->tracks;
        ba.x = m.ap(p.head_f32);
        ba.bias = m.wf(h->bias);
        ba.act = cuda::activation::SOFTPLUS;
        ba.y = m.ap(p.head_f32);
        ba.y_f32 = true;
        ba.prec = gpu::precision::FP32;  // x is the fp32 GEMM output in every precision
        cuda::bias_act(ba, s);
        std::vector<float> host(sz(B * bins * h->tracks));
        SCPX_CUDA_CHECK(cudaMemcpyAsync(host.data(), m.ap(p.head_f32), host.size() * 4, cudaMemcpyDeviceToHost, s));
        // head_f32 is reused by the next head: wait before it is overwritten.
        SCPX_CUDA_CHECK(cudaStreamSynchronize(s));
        out.heads.emplace(h->name, std::move(host));
    }
    prof.mark(s, stage_profile::heads);
    SCPX_CUDA_CHECK(cudaStreamSynchronize(s));
    prof.finish();
    return out;
}

std::vector<enformer_stage_time> enformer_gpu_model::stage_times() const { return p_->profile.times(); }

void enformer_gpu_model::reset_stage_times() { p_->profile.reset(); }

std::size_t enformer_gpu_model::device_bytes() const { return p_->weights.bytes + p_->arena.bytes; }

std::string enformer_gpu_model::conv_report() const {
    const std::string gemms = p_->gemm ? p_->gemm->tuning_report() : std::string();
    return p_->convs->report() + (gemms.empty() ? "" : "GEMM algorithms (auto: cuBLASLt heuristic candidates timed):\n" + gemms);
}

std::string enformer_gpu_model::describe() const {
    return "cuda:" + std::to_string(p_->device) + " " + p_->device_name + ", " + gpu::to_string(p_->prec) + ", conv " +
           p_->opt.conv_backend + ", attention " + p_->opt.attention + p_->attention_note + ", pool " + p_->opt.pool +
           " (chunks: " + std::to_string(p_->opt.gemm_chunk_rows) + " GEMM rows, " +
           std::to_string(p_->opt.pool_chunk_pairs) + " pool pairs; 0 = whole sequence)" +
           (p_->prec == gpu::precision::BF16 && p_->opt.pool_bf16_logits ? ", bf16 pool logits" : "") +
           (p_->batch_gemms ? ", batched GEMMs" : ", per-sequence GEMMs") +
           (p_->batch_steps ? ", conv/pool steps across sequences" : "") +
           (p_->opt.attention == "flash" && p_->opt.flash_query_rows == 128 ? ", flash blocks of 128 rows" : "") +
           (p_->fused_stem ? ", fused stem" : "") + p_->stem_note +
           (p_->folded_convs > 0 ? ", conv bias folded" : "");
}

} // namespace scpx::model
