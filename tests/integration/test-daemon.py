#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration tests of blinkupd: the real daemon binary on a private D-Bus session bus (a real
dbus-daemon started by tests/integration/test-daemon.sh through dbus-run-session), simulated GPIO lines,
and the local HTTPS factory server (tests/helpers/factory-server.py). Python standard library only.

Each case starts its own daemon with its own configuration and state directory. Results are
checked on the bus (replies, signals, properties), in the durable record, in the LED trace
(decoded by tests/helpers/blinkup-decode, which does not share code with the encoder) and in the
factory server's request log.

Usage: test-daemon.py [CASE...]   (environment: top_builddir, top_srcdir)
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "helpers"))
from harness import (WRAPPER, BLINKUPCTL, BLINKUPD, ERR, LOGIN_KEY, NAME, PASSWORD, PATH, SRC, Daemon,  # noqa: E402
                     attempt_id, busctl, check, decode, https_pid, name_owned, run_cases, vcd_last_level, wait_for)

# ---- the cases ----

def case_blinkup_dbus(w, srv):
    srv.reset()
    d = Daemon(w, srv)
    try:
        wait_for(lambda: d.prop("FactoryStatus") == "verified", 10, "FactoryStatus verified at start")
        rc, out, err = d.call("BlinkUp")
        check(rc == 0, "BlinkUp failed: " + err)
        aid = attempt_id(out)
        fin = d.wait_signal("Finished", lambda a: a[0] == aid)
        check(fin[1] is True, "Finished with failure: %r" % (fin,))
        conf = d.wait_signal("Confirmed", lambda a: a[0] == aid)
        check(conf[1] == "00c0ffee00c0ffee", "Confirmed device ID: %r" % (conf,))
        # the frame on the line, decoded independently
        tokens = srv.tokens()
        token = (tokens.get("tokens") if isinstance(tokens, dict) else tokens)[-1]
        rc, text = decode(d.trace)
        check(rc == 0, "trace does not decode: " + text)
        check('ssid="Factory"' in text, "SSID not in the frame: " + text)
        check("password=(9 bytes)" in text, "password record missing: " + text)
        m = re.search(r"plan_id=([0-9a-f]{16}) token=([0-9a-f]{16})", text)
        check(m, "no enrollment record: " + text)
        check(int(m.group(1), 16) == int(token["plan_id"], 16), "plan ID %s != %s" % (m.group(1), token["plan_id"]))
        check(int(m.group(2), 16) == int(token["token_id"], 16), "token %s != %s" % (m.group(2), token["token_id"]))
        check(vcd_last_level(d.trace) == "1", "the active-low LED did not end dark")
        # durable record, in order
        wait_for(lambda: "confirmed" in d.events(aid), 5, "the confirmed record")
        check(d.events(aid) == ["started", "token", "blinked", "confirmed"], "record: %r" % d.events(aid))
        # what the server saw
        paths = [(r["method"], r["api_path"]) for r in srv.requests()]
        check(("POST", "/auth/token") in paths, "no authentication: %r" % paths)
        check(paths.count(("GET", "/devices/0123456789abcdef")) == 2,
              "one factory check at start and one per attempt expected: %r" % paths)
        check(("POST", "/enroll") in paths, "no enroll: %r" % paths)
        check(("GET", "/enroll/" + token["token_id"]) in paths, "no confirmation poll: %r" % paths)
        for r in srv.requests():
            ua = r["headers"].get("User-Agent", "")
            check(ua.startswith("blinkupd/"), "User-Agent %r" % ua)
        # properties
        check(d.prop("Successes") == 1 and d.prop("Attempts") == 1, "counters")
        check(d.prop("LastDeviceId") == "00c0ffee00c0ffee", "LastDeviceId")
        timing = d.prop("LastTiming")
        check(timing[2] > 100, "LastTiming edges %r" % (timing,))
        # no secret in the daemon's output, even at debug level
        log = d.stderr()
        check(LOGIN_KEY not in log and PASSWORD not in log, "a secret reached the log")
        # blinkupctl reads the same record
        p = subprocess.run([BLINKUPCTL, "history", "--state-dir=" + d.state], capture_output=True, text=True)
        check(p.returncode == 0 and "00c0ffee00c0ffee" in p.stdout, "blinkupctl history: " + p.stdout + p.stderr)
    finally:
        check(d.stop() == 0, "blinkupd did not exit cleanly")


