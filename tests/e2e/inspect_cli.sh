#!/usr/bin/env bash
# `scpx inspect` on good and bad inputs: one clear message naming file/line/field, non-zero
# exit, no output left behind.
source "$(dirname "$0")/e2e_lib.sh"

# A tiny genome, annotation and phased VCF.
{ echo ">chr1"; printf 'ACGTACGTAC%.0s' $(seq 1 100); echo; } > "$WORK/ref.fa"
cat > "$WORK/genes.gtf" <<'GTF'
chr1	t	gene	100	400	.	+	.	gene_id "G1"; gene_name "A"; gene_type "protein_coding";
chr1	t	gene	500	900	.	-	.	gene_id "G2"; gene_name "B"; gene_type "protein_coding";
GTF
printf '##fileformat=VCFv4.2\n##contig=<ID=chr1,length=1000>\n##FORMAT=<ID=GT,Number=1,Type=String,Description="GT">\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\n' > "$WORK/v.vcf"
printf 'chr1\t1\trs1\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\n' >> "$WORK/v.vcf"
printf 'chr1\t2\trs2\tC\tT\t.\tPASS\t.\tGT\t0|0\t0|1\n' >> "$WORK/v.vcf"
printf 'chr1\t3\trs3\tT\tA\t.\tPASS\t.\tGT\t0|0\t0|1\n' >> "$WORK/v.vcf"   # REF mismatch (FASTA has G)
printf 'chr1\t5\trs4\tAC\tA\t.\tPASS\t.\tGT\t0|0\t0|1\n' >> "$WORK/v.vcf"  # indel
printf 'chr1\t7\trs5\tGA\tG\t.\tPASS\t.\tGT\t0|0\t0|1\n' >> "$WORK/v.vcf"  # indel, REF mismatch (FASTA has GT)
printf 'chr1\t9\trs6\tA\tC,G\t.\tPASS\t.\tGT\t1|2\t0|1\n' >> "$WORK/v.vcf"   # multi-allelic SNV
printf 'chr1\t10\trs7\tC\tCA,T\t.\tPASS\t.\tGT\t0|2\t1|0\n' >> "$WORK/v.vcf" # multi-allelic with an indel ALT
printf 'chr1\t12\trs8\tT\tA,G\t.\tPASS\t.\tGT\t0|2\t1|0\n' >> "$WORK/v.vcf"  # multi-allelic, REF mismatch (C)
printf 'chr1\t14\trs9\tT\tC,G\t.\tPASS\t.\tGT\t1/2\t0|0\n' >> "$WORK/v.vcf"  # multi-allelic, unphased
printf 'chr1\t16\trs10\tC\t<DEL>,N\t.\tPASS\t.\tGT\t0|1\t0|0\n' >> "$WORK/v.vcf" # multi-allelic, nothing writable
bgzip -c "$WORK/v.vcf" > "$WORK/v.vcf.gz"
cp "$WORK/v.vcf.gz" "$WORK/unindexed.vcf.gz"
tabix -p vcf "$WORK/v.vcf.gz"

expect_ok good_inputs "$SCPX" inspect --fasta "$WORK/ref.fa" --annotation "$WORK/genes.gtf" \
  --vcf "$WORK/v.vcf.gz" --region chr1:1-100 --out "$WORK/report.json"
check report_written test -s "$WORK/report.json"
check report_counts_ref_mismatch grep -q '"ref_mismatch": 1' "$WORK/report.json"
check report_counts_indel grep -q '"skipped_indel": 2' "$WORK/report.json"
# Indels apart, as `features personal --indels apply` would take them; the SNV counts as before.
check report_counts_usable_indels grep -q '"indels_usable": 1' "$WORK/report.json"
check report_counts_indel_ref_mismatch grep -q '"indels_ref_mismatch": 1' "$WORK/report.json"
check log_names_indel_mismatch grep -q "indels and MNPs: 1 whose REF matches the FASTA .*, 1 whose REF does not, e.g. chr1:7 REF=GA FASTA=GT" "$WORK/report.log"
# Multi-allelic records: skipped by default, counted apart as `--multiallelic apply` would take them.
check report_counts_multiallelic grep -q '"skipped_multiallelic": 5' "$WORK/report.json"
check report_counts_usable_multiallelic grep -q '"multiallelic_usable": 3' "$WORK/report.json"
check report_counts_multiallelic_ref_mismatch grep -q '"multiallelic_ref_mismatch": 1' "$WORK/report.json"
check report_multiallelic_examples_apart /usr/bin/python3 -c "import json,sys; r=json.load(open('$WORK/report.json'))['vcf']; sys.exit(r['multiallelic_ref_mismatch_examples'] != ['chr1:12 REF=T FASTA=C'] or any(e.startswith('chr1:12 ') for e in r['ref_mismatch_examples']))"
check report_counts_multiallelic_unusable grep -q '"multiallelic_unusable": 1' "$WORK/report.json"
check report_counts_multiallelic_unphased grep -q '"multiallelic_unphased_het": 1' "$WORK/report.json"
check report_counts_unphased_as_default_reads grep -q '"unphased_het": 0' "$WORK/report.json"
check log_counts_multiallelic grep -q "multi-allelic records: 3 with an ALT written by features personal --multiallelic apply .*, 1 whose REF does not match the FASTA, e.g. chr1:12 REF=T FASTA=C, 1 with no ALT it can write .*; in them 1 unphased heterozygous GT" "$WORK/report.log"
check log_has_options_in_effect grep -q -- '--region chr1:1-100' "$WORK/report.log"

