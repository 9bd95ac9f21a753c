#!/usr/bin/env bash
# Device options of the Enformer commands (`enformer predict`, `features reference`): --device,
# --precision, --conv-backend, --attention and --pool checks; --device auto falls back to the CPU with a log line where
# no GPU is usable, and the CPU output does not depend on these options (byte-identical files).
# Uses the shared fixture's small model and its one-hot inputs; exit 77 (skipped) without them.
source "$(dirname "$0")/e2e_lib.sh"
FX=${SCPX_SHARED_FIXTURES:-}/enformer
if [[ ! -f "$FX/weights.h5" || ! -f "$FX/io.h5" ]]; then echo "no enformer fixture: skipped"; exit 77; fi
W="$FX/weights.h5"
IN="$FX/io.h5:/inputs/onehot"
# SCPX_E2E_GPU=1: $SCPX has a GPU (tests/cuda_emu runs this script with the emulated-GPU build).
gpu=${SCPX_E2E_GPU:-0}
if [[ $gpu -eq 0 ]] && command -v nvidia-smi > /dev/null 2>&1 && nvidia-smi -L > /dev/null 2>&1; then gpu=1; fi

# write_genome NAME SEED LENGTH GENE...: $WORK/NAME.fa, one random contig chr1 (60 bases a line),
# and $WORK/NAME.gtf with one protein-coding gene line per GENE given as CHROM:ID:START:END:STRAND.
write_genome() {
  /usr/bin/python3 - "$WORK" "$@" << 'PY'
import random, sys
work, name, seed, n, genes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:]
random.seed(seed)
seq = "".join(random.choice("ACGT") for _ in range(n))
with open(f"{work}/{name}.fa", "w") as f:
    f.write(">chr1\n" + "".join(seq[i:i + 60] + "\n" for i in range(0, len(seq), 60)))
with open(f"{work}/{name}.gtf", "w") as f:
    for gene in genes:
        chrom, gid, start, end, strand = gene.split(":")
        f.write(f'{chrom}\tt\tgene\t{start}\t{end}\t.\t{strand}\t.\tgene_id "{gid}"; gene_type "protein_coding";\n')
PY
}

expect_fail predict_bad_precision "--precision must be fp32, tf32 or bf16 \(got 'fp16'\)" "$WORK/p_bad.h5" -- \
  "$SCPX" enformer predict --weights "$W" --onehot "$IN" --precision fp16 --out "$WORK/p_bad.h5"
expect_fail predict_bad_device "--device must be auto, cpu or cuda" "$WORK/p_bad.h5" -- \
  "$SCPX" enformer predict --weights "$W" --onehot "$IN" --device tpu --out "$WORK/p_bad.h5"
expect_fail predict_bad_conv_backend "--conv-backend must be custom, cudnn or auto" "$WORK/p_bad.h5" -- \
  "$SCPX" enformer predict --weights "$W" --onehot "$IN" --conv-backend winograd --out "$WORK/p_bad.h5"
expect_fail predict_bad_attention "--attention must be auto, gemm, fused or flash \(got 'sparse'\)" "$WORK/p_bad.h5" -- \
  "$SCPX" enformer predict --weights "$W" --onehot "$IN" --attention sparse --out "$WORK/p_bad.h5"
expect_fail predict_bad_pool "--pool must be gemm or fused" "$WORK/p_bad.h5" -- \
  "$SCPX" enformer predict --weights "$W" --onehot "$IN" --pool max --out "$WORK/p_bad.h5"
expect_fail predict_negative_batch "--batch: must be an integer ≥ 0 \(got .-1.\)" "$WORK/p_bad.h5" -- \
  "$SCPX" enformer predict --weights "$W" --onehot "$IN" --batch -1 --out "$WORK/p_bad.h5"
rc=0; "$SCPX" enformer predict --weights "$W" --onehot "$IN" --precision fp16 --out "$WORK/p_bad.h5" \
  > /dev/null 2>&1 || rc=$?
check predict_usage_error_exit_code_2 test "$rc" -eq 2

expect_ok predict_cpu "$SCPX" enformer predict --weights "$W" --onehot "$IN" --device cpu --out "$WORK/cpu.h5"
check predict_cpu_logs_device grep -q "Enformer device: CPU (fp32" "$WORK/predict_cpu.log"
expect_ok predict_cpu_bf16 "$SCPX" enformer predict --weights "$W" --onehot "$IN" --device cpu --precision bf16 \
  --conv-backend cudnn --out "$WORK/cpu_bf16.h5"
check cpu_precision_warning grep -q "WARN.*--precision bf16: the CPU model always runs fp32" "$WORK/predict_cpu_bf16.log"
check cpu_precision_ignored cmp -s "$WORK/cpu.h5" "$WORK/cpu_bf16.h5"

