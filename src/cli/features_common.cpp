// Shared by `scpx features reference` and `scpx features personal` (features_common.hpp).
#include "scpx/cli/features_common.hpp"

#include "scpx/cli/enformer_options.hpp"
#include "scpx/core/atomic_file.hpp"
#include "scpx/core/check.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/dist/mpi.hpp"
#include "scpx/dist/partition.hpp"
#include "scpx/dist/rank_report.hpp"
#include "scpx/dist/split_parts.hpp"
#include "scpx/io/gene_selection.hpp"
#include "scpx/io/h5.hpp"
#include "scpx/model/enformer.hpp"
#include "scpx/ops/parallel.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <limits>
#include <sys/stat.h>
#include <utility>

namespace scpx::cli {

void add_features_options(CLI::App& sub, features_options& o) {
    sub.add_option("--fasta", o.fasta, "reference FASTA (plain or bgzip, indexed)")
        ->required()
        ->group("Input");
    sub.add_option("--annotation", o.annotation, "genes: GTF/GFF3 or a TSS/gene table")
        ->required()
        ->group("Input");
    sub.add_option("--weights", o.weights, "Enformer weight file (HDF5)")
        ->required()
        ->check(CLI::ExistingFile)
        ->group("Input");
    sub.add_option("--gene-types", o.gene_types, "gene types to keep ('all' keeps every gene)")
        ->delimiter(',')
        ->capture_default_str()
        ->group("Input");
    sub.add_option("--genes", o.genes_file,
                   "only these genes: a file of gene ids, one per line (an id without its version "
                   "matches any version)")
        ->check(CLI::ExistingFile)
        ->group("Input");
    sub.add_option("--chromosomes", o.chromosomes,
                   "only genes on these chromosomes, e.g. 20 or chr1,chr2 ('chr' prefix optional)")
        // One argument, split on commas by gene_selection (not CLI11's delimiter, which takes the
        // next option as the value of "--chromosomes ,"); expected(1) so that --help shows one.
        ->expected(1)
        ->allow_extra_args(false)
        ->group("Input");
    sub.add_option("--seq-len", o.seq_len,
                   "window length in bp (default scPrediXcan's 393216, whatever the weights file records)")
        ->each([&o](const std::string&) { o.seq_len_given = true; })
        ->capture_default_str()
        ->group("Model");
    sub.add_option("--center-bins", o.center_bins, "output bins averaged around the TSS")
        ->capture_default_str()
        ->group("Model");
    sub.add_option("--n-mode", o.n_mode,
                   "encoding of N and padding: zero | quarter (0.25 each, TF-Hub pipeline)")
        ->capture_default_str()
        ->group("Model");
    sub.add_option("--batch", o.batch,
                   "windows per forward pass; 0: 8 on a GPU (fewer when its memory cannot hold "
                   "them), 1 on the CPU")
        ->capture_default_str()
        ->check(integer_at_least(0))
        ->group("Run");
    sub.add_flag("--resume", o.resume, "continue an interrupted run of the same configuration")->group("Run");
    add_enformer_device_options(sub, o.dev);
}

feature_model open_feature_model(const features_options& o) {
    if (o.n_mode != "zero" && o.n_mode != "quarter")
        throw usage_error("--n-mode must be 'zero' or 'quarter'");
    ops::set_num_threads(o.common.threads);
    model::enformer_check_device_options(o.dev);

    feature_model m;
    m.runner = std::make_unique<model::enformer_runner>(model::enformer_weights_load(o.weights), o.dev);
    m.n_mode = o.n_mode == "zero" ? seq::onehot_n_mode::ZERO : seq::onehot_n_mode::QUARTER;
    dist::log_rank_devices("Enformer", m.runner->describe(), m.runner->on_gpu());
    const auto& cfg = m.runner->config();
    model::enformer_check_length(cfg, o.seq_len, "--seq-len");
    // The weights file's length is `enformer predict`'s default, not the features': say which
    // one a run uses when they differ and nobody chose.
    if (!o.seq_len_given && cfg.seq_len != o.seq_len)
        SCPX_LOG_WRN_SHARED(
            "windows of {} bp (the features' default, scPrediXcan's); the weights file {} records {} "
            "bp, enformer predict's default: give --seq-len {} to use that",
            o.seq_len, o.weights, cfg.seq_len, cfg.seq_len);
    m.batch = m.runner->choose_batch(o.batch, o.seq_len, std::numeric_limits<std::int64_t>::max());
    if (m.runner->on_gpu()) {
        SCPX_LOG_INF("GPU memory for batch {} x {} bp: {:.2f} GiB", m.batch, o.seq_len,
                     static_cast<double>(m.runner->device_bytes()) / 1073741824.0);
    }
    m.tracks = cfg.head_size("human");
    if (m.tracks < 0) throw usage_error(o.weights + ": the model has no 'human' head");
    const std::int64_t bins = cfg.target_length;
    if (o.center_bins < 1 || o.center_bins > bins || (bins - o.center_bins) % 2 != 0)
        throw usage_error("--center-bins must be in [1, " + std::to_string(bins) +
                          "] with an even difference to " + std::to_string(bins));
    m.first_bin = (bins - o.center_bins) / 2;
    return m;
}

seq::fasta_reader open_fasta_on_every_rank(const std::string& path) {
    if (mpi::comm_size() == 1) return seq::fasta_reader(path);
    if (!mpi::is_root()) {
        mpi::barrier(); // if rank 0 fails instead, its error ends every rank (main's fail())
        // Never a second build: a node whose view of a shared file system lags behind rank 0's
        // gets an error naming the missing index instead of a concurrent rebuild.
        return seq::fasta_reader(path, /*build_index=*/false);
    }
    seq::fasta_reader fa(path);
    mpi::barrier();
    return fa;
}

std::vector<io::gene_record> genes_on_fasta(seq::fasta_reader& fa, const features_options& o) {
    // Genes whose chromosome is missing from the FASTA (naming mismatch, unplaced contigs) or
    // whose TSS lies beyond the contig (another genome build) cannot be windowed: count, show
    // examples, and stop when nothing is left. Windows that run past a contig end are N-padded.
    // The contig test runs inside the reader, so that a gene id repeated on a contig the FASTA
    // lacks (UCSC-style chrUn/_random/_alt copies) is not taken for a duplicate.
    std::vector<std::string> no_contig, outside;
    std::size_t n_no_contig = 0, n_outside = 0;
    io::gene_selection selection(o.genes_file, o.chromosomes);
    io::annotation_options ao;
    ao.gene_types = gene_types_filter(o.gene_types);
    ao.keep = [&](const io::gene_record& g) {
        if (!selection.keeps(g)) return false;
        if (fa.has_contig(g.chrom)) return true;
        if (no_contig.size() < 3) no_contig.push_back(g.gene_id + " on " + g.chrom);
        ++n_no_contig;
        return false;
    };
    ao.dropped_by_type = [&](const io::gene_record& g) { selection.note_dropped_by_type(g); };
    const auto all_genes = io::read_gene_annotation(o.annotation, ao);
    selection.report(o.annotation);
    std::vector<io::gene_record> genes;
    for (const auto& g : all_genes) {
        if (g.tss < 1 || g.tss > fa.contig_length(g.chrom)) {
            if (outside.size() < 3)
                outside.push_back(g.gene_id + " TSS " + g.chrom + ":" + std::to_string(g.tss) +
                                  " (contig length " + std::to_string(fa.contig_length(g.chrom)) + ")");
            ++n_outside;
            continue;
        }
        genes.push_back(g);
    }
    if (n_no_contig > 0)
        SCPX_LOG_WRN_SHARED("{} gene(s) skipped: chromosome not in {} (e.g. {})", n_no_contig, o.fasta,
                            join(no_contig, "; "));
    if (n_outside > 0)
        SCPX_LOG_WRN_SHARED("{} gene(s) skipped: TSS outside the FASTA contig, wrong genome build? (e.g. {})",
                            n_outside, join(outside, "; "));
    if (genes.empty()) {
        // Only the reasons that occurred, each with its examples.
        std::vector<std::string> why;
        if (n_no_contig > 0)
            why.push_back(std::to_string(n_no_contig) + " on unknown contigs, e.g. " + join(no_contig, ", "));
        if (n_outside > 0)
            why.push_back(std::to_string(n_outside) + " with the TSS outside their contig, e.g. " +
                          join(outside, ", "));
        throw input_error(o.annotation, "", "chrom",
                          "no gene can be placed on " + o.fasta + " (" + join(why, "; ") +
                              "); check chromosome naming and genome build");
    }
    return genes;
}

std::vector<io::gene_record> genes_of_this_job(const std::vector<io::gene_record>& genes,
                                               const common_options& c) {
    const dist::split_spec split = dist::make_split(c.split, c.job);
    const std::vector<double> costs(genes.size(), 1.0);
    dist::require_split_fits(split, genes.size(), "gene");
    const dist::index_range job = dist::split_range(costs, split);
    std::vector<io::gene_record> rows(genes.begin() + static_cast<std::ptrdiff_t>(job.begin),
                                      genes.begin() + static_cast<std::ptrdiff_t>(job.end));
    // partition_by_cost leaves no block empty when there are at least as many genes as jobs.
    SCPX_ASSERT(!rows.empty());
    return rows;
}

std::vector<std::pair<std::string, std::string>> split_provenance(const std::vector<io::gene_record>& genes,
                                                                  const common_options& c,
                                                                  const std::vector<std::string>& inputs) {
    const dist::split_spec split = dist::make_split(c.split, c.job);
    const dist::index_range job = dist::split_range(std::vector<double>(genes.size(), 1.0), split);
    dist::split_gene_list whole;
    for (const auto& g : genes)
        whole.add(g.gene_id, g.chrom, g.tss);
    auto attrs = dist::split_attributes(whole, job);
    attrs.emplace_back("scpx_input_stamps", input_stamps(inputs));
    return attrs;
}

const std::vector<std::string> features_stages = {"features-reference", "features-personal"};

void refuse_replacing_another_part(const common_options& c,
                                   const std::vector<std::pair<std::string, std::string>>& split_attrs) {
    if (c.split <= 1 || !path_exists(c.out)) return;
    std::string list;
    for (const auto& [k, v] : split_attrs)
        if (k == "scpx_gene_list") list = v;
    dist::split_part theirs;
    try {
        const io::h5_file f = io::h5_open_file(c.out);
        // The provenance features merge checks parts by; anything else at --out (not a part of
        // a features run) is replaced as any other output.
        theirs = dist::read_split_part(f.id(), c.out, features_stages, "a features output");
    } catch (const error&) {
        return;
    }
    if (theirs.gene_list != list || (theirs.split == c.split && theirs.job == c.job)) return;
    throw usage_error(fmt::format("--out {} holds job {} of --split {} (genes {}..{} of {}); job {} of "
                                  "--split {} would replace it: give each job its own --out (e.g. "
                                  "features_{}.h5), or remove the file",
                                  c.out, theirs.job, theirs.split, theirs.begin + 1, theirs.end, theirs.total,
                                  c.job, c.split, c.job));
}

void add_central_features(feature_model& m, std::string_view bases, std::int64_t count, std::int64_t seq_len,
                          std::int64_t center_bins, float scale, float* out) {
    if (count <= 0) return;
    // Only the central bins the features need: on the GPU the final pointwise and the head run
    // on those bins alone.
    model::enformer_gpu_request req;
    req.heads = {"human"};
    req.bin0 = m.first_bin;
    req.bins = center_bins;
    // Letters, not one-hot rows: the GPU uploads a byte per base and encodes there.
    const auto res = m.runner->predict_bases(bases, count, seq_len, m.n_mode, req);
    const auto& human = res.heads.at("human"); // [count, center_bins, tracks]
    const std::int64_t T = m.tracks;
    const auto n = static_cast<float>(center_bins);
    for (std::int64_t b = 0; b < count; ++b)
        for (std::int64_t k = 0; k < center_bins; ++k)
            for (std::int64_t t = 0; t < T; ++t)
                out[b * T + t] += human[static_cast<size_t>((b * center_bins + k) * T + t)] / n * scale;
}

std::string features_command_options(const features_options& o) {
    const dist::split_spec split = dist::make_split(o.common.split, o.common.job);
    return "--fasta " + o.fasta + " --annotation " + o.annotation + " --weights " + o.weights +
           " --seq-len " + std::to_string(o.seq_len) + " --center-bins " + std::to_string(o.center_bins) +
           " --n-mode " + o.n_mode + " --gene-types " + join(o.gene_types, ",") +
           (o.genes_file.empty() ? "" : " --genes " + o.genes_file) +
           (o.chromosomes.empty() ? "" : " --chromosomes " + join(o.chromosomes, ",")) + " --split " +
           std::to_string(split.n_splits) + " --job " + std::to_string(split.job);
}

io::h5_dataset_spec features_dataset(std::string name, io::h5_dtype t, std::vector<hsize_t> shape,
                                     std::size_t str_len, std::string description) {
    io::h5_dataset_spec s;
    s.name = std::move(name);
    s.dtype = t;
    s.shape = std::move(shape);
    s.str_len = str_len;
    s.description = std::move(description);
    return s;
}

std::size_t max_field_len(const std::vector<io::gene_record>& genes, std::string io::gene_record::*field) {
    std::size_t n = 1;
    for (const auto& g : genes)
        n = std::max(n, (g.*field).size());
    return n;
}

} // namespace scpx::cli
