#!/usr/bin/env bash
# Packs what bench/gpu_check.sh needs on the GPU machine into carry/ (git-ignored): the CUDA test
# and benchmark binaries of a Release build, the shared libraries that machine lacks (platform.md
# §9: no htslib, no parallel HDF5, Debian's fmt/spdlog) and the fixtures the GPU tests read.
#   scripts/prepare_gpu_carry.sh [BUILD] [ctpred|enformer]   (default build ctpred; BUILD configured with CUDA on)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PART=${2:-ctpred}  # "enformer": Enformer bench + fixture instead of the 42 MB ctpred fixture (64 MiB carry limit)
rm -rf carry && mkdir -p carry/build/tests/cuda carry/build/tests/unit carry/build/bench carry/lib carry/fixtures/ctpred
strip -o carry/build/tests/cuda/scpx_gpu_tests "$BUILD/tests/cuda/scpx_gpu_tests"
if [[ $PART == enformer ]]; then
  # The 64 MiB carry limit: the Enformer binaries and fixture leave no room for the CPU unit tests
  # (only gpu_check_enformer.sh's optional fixture step used them; it reports them absent) or the
  # ctPred benchmark, so neither needs building.
  strip -o carry/build/bench/bench_enformer_gpu "$BUILD/bench/bench_enformer_gpu"
  strip -o carry/build/tests/cuda/scpx_gpu_model_tests "$BUILD/tests/cuda/scpx_gpu_model_tests"
  mkdir -p carry/fixtures/enformer && cp ../shared/fixtures/enformer/{weights,io}.h5 carry/fixtures/enformer/
  binaries=(carry/build/tests/cuda/scpx_gpu_tests carry/build/bench/bench_enformer_gpu carry/build/tests/cuda/scpx_gpu_model_tests)
else
  cp "$BUILD/bench/bench_ctpred_train" carry/build/bench/
  strip -o carry/build/tests/unit/scpx_unit_tests "$BUILD/tests/unit/scpx_unit_tests"
  cp ../shared/fixtures/ctpred/case_small.h5 carry/fixtures/ctpred/
  binaries=(carry/build/tests/cuda/scpx_gpu_tests carry/build/bench/bench_ctpred_train carry/build/tests/unit/scpx_unit_tests)
fi
# Only the libraries missing on the GPU machine (Ubuntu 24.04 has libc, OpenSSL, curl, krb5 …);
# carrying all of them would exceed the 64 MiB transfer limit together with the fixture.
tmp=$(mktemp -d)
for b in "${binaries[@]}"; do bash ../shared/tools/collect_runtime_libs.sh "$tmp" "$b" >/dev/null; done
for l in libhdf5_openmpi libhts.so libhtscodecs libsz libaec libdeflate libfmt libspdlog libmpi libmpi_cxx \
         libopen-pal libopen-rte libhwloc libevent_core libevent_pthreads; do
  mv "$tmp"/lib/$l* carry/lib/ 2>/dev/null || true
done
# The rest (libcurl and its TLS/LDAP/Kerberos chain, …) goes to lib_extra, which the check scripts
# add to the search path only when a binary would otherwise miss a library: a bare machine may
# lack libcurl, but where it has these libraries its own (newer) builds should win.
mkdir -p carry/lib_extra
for f in "$tmp"/lib/*; do
  case $(basename "$f") in libc.so*|libm.so*|libdl.so*|libpthread.so*|librt.so*|libresolv.so*|libstdc++*|libgcc_s*) ;;
    *) mv "$f" carry/lib_extra/ ;;
  esac
done
rm -rf "$tmp"
# lib_extra travels compressed (≈ 17 MB of libraries → ≈ 7 MB): the carry limit is 64 MiB, and the
# Enformer binaries with their fixture came within 3 MB of it. The check scripts unpack it.
tar -C carry -czf carry/lib_extra.tar.gz lib_extra && rm -rf carry/lib_extra
du -sh carry
