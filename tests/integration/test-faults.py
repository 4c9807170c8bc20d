#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fault classes of the daemon, each with the real daemon, the real blinkupd-https and the real
HTTPS test server on a private bus of a real dbus-daemon (tests/integration/test-faults.sh): a factory
server client that stops answering, stale tokens, hostile Retry-After values, an exhausted
attempt ID space, a reload of what only a restart can change, hostile files in the state
directory.

Bounds on elapsed time below are there to tell "ended by its own deadline" from "held for
half a minute or more" (the faults these cases guard against); they leave several times the
expected time as slack, so a busy machine does not fail them.

Usage: test-faults.py [CASE...]   (environment: top_builddir, top_srcdir)
"""

import email.utils
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "helpers"))
from harness import (BLINKUPD, ERR, WRAPPER, Daemon, attempt_id, check, https_pid, run_cases,  # noqa: E402
                     vcd_last_level, wait_for)

# TimeoutSec=2 in the test configuration: an attempt's deadline is 3 x TimeoutSec
ATTEMPT_DEADLINE = 6.0
# These cases test faults, not timing: 60 bits/s, the most lateness a bit allows and retries, so
# that a machine busy with other work does not turn a blink into a timing fault.
TOLERANT = "[LED]\nFast=no\n[RealTime]\nMaxLatenessUs=15000\nTimingFaultRetries=10\n"


def fixture(w, srv, extra=""):
    return Daemon(w, srv, extra=TOLERANT + extra)


def gone(pid):
    """The process no longer exists (reaped), or is a zombie waiting to be."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def blinkup_finished(d, timeout=60):
    t0 = time.monotonic()
    rc, out, err = d.call("BlinkUp")
    check(rc == 0, "BlinkUp failed: " + err)
    aid = attempt_id(out)
    fin = d.wait_signal("Finished", lambda a: a[0] == aid, timeout)
    return aid, fin, time.monotonic() - t0


# ---- 1. a factory server client that stops answering ----

def case_stuck_helper(w, srv):
    """blinkupd-https stopped (SIGSTOP) while idle: the attempt ends by its own deadline, the
    stuck helper is killed and replaced, and the next attempt succeeds."""
    srv.reset()
    d = fixture(w, srv)
    try:
        wait_for(lambda: d.prop("FactoryStatus") == "verified", 10, "FactoryStatus verified at start")
        pid = wait_for(lambda: https_pid(d.proc.pid), 5, "blinkupd-https")
        os.kill(pid, signal.SIGSTOP)
        aid, fin, took = blinkup_finished(d)
        check(fin[1] is False and fin[2] == ERR + "Timeout", "Finished: %r" % (fin,))
        check("blinkupd-https" in fin[3] and "killed" in fin[3], "the message does not say what happened: %r"
              % (fin[3],))
        # by its own deadline (6 s), not the deadline plus half a minute
        check(took < ATTEMPT_DEADLINE + 12, "the attempt took %.1f s with a stopped helper" % took)
        print("  stopped blinkupd-https: the attempt ended after %.1f s (deadline %.1f s)" % (took, ATTEMPT_DEADLINE))
        wait_for(lambda: gone(pid), 10, "the stopped blinkupd-https to be killed")
        check(d.events(aid) == ["started", "failed"], "record: %r" % d.events(aid))
        check(vcd_last_level(d.trace) == "1", "the LED is not dark")
        # replaced: the next attempt works
        aid2, fin2, _ = blinkup_finished(d)
        check(fin2[1] is True, "the attempt after the stuck helper failed: %r" % (fin2,))
        pid2 = https_pid(d.proc.pid)
        check(pid2 and pid2 != pid, "blinkupd-https was not started again")
    finally:
        check(d.stop() == 0, "blinkupd did not exit cleanly")


