#pragma once
/// @file mlp.hpp
/// The ctPred MLP (scPrediXcan `ctPred_utils.py`) and its training loop, independent of any file
/// format and of the compute device.
///
/// Architecture: Linear(d_in, H)-ReLU-Dropout, then `n_blocks` × [Linear(H, H)-ReLU-Dropout] that
/// share ONE weight matrix by default (the official code reuses one layer object), then
/// Linear(H, 1) with a linear head (default) or the bounded head relu(z)/(1+softplus(relu(z)-1)).
///
/// Training follows /work/shared/fixtures/ctpred/README.md exactly: per-batch mean MSE, the shared
/// layer's gradient summed over its uses, torch.optim.Adam with coupled weight decay (one state per
/// tensor, biases decayed, global step counter), batches cut from a per-epoch row order with a
/// partial last batch, full-pass train/val losses after every epoch.
///
/// Parameters live in ONE flat array (layout below) so Adam is a single elementwise pass on every
/// backend. This header has no Eigen/CUDA/HDF5 dependency; the CPU backend (src/ctpred/mlp_cpu.cpp)
/// and the loop (src/ctpred/train_loop.cpp) need only Eigen and scpx_base, so the GPU test binary
/// compiles them too and cross-checks the CUDA backend against them.

#include "scpx/core/error.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace scpx::ctpred {

/// Output non-linearity.
enum class head_kind {
    LINEAR,  ///< z (the paper-era default)
    BOUNDED, ///< r = relu(z); r / (1 + softplus(r − 1)) (later official code)
};

/// Which weights the best-validation checkpoint keeps.
enum class checkpoint_rule {
    POST_EPOCH, ///< weights after epoch e, selected by the val loss of those weights
    OFFICIAL,   ///< the official quirk: weights after epoch e, selected by the val loss at its start
};

/// Network size and options.
struct mlp_shape {
    std::int64_t d_in = 5313; ///< feature width (Enformer tracks)
    std::int64_t hidden = 64; ///< hidden width H
    int n_blocks = 3;         ///< number of H→H blocks after the first layer
    bool tied = true;         ///< one shared H×H layer (official) or one per block (untied)
    head_kind head = head_kind::LINEAR;
};

/// One parameter tensor in the flat array.
struct param_tensor {
    std::string name;                ///< PyTorch state_dict name ("net.0.weight")
    std::vector<std::int64_t> shape; ///< [out, in] for weights, [out] for biases
    std::int64_t offset = 0;         ///< first element in the flat array
    std::int64_t size = 0;           ///< number of elements
};

/// Flat parameter layout: W0 [H, d_in], b0 [H], then the hidden layer(s) (W [H, H], b [H]; one
/// pair when tied, n_blocks pairs when untied), then Wo [1, H], bo [1]. Weights are [out, in]
/// row-major (y = x·Wᵀ + b), as in PyTorch.
struct mlp_layout {
    mlp_layout() : mlp_layout(mlp_shape{}) {}
    /// @throws usage_error for non-positive sizes
    explicit mlp_layout(const mlp_shape& s);

    mlp_shape shape;
    std::vector<param_tensor> tensors; ///< trainable tensors, in flat order
    std::int64_t n_params = 0;         ///< total trainable parameters (344,321 for the default)
    std::int64_t w0 = 0, b0 = 0;       ///< offsets of the first layer
    std::vector<std::int64_t> wh, bh;  ///< offsets of block k's weight and bias (same for all k when tied)
    std::int64_t wo = 0, bo = 0;       ///< offsets of the output layer

    /// state_dict name of block k's Linear: "net.3", "net.6", … (3 modules per block).
    static std::string block_module(int k) { return "net." + std::to_string(3 + 3 * k); }
    /// state_dict name of the output Linear ("net.12" for 3 blocks).
    std::string output_module() const { return "net." + std::to_string(3 + 3 * shape.n_blocks); }
    /// Number of hidden layers with a ReLU (1 + n_blocks).
    int n_hidden_layers() const { return 1 + shape.n_blocks; }
};

/// Hyper-parameters of training (defaults: pipeline.md §3).
struct train_options {
    int epochs = 100;
    std::int64_t batch_size = 1000;
    double lr = 9e-5;
    double weight_decay = 5e-4;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double dropout = 0.05;        ///< p of every dropout layer; 0 = identity
    std::uint64_t seed = 1024;    ///< batch shuffling (when no order is given) and dropout masks
    int threads = 0;              ///< CPU worker threads; 0 = all hardware threads
    checkpoint_rule checkpoint = checkpoint_rule::POST_EPOCH;
};

/// Checks the option values train() relies on: epochs and batch size >= 1, dropout in [0, 1),
/// lr finite and > 0, weight decay finite and >= 0. @throws usage_error naming the option
void check_train_options(const train_options& opts);

/// A training run went to NaN or infinity (a loss or a weight): nothing of it may be kept.
class training_diverged : public error {
public:
    training_diverged(int epoch, const std::string& what) : error(what), epoch_(epoch) {}
    int epoch() const noexcept { return epoch_; } ///< 0-based epoch after which it was found
private:
    int epoch_;
};

/// Row indices (into the feature matrix) of each split.
struct split_rows {
    std::vector<std::int64_t> train, val, test;
};

