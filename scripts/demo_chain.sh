#!/usr/bin/env bash
# The whole scPrediXcan chain, one scpx command per stage, on the inputs make_demo_data.py writes:
#
#   1. features reference   Enformer features of every gene from the reference genome
#   2. ctpred targets       pseudobulk counts -> expression percentiles per cell type
#   3. ctpred train         one MLP per cell type: features -> percentile (chromosome split)
#   4. features personal    each individual's two haplotypes (phased VCF) through Enformer
#   5. ctpred predict       personalised expression per cell type and individual
#   6. lctpred              per cell type, elastic nets from genotypes to that expression
#                           (PredictDB .db + covariance)
#   7. spredixcan           gene-level association of the GWAS with each cell type's expression
#
#   scripts/demo_chain.sh SCPX INPUTS WEIGHTS OUT [RANKS]
#
# SCPX: the scpx binary; INPUTS: make_demo_data.py's folder; WEIGHTS: Enformer weights (HDF5);
# OUT: results folder (created); RANKS: MPI ranks for the stages that use them (default 1).
# The demo's Enformer is the small random-weight model of the shared fixtures (12,288-bp windows):
# the numbers mean nothing biologically; every format and hand-over between stages is the real one.
set -euo pipefail
usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[[ $# -ge 4 && $# -le 5 ]] || usage
scpx=$1 in=$2 weights=$3 out=$4 ranks=${5:-1}
[[ $ranks =~ ^[1-9][0-9]*$ ]] || { echo "demo_chain.sh: RANKS must be a positive number, not '$ranks'" >&2; usage; }
mkdir -p "$out"
run() { echo; echo "\$ $*"; "$@"; }
mpi() { if [[ $ranks -gt 1 ]]; then run mpirun -n "$ranks" "$@"; else run "$@"; fi; }
cell_types=(CD4_T B Mono)
seq_len=12288   # the fixture model's window; the public Enformer uses 393,216 (or 196,608)

echo "== 1. reference features of every gene (training contigs and chr20)"
mpi "$scpx" features reference --fasta "$in/genome.fa" --annotation "$in/genes.gtf" --weights "$weights" \
    --seq-len $seq_len --out "$out/ref_features.h5"

echo "== 2. pseudobulk expression percentiles per cell type"
pb=()
for ct in "${cell_types[@]}"; do pb+=("$ct=$in/pseudobulk/$ct.csv"); done
run "$scpx" ctpred targets --pseudobulk "${pb[@]}" --out "$out/targets.h5"

echo "== 3. ctPred: one MLP per cell type (train / validation / test split by chromosome)"
# A few hundred training genes (the real run has ~15,000): smaller batches, more epochs and a
# larger step than the defaults (tuned for genome-wide training), and z-scored features.
mpi "$scpx" ctpred train --features "$out/ref_features.h5:/features" --targets "$out/targets.h5:/y" \
    --gene-chrom "$out/ref_features.h5:/chrom" --zscore --batch-size 32 --epochs 200 --lr 1e-3 \
    --out "$out/ctpred.h5"

echo "== 4. personalised features: 300 individuals' haplotypes (1000 Genomes chr20)"
# The VCF holds chr20 only: --chromosomes 20 keeps the genes there (the others would be skipped
# with a warning that counts them).
mpi "$scpx" features personal --fasta "$in/genome.fa" --annotation "$in/genes.gtf" --weights "$weights" \
    --vcf "$in/haplotypes.vcf.gz" --chromosomes 20 --seq-len $seq_len --out "$out/personal_features.h5"

echo "== 5. personalised expression per cell type"
mpi "$scpx" ctpred predict --features "$out/personal_features.h5:/features" --weights "$out/ctpred.h5" \
    --out "$out/predicted"

echo "== 6. l-ctPred: elastic nets from genotypes to each cell type's predicted expression"
mkdir -p "$out/lctpred"
for ct in "${cell_types[@]}"; do
  mpi "$scpx" lctpred --expression "$out/predicted.h5:/$ct/pred" --vcf "$in/haplotypes.vcf.gz" \
      --gene-annotation "$in/genes.gtf" --seed 7 --out "$out/lctpred/$ct" --overwrite
done

echo "== 7. S-PrediXcan: the GWAS against each cell type's models"
mpi "$scpx" spredixcan --models "$out/lctpred/*.db" --covariance "$out/lctpred/{}.covariance.txt.gz" \
    --gwas_file "$in/gwas.tsv.gz" --snp_column SNP --effect_allele_column A1 --non_effect_allele_column A2 \
    --zscore_column ZSCORE --output_file "$out/assoc/{}.csv" --overwrite

echo
echo "== strongest associations per cell type (gene, name, z, p)"
for ct in "${cell_types[@]}"; do
  echo "$ct:"
  # awk, not head: head would close the pipe early (SIGPIPE, fatal under pipefail)
  tail -n +2 "$out/assoc/$ct.csv" | sort -t, -k5,5g | awk -F, 'NR <= 3 { print "  " $1 "," $2 "," $3 "," $5 }'
done
