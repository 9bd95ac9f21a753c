#!/usr/bin/env bash
# Per-gene cost of the glmnet-faithful solver (`scpx enet cv`, one thread): one 10-fold
# cv.glmnet and the PredictDb-nextflow 3-repeat procedure, at p = 2,000 (the shared case2
# fixture: n = 462, LD mosaic, 30 % continuous dosages) and p = 6,000 (synthetic, AR(1) LD,
# hard-call dosages), with and without gradient screening (same output bit for bit: checked).
# Reports the best user CPU seconds of REPS runs (input parsing included: ~0.05 s at p = 2,000).
# Where R's glmnet is installed, runs the same procedure there (scripts/bench_enet_r.R) and
# compares its time, selected lambda and weights with scpx's.
# Usage: scripts/bench_enet_cv.sh [build-dir]    Env: WORK (/tmp/bench_enet_cv), REPS (3)
set -euo pipefail
BUILD=${1:-build}
WORK=${WORK:-/tmp/bench_enet_cv}
REPS=${REPS:-3}
SCPX=$(cd "$BUILD" && pwd)/scpx
HERE=$(cd "$(dirname "$0")/.." && pwd)
FIX=${SCPX_FIXTURES_DIR:-$HERE/../shared/fixtures}/enet/case2_p2000
mkdir -p "$WORK"
/usr/bin/python3 - "$WORK" "$FIX" <<'PY'
import gzip, os, sys
import numpy as np
out, fix = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(7)
def folds(samples, path):
    with open(path, "w") as f:
        cols = [rng.integers(1, 11, len(samples)) for _ in range(3)]
        f.write("sample\tr1\tr2\tr3\n")
        for i, s in enumerate(samples):
            f.write(f"{s}\t{cols[0][i]}\t{cols[1][i]}\t{cols[2][i]}\n")
    with open(path.replace("fold3", "fold1"), "w") as f:
        f.write("sample\tr1\n")
        for i, s in enumerate(samples):
            f.write(f"{s}\t{(i * 7919) % 10 + 1}\n")
# p = 2,000: the fixture (y_adj is the exact y glmnet gets)
rows = [l.rstrip("\n").split("\t") for l in open(f"{fix}/y_adj.tsv")][1:]
samples = [r[0] for r in rows]
with open(f"{out}/p2000_expr.tsv", "w") as f:
    f.write("gene_id\t" + "\t".join(samples) + "\nG\t" + "\t".join(r[1] for r in rows) + "\n")
folds(samples, f"{out}/p2000_fold3.tsv")
os.path.exists(f"{out}/p2000_geno.tsv.gz") or os.symlink(f"{fix}/genotype.tsv.gz", f"{out}/p2000_geno.tsv.gz")
# p = 6,000 synthetic
if not os.path.exists(f"{out}/p6000_geno.tsv.gz"):
    n, p = 462, 6000
    samples = [f"I{i:04d}" for i in range(n)]
    z = rng.standard_normal(2 * n)
    dos = np.empty((p, n))
    for j in range(p):
        z = 0.95 * z + np.sqrt(1 - 0.95**2) * rng.standard_normal(2 * n)
        h = (z < np.quantile(z, rng.uniform(0.02, 0.5))).astype(int)
        dos[j] = h[0::2] + h[1::2]
    beta = np.zeros(p); beta[rng.choice(p, 10, replace=False)] = rng.normal(0, 1, 10)
    g = dos.T @ beta; g = (g - g.mean()) / g.std() * np.sqrt(0.3)
    y = g + rng.normal(0, np.sqrt(0.7), n); y = (y - y.mean()) / y.std(ddof=1)
    with gzip.open(f"{out}/p6000_geno.tsv.gz", "wt", compresslevel=1) as f:
        f.write("varID\t" + "\t".join(samples) + "\n")
        for j in range(p):
            f.write(f"chr1_{1000 + j}_A_G_b38\t" + "\t".join(str(int(v)) for v in dos[j]) + "\n")
    with open(f"{out}/p6000_expr.tsv", "w") as f:
        f.write("gene_id\t" + "\t".join(samples) + "\nG\t" + "\t".join(f"{v:.6f}" for v in y) + "\n")
    folds(samples, f"{out}/p6000_fold3.tsv")
