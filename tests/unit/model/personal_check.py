#!/usr/bin/python3
"""CTest driver for `scpx features personal` on the fixture's small Enformer (12,288 bp windows).

  personal_check.py SCPX MPIEXEC FIXTURE_DIR SCRATCH

A random three-contig FASTA, four genes (one on a contig the VCF lacks, one near a contig end) and
a phased VCF of three individuals with SNVs in two windows, a record whose REF does not match the
FASTA and an indel (both skipped and counted); with --indels apply, indels and an MNP written into
the haplotypes with the TSS kept at the window's centre, and with --multiallelic apply the ALT
each GT names at multi-allelic sites (equal to the sites split into biallelic records), both
checked the same way. Checks: every individual's features equal the
mean (and with --combine sum the sum) of `scpx enformer predict` on its two haplotype windows
built here in Python; --haplotypes stores each haplotype; an individual without ALT alleles gets
the `features reference` values; distinct windows are run once (n_windows); --samples selects and
orders individuals; 1 and 2 ranks give byte-identical files; VCFs split per chromosome or by
region (overlapping) give the same file; a killed run resumes; bad input (REF mismatch with
--ref-mismatch error, an unphased heterozygote, unknown samples, a VCF without records, plain
gzip) fails with one ERROR naming the file and leaves no output under its name; --out naming the
VCF's index is refused. Exit 77 (skipped) without the fixture or bgzip/tabix.
"""
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

scpx, mpiexec, fixdir, scratch = sys.argv[1:5]
weights = os.path.join(fixdir, "weights.h5")
if not os.path.exists(weights) or not shutil.which("bgzip") or not shutil.which("tabix"):
    print("no enformer fixture or no bgzip/tabix: skipped")
    sys.exit(77)
os.makedirs(scratch, exist_ok=True)
for name in os.listdir(scratch):
    if name.endswith(".h5") or name.endswith(".log"):
        os.remove(os.path.join(scratch, name))
L = 12288
rng = np.random.default_rng(8)
contigs = {"chr1": "".join(rng.choice(list("ACGTacgt"), 30000)),
           "chr2": "".join(rng.choice(list("ACGT"), 9000)),
           "chr3": "".join(rng.choice(list("ACGT"), 5000))}
fasta = os.path.join(scratch, "ref.fa")
with open(fasta, "w") as f:
    for name, s in contigs.items():
        f.write(">%s\n" % name)
        for i in range(0, len(s), 60):
            f.write(s[i:i + 60] + "\n")
if os.path.exists(fasta + ".fai"):
    os.remove(fasta + ".fai")
genes = [("G1", "A1", "chr1", 15000), ("G2", "B2", "chr1", 29990), ("G3", "C3", "chr2", 2500),
         ("G4", "D4", "chr3", 1000)]
ann = os.path.join(scratch, "genes.tsv")
with open(ann, "w") as f:
    f.write("gene_id\tgene_name\tchr\ttss\tstrand\tgene_type\n")
    for g in genes:
        f.write("%s\t%s\t%s\t%d\t+\tprotein_coding\n" % g)


def ref_base(chrom, pos):
    return contigs[chrom][pos - 1].upper()


def alt_for(chrom, pos):
    return "ACGT"[("ACGT".index(ref_base(chrom, pos)) + 1) % 4]


samples = ["S1", "S2", "S3"]
# (chrom, pos, GT per sample); S1 carries no ALT allele anywhere.
snvs = [("chr1", 15000, ["0|0", "0|1", "1|1"]), ("chr1", 15100, ["0|0", "1|0", "0|1"]),
        ("chr1", 14000, ["0|0", "0|0", "1|0"]), ("chr2", 2600, ["0|0", "0|0", "1|0"])]


def write_vcf(path, records, sample_names=samples):
    with open(path, "w") as f:
        f.write("##fileformat=VCFv4.2\n")
        for c in ("chr1", "chr2"):
            f.write("##contig=<ID=%s,length=%d>\n" % (c, len(contigs[c])))
        f.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
        f.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(sample_names) + "\n")
        for chrom, pos, ref, alt, gts in sorted(records, key=lambda r: (r[0], r[1])):
            f.write("%s\t%d\t.\t%s\t%s\t.\tPASS\t.\tGT\t%s\n" % (chrom, pos, ref, alt, "\t".join(gts)))
    subprocess.run(["bgzip", "-f", path], check=True)
    subprocess.run(["tabix", "-f", "-p", "vcf", path + ".gz"], check=True)
    return path + ".gz"


