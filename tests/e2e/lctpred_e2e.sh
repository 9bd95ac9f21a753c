#!/usr/bin/env bash
# `scpx lctpred`: the l-ctPred stage on tests/data/enet/lctpred (PredictDB text and VCF inputs),
# then `scpx spredixcan` on the .db + covariance it wrote (finite z for every kept gene), a killed
# run continued with --resume (at 1 and 2 ranks), and bad inputs on each CLI path (one clear ERROR
# line, non-zero exit, no output left behind).
source "$(dirname "$0")/e2e_lib.sh"
SRC=${SCPX_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
D="$SRC/tests/data/enet/lctpred"
IN=(--expression "$D/expression.tsv" --gene-annotation "$D/gene_annot.tsv")
TXT=(--genotype "$D/genotype.tsv.gz" --snp-annotation "$D/snp_annot.tsv")

expect_ok lctpred_text "$SCPX" lctpred "${IN[@]}" "${TXT[@]}" --seed 7 --threads 2 --out "$WORK/lct"
check db_written test -s "$WORK/lct.db"
check covariance_written test -s "$WORK/lct.covariance.txt.gz"
check summary_written test -s "$WORK/lct.summary.h5"
check log_reports_sample_intersection grep -q "120 in both" "$WORK/lct.log"
check log_reports_snp_qc grep -q "2 strand-ambiguous, 2 without rsid" "$WORK/lct.log"
check covariance_header bash -c "zcat '$WORK/lct.covariance.txt.gz' | head -1 | grep -qx 'GENE RSID1 RSID2 VALUE'"
check statuses_in_summary bash -c "h5dump -d status '$WORK/lct.summary.h5' | grep -q not_autosomal"

# Open MPI's MPI-IO semaphore for the staged summary left taken by a dead run (a glibc semaphore
# file of zeros: value 0): the open used to wait for ever; now it is given back, with a warning.
if [[ -d /dev/shm && -w /dev/shm ]]; then
  stale="/dev/shm/sem.OMPIO_..scpx-staged.sem$$.summary.h5.scpx-tmp"
  head -c 32 /dev/zero > "$stale"
  expect_ok stale_mpiio_semaphore timeout 120 "$SCPX" lctpred "${IN[@]}" "${TXT[@]}" --seed 7 --threads 2 --out "$WORK/sem$$"
  check stale_semaphore_released grep -q "released Open MPI's MPI-IO semaphore $stale" "$WORK/stale_mpiio_semaphore.log"
  check same_summary_after_release cmp -s "$WORK/lct.summary.h5" "$WORK/sem$$.summary.h5"
  rm -f "$stale"
fi

# A rerun with the same seed is byte-identical (no timestamps in any output).
expect_ok lctpred_rerun "$SCPX" lctpred "${IN[@]}" "${TXT[@]}" --seed 7 --threads 1 --out "$WORK/lct2"
check rerun_db_identical cmp "$WORK/lct.db" "$WORK/lct2.db"
check rerun_cov_identical cmp "$WORK/lct.covariance.txt.gz" "$WORK/lct2.covariance.txt.gz"
check rerun_h5_identical cmp "$WORK/lct.summary.h5" "$WORK/lct2.summary.h5"

# Fold ids: R's stream (default) is recorded in the provenance; scpx's own generator gives other
# folds (the HDF5 per-fold sizes differ); an explicit --fold-rng r equals the default.
check provenance_fold_rng_r bash -c "h5dump -A '$WORK/lct.summary.h5' | grep -A10 'ATTRIBUTE \"fold_rng\"' | grep -q '\"r\"'"
expect_ok lctpred_fold_rng_r "$SCPX" lctpred "${IN[@]}" "${TXT[@]}" --seed 7 --fold-rng r --out "$WORK/lctr"
check fold_rng_r_is_default cmp "$WORK/lct.db" "$WORK/lctr.db"
expect_ok lctpred_fold_rng_scpx "$SCPX" lctpred "${IN[@]}" "${TXT[@]}" --seed 7 --fold-rng scpx --out "$WORK/lcts"
check fold_rng_scpx_differs bash -c "! cmp -s <(h5dump -d folds/n '$WORK/lct.summary.h5' | tail -n +3) <(h5dump -d folds/n '$WORK/lcts.summary.h5' | tail -n +3)"

# VCF input (DS) gives the same models as the text input.
expect_ok lctpred_vcf "$SCPX" lctpred "${IN[@]}" --vcf "$D/genotype.vcf.gz" --dosage-field DS --seed 7 --out "$WORK/lctv"
# (htslib keeps DS as float, so the numbers differ from the text input in the 7th digit.)
check vcf_models_written bash -c "zcat '$WORK/lctv.covariance.txt.gz' | wc -l | awk '{exit !(\$1 > 10)}'"

# S-PrediXcan reads the model and covariance: every kept gene gets a finite z-score.
expect_ok spredixcan_on_lctpred "$SCPX" spredixcan --model_db_path "$WORK/lct.db" \
  --covariance "$WORK/lct.covariance.txt.gz" --gwas_file "$D/gwas.tsv.gz" --snp_column SNP \
  --effect_allele_column A1 --non_effect_allele_column A2 --zscore_column ZSCORE \
  --output_file "$WORK/spx.csv" --overwrite
check spredixcan_finite_z /usr/bin/python3 - "$WORK/spx.csv" "$WORK/lct.db" <<'PY'
import csv, math, sqlite3, sys
rows = list(csv.DictReader(open(sys.argv[1])))
kept = {g for (g,) in sqlite3.connect(sys.argv[2]).execute("select gene from extra")}
z = {r["gene"]: r["zscore"] for r in rows}
assert kept and set(z) == kept, (sorted(z), sorted(kept))
assert all(math.isfinite(float(v)) for v in z.values()), z
PY

# ---------------------------------------------------------------- --phi
# extra.phi (LD score of the predicted expression / M) for every kept model; M defaults to the SNPs
# after QC, said to stand for the genome only on all 22 autosomes (this panel has 2); --phi-snps
# rescales; spredixcan's calibration divides z by sqrt(1 + phi·N·h2) with it. Without --phi the
# .db has no phi column (the runs above).
expect_ok lctpred_phi "$SCPX" lctpred "${IN[@]}" "${TXT[@]}" --seed 7 --phi --out "$WORK/phi"
weights_of() { /usr/bin/python3 -c "import sqlite3, sys
for r in sqlite3.connect(sys.argv[1]).execute('select gene, rsid, weight from weights order by 1, 2'): print(*r)" "$1"; }
check phi_same_models_as_without cmp <(weights_of "$WORK/lct.db") <(weights_of "$WORK/phi.db")
check phi_warns_genome_coverage grep -q "WARN.*--phi: M = [0-9]* SNPs after QC, on 2 of the 22 autosomes" "$WORK/phi.log"
expect_ok lctpred_phi_snps "$SCPX" lctpred "${IN[@]}" "${TXT[@]}" --seed 7 --phi-snps 1000000 --out "$WORK/phim"
check phi_values /usr/bin/python3 - "$WORK/phi.db" "$WORK/phim.db" "$WORK/phi.log" "$WORK/lct.db" <<'PY'
import re, sqlite3, sys
m = int(re.search(r"M = (\d+) SNPs after QC", open(sys.argv[3]).read()).group(1))
cols = [r[1] for r in sqlite3.connect(sys.argv[4]).execute("pragma table_info(extra)")]
assert "phi" not in cols, cols
phi = dict(sqlite3.connect(sys.argv[1]).execute("select gene, phi from extra"))
phim = dict(sqlite3.connect(sys.argv[2]).execute("select gene, phi from extra"))
assert phi and set(phi) == set(phim), (phi, phim)
for g, v in phi.items():
    assert v is not None and v >= 0, (g, v)
    # phi = max(l, 0) / M: the same LD score under either M
    assert abs(v * m - phim[g] * 1e6) <= 1e-9 * max(1.0, v * m), (g, v, m, phim[g])
assert any(v > 0 for v in phi.values()), phi
PY
expect_ok spredixcan_calibrated "$SCPX" spredixcan --model_db_path "$WORK/phim.db" \
  --covariance "$WORK/phim.covariance.txt.gz" --gwas_file "$D/gwas.tsv.gz" --snp_column SNP \
  --effect_allele_column A1 --non_effect_allele_column A2 --zscore_column ZSCORE \
  --gwas_h2 0.5 --gwas_N 100000 --output_file "$WORK/spx_cal.csv" --overwrite
check spredixcan_calibrates_with_phi /usr/bin/python3 - "$WORK/spx_cal.csv" "$WORK/phim.db" <<'PY'
import csv, math, sqlite3, sys
rows = list(csv.DictReader(open(sys.argv[1])))
phi = dict(sqlite3.connect(sys.argv[2]).execute("select gene, phi from extra"))
assert rows and {r["gene"] for r in rows} == set(phi), rows
for r in rows:
    assert abs(float(r["phi"]) - phi[r["gene"]]) <= 1e-12 * max(1e-300, phi[r["gene"]]), r
    want = float(r["uncalibrated_zscore"]) / math.sqrt(1 + phi[r["gene"]] * 1e5 * 0.5)
    assert abs(float(r["zscore"]) - want) <= 1e-9 * max(1.0, abs(want)), (r, want)
PY
expect_fail phi_snps_not_positive "--phi-snps: must be a positive number \\(got .0.\\)" "$WORK/bad_phi.db" -- \
  "$SCPX" lctpred "${IN[@]}" "${TXT[@]}" --phi-snps 0 --out "$WORK/bad_phi"

# ---------------------------------------------------------------- --resume
# SCPX_FAULT_EXIT_AFTER_GENES=N: a rank _Exit(75)s right after journaling its N-th gene, as a
# SLURM kill would end it. The killed run leaves no final output but its journal; --resume fits
# the remaining genes and writes exactly the clean run's bytes, then removes the journal.
RES=(lctpred "${IN[@]}" "${TXT[@]}" --seed 7)
rc=0; SCPX_FAULT_EXIT_AFTER_GENES=4 "$SCPX" "${RES[@]}" --threads 2 --out "$WORK/lk" > "$WORK/killed.log" 2>&1 || rc=$?
check killed_exit_75 test "$rc" -eq 75
for ext in db covariance.txt.gz summary.h5; do check "killed_no_final_$ext" test ! -e "$WORK/lk.$ext"; done
check killed_journal_kept test -s "$WORK/lk.journal/rank0.tsv"
check killed_journal_has_4_genes bash -c "[[ \$(grep -c \$'\tEND\$' '$WORK/lk.journal/rank0.tsv') -eq 4 ]]"
cp "$WORK/lk.journal/rank0.tsv" "$WORK/lk_journal_before.tsv"
expect_fail resume_other_options "--resume: the journal .*rank0.tsv.*--window 1000000.*--window 500000.*without --resume" \
  "$WORK/lk.db" -- "$SCPX" "${RES[@]}" --window 500000 --resume --out "$WORK/lk"
check refused_resume_keeps_journal cmp "$WORK/lk.journal/rank0.tsv" "$WORK/lk_journal_before.tsv"
expect_ok resume "$SCPX" "${RES[@]}" --threads 1 --resume --out "$WORK/lk"
check resume_logs_done_genes grep -Eq "resuming: 4 of [0-9]+ gene\(s\) already done" "$WORK/resume.log"
for ext in db covariance.txt.gz summary.h5; do check "resume_equals_clean_$ext" cmp "$WORK/lct.$ext" "$WORK/lk.$ext"; done
check resume_removes_journal test ! -e "$WORK/lk.journal"
check resume_no_temporaries bash -c "! ls -a '$WORK' | grep -q '^\.lk\..*scpx-tmp'"
# Resubmitted after it finished (a whole array resubmitted): nothing to do, outputs and log kept;
# with other options the existing outputs are refused as without --resume.
md5_lk=$(cat "$WORK"/lk.db "$WORK"/lk.covariance.txt.gz "$WORK"/lk.summary.h5 "$WORK"/lk.log | md5sum)
expect_ok resume_finished "$SCPX" "${RES[@]}" --threads 2 --resume --out "$WORK/lk"
check resume_finished_says_nothing_to_do grep -q -- "--resume: .*lk.db, .* are finished .*nothing to do" \
  "$WORK/resume_finished.log"
check resume_finished_untouched test "$md5_lk" = "$(cat "$WORK"/lk.db "$WORK"/lk.covariance.txt.gz "$WORK"/lk.summary.h5 "$WORK"/lk.log | md5sum)"
expect_fail resume_finished_other_options "lk.db exists; pass --overwrite" "" -- \
  "$SCPX" "${RES[@]}" --window 500000 --resume --out "$WORK/lk"
# An input replaced since, even by an older file (cp -p, rsync): its stamp differs, so not finished.
cp "$D/expression.tsv" "$WORK/expr_copy.tsv"
RESC=(lctpred --expression "$WORK/expr_copy.tsv" --gene-annotation "$D/gene_annot.tsv" "${TXT[@]}" --seed 7)
expect_ok resume_copy_run "$SCPX" "${RESC[@]}" --out "$WORK/lc"
touch -d 2020-01-01 "$WORK/expr_copy.tsv"
expect_fail resume_input_replaced_by_older "lc.db exists; pass --overwrite" "" -- \
  "$SCPX" "${RESC[@]}" --resume --out "$WORK/lc"

# Without --resume a stale journal is removed (logged) and the run starts afresh.
mkdir -p "$WORK/lf.journal"; printf 'stale\n' > "$WORK/lf.journal/rank0.tsv"
expect_ok fresh_over_stale_journal "$SCPX" "${RES[@]}" --out "$WORK/lf"
check fresh_logs_stale_journal grep -q "removing the stale journal" "$WORK/fresh_over_stale_journal.log"
check fresh_equals_clean cmp "$WORK/lct.summary.h5" "$WORK/lf.summary.h5"
check fresh_removes_journal test ! -e "$WORK/lf.journal"

# Kill at 2 ranks, resume at 1 (and kill at 1, resume at 2): the clean run's bytes.
if command -v mpirun > /dev/null; then
  MPIFLAGS=(--oversubscribe); [[ $(id -u) -eq 0 ]] && MPIFLAGS+=(--allow-run-as-root)
  rc=0; SCPX_FAULT_EXIT_AFTER_GENES=2 mpirun "${MPIFLAGS[@]}" -n 2 "$SCPX" "${RES[@]}" --threads 1 --out "$WORK/lm" \
    > "$WORK/killed_np2.log" 2>&1 || rc=$?
  check killed_np2_fails test "$rc" -ne 0
  check killed_np2_no_db test ! -e "$WORK/lm.db"
  check killed_np2_journal_per_rank test -s "$WORK/lm.journal/rank0.tsv" -a -s "$WORK/lm.journal/rank1.tsv"
  expect_ok resume_np2_at_np1 "$SCPX" "${RES[@]}" --threads 1 --resume --out "$WORK/lm"
  for ext in db covariance.txt.gz summary.h5; do check "np2_resumed_np1_equals_clean_$ext" cmp "$WORK/lct.$ext" "$WORK/lm.$ext"; done
  check np2_resumed_removes_journal test ! -e "$WORK/lm.journal"
  rc=0; SCPX_FAULT_EXIT_AFTER_GENES=3 "$SCPX" "${RES[@]}" --threads 1 --out "$WORK/ln" > "$WORK/killed_np1.log" 2>&1 || rc=$?
  check killed_np1_exit_75 test "$rc" -eq 75
  expect_ok resume_np1_at_np2 mpirun "${MPIFLAGS[@]}" -n 2 "$SCPX" "${RES[@]}" --threads 1 --resume --out "$WORK/ln"
  check resume_np1_at_np2_logs grep -Eq "resuming: 3 of [0-9]+ gene" "$WORK/resume_np1_at_np2.log"
  for ext in db covariance.txt.gz summary.h5; do check "np1_resumed_np2_equals_clean_$ext" cmp "$WORK/lct.$ext" "$WORK/ln.$ext"; done
  # A missing output folder at 2 ranks: every rank creates it before checking the location.
  expect_ok np2_missing_folder mpirun "${MPIFLAGS[@]}" -n 2 "$SCPX" "${RES[@]}" --threads 1 --out "$WORK/newdir/sub/lp"
  check np2_missing_folder_equals_clean cmp "$WORK/lct.db" "$WORK/newdir/sub/lp.db"
  # Another run writing one of the outputs: every rank stops before fitting, one ERROR line.
  hold_output_claim "$WORK/lcl.summary.h5"
  rc=0; mpirun "${MPIFLAGS[@]}" -n 2 "$SCPX" "${RES[@]}" --threads 1 --out "$WORK/lcl" > "$WORK/claimed_np2.log" 2>&1 || rc=$?
  release_output_claim
  check claimed_np2_fails test "$rc" -ne 0
  check claimed_np2_names_holder grep -q "lcl.summary.h5 is being written by another run (pid [0-9]* on e2e-holder" \
    "$WORK/claimed_np2.log"
  check claimed_np2_one_error one_error_line "$WORK/claimed_np2.log"
  check claimed_np2_no_outputs bash -c "! ls -a '$WORK' | grep -E '^\.?(lcl\.|\.scpx-staged\.lcl)' | grep -v '^lcl.failed.log$'"
  # Bad input at 2 ranks: rank 0 reports first (the others wait before reporting; a busy machine
  # may still let their copy through before the abort ends them, so only the order is checked).
  printf 'varID\tS001\n' > "$WORK/geno_no_variant.tsv"
  rc=0; mpirun "${MPIFLAGS[@]}" -n 2 "$SCPX" lctpred "${IN[@]}" --genotype "$WORK/geno_no_variant.tsv" \
    --snp-annotation "$D/snp_annot.tsv" --threads 1 --out "$WORK/lbad" \
    > "$WORK/np2_bad.out" 2> "$WORK/np2_bad.err" || rc=$?
  check np2_bad_input_fails test "$rc" -ne 0
  check np2_bad_input_rank0_first bash -c "grep -m1 'ERROR' '$WORK/np2_bad.err' | grep -q '^ERROR: '"
fi

# ---------------------------------------------------------------- bad inputs
BAD="$WORK/bad"; mkdir -p "$BAD"
{ printf 'varID'; for i in $(seq -f 'S%03g' 1 130); do printf '\t%s' "$i"; done; printf '\n';
  printf '%s' "$(sed -n 2p "$D/snp_annot.tsv" | cut -f3)"; for i in $(seq 1 130); do
  if [[ $i == 7 ]]; then printf '\tabc'; else printf '\t1'; fi; done; printf '\n'; } > "$BAD/geno.tsv"
expect_fail non_numeric_dosage "geno.tsv.*S007" "$WORK/b1.db" -- \
  "$SCPX" lctpred "${IN[@]}" --genotype "$BAD/geno.tsv" --snp-annotation "$D/snp_annot.tsv" --out "$WORK/b1"
check non_numeric_dosage_no_cov test ! -e "$WORK/b1.covariance.txt.gz"
check non_numeric_dosage_no_h5 test ! -e "$WORK/b1.summary.h5"

head -2 "$D/gene_annot.tsv" > "$BAD/annot.tsv"
expect_fail gene_not_in_annotation "not in the gene annotation.*--skip-unannotated" "$WORK/b2.db" -- \
  "$SCPX" lctpred --expression "$D/expression.tsv" --gene-annotation "$BAD/annot.tsv" "${TXT[@]}" --out "$WORK/b2"

printf 'gene_id\tX1\tX2\tX3\nENSG00000000001.1\t1\t2\t3\n' > "$BAD/expr.tsv"
expect_fail no_common_sample "no sample id in common" "$WORK/b3.db" -- \
  "$SCPX" lctpred --expression "$BAD/expr.tsv" --gene-annotation "$D/gene_annot.tsv" "${TXT[@]}" --out "$WORK/b3"

printf 'sample\tr1\nS001\t1\nS002\t2\nS003\t3\n' > "$BAD/folds.tsv"
expect_fail fold_table_missing_sample "'S004'.*no fold id" "$WORK/b4.db" -- \
  "$SCPX" lctpred "${IN[@]}" "${TXT[@]}" --foldid "$BAD/folds.tsv" --out "$WORK/b4"

# The output's parent is a regular file: no directory can be made there.
expect_fail unwritable_output "geno.tsv/x" "" -- \
  "$SCPX" lctpred "${IN[@]}" "${TXT[@]}" --out "$BAD/geno.tsv/x"

head -c 20000 "$D/genotype.tsv.gz" > "$BAD/trunc.tsv.gz"
expect_fail truncated_genotype "trunc.tsv.gz.*truncated or corrupt gzip" "$WORK/b7.db" -- \
  "$SCPX" lctpred "${IN[@]}" --genotype "$BAD/trunc.tsv.gz" --snp-annotation "$D/snp_annot.tsv" --out "$WORK/b7"

printf 'gene_id\tS001\tS002\tS003\tS004\nENSG00000000001.1\t1\t2\tx\t3\n' > "$BAD/expr_nan.tsv"
expect_fail non_numeric_expression "expr_nan.tsv.*S003" "$WORK/b8.db" -- \
  "$SCPX" lctpred --expression "$BAD/expr_nan.tsv" --gene-annotation "$D/gene_annot.tsv" "${TXT[@]}" --out "$WORK/b8"

expect_fail seed_too_large_for_r "does not fit R's integer" "$WORK/b9.db" -- \
  "$SCPX" lctpred "${IN[@]}" "${TXT[@]}" --seed 4294967296 --out "$WORK/b9"

expect_fail genotype_source_twice "either as --genotype" "$WORK/b6.db" -- \
  "$SCPX" lctpred "${IN[@]}" "${TXT[@]}" --vcf "$D/genotype.vcf.gz" --out "$WORK/b6"

# ---------------------------------------------------------------- outputs and option checks
# A directory under one output's name: refused before any work, none of the set is written.
mkdir -p "$WORK/h5dir/o.summary.h5"
expect_fail output_is_directory "o.summary.h5: it is a directory" "$WORK/h5dir/o.db" -- \
  "$SCPX" lctpred "${IN[@]}" "${TXT[@]}" --out "$WORK/h5dir/o"
check output_is_directory_no_cov test ! -e "$WORK/h5dir/o.covariance.txt.gz"
check output_is_directory_no_journal test ! -e "$WORK/h5dir/o.journal"
check output_is_directory_no_staged bash -c "! ls -a '$WORK/h5dir' | grep -q scpx-staged"

# Existing outputs are refused by default (as --help says), before any fitting; --overwrite replaces.
cp "$WORK/lct2.db" "$WORK/lct2_before.db"
expect_fail existing_output_refused "lct2.db exists; pass --overwrite" "" -- \
  "$SCPX" lctpred "${IN[@]}" "${TXT[@]}" --seed 7 --out "$WORK/lct2"
check existing_output_refused_before_work bash -c "! grep -q 'samples:' '$WORK/existing_output_refused.log'"
check existing_output_untouched cmp "$WORK/lct2.db" "$WORK/lct2_before.db"
expect_ok overwrite_replaces "$SCPX" lctpred "${IN[@]}" "${TXT[@]}" --seed 7 --overwrite --out "$WORK/lct2"
check overwrite_same_bytes cmp "$WORK/lct.summary.h5" "$WORK/lct2.summary.h5"

# expect_rejected NAME REGEX -- CMD...: an option error (CLI11's message, no ERROR prefix), no output.
expect_rejected() {
  local name=$1 regex=$2; shift 3
  local rc=0; "$@" > "$WORK/$name.log" 2>&1 || rc=$?
  check "$name" bash -c "[[ $rc -ne 0 ]] && grep -Eq -- \"$regex\" '$WORK/$name.log' && ! ls '$WORK'/bn.* '$WORK'/bs.* 2>/dev/null | grep -qv log"
}
for opt in "--maf nan" "--alpha nan" "--pval-threshold nan" "--rho-threshold inf" "--max-missing nan"; do
  expect_rejected "option_${opt%% *}_nonfinite" "not a finite number" -- \
    "$SCPX" lctpred "${IN[@]}" "${TXT[@]}" $opt --out "$WORK/bn"
done
expect_rejected negative_seed "--seed: must be an integer ≥ 0" -- \
  "$SCPX" lctpred "${IN[@]}" "${TXT[@]}" --seed -1 --fold-rng scpx --out "$WORK/bs"

# ---------------------------------------------------------------- dosages
hdr() { printf 'varID'; for i in $(seq -f 'S%03g' 1 130); do printf '\t%s' "$i"; done; printf '\n'; }
VAR=$(sed -n 2p "$D/snp_annot.tsv" | cut -f3)
row() { printf '%s' "$VAR"; for i in $(seq 1 130); do if [[ $i == 7 ]]; then printf '\t%s' "$1"; else printf '\t%s' "$(( i % 3 ))"; fi; done; printf '\n'; }
for bad in -1 -0.1 2.1 3 100; do
  { hdr; row "$bad"; } > "$BAD/geno_range.tsv"
  expect_fail "dosage_out_of_range_$bad" "geno_range.tsv, line 2, field 'S007': dosage $bad .*outside 0..2" "$WORK/br.db" -- \
    "$SCPX" lctpred "${IN[@]}" --genotype "$BAD/geno_range.tsv" --snp-annotation "$D/snp_annot.tsv" --out "$WORK/br"
done
# A missing dosage (NA, NaN, empty) drops the SNP, or is mean-imputed with --max-missing, as VCF ./.
{ hdr; row NA; } > "$BAD/geno_na.tsv"
expect_ok missing_dosage_imputed "$SCPX" lctpred "${IN[@]}" --genotype "$BAD/geno_na.tsv" \
  --snp-annotation "$D/snp_annot.tsv" --max-missing 0.1 --out "$WORK/bna"
check missing_dosage_imputed_logged grep -q "1 missing dosages mean-imputed" "$WORK/missing_dosage_imputed.log"
{ hdr; row ''; } > "$BAD/geno_empty.tsv"
expect_ok missing_dosage_dropped "$SCPX" lctpred "${IN[@]}" --genotype "$BAD/geno_empty.tsv" \
  --snp-annotation "$D/snp_annot.tsv" --out "$WORK/bne"
check missing_dosage_dropped_logged grep -q "SNPs: 1 read, 0 kept; dropped: 1 missing dosages" "$WORK/missing_dosage_dropped.log"

hdr > "$BAD/geno_header_only.tsv"
expect_fail genotype_header_only "geno_header_only.tsv: no variants" "$WORK/bh.db" -- \
  "$SCPX" lctpred "${IN[@]}" --genotype "$BAD/geno_header_only.tsv" --snp-annotation "$D/snp_annot.tsv" --out "$WORK/bh"

# ---------------------------------------------------------------- fold tables
{ printf 'sample\tr1\n'; for i in $(seq -f 'S%03g' 1 120); do printf '%s\t%s\n' "$i" $(( 10#${i#S} % 10 + 1 )); done; } \
  | sed 's/^S005\t.*/S005\t1000000/' > "$BAD/folds_big.tsv"
expect_fail fold_id_above_samples "folds_big.tsv, line 6, field 'r1': fold id 1000000" "$WORK/bf.db" -- \
  "$SCPX" lctpred "${IN[@]}" "${TXT[@]}" --foldid "$BAD/folds_big.tsv" --out "$WORK/bf"
check fold_id_above_samples_no_journal test ! -e "$WORK/bf.journal"
sed 's/^S005\t.*/S005\t11/' "$BAD/folds_big.tsv" > "$BAD/folds_11.tsv"
expect_fail fold_table_vs_nfolds "fold ids up to 11 but --nfolds is 10" "$WORK/bg.db" -- \
  "$SCPX" lctpred "${IN[@]}" "${TXT[@]}" --foldid "$BAD/folds_11.tsv" --nfolds 10 --out "$WORK/bg"
expect_fail fold_table_vs_repeats "1 fold-id column.*--repeats is 3" "$WORK/bg.db" -- \
  "$SCPX" lctpred "${IN[@]}" "${TXT[@]}" --foldid "$BAD/folds_11.tsv" --repeats 3 --out "$WORK/bg"
# A table decides folds and repeats: the logged command leaves the defaults of --nfolds/--repeats
# out, so that it reruns the job (with them it would fail as above).
expect_ok fold_table_run "$SCPX" lctpred "${IN[@]}" "${TXT[@]}" --foldid "$BAD/folds_11.tsv" --out "$WORK/bk"
logged=$(logged_command "$WORK/bk.log")
check fold_table_logged_without_defaults test -z "$(grep -oE -- '--(nfolds|repeats) ' <<<"$logged")"
check fold_table_logged_with_foldid grep -q -- "--foldid $BAD/folds_11.tsv" <<<"$logged"

finish
