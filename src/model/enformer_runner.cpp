#include "scpx/model/enformer_runner.hpp"

#include "scpx/core/device.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/ops/parallel.hpp"

#include <algorithm>
#include <string>
#include <utility>

namespace scpx::model {

void enformer_check_device_options(const enformer_device_options& o) {
    gpu::parse_device_choice(o.device);
    gpu::parse_precision(o.precision);
    if (o.conv_backend != "custom" && o.conv_backend != "cudnn" && o.conv_backend != "auto")
        throw usage_error("--conv-backend must be custom, cudnn or auto (got '" + o.conv_backend + "')");
    enformer_check_gpu_kernels(o.attention, o.pool, "--attention", "--pool");
    if (o.cuda_device < -1) throw usage_error("--cuda-device must be >= 0, or -1 for one device per node-local rank");
}

enformer_runner::enformer_runner(enformer_weights weights, const enformer_device_options& o) : cfg_(weights.config) {
    enformer_check_device_options(o);
    const auto prec = gpu::parse_precision(o.precision);
    if (gpu::resolve_device(gpu::parse_device_choice(o.device))) {
        enformer_gpu_options go;
        go.prec = prec;
        go.conv_backend = o.conv_backend;
        go.attention = o.attention;
        go.pool = o.pool;
        go.device = o.cuda_device >= 0 ? o.cuda_device : gpu::device_for_this_process();
        gpu_ = std::make_unique<enformer_gpu_model>(weights, go);
    } else {
        if (prec != gpu::precision::FP32)
            SCPX_LOG_WRN("--precision {}: the CPU model always runs fp32", gpu::to_string(prec));
        cpu_ = std::make_unique<enformer_model>(std::move(weights));
    }
    SCPX_LOG_INF("Enformer device: {}", describe());
}

enformer_runner::~enformer_runner() = default;

std::string enformer_runner::describe() const {
    if (gpu_) return gpu_->describe();
    return "CPU (fp32, " + std::to_string(ops::num_threads()) + " threads)";
}

void enformer_runner::reserve(std::int64_t batch, std::int64_t length) {
    if (gpu_) gpu_->reserve(batch, length);
}

std::int64_t enformer_runner::choose_batch(std::int64_t requested, std::int64_t length, std::int64_t limit) {
    if (requested < 0) throw usage_error("--batch must be >= 0 (0: automatic)");
    limit = std::max<std::int64_t>(limit, 1);
    if (requested > 0) {
        const std::int64_t b = std::min(requested, limit);
        reserve(b, length);
        return b;
    }
    if (!gpu_) return 1;
    const std::int64_t b = gpu_->reserve_largest(std::min(kAutoBatch, limit), length);
    if (b < std::min(kAutoBatch, limit))
        SCPX_LOG_INF("--batch 0: {} sequence(s) of {} bp per pass, the most of {} that fit the GPU's memory", b,
                     length, std::min(kAutoBatch, limit));
    return b;
}

enformer_output enformer_runner::predict_bases(std::string_view bases, std::int64_t batch, std::int64_t length,
                                               seq::onehot_n_mode n_mode, const enformer_gpu_request& req) {
    if (gpu_) return gpu_->predict_bases(bases, batch, length, n_mode, req);
    enformer_check_bases(bases.size(), batch, length);
    return predict(seq::onehot_ref(bases, n_mode).data(), batch, length, req);
}

enformer_output enformer_runner::predict(const float* onehot, std::int64_t batch, std::int64_t length,
                                         const enformer_gpu_request& req) {
    if (gpu_) return gpu_->predict(onehot, batch, length, req);
    const std::int64_t T = cfg_.target_length;
    if (req.bin0 < 0 || req.bins < 0 || req.bin0 + req.bins > T || (req.bins == 0 && req.bin0 != 0))
        throw usage_error("Enformer: output bins [" + std::to_string(req.bin0) + ", " +
                          std::to_string(req.bin0 + req.bins) + ") are not within the " + std::to_string(T) +
                          " target bins");
    enformer_run_options ro;
    ro.heads = req.heads;
    enformer_output out = cpu_->predict(onehot, batch, length, ro);
    if (!req.trunk_embedding) out.trunk_embedding = {};
    if (req.bins == 0 || req.bins == T) return out;
    // Keep rows [bin0, bin0 + bins) of each sequence: [B, T, C] → [B, bins, C].
    auto slice = [&](std::vector<float>& v) {
        if (v.empty()) return;
        const std::int64_t C = static_cast<std::int64_t>(v.size()) / (batch * T);
        std::vector<float> s(static_cast<size_t>(batch * req.bins * C));
        for (std::int64_t b = 0; b < batch; ++b)
            std::copy_n(v.begin() + (b * T + req.bin0) * C, req.bins * C, s.begin() + b * req.bins * C);
        v = std::move(s);
    };
    slice(out.trunk_embedding);
    for (auto& [name, v] : out.heads) slice(v);
    out.bins = req.bins;
    return out;
}

std::size_t enformer_runner::device_bytes() const { return gpu_ ? gpu_->device_bytes() : 0; }

std::string enformer_runner::conv_report() const { return gpu_ ? gpu_->conv_report() : std::string(); }

} // namespace scpx::model
