#include "scpx/core/error.hpp"
#include "scpx/core/atomic_file.hpp"
#include "scpx/core/log.hpp"
#include "scpx/core/progress.hpp"
#include "scpx/core/timer.hpp"

#include "../test_support.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>

#include <sys/resource.h>

namespace {

struct verbosity_guard {
    scpx::log::level saved = scpx::log::verbosity();
    ~verbosity_guard() { scpx::log::set_verbosity(saved); }
};

TEST(Log, ParsesNamesAndMetaXcanNumbers) {
    using scpx::log::level;
    EXPECT_EQ(scpx::log::parse_level("debug"), level::debug);
    EXPECT_EQ(scpx::log::parse_level("10"), level::debug);
    EXPECT_EQ(scpx::log::parse_level("info"), level::info);
    EXPECT_EQ(scpx::log::parse_level("30"), level::warn);
    EXPECT_EQ(scpx::log::parse_level("error"), level::error);
    EXPECT_THROW(scpx::log::parse_level("loud"), scpx::usage_error);
}

TEST(Log, ArgumentsAreNotEvaluatedBelowThreshold) {
    verbosity_guard g;
    scpx::log::set_verbosity(scpx::log::level::warn);
    int calls = 0;
    auto costly = [&] { return ++calls; };
    SCPX_LOG_DBG("{}", costly());
    SCPX_LOG_INF("{}", costly());
    EXPECT_EQ(calls, 0);
    SCPX_LOG_WRN("{}", costly());
    EXPECT_EQ(calls, 1);
}

TEST(Log, SharedWarningsAreWrittenByRankZeroAlone) {
    // N ranks reading the same input find the same thing: one line, not N.
    verbosity_guard g;
    scpx::log::set_verbosity(scpx::log::level::info);
    const int rank = scpx::log::rank(), nranks = scpx::log::nranks();
    scpx::log::init(1, 2, scpx::log::level::info);
    ::testing::internal::CaptureStderr();
    SCPX_LOG_WRN_SHARED("the index is older than the FASTA");
    SCPX_LOG_WRN("rank 1's own finding");
    const std::string other = ::testing::internal::GetCapturedStderr();
    scpx::log::init(0, 2, scpx::log::level::info);
    ::testing::internal::CaptureStderr();
    SCPX_LOG_WRN_SHARED("the index is older than the FASTA");
    const std::string root = ::testing::internal::GetCapturedStderr();
    scpx::log::init(rank, nranks, scpx::log::level::info);
    EXPECT_EQ(other, "[rank 1] WARNING: rank 1's own finding\n");
    EXPECT_EQ(root, "WARNING: the index is older than the FASTA\n");
}

TEST(Log, FileReceivesMessagesAndStageTimes) {
    verbosity_guard g;
    const std::string path = scpx::test::scratch_path("log_test.log");
    scpx::log::set_verbosity(scpx::log::level::info);
    scpx::log::open_file(path);
    SCPX_LOG_INF("hello {}", 42);
    {
        scpx::stage_timer t("reading");
    }
    SCPX_LOG_WRN("careful");
    EXPECT_FALSE(scpx::test::exists(path)) << "the log takes its name only when the run ends";
    scpx::log::close_file();
    const std::string text = scpx::test::read_text(path);
    EXPECT_NE(text.find("hello 42\n"), std::string::npos) << text;
    EXPECT_NE(text.find("-reading...\n"), std::string::npos) << text;
    EXPECT_NE(text.find("-reading... done ("), std::string::npos) << text;
    EXPECT_NE(text.find("WARNING: careful"), std::string::npos) << text;
}

TEST(Log, FileKeepsInformationWhenTheConsoleShowsOnlyWarnings) {
    // --verbosity warn quiets the terminal; the log is still the run's record.
    verbosity_guard g;
    const std::string path = scpx::test::scratch_path("log_quiet.log");
    scpx::log::set_verbosity(scpx::log::level::warn);
    scpx::log::open_file(path);
    ::testing::internal::CaptureStdout();
    SCPX_LOG_INF("options in effect {}", 1);
    SCPX_LOG_DBG("not even in the file");
    const std::string console = ::testing::internal::GetCapturedStdout();
    scpx::log::close_file();
    EXPECT_EQ(console, "");
    const std::string text = scpx::test::read_text(path);
    EXPECT_NE(text.find("options in effect 1\n"), std::string::npos) << text;
    EXPECT_EQ(text.find("not even"), std::string::npos) << text;
    int calls = 0;
    SCPX_LOG_INF("{}", ++calls); // no file open: below the threshold, not evaluated
    EXPECT_EQ(calls, 0);
}

TEST(Log, FailedRunKeepsTheEarlierLogAndWritesItsOwnBeside) {
    verbosity_guard g;
    const std::string path = scpx::test::scratch_path("rerun.log");
    const std::string failed = scpx::test::scratch_path("rerun.failed.log");
    scpx::log::set_verbosity(scpx::log::level::info);
    EXPECT_EQ(scpx::log::failed_log_path(path), failed);
    scpx::test::write_text(path, "log of the results on disk\n");
    scpx::log::open_file(path);
    EXPECT_EQ(scpx::log::file_path(), path);
    SCPX_LOG_ERR("the rerun went wrong");
    scpx::log::close_file(scpx::log::outcome::failed);
    EXPECT_EQ(scpx::log::file_path(), "");
    EXPECT_EQ(scpx::test::read_text(path), "log of the results on disk\n");
    EXPECT_NE(scpx::test::read_text(failed).find("ERROR: the rerun went wrong"), std::string::npos);

    // A later successful run replaces the log and removes the stale failure's.
    scpx::log::open_file(path);
    SCPX_LOG_INF("all good");
    scpx::log::close_file(scpx::log::outcome::succeeded);
    EXPECT_NE(scpx::test::read_text(path).find("all good"), std::string::npos);
    EXPECT_FALSE(scpx::test::exists(failed));
}

TEST(Log, AbandonedRunLeavesNoLogAndKeepsTheEarlierOne) {
    verbosity_guard g;
    const std::string path = scpx::test::scratch_path("skipped.log");
    scpx::test::write_text(path, "earlier\n");
    scpx::log::open_file(path);
    SCPX_LOG_INF("outputs exist, nothing to do");
    scpx::log::close_file(scpx::log::outcome::abandoned);
    EXPECT_EQ(scpx::test::read_text(path), "earlier\n");
    EXPECT_FALSE(scpx::test::exists(scpx::log::failed_log_path(path)));
}

TEST(LogDeathTest, ARunStoppedByASignalKeepsItsLogAsFailedAndSaysWhy) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    const std::string path = scpx::test::scratch_path("signalled.log");
    const std::string failed = scpx::log::failed_log_path(path);
    std::remove(failed.c_str());
    EXPECT_EXIT(
        {
            scpx::log::set_verbosity(scpx::log::level::info);
            scpx::log::open_file(path);
            SCPX_LOG_INF("fitting genes");
            scpx::log::note_kept_on_signal("/data/run.h5.part");
            std::raise(SIGTERM); // SLURM's time limit, or MPI_Abort from another rank
        },
        ::testing::KilledBySignal(SIGTERM), "");
    EXPECT_FALSE(scpx::test::exists(path));
    const std::string text = scpx::test::read_text(failed);
    EXPECT_NE(text.find("fitting genes\n"), std::string::npos) << text;
    // What is kept for --resume, then why the run ended, as the log's last lines.
    const std::string tail = "WARNING: unfinished output kept for --resume: /data/run.h5.part\n"
                             "ERROR: stopped by signal 15 (a time limit, Ctrl-C, or an error on another MPI "
                             "rank: see the job's stderr)\n";
    ASSERT_GE(text.size(), tail.size()) << text;
    EXPECT_EQ(text.substr(text.size() - tail.size()), tail) << text;
}