def case_blinkup_with_options(w, srv):
    srv.reset()
    d = Daemon(w, srv)
    try:
        wait_for(lambda: d.prop("FactoryStatus") == "verified", 10, "FactoryStatus verified at start")
        # refused, naming the key, before anything is started (invalid UTF-8 cannot be sent by
        # busctl: the unit test of lib/identity.c has it)
        refused = [
            (("1", "colour", "s", "red"), "colour", "Unknown option"),
            (("1", "serial", "u", "42"), "serial", "is a string (s), not a value of type u"),
            (("1", "operator", "s", "x" * 65), "operator", "65 bytes, more than 64"),
            (("1", "serial", "s", "SN\t1"), "serial", "control character U+0009"),
            (("1", "operator", "s", "ali\x1bce"), "operator", "control character U+001B"),
            (("1", "serial", "s", "SN 1"), "serial", "a space at byte 2"),
            (("1", "serial", "s", ""), "serial", "empty"),
            (("2", "serial", "s", "A", "serial", "s", "B"), "serial", "given twice"),
        ]
        for args, key, why in refused:
            rc, out, err = d.call("BlinkUpWithOptions", "a{sv}", *args)
            check(rc != 0 and ('"%s"' % key in err or "Option %s:" % key in err), "%r: %s %s" % (args, out, err))
            check(why in err, "%r: %s" % (args, err))
        if shutil.which("gdbus"):  # busctl does not print the error's name
            p = subprocess.run(["gdbus", "call", "--session", "--dest", NAME, "--object-path", PATH, "--method",
                                NAME + ".BlinkUpWithOptions", "{'serial': <uint32 42>}"], capture_output=True,
                               text=True)
            check(p.returncode != 0 and "org.freedesktop.DBus.Error.InvalidArgs" in p.stderr,
                  "error name of a wrong type: " + p.stderr)
        check(d.prop("Attempts") == 0 and d.record() == [], "a refused call started something: %r" % d.record())

        rc, out, err = d.call("BlinkUpWithOptions", "a{sv}", "2", "serial", "s", "SN123", "operator", "s",
                              "Zo\u00eb Smith")
        check(rc == 0, "BlinkUpWithOptions: " + err)
        aid = attempt_id(out)
        check(d.wait_signal("Finished", lambda a: a[0] == aid)[1] is True, "attempt %d failed" % aid)
        started = [l for l in d.record() if re.search(r" attempt=%d event=started " % aid, l)]
        check(len(started) == 1 and started[0][27:].startswith(
            ' attempt=%d event=started kind=factory serial=SN123 operator="Zo\\xc3\\xab Smith" crc=' % aid),
            "started line: %r" % started)
        check((d.prop("LastSerial"), d.prop("LastOperator")) == ("SN123", "Zo\u00eb Smith"), "LastSerial/LastOperator")
        d.wait_signal("Confirmed", lambda a: a[0] == aid)

        # an empty dictionary is BlinkUp
        rc, out, err = d.call("BlinkUpWithOptions", "a{sv}", "0")
        check(rc == 0, "BlinkUpWithOptions({}): " + err)
        plain = attempt_id(out)
        check(d.wait_signal("Finished", lambda a: a[0] == plain)[1] is True, "attempt %d failed" % plain)
        started = [l for l in d.record() if re.search(r" attempt=%d event=started " % plain, l)]
        check(len(started) == 1 and started[0][27:].startswith(" attempt=%d event=started kind=factory crc=" % plain),
              "started line: %r" % started)
        check((d.prop("LastSerial"), d.prop("LastOperator")) == ("", ""), "LastSerial/LastOperator after {}")

        p = subprocess.run([BLINKUPCTL, "history", "--state-dir=" + d.state], capture_output=True, text=True)
        lines = p.stdout.splitlines()
        row = next((i for i, l in enumerate(lines) if l.split()[:1] == [str(aid)]), None)
        check(p.returncode == 0 and row is not None and lines[row + 1] == "         serial SN123  operator Zo\\xc3\\xab Smith",
              "blinkupctl history: " + p.stdout + p.stderr)
        p = subprocess.run([BLINKUPCTL, "history", "--json", "--state-dir=" + d.state], capture_output=True, text=True)
        got = {v["attempt_id"]: (v["serial"], v["operator"]) for v in map(json.loads, p.stdout.splitlines())}
        check(got == {aid: ("SN123", "Zo\u00eb Smith"), plain: (None, None)}, "history --json: %r" % got)
    finally:
        check(d.stop() == 0, "blinkupd did not exit cleanly")

