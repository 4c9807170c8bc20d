#!/bin/sh
# SPDX-License-Identifier: MIT
# Formats every built man page with groff and fails on any warning (-ww: all warnings).
# The pages are the ones built in $top_builddir/man (from their .in files) and any
# written directly in $top_srcdir/man; each name is checked once.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}

if ! command -v groff >/dev/null 2>&1; then
        echo "SKIP: groff is not installed (Debian: groff)"
        exit 77
fi

status=0
checked=0
seen=" "
for page in "$top_builddir"/man/*.[1-8] "$top_srcdir"/man/*.[1-8]; do
        [ -f "$page" ] || continue
        name=$(basename "$page")
        case "$seen" in *" $name "*) continue ;; esac
        seen="$seen$name "
        checked=$((checked + 1))

        ok=yes
        out=$(LC_ALL=C.UTF-8 groff -man -ww -z -K utf8 "$page" 2>&1)
        rc=$?
        if [ $rc -ne 0 ] || [ -n "$out" ]; then
                echo "FAIL: $name (groff exit $rc)"
                printf '%s\n' "$out" | sed 's/^/    /'
                ok=no
        fi
        # configure placeholders left unexpanded
        if grep -n '@[a-zA-Z_]*@' "$page" >/dev/null; then
                echo "FAIL: $name has unsubstituted placeholders:"
                grep -n '@[a-zA-Z_]*@' "$page" | sed 's/^/    /'
                ok=no
        fi
        if [ $ok = yes ]; then
                echo "ok: $name"
        else
                status=1
        fi
done

if [ $checked -eq 0 ]; then
        echo "FAIL: no man pages found in $top_builddir/man or $top_srcdir/man"
        exit 1
fi
exit $status