good = [(c, p, ref_base(c, p), alt_for(c, p), g) for c, p, g in snvs]
# Skipped and counted: a REF that is not the FASTA's base, and an indel.
wrong_ref = "ACGT"[("ACGT".index(ref_base("chr1", 15200)) + 2) % 4]
skipped = [("chr1", 15200, wrong_ref, ref_base("chr1", 15200), ["1|1", "1|1", "1|1"]),
           ("chr1", 15300, ref_base("chr1", 15300), ref_base("chr1", 15300) + "A", ["1|1", "1|1", "1|1"]),
           ("chr2", 2700, ref_base("chr2", 2700), ref_base("chr2", 2700) + "A", ["1|1", "1|1", "1|1"])]
vcf = write_vcf(os.path.join(scratch, "phased.vcf"), good + skipped)


def run(cmd, ok=True):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if ok and r.returncode != 0:
        print(r.stdout)
        raise SystemExit("failed: " + " ".join(cmd))
    return r


flags = ["--allow-run-as-root", "--oversubscribe"] if os.getuid() == 0 else ["--oversubscribe"]


def personal(out, ranks=1, extra=(), vcf_path=vcf, ok=True):
    vcfs = vcf_path if isinstance(vcf_path, list) else [vcf_path]
    cmd = [scpx, "features", "personal", "--fasta", fasta, "--annotation", ann, "--weights", weights, "--vcf"] + \
        vcfs + ["--seq-len", str(L), "--out", out, "--threads", "1", "--batch", "2"] + list(extra)
    if ranks > 1:
        cmd = [mpiexec, "-n", str(ranks)] + flags + cmd
    return run(cmd, ok)


out1 = os.path.join(scratch, "p1.h5")
log = personal(out1, extra=["--haplotypes"]).stdout
assert "1 gene(s) skipped: no --vcf file has records on their chromosome (e.g. G4 on chr3)" in log, log
assert "skipped indel: 2; REF not matching the FASTA: 1; REF mismatch examples: chr1:15200" in log, log
assert "--indels apply writes indels and MNPs too" in log, log
kept = genes[:3]

# Expected: each haplotype window built here, through `scpx enformer predict`.
idx = {"A": 0, "C": 1, "G": 2, "T": 3}
windows, where = [], {}
for gi, (_, _, chrom, tss) in enumerate(kept):
    start = tss - 1 - L // 2
    ref = [contigs[chrom][p].upper() if 0 <= p < len(contigs[chrom]) else "N" for p in range(start, start + L)]
    for si in range(len(samples)):
        for h in range(2):
            seq = list(ref)
            for c, p, r, a, gts in good:
                if c == chrom and start <= p - 1 < start + L and gts[si].split("|")[h] == "1":
                    seq[p - 1 - start] = a
            where[(gi, si, h)] = len(windows)
            windows.append(seq)


def predict_windows(seqs, name):
    """Central-bin human features of `scpx enformer predict` on the windows `seqs` (strings or
    lists of bases; N and padding one-hot zero)."""
    x = np.zeros((len(seqs), L, 4), np.float32)
    for i, seq in enumerate(seqs):
        for j, b in enumerate(seq):
            if b in idx:
                x[i, j, idx[b]] = 1
    onehot, pred = os.path.join(scratch, name + "_windows.h5"), os.path.join(scratch, name + "_pred.h5")
    with h5py.File(onehot, "w") as f:
        f["x"] = x
    run([scpx, "enformer", "predict", "--weights", weights, "--onehot", onehot + ":/x", "--out", pred,
         "--threads", "1"])
    with h5py.File(pred, "r") as p:
        return p["human"][:, 30:34, :].mean(axis=1)


