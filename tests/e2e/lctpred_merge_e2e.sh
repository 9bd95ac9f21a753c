#!/usr/bin/env bash
# `scpx lctpred merge`: the parts of an `lctpred --split 3` array joined equal the unsplit run
# (the .db and covariance byte for byte, the summary's datasets and provenance but for the list of
# parts), at 1 and 2 ranks, from the parts named by any of their files; and every way the parts
# can disagree is refused with one clear ERROR naming the part, leaving no output behind.
source "$(dirname "$0")/e2e_lib.sh"
SRC=${SCPX_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
D="$SRC/tests/data/enet/lctpred"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
mkdir -p "$WORK/in"
cp "$D/expression.tsv" "$D/gene_annot.tsv" "$D/genotype.tsv.gz" "$D/snp_annot.tsv" "$WORK/in/"
I="$WORK/in"
RUN=(lctpred --expression "$I/expression.tsv" --gene-annotation "$I/gene_annot.tsv"
     --genotype "$I/genotype.tsv.gz" --snp-annotation "$I/snp_annot.tsv" --seed 7)

expect_ok whole "$SCPX" "${RUN[@]}" --out "$WORK/whole"
for job in 0 1 2; do
  expect_ok "part_$job" "$SCPX" "${RUN[@]}" --split 3 --job "$job" --out "$WORK/parts/CD4_T_$job"
done

# Two summaries hold the same datasets (values, types, shapes, descriptions) and root attributes
# but for what a merge records of its parts (their files and build); else the differences are
# printed.
summaries_equal() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r") for p in sys.argv[1:3])
merge_only = {"scpx_merged_parts", "scpx_parts_build"}
diff = [k for k in sorted(set(a.attrs) | set(b.attrs)) if k not in merge_only and a.attrs.get(k) != b.attrs.get(k)]
names = []
a.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
other = []
b.visititems(lambda n, o: other.append(n) if isinstance(o, h5py.Dataset) else None)
diff += sorted(set(names) ^ set(other))
for n in set(names) & set(other):
    x, y = a[n], b[n]
    if x.dtype != y.dtype or x.shape != y.shape or dict(x.attrs) != dict(y.attrs) or \
       not np.array_equal(x[()], y[()], equal_nan=x.dtype.kind == "f"):
        diff.append(n)
print(" ".join(diff)); sys.exit(1 if diff else 0)
PY
}
same_as_whole() {
  local m=$1
  cmp "$WORK/whole.db" "$m.db" && cmp "$WORK/whole.covariance.txt.gz" "$m.covariance.txt.gz" &&
    summaries_equal "$WORK/whole.summary.h5" "$m.summary.h5"
}

expect_ok merge "$SCPX" lctpred merge "$WORK"/parts/CD4_T_*.db --out "$WORK/merged"
check merged_equals_unsplit same_as_whole "$WORK/merged"
check merged_lists_parts bash -c "h5dump -a scpx_merged_parts '$WORK/merged.summary.h5' | grep -q 'CD4_T_2.summary.h5'"
check merge_log_counts grep -q "11 genes, [0-9]* models ([0-9]* weights) from 3 parts" "$WORK/merged.log"
# A glob over every file of the parts (three per part), in any order, and prefixes, at 2 ranks.
expect_ok merge_2_ranks mpirun -n 2 "$SCPX" lctpred merge "$WORK"/parts/CD4_T_2.summary.h5 "$WORK"/parts/CD4_T_1 \
  "$WORK"/parts/CD4_T_0.* --out "$WORK/merged2"
check merged_2_ranks_equals_unsplit same_as_whole "$WORK/merged2"
# As many jobs as genes (11): no job is left without a gene by the cost-based cut, and the 11
# one-gene parts join into the unsplit run too.
for job in $(seq 0 10); do
  "$SCPX" "${RUN[@]}" --split 11 --job "$job" --out "$WORK/p11/X_$job" > "$WORK/p11_$job.log" 2>&1 ||
    echo "FAIL split_11_job_$job: $(grep ERROR "$WORK/p11_$job.log")"
done
expect_ok merge_11 "$SCPX" lctpred merge "$WORK"/p11/X_*.db --out "$WORK/merged11"
check merged_11_equals_unsplit same_as_whole "$WORK/merged11"
# The merged model works in S-PrediXcan as the unsplit one.
expect_ok spredixcan_merged "$SCPX" spredixcan --model_db_path "$WORK/merged.db" \
  --covariance "$WORK/merged.covariance.txt.gz" --gwas_file "$D/gwas.tsv.gz" --snp_column SNP \
  --effect_allele_column A1 --non_effect_allele_column A2 --zscore_column ZSCORE --output_file "$WORK/spx.csv"
