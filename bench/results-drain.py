#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Results delivery ([Results] URL=): how fast a backlog drains once the endpoint is back, and
what delivery costs a press. Nothing here fails on a figure: it measures and prints.

1. Drain: a record of N factory attempts (started, token, blinked, confirmed: 2 documents each)
   is written here in the format of record.h (as bench/record.py does; the record is the
   outbox, so how its lines got there does not matter to delivery), the daemon is started on
   it with the results endpoint (tests/helpers/results-receiver.py) down and left until
   ResultsBacklog is 2 N; then the endpoint is brought up and the time to ResultsBacklog 0 is
   measured: documents per second, with the endpoint's own view (first to last arrival) beside.
2. Press-to-light (bench/measure.py's measure_presses, PrefetchToken=yes): without [Results],
   and with delivery on to a live endpoint (each cancelled press is an outcome document sent
   while the next press comes).

Usage: bench/results-drain.py --build=DIR [--attempts=200] [--presses=20]
       (under dbus-run-session; bench/run runs it in the full set)
Prints a table, and last the line
    bench-results: results_drain_per_s=A docs=B idle_wakeups_per_s_on=C press_to_light_p99_ms_off=D press_to_light_p99_ms_on=E
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
from harness import NAME, PATH, FactoryServer, ResultsReceiver, helper_pids  # noqa: E402
from measure import Daemon, Waveform, measure_presses, threads  # noqa: E402
from record import line as record_line  # noqa: E402


def note(text):
    print("bench-results: %s" % text, file=sys.stderr, flush=True)


def prop(name):
    p = subprocess.run(["busctl", "--user", "get-property", NAME, PATH, NAME, name], capture_output=True, text=True,
                       timeout=30)
    if p.returncode != 0:
        raise RuntimeError("get-property %s: %s" % (name, p.stderr.strip()))
    return p.stdout.split(None, 1)[1].strip()


def wait_prop(name, pred, timeout, what, d):
    end = time.monotonic() + timeout
    while True:
        v = prop(name)
        if pred(v):
            return v
        if time.monotonic() > end or d.proc.poll() is not None:
            raise RuntimeError("no %s (%s=%s): %s" % (what, name, v, d.stderr()[-2000:]))
        time.sleep(0.02)


def results_config(rcv, token_file):
    return ("[Fixture]\nLine=bench\n[Results]\nURL=%s\nTokenFile=%s\nRetryMaxSec=1\n" % (rcv.url, token_file))


def write_record(path, n):
    t0 = time.time() - n
    with open(path, "w") as f:
        for aid in range(1, n + 1):
            ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0 + aid)) + ".000000Z"
            f.write(record_line(aid, "started", [("kind", "factory"), ("serial", "SN-%06d" % aid),
                                                 ("operator", "bench")], ts))
            f.write(record_line(aid, "token", [("token_id", "%016x" % (aid * 7919)),
                                               ("plan_id", "0123456789abcdef")], ts))
            f.write(record_line(aid, "blinked", [("edges", "226"), ("frames", "1"), ("max_lateness_ns", "51234"),
                                                 ("p99_lateness_ns", "40000"), ("clean", "yes")], ts))
            f.write(record_line(aid, "confirmed", [("device_id", "%016x" % (aid * 104729))], ts))


IDLE_SECONDS = 10


def measure_idle_on(d, seconds):
    """Once everything is delivered: the context switches of the daemon, its factory server client
    and its results delivery over seconds (as bench/measure.py counts the idle cost)."""
    time.sleep(1.0)  # the last delivery's status handled
    pids = [d.pid] + helper_pids(d.pid)
    before = {}
    for pid in pids:
        before.update(threads(pid))
    t0 = time.monotonic()
    time.sleep(seconds)
    after = {}
    for pid in pids:
        after.update(threads(pid))
    dt = time.monotonic() - t0
    switches = sum(sw - before.get(tid, (None, 0))[1] for tid, (_, sw, _) in after.items())
    return dict(processes=len(pids), wakeups_per_s=switches / dt)


