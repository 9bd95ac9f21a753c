#!/usr/bin/env bash
# The main job on the bundled demo data: builds scpx if needed, makes the demo inputs from the real
# 1000 Genomes chr20 haplotypes Debian ships (shapeit4-example), and runs every stage that exists.
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

echo
echo "demo finished: outputs and logs in $out/"