check spredixcan_rows bash -c "test \$(wc -l < '$WORK/spx.csv') -gt 1"
# --phi: every job takes M from the whole genotype input, so the joined .db (phi column included)
# is the unsplit --phi run's; a part without phi is refused as made with other options.
expect_ok whole_phi "$SCPX" "${RUN[@]}" --phi --out "$WORK/whole_phi"
for job in 0 1 2; do
  expect_ok "phi_part_$job" "$SCPX" "${RUN[@]}" --phi --split 3 --job "$job" --out "$WORK/phiparts/P_$job"
done
expect_ok merge_phi "$SCPX" lctpred merge "$WORK"/phiparts/P_*.db --out "$WORK/merged_phi"
check merged_phi_equals_unsplit cmp "$WORK/whole_phi.db" "$WORK/merged_phi.db"
expect_fail phi_and_no_phi "made with other options" "$WORK/bad_phi.db" -- \
  "$SCPX" lctpred merge "$WORK/phiparts/P_0.db" "$WORK/parts/CD4_T_1.db" "$WORK/phiparts/P_2.db" --out "$WORK/bad_phi"

# ---------------------------------------------------------------- refused
P="$WORK/parts"
expect_fail exists "merged.db exists" "" -- "$SCPX" lctpred merge "$P"/CD4_T_*.db --out "$WORK/merged"
expect_ok overwrite "$SCPX" lctpred merge "$P"/CD4_T_*.db --out "$WORK/merged" --overwrite
expect_fail missing_job "lack job\(s\) 1; give every part" "$WORK/bad.db" -- \
  "$SCPX" lctpred merge "$P/CD4_T_0.db" "$P/CD4_T_2.db" --out "$WORK/bad"
expect_fail missing_file "cannot open part file .*CD4_T_9.covariance.txt.gz: no such file" "$WORK/bad.db" -- \
  bash -c "cp '$P/CD4_T_0.db' '$P/CD4_T_9.db'; '$SCPX' lctpred merge '$P/CD4_T_9.db' --out '$WORK/bad'; rc=\$?; rm '$P/CD4_T_9.db'; exit \$rc"
# A killed part's journal is named as such (a glob over parts/CD4_T_* may catch one).
expect_fail journal_as_part "part .*CD4_T_1 has a journal .*CD4_T_1.journal.: its job was stopped before it finished" \
  "$WORK/bad.db" -- bash -c "mkdir -p '$P/CD4_T_1.journal'; '$SCPX' lctpred merge '$P'/CD4_T_* --out '$WORK/bad'; rc=\$?; rmdir '$P/CD4_T_1.journal'; exit \$rc"
expect_fail job_twice "job 1 of --split 3 given twice" "$WORK/bad.db" -- \
  bash -c "mkdir -p '$WORK/copy'; for x in db covariance.txt.gz summary.h5; do cp '$P/CD4_T_1.'\$x '$WORK/copy/x.'\$x; done
           '$SCPX' lctpred merge '$P'/CD4_T_*.db '$WORK/copy/x.db' --out '$WORK/bad'"
expect_fail other_options "CD4_T_1.summary.h5.*made with other options .*: --alpha 0.3 here, --alpha 0.5 there" "$WORK/bad.db" -- \
  bash -c "mkdir -p '$WORK/o'; '$SCPX' ${RUN[*]} --alpha 0.3 --split 3 --job 1 --out '$WORK/o/CD4_T_1' >/dev/null 2>&1
           '$SCPX' lctpred merge '$P/CD4_T_0.db' '$WORK/o/CD4_T_1.db' '$P/CD4_T_2.db' --out '$WORK/bad'"
expect_fail not_lctpred "not the summary of an .scpx lctpred --split. job" "$WORK/bad.db" -- \
  bash -c "mkdir -p '$WORK/n'; cp '$P/CD4_T_0.db' '$P/CD4_T_0.covariance.txt.gz' '$WORK/n/'
           /usr/bin/python3 -c \"import h5py; h5py.File('$WORK/n/CD4_T_0.summary.h5','w')['x']=[1]\"
           '$SCPX' lctpred merge '$WORK/n/CD4_T_0.db' '$P/CD4_T_1.db' '$P/CD4_T_2.db' --out '$WORK/bad'"
# Other files a glob over a parts folder catches are named for what they are.
expect_fail failed_log_as_part "CD4_T_0.failed.log is the log of a failed run, not a part" "$WORK/bad.db" -- \
  bash -c "touch '$P/CD4_T_0.failed.log'; '$SCPX' lctpred merge '$P'/CD4_T_*.db '$P/CD4_T_0.failed.log' --out '$WORK/bad'; rc=\$?; rm '$P/CD4_T_0.failed.log'; exit \$rc"
