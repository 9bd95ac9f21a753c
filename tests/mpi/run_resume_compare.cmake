cmake_minimum_required(VERSION 3.21)
# Resume test for the collective HDF5 writer:
#   1. an uninterrupted run at 1 rank gives the reference;
#   2. a run at CRASH_NP ranks is killed after CRASH_AFTER rounds (--crash-after; every rank
#      _Exit()s without closing the file): no final output, the temporary output stays;
#   3. a --resume run at RESUME_NP ranks finishes it;
#   4. the result must be byte-identical to the reference.
# -DMPIEXEC -DNP_FLAG -DEXE -DDIR -DNAME -DCRASH_NP -DRESUME_NP -DCRASH_AFTER
set(_flags --oversubscribe)
execute_process(COMMAND id -u OUTPUT_VARIABLE _uid OUTPUT_STRIP_TRAILING_WHITESPACE)
if(_uid STREQUAL "0")
    list(APPEND _flags --allow-run-as-root)
endif()

set(_ref ${DIR}/${NAME}_ref.h5)
set(_out ${DIR}/${NAME}.h5)
set(_tmp ${DIR}/.${NAME}.h5.scpx-tmp)
file(REMOVE ${_ref} ${_out} ${_tmp})

execute_process(COMMAND ${MPIEXEC} ${NP_FLAG} 1 ${_flags} ${EXE} --out ${_ref} RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "reference run failed (exit ${_rc})")
endif()

execute_process(COMMAND ${MPIEXEC} ${NP_FLAG} ${CRASH_NP} ${_flags} ${EXE} --out ${_out}
                        --crash-after ${CRASH_AFTER}
                RESULT_VARIABLE _rc OUTPUT_QUIET ERROR_QUIET)
if(_rc EQUAL 0)
    message(FATAL_ERROR "the crashing run at ${CRASH_NP} ranks exited 0")
endif()
if(EXISTS ${_out})
    message(FATAL_ERROR "a crashed run left a final output ${_out}")
endif()
if(NOT EXISTS ${_tmp})
    message(FATAL_ERROR "a crashed run left no temporary output ${_tmp} to resume")
endif()

execute_process(COMMAND ${MPIEXEC} ${NP_FLAG} ${RESUME_NP} ${_flags} ${EXE} --out ${_out} --resume
                RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "resumed run at ${RESUME_NP} ranks failed (exit ${_rc})")
endif()
if(EXISTS ${_tmp})
    message(FATAL_ERROR "the resumed run left its temporary output ${_tmp}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${_ref} ${_out} RESULT_VARIABLE _same)
if(NOT _same EQUAL 0)
    message(FATAL_ERROR "resumed output differs from the uninterrupted one: ${_ref} vs ${_out}")
endif()
message(STATUS "crash at ${CRASH_NP} ranks + resume at ${RESUME_NP} ranks == uninterrupted run")
