#!/usr/bin/env bash
# Submits one scpx stage as a SLURM array of N jobs (`--split N --job K` in task K), then an
# optional follow-up job (merge, next stage) that starts only when every task succeeded.
#
#   slurm/array_driver.sh -n N [options] -- <stage> [stage options...]
#
#   -n N            number of array tasks (parts of the work list); tasks are numbered 0..N-1
#   -N NTASKS       MPI ranks per task (default 1)
#   -c CPUS         CPUs per rank (default 1)
#   -t TIME         time limit per task (default 01:00:00)
#   -m MEM          memory per CPU (e.g. 4G; default: the cluster's)
#   -p PARTITION    partition (default: the cluster's)
#   -g GPUS         GPUs per rank (default none)
#   -j NAME         job name (default scpx-<stage words>, e.g. scpx-features-personal)
#   -% MAX          run at most MAX tasks at once (sbatch --array=0-(N-1)%MAX)
#   -a "OPTS"       more sbatch options for the array (quoted, split on spaces)
#   --then "CMD"    follow-up shell command, submitted with --dependency=afterok:<array job>
#   --then-args "OPTS"  sbatch options for the follow-up job (default: -n 1)
#   --dry-run       print the sbatch commands instead of submitting
#
# In the stage options, {job} and {split} are replaced per task, e.g.
#   slurm/array_driver.sh -n 8 -N 4 -t 02:00:00 --then "<next step, once every part is written>" \
#       -- features reference --config run.toml --out parts/features_{job}.h5
# (the driver appends --split N --job K itself: the stage options must not hold them).
# Prints the array job id and the follow-up job id (if any), one per line.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
n="" ntasks=1 cpus=1 time=01:00:00 mem="" partition="" gpus="" name="" throttle="" extra=""
then_cmd="" then_args="-n 1" dry=0
# The comment block at the top, up to the first line of code.
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit "${1:-2}"; }
# An option's value must be there and must not be the "--" that starts the stage options.
need_value() {
    [[ $# -ge 2 && "$2" != "--" ]] || { echo "array_driver: $1 needs a value" >&2; exit 2; }
}
while [[ $# -gt 0 ]]; do
    case "$1" in
        -n|-N|-c|-t|-m|-p|-g|-j|-%|-a|--then|--then-args) need_value "$@" ;;&
        -n) n=$2; shift 2 ;;
        -N) ntasks=$2; shift 2 ;;
        -c) cpus=$2; shift 2 ;;
        -t) time=$2; shift 2 ;;
        -m) mem=$2; shift 2 ;;
        -p) partition=$2; shift 2 ;;
        -g) gpus=$2; shift 2 ;;
        -j) name=$2; shift 2 ;;
        -%) throttle=$2; shift 2 ;;
        -a) extra=$2; shift 2 ;;
        --then) then_cmd=$2; shift 2 ;;
        --then-args) then_args=$2; shift 2 ;;
        --dry-run) dry=1; shift ;;
        -h|--help) usage 0 ;;
        --) shift; break ;;
        *) echo "array_driver: unknown option $1 (stage options go after --)" >&2; usage ;;
    esac
done
[[ $# -ge 1 ]] || { echo "array_driver: no stage given after --" >&2; usage; }
[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "array_driver: -n N must be a positive integer, got '$n'" >&2; exit 2; }
stage=$1
for arg in "$@"; do
    case "$arg" in
        --split|--split=*|--job|--job=*)
            echo "array_driver: the stage options hold $arg; the driver adds --split N --job K to each task itself" >&2
            exit 2 ;;
    esac
done
[[ "$ntasks" =~ ^[1-9][0-9]*$ ]] || { echo "array_driver: -N NTASKS must be a positive integer, got '$ntasks'" >&2; exit 2; }
[[ "$cpus" =~ ^[1-9][0-9]*$ ]] || { echo "array_driver: -c CPUS must be a positive integer, got '$cpus'" >&2; exit 2; }
[[ -z "$throttle" || "$throttle" =~ ^[1-9][0-9]*$ ]] || { echo "array_driver: -% MAX must be a positive integer, got '$throttle'" >&2; exit 2; }
# Job name from the stage's words: "features personal" -> scpx-features-personal.
if [[ $# -ge 2 && "$2" != -* ]]; then stage_words="$1-$2"; else stage_words=$1; fi
name=${name:-scpx-$stage_words}

array="0-$((n - 1))${throttle:+%$throttle}"
sb=(sbatch --parsable --job-name="$name" --array="$array" --ntasks="$ntasks"
    --cpus-per-task="$cpus" --time="$time" --output="%x-%A_%a.out"
    --export="ALL,SCPX_SPLIT=$n")
[[ -n "$mem" ]] && sb+=(--mem-per-cpu="$mem")
[[ -n "$partition" ]] && sb+=(--partition="$partition")
[[ -n "$gpus" ]] && sb+=(--gpus-per-task="$gpus")
# shellcheck disable=SC2206  # -a is a list of options
[[ -n "$extra" ]] && sb+=($extra)
sb+=("$here/scpx_stage.sbatch" "$@")

run() {
    if [[ $dry -eq 1 ]]; then
        printf '%q ' "$@" >&2; echo >&2
        echo "DRY$RANDOM"
    else
        "$@"
    fi
}

array_id=$(run "${sb[@]}")
array_id=${array_id%%;*} # --parsable prints "id" or "id;cluster"
echo "$array_id"
if [[ -n "$then_cmd" ]]; then
    # shellcheck disable=SC2206  # --then-args is a list of options
    fb=(sbatch --parsable --job-name="$name-then" --dependency="afterok:$array_id"
        --kill-on-invalid-dep=yes --output="%x-%j.out" $then_args --wrap="$then_cmd")
    then_id=$(run "${fb[@]}")
    echo "${then_id%%;*}"
fi
