#pragma once
/// @file phi.hpp
/// The inflation factor `phi` of a prediction model, which S-PrediXcan's calibration reads from
/// the .db's `extra.phi` (`--gwas_h2 --gwas_N`: z / sqrt(1 + phi·N·h2); pipeline.md §5 — the
/// published scPrediXcan models lack it).
///
/// Why (Liang, Nyasimi & Im, AJHG 2026): under a polygenic trait whose SNP heritability h2 is spread
/// evenly over M SNPs (standardised effects β_k with variance h2/M), a GWAS of N people gives
/// z_j ≈ sqrt(N)·Σ_k r_jk β_k + e_j with e ~ N(0, R). The S-PrediXcan z of a gene that has no
/// effect of its own is z_g = Σ_j ŵ_j z_j with ŵ_j = w_j σ_j / σ_g (so ŵ'Rŵ = 1), hence
///     Var(z_g) = 1 + N·h2·phi,   phi = ℓ_g / M,   ℓ_g = Σ_k corr(g, x_k)²,
/// where g = Σ_j w_j x_j is the predicted expression and k runs over the SNPs in LD with the model
/// (Σ_j ŵ_j r_jk = corr(g, x_k)): the "LD score" of the predicted expression. The authors estimated
/// phi from simulated null GWAS on UK Biobank genotypes (the slope of mean z² on N·h2); scpx
/// computes the same quantity from this closed form on the training genotypes.
///
/// Estimation: corr(g, x_k)² over n training samples is biased upwards by about (1 − r²)/(n − 2),
/// which summed over thousands of window SNPs would rival ℓ_g itself; each term is therefore LD
/// score regression's unbiased r̃² = r² − (1 − r²)/(n − 2). lctpred sums over the SNPs within 1 Mb
/// of the model's SNPs (LD reaching farther is neglected), whatever the fit's --window; M counts the same
/// kind of SNPs genome-wide (by default the QC-passed SNPs of the training genotypes), and a
/// negative estimate becomes 0 (as MetaXcan's calibration and the authors' estimator do).

#include <Eigen/Core>

#include <utility>
#include <vector>

namespace scpx::enet {

/// ℓ_g = Σ_k r̃²(g, x_k) over the columns of `x` (n × p raw dosages, every SNP of the window),
/// g = Σ w·x over `weights` ((column of x, weight), as gene_fit::weights). Constant columns add 0.
/// `unbiased` false gives the plain Σ r² (the sample's own LD, for tests of the closed form).
/// @return NaN when n < 3, there are no weights or g is constant
double predicted_expression_ld_score(const Eigen::Ref<const Eigen::MatrixXd>& x,
                                     const std::vector<std::pair<int, double>>& weights,
                                     bool unbiased = true);

/// phi = max(ℓ_g, 0) / m_snps; NaN when ℓ_g is (see above).
/// @throws usage_error when m_snps is not positive
double inflation_phi(double ld_score, double m_snps);

} // namespace scpx::enet
