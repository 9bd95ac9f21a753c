// Outputs of one l-ctPred run, staged next to their final names and committed together.
#include "scpx/enet/output_set.hpp"

#include "scpx/core/atomic_file.hpp"
#include "scpx/core/error.hpp"
#include "scpx/dist/mpi.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace scpx::enet {

output_set::~output_set() {
    for (const file& f : files_) {
        if (!committed_ && owned_) std::remove(f.staged.c_str());
        detail::untrack_temporary(f.staged);
        output_claim::remove_stand_in(f.staged);
    }
}

void output_set::add_on_every_rank(const std::vector<std::string>& paths, const std::string& who) {
    mpi::on_every_rank_agreed(
        [&] {
            for (const std::string& p : paths)
                add(p);
        },
        who + ": another rank cannot write the outputs (see its message)");
    if (!mpi::is_root()) release(); // rank 0 owns the staged files
}

void output_set::release() noexcept {
    owned_ = false;
    for (const file& f : files_) detail::untrack_temporary(f.staged); // another rank's to remove
}

std::size_t output_set::add(const std::string& path) {
    // Every rank checks the location, so every rank creates a missing folder first (mkdir
    // tolerates the race); otherwise ranks other than 0, which does not create it before them,
    // would report an unwritable output.
    make_parent_dirs(path);
    check_output_path(path, overwrite_);
    claims_.emplace_back(path); // rank 0 claims the output for this run (output_claim)
    file f;
    f.path = path;
    f.staged = sibling_name(path, ".scpx-staged.", "");
    f.backup = parent_dir(path) + "/.scpx-replaced." + base_name(path);
    // The staged file's writer claims the output itself, not a second lock file of its own.
    output_claim::add_stand_in(f.staged, path);
    // main() removes it before MPI_Abort, which runs no destructor.
    if (owned_) detail::track_temporary(f.staged);
    files_.push_back(std::move(f));
    return files_.size() - 1;
}

void output_set::commit() {
    if (committed_) return;
    // Once more, now that everything is written: the first rename must not happen unless all
    // of them can.
    for (const file& f : files_) {
        check_output_path(f.path, overwrite_);
        if (!path_exists(f.staged))
            throw internal_error("output_set::commit: " + f.staged + " was not written");
    }
    struct step {
        std::size_t i;
        bool moved_old;
    };
    std::vector<step> done;
    std::string failure;
    for (std::size_t i = 0; i < files_.size() && failure.empty(); ++i) {
        const file& f = files_[i];
        bool moved_old = false;
        if (path_exists(f.path)) {
            if (std::rename(f.path.c_str(), f.backup.c_str()) != 0) {
                failure = fmt::format("cannot move the existing {} aside: {}", f.path, std::strerror(errno));
                break;
            }
            moved_old = true;
        }
        if (std::rename(f.staged.c_str(), f.path.c_str()) != 0) {
            failure = fmt::format("cannot rename {} to {}: {}", f.staged, f.path, std::strerror(errno));
            if (moved_old) std::rename(f.backup.c_str(), f.path.c_str());
            break;
        }
        done.push_back({i, moved_old});
    }
    if (failure.empty()) {
        for (const step& s : done)
            if (s.moved_old) std::remove(files_[s.i].backup.c_str());
        committed_ = true;
        for (const file& f : files_) detail::untrack_temporary(f.staged);
        return;
    }
    // Undo this run's renames, newest first, so the outputs are as before the run.
    std::vector<std::string> left_new;
    for (auto it = done.rbegin(); it != done.rend(); ++it) {
        const file& f = files_[it->i];
        const bool undone = it->moved_old ? std::rename(f.backup.c_str(), f.path.c_str()) == 0
                                          : std::rename(f.path.c_str(), f.staged.c_str()) == 0;
        if (!undone) left_new.push_back(f.path);
    }
    if (left_new.empty())
        throw io_error(failure + "; no output of this run was kept (the earlier ones were taken back)");
    std::string list;
    for (const std::string& p : left_new) list += (list.empty() ? "" : ", ") + p;
    throw io_error(failure + "; could not take back the outputs of this run already in place, which are new: " +
                   list + " (the rest of the set is missing; remove them or rerun)");
}

} // namespace scpx::enet
