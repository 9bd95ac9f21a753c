#!/usr/bin/env bash
# `scpx features merge`: the --split parts of `features reference` (3 jobs) and `features personal`
# (2 jobs of 2 ranks) joined, the parts given out of order, equal the unsplit run in every dataset
# and attribute (but the list of merged parts); bad part sets (a job missing or given twice, parts
# of another command or stage or gene list, an unfinished part, a file that is no features output,
# a part edited after its run (a scalar dataset or a group added, /done of another length, genes
# reordered), a FIFO part, a misplaced --split, --out or its log or failed-run log naming a part,
# --out a FIFO) fail with one ERROR and no output (nor temporary); a job given another job's
# --out is refused with that part intact. Data: make_demo_data.py with
# 10 individuals. Exit 77 (skipped) without the
# Enformer fixture, bcftools, shapeit4-example or /usr/bin/python3 with numpy and h5py.
source "$(dirname "$0")/e2e_lib.sh"
require_demo_data

expect_ok make_data $PY "$SRC/scripts/make_demo_data.py" --outdir "$WORK/in" --individuals 10 --training-genes 1
REF=(features reference --fasta "$WORK/in/genome.fa" --annotation "$WORK/in/genes.gtf" --weights "$weights"
     --seq-len 12288 --threads 1)
PERS=(features personal --fasta "$WORK/in/genome.fa" --annotation "$WORK/in/genes.gtf" --weights "$weights"
      --vcf "$WORK/in/haplotypes.vcf.gz" --seq-len 12288 --threads 1 --haplotypes)
expect_ok reference_whole "$SCPX" "${REF[@]}" --out "$WORK/ref.h5"
check seq_len_given_no_warning bash -c "! grep -q 'records 12288 bp' '$WORK/reference_whole.log'"
# Without --seq-len the features use their 393,216-bp default whatever the weights file records
# (12,288 here), and say so (stopped early by a gene list that selects nothing).
echo NO_SUCH_GENE > "$WORK/no_gene.txt"
expect_fail seq_len_default_warned "select no gene" "$WORK/nolen.h5" -- \
  "$SCPX" features reference --fasta "$WORK/in/genome.fa" --annotation "$WORK/in/genes.gtf" --weights "$weights" \
  --genes "$WORK/no_gene.txt" --out "$WORK/nolen.h5"
check seq_len_default_warning grep -q "windows of 393216 bp .*records 12288 bp.*give --seq-len 12288" \
  "$WORK/seq_len_default_warned.log"
for k in 0 1 2; do
  expect_ok "reference_part_$k" "$SCPX" "${REF[@]}" --split 3 --job $k --out "$WORK/ref_$k.h5"
done
# Job 2 given job 0's --out (an array's jobs given one --out by mistake, run one after the other):
# refused before any work, job 0's part intact.
md5_part0=$(md5sum < "$WORK/ref_0.h5")
expect_fail reference_part_2_over_part_0 \
  "ref_0.h5 holds job 0 of --split 3 \(genes 1\.\.[0-9]+ of [0-9]+\); job 2 of --split 3 would replace it" "" -- \
  "$SCPX" "${REF[@]}" --split 3 --job 2 --out "$WORK/ref_0.h5"
check part_0_intact test "$md5_part0" = "$(md5sum < "$WORK/ref_0.h5")"
# A resubmitted array task that had finished: --resume leaves its output (and log) as they are.
md5_before=$(md5sum < "$WORK/ref_1.h5")
expect_ok reference_part_1_resumed_finished "$SCPX" "${REF[@]}" --split 3 --job 1 --resume --out "$WORK/ref_1.h5"
check resumed_finished_part_says_so grep -q -- "--resume: .*ref_1.h5 is finished .*nothing to do" \
  "$WORK/reference_part_1_resumed_finished.log"
