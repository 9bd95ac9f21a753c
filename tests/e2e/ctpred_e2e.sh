#!/usr/bin/env bash
# `scpx ctpred targets|train|predict` through the CLI: targets from CSVs and an .h5ad, training on
# two cell types, prediction TSVs, an official-layout PyTorch model converted with
# scripts/convert_ctpred_pt.py and predicted identically, the fixture (when present), the plot
# script, and bad inputs (clear ERROR, no output left). Needs /usr/bin/python3 with numpy, h5py
# and torch; exits 77 (skipped) without them.
source "$(dirname "$0")/e2e_lib.sh"
PY=/usr/bin/python3
SRC=${SCPX_SOURCE_DIR:?}
$PY -c "import numpy, h5py, torch" 2>/dev/null || { echo "skip: /usr/bin/python3 lacks numpy/h5py/torch"; exit 77; }

# Small data: 400 genes x 16 features on chr1..chr22, two cell types' pseudobulk CSVs.
$PY - "$WORK" <<'PY'
import sys, numpy as np, h5py
w = sys.argv[1]; rng = np.random.default_rng(1)
g, d = 400, 16
ids = [f"ENSG{i:05d}" for i in range(g)]
with h5py.File(f"{w}/feat.h5", "w") as f:
    f["X"] = rng.gamma(0.5, 1.0, (g, d)).astype("float32")
    f["gene_id"] = np.array(ids, dtype=h5py.string_dtype())
    f["gene_chrom"] = np.array([f"chr{i % 22 + 1}" for i in range(g)], dtype=h5py.string_dtype())
    f["X3"] = np.stack([f["X"][()], 1.5 * f["X"][()]])
for ct in ("Tcell", "Bcell"):
    counts = rng.poisson(rng.gamma(1.0, 20.0, g)[:, None], (g, 4))
    with open(f"{w}/{ct}.csv", "w") as o:
        o.write("gene_id,d1,d2,d3,d4\n")
        for i in range(g):
            o.write(ids[i] + "," + ",".join(str(v) for v in counts[i]) + "\n")
with h5py.File(f"{w}/bad.h5ad", "w") as f:
    f["X"] = np.ones((3, 2), dtype="float32")
    f["obs/_index"] = np.array(["a", "b", "c"], dtype=h5py.string_dtype())
    f["obs/celltype"] = np.array(["T", "T", "B"], dtype=h5py.string_dtype())
    f["obs"].attrs["_index"] = "_index"
    f["var/_index"] = np.array(["g1", "g2"], dtype=h5py.string_dtype())
PY

expect_ok targets_csv "$SCPX" ctpred targets --pseudobulk "$WORK/Tcell.csv" "$WORK/Bcell.csv" --out "$WORK/targets.h5"
expect_ok train_two_cell_types "$SCPX" ctpred train --features "$WORK/feat.h5:/X" --targets "$WORK/targets.h5:/y" \
  --gene-chrom "$WORK/feat.h5:/gene_chrom" --epochs 4 --batch-size 64 --hidden 8 --threads 1 --device cpu \
  --out "$WORK/w.h5"
check train_logs_test_metrics grep -q "Spearman r" "$WORK/w.log"
expect_ok predict_3d "$SCPX" ctpred predict --features "$WORK/feat.h5:/X3" --weights "$WORK/w.h5" --device cpu \
  --out "$WORK/pred"
check predict_tsv_per_cell_type test -s "$WORK/pred.Tcell.tsv" -a -s "$WORK/pred.Bcell.tsv"
check predict_tsv_header bash -c "head -1 '$WORK/pred.Tcell.tsv' | grep -qP '^gene_id\tind1\tind2$'"
check predict_tsv_rows bash -c "[[ \$(wc -l < '$WORK/pred.Bcell.tsv') -eq 401 ]]"
# The layout `scpx features personal` writes, [genes, individuals, d] marked by the attribute
# axes=gene,sample,track, gives the same predictions; an unknown axes value is refused.
$PY - "$WORK" <<'PY'
import sys, numpy as np, h5py
w = sys.argv[1]
with h5py.File(f"{w}/feat.h5", "a") as f:
    for name, axes in (("X3g", "gene,sample,track"), ("X3bad", "track,gene,sample")):
        if name in f:
            del f[name]
        f[name] = np.ascontiguousarray(f["X3"][()].transpose(1, 0, 2))
        f[name].attrs["axes"] = axes