expect_fail other_file_as_part "notes.txt is not a part of an lctpred run \(no .*notes.txt.db\)" "$WORK/bad.db" -- \
  bash -c "echo x > '$WORK/notes.txt'; '$SCPX' lctpred merge '$P'/CD4_T_*.db '$WORK/notes.txt' --out '$WORK/bad'"
expect_fail folder_as_part "parts is a folder, not a part: name the parts in it" "$WORK/bad.db" -- \
  "$SCPX" lctpred merge "$P" --out "$WORK/bad"
# A merge written among the parts is not taken for one by the next glob.
expect_fail merged_result_as_part "CD4_T_all.summary.h5 is the result of an lctpred merge, not a part" "" -- \
  bash -c "mkdir -p '$WORK/withall'; cp '$P'/CD4_T_[012].* '$WORK/withall/'; '$SCPX' lctpred merge '$WORK'/withall/CD4_T_*.db --out '$WORK/withall/CD4_T_all' > /dev/null 2>&1; '$SCPX' lctpred merge '$WORK'/withall/CD4_T_*.db --out '$WORK/withall/again'"
# One part named by two paths (./parts/X, parts/X) is one part.
expect_ok same_part_two_paths bash -c "cd '$WORK' && '$SCPX' lctpred merge parts/CD4_T_0.db ./parts/CD4_T_0 parts/CD4_T_1.db parts/CD4_T_2.db --out merged_paths"
check same_part_two_paths_equals_unsplit same_as_whole "$WORK/merged_paths"
# The .db or covariance of another part (a part's files mixed up) is named.
mix() { # mix NAME FILE_EXT FROM_JOB: a copy of part 0 whose FILE_EXT file is part FROM_JOB's
  mkdir -p "$WORK/$1"
  for x in db covariance.txt.gz summary.h5; do cp "$P/CD4_T_0.$x" "$WORK/$1/CD4_T_0.$x"; done
  cp "$P/CD4_T_$3.$2" "$WORK/$1/CD4_T_0.$2"
}
mix mixdb db 1
expect_fail db_of_other_part "mixdb/CD4_T_0.db.*the .db is not this part's" "$WORK/bad.db" -- \
  "$SCPX" lctpred merge "$WORK/mixdb/CD4_T_0.db" "$P/CD4_T_1.db" "$P/CD4_T_2.db" --out "$WORK/bad"
mix mixcov covariance.txt.gz 1
expect_fail covariance_of_other_part "mixcov/CD4_T_0.covariance.txt.gz.*(has no model in|not this part's)" "$WORK/bad.db" -- \
  "$SCPX" lctpred merge "$WORK/mixcov/CD4_T_0.db" "$P/CD4_T_1.db" "$P/CD4_T_2.db" --out "$WORK/bad"
# construction rows: one per chromosome of the part's fitted genes, of one cv_seed.
mix noconst db 0
/usr/bin/python3 -c "import sqlite3; c = sqlite3.connect('$WORK/noconst/CD4_T_0.db'); c.execute('delete from construction'); c.commit()"
expect_fail construction_emptied "noconst/CD4_T_0.db, table construction, field 'chromosome': chromosomes \{\}, but the genes .* marks fitted are on" \
  "$WORK/bad.db" -- "$SCPX" lctpred merge "$WORK/noconst/CD4_T_0.db" "$P/CD4_T_1.db" "$P/CD4_T_2.db" --out "$WORK/bad"
mix otherseed db 0
/usr/bin/python3 -c "import sqlite3; c = sqlite3.connect('$WORK/otherseed/CD4_T_0.db'); c.execute('update construction set cv_seed = 8'); c.commit()"
expect_fail other_cv_seed "CD4_T_1.db, table construction, field 'cv_seed': 7, but .*otherseed/CD4_T_0.db used 8" \
  "$WORK/bad.db" -- "$SCPX" lctpred merge "$WORK/otherseed/CD4_T_0.db" "$P/CD4_T_1.db" "$P/CD4_T_2.db" --out "$WORK/bad"
# An input replaced between the jobs (another size) is refused; only touched, warned about.
cp -p "$I/gene_annot.tsv" "$WORK/gene_annot.orig"
echo "" >> "$I/gene_annot.tsv"
expect_ok part_2_after_edit "$SCPX" "${RUN[@]}" --split 3 --job 2 --out "$WORK/e/CD4_T_2"
cp -p "$WORK/gene_annot.orig" "$I/gene_annot.tsv"
expect_fail input_changed "input .*gene_annot.tsv was [0-9]+ bytes when job 2 ran and [0-9]+ bytes when job 0 ran" \
  "$WORK/bad.db" -- "$SCPX" lctpred merge "$P/CD4_T_0.db" "$P/CD4_T_1.db" "$WORK/e/CD4_T_2.db" --out "$WORK/bad"
