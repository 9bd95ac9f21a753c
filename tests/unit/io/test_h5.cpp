#include "scpx/core/error.hpp"
#include "scpx/io/h5.hpp"

#include "../test_support.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <sys/stat.h>

namespace io = scpx::io;
using scpx::test::message_of;

namespace {

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

std::string make_sample(const std::string& name) {
    const std::string path = scpx::test::scratch_path(name);
    io::h5_file f = io::h5_create_file(path);
    const std::vector<float> m = {1.5f, 2.5f, 3.5f, 4.5f, 5.5f, 6.5f};
    io::h5_write(f.id(), "/grp/sub/matrix", {2, 3}, m.data());
    io::h5_write(f.id(), "/vec_f64", std::vector<double>{0.25, -1e300, 7});
    io::h5_write(f.id(), "/vec_i32", std::vector<std::int32_t>{-5, 0, 2147483647});
    io::h5_write(f.id(), "/vec_i64", std::vector<std::int64_t>{-1, 1LL << 40});
    io::h5_write(f.id(), "/vec_u8", std::vector<std::uint8_t>{0, 1, 255});
    io::h5_write_strings(f.id(), "/names_vl", {"ENSG01", "", "ünïcode"}, io::h5_strings::variable);
    io::h5_write_strings(f.id(), "/names_fixed", {"a", "bbbb", ""}, io::h5_strings::fixed);
    io::h5_write_attr(f.id(), "title", std::string("sample"));
    io::h5_write_attr(f.id(), "alpha", 0.5);
    io::h5_write_attr(f.id(), "count", std::int64_t{42});
    f.close();
    return path;
}

} // namespace

TEST(H5, RoundTripEveryType) {
    const std::string path = make_sample("h5_roundtrip.h5");
    io::h5_file f = io::h5_open_file(path);
    const auto m = io::h5_read<float>(f.id(), "/grp/sub/matrix", 2);
    EXPECT_EQ(m.shape, (std::vector<hsize_t>{2, 3}));
    EXPECT_EQ(m.data, (std::vector<float>{1.5f, 2.5f, 3.5f, 4.5f, 5.5f, 6.5f}));
    EXPECT_EQ(io::h5_read<double>(f.id(), "/vec_f64").data, (std::vector<double>{0.25, -1e300, 7}));
    EXPECT_EQ(io::h5_read<std::int32_t>(f.id(), "vec_i32").data,
              (std::vector<std::int32_t>{-5, 0, 2147483647}));
    EXPECT_EQ(io::h5_read<std::int64_t>(f.id(), "/vec_i64").data, (std::vector<std::int64_t>{-1, 1LL << 40}));
    EXPECT_EQ(io::h5_read<std::uint8_t>(f.id(), "/vec_u8").data, (std::vector<std::uint8_t>{0, 1, 255}));
    // Integers widen into floating point.
    EXPECT_EQ(io::h5_read<double>(f.id(), "/vec_i32").data, (std::vector<double>{-5, 0, 2147483647}));
    EXPECT_EQ(io::h5_read_strings(f.id(), "/names_vl"), (std::vector<std::string>{"ENSG01", "", "ünïcode"}));
    EXPECT_EQ(io::h5_read_strings(f.id(), "/names_fixed"), (std::vector<std::string>{"a", "bbbb", ""}));
    const auto info = io::h5_dataset_info(f.id(), "/names_fixed");
    EXPECT_TRUE(info.is_string);
    EXPECT_FALSE(info.variable_length);
    EXPECT_EQ(info.string_len, 4u);
    EXPECT_EQ(io::h5_read_attr_string(f.id(), "title"), "sample");
    EXPECT_DOUBLE_EQ(io::h5_read_attr_double(f.id(), "alpha"), 0.5);
    EXPECT_EQ(io::h5_read_attr_int64(f.id(), "count"), 42);
    EXPECT_DOUBLE_EQ(io::h5_read_attr_double(f.id(), "count"), 42.0);
    EXPECT_TRUE(io::h5_exists(f.id(), "/grp/sub"));
    EXPECT_FALSE(io::h5_exists(f.id(), "/grp/nope/matrix"));
    // Reading through a reference.
    const auto r = io::h5_read<float>(io::h5_parse_ref(path + ":/grp/sub/matrix", "--x"), 2);
    EXPECT_EQ(r.data.size(), 6u);
}

