// ctPred MLP core on small random networks: gradients against central finite differences
// (tied, untied, bounded head, dropout), Adam against a hand-written step, the partial last batch,
// determinism across thread counts, and the metrics.
#include "scpx/core/error.hpp"
#include "scpx/ctpred/mlp.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace ct = scpx::ctpred;

namespace {

struct tiny_problem {
    ct::mlp_layout layout;
    std::vector<double> x, y, params;
    std::int64_t n = 0;
};

tiny_problem make_problem(bool tied, ct::head_kind head, std::int64_t n = 13, std::uint32_t seed = 7) {
    ct::mlp_shape s;
    s.d_in = 9;
    s.hidden = 6;
    s.n_blocks = 3;
    s.tied = tied;
    s.head = head;
    tiny_problem p{ct::mlp_layout(s), {}, {}, {}, n};
    std::mt19937 rng(seed);
    std::normal_distribution<double> g(0.0, 1.0);
    p.x.resize(static_cast<size_t>(n * s.d_in));
    for (auto& v : p.x) v = g(rng);
    p.y.resize(static_cast<size_t>(n));
    for (auto& v : p.y) v = 0.5 + 0.3 * g(rng);
    p.params = ct::default_init<double>(p.layout, 3);
    // Larger hidden weights than torch's default keep activations away from zero so the ReLU
    // kinks rarely fall inside the finite-difference step.
    for (auto& v : p.params) v *= 2.0;
    return p;
}

void check_gradient(const tiny_problem& p, double dropout, std::int64_t step) {
    ct::train_options o;
    o.batch_size = p.n;
    o.dropout = dropout;
    o.threads = 2;
    ct::mlp_data<double> data{p.x.data(), p.y.data(), p.n};
    auto be = ct::make_cpu_backend<double>(p.layout, data, o);
    std::vector<std::int64_t> rows(static_cast<size_t>(p.n));
    std::iota(rows.begin(), rows.end(), 0);
    std::vector<double> grad(p.params.size()), scratch(p.params.size());
    be->set_params(p.params.data());
    const double loss = be->loss_and_grad(rows.data(), p.n, step, grad.data());
    ASSERT_GT(loss, 0);
    double gnorm = 0;
    for (double v : grad) gnorm += v * v;
    ASSERT_GT(gnorm, 0) << "all-zero gradient would pass trivially";
    const double h = 1e-6;
    double max_err = 0;
    for (size_t i = 0; i < p.params.size(); ++i) {
        auto q = p.params;
        q[i] += h;
        be->set_params(q.data());
        const double lp = be->loss_and_grad(rows.data(), p.n, step, scratch.data());
        q[i] -= 2 * h;
        be->set_params(q.data());
        const double lm = be->loss_and_grad(rows.data(), p.n, step, scratch.data());
        const double fd = (lp - lm) / (2 * h);
        max_err = std::max(max_err, std::abs(fd - grad[i]) / (std::abs(fd) + std::abs(grad[i]) + 1e-6));
    }
    EXPECT_LT(max_err, 1e-5);
}

} // namespace

TEST(CtpredMlp, LayoutMatchesTorchParameterCount) {
    ct::mlp_layout tied{ct::mlp_shape{}};
    EXPECT_EQ(tied.n_params, 344321);
    EXPECT_EQ(tied.tensors.size(), 6u);
    EXPECT_EQ(tied.tensors[2].name, "net.3.weight");
    EXPECT_EQ(tied.output_module(), "net.12");
    ct::mlp_shape s;
    s.tied = false;
    ct::mlp_layout untied(s);
    EXPECT_EQ(untied.n_params, 344321 + 2 * (64 * 64 + 64));
    EXPECT_EQ(untied.tensors[6].name, "net.9.weight");
}

TEST(CtpredMlp, GradientMatchesFiniteDifferencesTied) { check_gradient(make_problem(true, ct::head_kind::LINEAR), 0, 0); }

TEST(CtpredMlp, GradientMatchesFiniteDifferencesUntied) {
    check_gradient(make_problem(false, ct::head_kind::LINEAR), 0, 0);
}

TEST(CtpredMlp, GradientMatchesFiniteDifferencesBoundedHead) {
    auto p = make_problem(true, ct::head_kind::BOUNDED);
    // Shift the output bias so most outputs are on the positive (differentiable) side of relu.
    p.params[static_cast<size_t>(p.layout.bo)] = 0.8;
    check_gradient(p, 0, 0);
}