if [[ $gpu -eq 0 ]]; then
  expect_fail predict_cuda_without_gpu "--device cuda was asked for, but" "$WORK/p_cuda.h5" -- \
    "$SCPX" enformer predict --weights "$W" --onehot "$IN" --device cuda --out "$WORK/p_cuda.h5"
  expect_ok predict_auto "$SCPX" enformer predict --weights "$W" --onehot "$IN" --device auto --out "$WORK/auto.h5"
  check auto_falls_back_with_log_line grep -q "Running on the CPU: " "$WORK/predict_auto.log"
  check fallback_reason_not_doubled bash -c "! grep -qi 'no usable GPU (no usable GPU' '$WORK/predict_auto.log'"
  check auto_equals_cpu cmp -s "$WORK/cpu.h5" "$WORK/auto.h5"
  # features reference: the device is resolved right after the weights load, before any input.
  expect_fail features_cuda_without_gpu "--device cuda was asked for, but" "$WORK/f_cuda.h5" -- \
    "$SCPX" features reference --fasta "$WORK/none.fa" --annotation "$WORK/none.tsv" --weights "$W" \
    --seq-len 12288 --device cuda --out "$WORK/f_cuda.h5"
else
  expect_ok predict_cuda "$SCPX" enformer predict --weights "$W" --onehot "$IN" --device cuda --out "$WORK/cuda.h5"
  check predict_cuda_logs_device grep -q "Enformer device: cuda:" "$WORK/predict_cuda.log"
  expect_ok predict_auto_gpu "$SCPX" enformer predict --weights "$W" --onehot "$IN" --device auto --out "$WORK/auto.h5"
  check auto_uses_the_gpu grep -q "Enformer device: cuda:" "$WORK/predict_auto_gpu.log"
  expect_ok predict_cuda_bf16 "$SCPX" enformer predict --weights "$W" --onehot "$IN" --device cuda --precision bf16 \
    --out "$WORK/cuda_bf16.h5"
  expect_ok predict_cuda_bf16_flash "$SCPX" enformer predict --weights "$W" --onehot "$IN" --device cuda \
    --precision bf16 --attention flash --pool fused --out "$WORK/cuda_bf16_flash.h5"
  check predict_logs_attention_and_pool grep -q "attention flash, pool fused" "$WORK/predict_cuda_bf16_flash.log"
  # features reference on a small generated genome (one gene's window runs off the contig start).
  write_genome g 7 60000 chr1:G1:20001:21000:+ chr1:G2:30001:32000:- chr1:G3:5001:6000:+
  feat=(features reference --fasta "$WORK/g.fa" --annotation "$WORK/g.gtf" --weights "$W" --seq-len 12288)
  expect_ok features_cpu "$SCPX" "${feat[@]}" --device cpu --out "$WORK/f_cpu.h5"
  expect_ok features_cuda "$SCPX" "${feat[@]}" --device cuda --batch 2 --out "$WORK/f_cuda.h5"
  # --batch 0 (the default): 8 windows per pass on a GPU whose memory holds them.
  expect_ok features_cuda_auto_batch "$SCPX" "${feat[@]}" --device cuda --out "$WORK/f_cuda_auto.h5"
  check features_auto_batch_is_8 grep -q "GPU memory for batch 8 x 12288 bp" "$WORK/features_cuda_auto_batch.log"
  # Same datasets and shapes as the CPU files; fp32 within 1e-4, bf16 within 5e-2 (scaled).
  if /usr/bin/python3 -c "import h5py, numpy" 2> /dev/null; then
    compare() { # compare NAME CPU_FILE FILE TOLERANCE: max |Δ| / max(1, |cpu|); strings exactly
      check "$1" /usr/bin/python3 - "$2" "$3" "$4" << 'PY'
import sys, h5py, numpy as np
a, b, tol = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r"), float(sys.argv[3])
assert sorted(a.keys()) == sorted(b.keys()), (list(a.keys()), list(b.keys()))
for k in a:
    x, y = a[k][()], b[k][()]
    assert x.shape == y.shape, (k, x.shape, y.shape)
    if not np.issubdtype(x.dtype, np.number):
        assert (x == y).all(), k
        continue
    err = float(np.max(np.abs(x.astype(float) - y) / np.maximum(1.0, np.abs(x))))
    print(k, "max scaled diff", err)
    assert err <= tol, (k, err)
PY
    }
    compare cuda_fp32_matches_cpu "$WORK/cpu.h5" "$WORK/cuda.h5" 1e-4
    compare cuda_auto_matches_cpu "$WORK/cpu.h5" "$WORK/auto.h5" 1e-4
    compare cuda_bf16_near_cpu "$WORK/cpu.h5" "$WORK/cuda_bf16.h5" 5e-2
    compare cuda_bf16_flash_near_cpu "$WORK/cpu.h5" "$WORK/cuda_bf16_flash.h5" 5e-2
    compare features_cuda_matches_cpu "$WORK/f_cpu.h5" "$WORK/f_cuda.h5" 1e-4
    compare features_cuda_auto_batch_matches_cpu "$WORK/f_cpu.h5" "$WORK/f_cuda_auto.h5" 1e-4
  fi
