// The collective writer at one rank (the unit-test binary runs under MPI with one rank); the
// 2- and 4-rank byte-identity checks are in tests/mpi.
#include "scpx/config.hpp"
#include "scpx/core/error.hpp"
#include "scpx/io/h5_writer.hpp"

#include "../test_support.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace io = scpx::io;
using scpx::test::message_of;

namespace {

constexpr hsize_t kRows = 10;

// A fresh output path: the final file and any temporary output a previous run left are removed.
std::string fresh_path(const std::string& name) {
    const std::string path = scpx::test::scratch_path(name);
    const auto slash = path.find_last_of('/');
    const std::string temp = path.substr(0, slash + 1) + "." + path.substr(slash + 1) + ".scpx-tmp";
    std::remove(temp.c_str());
    return path;
}

std::vector<io::h5_dataset_spec> layout() {
    return {
        {"gene_id", io::h5_dtype::str, {kRows}, 8, "gene identifier", {}},
        {"/pred/expr", io::h5_dtype::f32, {kRows, 3}, 0, "", {{"unit", "log1p"}}},
        {"stats", io::h5_dtype::f64, {kRows, 2}, 0, "", {}},
        {"n_snps", io::h5_dtype::i32, {kRows}, 0, "", {}},
        {"pos", io::h5_dtype::i64, {kRows}, 0, "", {}},
        {"status", io::h5_dtype::u8, {kRows}, 0, "", {}},
        {"cell_types", io::h5_dtype::str, {3}, 5, "", {}},
    };
}

io::h5_provenance provenance(const std::string& command = "scpx test --alpha 0.5") {
    io::h5_provenance p;
    p.stage = "unit-test";
    p.command = command;
    p.inputs = {"a.vcf.gz", "b.h5:/x"};
    p.extra = {{"model", "ctpred-v1"}};
    return p;
}

// Writes rows `rows` of every per-gene dataset with values derived from the row number.
void write_some(io::h5_row_writer& w, const std::vector<hsize_t>& rows) {
    std::vector<std::string> ids;
    std::vector<float> expr;
    std::vector<double> stats;
    std::vector<std::int32_t> n;
    std::vector<std::int64_t> pos;
    std::vector<std::uint8_t> st;
    for (hsize_t r : rows) {
        ids.push_back("G" + std::to_string(r));
        for (int j = 0; j < 3; ++j)
            expr.push_back(static_cast<float>(r) + 0.25f * static_cast<float>(j));
        stats.push_back(static_cast<double>(r) / 3.0);
        stats.push_back(-static_cast<double>(r));
        n.push_back(static_cast<std::int32_t>(r * 10));
        pos.push_back(static_cast<std::int64_t>(r) << 33);
        st.push_back(static_cast<std::uint8_t>(r % 3));
    }
    w.write_rows("gene_id", rows, ids);
    w.write_rows("/pred/expr", rows, expr);
    w.write_rows("stats", rows, stats);
    w.write_rows("n_snps", rows, n);
    w.write_rows("pos", rows, pos);
    w.write_rows("status", rows, st);
    w.mark_done(rows);
}

std::string write_full(const std::string& name, bool with_mask) {
    const std::string path = fresh_path(name);
    io::h5_writer_options o;
    o.done_rows = with_mask ? kRows : 0;
    io::h5_row_writer w(path, layout(), provenance(), o);
    w.write_all("cell_types", std::vector<std::string>{"T", "B", "NK"});
    write_some(w, {7, 2, 9, 0}); // unsorted list
    write_some(w, {1, 3, 4, 5, 6, 8});
    w.finish();
    return path;
}

} // namespace