hap = predict_windows(windows, "hap")
with h5py.File(out1, "r") as f:
    assert [s.decode() for s in f["gene_id"][:]] == ["G1", "G2", "G3"]
    assert [s.decode() for s in f["sample_id"][:]] == samples
    assert f["features"].attrs["axes"] == "gene,sample,track"
    got, got_hap = f["features"][:], f["haplotype_features"][:]
    assert got.shape == (3, 3, 5313) and got_hap.shape == (3, 3, 2, 5313), (got.shape, got_hap.shape)
    # G1's six haplotypes carry five distinct allele sets (S1's two are the reference window).
    sets = {tuple(p for c, p, r, a, g in good if c == "chr1" and g[si].split("|")[h] == "1")
            for si in range(3) for h in range(2)}
    assert list(f["n_windows"][:]) == [len(sets), 1, 2], list(f["n_windows"][:])
    assert list(f["n_snvs"][:]) == [3, 0, 1], list(f["n_snvs"][:])
    err = 0.0
    for gi in range(3):
        for si in range(3):
            a, b = hap[where[(gi, si, 0)]], hap[where[(gi, si, 1)]]
            err = max(err, float(np.abs(got[gi, si] - (a + b) / 2).max()))
            err = max(err, float(np.abs(got_hap[gi, si, 0] - a).max()), float(np.abs(got_hap[gi, si, 1] - b).max()))
    print("personal features vs predict on the haplotype windows: max abs err %.3g" % err)
    assert err < 1e-5, err
    # The haplotypes of G2 carry nothing: every individual has the reference window's features.
    assert (got[1] == got[1, 0]).all()

# S1 carries no ALT allele: its features are the reference features, to the bit.
ref_out = os.path.join(scratch, "ref.h5")
run([scpx, "features", "reference", "--fasta", fasta, "--annotation", ann, "--weights", weights, "--seq-len", str(L),
     "--out", ref_out, "--threads", "1", "--batch", "2"])
with h5py.File(ref_out, "r") as r, h5py.File(out1, "r") as f:
    assert (r["features"][:3] == f["features"][:, 0, :]).all()

# --combine sum, and --samples choosing and ordering individuals.
sample_list = os.path.join(scratch, "samples.txt")
with open(sample_list, "w") as f:
    f.write("\ufeffS3\n# a comment\n\nS1\n")  # a byte-order mark (spreadsheet export) is ignored
out_sum = os.path.join(scratch, "psum.h5")
personal(out_sum, extra=["--combine", "sum", "--samples", sample_list])
with h5py.File(out_sum, "r") as s, h5py.File(out1, "r") as f:
    assert [v.decode() for v in s["sample_id"][:]] == ["S3", "S1"]
    hs = f["haplotype_features"][:]
    want = hs[:, [2, 0], 0, :] + hs[:, [2, 0], 1, :]
    assert np.abs(s["features"][:] - want).max() < 1e-5

# 2 ranks: byte-identical to 1 rank; the VCF counts are summed over ranks and printed once.
out2 = os.path.join(scratch, "p2.h5")
log2 = personal(out2, ranks=2, extra=["--haplotypes"]).stdout
assert log2.count("no --vcf file has records on their chromosome") == 1, log2
assert "[rank 1]" not in log2, log2
# G3 (rank 1's gene) holds one of the indels: the counts are summed over the ranks.
assert "skipped indel: 2; REF not matching the FASTA: 1; REF mismatch examples: chr1:15200" in log2, log2
with open(out1, "rb") as a, open(out2, "rb") as b:
    assert a.read() == b.read(), "1 and 2 ranks differ"

# One VCF per chromosome, each declaring both chromosomes in its header (as 1000 Genomes files
# do): each gene is read from the file with records on its chromosome; the same features.
vcf_chr1 = write_vcf(os.path.join(scratch, "chr1.vcf"), [r for r in good + skipped if r[0] == "chr1"])
vcf_chr2 = write_vcf(os.path.join(scratch, "chr2.vcf"), [r for r in good + skipped if r[0] == "chr2"])
out_split = os.path.join(scratch, "psplit.h5")
personal(out_split, extra=["--haplotypes"], vcf_path=[vcf_chr1, vcf_chr2])
with h5py.File(out1, "r") as a, h5py.File(out_split, "r") as b:
    for name in ("features", "haplotype_features", "n_snvs", "n_windows", "sample_id", "gene_id"):
        assert (a[name][()] == b[name][()]).all(), name
