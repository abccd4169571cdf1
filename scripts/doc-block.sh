#!/usr/bin/env bash
# Replaces the generated block NAME of a Markdown file with standard input:
# everything between the lines `<!-- NAME:begin -->` and `<!-- NAME:end -->` (both kept).
# Shared by the scripts that write their tables into docs (fuzz.sh, kill-anywhere.sh,
# readme-results.sh), so that what a doc shows is what a command printed.
#   scripts/doc-block.sh FILE NAME < CONTENT
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: scripts/doc-block.sh FILE NAME < CONTENT" >&2; exit 2; }
file=$1 name=$2
begin="<!-- $name:begin -->" end="<!-- $name:end -->"
[ "$(grep -cxF "$begin" "$file")" = 1 ] && [ "$(grep -cxF "$end" "$file")" = 1 ] ||
  { echo "doc-block: $file needs exactly one '$begin' and one '$end' line" >&2; exit 1; }
content=$(mktemp)
trap 'rm -f "$content" "$file.new"' EXIT
cat > "$content"
awk -v b="$begin" -v e="$end" -v f="$content" '
  $0 == b { print; while ((getline line < f) > 0) print line; skip = 1; next }
  $0 == e { skip = 0 }
  !skip' "$file" > "$file.new"
mv "$file.new" "$file"
