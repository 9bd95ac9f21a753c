#!/usr/bin/env bash
# Checks that MetaXcan's own SPrediXcan.py reads the PredictDB model (.db) and covariance that
# `scpx lctpred` writes, and that it gives the same associations as `scpx spredixcan` on them.
# Not part of CI: it needs a MetaXcan checkout, which the project does not ship.
#
#   scripts/check_metaxcan_compat.sh METAXCAN_SOFTWARE_DIR
#
# METAXCAN_SOFTWARE_DIR is MetaXcan's `software/` folder (the one holding SPrediXcan.py and metax/).
# Without it, or when it has no SPrediXcan.py, the check is skipped (exit 0).
# Environment:
#   SCPX             scpx binary (default: build/scpx, else build-ci/scpx)
#   METAXCAN_PYTHON  Python with numpy, pandas and scipy for MetaXcan (default: /usr/bin/python3 if
#                    present, else python3)
#   OUT              work folder (default: a fresh temporary folder, kept and printed at the end)
# What runs: `scpx lctpred` on tests/data/enet/lctpred (seed 7, as scripts/demo.sh), then both tools
# in five cases: the demo's GWAS with the demo's flags (z-scores only), and a GWAS synthesised
# from the model SNPs (swapped alleles, an allele mismatch, a strand complement, an NA z-score, a
# non-rsid row, a gene with no GWAS SNP) read as ZSCORE+BETA, as P+BETA, and as ZSCORE+BETA with
# --stream_covariance --additional_output, and keyed by varID (--model_db_snp_key varID, with the
# covariance's RSID1/RSID2 mapped to varID, since MetaXcan looks both up with that key).
# Pass: same columns in the same order, same genes in the same order (ties in pvalue may permute),
# equal text, NA where the other has NA, numbers within 1e-12 relative. Exit 1 on any mismatch or
# when MetaXcan fails on our files; exit 2 when this machine cannot run the check.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

mx=${1:-}
if [[ -z "$mx" ]]; then
    echo "SKIP: no MetaXcan software folder given (usage: $0 METAXCAN_SOFTWARE_DIR)"
    exit 0
fi
if [[ ! -f "$mx/SPrediXcan.py" ]]; then
    echo "SKIP: $mx has no SPrediXcan.py (give MetaXcan's software/ folder)"
    exit 0
fi
mx=$(cd "$mx" && pwd)

scpx=${SCPX:-}
if [[ -z "$scpx" ]]; then
    for c in "$ROOT/build/scpx" "$ROOT/build-ci/scpx"; do
        if [[ -x "$c" ]]; then scpx=$c; break; fi
    done
fi
if [[ -z "$scpx" || ! -x "$scpx" ]]; then
    echo "ERROR: no scpx binary (build it, or set SCPX=/path/to/scpx)" >&2
    exit 2
fi
py=${METAXCAN_PYTHON:-}
if [[ -z "$py" ]]; then
    if [[ -x /usr/bin/python3 ]]; then py=/usr/bin/python3; else py=python3; fi
fi
if ! "$py" -c "import numpy, pandas, scipy" 2>/dev/null; then
    echo "ERROR: $py cannot import numpy, pandas and scipy (MetaXcan needs them; set METAXCAN_PYTHON)" >&2
    exit 2
fi

out=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/scpx_metaxcan.XXXXXX")}
mkdir -p "$out"
out=$(cd "$out" && pwd)   # MetaXcan runs from its own folder: every path handed to it is absolute
echo "scpx:     $scpx ($("$scpx" --version 2>&1 | head -1))"
echo "MetaXcan: $mx (metax $("$py" -c "import sys; sys.path.insert(0, '$mx'); import metax; print(metax.__version__)" 2>/dev/null || echo '?'))"
echo "python:   $py ($("$py" -c "import sys, numpy, pandas, scipy; print('python %s, numpy %s, pandas %s, scipy %s' % (sys.version.split()[0], numpy.__version__, pandas.__version__, scipy.__version__))"))"
echo "work:     $out"

lct="$ROOT/tests/data/enet/lctpred"
echo
echo "== scpx lctpred on $lct"
"$scpx" lctpred --expression "$lct/expression.tsv" --gene-annotation "$lct/gene_annot.tsv" \
    --genotype "$lct/genotype.tsv.gz" --snp-annotation "$lct/snp_annot.tsv" --seed 7 \
    --out "$out/models" --overwrite > "$out/lctpred.stdout" 2>&1 || { tail -20 "$out/lctpred.stdout"; exit 1; }
db="$out/models.db"
cov="$out/models.covariance.txt.gz"
grep -h "models kept" "$out/lctpred.stdout" || true

