// `scpx info`: what this build is and what it finds at run time (ranks, GPU, library versions),
// the first thing to paste into a bug report or check on a new cluster.
#include "scpx/cli/commands.hpp"
#include "scpx/cli/run.hpp"
#include "scpx/core/device.hpp"
#include "scpx/core/log.hpp"
#include "scpx/core/version.hpp"
#include "scpx/dist/mpi.hpp"
#include "scpx/dist/singleton.hpp"
#include "scpx/ops/parallel.hpp"

#include <Eigen/Core>
#include <hdf5.h>
#include <htslib/hts.h>
#include <mpi.h>
#include <sqlite3.h>

#include <memory>
#include <thread>

namespace scpx::cli {

void add_info_command(CLI::App& app) {
    auto* sub = app.add_subcommand("info", "Print version, build features, ranks, GPU and library versions");
    sub->callback([] {
        SCPX_LOG_INF("{}", version_line());
        unsigned maj = 0, min = 0, rel = 0;
        H5get_libversion(&maj, &min, &rel);
        char mpi_version[MPI_MAX_LIBRARY_VERSION_STRING] = {};
        int len = 0;
        MPI_Get_library_version(mpi_version, &len);
        std::string mpi_first_line(mpi_version, static_cast<size_t>(len));
        mpi_first_line = mpi_first_line.substr(0, mpi_first_line.find_first_of(",\n"));
        SCPX_LOG_INF("  MPI ranks: {} ({})", mpi::comm_size(), mpi_first_line);
        const std::string start = mpi::start_description();
        if (!start.empty()) SCPX_LOG_INF("  MPI start: {}", start);
        SCPX_LOG_INF("  hardware threads on rank 0: {}, usable (--threads 0): {}",
                     std::thread::hardware_concurrency(), ops::available_cpus());
        SCPX_LOG_INF("  GPU: {}", gpu::describe());
        SCPX_LOG_INF("  HDF5 {}.{}.{} (parallel), htslib {}, SQLite {}, Eigen {}.{}.{}", maj, min, rel,
                     hts_version(), sqlite3_libversion(), EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION,
                     EIGEN_MINOR_VERSION);
    });
}

} // namespace scpx::cli