TEST(CtpredMlp, GradientMatchesFiniteDifferencesWithDropoutMasks) {
    check_gradient(make_problem(true, ct::head_kind::LINEAR), 0.3, 5);
}

TEST(CtpredMlp, AdamStepMatchesHandComputedUpdate) {
    auto p = make_problem(true, ct::head_kind::LINEAR);
    ct::train_options o;
    o.batch_size = p.n;
    o.dropout = 0;
    o.lr = 1e-2;
    ct::mlp_data<double> data{p.x.data(), p.y.data(), p.n};
    auto be = ct::make_cpu_backend<double>(p.layout, data, o);
    std::vector<std::int64_t> rows(static_cast<size_t>(p.n));
    std::iota(rows.begin(), rows.end(), 0);
    std::vector<double> g1(p.params.size()), g2(p.params.size()), after(p.params.size());
    be->set_params(p.params.data());
    be->reset_optimizer();
    be->loss_and_grad(rows.data(), p.n, 0, g1.data());
    be->train_step(rows.data(), p.n, 1);
    be->get_params(after.data());
    std::vector<double> m(p.params.size()), v(p.params.size()), expect(p.params);
    for (size_t i = 0; i < expect.size(); ++i) {
        const double g = g1[i] + o.weight_decay * p.params[i];
        m[i] = (1 - o.beta1) * g;
        v[i] = (1 - o.beta2) * g * g;
        const double denom = std::sqrt(v[i]) / std::sqrt(1 - o.beta2) + o.eps;
        expect[i] -= o.lr / (1 - o.beta1) * m[i] / denom;
        ASSERT_NEAR(after[i], expect[i], 1e-14) << i;
    }
    // Step 2 uses the global counter t = 2 and the moments of step 1.
    be->loss_and_grad(rows.data(), p.n, 0, g2.data());
    be->train_step(rows.data(), p.n, 2);
    std::vector<double> after2(p.params.size());
    be->get_params(after2.data());
    for (size_t i = 0; i < expect.size(); ++i) {
        const double g = g2[i] + o.weight_decay * expect[i];
        const double mi = o.beta1 * m[i] + (1 - o.beta1) * g;
        const double vi = o.beta2 * v[i] + (1 - o.beta2) * g * g;
        const double denom = std::sqrt(vi) / std::sqrt(1 - o.beta2 * o.beta2) + o.eps;
        const double e2 = expect[i] - o.lr / (1 - o.beta1 * o.beta1) * mi / denom;
        ASSERT_NEAR(after2[i], e2, 1e-13) << i;
    }
}

TEST(CtpredMlp, PartialLastBatchIsOneStepOverItsOwnRows) {
    auto p = make_problem(true, ct::head_kind::LINEAR, 40);
    ct::split_rows split;
    for (std::int64_t i = 0; i < 40; ++i) (i < 13 ? split.train : i < 30 ? split.val : split.test).push_back(i);
    ct::train_options o;
    o.batch_size = 5; // 13 rows: batches of 5, 5, 3
    o.epochs = 2;
    o.dropout = 0;
    o.lr = 1e-3;
    ct::mlp_data<double> data{p.x.data(), p.y.data(), 40};
    auto be = ct::make_cpu_backend<double>(p.layout, data, o);
    auto order = ct::make_batch_order(split.train, o.epochs, 99);
    auto res = ct::train<double>(*be, p.layout, p.params, split, order, o);
    ASSERT_EQ(res.n_steps, 6);
    ASSERT_EQ(res.batch_loss.size(), 2u);
    ASSERT_EQ(res.batch_loss[0].size(), 3u);
    // Replay by hand: the third batch's loss is the mean over its 3 rows.
    auto be2 = ct::make_cpu_backend<double>(p.layout, data, o);
    be2->set_params(p.params.data());
    be2->reset_optimizer();
    be2->train_step(order[0].data(), 5, 1);
    be2->train_step(order[0].data() + 5, 5, 2);
    const double last = be2->eval_loss(order[0].data() + 10, 3);
    EXPECT_NEAR(res.batch_loss[0][2], last, 1e-15);
    EXPECT_NEAR(res.val_loss_pre[1], res.val_loss[0], 1e-15);
    EXPECT_EQ(res.train_loss.size(), 2u);
}

