#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The bad-input matrix of blinkupd, end to end: the real daemon on a private bus (a real
dbus-daemon started by tests/integration/test-robustness.sh through dbus-run-session), simulated GPIO
lines, and the local HTTPS factory server. Python standard library only (see tests/helpers/harness.py).

Every case asserts a clear error AND that nothing was lost: the LED trace ends dark (no frame
for a refused attempt), the daemon still serves (a Clear() afterwards succeeds), and the
durable record is intact. Areas:

  config   bad values, missing sections, duplicate keys, huge lines, binary garbage, unreadable
           and others-readable secret files, drop-ins overriding each other: through
           `blinkupd --check-config` and through a running daemon's Reload(); --check-config and a
           start on an invalid configuration exit 78 (EX_CONFIG)
  server   every fault of tests/helpers/factory-server.py, a server that never answers, one that
           trickles, one that sends 100 MB, an unresolvable name: through BlinkUp()
  dbus     wrong argument types, clients that disconnect
  dbus-burst  1000 calls while blinking, every one Busy
  gpio     missing chips, a bouncing button (CPU time of the daemon measured)
  process  SIGTERM / SIGKILL / SIGQUIT in every state, a read-only and a full state directory

Each sub-case is counted; the last line is "robustness: cases=N passed=N failed=N skipped=N".
A skipped sub-case (only: mounting impossible) is reported with its reason, never as passed.

Usage: test-robustness.py [AREA...]   (environment: top_builddir, top_srcdir; ROBUSTNESS_ONLY=REGEX
       runs only the sub-cases whose name matches)
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "helpers"))
import harness  # noqa: E402
from harness import (BLINKUPCTL, BLINKUPD, ERR, NAME, PATH, SERVER, Daemon, Failure, FactoryServer,  # noqa: E402
                     attempt_id, busctl, check, decode, name_owned, vcd_last_level, wait_for)

RESULTS = {"passed": 0, "failed": 0, "skipped": 0}
FIGURES = []


class Skip(Exception):
    pass


def sub(name, fn, *args):
    """Runs one counted sub-case (only those matching $ROBUSTNESS_ONLY, a regex, when set)."""
    only = os.environ.get("ROBUSTNESS_ONLY")
    if only and not re.search(only, name):
        return
    t0 = time.monotonic()
    try:
        fn(*args)
        RESULTS["passed"] += 1
        print("PASS: %s (%.1f s)" % (name, time.monotonic() - t0), flush=True)
    except Skip as e:
        RESULTS["skipped"] += 1
        print("SKIP: %s: %s" % (name, e), flush=True)
    except Exception as e:  # a failure, or an unexpected error: both fail the sub-case
        RESULTS["failed"] += 1
        print("FAIL: %s: %s" % (name, e), flush=True)


def figure(text):
    FIGURES.append(text)
    print("FIGURE: " + text, flush=True)


