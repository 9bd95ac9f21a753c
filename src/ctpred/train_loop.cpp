// The ctPred training loop (epochs, batches, losses, checkpoint), the parameter layout, seeded
// orders/initialisation and the correlation metrics. Device-independent: it drives any
// mlp_backend, so the CPU and CUDA runs share one definition of the semantics.
#include "scpx/core/error.hpp"
#include "scpx/ctpred/dropout_hash.hpp"
#include "scpx/ctpred/mlp.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>
#include <string>

namespace scpx::ctpred {

mlp_layout::mlp_layout(const mlp_shape& s) : shape(s) {
    if (s.d_in <= 0 || s.hidden <= 0 || s.n_blocks < 0)
        throw usage_error("ctPred: feature width, hidden width and block count must be positive");
    std::int64_t off = 0;
    auto add = [&](const std::string& name, std::vector<std::int64_t> shp) {
        param_tensor t;
        t.name = name;
        t.size = 1;
        for (auto v : shp) t.size *= v;
        t.shape = std::move(shp);
        t.offset = off;
        off += t.size;
        tensors.push_back(t);
        return t.offset;
    };
    const std::int64_t h = s.hidden;
    w0 = add("net.0.weight", {h, s.d_in});
    b0 = add("net.0.bias", {h});
    const int distinct = s.tied ? std::min(1, s.n_blocks) : s.n_blocks;
    for (int k = 0; k < distinct; ++k) {
        wh.push_back(add(block_module(k) + ".weight", {h, h}));
        bh.push_back(add(block_module(k) + ".bias", {h}));
    }
    while (static_cast<int>(wh.size()) < s.n_blocks) {
        wh.push_back(wh.front());
        bh.push_back(bh.front());
    }
    wo = add(output_module() + ".weight", {1, h});
    bo = add(output_module() + ".bias", {1});
    n_params = off;
}

namespace {

/// splitmix64 stream.
struct splitmix {
    std::uint64_t state;
    std::uint64_t next() {
        state += 0x9e3779b97f4a7c15ULL;
        std::uint64_t z = state;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    /// Uniform integer in [0, k) (modulo bias below k / 2^64, i.e. < 1e-12 for any gene count).
    std::uint64_t below(std::uint64_t k) { return next() % k; }
    /// Uniform double in [0, 1).
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

} // namespace

std::vector<std::vector<std::int64_t>> make_batch_order(const std::vector<std::int64_t>& train_rows, int epochs,
                                                        std::uint64_t seed) {
    splitmix rng{mix64(seed ^ 0x6374707265644f52ULL)};
    std::vector<std::vector<std::int64_t>> order(static_cast<size_t>(std::max(epochs, 0)));
    for (auto& o : order) {
        o = train_rows;
        for (size_t i = o.size(); i > 1; --i) std::swap(o[i - 1], o[rng.below(i)]);
    }
    return order;
}

template <class T>
std::vector<T> default_init(const mlp_layout& layout, std::uint64_t seed) {
    splitmix rng{mix64(seed ^ 0x696e6974ULL)};
    std::vector<T> p(static_cast<size_t>(layout.n_params));
    for (const auto& t : layout.tensors) {
        // torch nn.Linear: weight and bias ~ U(−1/√fan_in, 1/√fan_in).
        const std::int64_t fan_in = t.name.find("net.0.") == 0 ? layout.shape.d_in : layout.shape.hidden;
        const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
        for (std::int64_t i = 0; i < t.size; ++i)
            p[static_cast<size_t>(t.offset + i)] = static_cast<T>((2 * rng.uniform() - 1) * bound);
    }
    return p;
}

namespace {
/// Shortest round-trip text of a value ("1e+30", "nan"), unlike std::to_string's fixed six digits.
std::string num(double v) {
    std::ostringstream o;
    o << v;
    return o.str();
}
} // namespace

void check_train_options(const train_options& opts) {
    if (opts.epochs < 1) throw usage_error("--epochs must be >= 1");
    if (opts.batch_size < 1) throw usage_error("--batch-size must be >= 1");
    if (!(opts.dropout >= 0 && opts.dropout < 1)) throw usage_error("--dropout must be in [0, 1)");
    // torch.optim.Adam rejects lr < 0 and weight_decay < 0; lr 0 or a non-finite value can only
    // give an untrained or NaN model.
    if (!(std::isfinite(opts.lr) && opts.lr > 0))
        throw usage_error("--lr must be a finite number > 0 (got " + num(opts.lr) + ")");
    if (!(std::isfinite(opts.weight_decay) && opts.weight_decay >= 0))
        throw usage_error("--weight-decay must be a finite number >= 0 (got " + num(opts.weight_decay) + ")");
}

namespace {

/// After epoch `e`: a NaN or infinite loss or weight means the run diverged; the checkpoint
/// logic would otherwise keep the untrained initial weights as the "best" model.
template <class T>
void check_finite_epoch(mlp_backend<T>& backend, const mlp_layout& layout, int e, double train_loss, double val_loss,
                        std::vector<T>& scratch) {
    const std::string at = "training diverged in epoch " + std::to_string(e + 1) + ": ";
    if (!std::isfinite(train_loss) || !std::isfinite(val_loss))
        throw training_diverged(e, at + "the " + (std::isfinite(train_loss) ? "validation" : "training") +
                                       " loss is " + num(std::isfinite(train_loss) ? val_loss : train_loss) +
                                       " (try a smaller --lr or --weight-decay)");
    scratch.resize(static_cast<size_t>(layout.n_params));
    backend.get_params(scratch.data());
    for (const auto& t : layout.tensors)
        for (std::int64_t i = 0; i < t.size; ++i)
            if (!std::isfinite(static_cast<double>(scratch[static_cast<size_t>(t.offset + i)])))
                throw training_diverged(e, at + "weight " + t.name + "[" + std::to_string(i) +
                                               "] is not finite (try a smaller --lr or --weight-decay)");
}

} // namespace

template <class T>
train_result<T> train(mlp_backend<T>& backend, const mlp_layout& layout, const std::vector<T>& init,
                      const split_rows& split, const std::vector<std::vector<std::int64_t>>& batch_order,
                      const train_options& opts, const std::function<void(const epoch_report&)>& on_epoch) {
    if (static_cast<std::int64_t>(init.size()) != layout.n_params)
        throw usage_error("ctPred: initial weights have " + std::to_string(init.size()) + " values, the network " +
                          std::to_string(layout.n_params));
    if (split.train.empty()) throw usage_error("ctPred: no training genes");
    if (split.val.empty()) throw usage_error("ctPred: no validation genes (chr7, chr11, chr14)");
    check_train_options(opts);

    std::vector<std::vector<std::int64_t>> generated;
    const auto* order = &batch_order;
    if (batch_order.empty()) {
        generated = make_batch_order(split.train, opts.epochs, opts.seed);
        order = &generated;
    } else {
        if (static_cast<int>(batch_order.size()) < opts.epochs)
            throw usage_error("ctPred: the batch order has " + std::to_string(batch_order.size()) +
                              " epochs, " + std::to_string(opts.epochs) + " requested");
        std::vector<std::int64_t> want = split.train;
        std::sort(want.begin(), want.end());
        for (int e = 0; e < opts.epochs; ++e) {
            std::vector<std::int64_t> got = batch_order[static_cast<size_t>(e)];
            std::sort(got.begin(), got.end());
            if (got != want)
                throw usage_error("ctPred: batch order of epoch " + std::to_string(e) +
                                  " is not a permutation of the training rows (" + std::to_string(got.size()) +
                                  " rows, " + std::to_string(want.size()) + " training genes)");
        }
    }

    train_result<T> res;
    backend.set_params(init.data());
    backend.reset_optimizer();
    const std::int64_t n_train = static_cast<std::int64_t>(split.train.size());
    const std::int64_t bs = opts.batch_size;
    double best = std::numeric_limits<double>::infinity();
    double val_now = backend.eval_loss(split.val.data(), static_cast<std::int64_t>(split.val.size()));
    std::int64_t step = 0;
    std::vector<T> scratch;
    for (int e = 0; e < opts.epochs; ++e) {
        const auto t0 = std::chrono::steady_clock::now();
        const double val_pre = val_now;
        const auto& ord = (*order)[static_cast<size_t>(e)];
        for (std::int64_t s = 0; s < n_train; s += bs)
            backend.train_step(ord.data() + s, std::min(bs, n_train - s), ++step);
        res.batch_loss.push_back(backend.flush_batch_losses());
        const double tl = backend.eval_loss(split.train.data(), n_train);
        val_now = backend.eval_loss(split.val.data(), static_cast<std::int64_t>(split.val.size()));
        check_finite_epoch(backend, layout, e, tl, val_now, scratch);
        res.train_loss.push_back(tl);
        res.val_loss.push_back(val_now);
        res.val_loss_pre.push_back(val_pre);
        const double crit = opts.checkpoint == checkpoint_rule::OFFICIAL ? val_pre : val_now;
        epoch_report rep;
        rep.epoch = e;
        rep.epochs = opts.epochs;
        rep.train_loss = tl;
        rep.val_loss = val_now;
        rep.val_loss_pre = val_pre;
        if (crit < best) {
            best = crit;
            backend.save_checkpoint();
            res.best_epoch = e;
            res.best_val_loss = crit;
            rep.improved = true;
        }
        rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (on_epoch) on_epoch(rep);
    }
    res.n_steps = step;
    res.final_params.resize(init.size());
    res.best_params.resize(init.size());
    backend.get_params(res.final_params.data());
    if (res.best_epoch < 0) { // every val loss NaN: keep the final weights rather than zeros
        res.best_params = res.final_params;
    } else {
        backend.get_checkpoint(res.best_params.data());
    }
    return res;
}

double pearson_r(const std::vector<double>& a, const std::vector<double>& b) {
    const size_t n = std::min(a.size(), b.size());
    if (n < 2) return std::numeric_limits<double>::quiet_NaN();
    double ma = 0, mb = 0;
    for (size_t i = 0; i < n; ++i) {
        ma += a[i];
        mb += b[i];
    }
    ma /= static_cast<double>(n);
    mb /= static_cast<double>(n);
    double sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < n; ++i) {
        const double da = a[i] - ma, db = b[i] - mb;
        sab += da * db;
        saa += da * da;
        sbb += db * db;
    }
    if (saa <= 0 || sbb <= 0) return std::numeric_limits<double>::quiet_NaN();
    return sab / std::sqrt(saa * sbb);
}

std::vector<double> average_ranks(const std::vector<double>& v) {
    std::vector<size_t> idx(v.size());
    std::iota(idx.begin(), idx.end(), size_t{0});
    std::stable_sort(idx.begin(), idx.end(), [&](size_t i, size_t j) { return v[i] < v[j]; });
    std::vector<double> r(v.size());
    for (size_t i = 0; i < idx.size();) {
        size_t j = i + 1;
        while (j < idx.size() && v[idx[j]] == v[idx[i]]) ++j;
        const double avg = 0.5 * static_cast<double>(i + 1 + j); // mean of positions i+1 … j
        for (size_t k = i; k < j; ++k) r[idx[k]] = avg;
        i = j;
    }
    return r;
}

double spearman_r(const std::vector<double>& a, const std::vector<double>& b) {
    return pearson_r(average_ranks(a), average_ranks(b));
}

template std::vector<float> default_init(const mlp_layout&, std::uint64_t);
template std::vector<double> default_init(const mlp_layout&, std::uint64_t);
template train_result<float> train(mlp_backend<float>&, const mlp_layout&, const std::vector<float>&,
                                   const split_rows&, const std::vector<std::vector<std::int64_t>>&,
                                   const train_options&, const std::function<void(const epoch_report&)>&);
template train_result<double> train(mlp_backend<double>&, const mlp_layout&, const std::vector<double>&,
                                    const split_rows&, const std::vector<std::vector<std::int64_t>>&,
                                    const train_options&, const std::function<void(const epoch_report&)>&);

} // namespace scpx::ctpred