def case_helper_no_handshake(w, srv):
    """A factory server client that never completes its D-Bus handshake (it reads nothing):
    every attempt still ends by its deadline, and each such helper is killed."""
    srv.reset()
    pids = os.path.join(w, "mute-helper.pids")
    mute = os.path.join(w, "mute-helper")
    with open(mute, "w") as f:
        f.write("#!/bin/sh\necho $$ >>%s\nexec sleep 600\n" % pids)
    os.chmod(mute, 0o755)
    saved = os.environ["BLINKUPD_HTTPS_PATH"]
    os.environ["BLINKUPD_HTTPS_PATH"] = mute
    try:
        d = fixture(w, srv)
    finally:
        os.environ["BLINKUPD_HTTPS_PATH"] = saved
    try:
        for _ in range(2):
            aid, fin, took = blinkup_finished(d)
            check(fin[1] is False and fin[2] == ERR + "Timeout", "Finished: %r" % (fin,))
            check("blinkupd-https" in fin[3], "the message does not name blinkupd-https: %r" % (fin[3],))
            check(took < ATTEMPT_DEADLINE + 12, "the attempt took %.1f s with a mute helper" % took)
            print("  blinkupd-https without a handshake: the attempt ended after %.1f s" % took)
            check(d.events(aid) == ["started", "failed"], "record: %r" % d.events(aid))
        with open(pids) as f:
            started = [int(p) for p in f.read().split()]
        check(len(started) >= 2, "the mute helper was not replaced: %r" % started)
        # all but the newest are killed (the newest waits for the next request's deadline)
        for p in started[:-1]:
            wait_for(lambda: gone(p), 10, "mute helper %d to be killed" % p)
        check(d.prop("State") == "idle", "not idle")
    finally:
        check(d.stop() == 0, "blinkupd did not exit cleanly")


def case_reload_stuck_helper(w, srv):
    """A reload while blinkupd-https is stopped: the reload does not wait for the old helper
    (the loop goes on serving), the old one is killed a few seconds later, the new one works."""
    srv.reset()
    d = fixture(w, srv)
    try:
        wait_for(lambda: d.prop("FactoryStatus") == "verified", 10, "FactoryStatus verified at start")
        pid = wait_for(lambda: https_pid(d.proc.pid), 5, "blinkupd-https")
        os.kill(pid, signal.SIGSTOP)
        os.mkdir(d.conf + ".d")
        with open(os.path.join(d.conf + ".d", "50-timeout.conf"), "w") as f:
            f.write("[Server]\nTimeoutSec=3\n")
        rc, out, err = d.call("Reload")
        check(rc == 0, "Reload failed: " + err)
        # the reload returned while the old helper is still there: nothing waited for it
        check(not gone(pid), "the reload waited for the stopped blinkupd-https to be killed")
        rc, out, err = d.call("Clear")
        check(rc == 0, "Clear after the reload: " + err)
        fin = d.wait_signal("Finished", lambda a: a[0] == attempt_id(out), 30)
        check(fin[1] is True, "Clear after the reload failed: %r" % (fin,))
        aid, fin, _ = blinkup_finished(d)
        check(fin[1] is True, "BlinkUp after the reload failed: %r" % (fin,))
        wait_for(lambda: gone(pid), 15, "the old, stopped blinkupd-https to be killed")
        check("did not exit within 5 s of its connection closing" in d.stderr(), "no word of killing it")
    finally:
        check(d.stop() == 0, "blinkupd did not exit cleanly")


# ---- 2. stale tokens ----

def lit_edges(trace):
    """How many times the active-low LED of the trace was lit."""
    with open(trace) as f:
        return sum(1 for line in f if line.startswith("0!"))


def case_expired_token(w, srv):
    """A token that has expired, or expires before its frame and the device's enrollment would
    be over, is never flashed: the attempt fails saying when it expires, the LED stays dark."""
    d = fixture(w, srv)
    try:
        for expires_in, words in ((-120, "expired at"), (20, "before its frame")):
            srv.reset(token_expires_in=expires_in)
            aid, fin, _ = blinkup_finished(d)
            check(fin[1] is False and fin[2] == ERR + "Server", "Finished: %r" % (fin,))
            check(words in fin[3] and "nothing is blinked" in fin[3], "message: %r" % (fin[3],))
            check(lit_edges(d.trace) == 0, "the LED was lit for a stale token")
            check(d.events(aid)[-1] == "failed", "record: %r" % d.events(aid))
        # a token good for long enough is blinked
        srv.reset(token_expires_in=600)
        aid, fin, _ = blinkup_finished(d)
        check(fin[1] is True, "a token good for 10 minutes was refused: %r" % (fin,))
        check(lit_edges(d.trace) > 0, "the LED was never lit")
    finally:
        srv.reset(token_expires_in=3600)
        check(d.stop() == 0, "blinkupd did not exit cleanly")


