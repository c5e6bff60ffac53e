#!/usr/bin/env bash
# Every shell script of the project parses (bash -n): a quote left open in a script that only a
# benchmark or an operator runs shows here, not on the day it is needed (bench/simulator.sh had
# one: an apostrophe inside its single-quoted jq program). Scripts are the *.sh files and the
# files starting with a bash shebang, under scripts/, bench/, tests/ and .ci/.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
checked=0
failed=0
while IFS= read -r -d '' file; do
  [[ "$file" == *.sh ]] || head -n1 "$file" | grep -q '^#!.*\bbash\b' || continue
  checked=$((checked + 1))
  if ! bash -n "$file"; then
    printf 'does not parse: %s\n' "${file#"$root"/}"
    failed=$((failed + 1))
  fi
done < <(find "$root/scripts" "$root/bench" "$root/tests" "$root/.ci" -type f \
  ! -path '*/results/*' -size -1000k -print0)
# The project had 18 scripts when this test was written: far fewer means the search broke.
scripts_min=15
printf '%d scripts parsed, %d did not\n' "$checked" "$failed"
((checked >= scripts_min)) || { printf 'expected at least %d scripts\n' "$scripts_min"; exit 1; }
((failed == 0))