TEST(H5, AttributesAreReplacedAndOnDatasets) {
    const std::string path = make_sample("h5_attrs.h5");
    io::h5_file f = io::h5_open_file(path, true);
    io::h5_write_attr(f.id(), "title", std::string("second"));
    EXPECT_EQ(io::h5_read_attr_string(f.id(), "title"), "second");
    io::h5_object ds = io::h5_open_object(f.id(), "/vec_u8");
    io::h5_write_attr(ds.id(), "unit", std::string("flags"));
    EXPECT_EQ(io::h5_read_attr_string(ds.id(), "unit"), "flags");
    EXPECT_TRUE(io::h5_has_attr(ds.id(), "unit"));
    EXPECT_FALSE(io::h5_has_attr(ds.id(), "nope"));
    const std::string msg = message_of<scpx::input_error>([&] { io::h5_read_attr_string(ds.id(), "nope"); });
    EXPECT_TRUE(contains(msg, path) && contains(msg, "/vec_u8") && contains(msg, "'nope'")) << msg;
    EXPECT_TRUE(contains(message_of<scpx::input_error>([&] { io::h5_read_attr_int64(f.id(), "alpha"); }),
                         "not an integer"));
}

TEST(H5, EmptyDatasetsAndZeroRows) {
    const std::string path = scpx::test::scratch_path("h5_empty.h5");
    {
        io::h5_file f = io::h5_create_file(path);
        io::h5_write(f.id(), "/none", std::vector<double>{});
        io::h5_write<float>(f.id(), "/zero_rows", {0, 4}, nullptr);
        io::h5_write_strings(f.id(), "/no_names", {});
    }
    io::h5_file f = io::h5_open_file(path);
    EXPECT_TRUE(io::h5_read<double>(f.id(), "/none").data.empty());
    EXPECT_EQ(io::h5_read<float>(f.id(), "/zero_rows").shape, (std::vector<hsize_t>{0, 4}));
    EXPECT_TRUE(io::h5_read_strings(f.id(), "/no_names").empty());
}

TEST(H5, MissingFileAndNotHdf5) {
    const std::string missing = scpx::test::scratch_path("h5_missing.h5");
    std::string msg = message_of<scpx::missing_file_error>([&] { io::h5_open_file(missing); });
    EXPECT_TRUE(contains(msg, missing) && contains(msg, "no such file")) << msg;

    const std::string text = scpx::test::scratch_path("h5_text.h5");
    scpx::test::write_text(text, "gene\tvalue\nA\t1\n");
    msg = message_of<scpx::input_error>([&] { io::h5_open_file(text); });
    EXPECT_TRUE(contains(msg, text) && contains(msg, "not an HDF5 file")) << msg;

    // Truncated HDF5 file.
    const std::string good = make_sample("h5_to_truncate.h5");
    const std::string bytes = scpx::test::read_text(good);
    const std::string cut = scpx::test::scratch_path("h5_truncated.h5");
    scpx::test::write_text(cut, bytes.substr(0, bytes.size() / 3));
    msg = message_of<scpx::error>([&] {
        io::h5_file f = io::h5_open_file(cut);
        io::h5_read<float>(f.id(), "/grp/sub/matrix");
    });
    EXPECT_TRUE(contains(msg, "h5_truncated.h5")) << msg;
}

TEST(H5, FifoOrDirectoryIsRefusedWithoutBlocking) {
    // Opening a FIFO for reading waits for a writer: the check must come before HDF5 opens it.
    const std::string fifo = scpx::test::scratch_path("h5_fifo.h5");
    std::remove(fifo.c_str());
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    std::string msg = message_of<scpx::input_error>([&] { io::h5_open_file(fifo); });
    EXPECT_TRUE(contains(msg, fifo) && contains(msg, "not a regular file")) << msg;
    std::remove(fifo.c_str());

    const std::string dir = scpx::test::scratch_path("h5_dir.h5");
    ::mkdir(dir.c_str(), 0700);
    msg = message_of<scpx::input_error>([&] { io::h5_open_file(dir); });
    EXPECT_TRUE(contains(msg, "not a regular file")) << msg;
    ::rmdir(dir.c_str());
}

