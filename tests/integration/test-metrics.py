#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Metrics ([Metrics] TextfileDirectory=, blinkupd-metrics(7)) with the real Prometheus tools:
the real daemon on a private bus of a real dbus-daemon (tests/integration/test-metrics.sh) and
the HTTPS test server; promtool checks the file it writes, a real prometheus-node-exporter
serves it and a real prometheus scrapes that, both on loopback ports of their own.

The file is parsed here on its own (not with the daemon's code), and its counters are compared
with what the case caused, as the bus reported it (Finished and Confirmed signals). The example
rules (contrib/prometheus/blinkupd.rules.yml) are checked and unit-tested with promtool and
evaluated by the real Prometheus; the example queries of man/blinkupd-metrics.7.in (each line of
an .EX block that follows a line '.\\" promql') are run against it.

Nothing here judges timing: every wait is a generous upper bound for a busy machine.

Usage: test-metrics.py [CASE...]   (environment: top_builddir, top_srcdir)
"""

import contextlib
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "helpers"))
from harness import (ERR, SRC, Daemon, Failure, ResultsReceiver, attempt_id, check, run_cases,  # noqa: E402
                     wait_for)

PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")
NODE_EXPORTER = shutil.which("prometheus-node-exporter")
RULES = os.path.abspath(os.path.join(SRC, "contrib", "prometheus", "blinkupd.rules.yml"))
RULES_TEST = os.path.join(SRC, "tests", "prometheus", "blinkupd.rules.test.yml")
MAN = os.path.join(SRC, "man", "blinkupd-metrics.7.in")
# Faults and counts are tested here, not timing: 60 bits/s, the most lateness a bit allows and
# retries, so that a machine busy with other work does not turn a blink into a timing fault.
TOLERANT = "[LED]\nFast=no\n[RealTime]\nMaxLatenessUs=15000\nTimingFaultRetries=10\n"
# the longest an attempt, or Prometheus catching up with the file, may take on a loaded machine
LONG = 120
SCRAPE = 60

KINDS = ("factory", "clear")
OUTCOMES = ("success", "Auth", "Cancelled", "Gpio", "NotFactoryFixture", "Record", "Server", "Timeout", "TimingFault")
CONFIRMATIONS = ("confirmed", "Server", "Timeout", "Auth", "NotFactoryFixture")
STATUSES = ("unknown", "verified", "not-a-fixture", "unreachable")
LATENESS_LE = ("1e-05", "2.5e-05", "5e-05", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "+Inf")
SERVER_LE = ("0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "+Inf")
CONFIRM_LE = ("1", "2.5", "5", "10", "30", "60", "120", "300", "600", "+Inf")
# the families in the order of the spec: (name, type, only with [Results] URL=)
FAMILIES = (
    ("blinkupd_build_info", "gauge", False),
    ("blinkupd_up", "gauge", False),
    ("blinkupd_start_time_seconds", "gauge", False),
    ("blinkupd_attempts_total", "counter", False),
    ("blinkupd_frames_sent_total", "counter", False),
    ("blinkupd_frames_resent_total", "counter", False),
    ("blinkupd_timing_faults_total", "counter", False),
    ("blinkupd_edge_lateness_seconds", "histogram", False),
    ("blinkupd_server_request_duration_seconds", "histogram", False),
    ("blinkupd_confirmations_total", "counter", False),
    ("blinkupd_confirmation_duration_seconds", "histogram", False),
    ("blinkupd_last_success_timestamp_seconds", "gauge", False),
    ("blinkupd_factory_status", "gauge", False),
    ("blinkupd_results_backlog", "gauge", True),
    ("blinkupd_results_parked", "gauge", True),
    ("blinkupd_results_last_delivery_timestamp_seconds", "gauge", True),
)


# ---- the exposition format, read here independently of the daemon ----

_SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')


def _labels(text):
    """{name: value} of a label set '{a="x",b="y"}' (text without the braces)."""
    labels, i = {}, 0
    while i < len(text):
        m = _LABEL.match(text, i)
        check(m, "bad label set {%s}" % text)
        value = re.sub(r"\\(.)", lambda e: {"n": "\n"}.get(e.group(1), e.group(1)), m.group(2))
        check(m.group(1) not in labels, "label %s twice in {%s}" % (m.group(1), text))
        labels[m.group(1)] = value
        i = m.end()
    return labels


def parse(text):
    """The families of an exposition text, in file order: [(name, help, type, [(sample name,
    {labels}, value)])]. Strict: HELP then TYPE before a family's samples, no timestamps, every
    sample of the family it follows, every line ended by a newline."""
    check(text.endswith("\n"), "the file does not end with a newline")
    fams = []
    for n, line in enumerate(text[:-1].split("\n"), 1):
        where = "line %d %r" % (n, line)
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            check(help_text and all(f[0] != name for f in fams), "HELP: " + where)
            fams.append([name, help_text, None, []])
        elif line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            check(fams and fams[-1][0] == name and fams[-1][2] is None and not fams[-1][3], "TYPE: " + where)
            check(typ in ("counter", "gauge", "histogram"), "type: " + where)
            fams[-1][2] = typ
        else:
            m = _SAMPLE.match(line)
            check(m and fams and fams[-1][2] is not None, "sample outside a family: " + where)
            name, fam, typ = m.group(1), fams[-1][0], fams[-1][2]
            allowed = {fam} if typ != "histogram" else {fam + "_bucket", fam + "_sum", fam + "_count"}
            check(name in allowed, "sample of another family: " + where)
            try:
                value = float(m.group(3))
            except ValueError:
                raise Failure("value: " + where)
            fams[-1][3].append((name, _labels(m.group(2)[1:-1] if m.group(2) else ""), value))
    return [tuple(f) for f in fams]


def series(fams):
    """{(sample name, frozenset of label items): value} of every sample."""
    out = {}
    for _, _, _, samples in fams:
        for name, labels, value in samples:
            key = (name, frozenset(labels.items()))
            check(key not in out, "sample twice: %s %r" % (name, labels))
            out[key] = value
    return out


def value(s, name, **labels):
    key = (name, frozenset(labels.items()))
    check(key in s, "no sample %s%r" % (name, labels))
    return s[key]


def check_histogram(s, name, les, **labels):
    """The buckets exactly les, cumulative, +Inf equal to _count; returns _count."""
    got = sorted(dict(k[1])["le"] for k in s if k[0] == name + "_bucket"
                 and {a: b for a, b in k[1] if a != "le"} == labels)
    check(sorted(les) == got, "%s%r: buckets %r" % (name, labels, got))
    counts = [value(s, name + "_bucket", le=le, **labels) for le in les]
    check(all(a <= b for a, b in zip(counts, counts[1:])), "%s%r: buckets not cumulative: %r" % (name, labels, counts))
    count = value(s, name + "_count", **labels)
    check(counts[-1] == count, "%s%r: +Inf %r, _count %r" % (name, labels, counts[-1], count))
    check(value(s, name + "_sum", **labels) >= 0, "%s%r: _sum" % (name, labels))
    return count


def check_file(path, results=False):
    """The file against the spec: families, order, HELP and TYPE, every series always present,
    the histograms' buckets, one factory status. Returns its samples (series())."""
    with open(path) as f:
        text = f.read()
    fams = parse(text)
    want = [(n, t) for n, t, r in FAMILIES if results or not r]
    check([(f[0], f[2]) for f in fams] == want,
          "families %r, expected %r" % ([(f[0], f[2]) for f in fams], want))
    s = series(fams)
    check(len([k for k in s if k[0] == "blinkupd_build_info"]) == 1, "blinkupd_build_info: one series")
    info = dict(next(k for k in s if k[0] == "blinkupd_build_info")[1])
    check(set(info) == {"version", "libgpiod_api", "release"} and info["version"], "build_info labels %r" % info)
    check(value(s, "blinkupd_build_info", **info) == 1, "blinkupd_build_info is not 1")
    attempts = {dict(k[1])["kind"] + "/" + dict(k[1])["outcome"] for k in s if k[0] == "blinkupd_attempts_total"}
    check(attempts == {k + "/" + o for k in KINDS for o in OUTCOMES}, "blinkupd_attempts_total series: %r" % attempts)
    check({dict(k[1])["outcome"] for k in s if k[0] == "blinkupd_confirmations_total"} == set(CONFIRMATIONS),
          "blinkupd_confirmations_total series")
    check_histogram(s, "blinkupd_edge_lateness_seconds", LATENESS_LE)
    for step in ("verify", "token"):
        check_histogram(s, "blinkupd_server_request_duration_seconds", SERVER_LE, step=step)
    check_histogram(s, "blinkupd_confirmation_duration_seconds", CONFIRM_LE)
    st = [value(s, "blinkupd_factory_status", status=x) for x in STATUSES]
    check(sorted(st) == [0, 0, 0, 1] and len([k for k in s if k[0] == "blinkupd_factory_status"]) == 4,
          "blinkupd_factory_status %r" % st)
    for k, v in s.items():
        check(not math.isnan(v) and (v >= 0 or k[0] == "blinkupd_start_time_seconds"), "negative: %r %r" % (k, v))
    return s


def promtool_check(path):
    """promtool check metrics on the file: accepted, with nothing to say (no lint complaints)."""
    with open(path, "rb") as f:
        p = subprocess.run([PROMTOOL, "check", "metrics"], stdin=f, capture_output=True, text=True, timeout=60)
    check(p.returncode == 0 and not p.stdout.strip() and not p.stderr.strip(),
          "promtool check metrics: exit %d:\n%s%s" % (p.returncode, p.stdout, p.stderr))


def status(s):
    return next(x for x in STATUSES if value(s, "blinkupd_factory_status", status=x) == 1)


def counts(s, name, label, keys):
    return {k: value(s, name, **{label: k}) for k in keys}


# ---- attempts, as the bus reports them ----

class Tally:
    """What a case caused: every attempt's kind and the outcome its Finished signal named, and
    the confirmations that the bus reported."""

    def __init__(self):
        self.attempts = {(k, o): 0 for k in KINDS for o in OUTCOMES}
        self.confirmed = 0
        self.blinked = 0   # attempts whose blink began (successes and the cancelled one)

    def outcome(self, kind, fin):
        o = "success" if fin[1] is True else fin[2][len(ERR):] if fin[2].startswith(ERR) else fin[2]
        check(o in OUTCOMES, "attempt %d: Finished %r" % (fin[0], fin))
        self.attempts[(kind, o)] += 1
        return o


def run_attempt(d, tally, method="BlinkUp", expect="success", kind="factory"):
    rc, out, err = d.call(method)
    check(rc == 0, "%s: %s" % (method, err))
    aid = attempt_id(out)
    fin = d.wait_signal("Finished", lambda a: a[0] == aid, LONG)
    got = tally.outcome(kind, fin)
    check(got == expect, "attempt %d (%s): %s, expected %s: %r" % (aid, method, got, expect, fin))
    if got == "success":
        tally.blinked += 1
        if kind == "factory":
            d.wait_signal("Confirmed", lambda a: a[0] == aid, LONG)
            tally.confirmed += 1
    return aid


def cancelled_attempt(d, tally):
    rc, out, err = d.call("BlinkUp")
    check(rc == 0, "BlinkUp: " + err)
    aid = attempt_id(out)
    d.wait_signal("StateChanged", lambda a: a[0] == aid and a[1] == "blinking", LONG)
    # let the first frame begin (60 bits/s: a frame lasts seconds)
    time.sleep(0.5)
    rc, out, err = d.call("Cancel")
    check(rc == 0, "Cancel: " + err)
    fin = d.wait_signal("Finished", lambda a: a[0] == aid, LONG)
    check(tally.outcome("factory", fin) == "Cancelled", "the cancelled attempt: %r" % (fin,))
    tally.blinked += 1
    return aid


def blinked_frames(d):
    """The frames= of every blinked line of the record."""
    total = 0
    for line in d.record():
        if " event=blinked " in line:
            total += int(re.search(r" frames=(\d+)", line).group(1))
    return total


def check_counts(s, d, tally):
    """The file's counters against what the case caused."""
    got = {(k, o): value(s, "blinkupd_attempts_total", kind=k, outcome=o) for k in KINDS for o in OUTCOMES}
    check(got == tally.attempts, "blinkupd_attempts_total:\n  file %r\n  bus  %r"
          % ({k: v for k, v in got.items() if v}, {k: v for k, v in tally.attempts.items() if v}))
    conf = counts(s, "blinkupd_confirmations_total", "outcome", CONFIRMATIONS)
    check(conf == dict({o: 0 for o in CONFIRMATIONS}, confirmed=tally.confirmed), "confirmations %r" % conf)
    check(check_histogram(s, "blinkupd_confirmation_duration_seconds", CONFIRM_LE) == tally.confirmed,
          "blinkupd_confirmation_duration_seconds_count")
    sent = value(s, "blinkupd_frames_sent_total")
    resent = value(s, "blinkupd_frames_resent_total")
    faults = value(s, "blinkupd_timing_faults_total")
    # the blinked lines' frames, and at least one for each blink that did not end clean (cancelled)
    unfinished = tally.blinked - sum(v for (k, o), v in tally.attempts.items() if o == "success")
    check(sent >= blinked_frames(d) + unfinished,
          "blinkupd_frames_sent_total %r, the record has %d frames blinked" % (sent, blinked_frames(d)))
    check(resent <= faults and sent - resent >= tally.blinked, "frames sent %r, resent %r, timing faults %r"
          % (sent, resent, faults))
    check(check_histogram(s, "blinkupd_edge_lateness_seconds", LATENESS_LE) > 0, "no edge lateness counted")
    check(check_histogram(s, "blinkupd_server_request_duration_seconds", SERVER_LE, step="token")
          >= tally.attempts[("factory", "success")], "fewer token requests timed than factory attempts blinked")
    check(check_histogram(s, "blinkupd_server_request_duration_seconds", SERVER_LE, step="verify") >= 1,
          "no fixture check timed")


def file_when(path, pred, what, timeout=LONG, results=False):
    """Waits until the file exists, parses and satisfies pred(samples); returns the samples."""
    last = ["missing"]

    def ok():
        try:
            s = check_file(path, results)
        except FileNotFoundError:
            return None
        except Failure as e:
            last[0] = str(e)
            return None
        try:
            return s if pred(s) else None
        except Failure as e:
            last[0] = str(e)
            return None
    try:
        return wait_for(ok, timeout, what)
    except Failure as e:
        raise Failure("%s; last: %s" % (e, last[0]))


def textfile_dir(w, name):
    path = os.path.join(w, name)
    os.mkdir(path)
    os.chmod(path, 0o755)
    return path


def leftovers(tdir):
    return [f for f in os.listdir(tdir) if f.startswith(".blinkupd.prom.")]


# ---- the node exporter and Prometheus ----

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


@contextlib.contextmanager
def process(argv, log):
    """argv running (output to log) for the block; ended (SIGTERM, then SIGKILL) after it."""
    with open(log, "w") as out:
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        yield p
    finally:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def tail(log, n=15):
    try:
        with open(log, errors="replace") as f:
            return "\n    ".join(f.read().splitlines()[-n:])
    except OSError:
        return "(no log)"


def wait_http(p, url, log, what):
    def up():
        check(p.poll() is None, "%s exited (status %r):\n    %s" % (what, p.returncode, tail(log)))
        try:
            return http_get(url)[0] == 200
        except (OSError, urllib.error.URLError):
            return False
    wait_for(up, SCRAPE, what + " at " + url)


@contextlib.contextmanager
def monitoring(w, tdir):
    """prometheus-node-exporter serving tdir and prometheus scraping it every second and
    evaluating the example rules, both on loopback ports of their own; yields query(expr)."""
    base = os.path.join(w, "prom-%d" % free_port())
    os.mkdir(base)
    ne_port = prom_port = free_port()
    while prom_port == ne_port:
        prom_port = free_port()
    ne_log, prom_log = os.path.join(base, "node-exporter.log"), os.path.join(base, "prometheus.log")
    conf = os.path.join(base, "prometheus.yml")
    with open(conf, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
                "rule_files:\n  - %s\n"
                "scrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['127.0.0.1:%d']\n"
                % (json.dumps(RULES), ne_port))
    with process([NODE_EXPORTER, "--collector.disable-defaults", "--collector.textfile",
                  "--collector.textfile.directory=" + tdir, "--web.listen-address=127.0.0.1:%d" % ne_port],
                 ne_log) as ne:
        wait_http(ne, "http://127.0.0.1:%d/metrics" % ne_port, ne_log, "prometheus-node-exporter")
        with process([PROMETHEUS, "--config.file=" + conf, "--storage.tsdb.path=" + os.path.join(base, "data"),
                      "--web.listen-address=127.0.0.1:%d" % prom_port], prom_log) as prom:
            api = "http://127.0.0.1:%d" % prom_port
            wait_http(prom, api + "/-/ready", prom_log, "prometheus")

            def query(expr):
                """The result of an instant query: [(labels, value)]; raises Failure when
                Prometheus does not evaluate it."""
                check(prom.poll() is None, "prometheus exited:\n    " + tail(prom_log))
                url = api + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
                try:
                    _, body = http_get(url, 30)
                except urllib.error.HTTPError as e:
                    raise Failure("query %s: HTTP %d %s" % (expr, e.code, e.read().decode(errors="replace")))
                r = json.loads(body)
                check(r.get("status") == "success", "query %s: %r" % (expr, r))
                data = r["data"]
                if data["resultType"] == "scalar":
                    return [({}, float(data["result"][1]))]
                check(data["resultType"] == "vector", "query %s: %r" % (expr, data))
                return [(x["metric"], float(x["value"][1])) for x in data["result"]]
            query.api = api
            query.log = prom_log
            yield query


def wait_query(query, expr, pred, what):
    last = [None]

    def ok():
        last[0] = query(expr)
        return pred(last[0])
    try:
        wait_for(ok, SCRAPE, what)
        return last[0]
    except Failure as e:
        raise Failure("%s; %s returned %r" % (e, expr, last[0]))


def man_queries():
    """The example queries of blinkupd-metrics(7): each line of an .EX block right after a
    line '.\\" promql', roff escapes undone."""
    with open(MAN) as f:
        lines = f.read().split("\n")
    found = []
    for i, line in enumerate(lines):
        if line != '.\\" promql':
            continue
        check(lines[i + 1] == ".EX", "%s:%d: the marker is not followed by .EX" % (MAN, i + 1))
        j = i + 2
        while lines[j] != ".EE":
            q = lines[j].replace("\\-", "-").replace("\\e", "\\")
            check("\\" not in q and not q.startswith("."), "%s:%d: %r" % (MAN, j + 1, lines[j]))
            found.append(q)
            j += 1
    return found


# ---- the cases ----

def case_file(w, srv):
    """The file at start, after attempts of every kind of outcome and at a clean stop:
    accepted by promtool check metrics without a word, as the spec has it, and counting what
    the bus reported."""
    srv.reset(device_id="00c0ffee00c0ffee")
    tdir = textfile_dir(w, "textfile-file")
    prom = os.path.join(tdir, "blinkupd.prom")
    t0 = time.time()
    d = Daemon(w, srv, extra=TOLERANT + "[Metrics]\nTextfileDirectory=%s\n" % tdir)
    tally = Tally()
    try:
        s = file_when(prom, lambda s: True, "blinkupd.prom after start")
        promtool_check(prom)
        check(os.stat(prom).st_mode & 0o777 == 0o644, "mode %o" % (os.stat(prom).st_mode & 0o777))
        check(value(s, "blinkupd_up") == 1, "blinkupd_up at start")
        start = value(s, "blinkupd_start_time_seconds")
        check(t0 - 5 <= start <= time.time() + 5, "blinkupd_start_time_seconds %r, started at %r" % (start, t0))
        check(all(v == 0 for k, v in s.items() if k[0] in ("blinkupd_attempts_total", "blinkupd_confirmations_total",
                                                           "blinkupd_frames_sent_total")), "counters at start")
        check(value(s, "blinkupd_last_success_timestamp_seconds") == 0, "last success at start")

        run_attempt(d, tally)
        run_attempt(d, tally, "Clear", kind="clear")
        # a server failure: the enrollment token refused with 500
        srv.reset(device_id="00c0ffee00c0ffee",
                  faults=[{"method": "POST", "path": "/enroll", "action": "status", "status": 500, "count": -1}])
        run_attempt(d, tally, expect="Server")
        # not a factory fixture: the file follows the factory status
        srv.reset(fixture_group="development_devicegroup")
        run_attempt(d, tally, expect="NotFactoryFixture")
        file_when(prom, lambda s: status(s) == "not-a-fixture", "factory status not-a-fixture in the file")
        srv.reset(device_id="00c0ffee00c0ffee")
        cancelled_attempt(d, tally)
        run_attempt(d, tally)
        t_success = time.time()
        s = file_when(prom, lambda s: (value(s, "blinkupd_confirmations_total", outcome="confirmed")
                                       == tally.confirmed and status(s) == "verified"),
                      "the last confirmation in the file")
        promtool_check(prom)
        check_counts(s, d, tally)
        last = value(s, "blinkupd_last_success_timestamp_seconds")
        check(t0 <= last <= t_success + 5, "blinkupd_last_success_timestamp_seconds %r" % last)
        check(not leftovers(tdir), "temporary files left: %r" % leftovers(tdir))
        print("  attempts %r, confirmed %d, frames sent %d" % ({k: v for k, v in tally.attempts.items() if v},
              tally.confirmed, value(s, "blinkupd_frames_sent_total")), flush=True)

        check(d.stop() == 0, "blinkupd did not exit cleanly")
        s = check_file(prom)
        promtool_check(prom)
        check(value(s, "blinkupd_up") == 0, "blinkupd_up after a clean stop")
        check_counts(s, d, tally)
    finally:
        d.stop()


def case_prometheus(w, srv):
    """The node exporter serves the directory, Prometheus scrapes it: PromQL counts what the
    bus reported, the textfile collector reads the file without error, the example rules
    evaluate and every example query of the man page runs."""
    srv.reset(device_id="00c0ffee00c0ffee")
    tdir = textfile_dir(w, "textfile-prometheus")
    prom = os.path.join(tdir, "blinkupd.prom")
    t0 = time.time()
    d = Daemon(w, srv, extra=TOLERANT + "[Metrics]\nTextfileDirectory=%s\n" % tdir)
    tally = Tally()
    try:
        file_when(prom, lambda s: True, "blinkupd.prom after start")
        with monitoring(w, tdir) as query:
            # the counters at 0 first, so that increase() sees the attempts
            wait_query(query, "blinkupd_up", lambda r: [v for _, v in r] == [1], "blinkupd_up 1")
            run_attempt(d, tally)
            run_attempt(d, tally)
            run_attempt(d, tally, "Clear", kind="clear")
            srv.reset(fixture_group="development_devicegroup")
            run_attempt(d, tally, expect="NotFactoryFixture")
            srv.reset(device_id="00c0ffee00c0ffee")
            run_attempt(d, tally)

            wait_query(query, 'blinkupd_attempts_total{kind="factory",outcome="success"}',
                       lambda r: [v for _, v in r] == [tally.attempts[("factory", "success")]],
                       "the factory successes")
            by_outcome = {o: sum(v for (k, oo), v in tally.attempts.items() if oo == o) for o in OUTCOMES}
            wait_query(query, "sum by (outcome) (blinkupd_attempts_total)",
                       lambda r: {m.get("outcome"): v for m, v in r} == by_outcome, "attempts by outcome")
            wait_query(query, 'sum(blinkupd_confirmations_total{outcome="confirmed"})',
                       lambda r: [v for _, v in r] == [tally.confirmed], "the confirmations")
            wait_query(query, "node_textfile_scrape_error", lambda r: [v for _, v in r] == [0],
                       "node_textfile_scrape_error 0")
            r = wait_query(query, 'node_textfile_mtime_seconds{file=~"(.*/)?blinkupd[.]prom"}',
                           lambda r: len(r) == 1 and r[0][1] >= t0 - 1, "the file's mtime")
            check(r[0][1] <= time.time() + 1, "node_textfile_mtime_seconds %r in the future" % r[0][1])
            # the example rules: every one evaluated without error
            def rules_ok():
                _, body = http_get(query.api + "/api/v1/rules")
                rules = [r for g in json.loads(body)["data"]["groups"] for r in g["rules"]]
                bad = [(r["name"], r.get("health"), r.get("lastError")) for r in rules if r.get("health") != "ok"]
                return (rules, bad) if len(rules) >= 10 and not bad else None
            try:
                rules, _ = wait_for(rules_ok, SCRAPE, "every example rule evaluated")
            except Failure:
                _, body = http_get(query.api + "/api/v1/rules")
                raise Failure("rules not all healthy: %s" % body[:2000])
            # the recording rules see the attempts
            wait_query(query, 'instance_outcome:blinkupd_factory_attempts:increase1h{outcome="NotFactoryFixture"}',
                       lambda r: len(r) == 1 and r[0][1] > 0, "the recorded NotFactoryFixture attempts")
            # the man page's examples
            queries = man_queries()
            check(len(queries) >= 10, "only %d example queries found in %s" % (len(queries), MAN))
            for q in queries:
                query(q)
            # the lateness of the edges blinked: a number, at most the last finite bucket
            r = wait_query(query, "histogram_quantile(0.99, sum by (instance, le) "
                           "(rate(blinkupd_edge_lateness_seconds_bucket[1h])))",
                           lambda r: len(r) == 1 and not math.isnan(r[0][1]), "a p99 of the edge lateness")
            check(0 <= r[0][1] <= 0.01, "p99 edge lateness %r" % r[0][1])
            wait_query(query, "instance:blinkupd_factory_yield:ratio1h", lambda r: len(r) == 1 and 0 < r[0][1] < 1,
                       "a yield between 0 and 1")
            print("  %d rules evaluated, %d example queries run" % (len(rules), len(queries)), flush=True)

            check(d.stop() == 0, "blinkupd did not exit cleanly")
            wait_query(query, "blinkupd_up", lambda r: [v for _, v in r] == [0], "blinkupd_up 0 after the stop")
            wait_query(query, "blinkupd_up == 0", lambda r: len(r) == 1, "the stopped daemon in blinkupd_up == 0")
    finally:
        d.stop()


def case_write_failure(w, srv):
    """The directory replaced by a regular file (a write fails even for root): one warning
    naming the path, attempts go on; the directory back: the next write succeeds, says so and
    counts every attempt."""
    srv.reset()
    tdir = textfile_dir(w, "textfile-failure")
    prom = os.path.join(tdir, "blinkupd.prom")
    d = Daemon(w, srv, extra=TOLERANT + "[Metrics]\nTextfileDirectory=%s\n" % tdir)
    tally = Tally()
    try:
        # again with the log level of each line (<N> prefixes, as for the journal)
        check(d.kill(signal.SIGTERM) == 0, "blinkupd did not exit cleanly")
        st = os.fstat(d.log.fileno())
        os.environ["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
        try:
            d.restart()
        finally:
            del os.environ["JOURNAL_STREAM"]
        file_when(prom, lambda s: value(s, "blinkupd_up") == 1, "blinkupd.prom after the restart")
        d.log.flush()
        mark = len(d.stderr())

        away = tdir + ".away"
        os.rename(tdir, away)
        with open(tdir, "w") as f:
            f.write("not a directory\n")
        for _ in range(3):
            run_attempt(d, tally, "Clear", kind="clear")
        log = d.stderr()[mark:]
        warned = [l for l in log.splitlines() if tdir in l]
        check(len(warned) == 1 and warned[0].startswith("<4>"),
              "expected one warning naming %s, the log has:\n    %s" % (tdir, "\n    ".join(log.splitlines()[-20:])))
        print("  %s" % warned[0], flush=True)

        os.unlink(tdir)
        os.rename(away, tdir)
        run_attempt(d, tally, "Clear", kind="clear")
        file_when(prom, lambda s: value(s, "blinkupd_attempts_total", kind="clear", outcome="success") == 4,
                  "the file written again with the 4 attempts")
        promtool_check(prom)
        log = d.stderr()[mark:]
        after = log.split(warned[0], 1)[1].splitlines()
        recovered = [l for l in after if l.startswith("<6>") and ("blinkupd.prom" in l or tdir in l)]
        check(len(recovered) == 1, "expected one info line on the recovery, the log has after the warning:\n    %s"
              % "\n    ".join(after[-20:]))
        check(not any(l.startswith(("<4>", "<3>")) and tdir in l for l in after), "another warning: %r" % after)
        print("  %s" % recovered[0], flush=True)
        check(all(v == 0 for (k, o), v in tally.attempts.items() if (k, o) != ("clear", "success")), "attempts failed")
        check(d.stop() == 0, "blinkupd did not exit cleanly")
    finally:
        d.stop()
        if os.path.isfile(tdir):
            os.unlink(tdir)


def case_results_and_reload(w, srv):
    """With [Results] URL=: the results families, the backlog while the endpoint is down and
    the delivery once it is up; a reload replaces the file (a new inode: rename()); a reload
    that moves TextfileDirectory= removes the old file and writes the new one."""
    srv.reset(device_id="00c0ffee00c0ffee")
    tdir = textfile_dir(w, "textfile-results")
    prom = os.path.join(tdir, "blinkupd.prom")
    token = os.path.join(w, "results-token-metrics")
    with open(os.open(token, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        f.write("metrics-token-1\n")
    rcv = ResultsReceiver(srv.pki)
    d = None
    try:
        rcv.set_mode("down")
        d = Daemon(w, srv, extra=TOLERANT + "[Results]\nURL=%s\nTokenFile=%s\nRetryMaxSec=1\n"
                   "[Metrics]\nTextfileDirectory=%s\n" % (rcv.url, token, tdir))
        tally = Tally()
        wait_for(lambda: os.path.exists(prom), LONG, "blinkupd.prom after start")
        s = check_file(prom, results=True)
        promtool_check(prom)
        check(value(s, "blinkupd_results_last_delivery_timestamp_seconds") == 0, "a delivery before any")
        run_attempt(d, tally)
        s = file_when(prom, lambda s: value(s, "blinkupd_results_backlog") >= 1
                      and value(s, "blinkupd_results_backlog") == d.prop("ResultsBacklog"),
                      "the backlog in the file as on the bus", results=True)
        print("  backlog %d while the endpoint is down" % value(s, "blinkupd_results_backlog"), flush=True)
        rcv.set_mode("ok")
        t = time.time()
        s = file_when(prom, lambda s: value(s, "blinkupd_results_backlog") == 0
                      and value(s, "blinkupd_results_last_delivery_timestamp_seconds") > 0,
                      "the backlog delivered, in the file", results=True)
        check(value(s, "blinkupd_results_last_delivery_timestamp_seconds") >= t - 5, "the last delivery's time")
        check(value(s, "blinkupd_results_parked") == 0, "parked documents")
        promtool_check(prom)
        before = os.stat(prom).st_ino
        rc, out, err = d.call("Reload")
        check(rc == 0, "Reload: " + err)
        wait_for(lambda: os.stat(prom).st_ino != before, LONG, "blinkupd.prom replaced after the reload")
        check_counts(check_file(prom, results=True), d, tally)
        tdir2 = textfile_dir(w, "textfile-moved")
        prom2 = os.path.join(tdir2, "blinkupd.prom")
        with open(d.conf) as f:
            conf = f.read()
        with open(d.conf, "w") as f:
            f.write(conf.replace("TextfileDirectory=%s\n" % tdir, "TextfileDirectory=%s\n" % tdir2))
        rc, out, err = d.call("Reload")
        check(rc == 0, "Reload: " + err)
        wait_for(lambda: os.path.exists(prom2), LONG, "blinkupd.prom in the new directory after the reload")
        check(not os.path.exists(prom), "the old directory's blinkupd.prom is still there")
        check_counts(check_file(prom2, results=True), d, tally)
        check(d.stop() == 0, "blinkupd did not exit cleanly")
    finally:
        if d is not None:
            d.stop()
        rcv.stop()


def case_rules(w, srv):
    """The example rules pass promtool check rules and their unit tests (promtool test rules)."""
    for args in (["check", "rules", RULES], ["test", "rules", RULES_TEST]):
        p = subprocess.run([PROMTOOL] + args, capture_output=True, text=True, timeout=120)
        check(p.returncode == 0, "promtool %s: exit %d:\n%s%s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
        print("  promtool %s: %s" % (" ".join(args[:2]), " ".join(p.stdout.split()[-3:])), flush=True)


def case_textfile_format(w, srv):
    """The parser of this file on hand-written text: it must reject what the spec forbids,
    so that a pass above means something."""
    good = ("# HELP blinkupd_up 1 while the daemon runs; 0 when it stopped cleanly.\n"
            "# TYPE blinkupd_up gauge\nblinkupd_up 1\n")
    check(series(parse(good)) == {("blinkupd_up", frozenset()): 1.0}, "a good family")
    for bad in (good[:-1], good.replace("# TYPE blinkupd_up gauge\n", ""), good.replace("up 1\n", "up 1 1700000000\n"),
                good + "blinkupd_down 1\n", good.replace("blinkupd_up 1", 'blinkupd_up{a="x",a="y"} 1')):
        try:
            parse(bad)
        except Failure:
            continue
        raise Failure("the parser accepted %r" % bad)


if __name__ == "__main__":
    missing = [n for n, p in (("promtool (Debian: prometheus)", PROMTOOL), ("prometheus", PROMETHEUS),
                              ("prometheus-node-exporter", NODE_EXPORTER)) if not p]
    if missing:
        print("SKIP: not installed: " + ", ".join(missing))
        sys.exit(77)
    sys.exit(run_cases(globals(), "blinkupd-metrics-", sys.argv[1:]))