PY
expect_ok predict_gene_major "$SCPX" ctpred predict --features "$WORK/feat.h5:/X3g" --weights "$WORK/w.h5" \
  --device cpu --out "$WORK/pred_gm"
check predict_gene_major_same_tsv cmp "$WORK/pred.Tcell.tsv" "$WORK/pred_gm.Tcell.tsv"
expect_fail predict_axes_unknown "features must be gene,sample,track or sample,gene,track" "$WORK/pred_bad_axes.h5" -- \
  "$SCPX" ctpred predict --features "$WORK/feat.h5:/X3bad" --weights "$WORK/w.h5" --device cpu --out "$WORK/pred_bad_axes"

# Real AnnData files (python3-anndata, when installed): CSR and dense X, categorical obs columns;
# targets checked against a scipy rankdata reference.
if $PY -c "import anndata, pandas, scipy" 2>/dev/null; then
  $PY - "$WORK" <<'PY'
import sys, anndata as ad, numpy as np, pandas as pd, scipy.sparse as sp
from scipy.stats import rankdata
w = sys.argv[1]; rng = np.random.default_rng(0); n, g = 60, 7
X = rng.poisson(3, (n, g)).astype("float32")
obs = pd.DataFrame({"cell_type": pd.Categorical(rng.choice(["T", "B"], n)),
                    "donor": pd.Categorical(rng.choice(["d1", "d2", "d3", "d4"], n))}, index=[f"c{i}" for i in range(n)])
var = pd.DataFrame(index=[f"g{i}" for i in range(g)])
ad.AnnData(X=sp.csr_matrix(X), obs=obs, var=var).write_h5ad(f"{w}/ad_csr.h5ad")
ad.AnnData(X=X, obs=obs, var=var).write_h5ad(f"{w}/ad_dense.h5ad")
ad.AnnData(X=np.log1p(X / X.sum(1, keepdims=True) * 1e4), obs=obs, var=var,
           layers={"counts": sp.csr_matrix(X)}).write_h5ad(f"{w}/ad_layers.h5ad")
rows = []
for ct in ["T", "B"]:  # first-seen order is not guaranteed: the check matches by name
    m = (obs.cell_type == ct).values
    cpm = [X[m & (obs.donor == d).values].sum(0) for d in sorted(set(obs.donor[m]))]
    rows.append(ct + " " + " ".join(repr(v) for v in rankdata(np.mean([np.log1p(c / c.sum() * 1e6) for c in cpm], 0)) / g))
open(f"{w}/ad_expected.txt", "w").write("\n".join(rows) + "\n")
PY
  for kind in csr dense layers; do
    expect_ok "targets_anndata_$kind" "$SCPX" ctpred targets --h5ad "$WORK/ad_$kind.h5ad" --donor-column donor --log1p \
      $([[ $kind == layers ]] && echo "--matrix layers/counts") --out "$WORK/ad_t_$kind.h5"
    check "targets_anndata_${kind}_values" $PY - "$WORK/ad_t_$kind.h5" "$WORK/ad_expected.txt" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
names = [c.decode() if isinstance(c, bytes) else c for c in f["cell_type"][()]]
y = f["y"][()]
for line in open(sys.argv[2]):
    ct, *vals = line.split()
    if np.max(np.abs(y[:, names.index(ct)] - np.array(vals, float))) > 1e-12: sys.exit(1)
PY
  done
  expect_ok targets_anndata_normalised_x "$SCPX" ctpred targets --h5ad "$WORK/ad_layers.h5ad" --donor-column donor \
    --out "$WORK/ad_t_norm.h5"
  check warns_on_non_integer_x grep -q "non-integer values: targets expect raw counts" "$WORK/targets_anndata_normalised_x.log"
fi

