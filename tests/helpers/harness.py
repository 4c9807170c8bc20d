# SPDX-License-Identifier: MIT
"""What the integration tests and the demo share: the local factory server, a blinkupd on the
session bus with simulated lines, and bus, trace and record helpers. Standard library only."""

import json
import os
import re
import shlex
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

BUILD = os.environ.get("top_builddir", os.getcwd())
SRC = os.environ.get("top_srcdir", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
# BLINKUPD_TEST_INSTALLED=1: the installed programs (the package's smoke test, debian/tests)
INSTALLED = os.environ.get("BLINKUPD_TEST_INSTALLED") == "1"
if INSTALLED:
    BLINKUPD, BLINKUPCTL = "/usr/sbin/blinkupd", "/usr/bin/blinkupctl"
else:
    BLINKUPD = os.path.join(BUILD, "src", "blinkupd")
    BLINKUPCTL = os.path.join(BUILD, "src", "blinkupctl")
    # the factory server client blinkupd starts, from this build rather than the installed one
    os.environ.setdefault("BLINKUPD_HTTPS_PATH", os.path.join(BUILD, "src", "blinkupd-https"))
DECODE = os.path.join(BUILD, "tests", "helpers", "blinkup-decode")
SERVER = os.path.join(SRC, "tests", "helpers", "factory-server.py")
RECEIVER = os.path.join(SRC, "tests", "helpers", "results-receiver.py")
# A command the daemon runs under, e.g. BLINKUPD_WRAPPER="valgrind --error-exitcode=99" (tools/ci/valgrind)
WRAPPER = shlex.split(os.environ.get("BLINKUPD_WRAPPER", ""))

NAME = "org.blinkupd.Fixture1"
PATH = "/org/blinkupd/Fixture1"
ERR = NAME + ".Error."
LOGIN_KEY = "test-login-key-3f9a71"
PASSWORD = "secret123"


class Failure(Exception):
    pass


# ---- every process a test starts ends with the test run ----

def adopt_orphans():
    """Makes this process the reaper of its orphaned descendants (PR_SET_CHILD_SUBREAPER), so
    that end_children() finds a background process a daemon's wrapper left behind too."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _children():
    me = str(os.getpid())
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                stat = f.read()
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        # the fields after the command's name, which may contain anything: state, ppid, ...
        fields = stat[stat.rfind(")") + 2:].split()
        if fields[1] == me and fields[0] != "Z":
            found.append((int(pid), cmd))
    return found


def end_children():
    """Kills every process of this run still there (direct children and, after
    adopt_orphans(), orphaned descendants) and prints each one: a test that fails half-way must
    not leave a daemon or a polling shell running. Returns how many there were."""
    ended = 0
    for _ in range(20):
        left = _children()
        if not left:
            break
        for pid, cmd in left:
            print("ended a process left running: %d %s" % (pid, cmd[:200]), flush=True)
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        ended += len(left)
        # reap them (and let their children be reparented here)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.05)
    return ended


def run_cases(namespace, prefix, selected, work=None, before_end=None):
    """Runs the functions case_NAME(workdir, server) of namespace (all, or those selected by
    NAME) in order of their names, each with the one factory server of the run, and ends every
    process they left. Prints PASS/FAIL per case and "N passed, N failed"; returns the exit
    status. work: the work directory (default: a new one named prefix...); before_end: called
    last before the processes are ended, whatever happened (test-durable.py unmounts there)."""
    cases = [v for k, v in sorted(namespace.items()) if k.startswith("case_")]
    work = work or tempfile.mkdtemp(prefix=prefix)
    adopt_orphans()
    srv = None
    passed = failed = 0
    try:
        srv = FactoryServer(work)
        for case in cases:
            name = case.__name__[5:]
            if selected and name not in selected:
                continue
            t0 = time.monotonic()
            try:
                case(work, srv)
                passed += 1
                print("PASS: %s (%.1f s)" % (name, time.monotonic() - t0), flush=True)
            except Exception as e:  # a failure, or an unexpected error: both fail the case
                failed += 1
                print("FAIL: %s: %s" % (name, e), flush=True)
    finally:
        if srv:
            srv.stop()
        if before_end:
            before_end()
        end_children()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def check(cond, what):
    if not cond:
        raise Failure(what)


def wait_for(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise Failure("timed out waiting for " + what)


# ---- the factory server, one for the whole run ----

class FactoryServer:
    def __init__(self, workdir):
        self.pki = os.path.join(workdir, "pki")
        subprocess.run([sys.executable, SERVER, "--make-pki", self.pki], check=True,
                       stdout=subprocess.DEVNULL)
        self.proc = subprocess.Popen([sys.executable, SERVER, "--pki", self.pki, "--login-key", LOGIN_KEY],
                                     stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())
        self.url = "https://127.0.0.1:%d/v5" % self.port
        self.ctx = ssl.create_default_context(cafile=os.path.join(self.pki, "ca.pem"))

    def control(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request("https://127.0.0.1:%d/_control/%s" % (self.port, path), data=data,
                                     method=method, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=self.ctx, timeout=10) as r:
            text = r.read()
            return json.loads(text) if text else None

    def reset(self, **settings):
        base = {"faults": [], "fixture_group": "factoryfixture_devicegroup", "unknown_fixture": False,
                "enroll_forbidden": False, "claim_delay": 0.5, "claim_error": None,
                "device_id": "00c0ffee00c0ffee"}
        base.update(settings)
        self.control("POST", "mode", base)
        self.control("DELETE", "log")

    def requests(self):
        return self.control("GET", "log")["requests"]

    def tokens(self):
        return self.control("GET", "tokens")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


# ---- a results endpoint ([Results] URL=) ----

class ResultsReceiver:
    """tests/helpers/results-receiver.py on a PKI of the factory server (the same CA: [Server]
    CAFile= trusts both). It records every request and can be switched to "ok", "down",
    "slow", "status" and "drop" at run time (the script's help has the details)."""

    def __init__(self, pki, log_file=None):
        self.pki = pki
        args = [sys.executable, RECEIVER, "--pki", pki] + (["--log-file", log_file] if log_file else [])
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        try:
            lines = dict(self.proc.stdout.readline().split() for _ in range(2))
            self.url, self.control_url = lines["url"], lines["control"]
        except (ValueError, KeyError):
            self.stop()
            raise Failure("results-receiver.py did not start")
        self.ctx = ssl.create_default_context(cafile=os.path.join(pki, "ca.pem"))

    def control(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.control_url + "/" + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=self.ctx, timeout=30) as r:
            text = r.read()
            return json.loads(text) if text else None

    def set_mode(self, mode, **settings):
        """set_mode("down"), set_mode("status", status=500, count=3, attempt_id=7), ...: replaces
        the current mode; "down" closes the port and every other mode opens it again."""
        return self.control("POST", "mode", dict(settings, mode=mode))

    def reset(self):
        self.set_mode("ok")
        self.control("DELETE", "received")

    def received(self):
        """Every request received, in order: dicts with "idempotency_key", "authorization",
        "body" (parsed JSON), "time", "answer" (status sent, or "drop"), "answered"."""
        return self.control("GET", "received")["received"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---- one daemon ----

class Daemon:
    def __init__(self, workdir, server, extra="", url=None, button=True, quiet_timing=True, state=None):
        """state: the state directory (made when missing); by default one of its own.
        Timing is not what these tests test: [Simulation] IdealTiming=yes records every edge at its
        deadline and never turns a late one (this machine busy with other work) into a timing
        fault; the transmitter's own tests and bench/ cover timing."""
        self.dir = tempfile.mkdtemp(prefix="case-", dir=workdir)
        self.state = state or os.path.join(self.dir, "state")
        os.makedirs(self.state, exist_ok=True)
        self.trace = os.path.join(self.dir, "led.vcd")
        self.fifo = os.path.join(self.dir, "button")
        self.conf = os.path.join(self.dir, "blinkupd.conf")
        key = os.path.join(self.dir, "login-key")
        with open(os.open(key, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(LOGIN_KEY + "\n")
        # With IdealTiming=yes these bounds only decide what a late edge is called in the journal
        # and LastTiming; quiet_timing=False keeps the defaults.
        timing = "MaxLatenessUs=3000\nTimingFaultRetries=3" if quiet_timing else ""
        text = f"""# integration test
[WiFi]
SSID=Factory
Password={PASSWORD}
[LED]
Chip=sim
Fast=yes
{"[Button]" if button else ""}
{"Chip=sim" if button else ""}
{"DebounceMs=30" if button else ""}
[Server]
URL={url or server.url}
LoginKeyFile={key}
CAFile={os.path.join(server.pki, "ca.pem")}
FixtureId=0123456789abcdef
TimeoutSec=2
ConfirmTimeoutSec=20
[RealTime]
{timing}
[Simulation]
Trace={self.trace}
ButtonFifo={self.fifo}
IdealTiming=yes
[Daemon]
StateDirectory={self.state}
{extra}
"""
        with open(os.open(self.conf, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(text)
        self.log = open(os.path.join(self.dir, "stderr.log"), "w+")
        self.monitor_lines = []
        self.mon = subprocess.Popen(["stdbuf", "-oL", "busctl", "--user", "--json=short", "monitor", NAME],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        threading.Thread(target=self._read_monitor, daemon=True).start()
        time.sleep(0.3)
        self.proc = None
        try:
            self._start()
        except BaseException:
            # nothing of a daemon that did not come up is left running
            self.stop(signal.SIGKILL)
            raise

    def _start(self):
        self.proc = subprocess.Popen(WRAPPER + [BLINKUPD, "--user-bus", "--config=" + self.conf],
                                     stdout=self.log, stderr=self.log, env=dict(os.environ, BLINKUPD_LOG_LEVEL="debug"))
        wait_for(lambda: self.proc.poll() is not None or name_owned(NAME), 10, "the bus name")
        check(self.proc.poll() is None, "blinkupd exited at start: " + self.stderr())
        if WRAPPER:
            # valgrind runs the daemon some 30 times slower: its start-up TLS exchange with the
            # factory server then keeps the loop busy for a second or more. Let it end before a
            # case times button presses in tenths of a second.
            wait_for(lambda: self.proc.poll() is not None or self.prop("FactoryStatus") != "unknown", 60,
                     "the start-up factory check")

    def _read_monitor(self):
        for line in self.mon.stdout:
            try:
                self.monitor_lines.append(json.loads(line))
            except ValueError:
                pass

    def signals(self, member):
        return [m["payload"]["data"] for m in list(self.monitor_lines)
                if m.get("type") == "signal" and m.get("member") == member]

    def wait_signal(self, member, pred, timeout=30):
        try:
            return wait_for(lambda: next((d for d in self.signals(member) if pred(d)), None), timeout,
                            "signal " + member)
        except Failure as e:
            tail = "\n    ".join(self.stderr().splitlines()[-15:])
            raise Failure("%s; blinkupd said:\n    %s%s" % (e, tail, self.stacks()))

    def stacks(self):
        """Where the daemon's threads are, for a failure report (needs gdb)."""
        if self.proc.poll() is not None:
            return ""
        try:
            p = subprocess.run(["gdb", "-p", str(self.proc.pid), "-batch", "-ex", "thread apply all bt"],
                               capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return ""
        frames = [l for l in p.stdout.splitlines() if l.startswith(("#", "Thread"))]
        return "\n  threads:\n    " + "\n    ".join(frames[:40])

    def call(self, method, *args):
        return busctl("call", NAME, PATH, NAME, method, *args)

    def prop(self, name):
        rc, out, err = busctl("--json=short", "get-property", NAME, PATH, NAME, name)
        check(rc == 0, "get-property %s: %s" % (name, err))
        return json.loads(out)["data"]

    def stderr(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def record(self):
        try:
            with open(os.path.join(self.state, "attempts.log")) as f:
                return [l.rstrip("\n") for l in f]
        except FileNotFoundError:
            return []

    def events(self, attempt):
        return [re.search(r" event=(\S+)", l).group(1) for l in self.record()
                if re.search(r" attempt=%d " % attempt, l)]

    def kill(self, sig=signal.SIGKILL, helpers_timeout=30, power_cut=False):
        """Ends the daemon with sig (SIGKILL: no clean-up at all, as a crash) and waits until
        its blinkupd-https helpers are gone too (they leave when their connection closes;
        killed after helpers_timeout seconds). power_cut: the helpers are sent SIGKILL right
        after the daemon, so none finishes what it was doing. The bus monitor stays: the daemon
        can be started again with restart()."""
        helpers = helper_pids(self.proc.pid)
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            if power_cut:
                for pid in helpers:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
            self.proc.wait(30)
        end = time.monotonic() + helpers_timeout
        while helpers:
            for pid in list(helpers):
                if _reap_or_gone(pid):
                    helpers.remove(pid)
            if helpers and time.monotonic() > end:
                for pid in helpers:
                    print("killed a blinkupd-https left by the daemon: %d" % pid, flush=True)
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                end = time.monotonic() + 10
            time.sleep(0.05)
        return self.proc.returncode

    def restart(self):
        """Starts blinkupd again, on the same configuration and state directory, after kill()."""
        check(self.proc.poll() is not None, "restart() of a running daemon")
        wait_for(lambda: not name_owned(NAME), 30, "the bus name of the ended daemon to be released")
        self._start()

    def press(self, data):
        with open(self.fifo, "w") as f:
            f.write(data)

    def stop(self, sig=signal.SIGTERM):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.mon.terminate()
        self.mon.wait(5)
        return self.proc.returncode if self.proc is not None else None


def helper_pids(daemon_pid, results=None):
    """Every blinkupd-https the daemon daemon_pid runs (directly, or under valgrind:
    tools/ci/valgrind): with results=True only the results delivery ("--results"), with
    results=False only the factory server client."""
    found = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                st = f.read()
            with open("/proc/%s/cmdline" % p, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        if ppid != daemon_pid or not any(os.path.basename(a) == b"blinkupd-https" for a in argv):
            continue
        if results is None or results == (b"--results" in argv):
            found.append(int(p))
    return found


def https_pid(daemon_pid):
    """blinkupd-https, the factory server client of the daemon daemon_pid; None when there is none."""
    pids = helper_pids(daemon_pid, results=False)
    return pids[0] if pids else None


def _reap_or_gone(pid):
    """pid has ended: reaped here when it is a child of ours (an orphan adopted by
    adopt_orphans()), or no longer there, or a zombie of someone else."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return True
    except ChildProcessError:
        pass
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def busctl(*args):
    p = subprocess.run(["busctl", "--user"] + list(args), capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout.strip(), p.stderr.strip()


def name_owned(name):
    """Whether NAME has an owner on the bus, asked of the bus itself (NameHasOwner): `busctl
    status NAME` also reads the owner's cgroup and fails without a cgroup file system."""
    rc, out, err = busctl("call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                          "NameHasOwner", "s", name)
    check(rc == 0 and out in ("b true", "b false"), "NameHasOwner %s: rc=%d %s %s" % (name, rc, out, err))
    return out == "b true"


def attempt_id(out):
    m = re.match(r"t (\d+)$", out)
    check(m, "reply is not 't ID': " + out)
    return int(m.group(1))


def decode(trace, *extra):
    p = subprocess.run([DECODE, *extra, trace], capture_output=True, text=True)
    return p.returncode, p.stdout


def vcd_last_level(trace):
    level = None
    with open(trace) as f:
        for line in f:
            if line[:2] in ("0!", "1!"):
                level = line[0]
    return level




# ---- slow storage: tests/helpers/slowfs (FUSE) ----

SLOWFS = os.path.join(BUILD, "tests", "helpers", "slowfs")


class Unavailable(Exception):
    """What a test cannot do on this machine (the reason for a skip)."""


class SlowFs:
    """tests/helpers/slowfs mounted on a directory of its own under parent, over a backing
    directory of its own: each fsync, fdatasync and directory fsync takes delay_ms more, and is
    logged (fsyncs()). Raises Unavailable when it cannot be mounted here (no /dev/fuse, slowfs
    not built, not allowed). unmount() ends it; always call it (a try/finally)."""

    def __init__(self, parent, delay_ms, binary=SLOWFS):
        if not os.path.exists("/dev/fuse"):
            raise Unavailable("no /dev/fuse")
        if not os.access(binary, os.X_OK):
            raise Unavailable("%s not built (configure found no libfuse3: Debian libfuse3-dev)" % binary)
        self.top = tempfile.mkdtemp(prefix="slowfs-%dms-" % delay_ms, dir=parent)
        self.backing = os.path.join(self.top, "backing")
        self.mnt = os.path.join(self.top, "mnt")
        self.log = os.path.join(self.top, "fsync.log")
        os.mkdir(self.backing)
        os.mkdir(self.mnt)
        self.err = open(os.path.join(self.top, "slowfs.err"), "w+")
        opts = ["-o", "allow_other"] if os.geteuid() == 0 else []
        self.proc = subprocess.Popen([binary, "--fsync-delay-ms=%d" % delay_ms, "--log=" + self.log, self.backing,
                                      self.mnt] + opts, stdout=self.err, stderr=self.err)
        end = time.monotonic() + 10
        while not os.path.ismount(self.mnt):
            if self.proc.poll() is not None or time.monotonic() > end:
                why = self._text().strip().replace("\n", "; ") or "no mount within 10 s"
                rc = self.proc.returncode
                self.unmount()
                raise Unavailable("slowfs could not mount (exit %s): %s" % (rc, why))
            time.sleep(0.02)

    def _text(self):
        self.err.flush()
        with open(self.err.name) as f:
            return f.read()

    def fsyncs(self):
        """Every fsync so far: dicts op ("fsync", "fdatasync", "fsyncdir"), path (under the mount
        point, "/dir/file"), size (the file's size when it began), start and end (CLOCK_MONOTONIC
        ns: when the request arrived and just before the reply)."""
        out = []
        try:
            with open(self.log) as f:
                for line in f:
                    p = line.split()
                    if len(p) == 5 and line.endswith("\n"):
                        out.append(dict(op=p[0], path=p[1], size=int(p[2]), start=int(p[3]), end=int(p[4])))
        except FileNotFoundError:
            pass
        return out

    def unmount(self):
        """Unmounts (waiting up to 10 s while the mount is busy, then detaching it), ends slowfs
        and removes its directories. Safe to call more than once."""
        if self.proc is None:
            return
        cmd = ["umount"] if os.geteuid() == 0 else ["fusermount3", "-u"]
        end = time.monotonic() + 10
        while os.path.ismount(self.mnt):
            if subprocess.run(cmd + [self.mnt], capture_output=True).returncode == 0:
                break
            if time.monotonic() > end:
                lazy = ["umount", "-l"] if os.geteuid() == 0 else ["fusermount3", "-u", "-z"]
                subprocess.run(lazy + [self.mnt], capture_output=True)
                break
            time.sleep(0.1)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        self.err.close()
        if not os.path.ismount(self.mnt):
            shutil.rmtree(self.top, ignore_errors=True)