def dbus_send(method, *args, timeout=30):
    """dbus-send, because it prints the D-Bus error name."""
    p = subprocess.run(["dbus-send", "--session", "--print-reply", "--reply-timeout=20000", "--dest=" + NAME, PATH,
                        NAME + "." + method, *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout.strip(), p.stderr.strip()


def trace_lines(d):
    try:
        with open(d.trace) as f:
            return sum(1 for line in f if line[:2] in ("0!", "1!"))
    except FileNotFoundError:
        return 0


def history_ok(state, attempt=None):
    p = subprocess.run([BLINKUPCTL, "history", "-n", "1000", "--state-dir=" + state], capture_output=True, text=True)
    check(p.returncode == 0, "blinkupctl history failed (%d): %s" % (p.returncode, p.stderr.strip()))
    if attempt is not None:
        check(re.search(r"\b%d\b" % attempt, p.stdout), "attempt %d not in the history:\n%s" % (attempt, p.stdout))
    return p.stdout


def timing_fault(fin):
    """A blink the daemon reported, truthfully, as late: the machine was too loaded for the
    transmitter (no real-time guarantee on a shared CI host). Not what these cases test."""
    if fin[1] is False and fin[2] == ERR + "TimingFault":
        print("    note: attempt %d ended in a timing fault (machine load); the LED line was driven" % fin[0],
              flush=True)
        return True
    return False


def still_serving(d, tries=3, finish_timeout=60):
    """A Clear() succeeds, blinks a clear frame and ends dark; then the fixture is idle. A
    timing fault (machine load) is retried, any other failure is one. finish_timeout: how long
    the Clear() may take, for a configuration with many slow frames."""
    for i in range(tries):
        wait_for(lambda: d.prop("State") == "idle", 30, "the fixture to be idle")
        rc, out, err = d.call("Clear")
        check(rc == 0, "Clear() afterwards refused: " + err)
        aid = attempt_id(out)
        fin = d.wait_signal("Finished", lambda a: a[0] == aid, finish_timeout)
        check(vcd_last_level(d.trace) == "1", "the LED did not end dark after Clear()")
        if timing_fault(fin) and i + 1 < tries:
            continue
        check(fin[1] is True, "Clear() afterwards failed: %r" % (fin,))
        check("blinked" in d.events(aid), "Clear() afterwards not recorded: %r" % d.events(aid))
        return aid


def settle(d, srv):
    """Waits until the start-up factory check is over, then clears faults and the log."""
    wait_for(lambda: d.prop("FactoryStatus") != "unknown", 30, "the start-up factory check")
    srv.reset()


# ---- configuration ----

class WARN(str):
    """A valid configuration whose --check-config warning must match this regex."""


def config_matrix(w):
    """(name, drop-in files {name: bytes or callable(dir)}, regex the error must match or None if valid)."""
    d = tempfile.mkdtemp(prefix="files-", dir=w)
    loose = os.path.join(d, "loose-key")
    with open(loose, "w") as f:
        f.write("k\n")
    os.chmod(loose, 0o644)
    private = os.path.join(d, "private-key")
    with open(os.open(private, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        f.write("k\n")
    garbage = bytes((i * 37 + 11) % 256 for i in range(600))
    return [
        ("priority-out-of-range", {"50-case.conf": "[RealTime]\nPriority=120\n"}, r"50-case\.conf:2: Priority: "),
        ("repeat-zero", {"50-case.conf": "[LED]\nRepeat=0\n"}, r"50-case\.conf:2: Repeat: "),
        ("boolean-garbage", {"50-case.conf": "[LED]\nFast=maybe\n"}, r"50-case\.conf:2: Fast: "),
        ("debounce-too-long", {"50-case.conf": "[Button]\nDebounceMs=5000\n"}, r"50-case\.conf:2: DebounceMs: "),
        ("bias-unknown", {"50-case.conf": "[Button]\nBias=sideways\n"}, r"50-case\.conf:2: Bias: "),
        ("url-scheme", {"50-case.conf": "[Server]\nURL=ftp://factory.example.com/v5\n"}, r"50-case\.conf:2: URL: "),
        ("timeout-zero", {"50-case.conf": "[Server]\nTimeoutSec=0\n"}, r"50-case\.conf:2: TimeoutSec: "),
        ("timeout-not-a-number", {"50-case.conf": "[Server]\nConfirmTimeoutSec=12abc\n"},
         r"50-case\.conf:2: ConfirmTimeoutSec: "),
        ("fixture-id-not-hex", {"50-case.conf": "[Server]\nFixtureId=xyz\n"}, r"50-case\.conf:2: FixtureId: "),
        ("token-type-unknown", {"50-case.conf": "[Server]\nTokenType=wholesale\n"}, r"50-case\.conf:2: TokenType: "),
        ("ssid-too-long", {"50-case.conf": "[WiFi]\nSSID=" + "S" * 33 + "\n"}, r"50-case\.conf:2: SSID: "),
        ("password-too-short", {"50-case.conf": "[WiFi]\nPassword=abc\n"}, r"50-case\.conf:2: Password: "),
        ("cpu-out-of-range", {"50-case.conf": "[RealTime]\nCPU=99999\n"}, r"50-case\.conf:2: CPU: "),
        ("key-before-section", {"50-case.conf": "Priority=5\n"}, r"50-case\.conf:1: "),
        ("section-unterminated", {"50-case.conf": "[LED\nRepeat=2\n"}, r"50-case\.conf:1: "),
        ("no-equals-sign", {"50-case.conf": "[LED]\nthis is not a key\n"}, r"50-case\.conf:2: "),
        ("huge-line", {"50-case.conf": "[WiFi]\nSSID=" + "A" * 100000 + "\n"}, r"50-case\.conf:2: "),
        ("binary-garbage", {"50-case.conf": garbage}, r"50-case\.conf:\d+: "),
        ("nul-byte", {"50-case.conf": b"[LED]\nRepeat=2\x00\n"}, r"50-case\.conf:2: "),
        ("duplicate-key-last-bad", {"50-case.conf": "[RealTime]\nPriority=10\nPriority=120\n"},
         r"50-case\.conf:3: Priority: "),
        ("duplicate-key-first-bad", {"50-case.conf": "[RealTime]\nPriority=120\nPriority=10\n"},
         r"50-case\.conf:2: Priority: "),
        ("secret-missing", {"50-case.conf": "[Server]\nLoginKeyFile=%s/nonexistent\n" % d},
         r"50-case\.conf:2: LoginKeyFile: "),
        ("secret-readable-by-others", {"50-case.conf": "[Server]\nLoginKeyFile=%s\n" % loose},
         r"50-case\.conf:2: LoginKeyFile: .*readable"),
        ("secret-is-a-directory", {"50-case.conf": "[WiFi]\nPasswordFile=%s\n" % d},
         r"50-case\.conf:2: PasswordFile: "),
        # not regular files: ignored with a warning (a FIFO must not hang the reader)
        ("valid-dropin-directory-ignored", {"50-case.conf": lambda p: os.mkdir(p)}, WARN(r"50-case\.conf: not a regular")),
        ("valid-dropin-fifo-ignored", {"50-case.conf": lambda p: os.mkfifo(p)}, WARN(r"50-case\.conf: not a regular")),
        ("dropin-dangling-symlink", {"50-case.conf": lambda p: os.symlink(os.path.join(d, "nowhere"), p)},
         r"50-case\.conf"),
        ("missing-url", {"50-case.conf": "[Server]\nURL=\n"}, r"URL: not set"),
        ("missing-led-line", {"50-case.conf": "[LED]\nChip=gpiochip0\n"}, r"Line: not set"),
        # drop-ins override each other: the later one decides, the joint rules see the result
        ("dropins-http-then-allow-reset",
         {"40-a.conf": "[Server]\nAllowInsecureHttp=yes\n", "50-b.conf": "[Server]\nURL=http://127.0.0.1:1/v5\n",
          "60-c.conf": "[Server]\nAllowInsecureHttp=\n"}, r"URL"),
        ("dropins-later-bad-wins", {"40-a.conf": "[RealTime]\nPriority=10\n", "60-b.conf": "[RealTime]\nPriority=-1\n"},
         r"60-b\.conf:2: Priority: "),
        ("dropins-earlier-bad-still-an-error",
         {"40-a.conf": "[RealTime]\nPriority=-1\n", "60-b.conf": "[RealTime]\nPriority=10\n"},
         r"40-a\.conf:2: Priority: "),
        ("production-without-api-key", {"50-case.conf": "[Server]\nTokenType=production\nLoginKeyFile=\n"},
         r"ApiKeyFile"),
        # valid ones: the matrix must tell good from bad
        ("valid-unknown-key-warned", {"50-case.conf": "[LED]\nBogusKey=1\n"}, WARN(r"50-case\.conf:2: BogusKey: ")),
        ("valid-dropins-override", {"40-a.conf": "[WiFi]\nSSID=Line7\n", "60-b.conf": "[WiFi]\nSSID=Line9\n"}, None),
        ("valid-private-secret", {"50-case.conf": "[Server]\nLoginKeyFile=%s\n" % private}, None),
        ("valid-non-conf-ignored", {"50-case.conf.bak": "[RealTime]\nPriority=120\n"}, None),
    ]


def write_dropins(dropins, files):
    for name, content in files.items():
        p = os.path.join(dropins, name)
        if callable(content):
            content(p)
        else:
            with open(p, "wb") as f:
                f.write(content.encode() if isinstance(content, str) else content)


def clear_dropins(dropins):
    for name in os.listdir(dropins):
        p = os.path.join(dropins, name)
        if os.path.isdir(p) and not os.path.islink(p):
            os.rmdir(p)
        else:
            os.unlink(p)


def config_case(d, dropins, name, files, expect):
    clear_dropins(dropins)
    write_dropins(dropins, files)
    try:
        # the offline check
        p = subprocess.run([BLINKUPD, "--check-config", "--config=" + d.conf], capture_output=True, text=True,
                           timeout=30)
        if expect is None or isinstance(expect, WARN):
            check(p.returncode == 0, "--check-config refused a valid configuration: " + p.stderr)
            if expect is not None:
                check(re.search(expect, p.stderr), "no warning matching %r: %s" % (str(expect), p.stderr[-400:]))
        else:
            check(p.returncode == 78, "--check-config exit status %d, not 78 (EX_CONFIG)" % p.returncode)
            check(re.search(expect, p.stderr), "--check-config stderr does not match %r:\n%s" % (expect, p.stderr[-800:]))
            # every error line names file:line: key (or file: for the joint rules)
            check(re.search(r"blinkupd\.conf(\.d/[^:]+)?(:\d+)?: ", p.stderr), "no file name in: " + p.stderr[-400:])
        check(len(p.stderr) < 20000, "--check-config printed %d bytes of errors" % len(p.stderr))
        # the running daemon
        before = d.prop("SSID")
        rc, out, err = dbus_send("Reload")
        if expect is None or isinstance(expect, WARN):
            check(rc == 0, "Reload() refused a valid configuration: " + err)
        else:
            check(rc != 0 and ERR + "InvalidConfig" in err, "Reload() did not fail with InvalidConfig: %s %s" % (out, err))
            check(re.search(expect, err), "Reload() error does not match %r: %s" % (expect, err[:600]))
            check(d.prop("SSID") == before, "a refused Reload() changed the configuration")
        check(d.proc.poll() is None, "the daemon died")
    finally:
        clear_dropins(dropins)


def area_config(w, srv):
    srv.reset()
    d = Daemon(w, srv)
    try:
        dropins = d.conf + ".d"
        os.mkdir(dropins)
        cases = config_matrix(w)
        for name, files, expect in cases:
            sub("config/" + name, config_case, d, dropins, name, files, expect)
        figure("configuration matrix: %d cases through --check-config and Reload()" % len(cases))
        # back to the original configuration: still the old one, and serving
        rc, out, err = dbus_send("Reload")
        sub("config/reload-back-and-serve", lambda: (check(rc == 0, "final Reload(): " + err),
                                                     check(d.prop("SSID") == "Factory", "SSID"), still_serving(d)))
    finally:
        d.stop()

    # a broken main file: missing sections, garbage, unreadable
    def main_file(content, expect):
        p = os.path.join(w, "main-%d.conf" % time.monotonic_ns())
        if callable(content):
            content(p)
        else:
            with open(os.open(p, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
                f.write(content.encode() if isinstance(content, str) else content)
        r = subprocess.run([BLINKUPD, "--check-config", "--config=" + p], capture_output=True, text=True, timeout=30)
        check(r.returncode == 78, "--check-config exit status %d, not 78 (EX_CONFIG)" % r.returncode)
        check(re.search(expect, r.stderr), "stderr does not match %r: %s" % (expect, r.stderr[-600:]))
        # and the daemon does not start on it, with the same message, and says what to do next
        r = subprocess.run([BLINKUPD, "--user-bus", "--config=" + p], capture_output=True, text=True, timeout=30)
        check(r.returncode == 78, "blinkupd exit status %d on it, not 78 (EX_CONFIG)" % r.returncode)
        check(re.search(expect, r.stderr), "blinkupd stderr does not match %r: %s" % (expect, r.stderr[-600:]))
        check(p in r.stderr and "blinkupd --check-config --config=" + p in r.stderr,
              "no hint naming the file and --check-config: " + r.stderr[-600:])
        check(not name_owned(NAME), "the bus name is owned")

    sub("config/main-no-sections", main_file, "# nothing here\n", r"Line: not set|URL: not set")
    sub("config/main-only-wifi", main_file, "[WiFi]\nSSID=x\n", r"URL: not set")
    sub("config/main-binary", main_file, bytes(range(256)) * 4, r"main-\d+\.conf:1: ")
    sub("config/main-missing", main_file, lambda p: None, r"main-\d+\.conf")
    sub("config/main-is-directory", main_file, lambda p: os.mkdir(p), r"main-\d+\.conf")
    sub("config/main-too-big", main_file, "#" * 100 + "\n" + "# x\n" * 400000, r"main-\d+\.conf")


# ---- the factory server ----

class RawServer:
    """A TCP server on 127.0.0.1 that misbehaves below HTTP: "silent" accepts and never answers,
    "trickle" answers one byte a second, "flood" sends 100 MB without a Content-Length."""

    def __init__(self, mode):
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.conns = []
        self.sent = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            if self.mode != "silent":
                threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            c.settimeout(5)
            c.recv(65536)
            if self.mode == "trickle":
                for i, b in enumerate(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}'):
                    if i > 0 and self.stop.wait(1.0):
                        return
                    c.sendall(bytes([b]))
                    self.sent += 1
            elif self.mode == "flood":
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
                chunk = b'{"padding": "' + b"x" * 65536
                while self.sent < 100 * 1024 * 1024 and not self.stop.is_set():
                    c.sendall(chunk)
                    self.sent += len(chunk)
        except OSError:
            pass

    def close(self):
        self.stop.set()
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


def blinkup_expect(d, srv, success, error_names=(), message=None, timeout=40):
    """One BlinkUp() on a settled daemon; checks the outcome, the record and the trace."""
    wait_for(lambda: d.prop("State") == "idle", 30, "idle")
    before = trace_lines(d)
    rc, out, err = d.call("BlinkUp")
    check(rc == 0, "BlinkUp() refused: " + err)
    aid = attempt_id(out)
    fin = d.wait_signal("Finished", lambda a: a[0] == aid, timeout)
    if success:
        # the server's fault was overcome once the token is recorded and the LED driven
        late = timing_fault(fin)
        check(fin[1] is True or late, "expected success, got %r" % (fin,))
        wait_for(lambda: "blinked" in d.events(aid) or "failed" in d.events(aid), 5, "the blinked record")
        check(d.events(aid)[:3] == ["started", "token", "blinked"] or (late and d.events(aid)[:2] == ["started", "token"]),
              "record: %r" % d.events(aid))
        check(trace_lines(d) > before, "nothing was blinked")
    else:
        check(fin[1] is False, "expected a failure, got %r" % (fin,))
        check(fin[2] in error_names, "error name %s, expected one of %s (message %r)" % (fin[2], error_names, fin[3]))
        check(fin[3] and len(fin[3]) < 400, "no clear message: %r" % fin[3])
        if message:
            check(re.search(message, fin[3]), "message %r does not match %r" % (fin[3], message))
        check(d.events(aid) == ["started", "failed"], "record: %r" % d.events(aid))
        check(trace_lines(d) == before, "something was blinked for a failed attempt")
        check(not any(line.startswith("  ") for line in fin[3].splitlines()), "message %r" % fin[3])
        print("    %s: %s" % (fin[2][len(ERR):], fin[3]), flush=True)
    check(d.proc.poll() is None, "the daemon died")
    check(vcd_last_level(d.trace) in (None, "1"), "the LED is not dark")
    return aid, fin


SERVER_FAULTS = [
    # (name, faults, success, error names, message regex)
    ("5xx-burst-then-success", [{"path": "/devices/*", "action": "status", "status": 503, "count": 2}], True, (), None),
    ("502-html-burst-on-enroll", [{"method": "POST", "path": "/enroll", "action": "status", "status": 502,
                                   "body": "html", "count": 2}], True, (), None),
    ("5xx-forever", [{"path": "/devices/*", "action": "status", "status": 503, "count": -1}], False, ("Server",),
     r"503"),
    ("500-empty-forever", [{"path": "/enroll", "method": "POST", "action": "status", "status": 500, "body": "empty",
                            "count": -1}], False, ("Server",), r"500"),
    ("500-truncated-forever", [{"path": "/enroll", "method": "POST", "action": "status", "status": 500,
                                "body": "truncated", "count": -1}], False, ("Server",), r"500"),
    ("429-retry-after-1", [{"method": "POST", "path": "/enroll", "action": "status", "status": 429,
                            "headers": {"Retry-After": "1"}, "count": 1}], True, (), None),
    ("429-retry-after-beyond-deadline", [{"method": "POST", "path": "/enroll", "action": "status", "status": 429,
                                          "headers": {"Retry-After": "3600"}, "count": -1}], False, ("Server",),
     r"429"),
    ("401-revoked-token-one-reauth", [{"path": "/devices/*", "action": "revoke", "count": 1}], True, (), None),
    ("401-always", [{"path": "/devices/*", "action": "status", "status": 401, "count": -1}], False, ("Auth",), r"401"),
    ("login-key-refused", [{"path": "/devices/*", "action": "revoke", "count": 1},
                           {"path": "/auth/token", "action": "status", "status": 401, "count": -1}], False, ("Auth",),
     r"401"),
    ("404-unknown-fixture", [{"path": "/devices/*", "action": "status", "status": 404, "count": -1}], False,
     ("NotFactoryFixture",), r"not a factory fixture"),
    ("403-enroll-forbidden", [{"method": "POST", "path": "/enroll", "action": "status", "status": 403, "count": -1}],
     False, ("NotFactoryFixture",), r"not a factory fixture"),
    ("400-bad-request", [{"method": "POST", "path": "/enroll", "action": "status", "status": 400, "count": -1}],
     False, ("Server",), r"400"),
    ("slow-beyond-timeout", [{"path": "/devices/*", "action": "delay", "seconds": 5, "count": -1}], False,
     ("Timeout",), None),
    ("slow-once-then-fine", [{"path": "/devices/*", "action": "delay", "seconds": 1.5, "count": 1}], True, (), None),
    ("connection-reset", [{"path": "/devices/*", "action": "reset", "count": -1}], False, ("Server", "Timeout"), None),
    ("short-body", [{"method": "POST", "path": "/enroll", "action": "short", "count": -1}], False,
     ("Server", "Timeout"), None),
    ("malformed-json", [{"method": "POST", "path": "/enroll", "action": "raw", "raw": "{not json", "count": -1}],
     False, ("Server",), None),
    ("truncated-json", [{"method": "POST", "path": "/enroll", "action": "raw", "raw": '{"plan_id": "01234',
                         "count": -1}], False, ("Server",), None),
    ("html-instead-of-json", [{"path": "/devices/*", "action": "raw", "raw": "<html>hello</html>",
                               "content_type": "text/html", "count": -1}], False, ("Server",), None),
    ("oversized-json", [{"method": "POST", "path": "/enroll", "action": "oversize", "count": -1}], False, ("Server",),
     r"larger"),
    ("wrong-types", [{"method": "POST", "path": "/enroll", "action": "json",
                      "json": {"plan_id": 5, "token_id": ["x"]}, "count": -1}], False, ("Server",), r"enroll"),
    ("json-array", [{"path": "/devices/*", "action": "json", "json": [1, 2, 3], "count": -1}], False, ("Server",),
     None),
    ("non-hex-token-id", [{"method": "POST", "path": "/enroll", "action": "json",
                           "json": {"plan_id": "0123456789abcdef", "token_id": "zzzz"}, "count": -1}], False,
     ("Server",), r"token_id"),
    ("token-id-17-digits", [{"method": "POST", "path": "/enroll", "action": "json",
                             "json": {"plan_id": "0123456789abcdef", "token_id": "0123456789abcdef0"},
                             "count": -1}], False, ("Server",), r"token_id"),
    ("non-hex-plan-id", [{"method": "POST", "path": "/enroll", "action": "json",
                          "json": {"plan_id": "-1", "token_id": "0123456789abcdef"}, "count": -1}], False,
     ("Server",), r"plan_id"),
    ("device-not-in-factory-group", [{"path": "/devices/*", "action": "json",
                                      "json": {"data": {"type": "device", "id": "0123456789abcdef"}}, "count": -1}],
     False, ("NotFactoryFixture",), None),
    ("redirect", [{"path": "/devices/*", "action": "redirect", "count": -1}], False, ("Server",), None),
    ("redirect-elsewhere", [{"path": "/devices/*", "action": "redirect", "location": "https://127.0.0.1:9/v5/x",
                             "count": -1}], False, ("Server",), None),
]


def area_server(w, srv):
    srv.reset()
    # TimeoutSec=2 (an attempt may spend 3 of them): generous for a loaded machine
    d = Daemon(w, srv, extra="[Server]\nTimeoutSec=2\nConnectTimeoutSec=2\n")
    survived = tried = 0
    try:
        settle(d, srv)

        def one(faults, success, names, message):
            srv.reset(faults=faults)
            blinkup_expect(d, srv, success, tuple(ERR + n for n in names), message)
            if faults and faults[0]["action"] == "revoke" and success:
                auths = [r for r in srv.requests() if r["api_path"] == "/auth/token"]
                check(len(auths) == 1, "%d authentications after a revoked token, expected 1" % len(auths))
            srv.reset()

        for name, faults, success, names, message in SERVER_FAULTS:
            n, total = RESULTS["passed"], sum(RESULTS.values())
            sub("server/" + name, one, faults, success, names, message)
            survived += RESULTS["passed"] - n
            tried += sum(RESULTS.values()) - total
        sub("server/still-serving", still_serving, d)
    finally:
        d.stop()

    # servers that misbehave below the API, each with its own daemon
    def with_url(url, extra, names, message):
        srv.reset()
        d = Daemon(w, srv, url=url, extra="[Server]\nTimeoutSec=2\nConnectTimeoutSec=2\n" + extra)
        try:
            wait_for(lambda: d.prop("FactoryStatus") != "unknown", 60, "the start-up factory check")
            check(d.prop("FactoryStatus") == "unreachable", "FactoryStatus %s" % d.prop("FactoryStatus"))
            t0 = time.monotonic()
            blinkup_expect(d, srv, False, tuple(ERR + n for n in names), message, timeout=60)
            took = time.monotonic() - t0
            check(took < 30, "the attempt took %.1f s" % took)
            still_serving(d)
            return took
        finally:
            d.stop()

    def raw(mode, names, message):
        s = RawServer(mode)
        try:
            took = with_url("http://127.0.0.1:%d/v5" % s.port, "AllowInsecureHttp=yes\n", names, message)
            figure("server %s: the attempt failed after %.1f s, %d bytes sent" % (mode, took, s.sent))
        finally:
            s.close()

    sub("server/never-answers", raw, "silent", ("Timeout",), None)
    sub("server/trickles-1-byte-per-second", raw, "trickle", ("Timeout",), None)
    sub("server/sends-100-MB", raw, "flood", ("Server",), r"larger")

    def tls_silent():
        s = RawServer("silent")
        try:
            with_url("https://127.0.0.1:%d/v5" % s.port, "", ("Timeout", "Server"), None)
        finally:
            s.close()
    sub("server/tls-never-answers", tls_silent)
    sub("server/dns-does-not-resolve", with_url, "https://factory.blinkupd-test.invalid/v5", "", ("Server", "Timeout"),
        r"resolv|timed out|within")
    sub("server/connection-refused", with_url, "https://127.0.0.1:9/v5", "", ("Server", "Timeout"), None)

    def cert(kind, url_host):
        p = subprocess.Popen([sys.executable, SERVER, "--pki", srv.pki, "--cert", kind, "--login-key",
                              harness.LOGIN_KEY], stdout=subprocess.PIPE, text=True)
        try:
            port = int(p.stdout.readline())
            with_url("https://%s:%d/v5" % (url_host, port), "", ("Server",), r"certificate|TLS")
        finally:
            p.terminate()
            p.wait(10)
    sub("server/expired-certificate", cert, "expired", "127.0.0.1")
    sub("server/certificate-for-another-host", cert, "wronghost", "127.0.0.1")

    def other_ca():
        d = Daemon(w, srv, extra="[Server]\nCAFile=%s\nTimeoutSec=1\n" % os.path.join(srv.pki, "other-ca.pem"))
        try:
            wait_for(lambda: d.prop("FactoryStatus") != "unknown", 30, "the start-up factory check")
            blinkup_expect(d, srv, False, (ERR + "Server",), r"certificate|TLS")
            still_serving(d)
        finally:
            d.stop()
    sub("server/certificate-of-another-ca", other_ca)
    if tried:
        figure("server faults: %d of %d API faults survived with the expected outcome" % (survived, tried))


# ---- D-Bus ----

def area_dbus(w, srv):
    srv.reset()
    # slow and repeated frames: a blink of several seconds
    d = Daemon(w, srv, extra="[LED]\nFast=no\nRepeat=6\n")
    try:
        settle(d, srv)

        def wrong_args():
            for method, args in (("Clear", ["string:hello"]), ("BlinkUp", ["uint32:7"]), ("Cancel", ["int32:1"]),
                                 ("Reload", ["string:/etc/passwd", "boolean:true"])):
                rc, out, err = dbus_send(method, *args)
                check(rc != 0 and "org.freedesktop.DBus.Error.InvalidArgs" in err,
                      "%s with arguments: %s %s" % (method, out, err))
            # the same through busctl, as a line controller would type it
            rc, out, err = busctl("call", NAME, PATH, NAME, "Clear", "s", "hello")
            check(rc != 0 and "Invalid arguments" in err, "busctl call Clear s hello: %s %s" % (out, err))
            rc, out, err = dbus_send("Explode")
            check(rc != 0 and "UnknownMethod" in err, "an unknown method: " + err)
            rc, out, err = busctl("set-property", NAME, PATH, NAME, "State", "s", "blinking")
            check(rc != 0, "State was writable")
            check(d.prop("Attempts") == 0, "a wrong call started an attempt")
            still_serving(d)
        sub("dbus/wrong-argument-types", wrong_args)


        def disconnects():
            # clients gone before their reply: a BlinkUp() whose caller was killed at once
            for i in range(20):
                c = subprocess.Popen(["busctl", "--user", "call", NAME, PATH, NAME, "Clear"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                c.kill()
                c.wait()
            # waiting clients killed mid-wait
            waits = [subprocess.Popen([BLINKUPCTL, "--user-bus", "clear", "--wait"], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL) for _ in range(5)]
            time.sleep(1.0)
            for c in waits:
                c.kill()
                c.wait()
            check(d.proc.poll() is None, "the daemon died")
            # whatever was accepted finishes; then the fixture serves
            wait_for(lambda: d.prop("State") == "idle", 120, "idle after the killed clients")
            check(vcd_last_level(d.trace) == "1", "the LED is not dark")
            for aid in range(1, d.prop("LastAttemptId") + 1):
                ev = d.events(aid)
                check(not ev or ev[-1] in ("blinked", "failed", "cancelled", "confirmed"),
                      "attempt %d left unfinished in the record: %r" % (aid, ev))
            history_ok(d.state)
            still_serving(d)
        sub("dbus/clients-disconnect-mid-call", disconnects)
    finally:
        d.stop()

def area_dbus_burst(w, srv):
    """1000 BlinkUp() calls while a blink runs: every one answered Busy. The blink is as long as
    the configuration allows (slow frames, 16 of them: about 50 s), so that the burst ends inside
    it however busy the machine is (2 s on an idle one, 20 s seen on a loaded one)."""
    srv.reset()
    d = Daemon(w, srv, extra="[LED]\nFast=no\nRepeat=16\n")
    try:
        settle(d, srv)

        def burst():
            rc, out, err = d.call("Clear")
            check(rc == 0, "Clear: " + err)
            aid = attempt_id(out)
            d.wait_signal("StateChanged", lambda a: a[0] == aid and a[1] == "blinking", 10)
            before = d.prop("Attempts")
            t0 = time.monotonic()
            script = ('seq 1000 | xargs -P 8 -n 1 sh -c \'dbus-send --session --print-reply '
                      '--dest=%s %s %s.BlinkUp 2>&1 | head -n 1\' _' % (NAME, PATH, NAME))
            p = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=300)
            took = time.monotonic() - t0
            lines = [l for l in p.stdout.splitlines() if l.strip()]
            busy = sum(1 for l in lines if ERR + "Busy" in l)
            check(len(lines) == 1000, "%d replies to 1000 calls" % len(lines))
            check(busy == 1000, "%d of 1000 calls answered Busy; others: %r" %
                  (busy, sorted(set(l for l in lines if ERR + "Busy" not in l))[:5]))
            state = d.prop("State")
            fin = d.wait_signal("Finished", lambda a: a[0] == aid, 240)
            late = timing_fault(fin)
            check(fin[1] is True or late, "the blink under the burst failed: %r" % (fin,))
            if not late:
                rc, text = decode(d.trace)
                check(rc == 0 and text.count("55555555555555552a0207001d41") >= 1, "the clear frame does not decode: "
                      + text[-300:])
            check(d.prop("Attempts") == before, "a call in the burst started an attempt")
            figure("D-Bus burst: 1000 BlinkUp() calls in %.1f s while blinking (state %s): %d Busy" %
                   (took, state, busy))
            still_serving(d, finish_timeout=240)
        sub("dbus/1000-calls-while-blinking", burst)
    finally:
        d.stop()


# ---- GPIO ----

def area_gpio(w, srv):
    def refuses(name, extra, words):
        p = os.path.join(w, "gpio-%s.conf" % name)
        key = os.path.join(w, "gpio-key")
        with open(os.open(key, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(harness.LOGIN_KEY + "\n")
        with open(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write("[LED]\nChip=sim\n[Server]\nURL=%s\nLoginKeyFile=%s\nCAFile=%s\nFixtureId=0123456789abcdef\n"
                    "[Daemon]\nStateDirectory=%s\n%s" % (srv.url, key, os.path.join(srv.pki, "ca.pem"),
                                                        tempfile.mkdtemp(dir=w), extra))
        t0 = time.monotonic()
        r = subprocess.run([BLINKUPD, "--user-bus", "--config=" + p], capture_output=True, text=True, timeout=30)
        check(r.returncode == 1, "exit status %d without its line, not 1" % r.returncode)
        for word in words:
            check(word in r.stderr, "the message does not name %r: %s" % (word, r.stderr.strip()[-400:]))
        check(time.monotonic() - t0 < 10, "refusing took %.1f s" % (time.monotonic() - t0))
        check(not name_owned(NAME), "the bus name is owned")
        print("    " + r.stderr.strip().splitlines()[-1], flush=True)

    sub("gpio/led-chip-missing", refuses, "led-chip", "[LED]\nChip=gpiochip99\nLine=17\n", ["gpiochip99", "17", "led"])
    sub("gpio/led-chip-path-missing", refuses, "led-path", "[LED]\nChip=/dev/gpiochip77\nLine=GPIO17\n",
        ["/dev/gpiochip77", "led"])
    sub("gpio/button-chip-missing", refuses, "button", "[Button]\nChip=gpiochip98\nLine=27\n",
        ["gpiochip98", "27", "button"])
    sub("gpio/indicator-chip-missing", refuses, "ind", "[Indicators]\nReady=gpiochip97:5\n", ["gpiochip97", "5"])
    sub("gpio/button-fifo-in-missing-dir", refuses, "fifo",
        "[Button]\nChip=sim\n[Simulation]\nButtonFifo=/nonexistent-dir/button\n", ["/nonexistent-dir/button"])

    def storm():
        srv.reset()
        d = Daemon(w, srv)
        try:
            settle(d, srv)
            hz = os.sysconf("SC_CLK_TCK")

            def cpu():
                with open("/proc/%d/stat" % d.proc.pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / hz  # utime + stime

            # 10 000 edges per second for 10 s: 100 edges every 10 ms, on an absolute schedule
            fd = os.open(d.fifo, os.O_WRONLY)
            c0, t0 = cpu(), time.monotonic()
            edges = 0
            try:
                for tick in range(1000):
                    os.write(fd, b"10" * 50)
                    edges += 100
                    delay = t0 + (tick + 1) * 0.01 - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                wall = time.monotonic() - t0
                c1 = cpu()
                # the storm ends pressed: one press, then released
                os.write(fd, b"1")
                time.sleep(0.3)
                os.write(fd, b"0")
            finally:
                os.close(fd)
            share = (c1 - c0) / wall
            figure("button storm: %d edges in %.1f s (%.0f/s); daemon CPU %.2f s = %.1f%% of one core" %
                   (edges, wall, edges / wall, c1 - c0, 100 * share))
            check(wall < 20, "the storm took %.1f s to write" % wall)
            check(share < 0.5, "the daemon used %.0f%% of a core under the storm" % (100 * share))
            aid = d.wait_signal("Finished", lambda a: True, 60)[0]
            time.sleep(1.0)
            check(d.prop("Attempts") == 1, "the storm made %d attempts" % d.prop("Attempts"))
            enrolls = [r for r in srv.requests() if r["method"] == "POST" and r["api_path"] == "/enroll"]
            check(len(enrolls) == 1, "%d enroll requests" % len(enrolls))
            check(d.events(aid)[0] == "started", "record %r" % d.events(aid))
            still_serving(d)
        finally:
            d.stop()
    sub("gpio/button-storm-10000-edges-per-second", storm)


# ---- process ----

def restart_and_continue(d, last):
    """A new daemon on the same configuration and state: the record reads, IDs continue."""
    history_ok(d.state, last)
    for line in d.record():
        check(re.match(r"\S+ attempt=\d+ event=[a-z]+( |$)", line), "a record line does not parse: %r" % line)
    p = subprocess.Popen([BLINKUPD, "--user-bus", "--config=" + d.conf], stdout=d.log, stderr=d.log)
    d.proc = p
    wait_for(lambda: p.poll() is not None or name_owned(NAME), 15, "the restarted daemon")
    check(p.poll() is None, "the restarted daemon exited: " + d.stderr()[-400:])
    check(d.prop("LastAttemptId") >= last, "LastAttemptId %d < %d" % (d.prop("LastAttemptId"), last))
    aid = still_serving(d)
    check(aid > last, "attempt ID %d after %d" % (aid, last))


def kill_in_state(w, srv, sig, state):
    srv.reset()
    extra = "[LED]\nFast=no\n" if state == "blinking" else ""
    d = Daemon(w, srv, extra=extra)
    try:
        settle(d, srv)
        if state == "verifying":
            srv.reset(faults=[{"path": "/devices/*", "action": "delay", "seconds": 4, "count": -1}])
        elif state == "requesting-token":
            srv.reset(faults=[{"method": "POST", "path": "/enroll", "action": "delay", "seconds": 4, "count": -1}])
        aid = None
        if state != "idle":
            rc, out, err = d.call("BlinkUp")
            check(rc == 0, "BlinkUp(): " + err)
            aid = attempt_id(out)
            d.wait_signal("StateChanged", lambda a: a[0] == aid and a[1] == state, 20)
            time.sleep(0.5)
            check(d.prop("State") == state, "state %s, wanted %s" % (d.prop("State"), state))
        else:
            rc, out, err = d.call("Clear")
            aid = attempt_id(out)
            d.wait_signal("Finished", lambda a: a[0] == aid, 20)
        frames_before = trace_lines(d)
        d.proc.send_signal(sig)
        # SIGQUIT lets the attempt run to its end: server timeouts and retries, a slow frame
        code = d.proc.wait(240 if sig == signal.SIGQUIT else 15)
        if sig == signal.SIGQUIT:
            check(code == 0, "exit status %s after SIGQUIT" % code)
            check(vcd_last_level(d.trace) in (None, "1"), "the LED is not dark after SIGQUIT")
            if state != "idle":
                events = d.events(aid)
                check("cancelled" not in events and events[-1] in ("blinked", "failed"),
                      "record after SIGQUIT: %r" % events)
                check("Attempt %d has ended, stopping." % aid in d.stderr(), "no log of the attempt's end")
        elif sig == signal.SIGTERM:
            check(code == 0, "exit status %s after SIGTERM" % code)
            check(vcd_last_level(d.trace) in (None, "1"), "the LED is not dark after SIGTERM")
            if state != "idle":
                check(d.events(aid)[-1] == "cancelled", "record after SIGTERM: %r" % d.events(aid))
            if state in ("verifying", "requesting-token"):
                check(trace_lines(d) == frames_before, "something was blinked")
        else:
            check(code == -signal.SIGKILL, "exit status %s" % code)
            check(d.events(aid)[0] == "started", "record after SIGKILL: %r" % d.events(aid))
        srv.reset()
        restart_and_continue(d, aid)
    finally:
        d.stop()


def mount_wrapper(w, name, script, probe):
    """A blinkupd that runs in its own mount namespace after script (sh) has run there."""
    try:
        p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", probe], capture_output=True,
                           text=True, timeout=60)
    except OSError as e:
        raise Skip("cannot run unshare: %s" % e)
    if p.returncode != 0:
        raise Skip("cannot mount in a private mount namespace here: " + (p.stderr.strip() or "exit %d" % p.returncode))
    path = os.path.join(w, "blinkupd-" + name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n# SPDX-License-Identifier: MIT\nexec unshare -m --propagation private sh -c '%s\n"
                "exec \"$0\" \"$@\"' %s \"$@\"\n" % (script, BLINKUPD))
    os.chmod(path, 0o755)
    return path


STATE_FROM_ARGS = ("S=; for a; do case $a in --config=*) S=$(sed -n \"s/^StateDirectory=//p\" \"${a#--config=}\");; "
                   "esac; done; ")


def state_dir_case(w, srv, kind):
    """The state directory fails under a running daemon: "read-only" is an ext4 file system that
    goes read-only on an error (errors=remount-ro, as a real SD card does; a tmpfs cannot be
    remounted read-only while the record is open for writing), "full" a tiny tmpfs filled up."""
    flag = os.path.join(w, "flag-" + kind)
    done = os.path.join(w, "done-" + kind)
    img = os.path.join(w, "state-%s.img" % kind)
    for p in (flag, done, img):
        if os.path.exists(p):
            os.unlink(p)
    if kind.startswith("read-only"):
        probe = ("truncate -s 8M %s.probe && mkfs.ext4 -q -F %s.probe && mount -o loop %s.probe /mnt && "
                 "test -e /sys/fs/ext4/$(basename $(findmnt -n -o SOURCE /mnt))/trigger_fs_error; "
                 "r=$?; umount /mnt; rm -f %s.probe; exit $r" % (img, img, img, img))
        setup = ("truncate -s 8M %s && mkfs.ext4 -q -F %s && mount -o loop,errors=remount-ro %s \"$S\" "
                 "&& chmod 0700 \"$S\" || exit 1; " % (img, img, img))
        action = "echo 1 > /sys/fs/ext4/$(basename $(findmnt -n -o SOURCE \"$S\"))/trigger_fs_error"
    else:
        probe = "mount -t tmpfs -o size=64k tmpfs /mnt && umount /mnt"
        setup = "mount -t tmpfs -o size=256k,mode=0700 tmpfs \"$S\" || exit 1; "
        action = "dd if=/dev/zero of=\"$S/filler\" bs=4k 2>/dev/null; true"
    # the fault waits for the flag in the background; it ends with the daemon ($$ is the shell
    # that becomes blinkupd), so a case that fails before the flag leaves no shell polling
    script = (STATE_FROM_ARGS + setup +
              "(while [ ! -e %s ]; do kill -0 $$ 2>/dev/null || exit 0; sleep 0.05; done; %s; touch %s) &"
              % (flag, action, done))
    wrapper = mount_wrapper(w, kind, script, probe)
    saved = harness.BLINKUPD
    harness.BLINKUPD = wrapper
    srv.reset()
    try:
        d = Daemon(w, srv)
    finally:
        harness.BLINKUPD = saved
    try:
        settle(d, srv)
        pid = d.proc.pid
        # the record as the daemon sees it, through its mount namespace
        state = "/proc/%d/root%s" % (pid, d.state)
        record = os.path.join(state, "attempts.log")
        first = None
        if kind == "read-only-mid-attempt":
            # the file system fails while the token is being fetched: the started event is on
            # disk, the token event cannot be written; nothing may be blinked
            srv.reset(faults=[{"method": "POST", "path": "/enroll", "action": "delay", "seconds": 1.5, "count": 1}])
            before = trace_lines(d)
            rc, out, err = d.call("BlinkUp")
            check(rc == 0, "BlinkUp(): " + err)
            aid = attempt_id(out)
            d.wait_signal("StateChanged", lambda a: a[0] == aid and a[1] == "requesting-token", 20)
            with open(flag, "w"):
                pass
            wait_for(lambda: os.path.exists(done), 20, "the state directory fault")
            fin = d.wait_signal("Finished", lambda a: a[0] == aid, 30)
            print("    %r" % (fin,), flush=True)
            check(fin[1] is False and fin[2] == ERR + "Record", "Finished: %r" % (fin,))
            check(trace_lines(d) == before, "blinked a token that is not in the record")
            with open(record) as f:
                lines = f.read().splitlines()
            check(any(re.search(r" attempt=%d .*event=started" % aid, l) for l in lines), "record: %r" % lines)
            history_ok(state, aid)
            check(d.prop("State") == "idle", "not idle")
            rc, out, err = dbus_send("Clear")
            check(rc != 0 and ERR + "Record" in err, "Clear() afterwards: %s %s" % (out, err))
            check(d.proc.poll() is None, "the daemon died")
            return
        if kind == "read-only":
            # a record with an attempt in it; a full tmpfs would still take appends into the
            # record's last page, so that one starts from an empty record
            rc, out, err = d.call("Clear")
            check(rc == 0, "Clear before the fault: " + err)
            first = attempt_id(out)
            d.wait_signal("Finished", lambda a: a[0] == first, 20)
        with open(flag, "w"):
            pass
        wait_for(lambda: os.path.exists(done), 20, "the state directory fault")
        before = trace_lines(d)
        for method in ("BlinkUp", "Clear"):
            rc, out, err = dbus_send(method)
            check(rc != 0 and ERR + "Record" in err, "%s() with a %s state directory: %s %s" % (method, kind, out, err))
            check("cannot be recorded" in err, "unclear message: " + err)
            print("    " + err, flush=True)
        check(trace_lines(d) == before, "blinked without a record")
        check(d.proc.poll() is None, "the daemon died")
        check(d.prop("State") == "idle", "not idle")
        with open(record) as f:
            lines = f.read().splitlines()
        check(all(re.search(r" attempt=\d+ ", l) for l in lines), "record: %r" % lines)
        if first is not None:
            check(len(lines) >= 2, "the record lost the attempt before the fault: %r" % lines)
        history_ok(state, first)
        figure("state directory %s: BlinkUp() and Clear() refused with %sRecord, nothing blinked" % (kind, ERR))
    finally:
        d.stop()
        if os.path.exists(img):
            os.unlink(img)


def state_dir_read_only_at_start(w, srv):
    """A state directory that is read-only before the daemon starts: it refuses to start."""
    script = STATE_FROM_ARGS + ("mount -t tmpfs -o size=64k,mode=0700 tmpfs \"$S\" && "
                                "mount -o remount,ro \"$S\" || exit 1;")
    wrapper = mount_wrapper(w, "ro-at-start", script, "mount -t tmpfs -o size=64k tmpfs /mnt && "
                            "mount -o remount,ro /mnt && umount /mnt")
    saved = harness.BLINKUPD
    harness.BLINKUPD = wrapper
    try:
        Daemon(w, srv)
        raise Failure("blinkupd started on a read-only state directory")
    except Failure as e:
        msg = str(e)
        check("exited at start" in msg and "attempt record" in msg, "unclear refusal: " + msg[-400:])
        print("    " + msg.strip().splitlines()[-1], flush=True)
    finally:
        harness.BLINKUPD = saved


def area_process(w, srv):
    for state in ("idle", "verifying", "requesting-token", "blinking"):
        sub("process/sigterm-" + state, kill_in_state, w, srv, signal.SIGTERM, state)
        sub("process/sigkill-" + state, kill_in_state, w, srv, signal.SIGKILL, state)
        sub("process/sigquit-" + state, kill_in_state, w, srv, signal.SIGQUIT, state)
    sub("process/state-dir-read-only-at-start", state_dir_read_only_at_start, w, srv)
    sub("process/state-dir-goes-read-only", state_dir_case, w, srv, "read-only")
    sub("process/state-dir-goes-read-only-mid-attempt", state_dir_case, w, srv, "read-only-mid-attempt")
    sub("process/state-dir-full", state_dir_case, w, srv, "full")


AREAS = {"config": area_config, "server": area_server, "dbus": area_dbus, "dbus-burst": area_dbus_burst,
         "gpio": area_gpio, "process": area_process}


def main():
    selected = sys.argv[1:] or list(AREAS)
    work = tempfile.mkdtemp(prefix="blinkupd-rob-")
    harness.adopt_orphans()
    srv = FactoryServer(work)
    t0 = time.monotonic()
    try:
        for name in selected:
            try:
                AREAS[name](work, srv)
            except Exception as e:  # an area that breaks down is a failure, not a crash of the run
                RESULTS["failed"] += 1
                print("FAIL: %s: %s" % (name, e), flush=True)
    finally:
        srv.stop()
        harness.end_children()
    for f in FIGURES:
        print("figure: " + f)
    total = RESULTS["passed"] + RESULTS["failed"] + RESULTS["skipped"]
    print("robustness: cases=%d passed=%d failed=%d skipped=%d (%.0f s)" %
          (total, RESULTS["passed"], RESULTS["failed"], RESULTS["skipped"], time.monotonic() - t0))
    if RESULTS["failed"]:
        print("the logs of the failed cases are kept in " + work)
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0 if total else 1


if __name__ == "__main__":
    sys.exit(main())