# Cell types split over MPI ranks: the same file, byte for byte, at any rank count.
if command -v mpirun > /dev/null && command -v h5diff > /dev/null; then
  MPIFLAGS=(--oversubscribe); [[ $(id -u) -eq 0 ]] && MPIFLAGS+=(--allow-run-as-root)
  for np in 1 2 3; do
    expect_ok "train_mpi_np$np" mpirun "${MPIFLAGS[@]}" -n $np "$SCPX" ctpred train --features "$WORK/feat.h5:/X" \
      --targets "$WORK/targets.h5:/y" --gene-chrom "$WORK/feat.h5:/gene_chrom" --epochs 3 --batch-size 64 --hidden 8 \
      --threads 1 --device cpu --out "$WORK/w_np$np.h5"
  done
  check mpi_np2_equals_np1 cmp "$WORK/w_np1.h5" "$WORK/w_np2.h5"
  check mpi_np3_equals_np1 cmp "$WORK/w_np1.h5" "$WORK/w_np3.h5"
  check mpi_no_rank_files_left bash -c "! ls -a '$WORK' | grep -q 'scpx-tmp'"
  # Another run writing the weights: refused on every rank before training, one ERROR line.
  hold_output_claim "$WORK/w_claimed.h5"
  rc=0; mpirun "${MPIFLAGS[@]}" -n 2 "$SCPX" ctpred train --features "$WORK/feat.h5:/X" --targets "$WORK/targets.h5:/y" \
    --gene-chrom "$WORK/feat.h5:/gene_chrom" --epochs 3 --batch-size 64 --hidden 8 --threads 1 --device cpu \
    --out "$WORK/w_claimed.h5" > "$WORK/train_claimed.log" 2>&1 || rc=$?
  release_output_claim
  check train_claimed_fails test "$rc" -ne 0
  check train_claimed_names_holder grep -q "w_claimed.h5 is being written by another run" "$WORK/train_claimed.log"
  check train_claimed_one_error one_error_line "$WORK/train_claimed.log"
  check train_claimed_before_training bash -c "! grep -q 'training cell type' '$WORK/train_claimed.log'"
  # Targets under MPI: rank 0 reads and writes (every rank writing the one file failed with
  # "unable to lock file"); the same file as one process.
  for np in 2 3; do
    expect_ok "targets_mpi_np$np" mpirun "${MPIFLAGS[@]}" -n $np "$SCPX" ctpred targets \
      --pseudobulk "$WORK/Tcell.csv" "$WORK/Bcell.csv" --out "$WORK/targets_np$np.h5"
    check "targets_mpi_np${np}_same" cmp "$WORK/targets.h5" "$WORK/targets_np$np.h5"
  done
  # Prediction under MPI (rank 0 writes; every rank writing the same files used to fail at random
  # with HDF5 lock and rename errors): the same files as one process, every time.
  for np in 2 4; do
    for rep in a b; do
      expect_ok "predict_mpi_np${np}_$rep" mpirun "${MPIFLAGS[@]}" -n $np "$SCPX" ctpred predict \
        --features "$WORK/feat.h5:/X3" --weights "$WORK/w.h5" --device cpu --threads 1 --out "$WORK/p3_np${np}_$rep"
      for ext in h5 Tcell.tsv Bcell.tsv; do
        check "predict_mpi_np${np}_${rep}_same_$ext" cmp "$WORK/pred.$ext" "$WORK/p3_np${np}_$rep.$ext"
      done
    done
  done
fi

# An official-layout torch model (shared hidden layer reused 3x), converted and predicted.
$PY - "$WORK" <<'PY'
import sys, torch, h5py, numpy as np
w = sys.argv[1]; torch.manual_seed(1024)
d = 16
shared = torch.nn.Linear(64, 64)
layers = [torch.nn.Linear(d, 64), torch.nn.ReLU(), torch.nn.Dropout(0.05)]
for _ in range(3):
    layers += [shared, torch.nn.ReLU(), torch.nn.Dropout(0.05)]
layers.append(torch.nn.Linear(64, 1))
class M(torch.nn.Module):
    def __init__(self):
        super().__init__(); self.net = torch.nn.Sequential(*layers)
    def forward(self, x): return self.net(x)
m = M().double().eval()
torch.save(m.state_dict(), f"{w}/official.pt")
x = torch.tensor(h5py.File(f"{w}/feat.h5", "r")["X"][()], dtype=torch.float64)
np.savetxt(f"{w}/torch_pred.txt", m(x).detach().numpy()[:, 0], fmt="%.12g")
PY
expect_ok convert_pt $PY "$SRC/scripts/convert_ctpred_pt.py" "$WORK/official.h5" "$WORK/official.pt" --dtype float64
expect_ok predict_official "$SCPX" ctpred predict --features "$WORK/feat.h5:/X" --weights "$WORK/official.h5" \
  --device cpu --out "$WORK/official_pred"
