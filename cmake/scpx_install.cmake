# `cmake --install build --prefix DIR` installs scpx for users and for programs built on it:
#   bin/scpx                           the program (RUNPATH keeps libcudart etc. found)
#   lib/libscpx.a                      the library (+ libscpx_base.a; libscpx_kernels.a with CUDA)
#   include/scpx/                      its headers and the generated config.hpp (not cli/: the
#                                      command-line layer is the program's, not the library's)
#   lib/cmake/scpx/                    find_package(scpx) → target scpx::scpx
#   share/scpx/scripts/                weight converters and the ctPred plot (Python)
#   share/scpx/slurm/                  the SLURM templates (SCPX=DIR/bin/scpx selects this binary)
#   share/doc/scpx/                    README.md and docs/
# tests/e2e/install_e2e.sh installs into a scratch prefix and builds examples/library against it.
# Components for packagers: Runtime (program, scripts, SLURM templates, docs) and Development
# (library, headers, CMake package): `cmake --install build --component Runtime`.
include(CMakePackageConfigHelpers)
set(SCPX_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/scpx)
set(_scpx_library_targets scpx_lib scpx_base)
if(SCPX_ENABLE_CUDA)
    list(APPEND _scpx_library_targets scpx_kernels)
endif()
install(TARGETS scpx RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT Runtime)
install(TARGETS ${_scpx_library_targets} EXPORT scpxTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT Development)
install(DIRECTORY include/scpx DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT Development
        FILES_MATCHING PATTERN "*.hpp"
        PATTERN "cli" EXCLUDE)
install(FILES ${PROJECT_BINARY_DIR}/generated/scpx/config.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/scpx COMPONENT Development)

install(EXPORT scpxTargets NAMESPACE scpx:: DESTINATION ${SCPX_INSTALL_CMAKEDIR} COMPONENT Development)
configure_package_config_file(cmake/scpxConfig.cmake.in ${PROJECT_BINARY_DIR}/scpxConfig.cmake
                              INSTALL_DESTINATION ${SCPX_INSTALL_CMAKEDIR})
# 0.y releases may change the library's interface between minor versions.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/scpxConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/scpxConfig.cmake ${PROJECT_BINARY_DIR}/scpxConfigVersion.cmake
        DESTINATION ${SCPX_INSTALL_CMAKEDIR} COMPONENT Development)

set(_scpx_share ${CMAKE_INSTALL_DATADIR}/scpx)
install(PROGRAMS scripts/convert_enformer_weights.py scripts/convert_ctpred_pt.py
                 scripts/plot_ctpred.py
        DESTINATION ${_scpx_share}/scripts COMPONENT Runtime)
install(FILES scripts/ctpred_names.py DESTINATION ${_scpx_share}/scripts COMPONENT Runtime)
install(PROGRAMS slurm/scpx_stage.sbatch slurm/array_driver.sh DESTINATION ${_scpx_share}/slurm
        COMPONENT Runtime)
install(FILES slurm/README.md DESTINATION ${_scpx_share}/slurm COMPONENT Runtime)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT Runtime)
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs COMPONENT Runtime)
