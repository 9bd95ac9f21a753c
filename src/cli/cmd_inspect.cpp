// `scpx inspect`: reads input files exactly the way the stages will and summarises them, so a
// format problem (contig names, a missing index, a renamed column, the wrong genome build)
// surfaces in seconds on a login node instead of hours into a cluster job.
#include "scpx/cli/commands.hpp"
#include "scpx/cli/run.hpp"
#include "scpx/core/atomic_file.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/core/text.hpp"
#include "scpx/dist/mpi.hpp"
#include "scpx/io/gene_annotation.hpp"
#include "scpx/io/vcf_reader.hpp"
#include "scpx/seq/fasta.hpp"

#include <nlohmann/json.hpp>

#include <limits>
#include <map>
#include <memory>
#include <optional>

namespace scpx::cli {

namespace {

struct inspect_options {
    common_options common;
    std::string fasta, vcf, region, annotation;
    std::vector<std::string> gene_types;
};

/// "chr20:1000000-1500000" → chrom, first, last (1-based inclusive); "chr20" → whole contig.
void parse_region(const std::string& text, std::string& chrom, std::int64_t& first, std::int64_t& last) {
    const auto colon = text.rfind(':');
    first = 1;
    last = std::numeric_limits<std::int64_t>::max();
    if (colon == std::string::npos) {
        chrom = text;
        return;
    }
    chrom = text.substr(0, colon);
    std::string range = text.substr(colon + 1);
    range.erase(std::remove(range.begin(), range.end(), ','), range.end());
    const auto dash = range.find('-');
    try {
        first = std::stoll(range.substr(0, dash));
        if (dash != std::string::npos) last = std::stoll(range.substr(dash + 1));
    } catch (const std::exception&) {
        throw usage_error("--region must look like chr20:1000000-1500000 (got '" + text + "')");
    }
    if (chrom.empty() || first < 1 || last < first)
        throw usage_error("--region must look like chr20:1000000-1500000 (got '" + text + "')");
}

nlohmann::json inspect_fasta(seq::fasta_reader& fa) {
    std::int64_t total = 0;
    nlohmann::json contigs = nlohmann::json::array();
    for (const auto& c : fa.contigs()) {
        total += c.length;
        contigs.push_back({{"name", c.name}, {"length", c.length}});
    }
    SCPX_LOG_INF("FASTA {}: {} contig(s), {} bases", fa.path(), fa.contigs().size(), total);
    for (size_t i = 0; i < fa.contigs().size() && i < 5; ++i)
        SCPX_LOG_INF("  {} ({} bp)", fa.contigs()[i].name, fa.contigs()[i].length);
    return {{"path", fa.path()}, {"n_contigs", fa.contigs().size()}, {"total_length", total}, {"contigs", contigs}};
}

nlohmann::json inspect_annotation(const inspect_options& o, seq::fasta_reader* fa) {
    io::annotation_options ao;
    ao.gene_types = gene_types_filter(o.gene_types); // 'all' as in `features reference`
    const auto genes = io::read_gene_annotation(o.annotation, ao);
    std::map<std::string, std::int64_t> by_type, by_chrom;
    std::int64_t unknown_contig = 0, tss_outside = 0;
    std::vector<std::string> unknown_examples;
    for (const auto& g : genes) {
        ++by_type[g.gene_type.empty() ? std::string("(none)") : g.gene_type];
        ++by_chrom[g.chrom];
        if (!fa) continue;
        if (!fa->has_contig(g.chrom)) {
            if (unknown_examples.size() < 3) unknown_examples.push_back(g.gene_id + " on " + g.chrom);
            ++unknown_contig;
        } else if (g.tss < 1 || g.tss > fa->contig_length(g.chrom)) {
            ++tss_outside;
        }
    }
    SCPX_LOG_INF("Annotation {}: {} gene(s) on {} chromosome(s)", o.annotation, genes.size(), by_chrom.size());
    for (const auto& [type, n] : by_type) SCPX_LOG_INF("  {}: {}", type, n);
    nlohmann::json j{{"path", o.annotation}, {"n_genes", genes.size()}, {"by_type", by_type}, {"by_chrom", by_chrom}};
    if (fa) {
        if (unknown_contig > 0) {
            std::string ex;
            for (const auto& e : unknown_examples) ex += (ex.empty() ? "" : ", ") + e;
            SCPX_LOG_WRN_SHARED(
                "{} gene(s) lie on contigs absent from the FASTA (e.g. {}); check the genome build",
                unknown_contig, ex);
        }
        if (tss_outside > 0)
            SCPX_LOG_WRN_SHARED("{} gene(s) have a TSS outside their FASTA contig", tss_outside);
        j["genes_on_unknown_contigs"] = unknown_contig;
        j["tss_outside_contig"] = tss_outside;
    }
    return j;
}

nlohmann::json inspect_vcf(const inspect_options& o, seq::fasta_reader* fa) {
    io::vcf_options vo;
    vo.want_haplotypes = true;
    vo.want_dosages = true;
    vo.unphased = io::unphased_policy::AS_WRITTEN; // count, don't stop: this is a survey
    vo.reference = fa;
    vo.keep_indels = true; // counted apart: what `features personal --indels apply` would write
    io::vcf_reader vcf(o.vcf, vo);
    SCPX_LOG_INF("VCF {}: {} sample(s), {} contig(s) in the header, index: {}, dosages from {}", o.vcf,
                 vcf.samples().size(), vcf.contigs().size(), vcf.has_index() ? "yes" : "no",
                 vcf.dosage_from_ds() ? "DS" : "GT");
    std::string chrom;
    std::int64_t first = 1, last = 0;
    bool found = true;
    if (!o.region.empty()) {
        parse_region(o.region, chrom, first, last);
        found = vcf.query(chrom, first, last);
        if (!found) SCPX_LOG_WRN_SHARED("contig of --region {} is not in {}", o.region, o.vcf);
    }
    io::vcf_record rec;
    std::uint64_t n = 0, n_indel = 0, n_mnp = 0;
    while (found && vcf.next(rec)) {
        const std::size_t alt = rec.alts.empty() ? 0 : rec.alts[0].size();
        if (rec.ref.size() == 1 && alt == 1)
            ++n;
        else if (rec.ref.size() == alt)
            ++n_mnp;
        else
            ++n_indel;
    }
    // The counts as the SNV-only default reads the file (indels and MNPs skipped before the REF
    // check), and the indels and MNPs apart.
    io::vcf_stats s = vcf.stats();
    const std::uint64_t indel_mismatch = s.ref_mismatch_indel + s.ref_mismatch_mnp;
    s.skipped_indel += n_indel + s.ref_mismatch_indel;
    s.skipped_mnp += n_mnp + s.ref_mismatch_mnp;
    s.ref_mismatch -= indel_mismatch;
    s.records_returned = n;
    const std::vector<std::string> indel_examples = std::move(s.ref_mismatch_indel_examples);
    s.ref_mismatch_indel_examples.clear(); // shown apart below, not in the default's summary
    SCPX_LOG_INF("  {}{}", o.region.empty() ? "whole file: " : o.region + ": ", s.summary());
    if (n_indel + n_mnp + indel_mismatch > 0)
        SCPX_LOG_INF("  indels and MNPs: {} whose REF matches the FASTA{} (written by features personal "
                     "--indels apply), {} whose REF does not{}{}",
                     n_indel + n_mnp, fa ? "" : " (no --fasta: not checked)", indel_mismatch,
                     indel_examples.empty() ? "" : ", e.g. ", join(indel_examples, ", "));
    // Multi-allelic records are skipped before their alleles are looked at: read again, only when
    // there are some, to say what `--multiallelic apply` would meet. The second reading differs
    // from the first by those records alone, so its extra counts and examples are theirs.
    std::uint64_t n_multi = 0, multi_mismatch = 0, multi_unusable = 0, multi_unphased = 0, multi_missing = 0;
    std::vector<std::string> multi_examples;
    if (s.skipped_multiallelic > 0) {
        vo.keep_multiallelic = true;
        io::vcf_reader again(o.vcf, vo);
        bool more = o.region.empty() || again.query(chrom, first, last);
        while (more && again.next(rec))
            if (rec.alts.size() > 1) ++n_multi;
        const io::vcf_stats& a = again.stats();
        const io::vcf_stats& b = vcf.stats();
        multi_mismatch = a.ref_mismatch_multiallelic;
        const std::uint64_t seen = n_multi + multi_mismatch; // the same records as the first reading's
        multi_unusable = s.skipped_multiallelic > seen ? s.skipped_multiallelic - seen : 0;
        multi_unphased = a.unphased_het - b.unphased_het;
        multi_missing = a.missing_alleles - b.missing_alleles;
        multi_examples = a.ref_mismatch_multiallelic_examples;
        SCPX_LOG_INF(
            "  multi-allelic records: {} with an ALT written by features personal --multiallelic apply "
            "(indel ALTs only with --indels apply too){}, {} whose REF does not match the FASTA{}{}, {} "
            "with no ALT it can write (symbolic, non-A/C/G/T); in them {} unphased heterozygous GT(s) "
            "(an error without --unphased as-written) and {} missing allele(s)",
            n_multi, fa ? "" : " (no --fasta: REF not checked)", multi_mismatch,
            multi_examples.empty() ? "" : ", e.g. ", join(multi_examples, ", "), multi_unusable,
            multi_unphased, multi_missing);
    }
    return {{"path", o.vcf},
            {"n_samples", vcf.samples().size()},
            {"indexed", vcf.has_index()},
            {"region", o.region},
            {"records_read", s.records_read},
            {"snvs_usable", n},
            {"skipped_multiallelic", s.skipped_multiallelic},
            {"skipped_indel", s.skipped_indel},
            {"skipped_mnp", s.skipped_mnp},
            {"skipped_symbolic", s.skipped_symbolic},
            {"skipped_non_acgt", s.skipped_non_acgt},
            {"ref_mismatch", s.ref_mismatch},
            {"indels_usable", n_indel + n_mnp},
            {"indels_ref_mismatch", indel_mismatch},
            {"multiallelic_usable", n_multi},
            {"multiallelic_ref_mismatch", multi_mismatch},
            {"multiallelic_ref_mismatch_examples", multi_examples},
            {"multiallelic_unusable", multi_unusable},
            {"multiallelic_unphased_het", multi_unphased},
            {"multiallelic_missing_alleles", multi_missing},
            {"ref_mismatch_examples", s.ref_mismatch_examples},
            {"unphased_het", s.unphased_het},
            {"missing_alleles", s.missing_alleles}};
}

void write_inspect_report(const inspect_options& o, text_writer* report);

void run_inspect(const CLI::App& sub, const inspect_options& o) {
    if (o.fasta.empty() && o.vcf.empty() && o.annotation.empty())
        throw usage_error("scpx inspect needs at least one of --fasta, --vcf, --annotation");
    // Check the output location before reading anything, so a typo costs nothing (and, as the
    // inputs are known first, an --out naming one of them is refused). A missing output
    // directory is created, as the other stages do.
    note_input_files(sub);
    // Under mpirun rank 0 reads and writes the report while the others wait: every rank writing
    // the one file failed on the rename.
    std::unique_ptr<text_writer> report;
    if (!o.common.out.empty() && mpi::is_root()) {
        make_parent_dirs(o.common.out);
        report = std::make_unique<text_writer>(o.common.out);
    }
    run_scope scope(sub, o.common, o.common.out.empty() ? std::string() : log_path_for(o.common.out));
    mpi::on_root_only([&] { write_inspect_report(o, report.get()); }, "inspect");
}

void write_inspect_report(const inspect_options& o, text_writer* report) {
    nlohmann::json j;
    std::optional<seq::fasta_reader> fa;
    if (!o.fasta.empty()) {
        fa.emplace(o.fasta);
        j["fasta"] = inspect_fasta(*fa);
    }
    if (!o.annotation.empty()) j["annotation"] = inspect_annotation(o, fa ? &*fa : nullptr);
    if (!o.vcf.empty()) j["vcf"] = inspect_vcf(o, fa ? &*fa : nullptr);
    if (report) {
        // Names from the inputs may hold invalid UTF-8: written as U+FFFD instead of failing.
        report->write(j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
        report->close();
        SCPX_LOG_INF("Report written to {}", o.common.out);
    }
}

} // namespace

void add_inspect_command(CLI::App& app) {
    auto o = std::make_shared<inspect_options>();
    auto* sub = app.add_subcommand("inspect",
                                   "Check and summarise input files (FASTA, VCF/BCF, gene annotation) as the stages read them");
    sub->add_option("--fasta", o->fasta, "reference FASTA (plain or bgzip; .fai built when missing)")
        ->check(CLI::ExistingFile)->group("Inputs");
    sub->add_option("--vcf", o->vcf, "phased VCF/BCF (indexed for --region)")->check(CLI::ExistingFile)->group("Inputs");
    sub->add_option("--region", o->region, "VCF region, e.g. chr20:1000000-1500000 (default: whole file)")
        ->group("Inputs");
    sub->add_option("--annotation", o->annotation, "GTF/GFF3, PredictDB gene annotation or TSS table")
        ->check(CLI::ExistingFile)->group("Inputs");
    sub->add_option("--gene-types", o->gene_types, "keep only these gene types (e.g. protein_coding; 'all' keeps every gene)")
        ->group("Inputs");
    sub->add_option("--out", o->common.out, "write the summary as JSON to this file")
        ->check(non_empty_name())
        ->group("Output");
    sub->add_option("--verbosity", o->common.verbosity, "debug|info|warn|error|off")->capture_default_str();
    sub->callback([sub, o] { run_inspect(*sub, *o); });
}

} // namespace scpx::cli