expect_fail unindexed_vcf "unindexed.vcf.gz.*(tabix|index)" "$WORK/o1.json" -- \
  "$SCPX" inspect --vcf "$WORK/unindexed.vcf.gz" --region chr1:1-10 --out "$WORK/o1.json"

sed 's/\t100\t400\t/\tabc\t400\t/' "$WORK/genes.gtf" > "$WORK/bad_start.gtf"
expect_fail gtf_non_numeric_start "bad_start.gtf.*line 1.*start" "$WORK/o2.json" -- \
  "$SCPX" inspect --annotation "$WORK/bad_start.gtf" --out "$WORK/o2.json"

printf 'gene\tchromosome\tstart_pos\nG1\tchr1\t100\n' > "$WORK/renamed.tsv"
expect_fail table_missing_column "renamed.tsv" "$WORK/o3.json" -- \
  "$SCPX" inspect --annotation "$WORK/renamed.tsv" --out "$WORK/o3.json"

: > "$WORK/empty.gtf"
expect_fail empty_annotation "empty.gtf.*(empty|no gene)" "$WORK/o4.json" -- \
  "$SCPX" inspect --annotation "$WORK/empty.gtf" --out "$WORK/o4.json"

# Truncated in the middle of the compressed data: big enough for several BGZF blocks.
{ grep '^#' "$WORK/v.vcf"; for i in $(seq 1 4000); do printf 'chr1\t%d\trs%d\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1\n' "$i" "$i"; done; } \
  | bgzip -c > "$WORK/big.vcf.gz"
head -c $(( $(stat -c %s "$WORK/big.vcf.gz") / 2 )) "$WORK/big.vcf.gz" > "$WORK/truncated.vcf.gz"
expect_fail truncated_vcf "truncated.vcf.gz" "$WORK/o5.json" -- \
  "$SCPX" inspect --vcf "$WORK/truncated.vcf.gz" --out "$WORK/o5.json"

# A path under a regular file cannot be created (/nonexistent/... could be, when run as root).
expect_fail unwritable_output "(cannot write|cannot create directory)" "" -- \
  "$SCPX" inspect --fasta "$WORK/ref.fa" --out "$WORK/ref.fa/dir/report.json"

# A missing output directory is created, as enformer/ctpred predict do.
expect_ok missing_out_dir_created "$SCPX" inspect --fasta "$WORK/ref.fa" --out "$WORK/nodir2/sub/report.json"
check missing_out_dir_report_written test -s "$WORK/nodir2/sub/report.json"

# --gene-types all keeps every gene, as in `features reference`.
expect_ok gene_types_all "$SCPX" inspect --annotation "$WORK/genes.gtf" --gene-types all --out "$WORK/all.json"
check gene_types_all_counts_both grep -q '"n_genes": 2' "$WORK/all.json"

# A .fai from before the FASTA was rewrapped (60 -> 80 bases per line): error, not wrong bases.
/usr/bin/python3 -c "
import random; random.seed(3); s=''.join(random.choice('ACGT') for _ in range(3000))
w=lambda n: ''.join(s[i:i+n]+'\n' for i in range(0,len(s),n))
open('$WORK/wrap.fa','w').write('>chr1\n'+w(60)); open('$WORK/wrap80.fa','w').write('>chr1\n'+w(80))"
expect_ok fai_built "$SCPX" inspect --fasta "$WORK/wrap.fa"
cp "$WORK/wrap80.fa" "$WORK/wrap.fa"
touch -d 2020-01-01 "$WORK/wrap.fa.fai"
expect_fail stale_fai_rejected "wrap.fa.fai.*contig 'chr1'.*samtools faidx" "$WORK/o7.json" -- \
  "$SCPX" inspect --fasta "$WORK/wrap.fa" --out "$WORK/o7.json"