check resumed_finished_part_untouched test "$md5_before" = "$(md5sum < "$WORK/ref_1.h5")"
expect_ok reference_merge "$SCPX" features merge "$WORK/ref_2.h5" "$WORK/ref_0.h5" "$WORK/ref_1.h5" --out "$WORK/ref_merged.h5"
expect_ok personal_whole "$SCPX" "${PERS[@]}" --out "$WORK/pers.h5"
for k in 0 1; do
  expect_ok "personal_part_$k" mpirun -n 2 "$SCPX" "${PERS[@]}" --split 2 --job $k --out "$WORK/pers_$k.h5"
done
expect_ok personal_merge_2_ranks mpirun -n 2 "$SCPX" features merge "$WORK/pers_1.h5" "$WORK/pers_0.h5" \
  --out "$WORK/pers_merged.h5"
# Another run writing the merged output: every rank refuses it at once, with one ERROR line.
hold_output_claim "$WORK/pers_claimed.h5"
rc=0; mpirun -n 2 "$SCPX" features merge "$WORK/pers_1.h5" "$WORK/pers_0.h5" --out "$WORK/pers_claimed.h5" \
  > "$WORK/merge_claimed.log" 2>&1 || rc=$?
release_output_claim
check merge_claimed_fails test "$rc" -ne 0
check merge_claimed_names_holder grep -q "pers_claimed.h5 is being written by another run" "$WORK/merge_claimed.log"
check merge_claimed_one_error one_error_line "$WORK/merge_claimed.log"
check merge_claimed_no_output test ! -e "$WORK/pers_claimed.h5" -a ! -e "$WORK/.pers_claimed.h5.scpx-tmp"

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
assert extra == {"scpx_merged_parts", "scpx_parts_build"}, extra
assert merged.attrs["scpx_parts_build"] == "%s (git %s)" % (whole.attrs["scpx_version"], whole.attrs["scpx_git_hash"])
for key in whole.attrs:
    assert whole.attrs[key] == merged.attrs[key], key
print("%s: %d datasets equal to the unsplit run" % (sys.argv[2], len(whole)))
PY
}
check reference_merged_equals_unsplit same_as_unsplit "$WORK/ref.h5" "$WORK/ref_merged.h5"
# --genes and --chromosomes: the rows of the whole run for the genes they select, in annotation
# order; list ids without their version match, a listed gene the annotation lacks is a warning.
printf '# two chr20 genes, one unversioned, one unknown\nENSG00009000021\nENSG00009000003.1\nENSG_UNKNOWN\n' \
  > "$WORK/some_genes.txt"
expect_ok subset_by_genes "$SCPX" "${REF[@]}" --genes "$WORK/some_genes.txt" --out "$WORK/subset_genes.h5"
expect_ok subset_by_chromosomes "$SCPX" "${REF[@]}" --chromosomes chr20 --out "$WORK/subset_chrom.h5"
check subset_warns_of_unknown_gene grep -q "WARNING: 1 of the 3 genes of .*some_genes.txt are not in" \
  "$WORK/subset_by_genes.log"
same_rows() {
  $PY - "$@" <<'PY'
import sys, h5py, numpy as np
whole, part, want = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r"), sys.argv[3]
ids, chrom = list(whole["gene_id"][()]), whole["chrom"][()]
rows = [i for i, g in enumerate(ids) if (want == "chrom" and chrom[i] == b"chr20") or
        (want == "genes" and g.split(b".")[0] in (b"ENSG00009000021", b"ENSG00009000003"))]
assert len(rows) >= 2 and list(part["gene_id"][()]) == [ids[i] for i in rows], (rows, part["gene_id"][()])
assert np.array_equal(part["features"][()], whole["features"][()][rows])
print("%d genes, equal to the whole run's rows" % len(rows))
PY
}
check subset_by_genes_rows same_rows "$WORK/ref.h5" "$WORK/subset_genes.h5" genes
check subset_by_chromosomes_rows same_rows "$WORK/ref.h5" "$WORK/subset_chrom.h5" chrom
expect_fail subset_selects_nothing "select no gene of .*lies on --chromosomes chr99" "$WORK/subset_none.h5" -- \
  "$SCPX" "${REF[@]}" --chromosomes chr99 --out "$WORK/subset_none.h5"
