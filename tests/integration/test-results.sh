#!/bin/sh
# SPDX-License-Identifier: MIT
# Results delivery (tests/integration/test-results.py) on a private bus of a real dbus-daemon, with
# the real blinkupd-https, the HTTPS test server and the results endpoint of the tests.
command -v dbus-run-session >/dev/null || { echo "SKIP: dbus-run-session not installed"; exit 77; }
command -v busctl >/dev/null || { echo "SKIP: busctl not installed"; exit 77; }
exec dbus-run-session -- python3 "${top_srcdir:-.}/tests/integration/test-results.py" "$@"