def case_button_bounce(w, srv):
    srv.reset()
    d = Daemon(w, srv)
    try:
        # a bounce storm: 200 edges within a few ms, then held pressed, then released
        d.press("10" * 100 + "1")
        time.sleep(0.2)
        d.press("0")
        aid = d.wait_signal("Finished", lambda a: True)[0]
        time.sleep(0.5)
        check(d.prop("Attempts") == 1, "a bounce storm made %d attempts" % d.prop("Attempts"))
        enrolls = [r for r in srv.requests() if r["method"] == "POST" and r["api_path"] == "/enroll"]
        check(len(enrolls) == 1, "%d enroll requests" % len(enrolls))
        check(d.events(aid)[0] == "started", "record")
    finally:
        d.stop()


def case_busy(w, srv):
    srv.reset()
    d = Daemon(w, srv)
    try:
        rc, out, err = d.call("Clear")
        check(rc == 0, "Clear: " + err)
        rc, out, err = d.call("BlinkUp")
        check(rc != 0 and "in progress" in err, "second call not refused as busy: %s %s" % (out, err))
        rc2, out2, err2 = busctl("call", NAME, PATH, NAME, "Clear")
        check(rc2 != 0, "third call accepted")
        d.wait_signal("Finished", lambda a: True)
        # a press while busy was not queued
        check(d.prop("Attempts") == 1, "attempts")
    finally:
        d.stop()


def case_busy_error_name(w, srv):
    srv.reset()
    d = Daemon(w, srv)
    try:
        d.call("Clear")
        p = subprocess.run(["dbus-send", "--session", "--print-reply", "--dest=" + NAME, PATH, NAME + ".BlinkUp"],
                           capture_output=True, text=True)
        check(p.returncode != 0 and ERR + "Busy" in p.stderr, "Busy error name: " + p.stderr)
        d.wait_signal("Finished", lambda a: True)
    finally:
        d.stop()


def case_cancel(w, srv):
    srv.reset()
    d = Daemon(w, srv)
    try:
        rc, out, err = d.call("BlinkUp")
        aid = attempt_id(out)
        d.wait_signal("StateChanged", lambda a: a[0] == aid and a[1] == "blinking", 15)
        time.sleep(0.8)
        rc, out, err = d.call("Cancel")
        check(rc == 0, "Cancel: " + err)
        fin = d.wait_signal("Finished", lambda a: a[0] == aid, 5)
        check(fin[1] is False and fin[2] == ERR + "Cancelled", "Finished after cancel: %r" % (fin,))
        check(vcd_last_level(d.trace) == "1", "LED not dark after cancel")
        check(d.events(aid)[-1] == "cancelled", "record: %r" % d.events(aid))
        check(d.prop("State") == "idle", "not idle after cancel")
        # and the fixture keeps working
        rc, out, err = d.call("Clear")
        check(rc == 0, "Clear after cancel: " + err)
        d.wait_signal("Finished", lambda a: a[0] == attempt_id(out))
    finally:
        d.stop()


def case_clear(w, srv):
    srv.reset()
    d = Daemon(w, srv, url="https://127.0.0.1:9/v5")  # no server needed at all
    try:
        rc, out, err = d.call("Clear")
        aid = attempt_id(out)
        fin = d.wait_signal("Finished", lambda a: a[0] == aid)
        check(fin[1] is True, "Clear failed: %r" % (fin,))
        # the last frame decodes; before it may stand one that a late edge cut short (a
        # timing fault on a busy machine, resent: the Finished signal is still a success)
        rc, text = decode(d.trace)
        check(rc == 0 and re.search(r"^frame \d+: 55555555555555552a0207001d41$", text, re.M), "clear frame: " + text)
        check(d.events(aid) == ["started", "blinked"], "record: %r" % d.events(aid))
    finally:
        d.stop()


