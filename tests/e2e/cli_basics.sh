#!/usr/bin/env bash
# The scpx binary itself: version line, subcommand required, TOML config with CLI overrides,
# strict config errors.
source "$(dirname "$0")/e2e_lib.sh"

"$SCPX" --version > "$WORK/version.txt"
check version_line grep -Eq '^scpx [0-9]+\.[0-9]+\.[0-9]+ \(git [0-9a-f]+.*\) CUDA (on|off)$' "$WORK/version.txt"
# cuBLAS is opened on first GPU use, never linked: a CPU command does not load its 540 MB.
check cublas_not_linked bash -c "! ldd '$SCPX' | grep -q libcublas"

# A plain run tells Open MPI it is a lone rank, in a session folder of its own that goes with it
# (include/scpx/dist/singleton.hpp); under mpirun nothing is set. Checked without the caller's own
# Open MPI settings and parameter files, which would (rightly) change what is set.
mkdir -p "$WORK/tmp"
plain=(env -u OMPI_MCA_pml -u OMPI_MCA_btl -u OMPI_MCA_orte_top_session_dir -u OMPI_MCA_ess_singleton_isolated
       -u OMPI_MCA_orte_tmpdir_base OMPI_MCA_mca_base_param_files=none TMPDIR="$WORK/tmp")
"${plain[@]}" "$SCPX" info > "$WORK/info.txt"
check info_says_plain_run grep -q "MPI start: a plain run, lone-rank settings OMPI_MCA_pml=ob1 OMPI_MCA_btl=self \
OMPI_MCA_ess_singleton_isolated=1 OMPI_MCA_orte_top_session_dir=$WORK/tmp/scpx-ompi\." "$WORK/info.txt"
check plain_run_leaves_no_folder bash -c "[[ -z \$(ls -A '$WORK/tmp') ]]"
ns=$(readlink /proc/self/ns/pid 2> /dev/null | tr -dc 0-9); mine="$WORK/tmp/scpx-ompi.$(id -u).$(uname -n).${ns:-0}"
mkdir -p "$mine.999999999/jf.0" "$mine.$$"
"${plain[@]}" "$SCPX" --version > /dev/null
check ended_runs_folder_swept test ! -e "$mine.999999999"
check live_runs_folder_kept test -d "$mine.$$"
rm -rf "$mine.$$"
# A temporary folder MPI cannot use: one line naming it and the variable, not Open MPI's 50 lines.
echo file > "$WORK/not_a_folder"
rc=0; env "${plain[@]:1}" TMPDIR="$WORK/not_a_folder" "$SCPX" inspect --fasta "$WORK/x.fa" > "$WORK/badtmp.txt" 2>&1 || rc=$?
check bad_tmpdir_fails test "$rc" -eq 1
check bad_tmpdir_named grep -q "^ERROR: cannot use $WORK/not_a_folder (TMPDIR) for MPI's session folder: $WORK/not_a_folder/scpx-ompi\..*: Not a directory; point TMPDIR at a writable local folder with free space$" "$WORK/badtmp.txt"
check bad_tmpdir_one_line test "$(wc -l < "$WORK/badtmp.txt")" -eq 1
check bad_tmpdir_info_fails bash -c "! env TMPDIR='$WORK/not_a_folder' '$SCPX' info > /dev/null 2>&1"
# Help needs no MPI: answered all the same.
check bad_tmpdir_help_answered bash -c "env TMPDIR='$WORK/not_a_folder' '$SCPX' info --help | grep -q 'Usage: scpx info'"
# A umask taking the owner's own bits: scpx keeps them (its log is made, then reopened to append).
{ echo ">chr1"; echo ACGT; } > "$WORK/u.fa"
rc=0; (umask 0277; "$SCPX" inspect --fasta "$WORK/u.fa" --out "$WORK/umask.json" > "$WORK/umask.txt" 2>&1) || rc=$?
check umask_run_ok test "$rc" -eq 0
check umask_warned grep -q "umask 0277 takes the owner's own permissions: scpx makes its files and folders with umask 0077" "$WORK/umask.txt"
check umask_output_owner_rw test "$(stat -c %a "$WORK/umask.json")" = 600
if command -v mpirun > /dev/null; then
  mpirun -np 1 "$SCPX" info > "$WORK/info_mpirun.txt" 2>&1 || true
  check info_under_mpirun grep -q "MPI start: by a launcher" "$WORK/info_mpirun.txt"
fi

rc=0; "$SCPX" > "$WORK/none.txt" 2>&1 || rc=$?
check no_subcommand_is_an_error test "$rc" -ne 0

