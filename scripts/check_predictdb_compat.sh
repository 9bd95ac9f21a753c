#!/usr/bin/env bash
# Checks `scpx lctpred --fold-rng r` against PredictDb-nextflow's own R script
# (bin/fast_elasticnet.R) on the bundled data: same genes, window SNP counts, selected lambda,
# CV and performance statistics, weights and covariances. Not part of CI: it needs R with glmnet,
# optparse, dplyr and reshape2 (Debian: r-cran-glmnet r-cran-optparse r-cran-dplyr
# r-cran-reshape2) and a PredictDb-nextflow checkout, which the project does not ship.
#
#   scripts/check_predictdb_compat.sh PREDICTDB_NEXTFLOW_DIR
#
# Without the folder, or without R and those packages, the check is skipped (exit 0).
# Environment: SCPX (default build/scpx, else build-ci/scpx), OUT (work folder; default a fresh
# temporary folder, kept and printed), SEED (7); other inputs than the bundled ones (all four in
# scpx's PredictDB text layouts): EXPRESSION (genes × samples), GENE_ANNOT, GENOTYPE (.tsv.gz),
# SNP_ANNOT — e.g. those of scripts/bench_lctpred.sh. Both tools run on one core; their user CPU
# times are printed (R: all chromosome jobs; scpx: the whole stage).
# The inputs are given to R as PredictDb-nextflow's workflow would: one job per chromosome with
# that chromosome's genotype and SNP annotation (the script filters neither by chromosome),
# expression transposed (samples × genes), no covariates, `--nfolds 10 --seed SEED`. Without
# covariates the R script fits raw (unscaled) expression, so scpx runs with --no-scale-expression.
# One documented difference is neutralised before the run: a SNP annotation rsid "." counts as
# missing for scpx but is kept by R's read.table (only "NA" is missing there); such rsids are given
# to R as NA.
# Pass: every gene R fits has the same status, window SNP count, lambda iteration and model size;
# every statistic within 1e-12 relative of R's printed value (R prints 15 significant digits);
# genes R leaves NA are NA or unfitted here; weights of the models scpx keeps (its inclusion filter
# is PredictDb-nextflow's later database step) with the same SNP sets and within 1e-12 absolute;
# covariances of those genes within 1e-12. Exit 1 on a mismatch, 2 when the run cannot be made.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

pdb=${1:-}
if [[ -z "$pdb" || ! -f "$pdb/bin/fast_elasticnet.R" ]]; then
    echo "SKIP: no PredictDb-nextflow checkout given (usage: $0 PREDICTDB_NEXTFLOW_DIR; it must hold bin/fast_elasticnet.R)"
    exit 0
fi
pdb=$(cd "$pdb" && pwd)
if ! command -v Rscript >/dev/null ||
   ! Rscript -e 'suppressMessages({library(glmnet); library(optparse); library(dplyr); library(reshape2)})' >/dev/null 2>&1; then
    echo "SKIP: Rscript with glmnet, optparse, dplyr and reshape2 is needed"
    exit 0
fi
scpx=${SCPX:-}
if [[ -z "$scpx" ]]; then
    for c in "$ROOT/build/scpx" "$ROOT/build-ci/scpx"; do
        [[ -x "$c" ]] && { scpx=$c; break; }
    done
fi
[[ -x "${scpx:-}" ]] || { echo "ERROR: no scpx binary (build first or set SCPX)" >&2; exit 2; }
seed=${SEED:-7}
out=${OUT:-$(mktemp -d /tmp/scpx_predictdb_compat.XXXXXX)}
mkdir -p "$out"
data="$ROOT/tests/data/enet/lctpred"
expression=${EXPRESSION:-$data/expression.tsv}
gene_annot=${GENE_ANNOT:-$data/gene_annot.tsv}
genotype=${GENOTYPE:-$data/genotype.tsv.gz}
snp_annot=${SNP_ANNOT:-$data/snp_annot.tsv}

echo "== inputs per chromosome for R ($out)"
/usr/bin/python3 - "$out" "$expression" "$genotype" "$snp_annot" <<'PY'
import gzip, sys
out, expression, genotype, snp_annot = sys.argv[1:]
ann = [l.rstrip("\n").split("\t") for l in open(snp_annot)]
geno = [l.rstrip("\n").split("\t") for l in gzip.open(genotype, "rt")]
chroms = sorted({r[0] for r in ann[1:]} & {str(c) for c in range(1, 23)}, key=int)
var_chrom = {r[2]: r[0] for r in ann[1:]}
for c in chroms:
    with open(f"{out}/snp_annot_chr{c}.tsv", "w") as f:
        f.write("\t".join(ann[0]) + "\n")
        for r in ann[1:]:
            if r[0] == c:
                f.write("\t".join(r[:5] + ["NA" if r[5] == "." else r[5]]) + "\n")
    with open(f"{out}/genotype_chr{c}.tsv", "w") as f:
        f.write("\t".join(geno[0]) + "\n")
        for r in geno[1:]:
            if var_chrom.get(r[0]) == c:
                f.write("\t".join(r) + "\n")
expr = [l.rstrip("\n").split("\t") for l in open(expression)]
with open(f"{out}/expression_samples_by_genes.tsv", "w") as f:
    f.write("\t".join(["sample"] + [r[0] for r in expr[1:]]) + "\n")
    for j, s in enumerate(expr[0][1:], start=1):
        f.write("\t".join([s] + [r[j] for r in expr[1:]]) + "\n")
open(f"{out}/chromosomes.txt", "w").write(" ".join(chroms) + "\n")
PY