def case_scanner_unusable(w, srv):
    """A [Scanner] Device= that cannot be used is a warning naming it; the daemon serves."""
    srv.reset()
    d = Daemon(w, srv, extra="[Scanner]\nDevice=/nonexistent/scanner\n")
    try:
        check("Barcode scanner /nonexistent/scanner cannot be opened (No such file or directory); the fixture "
              "serves without it." in d.stderr(), "no warning about the missing scanner: " + d.stderr()[-600:])
        check(d.prop("PendingSerial") == "", "PendingSerial: %r" % d.prop("PendingSerial"))
        dropins = d.conf + ".d"
        os.mkdir(dropins)
        with open(os.path.join(dropins, "70-scanner.conf"), "w") as f:
            f.write("[Scanner]\nDevice=/dev/null\n")
        rc, out, err = d.call("Reload")
        check(rc == 0, "reload with an unusable scanner: " + err)
        check("Barcode scanner /dev/null is not an input device" in d.stderr(), "no warning about /dev/null")
        rc, out, err = d.call("BlinkUp")
        check(rc == 0, "BlinkUp without the scanner: " + err)
        aid = attempt_id(out)
        check(d.wait_signal("Finished", lambda a: a[0] == aid)[1] is True, "attempt %d failed" % aid)
        check(d.prop("LastSerial") == "", "LastSerial: %r" % d.prop("LastSerial"))
    finally:
        check(d.stop() == 0, "blinkupd did not exit cleanly")


def case_not_a_fixture(w, srv):
    srv.reset(fixture_group="development_devicegroup")
    d = Daemon(w, srv)
    try:
        rc, out, err = d.call("BlinkUp")
        aid = attempt_id(out)
        fin = d.wait_signal("Finished", lambda a: a[0] == aid)
        check(fin[1] is False and fin[2] == ERR + "NotFactoryFixture", "Finished: %r" % (fin,))
        check("This is not a factory fixture." in fin[3], "message: %r" % fin[3])
        check(d.prop("FactoryStatus") == "not-a-fixture", "FactoryStatus")
        check(not os.path.exists(d.trace) or decode(d.trace)[0] != 0, "something was blinked")
        check(not any(r["api_path"] == "/enroll" for r in srv.requests()), "a token was requested")
        check("Factory BlinkUp request failed. This is not a factory fixture." in d.stderr(), "log line")
        check(d.events(aid) == ["started", "failed"], "record: %r" % d.events(aid))
    finally:
        d.stop()


def case_server_down(w, srv):
    srv.reset()
    d = Daemon(w, srv, url="https://127.0.0.1:9/v5")
    try:
        rc, out, err = d.call("BlinkUp")
        aid = attempt_id(out)
        fin = d.wait_signal("Finished", lambda a: a[0] == aid, 30)
        check(fin[1] is False and fin[2] in (ERR + "Server", ERR + "Timeout"), "Finished: %r" % (fin,))
        check(fin[3], "no message")
        check(d.prop("FactoryStatus") == "unreachable", "FactoryStatus %s" % d.prop("FactoryStatus"))
        check(d.events(aid) == ["started", "failed"], "record: %r" % d.events(aid))
        check(d.prop("State") == "idle", "not idle")
    finally:
        d.stop()


def case_reload(w, srv):
    srv.reset()
    d = Daemon(w, srv)
    try:
        dropins = d.conf + ".d"
        os.mkdir(dropins)
        with open(os.path.join(dropins, "50-bad.conf"), "w") as f:
            f.write("[RealTime]\nPriority=120\n")
        rc, out, err = d.call("Reload")
        check(rc != 0 and "50-bad.conf:2: Priority:" in err, "bad reload: %s" % err)
        check(d.prop("SSID") == "Factory", "config changed by a bad reload")
        os.kill(d.proc.pid, signal.SIGHUP)  # the same through SIGHUP
        time.sleep(0.5)
        check(d.proc.poll() is None, "SIGHUP with a bad file killed the daemon")
        os.unlink(os.path.join(dropins, "50-bad.conf"))
        with open(os.path.join(dropins, "60-line2.conf"), "w") as f:
            f.write("[WiFi]\nSSID=Line2\n")
        rc, out, err = d.call("Reload")
        check(rc == 0, "good reload: " + err)
        check(d.prop("SSID") == "Line2", "SSID after reload: %s" % d.prop("SSID"))
        check(any(s[0] == NAME and "SSID" in s[1] for s in d.signals("PropertiesChanged")),
              "no PropertiesChanged for SSID")
        rc, out, err = d.call("Clear")
        check(rc == 0, "Clear after reload: " + err)
        d.wait_signal("Finished", lambda a: a[0] == attempt_id(out))
    finally:
        d.stop()