{ echo ">chr1"; printf 'ACGTACGTAC%.0s' $(seq 1 50); echo; } > "$WORK/ref.fa"
{ echo ">chr2"; printf 'TTTTTTTTTT%.0s' $(seq 1 50); echo; } > "$WORK/other.fa"
cat > "$WORK/run.toml" <<TOML
[inspect]
fasta = "$WORK/ref.fa"
TOML
expect_ok config_file "$SCPX" --config "$WORK/run.toml" inspect --out "$WORK/a.json"
check config_value_used grep -q '"name": "chr1"' "$WORK/a.json"
expect_ok config_overridden_by_flag "$SCPX" inspect --config "$WORK/run.toml" --fasta "$WORK/other.fa" --out "$WORK/b.json"
check flag_wins grep -q '"name": "chr2"' "$WORK/b.json"

printf '[inspect]\nfastaa = "x.fa"\n' > "$WORK/typo.toml"
expect_fail config_unknown_key "typo.toml.*inspect.fastaa" "$WORK/c.json" -- \
  "$SCPX" --config "$WORK/typo.toml" inspect --out "$WORK/c.json"
printf '[inspect]\nfasta = "x.fa\n' > "$WORK/syntax.toml"
expect_fail config_syntax_error "syntax.toml, line 2, column" "$WORK/d.json" -- \
  "$SCPX" --config "$WORK/syntax.toml" inspect --out "$WORK/d.json"

# --config after a command whose options stop at it (lctpred merge): the error says where it goes.
expect_fail config_after_merge "--config is an option of scpx itself: give it before the command" "" -- \
  "$SCPX" lctpred merge --config "$WORK/run.toml" "$WORK/x.db" --out "$WORK/merged"
# An option other commands have: the error says why this one has none.
expect_fail no_split_here "this command has no --split/--job" "" -- \
  "$SCPX" inspect --fasta "$WORK/ref.fa" --out "$WORK/e.json" --split 2

# Option errors exit 2 like scpx's own usage errors (not CLI11's 100+ codes).
rc=0; "$SCPX" inspect --fasta "$WORK/ref.fa" --bogus > "$WORK/bogus.txt" 2>&1 || rc=$?
check parse_error_exits_2 test "$rc" -eq 2
# Config files hold options: every config error is a usage error too.
for cfg in typo.toml syntax.toml missing.toml; do
  rc=0; "$SCPX" --config "$WORK/$cfg" inspect --out "$WORK/cfg.json" > "$WORK/cfg_$cfg.txt" 2>&1 || rc=$?
  check "config_error_exits_2_$cfg" test "$rc" -eq 2
done

# Errors go to stderr (and into the run's log), not stdout; a failed rerun keeps the log of the
# results already written and leaves its own as <out>.failed.log.
expect_ok first_run "$SCPX" inspect --fasta "$WORK/ref.fa" --out "$WORK/r.json"
cp "$WORK/r.log" "$WORK/r.log.first"
rc=0; "$SCPX" inspect --fasta "$WORK/ref.fa" --vcf "$WORK/ref.fa" --out "$WORK/r.json" \
  > "$WORK/err.out" 2> "$WORK/err.err" || rc=$?
check failed_run_exits_nonzero test "$rc" -ne 0
check error_on_stderr grep -q '^ERROR: ' "$WORK/err.err"
check no_error_on_stdout bash -c "! grep -q '^ERROR: ' '$WORK/err.out'"
check no_finished_line_on_failure bash -c "! grep -q 'finished in' '$WORK/err.out'"
check earlier_log_kept cmp "$WORK/r.log" "$WORK/r.log.first"
check failed_log_has_error grep -q '^ERROR: ' "$WORK/r.failed.log"
expect_ok rerun_ok "$SCPX" inspect --fasta "$WORK/ref.fa" --out "$WORK/r.json"
check stale_failed_log_removed test ! -e "$WORK/r.failed.log"

# An output never replaces an input, and --out may not be a directory.
cp "$WORK/ref.fa" "$WORK/same.fa"
expect_fail out_is_input "is the input file given as --fasta" "" -- \
  "$SCPX" inspect --fasta "$WORK/same.fa" --out "$WORK/same.fa"
check input_intact cmp "$WORK/same.fa" "$WORK/ref.fa"
mkdir -p "$WORK/outdir"
expect_fail out_is_directory "outdir:? .*is a directory" "" -- \
  "$SCPX" inspect --fasta "$WORK/ref.fa" --out "$WORK/outdir"
# An empty output name is refused (it would write hidden files); an option given twice is named.
expect_fail out_empty "--out: an empty name would write hidden files" "" -- \
  "$SCPX" inspect --fasta "$WORK/ref.fa" --out ""
expect_fail option_twice "--fasta given 2 times; give it once" "" -- \
  "$SCPX" inspect --fasta "$WORK/ref.fa" --fasta "$WORK/ref.fa"

finish