/// Loss history and weights of one training run.
template <class T>
struct train_result {
    std::vector<T> final_params;              ///< after the last epoch
    std::vector<T> best_params;               ///< best-validation checkpoint (see checkpoint_rule)
    int best_epoch = -1;                      ///< 0-based epoch whose end-weights are best_params
    double best_val_loss = 0;                 ///< the val loss that selected them
    std::vector<double> train_loss;           ///< [E] full-pass train MSE after epoch e
    std::vector<double> val_loss;             ///< [E] val MSE after epoch e
    std::vector<double> val_loss_pre;         ///< [E] val MSE at the start of epoch e
    std::vector<std::vector<double>> batch_loss; ///< [E][batches] loss of each batch before its step
    std::int64_t n_steps = 0;                 ///< Adam steps taken
};

/// What the loop reports after each epoch (for logging).
struct epoch_report {
    int epoch = 0;          ///< 0-based
    int epochs = 0;
    double train_loss = 0, val_loss = 0, val_loss_pre = 0;
    bool improved = false;  ///< this epoch's weights became the checkpoint
    double seconds = 0;     ///< wall time of the epoch
};

/// A compute device holding the features, targets and parameters of one model.
/// Implementations: make_cpu_backend (Eigen, threads) and make_cuda_backend (cuBLAS).
template <class T>
class mlp_backend {
public:
    virtual ~mlp_backend() = default;
    /// Copies `n_params` values in.
    virtual void set_params(const T* params) = 0;
    /// Copies the current parameters out.
    virtual void get_params(T* params) = 0;
    /// Resets the Adam moments to zero.
    virtual void reset_optimizer() = 0;
    /// Mean squared error over `rows` in eval mode (no dropout), accumulated in double.
    virtual double eval_loss(const std::int64_t* rows, std::int64_t n) = 0;
    /// Network outputs for `rows` in eval mode.
    virtual void predict(const std::int64_t* rows, std::int64_t n, T* out) = 0;
    /// One training step on a batch: forward with dropout masks keyed by (`seed`, `step`),
    /// backward, Adam update with step counter `step` (1-based). Returns the batch loss before
    /// the update. The loss may be returned lazily: see flush_batch_losses.
    virtual void train_step(const std::int64_t* rows, std::int64_t n, std::int64_t step) = 0;
    /// Batch losses of the train_step calls since the previous flush, in call order.
    virtual std::vector<double> flush_batch_losses() = 0;
    /// Loss and raw gradient (no weight decay) of one batch, dropout keyed by (`seed`, `step`)
    /// when training options have dropout > 0 and `step` > 0 (step 0 = no dropout). For tests.
    virtual double loss_and_grad(const std::int64_t* rows, std::int64_t n, std::int64_t step, T* grad) = 0;
    /// Saves the current parameters as the checkpoint (device-side copy).
    virtual void save_checkpoint() = 0;
    /// Copies the checkpoint out.
    virtual void get_checkpoint(T* params) = 0;
};

/// Features and targets as the backends see them: row-major [n_rows, d_in] and [n_rows].
/// The backend keeps the pointers (CPU) or copies the data (CUDA); they must outlive it.
template <class T>
struct mlp_data {
    const T* x = nullptr;
    const T* y = nullptr;
    std::int64_t n_rows = 0;
};

/// CPU backend (Eigen GEMMs split over `opts.threads` threads).
template <class T>
std::unique_ptr<mlp_backend<T>> make_cpu_backend(const mlp_layout& layout, const mlp_data<T>& data,
                                                 const train_options& opts);

/// CUDA backend (cuBLAS GEMMs, TF32 off; small kernels). Only when built with CUDA.
/// @throws usage_error when scpx was built without CUDA; cuda_error on device failures
template <class T>
std::unique_ptr<mlp_backend<T>> make_cuda_backend(const mlp_layout& layout, const mlp_data<T>& data,
                                                  const train_options& opts);

/// Per-epoch row orders [epochs][n_train] (global rows) by a seeded Fisher–Yates shuffle of
/// `train_rows` (splitmix64; the same on every platform).
std::vector<std::vector<std::int64_t>> make_batch_order(const std::vector<std::int64_t>& train_rows, int epochs,
                                                        std::uint64_t seed);

/// Runs the training loop on `backend` from `init`. `batch_order` is [epochs][n_train] global rows
/// (each row a permutation of split.train), or empty for make_batch_order(split.train, epochs, seed).
/// @throws usage_error when the split, the order or the options are inconsistent;
///         training_diverged when, after an epoch, the train or val loss or a weight is not finite
template <class T>
train_result<T> train(mlp_backend<T>& backend, const mlp_layout& layout, const std::vector<T>& init,
                      const split_rows& split, const std::vector<std::vector<std::int64_t>>& batch_order,
                      const train_options& opts, const std::function<void(const epoch_report&)>& on_epoch = {});

/// PyTorch-style default initialisation (uniform ±1/sqrt(fan_in) for weights and biases) from a
/// splitmix64 stream of `seed` (not bit-identical to torch's; use --init-weights for that).
template <class T>
std::vector<T> default_init(const mlp_layout& layout, std::uint64_t seed);

/// Pearson correlation (double accumulation); NaN when either side is constant.
double pearson_r(const std::vector<double>& a, const std::vector<double>& b);
/// Spearman correlation: Pearson of average ranks (scipy.stats.spearmanr).
double spearman_r(const std::vector<double>& a, const std::vector<double>& b);
/// Average ranks (1-based, ties get the mean of their positions), as scipy rankdata("average").
std::vector<double> average_ranks(const std::vector<double>& v);

} // namespace scpx::ctpred
