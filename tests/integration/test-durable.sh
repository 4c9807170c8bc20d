#!/bin/sh
# SPDX-License-Identifier: MIT
# The durable record on slow storage (tests/integration/test-durable.py): the real daemon with its
# state directory on tests/helpers/slowfs, on a private bus of a real dbus-daemon.
command -v dbus-run-session >/dev/null || { echo "SKIP: dbus-run-session not installed"; exit 77; }
command -v busctl >/dev/null || { echo "SKIP: busctl not installed"; exit 77; }
exec dbus-run-session -- python3 "${top_srcdir:-.}/tests/integration/test-durable.py" "$@"