# Options of the fit are not options of the merge, before `merge` or after it; the fit still
# demands its own.
expect_fail fit_options_before_merge "scpx lctpred --seed … merge.: the options before .merge. are the fit's" \
  "$WORK/bad.db" -- "$SCPX" lctpred --seed 9 merge "$P"/CD4_T_*.db --out "$WORK/bad"
expect_fail out_before_merge "scpx lctpred --out … merge.: the options before .merge. are the fit's" "" -- \
  "$SCPX" lctpred --out "$WORK/bad" merge "$P"/CD4_T_*.db
expect_fail empty_out "--out: an empty name would write hidden files" "" -- "$SCPX" lctpred merge "$P"/CD4_T_*.db --out ""
# --out is a prefix: the log is <prefix>.log whatever it ends with.
expect_ok out_with_dot "$SCPX" lctpred merge "$P"/CD4_T_*.db --out "$WORK/m.v1"
check log_of_dotted_prefix test -s "$WORK/m.v1.log"
# A part rank 0 finds wrong at 2 ranks: one ERROR line, rank 0's (the other rank only follows).
mix twoerr db 0
/usr/bin/python3 -c "import sqlite3; c = sqlite3.connect('$WORK/twoerr/CD4_T_0.db'); c.execute('delete from weights where rowid = 1'); c.commit()"
mpirun -n 2 "$SCPX" lctpred merge "$WORK/twoerr/CD4_T_0.db" "$P/CD4_T_1.db" "$P/CD4_T_2.db" --out "$WORK/bad" \
  > "$WORK/twoerr.log" 2>&1 || true
check merge_error_once_at_2_ranks test "$(grep -cE '^(\[rank [0-9]+\] )?ERROR: ' "$WORK/twoerr.log")" -eq 1
# --verbosity off still shows a fatal error.
expect_fail error_shown_at_verbosity_off "the parts of --split 3 lack job" "$WORK/bad.db" -- \
  "$SCPX" lctpred merge "$P/CD4_T_0.db" --out "$WORK/bad" --verbosity off
# Edits that keep a part's gene set are caught too.
mix lessweights db 0
/usr/bin/python3 -c "import sqlite3; c = sqlite3.connect('$WORK/lessweights/CD4_T_0.db'); c.execute('delete from weights where rowid = (select min(rowid) from weights)'); c.commit()"
expect_fail weight_row_deleted "lessweights/CD4_T_0.db, table extra, field 'n.snps.in.model': gene .*: [0-9]+ in extra, but [0-9]+ weight row" \
  "$WORK/bad.db" -- "$SCPX" lctpred merge "$WORK/lessweights/CD4_T_0.db" "$P/CD4_T_1.db" "$P/CD4_T_2.db" --out "$WORK/bad"
mix covrow covariance.txt.gz 0
zcat "$P/CD4_T_0.covariance.txt.gz" | sed '2d' | gzip > "$WORK/covrow/CD4_T_0.covariance.txt.gz"
expect_fail covariance_row_deleted "covrow/CD4_T_0.covariance.txt.gz, line 2, field 'GENE': gene .* row\(s\) over" \
  "$WORK/bad.db" -- "$SCPX" lctpred merge "$WORK/covrow/CD4_T_0.db" "$P/CD4_T_1.db" "$P/CD4_T_2.db" --out "$WORK/bad"
mix swapped summary.h5 0
/usr/bin/python3 -c "
import h5py
f = h5py.File('$WORK/swapped/CD4_T_0.summary.h5', 'r+'); g = f['gene_id'][()]; g[[0, 1]] = g[[1, 0]]; f['gene_id'][...] = g"
expect_fail summary_rows_swapped "swapped/CD4_T_0.summary.h5, datasets /gene_id, /chromosome, /tss: its genes .* are not the ones its run wrote" \
  "$WORK/bad.db" -- "$SCPX" lctpred merge "$WORK/swapped/CD4_T_0.db" "$P/CD4_T_1.db" "$P/CD4_T_2.db" --out "$WORK/bad"
# Options of the fit are not options of the merge; the fit still demands its own.
expect_fail merge_takes_no_split "argument was not expected: --split" "$WORK/bad.db" -- \
  "$SCPX" lctpred merge "$P"/CD4_T_*.db --split 3 --out "$WORK/bad"
expect_fail fit_needs_expression "--expression is required" "" -- \
  "$SCPX" lctpred --gene-annotation "$I/gene_annot.tsv" --vcf "$D/genotype.vcf.gz" --out "$WORK/x"
finish