TEST(H5Writer, WritesEveryTypeAndProvenance) {
    const std::string path = write_full("w_full.h5", true);
    EXPECT_TRUE(scpx::test::exists(path));
    io::h5_file f = io::h5_open_file(path);
    const auto ids = io::h5_read_strings(f.id(), "/gene_id");
    ASSERT_EQ(ids.size(), kRows);
    EXPECT_EQ(ids[0], "G0");
    EXPECT_EQ(ids[9], "G9");
    const auto expr = io::h5_read<float>(f.id(), "/pred/expr", 2);
    EXPECT_EQ(expr.shape, (std::vector<hsize_t>{kRows, 3}));
    EXPECT_FLOAT_EQ(expr.data[7 * 3 + 2], 7.5f);
    EXPECT_FLOAT_EQ(expr.data[2 * 3 + 0], 2.0f);
    const auto pos = io::h5_read<std::int64_t>(f.id(), "/pos", 1);
    EXPECT_EQ(pos.data[9], std::int64_t{9} << 33);
    EXPECT_EQ(io::h5_read<std::int32_t>(f.id(), "/n_snps").data[4], 40);
    EXPECT_EQ(io::h5_read<double>(f.id(), "/stats").data[2 * 2 + 1], -2.0);
    EXPECT_EQ(io::h5_read<std::uint8_t>(f.id(), "/status").data[5], 2);
    EXPECT_EQ(io::h5_read_strings(f.id(), "/cell_types"), (std::vector<std::string>{"T", "B", "NK"}));
    const auto done = io::h5_read<std::uint8_t>(f.id(), "/done").data;
    EXPECT_EQ(done, std::vector<std::uint8_t>(kRows, 1));
    EXPECT_EQ(io::h5_read_attr_string(f.id(), "scpx_version"), SCPX_VERSION);
    EXPECT_EQ(io::h5_read_attr_string(f.id(), "scpx_git_hash"), SCPX_GIT_HASH);
    EXPECT_EQ(io::h5_read_attr_string(f.id(), "scpx_command"), "scpx test --alpha 0.5");
    EXPECT_EQ(io::h5_read_attr_string(f.id(), "scpx_inputs"), "a.vcf.gz\nb.h5:/x");
    EXPECT_EQ(io::h5_read_attr_string(f.id(), "model"), "ctpred-v1");
    io::h5_object ds = io::h5_open_object(f.id(), "/pred/expr");
    EXPECT_EQ(io::h5_read_attr_string(ds.id(), "unit"), "log1p");
}

TEST(H5Writer, RerunsAreByteIdentical) {
    const std::string a = write_full("w_rerun_a.h5", true);
    const std::string b = write_full("w_rerun_b.h5", true);
    EXPECT_TRUE(scpx::test::read_text(a) == scpx::test::read_text(b));
    const std::string c = write_full("w_rerun_c.h5", false);
    const std::string d = write_full("w_rerun_d.h5", false);
    EXPECT_TRUE(scpx::test::read_text(c) == scpx::test::read_text(d));
}

TEST(H5Writer, UnfinishedNonResumableOutputIsRemoved) {
    const std::string path = fresh_path("w_abandon.h5");
    std::string temp;
    try {
        io::h5_row_writer w(path, layout(), provenance());
        temp = w.temp_path();
        EXPECT_TRUE(scpx::test::exists(temp));
        write_some(w, {0, 1});
        throw std::runtime_error("simulated failure");
    } catch (const std::runtime_error&) {
    }
    EXPECT_FALSE(scpx::test::exists(temp));
    EXPECT_FALSE(scpx::test::exists(path));
}

TEST(H5Writer, ResumeGivesTheSameBytesAsAnUninterruptedRun) {
    const std::string ref = write_full("w_resume_ref.h5", true);
    const std::string path = fresh_path("w_resume.h5");
    io::h5_writer_options o;
    o.done_rows = kRows;
    std::string temp;
    try {
        io::h5_row_writer w(path, layout(), provenance(), o);
        temp = w.temp_path();
        w.write_all("cell_types", std::vector<std::string>{"T", "B", "NK"});
        write_some(w, {7, 2, 9, 0});
        throw std::runtime_error("crash");
    } catch (const std::runtime_error&) {
    }
    ASSERT_TRUE(scpx::test::exists(temp));
    EXPECT_FALSE(scpx::test::exists(path));

    o.resume = true;
    {
        io::h5_row_writer w(path, layout(), provenance(), o);
        EXPECT_TRUE(w.resumed());
        const auto pending = w.pending_rows(0, kRows);
        EXPECT_EQ(pending, (std::vector<hsize_t>{1, 3, 4, 5, 6, 8}));
        w.write_all("cell_types", std::vector<std::string>{"T", "B", "NK"});
        write_some(w, pending);
        w.finish();
    }
    EXPECT_FALSE(scpx::test::exists(temp));
    EXPECT_TRUE(scpx::test::read_text(ref) == scpx::test::read_text(path));
}