def case_sigterm_mid_blink(w, srv):
    srv.reset()
    d = Daemon(w, srv)
    rc, out, err = d.call("BlinkUp")
    aid = attempt_id(out)
    d.wait_signal("StateChanged", lambda a: a[0] == aid and a[1] == "blinking", 15)
    time.sleep(0.5)
    code = d.stop(signal.SIGTERM)
    check(code == 0, "exit status %s" % code)
    check(vcd_last_level(d.trace) == "1", "LED not dark after SIGTERM")
    check(d.events(aid)[-1] == "cancelled", "record: %r" % d.events(aid))


def blinking_then_sigquit(d):
    """Starts an attempt, sends SIGQUIT once it blinks; returns its ID. The frames are slow and
    repeated (Fast=no, Repeat=2: some 15 s) so that the attempt is still blinking when the signal
    arrives, however busy the machine is."""
    wait_for(lambda: d.prop("FactoryStatus") != "unknown", 30, "the start-up factory check")
    rc, out, err = d.call("BlinkUp")
    check(rc == 0, "BlinkUp failed: " + err)
    aid = attempt_id(out)
    d.wait_signal("StateChanged", lambda a: a[0] == aid and a[1] == "blinking", 30)
    d.proc.send_signal(signal.SIGQUIT)
    wait_for(lambda: "Received SIGQUIT: stopping once attempt %d has ended." % aid in d.stderr(), 30,
             "the log of SIGQUIT during the attempt")
    return aid


def case_sigquit_mid_blink(w, srv):
    """SIGQUIT while blinking: the attempt goes on to its end (not cancelled), new attempts are
    refused with Busy and button presses ignored meanwhile, then the daemon exits 0."""
    srv.reset()
    d = Daemon(w, srv, extra="[LED]\nFast=no\nRepeat=2\n")
    try:
        aid = blinking_then_sigquit(d)
        p = subprocess.run(["dbus-send", "--session", "--print-reply", "--dest=" + NAME, PATH, NAME + ".BlinkUp"],
                           capture_output=True, text=True, timeout=60)
        check(p.returncode != 0 and ERR + "Busy" in p.stderr and "stopping" in p.stderr,
              "BlinkUp while stopping not refused as Busy: " + p.stdout + p.stderr)
        d.press("1")
        time.sleep(0.1)
        d.press("0")
        wait_for(lambda: "Button pressed while the fixture is stopping: ignored." in d.stderr(), 30,
                 "the log of the ignored button press")
        check(d.proc.poll() is None, "blinkupd exited before the attempt ended")
        code = d.proc.wait(240)
        check(code == 0, "exit status %s after SIGQUIT" % code)
        fin = d.wait_signal("Finished", lambda a: a[0] == aid, 30)
        # a timing fault (a loaded machine) is still an attempt that ran to its end
        check(fin[1] is True or fin[2] == ERR + "TimingFault", "Finished: %r" % (fin,))
        check("Attempt %d has ended, stopping." % aid in d.stderr(), "no log of the end: " + d.stderr()[-600:])
        events = d.events(aid)
        check(events[:3] == ["started", "token", "blinked"] and "cancelled" not in events, "record: %r" % events)
        check(len(d.record()) == len([e for e in d.record() if " attempt=%d " % aid in e]),
              "another attempt was recorded: %r" % d.record())
        check(vcd_last_level(d.trace) == "1", "the LED did not end dark")
        p = subprocess.run([BLINKUPCTL, "history", "--state-dir=" + d.state], capture_output=True, text=True)
        check(p.returncode == 0 and re.search(r"\b%d\b" % aid, p.stdout), "blinkupctl history: " + p.stdout + p.stderr)
    finally:
        d.stop()