check stale_fai_warned_older grep -q "WARNING: the index file .*wrap.fa.fai is older" "$WORK/stale_fai_rejected.log"

# Duplicate gene ids, a malformed attribute column, a gene without strand.
{ cat "$WORK/genes.gtf"; head -1 "$WORK/genes.gtf"; } > "$WORK/dup.gtf"
expect_fail duplicate_gene_id "dup.gtf, line 3.*gene_id.*'G1' appears a second time \(first at line 1\)" "$WORK/o8.json" -- \
  "$SCPX" inspect --annotation "$WORK/dup.gtf" --out "$WORK/o8.json"
printf 'chr1\tt\tgene\t100\t400\t.\t+\t.\tgene_id "G2; gene_name B gene_type "protein_coding\n' > "$WORK/quotes.gtf"
expect_fail gtf_unbalanced_quotes "quotes.gtf, line 1.*attributes" "$WORK/o9.json" -- \
  "$SCPX" inspect --annotation "$WORK/quotes.gtf" --out "$WORK/o9.json"
sed '1s/\t+\t/\t.\t/' "$WORK/genes.gtf" > "$WORK/nostrand.gtf"
expect_fail gtf_gene_without_strand "nostrand.gtf, line 1.*strand.*TSS is undefined" "$WORK/o10.json" -- \
  "$SCPX" inspect --annotation "$WORK/nostrand.gtf" --out "$WORK/o10.json"

# FASTA content scpx indexes itself: a duplicate record is an error, odd characters a warning.
printf '>chr1\nACGT\n>chr2\nACGT\n>chr1\nTTTT\n' > "$WORK/dupseq.fa"
expect_fail duplicate_fasta_record "dupseq.fa, line 5.*'chr1' appears a second time \(first at line 1\)" "$WORK/o11.json" -- \
  "$SCPX" inspect --fasta "$WORK/dupseq.fa" --out "$WORK/o11.json"
printf '>chr1\nACGT!*-.\n0123@#\n' > "$WORK/odd.fa"
expect_ok odd_fasta_characters "$SCPX" inspect --fasta "$WORK/odd.fa"
check odd_characters_warned grep -q "WARNING: .*odd.fa: 10 character(s) in sequence lines are not letters (first '!' at line 2 in 'chr1')" \
  "$WORK/odd_fasta_characters.log"

expect_fail bad_region "region" "$WORK/o6.json" -- \
  "$SCPX" inspect --vcf "$WORK/v.vcf.gz" --region chr1:x-y --out "$WORK/o6.json"

# Names with invalid UTF-8 (found by tests/fuzz/mutate_inputs.py: the JSON writer threw, "unexpected
# failure"): the report is written with U+FFFD in their place.
printf 'chr1\tt\tgene\t100\t400\t.\t+\t.\tgene_id "G1"; gene_name "A"; gene_type "prot\xff\xfeein";\n' > "$WORK/bad_utf8.gtf"
expect_ok invalid_utf8_names "$SCPX" inspect --annotation "$WORK/bad_utf8.gtf" --out "$WORK/utf8.json"
check report_is_valid_json /usr/bin/python3 -c "import json, sys; json.load(open(sys.argv[1]))" "$WORK/utf8.json"
check invalid_bytes_replaced grep -q $'prot\xef\xbf\xbd' "$WORK/utf8.json"

# Under mpirun rank 0 writes the report; the others wait (every rank writing it failed the run).
if command -v mpirun > /dev/null; then
  MPIFLAGS=(--oversubscribe); [[ $(id -u) -eq 0 ]] && MPIFLAGS+=(--allow-run-as-root)
  expect_ok inspect_mpirun_np2 mpirun "${MPIFLAGS[@]}" -n 2 "$SCPX" inspect --fasta "$WORK/ref.fa" \
    --annotation "$WORK/genes.gtf" --out "$WORK/report_np2.json"
  expect_ok inspect_plain_fasta_gtf "$SCPX" inspect --fasta "$WORK/ref.fa" --annotation "$WORK/genes.gtf" \
    --out "$WORK/report_np1.json"
  check inspect_mpirun_same_report cmp -s "$WORK/report_np1.json" "$WORK/report_np2.json"
fi

# A previous good report must survive a failed rerun to the same path.
cp "$WORK/report.json" "$WORK/keep.json"
expect_fail failed_rerun_keeps_old_output "bad_start.gtf" "" -- \
  "$SCPX" inspect --annotation "$WORK/bad_start.gtf" --out "$WORK/keep.json"
check old_output_intact cmp -s "$WORK/report.json" "$WORK/keep.json"

finish
