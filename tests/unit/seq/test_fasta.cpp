#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/seq/contig.hpp"
#include "scpx/seq/fasta.hpp"

#include "../io/hts_test_util.hpp"
#include "../test_support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <functional>
#include <random>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

using scpx::seq::fasta_reader;
using ::testing::HasSubstr;

// FASTA text with lines of `width` bases.
std::string fasta_record(const std::string& header, const std::string& seq, std::size_t width = 60) {
    std::string out = ">" + header + "\n";
    for (std::size_t i = 0; i < seq.size(); i += width) out += seq.substr(i, width) + "\n";
    return out;
}

std::string upper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

// Contig "20": 130 bases, a soft-masked (lower-case) stretch and an N; contig "MT": 20 bases.
const std::string kChr20 = "ACGTTGCAAC" "GGTTAACCGT" "acgtacgtac" "NNACGTACGT" "TTTTGGGGCC"
                           "CCAAAAGGGT" "ACGTACGTAC" "GTACGTACGT" "ACGTACGTAC" "GTTTTTTTTT"
                           "ACGATCGATC" "GACTGACTGA" "CTGACTGCAT";
const std::string kMt = "GATCACAGGTCTATCACCCT";

std::string write_test_fasta(const std::string& name) {
    const std::string path = scpx::test::scratch_path(name);
    scpx::test::remove_with_indexes(path);
    scpx::test::write_text(path, fasta_record("20 test contig", kChr20) + fasta_record("MT", kMt));
    return path;
}

TEST(Fasta, ListsContigsAndBuildsMissingIndex) {
    const auto path = write_test_fasta("fa_list.fa");
    fasta_reader fa(path);
    EXPECT_TRUE(scpx::test::exists(path + ".fai"));
    ASSERT_EQ(fa.contigs().size(), 2u);
    EXPECT_EQ(fa.contigs()[0].name, "20");
    EXPECT_EQ(fa.contigs()[0].length, static_cast<std::int64_t>(kChr20.size()));
    EXPECT_EQ(fa.contigs()[1].name, "MT");
    EXPECT_EQ(fa.contig_length("MT"), 20);
}

TEST(Fasta, FetchesWindowsUpperCased) {
    fasta_reader fa(write_test_fasta("fa_fetch.fa"));
    EXPECT_EQ(fa.fetch("20", 0, 10), "ACGTTGCAAC");
    // Crosses the 60-base line break and the soft-masked stretch.
    EXPECT_EQ(fa.fetch("20", 15, 75), upper(kChr20.substr(15, 60)));
    EXPECT_EQ(fa.fetch("20", 20, 30), "ACGTACGTAC");
    EXPECT_EQ(fa.fetch("20", 30, 32), "NN");
    EXPECT_EQ(fa.fetch("20", 7, 7), "");
}

TEST(Fasta, PadsWithNOutsideTheContig) {
    fasta_reader fa(write_test_fasta("fa_pad.fa"));
    const std::int64_t len = static_cast<std::int64_t>(kChr20.size());
    EXPECT_EQ(fa.fetch("20", -3, 4), "NNNACGT");
    EXPECT_EQ(fa.fetch("20", len - 2, len + 3), "ATNNN");
    EXPECT_EQ(fa.fetch("20", -2, len + 2), "NN" + upper(kChr20) + "NN");
    EXPECT_EQ(fa.fetch("20", len + 10, len + 15), "NNNNN");
    EXPECT_EQ(fa.fetch("20", -10, -5), "NNNNN");
    std::string buf = "stale";
    fa.fetch_into("MT", 18, 22, buf);
    EXPECT_EQ(buf, "CTNN");
}

