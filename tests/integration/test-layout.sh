#!/bin/sh
# SPDX-License-Identifier: MIT
# The layout's rules (docs/ARCHITECTURE.md) on the sources, by tools/check-layout: files of at
# most 600 lines, functions of at most 80, includes only from a folder's own and lower folders.
# First the checker itself, on a small tree that breaks each rule once: it must name each breach.
set -u
src=${top_srcdir:-.}
check="$src/tools/check-layout"
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/src/shared" "$tmp/src/lib" "$tmp/src/daemon" "$tmp/src/https" "$tmp/src/ctl"
printf '#pragma once\nint daemon_thing(void);\n' >"$tmp/src/daemon/thing.h"
printf '#pragma once\nint ctl_thing(void);\n' >"$tmp/src/ctl/verb.h"
{
        printf '#include "thing.h"\n'
        printf 'int lib_long(int x) {\n'
        i=0; while [ $i -lt 80 ]; do printf '        x++;\n'; i=$((i + 1)); done
        printf '        return x;\n}\n'
} >"$tmp/src/lib/bad.c"
printf '#include "verb.h"\nint https_ok(void) {\n        return 0;\n}\n' >"$tmp/src/https/beside.c"
i=0; while [ $i -lt 601 ]; do echo "/* line */"; i=$((i + 1)); done >"$tmp/src/shared/big.h"
out=$(python3 "$check" "$tmp/src") && { echo "FAIL: check-layout passed a tree that breaks every rule:"; echo "$out"; exit 1; }
for expect in "src/lib/bad.c:1: includes thing.h of src/daemon" "src/lib/bad.c:2: lib_long() is 83 lines" \
              "src/https/beside.c:1: includes verb.h of src/ctl" "src/shared/big.h: 601 lines"; do
        case $out in
        *"$expect"*) ;;
        *) echo "FAIL: check-layout did not report \"$expect\":"; echo "$out"; exit 1 ;;
        esac
done
echo "ok: check-layout names each breach of a broken tree"

python3 "$check" "$src/src"
