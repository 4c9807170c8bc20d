#!/bin/sh
# SPDX-License-Identifier: MIT
# Every seed of tests/fuzz/corpus/NAME/ and every input of tests/fuzz/regressions/NAME/ through
# the harness tests/fuzz/fuzz-NAME.c, built without libFuzzer (tests/fuzz/replay.c).
set -eu
src=${top_srcdir:-.}/tests/fuzz
bin=${top_builddir:-.}/tests/fuzz
creds=$(mktemp -d)
trap 'rm -rf "$creds"' EXIT
# as tools/ci/fuzz: secrets from credentials, so valid seeds load completely
(umask 077 && printf 'replay-login-key\n' >"$creds/login-key" && printf 'replay-api-key\n' >"$creds/api-key")
export CREDENTIALS_DIRECTORY="$creds"
# FUZZ_HARNESSES: the harnesses this build has (make check says; without the daemon, no
# factory-json: it needs json-c)
for name in ${FUZZ_HARNESSES:-config factory-json frame}; do
        set -- "$src/corpus/$name"
        if [ -d "$src/regressions/$name" ]; then set -- "$@" "$src/regressions/$name"; fi
        "$bin/replay-$name" "$@"
done