TEST(Fasta, ResolvesChrAliases) {
    fasta_reader fa(write_test_fasta("fa_alias.fa"));
    EXPECT_EQ(fa.resolve_contig("chr20"), "20");
    EXPECT_EQ(fa.resolve_contig("20"), "20");
    EXPECT_EQ(fa.resolve_contig("chrM"), "MT");
    EXPECT_TRUE(fa.has_contig("chrMT"));
    EXPECT_FALSE(fa.has_contig("chr21"));
    EXPECT_EQ(fa.fetch("chr20", 0, 4), "ACGT");
    EXPECT_EQ(fa.fetch("chrM", 0, 4), "GATC");
}

TEST(Fasta, UnknownContigNamesFileContigAndAvailableNames) {
    const auto path = write_test_fasta("fa_unknown.fa");
    fasta_reader fa(path);
    try {
        fa.fetch("chr99", 0, 10);
        FAIL() << "expected input_error";
    } catch (const scpx::input_error& e) {
        EXPECT_THAT(e.what(), HasSubstr(path));
        EXPECT_THAT(e.what(), HasSubstr("'chr99'"));
        EXPECT_THAT(e.what(), HasSubstr("20, MT"));
        EXPECT_EQ(e.field(), "contig");
    }
}

TEST(Fasta, RejectsReversedWindow) {
    fasta_reader fa(write_test_fasta("fa_rev.fa"));
    EXPECT_THROW(fa.fetch("20", 10, 5), scpx::usage_error);
}

TEST(Fasta, BgzipFastaMatchesPlainAcrossBlocks) {
    // 200 kb spans several 64 KiB BGZF blocks, so the .gzi offsets are exercised.
    std::mt19937 rng(7);
    std::string seq(200000, 'A');
    for (char& c : seq) c = "ACGTacgtN"[rng() % 9];
    const std::string text = fasta_record("chr1", seq, 70) + fasta_record("chr2", seq.substr(0, 1000), 70);
    const auto plain = scpx::test::scratch_path("fa_big.fa");
    scpx::test::remove_with_indexes(plain);
    scpx::test::write_text(plain, text);
    const auto bgz = scpx::test::scratch_path("fa_big.fa.gz");
    scpx::test::write_bgzf(bgz, text);

    fasta_reader a(plain);
    fasta_reader b(bgz);
    EXPECT_TRUE(scpx::test::exists(bgz + ".gzi"));
    for (std::int64_t start : {-50, 0, 65530, 131000, 199990}) {
        const std::string want = a.fetch("1", start, start + 100);
        EXPECT_EQ(b.fetch("1", start, start + 100), want) << "start " << start;
        const std::int64_t lo = std::max<std::int64_t>(start, 0);
        const std::int64_t hi = std::min<std::int64_t>(start + 100, 200000);
        EXPECT_EQ(want.substr(static_cast<std::size_t>(lo - start), static_cast<std::size_t>(hi - lo)),
                  upper(seq.substr(static_cast<std::size_t>(lo), static_cast<std::size_t>(hi - lo))));
    }
    EXPECT_EQ(b.fetch("chr2", 995, 1002), upper(seq.substr(995, 5)) + "NN");
}

TEST(Fasta, PlainGzipIsRejectedWithRecompressHint) {
    const auto path = scpx::test::scratch_path("fa_gzip.fa.gz");
    scpx::test::remove_with_indexes(path);
    scpx::test::write_gzip(path, fasta_record("1", kChr20));
    try {
        fasta_reader fa(path);
        FAIL() << "expected io_error";
    } catch (const scpx::io_error& e) {
        EXPECT_THAT(e.what(), HasSubstr(path));
        EXPECT_THAT(e.what(), HasSubstr("bgzip"));
    }
}

TEST(Fasta, MissingIndexWithoutBuildSaysHowToCreateIt) {
    const auto path = write_test_fasta("fa_noidx.fa");
    try {
        fasta_reader fa(path, /*build_index=*/false);
        FAIL() << "expected io_error";
    } catch (const scpx::io_error& e) {
        EXPECT_THAT(e.what(), HasSubstr(path + ".fai"));
        EXPECT_THAT(e.what(), HasSubstr("samtools faidx"));
    }
}

