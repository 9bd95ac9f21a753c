#!/usr/bin/env bash
# `cmake --install`: the installed tree (program, library, headers, CMake package, scripts, SLURM
# templates, docs), the installed program running on its own, and a program built on the library
# with find_package(scpx) (examples/library) giving `scpx spredixcan`'s numbers.
source "$(dirname "$0")/e2e_lib.sh"
SRC=${SCPX_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${SCPX_BUILD_DIR:?set SCPX_BUILD_DIR to the scpx build folder}
CMAKE=${CMAKE:-cmake}
D="$SRC/tests/data/spredixcan"
P="$WORK/prefix"

expect_ok install "$CMAKE" --install "$BUILD" --prefix "$P"
for f in bin/scpx lib/libscpx.a lib/libscpx_base.a include/scpx/config.hpp \
         include/scpx/assoc/spredixcan.hpp include/scpx/core/error.hpp \
         lib/cmake/scpx/scpxConfig.cmake lib/cmake/scpx/scpxConfigVersion.cmake \
         lib/cmake/scpx/scpxTargets.cmake share/scpx/scripts/ctpred_names.py \
         share/scpx/slurm/README.md share/doc/scpx/README.md share/doc/scpx/docs/LCTPRED.md; do
  check "installed_$f" test -f "$P/$f"
done
for f in bin/scpx share/scpx/scripts/convert_enformer_weights.py share/scpx/scripts/plot_ctpred.py \
         share/scpx/slurm/scpx_stage.sbatch share/scpx/slurm/array_driver.sh; do
  check "executable_$f" test -x "$P/$f"
done
# Components, for packagers.
expect_ok install_runtime "$CMAKE" --install "$BUILD" --prefix "$WORK/runtime" --component Runtime
check runtime_has_program test -x "$WORK/runtime/bin/scpx"
check runtime_has_no_library test ! -e "$WORK/runtime/lib/libscpx.a"
expect_ok install_development "$CMAKE" --install "$BUILD" --prefix "$WORK/devel" --component Development
check development_has_package test -f "$WORK/devel/lib/cmake/scpx/scpxConfig.cmake"
check development_has_no_program test ! -e "$WORK/devel/bin/scpx"
# The command-line layer's headers (CLI11) are the program's, not the library's.
check no_cli_headers test ! -e "$P/include/scpx/cli"
if grep -q '^#define SCPX_WITH_CUDA' "$P/include/scpx/config.hpp"; then
  check installed_kernels_library test -f "$P/lib/libscpx_kernels.a"
fi

# The installed program runs from anywhere, without the build tree or LD_LIBRARY_PATH.
# shellcheck disable=SC2016  # expanded by the inner shell
check no_missing_libraries bash -c '! env -u LD_LIBRARY_PATH ldd "$1" | grep -q "not found"' _ "$P/bin/scpx"
expect_ok installed_version env -u LD_LIBRARY_PATH "$P/bin/scpx" --version
check installed_version_is_build_version \
  test "$("$P/bin/scpx" --version 2>&1)" = "$("$SCPX" --version 2>&1)"

# A program of its own on the library: find_package(scpx) through CMAKE_PREFIX_PATH.
gen=()
if command -v ninja >/dev/null; then gen=(-G Ninja); fi
expect_ok example_configure "$CMAKE" -S "$SRC/examples/library" -B "$WORK/example" "${gen[@]}" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$P"
expect_ok example_build "$CMAKE" --build "$WORK/example"
EX="$WORK/example/twas_one_model"

# Its table is `scpx spredixcan`'s (byte for byte) and MetaXcan's (numbers).
expect_ok example_run bash -c '"$1" "$2/TW_Whole_Blood_0.5.db" "$2/TW_Whole_Blood.txt.gz" \
  "$2/gwas_subset.txt.gz" > "$3"' _ "$EX" "$D" "$WORK/example.csv"
check example_reports_counts grep -q "genes computed" "$WORK/example_run.log"
expect_ok cli_run "$SCPX" spredixcan --model_db_path "$D/TW_Whole_Blood_0.5.db" \
  --covariance "$D/TW_Whole_Blood.txt.gz" --gwas_file "$D/gwas_subset.txt.gz" \
  --snp_column SNP --effect_allele_column A1 --non_effect_allele_column A2 \
  --zscore_column ZSCORE --beta_column BETA --output_file "$WORK/cli.csv"
check example_equals_cli cmp "$WORK/example.csv" "$WORK/cli.csv"
check example_matches_metaxcan /usr/bin/python3 "$SRC/tests/e2e/spredixcan_compare.py" \
  "$D/TW_Whole_Blood.z.csv" "$WORK/example.csv"

# Eigen objects cross the library's interface in a consumer built without scpx's -march: the
# alignment scpx::scpx requires keeps both sides' layout the same.
expect_ok consumer_configure "$CMAKE" -S "$SRC/tests/e2e/install_consumer" -B "$WORK/consumer" "${gen[@]}" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$P"
expect_ok consumer_build "$CMAKE" --build "$WORK/consumer"
expect_ok eigen_objects_cross_the_interface "$WORK/consumer/eigen_abi"
# A C++-only project is told to enable C (MPI and HDF5 are found through C).
mkdir -p "$WORK/cxx_only"
printf 'cmake_minimum_required(VERSION 3.21)\nproject(x LANGUAGES CXX)\nfind_package(scpx REQUIRED)\n' \
  > "$WORK/cxx_only/CMakeLists.txt"
rc=0
"$CMAKE" -S "$WORK/cxx_only" -B "$WORK/cxx_only/b" -DCMAKE_PREFIX_PATH="$P" > "$WORK/cxx_only.log" 2>&1 || rc=$?
check cxx_only_project_fails test "$rc" -ne 0
check cxx_only_project_told_to_enable_c grep -q "LANGUAGES C CXX" "$WORK/cxx_only.log"

# Library errors reach the program as scpx::error, naming the file.
expect_ok make_bad_gwas bash -c 'printf "SNP A1 A2 ZSCORE\nrs1 A G 0.5\n" | gzip > "$1"' _ "$WORK/bad.txt.gz"
rc=0
"$EX" "$D/TW_Whole_Blood_0.5.db" "$D/TW_Whole_Blood.txt.gz" "$WORK/bad.txt.gz" \
  > "$WORK/bad.out" 2> "$WORK/bad.err" || rc=$?
check example_error_exit test "$rc" -eq 1
check example_error_names_file_and_field grep -q "ERROR: .*bad.txt.gz.*BETA" "$WORK/bad.err"

finish
