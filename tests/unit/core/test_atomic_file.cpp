#include "scpx/core/atomic_file.hpp"
#include "scpx/core/error.hpp"

#include "../test_support.hpp"

#include <gtest/gtest.h>

namespace {

TEST(AtomicOutput, CommitRenamesIntoPlace) {
    const auto path = scpx::test::scratch_path("atomic.txt");
    scpx::atomic_output out(path);
    scpx::test::write_text(out.temp_path(), "done");
    EXPECT_FALSE(scpx::test::exists(path));
    out.commit();
    EXPECT_EQ(scpx::test::read_text(path), "done");
    EXPECT_FALSE(scpx::test::exists(out.temp_path()));
}

TEST(AtomicOutput, ExistingOutputStaysIntactWhenANewRunFails) {
    const auto path = scpx::test::scratch_path("keep.txt");
    scpx::test::write_text(path, "old results");
    {
        scpx::atomic_output out(path);
        scpx::test::write_text(out.temp_path(), "half-written");
    } // abandoned: e.g. an exception unwound past it
    EXPECT_EQ(scpx::test::read_text(path), "old results");
}

TEST(AtomicOutput, RefusesToOverwriteWhenAskedNotTo) {
    const auto path = scpx::test::scratch_path("exists.txt");
    scpx::test::write_text(path, "x");
    EXPECT_THROW(scpx::atomic_output(path, /*overwrite=*/false), scpx::usage_error);
}

TEST(AtomicOutput, LiveTemporariesCanBeRemovedBeforeAbort) {
    const auto path = scpx::test::scratch_path("abort.txt");
    scpx::atomic_output out(path);
    scpx::test::write_text(out.temp_path(), "partial");
    scpx::detail::remove_live_temporaries();
    EXPECT_FALSE(scpx::test::exists(out.temp_path()));
}

TEST(AtomicOutput, MakeParentDirsCreatesNestedFolders) {
    const std::string path = std::string(SCPX_TEST_SCRATCH_DIR) + "/nested/a/b/out.txt";
    scpx::make_parent_dirs(path);
    EXPECT_TRUE(scpx::path_exists(std::string(SCPX_TEST_SCRATCH_DIR) + "/nested/a/b"));
}

} // namespace