TEST(Fasta, MalformedFastaNamesFileAndLine) {
    const auto ragged = scpx::test::scratch_path("fa_ragged.fa");
    scpx::test::remove_with_indexes(ragged);
    scpx::test::write_text(ragged, ">1\nACGTACGT\nACG\nACGTACGT\n");
    try {
        fasta_reader fa(ragged);
        FAIL() << "expected input_error";
    } catch (const scpx::input_error& e) {
        EXPECT_THAT(e.what(), HasSubstr(ragged + ", line 4"));
        EXPECT_THAT(e.what(), HasSubstr("same length"));
    }
    const auto headless = scpx::test::scratch_path("fa_headless.fa");
    scpx::test::remove_with_indexes(headless);
    scpx::test::write_text(headless, "ACGT\n>1\nACGT\n");
    try {
        fasta_reader fa(headless);
        FAIL() << "expected input_error";
    } catch (const scpx::input_error& e) {
        EXPECT_THAT(e.what(), HasSubstr(headless + ", line 1"));
        EXPECT_THAT(e.what(), HasSubstr("'>'"));
    }
}

TEST(Fasta, EmptyAndMissingFilesFailClearly) {
    const auto empty = scpx::test::scratch_path("fa_empty.fa");
    scpx::test::remove_with_indexes(empty);
    scpx::test::write_text(empty, "");
    try {
        fasta_reader fa(empty);
        FAIL() << "expected an error";
    } catch (const scpx::input_error& e) {
        EXPECT_THAT(e.what(), HasSubstr(empty));
        EXPECT_THAT(e.what(), HasSubstr("empty"));
    }
    EXPECT_THROW(fasta_reader(scpx::test::scratch_path("fa_does_not_exist.fa")), scpx::missing_file_error);

    // A last header without bases (found by tests/fuzz/mutate_inputs.py: faidx refuses it and
    // the message used to guess at an unwritable directory).
    for (const std::string text : {">chr1\n", ">chr1\nACGT\n>chr2\n"}) {
        const auto path = scpx::test::scratch_path("fa_no_bases.fa");
        scpx::test::remove_with_indexes(path);
        scpx::test::write_text(path, text);
        const std::string name = text == ">chr1\n" ? "chr1" : "chr2";
        try {
            fasta_reader fa(path);
            FAIL() << "expected an error for " << text;
        } catch (const scpx::input_error& e) {
            EXPECT_THAT(e.what(), HasSubstr(path));
            EXPECT_THAT(e.what(), HasSubstr("sequence '" + name + "' has no bases"));
        }
    }
}

TEST(Fasta, TssWindowCentresTheTssBase) {
    const auto w = scpx::seq::tss_window("chr1", 1000, 8);
    EXPECT_EQ(w.chrom, "chr1");
    EXPECT_EQ(w.start, 995); // TSS base (0-based 999) at offset L/2 = 4
    EXPECT_EQ(w.end, 1003);
    const auto e = scpx::seq::tss_window("1", 500000, 393216);
    EXPECT_EQ(e.start, 499999 - 196608);
    EXPECT_EQ(e.length(), 393216);
    // Output bin 448 of 896 (128 bp, centred) starts at the TSS base.
    const std::int64_t first_bin_start = e.start + (393216 - 896 * 128) / 2;
    EXPECT_EQ(first_bin_start + 448 * 128, 499999);
    EXPECT_THROW(scpx::seq::tss_window("1", 0, 8), scpx::usage_error);
    EXPECT_THROW(scpx::seq::tss_window("1", 10, 0), scpx::usage_error);
}

TEST(Fasta, TssWindowFetchOfSmallContigIsPadded) {
    fasta_reader fa(write_test_fasta("fa_tss.fa"));
    const auto w = scpx::seq::tss_window("chrM", 3, 10); // [−3, 7)
    EXPECT_EQ(fa.fetch(w), "NNNGATCACA");
}