def case_prefetch_refreshed_before_expiry(w, srv):
    """A prefetched token is replaced before it would expire, not kept its 10 minutes."""
    # 60 s margin + 120 s lead: a token good for 185 s is kept 5 s
    srv.reset(token_expires_in=185)
    d = fixture(w, srv, extra="[Server]\nPrefetchToken=yes\n")
    try:
        enrolls = lambda: [r for r in srv.requests() if r["method"] == "POST" and r["api_path"] == "/enroll"]
        wait_for(lambda: len(enrolls()) >= 1, 15, "the first prefetch")
        wait_for(lambda: len(enrolls()) >= 2, 40, "the prefetched token to be replaced before it expires")
        # a token that expires too soon to be kept is not used for an attempt
        srv.reset(token_expires_in=100)
        wait_for(lambda: "expires too soon to be kept" in d.stderr(), 40, "a short-lived prefetch refused")
        t = srv.tokens()
        before = {x["token_id"] for x in (t.get("tokens") if isinstance(t, dict) else t)}
        srv.reset(token_expires_in=3600)
        aid, fin, _ = blinkup_finished(d)
        check(fin[1] is True, "BlinkUp failed: %r" % (fin,))
        token_line = [l for l in d.record() if " attempt=%d " % aid in l and " event=token " in l]
        check(token_line, "no token in the record")
        check(before and not any(tok in token_line[0] for tok in before),
              "a token issued before was blinked: %s" % token_line[0])
    finally:
        srv.reset(token_expires_in=3600)
        check(d.stop() == 0, "blinkupd did not exit cleanly")


# ---- 3. hostile Retry-After ----

def case_retry_after(w, srv):
    """Retry-After of any size, and in the HTTP-date form: a wait beyond the deadline fails at
    once with the real figure; a date a moment away is waited for; junk is a short wait."""
    d = fixture(w, srv)

    def enrolls():
        return sum(1 for r in srv.requests() if r["method"] == "POST" and r["api_path"] == "/enroll")

    def with_retry_after(value, count):
        srv.reset(faults=[{"method": "POST", "path": "/enroll", "action": "status", "status": 429,
                           "headers": {"Retry-After": value}, "count": count}])
        return blinkup_finished(d)

    try:
        wait_for(lambda: d.prop("FactoryStatus") == "verified", 10, "FactoryStatus verified at start")
        # far beyond an hour, as seconds or as a date: failed at once, the figure as asked
        for value, figure in (("99999999", "99999999 s"), ("Fri, 31 Dec 2100 23:59:59 GMT", None)):
            aid, fin, _ = with_retry_after(value, -1)
            check(fin[1] is False and fin[2] == ERR + "Server", "Retry-After %s: Finished: %r" % (value, fin))
            m = re.search(r"the server asks to wait (\d+) s, beyond the deadline", fin[3])
            check(m, "Retry-After %s: message %r" % (value, fin[3]))
            check(int(m.group(1)) > 2 * 10 ** 9 if figure is None else m.group(0).find(figure) > 0,
                  "Retry-After %s: the figure is wrong: %r" % (value, fin[3]))
            check(enrolls() == 1, "Retry-After %s: retried %d times instead of failing at once" % (value, enrolls()))
        # a date two seconds away (RFC 9110's IMF-fixdate): waited for, then it works
        aid, fin, _ = with_retry_after(email.utils.formatdate(time.time() + 2, usegmt=True), 1)
        check(fin[1] is True, "Retry-After as a near date: %r" % (fin,))
        check(enrolls() == 2, "Retry-After as a near date: %d enroll requests" % enrolls())
        # neither form: a short wait, then it works
        aid, fin, _ = with_retry_after("soon, maybe", 1)
        check(fin[1] is True, "Retry-After junk: %r" % (fin,))
        check(enrolls() == 2, "Retry-After junk: %d enroll requests" % enrolls())
    finally:
        srv.reset()
        check(d.stop() == 0, "blinkupd did not exit cleanly")


