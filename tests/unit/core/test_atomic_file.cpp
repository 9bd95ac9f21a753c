#include "scpx/core/atomic_file.hpp"
#include "scpx/core/error.hpp"

#include "../test_support.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include <sys/stat.h>

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

TEST(AtomicOutput, ALongOutputNameGetsShortenedWorkingFilesTheSameInEveryRun) {
    // A 250-byte name: the staged file, the lock file and the failed log would pass the file
    // system's 255-byte limit with their prefix and suffix ("File name too long").
    const std::string name(246, 'x');
    const auto path = scpx::test::scratch_path(name + ".h5");
    std::remove(path.c_str());
    const auto base = [](const std::string& p) { return p.substr(p.find_last_of('/') + 1); };
    std::string temp;
    {
        scpx::atomic_output out(path);
        temp = out.temp_path();
        EXPECT_LE(base(temp).size(), 255u);
        EXPECT_EQ(base(temp).substr(0, 11), "." + name.substr(0, 10));
        scpx::test::write_text(temp, "done");
        out.commit();
    }
    EXPECT_EQ(scpx::test::read_text(path), "done");
    EXPECT_EQ(scpx::sibling_name(path, ".", ".scpx-tmp"), temp); // --resume finds it again
    EXPECT_LE(base(scpx::sibling_name(path, ".", ".scpx-lock")).size(), 255u);
    EXPECT_NE(scpx::sibling_name(path, ".", ".scpx-lock"), scpx::sibling_name(path + "2", ".", ".scpx-lock"));
    // The extensions stay: whether a staged covariance is compressed is read from its name.
    const std::string staged =
        scpx::sibling_name("d/" + std::string(237, 'p') + ".covariance.txt.gz", ".scpx-staged.", "");
    EXPECT_EQ(staged.size(), 2u + 255u);
    EXPECT_EQ(staged.substr(staged.size() - 18), ".covariance.txt.gz");
    // A name longer than a file system takes is refused before any work.
    EXPECT_THROW(scpx::atomic_output(scpx::test::scratch_path(std::string(256, 'z'))), scpx::usage_error);
    // Short names keep the plain form.
    EXPECT_EQ(scpx::sibling_name("out/a.h5", ".", ".scpx-tmp"), "out/.a.h5.scpx-tmp");
    EXPECT_EQ(scpx::sibling_name("a.h5", ".", ".scpx-tmp"), ".a.h5.scpx-tmp");
    EXPECT_EQ(scpx::sibling_name("/a.h5", ".", ".scpx-tmp"), "/.a.h5.scpx-tmp");
    EXPECT_EQ(scpx::beside("out//./a.h5", ".x"), "out//./.x"); // the folder as the user wrote it
    EXPECT_EQ(scpx::output_of_working_copy("out/.a.h5.scpx-tmp"), "out/a.h5");
    EXPECT_EQ(scpx::output_of_working_copy(".a.h5.scpx-tmp"), "a.h5");
    EXPECT_EQ(scpx::output_of_working_copy("out/a.h5"), "");
    EXPECT_EQ(scpx::output_of_working_copy("out/.scpx-tmp"), "");
    EXPECT_EQ(scpx::output_of_working_copy(temp), ""); // hashed: the long name is not recoverable
    std::remove(path.c_str());
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

TEST(AtomicOutput, NeverReplacesAnInputOfTheRun) {
    const auto path = scpx::test::scratch_path("input.h5");
    scpx::test::write_text(path, "the user's data");
    scpx::note_input_file(path, "--features input.h5:/X");
    // Another spelling of the same file is the same file.
    const auto dir = path.substr(0, path.find_last_of('/'));
    for (const std::string& spelling : {path, dir + "/./input.h5"}) {
        try {
            scpx::atomic_output out(spelling);
            ADD_FAILURE() << "an output over the input was accepted: " << spelling;
        } catch (const scpx::usage_error& e) {
            EXPECT_NE(std::string(e.what()).find("--features input.h5:/X"), std::string::npos) << e.what();
        }
    }
    EXPECT_EQ(scpx::test::read_text(path), "the user's data");
    // Other outputs, and inputs that do not exist (yet), are not affected.
    EXPECT_NO_THROW(scpx::atomic_output(scpx::test::scratch_path("other.h5")));
    scpx::note_input_file(scpx::test::scratch_path("not_there.h5"), "--x not_there.h5");
    EXPECT_NO_THROW(scpx::atomic_output(scpx::test::scratch_path("not_there.h5")));
    scpx::clear_input_files();
    EXPECT_NO_THROW(scpx::atomic_output{path});
}

TEST(AtomicOutput, RefusesADirectoryUnderTheOutputNameEvenWithOverwrite) {
    // Found only at the final rename otherwise, after the work.
    const auto dir = scpx::test::scratch_path("a_directory.h5");
    ::mkdir(dir.c_str(), 0755);
    for (const bool overwrite : {false, true}) {
        try {
            scpx::atomic_output out(dir, overwrite);
            ADD_FAILURE() << "a directory was accepted as an output (overwrite " << overwrite << ")";
        } catch (const scpx::io_error& e) {
            EXPECT_NE(std::string(e.what()).find("it is a directory"), std::string::npos) << e.what();
        }
    }
}

TEST(AtomicOutput, RefusesADeviceOrFifoUnderTheOutputName) {
    // The final rename would replace it: run as root with --out /dev/null, /dev/null itself.
    const auto fifo = scpx::test::scratch_path("a_fifo.h5");
    std::remove(fifo.c_str());
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
    try {
        scpx::atomic_output out(fifo);
        ADD_FAILURE() << "a FIFO was accepted as an output";
    } catch (const scpx::usage_error& e) {
        EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
    }
    struct stat st {};
    ASSERT_EQ(::stat(fifo.c_str(), &st), 0);
    EXPECT_TRUE(S_ISFIFO(st.st_mode));
    std::remove(fifo.c_str());
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
