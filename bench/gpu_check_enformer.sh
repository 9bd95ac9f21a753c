#!/usr/bin/env bash
# Enformer GPU check, one prepared run for the GPU machine (issue 7): every GPU cross-test
# (scpx_gpu_tests: Cuda* — Enformer kernels, cuDNN yardstick, conv selector, attention, ctPred,
# device), the Enformer fixture tests of scpx_unit_tests when that binary can start there, then
# bench_enformer_gpu (bf16, tf32, fp32 × 196,608 / 393,216 bp × batch 1/4/8, plus the custom-vs-cuDNN
# conv table). Builds nothing; prints a short table last. Every part runs under `timeout` so the
# whole check stays near 9 minutes of device time (tests 150 s, fixture 60 s, benchmark 330 s, eight
# single-configuration variants 45 s each; set SKIP_FIXTURE=1 PROFILE=0 to save time);
# the benchmark prints and writes its CSV row by row, so a timeout still leaves the rows done.
#
#   scripts/prepare_gpu_carry.sh build-cuda enformer        (build machine: fills carry/)
#   bash bench/gpu_check_enformer.sh [CARRY]                (GPU machine, repository root; default carry)
#   BUILD=build-cuda bash bench/gpu_check_enformer.sh       (or straight from a CUDA build folder)
#
# Environment: OUT (logs, default /tmp/gpu_check_enformer), BENCH_ARGS (replaces the benchmark
# options), BENCH_TIMEOUT / TEST_TIMEOUT / MODEL_TIMEOUT / PROFILE_TIMEOUT (seconds), SKIP_FIXTURE=1
# (skip the CPU fixture tests), TEST_FILTER (gtest filter of scpx_gpu_tests, default 'Cuda*:CublasLoader*'),
# PROFILE=0 (skip the Nsight Systems kernel table), ALLBINS=0 (skip the all-bins run), VARIANTS
# (';'-separated "PRECISION LENGTH OPTION VALUE [OPTION VALUE ...]" batch-8 runs, replacing the
# default list below), DEADLINE (seconds: optional steps that would end past it are skipped,
# so a device lease's command limit is never hit halfway through a step).
set -uo pipefail
if [[ -n "${BUILD:-}" ]]; then
  BUILD=$(cd "$BUILD" && pwd)
  CARRY=""
else
  CARRY=$(cd "${1:-carry}" && pwd)
  BUILD="$CARRY/build"
fi
OUTDIR=${OUT:-/tmp/gpu_check_enformer}
mkdir -p "$OUTDIR"
export LD_LIBRARY_PATH="${CARRY:+$CARRY/lib:}/usr/local/cuda/lib64:/usr/local/cuda/lib:${LD_LIBRARY_PATH:-}"
# prepare_gpu_carry.sh packs lib_extra (size limit of the transfer): unpack it once.
if [[ -n "${CARRY:-}" && -f "$CARRY/lib_extra.tar.gz" && ! -d "$CARRY/lib_extra" ]]; then
  tar -C "$CARRY" -xzf "$CARRY/lib_extra.tar.gz" || echo "cannot unpack $CARRY/lib_extra.tar.gz"
fi
# Libraries prepare_gpu_carry.sh keeps apart (libcurl's chain): only when something is missing.
missing=$(ldd "$BUILD/bench/bench_enformer_gpu" "$BUILD/tests/cuda/scpx_gpu_model_tests" 2>/dev/null | grep 'not found' | sort -u)
if [[ -n "$missing" && -n "$CARRY" && -d "$CARRY/lib_extra" ]]; then
  export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$CARRY/lib_extra"
  echo "not on this machine, taken from $CARRY/lib_extra:" $missing