# ---- 4. attempt IDs ----

def record_line(attempt, event, **fields):
    """A record line as blinkupd writes it (record.h), its CRC-32 computed here with zlib."""
    text = "2026-12-01T08:00:00.000000Z attempt=%d event=%s" % (attempt, event)
    for k, v in fields.items():
        text += " %s=%s" % (k, v)
    return "%s crc=%08x\n" % (text, zlib.crc32(text.encode()))


def case_attempt_ids_exhausted(w, srv):
    """The last ID of a 64-bit space is handed out once; then attempts are refused, and the
    daemon does not start on such a record, saying what to do. IDs never wrap to 1."""
    srv.reset()
    top = 2 ** 64 - 1
    state = tempfile.mkdtemp(prefix="state-", dir=w)
    with open(os.path.join(state, "attempts.log"), "w") as f:
        f.write(record_line(top - 1, "started", kind="clear"))
        f.write(record_line(top - 1, "failed", error=ERR + "Cancelled", message="x"))
    d = fixture(w, srv, extra="[Daemon]\nStateDirectory=%s\n" % state)
    try:
        rc, out, err = d.call("Clear")
        check(rc == 0, "Clear failed: " + err)
        check(attempt_id(out) == top, "the attempt got ID %s, not %d" % (out, top))
        fin = d.wait_signal("Finished", lambda a: a[0] == top, 30)
        check(fin[1] is True, "Finished: %r" % (fin,))
        for _ in range(2):
            rc, out, err = d.call("Clear")
            check(rc != 0 and "No attempt ID is left" in err, "an attempt after the last ID: %s %s" % (out, err))
        with open(os.path.join(state, "attempts.log")) as f:
            lines = f.read().splitlines()
        check(len(lines) == 4 and all(" attempt=%d " % n in l for n, l in zip((top - 1, top - 1, top, top), lines)),
              "the record is not the two old and two new lines: %r" % lines)
    finally:
        check(d.stop() == 0, "blinkupd did not exit cleanly")
    p = subprocess.run(WRAPPER + [BLINKUPD, "--user-bus", "--config=" + d.conf], capture_output=True, text=True,
                       timeout=60)
    check(p.returncode != 0, "blinkupd started on a record whose IDs are used up")
    check("attempt IDs are used up" in p.stderr and "Move attempts.log aside" in p.stderr,
          "no clear message: " + p.stderr[-500:])


# ---- 5. a reload of what needs a restart ----

def case_reload_state_directory(w, srv):
    """A new [Daemon] StateDirectory= is refused by Reload (it needs a restart), naming both
    directories; the old configuration stays, and attempts go on being recorded where they were."""
    srv.reset()
    d = fixture(w, srv)
    try:
        other = tempfile.mkdtemp(prefix="other-state-", dir=w)
        os.mkdir(d.conf + ".d")
        with open(os.path.join(d.conf + ".d", "50-state.conf"), "w") as f:
            f.write("[WiFi]\nSSID=Line2\n[Daemon]\nStateDirectory=%s\n" % other)
        rc, out, err = d.call("Reload")
        check(rc != 0 and "StateDirectory= changed" in err and other in err and "restart" in err,
              "Reload with a new StateDirectory=: %d %s" % (rc, err))
        check(d.prop("SSID") == "Factory", "the rest of the new configuration was applied")
        rc, out, err = d.call("Clear")
        aid = attempt_id(out)
        d.wait_signal("Finished", lambda a: a[0] == aid, 30)
        check("blinked" in d.events(aid), "the attempt is not in the old record: %r" % d.record())
        check(not os.path.exists(os.path.join(other, "attempts.log")), "a record was started in the new directory")
    finally:
        check(d.stop() == 0, "blinkupd did not exit cleanly")


# ---- 7. hostile files; a cap on confirmations ----