TEST(H5Writer, ResumeRefusesAPartialOutputWithOtherSettings) {
    const std::string path = fresh_path("w_resume_other.h5");
    io::h5_writer_options o;
    o.done_rows = kRows;
    {
        io::h5_row_writer w(path, layout(), provenance(), o);
        write_some(w, {0});
        w.abandon();
        EXPECT_TRUE(scpx::test::exists(w.temp_path()));
    }
    o.resume = true;
    const std::string msg = message_of<scpx::usage_error>(
        [&] { io::h5_row_writer w(path, layout(), provenance("scpx test --alpha 0.9"), o); });
    EXPECT_NE(msg.find("scpx_command"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--alpha 0.9"), std::string::npos) << msg;
    // A resume without a partial output starts afresh.
    const std::string fresh = fresh_path("w_resume_fresh.h5");
    io::h5_row_writer w(fresh, layout(), provenance(), o);
    EXPECT_FALSE(w.resumed());
    EXPECT_EQ(w.pending_rows(0, kRows).size(), kRows);
    w.abandon();
}

TEST(H5Writer, FinishRefusesMissingRows) {
    const std::string path = fresh_path("w_missing_rows.h5");
    io::h5_writer_options o;
    o.done_rows = kRows;
    io::h5_row_writer w(path, layout(), provenance(), o);
    write_some(w, {0, 1, 2});
    const std::string msg = message_of<scpx::internal_error>([&] { w.finish(); });
    EXPECT_NE(msg.find("7 rows never marked done (first: row 3)"), std::string::npos) << msg;
    EXPECT_FALSE(scpx::test::exists(path));
}

TEST(H5Writer, RejectsBadLayoutsAndWrites) {
    const std::string path = fresh_path("w_bad.h5");
    auto bad = layout();
    bad[0].str_len = 0;
    EXPECT_THROW(io::h5_row_writer(path, bad, provenance()), scpx::usage_error);
    bad = layout();
    bad[1].name = "gene_id";
    EXPECT_THROW(io::h5_row_writer(path, bad, provenance()), scpx::usage_error);
    bad = layout();
    bad[2].name = "done";
    EXPECT_THROW(io::h5_row_writer(path, bad, provenance()), scpx::usage_error);

    io::h5_row_writer w(path, layout(), provenance());
    EXPECT_THROW(w.write_rows("pred/expr", {0}, std::vector<double>{1, 2, 3}), scpx::internal_error);
    EXPECT_THROW(w.write_rows("pred/expr", {0}, std::vector<float>{1, 2}), scpx::internal_error);
    EXPECT_THROW(w.write_rows("n_snps", {10}, std::vector<std::int32_t>{1}), scpx::internal_error);
    EXPECT_THROW(w.write_rows("n_snps", {3, 3}, std::vector<std::int32_t>{1, 2}), scpx::internal_error);
    EXPECT_THROW(w.write_rows("n_snps", 9, 2, std::vector<std::int32_t>{1, 2}), scpx::internal_error);
    EXPECT_THROW(w.write_rows("nope", {0}, std::vector<std::int32_t>{1}), scpx::internal_error);
    const std::string msg = message_of<scpx::usage_error>(
        [&] { w.write_rows("gene_id", {0}, std::vector<std::string>{"ENSG000001234"}); });
    EXPECT_NE(msg.find("longer than the 8 bytes reserved for /gene_id"), std::string::npos) << msg;
    w.abandon();
    EXPECT_FALSE(scpx::test::exists(w.temp_path()));
}

TEST(H5Writer, OverwriteFalseRefusesAnExistingOutput) {
    const std::string path = write_full("w_exists.h5", false);
    io::h5_writer_options o;
    o.overwrite = false;
    EXPECT_THROW(io::h5_row_writer(path, layout(), provenance(), o), scpx::usage_error);
}

// A resubmitted array task whose output was finished: --resume finds it complete and writes
// nothing; with other settings it is made anew (the final output is no partial output to refuse).
TEST(H5Writer, ResumeOfAFinishedOutputDoesNothing) {
    const std::string path = write_full("w_resume_done.h5", true);
    const std::string before = scpx::test::read_text(path);
    io::h5_writer_options o;
    o.done_rows = kRows;
    o.resume = true;
    {
        io::h5_row_writer w(path, layout(), provenance(), o);
        EXPECT_TRUE(w.complete());
        EXPECT_FALSE(w.resumed());
        EXPECT_FALSE(scpx::test::exists(w.temp_path()));
    }
    EXPECT_TRUE(scpx::test::read_text(path) == before);
    io::h5_row_writer other(path, layout(), provenance("scpx test --alpha 0.9"), o);
    EXPECT_FALSE(other.complete());
    EXPECT_EQ(other.pending_rows(0, kRows).size(), kRows);
    other.abandon();
}
