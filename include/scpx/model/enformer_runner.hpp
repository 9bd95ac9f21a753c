#pragma once
/// @file enformer_runner.hpp
/// The device choice of the Enformer commands (`scpx enformer predict`, `scpx features
/// reference`): one object that runs either the CPU reference (enformer.hpp) or the GPU model
/// (enformer_gpu.hpp) behind the same call, so the commands have one code path.

#include "scpx/model/enformer.hpp"
#include "scpx/model/enformer_gpu.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace scpx::model {

/// Device options as given on the command line.
struct enformer_device_options {
    std::string device = "auto";          ///< auto | cpu | cuda
    std::string precision = "fp32";       ///< fp32 | tf32 | bf16 (the CPU always runs fp32)
    std::string conv_backend = "custom";  ///< custom | cudnn | auto (GPU only)
    std::string attention = "auto";       ///< auto | gemm | fused | flash (GPU only; enformer_gpu_options)
    std::string pool = "gemm";            ///< gemm | fused (GPU only)
    int cuda_device = -1;                 ///< CUDA device ordinal (−1: node-local rank modulo devices)
};

/// Checks the option strings without touching a device.
/// @throws usage_error naming the option and the accepted values
void enformer_check_device_options(const enformer_device_options& o);

/// An Enformer on the resolved device.
class enformer_runner {
public:
    /// Validates the options, resolves the device (auto: the GPU when one is usable, else the CPU
    /// with a log line; cuda without a usable GPU: usage_error), builds the model there and logs
    /// the device. On the CPU a precision other than fp32 is logged as a warning and ignored.
    enformer_runner(enformer_weights weights, const enformer_device_options& o);
    ~enformer_runner();
    enformer_runner(const enformer_runner&) = delete;
    enformer_runner& operator=(const enformer_runner&) = delete;

    /// The model's hyper-parameters.
    const enformer_config& config() const { return cfg_; }
    /// True when the GPU model runs.
    bool on_gpu() const { return static_cast<bool>(gpu_); }
    /// "CPU (fp32, 8 threads)" or the GPU model's description.
    std::string describe() const;

    /// Sizes the GPU arena for `batch` × `length` (no-op on the CPU).
    void reserve(std::int64_t batch, std::int64_t length);
    /// The batch a command runs with: `requested` when >= 1 (the GPU arena sized for it);
    /// 0 (auto): on a GPU the largest of kAutoBatch, kAutoBatch/2, …, 1 that its memory holds
    /// (batch 8 runs 1.2× faster per sequence than batch 1 on an H100 in bf16), on the CPU 1 (no
    /// faster with more, only larger). Never more than `limit` (the sequences there are).
    std::int64_t choose_batch(std::int64_t requested, std::int64_t length, std::int64_t limit);
    static constexpr std::int64_t kAutoBatch = 8;

    /// Runs the model. Heads are returned for output bins [req.bin0, req.bin0 + req.bins) of the
    /// target_length bins (req.bins 0: all), as [batch, bins, tracks]; the trunk embedding only
    /// when req.trunk_embedding. The GPU runs the final pointwise and the heads on those bins
    /// only; the CPU runs every bin and slices, so its values do not depend on the request.
    /// @throws usage_error for a bad length, bin range or head name
    enformer_output predict(const float* onehot, std::int64_t batch, std::int64_t length,
                            const enformer_gpu_request& req);
    /// Same from DNA letters (batch·length of them, sequence after sequence), encoded as
    /// seq::onehot_ref with n_mode: on the GPU after a byte-per-base upload, on the CPU here.
    enformer_output predict_bases(std::string_view bases, std::int64_t batch, std::int64_t length,
                                  seq::onehot_n_mode n_mode, const enformer_gpu_request& req);

    /// GPU only: device memory held (0 on the CPU).
    std::size_t device_bytes() const;
    /// GPU only: per-shape convolution choices (empty on the CPU).
    std::string conv_report() const;

private:
    enformer_config cfg_;
    std::unique_ptr<enformer_model> cpu_;
    std::unique_ptr<enformer_gpu_model> gpu_;
};

} // namespace scpx::model
