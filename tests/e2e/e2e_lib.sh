# Helpers for the end-to-end CLI tests (sourced by tests/e2e/*.sh).
# Each test script gets: $SCPX (the binary) and $WORK (a fresh scratch folder).
set -euo pipefail
SCPX=${SCPX:?set SCPX to the scpx binary}
WORK=${WORK:?set WORK to a scratch folder}
rm -rf "$WORK"; mkdir -p "$WORK"
failures=0
passes=0

# expect_fail NAME REGEX OUTPUT -- CMD...: CMD must exit non-zero, print an ERROR line matching
# REGEX and leave no OUTPUT file (nor its hidden temporary) behind.
expect_fail() {
  local name=$1 regex=$2 output=$3; shift 4
  local log="$WORK/$name.log" rc=0
  "$@" >"$log" 2>&1 || rc=$?
  local why=""
  [[ $rc -ne 0 ]] || why="exit code 0"
  grep -E -- "ERROR" "$log" | grep -Eq -- "$regex" || why="${why:+$why; }no ERROR line matching /$regex/"
  if [[ -n "$output" ]]; then
    [[ ! -e "$output" ]] || why="${why:+$why; }output $output was left behind"
    local tmp; tmp="$(dirname "$output")/.$(basename "$output").scpx-tmp"
    [[ ! -e "$tmp" ]] || why="${why:+$why; }temporary $tmp was left behind"
  fi
  if [[ -n "$why" ]]; then
    echo "FAIL $name: $why"; sed 's/^/    | /' "$log" | tail -20; failures=$((failures + 1))
  else
    echo "ok   $name: $(grep -E -- "ERROR" "$log" | grep -E -- "$regex" | head -1 | cut -c1-200)"; passes=$((passes + 1))
  fi
}

# expect_ok NAME CMD...: CMD must exit 0.
expect_ok() {
  local name=$1; shift
  local log="$WORK/$name.log" rc=0
  "$@" >"$log" 2>&1 || rc=$?
  if [[ $rc -ne 0 ]]; then
    echo "FAIL $name: exit $rc"; sed 's/^/    | /' "$log" | tail -20; failures=$((failures + 1))
  else
    echo "ok   $name"; passes=$((passes + 1))
  fi
}

# check NAME CONDITION-COMMAND...: a plain assertion.
check() {
  local name=$1; shift
  if "$@"; then echo "ok   $name"; passes=$((passes + 1)); else echo "FAIL $name"; failures=$((failures + 1)); fi
}

# logged_command LOG: the "Options in effect" command of a run's log, on one line.
logged_command() {
  sed -n '/^Options in effect:/,/^[^ ]/p' "$1" | sed '1d;$d' | sed -e 's/ \\$//' -e 's/^ *//' | tr '\n' ' '
}

# hold_output_claim PATH: this shell holds PATH's output claim, as another scpx run writing it
# would (its lock file locked through fd 9, with a holder line), until release_output_claim.
held_claim_lock=""
hold_output_claim() {
  held_claim_lock="$(dirname "$1")/.$(basename "$1").scpx-lock"
  exec 9> "$held_claim_lock"
  flock -n 9
  echo "pid $$ on e2e-holder since the test began" >&9
}
# … and removes the lock file, as scpx does when it releases a claim.
release_output_claim() { rm -f "$held_claim_lock"; exec 9>&-; }

# one_error_line LOG: the run printed exactly one ERROR line (not one per rank).
one_error_line() { [[ $(grep -cE '^(\[rank [0-9]+\] )?ERROR: ' "$1") -eq 1 ]]; }

finish() {
  echo "$passes passed, $failures failed"
  [[ $failures -eq 0 ]]
}

# require_demo_data: for tests on make_demo_data.py's data through the fixtures' Enformer. Exits
# 77 (skipped) without the Enformer fixture, bcftools, shapeit4-example or /usr/bin/python3 with
# numpy and h5py; sets $PY, $SRC and $weights and lets Open MPI run as root and oversubscribe.
require_demo_data() {
  PY=/usr/bin/python3
  SRC=${SCPX_SOURCE_DIR:?}
  weights=${SCPX_SHARED_FIXTURES:-$SRC/../shared/fixtures}/enformer/weights.h5
  [[ -f $weights ]] || { echo "skip: no Enformer fixture at $weights"; exit 77; }
  command -v bcftools >/dev/null || { echo "skip: no bcftools"; exit 77; }
  $PY -c "import numpy, h5py" 2>/dev/null || { echo "skip: /usr/bin/python3 lacks numpy/h5py"; exit 77; }
  [[ -f /usr/share/doc/shapeit4/examples/test/reference.vcf.gz ]] || { echo "skip: no shapeit4-example"; exit 77; }
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
  export OMPI_MCA_btl_vader_single_copy_mechanism=none
}
