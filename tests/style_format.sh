#!/usr/bin/env bash
# Every C++ file of the project is as clang-format leaves it (the root's .clang-format): the house
# style is checked here, by ctest, not left to each author's editor. A file that fails shows with
# the command that fixes it. First the check proves it can fail: a line it must reformat, given
# as a file under the root (so the root's configuration applies), has to be refused.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
command -v clang-format >/dev/null || { echo 'clang-format is not installed (scripts/lib/stack.sh installs it)'; exit 1; }
if printf 'int  f( int x ){return x;}\n' |
  clang-format --dry-run --Werror --assume-filename="$root/common/src/style_probe.cpp" >/dev/null 2>&1; then
  echo 'clang-format accepted a misformatted line: the check would pass anything'
  exit 1
fi
checked=0
failed=0
while IFS= read -r -d '' file; do
  checked=$((checked + 1))
  if ! clang-format --dry-run --Werror "$file" >/dev/null 2>&1; then
    printf 'not formatted: %s (clang-format -i %s)\n' "${file#"$root"/}" "${file#"$root"/}"
    failed=$((failed + 1))
  fi
done < <(find "$root/common" "$root/ledger_service" "$root/gateway" "$root/fill_receiver" \
  "$root/simulator" "$root/tests" "$root/bench" "$root/tools" -type f \
  \( -name '*.cpp' -o -name '*.h' \) -print0)
# The project had 248 C++ files when this test was written: far fewer means the search broke.
files_min=200
printf '%d C++ files checked, %d not formatted\n' "$checked" "$failed"
((checked >= files_min)) || { printf 'expected at least %d files\n' "$files_min"; exit 1; }
((failed == 0))
