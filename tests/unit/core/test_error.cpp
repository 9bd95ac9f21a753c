#include "scpx/core/check.hpp"
#include "scpx/core/error.hpp"
#include "scpx/dist/mpi.hpp"

#include <gtest/gtest.h>

#include <hdf5.h>

namespace {

TEST(Error, InputErrorNamesFileLineAndField) {
    const scpx::input_error e("gwas.txt.gz", "line 12", "BETA", "not a number ('abc')");
    EXPECT_STREQ(e.what(), "gwas.txt.gz, line 12, field 'BETA': not a number ('abc')");
    EXPECT_EQ(e.file(), "gwas.txt.gz");
    EXPECT_EQ(e.where(), "line 12");
    EXPECT_EQ(e.field(), "BETA");
}

TEST(Error, InputErrorWithoutLineOrField) {
    const scpx::input_error e("x.vcf.gz", "", "", "file is empty");
    EXPECT_STREQ(e.what(), "x.vcf.gz: file is empty");
}

TEST(Error, AssertThrowsInternalErrorWithLocation) {
    try {
        SCPX_ASSERT(1 + 1 == 3);
        FAIL() << "SCPX_ASSERT did not throw";
    } catch (const scpx::internal_error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("1 + 1 == 3"), std::string::npos) << msg;
        EXPECT_NE(msg.find("test_error.cpp"), std::string::npos) << msg;
        // Named from the source tree's root, not by the build machine's checkout path.
        EXPECT_NE(msg.find(" at tests/unit/core/test_error.cpp:"), std::string::npos) << msg;
    }
}

TEST(Error, MpiCheckThrowsMpiErrorWithMpiTextAndRank) {
    scpx::mpi::ensure_initialized();
    try {
        SCPX_MPI_CHECK(1 /* MPI_ERR_BUFFER */);
        FAIL() << "no throw";
    } catch (const scpx::mpi_error& e) {
        EXPECT_NE(std::string(e.what()).find("[rank 0]"), std::string::npos) << e.what();
    }
    EXPECT_THROW(SCPX_MPI_CHECK(1 /* MPI_ERR_BUFFER */), scpx::mpi_error);
    EXPECT_NO_THROW(SCPX_MPI_CHECK(0));
}

TEST(Error, H5CheckThrowsH5ErrorWithInnermostMessage) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    try {
        SCPX_H5_CHECK(H5Fopen("/nonexistent/dir/file.h5", H5F_ACC_RDONLY, H5P_DEFAULT));
        FAIL() << "no throw";
    } catch (const scpx::h5_error& e) {
        EXPECT_NE(std::string(e.what()).find("H5Fopen"), std::string::npos) << e.what();
    }
}

TEST(Error, HtsCheckPassesNonNegative) {
    EXPECT_NO_THROW(SCPX_HTS_CHECK(0));
    EXPECT_THROW(SCPX_HTS_CHECK(-1), scpx::hts_error);
}

} // namespace