fi
TEST_TIMEOUT=${TEST_TIMEOUT:-150}
MODEL_TIMEOUT=${MODEL_TIMEOUT:-120}
PROFILE_TIMEOUT=${PROFILE_TIMEOUT:-60}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-330}
BENCH_ARGS=${BENCH_ARGS:---precisions bf16,tf32,fp32 --lengths 196608,393216 --batches 1,4,8 --reps 3}
DEADLINE=${DEADLINE:-0}
# The default variants are the changes not yet timed on a GPU (sessions 11–12, CPU emulator
# only), largest expected effect first, so a DEADLINE that cuts the list keeps the informative
# ones: the conv bias fold (on by default, so its variant turns it off), the fused stem, 128-row
# flash blocks, the batch-spanning conv/pool steps (on under auto; turned off), 32 instead of 8
# cuBLASLt candidates timed per GEMM shape (free to try: a slower candidate is never kept), the
# two kernels together, and at 393,216 bp. The ninth session's list, timed then, was "bf16 196608 attention
# gemm;bf16 393216 attention gemm;tf32 196608 attention flash;bf16 196608 pool fused;bf16 196608
# batch-gemms 0;bf16 196608 pool-bf16-logits 0" (docs/PERFORMANCE.md).
VARIANTS=${VARIANTS:-bf16 196608 fold-bias 0;bf16 196608 fused-stem 1;bf16 196608 flash-rows 128;bf16 196608 batch-steps 0;bf16 196608 gemm-tune 32;bf16 196608 fused-stem 1 flash-rows 128;bf16 393216 fused-stem 1 flash-rows 128;bf16 393216 flash-rows 128}
fits() {  # fits SECONDS: true when a step of at most SECONDS still ends before DEADLINE (0: no deadline)
  [[ $DEADLINE -eq 0 || $((SECONDS + $1)) -le $DEADLINE ]]
}
status=0
table="$OUTDIR/table.txt"
: > "$table"
row() { printf '%-40s %s\n' "$1" "$2" >> "$table"; }
verdict() {  # verdict NAME RC LOG: one row from a gtest run's exit code and log
  local n_ok n_fail n_skip
  n_ok=$(grep -cE '^\[       OK \]' "$3")
  n_fail=$(grep -cE '^\[  FAILED  \] .* \([0-9]+ ms\)' "$3")
  n_skip=$(grep -cE '^\[  SKIPPED \] .* \([0-9]+ ms\)' "$3")
  if [[ $2 -eq 124 ]]; then row "$1" "TIMEOUT after ${TEST_TIMEOUT}s ($n_ok ok so far; see $3)"; status=1
  elif [[ $2 -ne 0 ]]; then row "$1" "FAILED rc=$2: $n_ok ok, $n_fail failed, $n_skip skipped (see $3)"; status=1
  else row "$1" "passed: $n_ok ok, $n_skip skipped"; fi
}

# Test binaries look for fixtures where the build machine keeps them (../shared/fixtures).
fixtures=/work/shared/fixtures
if [[ -n "$CARRY" && -d "$CARRY/fixtures" && ! -e "$fixtures/enformer" ]]; then
  mkdir -p "$fixtures" && cp -r "$CARRY/fixtures/." "$fixtures/"
fi

{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "no nvidia-smi"; } \
  | tee "$OUTDIR/device.txt"

TEST_FILTER=${TEST_FILTER:-Cuda*:CublasLoader*}
echo "== GPU tests (scpx_gpu_tests $TEST_FILTER, ${TEST_TIMEOUT}s max)"
timeout "$TEST_TIMEOUT" "$BUILD/tests/cuda/scpx_gpu_tests" --gtest_filter="$TEST_FILTER" > "$OUTDIR/gpu_tests.log" 2>&1
verdict "scpx_gpu_tests ($TEST_FILTER)" $? "$OUTDIR/gpu_tests.log"

# Per suite: ok / failed / skipped.
awk '/^\[       OK \]/ {split($4, a, "."); ok[a[1]]++; s[a[1]]=1}
     /^\[  FAILED  \] .*\([0-9]+ ms\)/ {split($4, a, "."); bad[a[1]]++; s[a[1]]=1}
     /^\[  SKIPPED \] .*\([0-9]+ ms\)/ {split($4, a, "."); sk[a[1]]++; s[a[1]]=1}
     END {for (k in s) printf "  %-38s %d ok, %d failed, %d skipped\n", k, ok[k], bad[k], sk[k]}' \
  "$OUTDIR/gpu_tests.log" | sort >> "$table"
