#!/usr/bin/env bash
# End-to-end test of `scpx enet cv` on the shared glmnet fixture (enet/case2_p2000):
#  1. one fold column = cv.glmnet: lambda index 39, the 48 reference SNPs, weights and the CV
#     curve equal to R's (cv10_weights_lambda_min.tsv, cv10_cv.tsv);
#  2. three fold columns = the PredictDB 3-repeat scheme runs and writes consistent outputs;
#  3. bad input (a sample without fold id, a non-numeric dosage) fails with a message naming the
#     file and the culprit, and leaves no output files.
# Usage: enet_cv_e2e.sh [scpx binary] [shared fixtures dir] [scratch dir]; defaults from the
# environment CTest sets (SCPX, SCPX_SHARED_FIXTURES, WORK). Exit 77 = skipped (no fixture).
set -u
scpx=${1:-$SCPX}
fix=${2:-$SCPX_SHARED_FIXTURES}/enet/case2_p2000
work=${3:-$WORK}/enet_cv_e2e
if [[ ! -d $fix ]]; then
    echo "SKIP: $fix not found"
    exit 77
fi
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
fail() { echo "FAIL: $*"; exit 1; }

# Expression: one gene row x samples, from the fixture's adjusted expression (sample y).
awk -F'\t' 'NR>1{h=h"\t"$1; v=v"\t"$2} END{print "gene_id"h; print "SIMGENE"v}' "$fix/y_adj.tsv" > expr.tsv

# 1. cv.glmnet on the fixture folds.
"$scpx" enet cv --genotype "$fix/genotype.tsv.gz" --expression expr.tsv --foldid "$fix/foldid.tsv" \
    --out one --verbosity warn || fail "scpx enet cv exited with $?"
read -r lam idx nsnp nnz status < <(sed -n 2p one.summary.tsv)
[[ $idx == 39 && $nsnp == 2000 && $nnz == 48 && $status == ok ]] ||
    fail "summary: '$lam $idx $nsnp $nnz $status', expected index 39, 2000 SNPs, 48 weights, ok"
[[ $(head -1 one.weights.tsv) == $'varID\tweight' ]] || fail "weights header"
awk -F'\t' 'FNR==1{next} NR==FNR{ref[$1]=$2; n++; next}
    {m++; if (!($1 in ref)) {print "extra SNP " $1; bad=1; next}
     d=$2-ref[$1]; if (d<0) d=-d; if (d>1e-10) {print "weight " $1 " differs by " d; bad=1}}
    END{if (m!=n) {print m " weights, reference has " n; bad=1} exit bad}' \
    "$fix/ref/cv10_weights_lambda_min.tsv" one.weights.tsv || fail "weights differ from glmnet"
awk -F'\t' 'FNR==1{next} NR==FNR{cvm[FNR]=$3; nz[FNR]=$5; n=FNR; next}
    {r=$2/cvm[FNR]-1; if (r<0) r=-r; if (r>1e-6 || $4!=nz[FNR]) {print "row " FNR ": " $0; bad=1}}
    END{if (FNR!=n) {print "rows: " FNR " vs " n; bad=1} exit bad}' \
    "$fix/ref/cv10_cv.tsv" one.cv.tsv || fail "CV curve differs from cv.glmnet"

# 2. PredictDB scheme with 3 fold assignments.
awk -F'\t' 'NR==1{print "sample\tr1\tr2\tr3"; next}
    {print $1 "\t" $2 "\t" ($2 + 3 * NR) % 10 + 1 "\t" (7 * NR + 1) % 10 + 1}' "$fix/foldid.tsv" > folds3.tsv
"$scpx" enet cv --genotype "$fix/genotype.tsv.gz" --expression expr.tsv --foldid folds3.tsv \
    --out three --verbosity warn || fail "3-repeat run exited with $?"
read -r lam idx nsnp nnz status < <(sed -n 2p three.summary.tsv)
[[ $status == ok && $idx -ge 1 && $idx -le 100 && $nnz -gt 0 ]] || fail "3-repeat summary: $lam $idx $nnz $status"
[[ $(($(wc -l < three.weights.tsv) - 1)) == "$nnz" ]] || fail "3-repeat weights count"
[[ $(sed -n "$((idx + 1))p" three.cv.tsv | cut -f1) == "$lam" ]] || fail "3-repeat lambda not on the cv curve"

# A gene that cannot be fitted is data, not an error: exit 0, status in the summary.
awk -F'\t' 'NR==1{print; next} {printf "%s", $1; for (i = 2; i <= NF; i++) printf "\t1.5"; print ""}' expr.tsv > const.tsv
"$scpx" enet cv --genotype "$fix/genotype.tsv.gz" --expression const.tsv --foldid "$fix/foldid.tsv" \
    --out const --verbosity warn || fail "constant expression run exited with $?"
[[ $(sed -n 2p const.summary.tsv) == $'NA\tNA\t2000\t0\tconstant_expression' ]] ||
    fail "constant expression summary: $(sed -n 2p const.summary.tsv)"