def case_hostile_files(w, srv):
    """attempts.log as a symbolic link: not followed, the daemon says so and does not start.
    history of a FIFO: an error, never "no attempts". A FIFO in place of a secret file at a
    reload: refused at once, the daemon goes on serving."""
    srv.reset()
    blinkupctl = os.path.join(os.path.dirname(BLINKUPD), "blinkupctl")
    # the record a symbolic link (to a file that would be appended to)
    state = tempfile.mkdtemp(prefix="state-", dir=w)
    target = os.path.join(w, "elsewhere.log")
    open(target, "w").close()
    os.symlink(target, os.path.join(state, "attempts.log"))
    d = fixture(w, srv)
    d.stop()
    with open(d.conf, "a") as f:
        f.write("[Daemon]\nStateDirectory=%s\n" % state)
    p = subprocess.run(WRAPPER + [BLINKUPD, "--user-bus", "--config=" + d.conf], capture_output=True, text=True,
                       timeout=60)
    check(p.returncode != 0 and "attempts.log is a symbolic link" in p.stderr,
          "blinkupd on a linked record: %d %s" % (p.returncode, p.stderr[-400:]))
    check(os.path.getsize(target) == 0, "the link was followed and written to")
    p = subprocess.run([blinkupctl, "history", "--state-dir=" + state], capture_output=True, text=True, timeout=30)
    check(p.returncode != 0 and "symbolic link" in p.stderr, "history of a link: %d %s %s"
          % (p.returncode, p.stdout, p.stderr))

    # history of a FIFO
    fifo_state = tempfile.mkdtemp(prefix="state-", dir=w)
    os.mkfifo(os.path.join(fifo_state, "attempts.log"))
    p = subprocess.run([blinkupctl, "history", "--state-dir=" + fifo_state], capture_output=True, text=True,
                       timeout=30)
    check(p.returncode != 0 and "not a regular file" in p.stderr and "No attempts" not in p.stdout,
          "history of a FIFO: %d %s %s" % (p.returncode, p.stdout, p.stderr))

    # a FIFO swapped in for the login key before a reload
    d = fixture(w, srv)
    try:
        key = os.path.join(d.dir, "login-key")
        os.unlink(key)
        os.mkfifo(key, 0o600)
        rc, out, err = d.call("Reload")  # busctl's own timeout would end a hang: a hang fails below
        check(rc != 0 and "login-key: not a regular file" in err, "Reload with a FIFO secret: %d %s" % (rc, err))
        check(d.prop("State") == "idle", "not idle after the refused reload")
        rc, out, err = d.call("Clear")
        check(rc == 0, "Clear after the refused reload: " + err)
        fin = d.wait_signal("Finished", lambda a: a[0] == attempt_id(out), 30)
        check(fin[1] is True, "Clear after the refused reload failed: %r" % (fin,))
    finally:
        check(d.stop() == 0, "blinkupd did not exit cleanly")


def case_confirmations_capped(w, srv):
    """A server that never says "claimed", with a long ConfirmTimeoutSec=: confirmations do not
    build up without bound; past MaxConfirmations= the oldest is given up, recorded and signalled
    as such, and the others go on."""
    srv.reset(claim_delay=None)
    d = fixture(w, srv, extra="[Server]\nConfirmTimeoutSec=3600\nConfirmIntervalSec=30\nMaxConfirmations=3\n")
    try:
        ids = []
        for _ in range(4):
            aid, fin, _ = blinkup_finished(d)
            check(fin[1] is True, "BlinkUp %d failed: %r" % (len(ids) + 1, fin))
            ids.append(aid)
        fin = d.wait_signal("Finished", lambda a: a[0] == ids[0] and a[1] is False, 30)
        check("given up" in fin[3] and "3 confirmations were running, MaxConfirmations=3" in fin[3],
              "the oldest's end: %r" % (fin,))
        check(d.events(ids[0])[-1] == "failed", "the given-up confirmation is not in the record: %r"
              % d.events(ids[0]))
        for aid in ids[1:]:
            check(d.events(aid)[-1] == "blinked", "attempt %d: %r" % (aid, d.events(aid)))
    finally:
        srv.reset()
        check(d.stop() == 0, "blinkupd did not exit cleanly")


