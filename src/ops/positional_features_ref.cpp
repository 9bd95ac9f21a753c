#include "scpx/ops/positional_features.hpp"

#include "scpx/core/error.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace scpx::ops {

namespace {
/// torch.linspace(start, end, steps)[i].
double linspace(double start, double end, std::int64_t steps, std::int64_t i) {
    if (steps == 1) return start;
    return start + (end - start) * static_cast<double>(i) / static_cast<double>(steps - 1);
}
} // namespace

std::vector<double> positional_features_ref(const positional_features_params& p) {
    if (p.n < 1) throw usage_error("positional features: length must be >= 1");
    if (p.features < 6 || p.features % 6 != 0)
        throw usage_error("positional features: the feature count must be a positive multiple of 6 (got " +
                          std::to_string(p.features) + ")");
    const std::int64_t n = p.n, rows = 2 * n - 1, F = p.features, f = F / 6, half = F / 2;
    const double seq_len = static_cast<double>(n);
    std::vector<double> out(static_cast<size_t>(rows * F), 0.0);
    auto at = [&](std::int64_t row, std::int64_t col) -> double& { return out[static_cast<size_t>(row * F + col)]; };

    const double ln2 = std::log(2.0);
    const double max_range = std::log(seq_len) / ln2;
    const double stddev = seq_len / (2.0 * static_cast<double>(f));
    const double start_mean = seq_len / static_cast<double>(f);
    for (std::int64_t i = 0; i < rows; ++i) {
        const double r = std::fabs(static_cast<double>(i - (n - 1)));
        for (std::int64_t k = 0; k < f; ++k) {
            const double half_life = std::pow(2.0, linspace(3.0, max_range, f, k));
            at(i, k) = std::exp(-ln2 / half_life * r);
            const double width = std::pow(2.0, static_cast<double>(k + 1)) - 1.0;
            at(i, f + k) = width > r ? 1.0 : 0.0;
            const double mean = linspace(start_mean, seq_len, f, k);
            const double conc = (mean / stddev) * (mean / stddev);
            const double rate = mean / (stddev * stddev);
            // xlogy(a, x) is 0 when a == 0 (torch/TF), otherwise a·log(x) (−inf at x = 0).
            const double xlogy = conc - 1.0 == 0.0 ? 0.0 : (conc - 1.0) * std::log(r);
            const double log_pdf = xlogy - rate * r - (std::lgamma(conc) - conc * std::log(rate));
            at(i, 2 * f + k) = std::exp(log_pdf) + 1e-8;
        }
    }
    if (p.gamma_table) {
        for (std::int64_t i = 0; i < rows; ++i)
            for (std::int64_t k = 0; k < f; ++k) at(i, 2 * f + k) = p.gamma_table[i * f + k];
    } else if (p.gamma == gamma_normalization::per_feature) {
        for (std::int64_t k = 0; k < f; ++k) {
            double mx = 0.0;
            for (std::int64_t i = 0; i < rows; ++i) mx = std::max(mx, at(i, 2 * f + k));
            for (std::int64_t i = 0; i < rows; ++i) at(i, 2 * f + k) /= mx;
        }
    } else {
        for (std::int64_t i = 0; i < rows; ++i) {
            double mx = 0.0;
            for (std::int64_t k = 0; k < f; ++k) mx = std::max(mx, at(i, 2 * f + k));
            for (std::int64_t k = 0; k < f; ++k) at(i, 2 * f + k) /= mx;
        }
    }
    for (std::int64_t i = 0; i < rows; ++i) {
        const std::int64_t d = i - (n - 1);
        const double sign = d > 0 ? 1.0 : (d < 0 ? -1.0 : 0.0);
        for (std::int64_t c = 0; c < half; ++c) at(i, half + c) = sign * at(i, c);
    }
    return out;
}

} // namespace scpx::ops
