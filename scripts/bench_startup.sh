#!/usr/bin/env bash
# Process start-up of scpx (docs/PERFORMANCE.md, "Start-up"): what every command, every MPI rank
# and every test process pays before any work. Times N runs of `scpx --version` (which loads every
# linked library and initialises MPI as a real command does) and prints the median wall time, and
# the one-off cost of opening cuBLASLt on first GPU use (the CublasLoader test, in a CUDA build).
#   scripts/bench_startup.sh [BUILD_DIR] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
n=${2:-11}
scpx=$build/scpx
[[ -x $scpx ]] || { echo "build scpx first (cmake --build $build --target scpx), or pass the build folder"; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

median_wall() { # median_wall CMD...: the median of N wall times, in seconds
  local times=()
  for ((i = 0; i < n; ++i)); do
    local s e
    s=$(date +%s.%N)
    "$@" > /dev/null 2>&1
    e=$(date +%s.%N)
    times+=("$(echo "$e - $s" | bc)")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR] = $1} END {printf "%.3f", a[int((NR + 1) / 2)]}'
}

echo "scpx start-up, median of $n runs ($(nproc) cores): $("$scpx" --version)"
echo "  scpx --version                                  $(median_wall "$scpx" --version) s"
echo "  libraries linked: $(ldd "$scpx" | wc -l) (cuBLAS among them: $(ldd "$scpx" | grep -c libcublas || true))"
gpu_tests=$build/tests/cuda/scpx_gpu_tests
if [[ -x $gpu_tests ]]; then
  echo "  opening cuBLASLt + cuBLAS on first GPU use     $(median_wall "$gpu_tests" --gtest_filter=CublasLoader.OpensBothLibrariesOfTheHeadersMajorVersion) s (whole test process)"
fi
