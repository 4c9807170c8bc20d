#!/bin/sh
# SPDX-License-Identifier: MIT
# Metrics (tests/integration/test-metrics.py) on a private bus of a real dbus-daemon, with the
# real blinkupd-https and the HTTPS test server, checked with promtool and served by a real
# prometheus-node-exporter to a real prometheus (Debian: prometheus, prometheus-node-exporter).
command -v dbus-run-session >/dev/null || { echo "SKIP: dbus-run-session not installed"; exit 77; }
command -v busctl >/dev/null || { echo "SKIP: busctl not installed"; exit 77; }
for tool in promtool prometheus prometheus-node-exporter; do
        command -v $tool >/dev/null || { echo "SKIP: $tool not installed (Debian: prometheus, prometheus-node-exporter)"; exit 77; }
done
exec dbus-run-session -- python3 "${top_srcdir:-.}/tests/integration/test-metrics.py" "$@"
