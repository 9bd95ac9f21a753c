#pragma once
/// @file singleton.hpp
/// A plain `scpx ...` (no mpirun, no srun) is an MPI *singleton*: one rank that starts MPI by
/// itself. Open MPI 4 spends ~0.45 s of every such start on machinery a lone rank never uses — it
/// forks an `orted` daemon (~0.2 s) and opens the UCX transport, which probes the node's network
/// devices (~0.23 s). Every command, unit-test process and array task that runs without a launcher
/// pays it. prepare_singleton() sets Open MPI's environment for a lone rank before MPI_Init:
///
///  - `pml=ob1`, `btl=self`: the in-process transport only (a singleton has no peer);
///  - `ess_singleton_isolated=1`: no orted (only with that `btl=self`: a transport list of the
///    user's may hold vader, whose /dev/shm segment is named by a job id every isolated singleton
///    shares);
///  - `orte_top_session_dir`: a session folder of this process's own. Isolated singletons all get
///    job family 0, so without it concurrent runs on one node share /tmp/ompi.<host>.<uid>/jf.0/1,
///    and the first to finish deletes it under the others' MPI-IO files (seen in the twentieth
///    session: "unable to open file for mmap"). Open MPI removes the folder at MPI_Finalize; a run
///    that ends without it (one failed rank: main's fail()) removes it with
///    remove_singleton_folder(), and folders of runs that were killed are removed by the next
///    singleton start on the node (sweep_ended_singletons).
///
/// Nothing changes under a launcher (mpirun, srun, hydra), with another MPI library, or for a
/// setting the user gave: each variable is set only when the environment does not have it.
/// docs/PERFORMANCE.md "Start-up" has the timings.

#include <cstddef>
#include <functional>
#include <string>

namespace scpx::mpi {

/// Prepares a singleton's environment (see the file comment); does nothing when a launcher started
/// this process or the MPI library is not Open MPI. Call before MPI_Init; only the first call acts.
void prepare_singleton();

/// How this process started MPI, for `scpx info`: "by a launcher (mpirun, srun)", "a plain run,
/// lone-rank settings NAME=value ..." (those prepare_singleton() set), or "a plain run, MPI
/// settings as given"; empty when prepare_singleton() has not run or the MPI is not Open MPI.
std::string start_description();

/// Removes this process's singleton session folder, for a run that ends without MPI_Finalize.
/// Does nothing when prepare_singleton() set none.
void remove_singleton_folder();

namespace singleton {

/// Reads an environment variable (nullptr when unset); std::getenv in production.
using env_reader = std::function<const char*(const char*)>;

/// True when an MPI launcher started this process: Open MPI's mpirun/orted (OMPI_COMM_WORLD_*),
/// PMIx (srun --mpi=pmix, prterun), PMI-1/2 (srun --mpi=pmi2, MPICH's hydra).
bool started_by_launcher(const env_reader& env);

/// The session folder name of process `pid` of user `uid` on `host`: "scpx-ompi.<uid>.<host>.<pid>".
std::string singleton_folder_name(unsigned uid, const std::string& host, long pid);

/// The pid in a singleton_folder_name of this uid and host, or -1 for any other name.
long singleton_folder_pid(const std::string& name, unsigned uid, const std::string& host);

/// Removes the singleton folders of this uid and host under `parent` whose process has ended
/// (`alive(pid)` false). Returns how many it removed; never throws (a folder it cannot remove is
/// left for the next start).
std::size_t sweep_ended_singletons(const std::string& parent, unsigned uid, const std::string& host,
                                   const std::function<bool(long)>& alive);

} // namespace singleton
} // namespace scpx::mpi