TEST(Contig, AliasesAndPreview) {
    using scpx::seq::contig_aliases;
    EXPECT_EQ(contig_aliases("chr20"), (std::vector<std::string>{"chr20", "20"}));
    EXPECT_EQ(contig_aliases("20"), (std::vector<std::string>{"20", "chr20"}));
    EXPECT_EQ(contig_aliases("MT"), (std::vector<std::string>{"MT", "chrM", "chrMT", "M"}));
    EXPECT_EQ(contig_aliases("Chr7")[1], "7");
    EXPECT_EQ(scpx::seq::contig_list_preview({"a", "b", "c"}, 2), "a, b, ... (3 in all)");
}

} // namespace

// ---- index consistency and FASTA content (QA: a stale .fai returned wrong bases, exit 0) ----

std::string kLong() {
    std::mt19937 rng(11);
    std::string s(1000, 'A');
    for (char& c : s) c = "ACGT"[rng() % 4];
    return s;
}

// Builds the index of a 60-per-line FASTA, then rewrites the FASTA with `text` (the .fai stays).
std::string fasta_with_stale_index(const std::string& name, const std::string& text) {
    const auto path = scpx::test::scratch_path(name);
    scpx::test::remove_with_indexes(path);
    scpx::test::write_text(path, fasta_record("chr1", kLong()) + fasta_record("chr2", kLong().substr(0, 300)));
    { fasta_reader fa(path); }
    scpx::test::write_text(path, text);
    return path;
}

void age_file(const std::string& path) {
    struct timespec times[2] = {{1577836800, 0}, {1577836800, 0}}; // 2020-01-01
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
}

std::string read_log(const std::function<void()>& f, const std::string& name) {
    const std::string log = scpx::test::scratch_path(name);
    scpx::log::open_file(log);
    f();
    scpx::log::close_file();
    return scpx::test::read_text(log);
}

TEST(FastaIndex, RewrappedFastaWithOldIndexIsRejected) {
    const auto path = fasta_with_stale_index(
        "fai_rewrap.fa", fasta_record("chr1", kLong(), 80) + fasta_record("chr2", kLong().substr(0, 300), 80));
    age_file(path + ".fai");
    std::string log;
    const std::string msg = scpx::test::message_of<scpx::input_error>([&] {
        log = read_log([&] { fasta_reader fa(path); }, "fai_rewrap.log");
    });
    EXPECT_THAT(msg, HasSubstr(path + ".fai"));
    EXPECT_THAT(msg, HasSubstr("contig 'chr1'"));
    EXPECT_THAT(msg, HasSubstr("linebases 60"));
    EXPECT_THAT(msg, HasSubstr("samtools faidx " + path));
    // The index is not rebuilt behind the user's back.
    EXPECT_THAT(scpx::test::read_text(path + ".fai"), HasSubstr("\t60\t61"));
}

TEST(FastaIndex, AnEmptyIndexSaysHowItCameAndHowToRebuildIt) {
    // What a build on a full disk used to leave (htslib writes the index in place).
    const auto path = scpx::test::scratch_path("fai_empty.fa");
    scpx::test::remove_with_indexes(path);
    scpx::test::write_text(path, fasta_record("chr1", kLong()));
    scpx::test::write_text(path + ".fai", "");
    const std::string msg = scpx::test::message_of<scpx::input_error>([&] { fasta_reader fa(path); });
    EXPECT_THAT(msg, HasSubstr(path + ".fai"));
    EXPECT_THAT(msg, HasSubstr("the FASTA index is empty"));
    EXPECT_THAT(msg, HasSubstr("delete it"));
}

