// Open MPI's per-file MPI-IO semaphore left taken by a dead process (ompio_semaphore.hpp).
#include "scpx/dist/ompio_semaphore.hpp"

#include <gtest/gtest.h>
#include <mpi.h>

#include <fcntl.h>
#include <semaphore.h>
#include <string>
#include <unistd.h>

using scpx::mpi::ompio_semaphore_name;
using scpx::mpi::release_stale_ompio_semaphore;

TEST(OmpioSemaphore, NamedAsOpenMpiNamesIt) {
    EXPECT_EQ(ompio_semaphore_name("/out/dir/..scpx-staged.r.h5.scpx-tmp"), "OMPIO_..scpx-staged.r.h5.scpx-tmp");
    EXPECT_EQ(ompio_semaphore_name("rel.h5"), "OMPIO_rel.h5");
    EXPECT_EQ(ompio_semaphore_name("/x/" + std::string(300, 'a')).size(), 251U);
}

#if defined(OPEN_MPI)
TEST(OmpioSemaphore, OnlyAStaleOneIsGivenBack) {
    const std::string path = "/any/folder/scpx_sem_test_" + std::to_string(::getpid()) + ".h5";
    const std::string name = ompio_semaphore_name(path);
    ::sem_unlink(name.c_str());
    using kind = scpx::mpi::ompio_semaphore_check::kind;
    EXPECT_EQ(release_stale_ompio_semaphore(path, 0.05).state, kind::free); // none
    // Left taken (value 0), as by a process that died between Open MPI's sem_wait and sem_post.
    sem_t* sem = ::sem_open(name.c_str(), O_CREAT | O_EXCL, 0600, 0);
    ASSERT_NE(sem, SEM_FAILED);
    EXPECT_EQ(release_stale_ompio_semaphore(path, 0.05).state, kind::released);
    int value = -1;
    ::sem_getvalue(sem, &value);
    EXPECT_EQ(value, 1); // free again: the next MPI_File_open goes on
    // Free (value 1): taken and given back at once, not counted.
    EXPECT_EQ(release_stale_ompio_semaphore(path, 0.05).state, kind::free);
    ::sem_getvalue(sem, &value);
    EXPECT_EQ(value, 1);
    ::sem_close(sem);
    ::sem_unlink(name.c_str());
}
#endif