grep -E '^\[  FAILED  \] .*\([0-9]+ ms\)' "$OUTDIR/gpu_tests.log" | head -20
row "cuDNN" "$(grep -oE '^\[ cudnn \] .*' "$OUTDIR/gpu_tests.log" | head -1 | cut -c11- || true)"
# Attention core alone at the model's shapes (B 8, H 8, K 64, V 192): fused kernel, GEMM path and
# (tf32/bf16) the register-tiled flash kernel.
grep -E '^\[ rel_attention \]' "$OUTDIR/gpu_tests.log" | head -16 >> "$table"
# How cuBLASLt took each bf16 bias epilogue (gemm.cu: fp32 / bf16 bias epilogue or a separate pass).
grep -E '^\[ gemm \] bf16' "$OUTDIR/gpu_tests.log" | head -5 >> "$table"

model="$BUILD/tests/cuda/scpx_gpu_model_tests"
if [[ -x "$model" ]]; then
  echo "== whole-model GPU tests (scpx_gpu_model_tests, ${MODEL_TIMEOUT}s max)"
  SCPX_FIXTURES_DIR="${CARRY:+$CARRY/fixtures}" timeout "$MODEL_TIMEOUT" "$model" > "$OUTDIR/gpu_model_tests.log" 2>&1
  verdict "scpx_gpu_model_tests (io.h5 fixture)" $? "$OUTDIR/gpu_model_tests.log"
  grep -E '^\[ (fp32|tf32|bf16|arena|stages)' "$OUTDIR/gpu_model_tests.log" | head -30 >> "$table"
else
  row "scpx_gpu_model_tests" "not run (absent)"
fi

unit="$BUILD/tests/unit/scpx_unit_tests"
if [[ ${SKIP_FIXTURE:-0} != 1 && -x "$unit" ]] && "$unit" --gtest_list_tests > /dev/null 2>&1; then
  echo "== Enformer fixture tests (scpx_unit_tests *Enformer*, 60s max)"
  timeout 60 "$unit" --gtest_filter='*Enformer*' > "$OUTDIR/fixture.log" 2>&1
  verdict "scpx_unit_tests *Enformer* (fixture)" $? "$OUTDIR/fixture.log"
else
  row "scpx_unit_tests *Enformer*" "not run (absent or cannot start here)"
fi

