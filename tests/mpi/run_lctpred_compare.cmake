cmake_minimum_required(VERSION 3.21)
# Runs `scpx lctpred --phi` at 1 and NP ranks (output prefixes differ) and requires the .db (with
# the phi every rank computed for its genes), the covariance and the HDF5 summary to be
# byte-identical.
# -DMPIEXEC -DNP_FLAG -DNP -DEXE -DDATA -DDIR
set(_flags --oversubscribe)
execute_process(COMMAND id -u OUTPUT_VARIABLE _uid OUTPUT_STRIP_TRAILING_WHITESPACE)
if(_uid STREQUAL "0")
    list(APPEND _flags --allow-run-as-root)
endif()
# At NP = 1 the second run is a plain rerun (reproducibility).
foreach(_run a b)
    if(_run STREQUAL "a")
        set(_np 1)
    else()
        set(_np ${NP})
    endif()
    set(_prefix ${DIR}/lct_np${NP}_${_run})
    file(REMOVE ${_prefix}.db ${_prefix}.covariance.txt.gz ${_prefix}.summary.h5)
    execute_process(COMMAND ${MPIEXEC} ${NP_FLAG} ${_np} ${_flags} ${EXE} lctpred
                        --expression ${DATA}/expression.tsv --genotype ${DATA}/genotype.tsv.gz
                        --snp-annotation ${DATA}/snp_annot.tsv --gene-annotation ${DATA}/gene_annot.tsv
                        --seed 11 --threads 1 --phi --out ${_prefix}
                    RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
    if(NOT _rc EQUAL 0)
        message(FATAL_ERROR "lctpred at ${_np} rank(s) failed (exit ${_rc}):\n${_out}\n${_err}")
    endif()
    # Rank 0 lists each rank's share of the fits; warnings about the shared inputs are not
    # repeated by the other ranks.
    if(_np GREATER 1)
        string(FIND "${_out}" "lctpred fits per rank:" _listed)
        string(FIND "${_out}" "lctpred fits: slowest rank " _slowest)
        string(FIND "${_err}" "[rank " _repeated)
        if(_listed EQUAL -1 OR _slowest EQUAL -1 OR NOT _repeated EQUAL -1)
            message(FATAL_ERROR "lctpred at ${_np} ranks: expected rank 0's per-rank lines and no '[rank r]' "
                                "warning:\n${_out}\n${_err}")
        endif()
    endif()
endforeach()
foreach(_ext db covariance.txt.gz summary.h5)
    set(_a ${DIR}/lct_np${NP}_a.${_ext})
    set(_b ${DIR}/lct_np${NP}_b.${_ext})
    execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${_a} ${_b} RESULT_VARIABLE _same)
    if(NOT _same EQUAL 0)
        message(FATAL_ERROR "outputs differ between 1 and ${NP} ranks: ${_a} vs ${_b}")
    endif()
    message(STATUS "byte-identical at 1 and ${NP} ranks: ${_b}")
endforeach()
