#!/bin/sh
# SPDX-License-Identifier: MIT
# The daemon's integration tests on a private bus of a real dbus-daemon.
command -v dbus-run-session >/dev/null || { echo "SKIP: dbus-run-session not installed"; exit 77; }
command -v busctl >/dev/null || { echo "SKIP: busctl not installed"; exit 77; }
exec dbus-run-session -- python3 "${top_srcdir:-.}/tests/integration/test-daemon.py" "$@"
