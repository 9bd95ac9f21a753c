#pragma once
/// @file output_claim.hpp
/// One run writes an output at a time. Outputs are staged under fixed temporary names (so every
/// MPI rank agrees on them and `--resume` finds a killed run's file), which means two runs given
/// the same output — a SLURM job resubmitted while the first still runs, two array tasks with
/// one `--out` — would write the same temporary file and could rename a mix of both into place.
/// An output_claim prevents that: while it is held, another scpx process that asks for the same
/// output is refused at once, with a message naming the holder.
///
/// The claim is an advisory lock (flock) on `<dir>/.<name>.scpx-lock`, holding the holder's pid,
/// host and start time. The kernel releases it when the holder ends, however it ends, so a
/// killed run never blocks the next one; the lock file is removed when the claim is released.
/// On a file system without locks (Lustre mounted without `flock`) the claim is skipped (said once
/// in the log); a lock file that cannot serve (a folder or a link in its place) is warned about. Within one
/// process claims nest (counted per lock file). With MPI, only rank 0 claims: the ranks of one run write one
/// output together.

#include <string>

namespace scpx {

class output_claim {
public:
    /// Claims the output `path` for this run. @throws usage_error naming the holder when another
    /// process holds it.
    explicit output_claim(const std::string& path);
    /// An empty claim (holds nothing).
    output_claim() = default;
    ~output_claim();
    output_claim(output_claim&& other) noexcept;
    output_claim& operator=(output_claim&& other) noexcept;
    output_claim(const output_claim&) = delete;
    output_claim& operator=(const output_claim&) = delete;

    /// The lock file of `path`: `<dir>/.<name>.scpx-lock`.
    static std::string lock_path(const std::string& path);

    /// From now on a claim on `stand_in` — a file written in place of the output `path`, such as
    /// output_set's staged files — is a claim on `path`: nested on this process's claim of it,
    /// and named as `path` in messages (one lock file per output, not one per staged file).
    static void add_stand_in(const std::string& stand_in, const std::string& path);
    static void remove_stand_in(const std::string& stand_in) noexcept;

private:
    std::string key_; ///< the lock file's identity ("dev:inode") in the process-wide table; empty: none
};

} // namespace scpx