/// In a child process: builds the index of `path` under a 1 KB file-size limit; exits 0 when the
/// build failed saying why and left no index behind.
[[noreturn]] void build_index_under_a_size_limit(const std::string& path) {
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit lim{};
    lim.rlim_cur = lim.rlim_max = 1024;
    setrlimit(RLIMIT_FSIZE, &lim);
    std::string msg;
    try {
        fasta_reader fa(path);
    } catch (const scpx::io_error& e) {
        msg = e.what();
    }
    const bool said_why = msg.find("File too large") != std::string::npos;
    const bool no_index = ::access((path + ".fai").c_str(), F_OK) != 0;
    std::_Exit(said_why && no_index ? 0 : 1);
}

TEST(FastaIndex, AFailedBuildLeavesNoIndexBehindAndSaysWhy) {
    // 300 contigs: an index of ~8 KB, which a 1 KB file-size limit (a stand-in for a full disk)
    // stops half-written. The child process holds the limit; the parent checks the outcome.
    const auto path = scpx::test::scratch_path("fai_fail.fa");
    scpx::test::remove_with_indexes(path);
    std::string text;
    for (int i = 0; i < 300; ++i)
        text += fasta_record("contig_number_" + std::to_string(i), "ACGTACGTAC");
    scpx::test::write_text(path, text);
    EXPECT_EXIT(build_index_under_a_size_limit(path), ::testing::ExitedWithCode(0), "");
    // Without the limit the index is built as usual.
    fasta_reader fa(path);
    EXPECT_EQ(fa.contigs().size(), 300u);
}

TEST(FastaIndex, OlderIndexOfAnUnchangedFastaOnlyWarns) {
    const auto path = scpx::test::scratch_path("fai_old.fa");
    scpx::test::remove_with_indexes(path);
    scpx::test::write_text(path, fasta_record("chr1", kLong()));
    { fasta_reader fa(path); }
    age_file(path + ".fai");
    const std::string log = read_log([&] { fasta_reader fa(path); EXPECT_EQ(fa.fetch("chr1", 0, 5), kLong().substr(0, 5)); },
                                     "fai_old.log");
    EXPECT_THAT(log, HasSubstr("WARNING: the index file " + path + ".fai is older than the FASTA"));
}

TEST(FastaIndex, IndexClaimingMoreBasesThanTheFileHoldsIsRejected) {
    const auto path = scpx::test::scratch_path("fai_long.fa");
    scpx::test::remove_with_indexes(path);
    scpx::test::write_text(path, fasta_record("chr1", kLong()) + fasta_record("chr2", kLong().substr(0, 300)));
    { fasta_reader fa(path); }
    std::string fai = scpx::test::read_text(path + ".fai");
    // Last contig: past the end of the file.
    std::string last = fai;
    last.replace(last.find("chr2\t300\t"), 9, "chr2\t900\t");
    scpx::test::write_text(path + ".fai", last);
    std::string msg = scpx::test::message_of<scpx::input_error>([&] { fasta_reader fa(path); });
    EXPECT_THAT(msg, HasSubstr("contig 'chr2'"));
    EXPECT_THAT(msg, HasSubstr("past the end of the file"));
    // First contig: runs into the next one.
    std::string first = fai;
    first.replace(first.find("chr1\t1000\t"), 10, "chr1\t3000\t");
    scpx::test::write_text(path + ".fai", first);
    msg = scpx::test::message_of<scpx::input_error>([&] { fasta_reader fa(path); });
    EXPECT_THAT(msg, HasSubstr("contig 'chr1'"));
    EXPECT_THAT(msg, HasSubstr(path + ".fai"));
    // An offset that does not follow the contig's header.
    std::string shifted = fai;
    const auto tab = shifted.find('\t', shifted.find("chr2\t300\t") + 9);
    const auto off = std::stoll(shifted.substr(shifted.find("chr2\t300\t") + 9, tab));
    shifted.replace(shifted.find("chr2\t300\t") + 9, tab - (shifted.find("chr2\t300\t") + 9), std::to_string(off - 61));
    scpx::test::write_text(path + ".fai", shifted);
    msg = scpx::test::message_of<scpx::input_error>([&] { fasta_reader fa(path); });
    EXPECT_THAT(msg, HasSubstr("contig 'chr2'"));
    EXPECT_THAT(msg, HasSubstr("header"));
}

