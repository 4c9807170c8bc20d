#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Press-to-light with the state directory on slow storage: the durable record's fsyncs on an
SD card take 25 to 100 ms. The presses of bench/measure.py (measure_presses: DebounceMs=0,
142 bits/s, each blink cancelled once its first light edge is out) with the state directory on
(a) this machine's disk (the build directory's file system), (b) tests/helpers/slowfs over the
same disk with no delay (the FUSE cost alone), (c) slowfs with 25 ms per fsync, (d) 100 ms;
each with PrefetchToken=yes and without. Side by side: press -> transmitter start (the
"Attempt N: blinking." status) and press -> first light edge minus the waveform's own dark
lead-in, p50/p99, and the fsync of a record line on that storage (measure_fsync). Nothing here
fails on a figure: it measures and prints. On slowfs a write() to a file waits for an fsync of
the same file still in progress (the kernel's FUSE client holds the inode lock; see slowfs.c):
a daemon that appends a line while the previous one's fsync runs pays for it here, not on ext4.

Usage: bench/slowfs.py --build=DIR [--quick] [--presses=N] [--stderr-fd=FD]
       (under dbus-run-session, as root: slowfs mounts with allow_other; bench/run runs it)
Prints a table, and last the line
    bench-slowfs: press_to_light_slowfs_p99_ms=X
X: slowfs 25 ms, PrefetchToken=yes, press -> first light edge minus lead-in, p99; nan when
slowfs cannot be mounted here (no /dev/fuse, not built, not allowed).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "helpers"))
sys.path.insert(0, HERE)
from harness import FactoryServer, SlowFs, Unavailable  # noqa: E402
from measure import Waveform, measure_fsync, measure_presses  # noqa: E402

DELAYS = (None, 0, 25, 100)  # None: the disk itself
T_START = time.monotonic()


def note(text):
    print("bench-slowfs: [%5.1f s] %s" % (time.monotonic() - T_START, text), file=sys.stderr, flush=True)


def file_system(path):
    p = subprocess.run(["findmnt", "-n", "-o", "FSTYPE,SOURCE", "--target", path], capture_output=True, text=True)
    return " ".join(p.stdout.split()) if p.returncode == 0 and p.stdout.strip() else "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--presses", type=int, help="presses per case (default 40, --quick 10)")
    ap.add_argument("--stderr-fd", type=int, help="write progress and errors here instead of to stderr")
    a = ap.parse_args()
    if a.stderr_fd is not None:
        sys.stderr = os.fdopen(a.stderr_fd, "w", buffering=1)
    presses = a.presses or (10 if a.quick else 40)
    a.build = os.path.abspath(a.build)
    slowfs_bin = os.path.join(a.build, "tests", "helpers", "slowfs")
    # the daemon's own files (its socket paths) in a short temporary directory; the state
    # directories and slowfs's backing directory on the build directory's disk
    work = tempfile.mkdtemp(prefix="blinkupd-bench-slowfs-")
    os.makedirs(os.path.join(a.build, "bench"), exist_ok=True)
    disk = tempfile.mkdtemp(prefix="slowfs-", dir=os.path.join(a.build, "bench"))
    fast = Waveform(a.build, True)
    srv = FactoryServer(work)
    srv.reset(claim_delay=0.2)
    rows, skipped = [], None
    try:
        for delay in DELAYS:
            mount = None
            if delay is not None:
                try:
                    mount = SlowFs(disk, delay, binary=slowfs_bin)
                except Unavailable as e:
                    skipped = str(e)
                    note("slow storage skipped: %s" % e)
                    break
            try:
                parent = mount.mnt if mount else disk
                name = "disk (%s)" % file_system(disk) if mount is None else "slowfs, %d ms per fsync" % delay
                note("%s: fsync of a record line" % name)
                fs = measure_fsync(parent, 10 if a.quick else 40)
                m = {}
                for prefetch in (True, False):
                    note("%s: %d presses, PrefetchToken=%s" % (name, presses, "yes" if prefetch else "no"))
                    m[prefetch] = measure_presses(a.build, work, srv, fast, presses, prefetch, state_parent=parent)
                rows.append(dict(delay=delay, name=name, fsync=fs, pre=m[True], nopre=m[False]))
            finally:
                if mount:
                    mount.unmount()
    finally:
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(disk, ignore_errors=True)

    print()
    print("Press-to-light with the state directory on slow storage (tests/helpers/slowfs, FUSE; %d presses "
          "per case, DebounceMs=0, 142 bits/s; ms)" % presses)
    print("  start = press -> transmitter start (status \"Attempt N: blinking.\"); light = press -> first light "
          "edge minus the %.1f ms dark lead-in" % (fast.first_light_ns / 1e6))
    fmt = "  %-30s %-14s %-15s %-15s %-15s %s"
    print(fmt % ("state directory on", "fsync", "PrefetchToken=yes", "", "PrefetchToken=no", ""))
    print(fmt % ("", "p50/p99", "start p50/p99", "light p50/p99", "start p50/p99", "light p50/p99"))
    print("  " + "-" * 104)

    def pair(m, k):
        return "%.1f/%.1f" % m[k][:2]

    for r in rows:
        missed = ", ".join("%d missed (PrefetchToken=%s)" % (m["misses"], k) for k, m in (("yes", r["pre"]), ("no", r["nopre"]))
                           if m["misses"])
        print(fmt % (r["name"], "%.2f/%.2f" % r["fsync"][:2], pair(r["pre"], "to_blinking"), pair(r["pre"], "corrected"),
                     pair(r["nopre"], "to_blinking"), pair(r["nopre"], "corrected")) + ("  " + missed if missed else ""))
    if skipped:
        print("  slow storage: skipped (%s)" % skipped)
    print("  on slowfs a write() to attempts.log waits while an fsync of it is in progress (FUSE; ext4 does not)")
    p99 = next((r["pre"]["corrected"][1] for r in rows if r["delay"] == 25), float("nan"))
    print("bench-slowfs: press_to_light_slowfs_p99_ms=%.2f" % p99, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
