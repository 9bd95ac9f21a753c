#!/usr/bin/env bash
# Benchmark of `scpx lctpred` (l-ctPred stage): synthetic chromosome with LD, N_GENES genes,
# n = N_SAMPLES individuals, ~P_WINDOW SNPs per cis window (gene ± 1 Mb), full PredictDb-nextflow
# procedure (3 repeats × 10-fold cv.glmnet, alpha 0.5). Prints genes/s.
# Usage: scripts/bench_lctpred.sh [build-dir] [ranks] [threads]
# Env: N_GENES (200), N_SAMPLES (462), P_WINDOW (800), WORK (/tmp/bench_lctpred),
#      EXTRA (more lctpred options, e.g. "--phi")
set -euo pipefail
BUILD=${1:-build}
RANKS=${2:-1}
THREADS=${3:-2}
N_GENES=${N_GENES:-200}
N_SAMPLES=${N_SAMPLES:-462}
P_WINDOW=${P_WINDOW:-800}
WORK=${WORK:-/tmp/bench_lctpred}
SCPX=$(cd "$BUILD" && pwd)/scpx
mkdir -p "$WORK"
if [[ ! -s "$WORK/genotype_${N_GENES}_${N_SAMPLES}_${P_WINDOW}.tsv.gz" ]]; then
/usr/bin/python3 - "$WORK" "$N_GENES" "$N_SAMPLES" "$P_WINDOW" <<'PY'
import gzip, sys
import numpy as np
out, G, n, P = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(1)
spacing = 250_000                      # genes every 250 kb
length = G * spacing + 2_000_000
m = int(P * length / 2_000_000)        # SNP density giving ~P SNPs per 2 Mb window
pos = np.sort(rng.choice(np.arange(1, length), m, replace=False))
af = rng.uniform(0.02, 0.5, m)
z = rng.standard_normal(2 * n)
dos = np.empty((m, n), dtype=np.int8)
for j in range(m):
    z = 0.9 * z + np.sqrt(1 - 0.81) * rng.standard_normal(2 * n)
    h = (z < np.quantile(z, af[j])).astype(np.int8)
    dos[j] = h[0::2] + h[1::2]
samples = [f"I{i:04d}" for i in range(n)]
tag = f"{G}_{n}_{P}"
with gzip.open(f"{out}/genotype_{tag}.tsv.gz", "wt", compresslevel=1) as f:
    f.write("varID\t" + "\t".join(samples) + "\n")
    for j in range(m):
        f.write(f"chr1_{pos[j]}_A_G_b38\t" + "\t".join(map(str, dos[j].tolist())) + "\n")
with open(f"{out}/snp_annot_{tag}.tsv", "w") as f:
    f.write("chr\tpos\tvarID\tref_vcf\talt_vcf\trsid\n")
    for j in range(m):
        f.write(f"1\t{pos[j]}\tchr1_{pos[j]}_A_G_b38\tA\tG\trs{j + 1}\n")
with open(f"{out}/genes_{tag}.tsv", "w") as f, open(f"{out}/expression_{tag}.tsv", "w") as e:
    f.write("chr\tgene_id\tgene_name\tstart\tend\tgene_type\n")
    e.write("gene_id\t" + "\t".join(samples) + "\n")
    for g in range(G):
        s = 1_000_000 + g * spacing
        f.write(f"1\tG{g:05d}\tG{g:05d}\t{s}\t{s + 20000}\tprotein_coding\n")
        idx = np.where((pos >= s - 1_000_000) & (pos <= s + 1_020_000))[0]
        causal = rng.choice(idx, 5, replace=False)
        gv = dos[causal].T.astype(float) @ rng.normal(0, 1, 5)
        h2 = rng.uniform(0, 0.4)
        gv = (gv - gv.mean()) / (gv.std() + 1e-12) * np.sqrt(h2)
        y = gv + rng.normal(0, np.sqrt(1 - h2), n)
        e.write(f"G{g:05d}\t" + "\t".join(f"{v:.5f}" for v in y) + "\n")
PY
fi
TAG="${N_GENES}_${N_SAMPLES}_${P_WINDOW}"
MPI=()
if [[ "$RANKS" -gt 1 ]]; then MPI=(mpirun -np "$RANKS" --oversubscribe); [[ $(id -u) == 0 ]] && MPI+=(--allow-run-as-root); fi
start=$(date +%s.%N)
"${MPI[@]}" "$SCPX" lctpred --expression "$WORK/expression_$TAG.tsv" --genotype "$WORK/genotype_$TAG.tsv.gz" \
  --snp-annotation "$WORK/snp_annot_$TAG.tsv" --gene-annotation "$WORK/genes_$TAG.tsv" \
  --threads "$THREADS" --seed 1 --out "$WORK/out_r${RANKS}_t${THREADS}" --overwrite --verbosity info ${EXTRA:-}
end=$(date +%s.%N)
wall=$(echo "$end - $start" | bc)
echo "ranks=$RANKS threads=$THREADS genes=$N_GENES n=$N_SAMPLES p~$P_WINDOW wall=${wall} s genes/s=$(echo "scale=3; $N_GENES / $wall" | bc) (load: $(cut -d' ' -f1-3 /proc/loadavg))"
