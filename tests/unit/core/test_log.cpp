#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/core/progress.hpp"
#include "scpx/core/timer.hpp"

#include "../test_support.hpp"

#include <gtest/gtest.h>

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
    scpx::log::close_file();
    const std::string text = scpx::test::read_text(path);
    EXPECT_NE(text.find("hello 42\n"), std::string::npos) << text;
    EXPECT_NE(text.find("-reading...\n"), std::string::npos) << text;
    EXPECT_NE(text.find("-reading... done ("), std::string::npos) << text;
    EXPECT_NE(text.find("WARNING: careful"), std::string::npos) << text;
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
