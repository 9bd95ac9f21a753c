#!/usr/bin/env bash
# ctPred section of the GPU check (call it from bench/gpu_check.sh, or run it alone on the GPU
# machine from the repository root). Builds nothing: BUILD must hold a CUDA build (-DSCPX_ENABLE_CUDA=ON,
# CMAKE_CUDA_ARCHITECTURES including 90) with scpx_gpu_tests and bench_ctpred_train; scpx_unit_tests
# (HDF5 fixture on the GPU) is run only when present and startable.
#   BUILD=build-cuda bench/gpu_check_ctpred.sh
# Prints a short table last. Device time: ~1 min (tests ~10 s, each benchmark ~5–15 s incl. setup).
set -uo pipefail
BUILD=${BUILD:-build-cuda}
OUT=${OUT:-/tmp/gpu_check_ctpred}
mkdir -p "$OUT"
status=0
row() { printf '%-44s %s\n' "$1" "$2" >> "$OUT/table.txt"; }
: > "$OUT/table.txt"

if "$BUILD/tests/cuda/scpx_gpu_tests" --gtest_filter='CudaCtpred*' > "$OUT/gpu_tests.log" 2>&1; then
  row "CudaCtpred* cross-tests" "$(grep -E '^\[  PASSED' "$OUT/gpu_tests.log" | head -1)"
else
  row "CudaCtpred* cross-tests" "FAILED (see $OUT/gpu_tests.log)"; status=1
fi
if [[ -x "$BUILD/tests/unit/scpx_unit_tests" ]] && "$BUILD/tests/unit/scpx_unit_tests" --gtest_list_tests > /dev/null 2>&1; then
  if "$BUILD/tests/unit/scpx_unit_tests" --gtest_filter='CtpredFixture.*' > "$OUT/fixture.log" 2>&1; then
    row "PyTorch fixture (CPU + CUDA, fp64/fp32)" "passed; $(grep -c 'SKIPPED \]' "$OUT/fixture.log") skipped"
  else
    row "PyTorch fixture (CPU + CUDA, fp64/fp32)" "FAILED (see $OUT/fixture.log)"; status=1
  fi
  grep -E '^\[ fixture cuda' "$OUT/fixture.log" >> "$OUT/table.txt" || true
else
  row "PyTorch fixture on GPU" "not run (scpx_unit_tests absent or cannot start here)"
fi
for prec in fp32 fp64; do
  if "$BUILD/bench/bench_ctpred_train" --device cuda --precision "$prec" --epochs 100 > "$OUT/bench_$prec.log" 2>&1; then
    r=$(grep RESULT "$OUT/bench_$prec.log")
    row "bench ctpred_train cuda $prec 100 epochs" "$(grep -oE 'total_s=[0-9.]+|setup_s=[0-9.]+|per_epoch_s=[0-9.]+|gflops=[0-9.]+' <<< "$r" | tr '\n' ' ')"
  else
    row "bench ctpred_train cuda $prec" "FAILED (see $OUT/bench_$prec.log)"; status=1
  fi
done
echo "== ctPred GPU check (target: 100 epochs <= 2 s on an H100) =="
cat "$OUT/table.txt"
exit $status
