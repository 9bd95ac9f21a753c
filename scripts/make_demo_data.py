#!/usr/bin/python3
"""Build the bundled demo data set from real 1000 Genomes haplotypes.

Inputs: the phased chr20 (b37, 1-4 Mb) VCF of 300 individuals that Debian ships in
`shapeit4-example`. Everything else is synthetic but consistent with it, and seeded, so the demo is
reproducible:
  genome.fa       chr20 sequence (random bases, GC 41 %) carrying each VCF REF allele at its position
  genes.gtf       40 synthetic genes (GTF `gene` records) placed inside the VCF's span
  haplotypes.vcf.gz (+ .csi)  a copy of the shapeit4 reference panel
Usage: make_demo_data.py --outdir DIR [--vcf PATH]
"""
import argparse
import os
import shutil
import subprocess
import sys

import numpy as np

DEFAULT_VCF = "/usr/share/doc/shapeit4/examples/test/reference.vcf.gz"
CHROM_LENGTH = 4_200_000
N_GENES = 40


def ref_alleles(vcf):
    out = subprocess.run(["bcftools", "query", "-f", "%POS\t%REF\n", vcf],
                         check=True, capture_output=True, text=True).stdout
    pos, ref = [], []
    for line in out.splitlines():
        p, r = line.split("\t")
        if len(r) == 1:
            pos.append(int(p))
            ref.append(r.upper())
    return np.array(pos), ref


def write_fasta(path, vcf, rng):
    bases = np.frombuffer(b"ACGT", dtype=np.uint8)
    seq = bases[rng.choice(4, size=CHROM_LENGTH, p=[0.295, 0.205, 0.205, 0.295])]
    pos, ref = ref_alleles(vcf)
    seq[pos - 1] = np.frombuffer("".join(ref).encode(), dtype=np.uint8)
    seq[:10_000] = ord("N")  # a telomere-like run of N, as in real assemblies
    with open(path, "w") as f:
        f.write(">chr20 synthetic sequence carrying 1000 Genomes REF alleles\n")
        text = seq.tobytes().decode()
        for i in range(0, len(text), 60):
            f.write(text[i:i + 60] + "\n")


def write_gtf(path, rng):
    starts = np.sort(rng.choice(np.arange(1_200_000, 3_800_000, 1000), size=N_GENES, replace=False))
    with open(path, "w") as f:
        f.write("#!genome-build GRCh37 (synthetic genes for the scpx demo)\n")
        for i, start in enumerate(starts):
            length = int(rng.integers(5_000, 60_000))
            strand = "+" if rng.random() < 0.5 else "-"
            gtype = "protein_coding" if i % 8 else "lincRNA"
            gid = f"ENSG{9000000 + i:011d}.1"
            name = f"DEMO{i + 1}"
            attrs = f'gene_id "{gid}"; gene_name "{name}"; gene_type "{gtype}";'
            f.write(f"chr20\tdemo\tgene\t{start}\t{start + length}\t.\t{strand}\t.\t{attrs}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--vcf", default=DEFAULT_VCF)
    ap.add_argument("--seed", type=int, default=20)
    a = ap.parse_args()
    if not os.path.exists(a.vcf):
        sys.exit(f"make_demo_data: {a.vcf} not found; install Debian's shapeit4-example (scripts/install_deps.sh)")
    os.makedirs(a.outdir, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    write_fasta(os.path.join(a.outdir, "genome.fa"), a.vcf, rng)
    write_gtf(os.path.join(a.outdir, "genes.gtf"), rng)
    shutil.copyfile(a.vcf, os.path.join(a.outdir, "haplotypes.vcf.gz"))
    shutil.copyfile(a.vcf + ".csi", os.path.join(a.outdir, "haplotypes.vcf.gz.csi"))
    print(f"make_demo_data: wrote genome.fa, genes.gtf, haplotypes.vcf.gz to {a.outdir}")


if __name__ == "__main__":
    main()