/// Trains a problem of the size where Eigen's GEMM blocking matters (batches over several row
/// chunks, features over several column chunks, remainders everywhere) with `threads` threads.
ct::mlp_layout thread_test_layout() {
    ct::mlp_shape s;
    s.d_in = 601;
    s.hidden = 70; // a full batch (150 × 601 × 70) is above min_threaded_work: threads do run
    s.n_blocks = 2;
    s.tied = true;
    return ct::mlp_layout(s);
}

template <class T>
std::vector<T> train_with_threads(int threads) {
    const ct::mlp_layout layout = thread_test_layout();
    const ct::mlp_shape& s = layout.shape;
    const std::int64_t n = 260;
    std::mt19937 rng(11);
    std::normal_distribution<double> g(0.0, 1.0);
    std::vector<T> x(static_cast<size_t>(n * s.d_in)), y(static_cast<size_t>(n));
    for (auto& v : x)
        v = static_cast<T>(g(rng));
    for (auto& v : y)
        v = static_cast<T>(0.5 + 0.3 * g(rng));
    ct::split_rows split;
    for (std::int64_t i = 0; i < n; ++i)
        (i < 200 ? split.train : i < 230 ? split.val : split.test).push_back(i);
    ct::train_options o;
    o.batch_size = 150; // one full batch over three row chunks, and a partial one
    o.epochs = 3;
    o.dropout = 0.1;
    o.threads = threads;
    ct::mlp_data<T> data{x.data(), y.data(), n};
    auto be = ct::make_cpu_backend<T>(layout, data, o);
    return ct::train<T>(*be, layout, ct::default_init<T>(layout, 3), split, {}, o).final_params;
}

TEST(CtpredMlp, ResultsAreBitIdenticalForAnyThreadCount) {
    // --threads defaults to the node's cores (or SLURM -c): a model must not depend on it.
    const auto f1 = train_with_threads<float>(1);
    EXPECT_NE(f1, ct::default_init<float>(thread_test_layout(), 3)); // it trained
    for (int threads : {2, 3, 5})
        EXPECT_EQ(train_with_threads<float>(threads), f1) << threads << " threads (float)";
    const auto d1 = train_with_threads<double>(1);
    for (int threads : {2, 3})
        EXPECT_EQ(train_with_threads<double>(threads), d1) << threads << " threads (double)";
}

TEST(CtpredMlp, BatchOrderIsSeededPermutation) {
    std::vector<std::int64_t> rows(100);
    std::iota(rows.begin(), rows.end(), 5);
    auto a = ct::make_batch_order(rows, 3, 1024), b = ct::make_batch_order(rows, 3, 1024),
         c = ct::make_batch_order(rows, 3, 1025);
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
    EXPECT_NE(a[0], a[1]);
    auto s = a[2];
    std::sort(s.begin(), s.end());
    EXPECT_EQ(s, rows);
}

TEST(CtpredMlp, BadBatchOrderIsRejected) {
    auto p = make_problem(true, ct::head_kind::LINEAR, 20);
    ct::split_rows split{{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {10, 11, 12}, {13, 14}};
    ct::train_options o;
    o.epochs = 1;
    ct::mlp_data<double> data{p.x.data(), p.y.data(), 20};
    auto be = ct::make_cpu_backend<double>(p.layout, data, o);
    std::vector<std::vector<std::int64_t>> order{{0, 1, 2, 3, 4, 5, 6, 7, 8, 12}};
    EXPECT_THROW(ct::train<double>(*be, p.layout, p.params, split, order, o), scpx::usage_error);
    split.val.clear();
    EXPECT_THROW(ct::train<double>(*be, p.layout, p.params, split, {}, o), scpx::usage_error);
}

TEST(CtpredMlp, SpearmanUsesAverageRanks) {
    EXPECT_EQ(ct::average_ranks({3, 1, 3, 2}), (std::vector<double>{3.5, 1, 3.5, 2}));
    EXPECT_NEAR(ct::pearson_r({1, 2, 3}, {2, 4, 6.5}), 0.9979487, 1e-6);
    EXPECT_NEAR(ct::spearman_r({1, 2, 3, 4}, {10, 20, 20, 40}), 0.9486833, 1e-6);
    EXPECT_TRUE(std::isnan(ct::pearson_r({1, 1, 1}, {1, 2, 3})));
}
