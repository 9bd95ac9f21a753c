#include "scpx/core/atomic_file.hpp"
#include "scpx/core/error.hpp"
#include "scpx/core/output_claim.hpp"

#include "../test_support.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <memory>
#include <string>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

/// Another run holding the claim on `path`: its lock file opened and locked through a file
/// description of its own, as another process would (flock locks conflict across descriptions).
class foreign_holder {
public:
    foreign_holder(const std::string& path, const std::string& holder_line)
        : lock_(scpx::output_claim::lock_path(path)) {
        fd_ = ::open(lock_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        EXPECT_GE(fd_, 0);
        EXPECT_EQ(::flock(fd_, LOCK_EX | LOCK_NB), 0);
        EXPECT_EQ(::pwrite(fd_, holder_line.data(), holder_line.size(), 0),
                  static_cast<ssize_t>(holder_line.size()));
    }
    ~foreign_holder() {
        ::unlink(lock_.c_str());
        ::close(fd_);
    }

private:
    std::string lock_;
    int fd_ = -1;
};

std::string message_of_claim(const std::string& path) {
    try {
        scpx::output_claim claim(path);
    } catch (const scpx::usage_error& e) {
        return e.what();
    }
    return "";
}

TEST(OutputClaim, AnotherRunWritingTheOutputIsNamed) {
    const auto path = scpx::test::scratch_path("claimed.h5");
    foreign_holder other(path, "pid 4242 on node7 since 2026-11-29 12:00:00 UTC\n");
    const std::string msg = message_of_claim(path);
    EXPECT_NE(msg.find("output " + path + " is being written by another run"), std::string::npos) << msg;
    EXPECT_NE(msg.find("pid 4242 on node7"), std::string::npos) << msg;
    EXPECT_NE(msg.find(scpx::output_claim::lock_path(path)), std::string::npos) << msg;
}

TEST(OutputClaim, AtomicOutputRefusesAClaimedOutputBeforeWritingAnything) {
    const auto path = scpx::test::scratch_path("claimed_atomic.txt");
    scpx::test::write_text(path, "the other run's last result");
    foreign_holder other(path, "");
    try {
        scpx::atomic_output out(path);
        FAIL() << "a claimed output was accepted";
    } catch (const scpx::usage_error& e) {
        EXPECT_NE(std::string(e.what()).find("a process holds the lock"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(scpx::test::exists(scpx::test::scratch_path(".claimed_atomic.txt.scpx-tmp")));
    EXPECT_EQ(scpx::test::read_text(path), "the other run's last result");
}

TEST(OutputClaim, HoldsItsLockFileUntilReleasedThenRemovesIt) {
    const auto path = scpx::test::scratch_path("released.h5");
    const auto lock = scpx::output_claim::lock_path(path);
    {
        scpx::output_claim claim(path);
        EXPECT_TRUE(scpx::test::exists(lock));
        const std::string holder = scpx::test::read_text(lock);
        EXPECT_EQ(holder.rfind("pid " + std::to_string(::getpid()) + " on ", 0), 0u) << holder;
    }
    EXPECT_FALSE(scpx::test::exists(lock));
    scpx::output_claim again(path); // free once released
}

TEST(OutputClaim, ClaimsNestWithinOneProcessAcrossSpellingsOfThePath) {
    const auto path = scpx::test::scratch_path("nested.h5");
    const auto other_spelling = scpx::parent_dir(path) + "/./" + scpx::base_name(path);
    const auto lock = scpx::output_claim::lock_path(path);
    auto outer = std::make_unique<scpx::output_claim>(path);
    {
        scpx::output_claim inner(other_spelling); // the same lock file: this process's own claim
        scpx::atomic_output out(path);            // so is the atomic_output's
    }
    EXPECT_TRUE(scpx::test::exists(lock)) << "released while the outer claim still holds it";
    outer.reset();
    EXPECT_FALSE(scpx::test::exists(lock));
}

TEST(OutputClaim, AStaleLockFileOfAKilledRunDoesNotBlock) {
    const auto path = scpx::test::scratch_path("stale.h5");
    const auto lock = scpx::output_claim::lock_path(path);
    scpx::test::write_text(lock, "pid 1 on gone since 2020-01-01 00:00:00 UTC\n"); // no lock held
    scpx::output_claim claim(path);
    EXPECT_EQ(scpx::test::read_text(lock).rfind("pid " + std::to_string(::getpid()), 0), 0u);
}

TEST(OutputClaim, MovedClaimReleasesOnce) {
    const auto path = scpx::test::scratch_path("moved.h5");
    const auto lock = scpx::output_claim::lock_path(path);
    scpx::output_claim a(path);
    scpx::output_claim b(std::move(a));
    EXPECT_TRUE(scpx::test::exists(lock));
    scpx::output_claim c;
    c = std::move(b);
    EXPECT_TRUE(scpx::test::exists(lock));
    c = scpx::output_claim();
    EXPECT_FALSE(scpx::test::exists(lock));
}

TEST(OutputClaim, NeverWritesThroughALinkInPlaceOfTheLockFile) {
    const auto path = scpx::test::scratch_path("linked.h5");
    const auto victim = scpx::test::scratch_path("victim_of_a_link.txt");
    scpx::test::write_text(victim, "the user's file");
    const auto lock = scpx::output_claim::lock_path(path);
    ::unlink(lock.c_str());
    ASSERT_EQ(::symlink(victim.c_str(), lock.c_str()), 0);
    { scpx::output_claim claim(path); } // no claim (nothing to lock safely), and no error
    EXPECT_EQ(scpx::test::read_text(victim), "the user's file");
    ::unlink(lock.c_str());
}

TEST(OutputClaim, AStandInIsClaimedAsTheOutputItStandsFor) {
    const auto path = scpx::test::scratch_path("final.db");
    const auto staged = scpx::test::scratch_path(".scpx-staged.final.db");
    scpx::output_claim::add_stand_in(staged, path);
    {
        scpx::output_claim claim(path);
        scpx::atomic_output writer(staged); // nested on the claim of final.db: no lock file of its own
        EXPECT_FALSE(scpx::test::exists(scpx::output_claim::lock_path(staged)));
    }
    {
        foreign_holder other(path, "pid 77 on elsewhere since then\n");
        try {
            scpx::output_claim claim(staged);
            FAIL() << "a stand-in of a claimed output was accepted";
        } catch (const scpx::usage_error& e) { // named as the output, not the staged file
            EXPECT_NE(std::string(e.what()).find("output " + path + " is being written"), std::string::npos)
                << e.what();
        }
    }
    scpx::output_claim::remove_stand_in(staged);
    { scpx::output_claim own(staged); } // a file of its own again
}

TEST(OutputClaim, AFolderInPlaceOfTheLockFileOnlyLosesTheCheck) {
    const auto path = scpx::test::scratch_path("folder_locked.h5");
    const auto lock = scpx::output_claim::lock_path(path);
    ::rmdir(lock.c_str());
    ASSERT_EQ(::mkdir(lock.c_str(), 0755), 0);
    EXPECT_NO_THROW(scpx::output_claim claim(path)); // warned about, the run goes on
    ::rmdir(lock.c_str());
}

TEST(OutputClaim, NeverWritesThroughAHardLink) {
    const auto path = scpx::test::scratch_path("hard_linked.h5");
    const auto victim = scpx::test::scratch_path("victim_of_a_hard_link.txt");
    scpx::test::write_text(victim, "the user's file");
    const auto lock = scpx::output_claim::lock_path(path);
    ::unlink(lock.c_str());
    ASSERT_EQ(::link(victim.c_str(), lock.c_str()), 0);
    { scpx::output_claim claim(path); } // warned about, no claim
    EXPECT_EQ(scpx::test::read_text(victim), "the user's file");
    ::unlink(lock.c_str());
}

TEST(OutputClaim, AHolderLineOfAnEndedProcessIsNamedAsAnEarlierHolders) {
    const auto path = scpx::test::scratch_path("stale_line.h5");
    char host[256] = {0};
    ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
    // Held by a process that could not rewrite the line an ended process left (a sticky folder).
    foreign_holder other(path, std::string("pid 99999999 on ") + host + " since 2020-01-01 00:00:00 UTC\n");
    const std::string msg = message_of_claim(path);
    EXPECT_NE(msg.find("a process holds the lock; its file still names an earlier holder, pid 99999999"),
              std::string::npos)
        << msg;
}

TEST(OutputClaim, TheLockFileIsReadableByAllWhateverTheUmask) {
    const auto path = scpx::test::scratch_path("private.h5");
    const mode_t old = ::umask(077);
    {
        scpx::output_claim claim(path);
        struct stat st {};
        ASSERT_EQ(::stat(scpx::output_claim::lock_path(path).c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 0444, 0444u) << std::oct << st.st_mode; // another user can test the lock
        EXPECT_EQ(st.st_mode & 0022, 0u) << std::oct << st.st_mode;    // but not write it
    }
    ::umask(old);
}

} // namespace
