#!/usr/bin/env bash
# slurm/array_driver.sh without a cluster (--dry-run prints the sbatch commands): the array and
# follow-up it builds, and the argument errors it must catch before anything is submitted.
source "$(dirname "$0")/e2e_lib.sh"
DRIVER="$(dirname "$0")/../../slurm/array_driver.sh"

rc=0; "$DRIVER" --dry-run -n 3 -N 2 -c 4 -% 2 --then "echo done" -- features reference --out 'p/f_{job}.h5' \
  > "$WORK/dry.out" 2> "$WORK/dry.err" || rc=$?
check dry_run_ok test "$rc" -eq 0
check dry_run_array grep -q -- '--array=0-2%2 --ntasks=2 --cpus-per-task=4' "$WORK/dry.err"
check dry_run_split_exported grep -q 'SCPX_SPLIT=3' "$WORK/dry.err"
check dry_run_stage_options grep -q 'scpx_stage.sbatch features reference --out p/f_\\{job\\}.h5' "$WORK/dry.err"
check dry_run_follow_up grep -q -- '--dependency=afterok:DRY' "$WORK/dry.err"

# expect_exit2 NAME REGEX -- ARGS...: the driver refuses with exit 2 and a message matching REGEX.
expect_exit2() {
  local name=$1 regex=$2; shift 3
  local rc=0; "$DRIVER" --dry-run "$@" > "$WORK/$name.out" 2> "$WORK/$name.err" || rc=$?
  check "$name" bash -c "[[ $rc -eq 2 ]] && grep -Eq -- '$regex' '$WORK/$name.err'"
}
expect_exit2 value_missing "-n needs a value" -- -n
expect_exit2 value_is_separator "-% needs a value" -- -n 2 -% -- info
expect_exit2 split_in_stage_options "driver adds --split N --job K" -- -n 2 -- lctpred --split 4 --job 1
expect_exit2 bad_cpus "-c CPUS must be a positive integer" -- -n 2 -c 0 -- info
expect_exit2 bad_n "-n N must be a positive integer" -- -n x -- info
expect_exit2 no_stage "no stage given" -- -n 2 --

finish
