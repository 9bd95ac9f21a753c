#!/usr/bin/env bash
# The one prepared run for the GPU machine: every gpu-labelled test, the GPU fixture tests and the
# GPU benchmarks, then a short table. Builds nothing: CARRY holds a CUDA Release build's test and
# bench binaries (same layout as a build folder), the shared libraries the GPU machine lacks and
# the fixtures the tests read. Prepare it on the build machine with scripts/prepare_gpu_carry.sh.
#   bash bench/gpu_check.sh [CARRY]          (from the repository root; default CARRY=carry)
set -uo pipefail
CARRY=$(cd "${1:-carry}" && pwd)
OUTDIR=${OUT:-/tmp/gpu_check}
mkdir -p "$OUTDIR"
export LD_LIBRARY_PATH="$CARRY/lib:/usr/local/cuda/lib64:/usr/local/cuda/lib:${LD_LIBRARY_PATH:-}"
# prepare_gpu_carry.sh packs lib_extra (size limit of the transfer): unpack it once.
if [[ -n "${CARRY:-}" && -f "$CARRY/lib_extra.tar.gz" && ! -d "$CARRY/lib_extra" ]]; then
  tar -C "$CARRY" -xzf "$CARRY/lib_extra.tar.gz" || echo "cannot unpack $CARRY/lib_extra.tar.gz"
fi
# Libraries prepare_gpu_carry.sh keeps apart (libcurl's chain): only when something is missing.
if [[ -d "$CARRY/lib_extra" ]] && ldd "$CARRY"/build/tests/unit/scpx_unit_tests 2>/dev/null | grep -q 'not found'; then
  export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$CARRY/lib_extra"
fi
status=0

# Test binaries look for fixtures where the build machine keeps them (../shared/fixtures).
fixtures=/work/shared/fixtures
if [[ -d "$CARRY/fixtures" && ! -e "$fixtures" ]]; then
  mkdir -p "$(dirname "$fixtures")" && cp -r "$CARRY/fixtures" "$fixtures"
fi

{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "no nvidia-smi"; } \
  | tee "$OUTDIR/device.txt"

echo "== all GPU tests (scpx_gpu_tests)"
"$CARRY/build/tests/cuda/scpx_gpu_tests" > "$OUTDIR/gpu_tests.log" 2>&1 || status=1
grep -E '^\[  (PASSED|FAILED|SKIPPED) |^\[==========\]' "$OUTDIR/gpu_tests.log"
grep -E '^\[  FAILED  \]' "$OUTDIR/gpu_tests.log" | head -20

echo "== ctPred: fixture on the GPU and training benchmark"
BUILD="$CARRY/build" OUT="$OUTDIR/ctpred" bash "$(dirname "$0")/gpu_check_ctpred.sh" || status=1

echo
echo "== summary ($(cat "$OUTDIR/device.txt"))"
printf '%-44s %s\n' "scpx_gpu_tests" "$(grep -E '^\[==========\].*ran' "$OUTDIR/gpu_tests.log" | tail -1); $(grep -cE '^\[       OK \]' "$OUTDIR/gpu_tests.log") ok, $(grep -cE '^\[  FAILED  \] .* \([0-9]+ ms\)' "$OUTDIR/gpu_tests.log") failed, $(grep -cE '^\[  SKIPPED \] .* \([0-9]+ ms\)' "$OUTDIR/gpu_tests.log") skipped"
cat "$OUTDIR/ctpred/table.txt"
exit $status