# The same panel split by region on one chromosome, the two files overlapping at chr1:15000: a
# gene's window is read from both, the shared SNV applied once; the same features.
vcf_low = write_vcf(os.path.join(scratch, "low.vcf"), [r for r in good + skipped if r[0] == "chr2" or r[1] <= 15000])
vcf_high = write_vcf(os.path.join(scratch, "high.vcf"), [r for r in good + skipped if r[0] == "chr1" and r[1] >= 15000])
out_regions = os.path.join(scratch, "pregions.h5")
log_regions = personal(out_regions, extra=["--haplotypes"], vcf_path=[vcf_low, vcf_high]).stdout
assert "1 variant(s) were in two --vcf files (overlapping regions); each was applied once" in log_regions, log_regions
with h5py.File(out1, "r") as a, h5py.File(out_regions, "r") as b:
    for name in ("features", "haplotype_features", "n_snvs", "n_windows", "sample_id", "gene_id"):
        assert (a[name][()] == b[name][()]).all(), name
# Killed after its first gene (no unwinding, like a job killed by SLURM), then --resume: the
# finished gene is skipped and the file equals the uninterrupted run.
out3 = os.path.join(scratch, "p3.h5")
cmd = [scpx, "features", "personal", "--fasta", fasta, "--annotation", ann, "--weights", weights, "--vcf", vcf,
       "--seq-len", str(L), "--out", out3, "--threads", "1", "--batch", "2", "--haplotypes"]
r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                   env=dict(os.environ, SCPX_FAULT_EXIT_AFTER_ROUNDS="1"))
assert r.returncode == 75 and not os.path.exists(out3), (r.returncode, r.stdout)
log3 = run(cmd + ["--resume"]).stdout
assert "1 of 3 rows already done" in log3, log3
with open(out1, "rb") as a, open(out3, "rb") as b:
    assert a.read() == b.read(), "killed + resumed run differs"

# --indels apply: indels and MNPs written into the haplotypes, each window cut so the TSS keeps
# its place. Expected windows built here: the haplotype over the whole contig (N beyond its ends),
# each base's reference origin tracked, the window taken around the first base from the TSS on.


def span(chrom, pos, n):
    return contigs[chrom][pos - 1:pos - 1 + n].upper()


indels = [("chr1", 14000, span("chr1", 14000, 40), ref_base("chr1", 14000), ["0|0", "1|0", "0|0"]),  # upstream deletion
          ("chr1", 14500, ref_base("chr1", 14500), ref_base("chr1", 14500) + "ACGTACGTAC", ["0|0", "0|1", "0|1"]),
          # a deletion over the TSS; S3's first haplotype also has the SNV at 15000 (inside it): a conflict
          ("chr1", 14995, span("chr1", 14995, 10), ref_base("chr1", 14995), ["0|0", "0|0", "1|0"]),
          # 1,499 bases deleted near the window's start: more than the first margin (1,024 bp)
          ("chr1", 9500, span("chr1", 9500, 1500), ref_base("chr1", 9500), ["0|0", "0|1", "0|0"]),
          # a deletion starting before that margin, reached only by the haplotype above
          ("chr1", 7700, span("chr1", 7700, 300), ref_base("chr1", 7700), ["0|0", "0|1", "0|0"]),
          # wholly before its haplotype's window: S1's two haplotypes still share one window
          ("chr1", 8000, span("chr1", 8000, 5), ref_base("chr1", 8000), ["1|0", "0|0", "0|0"]),
          ("chr1", 16000, span("chr1", 16000, 2), alt_for("chr1", 16000) + alt_for("chr1", 16001),
           ["0|0", "0|0", "0|1"]),  # an MNP
          ("chr2", 2550, span("chr2", 2550, 20), ref_base("chr2", 2550), ["0|0", "0|0", "1|0"])]
indel_records = good + skipped + indels
vcf_indels = write_vcf(os.path.join(scratch, "indels.vcf"), indel_records)
applied = sorted([r for r in indel_records if r is not skipped[0]], key=lambda r: (r[0], r[1]))  # VCF order


def carried(alts, gts, si, h):
    """The ALT haplotype h of sample si carries (its GT's allele index into the ALT list), or None."""
    k = int(gts[si].split("|")[h])
    alt = alts.split(",")[k - 1] if k > 0 else None
    return None if alt == "*" else alt  # '*': spanned by a deletion of another record


def indel_window(chrom, tss, si, h, records=None):
    seq, pos, parts, origin = contigs[chrom].upper(), 0, [], []
    for c, p, r, alts, gts in (applied if records is None else records):
        a = carried(alts, gts, si, h)
        if c != chrom or a is None or p - 1 < pos:  # not carried, or inside an earlier allele
            continue
        parts.append(seq[pos:p - 1])
        origin.extend(range(pos, p - 1))
        parts.append(a)
        origin.extend(p - 1 + min(i, len(r) - 1) for i in range(len(a)))
        pos = p - 1 + len(r)
    parts.append(seq[pos:])
    origin.extend(range(pos, len(seq)))
    hap = "".join(parts)
    start = int(np.searchsorted(origin, tss - 1)) - L // 2
    return "".join(hap[i] if 0 <= i < len(hap) else "N" for i in range(start, start + L))


