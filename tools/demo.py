#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The blinkupd demo: the local HTTPS factory server, the daemon on a private session bus with
simulated lines, one factory BlinkUp triggered through D-Bus, and an account of what happened.
Run by ./run-demo inside dbus-run-session; writes the LED trace and a picture of it."""

import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "helpers"))
from harness import BLINKUPCTL, NAME, Daemon, FactoryServer, decode, wait_for  # noqa: E402


def say(text=""):
    print(text, flush=True)


def read_vcd(path):
    edges, t = [], 0
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                t = int(line[1:])
            elif line[:2] in ("0!", "1!"):
                edges.append((t, int(line[0])))
    return edges


def write_svg(trace, frame_hex, period_ns, out):
    """The LED (light on = up) over the frame, with the bytes written under it."""
    edges = read_vcd(trace)
    lit = [(t, 1 - level) for t, level in edges]  # active-low line: low = light
    first_light = next(t for t, v in lit[1:] if v == 1)
    start = first_light - period_ns  # preamble bit 0 is dark
    nbytes = len(frame_hex) // 2
    end = start + nbytes * 8 * period_ns
    width, height, top, low = 1600, 200, 40, 110
    x = lambda t: 10 + (t - start) * (width - 20) / (end - start)  # noqa: E731
    pts, level = [], 0
    for t, v in lit:
        if t < start:
            level = v
            continue
        if t > end:
            break
        y0 = low if level == 0 else top
        y1 = low if v == 0 else top
        pts += ["%.1f,%d" % (x(t), y0), "%.1f,%d" % (x(t), y1)]
        level = v
    pts = ["10,%d" % (low if lit[0][1] == 0 else top)] + pts + ["%d,%d" % (width - 10, low if level == 0 else top)]
    text = []
    for i in range(nbytes):
        cx = x(start + (i * 8 + 4) * period_ns)
        text.append('<text x="%.1f" y="140" font-size="9" text-anchor="middle">%s</text>' % (cx, frame_hex[2 * i:2 * i + 2]))
        bx = x(start + i * 8 * period_ns)
        text.append('<line x1="%.1f" y1="30" x2="%.1f" y2="120" stroke="#ddd"/>' % (bx, bx))
    svg = f"""<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="monospace">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="20" font-size="13">BlinkUp frame on the LED as traced by the simulated line ({1e9 / period_ns:.1f} bits/s, {nbytes} bytes; up = light)</text>
{"".join(text)}
<polyline fill="none" stroke="#c00" stroke-width="1.5" points="{" ".join(pts)}"/>
<text x="10" y="180" font-size="11">preamble 55 x 8, sync 2a, LEN, records (SSID, password, enrollment), CRC</text>
</svg>
"""
    with open(out, "w") as f:
        f.write(svg)


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.getcwd()
    work = tempfile.mkdtemp(prefix="blinkupd-demo-")
    say("== 1. The local factory server (HTTPS on 127.0.0.1, a throwaway CA)")
    srv = FactoryServer(work)
    srv.reset(claim_delay=1.5, device_id="0c0ffee000000042")
    say(f"   {srv.url}")
    try:
        say("== 2. blinkupd on a private D-Bus session bus, simulated LED and button")
        d = Daemon(work, srv, quiet_timing=False)
        say(f"   configuration: {d.conf}")
        wait_for(lambda: d.prop("FactoryStatus") != "unknown", 15, "the factory status")
        say(f"   fixture {d.prop('FixtureId')}: factory status {d.prop('FactoryStatus')}")
        say("== 3. One factory BlinkUp, started through D-Bus:  blinkupctl --user-bus blinkup --wait")
        t0 = time.monotonic()
        p = subprocess.run([BLINKUPCTL, "--user-bus", "blinkup", "--wait"], capture_output=True, text=True)
        say("   " + (p.stdout + p.stderr).strip().replace("\n", "\n   "))
        if p.returncode != 0:
            say("   the BlinkUp failed; the daemon said:\n   " + d.stderr().replace("\n", "\n   "))
            return 1
        aid = int(d.prop("LastAttemptId"))
        conf = d.wait_signal("Confirmed", lambda a: a[0] == aid, 30)
        elapsed = time.monotonic() - t0
        say("== 4. What happened")
        say("   states (StateChanged signals): " +
            " -> ".join(s[1] for s in d.signals("StateChanged") if s[0] == aid))
        say("   server calls:")
        for r in srv.requests():
            say(f"     {r['method']:5s} {r['api_path']}")
        rc, text = decode(d.trace)
        say("   the LED trace, decoded independently (tests/helpers/blinkup-decode):")
        say("     " + text.strip().replace("\n", "\n     "))
        mx, p99, edges = d.prop("LastTiming")
        say(f"   timing: {edges} edges, lateness max {mx / 1000:.0f} us, p99 {p99 / 1000:.0f} us "
            f"(a bit is {1e6 / 142:.0f} us)")
        say(f"   confirmation: device {conf[1]} enrolled; {elapsed:.1f} s from the call to the confirmation")
        say("   the durable record (state directory):")
        for line in d.record():
            say("     " + line)
        say("== 5. blinkupctl --user-bus status")
        p = subprocess.run([BLINKUPCTL, "--user-bus", "status"], capture_output=True, text=True)
        say("   " + (p.stdout + p.stderr).strip().replace("\n", "\n   "))
        d.stop()

        trace = os.path.join(outdir, "demo-led.vcd")
        svg = os.path.join(outdir, "demo-waveform.svg")
        with open(d.trace) as src, open(trace, "w") as dst:
            dst.write(src.read())
        # the frame that reached the device: the last one (after a timing fault the daemon
        # breaks a frame off and sends it again; the decoder reports the broken one as damaged)
        frames = re.findall(r"^frame \d+: ([0-9a-f]+)$", text, re.M)
        periods = re.findall(r"period_ns=([0-9.]+)", text)
        if rc != 0 or not frames or not periods:
            say("demo: FAILED: the LED trace does not end with a valid frame")
            return 1
        frame, period = frames[-1], float(periods[-1])
        write_svg(trace, frame, period, svg)
        say("== 6. Files")
        say(f"   {trace}  (the LED line; open with GTKWave or PulseView)")
        say(f"   {svg}  (a picture of the frame)")
        ok = rc == 0
        say("demo: " + ("the device was provisioned and confirmed" if ok else "FAILED"))
        return 0 if ok else 1
    finally:
        srv.stop()


if __name__ == "__main__":
    sys.exit(main())