def case_sigquit_then_sigterm(w, srv):
    """SIGTERM while SIGQUIT waits for the attempt: cancelled at once, as always."""
    srv.reset()
    d = Daemon(w, srv, extra="[LED]\nFast=no\nRepeat=2\n")
    try:
        aid = blinking_then_sigquit(d)
        check(d.proc.poll() is None, "blinkupd exited before the attempt ended")
        d.proc.send_signal(signal.SIGTERM)
        code = d.proc.wait(60)
        check(code == 0, "exit status %s after SIGTERM" % code)
        check(d.events(aid)[-1] == "cancelled", "record: %r" % d.events(aid))
        check(vcd_last_level(d.trace) == "1", "the LED did not end dark")
    finally:
        d.stop()


def case_sigquit_idle(w, srv):
    """SIGQUIT while idle: the daemon exits 0 at once."""
    srv.reset()
    d = Daemon(w, srv)
    try:
        wait_for(lambda: d.prop("FactoryStatus") != "unknown", 30, "the start-up factory check")
        d.proc.send_signal(signal.SIGQUIT)
        code = d.proc.wait(60)
        check(code == 0, "exit status %s after SIGQUIT" % code)
        check("stopping." in d.stderr(), "no log of the stop: " + d.stderr()[-600:])
        check(d.record() == [], "something was recorded: %r" % d.record())
    finally:
        d.stop()


def case_record_survives_kill9(w, srv):
    srv.reset()
    d = Daemon(w, srv)
    rc, out, err = d.call("Clear")
    aid = attempt_id(out)
    d.wait_signal("Finished", lambda a: a[0] == aid)
    d.proc.kill()  # the moment the success was reported
    d.proc.wait()
    d.stop()
    check("blinked" in d.events(aid), "the reported success is not in the record: %r" % d.record())
    check(subprocess.run([BLINKUPCTL, "history", "--state-dir=" + d.state], capture_output=True).returncode == 0,
          "the record does not read back after kill -9")


def case_attempt_ids_continue(w, srv):
    srv.reset()
    d = Daemon(w, srv)
    rc, out, err = d.call("Clear")
    first = attempt_id(out)
    d.wait_signal("Finished", lambda a: a[0] == first)
    d.stop()
    # the same state directory, a new process
    p = subprocess.Popen(WRAPPER + [BLINKUPD, "--user-bus", "--config=" + d.conf], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: name_owned(NAME), 10, "the bus name")
        rc, out, err = busctl("call", NAME, PATH, NAME, "Cancel")
        check(rc == 0, "Cancel when idle: " + err)
        check(json.loads(busctl("--json=short", "get-property", NAME, PATH, NAME, "LastAttemptId")[1])["data"] == first,
              "LastAttemptId not restored")
    finally:
        p.terminate()
        p.wait(10)


def case_introspection(w, srv):
    srv.reset()
    d = Daemon(w, srv)
    try:
        rc, xml, err = busctl("introspect", "--xml-interface", NAME, PATH)
        check(rc == 0, err)
        import xml.etree.ElementTree as ET

        def members(root):
            iface = next(i for i in root.iter("interface") if i.get("name") == NAME)
            out = set()
            for el in iface:
                if el.tag == "method" or el.tag == "signal":
                    args = tuple((a.get("type"), a.get("direction", "out" if el.tag == "signal" else "in"))
                                 for a in el.iter("arg"))
                    out.add((el.tag, el.get("name"), args))
                elif el.tag == "property":
                    out.add((el.tag, el.get("name"), el.get("type"), el.get("access")))
            return out

        running = members(ET.fromstring(xml))
        shipped = members(ET.parse(os.path.join(SRC, "dbus", "org.blinkupd.Fixture1.xml")).getroot())
        check(running == shipped, "introspection differs from dbus/org.blinkupd.Fixture1.xml:\n only running: %r\n only shipped: %r"
              % (sorted(running - shipped), sorted(shipped - running)))
    finally:
        d.stop()


