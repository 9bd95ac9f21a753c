#!/usr/bin/env bash
# The main job on the bundled demo data: builds scpx if needed, makes the demo inputs from the real
# 1000 Genomes chr20 haplotypes Debian ships (shapeit4-example), runs the whole scPrediXcan chain on
# them (scripts/demo_chain.sh), then checks S-PrediXcan against MetaXcan's own test results.
# Outputs and logs go to out/demo/.
#   scripts/demo.sh             build (if needed) + run
#   SCPX_RANKS=2 scripts/demo.sh   run the MPI-capable stages on 2 ranks
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install_deps.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none

if [[ ! -x build/scpx ]]; then
  cuda=OFF
  if [[ -x /usr/local/cuda/bin/nvcc ]] || command -v nvcc >/dev/null; then cuda=ON; fi
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSCPX_ENABLE_CUDA=$cuda
fi
cmake --build build -j"$(nproc)" --target scpx

out=out/demo
ranks=${SCPX_RANKS:-1}
mkdir -p "$out"
run() { echo; echo "\$ $*"; "$@"; }
mpi() { if [[ $ranks -gt 1 ]]; then run mpirun -n "$ranks" "$@"; else run "$@"; fi; }

echo "== demo inputs"
/usr/bin/python3 scripts/make_demo_data.py --outdir "$out/inputs"

echo "== what this build is"
run build/scpx --version
run build/scpx info

echo "== input checks"
run build/scpx inspect --fasta "$out/inputs/genome.fa" --annotation "$out/inputs/genes.gtf" \
    --vcf "$out/inputs/haplotypes.vcf.gz" --region chr20:1000000-1500000 --out "$out/inspect.json"

echo "== the scPrediXcan chain: Enformer features -> ctPred -> personalised expression -> l-ctPred -> S-PrediXcan"
# The public Enformer weights are 1 GB and not bundled: the chain uses the small random-weight model
# of the shared test fixtures (12,288-bp windows, real head sizes), so the numbers mean nothing
# biologically; the run shows every stage, and every hand-over between them, on real phased data
# (300 individuals). scripts/demo_chain.sh lists the commands.
enf=${SCPX_SHARED_FIXTURES:-../shared/fixtures}/enformer/weights.h5
if [[ -f $enf ]]; then
  scripts/demo_chain.sh build/scpx "$out/inputs" "$enf" "$out/chain" "$ranks"
else
  echo "skipped: no Enformer weights at $enf (set SCPX_SHARED_FIXTURES)"
fi

echo "== S-PrediXcan (MetaXcan's test models, a seeded GWAS; tests/data/spredixcan)"
spx=tests/data/spredixcan
mpi build/scpx spredixcan --models "$spx/TW_*_0.5.db" --covariance "$spx/TW_{}.txt.gz" \
    --gwas_file "$spx/gwas_subset.txt.gz" --snp_column SNP --effect_allele_column A1 \
    --non_effect_allele_column A2 --zscore_column ZSCORE --beta_column BETA \
    --output_file "$out/spredixcan/{}.z.csv" --status --overwrite
cat "$out/spredixcan/Whole_Blood.z.csv"
/usr/bin/python3 tests/e2e/spredixcan_compare.py "$spx/TW_Whole_Blood.z.csv" "$out/spredixcan/Whole_Blood.z.csv" \
    --ignore-extra-columns && echo "Whole Blood: same numbers as MetaXcan 0.7.5"

echo "== l-ctPred: elastic-net models from expression + genotypes, then S-PrediXcan with them (tests/data/enet/lctpred)"
lct=tests/data/enet/lctpred
mkdir -p "$out/lctpred"
mpi build/scpx lctpred --expression "$lct/expression.tsv" --gene-annotation "$lct/gene_annot.tsv" \
    --genotype "$lct/genotype.tsv.gz" --snp-annotation "$lct/snp_annot.tsv" --seed 7 --out "$out/lctpred/models" --overwrite
run build/scpx spredixcan --model_db_path "$out/lctpred/models.db" --covariance "$out/lctpred/models.covariance.txt.gz" \
    --gwas_file "$lct/gwas.tsv.gz" --snp_column SNP --effect_allele_column A1 --non_effect_allele_column A2 \
    --zscore_column ZSCORE --output_file "$out/lctpred/assoc.csv" --overwrite
head -5 "$out/lctpred/assoc.csv"

echo
echo "demo finished: outputs and logs in $out/"