TEST(LogDeathTest, ARunStoppedByASignalLeavesNoUnfinishedOutput) {
    // Hidden temporaries of outputs still being written (an HDF5 file of several GB, say) would
    // otherwise stay behind after every SLURM time limit; a committed output and one released to
    // another rank are left alone.
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    const std::string path = scpx::test::scratch_path("killed_run.log");
    const std::string unfinished = scpx::test::scratch_path("killed_run.h5");
    const std::string done = scpx::test::scratch_path("killed_run.tsv");
    const std::string other_rank = scpx::test::scratch_path("killed_run.db");
    const auto temp_of = [](const std::string& p) {
        const auto slash = p.find_last_of('/');
        return p.substr(0, slash + 1) + "." + p.substr(slash + 1) + ".scpx-tmp";
    };
    for (const auto& p : {unfinished, done, other_rank}) {
        std::remove(p.c_str());
        std::remove(temp_of(p).c_str());
    }
    const auto run_and_get_killed = [&] {
        scpx::log::open_file(path);
        scpx::atomic_output a(unfinished, true);
        scpx::atomic_output b(done, true);
        scpx::atomic_output c(other_rank, true);
        for (const auto* o : {&a, &b, &c}) scpx::test::write_text(o->temp_path(), "partial");
        b.commit();
        c.release();
        std::raise(SIGTERM);
    };
    EXPECT_EXIT(run_and_get_killed(), ::testing::KilledBySignal(SIGTERM), "");
    EXPECT_FALSE(scpx::test::exists(temp_of(unfinished)));
    EXPECT_TRUE(scpx::test::exists(done));
    EXPECT_TRUE(scpx::test::exists(temp_of(other_rank)));
    EXPECT_TRUE(scpx::test::exists(scpx::log::failed_log_path(path)));
    std::remove(temp_of(other_rank).c_str());
}