check personal_merged_equals_unsplit same_as_unsplit "$WORK/pers.h5" "$WORK/pers_merged.h5"

expect_fail missing_job "lack job\(s\) 1" "$WORK/bad1.h5" -- \
  "$SCPX" features merge "$WORK/ref_0.h5" "$WORK/ref_2.h5" --out "$WORK/bad1.h5"
expect_fail part_twice "part .*ref_0.h5 given twice" "$WORK/bad2.h5" -- \
  "$SCPX" features merge "$WORK/ref_0.h5" "$WORK/ref_0.h5" "$WORK/ref_1.h5" "$WORK/ref_2.h5" --out "$WORK/bad2.h5"
cp "$WORK/ref_0.h5" "$WORK/copy_0.h5"
expect_fail job_twice "job 0 of --split 3 given twice" "$WORK/bad2.h5" -- \
  "$SCPX" features merge "$WORK/ref_0.h5" "$WORK/copy_0.h5" "$WORK/ref_1.h5" "$WORK/ref_2.h5" --out "$WORK/bad2.h5"
expect_ok reference_part_other_bins "$SCPX" "${REF[@]}" --center-bins 2 --split 3 --job 1 --out "$WORK/other_1.h5"
expect_fail other_command "other_1.h5.*made with other options" "$WORK/bad3.h5" -- \
  "$SCPX" features merge "$WORK/ref_0.h5" "$WORK/other_1.h5" "$WORK/ref_2.h5" --out "$WORK/bad3.h5"
expect_fail other_stage "pers_0.h5.*a features-personal output, but .*ref_0.h5 is a features-reference output" \
  "$WORK/bad4.h5" -- "$SCPX" features merge "$WORK/ref_0.h5" "$WORK/pers_0.h5" "$WORK/ref_2.h5" --out "$WORK/bad4.h5"
$PY -c "import h5py, sys; h5py.File(sys.argv[1], 'w')['x'] = [1]" "$WORK/plain.h5"
expect_fail not_features "plain.h5.*not an output of .scpx features reference" "$WORK/bad5.h5" -- \
  "$SCPX" features merge "$WORK/ref_0.h5" "$WORK/plain.h5" --out "$WORK/bad5.h5"
# A killed job's temporary, renamed: zero rows where genes are missing. Refused, pointing to --resume.
rc=0; SCPX_FAULT_EXIT_AFTER_ROUNDS=1 "$SCPX" "${REF[@]}" --batch 2 --split 3 --job 1 --out "$WORK/killed/p1.h5" \
  > "$WORK/killed.log" 2>&1 || rc=$?
check killed_part_exit_75 test $rc -eq 75
cp "$WORK/killed/.p1.h5.scpx-tmp" "$WORK/unfinished_1.h5"
expect_fail unfinished_part "unfinished_1.h5.*genes not done \(finish the job with --resume\)" "$WORK/bad6.h5" -- \
  "$SCPX" features merge "$WORK/ref_0.h5" "$WORK/unfinished_1.h5" "$WORK/ref_2.h5" --out "$WORK/bad6.h5"
# A job run after the annotation lost a gene (same path, so the same command): the block
# boundaries moved; refused rather than a gene silently lost.
cp "$WORK/in/genes.gtf" "$WORK/genes_all.gtf"
grep -v ENSG00009000021 "$WORK/genes_all.gtf" > "$WORK/in/genes.gtf"
expect_ok reference_part_other_genes "$SCPX" "${REF[@]}" --split 3 --job 2 --out "$WORK/less/ref_2.h5"
cp "$WORK/genes_all.gtf" "$WORK/in/genes.gtf"
expect_fail other_gene_list "ref_2.h5.*cut from another gene list" "$WORK/bad7.h5" -- \
  "$SCPX" features merge "$WORK/ref_0.h5" "$WORK/ref_1.h5" "$WORK/less/ref_2.h5" --out "$WORK/bad7.h5"
