#!/usr/bin/python3
"""CTest driver for `scpx features reference` on the fixture's small Enformer (12,288 bp windows).

  features_check.py SCPX MPIEXEC FIXTURE_DIR SCRATCH

A random two-contig FASTA (one contig shorter than a window, so windows are N-padded) and a gene
table with genes near both contig ends, one on a contig the FASTA lacks, one whose TSS is past
its contig end. Checks: the skipped genes are reported; each gene's features equal the mean of
bins 30..33 of `scpx enformer predict` run on the same window built here in Python; 1 rank and
2 ranks give byte-identical files (and at 2 ranks the annotation's warnings print once, with
each rank's device and time listed by rank 0); a second run gives the same bytes.
Exit 77 (skipped) without the fixture.
"""
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

scpx, mpiexec, fixdir, scratch = sys.argv[1:5]
weights = os.path.join(fixdir, "weights.h5")
if not os.path.exists(weights):
    print("no enformer fixture: skipped")
    sys.exit(77)
os.makedirs(scratch, exist_ok=True)
# A rerun in the same build folder starts clean: the kill + resume check below needs no f4.h5.
for name in os.listdir(scratch):
    if name.startswith("f") and ".h5" in name:
        os.remove(os.path.join(scratch, name))
L = 12288
rng = np.random.default_rng(5)
contigs = {"chr1": "".join(rng.choice(list("ACGTacgtN"), 30000, p=[.24, .24, .24, .24, .01, .01, .01, .01, .0])),
           "chr2": "".join(rng.choice(list("ACGT"), 5000))}
fasta = os.path.join(scratch, "ref.fa")
with open(fasta, "w") as f:
    for name, s in contigs.items():
        f.write(">%s\n" % name)
        for i in range(0, len(s), 60):
            f.write(s[i:i + 60] + "\n")
for p in (fasta + ".fai",):
    if os.path.exists(p):
        os.remove(p)
genes = [("G1", "A1", "chr1", 15000, "+"), ("G2", "", "chr1", 100, "-"), ("G3", "B3", "chr1", 29990, "+"),
         ("G4", "C4", "chr2", 2500, "+"), ("G5", "D5", "chrX", 1000, "+"), ("G6", "E6", "chr2", 9000, "+"),
         ("G7", "F7", "chr1", 6144, "-")]
ann = os.path.join(scratch, "genes.tsv")
with open(ann, "w") as f:
    f.write("gene_id\tgene_name\tchr\ttss\tstrand\tgene_type\n")
    for g in genes:
        f.write("%s\t%s\t%s\t%d\t%s\tprotein_coding\n" % g)


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        print(r.stdout)
        raise SystemExit("failed: " + " ".join(cmd))
    return r.stdout


flags = ["--allow-run-as-root", "--oversubscribe"] if os.getuid() == 0 else ["--oversubscribe"]


def features(out, ranks, extra=()):
    cmd = [scpx, "features", "reference", "--fasta", fasta, "--annotation", ann, "--weights", weights,
           "--seq-len", str(L), "--out", out, "--threads", "1", "--batch", "2"] + list(extra)
    if ranks > 1:
        cmd = [mpiexec, "-n", str(ranks)] + flags + cmd
    return run(cmd)


out1 = os.path.join(scratch, "f1.h5")
log = features(out1, 1)
assert "chromosome not in" in log and "G5 on chrX" in log, log
assert "TSS outside the FASTA contig" in log and "G6" in log, log
kept = [g for g in genes if g[0] not in ("G5", "G6")]

# Expected: the same windows through `scpx enformer predict`.
x = np.zeros((len(kept), L, 4), np.float32)
idx = {"A": 0, "C": 1, "G": 2, "T": 3}
for i, (_, _, chrom, tss, _) in enumerate(kept):
    start = tss - 1 - L // 2
    for j in range(L):
        p = start + j
        if 0 <= p < len(contigs[chrom]):
            b = contigs[chrom][p].upper()
            if b in idx:
                x[i, j, idx[b]] = 1
with h5py.File(os.path.join(scratch, "win.h5"), "w") as f:
    f["x"] = x
pred = os.path.join(scratch, "pred.h5")
run([scpx, "enformer", "predict", "--weights", weights, "--onehot", os.path.join(scratch, "win.h5") + ":/x",
     "--out", pred, "--threads", "1"])
# Under mpirun, enformer predict (one input, one output) runs on rank 0 and says so.
pred2 = os.path.join(scratch, "pred_np2.h5")
log = run([mpiexec, "-n", "2"] + flags + [scpx, "enformer", "predict", "--weights", weights, "--onehot",
                                          os.path.join(scratch, "win.h5") + ":/x", "--out", pred2, "--threads", "1"])
assert log.count("runs on rank 0 only") == 1, log
with h5py.File(pred, "r") as a, h5py.File(pred2, "r") as b:
    assert (a["human"][:] == b["human"][:]).all()
