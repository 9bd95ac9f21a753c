// Entry point of scpx_gpu_tests: single process, no MPI (the GPU machine runs it without mpirun).
#include <gtest/gtest.h>

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
