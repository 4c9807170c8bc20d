#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The durable record on slow storage: no token reaches the LED before its record line is on
disk. The real daemon on a private bus of a real dbus-daemon (tests/integration/test-durable.sh)
with simulated lines, the HTTPS test server, and its state directory on tests/helpers/slowfs,
whose every fsync takes 100 ms more and is logged with its CLOCK_MONOTONIC times.

For each attempt (button presses and BlinkUp calls, with and without [Server] PrefetchToken=yes,
and a Clear), from what this file reads itself:
- attempts.log: the byte offset where the attempt's token line ends (a Clear has no token: its
  started line);
- slowfs's log: the first fsync of that attempts.log that began with the file at least that
  long, and when it replied (END_NS);
- the LED trace (a VCD, CLOCK_MONOTONIC ns): the first change to the lit level after the press.
END_NS <= first light edge for every attempt; the margins are printed.

Skipped (77) where slowfs cannot be mounted: no /dev/fuse, slowfs not built, not allowed (not
root, a chroot or container without FUSE).

Usage: test-durable.py [CASE...]   (environment: top_builddir, top_srcdir)
"""

import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "helpers"))
from harness import (Daemon, SlowFs, Unavailable, attempt_id, check, run_cases, wait_for)  # noqa: E402

DELAY_MS = 100
# the longest any wait here may take on a loaded machine (never a measure of speed)
LONG = 60
MOUNT = None  # the SlowFs of the run


# ---- what the files say, read here independently of the daemon ----

def record_ends(path):
    """{attempt ID: {event: byte offset just past the event's first line}} of attempts.log."""
    with open(path, "rb") as f:
        data = f.read()
    out, pos = {}, 0
    for raw in data.split(b"\n")[:-1]:
        pos += len(raw) + 1
        m = re.search(rb" attempt=(\d+) event=(\S+)", raw)
        if m:
            out.setdefault(int(m.group(1)), {}).setdefault(m.group(2).decode(), pos)
    return out


def trace_edges(path):
    """(lit level, [(t_ns, level)]) of a VCD trace: the dark level is the one the trace starts
    with ($dumpvars), the lit level the other."""
    with open(path) as f:
        text = f.read()
    m = re.search(r"\$dumpvars\s+([01])!", text)
    check(m, "no initial level in the trace")
    edges, t = [], 0
    body = text[m.end():]
    for line in body.splitlines():
        line = line.strip()
        if line.startswith("#"):
            t = int(line[1:])
        elif line in ("0!", "1!"):
            edges.append((t, int(line[0])))
    return 1 - int(m.group(1)), edges


# ---- the attempts ----

def press(d):
    """A press of the simulated button (60 ms, twice DebounceMs); the time of the press byte."""
    t = time.monotonic_ns()
    d.press("1")
    time.sleep(0.06)
    d.press("0")
    return t


def run_attempts(d, plan, prefetch=False):
    """Runs plan's attempts one after another ("press", "blinkup", "clear"), each to its
    Finished signal; with prefetch, a factory attempt only once a token is at hand (the daemon
    logs each prefetched token at debug level). Returns [(attempt ID, how, time of the press or
    call)]."""
    done, factory = [], 0
    for i, how in enumerate(plan):
        aid = i + 1  # a fresh record: attempts 1, 2, ...
        # a press is heard only when the fixture is idle, which with slow fsyncs can come after Finished
        wait_for(lambda: d.prop("State") == "idle", LONG, "the fixture idle")
        if how != "clear":
            factory += 1
            if prefetch:
                wait_for(lambda n=factory: d.stderr().count("Prefetched token") >= n, LONG,
                         "prefetched token %d" % factory)
        if how == "press":
            t = press(d)
        else:
            t = time.monotonic_ns()
            rc, out, err = d.call("Clear" if how == "clear" else "BlinkUp")
            check(rc == 0, "%s: %s" % (how, err))
            check(attempt_id(out) == aid, "%s made attempt %s, not %d" % (how, out, aid))
        fin = d.wait_signal("Finished", lambda a, n=aid: a[0] == n, LONG)
        check(fin[1] is True, "attempt %d (%s) failed: %r" % (aid, how, fin))
        done.append((aid, how, t))
    return done


def check_guarantee(d, state_name, done):
    """For every attempt: the fsync that put its token (or, for a Clear, its started) line on
    disk had replied before the LED first lit."""
    ends = record_ends(os.path.join(d.state, "attempts.log"))
    syncs = [s for s in MOUNT.fsyncs() if s["op"] in ("fsync", "fdatasync")
             and s["path"] == "/%s/attempts.log" % state_name]
    lit, edges = trace_edges(d.trace)
    for aid, how, t in done:
        events = ends.get(aid, {})
        line = "started" if how == "clear" else "token"
        check(line in events, "attempt %d (%s): no %s line in the record: %r" % (aid, how, line, events))
        offset = events[line]
        sync = min((s for s in syncs if s["size"] >= offset), key=lambda s: s["start"], default=None)
        check(sync is not None, "attempt %d (%s): no fsync of attempts.log after its %s line (offset %d)"
              % (aid, how, line, offset))
        check(sync["end"] - sync["start"] >= DELAY_MS * 1e6,
              "attempt %d: the fsync took %.1f ms, not the %d ms slowfs adds" % (aid, (sync["end"] - sync["start"]) / 1e6,
                                                                                  DELAY_MS))
        light = next((e for e, level in edges if e > t and level == lit), None)
        check(light is not None, "attempt %d (%s): no light edge in the trace after it began" % (aid, how))
        margin = (light - sync["end"]) / 1e6
        print("  attempt %d (%s): %s line (ends at byte %d) on disk %.1f ms after the %s, first light edge at "
              "%.1f ms: margin %.1f ms" % (aid, how, line, offset, (sync["end"] - t) / 1e6,
                                           "press" if how == "press" else "call", (light - t) / 1e6, margin), flush=True)
        check(sync["end"] <= light, "attempt %d (%s): the LED lit %.1f ms before its %s line was on disk"
              % (aid, how, -margin, line))


def case_token_on_disk_before_light(w, srv):
    """Without PrefetchToken: presses and BlinkUp calls fetch their token after the started line."""
    srv.reset()
    state = tempfile.mkdtemp(prefix="state-", dir=MOUNT.mnt)
    d = Daemon(w, srv, state=state)
    try:
        done = run_attempts(d, ["press", "blinkup", "press", "blinkup"])
    finally:
        rc = d.stop()
    check(rc == 0, "blinkupd did not exit cleanly: %s" % rc)
    check_guarantee(d, os.path.basename(state), done)


def case_prefetched_token_on_disk_before_light(w, srv):
    """PrefetchToken=yes: the token is at hand at the press; its line still comes first. And a
    Clear: its started line."""
    srv.reset()
    state = tempfile.mkdtemp(prefix="state-", dir=MOUNT.mnt)
    d = Daemon(w, srv, state=state, extra="[Server]\nPrefetchToken=yes\n")
    try:
        done = run_attempts(d, ["press", "blinkup", "clear", "press", "blinkup"], prefetch=True)
    finally:
        rc = d.stop()
    check(rc == 0, "blinkupd did not exit cleanly: %s" % rc)
    check_guarantee(d, os.path.basename(state), done)


def main(selected):
    global MOUNT
    work = tempfile.mkdtemp(prefix="blinkupd-durable-")
    try:
        MOUNT = SlowFs(work, DELAY_MS)
    except Unavailable as e:
        print("SKIP: %s" % e)
        shutil.rmtree(work, ignore_errors=True)
        return 77
    # slowfs is a child of this process too: unmounted before run_cases() ends the children
    rc = run_cases(globals(), None, selected, work=work, before_end=MOUNT.unmount)
    if rc == 0 and not os.path.ismount(MOUNT.mnt):
        shutil.rmtree(work, ignore_errors=True)  # kept after a failure: the traces and logs
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