# Bad input at 2 ranks: one ERROR naming the dataset (rank 0's; the other rank only waits),
# non-zero exit, no output.
pred3 = os.path.join(scratch, "pred_np2_bad.h5")
r = subprocess.run([mpiexec, "-n", "2"] + flags + [scpx, "enformer", "predict", "--weights", weights, "--onehot",
                                                   os.path.join(scratch, "win.h5") + ":/missing", "--out", pred3,
                                                   "--threads", "1"],
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
assert r.returncode != 0 and r.stdout.count("ERROR:") == 1 and "/missing" in r.stdout, r.stdout
assert not os.path.exists(pred3), pred3
with h5py.File(pred, "r") as p, h5py.File(out1, "r") as f:
    want = p["human"][:, 30:34, :].mean(axis=1)
    got = f["features"][:]
    assert got.shape == (len(kept), 5313), got.shape
    err = float(np.abs(got - want).max())
    print("features vs predict: max abs err %.3g" % err)
    assert err < 1e-5
    assert [s.decode() for s in f["gene_id"][:]] == [g[0] for g in kept]
    assert list(f["tss"][:]) == [g[3] for g in kept]
    assert f["done"][:].all()

out2 = os.path.join(scratch, "f2.h5")
os.remove(fasta + ".fai")  # the 2-rank run builds it (rank 0 alone, then the other rank opens it)
log2 = features(out2, 2)
assert open(out1, "rb").read() == open(out2, "rb").read(), "1 rank and 2 ranks differ"
# Both ranks read the same annotation: its warnings once, not once per rank; rank 0 lists each
# rank's device and time.
assert log2.count("chromosome not in") == 1 and "[rank 1]" not in log2, log2
for line in ("Enformer device per rank:", "  rank 1 (", "Enformer passes per rank:", "  rank 1: ",
             "Enformer passes: slowest rank "):
    assert line in log2, (line, log2)
out3 = os.path.join(scratch, "f3.h5")
features(out3, 1, ["--resume"])
assert open(out1, "rb").read() == open(out3, "rb").read(), "rerun differs"

# Killed after the first round (2 of 5 genes written; no unwinding, like a job killed by SLURM),
# then rerun with --resume: the finished genes are skipped and the file equals the clean run.
out4 = os.path.join(scratch, "f4.h5")
cmd = [scpx, "features", "reference", "--fasta", fasta, "--annotation", ann, "--weights", weights,
       "--seq-len", str(L), "--out", out4, "--threads", "1", "--batch", "2"]
r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                   env=dict(os.environ, SCPX_FAULT_EXIT_AFTER_ROUNDS="1"))
assert r.returncode == 75, (r.returncode, r.stdout)
assert not os.path.exists(out4), "a killed run left its final output"
log = features(out4, 1, ["--resume"])
assert "resuming" in log and "2 of 5 rows already done" in log, log
assert open(out1, "rb").read() == open(out4, "rb").read(), "killed + resumed run differs"
# An input edited after the kill: --resume must refuse (its first rows came from the old input).
out5 = os.path.join(scratch, "f5.h5")
cmd5 = [c if c != out4 else out5 for c in cmd]
r = subprocess.run(cmd5, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                   env=dict(os.environ, SCPX_FAULT_EXIT_AFTER_ROUNDS="1"))
assert r.returncode == 75, (r.returncode, r.stdout)
os.utime(ann)  # as if the annotation had been edited now
r = subprocess.run(cmd5 + ["--resume"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
assert r.returncode == 2 and "modified after the unfinished output" in r.stdout, (r.returncode, r.stdout)
assert not os.path.exists(out5)
print("byte-identical at 1 and 2 ranks, on rerun, and after a kill + --resume; "
      "--resume refused after an input changed")

# A FASTA that turns out corrupt in a later window: the windows after the first batch are read on
# a worker thread during the pass, and its error must end the run as any input error does (one
# ERROR line naming the FASTA, non-zero exit, no final output), not terminate the process. A
# 300-kb contig in several bgzip blocks, indexed while intact, then one byte of its last block
# changed (the size and the index stay; a .fai older than the FASTA is only warned about).
bgzip = shutil.which("bgzip")
if bgzip:
    big = os.path.join(scratch, "big.fa")
    with open(big, "w") as f:
        s = "".join(rng.choice(list("ACGT"), 300000))
        f.write(">chr1\n" + "".join(s[i:i + 60] + "\n" for i in range(0, len(s), 60)))
    for p in (big + ".gz", big + ".gz.fai", big + ".gz.gzi"):
        if os.path.exists(p):
            os.remove(p)
    subprocess.run([bgzip, "-f", big], check=True)
    big_ann = os.path.join(scratch, "big_genes.tsv")
    with open(big_ann, "w") as f:
        f.write("gene_id\tgene_name\tchr\ttss\tstrand\tgene_type\n")
        f.write("B1\tb1\tchr1\t20000\t+\tprotein_coding\nB2\tb2\tchr1\t280000\t+\tprotein_coding\n")
    bad_cmd = [scpx, "features", "reference", "--fasta", big + ".gz", "--annotation", big_ann, "--weights", weights,
               "--seq-len", str(L), "--threads", "1", "--batch", "1"]
    run(bad_cmd + ["--out", os.path.join(scratch, "f6.h5")])  # builds the index on the intact file
    data = bytearray(open(big + ".gz", "rb").read())
    data[len(data) - 5000] ^= 0xFF  # inside the compressed data of the last blocks (chr1 ≥ ~260 kb)
    open(big + ".gz", "wb").write(data)
    out7 = os.path.join(scratch, "f7.h5")
    r = subprocess.run(bad_cmd + ["--out", out7], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    errors = [line for line in r.stdout.splitlines() if "ERROR" in line]
    assert r.returncode not in (0, 75) and r.returncode > 0, (r.returncode, r.stdout)
    assert len(errors) == 1 and "big.fa.gz" in errors[0], r.stdout
    assert "terminate" not in r.stdout and not os.path.exists(out7), r.stdout
    print("a corrupt FASTA block read on the worker thread ends the run with:", errors[0])
print("OK")
