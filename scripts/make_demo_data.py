#!/usr/bin/python3
"""Build the bundled demo data set from real 1000 Genomes haplotypes.

Inputs: the phased chr20 (b37, 1-4 Mb) VCF of 300 individuals that Debian ships in
`shapeit4-example`. Everything else is synthetic but consistent with it, and seeded, so the demo is
reproducible:
  genome.fa       chr20 (random bases, GC 41 %, carrying each VCF REF allele at its position) and
                  21 short training contigs chr1..chr22 (random bases); every gene's promoter
                  (TSS +- 2 kb) has its own GC content, drawn from 30-62 %
  genes.gtf       40 genes (GTF `gene` records) inside the VCF's span on chr20, and 16 genes per
                  training contig (ctPred trains on genes off its validation and test chromosomes)
  pseudobulk/<cell type>.csv  per-donor pseudobulk counts (genes x 8 donors) of 3 cell types, in
                  which expression follows promoter GC (up in CD4_T and B, down in Mono) plus
                  noise: a signal ctPred can learn from sequence
  haplotypes.vcf.gz (+ .csi)  a copy of the shapeit4 reference panel
  gwas.tsv.gz     GWAS summary statistics for every panel variant: z-scores of a trait driven by
                  six common SNPs near two chr20 genes, through the panel's LD (z = sqrt(N h2) r + e)
The numbers mean nothing biologically; they exercise every stage on real haplotypes.
Usage: make_demo_data.py --outdir DIR [--vcf PATH] [--seed N] [--individuals N] [--training-genes N]
(--individuals keeps the panel's first N individuals and --training-genes sets the genes per training
contig: a smaller data set for the chain's CTest, tests/e2e/demo_chain.sh)
"""
import argparse
import gzip
import io
import os
import shutil
import subprocess
import sys

import numpy as np

DEFAULT_VCF = "/usr/share/doc/shapeit4/examples/test/reference.vcf.gz"
CHROM_LENGTH = 4_200_000
N_GENES = 40
TRAIN_CONTIGS = [f"chr{i}" for i in range(1, 23) if i != 20]
TRAIN_CONTIG_LENGTH = 200_000
TRAIN_GENES_PER_CONTIG = 16
PROMOTER_HALF = 2_000
# Effect of promoter GC (z-scored over genes) on each cell type's log expression.
CELL_TYPES = {"CD4_T": 1.0, "B": 0.6, "Mono": -0.7}
N_DONORS = 8
BASES = np.frombuffer(b"ACGT", dtype=np.uint8)