# ---- 9. the journal's prefixes only on the journal ----

def case_journal_stream(w, srv):
    """JOURNAL_STREAM is believed only when it names what stderr is (device and inode): a daemon
    run from a shell that inherited the variable writes no "<3>" prefixes to the terminal."""
    bad = os.path.join(w, "bad.conf")
    with open(bad, "w") as f:
        f.write("[LED]\nLine=-3\n")

    def run(journal_stream_of_stderr):
        r, wfd = os.pipe()
        st = os.fstat(wfd)
        value = "%d:%d" % (st.st_dev, st.st_ino) if journal_stream_of_stderr else "%d:%d" % (st.st_dev + 1, 4242)
        p = subprocess.Popen([BLINKUPD, "--check-config", "--config=" + bad], stdout=subprocess.DEVNULL, stderr=wfd,
                             env=dict(os.environ, JOURNAL_STREAM=value))
        os.close(wfd)
        with os.fdopen(r) as f:
            out = f.read()
        p.wait(30)
        return out

    out = run(False)
    check("bad.conf:2: Line:" in out and "<3>" not in out, "JOURNAL_STREAM of another stream: %r" % out)
    out = run(True)
    check(out.startswith("<3>") and "bad.conf:2: Line:" in out, "JOURNAL_STREAM of stderr itself: %r" % out)


# ---- 6. big records: rotated, never a line lost, read across files ----

def case_record_rotation(w, srv):
    """A record past RecordMaxFileMiB= goes on in a new attempts.log when the next attempt
    starts: the full file keeps every line as attempts.log.1, IDs go on, history reads both files,
    and a restart (also one that finds only rotated files) continues the IDs."""
    srv.reset()
    state = tempfile.mkdtemp(prefix="state-", dir=w)
    log = os.path.join(state, "attempts.log")
    with open(log, "w") as f:
        n = 0
        while f.tell() < 1100 * 1024:
            n += 1
            f.write(record_line(n, "started", kind="clear"))
            f.write(record_line(n, "blinked", edges=82, frames=1, max_lateness_ns=1000, p99_lateness_ns=900,
                                clean="yes"))
    with open(log) as f:
        before = f.read()
    extra = "[Daemon]\nStateDirectory=%s\nRecordMaxFileMiB=1\n" % state
    d = fixture(w, srv, extra=extra)
    try:
        rc, out, err = d.call("Clear")
        aid = attempt_id(out)
        check(aid == n + 1, "the attempt after %d got ID %d" % (n, aid))
        fin = d.wait_signal("Finished", lambda a: a[0] == aid, 30)
        check(fin[1] is True, "Finished: %r" % (fin,))
        with open(log + ".1") as f:
            check(f.read() == before, "the rotated file is not the full record, line for line")
        with open(log) as f:
            now = f.read().splitlines()
        check(len(now) == 2 and all(" attempt=%d " % aid in l for l in now), "the new attempts.log: %r" % now)
        check("it goes on in a new attempts.log, the full one is now attempts.log.1" in d.stderr(),
              "the rotation is not logged")
        p = subprocess.run([os.path.join(os.path.dirname(BLINKUPD), "blinkupctl"), "history", "-n", "3",
                            "--state-dir=" + state], capture_output=True, text=True, timeout=30)
        ids = [int(l.split()[0]) for l in p.stdout.splitlines()[1:]]
        check(p.returncode == 0 and ids == [n - 1, n, aid], "history across the files: %r" % p.stdout)
    finally:
        check(d.stop() == 0, "blinkupd did not exit cleanly")
    # a crash between the rename and the new file: only rotated files; the IDs go on
    os.rename(log, log + ".2")
    d = fixture(w, srv, extra=extra)
    try:
        rc, out, err = d.call("Clear")
        check(attempt_id(out) == aid + 1, "after a restart on rotated files only: %s" % out)
        d.wait_signal("Finished", lambda a: a[0] == aid + 1, 30)
    finally:
        check(d.stop() == 0, "blinkupd did not exit cleanly")


if __name__ == "__main__":
    sys.exit(run_cases(globals(), "blinkupd-faults-", sys.argv[1:]))
