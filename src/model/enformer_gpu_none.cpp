// Builds without CUDA (SCPX_ENABLE_CUDA=OFF): the GPU Enformer cannot be constructed. The CLI's
// resolve_device normally stops `--device cuda` before this; this catches library callers.
#include "scpx/core/error.hpp"
#include "scpx/model/enformer_gpu.hpp"

namespace scpx::model {

struct enformer_gpu_model::impl {};

enformer_gpu_model::enformer_gpu_model(const enformer_weights&, const enformer_gpu_options&) {
    throw usage_error("Enformer on the GPU: this scpx was built without CUDA: use --device cpu");
}

enformer_gpu_model::~enformer_gpu_model() = default;

void enformer_gpu_model::reserve(std::int64_t, std::int64_t) {}

std::int64_t enformer_gpu_model::reserve_largest(std::int64_t, std::int64_t) { return 1; }

enformer_output enformer_gpu_model::predict(const float*, std::int64_t, std::int64_t, const enformer_gpu_request&) {
    throw usage_error("Enformer on the GPU: this scpx was built without CUDA");
}

enformer_output enformer_gpu_model::predict_bases(std::string_view, std::int64_t, std::int64_t, seq::onehot_n_mode,
                                                  const enformer_gpu_request&) {
    throw usage_error("Enformer on the GPU: this scpx was built without CUDA");
}

std::size_t enformer_gpu_model::device_bytes() const { return 0; }

std::string enformer_gpu_model::conv_report() const { return {}; }

std::vector<enformer_stage_time> enformer_gpu_model::stage_times() const { return {}; }

void enformer_gpu_model::reset_stage_times() {}

std::string enformer_gpu_model::describe() const { return "built without CUDA"; }

} // namespace scpx::model