# A GWAS over the model SNPs that exercises MetaXcan's harmonisation paths (seeded: reproducible).
"$py" - "$db" "$out/gwas_synth.tsv" "$cov" <<'PY'
import gzip, math, sqlite3, sys
import numpy as np
db, path = sys.argv[1], sys.argv[2]
con = sqlite3.connect(db)
rows = con.execute("select gene, rsid, ref_allele, eff_allele from weights order by gene, rsid").fetchall()
varid = dict(con.execute("select rsid, varID from weights"))
genes = sorted({g for g, *_ in rows})
rng = np.random.default_rng(20261126)
comp = {"A": "T", "T": "A", "C": "G", "G": "C"}
drop_gene = genes[-1]          # a gene with no SNP in the GWAS: absent from both outputs
seen = set()
out = ["SNP\tA1\tA2\tBETA\tSE\tP\tZSCORE"]
for k, (gene, rsid, ref, eff) in enumerate(rows):
    if rsid in seen or gene == drop_gene:
        continue
    seen.add(rsid)
    se = float(rng.uniform(0.01, 0.05))
    beta = float(rng.normal(0, 2 * se))
    z = beta / se
    p = math.erfc(abs(z) / math.sqrt(2))
    a1, a2 = eff, ref
    kind = k % 11
    if kind in (1, 4, 8):
        a1, a2 = ref, eff                      # swapped: sign flips
    elif kind == 6:
        a1, a2 = comp.get(eff, "N"), comp.get(ref, "N")   # strand complement: dropped
    elif kind == 9 and k % 2:
        a1 = "A" if eff not in ("A", ref) else "C"        # allele mismatch: dropped
        if a1 == ref:
            a1 = "G" if "G" not in (eff, ref) else "T"
    zs = "%.6g" % z
    if k == 5:
        zs, p = "NA", float("nan")                  # NA statistic: dropped
    out.append("%s\t%s\t%s\t%.6g\t%.6g\t%s\t%s" % (rsid, a1, a2, beta, se,
               "NA" if p != p else "%.6g" % p, zs))
out.append("chr1_123_A_G\tA\tG\t0.1\t0.02\t0.5\t0.67")   # non-rsid: dropped by both
with open(path, "w") as f:
    f.write("\n".join(out) + "\n")
# The same GWAS keyed by the weights' varID column (for --model_db_snp_key varID).
with open(path.replace(".tsv", "_varid.tsv"), "w") as f:
    for line in out:
        c = line.split("\t")
        c[0] = varid.get(c[0], c[0])
        f.write("\t".join(c) + "\n")
# ... and the covariance keyed by varID too (MetaXcan looks the covariance up with the same key).
cov = sys.argv[3]
with gzip.open(cov, "rt") as f, gzip.open(cov.replace(".txt.gz", "_varid.txt.gz"), "wt") as g:
    g.write(f.readline())
    for line in f:
        c = line.split()
        g.write(" ".join([c[0], varid[c[1]], varid[c[2]], c[3]]) + "\n")
PY

compare() {  # compare METAXCAN_CSV SCPX_CSV LABEL
    "$py" - "$1" "$2" "$3" <<'PY'
import csv, math, sys
mx_path, sc_path, label = sys.argv[1:4]
def load(p):
    with open(p, newline="") as f:
        r = list(csv.reader(f))
    return r[0], [x for x in r[1:] if x]
mh, mr = load(mx_path)
sh, sr = load(sc_path)
problems = []
if mh != sh:
    problems.append("header differs:\n  MetaXcan %s\n  scpx     %s" % (mh, sh))
mg, sg = [r[0] for r in mr], [r[0] for r in sr]
if sorted(mg) != sorted(sg):
    problems.append("genes differ: only MetaXcan %s, only scpx %s"
                    % (sorted(set(mg) - set(sg)), sorted(set(sg) - set(mg))))
elif mg != sg:
    # MetaXcan sorts by pvalue with an unstable sort: only rows with equal pvalue may permute.
    pi = mh.index("pvalue") if "pvalue" in mh else None
    key = lambda r: r[pi] if pi is not None else None
    def groups(rows):
        out, cur, last = [], [], object()
        for r in rows:
            k = key(r)
            kk = "NA" if k in ("NA", "nan", "") else (float(k) if k is not None else k)
            if cur and kk != last:
                out.append(sorted(x[0] for x in cur)); cur = []
            cur.append(r); last = kk
        if cur: out.append(sorted(x[0] for x in cur))
        return out
    if groups(mr) != groups(sr):
        problems.append("gene order differs:\n  MetaXcan %s\n  scpx     %s" % (mg, sg))
def num(s):
    try:
        v = float(s)
        return v
    except ValueError:
        return None
worst = {c: [0.0, 0.0, 0] for c in mh}
sidx = {c: i for i, c in enumerate(sh)}
srow = {r[0]: r for r in sr}
for r in mr:
    g = r[0]
    if g not in srow:
        continue
    t = srow[g]
    for i, c in enumerate(mh):
        if c not in sidx:
            continue
        a, b = r[i], t[sidx[c]]
        na, nb = num(a), num(b)
        a_na = a == "NA" or (na is not None and math.isnan(na))
        b_na = b == "NA" or (nb is not None and math.isnan(nb))
        if a_na or b_na:
            if a_na != b_na:
                problems.append("%s %s: MetaXcan %s, scpx %s" % (g, c, a, b))
            continue
        if na is None or nb is None:
            if a != b:
                problems.append("%s %s: MetaXcan '%s', scpx '%s'" % (g, c, a, b))
            continue
        d = abs(na - nb)
        rel = d / abs(na) if na != 0 else (0.0 if d == 0 else math.inf)
        w = worst[c]
        w[0], w[1], w[2] = max(w[0], d), max(w[1], rel), w[2] + 1
        if rel > 1e-12:
            problems.append("%s %s: MetaXcan %s, scpx %s (rel %.3g)" % (g, c, a, b, rel))
print("  %d genes; per column: max |abs diff|, max rel diff (numeric values compared)" % len(mr))
for c in mh:
    d, rel, n = worst[c]
    if n:
        print("    %-16s %.3g  %.3g  (%d values)" % (c, d, rel, n))
    else:
        print("    %-16s no numeric values (text or NA)" % c)
if problems:
    print("MISMATCH (%s):" % label)
    for p in problems[:40]:
        print("  " + p)
    sys.exit(1)
print("  OK (%s)" % label)
PY
}