[[ $(wc -l < const.cv.tsv) == 1 && $(wc -l < const.weights.tsv) == 1 ]] || fail "constant expression: rows written"

# 3. Bad input: no outputs, a clear message, non-zero exit.
expect_failure() { # name, expected message part, command...
    local name=$1 msg=$2
    shift 2
    "$@" --out "$name" > "$name.stdout" 2>&1 && fail "$name: exit 0"
    grep -qF -- "$msg" "$name.stdout" || { cat "$name.stdout"; fail "$name: message lacks '$msg'"; }
    for s in cv weights summary; do [[ -e $name.$s.tsv ]] && fail "$name: $name.$s.tsv written"; done
    return 0
}
grep -v '^SIM-0007' "$fix/foldid.tsv" > folds_missing.tsv
expect_failure missing_sample "SIM-0007" \
    "$scpx" enet cv --genotype "$fix/genotype.tsv.gz" --expression expr.tsv --foldid folds_missing.tsv
grep -qF folds_missing.tsv missing_sample.stdout || fail "missing_sample: message does not name the file"
zcat "$fix/genotype.tsv.gz" | head -4 | awk -F'\t' 'BEGIN{OFS="\t"} NR==3{$5="abc"} {print}' | gzip > bad_geno.tsv.gz
expect_failure bad_dosage "bad_geno.tsv.gz" \
    "$scpx" enet cv --genotype bad_geno.tsv.gz --expression expr.tsv --foldid "$fix/foldid.tsv"
grep -q "line 3" bad_dosage.stdout || fail "bad_dosage: message does not name the line"
# 4. Outputs: refused when they exist (no --overwrite), replaced with it; a directory in the way
#    fails before any work and leaves none of the three tables.
"$scpx" enet cv --genotype "$fix/genotype.tsv.gz" --expression expr.tsv --foldid "$fix/foldid.tsv" \
    --out one --verbosity warn > exists.stdout 2>&1 && fail "existing outputs replaced without --overwrite"
grep -qF "one.cv.tsv exists; pass --overwrite" exists.stdout || fail "existing outputs: $(cat exists.stdout)"
"$scpx" enet cv --genotype "$fix/genotype.tsv.gz" --expression expr.tsv --foldid "$fix/foldid.tsv" \
    --out one --overwrite --verbosity warn || fail "--overwrite run exited with $?"
mkdir -p dir.summary.tsv
"$scpx" enet cv --genotype "$fix/genotype.tsv.gz" --expression expr.tsv --foldid "$fix/foldid.tsv" \
    --out dir > dir.stdout 2>&1 && fail "dir: exit 0"
grep -qF "dir.summary.tsv: it is a directory" dir.stdout || fail "dir: $(cat dir.stdout)"
[[ -e dir.cv.tsv || -e dir.weights.tsv ]] && fail "dir: part of the output set written"
ls -a | grep -q scpx-staged && fail "staged files left behind"
# Options that do nothing here are refused; nan is not a number in range.
for opt in "--seed 1" "--split 2" "--job 1" "--alpha nan"; do
    "$scpx" enet cv --genotype "$fix/genotype.tsv.gz" --expression expr.tsv --foldid "$fix/foldid.tsv" \
        --out opt $opt > opt.stdout 2>&1 && fail "enet cv accepted $opt"
done
# Fold ids above the sample count and dosages outside 0..2 are named where they are read.
awk -F'\t' 'BEGIN{OFS="\t"} NR==3{$2=1000000} {print}' "$fix/foldid.tsv" > folds_big.tsv
expect_failure fold_big "folds_big.tsv, line 3" \
    "$scpx" enet cv --genotype "$fix/genotype.tsv.gz" --expression expr.tsv --foldid folds_big.tsv
zcat "$fix/genotype.tsv.gz" | head -4 | awk -F'\t' 'BEGIN{OFS="\t"} NR==3{$5="2.5"} {print}' | gzip > range_geno.tsv.gz
expect_failure dosage_range "range_geno.tsv.gz, line 3" \
    "$scpx" enet cv --genotype range_geno.tsv.gz --expression expr.tsv --foldid "$fix/foldid.tsv"
grep -q "outside 0..2" dosage_range.stdout || fail "dosage_range: $(cat dosage_range.stdout)"
# Under mpirun rank 0 fits and writes; the others wait (every rank writing failed the run).
if command -v mpirun > /dev/null; then
    flags=(--oversubscribe); [[ $(id -u) -eq 0 ]] && flags+=(--allow-run-as-root)
    mpirun "${flags[@]}" -n 2 "$scpx" enet cv --genotype "$fix/genotype.tsv.gz" --expression expr.tsv \
        --foldid "$fix/foldid.tsv" --out np2 --verbosity warn > np2.stdout 2>&1 || fail "mpirun -n 2: $(cat np2.stdout)"
    for ext in cv.tsv weights.tsv summary.tsv; do
        cmp -s "one.$ext" "np2.$ext" || fail "mpirun -n 2 wrote another $ext"
    done
fi
echo "PASS"
