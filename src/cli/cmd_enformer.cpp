// `scpx enformer predict`: runs Enformer (CPU reference or GPU, --device) on one-hot sequences
// stored in HDF5 and writes the human head and the trunk embedding — the check that a converted
// checkpoint and a length behave as expected before spending cluster hours on `scpx features`.
#include "scpx/cli/commands.hpp"
#include "scpx/cli/enformer_options.hpp"
#include "scpx/cli/run.hpp"
#include "scpx/core/atomic_file.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/log.hpp"
#include "scpx/core/progress.hpp"
#include "scpx/core/timer.hpp"
#include "scpx/dist/mpi.hpp"
#include "scpx/dist/partition.hpp"
#include "scpx/io/h5.hpp"
#include "scpx/model/enformer.hpp"
#include "scpx/model/enformer_runner.hpp"
#include "scpx/ops/parallel.hpp"

#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

namespace scpx::cli {

namespace {

struct enformer_predict_options {
    common_options common;
    std::string weights, onehot;
    std::int64_t batch = 0; ///< 0: enformer_runner::choose_batch decides
    std::int64_t seq_len = 0;
    std::vector<std::string> heads{"human"};
    model::enformer_device_options dev;
};

/// Creates a float32 dataset of the given shape (contiguous, no timestamps).
io::h5_dataset create_f32(hid_t file, const std::string& path, const std::vector<hsize_t>& shape) {
    io::h5_space space(H5Screate_simple(static_cast<int>(shape.size()), shape.data(), nullptr));
    SCPX_H5_CHECK(space.id());
    io::h5_plist dcpl = io::h5_dataset_creation();
    io::h5_dataset ds(H5Dcreate2(file, path.c_str(), io::h5_file_type(io::h5_dtype::f32), space.id(), H5P_DEFAULT,
                                 dcpl.id(), H5P_DEFAULT));
    SCPX_H5_CHECK(ds.id());
    return ds;
}

/// Writes rows [first, first + count) of the leading axis of a float32 dataset.
void write_rows(const io::h5_dataset& ds, hsize_t first, hsize_t count, const float* data) {
    io::h5_space file_space(H5Dget_space(ds.id()));
    SCPX_H5_CHECK(file_space.id());
    const int rank = H5Sget_simple_extent_ndims(file_space.id());
    std::vector<hsize_t> dims(static_cast<size_t>(rank));
    SCPX_H5_CHECK(H5Sget_simple_extent_dims(file_space.id(), dims.data(), nullptr));
    std::vector<hsize_t> start(dims.size(), 0), cnt = dims;
    start[0] = first;
    cnt[0] = count;
    SCPX_H5_CHECK(H5Sselect_hyperslab(file_space.id(), H5S_SELECT_SET, start.data(), nullptr, cnt.data(), nullptr));
    io::h5_space mem(H5Screate_simple(rank, cnt.data(), nullptr));
    SCPX_H5_CHECK(mem.id());
    SCPX_H5_CHECK(H5Dwrite(ds.id(), H5T_NATIVE_FLOAT, mem.id(), file_space.id(), H5P_DEFAULT, data));
}

/// Reads sequences [first, first + count) of a [N, L, 4] (or [L, 4]) float dataset, so inputs
/// larger than memory stream through in batches.
void read_rows(const io::h5_dataset& ds, const std::vector<hsize_t>& shape, hsize_t first, hsize_t count,
               float* out) {
    io::h5_space file_space(H5Dget_space(ds.id()));
    SCPX_H5_CHECK(file_space.id());
    std::vector<hsize_t> start(shape.size(), 0), cnt = shape;
    if (shape.size() == 3) {
        start[0] = first;
        cnt[0] = count;
    }
    SCPX_H5_CHECK(H5Sselect_hyperslab(file_space.id(), H5S_SELECT_SET, start.data(), nullptr, cnt.data(), nullptr));
    io::h5_space mem(H5Screate_simple(static_cast<int>(cnt.size()), cnt.data(), nullptr));
    SCPX_H5_CHECK(mem.id());
    SCPX_H5_CHECK(H5Dread(ds.id(), H5T_NATIVE_FLOAT, mem.id(), file_space.id(), H5P_DEFAULT, out));
}

/// Stops at the first NaN or infinity of a batch of one-hot rows: Enformer would turn it into
/// an all-NaN output. Counts rows that are not exactly one-hot (nor all 0 or all 0.25 for N):
/// soft one-hots are legitimate, but worth a line in the log.
void check_onehot(const std::vector<float>& x, std::int64_t first, std::int64_t L, const io::h5_ref& ref,
                  std::uint64_t& soft_rows) {
    const std::size_t rows = x.size() / 4;
    for (std::size_t r = 0; r < rows; ++r) {
        const float* v = x.data() + 4 * r;
        int ones = 0, zeros = 0, quarters = 0;
        for (int c = 0; c < 4; ++c) {
            if (!std::isfinite(v[c])) {
                const std::int64_t seq = first + static_cast<std::int64_t>(r) / L;
                const std::int64_t pos = static_cast<std::int64_t>(r) % L;
                throw input_error(ref.file, "sequence " + std::to_string(seq) + ", position " + std::to_string(pos),
                                  ref.path, std::string("value ") + (std::isnan(v[c]) ? "NaN" : "infinite") +
                                                " in channel " + "ACGT"[c] + " (0-based indices); one-hot "
                                                "inputs must be finite");
            }
            ones += v[c] == 1.0f;
            zeros += v[c] == 0.0f;
            quarters += v[c] == 0.25f;
        }
        if (!((ones == 1 && zeros == 3) || zeros == 4 || quarters == 4)) ++soft_rows;
    }
}

void run_predict(const enformer_predict_options& o) {
    ops::set_num_threads(o.common.threads);
    const io::h5_ref in_ref = io::h5_parse_ref(o.onehot, "--onehot");
    if (in_ref.path.empty()) throw usage_error("--onehot must name a dataset: FILE.h5:/path/to/onehot");
    model::enformer_check_device_options(o.dev);

    stage_timer load_timer("load weights"); // "stopped after" instead of "done" if the load throws
    model::enformer_weights weights = model::enformer_weights_load(o.weights);
    load_timer.finish();
    const model::enformer_config cfg = weights.config;
    SCPX_LOG_INF("Enformer {}: dim {}, depth {}, heads {}, {} parameters, {} threads", o.weights, cfg.dim, cfg.depth,
                 cfg.heads, model::enformer_weights_count(weights), ops::num_threads());
    for (const auto& h : o.heads)
        if (cfg.head_size(h) < 0) throw usage_error("--heads: the model has no head named '" + h + "'");

    // Inputs: [N, L, 4] (or one sequence [L, 4]), read one batch at a time.
    io::h5_file in_file = io::h5_open_file(in_ref.file);
    const io::h5_info info = io::h5_dataset_info(in_file.id(), in_ref.path);
    const std::vector<hsize_t> in_shape = info.shape;
    if ((in_shape.size() != 2 && in_shape.size() != 3) || in_shape.back() != 4 || info.is_string)
        throw input_error(in_ref.file, "", in_ref.path,
                          "expected one-hot sequences of shape [N, length, 4] (A, C, G, T), found " + info.describe());
    const std::int64_t N = in_shape.size() == 3 ? static_cast<std::int64_t>(in_shape[0]) : 1;
    const std::int64_t L = static_cast<std::int64_t>(in_shape[in_shape.size() - 2]);
    io::h5_dataset in_ds = io::h5_open_dataset(in_file.id(), in_ref.path);
    const std::int64_t want = o.seq_len > 0 ? o.seq_len : cfg.seq_len;
    model::enformer_check_length(cfg, L, "--onehot " + in_ref.str());
    if (L != want)
        throw usage_error("--onehot " + in_ref.str() + ": sequences are " + std::to_string(L) + " bp but the model is " +
                          (o.seq_len > 0 ? "set by --seq-len to " : "configured for ") + std::to_string(want) +
                          " bp; pass --seq-len " + std::to_string(L) + " to run at this length");
    if (N == 0) throw input_error(in_ref.file, "", in_ref.path, "no sequences");
    model::enformer_runner model(std::move(weights), o.dev);
    const std::int64_t batch = model.choose_batch(o.batch, L, N);
    if (model.on_gpu()) {
        SCPX_LOG_INF("GPU memory for batch {} x {} bp: {:.2f} GiB", batch, L,
                     static_cast<double>(model.device_bytes()) / 1073741824.0);
    }

    atomic_output out(o.common.out, o.common.overwrite);
    {
        io::h5_file f = io::h5_create_file(out.temp_path());
        const hsize_t bins = static_cast<hsize_t>(cfg.target_length);
        std::vector<io::h5_dataset> head_ds;
        for (const auto& h : o.heads)
            head_ds.push_back(create_f32(f.id(), "/" + h, {static_cast<hsize_t>(N), bins, static_cast<hsize_t>(cfg.head_size(h))}));
        io::h5_dataset trunk_ds = create_f32(f.id(), "/trunk_embedding", {static_cast<hsize_t>(N), bins, static_cast<hsize_t>(2 * cfg.dim)});
        io::h5_write_attr(f.id(), "config", cfg.to_json());
        io::h5_write_attr(f.id(), "weights", o.weights);
        io::h5_write_attr(f.id(), "onehot", in_ref.str());
        // GPU runs record how they were computed (CPU files stay as they were: byte-identical).
        if (model.on_gpu()) io::h5_write_attr(f.id(), "device", model.describe());
        io::h5_write_attr(f.id(), "layout", std::string("[sequence, bin, track] float32; bins of 128 bp, central target_length bins"));

        model::enformer_gpu_request req;
        req.heads = o.heads;
        req.trunk_embedding = true;
        progress prog("enformer predict", static_cast<std::uint64_t>(N), "sequences", 10.0);
        std::vector<float> x;
        std::uint64_t soft_rows = 0;
        for (std::int64_t first = 0; first < N; first += batch) {
            const std::int64_t b = std::min(batch, N - first);
            x.resize(static_cast<size_t>(b * L * 4));
            read_rows(in_ds, in_shape, static_cast<hsize_t>(first), static_cast<hsize_t>(b), x.data());
            check_onehot(x, first, L, in_ref, soft_rows);
            const auto res = model.predict(x.data(), b, L, req);
            for (size_t i = 0; i < o.heads.size(); ++i)
                write_rows(head_ds[i], static_cast<hsize_t>(first), static_cast<hsize_t>(b), res.heads.at(o.heads[i]).data());
            write_rows(trunk_ds, static_cast<hsize_t>(first), static_cast<hsize_t>(b), res.trunk_embedding.data());
            prog.add(static_cast<std::uint64_t>(b));
        }
        prog.finish();
        if (soft_rows > 0)
            SCPX_LOG_INF("{} of {} input position(s) are not exactly one-hot (soft one-hots are used as given)",
                         soft_rows, static_cast<std::uint64_t>(N) * static_cast<std::uint64_t>(L));
        if (model.on_gpu() && o.dev.conv_backend == "auto") SCPX_LOG_INF("convolution choices:\n{}", model.conv_report());
        head_ds.clear();
        trunk_ds.close();
        f.close();
    }
    out.commit();
    SCPX_LOG_INF("wrote {} ({} sequence(s): {} + /trunk_embedding)", o.common.out, N, fmt::join(o.heads, ", "));
}

} // namespace

void add_enformer_command(CLI::App& app) {
    auto* enf = app.add_subcommand("enformer", "Enformer model (scpx::model): CPU reference or GPU");
    enf->require_subcommand(1);
    auto o = std::make_shared<enformer_predict_options>();
    auto* sub = enf->add_subcommand("predict", "Run Enformer on one-hot sequences from HDF5; write heads and trunk embedding");
    sub->add_option("--weights", o->weights, "weight file (HDF5, scripts/convert_enformer_weights.py)")
        ->required()->check(CLI::ExistingFile)->group("Input");
    sub->add_option("--onehot", o->onehot, "one-hot sequences FILE.h5:/dataset, [N, length, 4] float (A,C,G,T; N = 0 row)")
        ->required()->group("Input");
    sub->add_option("--seq-len", o->seq_len, "input length in bp (default: the weight file's config seq_len)")
        ->group("Model");
    sub->add_option("--heads", o->heads, "output heads to write (default: human)")->delimiter(',')
        ->capture_default_str()->group("Model");
    sub->add_option("--batch", o->batch, "sequences per forward pass (memory grows linearly); 0: 8 on a GPU (fewer "
                    "when its memory cannot hold them), 1 on the CPU")
        ->capture_default_str()->check(integer_at_least(0))->group("Run");
    add_enformer_device_options(*sub, o->dev);
    add_common_options(*sub, o->common, "output HDF5 file (/human [N, bins, tracks], /trunk_embedding [N, bins, 2*dim])");
    // Every sequence of --onehot goes to the one output file: no work list to split, nothing random.
    drop_options(*sub, {"--seed", "--split", "--job"});
    sub->callback([sub, o] {
        run_scope scope(*sub, o->common, log_path_for(o->common.out));
        // One input dataset into one output file, no work list to share: under mpirun every rank
        // would run all of it and replace the same file. Rank 0 runs it; the others wait.
        if (mpi::comm_size() > 1)
            SCPX_LOG_WRN_SHARED(
                "enformer predict runs on rank 0 only ({} ranks given); `scpx features reference` "
                "shares its genes between ranks",
                mpi::comm_size());
        mpi::on_root_only([&] { run_predict(*o); });
    });
}

} // namespace scpx::cli