/// In a child process: a log whose file stops taking bytes (a 1 KB file-size limit standing in
/// for a full disk) while the run writes 100 lines to it.
[[noreturn]] void log_into_a_full_file(const std::string& path) {
    scpx::log::set_verbosity(scpx::log::level::warn); // the console shows only the warning
    scpx::log::open_file(path);
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit lim{};
    lim.rlim_cur = lim.rlim_max = 1024;
    setrlimit(RLIMIT_FSIZE, &lim);
    for (int i = 0; i < 100; ++i)
        SCPX_LOG_INF("a line of the run's record, number {}, long enough to fill the file quickly", i);
    std::_Exit(0);
}

TEST(LogDeathTest, ALogThatCannotBeWrittenSaysSoOnceInItsOwnWords) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    const std::string path = scpx::test::scratch_path("full_disk.log");
    // One line naming the log and the reason (not spdlog's raw "[*** LOG ERROR ***]" per message),
    // and the run goes on to its end.
    EXPECT_EXIT(log_into_a_full_file(path), ::testing::ExitedWithCode(0),
                "^WARNING: the log [^\n]*full_disk.log is no longer written: [^\n]*File too large\n$");
}

TEST(StageTimer, AStageLeftByAnExceptionIsNotDone) {
    verbosity_guard g;
    scpx::log::set_verbosity(scpx::log::level::info);
    const std::string path = scpx::test::scratch_path("stage_fail.log");
    scpx::log::open_file(path);
    try {
        scpx::stage_timer t("load weights");
        throw scpx::io_error("truncated file");
    } catch (const scpx::io_error&) {
    }
    scpx::log::close_file();
    const std::string text = scpx::test::read_text(path);
    EXPECT_EQ(text.find("-load weights... done"), std::string::npos) << text;
    EXPECT_NE(text.find("-load weights... stopped after"), std::string::npos) << text;
}

TEST(Progress, LineShowsCountPercentRateAndEta) {
    scpx::progress p("fit", 1000, "genes", 1e9);
    p.add(250);
    const std::string line = p.line();
    EXPECT_NE(line.find("fit: 250/1000 genes (25.0%)"), std::string::npos) << line;
    EXPECT_NE(line.find("genes/s"), std::string::npos) << line;
    EXPECT_NE(line.find("ETA"), std::string::npos) << line;
}

TEST(Progress, UnknownTotalHasNoEta) {
    scpx::progress p("scan", 0, "rows", 1e9);
    p.add(7);
    EXPECT_EQ(p.line().find("ETA"), std::string::npos);
    EXPECT_NE(p.line().find("7 rows"), std::string::npos);
}

TEST(Timer, FormatsDurationsForHumans) {
    EXPECT_EQ(scpx::format_duration(1.234), "1.23 s");
    EXPECT_EQ(scpx::format_duration(245), "4m 05s");
    EXPECT_EQ(scpx::format_duration(7380), "2h 03m");
}

} // namespace