status=0
run_case() {  # run_case LABEL GWAS FLAGS...
    local label=$1 gwas=$2; shift 2
    echo
    echo "== $label"
    echo "   flags: $*"
    local m="$out/$label.metaxcan.csv" s="$out/$label.scpx.csv"
    rm -f "$m" "$s"
    local cv=${CASE_COV:-$cov}
    if ! "$scpx" spredixcan --model_db_path "$db" --covariance "$cv" --gwas_file "$gwas" "$@" \
            --output_file "$s" --overwrite > "$out/$label.scpx.log" 2>&1; then
        echo "FAIL: scpx spredixcan failed (log $out/$label.scpx.log):"; tail -5 "$out/$label.scpx.log"
        status=1; return
    fi
    # --throw: a MetaXcan exception is printed with its traceback instead of a one-line INFO.
    if ! (cd "$mx" && "$py" SPrediXcan.py --model_db_path "$db" --covariance "$cv" --gwas_file "$gwas" \
            "$@" --output_file "$m" --overwrite --throw) > "$out/$label.metaxcan.log" 2>&1 || [[ ! -s "$m" ]]; then
        echo "FAIL: MetaXcan's SPrediXcan.py failed on scpx's model/covariance (log $out/$label.metaxcan.log):"
        tail -15 "$out/$label.metaxcan.log"
        if grep -qE "numpy' has no attribute '(object|str|float|int|bool)'" "$out/$label.metaxcan.log"; then
            echo "hint: this MetaXcan predates numpy 1.24 (numpy.object/numpy.str removed): use an older numpy" \
                 "(METAXCAN_PYTHON), or replace numpy.object -> object and numpy.str -> str in metax/"
        fi
        status=1; return
    fi
    compare "$m" "$s" "$label" || status=1
}

Z=(--snp_column SNP --effect_allele_column A1 --non_effect_allele_column A2)
run_case demo_gwas_zscore "$lct/gwas.tsv.gz" "${Z[@]}" --zscore_column ZSCORE
run_case synth_gwas_zscore_beta "$out/gwas_synth.tsv" "${Z[@]}" --zscore_column ZSCORE --beta_column BETA
run_case synth_gwas_pvalue_beta "$out/gwas_synth.tsv" "${Z[@]}" --pvalue_column P --beta_column BETA
# MetaXcan's streamed covariance reader needs each gene's rows contiguous and in the .db's gene order.
run_case synth_gwas_streamed_additional "$out/gwas_synth.tsv" "${Z[@]}" --zscore_column ZSCORE --beta_column BETA \
    --stream_covariance --additional_output
CASE_COV="${cov%.txt.gz}_varid.txt.gz" run_case synth_gwas_varid "$out/gwas_synth_varid.tsv" "${Z[@]}" --zscore_column ZSCORE --beta_column BETA \
    --model_db_snp_key varID --keep_non_rsid

echo
if [[ $status -eq 0 ]]; then
    echo "PASS: MetaXcan's SPrediXcan.py reads scpx lctpred's .db and covariance and agrees with scpx spredixcan (outputs in $out)"
else
    echo "FAIL: see above (outputs and logs in $out)"
fi
exit $status