TEST(H5, ClearErrorsForMissingWrongRankWrongType) {
    const std::string path = make_sample("h5_errors.h5");
    io::h5_file f = io::h5_open_file(path);
    std::string msg = message_of<scpx::input_error>([&] { io::h5_read<float>(f.id(), "/grp/nope"); });
    EXPECT_TRUE(contains(msg, path) && contains(msg, "'/grp/nope'") && contains(msg, "no such dataset"))
        << msg;
    msg = message_of<scpx::input_error>([&] { io::h5_read<float>(f.id(), "/grp/sub/matrix", 1); });
    EXPECT_TRUE(contains(msg, "expected a 1-D dataset, found float32 [2, 3]")) << msg;
    msg = message_of<scpx::input_error>([&] { io::h5_read<std::int32_t>(f.id(), "/vec_f64"); });
    EXPECT_TRUE(contains(msg, "'/vec_f64'") && contains(msg, "expected int32")) << msg;
    msg = message_of<scpx::input_error>([&] { io::h5_read<double>(f.id(), "/names_vl"); });
    EXPECT_TRUE(contains(msg, "found variable-length string [3]")) << msg;
    msg = message_of<scpx::input_error>([&] { io::h5_read_strings(f.id(), "/vec_i64"); });
    EXPECT_TRUE(contains(msg, "expected 1-D strings, found int64 [2]")) << msg;
    msg = message_of<scpx::input_error>([&] { io::h5_read<float>(f.id(), "/grp"); });
    EXPECT_TRUE(contains(msg, "is a group") && contains(msg, "(it holds /grp/sub")) << msg; // what it holds
    // int64 values beyond int32 are refused rather than clipped.
    msg = message_of<scpx::input_error>([&] { io::h5_read<std::int32_t>(f.id(), "/vec_i64"); });
    EXPECT_TRUE(contains(msg, "do not fit in int32")) << msg;
    EXPECT_EQ(io::h5_read<std::int32_t>(f.id(), "/vec_u8").data, (std::vector<std::int32_t>{0, 1, 255}));
}

TEST(H5, CheckMacroReportsHdf5Message) {
    const std::string path = make_sample("h5_macro.h5");
    io::h5_file f = io::h5_open_file(path);
    const std::string msg =
        message_of<scpx::h5_error>([&] { SCPX_H5_CHECK(H5Dopen2(f.id(), "/absent", H5P_DEFAULT)); });
    EXPECT_TRUE(contains(msg, "H5Dopen2")) << msg;
    EXPECT_FALSE(contains(msg, "HDF5 returned")) << msg; // a real HDF5 message, not just the code
}

TEST(H5, ParseReferences) {
    auto r = io::h5_parse_ref("out/feat.h5:/pred/expr", "--in");
    EXPECT_EQ(r.file, "out/feat.h5");
    EXPECT_EQ(r.path, "/pred/expr");
    EXPECT_EQ(r.str(), "out/feat.h5:/pred/expr");
    r = io::h5_parse_ref("a:b.h5:/x/", "--in");
    EXPECT_EQ(r.file, "a:b.h5");
    EXPECT_EQ(r.path, "/x");
    r = io::h5_parse_ref("feat.h5:expr", "--in");
    EXPECT_EQ(r.file, "feat.h5");
    EXPECT_EQ(r.path, "/expr");
    r = io::h5_parse_ref("feat.h5", "--in", "/features");
    EXPECT_EQ(r.path, "/features");
    std::string msg = message_of<scpx::usage_error>([] { io::h5_parse_ref("feat.h5", "--in"); });
    EXPECT_TRUE(contains(msg, "--in") && contains(msg, "names no dataset")) << msg;
    msg = message_of<scpx::usage_error>([] { io::h5_parse_ref(":/x", "--in"); });
    EXPECT_TRUE(contains(msg, "names no file")) << msg;
}

TEST(H5, FilesAreByteReproducible) {
    // Same content written a second later gives the same bytes: no timestamps anywhere.
    const std::string a = make_sample("h5_repro_a.h5");
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    const std::string b = make_sample("h5_repro_b.h5");
    const std::string ba = scpx::test::read_text(a), bb = scpx::test::read_text(b);
    EXPECT_GT(ba.size(), 0u);
    EXPECT_TRUE(ba == bb) << "files differ: " << a << " " << b;
}
