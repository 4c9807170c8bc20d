#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Big records: how long blinkupctl history and the daemon's start-up take on an attempt record
of about 200 MB (years of a line's attempts), beside the same on a small record, measured side
by side in one run. Nothing here fails on a figure: it measures and prints.

The record is written here, line by line in the format of record.h with zlib's CRC-32 (not by
the daemon): attempts of four lines each (started, token, blinked, confirmed), and a damaged
one of the same size whose "started" lines are all missing.

Start-up is the time from exec to READY=1 (sd_notify on a socket of ours), with simulated lines
and an unreachable factory server, so that only the record is being read.

Usage: bench/record.py --build=DIR [--mb=200] [--rotate-mib=N]   (run under dbus-run-session)
Prints a table, and last the line
    bench-record: history_20_s=A history_100000_s=B startup_ms=C startup_small_ms=D ...
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zlib


def line(attempt, event, fields, ts):
    text = "%s attempt=%d event=%s%s" % (ts, attempt, event, "".join(" %s=%s" % kv for kv in fields))
    return "%s crc=%08x\n" % (text, zlib.crc32(text.encode()))


def write_record(path, mb, with_started=True, first_id=1):
    """About mb megabytes of attempts; returns the number of attempts."""
    target = mb * 1000 * 1000
    size = 0
    n = 0
    ts = "2026-01-01T00:00:00.000000Z"
    chunk = []
    with open(path, "w") as f:
        aid = first_id
        while size < target:
            lines = []
            if with_started:
                lines.append(line(aid, "started", [("kind", "factory")], ts))
            lines.append(line(aid, "token", [("token_id", "%016x" % (aid * 7919)), ("plan_id", "0123456789abcdef")], ts))
            lines.append(line(aid, "blinked", [("edges", "226"), ("frames", "1"), ("max_lateness_ns", "51234"),
                                               ("p99_lateness_ns", "40000"), ("clean", "yes")], ts))
            lines.append(line(aid, "confirmed", [("device_id", "%016x" % (aid * 104729))], ts))
            text = "".join(lines)
            chunk.append(text)
            size += len(text)
            n += 1
            aid += 1
            if len(chunk) >= 10000:
                f.write("".join(chunk))
                chunk = []
        f.write("".join(chunk))
    return n


def timed(argv):
    t0 = time.monotonic()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return time.monotonic() - t0, p


def startup(build, work, state, extra=""):
    """exec to READY=1, in seconds; None when the daemon did not get ready."""
    conf = os.path.join(work, "blinkupd.conf")
    with open(conf, "w") as f:
        f.write("[WiFi]\nSSID=Bench\nPassword=benchmark1\n[LED]\nChip=sim\n[Server]\n"
                "URL=https://127.0.0.1:9/v5\nLoginKeyFile=%s\nFixtureId=0123456789abcdef\n"
                "[Daemon]\nStateDirectory=%s\n%s" % (os.path.join(work, "key"), state, extra))
    with open(os.open(os.path.join(work, "key"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write("bench-key\n")
    path = os.path.join(work, "notify")
    if os.path.exists(path):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(120)
    env = dict(os.environ, NOTIFY_SOCKET=path, BLINKUPD_HTTPS_PATH=os.path.join(build, "src", "blinkupd-https"))
    t0 = time.monotonic()
    p = subprocess.Popen([os.path.join(build, "src", "blinkupd"), "--user-bus", "--config=" + conf],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    ready = None
    try:
        while ready is None:
            msg = sock.recv(4096).decode(errors="replace")
            if "READY=1" in msg.split("\n"):
                ready = time.monotonic() - t0
    except socket.timeout:
        pass
    finally:
        p.terminate()
        p.wait(30)
        sock.close()
    return ready


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--mb", type=int, default=200)
    args = ap.parse_args()
    ctl = os.path.join(args.build, "src", "blinkupctl")
    work = tempfile.mkdtemp(prefix="bench-record-")
    try:
        dirs = {}
        # "damaged-64": the largest file a rotated record (RecordMaxFileMiB=64) starts on
        for name, mb, started in (("small", 1, True), ("big", args.mb, True), ("damaged", args.mb, False),
                                  ("damaged-64", 67, False)):
            d = os.path.join(work, name)
            os.mkdir(d)
            t0 = time.monotonic()
            n = write_record(os.path.join(d, "attempts.log"), mb, started)
            dirs[name] = (d, n, os.path.getsize(os.path.join(d, "attempts.log")))
            print("record %-8s %6.1f MB, %7d attempts%s (written in %.1f s)"
                  % (name, dirs[name][2] / 1e6, n, "" if started else ", no started line", time.monotonic() - t0),
                  flush=True)
        # the page cache holds them all now: what is measured is the reading, not the disk
        figures = {}
        print("\n%-44s %10s %10s" % ("", "small", "%d MB" % args.mb))
        for label, key, argv in (("blinkupctl history (last 20)", "history_20_s", []),
                                 ("blinkupctl history -n 100000", "history_100000_s", ["-n", "100000"])):
            t_small, _ = timed([ctl, "history", "--state-dir=" + dirs["small"][0]] + argv)
            t_big, p = timed([ctl, "history", "--state-dir=" + dirs["big"][0]] + argv)
            rows = len(p.stdout.splitlines()) - 1
            print("%-44s %9.3fs %9.3fs   (%d rows)" % (label, t_small, t_big, rows), flush=True)
            figures[key] = t_big
        t_damaged, p = timed([ctl, "history", "--state-dir=" + dirs["damaged"][0]])
        print("%-44s %10s %9.3fs" % ("blinkupctl history, no started line", "", t_damaged), flush=True)
        figures["history_damaged_s"] = t_damaged

        s_small = startup(args.build, work, dirs["small"][0])
        s_big = startup(args.build, work, dirs["big"][0])
        s_damaged = startup(args.build, work, dirs["damaged"][0])
        s_damaged64 = startup(args.build, work, dirs["damaged-64"][0])
        fmt = lambda v: "%9.1fms" % (v * 1000) if v is not None else "  no READY"
        print("%-44s %s %s" % ("daemon start-up (exec to READY=1)", fmt(s_small), fmt(s_big)))
        print("%-44s %10s %s" % ("daemon start-up, no started line", "", fmt(s_damaged)))
        print("%-44s %10s %s" % ("  the same in a full 64 MiB file (rotated)", "", fmt(s_damaged64)))
        print("%-44s %10s %9.1fx" % ("start-up, big record / small", "",
                                     (s_big / s_small) if s_big and s_small else float("nan")))
        figures["startup_ms"] = s_big * 1000 if s_big else -1
        figures["startup_small_ms"] = s_small * 1000 if s_small else -1
        figures["startup_damaged_ms"] = s_damaged * 1000 if s_damaged else -1
        figures["startup_damaged_64mib_ms"] = s_damaged64 * 1000 if s_damaged64 else -1
        print("bench-record: " + " ".join("%s=%.3f" % kv if kv[0].endswith("_s") else "%s=%.1f" % kv
                                          for kv in figures.items()))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
