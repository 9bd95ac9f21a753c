#!/usr/bin/env bash
# S-PrediXcan benchmark (docs/PERFORMANCE.md, "S-PrediXcan"): 5,000 genes, 250k weights, 7.8M
# covariance rows, 2M-row GWAS, made by shared/tools/make_spredixcan_bench.py (~3 min, 2.5 GB
# peak, once). Prints /usr/bin/time -v's CPU, wall and peak RSS for scpx at one rank.
#   scripts/bench_spredixcan.sh [BENCH_DIR] [SCPX_BINARY]
# MetaXcan's output md5 on this input is 615c90554833b39c835fec5e39c0b465 (docs/spredixcan.md §8);
# pass METAXCAN_CSV=path to compare numbers with tests/e2e/spredixcan_compare.py.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-/tmp/spredixcan_bench}
SCPX=${2:-build/scpx}
if [[ ! -s $B/bench_cov.txt.gz ]]; then
  gen=../shared/tools/make_spredixcan_bench.py
  [[ -f $gen ]] || { echo "no $gen: give BENCH_DIR with bench_model.db, bench_cov.txt.gz, bench_gwas.txt.gz"; exit 2; }
  /usr/bin/python3 "$gen" --outdir "$B"
fi
[[ -x $SCPX ]] || { echo "build scpx first (cmake --build build --target scpx), or pass its path"; exit 2; }
out=$B/scpx_out.z.csv
/usr/bin/time -v "$SCPX" spredixcan --model_db_path "$B/bench_model.db" --covariance "$B/bench_cov.txt.gz" \
  --gwas_file "$B/bench_gwas.txt.gz" --snp_column SNP --effect_allele_column A1 --non_effect_allele_column A2 \
  --zscore_column ZSCORE --beta_column BETA --output_file "$out" --throw --overwrite --verbosity warn \
  2> "$B/time.txt"
grep -E "User time|System time|Elapsed|Maximum resident" "$B/time.txt"
awk -F': ' '/User time/{u=$2} /System time/{s=$2} /Maximum resident/{m=$2}
  END{printf "CPU %.2f s (user %.2f + sys %.2f), peak RSS %.0f MB\n", u+s, u, s, m/1024}' "$B/time.txt"
echo "genes: $(($(wc -l < "$out") - 1)); md5 $(md5sum < "$out" | cut -c1-32)"
if [[ -n ${METAXCAN_CSV:-} ]]; then
  /usr/bin/python3 tests/e2e/spredixcan_compare.py "$METAXCAN_CSV" "$out" && echo "numbers match MetaXcan's"
fi