def random_bases(rng, n, gc):
    return BASES[rng.choice(4, size=n, p=[(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])]


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


def chr20_genes(rng):
    starts = np.sort(rng.choice(np.arange(1_200_000, 3_800_000, 1000), size=N_GENES, replace=False))
    genes = []
    for i, start in enumerate(starts):
        length = int(rng.integers(5_000, 60_000))
        strand = "+" if rng.random() < 0.5 else "-"
        genes.append({"chrom": "chr20", "start": int(start), "end": int(start) + length, "strand": strand,
                      "id": f"ENSG{9000000 + i:011d}.1", "name": f"DEMO{i + 1}",
                      "type": "protein_coding" if i % 8 else "lincRNA"})
    return genes


def training_genes(rng, chrom, k0, n):
    slots = np.sort(rng.choice(np.arange(15_000, TRAIN_CONTIG_LENGTH - 15_000, 10_000), size=n, replace=False))
    genes = []
    for j, start in enumerate(slots):
        k = k0 + j
        genes.append({"chrom": chrom, "start": int(start), "end": int(start) + int(rng.integers(2_000, 8_000)),
                      "strand": "+" if rng.random() < 0.5 else "-", "id": f"ENSG{8000000 + k:011d}.1",
                      "name": f"TRAIN{k + 1}", "type": "protein_coding"})
    return genes


def tss(g):
    return g["start"] if g["strand"] == "+" else g["end"]


def write_promoters(seq, genes, gcs, rng):
    for g, gc in zip(genes, gcs):
        t = tss(g) - 1
        seq[t - PROMOTER_HALF:t + PROMOTER_HALF] = random_bases(rng, 2 * PROMOTER_HALF, gc)


def write_fasta(path, contigs):
    with open(path, "w") as f:
        for name, seq in contigs:
            f.write(f">{name}\n")
            text = seq.tobytes().decode()
            for i in range(0, len(text), 60):
                f.write(text[i:i + 60] + "\n")


def write_gtf(path, genes):
    with open(path, "w") as f:
        f.write("#!genome-build GRCh37 (synthetic genes for the scpx demo)\n")
        for g in genes:
            attrs = f'gene_id "{g["id"]}"; gene_name "{g["name"]}"; gene_type "{g["type"]}";'
            f.write(f'{g["chrom"]}\tdemo\tgene\t{g["start"]}\t{g["end"]}\t.\t{g["strand"]}\t.\t{attrs}\n')


def write_pseudobulk(outdir, genes, gcs, rng):
    os.makedirs(os.path.join(outdir, "pseudobulk"), exist_ok=True)
    z = (gcs - gcs.mean()) / gcs.std()
    for ct, effect in CELL_TYPES.items():
        mean_log = 3.0 + 1.2 * effect * z + 0.6 * rng.standard_normal(len(genes))
        size = rng.uniform(0.7, 1.3, N_DONORS)
        counts = rng.poisson(size[None, :] * np.exp(mean_log)[:, None])
        with open(os.path.join(outdir, "pseudobulk", f"{ct}.csv"), "w") as f:
            f.write("gene_id," + ",".join(f"donor{d + 1}" for d in range(N_DONORS)) + "\n")
            for g, row in zip(genes, counts):
                f.write(g["id"] + "," + ",".join(str(v) for v in row) + "\n")


def write_gwas(path, vcf, genes, rng):
    out = subprocess.run(["bcftools", "query", "-f", "%ID\t%POS\t%REF\t%ALT\t[%GT]\n", vcf],
                         check=True, capture_output=True, text=True).stdout.splitlines()
    ids, pos, ref, alt, gts = [], [], [], [], []
    for line in out:
        i, p, r, a, gt = line.split("\t")
        ids.append(i), pos.append(int(p)), ref.append(r), alt.append(a), gts.append(gt)
    pos = np.array(pos)
    # [%GT] writes the GTs back to back: "0|10|0..." (3 characters each in this diploid, biallelic panel).
    raw = np.frombuffer("".join(gts).encode(), dtype=np.uint8).reshape(len(gts), -1)
    if raw.shape[1] % 3 or not np.isin(raw[:, 1::3], [ord("|"), ord("/")]).all():
        sys.exit(f"make_demo_data: {vcf}: expected diploid single-digit GTs (0|1) in every record")
    dosage = (raw[:, 0::3] == ord("1")).astype(np.float64) + (raw[:, 2::3] == ord("1"))
    freq = dosage.mean(axis=1) / 2
    # Six common causal SNPs, three within 5 kb of the TSS of each of two protein-coding genes (inside
    # the demo's 12,288-bp Enformer windows: they change those genes' predicted expression).
    causal = []
    for g in [g for g in genes if g["type"] == "protein_coding"][2:4]:
        near = np.where((np.abs(pos - tss(g)) < 5_000) & (freq > 0.05) & (freq < 0.95))[0]
        causal.extend(rng.choice(near, size=3, replace=False))
    score = dosage[causal].sum(axis=0)
    centred = dosage - dosage.mean(axis=1, keepdims=True)
    sd = np.sqrt((centred ** 2).sum(axis=1))
    r = np.divide(centred @ (score - score.mean()), sd * np.sqrt(((score - score.mean()) ** 2).sum()),
                  out=np.zeros(len(sd)), where=sd > 0)
    n_gwas, h2 = 50_000, 0.002
    z = np.sqrt(n_gwas * h2) * r + rng.standard_normal(len(r))
    # mtime 0: the same bytes on every run (gzip stores a time stamp otherwise).
    with io.TextIOWrapper(gzip.GzipFile(path, "wb", mtime=0)) as f:
        f.write("SNP\tCHR\tBP\tA1\tA2\tFRQ\tZSCORE\n")
        for k in range(len(ids)):
            f.write(f"{ids[k]}\t20\t{pos[k]}\t{alt[k]}\t{ref[k]}\t{freq[k]:.4f}\t{z[k]:.5f}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--vcf", default=DEFAULT_VCF)
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--individuals", type=int, default=0, help="keep the first N individuals (0: all)")
    ap.add_argument("--training-genes", type=int, default=TRAIN_GENES_PER_CONTIG,
                    help="genes per training contig (at most 17)")
    a = ap.parse_args()
    if not os.path.exists(a.vcf):
        sys.exit(f"make_demo_data: {a.vcf} not found; install Debian's shapeit4-example (scripts/install_deps.sh)")
    os.makedirs(a.outdir, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    # chr20 and its genes first, from the original stream (gene windows and REF alleles as before).
    chr20 = BASES[rng.choice(4, size=CHROM_LENGTH, p=[0.295, 0.205, 0.205, 0.295])]
    genes20 = chr20_genes(rng)
    # Everything added since (promoter GC, training contigs, expression, GWAS) from a second one.
    rng2 = np.random.default_rng(a.seed + 1)
    gc20 = rng2.uniform(0.30, 0.62, len(genes20))
    write_promoters(chr20, genes20, gc20, rng2)
    pos, ref = ref_alleles(a.vcf)
    chr20[pos - 1] = np.frombuffer("".join(ref).encode(), dtype=np.uint8)
    chr20[:10_000] = ord("N")  # a telomere-like run of N, as in real assemblies
    contigs, genes, gcs = [], [], []
    for chrom in [f"chr{i}" for i in range(1, 23)]:
        if chrom == "chr20":
            contigs.append((chrom, chr20))
            genes += genes20
            gcs += list(gc20)
            continue
        seq = random_bases(rng2, TRAIN_CONTIG_LENGTH, 0.41)
        tg = training_genes(rng2, chrom, len(genes) - len([g for g in genes if g["chrom"] == "chr20"]),
                            a.training_genes)
        gc = rng2.uniform(0.30, 0.62, len(tg))
        write_promoters(seq, tg, gc, rng2)
        contigs.append((chrom, seq))
        genes += tg
        gcs += list(gc)
    write_fasta(os.path.join(a.outdir, "genome.fa"), contigs)
    if os.path.exists(os.path.join(a.outdir, "genome.fa.fai")):
        os.remove(os.path.join(a.outdir, "genome.fa.fai"))
    write_gtf(os.path.join(a.outdir, "genes.gtf"), genes)
    write_pseudobulk(a.outdir, genes, np.array(gcs), rng2)
    vcf = os.path.join(a.outdir, "haplotypes.vcf.gz")
    if a.individuals > 0:
        names = subprocess.run(["bcftools", "query", "-l", a.vcf], check=True, capture_output=True,
                               text=True).stdout.split()[:a.individuals]
        subprocess.run(["bcftools", "view", "-s", ",".join(names), "-Oz", "-o", vcf, a.vcf], check=True)
        subprocess.run(["bcftools", "index", "-f", vcf], check=True)
    else:
        shutil.copyfile(a.vcf, vcf)
        shutil.copyfile(a.vcf + ".csi", vcf + ".csi")
    write_gwas(os.path.join(a.outdir, "gwas.tsv.gz"), vcf, genes20, rng2)
    print(f"make_demo_data: wrote genome.fa ({len(contigs)} contigs), genes.gtf ({len(genes)} genes), "
          f"pseudobulk/{{{','.join(CELL_TYPES)}}}.csv, haplotypes.vcf.gz, gwas.tsv.gz to {a.outdir}")


if __name__ == "__main__":
    main()
