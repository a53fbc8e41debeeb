#!/usr/bin/env bash
# Formats C++ files with clang-format and the repository's .clang-format.
#
#   tools/format.sh FILE...            format these files in place
#   tools/format.sh                    format the C++ files that differ from main
#                                      (committed, staged, unstaged or untracked)
#   tools/format.sh --check [FILE...]  change nothing; list what would change and
#                                      exit 1 if anything would
#
# It never formats the whole tree: the code was written by hand to the style,
# not through clang-format, so formatting a whole file can also rewrap lines
# nobody touched. To format only the lines you changed, use
# `git clang-format main` (same package) instead.
# DIALGRID_FORMAT_BASE overrides the branch compared against (default: main).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

check=0
if [[ ${1:-} == --check ]]; then
  check=1
  shift
fi
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi

clang_format=${CLANG_FORMAT:-$(command -v clang-format || true)}
if [[ -z $clang_format ]]; then
  echo "format.sh: clang-format is not installed (Debian package clang-format;" \
    "it is not in tools/packages.txt, install it yourself to format)" >&2
  exit 1
fi

files=()
if [[ $# -gt 0 ]]; then
  files=("$@")
else
  base=${DIALGRID_FORMAT_BASE:-main}
  cd "$root"
  while IFS= read -r f; do
    [[ -f $f ]] && files+=("$f")
  done < <({
    git diff --name-only --diff-filter=ACMR "$base" -- '*.cc' '*.h' '*.cpp' '*.hpp'
    git ls-files --others --exclude-standard -- '*.cc' '*.h' '*.cpp' '*.hpp'
  } | sort -u)
  if [[ ${#files[@]} -eq 0 ]]; then
    echo "format.sh: no C++ file differs from $base"
    exit 0
  fi
fi

if [[ $check -eq 1 ]]; then
  status=0
  for f in "${files[@]}"; do
    if ! "$clang_format" --style=file --dry-run --Werror "$f" >/dev/null 2>&1; then
      echo "would reformat: $f"
      status=1
    fi
  done
  exit "$status"
fi
"$clang_format" --style=file -i "${files[@]}"
printf 'formatted: %s\n' "${files[@]}"