TEST(FastaIndex, ValidLayoutsPassTheCheck) {
    // CRLF lines, no final newline after a full line, a one-line contig, an empty record.
    const std::vector<std::string> texts = {
        ">chr1 desc\r\nACGTACGT\r\nACGTAC\r\n>chr2\r\nAC\r\n",
        ">chr1\nACGTACGT\nACGTACGT",
        ">chr1\nACGTACGTAA\n>chr2\nACGT",
        ">chr1\nACGTACGT\nAC\n>empty\n>chr2\nACGT\n",
    };
    for (std::size_t i = 0; i < texts.size(); ++i) {
        const auto path = scpx::test::scratch_path("fai_ok" + std::to_string(i) + ".fa");
        scpx::test::remove_with_indexes(path);
        scpx::test::write_text(path, texts[i]);
        { fasta_reader fa(path); }
        fasta_reader again(path); // checked against the index it built
        EXPECT_EQ(again.fetch("chr1", 0, 4), "ACGT") << texts[i];
    }
}

TEST(FastaContent, DuplicateRecordNamesBothLines) {
    const auto path = scpx::test::scratch_path("fa_dup.fa");
    scpx::test::remove_with_indexes(path);
    scpx::test::write_text(path, ">chr1\nACGT\n>chr2\nACGT\n>chr1 again\nTTTT\n");
    const std::string msg = scpx::test::message_of<scpx::input_error>([&] { fasta_reader fa(path); });
    EXPECT_THAT(msg, HasSubstr(path + ", line 5"));
    EXPECT_THAT(msg, HasSubstr("'chr1' appears a second time (first at line 1)"));
    EXPECT_FALSE(scpx::test::exists(path + ".fai"));
}

TEST(FastaContent, BlankInsideSequenceLineNamesTheLine) {
    const auto path = scpx::test::scratch_path("fa_space.fa");
    scpx::test::remove_with_indexes(path);
    scpx::test::write_text(path, ">chr1\nACGTACGT\nACG TACGT\nAC\n");
    const std::string msg = scpx::test::message_of<scpx::input_error>([&] { fasta_reader fa(path); });
    EXPECT_THAT(msg, HasSubstr(path + ", line 3"));
    EXPECT_THAT(msg, HasSubstr("blank"));
}

TEST(FastaContent, NonLettersAndEmptyRecordsAreWarnedAbout) {
    const auto path = scpx::test::scratch_path("fa_odd.fa");
    scpx::test::remove_with_indexes(path);
    scpx::test::write_text(path, ">chr1\nACGTACGT\nA!*-.012\n@#\n>none\n>chr2\nACGT\n");
    const std::string log = read_log([&] { fasta_reader fa(path); }, "fa_odd.log");
    EXPECT_THAT(log, HasSubstr("9 character(s) in sequence lines are not letters (first '!' at line 3 in 'chr1')"));
    EXPECT_THAT(log, HasSubstr("1 sequence(s) without bases (first 'none' (line 5))"));
}

TEST(FastaIndex, BgzipFastaGetsTheAgeWarningOnly) {
    const auto path = scpx::test::scratch_path("fai_old.fa.gz");
    scpx::test::write_bgzf(path, fasta_record("chr1", kLong()));
    { fasta_reader fa(path); }
    age_file(path + ".fai");
    age_file(path + ".gzi");
    const std::string log = read_log([&] { fasta_reader fa(path); EXPECT_EQ(fa.fetch("chr1", 0, 5), kLong().substr(0, 5)); },
                                     "fai_old_bgz.log");
    EXPECT_THAT(log, HasSubstr("the index file " + path + ".fai is older than the FASTA"));
    EXPECT_THAT(log, HasSubstr("the index file " + path + ".gzi is older than the FASTA"));
}