def measure_drain(build, work, srv, rcv, token_file, n):
    state = tempfile.mkdtemp(prefix="drain-state-", dir=work)
    write_record(os.path.join(state, "attempts.log"), n)
    docs = 2 * n
    rcv.set_mode("down")
    rcv.control("DELETE", "received")
    d = Daemon(build, work, srv, prefetch=False, state_dir=state, extra=results_config(rcv, token_file))
    try:
        d.wait_ready(30)
        wait_prop("ResultsBacklog", lambda v: int(v) == docs, 120, "backlog of %d documents" % docs, d)
        t_up = time.monotonic()
        rcv.set_mode("ok")
        wait_prop("ResultsBacklog", lambda v: int(v) == 0, 600, "drained backlog", d)
        took = time.monotonic() - t_up
        idle = measure_idle_on(d, IDLE_SECONDS)
    finally:
        d.stop()
    got = [e for e in rcv.received() if e["answer"] == 200]
    seen = len({e["idempotency_key"] for e in got})
    span = got[-1]["t"] - got[0]["t"] if len(got) > 1 else float("nan")
    return dict(docs=docs, seconds=took, per_s=docs / took, delivered=len(got), distinct=seen, idle=idle,
                endpoint_per_s=(len(got) - 1) / span if span == span and span > 0 else float("nan"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--attempts", type=int, default=200)
    ap.add_argument("--presses", type=int, default=20)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="blinkupd-bench-results-")
    srv = FactoryServer(work)
    srv.reset(claim_delay=0.2)
    rcv = ResultsReceiver(srv.pki)
    token_file = os.path.join(work, "results-token")
    with open(os.open(token_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        f.write("bench-results-token\n")
    try:
        note("drain: %d attempts (%d documents) recorded with the endpoint down" % (a.attempts, 2 * a.attempts))
        dr = measure_drain(a.build, work, srv, rcv, token_file, a.attempts)
        fast = Waveform(a.build, True)
        note("press-to-light: %d presses, PrefetchToken=yes, without [Results]" % a.presses)
        off = measure_presses(a.build, work, srv, fast, a.presses, True)
        rcv.set_mode("ok")
        note("press-to-light: %d presses, PrefetchToken=yes, results delivered to a live endpoint" % a.presses)
        on = measure_presses(a.build, work, srv, fast, a.presses, True, extra=results_config(rcv, token_file))
    finally:
        rcv.stop()
        srv.stop()
    print("Results delivery")
    print("  %-56s %s" % ("backlog drained, documents/s (%d documents)" % dr["docs"],
                          "%.1f  (%.2f s from endpoint up to ResultsBacklog 0)" % (dr["per_s"], dr["seconds"])))
    print("  %-56s %s" % ("  at the endpoint, first to last arrival, documents/s", "%.1f" % dr["endpoint_per_s"]))
    print("  %-56s %s" % ("  requests answered 200 / distinct documents", "%d / %d" % (dr["delivered"], dr["distinct"])))
    print("  %-56s %s" % ("idle once delivered, wake-ups/s (daemon + %d helpers)" % (dr["idle"]["processes"] - 1),
                          "%.2f  (over %d s)" % (dr["idle"]["wakeups_per_s"], IDLE_SECONDS)))
    for label, m in (("press-to-light without [Results] p50/p99/max ms", off),
                     ("press-to-light with delivery on p50/p99/max ms", on)):
        print("  %-56s %s" % (label, "%.2f / %.2f / %.2f  (%d presses, %d missed)"
                              % (m["corrected"] + (m["n"], m["misses"]))))
    print("bench-results: results_drain_per_s=%.1f docs=%d idle_wakeups_per_s_on=%.2f press_to_light_p99_ms_off=%.2f "
          "press_to_light_p99_ms_on=%.2f"
          % (dr["per_s"], dr["docs"], dr["idle"]["wakeups_per_s"], off["corrected"][1], on["corrected"][1]), flush=True)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
