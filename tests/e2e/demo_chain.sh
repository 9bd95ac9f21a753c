#!/usr/bin/env bash
# The whole scPrediXcan chain (scripts/demo_chain.sh: reference features -> ctPred targets and
# training -> personalised features -> ctPred prediction -> l-ctPred -> S-PrediXcan) at 2 MPI ranks
# on a small demo data set (60 of the 1000 Genomes chr20 individuals, 6 training genes per
# contig): every stage reads the previous one's output as written. Checks: ctPred learns the
# planted promoter-GC signal (test Pearson r > 0.3 per cell type), personalised expression varies
# between individuals, every cell type gets elastic-net models, and S-PrediXcan reports a finite
# z-score for every gene of each cell type's models. Exit 77 (skipped) without the Enformer
# fixture, bcftools or /usr/bin/python3 with numpy and h5py.
source "$(dirname "$0")/e2e_lib.sh"
require_demo_data

expect_ok make_data $PY "$SRC/scripts/make_demo_data.py" --outdir "$WORK/in" --individuals 60 --training-genes 6
expect_ok chain bash "$SRC/scripts/demo_chain.sh" "$SCPX" "$WORK/in" "$weights" "$WORK/out" 2
if [[ $failures -gt 0 ]]; then finish; exit 1; fi

check chain_results $PY - "$WORK/out" <<'PY'
import csv, math, os, sqlite3, sys
import h5py, numpy as np
out = sys.argv[1]
cell_types = ["CD4_T", "B", "Mono"]
with h5py.File(f"{out}/ctpred.h5", "r") as w:
    for ct in cell_types:
        r = w[ct].attrs["test_pearson"]
        assert r > 0.3, f"{ct}: ctPred test Pearson r {r}"
with h5py.File(f"{out}/predicted.h5", "r") as p:
    genes = [g.decode() for g in p["gene_id"][()]]
    for ct in cell_types:
        pred = p[f"{ct}/pred"][()]
        assert pred.shape == (len(genes), 60), pred.shape
        assert np.isfinite(pred).all()
        assert (pred.std(axis=1) > 0).sum() > len(genes) // 2, f"{ct}: expression does not vary"
for ct in cell_types:
    db = sqlite3.connect(f"{out}/lctpred/{ct}.db")
    modelled = {g for (g,) in db.execute("SELECT DISTINCT gene FROM weights")}
    assert modelled and modelled <= set(genes), ct
    with open(f"{out}/assoc/{ct}.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["gene"] for r in rows} == modelled, ct
    assert all(math.isfinite(float(r["zscore"])) for r in rows), ct
    print(f"{ct}: {len(modelled)} models, top gene {min(rows, key=lambda r: float(r['pvalue']))['gene_name']}")
PY
finish
