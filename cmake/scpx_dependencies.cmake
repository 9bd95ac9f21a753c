# Every dependency comes from Debian packages (see scripts/install_deps.sh) or the CUDA toolkit.
find_package(MPI REQUIRED COMPONENTS C CXX)
# Open MPI's folder of its system-wide parameter file: a plain (singleton) run honours the session
# folder settings there (src/dist/singleton.cpp). Debian's is /etc/openmpi.
set(SCPX_OMPI_SYSCONFDIR /etc/openmpi)
get_filename_component(_scpx_mpi_bin "${MPIEXEC_EXECUTABLE}" DIRECTORY)
find_program(SCPX_OMPI_INFO ompi_info HINTS "${_scpx_mpi_bin}")
if(SCPX_OMPI_INFO)
    execute_process(COMMAND "${SCPX_OMPI_INFO}" --path sysconfdir OUTPUT_VARIABLE _scpx_sysconf
                    ERROR_QUIET RESULT_VARIABLE _scpx_rc)
    if(_scpx_rc EQUAL 0 AND _scpx_sysconf MATCHES "Sysconfdir: *([^\n]+)")
        string(STRIP "${CMAKE_MATCH_1}" SCPX_OMPI_SYSCONFDIR)
    endif()
endif()

# Parallel HDF5 only: the serial build would silently turn collective writes into per-rank files.
set(HDF5_PREFER_PARALLEL ON)
find_package(HDF5 REQUIRED COMPONENTS C)
if(NOT HDF5_IS_PARALLEL)
    message(FATAL_ERROR
        "scpx needs parallel HDF5 but found a serial build (${HDF5_INCLUDE_DIRS}). "
        "Install libhdf5-openmpi-dev (and not libhdf5-dev), or pass "
        "-DHDF5_C_COMPILER_EXECUTABLE=/usr/bin/h5pcc.")
endif()

find_package(PkgConfig REQUIRED)
pkg_check_modules(HTSLIB REQUIRED IMPORTED_TARGET htslib)
pkg_check_modules(ZLIB_PC REQUIRED IMPORTED_TARGET zlib)
find_package(Eigen3 3.4 REQUIRED CONFIG)
find_package(SQLite3 REQUIRED)
find_package(fmt CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(nlohmann_json 3 CONFIG REQUIRED)
find_package(tomlplusplus CONFIG REQUIRED)
find_package(Threads REQUIRED)

if(SCPX_ENABLE_CUDA)
    if(NOT DEFINED CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
        set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
    endif()
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
        # 80 = A100, 90 = H100/H200. CUDA 13 builds sm_75 and newer only.
        set(CMAKE_CUDA_ARCHITECTURES 80 90)
    endif()
    set(CMAKE_CUDA_STANDARD 17)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    find_path(CUDNN_INCLUDE_DIR cudnn.h HINTS ${CUDAToolkit_INCLUDE_DIRS} /usr/include)
    find_library(CUDNN_LIBRARY cudnn HINTS ${CUDAToolkit_LIBRARY_DIR} /usr/lib/x86_64-linux-gnu)
    if(CUDNN_INCLUDE_DIR AND CUDNN_LIBRARY)
        add_library(CUDNN::cudnn UNKNOWN IMPORTED)
        set_target_properties(CUDNN::cudnn PROPERTIES IMPORTED_LOCATION ${CUDNN_LIBRARY}
                              INTERFACE_INCLUDE_DIRECTORIES ${CUDNN_INCLUDE_DIR})
        set(SCPX_HAVE_CUDNN ON)
    else()
        message(STATUS "cuDNN not found: the cuDNN yardstick benchmarks are disabled")
        set(SCPX_HAVE_CUDNN OFF)
    endif()
endif()