# The log's "Options in effect" reruns the job: flags bare (--resume), lists comma-joined.
expect_ok logged_run "$SCPX" "${REF[@]}" --resume --chromosomes chr20,21 --genes "$WORK/some_genes.txt" \
  --out "$WORK/logged.h5"
logged=$(logged_command "$WORK/logged.log")
check logged_command_has_bare_flag grep -qE -- "--resume --|--resume$" <<<"$logged"
logged=${logged/#scpx /$SCPX }
expect_ok rerun_logged_command bash -c "${logged/--out $WORK\/logged.h5/--out $WORK/rerun.h5}"
same_run() {
  $PY - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r") for p in sys.argv[1:3])
assert set(a) == set(b) and all(np.array_equal(a[k][()], b[k][()]) for k in a)
assert a.attrs["scpx_command"] == b.attrs["scpx_command"], (a.attrs["scpx_command"], b.attrs["scpx_command"])
print("%d genes, same datasets and command" % a["gene_id"].shape[0])
PY
}
check rerun_equals_logged_run same_run "$WORK/logged.h5" "$WORK/rerun.h5"
# Parts edited after the run: each refused with the dataset named, nothing written. One case a
# line: NAME | Python on f (ref_1.h5's copy, opened r+) | the ERROR expected.
while IFS='|' read -r name edit regex; do
  cp "$WORK/ref_1.h5" "$WORK/edit_$name.h5"
  $PY -c "import h5py, numpy as np; f = h5py.File('$WORK/edit_$name.h5', 'r+'); $edit"
  expect_fail "edited_$name" "$regex" "$WORK/bad10.h5" -- \
    "$SCPX" features merge "$WORK/ref_0.h5" "$WORK/edit_$name.h5" "$WORK/ref_2.h5" --out "$WORK/bad10.h5"
done <<'CASES'
scalar|f['x'] = 3|edit_scalar.h5, dataset '/x': int64 \[\]: not one row per gene
group|f.create_group('g')|edit_group.h5, object '/g': not a dataset
done|n = f['done'].shape[0]; del f['done']; f['done'] = np.ones(n + 2, 'u1')|edit_done.h5, dataset '/done': expected one flag per gene
extra|f['bogus'] = np.zeros(f['gene_id'].shape[0])|edit_extra.h5, dataset '/bogus': not in .*ref_0.h5
swapped|g = f['gene_id'][()]; g[[0, 1]] = g[[1, 0]]; f['gene_id'][...] = g|edit_swapped.h5, datasets /gene_id, /chrom, /tss: its genes .* are not the ones its run wrote
CASES
# A FIFO among the parts is refused before anything opens it (HDF5 would wait for a writer).
mkfifo "$WORK/part_fifo.h5"
expect_fail part_is_a_fifo "part .*part_fifo.h5 is not a regular file" "$WORK/bad11.h5" -- \
  timeout 20 "$SCPX" features merge "$WORK/ref_0.h5" "$WORK/part_fifo.h5" "$WORK/ref_2.h5" --out "$WORK/bad11.h5"
expect_fail part_missing "cannot open part .*no_such_part.h5: no such file" "$WORK/bad11.h5" -- \
  "$SCPX" features merge "$WORK/ref_0.h5" "$WORK/no_such_part.h5" "$WORK/ref_2.h5" --out "$WORK/bad11.h5"
# A misplaced option is named as such, not taken for a part.
expect_fail merge_split_option "argument was not expected: --split" "$WORK/bad12.h5" -- \
  "$SCPX" features merge "$WORK/ref_0.h5" "$WORK/ref_1.h5" "$WORK/ref_2.h5" --split 3 --out "$WORK/bad12.h5"
# An input replaced between the jobs (the annotation one comment line longer, same genes): the
# sizes recorded by the parts differ, so the merge refuses; a new modification time alone (a copy
# staged anew) is a warning.
cp "$WORK/in/genes.gtf" "$WORK/genes_keep.gtf"
echo "# edited between the jobs" >> "$WORK/in/genes.gtf"
expect_ok reference_part_longer_annotation "$SCPX" "${REF[@]}" --split 3 --job 2 --out "$WORK/longer/ref_2.h5"
cp "$WORK/genes_keep.gtf" "$WORK/in/genes.gtf"
expect_fail input_changed_between_jobs "input .*genes.gtf was [0-9]+ bytes when job 2 ran and [0-9]+ bytes when job 0 ran" \
  "$WORK/bad13.h5" -- "$SCPX" features merge "$WORK/ref_0.h5" "$WORK/ref_1.h5" "$WORK/longer/ref_2.h5" --out "$WORK/bad13.h5"
expect_ok reference_part_touched_annotation "$SCPX" "${REF[@]}" --split 3 --job 2 --out "$WORK/touched/ref_2.h5"
expect_ok merge_touched "$SCPX" features merge "$WORK/ref_0.h5" "$WORK/ref_1.h5" "$WORK/touched/ref_2.h5" --out "$WORK/touched.h5"
check merge_touched_warns grep -q "WARNING: input .*genes.gtf had another modification time when job 2 ran" \
  "$WORK/merge_touched.log"
# Splitting more ways than there are genes: every job refuses (not only the empty ones), and the
# error says how far one can go.
for job in 0 499; do
  expect_fail "split_beyond_genes_job_$job" "--split 500 cuts [0-9]+ gene\(s\) into more parts than there are genes; use --split [0-9]+ or fewer" \
    "$WORK/bad8.h5" -- "$SCPX" "${REF[@]}" --split 500 --job $job --out "$WORK/bad8.h5"
done
# merge is not itself split; a FIFO (or a device) under the output name is refused.
rc=0; "$SCPX" features merge "$WORK/ref_0.h5" "$WORK/ref_1.h5" "$WORK/ref_2.h5" --job 1 --out "$WORK/bad9.h5" \
  > "$WORK/merge_job.log" 2>&1 || rc=$?
check merge_takes_no_job test $rc -eq 2 -a ! -e "$WORK/bad9.h5"
mkfifo "$WORK/fifo.h5"
expect_fail out_is_a_fifo "fifo.h5 exists and is not a regular file" "" -- \
  "$SCPX" features merge "$WORK/ref_0.h5" "$WORK/ref_1.h5" "$WORK/ref_2.h5" --out "$WORK/fifo.h5"
check out_is_a_fifo_intact test -p "$WORK/fifo.h5"
# The log next to --out must not replace a part either.
cp "$WORK/ref_0.h5" "$WORK/m.log" && cp "$WORK/ref_0.h5" "$WORK/m_copy.log"
expect_fail log_is_a_part "m.log is the input file given as part" "$WORK/m.h5" -- \
  "$SCPX" features merge "$WORK/m.log" "$WORK/ref_1.h5" "$WORK/ref_2.h5" --out "$WORK/m.h5"
check log_is_a_part_intact cmp "$WORK/m.log" "$WORK/m_copy.log"
# Nor the log a failed run would leave (<log>.failed.log), which a success removes.
cp "$WORK/ref_2.h5" "$WORK/n.failed.log" && cp "$WORK/ref_2.h5" "$WORK/n_copy.log"
expect_fail failed_log_is_a_part "n.failed.log is the input file given as part.*where the log goes if this run fails" \
  "$WORK/n.h5" -- "$SCPX" features merge "$WORK/ref_0.h5" "$WORK/ref_1.h5" "$WORK/n.failed.log" --out "$WORK/n.h5"
check failed_log_is_a_part_intact cmp "$WORK/n.failed.log" "$WORK/n_copy.log"
cp "$WORK/ref_1.h5" "$WORK/ref_1_copy.h5"
expect_fail out_is_a_part "is the input file given as part" "" -- \
  "$SCPX" features merge "$WORK/ref_0.h5" "$WORK/ref_1.h5" "$WORK/ref_2.h5" --out "$WORK/ref_1.h5"
check out_is_a_part_intact cmp "$WORK/ref_1.h5" "$WORK/ref_1_copy.h5"
finish
