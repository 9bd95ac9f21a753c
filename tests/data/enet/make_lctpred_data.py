#!/usr/bin/python3
"""Small synthetic l-ctPred data set (tests/data/enet/lctpred/): PredictDB text genotypes (+ the
same as VCF), a PredictDB gene table, an expression table (genes x samples) and a toy GWAS over
the SNPs. Deterministic (numpy seed 20261126). Run with /usr/bin/python3 (numpy)."""
import gzip, os
import numpy as np

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lctpred")
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(20261126)
n_geno = 130
samples = [f"S{i:03d}" for i in range(1, n_geno + 1)]

snps = []  # chrom, pos, ref, alt, rsid
def add_chrom(ch, start, end, m):
    pos = np.sort(rng.choice(np.arange(start, end), m, replace=False))
    for p in pos:
        ref, alt = rng.choice([("A", "G"), ("G", "A"), ("C", "T"), ("T", "C"), ("A", "C"), ("G", "T")])
        snps.append([ch, int(p), ref, alt, f"rs{len(snps) + 1000}"])
add_chrom("1", 1_000_000, 9_000_000, 300)
add_chrom("2", 2_000_000, 6_000_000, 200)
add_chrom("X", 1_000_000, 2_000_000, 10)
m = len(snps)
# Haplotypes with LD: AR(1) latent Gaussian along each chromosome, thresholded at the allele frequency.
af = rng.uniform(0.05, 0.5, m)
hap = np.zeros((2 * n_geno, m))
z = rng.standard_normal(2 * n_geno)
for j in range(m):
    if j > 0 and snps[j][0] == snps[j - 1][0]:
        z = 0.85 * z + np.sqrt(1 - 0.85 ** 2) * rng.standard_normal(2 * n_geno)
    else:
        z = rng.standard_normal(2 * n_geno)
    from math import erf, sqrt
    q = np.quantile(z, af[j])
    hap[:, j] = (z < q).astype(float)
dos = hap[0::2] + hap[1::2]  # n_geno x m
# QC cases: two strand-ambiguous, two without rsid, three monomorphic.
snps[5][2], snps[5][3] = "A", "T"
snps[17][2], snps[17][3] = "C", "G"
snps[30][4] = "NA"
snps[41][4] = "."
# 20 % of SNPs continuous (imputed-like), 3 decimals.
cont = rng.random(m) < 0.2
noise = rng.normal(0, 0.08, dos.shape)
dos = np.where(cont[None, :], np.clip(dos + noise, 0, 2), dos)
dos = np.round(dos, 3)
for j in (50, 51, 52):
    dos[:, j] = 0

with gzip.open(os.path.join(out, "genotype.tsv.gz"), "wt") as f:
    f.write("varID\t" + "\t".join(samples) + "\n")
    for j, (ch, p, r, a, rs) in enumerate(snps):
        f.write(f"chr{ch}_{p}_{r}_{a}_b38\t" + "\t".join(f"{v:g}" for v in dos[:, j]) + "\n")
with open(os.path.join(out, "snp_annot.tsv"), "w") as f:
    f.write("chr\tpos\tvarID\tref_vcf\talt_vcf\trsid\n")
    for ch, p, r, a, rs in snps:
        f.write(f"{ch}\t{p}\tchr{ch}_{p}_{r}_{a}_b38\t{r}\t{a}\t{rs}\n")
with gzip.open(os.path.join(out, "genotype.vcf.gz"), "wt") as f:
    f.write("##fileformat=VCFv4.2\n")
    for ch in ("1", "2", "X"):
        f.write(f"##contig=<ID={ch}>\n")
    f.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
    f.write('##FORMAT=<ID=DS,Number=1,Type=Float,Description="ALT dosage">\n')
    f.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples) + "\n")
    for j, (ch, p, r, a, rs) in enumerate(snps):
        gts = [f"{int(hap[2*i, j])}|{int(hap[2*i+1, j])}:{dos[i, j]:g}" for i in range(n_geno)]
        rid = "." if rs in ("NA", ".") else rs
        f.write(f"{ch}\t{p}\t{rid}\t{r}\t{a}\t.\tPASS\t.\tGT:DS\t" + "\t".join(gts) + "\n")

# Genes: gene_id, name, chrom, start, end, h2 (None: constant expression)
genes = [("ENSG00000000001.1", "GA", "1", 2_000_000, 2_020_000, 0.5),
         ("ENSG00000000002.1", "GB", "1", 3_500_000, 3_560_000, 0.4),
         ("ENSG00000000003.1", "GC", "1", 5_000_000, 5_001_000, 0.0),
         ("ENSG00000000004.1", "GD", "1", 6_500_000, 6_700_000, 0.6),
         ("ENSG00000000005.1", "GE", "1", 8_000_000, 8_050_000, 0.3),
         ("ENSG00000000006.1", "GF", "2", 2_500_000, 2_510_000, 0.5),
         ("ENSG00000000007.1", "GG", "2", 4_000_000, 4_100_000, 0.0),
         ("ENSG00000000008.1", "GH", "2", 5_200_000, 5_300_000, 0.45),
         ("ENSG00000000009.1", "GI", "1", 50_000_000, 50_010_000, 0.5),   # no SNPs in the window
         ("ENSG00000000010.1", "GJ", "X", 1_500_000, 1_510_000, 0.5),     # chrX
         ("ENSG00000000011.1", "GK", "2", 3_000_000, 3_010_000, None)]    # constant expression
expr_samples = samples[:120] + ["S999"]
rows = []
for gid, name, ch, s, e, h2 in genes:
    idx = [j for j, sn in enumerate(snps) if sn[0] == ch and s - 1_000_000 <= sn[1] <= e + 1_000_000]
    if h2 is None:
        y = np.full(len(expr_samples), 3.25)
    else:
        g = np.zeros(n_geno)
        if idx and h2 > 0:
            causal = rng.choice(idx, min(4, len(idx)), replace=False)
            g = dos[:, causal] @ rng.normal(0, 1, len(causal))
            g = (g - g.mean()) / (g.std() + 1e-12) * np.sqrt(h2)
        y120 = g[:120] + rng.normal(0, np.sqrt(1 - h2), 120) + 5.0
        y = np.concatenate([y120, [4.0]])
    rows.append(gid + "\t" + "\t".join(f"{v:.6f}" for v in y))
with open(os.path.join(out, "expression.tsv"), "w") as f:
    f.write("gene_id\t" + "\t".join(expr_samples) + "\n")
    f.write("\n".join(rows) + "\n")
with open(os.path.join(out, "gene_annot.tsv"), "w") as f:
    f.write("chr\tgene_id\tgene_name\tstart\tend\tgene_type\n")
    for gid, name, ch, s, e, h2 in genes:
        f.write(f"{ch}\t{gid}\t{name}\t{s}\t{e}\tprotein_coding\n")
# Toy GWAS over the autosomal SNPs (rsid, alleles, z).
with gzip.open(os.path.join(out, "gwas.tsv.gz"), "wt") as f:
    f.write("SNP\tA1\tA2\tZSCORE\n")
    for ch, p, r, a, rs in snps:
        if ch == "X" or rs in ("NA", "."):
            continue
        f.write(f"{rs}\t{a}\t{r}\t{rng.normal(0, 1.5):.4f}\n")
