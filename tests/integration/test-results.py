#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Results delivery ([Results] URL=): every attempt's documents reach the results endpoint from
the durable record, in record order, at least once, whatever the endpoint and the daemon do.
The real daemon, the real blinkupd-https (--results and the factory client), the HTTPS test
server and the results endpoint of the tests (tests/helpers/results-receiver.py, on the same
CA) on a private bus of a real dbus-daemon (tests/integration/test-results.sh).

What the endpoint received is compared, by one checker (check_delivered), with what this file
derives from <state>/attempts.log on its own: an outcome document for the first blinked, failed
or cancelled line of an attempt (or "unfinished" when a later attempt starts first), and a
confirmation document for the next confirmed or failed line of a factory attempt that blinked.

Nothing here judges timing: every wait is a generous upper bound for a busy machine.

Usage: test-results.py [CASE...]   (environment: top_builddir, top_srcdir)
"""

import contextlib
import json
import os
import re
import signal
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "helpers"))
from harness import (ERR, Daemon, Failure, ResultsReceiver, attempt_id, check, run_cases,  # noqa: E402
                     wait_for)

FIXTURE_ID = "0123456789abcdef"  # harness.Daemon's [Server] FixtureId=
LINE = "line-3"
TOKEN = "results-token-5d2e81"
DEVICE_ID = "00c0ffee00c0ffee"   # the factory server's claims (FactoryServer.reset())
# Faults and delivery are tested here, not timing: 60 bits/s, the most lateness a bit allows
# and retries, so that a machine busy with other work does not turn a blink into a timing fault.
TOLERANT = "[LED]\nFast=no\n[RealTime]\nMaxLatenessUs=15000\nTimingFaultRetries=10\n"
# the longest any wait here may take on a loaded machine (never a measure of speed)
LONG = 120


# ---- the record, read here independently of the daemon and of blinkupd-https ----

def _unquote(text, i):
    """The quoted value starting at text[i] == '"': (bytes, index after the closing quote)."""
    out = bytearray()
    i += 1
    while True:
        c = text[i]
        if c == '"':
            return bytes(out), i + 1
        if c == "\\":
            e = text[i + 1]
            if e == "x":
                out.append(int(text[i + 2:i + 4], 16))
                i += 4
                continue
            out += {"n": b"\n", "r": b"\r", "t": b"\t", '"': b'"', "\\": b"\\"}[e]
            i += 2
            continue
        out += c.encode("ascii")
        i += 1


def parse_record_line(raw):
    """(timestamp text, attempt ID, event, {key: value}) of one record line (bytes, without its
    newline), or None for a damaged one (bad checksum or syntax)."""
    try:
        text = raw.decode("ascii")
        cut = text.rindex(" crc=")
        body, crc = text[:cut], text[cut + 5:]
        if not re.fullmatch(r"[0-9a-f]{8}", crc) or zlib.crc32(body.encode()) != int(crc, 16):
            return None
        ts, rest = body.split(" ", 1)
        fields, i = {}, 0
        while i < len(rest):
            eq = rest.index("=", i)
            key = rest[i:eq]
            if not re.fullmatch(r"[a-z0-9_]+", key):
                return None
            if rest[eq + 1:eq + 2] == '"':
                value, i = _unquote(rest, eq + 1)
                value = value.decode("utf-8", errors="replace")
            else:
                end = rest.find(" ", eq + 1)
                end = len(rest) if end < 0 else end
                value, i = rest[eq + 1:end], end
            fields[key] = value
            if i < len(rest):
                if rest[i] != " ":
                    return None
                i += 1
        attempt = int(fields.pop("attempt"))
        event = fields.pop("event")
        return ts, attempt, event, fields
    except (ValueError, IndexError, KeyError, UnicodeDecodeError):
        return None


def record_lines(state):
    """The parsed lines of the record in record order: attempts.log.N lowest N first, then
    attempts.log; damaged lines and an unterminated last line left out."""
    rotated = sorted(int(f.rsplit(".", 1)[1]) for f in os.listdir(state)
                     if re.fullmatch(r"attempts\.log\.[0-9]+", f))
    lines = []
    for name in ["attempts.log.%d" % n for n in rotated] + ["attempts.log"]:
        try:
            with open(os.path.join(state, name), "rb") as f:
                data = f.read()
        except FileNotFoundError:
            continue
        for raw in data[:data.rfind(b"\n") + 1].split(b"\n")[:-1]:
            parsed = parse_record_line(raw)
            if parsed is not None:
                lines.append(parsed)
    return lines


def _timing(fields):
    return {"edges": int(fields["edges"]), "frames": int(fields["frames"]),
            "max_lateness_ns": int(fields["max_lateness_ns"]), "p99_lateness_ns": int(fields["p99_lateness_ns"]),
            "clean": fields["clean"] == "yes"}


def expected_documents(state):
    """The documents the record calls for, in record order: [(idempotency key, {field:
    expected value}, finished_at choices)]."""
    attempts, docs = {}, []

    def doc(a, event, outcome, finished, error_name=None, message=None, device_id=None):
        timing = a["timing"]
        body = {"schema": 1, "idempotency_key": "%s-%d-%s" % (FIXTURE_ID, a["id"], event), "event": event,
                "fixture_id": FIXTURE_ID, "line": LINE, "attempt_id": a["id"], "kind": a["kind"],
                "started_at": a["started_at"], "outcome": outcome, "error_name": error_name, "message": message,
                "plan_id": a["plan_id"], "token_id": a["token_id"], "device_id": device_id,
                "serial": a["serial"], "operator": a["operator"], "timing": timing,
                "frames_sent": timing["frames"] if timing else 0}
        # the outcome's finished_at is its line's time; a confirmation's is not spelled out:
        # the time of the attempt's outcome or of the confirmation's own line
        docs.append((body["idempotency_key"], body, finished))

    for ts, aid, event, f in record_lines(state):
        if event == "started":
            for other in sorted(attempts.values(), key=lambda x: x["id"]):
                if other["id"] < aid and other["outcome"] is None:
                    other["outcome"] = "unfinished"
                    doc(other, "outcome", "unfinished", [None])
        a = attempts.setdefault(aid, {"id": aid, "kind": None, "started_at": None, "serial": None,
                                      "operator": None, "token_id": None, "plan_id": None, "timing": None,
                                      "outcome": None, "outcome_at": None, "confirmation": None})
        if event == "started":
            a.update(kind=f.get("kind"), started_at=ts, serial=f.get("serial"), operator=f.get("operator"))
        elif event == "token":
            a.update(token_id=f.get("token_id"), plan_id=f.get("plan_id"))
        elif event in ("blinked", "failed", "cancelled") and a["outcome"] is None:
            if event == "blinked":
                a["timing"] = _timing(f)
            a["outcome"] = {"blinked": "success", "failed": "failed", "cancelled": "cancelled"}[event]
            a["outcome_at"] = ts
            doc(a, "outcome", a["outcome"], [ts], f.get("error"), f.get("message"))
        elif event in ("confirmed", "failed") and a["outcome"] == "success" and a["kind"] == "factory" \
                and a["confirmation"] is None:
            a["confirmation"] = event
            if event == "confirmed":
                doc(a, "confirmation", "confirmed", [ts, a["outcome_at"]], device_id=f.get("device_id"))
            else:
                doc(a, "confirmation", "failed", [ts, a["outcome_at"]], f.get("error"), f.get("message"))
    return docs


def parked_documents(state):
    try:
        with open(os.path.join(state, "results-parked.jsonl")) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def check_delivered(d, rcv, parked=(), once=False, timeout=LONG):
    """What the endpoint received against the record: every document the record calls for
    (its fields as the record has them) delivered (2xx), or parked when its key is in parked;
    the first occurrences in record order; the same key only ever with the same body; nothing
    else; every request with the token and the key as header. once: no document twice.
    Waits (up to timeout) for the deliveries and for ResultsBacklog 0; returns (expected,
    received)."""
    parked = set(parked)

    def done():
        # the backlog first: once it is 0, what the endpoint has is all there will be for now
        if d.prop("ResultsBacklog") != 0:
            return None
        exp = expected_documents(d.state)
        got = rcv.received()
        ok = {e["idempotency_key"] for e in got if isinstance(e["answer"], int) and 200 <= e["answer"] < 300}
        in_file = {p.get("document", {}).get("idempotency_key") for p in parked_documents(d.state)}
        if all((k in in_file) if k in parked else (k in ok) for k, _, _ in exp):
            return exp, got
        return None

    try:
        exp, got = wait_for(done, timeout, "every document of the record delivered and ResultsBacklog 0")
    except Exception:
        exp = expected_documents(d.state)
        got = rcv.received()
        raise check_failure(d, exp, got, "not everything was delivered")
    want = {k: (body, fin) for k, body, fin in exp}
    check(set(parked) <= set(want), "parked keys %r are not in the record" % (set(parked) - set(want),))

    first = {}
    for e in got:
        key = e["idempotency_key"]
        body = e["body"]
        check(e["method"] == "POST" and e["path"] == "/results", "request %s %s" % (e["method"], e["path"]))
        check((e["content_type"] or "").split(";")[0].strip() == "application/json",
              "Content-Type %r" % e["content_type"])
        check(e["authorization"] == "Bearer " + TOKEN, "Authorization %r" % e["authorization"])
        check(isinstance(body, dict), "a body that is not a JSON object: %r" % (e["text"],))
        check(key == body.get("idempotency_key"),
              "header Idempotency-Key %r, body's idempotency_key %r" % (key, body.get("idempotency_key")))
        check(key in want, "a document the record does not call for: %s" % json.dumps(body))
        if key in first:
            check(body == first[key]["body"], "%s sent twice with different bodies:\n  %s\n  %s"
                  % (key, json.dumps(first[key]["body"], sort_keys=True), json.dumps(body, sort_keys=True)))
            if once and isinstance(e["answer"], int) and 200 <= e["answer"] < 300:
                check(not any(x is not e and x["idempotency_key"] == key and isinstance(x["answer"], int)
                              and 200 <= x["answer"] < 300 for x in got[:got.index(e)]),
                      "%s delivered twice" % key)
        else:
            first[key] = e

    # the fields, as the record has them
    for key, (body, fin) in want.items():
        sent = dict(first[key]["body"])
        finished = sent.pop("finished_at", "missing")
        check(finished in fin, "%s: finished_at %r, the record says %r" % (key, finished, fin))
        check(sent == body, "%s: the document differs from the record:\n  sent   %s\n  record %s"
              % (key, json.dumps(sent, sort_keys=True), json.dumps(body, sort_keys=True)))

    # in record order, parked ones included
    order = [k for k, _, _ in exp]
    seen = sorted(first, key=lambda k: first[k]["seq"])
    check(seen == order, "first occurrences not in record order:\n  received %s\n  record   %s" % (seen, order))

    # parked: in the file, as sent, and counted
    pf = parked_documents(d.state)
    pkeys = [p["document"]["idempotency_key"] for p in pf]
    check(sorted(set(pkeys)) == sorted(parked), "results-parked.jsonl has %r, expected %r" % (pkeys, sorted(parked)))
    for p in pf:
        key = p["document"]["idempotency_key"]
        check(p["document"] == first[key]["body"], "parked %s differs from what was sent" % key)
        check(isinstance(p.get("parked_at"), str) and isinstance(p.get("reason"), str)
              and isinstance(p.get("http_status"), int), "parked line: %r" % p)
        check(any(e["idempotency_key"] == key and e["answer"] == p["http_status"] for e in got),
              "parked %s with status %r, never answered so" % (key, p["http_status"]))
    check(d.prop("ResultsParked") == len(pf), "ResultsParked %r, %d lines in results-parked.jsonl"
          % (d.prop("ResultsParked"), len(pf)))
    # and none delivered (2xx) although parked
    for key in parked:
        check(not any(e["idempotency_key"] == key and isinstance(e["answer"], int) and 200 <= e["answer"] < 300
                      for e in got), "%s delivered and parked" % key)
    return exp, got


def check_failure(d, exp, got, what):
    lines = ["%s; the record calls for:" % what]
    lines += ["    %s" % k for k, _, _ in exp]
    lines.append("  the endpoint received:")
    lines += ["    %s -> %s" % (e["idempotency_key"], e["answer"]) for e in got]
    try:
        lines.append("  ResultsBacklog=%r ResultsLastError=%r" % (d.prop("ResultsBacklog"), d.prop("ResultsLastError")))
    except Exception as e:  # a daemon that is gone says so in its log
        lines.append("  no properties: %s" % e)
    lines.append("  blinkupd said:\n    " + "\n    ".join(d.stderr().splitlines()[-20:]))
    return Failure("\n".join(lines))


# ---- the fixture ----

@contextlib.contextmanager
def receiver(srv):
    """A results endpoint of the case's own on the factory server's PKI, stopped at the end."""
    r = ResultsReceiver(srv.pki)
    try:
        yield r
    finally:
        r.stop()


def fixture(w, srv, rcv, extra=""):
    token = tempfile.NamedTemporaryFile("w", prefix="results-token-", dir=w, delete=False)
    with token:
        token.write(TOKEN + "\n")
    os.chmod(token.name, 0o600)
    return Daemon(w, srv, extra=TOLERANT + "[Fixture]\nLine=%s\n[Results]\nURL=%s\nTokenFile=%s\nRetryMaxSec=1\n%s"
                  % (LINE, rcv.url, token.name, extra))


def finished(d, aid, timeout=LONG):
    fin = d.wait_signal("Finished", lambda a: a[0] == aid, timeout)
    # a timing fault (a loaded machine) is still an attempt that ran to its end
    check(fin[1] is True or fin[2] == ERR + "TimingFault", "attempt %d: Finished %r" % (aid, fin))
    return fin


def blinkup(d, serial=None, operator=None, confirm=True):
    """One factory attempt through D-Bus (BlinkUpWithOptions when serial or operator is
    given), to its end and, when it blinked and confirm is set, to its confirmation."""
    opts = []
    if serial is not None:
        opts += ["serial", "s", serial]
    if operator is not None:
        opts += ["operator", "s", operator]
    if opts:
        rc, out, err = d.call("BlinkUpWithOptions", "a{sv}", str(len(opts) // 3), *opts)
    else:
        rc, out, err = d.call("BlinkUp")
    check(rc == 0, "BlinkUp: " + err)
    aid = attempt_id(out)
    fin = finished(d, aid)
    if confirm and fin[1] is True:
        d.wait_signal("Confirmed", lambda a: a[0] == aid, LONG)
    return aid


def last_attempt(d):
    ids = [a for _, a, _, _ in record_lines(d.state)]
    return max(ids) if ids else 0


def press(d):
    """One attempt started by the button: its ID, once it has ended and been confirmed."""
    before = last_attempt(d)
    d.press("1")
    time.sleep(0.1)
    d.press("0")
    aid = wait_for(lambda: next((a for _, a, e, _ in record_lines(d.state) if a > before and e == "started"), None),
                   LONG, "the button's attempt to start")
    if finished(d, aid)[1] is True:
        d.wait_signal("Confirmed", lambda a: a[0] == aid, LONG)
    return aid


def clear(d):
    rc, out, err = d.call("Clear")
    check(rc == 0, "Clear: " + err)
    aid = attempt_id(out)
    d.wait_signal("Finished", lambda a: a[0] == aid, LONG)
    return aid


# ---- the cases ----

def case_delivered(w, srv):
    """Attempts of every kind (D-Bus with and without identity, the button, Clear) each arrive
    once with every field of the record, the token and the idempotency key."""
    srv.reset(device_id=DEVICE_ID)
    with receiver(srv) as rcv:
        d = fixture(w, srv, rcv)
        try:
            check(d.prop("ResultsURL") == rcv.url, "ResultsURL %r" % d.prop("ResultsURL"))
            a1 = blinkup(d, serial="SN-0001", operator="alice")
            a2 = blinkup(d, serial="SN-0002", operator="Zo\u00eb Smith")
            a3 = blinkup(d)
            a4 = press(d)
            a5 = clear(d)
            exp, got = check_delivered(d, rcv, once=True)
            bodies = {k: b for k, b, _ in exp}
            o1 = bodies["%s-%d-outcome" % (FIXTURE_ID, a1)]
            check((o1["serial"], o1["operator"], o1["kind"]) == ("SN-0001", "alice", "factory"), "attempt 1: %r" % o1)
            check(bodies["%s-%d-outcome" % (FIXTURE_ID, a2)]["operator"] == "Zo\u00eb Smith", "attempt 2's operator")
            o3 = bodies["%s-%d-outcome" % (FIXTURE_ID, a3)]
            check(o3["serial"] is None and o3["operator"] is None, "attempt 3 without identity: %r" % o3)
            check(bodies["%s-%d-outcome" % (FIXTURE_ID, a5)]["kind"] == "clear", "Clear's kind")
            # a blink that succeeded: token, timing and the confirmation with the device
            for aid in (a1, a2, a3, a4):
                o = bodies["%s-%d-outcome" % (FIXTURE_ID, aid)]
                if o["outcome"] != "success":
                    continue
                check(o["token_id"] and o["plan_id"] and o["timing"] and o["frames_sent"] >= 1,
                      "attempt %d: %r" % (aid, o))
                c = bodies.get("%s-%d-confirmation" % (FIXTURE_ID, aid))
                check(c is not None and c["outcome"] == "confirmed" and c["device_id"] == DEVICE_ID,
                      "attempt %d's confirmation: %r" % (aid, c))
            check(any(b["event"] == "confirmation" for b in bodies.values()), "no attempt was confirmed")
            check(not any(e["answer"] != 200 for e in got), "answers other than 200: %r" % got)
            check(d.prop("ResultsLastDelivery") > 0, "ResultsLastDelivery %r" % d.prop("ResultsLastDelivery"))
            check(d.prop("ResultsParked") == 0, "ResultsParked")
        finally:
            check(d.stop() == 0, "blinkupd did not exit cleanly")


def case_endpoint_down(w, srv):
    """The endpoint refuses connections: attempts go on as before (a blink never waits for
    delivery), the backlog grows and the error is shown; up again, everything arrives in
    record order."""
    srv.reset(device_id=DEVICE_ID)
    with receiver(srv) as rcv:
        d = fixture(w, srv, rcv)
        try:
            a0 = blinkup(d, serial="SN-0100")
            check_delivered(d, rcv)
            rcv.set_mode("down")
            for i in range(3):
                blinkup(d, serial="SN-%04d" % (101 + i), operator="bob")
            waiting = len([b for _, b, _ in expected_documents(d.state) if b["attempt_id"] != a0])
            wait_for(lambda: d.prop("ResultsBacklog") == waiting, LONG, "ResultsBacklog %d" % waiting)
            wait_for(lambda: d.prop("ResultsLastError") != "", LONG, "ResultsLastError")
            check(d.prop("ResultsLastErrorTime") > 0, "ResultsLastErrorTime %r" % d.prop("ResultsLastErrorTime"))
            check(all(e["body"]["attempt_id"] == a0 for e in rcv.received()), "received while down")
            # one more while down, then up
            blinkup(d)
            rcv.set_mode("ok")
            check_delivered(d, rcv)
            check(d.prop("ResultsLastDelivery") > 0, "ResultsLastDelivery")
        finally:
            check(d.stop() == 0, "blinkupd did not exit cleanly")


def case_server_errors(w, srv):
    """500 for a while: the same document is tried again (and nothing after it meanwhile), then
    delivered once the endpoint answers 200; 503 with Retry-After too."""
    srv.reset(device_id=DEVICE_ID)
    with receiver(srv) as rcv:
        d = fixture(w, srv, rcv)
        try:
            rcv.set_mode("status", status=500)
            blinkup(d, serial="SN-0200")
            blinkup(d, serial="SN-0201")
            wait_for(lambda: len(rcv.received()) >= 3, LONG, "three tries")
            got = rcv.received()
            check(len({e["idempotency_key"] for e in got}) == 1,
                  "another document sent before the first was delivered: %r" % [e["idempotency_key"] for e in got])
            wait_for(lambda: "500" in d.prop("ResultsLastError"), LONG, "ResultsLastError naming the 500")
            check(d.prop("ResultsBacklog") > 0, "ResultsBacklog 0 while nothing was delivered")
            rcv.set_mode("ok")
            check_delivered(d, rcv)
            # 503 with Retry-After, for a few requests
            rcv.set_mode("status", status=503, count=2, headers={"Retry-After": "1"})
            blinkup(d, serial="SN-0202")
            check_delivered(d, rcv)
            check(sum(1 for e in rcv.received() if e["answer"] == 503) == 2, "the 503s were not all tried")
        finally:
            check(d.stop() == 0, "blinkupd did not exit cleanly")


def case_parked(w, srv):
    """422 for one attempt's outcome: that document is parked (results-parked.jsonl,
    ResultsParked 1) and delivery goes on with the next ones; the count survives a restart."""
    srv.reset(device_id=DEVICE_ID)
    with receiver(srv) as rcv:
        d = fixture(w, srv, rcv)
        try:
            rcv.set_mode("down")
            blinkup(d, serial="SN-0300")
            a2 = blinkup(d, serial="SN-0301")
            blinkup(d, serial="SN-0302")
            rcv.set_mode("status", status=422, attempt_id=a2, event="outcome")
            key = "%s-%d-outcome" % (FIXTURE_ID, a2)
            check_delivered(d, rcv, parked=[key])
            check(d.prop("ResultsParked") == 1, "ResultsParked %r" % d.prop("ResultsParked"))
            p = parked_documents(d.state)[0]
            check(p["http_status"] == 422 and "test status 422" in p["reason"], "parked line: %r" % p)
            # later documents go on, the 422 does not stay in the way
            rcv.set_mode("ok")
            blinkup(d, serial="SN-0303")
            check_delivered(d, rcv, parked=[key])
            d.kill(signal.SIGTERM)
            check(d.proc.returncode == 0, "blinkupd did not exit cleanly")
            d.restart()
            wait_for(lambda: d.prop("ResultsParked") == 1, LONG, "ResultsParked 1 after a restart")
            blinkup(d, serial="SN-0304")
            check_delivered(d, rcv, parked=[key])
        finally:
            check(d.stop() == 0, "blinkupd did not exit cleanly")


def case_dropped(w, srv):
    """The endpoint reads a document and closes the connection without an answer: the same
    document comes again with the same idempotency key and body."""
    srv.reset(device_id=DEVICE_ID)
    with receiver(srv) as rcv:
        d = fixture(w, srv, rcv)
        try:
            rcv.set_mode("drop", count=1)
            aid = blinkup(d, serial="SN-0400")
            exp, got = check_delivered(d, rcv)
            key = "%s-%d-outcome" % (FIXTURE_ID, aid)
            check(got[0]["idempotency_key"] == key and got[0]["answer"] == "drop", "first request: %r" % got[0])
            again = [e for e in got[1:] if e["idempotency_key"] == key]
            check(again and again[0]["answer"] == 200 and again[0]["body"] == got[0]["body"],
                  "the dropped document was not sent again as it was: %r" % again)
            # a drop of a later confirmation
            rcv.set_mode("drop", count=1, event="confirmation")
            blinkup(d, serial="SN-0401")
            check_delivered(d, rcv)
            check(sum(1 for e in rcv.received() if e["answer"] == "drop") == 2, "two drops")
        finally:
            check(d.stop() == 0, "blinkupd did not exit cleanly")


def case_killed(w, srv):
    """kill -9 of the daemon between attempts, in the middle of an attempt and while a
    document is in flight; started again on the same state directory each time: nothing is
    missing, first occurrences in record order, duplicates only as the same document."""
    srv.reset(device_id=DEVICE_ID)
    with receiver(srv) as rcv:
        # a results request may take longer than the endpoint's slow answer (20 s below); an
        # attempt's deadline is 3 x TimeoutSec
        d = fixture(w, srv, rcv, extra="[Server]\nTimeoutSec=30\n")
        try:
            # between attempts: right after an attempt ended (its confirmation may be abandoned)
            rc, out, err = d.call("BlinkUpWithOptions", "a{sv}", "1", "serial", "s", "SN-0500")
            check(rc == 0, "BlinkUpWithOptions: " + err)
            finished(d, attempt_id(out))
            d.kill()
            d.restart()
            blinkup(d, serial="SN-0501")
            check_delivered(d, rcv)

            # in the middle of an attempt: its outcome is "unfinished" once the next one starts
            rc, out, err = d.call("BlinkUpWithOptions", "a{sv}", "1", "serial", "s", "SN-0502")
            check(rc == 0, "BlinkUpWithOptions: " + err)
            mid = attempt_id(out)
            wait_for(lambda: "started" in d.events(mid), LONG, "the started line")
            d.kill()
            d.restart()
            blinkup(d, serial="SN-0503")
            exp, _ = check_delivered(d, rcv)
            outcome = {k: b for k, b, _ in exp}["%s-%d-outcome" % (FIXTURE_ID, mid)]
            print("  killed in the middle of attempt %d: outcome %s" % (mid, outcome["outcome"]), flush=True)

            # while a document is in flight: the endpoint answers after 20 s (TimeoutSec=30 here),
            # the daemon is killed meanwhile; first alone (its helper may still finish the
            # request), then as in a power cut, the helpers with it: that document comes again
            for power_cut, serial, after in ((False, "SN-0504", "SN-0505"), (True, "SN-0506", "SN-0507")):
                rcv.set_mode("slow", seconds=20)
                before = len(rcv.received())
                blinkup(d, serial=serial, confirm=False)
                inflight = wait_for(lambda: next((e for e in rcv.received()[before:] if not e["answered"]), None),
                                    LONG, "a document in flight")
                d.kill(power_cut=power_cut)
                rcv.set_mode("ok")
                d.restart()
                blinkup(d, serial=after)
                exp, got = check_delivered(d, rcv)
                if power_cut:
                    sent = [e for e in got if e["idempotency_key"] == inflight["idempotency_key"]]
                    check(len(sent) >= 2 and sent[-1]["answer"] == 200,
                          "the document in flight at the power cut was not sent again: %r" % sent)
        finally:
            check(d.stop() == 0, "blinkupd did not exit cleanly")


if __name__ == "__main__":
    sys.exit(run_cases(globals(), "blinkupd-results-", sys.argv[1:]))
