#!/usr/bin/env bash
# The scpx binary itself: version line, subcommand required, TOML config with CLI overrides,
# strict config errors.
source "$(dirname "$0")/e2e_lib.sh"

"$SCPX" --version > "$WORK/version.txt"
check version_line grep -Eq '^scpx [0-9]+\.[0-9]+\.[0-9]+ \(git [0-9a-f]+.*\) CUDA (on|off)$' "$WORK/version.txt"

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

finish
