#!/usr/bin/env python3
"""Bad-input sweep for the scpx CLI: mutate one input file of a known-good command, run it, and
check the project's rule for bad input — no crash (no signal, no sanitizer report), a non-zero
exit with one ERROR line that names the mutated file, or a zero exit; and never a partial output
left behind on failure.

Not part of CTest (hundreds of runs); run it by hand after touching a reader:

    tests/fuzz/mutate_inputs.py --scpx build/scpx --case lctpred --runs 200 --seed 1
    tests/fuzz/mutate_inputs.py --scpx build-asan/scpx --case enet-cv --runs 100

Each failing case is kept under --work (default /tmp/scpx_fuzz/<case>/<n>/) with the command in
cmd.txt, and listed at the end; the exit code is the number of failing cases (capped at 100).
"""
import argparse
import gzip
import os
import random
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LCT = os.path.join(ROOT, "tests", "data", "enet", "lctpred")

# Each case: the input files (name -> source path) and the command, with {name} for a file's
# mutated copy and {out} for the output prefix; outputs are the files a failure must not leave.
CASES = {
    "lctpred": {
        "inputs": {
            "expression": os.path.join(LCT, "expression.tsv"),
            "gene_annot": os.path.join(LCT, "gene_annot.tsv"),
            "genotype": os.path.join(LCT, "genotype.tsv.gz"),
            "snp_annot": os.path.join(LCT, "snp_annot.tsv"),
        },
        "command": ["lctpred", "--expression", "{expression}", "--gene-annotation", "{gene_annot}",
                    "--genotype", "{genotype}", "--snp-annotation", "{snp_annot}", "--seed", "7",
                    "--out", "{out}/m", "--verbosity", "warn"],
        "outputs": ["m.db", "m.covariance.txt.gz", "m.summary.h5"],
        "logs": ["m.log"],
    },
    "lctpred-vcf": {
        "inputs": {
            "expression": os.path.join(LCT, "expression.tsv"),
            "gene_annot": os.path.join(LCT, "gene_annot.tsv"),
            "vcf": os.path.join(LCT, "genotype.vcf.gz"),
        },
        "command": ["lctpred", "--expression", "{expression}", "--gene-annotation", "{gene_annot}",
                    "--vcf", "{vcf}", "--seed", "7", "--out", "{out}/m", "--verbosity", "warn"],
        "outputs": ["m.db", "m.covariance.txt.gz", "m.summary.h5"],
        "logs": ["m.log"],
    },
    "inspect": {
        "inputs": {
            "annotation": os.path.join(LCT, "gene_annot.tsv"),
            "vcf": os.path.join(LCT, "genotype.vcf.gz"),
        },
        "command": ["inspect", "--annotation", "{annotation}", "--vcf", "{vcf}", "--out", "{out}/inspect.json",
                    "--verbosity", "warn"],
        "outputs": ["inspect.json"],
        "logs": ["inspect.log"],
    },
    "enet-cv": {
        # One gene of the lctpred data: its expression row and a 3-repeat fold table (made below).
        "inputs": {
            "genotype": os.path.join(LCT, "genotype.tsv.gz"),
            "expression": "generated:expression_one_gene.tsv",
            "foldid": "generated:foldid.tsv",
        },
        "command": ["enet", "cv", "--genotype", "{genotype}", "--expression", "{expression}",
                    "--foldid", "{foldid}", "--out", "{out}/p", "--verbosity", "warn"],
        "outputs": ["p.cv.tsv", "p.weights.tsv", "p.summary.tsv"],
        "logs": ["p.log"],
    },
    "features": {
        # The shared fixture's small Enformer (12,288 bp windows) on a random two-contig genome.
        "inputs": {
            "fasta": "generated:ref.fa",
            "annotation": "generated:genes.tsv",
        },
        "command": ["features", "reference", "--fasta", "{fasta}", "--annotation", "{annotation}",
                    "--weights", os.path.join(os.path.dirname(ROOT), "shared", "fixtures", "enformer", "weights.h5"),
                    "--seq-len", "12288", "--threads", "1", "--out", "{out}/f.h5", "--verbosity", "warn"],
        "outputs": ["f.h5"],
        "logs": ["f.log"],
    },
    "spredixcan": {
        "inputs": {
            "gwas": os.path.join(LCT, "gwas.tsv.gz"),
        },
        "needs_models": True,
        "command": ["spredixcan", "--model_db_path", "{models}/m.db", "--covariance",
                    "{covariance}", "--gwas_file", "{gwas}", "--snp_column", "SNP",
                    "--effect_allele_column", "A1", "--non_effect_allele_column", "A2",
                    "--zscore_column", "ZSCORE", "--output_file", "{out}/assoc.csv"],
        "outputs": ["assoc.csv"],
        "logs": ["assoc.log"],
    },
}

