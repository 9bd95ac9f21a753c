#!/usr/bin/env bash
# `scpx features merge`: the --split parts of `features reference` (3 jobs) and `features personal`
# (2 jobs of 2 ranks) joined, the parts given out of order, equal the unsplit run in every dataset
# and attribute (but the list of merged parts); bad part sets (a job missing or given twice, parts
# of another command, a file that is no features output, --out naming a part) fail with one ERROR
# and no output. Data: make_demo_data.py with 10 individuals. Exit 77 (skipped) without the
# Enformer fixture, bcftools, shapeit4-example or /usr/bin/python3 with numpy and h5py.
source "$(dirname "$0")/e2e_lib.sh"
require_demo_data

expect_ok make_data $PY "$SRC/scripts/make_demo_data.py" --outdir "$WORK/in" --individuals 10 --training-genes 1
REF=(features reference --fasta "$WORK/in/genome.fa" --annotation "$WORK/in/genes.gtf" --weights "$weights"
     --seq-len 12288 --threads 1)
PERS=(features personal --fasta "$WORK/in/genome.fa" --annotation "$WORK/in/genes.gtf" --weights "$weights"
      --vcf "$WORK/in/haplotypes.vcf.gz" --seq-len 12288 --threads 1 --haplotypes)
expect_ok reference_whole "$SCPX" "${REF[@]}" --out "$WORK/ref.h5"
for k in 0 1 2; do
  expect_ok "reference_part_$k" "$SCPX" "${REF[@]}" --split 3 --job $k --out "$WORK/ref_$k.h5"
done
expect_ok reference_merge "$SCPX" features merge "$WORK/ref_2.h5" "$WORK/ref_0.h5" "$WORK/ref_1.h5" --out "$WORK/ref_merged.h5"
expect_ok personal_whole "$SCPX" "${PERS[@]}" --out "$WORK/pers.h5"
for k in 0 1; do
  expect_ok "personal_part_$k" mpirun -n 2 "$SCPX" "${PERS[@]}" --split 2 --job $k --out "$WORK/pers_$k.h5"
done
expect_ok personal_merge_2_ranks mpirun -n 2 "$SCPX" features merge "$WORK/pers_1.h5" "$WORK/pers_0.h5" \
  --out "$WORK/pers_merged.h5"

same_as_unsplit() {
  $PY - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
whole, merged = (h5py.File(p, "r") for p in sys.argv[1:3])
assert set(whole) == set(merged), (set(whole), set(merged))
for name in whole:
    a, b = whole[name][()], merged[name][()]
    assert a.shape == b.shape and (a == b).all(), name
    assert dict(whole[name].attrs) == dict(merged[name].attrs), name
extra = set(merged.attrs) - set(whole.attrs)
assert extra == {"scpx_merged_parts"}, extra
for key in whole.attrs:
    assert whole.attrs[key] == merged.attrs[key], key
print("%s: %d datasets equal to the unsplit run" % (sys.argv[2], len(whole)))
PY
}
check reference_merged_equals_unsplit same_as_unsplit "$WORK/ref.h5" "$WORK/ref_merged.h5"
check personal_merged_equals_unsplit same_as_unsplit "$WORK/pers.h5" "$WORK/pers_merged.h5"

expect_fail missing_job "lack job\(s\) 1" "$WORK/bad1.h5" -- \
  "$SCPX" features merge "$WORK/ref_0.h5" "$WORK/ref_2.h5" --out "$WORK/bad1.h5"
expect_fail job_twice "job 0 of --split 3 given twice" "$WORK/bad2.h5" -- \
  "$SCPX" features merge "$WORK/ref_0.h5" "$WORK/ref_0.h5" "$WORK/ref_1.h5" "$WORK/ref_2.h5" --out "$WORK/bad2.h5"
expect_ok reference_part_other_bins "$SCPX" "${REF[@]}" --center-bins 2 --split 3 --job 1 --out "$WORK/other_1.h5"
expect_fail other_command "other_1.h5.*made with other options" "$WORK/bad3.h5" -- \
  "$SCPX" features merge "$WORK/ref_0.h5" "$WORK/other_1.h5" "$WORK/ref_2.h5" --out "$WORK/bad3.h5"
expect_fail other_stage "pers_0.h5.*a features-personal output, but .*ref_0.h5 is a features-reference output" \
  "$WORK/bad4.h5" -- "$SCPX" features merge "$WORK/ref_0.h5" "$WORK/pers_0.h5" "$WORK/ref_2.h5" --out "$WORK/bad4.h5"
$PY -c "import h5py, sys; h5py.File(sys.argv[1], 'w')['x'] = [1]" "$WORK/plain.h5"
expect_fail not_features "plain.h5.*not an output of .scpx features reference" "$WORK/bad5.h5" -- \
  "$SCPX" features merge "$WORK/ref_0.h5" "$WORK/plain.h5" --out "$WORK/bad5.h5"
cp "$WORK/ref_1.h5" "$WORK/ref_1_copy.h5"
expect_fail out_is_a_part "is the input file given as part" "" -- \
  "$SCPX" features merge "$WORK/ref_0.h5" "$WORK/ref_1.h5" "$WORK/ref_2.h5" --out "$WORK/ref_1.h5"
check out_is_a_part_intact cmp "$WORK/ref_1.h5" "$WORK/ref_1_copy.h5"
finish