ind_windows = [[[indel_window(chrom, tss, si, h) for h in range(2)] for si in range(3)] for _, _, chrom, tss in kept]
hap_ind = predict_windows([w for g in ind_windows for s in g for w in s], "indel").reshape(3, 3, 2, -1)
out_ind = os.path.join(scratch, "pindels.h5")
log_ind = personal(out_ind, extra=["--haplotypes", "--indels", "apply"], vcf_path=vcf_indels).stdout
assert "1 gene(s) read again with a wider margin than 1024 bp" in log_ind, log_ind
assert "1 ALT allele(s) not applied to a haplotype: their REF overlaps an allele" in log_ind, log_ind
assert "REF not matching the FASTA: 1" in log_ind and "skipped indel" not in log_ind, log_ind
with h5py.File(out_ind, "r") as f:
    got_hap = f["haplotype_features"][:]
    err = float(np.abs(got_hap - hap_ind).max())
    err = max(err, float(np.abs(f["features"][:] - hap_ind.mean(axis=2)).max()))
    print("--indels apply vs predict on windows built here: max abs err %.3g" % err)
    assert err < 1e-5, err
    distinct = [len({w for s in g for w in s}) for g in ind_windows]
    assert list(f["n_windows"][:]) == distinct == [5, 1, 2], (list(f["n_windows"][:]), distinct)
    assert list(f["n_snvs"][:]) == [3, 0, 1] and list(f["n_indels"][:]) == [6, 0, 2], \
        (list(f["n_snvs"][:]), list(f["n_indels"][:]))
    assert "--indels apply" in f.attrs["scpx_command"], f.attrs["scpx_command"]
# The deletion near S2's window start pulled 1,788 bases from before the window: not the SNV windows.
with h5py.File(out1, "r") as a, h5py.File(out_ind, "r") as b:
    assert np.abs(a["haplotype_features"][0, 1, 1] - b["haplotype_features"][0, 1, 1]).max() > 0
out_ind2 = os.path.join(scratch, "pindels2.h5")
log_ind2 = personal(out_ind2, ranks=2, extra=["--haplotypes", "--indels", "apply"], vcf_path=vcf_indels).stdout
assert "1 gene(s) read again with a wider margin than 1024 bp" in log_ind2, log_ind2
with open(out_ind, "rb") as a, open(out_ind2, "rb") as b:
    assert a.read() == b.read(), "--indels apply: 1 and 2 ranks differ"

# --multiallelic apply: each haplotype gets the ALT its GT names (2 = the second ALT), each ALT as
# its own normalised record (multi-allelic records pad ALTs to the longest REF); indel ALTs only
# with --indels apply too (else counted, the record's SNV ALTs still written). By default such
# records are skipped and counted.
others = [b for b in "ACGT" if b != ref_base("chr1", 15050)]
others2 = [b for b in "ACGT" if b != ref_base("chr2", 2620)]
multi = [("chr1", 15050, ref_base("chr1", 15050), others[0] + "," + others[1], ["0|1", "2|0", "1|2"]),
         ("chr1", 15150, ref_base("chr1", 15150), alt_for("chr1", 15150) + "," + ref_base("chr1", 15150) + "AC",
          ["0|0", "0|2", "1|0"]),  # an SNV and an insertion
         ("chr2", 2620, ref_base("chr2", 2620), others2[2] + "," + others2[0], ["2|2", "0|0", "0|1"]),
         # GATK's '*': the second haplotype of S1 lies in an upstream deletion (not in this VCF)
         ("chr1", 15350, ref_base("chr1", 15350), alt_for("chr1", 15350) + ",*", ["0|2", "1|0", "0|1"]),
         # padded as joined records are: an SNV written over 4 bases, a 3-bp deletion, ALT = REF
         ("chr1", 15400, span("chr1", 15400, 4),
          alt_for("chr1", 15400) + span("chr1", 15401, 3) + "," + ref_base("chr1", 15400) + "," + span("chr1", 15400, 4),
          ["1|0", "0|2", "3|1"]),
         # starting one base before G1's window: its ALTs are SNVs at the window's first bases
         ("chr1", 8855, span("chr1", 8855, 3),
          ref_base("chr1", 8855) + alt_for("chr1", 8856) + ref_base("chr1", 8857) + "," +
          span("chr1", 8855, 2) + alt_for("chr1", 8857), ["0|1", "2|0", "0|0"])]
