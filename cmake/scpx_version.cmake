# Version, git hash and feature flags go into a generated header (include/scpx/config.hpp).
# The hash is read at configure time; .git/logs/HEAD is a configure dependency so a new commit re-runs it.
set(SCPX_GIT_HASH "unknown")
find_package(Git QUIET)
if(GIT_FOUND AND EXISTS ${PROJECT_SOURCE_DIR}/.git)
    execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --short=12 HEAD
                    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
                    OUTPUT_VARIABLE _hash OUTPUT_STRIP_TRAILING_WHITESPACE
                    RESULT_VARIABLE _rc ERROR_QUIET)
    if(_rc EQUAL 0 AND _hash)
        set(SCPX_GIT_HASH ${_hash})
        execute_process(COMMAND ${GIT_EXECUTABLE} diff --quiet HEAD
                        WORKING_DIRECTORY ${PROJECT_SOURCE_DIR} RESULT_VARIABLE _dirty ERROR_QUIET)
        if(NOT _dirty EQUAL 0)
            set(SCPX_GIT_HASH "${SCPX_GIT_HASH}-dirty")
        endif()
    endif()
    if(EXISTS ${PROJECT_SOURCE_DIR}/.git/logs/HEAD)
        set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/.git/logs/HEAD)
    endif()
endif()
set(SCPX_WITH_CUDA ${SCPX_ENABLE_CUDA})
configure_file(${PROJECT_SOURCE_DIR}/include/scpx/config.hpp.in
               ${PROJECT_BINARY_DIR}/generated/scpx/config.hpp @ONLY)