check official_matches_torch $PY - "$WORK" <<'PY'
import sys, numpy as np
w = sys.argv[1]
ref = np.loadtxt(f"{w}/torch_pred.txt")
got = np.loadtxt(f"{w}/official_pred.model.tsv", skiprows=1, usecols=1)
err = np.max(np.abs(got - ref)); print("max abs diff vs torch:", err)
sys.exit(0 if err < 1e-9 else 1)
PY
# A converted model named with a '/' (real labels such as "CD4+ T/NK") lands under the escaped
# group that scpx itself writes, so predict finds it and names the TSV after the escaped link.
expect_ok convert_pt_slash $PY "$SRC/scripts/convert_ctpred_pt.py" "$WORK/official_slash.h5" \
  "CD4+ T/NK=$WORK/official.pt" "B=$WORK/official.pt" --dtype float64
expect_ok predict_official_slash "$SCPX" ctpred predict --features "$WORK/feat.h5:/X" \
  --weights "$WORK/official_slash.h5" --device cpu --out "$WORK/official_slash_pred"
check official_slash_same_numbers bash -c "cmp <(cut -f2 '$WORK/official_pred.model.tsv' | tail -n +2) \
  <(cut -f2 '$WORK/official_slash_pred.CD4+ T%2FNK.tsv' | tail -n +2)"

# The PyTorch reference fixture through the CLI (fp64), when present.
FX="${SCPX_SHARED_FIXTURES:-}/ctpred/case_small.h5"
if [[ -f "$FX" ]]; then
  expect_ok fixture_fp64 "$SCPX" ctpred train --features "$FX:/X" --targets "$FX:/y" --gene-chrom "$FX:/gene_chrom" \
    --init-weights "$FX:/init" --batch-order "$FX:/batch_order" --epochs 3 --dropout 0 --precision fp64 \
    --device cpu --threads 2 --out "$WORK/fixture_w.h5"
  check fixture_matches_torch $PY - "$WORK/fixture_w.h5" "$FX" <<'PY'
import sys, h5py, numpy as np
a, r = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
worst = 0
for n in ["net.0.weight", "net.0.bias", "net.3.weight", "net.3.bias", "net.12.weight", "net.12.bias"]:
    ref = r["f64/final/" + n][()]
    worst = max(worst, np.max(np.abs(a[n][()] - ref)) / np.max(np.abs(ref)))
worst = max(worst, np.max(np.abs(a["test_pred"][()] - r["f64/test_pred"][()])))
print("worst scaled diff:", worst); sys.exit(0 if worst < 1e-10 else 1)
PY
  check plot_png bash -c "$PY '$SRC/scripts/plot_ctpred.py' '$WORK/fixture_w.h5' '$WORK/plot' && test -s '$WORK/plot.png'"
fi

# Bad inputs: one ERROR line, nothing written.
expect_fail h5ad_missing_columns "no column 'cell_type'; columns present: celltype" "$WORK/t_bad.h5" -- \
  "$SCPX" ctpred targets --h5ad "$WORK/bad.h5ad" --out "$WORK/t_bad.h5"
expect_fail too_few_donors "has 4 donors with counts; --min-donors is 5" "$WORK/t_few.h5" -- \
  "$SCPX" ctpred targets --pseudobulk "$WORK/Tcell.csv" --min-donors 5 --out "$WORK/t_few.h5"
$PY -c "import h5py, numpy as np; h5py.File(\"$WORK/feat2.h5\", \"w\")[\"X\"] = np.ones((5, 32), \"float32\")"
expect_fail width_mismatch "have 32 columns but model" "$WORK/p_bad.h5" -- \
  "$SCPX" ctpred predict --features "$WORK/feat2.h5:/X" --weights "$WORK/official.h5" --out "$WORK/p_bad"

# Names and ids that would misalign the data or break the HDF5/TSV output.
TRAIN=("$SCPX" ctpred train --features "$WORK/feat.h5:/X" --targets "$WORK/targets.h5:/y"
  --gene-chrom "$WORK/feat.h5:/gene_chrom" --epochs 2 --batch-size 64 --hidden 8 --threads 1 --device cpu)
expect_fail cell_types_unknown "no cell type 'Nope' in .*; available: Tcell, Bcell" "$WORK/w_nope.h5" -- \
  "${TRAIN[@]}" --cell-types Tcell,Nope --out "$WORK/w_nope.h5"
expect_fail cell_types_empty "--cell-types is empty" "$WORK/w_empty.h5" -- \
  "${TRAIN[@]}" --cell-types "" --out "$WORK/w_empty.h5"