PY
declare -A BEST_ON
printf '%-7s %-9s %-10s %12s\n' p folds screening "user s"
for p in 2000 6000; do
  for f in fold1 fold3; do
    for scr in on off; do
      extra=(); [[ $scr == off ]] && extra=(--no-screening)
      best=""
      for ((r = 0; r < REPS; r++)); do
        t=$( { /usr/bin/time -f %U "$SCPX" enet cv --genotype "$WORK/p${p}_geno.tsv.gz" \
                 --expression "$WORK/p${p}_expr.tsv" --foldid "$WORK/p${p}_${f}.tsv" --threads 1 \
                 --verbosity warn --out "$WORK/out_${p}_${f}_${scr}" --overwrite "${extra[@]}" >/dev/null; } 2>&1 | tail -1)
        if [[ -z $best ]] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$t; fi
      done
      printf '%-7s %-9s %-10s %12s\n' "$p" "$f" "$scr" "$best"
      [[ $scr == on ]] && BEST_ON[${p}_${f}]=$best
    done
    for ext in cv.tsv weights.tsv summary.tsv; do
      cmp -s "$WORK/out_${p}_${f}_on.$ext" "$WORK/out_${p}_${f}_off.$ext" \
        || { echo "MISMATCH: screening changed $p $f $ext" >&2; exit 1; }
    done
  done
done
echo "screening on/off outputs identical"

# R glmnet on the same files, when it is installed (Debian: apt-get install r-cran-glmnet).
if command -v Rscript >/dev/null && Rscript -e 'suppressMessages(library(glmnet))' >/dev/null 2>&1; then
  echo
  echo "R glmnet $(Rscript -e 'cat(as.character(packageVersion("glmnet")))'), same procedure, one core (user s of the glmnet calls, best of $REPS):"
  printf '%-7s %-9s %12s %12s  %s\n' p folds "R user s" "scpx user s" "selected lambda and weights"
  for p in 2000 6000; do
    for f in fold1 fold3; do
      Rscript "$HERE/scripts/bench_enet_r.R" "$WORK/p${p}_geno.tsv.gz" "$WORK/p${p}_expr.tsv" \
        "$WORK/p${p}_${f}.tsv" "$REPS" "$WORK/r_${p}_${f}" >/dev/null
      verdict=$(/usr/bin/python3 - "$WORK" "$p" "$f" <<'PY'
import sys
w, p, f = sys.argv[1:]
def weights(path):
    rows = [l.split() for l in open(path).read().splitlines()[1:]]
    return {r[0]: float(r[1]) for r in rows}
ours, r = weights(f"{w}/out_{p}_{f}_on.weights.tsv"), weights(f"{w}/r_{p}_{f}.weights")
idx = open(f"{w}/out_{p}_{f}_on.summary.tsv").read().splitlines()[1].split("\t")[1]
r_idx = open(f"{w}/r_{p}_{f}").read().split()[0]
if idx != r_idx or set(ours) != set(r):
    print(f"DIFFERENT (index {idx} vs R {r_idx}, {len(ours)} vs {len(r)} weights)")
else:
    d = max(abs(ours[k] - r[k]) for k in ours) if ours else 0.0
    print(f"index {idx}, {len(ours)} weights, max |difference| {d:.3g}")
PY
)
      printf '%-7s %-9s %12s %12s  %s\n' "$p" "$f" "$(cut -f3 "$WORK/r_${p}_${f}" | xargs printf '%.2f')" \
        "${BEST_ON[${p}_${f}]}" "$verdict"
    done
  done
fi