fi
# Input checks (CPU).
if /usr/bin/python3 -c "import h5py, numpy" 2> /dev/null; then
  /usr/bin/python3 - "$FX/io.h5" "$WORK/nan.h5" << 'PY'
import sys, h5py, numpy as np
x = h5py.File(sys.argv[1], "r")["/inputs/onehot"][()].astype(np.float32)
if x.ndim == 2: x = x[None]
x[-1, 100, 2] = np.nan
with h5py.File(sys.argv[2], "w") as f: f["x"] = x
PY
  n_seq=$(/usr/bin/python3 -c "import h5py,sys; print(h5py.File(sys.argv[1],'r')['x'].shape[0])" "$WORK/nan.h5")
  expect_fail predict_nan_onehot "nan.h5, sequence $((n_seq - 1)), position 100.*/x.*NaN in channel G" "$WORK/p_nan.h5" -- \
    "$SCPX" enformer predict --weights "$W" --onehot "$WORK/nan.h5:/x" --device cpu --out "$WORK/p_nan.h5"
fi
# features reference, CPU: a gene id repeated on a contig the FASTA lacks (UCSC-style chrUn/_alt
# copies) is skipped with the other genes off the FASTA, not taken for a duplicate id.
write_genome alt 11 40000 chr1:G1:15001:16000:+ chrUn_KI270302v1:G1:501:1500:+ chr1:G2:25001:26000:+
expect_ok features_alt_contig_copy "$SCPX" features reference --fasta "$WORK/alt.fa" --annotation "$WORK/alt.gtf" \
  --weights "$W" --seq-len 12288 --device cpu --out "$WORK/f_alt.h5"
check features_alt_copy_skipped_with_warning grep -q "1 gene(s) skipped: chromosome not in .*G1 on chrUn_KI270302v1" \
  "$WORK/features_alt_contig_copy.log"
# No work list to cut: --split/--job are not options of enformer predict (an array job given them
# would write N full copies).
expect_fail predict_split_rejected "arguments? (was|were) not expected: .*--split" "$WORK/p_split.h5" -- \
  "$SCPX" enformer predict --weights "$W" --onehot "$IN" --device cpu --split 2 --job 1 --out "$WORK/p_split.h5"
expect_fail predict_bad_weights "io.h5" "$WORK/p_w.h5" -- \
  "$SCPX" enformer predict --weights "$FX/io.h5" --onehot "$IN" --device cpu --out "$WORK/p_w.h5"
check failed_load_not_reported_done bash -c "! grep -q 'load weights... done' '$WORK/predict_bad_weights.log'"

# features reference: every TSS beyond the contig -> one message with the real reason and examples.
{ echo ">chr1"; for i in $(seq 1 20); do echo "ACGTACGTACGTACGTACGTACGTACGTACGTACGTACGTACGTACGTACGTACGTACGT"; done; } > "$WORK/small.fa"
printf 'chr1\tt\tgene\t5001\t6000\t.\t+\t.\tgene_id "G1"; gene_type "protein_coding";\n' > "$WORK/far.gtf"
expect_fail features_tss_outside_message "no gene can be placed.*1 with the TSS outside their contig, e.g. G1 TSS chr1:5001" \
  "$WORK/f_far.h5" -- "$SCPX" features reference --fasta "$WORK/small.fa" --annotation "$WORK/far.gtf" --weights "$W" \
  --seq-len 12288 --device cpu --out "$WORK/f_far.h5"
check features_message_has_no_empty_example bash -c "! grep -q 'e.g. ;' '$WORK/features_tss_outside_message.log'"
printf 'chr1\tt\tgene\t101\t600\t.\t+\t.\tgene_id "G1"; gene_type "protein_coding";\n' > "$WORK/dup.gtf"
printf 'chr1\tt\tgene\t201\t600\t.\t-\t.\tgene_id "G1"; gene_type "protein_coding";\n' >> "$WORK/dup.gtf"
expect_fail features_duplicate_gene_id "dup.gtf, line 2.*gene_id.*'G1' appears a second time" "$WORK/f_dup.h5" -- \
  "$SCPX" features reference --fasta "$WORK/small.fa" --annotation "$WORK/dup.gtf" --weights "$W" \
  --seq-len 12288 --device cpu --out "$WORK/f_dup.h5"

expect_fail features_bad_precision "--precision must be fp32, tf32 or bf16" "$WORK/f_bad.h5" -- \
  "$SCPX" features reference --fasta "$WORK/none.fa" --annotation "$WORK/none.tsv" --weights "$W" \
  --seq-len 12288 --precision half --out "$WORK/f_bad.h5"
expect_fail features_bad_conv_backend "--conv-backend must be custom, cudnn or auto" "$WORK/f_bad.h5" -- \
  "$SCPX" features reference --fasta "$WORK/none.fa" --annotation "$WORK/none.tsv" --weights "$W" \
  --seq-len 12288 --conv-backend fft --out "$WORK/f_bad.h5"

finish
