#!/usr/bin/env bash
# `scpx spredixcan`: MetaXcan parity on every fixture mode (numbers within 1e-9 rel + 1e-14 abs,
# compared by gene key), graceful handling of MetaXcan's crash cases, the harmonisation report
# and id-style diagnosis, position matching, and bad inputs (clear message, no partial CSV).
source "$(dirname "$0")/e2e_lib.sh"
SRC=${SCPX_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
D="$SRC/tests/data/spredixcan"
CMP=(/usr/bin/python3 "$SRC/tests/e2e/spredixcan_compare.py")
COLS=(--snp_column SNP --effect_allele_column A1 --non_effect_allele_column A2)
Z=(--zscore_column ZSCORE --beta_column BETA)

# ---------------------------------------------------------------- committed data (always)
expect_ok committed_wb_z "$SCPX" spredixcan --model_db_path "$D/TW_Whole_Blood_0.5.db" \
  --covariance "$D/TW_Whole_Blood.txt.gz" --gwas_file "$D/gwas_subset.txt.gz" "${COLS[@]}" "${Z[@]}" \
  --output_file "$WORK/wb.z.csv" --throw --overwrite --verbosity 10
check committed_wb_z_numbers "${CMP[@]}" "$D/TW_Whole_Blood.z.csv" "$WORK/wb.z.csv"
check log_next_to_output test -s "$WORK/wb.z.log"
check log_has_harmonisation_counts grep -q "allele mismatch .*strand complement" "$WORK/wb.z.log"

expect_ok committed_edge_status "$SCPX" spredixcan --model_db_path "$D/edge_WB.db" \
  --covariance "$D/edge_WB.txt.gz" --gwas_file "$D/gwas_subset.txt.gz" "${COLS[@]}" "${Z[@]}" \
  --output_file "$WORK/edge.z.csv" --overwrite --status
check committed_edge_numbers "${CMP[@]}" "$D/edge_WB.z.csv" "$WORK/edge.z.csv" --ignore-extra-columns
check edge_status_zero_variance grep -q "EDGE_ZEROW,.*zero variance" "$WORK/edge.z.csv"
check edge_status_not_in_cov grep -q "EDGE_NOCOV,.*not in the covariance" "$WORK/edge.z.csv"
check edge_status_ok grep -q "PITRM1,.*,ok$" "$WORK/edge.z.csv"

# Many models in one run, covariance and output by naming pattern.
expect_ok many_models "$SCPX" spredixcan --models "$D/TW_*_0.5.db" --covariance "$D/TW_{}.txt.gz" \
  --gwas_file "$D/gwas_subset.txt.gz" "${COLS[@]}" --pvalue_column P --beta_column BETA \
  --output_file "$WORK/many/{}.p_beta.csv" --overwrite
check many_models_liver "${CMP[@]}" "$D/TW_Liver.p_beta.csv" "$WORK/many/Liver.p_beta.csv"
check many_models_wb test -s "$WORK/many/Whole_Blood.p_beta.csv"

# Without --overwrite an existing output is left alone (MetaXcan's behaviour).
echo keep > "$WORK/exists.csv"
echo "log of the kept results" > "$WORK/exists.log"
expect_ok no_overwrite "$SCPX" spredixcan --model_db_path "$D/TW_Liver_0.5.db" --covariance "$D/TW_Liver.txt.gz" \
  --gwas_file "$D/gwas_subset.txt.gz" "${COLS[@]}" "${Z[@]}" --output_file "$WORK/exists.csv"
check no_overwrite_kept grep -qx keep "$WORK/exists.csv"
check no_overwrite_log_kept grep -qx "log of the kept results" "$WORK/exists.log"
# Another run writing the same output (a job resubmitted while the first still runs): refused at
# once, naming it; the output it will write and its temporary file are not touched.
hold_output_claim "$WORK/claimed.csv"
expect_fail claimed_output "claimed.csv is being written by another run \\(pid [0-9]+ on e2e-holder" "$WORK/claimed.csv" -- \
  "$SCPX" spredixcan --model_db_path "$D/TW_Liver_0.5.db" --covariance "$D/TW_Liver.txt.gz" \
  --gwas_file "$D/gwas_subset.txt.gz" "${COLS[@]}" "${Z[@]}" --output_file "$WORK/claimed.csv"
release_output_claim
expect_ok claimed_output_released "$SCPX" spredixcan --model_db_path "$D/TW_Liver_0.5.db" --covariance "$D/TW_Liver.txt.gz" \
  --gwas_file "$D/gwas_subset.txt.gz" "${COLS[@]}" "${Z[@]}" --output_file "$WORK/claimed.csv"
check claimed_output_no_lock_left test ! -e "$WORK/.claimed.csv.scpx-lock"

# An output may not replace an input, also one that --models or a {} covariance expands to.
mkdir -p "$WORK/clash"; cp "$D"/TW_*_0.5.db "$D"/TW_*.txt.gz "$WORK/clash/"
md5_before=$(md5sum "$WORK/clash/TW_Liver_0.5.db" | cut -d' ' -f1)
expect_fail output_is_model "is the input file given as --models" "" -- \
  "$SCPX" spredixcan --models "$WORK/clash/TW_*_0.5.db" --covariance "$WORK/clash/TW_{}.txt.gz" \
  --gwas_file "$D/gwas_subset.txt.gz" "${COLS[@]}" "${Z[@]}" --output_file "$WORK/clash/TW_{}_0.5.db" --overwrite
check output_is_model_intact test "$(md5sum "$WORK/clash/TW_Liver_0.5.db" | cut -d' ' -f1)" = "$md5_before"
# Without --overwrite too: an input under an output's name is an error, not a finished output to skip.
cp "$WORK/clash/TW_Liver_0.5.db" "$WORK/clash_liver.orig"
expect_fail output_is_model_no_overwrite "is the input file given as --models" "" -- \
  "$SCPX" spredixcan --models "$WORK/clash/TW_*_0.5.db" --covariance "$WORK/clash/TW_{}.txt.gz" \
  --gwas_file "$D/gwas_subset.txt.gz" "${COLS[@]}" "${Z[@]}" --output_file "$WORK/clash/TW_{}_0.5.db"
check output_is_model_no_overwrite_intact cmp -s "$WORK/clash/TW_Liver_0.5.db" "$WORK/clash_liver.orig"
# Checked before any model runs: here the second model's output (later/x.db) is the first model,
# and the first model's output (later/x) must not be written either.
mkdir -p "$WORK/later"
cp "$D/TW_Liver_0.5.db" "$WORK/later/x.db"; cp "$D/TW_Liver_0.5.db" "$WORK/later/x.db.db"
cp "$D/TW_Liver.txt.gz" "$WORK/later/cov_x.txt.gz"; cp "$D/TW_Liver.txt.gz" "$WORK/later/cov_x.db.txt.gz"
expect_fail later_output_is_model "output .*later/x.db is the input file given as --models" "$WORK/later/x" -- \
  "$SCPX" spredixcan --models "$WORK/later/*.db" --covariance "$WORK/later/cov_{}.txt.gz" \
  --gwas_file "$D/gwas_subset.txt.gz" "${COLS[@]}" "${Z[@]}" --output_file "$WORK/later/{}" --overwrite
check later_output_is_model_intact cmp -s "$WORK/later/x.db" "$D/TW_Liver_0.5.db"
expect_fail output_is_single_model "is the input file given as --model_db_path" "" -- \
  "$SCPX" spredixcan --model_db_path "$WORK/clash/TW_Liver_0.5.db" --covariance "$WORK/clash/TW_Liver.txt.gz" \
  --gwas_file "$D/gwas_subset.txt.gz" "${COLS[@]}" "${Z[@]}" --output_file "$WORK/clash/TW_Liver_0.5.db"
check output_is_single_model_intact cmp -s "$WORK/clash/TW_Liver_0.5.db" "$WORK/clash_liver.orig"
# The files --gwas_folder lists are inputs as well.
mkdir -p "$WORK/gwas_in"; zcat "$D/gwas_subset.txt.gz" > "$WORK/gwas_in/gwas.txt"
cp "$WORK/gwas_in/gwas.txt" "$WORK/gwas_in.orig"
expect_fail output_is_gwas "is the input file given as --gwas_folder" "" -- \
  "$SCPX" spredixcan --model_db_path "$D/TW_Liver_0.5.db" --covariance "$D/TW_Liver.txt.gz" \
  --gwas_folder "$WORK/gwas_in" "${COLS[@]}" "${Z[@]}" --output_file "$WORK/gwas_in/gwas.txt" --overwrite
check output_is_gwas_intact cmp -s "$WORK/gwas_in/gwas.txt" "$WORK/gwas_in.orig"

# A GWAS split over a folder (files sorted by name, each with its header) = the single file.
mkdir -p "$WORK/gwas_dir"
zcat "$D/gwas_subset.txt.gz" > "$WORK/gwas_plain.txt"
head -800 "$WORK/gwas_plain.txt" > "$WORK/gwas_dir/part1.txt"
{ head -1 "$WORK/gwas_plain.txt"; tail -n +801 "$WORK/gwas_plain.txt"; } | gzip -c > "$WORK/gwas_dir/part2.txt.gz"
echo "not a gwas" > "$WORK/gwas_dir/notes.md"
# The pattern matches from the name's start (MetaXcan's re.match): not this file.
echo "not a gwas" > "$WORK/gwas_dir/old_part3.txt"
expect_ok gwas_folder "$SCPX" spredixcan --model_db_path "$D/TW_Whole_Blood_0.5.db" --covariance "$D/TW_Whole_Blood.txt.gz" \
  --gwas_folder "$WORK/gwas_dir" --gwas_file_pattern 'part.*txt' "${COLS[@]}" "${Z[@]}" --output_file "$WORK/folder.csv" --overwrite
check gwas_folder_same "${CMP[@]}" "$D/TW_Whole_Blood.z.csv" "$WORK/folder.csv"
# Columns only --match_by_position reads may name columns the file lacks (MetaXcan only logs them);
# Python's (?i) in the pattern.
expect_ok unused_columns_absent "$SCPX" spredixcan --model_db_path "$D/TW_Whole_Blood_0.5.db" --covariance "$D/TW_Whole_Blood.txt.gz" \
  --gwas_folder "$WORK/gwas_dir" --gwas_file_pattern '(?i)PART' --chromosome_column CHR --position_column BP --freq_column FRQ \
  "${COLS[@]}" "${Z[@]}" --output_file "$WORK/folder2.csv" --overwrite
check unused_columns_same "${CMP[@]}" "$D/TW_Whole_Blood.z.csv" "$WORK/folder2.csv"

# GWAS ids in another style: the log says which styles and which flag would fix it.
zcat "$D/gwas_subset.txt.gz" | awk 'BEGIN{OFS="\t"} NR==1{print; next} {$1="chr1:" NR ":" $2 ":" $3; print}' \
  > "$WORK/posids.tsv"
expect_ok no_match_runs "$SCPX" spredixcan --model_db_path "$D/TW_Liver_0.5.db" --covariance "$D/TW_Liver.txt.gz" \
  --gwas_file "$WORK/posids.tsv" "${COLS[@]}" "${Z[@]}" --output_file "$WORK/nomatch.csv" --overwrite
check no_match_diagnosis grep -q "WARN.*only 0 of .* model SNPs.*Model ids: rsid.*GWAS ids.*chr:pos:ref:alt.*Likely fix" \
  "$WORK/nomatch.log"
check no_match_header_only test "$(wc -l < "$WORK/nomatch.csv")" -eq 1

# Position matching: a varID-keyed copy of the model (chr1_<n>_<ref>_<eff>_b38) and a GWAS with
# 1:<n>:<a1>:<a2> ids (alleles in either order) give the rsid run's numbers.
/usr/bin/python3 - "$D" "$WORK" <<'PY'
import gzip, shutil, sqlite3, sys
d, w = sys.argv[1], sys.argv[2]
shutil.copy(d + "/TW_Liver_0.5.db", w + "/varid.db")
c = sqlite3.connect(w + "/varid.db")
rs = sorted({r[0] for r in c.execute("select rsid from weights")})
pos = {r: 1000 + 10 * i for i, r in enumerate(rs)}
c.execute("alter table weights add column varID text")
for rsid, ref, eff in c.execute("select rsid, ref_allele, eff_allele from weights").fetchall():
    c.execute("update weights set varID=? where rsid=?", ("chr1_%d_%s_%s_b38" % (pos[rsid], ref, eff), rsid))
c.commit()
with gzip.open(d + "/TW_Liver.txt.gz", "rt") as f, open(w + "/varid_cov.txt", "w") as o:
    o.write(next(f))
    for line in f:
        g, a, b, v = line.split()
        vid = {r[0]: r[1] for r in c.execute("select rsid, varID from weights")}
        o.write("%s %s %s %s\n" % (g, vid.get(a, a), vid.get(b, b), v))
with gzip.open(d + "/gwas_subset.txt.gz", "rt") as f, open(w + "/pos_gwas.tsv", "w") as o:
    o.write(next(f))
    for line in f:
        t = line.rstrip("\n").split("\t")
        if t[0] in pos:
            t[0] = "1:%d:%s:%s" % (pos[t[0]], t[1], t[2])
        o.write("\t".join(t) + "\n")
# The same with every id a position (the other SNPs far from the model's), as a real GWAS would be.
with open(w + "/pos_gwas.tsv") as f, open(w + "/pos_all_gwas.tsv", "w") as o:
    o.write(next(f))
    for i, line in enumerate(f):
        t = line.rstrip("\n").split("\t")
        if not t[0].startswith("1:"):
            t[0] = "2:%d:%s:%s" % (5000000 + i, t[1], t[2])
        o.write("\t".join(t) + "\n")
PY
expect_ok rsid_reference "$SCPX" spredixcan --model_db_path "$D/TW_Liver_0.5.db" --covariance "$D/TW_Liver.txt.gz" \
  --gwas_file "$D/gwas_subset.txt.gz" "${COLS[@]}" "${Z[@]}" --output_file "$WORK/liver_rsid.csv" --overwrite
expect_ok match_by_position "$SCPX" spredixcan --model_db_path "$WORK/varid.db" --model_db_snp_key varID \
  --covariance "$WORK/varid_cov.txt" --gwas_file "$WORK/pos_gwas.tsv" "${COLS[@]}" "${Z[@]}" --keep_non_rsid \
  --match_by_position --output_file "$WORK/liver_pos.csv" --overwrite
check match_by_position_same_numbers "${CMP[@]}" "$WORK/liver_rsid.csv" "$WORK/liver_pos.csv"
expect_ok varid_without_position "$SCPX" spredixcan --model_db_path "$WORK/varid.db" --model_db_snp_key varID \
  --covariance "$WORK/varid_cov.txt" --gwas_file "$WORK/pos_gwas.tsv" "${COLS[@]}" "${Z[@]}" --keep_non_rsid \
  --output_file "$WORK/liver_nopos.csv" --overwrite
check varid_style_diagnosis grep -q "Likely fix: both sides use positions.*--match_by_position" "$WORK/liver_nopos.log"
# The model keyed by rsid (covariance too), its varIDs carrying the positions (as scpx lctpred
# and PredictDB write them): --match_by_position alone maps the position-keyed GWAS to the rsids.
expect_ok rsid_model_position_gwas_diagnosis "$SCPX" spredixcan --model_db_path "$WORK/varid.db" \
  --covariance "$D/TW_Liver.txt.gz" --gwas_file "$WORK/pos_all_gwas.tsv" "${COLS[@]}" "${Z[@]}" \
  --output_file "$WORK/liver_rsid_nopos.csv" --overwrite
check rsid_model_position_gwas_fix grep -q "Likely fix: the model is keyed by rsid.*add --match_by_position" \
  "$WORK/liver_rsid_nopos.log"
expect_ok rsid_model_position_gwas "$SCPX" spredixcan --model_db_path "$WORK/varid.db" \
  --covariance "$D/TW_Liver.txt.gz" --gwas_file "$WORK/pos_all_gwas.tsv" "${COLS[@]}" "${Z[@]}" --match_by_position \
  --output_file "$WORK/liver_rsid_pos.csv" --overwrite
check rsid_model_position_gwas_same_numbers "${CMP[@]}" "$WORK/liver_rsid.csv" "$WORK/liver_rsid_pos.csv"

# ---------------------------------------------------------------- bad inputs
run_bad() { # NAME REGEX GWAS [extra args]: must fail, leave no CSV
  local name=$1 regex=$2 gwas=$3; shift 3
  expect_fail "$name" "$regex" "$WORK/bad_$name.csv" -- "$SCPX" spredixcan --model_db_path "$D/TW_Liver_0.5.db" \
    --covariance "$D/TW_Liver.txt.gz" --gwas_file "$gwas" "${COLS[@]}" "${Z[@]}" --output_file "$WORK/bad_$name.csv" \
    --overwrite "$@"
}
zcat "$D/gwas_subset.txt.gz" | gzip -c > "$WORK/full.txt.gz"
head -c $(( $(stat -c %s "$WORK/full.txt.gz") / 2 )) "$WORK/full.txt.gz" > "$WORK/truncated.txt.gz"
run_bad truncated_gzip "truncated.txt.gz.*(truncated|corrupt)" "$WORK/truncated.txt.gz"
zcat "$D/gwas_subset.txt.gz" | sed '1s/ZSCORE/Z/' > "$WORK/renamed.tsv"
run_bad missing_column "renamed.tsv.*ZSCORE.*column not found.*'SNP', 'A1', 'A2'.*'Z'" "$WORK/renamed.tsv"
expect_fail no_z_source "zscore.*pvalue" "$WORK/bad_noz.csv" -- "$SCPX" spredixcan --model_db_path "$D/TW_Liver_0.5.db" \
  --covariance "$D/TW_Liver.txt.gz" --gwas_file "$D/gwas_subset.txt.gz" "${COLS[@]}" --beta_column BETA \
  --output_file "$WORK/bad_noz.csv"

# Bad values: the affected rows become NA and are counted; the run finishes.
# Rows 1-3 of Liver's SNPs get a non-numeric beta, p = 1.5 and se = -1; row 4 is repeated.
/usr/bin/python3 - "$D" "$WORK" <<'PY'
import gzip, sqlite3, sys
d, w = sys.argv[1], sys.argv[2]
ids = {r[0] for r in sqlite3.connect(d + "/TW_Liver_0.5.db").execute("select rsid from weights")}
lines = gzip.open(d + "/gwas_subset.txt.gz", "rt").read().splitlines()
k = 0
out = [lines[0]]
for line in lines[1:]:
    t = line.split("\t")
    if t[0] in ids and t[4] not in ("NA", ""):
        k += 1
        if k == 1: t[4] = "abc"
        if k == 2: t[6] = "1.5"
        if k == 3: t[5] = "-1"
        if k == 4: out.append("\t".join(t))
    out.append("\t".join(t))
open(w + "/badvals.tsv", "w").write("\n".join(out) + "\n")
PY
expect_ok bad_values_finish "$SCPX" spredixcan --model_db_path "$D/TW_Liver_0.5.db" --covariance "$D/TW_Liver.txt.gz" \
  --gwas_file "$WORK/badvals.tsv" "${COLS[@]}" --pvalue_column P --beta_column BETA --se_column SE --output_file "$WORK/badvals.csv" --overwrite
check bad_values_counted grep -q "value(s) unusable as statistics were set to NA" "$WORK/badvals.log"
check bad_values_three grep -q "GWAS: 3 value(s) unusable.*badvals.tsv.*BETA.*not a number" "$WORK/badvals.log"
# Duplicated SNP rows: the last finite one wins; reported in the log.
check duplicates_reported grep -Eq " 1 SNP\(s\) had duplicated GWAS rows" "$WORK/badvals.log"

# Covariance: rows of genes not in the model are skipped; a malformed value is named.
{ zcat "$D/TW_Liver.txt.gz"; echo "ENSG_UNKNOWN rs1 rs1 0.5"; } > "$WORK/cov_unknown.txt"
expect_ok cov_unknown_gene "$SCPX" spredixcan --model_db_path "$D/TW_Liver_0.5.db" --covariance "$WORK/cov_unknown.txt" \
  --gwas_file "$D/gwas_subset.txt.gz" "${COLS[@]}" "${Z[@]}" --output_file "$WORK/cov_unknown.csv" --overwrite
check cov_unknown_same "${CMP[@]}" "$WORK/liver_rsid.csv" "$WORK/cov_unknown.csv"
zcat "$D/TW_Liver.txt.gz" | awk 'NR==213{$4="x1"} {print}' > "$WORK/cov_bad.txt"
expect_fail cov_malformed "cov_bad.txt.*line 213.*VALUE" "$WORK/cov_bad.csv" -- "$SCPX" spredixcan \
  --model_db_path "$D/TW_Liver_0.5.db" --covariance "$WORK/cov_bad.txt" --gwas_file "$D/gwas_subset.txt.gz" \
  "${COLS[@]}" "${Z[@]}" --output_file "$WORK/cov_bad.csv" --overwrite
# A covariance without one needed pair: MetaXcan's KeyError becomes NA + status for that gene.
zcat "$D/TW_Liver.txt.gz" | awk 'NR < 213 || NR > 220' > "$WORK/cov_hole.txt"
expect_ok cov_missing_pair "$SCPX" spredixcan --model_db_path "$D/TW_Liver_0.5.db" --covariance "$WORK/cov_hole.txt" \
  --gwas_file "$D/gwas_subset.txt.gz" "${COLS[@]}" "${Z[@]}" --output_file "$WORK/cov_hole.csv" --overwrite --status
check cov_missing_pair_status grep -q ",NA,NA,NA,NA,.*covariance incomplete" "$WORK/cov_hole.csv"

# A .db without `extra`.
cp "$D/TW_Liver_0.5.db" "$WORK/noextra.db"; chmod u+w "$WORK/noextra.db"
/usr/bin/python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('drop table extra'); c.commit()" "$WORK/noextra.db"
expect_fail db_without_extra "noextra.db.*extra" "$WORK/noextra.csv" -- "$SCPX" spredixcan --model_db_path "$WORK/noextra.db" \
  --covariance "$D/TW_Liver.txt.gz" --gwas_file "$D/gwas_subset.txt.gz" "${COLS[@]}" "${Z[@]}" \
  --output_file "$WORK/noextra.csv" --overwrite
# Calibration flags on a model without phi: NA + status, not an abort.
expect_ok calibrate_without_phi "$SCPX" spredixcan --model_db_path "$D/TW_Liver_0.5.db" --covariance "$D/TW_Liver.txt.gz" \
  --gwas_file "$D/gwas_subset.txt.gz" "${COLS[@]}" "${Z[@]}" --gwas_h2 0.5 --gwas_N 100000 --status \
  --output_file "$WORK/nophi.csv" --overwrite
check calibrate_without_phi_status grep -q "no phi column" "$WORK/nophi.csv"
# Calibration values that cannot be a heritability or a sample size are refused up front.
expect_fail calibrate_negative_h2 "--gwas_h2: Value -1 not in range 0[.0-9]* to 1" "$WORK/badh2.csv" -- "$SCPX" spredixcan \
  --model_db_path "$D/TW_Liver_0.5.db" --covariance "$D/TW_Liver.txt.gz" --gwas_file "$D/gwas_subset.txt.gz" \
  "${COLS[@]}" "${Z[@]}" --gwas_h2 -1 --gwas_N 100000 --output_file "$WORK/badh2.csv"
expect_fail calibrate_zero_n "--gwas_N: must be a positive number \\(got .0.\\)" "$WORK/badn.csv" -- "$SCPX" spredixcan \
  --model_db_path "$D/TW_Liver_0.5.db" --covariance "$D/TW_Liver.txt.gz" --gwas_file "$D/gwas_subset.txt.gz" \
  "${COLS[@]}" "${Z[@]}" --gwas_h2 0.5 --gwas_N 0 --output_file "$WORK/badn.csv"
# Unwritable output (its folder is a file): fails before any work.
echo x > "$WORK/afile"
expect_fail unwritable_output "(cannot|not a directory|Not a directory)" "" -- "$SCPX" spredixcan \
  --model_db_path "$D/TW_Liver_0.5.db" --covariance "$D/TW_Liver.txt.gz" --gwas_file "$D/gwas_subset.txt.gz" \
  "${COLS[@]}" "${Z[@]}" --output_file "$WORK/afile/out.csv" --overwrite

# ---------------------------------------------------------------- input-handling fixes
LIVER=(--model_db_path "$D/TW_Liver_0.5.db" --covariance "$D/TW_Liver.txt.gz")
# A non-numeric statistic column: the SNPs are there, their statistic is NA; the diagnosis names
# the statistic option, not --snp_column.
expect_ok zscore_is_snp "$SCPX" spredixcan "${LIVER[@]}" --gwas_file "$D/gwas_subset.txt.gz" "${COLS[@]}" \
  --zscore_column SNP --output_file "$WORK/zsnp.csv" --overwrite
check zscore_is_snp_counted grep -q "absent from GWAS 1,.*NA statistic 21," "$WORK/zsnp.log"
check zscore_is_snp_diagnosis grep -q "Likely fix: ids and alleles match but the statistic is NA.*--zscore_column 'SNP'" \
  "$WORK/zsnp.log"
# Decimal commas are read as MetaXcan reads them (1,5 → 1.5), and said so once.
zcat "$D/gwas_subset.txt.gz" | awk 'BEGIN{FS=OFS="\t"} $1 == "rs3828914" {sub(/\./, ",", $8)} {print}' > "$WORK/comma.tsv"
expect_ok decimal_comma "$SCPX" spredixcan "${LIVER[@]}" --gwas_file "$WORK/comma.tsv" "${COLS[@]}" "${Z[@]}" \
  --output_file "$WORK/comma.csv" --overwrite
check decimal_comma_warned grep -q "WARN.*comma.tsv: read 1 value(s) with a decimal comma.*line 200, field 'ZSCORE': '0,606235'" \
  "$WORK/comma.log"
# A UTF-8 byte order mark and double-quoted fields (pandas reads both) give the same numbers.
{ printf '\xEF\xBB\xBF'; zcat "$D/gwas_subset.txt.gz"; } > "$WORK/bom.tsv"
expect_ok gwas_bom "$SCPX" spredixcan "${LIVER[@]}" --gwas_file "$WORK/bom.tsv" "${COLS[@]}" "${Z[@]}" \
  --output_file "$WORK/bom.csv" --overwrite
check gwas_bom_same "${CMP[@]}" "$WORK/liver_rsid.csv" "$WORK/bom.csv"
# --skip_until_header (MetaXcan's): lines before the first holding the text are skipped, and so is
# what precedes it on that line; the numbers are the plain file's. Absent text: one clear error.
{ printf '## association results, build 37\n## 100000 samples\n'; zcat "$D/gwas_subset.txt.gz" | sed '1s/^/#: /'; } \
  > "$WORK/preamble.tsv"
expect_ok gwas_skip_until_header "$SCPX" spredixcan "${LIVER[@]}" --gwas_file "$WORK/preamble.tsv" \
  --skip_until_header SNP "${COLS[@]}" "${Z[@]}" --output_file "$WORK/preamble.csv" --overwrite
check gwas_skip_until_header_same "${CMP[@]}" "$WORK/liver_rsid.csv" "$WORK/preamble.csv"
run_bad gwas_header_text_absent "preamble.tsv: no line contains the --skip_until_header text 'MarkerName'" \
  "$WORK/preamble.tsv" --skip_until_header MarkerName
run_bad snp_map_file_unsupported "--snp_map_file is not supported by scpx: .*give --match_by_position" \
  "$D/gwas_subset.txt.gz" --snp_map_file "$WORK/map.tsv"
zcat "$D/gwas_subset.txt.gz" | awk 'BEGIN{FS="\t"; OFS=","} {for (i = 1; i <= NF; i++) $i = "\"" $i "\""; print}' \
  > "$WORK/quoted.csv"
expect_ok gwas_quoted "$SCPX" spredixcan "${LIVER[@]}" --gwas_file "$WORK/quoted.csv" --separator , "${COLS[@]}" "${Z[@]}" \
  --output_file "$WORK/quoted_out.csv" --overwrite
check gwas_quoted_same "${CMP[@]}" "$WORK/liver_rsid.csv" "$WORK/quoted_out.csv"
# Binary junk: named as such, control bytes escaped.
printf 'PK\x03\x04\x00\x00junk\n' > "$WORK/junk.bin"
run_bad gwas_binary 'junk.bin, line 1: not a text table.*\\x03' "$WORK/junk.bin"
# Covariance: an infinite value and a short line are named (file, line, field), with no
# "<input>" placeholder; a non-contiguous gene says how to sort the file.
zcat "$D/TW_Liver.txt.gz" | awk 'NR==213{$4="inf"} {print}' > "$WORK/cov_inf.txt"
expect_fail cov_infinite '^[^<]*cov_inf.txt, line 213, field .VALUE.: not a finite number' "$WORK/cov_inf.csv" -- \
  "$SCPX" spredixcan --model_db_path "$D/TW_Liver_0.5.db" --covariance "$WORK/cov_inf.txt" \
  --gwas_file "$D/gwas_subset.txt.gz" "${COLS[@]}" "${Z[@]}" --output_file "$WORK/cov_inf.csv" --overwrite
zcat "$D/TW_Liver.txt.gz" | awk 'NR==213{$4=""} {print}' > "$WORK/cmiss.txt"
expect_fail cov_short_line 'ERROR: [^<]*cmiss.txt, line 213, field .VALUE.: missing: expected 4 fields' "$WORK/cmiss.csv" -- \
  "$SCPX" spredixcan --model_db_path "$D/TW_Liver_0.5.db" --covariance "$WORK/cmiss.txt" \
  --gwas_file "$D/gwas_subset.txt.gz" "${COLS[@]}" "${Z[@]}" --output_file "$WORK/cmiss.csv" --overwrite
check cov_short_line_no_placeholder bash -c "! grep -q '<input>' '$WORK/cov_short_line.log'"
expect_fail cov_missing_file 'ERROR: [^<]*(cannot open|No such file).*nope.txt.gz' "$WORK/nope.csv" -- \
  "$SCPX" spredixcan --model_db_path "$D/TW_Liver_0.5.db" --covariance "$WORK/nope.txt.gz" \
  --gwas_file "$D/gwas_subset.txt.gz" "${COLS[@]}" "${Z[@]}" --output_file "$WORK/nope.csv" --overwrite
zcat "$D/TW_Liver.txt.gz" | awk 'NR==1 || NR > 3 {print} NR==2 || NR==3 {held = held $0 "\n"} END {printf "%s", held}' \
  > "$WORK/cov_split.txt"
expect_fail cov_noncontiguous 'cov_split.txt.*not contiguous.*sort -s -k1,1' "$WORK/cov_split.csv" -- \
  "$SCPX" spredixcan --model_db_path "$D/TW_Liver_0.5.db" --covariance "$WORK/cov_split.txt" \
  --gwas_file "$D/gwas_subset.txt.gz" "${COLS[@]}" "${Z[@]}" --output_file "$WORK/cov_split.csv" --overwrite
# --single_snp_model on a model whose genes have several SNPs: one warning, with an example.
expect_ok single_snp_multi "$SCPX" spredixcan --model_db_path "$D/TW_Whole_Blood_0.5.db" --single_snp_model \
  --gwas_file "$D/gwas_subset.txt.gz" "${COLS[@]}" "${Z[@]}" --output_file "$WORK/single.csv" --overwrite
check single_snp_warned grep -q "WARN.*--single_snp_model, but 3 of 3 genes have more than one SNP (e.g. ENSG" \
  "$WORK/single.log"
# … and a --covariance given with it is said to be unused.
expect_ok single_snp_with_cov "$SCPX" spredixcan --model_db_path "$D/TW_Whole_Blood_0.5.db" --single_snp_model \
  --covariance "$D/TW_Whole_Blood.txt.gz" --gwas_file "$D/gwas_subset.txt.gz" "${COLS[@]}" "${Z[@]}" \
  --output_file "$WORK/single_cov.csv" --overwrite
check single_snp_covariance_unused grep -q "WARN.*--single_snp_model: --covariance .*TW_Whole_Blood.txt.gz is not read" \
  "$WORK/single_cov.log"
# Option checks: all usage errors (exit 2), before anything is written.
usage_bad() { # NAME REGEX [args]: exit 2 with a matching ERROR
  local name=$1 regex=$2; shift 2
  expect_fail "$name" "$regex" "" -- "$SCPX" spredixcan --gwas_file "$D/gwas_subset.txt.gz" "${COLS[@]}" "${Z[@]}" "$@"
  local rc=0; "$SCPX" spredixcan --gwas_file "$D/gwas_subset.txt.gz" "${COLS[@]}" "${Z[@]}" "$@" >/dev/null 2>&1 || rc=$?
  check "${name}_exit_2" test "$rc" -eq 2
}
for v in -1 nan 1.5; do
  usage_bad "pvalue_fix_$v" "--input_pvalue_fix must be a p-value in \[0, 1\]" "${LIVER[@]}" --input_pvalue_fix "$v" \
    --output_file "$WORK/pfix.csv" --overwrite
done
usage_bad models_one_covariance "--covariance must contain \{\}" --models "$D/TW_*_0.5.db" \
  --covariance "$D/TW_Liver.txt.gz" --output_file "$WORK/onecov/{}.csv"
usage_bad braces_without_models "\{\} in --output_file/--covariance .* only with --models" "${LIVER[@]}" \
  --output_file "$WORK/sb/{}.csv"
check braces_without_models_no_file test ! -e "$WORK/sb/{}.csv"
usage_bad models_match_nothing "matches no file" --models "$D/NONE_*.db" --covariance "$D/TW_{}.txt.gz" \
  --output_file "$WORK/nomodels/{}.csv"
check models_match_nothing_no_folder test ! -e "$WORK/nomodels"
# p = 0 with --input_pvalue_fix 0: dropped as MetaXcan, and said so.
zcat "$D/gwas_subset.txt.gz" | awk 'BEGIN{FS=OFS="\t"} $1 == "rs3828914" {$7 = 0} {print}' > "$WORK/p0.tsv"
expect_ok pvalue_fix_zero "$SCPX" spredixcan "${LIVER[@]}" --gwas_file "$WORK/p0.tsv" "${COLS[@]}" --pvalue_column P \
  --beta_column BETA --input_pvalue_fix 0 --output_file "$WORK/p0.csv" --overwrite
check pvalue_fix_zero_said grep -q "1 row(s) of model SNPs have p = 0 and are dropped" "$WORK/p0.log"
# --split: one log per job, so concurrent array tasks do not share a file.
for k in 0 1; do
  expect_ok "split_job$k" "$SCPX" spredixcan --models "$D/TW_*_0.5.db" --covariance "$D/TW_{}.txt.gz" \
    --gwas_file "$D/gwas_subset.txt.gz" "${COLS[@]}" "${Z[@]}" --output_file "$WORK/split/{}.csv" --overwrite \
    --split 2 --job $k
  check "split_job${k}_own_log" grep -q -- "--split 2 --job $k: 1 model(s)" "$WORK/split/all.job${k}of2.log"
done
check split_no_shared_log test ! -e "$WORK/split/all.log"
expect_fail split_beyond_models "--split 3 cuts 2 model\(s\) into more parts than there are models; use --split 2 or fewer" \
  "" -- "$SCPX" spredixcan --models "$D/TW_*_0.5.db" --covariance "$D/TW_{}.txt.gz" \
  --gwas_file "$D/gwas_subset.txt.gz" "${COLS[@]}" "${Z[@]}" --output_file "$WORK/split3/{}.csv" --split 3 --job 0

# ---------------------------------------------------------------- shared fixtures (all modes)
F=${SCPX_SHARED_FIXTURES:-}/spredixcan
if [[ -z "${SCPX_SHARED_FIXTURES:-}" || ! -d "$F/expected" ]]; then
  echo "skip shared-fixture comparisons: SCPX_SHARED_FIXTURES/spredixcan not found"
  finish; exit $?
fi
G="$F/gwas/ref_gwas.txt.gz"
declare -A MODE=(
  [z]="--zscore_column ZSCORE --beta_column BETA"
  [zonly]="--zscore_column ZSCORE"
  [beta_se]="--beta_column BETA --se_column SE"
  [p_beta]="--pvalue_column P --beta_column BETA"
  [p_or]="--pvalue_column P --or_column OR"
  [p_sign]="--pvalue_column P --beta_sign_column BETA_SIGN"
  [z.additional]="--zscore_column ZSCORE --beta_column BETA --additional_output"
  [z.stream]="--zscore_column ZSCORE --beta_column BETA --stream_covariance"
  [z.noversion]="--zscore_column ZSCORE --beta_column BETA --remove_ens_version"
  [z.noversion.additional]="--zscore_column ZSCORE --beta_column BETA --remove_ens_version --additional_output"
)
STATS="$WORK/max_diffs.txt"; : > "$STATS"
for mode in "${!MODE[@]}"; do
  # shellcheck disable=SC2086
  expect_ok "all_models_$mode" "$SCPX" spredixcan --models "$F/models/TW_*_0.5.db" --covariance "$F/cov/TW_{}.txt.gz" \
    --gwas_file "$G" "${COLS[@]}" ${MODE[$mode]} --output_file "$WORK/fx/TW_{}.$mode.csv" --overwrite
  # shellcheck disable=SC2086
  expect_ok "edge_$mode" "$SCPX" spredixcan --model_db_path "$F/models/edge_WB.db" --covariance "$F/cov/edge_WB.txt.gz" \
    --gwas_file "$G" "${COLS[@]}" ${MODE[$mode]} --output_file "$WORK/fx/edge_WB.$mode.csv" --overwrite
done
expect_ok calibrated "$SCPX" spredixcan --model_db_path "$F/models/TW_Whole_Blood_phi.db" \
  --covariance "$F/cov/TW_Whole_Blood.txt.gz" --gwas_file "$G" "${COLS[@]}" "${Z[@]}" --gwas_h2 0.5 --gwas_N 100000 \
  --output_file "$WORK/fx/TW_Whole_Blood_phi.z.calibrated.csv" --overwrite
n_cmp=0; n_bad=0
for e in "$F"/expected/*.csv; do
  name=$(basename "$e")
  if [[ $name == *.z.noversion.additional.csv ]]; then
    # MetaXcan's merge bug gives a header only; scpx gives the full table: same rows as
    # z.noversion plus the additional columns of z.additional.
    continue
  fi
  n_cmp=$((n_cmp + 1))
  "${CMP[@]}" "$e" "$WORK/fx/$name" --stats "$STATS" || n_bad=$((n_bad + 1))
done
check "fixtures_all_modes_match ($n_cmp files)" test "$n_bad" -eq 0
nv="$WORK/fx/TW_Whole_Blood.z.noversion.additional.csv"
check noversion_additional_full_table test "$(cut -d, -f1 "$nv" | sort | tr '\n' ' ')" = \
  "$(cut -d, -f1 "$F/expected/TW_Whole_Blood.z.noversion.csv" | sed '1s/.*/gene/' | sort | tr '\n' ' ')"
check pituitary_empty_model_header_only test "$(wc -l < "$WORK/fx/TW_Pituitary.z.csv")" -eq 1
echo "max differences per column over all fixtures (abs, rel):"
awk '{c=$2; if($3>a[c])a[c]=$3; if($4>r[c])r[c]=$4} END{for(c in a) printf "    %-22s %.3g %.3g\n", c, a[c], r[c]}' "$STATS"
finish