vcf_multi = write_vcf(os.path.join(scratch, "multi.vcf"), good + skipped + multi)
log_m0 = personal(os.path.join(scratch, "pmulti0.h5"), vcf_path=vcf_multi).stdout
assert "skipped multi-allelic: 5" in log_m0 and "starting before the region: 1" in log_m0 and "--multiallelic apply writes multi-allelic records too" in log_m0, log_m0


def trim(r, a):
    """An ALT as its own normalised record: (shift from POS, REF, ALT)."""
    r, a = r.upper(), a.upper()
    while len(r) > 1 and len(a) > 1 and r[-1] == a[-1]:
        r, a = r[:-1], a[:-1]
    k = 0
    while len(r) - k > 1 and len(a) - k > 1 and r[k] == a[k]:
        k += 1
    return k, r[k:], a[k:]


def carried_snvs(records, chrom, start, si=None, h=None):
    """(position, ALT) of the carried SNV alleles (of haplotype h of sample si, or of anyone)."""
    out = []
    for c, p, r, alts, gts in records:
        for k, alt in enumerate(alts.split(","), 1):
            shift, tr, ta = trim(r, alt)
            if c != chrom or alt == "*" or len(tr) != 1 or len(ta) != 1 or tr == ta:
                continue
            held = [int(x) for x in gts[si].split("|")][h:h + 1] if si is not None else \
                [int(x) for g in gts for x in g.split("|")]
            if k in held and start <= p - 1 + shift < start + L:
                out.append((p - 1 + shift, ta))
    return out


def window_of(records, chrom, tss, si, h):
    """SNVs only: the reference window with each carried SNV ALT written in."""
    start = tss - 1 - L // 2
    seq = [contigs[chrom][p].upper() if 0 <= p < len(contigs[chrom]) else "N" for p in range(start, start + L)]
    for p, a in carried_snvs(records, chrom, start, si, h):
        seq[p - start] = a
    return "".join(seq)


