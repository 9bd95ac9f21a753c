#include "scpx/enet/phi.hpp"

#include "scpx/core/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace scpx::enet {

double predicted_expression_ld_score(const Eigen::Ref<const Eigen::MatrixXd>& x,
                                     const std::vector<std::pair<int, double>>& weights, bool unbiased) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const Eigen::Index n = x.rows();
    if (n < 3 || weights.empty()) return nan;
    Eigen::VectorXd g = Eigen::VectorXd::Zero(n);
    for (const auto& [column, w] : weights) {
        if (column < 0 || column >= x.cols())
            throw usage_error(fmt::format("weight column {} outside the {} window SNPs", column, x.cols()));
        g += w * x.col(column);
    }
    g.array() -= g.mean();
    const double sgg = g.squaredNorm();
    // A sum of weighted dosages that does not vary (weights cancelling on every sample) has no LD.
    if (!(sgg > 1e-12 * static_cast<double>(n) * (1.0 + g.cwiseAbs().maxCoeff()))) return nan;

    // g is centred, so x_k·g equals (x_k − mean)·g: only the columns' own sums of squares need centring.
    const Eigen::VectorXd cross = x.transpose() * g;
    const double bias_scale = unbiased ? 1.0 / static_cast<double>(n - 2) : 0.0;
    double ld_score = 0;
    for (Eigen::Index k = 0; k < x.cols(); ++k) {
        const double mean = x.col(k).mean();
        const double sxx = (x.col(k).array() - mean).square().sum();
        if (!(sxx > 0)) continue;
        const double r2 = std::min(1.0, cross[k] * cross[k] / (sxx * sgg));
        ld_score += r2 - (1.0 - r2) * bias_scale;
    }
    return ld_score;
}

double inflation_phi(double ld_score, double m_snps) {
    if (!(m_snps > 0) || !std::isfinite(m_snps))
        throw usage_error(fmt::format("phi needs a positive SNP count M, got {}", m_snps));
    if (std::isnan(ld_score)) return ld_score;
    return std::max(ld_score, 0.0) / m_snps;
}

} // namespace scpx::enet
