// twas_one_model: S-PrediXcan for one PredictDB model through the scpx library, the steps
// `scpx spredixcan` runs for each model (without its MPI split, logging and atomic output).
//
//   twas_one_model MODEL.db COVARIANCE.txt.gz GWAS.txt.gz > result.csv
//
// The GWAS has columns SNP, A1 (effect allele), A2, ZSCORE and BETA; the result is MetaXcan's
// CSV, as `scpx spredixcan ... --zscore_column ZSCORE --beta_column BETA` writes it.
#include "scpx/assoc/spredixcan.hpp"
#include "scpx/config.hpp"
#include "scpx/core/error.hpp"

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s MODEL.db COVARIANCE.txt.gz GWAS.txt.gz\n", argv[0]);
        return 2;
    }
    const std::string model_path = argv[1], covariance_path = argv[2], gwas_path = argv[3];
    try {
        scpx::assoc::spredixcan_options options;
        options.columns.zscore = "ZSCORE";
        options.columns.beta = "BETA";

        const scpx::io::predictdb_model model = scpx::assoc::load_model(model_path, options);
        // Only the rows of the model's SNPs are kept (and parsed).
        const scpx::assoc::gwas_data gwas = scpx::assoc::load_gwas(
            {gwas_path}, options, scpx::assoc::model_snp_keys(model), scpx::assoc::model_snp_varids(model));
        const scpx::assoc::harmonised_gwas harmonised = scpx::assoc::harmonise(gwas, model, options);
        if (!harmonised.report.diagnosis.empty())
            std::fprintf(stderr, "%s\n", harmonised.report.diagnosis.c_str());

        const std::vector<std::size_t> genes = scpx::assoc::genes_to_compute(model, harmonised);
        std::vector<scpx::assoc::gene_result> results = scpx::assoc::finish_results(
            scpx::assoc::compute_genes(model, harmonised, covariance_path, genes, options), model, options);
        std::fputs(scpx::assoc::format_csv(results, model, options).c_str(), stdout);
        std::fprintf(stderr, "scpx %s: %zu of %zu genes computed, %zu of %zu model SNPs used\n", SCPX_VERSION,
                     genes.size(), model.genes.size(), harmonised.report.used, harmonised.report.model_snps);
        return 0;
    } catch (const scpx::error& e) {
        // Every scpx failure is a scpx::error whose message names the file, record and field.
        std::fprintf(stderr, "ERROR: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ERROR: %s\n", e.what());
        return 1;
    }
}