def case_property_signals(w, srv):
    srv.reset()
    d = Daemon(w, srv)
    try:
        rc, out, err = d.call("Clear")
        aid = attempt_id(out)
        d.wait_signal("Finished", lambda a: a[0] == aid)
        # the state goes back to idle after Finished: wait for its signals, not a while
        d.wait_signal("StateChanged", lambda a: a[0] == aid and a[1] == "idle")

        def states():
            return [s[1]["State"]["data"] for s in d.signals("PropertiesChanged") if "State" in s[1]]
        wait_for(lambda: len(states()) >= 2, 30, "PropertiesChanged of State, twice")
        check(states()[:2] == ["blinking", "idle"], "State changes: %r" % states())
        changed = set(k for s in d.signals("PropertiesChanged") for k in s[1])
        for p in ("Attempts", "Successes", "LastTiming", "LastAttemptId"):
            check(p in changed, "no PropertiesChanged for " + p)
        sc = [s[1] for s in d.signals("StateChanged") if s[0] == aid]
        check(sc == ["blinking", "idle"], "StateChanged: %r" % sc)
    finally:
        d.stop()


def case_prefetch(w, srv):
    srv.reset()
    d = Daemon(w, srv, extra="[Server]\nPrefetchToken=yes\n")
    try:
        # the factory status is known, and a token held, before the first press
        wait_for(lambda: d.prop("FactoryStatus") == "verified", 10, "FactoryStatus verified")
        wait_for(lambda: any(r["api_path"] == "/enroll" for r in srv.requests()), 10, "the prefetch")
        prefetched = srv.tokens()
        prefetched = (prefetched.get("tokens") if isinstance(prefetched, dict) else prefetched)[-1]["token_id"]
        rc, out, err = d.call("BlinkUp")
        aid = attempt_id(out)
        fin = d.wait_signal("Finished", lambda a: a[0] == aid)
        check(fin[1] is True, "Finished: %r" % (fin,))
        # the state goes back to idle after Finished
        d.wait_signal("StateChanged", lambda a: a[0] == aid and a[1] == "idle")
        states = [s[1] for s in d.signals("StateChanged") if s[0] == aid]
        check(states == ["blinking", "idle"], "a press with a token at hand went %r" % states)
        rc, text = decode(d.trace)
        check(re.search(r"token=0*%s\b" % prefetched.lstrip("0"), text), "the prefetched token was not sent: " + text)
        # and the next one is fetched again
        wait_for(lambda: len([r for r in srv.requests() if r["api_path"] == "/enroll"]) >= 2, 10, "the next prefetch")
    finally:
        d.stop()


def case_button_short_press(w, srv):
    """A quick, clean press (60 ms, twice DebounceMs) is one attempt: not lost, not doubled."""
    srv.reset()
    d = Daemon(w, srv)
    try:
        for i in range(3):
            d.press("1")
            time.sleep(0.06)
            d.press("0")
            fin = d.wait_signal("Finished", lambda a, n=i + 1: a[0] == n, 30)
            check(fin[1] is True, "press %d: %r" % (i + 1, fin))
        check(d.prop("Attempts") == 3, "3 presses made %d attempts" % d.prop("Attempts"))
    finally:
        d.stop()


def mapped(pid):
    with open("/proc/%d/maps" % pid) as f:
        return {os.path.basename(line.split()[5]) for line in f if len(line.split()) > 5}


def fd_targets(pid):
    """{fd: what it refers to}: files, sockets, pipes (their inode numbers tell them apart; the
    anonymous inodes of epoll, signalfd, timerfd and eventfd do not, and are left out), standard
    input and output left out."""
    out = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        if int(fd) > 2:
            try:
                target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if not target.startswith("anon_inode:"):
                out[int(fd)] = target
    return out


def status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"^%s:\s+(\d+) kB" % key, f.read(), re.M).group(1))