for extra, records, name in [(["--multiallelic", "apply"], good + multi, "snv"),
                             (["--multiallelic", "apply", "--indels", "apply"],
                              [r for r in good + skipped + multi if r is not skipped[0]], "indel")]:
    records = sorted(records, key=lambda r: (r[0], r[1]))
    build = (lambda c, t, si, h: window_of(records, c, t, si, h)) if name == "snv" else \
        (lambda c, t, si, h: indel_window(c, t, si, h, records))
    want = [[[build(chrom, tss, si, h) for h in range(2)] for si in range(3)] for _, _, chrom, tss in kept]
    hap_m = predict_windows([w for g in want for s in g for w in s], "multi_" + name).reshape(3, 3, 2, -1)
    out_m = os.path.join(scratch, "pmulti_%s.h5" % name)
    log_m = personal(out_m, extra=["--haplotypes"] + extra, vcf_path=vcf_multi).stdout
    assert "skipped multi-allelic" not in log_m, log_m
    # Without --indels apply the insertion ALT at 15150 and the deletion ALT at 15400 are not
    # written (their records' SNV ALTs are); the biallelic insertions are skipped as before.
    assert ("skipped indel: 2" in log_m) == (name == "snv"), log_m
    assert ("2 carried ALT allele(s) of multi-allelic records not written" in log_m) == (name == "snv"), log_m
    with h5py.File(out_m, "r") as f:
        err = float(np.abs(f["haplotype_features"][:] - hap_m).max())
        print("--multiallelic apply (%s) vs predict on windows built here: max abs err %.3g" % (name, err))
        assert err < 1e-5, err
        # ALT = REF costs no pass of its own
        assert list(f["n_windows"][:]) == [len({w for s in g for w in s}) for g in want], list(f["n_windows"][:])
        assert "--multiallelic apply" in f.attrs["scpx_command"], f.attrs["scpx_command"]
        n = [len(carried_snvs(records, chrom, tss - 1 - L // 2)) for _, _, chrom, tss in kept]
        assert list(f["n_snvs"][:]) == n and n[0] >= 7, (list(f["n_snvs"][:]), n)
# The same sites split into normalised biallelic records (bcftools norm -m-), read by default
# (SNVs only: the split deletion is skipped): the same windows as the joined sites.
split_sites = []
for c, p, r, alts, gts in multi:
    for k, alt in enumerate(alts.split(","), 1):
        shift, tr, ta = trim(r, alt)
        if tr != ta:
            split_sites.append((c, p + shift, tr, ta, ["|".join("1" if x == str(k) else "0" for x in g.split("|"))
                                                       for g in gts]))
vcf_split = write_vcf(os.path.join(scratch, "multi_split.vcf"), good + split_sites)
out_split_m = os.path.join(scratch, "pmulti_split.h5")
personal(out_split_m, extra=["--haplotypes"], vcf_path=vcf_split)
with h5py.File(out_split_m, "r") as a, h5py.File(os.path.join(scratch, "pmulti_snv.h5"), "r") as b:
    assert (a["haplotype_features"][:] == b["haplotype_features"][:]).all(), "split sites differ from --multiallelic apply"
    assert list(a["n_snvs"][:]) == list(b["n_snvs"][:]), (list(a["n_snvs"][:]), list(b["n_snvs"][:]))
# S2's first haplotype carries the second ALT at chr1:15050: its features differ from the SNV-only run's.
with h5py.File(out1, "r") as a, h5py.File(os.path.join(scratch, "pmulti_snv.h5"), "r") as b:
    assert np.abs(a["haplotype_features"][0, 1, 0] - b["haplotype_features"][0, 1, 0]).max() > 0

# Bad input: one ERROR naming the file, non-zero exit, no output (nor its temporary).


def expect_fail(out, want, **kw):
    r = personal(out, ok=False, **kw)
    errors = [line for line in r.stdout.splitlines() if "ERROR" in line]
    assert r.returncode != 0 and len(errors) >= 1 and all(w in errors[0] for w in want), r.stdout
    # The final name never appears; an unfinished temporary output is kept (and said so) only
    # when the run got as far as creating it, for --resume after the input is fixed.
    tmp = os.path.join(os.path.dirname(out), "." + os.path.basename(out) + ".scpx-tmp")
    assert not os.path.exists(out), out
    assert not os.path.exists(tmp) or "unfinished output kept for --resume" in r.stdout, r.stdout
    print("ok: " + errors[0][:160])


expect_fail(os.path.join(scratch, "bad_ref.h5"), ["phased.vcf.gz", "15200"], extra=["--ref-mismatch", "error"])
unphased = write_vcf(os.path.join(scratch, "unphased.vcf"),
                     [("chr1", 15000, ref_base("chr1", 15000), alt_for("chr1", 15000), ["0|0", "0/1", "1|1"])])
expect_fail(os.path.join(scratch, "bad_phase.h5"), ["unphased.vcf.gz", "S2", "--unphased as-written"],
            vcf_path=unphased)
with open(os.path.join(scratch, "missing.txt"), "w") as f:
    f.write("S1\nS9\nS8\n")
expect_fail(os.path.join(scratch, "bad_sample.h5"), ["missing.txt", "line 2", "S9", "S8 (line 3)"],
            extra=["--samples", os.path.join(scratch, "missing.txt")])
# A VCF with a header and no record: an error, not reference features for everybody.
empty = write_vcf(os.path.join(scratch, "empty.vcf"), [])
expect_fail(os.path.join(scratch, "bad_empty.h5"), ["empty.vcf.gz", "no records"], vcf_path=empty)
# Plain gzip cannot be indexed: the message says to recompress with bgzip.
plain = os.path.join(scratch, "plain.vcf.gz")
subprocess.run("zcat %s | gzip > %s" % (vcf, plain), shell=True, check=True)
expect_fail(os.path.join(scratch, "bad_plain.h5"), ["plain.vcf.gz", "bgzip"], vcf_path=plain)
# --out naming an input's index is refused before anything is written; the index stays intact.
with open(vcf + ".tbi", "rb") as f:
    tbi = f.read()
r = personal(vcf + ".tbi", ok=False)
assert r.returncode == 2 and "is the input file given as the index of --vcf" in r.stdout, r.stdout
with open(vcf + ".tbi", "rb") as f:
    assert f.read() == tbi, "the index was overwritten"
print("features personal: all checks passed")
