#pragma once
/// @file singleton.hpp
/// A plain `scpx ...` (no mpirun, no srun) is an MPI *singleton*: one rank that starts MPI by
/// itself. Open MPI 4 spends ~0.45 s of every such start on machinery a lone rank never uses — it
/// forks an `orted` daemon (~0.2 s) and opens the UCX transport, which probes the node's network
/// devices (~0.23 s). Every command, unit-test process and array task that runs without a launcher
/// pays it. prepare_singleton() sets Open MPI's environment for a lone rank before MPI_Init:
///
///  - `pml=ob1`: the in-process transport (a singleton has no peer);
///  - `ess_singleton_isolated=1`, `btl=self`: no orted;
///  - `orte_top_session_dir`: a session folder of this process's own,
///    `<tmp>/scpx-ompi.<uid>.<host>.<pid namespace>.<pid>`. Isolated singletons all get job family
///    0, so without it concurrent runs on one node share /tmp/ompi.<host>.<uid>/jf.0/1, and the
///    first to finish deletes it under the others' MPI-IO files (seen in the twentieth session:
///    "unable to open file for mmap"). Open MPI removes the folder at MPI_Finalize; a run that
///    ends without it (one failed rank: main's fail()) removes it with remove_singleton_folder(),
///    and the folders of killed runs are removed by the next singleton start on the node
///    (sweep_ended_singletons). The folder is made before MPI_Init (create_session_folder), so
///    that an unusable or full temporary folder is reported in one line.
///
/// Nothing changes under a launcher (mpirun, srun, hydra) or with another MPI library. A user's
/// OMPI_MCA_pml wins. Isolation is left out when the user chose a session folder
/// (`orte_top_session_dir`), a btl list (one may hold vader, whose /dev/shm segment is named by the
/// job id all isolated singletons share) or the isolation itself, in the environment or for the
/// session folder and its base (`orte_tmpdir_base`) also in Open MPI's parameter files. Once MPI
/// is up, singleton_started() takes the variables out of the environment again, so that a program
/// this one starts does not take them for the user's. docs/PERFORMANCE.md "Start-up" has the
/// timings.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace scpx::mpi {

/// Prepares a singleton's environment (see the file comment); does nothing when a launcher started
/// this process or the MPI library is not Open MPI. Call before MPI_Init; only the first call acts.
/// Creates the session folder itself and throws mpi_error naming the temporary folder (and the
/// variable that chose it) when that fails, before setting anything.
void prepare_singleton();

/// Call after MPI_Init: removes the variables prepare_singleton() set from the environment.
void singleton_started();

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

/// The value of parameter `name` ("name = value" lines, '#' comments) in the first of `files`
/// that sets it, as Open MPI reads its parameter files; empty when none does.
std::string mca_file_value(const std::vector<std::string>& files, const std::string& name);

/// Whose singleton session folders a sweep may judge: pids mean something only within one pid
/// namespace of one host, and only the user's own folders are removed.
struct folder_owner {
    unsigned uid = 0;
    std::string host;
    std::uint64_t pid_namespace = 0; ///< inode of /proc/self/ns/pid, 0 when unknown
};

/// The session folder name of process `pid` of `owner`:
/// "scpx-ompi.<uid>.<host>.<pid namespace>.<pid>".
std::string singleton_folder_name(const folder_owner& owner, long pid);

/// The pid in a singleton_folder_name of this owner, or -1 for any other name.
long singleton_folder_pid(const std::string& name, const folder_owner& owner);

/// Creates session folder `folder` for user `uid`: missing folders owner-only (0700, whatever the
/// umask); an existing `folder` of uid's (left by a killed process with this pid) made anew;
/// then a 64 KiB file written, synced and removed, so that a full file system is found here and
/// not by Open MPI's MPI-IO mapping a file there (SIGBUS). Folders it made are removed again on
/// failure.
/// @throws mpi_error "PATH: reason" — also when `folder` exists and is not a folder of uid's (a
/// link, a file, another user's).
void create_session_folder(const std::string& folder, unsigned uid);

/// Removes the singleton folders of `owner` under `parent` whose process has ended (`alive(pid)`
/// false) and that are folders (not links) owned by owner.uid. Returns how many it removed; never
/// throws (a folder it cannot remove is left for the next start).
std::size_t sweep_ended_singletons(const std::string& parent, const folder_owner& owner,
                                   const std::function<bool(long)>& alive);

} // namespace singleton
} // namespace scpx::mpi
