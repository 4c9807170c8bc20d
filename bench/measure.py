# SPDX-License-Identifier: MIT
"""The daemon half of bench/run: start-up, idle cost, press-to-light and line throughput of the
real blinkupd on a private session bus with simulated lines, against the local HTTPS factory
server (tests/helpers/factory-server.py). Reads bench/timing's output of the same run, prints the whole
table, writes the pictures, and ends with the one-line summary. Run by bench/run inside
dbus-run-session; standard library only.

Clocks: every time here is CLOCK_MONOTONIC (time.monotonic_ns()), the clock of the simulated
line's VCD trace, of the factory server's request log and of the daemon's deadlines."""

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "helpers"))
sys.path.insert(0, os.path.join(SRC, "tools"))
from harness import LOGIN_KEY, NAME, PASSWORD, PATH, FactoryServer, https_pid  # noqa: E402

FRAME = dict(ssid="Factory", password=PASSWORD, plan_id="0123456789abcdef", token="fedcba9876543210")
FIXTURE_ID = "0123456789abcdef"
T_START = time.monotonic()


def say(text=""):
    print(text, flush=True)


def note(text):
    print("bench: [%4.1f s] %s" % (time.monotonic() - T_START, text), file=sys.stderr, flush=True)


def pct(values, p):
    """Nearest rank, like the transmitter's own figures."""
    v = sorted(values)
    if not v:
        return float("nan")
    k = max(1, -(-len(v) * p // 100))
    return v[int(k) - 1]


# ---- VCD ----

def vcd_edges(text):
    """[(t_ns, level)] of the level changes in VCD text (the $dumpvars initial value left out)."""
    edges, t, dump = [], 0, False
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("$dumpvars"):
            dump = True
        elif line.startswith("$end") and dump:
            dump = False
        elif line.startswith("#"):
            t = int(line[1:])
        elif line in ("0!", "1!") and not dump:
            edges.append((t, int(line[0])))
    return edges


class Waveform:
    """The ideal waveform of the default frame at a rate, from blinkupctl encode --format=vcd."""

    def __init__(self, build, fast):
        args = [os.path.join(build, "src", "blinkupctl"), "encode", "--format=vcd"]
        args += ["--%s=%s" % (k.replace("_", "-"), v) for k, v in FRAME.items()]
        if fast:
            args.append("--fast")
        text = subprocess.run(args, check=True, capture_output=True, text=True).stdout
        self.rate = 142 if fast else 60
        self.edges = vcd_edges(text)
        self.duration_ns = max(int(m) for m in re.findall(r"^#(\d+)$", text, re.M))
        self.first_light_ns = next(t for t, level in self.edges if level == 0)  # active-low
        self.bit_ns = 1e9 / self.rate
        self.lead_in_bits = round(self.first_light_ns / self.bit_ns) - 1  # preamble bit 0 is dark


# ---- the sd_notify side: a datagram socket of our own as NOTIFY_SOCKET ----

class Notify:
    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.msgs = []  # (t_ns received, text)
        self.cond = threading.Condition()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:
                return
            t = time.monotonic_ns()
            with self.cond:
                self.msgs.append((t, data.decode(errors="replace")))
                self.cond.notify_all()

    def wait(self, pred, start=0, timeout=10.0):
        """The first message from index start on that satisfies pred: (index, t_ns, text)."""
        end = time.monotonic() + timeout
        with self.cond:
            i = start
            while True:
                while i < len(self.msgs):
                    t, m = self.msgs[i]
                    if pred(m):
                        return i, t, m
                    i += 1
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no notification matching the wait (last: %r)" %
                                       (self.msgs[-1][1] if self.msgs else None))
                self.cond.wait(left)

    def count(self):
        with self.cond:
            return len(self.msgs)

    def close(self):
        self.sock.close()
        os.unlink(self.path)


# ---- one daemon ----

class Daemon:
    serial = 0

    def __init__(self, build, work, server, fast=True, prefetch=False, debounce_ms=0, watchdog_usec=None,
                 log_level="info", state_parent=None, extra="", state_dir=None):
        """extra: configuration text appended at the end (sections of its own, e.g. [Results]);
        state_dir: a state directory prepared by the caller (a record written beforehand)."""
        Daemon.serial += 1
        self.dir = tempfile.mkdtemp(prefix="d%d-" % Daemon.serial, dir=work)
        self.trace = os.path.join(self.dir, "led.vcd")
        self.fifo = os.path.join(self.dir, "button")
        self.conf = os.path.join(self.dir, "blinkupd.conf")
        state = state_dir or (tempfile.mkdtemp(prefix="state-", dir=state_parent) if state_parent
                              else os.path.join(self.dir, "state"))
        os.makedirs(state, exist_ok=True)
        self.state_tmp = state if state_parent else None
        key = os.path.join(self.dir, "login-key")
        with open(os.open(key, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(LOGIN_KEY + "\n")
        text = f"""# bench/run
[WiFi]
SSID={FRAME["ssid"]}
Password={FRAME["password"]}
[LED]
Chip=sim
Fast={"yes" if fast else "no"}
[Button]
Chip=sim
DebounceMs={debounce_ms}
[Server]
URL={server.url}
LoginKeyFile={key}
CAFile={os.path.join(server.pki, "ca.pem")}
FixtureId={FIXTURE_ID}
TimeoutSec=5
ConfirmTimeoutSec=30
PrefetchToken={"yes" if prefetch else "no"}
[Simulation]
Trace={self.trace}
ButtonFifo={self.fifo}
[Daemon]
StateDirectory={state}
{extra}"""
        with open(os.open(self.conf, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(text)
        self.notify = Notify(os.path.join(self.dir, "notify"))
        self.log = open(os.path.join(self.dir, "stderr.log"), "w+")
        env = dict(os.environ, NOTIFY_SOCKET=self.notify.path, BLINKUPD_LOG_LEVEL=log_level,
                   BLINKUPD_HTTPS_PATH=os.path.join(build, "src", "blinkupd-https"))
        env.pop("WATCHDOG_USEC", None)
        env.pop("WATCHDOG_PID", None)
        if watchdog_usec:
            env["WATCHDOG_USEC"] = str(watchdog_usec)
        self.trace_pos = 0
        self.t_start = time.monotonic_ns()
        self.proc = subprocess.Popen([os.path.join(build, "src", "blinkupd"), "--user-bus", "--config=" + self.conf],
                                     stdout=self.log, stderr=self.log, env=env)
        self.pid = self.proc.pid
        self.fifo_fd = None

    def wait_ready(self, timeout=10.0):
        try:
            _, t, _ = self.notify.wait(lambda m: "READY=1" in m.split("\n"), 0, timeout)
        except TimeoutError:
            raise RuntimeError("blinkupd did not send READY=1: " + self.stderr()[-2000:])
        return t

    def wait_status(self, needle, start=0, timeout=10.0):
        return self.notify.wait(lambda m: needle in m, start, timeout)

    def stderr(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def count_log(self, needle):
        return self.stderr().count(needle)

    def wait_log(self, needle, n, timeout=10.0):
        end = time.monotonic() + timeout
        while self.count_log(needle) < n:
            if time.monotonic() > end or self.proc.poll() is not None:
                raise RuntimeError("blinkupd did not log %r: %s" % (needle, self.stderr()[-2000:]))
            time.sleep(0.005)

    def press(self):
        """Writes a press and a release to the button FIFO; returns the time of the press byte."""
        if self.fifo_fd is None:
            self.fifo_fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
        t = time.monotonic_ns()
        os.write(self.fifo_fd, b"1")
        os.write(self.fifo_fd, b"0")
        return t

    def new_edges(self):
        """Level changes the trace gained since the last call."""
        with open(self.trace) as f:
            f.seek(self.trace_pos)
            text = f.read()
        cut = text.rfind("\n") + 1
        self.trace_pos += len(text[:cut].encode())
        return vcd_edges(text[:cut])

    def call(self, method):
        return subprocess.run(["busctl", "--user", "call", NAME, PATH, NAME, method], capture_output=True,
                              text=True, timeout=30)

    def stop(self):
        if self.fifo_fd is not None:
            os.close(self.fifo_fd)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.notify.close()
        if self.state_tmp:
            shutil.rmtree(self.state_tmp, ignore_errors=True)
        return self.proc.returncode


# ---- /proc ----

def proc_status(pid, tid=None):
    path = "/proc/%d/task/%d/status" % (pid, tid) if tid else "/proc/%d/status" % pid
    out = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def threads(pid):
    """{tid: (name, context switches, ns on the CPU)} of every thread."""
    out = {}
    for t in os.listdir("/proc/%d/task" % pid):
        tid = int(t)
        try:
            st = proc_status(pid, tid)
            with open("/proc/%d/task/%d/schedstat" % (pid, tid)) as f:
                cpu_ns = int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue
        out[tid] = (st["Name"], int(st["voluntary_ctxt_switches"]) + int(st["nonvoluntary_ctxt_switches"]),
                    cpu_ns)
    return out


def smaps_rollup(pid):
    out = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            m = re.match(r"^(\w+):\s+(\d+) kB", line)
            if m:
                out[m.group(1)] = int(m.group(2))
    return out


def kib(s):
    return int(s.split()[0])


def smaps_top(pid, n=6):
    """The mappings with the most resident memory, grouped by what is mapped."""
    sizes, name = {}, None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            parts = line.split()
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                name = parts[5] if len(parts) > 5 else "[anonymous %d KiB]" % ((hi - lo) // 1024)
                name = os.path.basename(name) if name.startswith("/") else name
            elif parts and parts[0] == "Rss:":
                sizes[name] = sizes.get(name, 0) + int(parts[1])
    return sorted(sizes.items(), key=lambda kv: -kv[1])[:n]


# ---- the measurements ----

def measure_startup(build, work, server, runs):
    ready, verified, ready_first = [], [], 0
    for _ in range(runs):
        d = Daemon(build, work, server)
        try:
            t_ready = d.wait_ready()
            _, t_ver, _ = d.wait_status("factory status verified", 0, 15)
            ready.append((t_ready - d.t_start) / 1e6)
            verified.append((t_ver - d.t_start) / 1e6)
            ready_first += t_ready < t_ver
        finally:
            d.stop()
    return dict(runs=runs, ready_p50=statistics.median(ready), ready_max=max(ready),
                verified_p50=statistics.median(verified), ready_first=ready_first)


def measure_idle(build, work, server, seconds, watchdog_usec=None):
    """The daemon writes its metrics file ([Metrics] TextfileDirectory=) as a fixture in a fleet
    does: an idle daemon must not write it (nor wake up for it) at all."""
    mdir = tempfile.mkdtemp(prefix="metrics-", dir=work)
    prom = os.path.join(mdir, "blinkupd.prom")
    d = Daemon(build, work, server, watchdog_usec=watchdog_usec, extra="[Metrics]\nTextfileDirectory=%s\n" % mdir)
    try:
        d.wait_ready()
        d.wait_status("factory status verified", 0, 15)
        time.sleep(0.5)  # the answer of the start-up check handled, the connection idle
        hpid = https_pid(d.pid)
        if hpid is None:
            raise RuntimeError("blinkupd-https, the daemon's factory server client, is not running")
        is_ping = lambda m: "WATCHDOG=1" in m.split("\n")  # noqa: E731
        margin = 0.1  # s after a ping: its wake-up is over, the next one is far

        def after_ping():
            """With a watchdog, a window edge just after a ping: then the window holds whole
            pings only, none whose wake-up is counted but whose message is not (or back)."""
            if watchdog_usec:
                d.notify.wait(is_ping, d.notify.count(), 3 * watchdog_usec / 1e6)
                time.sleep(margin)

        # the wake-ups of both processes: the fixture is the daemon and its server client
        after_ping()
        a = {**threads(d.pid), **threads(hpid)}
        prom0 = os.stat(prom)
        n0 = d.notify.count()
        t0 = time.monotonic()
        time.sleep(seconds - (margin if watchdog_usec else 0))
        after_ping()
        b = {**threads(d.pid), **threads(hpid)}
        dt = time.monotonic() - t0
        prom1 = os.stat(prom)
        metrics_writes = 0 if (prom0.st_ino, prom0.st_mtime_ns) == (prom1.st_ino, prom1.st_mtime_ns) else 1
        pings = sum(is_ping(m) for _, m in d.notify.msgs[n0:])
        st = proc_status(d.pid)
        rollup = smaps_rollup(d.pid)
        hst, hrollup = proc_status(hpid), smaps_rollup(hpid)
        per_thread = []
        for tid, (name, sw, cpu) in sorted(b.items()):
            sw0, cpu0 = (a[tid][1], a[tid][2]) if tid in a else (0, 0)
            per_thread.append((name, tid, sw - sw0, cpu - cpu0))
        gone = [a[t][0] for t in a if t not in b]
        top = smaps_top(d.pid)
    finally:
        d.stop()
    switches = sum(p[2] for p in per_thread)
    return dict(seconds=dt, wakeups_per_s=switches / dt, per_thread=per_thread, gone=gone,
                cpu_ms_per_s=sum(p[3] for p in per_thread) / 1e6 / dt,
                rss_kib=kib(st["VmRSS"]), lck_kib=kib(st["VmLck"]), hwm_kib=kib(st["VmHWM"]),
                threads=int(st["Threads"]), rollup=rollup, top=top, watchdog_usec=watchdog_usec, pings=pings,
                metrics_writes=metrics_writes,
                https_rss_kib=kib(hst["VmRSS"]), https_lck_kib=kib(hst["VmLck"]), https_rollup=hrollup)


def measure_presses(build, work, server, wf, presses, prefetch, state_parent=None, extra=""):
    """Press-to-light over many presses; each blink is cancelled once its first light edge is out.
    extra: configuration appended (bench/results-drain.py: with results delivery)."""
    d = Daemon(build, work, server, prefetch=prefetch, log_level="debug", state_parent=state_parent, extra=extra)
    rows, requests, misses = [], [], 0
    try:
        d.wait_ready()
        if prefetch:
            d.wait_log("Prefetched token", 1)
        else:
            d.wait_status("factory status verified", 0, 15)
        d.new_edges()
        for i in range(presses):
            n_pre = d.count_log("Prefetched token")
            if not prefetch:
                server.control("DELETE", "log")
            start = d.notify.count()
            t_press = d.press()
            # attempt i + 1 of this daemon (a fresh record): its own notifications only
            blinking, idle = "Attempt %d: blinking." % (i + 1), "; %d attempts," % (i + 1)
            j, t_blink, m = d.notify.wait(lambda m: blinking in m or idle in m, start, 30)
            if blinking not in m:
                raise RuntimeError("a press did not blink: " + d.stderr()[-2000:])
            # let the first light edge out, then stop the blink (the LED goes dark within a bit)
            time.sleep(max(0.0, (t_blink + wf.first_light_ns - time.monotonic_ns()) / 1e9) + 0.05)
            d.call("Cancel")
            d.wait_status(idle, j, 30)
            light = [t for t, level in d.new_edges() if level == 0 and t > t_press]
            if not light:
                misses += 1
                continue
            raw = (light[0] - t_press) / 1e6
            rows.append(dict(raw=raw, corrected=raw - wf.first_light_ns / 1e6,
                             to_blinking=(t_blink - t_press) / 1e6))
            if prefetch:
                d.wait_log("Prefetched token", n_pre + 1)
            else:
                reqs = [r for r in server.requests() if r["t"] * 1e9 < t_blink]
                requests.append(reqs)
                if reqs:
                    rows[-1]["to_server"] = reqs[0]["t"] * 1e3 - t_press / 1e6
    finally:
        d.stop()
    out = dict(n=len(rows), misses=misses)
    for k in ("raw", "corrected", "to_blinking", "to_server"):
        v = [r[k] for r in rows if k in r]
        out[k] = (pct(v, 50), pct(v, 99), max(v) if v else float("nan"))
    out["requests"] = requests
    return out


def replay_round_trips(server, press_requests):
    """The server round trip of each press without the fixture: the same requests (method, path,
    authorisation, body) sent again with curl (libcurl, as in the daemon) over one connection,
    the TCP and TLS handshake left out (the daemon keeps its connection)."""
    times, n_req = [], []
    ca = os.path.join(server.pki, "ca.pem")
    for reqs in press_requests:
        args = ["curl"]
        for i, r in enumerate(reqs):
            if i:
                args.append("--next")
            args += ["-s", "--cacert", ca, "-o", "/dev/null", "-w", "%{time_total} %{time_appconnect}\\n", "-X", r["method"]]
            for k, v in r["headers"].items():
                if k.lower() in ("authorization", "content-type", "accept"):
                    args += ["-H", "%s: %s" % (k, v)]
            if r["body"]:
                args += ["--data-raw", r["body"]]
            args.append("https://127.0.0.1:%d%s" % (server.port, r["path"]))
        p = subprocess.run(args, capture_output=True, text=True)
        rows = [tuple(float(x) for x in line.split()) for line in p.stdout.splitlines() if line.strip()]
        if p.returncode != 0 or len(rows) != len(reqs):
            continue
        times.append(1e3 * (sum(t for t, _ in rows) - rows[0][1]))
        n_req.append(len(reqs))
    return dict(p50=pct(times, 50), p99=pct(times, 99), requests=statistics.median(n_req) if n_req else 0,
                paths=sorted({"%s %s" % (r["method"], re.sub(r"[0-9a-f]{16}", "{id}", r["api_path"]))
                              for reqs in press_requests for r in reqs}))


def measure_fsync(directory, n):
    """What the durable record pays per line: an appended line of its size, then fsync()."""
    path = os.path.join(directory, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    times = []
    try:
        for i in range(n):
            t0 = time.monotonic_ns()
            os.write(fd, b"2026-01-01T00:00:00.000000Z attempt=%d event=started kind=factory crc=00000000\n" % i)
            os.fsync(fd)
            times.append((time.monotonic_ns() - t0) / 1e6)
            time.sleep(0.01)
    finally:
        os.close(fd)
        os.unlink(path)
    return pct(times, 50), pct(times, 99), max(times)


def measure_throughput(build, work, server, wf, units, budget_s=None):
    """units BlinkUps through D-Bus back to back (blinkupctl blinkup --wait), PrefetchToken=yes;
    with a budget, no further unit once a clean one would no longer fit (--quick)."""
    d = Daemon(build, work, server, fast=wf.rate == 142, prefetch=True, log_level="debug")
    failed = 0
    try:
        d.wait_ready()
        d.wait_log("Prefetched token", 1)
        t0 = time.monotonic_ns()
        done = 0
        for _ in range(units):
            if budget_s and done and (time.monotonic_ns() - t0 + wf.duration_ns) / 1e9 > budget_s:
                break
            done += 1
            p = subprocess.run([os.path.join(build, "src", "blinkupctl"), "--user-bus", "blinkup", "--wait"],
                               capture_output=True, text=True)
            failed += p.returncode != 0
        elapsed = (time.monotonic_ns() - t0) / 1e9
        units = done
        log = d.stderr()
        faults = log.count("TIMING FAULT")
        frames = sum(int(n) for n in re.findall(r"Attempt \d+: \d+ edges in (\d+) frame", log))
    finally:
        d.stop()
    per_unit = elapsed / units
    return dict(units=units, failed=failed, faults=faults, resent=max(0, frames - units), per_unit_s=per_unit, uph=3600 / per_unit,
                bound_uph=3600 / (wf.duration_ns / 1e9), ratio=(wf.duration_ns / 1e9) / per_unit,
                trace=d.trace)


# ---- bench/timing's figures ----

def parse_timing(path):
    rows, summary = [], {}
    with open(path) as f:
        text = f.read()
    for m in re.finditer(r"^(\d+)\s+(no|yes)\s+\|\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+\|\s+(\d+)\s+(\d+)"
                         r"\s+(\d+)\s+(\d+)\s+(\d+)\s+\|\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+\|\s+([\d.]+)",
                         text, re.M):
        g = m.groups()
        rows.append(dict(rate=int(g[0]), load=g[1] == "yes", edges=int(g[2]), p50=float(g[3]), p99=float(g[4]),
                         max=float(g[5]), frames=int(g[6]), faults=int(g[7]), clean=int(g[8]),
                         ct_p50=float(g[12]), ct_p99=float(g[13]), ct_max=float(g[14]), ratio=float(g[15])))
    m = re.search(r"^timing: (.*)$", text, re.M)
    if m:
        summary = {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", m.group(1))}
    summary["realtime"] = "SCHED_FIFO" in text
    return rows, summary


def trace_lateness(path, wf):
    """Per-edge lateness of the complete frames in a kept timing trace, against the ideal grid
    anchored at each frame's earliest edge (t0 is not in the trace, so this is the lateness minus
    the frame's smallest one: the spread of the edges, a lower bound of the lateness)."""
    with open(path) as f:
        edges = vcd_edges(f.read())
    jobs, cur = [], []
    for t, level in edges:
        if cur and t - cur[-1][0] > 0.9e9:
            jobs.append(cur)
            cur = []
        cur.append((t, level))
    if cur:
        jobs.append(cur)
    out = []
    ideal = [t for t, _ in wf.edges]
    for job in jobs:
        if len(job) != len(ideal):
            continue
        t0 = min(t - o for (t, _), o in zip(job, ideal))
        out += [(t - o - t0) / 1e3 for (t, _), o in zip(job, ideal)]
    return out


# ---- pictures ----

def lateness_svg(out, samples, rows):
    import math
    w, h, left, right, top = 900, 480, 70, 30, 66
    bottom = 80 + 15 * len(rows)
    pmax = max([r["p99"] for r in rows] + [r["ct_p99"] for r in rows] + [10])
    hi = max(50, math.ceil(pmax * 1.6 / 50) * 50)
    nb = 50
    bw = hi / nb
    counts = [0] * (nb + 1)
    for v in samples:
        counts[min(nb, int(v / bw))] += 1
    cmax = max(counts) or 1
    plot_w, plot_b = w - left - right, h - bottom
    ly = lambda c: top + (plot_b - top) * (1 - math.log10(c + 1) / math.log10(cmax + 1))  # noqa: E731
    x = lambda v: left + plot_w * min(v, hi + bw) / (hi + bw)  # noqa: E731
    parts = ['<rect width="100%" height="100%" fill="white"/>',
             '<text x="%d" y="22" font-size="15">BlinkUp transmitter edge lateness beside cyclictest, this machine</text>' % left,
             '<text x="%d" y="38" font-size="11" fill="#555">bars: spread of the edges of the frames bench/timing kept (%d edges, '
             'each frame against its ideal grid anchored at its earliest edge)</text>' % (left, len(samples)),
             '<text x="%d" y="52" font-size="11" fill="#555">lines: p99 edge lateness of the transmitter (red) and wake-up '
             'latency of cyclictest (green) in the same run; dashed: under CPU load</text>' % left]
    for i, c in enumerate(counts):
        if c:
            parts.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#4a7fb5"/>'
                         % (x(i * bw), ly(c), max(1, x((i + 1) * bw) - x(i * bw) - 1), plot_b - ly(c)))
    parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (left, plot_b, w - right, plot_b))
    parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (left, top, left, plot_b))
    for k in range(6):
        v = hi * k / 5
        parts.append('<text x="%.1f" y="%d" font-size="11" text-anchor="middle">%g</text>' % (x(v), plot_b + 15, v))
    parts.append('<text x="%.1f" y="%d" font-size="10" text-anchor="middle">later</text>' % (x(hi + bw / 2), plot_b + 27))
    for c in (1, 10, 100, 1000, 10000):
        if c <= cmax:
            parts.append('<text x="%d" y="%.1f" font-size="10" text-anchor="end">%d</text>' % (left - 4, ly(c) + 4, c))
    parts.append('<text x="%d" y="%d" font-size="12" text-anchor="middle">microseconds after the deadline</text>'
                 % (left + plot_w // 2, plot_b + 35))
    parts.append('<text x="18" y="%d" font-size="12" transform="rotate(-90 18 %d)" text-anchor="middle">edges</text>'
                 % ((top + plot_b) // 2, (top + plot_b) // 2))
    colours = {"ours": "#c0392b", "ct": "#27ae60"}
    y = plot_b + 55
    for r in rows:
        dash = "6,3" if r["load"] else ""
        for who, p99 in (("ours", r["p99"]), ("ct", r["ct_p99"])):
            parts.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="2" stroke-dasharray="%s"/>'
                         % (x(p99), top, x(p99), plot_b, colours[who], dash))
        parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333" stroke-width="2" stroke-dasharray="%s"/>'
                     % (left, y - 4, left + 30, y - 4, dash))
        parts.append('<text x="%d" y="%d" font-size="11"><tspan fill="%s">transmitter p50/p99/max %.0f/%.0f/%.0f us</tspan>'
                     '   <tspan fill="%s">cyclictest %.0f/%.0f/%.0f us</tspan>   (%d bits/s, %s)</text>'
                     % (left + 40, y, colours["ours"], r["p50"], r["p99"], r["max"], colours["ct"], r["ct_p50"],
                        r["ct_p99"], r["ct_max"], r["rate"], "CPU load" if r["load"] else "idle"))
        y += 15
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif">\n%s\n</svg>\n'
           % (w, h, "\n".join(parts)))
    with open(out, "w") as f:
        f.write(svg)


def to_png(svg):
    png = svg[:-4] + ".png"
    try:
        subprocess.run(["rsvg-convert", "-o", png, svg], check=True, capture_output=True)
        return png
    except (OSError, subprocess.CalledProcessError):
        return None


def waveform_svg(build, traces, out):
    """One unit sent cleanly, decoded by the tests' receiver and drawn as the demo does: the first
    stretch of the traces (split at the dark tails) that the receiver decodes without an error."""
    import demo
    said = ""
    for trace in traces:
        if not trace or not os.path.exists(trace):
            continue
        with open(trace) as f:
            edges = vcd_edges(f.read())
        units, cur = [], []
        for e in edges:
            if cur and e[0] - cur[-1][0] > 0.9e9:
                units.append(cur)
                cur = []
            cur.append(e)
        units.append(cur)
        for unit in units:
            one = os.path.join(os.path.dirname(out), "unit.vcd")
            with open(one, "w") as f:
                f.write("$timescale 1ns $end\n$var wire 1 ! led $end\n$enddefinitions $end\n#0\n$dumpvars\n1!\n$end\n")
                for t, level in unit:
                    f.write("#%d\n%d!\n" % (t, level))
            p = subprocess.run([os.path.join(build, "tests", "helpers", "blinkup-decode"), one], capture_output=True, text=True)
            frame = re.search(r"frame 1: ([0-9a-f]+)\n", p.stdout)
            period = re.search(r"period_ns=([0-9.]+)", p.stdout)
            if p.returncode == 0 and frame and period:
                demo.write_svg(one, frame.group(1), float(period.group(1)), out)
                return out, one, trace
            said = (p.stdout + p.stderr).strip().replace("\n", "; ")
    return None, None, said


def cpu_stat():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v  # user nice system idle iowait irq softirq steal ...


# ---- the table ----




def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--timing", required=True)
    ap.add_argument("--traces")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--stat-before", help="a copy of /proc/stat from the start of the run")
    ap.add_argument("--stderr-fd", type=int, help="write progress and errors here instead of to stderr")
    a = ap.parse_args()
    if a.stderr_fd is not None:
        sys.stderr = os.fdopen(a.stderr_fd, "w", buffering=1)
    q = a.quick
    work = tempfile.mkdtemp(prefix="blinkupd-bench-")
    fast, slow = Waveform(a.build, True), Waveform(a.build, False)

    note("starting the local HTTPS factory server")
    srv = FactoryServer(work)
    srv.reset(claim_delay=0.2)
    try:
        note("start-up: process start to READY=1")
        su = measure_startup(a.build, work, srv, 5 if q else 20)
        note("idle cost: %s s without a watchdog" % (2.5 if q else 10))
        idle = measure_idle(a.build, work, srv, 2.5 if q else 10)
        idle_wd = None
        if not q:
            note("idle cost: 10 s with WATCHDOG_USEC=2 s (a ping each second)")
            idle_wd = measure_idle(a.build, work, srv, 10, watchdog_usec=2_000_000)
        n_press = 6 if q else 40
        note("press-to-light: %d presses, PrefetchToken=yes" % n_press)
        pre = measure_presses(a.build, work, srv, fast, n_press, True)
        note("press-to-light: %d presses, PrefetchToken=no" % n_press)
        nopre = measure_presses(a.build, work, srv, fast, n_press, False)
        rtt = replay_round_trips(srv, nopre["requests"])
        note("fsync of a record line in the state directory's file system")
        fs = measure_fsync(work, 20 if q else 100)
        pre_tmpfs = None
        if not q and os.path.isdir("/dev/shm"):
            note("press-to-light: %d presses, PrefetchToken=yes, state directory on tmpfs (/dev/shm)" % n_press)
            pre_tmpfs = measure_presses(a.build, work, srv, fast, n_press, True, state_parent="/dev/shm")
        tput = []
        for wf, units in ((fast, 2), ) if q else ((fast, 8), (slow, 4)):
            note("throughput: %d units back to back at %d bits/s" % (units, wf.rate))
            tput.append((wf, measure_throughput(a.build, work, srv, wf, units, 9 if q else None)))
    finally:
        srv.stop()

    note("pictures")
    rows, tsum = parse_timing(a.timing)
    faults = sum(r["faults"] for r in rows)
    frames = sum(r["frames"] for r in rows)

    # pictures
    samples = []
    if a.traces:
        for r in rows:
            p = os.path.join(a.traces, "led-%d-%s.vcd" % (r["rate"], "load" if r["load"] else "idle"))
            if os.path.exists(p):
                samples += trace_lateness(p, fast if r["rate"] == 142 else slow)
    lat_svg = os.path.join(a.out, "lateness.svg")
    lateness_svg(lat_svg, samples, rows)
    wave_traces = [m["trace"] for _, m in tput] + sorted(
        os.path.join(a.traces, f) for f in os.listdir(a.traces)) if a.traces else [m["trace"] for _, m in tput]
    wave_svg, wave_vcd, wave_from = waveform_svg(a.build, wave_traces, os.path.join(a.out, "waveform.svg"))

    def ok(cond):
        return "yes" if cond else "NO"

    machine = ""
    if a.stat_before:
        with open(a.stat_before) as f:
            before = [int(x) for x in f.readline().split()[1:]]
        after = cpu_stat()
        d = [y - x for x, y in zip(before, after)]
        total = sum(d[:8]) or 1
        with open("/proc/loadavg") as f:
            load = f.read().split()[:3]
        machine = ("during the run: CPUs %.0f %% busy, %.1f %% stolen by the hypervisor; load average %s"
                   % (100 * (total - d[3] - d[4]) / total, 100 * d[7] / total, " ".join(load)))
    say()
    say("== blinkupd on this machine: %d CPU(s), %s, kernel %s%s" % (os.cpu_count(), cpu_model(), os.uname().release,
                                                                   " (--quick: fewer samples)" if q else ""))
    if machine:
        say("   " + machine)
    say()
    say("%-58s %-34s %s" % ("figure", "measured", "target / bound (met?)"))
    say("-" * 118)
    say("Timing accuracy (bench/timing, SCHED_FIFO %s, edge lateness vs cyclictest at the same priority, us)"
        % ("yes" if tsum["realtime"] else "REFUSED"))
    for r in rows:
        say("  %-56s %-34s %s" % ("%d bits/s, %s: ours p50/p99/max" % (r["rate"], "CPU load" if r["load"] else "idle"),
                                  "%.0f / %.0f / %.0f  (%d edges)" % (r["p50"], r["p99"], r["max"], r["edges"]),
                                  "cyclictest %.0f / %.0f / %.0f; p99 ratio %.2f" % (r["ct_p50"], r["ct_p99"],
                                                                                    r["ct_max"], r["ratio"])))
    say("  %-56s %-34s %s" % ("frames sent with a timing fault (edge > 10 % of a bit)", "%d of %d" % (faults, frames),
                              "the daemon resends such a frame (TimingFaultRetries=1)"))
    say("  %-56s %-34s %s" % ("timing ratio: our p99 / cyclictest p99, samples pooled", "%.2f" % tsum.get("ratio", 0),
                              "1.0 = as good as the machine allows"))
    say("Press-to-light (simulated button, DebounceMs=0, 142 bits/s, local HTTPS server; ms)")
    for name, m, target in (("PrefetchToken=yes", pre, 10.0), ("PrefetchToken=no", nopre, rtt["p99"] + 10)):
        say("  %-56s %-34s %s" % (name + ": press -> transmitter start p50/p99",
                                  "%.2f / %.2f  (%d presses)" % (m["corrected"][0], m["corrected"][1], m["n"]),
                                  "p99 <= %.1f (%s)" % (target, ok(m["corrected"][1] <= target))
                                  + ("" if name.endswith("yes") else " = server p99 + 10")))
        say("  %-56s %-34s %s" % ("  raw: press -> first light edge p50/p99/max",
                                  "%.1f / %.1f / %.1f" % m["raw"],
                                  "includes the %.1f ms dark lead-in" % (fast.first_light_ns / 1e6)))
        say("  %-56s %-34s %s" % ("  press -> daemon in state blinking (sd_notify) p50/p99", "%.2f / %.2f" % m["to_blinking"][:2],
                                  ""))
        if m["to_server"][0] == m["to_server"][0]:
            say("  %-56s %-34s %s" % ("  press -> first request at the server p50/p99", "%.2f / %.2f" % m["to_server"][:2],
                                      "server log, same clock"))
    if pre_tmpfs:
        m = pre_tmpfs
        say("  %-56s %-34s %s" % ("PrefetchToken=yes, record on tmpfs (no fsync cost) p50/p99",
                                  "%.2f / %.2f  (%d presses)" % (m["corrected"][0], m["corrected"][1], m["n"]),
                                  "p99 <= 10.0 (%s); shows the record's share" % ok(m["corrected"][1] <= 10)))
    say("  %-56s %-34s %s" % ("fsync of a record line (same file system) p50/p99/max",
                              "%.2f / %.2f / %.2f" % fs, "one per press (started and token lines), while the"
                              " dark lead-in plays: bench/slowfs.py"))
    say("  %-56s %-34s %s" % ("server round trip alone (%d requests replayed) p50/p99" % rtt["requests"],
                              "%.2f / %.2f" % (rtt["p50"], rtt["p99"]), ", ".join(rtt["paths"])))
    say("Idle daemon (no attempt, factory status verified, metrics file on)")
    for label, m in (("no watchdog", idle), ("WATCHDOG_USEC=2s", idle_wd)):
        if not m:
            continue
        expect = m["pings"] / m["seconds"]  # 0 without a watchdog: the target
        busy = ", ".join("%s %d" % (n, sw) for n, _, sw, _ in m["per_thread"] if sw)
        say("  %-56s %-34s %s" % ("%s: wake-ups/s over %.1f s" % (label, m["seconds"]),
                                  "%.2f  (%s; %d threads, 2 processes)" % (m["wakeups_per_s"], busy or "none",
                                                                           len(m["per_thread"])),
                                  "%s (%s)" % ("0" if not m["watchdog_usec"] else
                                               "%.2f = its %d WATCHDOG=1 pings" % (expect, m["pings"]),
                                               ok(m["wakeups_per_s"] <= expect + 1e-9))))
        say("  %-56s %-34s %s" % ("  CPU time", "%.3f ms/s" % m["cpu_ms_per_s"], ""))
        say("  %-56s %-34s %s" % ("  metrics file ([Metrics] TextfileDirectory=) replaced",
                                  "%s" % ("no" if not m["metrics_writes"] else "yes"),
                                  "no: written on events only (%s)" % ok(not m["metrics_writes"])))
    say("  %-56s %-34s %s" % ("RSS (VmRSS) / locked (VmLck) / peak (VmHWM)",
                              "%d / %d / %d KiB" % (idle["rss_kib"], idle["lck_kib"], idle["hwm_kib"]),
                              "RSS <= 8192 KiB (%s)" % ok(idle["rss_kib"] <= 8192)))
    r = idle["rollup"]
    say("  %-56s %-34s %s" % ("  of which anonymous / file-backed",
                              "%d / %d KiB" % (r.get("Anonymous", 0), r.get("Rss", 0) - r.get("Anonymous", 0)),
                              "mlockall: everything mapped is resident"))
    say("  %-56s %-34s %s" % ("  PSS (shared library pages divided among their users)", "%d KiB" % r.get("Pss", 0), ""))
    say("  %-56s %s" % ("  largest mappings (KiB resident)", ", ".join("%s %d" % kv for kv in idle["top"])))
    hr = idle["https_rollup"]
    say("  %-56s %-34s %s" % ("blinkupd-https (server client): RSS / locked / PSS",
                              "%d / %d / %d KiB" % (idle["https_rss_kib"], idle["https_lck_kib"], hr.get("Pss", 0)),
                              "not locked: the kernel may page it out"))
    say("  %-56s %-34s %s" % ("both processes: RSS / PSS",
                              "%d / %d KiB" % (idle["rss_kib"] + idle["https_rss_kib"], r.get("Pss", 0) + hr.get("Pss", 0)),
                              "RSS counts shared library pages in each"))
    say("Start-up (fork/exec to READY=1 on our NOTIFY_SOCKET, %d runs; ms)" % su["runs"])
    say("  %-56s %-34s %s" % ("process start -> READY=1 p50/max", "%.1f / %.1f" % (su["ready_p50"], su["ready_max"]),
                              "p50 <= 200 (%s)" % ok(su["ready_p50"] <= 200)))
    say("  %-56s %-34s %s" % ("process start -> factory status verified p50", "%.1f" % su["verified_p50"],
                              "READY=1 came first in %d of %d runs" % (su["ready_first"], su["runs"])))
    say("Line throughput (blinkupctl blinkup --wait back to back, PrefetchToken=yes, default frame)")
    for wf, m in tput:
        say("  %-56s %-34s %s" % ("%d bits/s: %d units, s per unit" % (wf.rate, m["units"]),
                                  "%.3f  (%.0f units/h)" % (m["per_unit_s"], m["uph"]),
                                  "bound %.3f s = %.0f units/h; %.1f %% of it" % (wf.duration_ns / 1e9, m["bound_uph"],
                                                                                 100 * m["ratio"])))
        say("  %-56s %-34s %s" % ("  with 5 s operator handling per unit",
                                  "%.0f units/h" % (3600 / (m["per_unit_s"] + 5)),
                                  "bound %.0f units/h" % (3600 / (wf.duration_ns / 1e9 + 5))))
        say("  %-56s %-34s %s" % ("  frames resent after a timing fault / units failed", "%d / %d" % (m["resent"], m["failed"]),
                                  "a resend costs a whole waveform (TimingFaultRetries=1)"))
    say("-" * 118)
    say("waveform: %d bits/s lead-in %d bits + dark preamble bit = %.1f ms before the first light edge; one unit %.3f s"
        % (fast.rate, fast.lead_in_bits, fast.first_light_ns / 1e6, fast.duration_ns / 1e9))
    say("files: %s (bench/timing's own table), %s" % (a.timing, os.path.join(a.out, "table.txt")))
    say("pictures:")
    for p in (lat_svg, wave_svg):
        if p:
            png = to_png(p)
            say("  %s%s" % (p, ("  (" + png + ")") if png else ""))
    if wave_svg:
        say("  (the first unit sent cleanly in the %s trace, kept as %s)"
            % ("throughput run's" if wave_from.startswith(work) else os.path.basename(wave_from), wave_vcd))
    else:
        say("  (no waveform picture: no unit decoded cleanly; the receiver said %s)" % wave_from)
    say("bench: idle_wakeups_per_s=%.2f rss_kib=%d ready_ms=%.1f press_to_light_p99_ms=%.2f timing_ratio=%.2f"
        % (idle["wakeups_per_s"], idle["rss_kib"], su["ready_p50"], pre["corrected"][1], tsum.get("ratio", 0)))
    shutil.rmtree(work, ignore_errors=True)
    return 0


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
            return m.group(1) if m else "unknown CPU"
    except OSError:
        return "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