expect_fail seed_negative "--seed: must be an integer ≥ 0" "$WORK/w_seed.h5" -- "${TRAIN[@]}" --seed -1 --out "$WORK/w_seed.h5"
expect_fail lr_nan "--lr must be a finite number > 0 \(got nan\)" "$WORK/w_lrnan.h5" -- \
  "${TRAIN[@]}" --lr nan --out "$WORK/w_lrnan.h5"
expect_fail lr_negative "--lr must be a finite number > 0" "$WORK/w_lrneg.h5" -- \
  "${TRAIN[@]}" --lr -1 --out "$WORK/w_lrneg.h5"
expect_fail weight_decay_inf "--weight-decay must be a finite number >= 0" "$WORK/w_wdinf.h5" -- \
  "${TRAIN[@]}" --weight-decay inf --out "$WORK/w_wdinf.h5"
expect_fail lr_diverges "cell type Tcell: training diverged in epoch 1" "$WORK/w_lrbig.h5" -- \
  "${TRAIN[@]}" --lr 1e30 --out "$WORK/w_lrbig.h5"
# Option values are usage errors (exit 2); a diverged run is a failure (exit 1).
rc_of() { local rc=0; "$@" > /dev/null 2>&1 || rc=$?; echo $rc; }
check lr_nan_exit_2 test "$(rc_of "${TRAIN[@]}" --lr nan --out "$WORK/w_rc.h5")" -eq 2
check lr_diverges_exit_1 test "$(rc_of "${TRAIN[@]}" --lr 1e30 --out "$WORK/w_rc.h5")" -eq 1
# A duplicated gene row in a pseudobulk CSV (both lines named) and 400 copies of one feature id.
{ cat "$WORK/Tcell.csv"; sed -n 3p "$WORK/Tcell.csv"; } > "$WORK/dupgene.csv"
expect_fail csv_duplicate_gene "lines 3 and 402, field 'gene_id': duplicate gene id 'ENSG00001'" "$WORK/t_dup.h5" -- \
  "$SCPX" ctpred targets --pseudobulk "X=$WORK/dupgene.csv" --min-donors 1 --out "$WORK/t_dup.h5"
$PY -c "
import h5py, numpy as np
with h5py.File('$WORK/feat.h5') as s, h5py.File('$WORK/featdup.h5', 'w') as f:
    f['X'] = s['X'][()]; f['gene_chrom'] = s['gene_chrom'][()]
    f['gene_id'] = np.array(['ENSG00000'] * 400, dtype=h5py.string_dtype())"
expect_fail features_duplicate_gene "featdup.h5, entries 0 and 1, field '/gene_id': duplicate gene id" "$WORK/w_dup.h5" -- \
  "$SCPX" ctpred train --features "$WORK/featdup.h5:/X" --targets "$WORK/targets.h5:/y" \
  --gene-chrom "$WORK/featdup.h5:/gene_chrom" --epochs 2 --hidden 8 --device cpu --out "$WORK/w_dup.h5"
# A cell type with '/' (a real label) and one named '.': escaped group and TSV names, names kept.
expect_ok targets_slash_names "$SCPX" ctpred targets --pseudobulk "CD4+ T/NK=$WORK/Tcell.csv" ".=$WORK/Bcell.csv" \
  --out "$WORK/t_slash.h5"
expect_ok train_slash_names "$SCPX" ctpred train --features "$WORK/feat.h5:/X" --targets "$WORK/t_slash.h5:/y" \
  --gene-chrom "$WORK/feat.h5:/gene_chrom" --epochs 2 --batch-size 64 --hidden 8 --threads 1 --device cpu \
  --out "$WORK/w_slash.h5"
expect_ok predict_slash_names "$SCPX" ctpred predict --features "$WORK/feat.h5:/X3" --weights "$WORK/w_slash.h5" \
  --device cpu --out "$WORK/pred_slash"
check predict_slash_escaped_tsv test -s "$WORK/pred_slash.CD4+ T%2FNK.tsv" -a -s "$WORK/pred_slash.%2E.tsv"
check train_slash_names_kept $PY -c "
import h5py, sys
f = h5py.File('$WORK/w_slash.h5', 'r')
sys.exit(0 if [c.decode() for c in f['cell_types'][()]] == ['CD4+ T/NK', '.'] and 'CD4+ T%2FNK' in f else 1)"
finish