def case_https_process(w, srv):
    """The factory server client runs in blinkupd-https: the daemon maps no HTTP, TLS or JSON
    library; the child is not locked, holds no descriptor but its connection, and is started
    again after it dies, whether idle or in the middle of a request."""
    srv.reset()
    d = Daemon(w, srv)
    try:
        wait_for(lambda: d.prop("FactoryStatus") == "verified", 10, "FactoryStatus verified at start")
        pid = wait_for(lambda: https_pid(d.proc.pid), 5, "blinkupd-https")
        libs = mapped(d.proc.pid)
        for lib in ("libcurl", "libssl", "libcrypto", "libgnutls", "libjson-c"):
            check(not any(m.startswith(lib) for m in libs), "blinkupd maps %s: %r" % (lib, sorted(libs)))
        check(any(m.startswith("libcurl") for m in mapped(pid)), "blinkupd-https does not map libcurl")
        check(status_kib(pid, "VmLck") == 0, "blinkupd-https has locked memory")
        shared = set(fd_targets(pid).values()) & set(fd_targets(d.proc.pid).values())
        check(not shared, "blinkupd-https holds the daemon's descriptors: %r" % sorted(shared))
        check(fd_targets(pid)[3].startswith("socket:"), "no connection on descriptor 3")

        def blinkup_on_a_new_helper(before, after_what):
            """A factory BlinkUp that succeeds, served by a blinkupd-https other than before:
            its attempt ID and the new process's PID."""
            rc, out, err = d.call("BlinkUp")
            check(rc == 0, "BlinkUp failed: " + err)
            aid = attempt_id(out)
            fin = d.wait_signal("Finished", lambda a: a[0] == aid, 30)
            check(fin[1] is True, "the attempt after blinkupd-https %s failed: %r" % (after_what, fin))
            new = https_pid(d.proc.pid)
            check(new and new != before, "blinkupd-https was not started again after it %s" % after_what)
            return aid, new

        # killed while idle: the next attempt starts it again and succeeds
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: "was ended by signal SIGKILL" in d.stderr(), 5, "the log of blinkupd-https's end")
        aid, pid2 = blinkup_on_a_new_helper(pid, "was killed while idle")

        # killed while it waits for the server's token: the attempt fails clearly, LED dark,
        # the record has it, the daemon carries on
        d.wait_signal("Confirmed", lambda a: a[0] == aid, 30)
        srv.reset(faults=[{"method": "POST", "path": "/enroll", "action": "delay", "seconds": 3, "count": 1}])
        rc, out, err = d.call("BlinkUp")
        aid = attempt_id(out)
        wait_for(lambda: any(r["method"] == "POST" and r["api_path"] == "/enroll" for r in srv.requests()), 10,
                 "the enroll request")
        os.kill(pid2, signal.SIGKILL)
        fin = d.wait_signal("Finished", lambda a: a[0] == aid, 30)
        check(fin[1] is False and fin[2] == ERR + "Server", "Finished: %r" % (fin,))
        check("blinkupd-https" in fin[3], "the failure does not name blinkupd-https: %r" % (fin[3],))
        check(d.events(aid) == ["started", "failed"], "record: %r" % d.events(aid))
        check(vcd_last_level(d.trace) == "1", "the LED is not dark")
        check(d.prop("State") == "idle", "not idle")
        srv.reset()
        rc, out, err = d.call("Clear")
        aid = attempt_id(out)
        fin = d.wait_signal("Finished", lambda a: a[0] == aid, 30)
        check(fin[1] is True, "no success after blinkupd-https died mid-request: %r" % (fin,))
        aid, pid3 = blinkup_on_a_new_helper(pid2, "died mid-request")
    finally:
        check(d.stop() == 0, "blinkupd did not exit cleanly")
    # ended and reaped by the daemon before it exited: not left running, nor as a zombie, to
    # the process that adopts orphans (this one)
    check(not os.path.exists("/proc/%d" % pid3), "blinkupd-https (PID %d) outlived blinkupd" % pid3)

    # without blinkupd-https the daemon does not start, and says why
    env = dict(os.environ, BLINKUPD_HTTPS_PATH=os.path.join(w, "no-such-blinkupd-https"))
    p = subprocess.run(WRAPPER + [BLINKUPD, "--user-bus", "--config=" + d.conf], env=env,
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 1, "exit status %d without blinkupd-https" % p.returncode)
    check(re.search(r"Cannot run .*no-such-blinkupd-https, the factory server client: No such file", p.stderr),
          "no clear message: " + p.stderr[-600:])


if __name__ == "__main__":
    sys.exit(run_cases(globals(), "blinkupd-test-", sys.argv[1:]))
