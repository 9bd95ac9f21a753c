// The fast singleton start (scpx/dist/singleton.hpp): launcher detection, the session folder's name,
// the sweep of folders left by killed runs, and — in child processes — that two singletons on one
// node keep their MPI-IO working when one of them ends first (what a shared session folder broke).
#include "scpx/dist/mpi.hpp"
#include "scpx/dist/singleton.hpp"

#include <gtest/gtest.h>
#include <mpi.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
using scpx::mpi::singleton::create_session_folder;
using scpx::mpi::singleton::singleton_folder_name;
using scpx::mpi::singleton::singleton_folder_pid;
using scpx::mpi::singleton::started_by_launcher;
using scpx::mpi::singleton::sweep_ended_singletons;

namespace {

scpx::mpi::singleton::env_reader env_of(const std::map<std::string, std::string>& vars) {
    return [vars](const char* name) -> const char* {
        const auto it = vars.find(name);
        return it == vars.end() ? nullptr : it->second.c_str();
    };
}

fs::path scratch(const std::string& name) {
    const fs::path dir =
        fs::temp_directory_path() / ("scpx_singleton_test_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

} // namespace

TEST(Singleton, LaunchersAreRecognisedByTheirVariables) {
    EXPECT_FALSE(started_by_launcher(env_of({})));
    EXPECT_FALSE(
        started_by_launcher(env_of({{"SLURM_PROCID", "0"}, {"SLURM_JOB_ID", "7"}}))); // sbatch, no srun
    for (const char* var : {"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMIX_NAMESPACE",
                            "PMI_RANK", "PMI_SIZE", "PMI_FD", "PMI_PORT"})
        EXPECT_TRUE(started_by_launcher(env_of({{var, "1"}}))) << var;
}

TEST(Singleton, FolderNameCarriesUserHostPidNamespaceAndPid) {
    const scpx::mpi::singleton::folder_owner me{1000, "node-7.cluster", 4026531836ULL};
    const std::string name = singleton_folder_name(me, 4242);
    EXPECT_EQ(name, "scpx-ompi.1000.node-7.cluster.4026531836.4242");
    EXPECT_EQ(singleton_folder_pid(name, me), 4242);
    EXPECT_EQ(singleton_folder_pid(name, {1001, "node-7.cluster", 4026531836ULL}), -1); // another user's
    EXPECT_EQ(singleton_folder_pid(name, {1000, "node-7", 4026531836ULL}), -1);         // another host's
    EXPECT_EQ(singleton_folder_pid(name, {1000, "node-8.cluster", 4026531836ULL}), -1);
    EXPECT_EQ(singleton_folder_pid(name, {1000, "node-7.cluster", 4026532000ULL}), -1); // a container's
    EXPECT_EQ(singleton_folder_pid(name + "x", me), -1);
    EXPECT_EQ(singleton_folder_pid("scpx-ompi.1000.node-7.cluster.4026531836.", me), -1);
    EXPECT_EQ(singleton_folder_pid("scpx-ompi.1000.node-7.cluster.4026531836.0", me), -1);
    EXPECT_EQ(singleton_folder_pid("scpx-ompi.1000.node-7.cluster.4026531836.12345678901", me), -1);
    EXPECT_EQ(singleton_folder_pid("ompi.node-7.cluster.1000", me), -1);
}

TEST(Singleton, SweepRemovesOnlyEndedRunsFoldersOfThisOwner) {
    const fs::path dir = scratch("sweep");
    const auto make = [&](const std::string& name) {
        fs::create_directories(dir / name / "jf.0" / "1");
        std::ofstream(dir / name / "jf.0" / "1" / "out_cid-0-1.sm") << "x";
    };
    const auto uid = static_cast<unsigned>(::getuid());
    const scpx::mpi::singleton::folder_owner me{uid, "n1", 7};
    make(singleton_folder_name(me, 111));                            // ended: removed
    make(singleton_folder_name(me, 222));                            // alive: kept
    make(singleton_folder_name({uid + 1, "n1", 7}, 111));            // another user's name: kept
    make(singleton_folder_name({uid, "n2", 7}, 111));                // another host: kept
    make(singleton_folder_name({uid, "n1", 8}, 111));                // another pid namespace: kept
    make("ompi.n1.1000");                                            // Open MPI's own: kept
    std::ofstream(dir / singleton_folder_name(me, 333)) << "a file"; // not a folder: kept
    const fs::path target = dir / "elsewhere";
    fs::create_directories(target);
    std::ofstream(target / "keep.txt") << "x";
    fs::create_directory_symlink(target, dir / singleton_folder_name(me, 444)); // a link: not followed

    const std::size_t removed = sweep_ended_singletons(dir.string(), me, [](long pid) { return pid == 222; });
    EXPECT_EQ(removed, 1U);
    EXPECT_FALSE(fs::exists(dir / singleton_folder_name(me, 111)));
    EXPECT_TRUE(fs::exists(dir / singleton_folder_name(me, 222)));
    EXPECT_TRUE(fs::exists(dir / singleton_folder_name({uid + 1, "n1", 7}, 111)));
    EXPECT_TRUE(fs::exists(dir / singleton_folder_name({uid, "n2", 7}, 111)));
    EXPECT_TRUE(fs::exists(dir / singleton_folder_name({uid, "n1", 8}, 111)));
    EXPECT_TRUE(fs::exists(dir / "ompi.n1.1000"));
    EXPECT_TRUE(fs::exists(dir / singleton_folder_name(me, 333)));
    EXPECT_TRUE(fs::exists(target / "keep.txt"));
    // A folder of our name that another user owns (made in a shared /tmp) is not ours to remove.
    EXPECT_EQ(sweep_ended_singletons(dir.string(), {uid + 1, "n1", 7}, [](long) { return false; }), 0U);
    EXPECT_TRUE(fs::exists(dir / singleton_folder_name({uid + 1, "n1", 7}, 111)));
    EXPECT_EQ(sweep_ended_singletons((dir / "absent").string(), me, [](long) { return false; }), 0U);
    fs::remove_all(dir);
}

TEST(Singleton, SessionFolderIsMadeOwnerOnlyOrRefusedWithItsPath) {
    const fs::path dir = scratch("create");
    const auto uid = static_cast<unsigned>(::getuid());
    const auto mode_of = [](const fs::path& p) {
        struct stat st {};
        ::stat(p.c_str(), &st);
        return st.st_mode & 0777;
    };
    // Missing parents are made 0700 even under a umask that would leave them unusable.
    const mode_t old_mask = ::umask(0277);
    const fs::path deep = dir / "a" / "b" / "scpx-ompi.run";
    EXPECT_NO_THROW(create_session_folder(deep.string(), uid));
    ::umask(old_mask);
    EXPECT_EQ(mode_of(dir / "a"), 0700U);
    EXPECT_EQ(mode_of(deep), 0700U);
    EXPECT_TRUE(fs::is_empty(deep)); // the space check's file is gone
    // A folder of this name left by a killed run of this user's is made anew.
    std::ofstream(deep / "stale") << "x";
    EXPECT_NO_THROW(create_session_folder(deep.string(), uid));
    EXPECT_TRUE(fs::is_empty(deep));
    // Another user's folder of this name, a link to a folder, a file: refused, nothing removed.
    const auto refused = [&](const fs::path& p, unsigned as_uid, const std::string& says) {
        try {
            create_session_folder(p.string(), as_uid);
            ADD_FAILURE() << p << " accepted";
        } catch (const scpx::mpi_error& e) {
            EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
        }
    };
    std::ofstream(deep / "theirs") << "x";
    refused(deep, uid + 1, deep.string() + " exists and is not a folder of this user's");
    EXPECT_TRUE(fs::exists(deep / "theirs"));
    fs::create_directory_symlink(deep, dir / "link");
    refused(dir / "link", uid, "exists and is not a folder of this user's");
    std::ofstream(dir / "file") << "x";
    refused(dir / "file", uid, "exists and is not a folder of this user's");
    // A path through a file, a name too long: the reason, with the path; folders made on the way
    // are removed again.
    refused(dir / "file" / "x", uid, (dir / "file" / "x").string() + ": Not a directory");
    refused(dir / "new" / "deeper" / std::string(300, 'x'), uid, "File name too long");
    EXPECT_FALSE(fs::exists(dir / "new"));
    fs::remove_all(dir);
}

TEST(Singleton, SessionFolderWithoutRoomIsRefused) {
    // A file system with no room: simulated by a file-size limit of 4 KiB in a child (the 64 KiB
    // space check then fails with EFBIG), which must report it, not crash later in MPI_File_open.
    const fs::path dir = scratch("full");
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        std::signal(SIGXFSZ, SIG_IGN);
        const rlimit small{4096, 4096};
        ::setrlimit(RLIMIT_FSIZE, &small);
        try {
            create_session_folder((dir / "run").string(), static_cast<unsigned>(::getuid()));
        } catch (const scpx::mpi_error& e) {
            const std::string what = e.what();
            std::_Exit(what.find("space-check: File too large") != std::string::npos &&
                               !fs::exists(dir / "run")
                           ? 0
                           : 2);
        }
        std::_Exit(3);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    fs::remove_all(dir);
}

TEST(Singleton, ParameterFilesAreReadAsOpenMpiReadsThem) {
    const fs::path dir = scratch("params");
    std::ofstream(dir / "user.conf") << "# mine\n  orte_tmpdir_base = /old\norte_tmpdir_base = /scratch/me\n"
                                        "orte_top_session_dir = /x # a value keeps it\n";
    std::ofstream(dir / "site.conf") << "btl = ^uct,openib\norte_tmpdir_base=/site/tmp\npml=^ucx\n";
    const std::vector<std::string> files = {(dir / "user.conf").string(), (dir / "absent.conf").string(),
                                            (dir / "site.conf").string()};
    // The first file that sets a name wins; within a file, its last line.
    EXPECT_EQ(scpx::mpi::singleton::mca_file_value(files, "orte_tmpdir_base"), "/scratch/me");
    EXPECT_EQ(scpx::mpi::singleton::mca_file_value(files, "pml"), "^ucx");
    EXPECT_EQ(scpx::mpi::singleton::mca_file_value(files, "btl"), "^uct,openib");
    EXPECT_EQ(scpx::mpi::singleton::mca_file_value(files, "orte_top_session_dir"), "/x # a value keeps it");
    EXPECT_EQ(scpx::mpi::singleton::mca_file_value(files, "orte_local_tmpdir_base"), "");
    EXPECT_EQ(scpx::mpi::singleton::mca_file_value(files, "mine"), ""); // a comment is not a setting
    fs::remove_all(dir);
}

namespace {

// One singleton in a child process: MPI up, one MPI-IO file open, then (after the parent's go)
// a second file opened and both written and closed. Exit status 0 when every MPI call worked.
[[noreturn]] void run_child(const fs::path& dir, const std::string& tag, int ready_fd, int go_fd) {
    int status = 0;
    // Open MPI reports a lost session folder on stderr and may carry on: the parent reads it.
    const int err = ::open((dir / (tag + ".stderr")).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (err < 0 || ::dup2(err, 2) < 0) ::_exit(5);
    scpx::mpi::ensure_initialized();
    // Read by Open MPI and taken out again: a program this one starts must not inherit the folder.
    if (std::getenv("OMPI_MCA_orte_top_session_dir")) ::_exit(6);
    const auto write_file = [&](const std::string& name, bool wait_first) {
        MPI_File f;
        const std::string path = (dir / name).string();
        if (MPI_File_open(MPI_COMM_WORLD, path.c_str(), MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL,
                          &f) != MPI_SUCCESS)
            return 1;
        if (wait_first) {
            char c = 'r';
            if (::write(ready_fd, &c, 1) != 1 || ::read(go_fd, &c, 1) != 1) return 2;
        }
        const char text[] = "scpx";
        if (MPI_File_write(f, text, 4, MPI_CHAR, MPI_STATUS_IGNORE) != MPI_SUCCESS) return 3;
        return MPI_File_close(&f) == MPI_SUCCESS ? 0 : 4;
    };
    status = write_file(tag + "_first.bin", ready_fd >= 0);
    if (status == 0) status = write_file(tag + "_second.bin", false);
    MPI_Finalize();  // removes this singleton's session folder
    ::_exit(status); // not exit(): the parent's atexit handlers and static objects are the parent's
}

int wait_status(pid_t pid) {
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

} // namespace

TEST(Singleton, ConcurrentSingletonsKeepTheirSessionFolders) {
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (initialised || std::getenv("OMPI_MCA_orte_top_session_dir") ||
        started_by_launcher([](const char* n) { return static_cast<const char*>(std::getenv(n)); }))
        GTEST_SKIP() << "needs a process that has not started MPI, outside a launcher";
    const fs::path dir = scratch("concurrent");
    int ready[2], go[2];
    ASSERT_EQ(::pipe(ready), 0);
    ASSERT_EQ(::pipe(go), 0);
    const pid_t long_run = ::fork();
    ASSERT_GE(long_run, 0);
    if (long_run == 0) run_child(dir, "long", ready[1], go[0]);
    // The child's ends only: a child that fails early closes the pipe and the read below sees it.
    ::close(ready[1]);
    ::close(go[0]);
    char c = 0;
    ASSERT_EQ(::read(ready[0], &c, 1), 1) // the long run has MPI up and a file open
        << "the long run ended early, status " << wait_status(long_run);
    const pid_t short_run = ::fork();
    ASSERT_GE(short_run, 0);
    if (short_run == 0) run_child(dir, "short", -1, -1);
    EXPECT_EQ(wait_status(short_run), 0); // started, wrote and finalised while the long run waits
    ASSERT_EQ(::write(go[1], "g", 1), 1);
    EXPECT_EQ(wait_status(long_run), 0) << "the long run's MPI-IO failed after the short run ended";
    for (const char* f : {"long_first.bin", "long_second.bin", "short_first.bin", "short_second.bin"})
        EXPECT_EQ(fs::file_size(dir / f), 4U) << f;
    for (const char* f : {"long.stderr", "short.stderr"}) {
        std::ifstream in(dir / f);
        const std::string said((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        EXPECT_EQ(said, "") << f; // e.g. "unable to open file for mmap: /tmp/ompi.<host>.0/jf.0/1/..."
    }
    // Both session folders are gone with their runs (at once when isolated; with a btl list of the
    // user's, the orted removes them soon after).
    const std::string host = scpx::mpi::host_name();
    const auto uid = static_cast<unsigned>(::getuid());
    const std::string ns = fs::read_symlink("/proc/self/ns/pid").string(); // "pid:[4026531836]"
    const scpx::mpi::singleton::folder_owner me{uid, host, std::stoull(ns.substr(ns.find('[') + 1))};
    for (const pid_t pid : {long_run, short_run}) {
        const fs::path folder = fs::temp_directory_path() / singleton_folder_name(me, pid);
        for (int i = 0; i < 50 && fs::exists(folder); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        EXPECT_FALSE(fs::exists(folder)) << folder;
    }
    for (int fd : {ready[0], go[1]})
        ::close(fd);
    fs::remove_all(dir);
}
