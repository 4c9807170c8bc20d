#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""One BlinkUp with the installed programs (run by debian/tests/smoke in dbus-run-session):
the local factory server, /usr/sbin/blinkupd with simulated lines on the session bus, a
button press, then the outcome on the bus, in the record, in the LED trace and in
blinkupctl history."""

import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "helpers"))
from harness import BLINKUPCTL, BLINKUPD, Daemon, Failure, FactoryServer, check, vcd_last_level, wait_for  # noqa: E402


def main():
    for prog in (BLINKUPD, BLINKUPCTL):
        p = subprocess.run([prog, "--version"], capture_output=True, text=True)
        check(p.returncode == 0, "%s --version: %s" % (prog, p.stderr))
        print("%s: %s" % (prog, p.stdout.splitlines()[0]))
    w = tempfile.mkdtemp(prefix="blinkupd-smoke-")
    srv = FactoryServer(w)
    d = None
    try:
        srv.reset()
        # 60 bits/s and a tolerance of half a bit: a virtual machine's testbed is not real time
        d = Daemon(w, srv, extra="[LED]\nFast=no\n[RealTime]\nMaxLatenessUs=7000\nTimingFaultRetries=3")
        wait_for(lambda: d.prop("FactoryStatus") == "verified", 30, "FactoryStatus verified")
        # the button of the simulated lines: pressed, held a moment, released
        d.press("1")
        time.sleep(0.2)
        d.press("0")
        fin = d.wait_signal("Finished", lambda a: True, 60)
        aid = fin[0]
        check(fin[1] is True, "the attempt failed: %r" % (fin,))
        conf = d.wait_signal("Confirmed", lambda a: a[0] == aid, 60)
        print("attempt %d: device %s enrolled" % (aid, conf[1]))
        wait_for(lambda: "confirmed" in d.events(aid), 10, "the confirmed record")
        check(d.events(aid) == ["started", "token", "blinked", "confirmed"], "record: %r" % d.events(aid))
        check(vcd_last_level(d.trace) == "1", "the active-low LED did not end dark")
        p = subprocess.run([BLINKUPCTL, "history", "--state-dir=" + d.state], capture_output=True, text=True)
        check(p.returncode == 0 and conf[1] in p.stdout, "blinkupctl history: " + p.stdout + p.stderr)
        print(p.stdout.rstrip())
    finally:
        rc = d.stop() if d else None
        srv.stop()
    check(rc == 0, "blinkupd did not exit cleanly (status %r)" % rc)
    print("smoke: PASS")


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        print("smoke: FAIL: %s" % e, file=sys.stderr)
        sys.exit(1)
