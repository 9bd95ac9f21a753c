#!/usr/bin/env bash
# Device options of the Enformer commands (`enformer predict`, `features reference`): --device,
# --precision and --conv-backend checks; --device auto falls back to the CPU with a log line where
# no GPU is usable, and the CPU output does not depend on these options (byte-identical files).
# Uses the shared fixture's small model and its one-hot inputs; exit 77 (skipped) without them.
source "$(dirname "$0")/e2e_lib.sh"
FX=${SCPX_SHARED_FIXTURES:-}/enformer
if [[ ! -f "$FX/weights.h5" || ! -f "$FX/io.h5" ]]; then echo "no enformer fixture: skipped"; exit 77; fi
W="$FX/weights.h5"
IN="$FX/io.h5:/inputs/onehot"
gpu=0
if command -v nvidia-smi > /dev/null 2>&1 && nvidia-smi -L > /dev/null 2>&1; then gpu=1; fi

expect_fail predict_bad_precision "--precision must be fp32, tf32 or bf16 \(got 'fp16'\)" "$WORK/p_bad.h5" -- \
  "$SCPX" enformer predict --weights "$W" --onehot "$IN" --precision fp16 --out "$WORK/p_bad.h5"
expect_fail predict_bad_device "--device must be auto, cpu or cuda" "$WORK/p_bad.h5" -- \
  "$SCPX" enformer predict --weights "$W" --onehot "$IN" --device tpu --out "$WORK/p_bad.h5"
expect_fail predict_bad_conv_backend "--conv-backend must be custom, cudnn or auto" "$WORK/p_bad.h5" -- \
  "$SCPX" enformer predict --weights "$W" --onehot "$IN" --conv-backend winograd --out "$WORK/p_bad.h5"
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
  check auto_falls_back_with_log_line grep -q "No usable GPU (.*): running on the CPU" "$WORK/predict_auto.log"
  check auto_equals_cpu cmp -s "$WORK/cpu.h5" "$WORK/auto.h5"
  # features reference: the device is resolved right after the weights load, before any input.
  expect_fail features_cuda_without_gpu "--device cuda was asked for, but" "$WORK/f_cuda.h5" -- \
    "$SCPX" features reference --fasta "$WORK/none.fa" --annotation "$WORK/none.tsv" --weights "$W" \
    --seq-len 12288 --device cuda --out "$WORK/f_cuda.h5"
else
  expect_ok predict_cuda "$SCPX" enformer predict --weights "$W" --onehot "$IN" --device cuda --out "$WORK/cuda.h5"
  check predict_cuda_logs_device grep -q "Enformer device: cuda:" "$WORK/predict_cuda.log"
fi
expect_fail features_bad_precision "--precision must be fp32, tf32 or bf16" "$WORK/f_bad.h5" -- \
  "$SCPX" features reference --fasta "$WORK/none.fa" --annotation "$WORK/none.tsv" --weights "$W" \
  --seq-len 12288 --precision half --out "$WORK/f_bad.h5"
expect_fail features_bad_conv_backend "--conv-backend must be custom, cudnn or auto" "$WORK/f_bad.h5" -- \
  "$SCPX" features reference --fasta "$WORK/none.fa" --annotation "$WORK/none.tsv" --weights "$W" \
  --seq-len 12288 --conv-backend fft --out "$WORK/f_bad.h5"

finish
