#pragma once
// The bundled l-ctPred test data (tests/data/enet/lctpred, made by make_lctpred_data.py) and a
// run over it, shared by the lctpred stage tests.

#include "scpx/enet/lctpred.hpp"
#include "../test_support.hpp"

#include <string>

namespace scpx::test {

/// Path of a bundled l-ctPred test file.
inline std::string lctpred_data(const std::string& f) {
    return std::string(SCPX_TEST_DATA_DIR) + "/enet/lctpred/" + f;
}

/// lctpred on the bundled expression, dosages and annotations (seed 2024), writing
/// scratch/<prefix>.db, .covariance.txt.gz and .summary.h5.
inline enet::lctpred_options bundled_lctpred_options(const std::string& prefix) {
    enet::lctpred_options o;
    o.expression = lctpred_data("expression.tsv");
    o.genotype = lctpred_data("genotype.tsv.gz");
    o.snp_annotation = lctpred_data("snp_annot.tsv");
    o.gene_annotation = lctpred_data("gene_annot.tsv");
    o.seed = 2024;
    o.out_db = scratch_path(prefix + ".db");
    o.out_covariance = scratch_path(prefix + ".covariance.txt.gz");
    o.out_h5 = scratch_path(prefix + ".summary.h5");
    return o;
}

} // namespace scpx::test