ODD_FIELDS = ["", "NA", "nan", "-nan", "inf", "-inf", "1e400", "-1e400", "abc", "1,5", "0x10",
              " 1", "1 ", "-1", "3", "1e-320", "\x00", "é", "9" * 400, "chrX", "X", "0", "+"]


def read_text(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        return f.read()


def write_like(path, data, gz):
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        with open(path, "wb") as f:
            f.write(data)


def mutate(data, rng):
    """Returns (mutated bytes, description, raw) — raw: write the bytes as they are (no gzip)."""
    lines = data.split(b"\n")
    kind = rng.choice(["field", "field", "field", "drop_field", "extra_field", "dup_line",
                       "drop_line", "truncate", "empty", "header_only", "crlf", "swap_lines",
                       "garbage", "raw_truncate_gz"])
    nonempty = [i for i, l in enumerate(lines) if l]
    i = rng.choice(nonempty) if nonempty else 0
    if kind in ("field", "drop_field", "extra_field"):
        sep = b"\t" if b"\t" in lines[i] else b" "
        fields = lines[i].split(sep)
        j = rng.randrange(len(fields))
        if kind == "field":
            val = rng.choice(ODD_FIELDS).encode("utf-8", "surrogateescape")
            fields[j] = val
            desc = f"line {i + 1} field {j + 1} -> {val[:20]!r}"
        elif kind == "drop_field":
            del fields[j]
            desc = f"line {i + 1} field {j + 1} removed"
        else:
            fields.insert(j, b"1")
            desc = f"line {i + 1} extra field at {j + 1}"
        lines[i] = sep.join(fields)
        return b"\n".join(lines), desc, False
    if kind == "dup_line":
        lines.insert(i, lines[i])
        return b"\n".join(lines), f"line {i + 1} duplicated", False
    if kind == "drop_line":
        del lines[i]
        return b"\n".join(lines), f"line {i + 1} removed", False
    if kind == "truncate":
        cut = rng.randrange(len(data)) if data else 0
        return data[:cut], f"truncated at byte {cut}", False
    if kind == "empty":
        return b"", "empty", False
    if kind == "header_only":
        return lines[0] + b"\n", "header only", False
    if kind == "crlf":
        return data.replace(b"\n", b"\r\n"), "CRLF line ends", False
    if kind == "swap_lines":
        k = rng.choice(nonempty) if nonempty else 0
        lines[i], lines[k] = lines[k], lines[i]
        return b"\n".join(lines), f"lines {i + 1} and {k + 1} swapped", False
    if kind == "garbage":
        n = rng.randrange(1, 64)
        blob = bytes(rng.randrange(256) for _ in range(n))
        pos = rng.randrange(len(data) + 1)
        return data[:pos] + blob + data[pos:], f"{n} random bytes at {pos}", False
    # raw_truncate_gz: the compressed stream itself cut short (only meaningful for .gz inputs)
    z = gzip.compress(data)
    cut = rng.randrange(1, len(z)) if len(z) > 1 else 0
    return z[:cut], f"gzip stream cut at byte {cut} of {len(z)}", True


def make_generated(base):
    """Inputs made from the bundled data: one gene's expression row and a fold-id table."""
    with open(os.path.join(LCT, "expression.tsv")) as f:
        header, first = f.readline().rstrip("\n").split("\t"), f.readline().rstrip("\n").split("\t")
    with gzip.open(os.path.join(LCT, "genotype.tsv.gz"), "rt") as f:
        genotyped = set(f.readline().rstrip("\n").split("\t")[1:])
    keep = [0] + [i for i in range(1, len(header)) if header[i] in genotyped]  # enet cv wants all
    expr = os.path.join(base, "expression_one_gene.tsv")
    with open(expr, "w") as f:
        f.write("\t".join(header[i] for i in keep) + "\n" + "\t".join(first[i] for i in keep) + "\n")
    samples = [header[i] for i in keep[1:]]
    rng = random.Random(5)
    folds = os.path.join(base, "foldid.tsv")
    with open(folds, "w") as f:
        f.write("sample\trep1\trep2\trep3\n")
        for s in samples:
            f.write(s + "".join(f"\t{rng.randint(1, 10)}" for _ in range(3)) + "\n")
    fasta = os.path.join(base, "ref.fa")
    with open(fasta, "w") as f:
        for name, n in (("chr1", 30000), ("chr2", 5000)):
            seq = "".join(rng.choice("ACGTacgtN") for _ in range(n))
            f.write(f">{name}\n" + "".join(seq[i:i + 60] + "\n" for i in range(0, n, 60)))
    genes = os.path.join(base, "genes.tsv")
    with open(genes, "w") as f:
        f.write("gene_id\tgene_name\tchr\ttss\tstrand\tgene_type\n")
        for g in (("G1", "A1", "chr1", 15000, "+"), ("G2", "B2", "chr1", 9000, "-"), ("G3", "C3", "chr2", 2500, "+")):
            f.write("%s\t%s\t%s\t%d\t%s\tprotein_coding\n" % g)
    return {"expression_one_gene.tsv": expr, "foldid.tsv": folds, "ref.fa": fasta, "genes.tsv": genes}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scpx", required=True)
    ap.add_argument("--case", choices=sorted(CASES), required=True)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", default="/tmp/scpx_fuzz")
    ap.add_argument("--timeout", type=int, default=120)
    ap.add_argument("--show-accepted", action="store_true", help="list the mutations that ran to exit 0")
    ap.add_argument("--show-errors", action="store_true", help="print each clean error message")
    a = ap.parse_args()
    case = CASES[a.case]
    rng = random.Random(a.seed)
    base = os.path.join(a.work, a.case)
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:exitcode=99",
               UBSAN_OPTIONS="halt_on_error=1:exitcode=98:print_stacktrace=1")

    models = None
    if case.get("needs_models"):
        models = os.path.join(base, "models")
        os.makedirs(models)
        c = CASES["lctpred"]
        cmd = [a.scpx] + [t.format(out=models, **c["inputs"]) for t in c["command"]]
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    generated = make_generated(base)
    inputs = {k: generated[v[len("generated:"):]] if v.startswith("generated:") else v
              for k, v in case["inputs"].items()}
    if models:  # the covariance written by lctpred is an input to mutate too
        inputs["covariance"] = os.path.join(models, "m.covariance.txt.gz")
    sources = {k: read_text(v) for k, v in inputs.items()}
    failures = []
    tally = {"ok": 0, "clean error": 0}
    for n in range(a.runs):
        d = os.path.join(base, str(n))
        out = os.path.join(d, "out")
        os.makedirs(out)
        target = rng.choice(sorted(inputs))
        data, desc, raw = mutate(sources[target], rng)
        files = {}
        for k, src in inputs.items():
            name = os.path.join(d, os.path.basename(src))
            gz = src.endswith(".gz")
            if k == target:
                if raw and not gz:
                    data, raw = data, False  # a plain-text input: the bytes are what they are
                write_like(name, data, gz and not raw)
            else:
                shutil.copyfile(src, name)
            files[k] = name
        cmd = [a.scpx] + [t.format(out=out, models=models, **files) for t in case["command"]]
        with open(os.path.join(d, "cmd.txt"), "w") as f:
            f.write(f"# {target}: {desc}\n" + " ".join(cmd) + "\n")
        try:
            p = subprocess.run(cmd, env=env, capture_output=True, timeout=a.timeout)
            rc, err = p.returncode, p.stderr.decode("utf-8", "replace") + p.stdout.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            rc, err = "timeout", ""
        problem = None
        if rc == "timeout":
            problem = "timed out"
        elif rc < 0 or rc >= 97:
            problem = f"crashed (rc {rc})"
        elif "runtime error:" in err or "AddressSanitizer" in err:
            problem = "sanitizer report"
        elif rc != 0:
            errors = [l for l in err.splitlines() if "ERROR" in l]
            left = [o for o in case["outputs"] if os.path.exists(os.path.join(out, o))]
            # The run's log stays on purpose, as <name>.failed.log: it holds the options and the error.
            logs = case.get("logs", [])
            kept = logs + [l[: -len(".log")] + ".failed.log" for l in logs]
            stray = [f for f in os.listdir(out) if f not in case["outputs"] + kept]
            if len(errors) != 1:
                problem = f"{len(errors)} ERROR lines"
            elif os.path.basename(files[target]) not in errors[0]:
                problem = "message does not name the file"
            elif left or stray:
                problem = f"left behind: {left + stray}"
            else:
                tally["clean error"] += 1
                if a.show_errors:
                    print(f"  error [{n}] {target}: {desc}:\n        {errors[0][:300]}")
        else:
            tally["ok"] += 1
            if a.show_accepted:
                print(f"  accepted [{n}] {target}: {desc}")
        if problem:
            failures.append((n, target, desc, problem, err.strip().splitlines()[-3:] if err else []))
        else:
            shutil.rmtree(d)
    print(f"{a.case}: {a.runs} runs — {tally['ok']} accepted, {tally['clean error']} clean errors, "
          f"{len(failures)} problems")
    for n, target, desc, problem, tail in failures:
        print(f"  [{n}] {target}: {desc}: {problem}")
        for l in tail:
            print(f"        {l[:300]}")
    return min(len(failures), 100)


if __name__ == "__main__":
    sys.exit(main())