bench="$BUILD/bench/bench_enformer_gpu"
if [[ -x "$bench" ]]; then
  echo "== bench_enformer_gpu $BENCH_ARGS (${BENCH_TIMEOUT}s max)"
  # shellcheck disable=SC2086  # BENCH_ARGS is a list of options
  timeout "$BENCH_TIMEOUT" "$bench" $BENCH_ARGS --csv "$OUTDIR/enformer_gpu.csv" > "$OUTDIR/bench.log" 2>&1
  rc=$?
  if [[ $rc -eq 0 ]]; then row "bench_enformer_gpu" "ok (rows below; CSV $OUTDIR/enformer_gpu.csv)"
  elif [[ $rc -eq 124 ]]; then row "bench_enformer_gpu" "TIMEOUT after ${BENCH_TIMEOUT}s: rows done so far below"; status=1
  else row "bench_enformer_gpu" "FAILED rc=$rc (see $OUTDIR/bench.log)"; status=1; fi
  # The same pass with every output bin computed and downloaded (the default times the 4 central
  # bins `scpx features` uses): the cost of the full heads + 19 MB/sequence of pageable copies.
  if [[ ${ALLBINS:-1} == 1 ]] && fits 60; then
    timeout 60 "$bench" --precisions bf16 --lengths 196608 --batches 8 --reps 2 --bins 0 --no-table \
      > "$OUTDIR/bench_allbins.log" 2>&1
    row "bench bf16 196,608 bp b8, all 896 bins" \
      "$(grep -E '^bf16 ' "$OUTDIR/bench_allbins.log" | tail -1 || echo "rc=$? (see $OUTDIR/bench_allbins.log)")"
  fi
  # One change at a time against the defaults (or several, to see whether two gains add up):
  # by default the changes not yet timed on a GPU — the conv bias fold and batch-spanning steps
  # (turned off), 128-row flash attention blocks and the fused stem convolution (see VARIANTS above).
  # A variant is "PRECISION LENGTH OPTION VALUE [OPTION VALUE ...]" (several changes at once, e.g.
  # the previous defaults of two options together).
  IFS=';' read -r -a variant_list <<< "$VARIANTS"
  for variant in "${variant_list[@]}"; do
    set -- $variant
    vprec=$1 vlen=$2
    shift 2
    vopts=() vname=""
    while [[ $# -ge 2 ]]; do vopts+=("--$1" "$2"); vname+="${vname:+, }$1 $2"; shift 2; done
    if ! fits 45; then row "bench $vprec $vlen bp b8, $vname" "skipped (DEADLINE ${DEADLINE}s)"; continue; fi
    log="$OUTDIR/bench_${vprec}_${vlen}_$(echo "$vname" | tr -c 'A-Za-z0-9\n' '_').log"
    timeout 45 "$bench" --precisions "$vprec" --lengths "$vlen" --batches 8 --reps 2 "${vopts[@]}" --no-table > "$log" 2>&1
    row "bench $vprec $vlen bp b8, $vname" "$(grep -E "^$vprec " "$log" | tail -1 || echo "see $log")"
  done
  # Where the time goes, kernel by kernel: one bf16 196,608 bp batch-8 configuration under Nsight
  # Systems (when the machine has it), summarised as the top kernels by total GPU time.
  nsys=$(command -v nsys || ls /usr/local/cuda/bin/nsys /opt/nvidia/nsight-systems/*/bin/nsys 2>/dev/null | head -1 || true)
  if [[ ${PROFILE:-1} == 1 && -n "$nsys" ]] && fits "$PROFILE_TIMEOUT"; then
    echo "== nsys kernel profile, bf16 196,608 bp b8 (${PROFILE_TIMEOUT}s max)"
    rep=$(mktemp -d)/enformer_bf16
    timeout "$PROFILE_TIMEOUT" "$nsys" profile --trace=cuda --sample=none --cpuctxsw=none -o "$rep" --force-overwrite true \
      "$bench" --precisions bf16 --lengths 196608 --batches 8 --reps 2 --no-table > "$OUTDIR/nsys.log" 2>&1 &&
      "$nsys" stats --report cuda_gpu_kern_sum --format csv --output "$OUTDIR/kernels" "$rep.nsys-rep" >> "$OUTDIR/nsys.log" 2>&1
    if ls "$OUTDIR"/kernels*.csv > /dev/null 2>&1; then row "nsys kernel table" "$(ls "$OUTDIR"/kernels*.csv | head -1)"
    else row "nsys kernel table" "failed (see $OUTDIR/nsys.log)"; fi
  else
    row "nsys kernel table" "not run (${nsys:-no nsys on this machine})"
  fi
else
  row "bench_enformer_gpu" "not run ($bench missing)"; status=1
fi

echo
echo "== Enformer GPU check ($(cat "$OUTDIR/device.txt"))"
cat "$table"
if [[ -f "$OUTDIR/bench.log" ]]; then
  echo
  grep -E '^(device|model|#) ' "$OUTDIR/bench.log" | head -3
  if grep -q '^RESULT enformer_gpu' "$OUTDIR/bench.log"; then
    # AUTO's choices for the bf16 batch-8 convolutions (the full per-shape tables stay in bench.log),
    # then the summary table the benchmark prints last.
    grep -E '^8×(196608|98304|49152|24576|12288|6144|3072)×[0-9]+→[0-9]+ k=[0-9]+ bf16' "$OUTDIR/bench.log" | head -15
    sed -n '/^RESULT enformer_gpu/,$p' "$OUTDIR/bench.log"
  else
    # Timed out or crashed: the rows printed so far.
    grep -E '^(prec |bf16|tf32|fp32) |^      stages:' "$OUTDIR/bench.log" || tail -5 "$OUTDIR/bench.log"
  fi
fi
if ls "$OUTDIR"/kernels*.csv > /dev/null 2>&1; then
  echo
  echo "top kernels (bf16 196,608 bp b8; % of GPU time, total ns, instances, name):"
  awk -F, 'NR > 1 && NR <= 21 {gsub(/"/, ""); name = $9; for (i = 10; i <= NF; ++i) name = name "," $i
                             printf "  %5s%% %14s %7s  %s\n", $1, $2, $3, substr(name, 1, 110)}' \
    "$(ls "$OUTDIR"/kernels*.csv | head -1)"
fi
exit $status