echo "== R: $pdb/bin/fast_elasticnet.R, one job per chromosome"
mkdir -p "$out/r/summary" "$out/r/weights" "$out/r/chrom_summary" "$out/r/covariances"
r_user=0
for c in $(cat "$out/chromosomes.txt"); do
    (cd "$out/r" && /usr/bin/time -f %U -o "$out/r/chr$c.time" Rscript "$pdb/bin/fast_elasticnet.R" --chrom "$c" \
        --snp_annotation "$out/snp_annot_chr$c.tsv" \
        --gene_annotation "$gene_annot" --genotype_file "$out/genotype_chr$c.tsv" \
        --gene_expression "$out/expression_samples_by_genes.tsv" --nfolds 10 --n_times 3 --seed "$seed" \
        --prefix check > "$out/r/chr$c.log" 2>&1) || { echo "ERROR: R failed on chromosome $c (see $out/r/chr$c.log)" >&2; exit 2; }
    r_user=$(awk -v a="$r_user" -v b="$(tail -1 "$out/r/chr$c.time")" 'BEGIN{print a + b}')
done

echo "== scpx lctpred --fold-rng r --seed $seed --no-scale-expression"
/usr/bin/time -f %U -o "$out/scpx.time" "$scpx" lctpred --expression "$expression" --gene-annotation "$gene_annot" \
    --genotype "$genotype" --snp-annotation "$snp_annot" --fold-rng r --seed "$seed" \
    --no-scale-expression --threads 1 --out "$out/scpx" --overwrite --verbosity warn
echo "user CPU s, one core: R ${r_user}, scpx $(tail -1 "$out/scpx.time")"

echo "== comparison"
/usr/bin/python3 - "$out" <<'PY'
import glob, gzip, math, sqlite3, sys
import h5py
out = sys.argv[1]
bad = []
f = h5py.File(f"{out}/scpx.summary.h5", "r")
ids = [g.decode().split(".")[0] for g in f["gene_id"][:]]
stats = ["cv_mse", "lambda_min", "cv_R2_avg", "cv_R2_sd", "in_sample_R2", "cv_fisher_pval", "rho_avg", "rho_se",
         "rho_zscore", "zscore_pval"]
counts = ["n_snps_in_window", "lambda_iteration", "n_snps_in_model"]
ours = {ids[i]: {c: f[c][i] for c in stats + counts} | {"status": f["status"][i].decode()} for i in range(len(ids))}
n_genes = n_fitted = 0
for path in sorted(glob.glob(f"{out}/r/summary/*_model_summaries.txt")):
    rows = [l.rstrip("\n").split("\t") for l in open(path)]
    for r in rows[1:]:
        rv = dict(zip(rows[0], r))
        g = rv["gene_id"]
        n_genes += 1
        if g not in ours:
            bad.append(f"{g}: in R's summary, not in scpx's")
            continue
        o = ours[g]
        if rv["cv_mse"] == "NA":  # R: skipped (< 2 SNPs) or failed (e.g. constant expression)
            if o["status"] == "ok":
                bad.append(f"{g}: R has no fit, scpx status ok")
            continue
        n_fitted += 1
        if o["status"] != "ok":
            bad.append(f"{g}: R fitted, scpx status {o['status']}")
            continue
        for c in counts:
            if int(rv[c]) != int(o[c]):
                bad.append(f"{g}: {c} R {rv[c]} scpx {o[c]}")
        for c in stats:
            a, b = rv[c], float(o[c])
            if a == "NA":
                if not math.isnan(b):
                    bad.append(f"{g}: {c} R NA, scpx {b}")
            elif not abs(float(a) - b) <= 1e-12 * max(abs(float(a)), 1e-300):
                bad.append(f"{g}: {c} R {a} scpx {b!r}")
db = sqlite3.connect(f"{out}/scpx.db")
kept = {g.split(".")[0] for (g,) in db.execute("select gene from extra")}
ws = {(g.split(".")[0], v): w for g, v, w in db.execute("select gene, varID, weight from weights")}
wr = {}
for path in glob.glob(f"{out}/r/weights/*_weights.txt"):
    for line in list(open(path))[1:]:
        g, rsid, v, ref, alt, beta = line.split()
        if g in kept:
            wr[(g, v)] = float(beta)
def compare(what, r, ours):
    """Same keys, values within 1e-12 absolute."""
    if set(r) != set(ours):
        bad.append(f"{what}: different entries ({len(r)} in R for the kept models, {len(ours)} in scpx)")
        return
    bad.extend(f"{what} {k}: R {r[k]} scpx {ours[k]!r}" for k in ours if not abs(ours[k] - r[k]) <= 1e-12)
compare("weight", wr, ws)
def pairs(rows):
    return {(g.split(".")[0],) + tuple(sorted((a, b))): float(v) for g, a, b, v in rows}
cs = pairs(l.split() for l in list(gzip.open(f"{out}/scpx.covariance.txt.gz", "rt"))[1:])
cr = pairs(l.split() for p in glob.glob(f"{out}/r/covariances/*_covariances.txt") for l in list(open(p))[1:]
           if l.split()[0] in kept)
compare("covariance", cr, cs)
print(f"{n_genes} genes in R's summaries, {n_fitted} fitted; {len(kept)} models kept by scpx, {len(ws)} weights, "
      f"{len(cs)} covariance entries compared")
if bad:
    print("MISMATCH:\n  " + "\n  ".join(bad[:40]))
    sys.exit(1)
print("PASS: scpx lctpred equals PredictDb-nextflow's fast_elasticnet.R on these inputs")
PY
echo "(work folder kept: $out)"
