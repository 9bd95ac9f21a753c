// GoogleTest entry point for scpx_unit_tests. MPI is not initialised here (MPI_Init costs ~0.3 s
// and ctest runs every test in its own process); code that needs it calls
// scpx::mpi::ensure_initialized(), as the HDF5 layer does.
#include "scpx/core/log.hpp"

#include <gtest/gtest.h>

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    scpx::log::init(0, 1, scpx::log::level::warn);
    return RUN_ALL_TESTS();
}
