# Warning flags used by every scpx target.
function(scpx_target_warnings target)
    target_compile_options(${target} PRIVATE
        $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow=local -Wno-unused-parameter>
        $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<BOOL:${SCPX_WERROR}>>:-Werror>)
endfunction()

# scpx_add_mpi_test(NAME name RANKS 1 2 4 COMMAND exe args... OUTPUT file)
# Registers NAME_npN for each rank count. Each test runs the command at 1 rank and at N ranks
# (OUTPUT may contain @RANKS@ and must be the file the command writes) and fails unless the two
# outputs are byte-identical: the distributed layer's promise that results don't depend on rank count.
function(scpx_add_mpi_test)
    cmake_parse_arguments(T "" "NAME;OUTPUT;LABEL;TIMEOUT" "RANKS;COMMAND" ${ARGN})
    if(NOT T_LABEL)
        set(T_LABEL mpi)
    endif()
    if(NOT T_TIMEOUT)
        set(T_TIMEOUT 300)
    endif()
    foreach(np IN LISTS T_RANKS)
        add_test(NAME ${T_NAME}_np${np}
                 COMMAND ${CMAKE_COMMAND}
                     -DMPIEXEC=${MPIEXEC_EXECUTABLE} -DNP_FLAG=${MPIEXEC_NUMPROC_FLAG} -DNP=${np}
                     "-DCMD=${T_COMMAND}" "-DOUTPUT=${T_OUTPUT}"
                     -P ${PROJECT_SOURCE_DIR}/cmake/run_mpi_compare.cmake)
        set_tests_properties(${T_NAME}_np${np} PROPERTIES LABELS ${T_LABEL} PROCESSORS ${np}
                             TIMEOUT ${T_TIMEOUT})
    endforeach()
endfunction()
