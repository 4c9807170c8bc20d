#!/bin/sh
# SPDX-License-Identifier: MIT
# blinkupctl's bus verbs (status, blinkup, clear, cancel, monitor) against tests/fake-fixture
# on a private session bus, and history on the record the fake writes. First the fake itself is
# checked against the shipped interface, dbus/org.blinkupd.Fixture1.xml. The --json output of
# status, monitor and history is read back with Python's json module (when there is python3).
set -u
ctl="${top_builddir:-.}/src/blinkupctl"
fake="${top_builddir:-.}/tests/helpers/fake-fixture"
shipped="${top_srcdir:-.}/dbus/org.blinkupd.Fixture1.xml"
check_interface="${top_srcdir:-.}/tests/integration/check-interface.py"

if [ -z "${BLINKUP_TEST_PRIVATE_BUS:-}" ]; then
        for tool in dbus-run-session busctl; do
                if ! command -v $tool >/dev/null 2>&1; then
                        echo "$tool not found (Debian: dbus-daemon, systemd): skipped"
                        exit 77
                fi
        done
        BLINKUP_TEST_PRIVATE_BUS=1 exec dbus-run-session -- /bin/sh "$0" "$@"
fi

tmp=$(mktemp -d) || exit 99
fake_pid= mon_pid= monj_pid=
cleanup() {
        [ -n "$mon_pid" ] && kill "$mon_pid" 2>/dev/null
        [ -n "$monj_pid" ] && kill "$monj_pid" 2>/dev/null
        [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT
fails=0 passes=0

ok() { passes=$((passes + 1)); echo "ok: $1"; }
bad() { fails=$((fails + 1)); echo "FAIL: $1"; }

# run: name exit-code command... -> $tmp/out, $tmp/err; checks the exit code
run() {
        name=$1 want_rc=$2; shift 2
        timeout 30 "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
        if [ $rc -eq "$want_rc" ]; then return 0; fi
        bad "$name: exit $rc, want $want_rc; stdout: $(cat "$tmp/out"); stderr: $(cat "$tmp/err")"
        return 1
}
# out_has / err_has: name fixed-string
out_has() { if grep -qF -- "$2" "$tmp/out"; then ok "$1"; else bad "$1: stdout lacks '$2': $(cat "$tmp/out")"; fi; }
err_is() { # the whole of stderr is this one line
        if [ "$(cat "$tmp/err")" = "$2" ]; then ok "$1"; else bad "$1: stderr '$(cat "$tmp/err")', want '$2'"; fi
}
wait_for() { # file fixed-string: up to 10 s
        for _ in $(seq 1 100); do grep -qF -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
        return 1
}
# json_check: name python-code [file]: runs the code with the JSON values of the file (default
# $tmp/out) in "values", a list; the code raises (assert) to fail. Skipped without python3.
json_check() {
        if [ -z "$have_python" ]; then echo "skip: $1 (no python3)"; return 0; fi
        if python3 - "${3:-$tmp/out}" "$2" >"$tmp/py.out" 2>&1 <<'PY'
import json, sys
text = open(sys.argv[1], encoding="utf-8").read()  # strict: the output must be UTF-8
dec, values, i = json.JSONDecoder(), [], 0
while True:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    if i == len(text):
        break
    v, i = dec.raw_decode(text, i)
    values.append(v)
exec(sys.argv[2])
PY
        then ok "$1"; else bad "$1: $(cat "$tmp/py.out")"; fi
}
have_python=$(command -v python3 2>/dev/null)
wait_status() { # fixed-string: until status shows it, up to 10 s
        for _ in $(seq 1 100); do
                "$ctl" --user-bus status 2>/dev/null | grep -qF -- "$1" && return 0
                sleep 0.1
        done
        bad "status never showed '$1'"
        return 1
}
outcome() {
        busctl --user call org.blinkupd.Fixture1 /org/blinkupd/Fixture1 org.blinkupd.FakeControl1 SetOutcome s "$1"
}

# ---- before there is a daemon, or a bus ----
if run "not running" 1 "$ctl" --user-bus status; then
        err_is "not running" "blinkupctl: GetAll failed: blinkupd is not running (nobody owns org.blinkupd.Fixture1 on the session bus)"
fi
if run "no bus" 1 env DBUS_SESSION_BUS_ADDRESS="unix:path=$tmp/nobus" "$ctl" --user-bus blinkup; then
        err_is "no bus" "blinkupctl: cannot connect to the session bus: No such file or directory; is blinkupd running?"
fi

# ---- usage errors: exit 2, nothing on stdout ----
for args in "blinkup --bogus" "blinkup --timeout=soon" "blinkup extra" "clear --confirm" "status now" \
            "cancel 7" "monitor x" "history -n 0" "history -n x" "--bogus status" \
            "status --json=bogus" "status --json=" "monitor --json=Pretty" "history --json=yaml" \
            "status --json pretty" "cancel --json" "blinkup --json"; do
        # shellcheck disable=SC2086
        if run "usage: $args" 2 "$ctl" --user-bus $args && [ ! -s "$tmp/out" ] && [ -s "$tmp/err" ]; then
                ok "usage: $args"
        fi
done

if run "usage: --json value" 2 "$ctl" --user-bus status --json=bogus; then
        err_is "usage: --json value" 'blinkupctl status: --json: unknown value "bogus" (use short, pretty or off)'
fi
if run "--json=help" 0 "$ctl" history --json=help; then
        if [ "$(cat "$tmp/out")" = "$(printf 'short\npretty\noff')" ]; then ok "--json=help"; else bad "--json=help: $(cat "$tmp/out")"; fi
fi

# ---- the fake daemon, recording into $tmp/state ----
mkdir "$tmp/state"
"$fake" --state-dir="$tmp/state" >"$tmp/fake.out" 2>"$tmp/fake.err" &
fake_pid=$!
if ! wait_for "$tmp/fake.out" READY; then
        bad "fake-fixture did not start: $(cat "$tmp/fake.err")"
        exit 1
fi

# ---- the fake is the shipped interface: every method, property and signal ----
if ! command -v python3 >/dev/null 2>&1; then
        echo "python3 not found: the fake's interface is not checked"
elif busctl --user introspect --xml-interface org.blinkupd.Fixture1 /org/blinkupd/Fixture1 >"$tmp/introspect.xml" 2>"$tmp/err" &&
        python3 "$check_interface" "$shipped" "$tmp/introspect.xml" org.blinkupd.Fixture1 >"$tmp/out" 2>&1; then
        ok "fake-fixture has the interface of $(basename "$shipped")"
else
        bad "fake-fixture differs from $shipped: $(cat "$tmp/err" "$tmp/out")"
fi

# ---- status ----
if run "status" 0 "$ctl" --user-bus status; then
        cat >"$tmp/want" <<'EOF'
          State: idle
     Fixture ID: 0123456789abcdef
 Factory status: verified
       Bit rate: fast (142 bits/s)
   LED polarity: active-low
           SSID: Factory Net
       Attempts: 0 (0 succeeded, 0 failed)
   Last attempt: none
     Last error: none
    Last device: none
    Last serial: none
  Last operator: none
    Next serial: SN-0002
    Last timing: none
     Results to: https://results.example.com/lines/3
Results backlog: 2 waiting, 1 parked
  Last delivery: 2026-11-24T03:10:00.000000Z
 Delivery error: HTTP 503 from https://results.example.com/lines/3 (2026-11-24T03:12:30.000000Z)
EOF
        if diff -u "$tmp/want" "$tmp/out"; then ok "status"; else bad "status output"; fi
fi
# --json: one object on one line, every property; pretty is the same object, indented
status_want='{"state": "idle", "fixture_id": "0123456789abcdef", "factory_status": "verified",
 "fast": True, "active_high": False, "ssid": "Factory Net", "attempts": 0, "successes": 0,
 "failures": 0, "last_attempt_id": 0, "last_error": "", "last_device_id": "",
 "last_timing": {"max_lateness_ns": 0, "p99_lateness_ns": 0, "edges": 0},
 "last_serial": "", "last_operator": "", "pending_serial": "SN-0002",
 "results": {"url": "https://results.example.com/lines/3", "backlog": 2, "parked": 1,
  "last_delivery_usec": 1795489800000000, "last_error_usec": 1795489950000000,
  "last_error": "HTTP 503 from https://results.example.com/lines/3"}}'
for mode in "--json" "--json=short" "--json=pretty"; do
        if run "status $mode" 0 "$ctl" --user-bus status $mode; then
                json_check "status $mode" "assert values == [$status_want], values"
                lines=$(wc -l <"$tmp/out")
                case $mode in
                # 17 fields, 3 in last_timing and its "}", 6 in results and its "}", the outer braces
                *pretty) want_lines=30 ;;
                *) want_lines=1 ;;
                esac
                if [ "$lines" -eq $want_lines ]; then ok "status $mode: $want_lines lines"
                else bad "status $mode: $lines lines: $(cat "$tmp/out")"; fi
        fi
done
if run "status --json=off" 0 "$ctl" --user-bus status --json=off; then out_has "status --json=off" "State: idle"; fi
# the option after the verb works too
if run "status --user-bus" 0 "$ctl" status --user-bus; then out_has "status --user-bus" "State: idle"; fi

# ---- monitor, in the background for everything that follows ----
"$ctl" --user-bus monitor >"$tmp/mon" 2>"$tmp/mon.err" &
mon_pid=$!
wait_for "$tmp/mon.err" "Monitoring org.blinkupd.Fixture1 on the session bus" || bad "monitor did not start: $(cat "$tmp/mon.err")"
"$ctl" --user-bus monitor --json >"$tmp/monj" 2>"$tmp/monj.err" &
monj_pid=$!
wait_for "$tmp/monj.err" "Monitoring org.blinkupd.Fixture1 on the session bus" || bad "monitor --json did not start: $(cat "$tmp/monj.err")"

# ---- blinkup without waiting ----
if run "blinkup" 0 "$ctl" --user-bus blinkup; then
        if [ "$(cat "$tmp/out")" = "Attempt 7 started." ]; then ok "blinkup prints the attempt"; else bad "blinkup: $(cat "$tmp/out")"; fi
fi
wait_status "Last device: dev-7"

# ---- --wait and --confirm ----
if run "blinkup --wait" 0 "$ctl" --user-bus blinkup --wait; then
        if [ "$(cat "$tmp/out")" = "Attempt 8: BlinkUp sent." ] && [ ! -s "$tmp/err" ]; then ok "blinkup --wait"
        else bad "blinkup --wait: $(cat "$tmp/out") $(cat "$tmp/err")"; fi
fi
wait_status "Last device: dev-8"
if run "blinkup --confirm" 0 "$ctl" --user-bus blinkup --wait --confirm; then
        printf 'Attempt 9: BlinkUp sent.\nAttempt 9: device dev-9 enrolled.\n' >"$tmp/want"
        if diff -u "$tmp/want" "$tmp/out"; then ok "blinkup --confirm"; else bad "blinkup --confirm output"; fi
fi
# monitor --json writes each object as it comes: its output is a file, not a terminal
if wait_for "$tmp/monj" '"signal":"Confirmed","attempt_id":9,"device_id":"dev-9"}'; then
        ok "monitor --json: flushed at once"
else
        bad "monitor --json: no Confirmed for attempt 9 while running: $(cat "$tmp/monj")"
fi

# ---- failures ----
outcome Timeout
if run "attempt fails" 1 "$ctl" --user-bus blinkup --wait; then
        err_is "attempt fails" "blinkupctl: attempt 10 failed: org.blinkupd.Fixture1.Error.Timeout: No answer from the factory server."
fi
outcome confirm-Timeout
if run "confirmation fails, not waited for" 0 "$ctl" --user-bus blinkup --wait; then
        out_has "confirmation fails, not waited for" "Attempt 11: BlinkUp sent."
fi
wait_status "Attempts: 5 (3 succeeded, 2 failed)"
if run "confirmation fails" 1 "$ctl" --user-bus blinkup --wait --confirm; then
        out_has "confirmation fails: blink reported" "Attempt 12: BlinkUp sent."
        err_is "confirmation fails" "blinkupctl: attempt 12: the frame was sent but the device was not confirmed: org.blinkupd.Fixture1.Error.Timeout: The device did not enroll in time."
fi

# ---- Busy, cancel, and giving up waiting ----
outcome hang
timeout 30 "$ctl" --user-bus blinkup --wait >"$tmp/bg.out" 2>"$tmp/bg.err" &
bg=$!
wait_status "State: blinking"
if run "busy" 1 "$ctl" --user-bus blinkup; then
        err_is "busy" "blinkupctl: BlinkUp failed: org.blinkupd.Fixture1.Error.Busy: Attempt 13 is in progress."
fi
if run "busy clear" 1 "$ctl" --user-bus clear --wait; then
        err_is "busy clear" "blinkupctl: Clear failed: org.blinkupd.Fixture1.Error.Busy: Attempt 13 is in progress."
fi
if run "cancel" 0 "$ctl" --user-bus cancel && [ ! -s "$tmp/out" ]; then ok "cancel"; fi
wait $bg; rc=$?
if [ $rc -eq 1 ] && [ "$(cat "$tmp/bg.err")" = "blinkupctl: attempt 13 failed: org.blinkupd.Fixture1.Error.Cancelled: Cancelled by request." ]; then
        ok "cancelled while waiting"
else
        bad "cancelled while waiting: exit $rc, $(cat "$tmp/bg.err")"
fi
if run "cancel when idle" 0 "$ctl" --user-bus cancel; then ok "cancel when idle"; fi
if run "wait timeout" 1 "$ctl" --user-bus blinkup --wait --timeout=1; then
        err_is "wait timeout" "blinkupctl: attempt 14: no result within 1 s; it may still be running (see blinkupctl status)"
fi
run "cancel 14" 0 "$ctl" --user-bus cancel
outcome ok

# ---- clear ----
if run "clear --wait" 0 "$ctl" --user-bus clear --wait; then
        if [ "$(cat "$tmp/out")" = "Attempt 15: clear frame sent." ]; then ok "clear --wait"; else bad "clear --wait: $(cat "$tmp/out")"; fi
fi

# ---- status after all that ----
if run "status after" 0 "$ctl" --user-bus status; then
        out_has "status: counters" "       Attempts: 9 (4 succeeded, 5 failed)"
        out_has "status: last attempt" "   Last attempt: 15"
        out_has "status: last error" "     Last error: org.blinkupd.Fixture1.Error.Cancelled"
        out_has "status: last device" "    Last device: dev-9"
        out_has "status: timing" "    Last timing: 212 edges, max lateness 51.2 us, p99 40.0 us"
fi

# ---- the daemon goes away while a client waits ----
outcome vanish
if run "daemon vanishes" 1 "$ctl" --user-bus blinkup --wait; then
        err_is "daemon vanishes" "blinkupctl: attempt 16: blinkupd left the session bus before the result"
fi
wait "$fake_pid" 2>/dev/null
fake_pid=

# ---- what monitor saw ----
wait_for "$tmp/mon" "NameOwnerChanged" || bad "monitor: no NameOwnerChanged"
kill -INT "$mon_pid"
wait "$mon_pid"; rc=$?
mon_pid=
ts='[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]\.[0-9]\{6\}Z'
if [ $rc -eq 0 ]; then ok "monitor ends on SIGINT"; else bad "monitor exit $rc: $(cat "$tmp/mon.err")"; fi
if [ -s "$tmp/mon" ] && ! grep -v "^$ts [A-Za-z]" "$tmp/mon"; then ok "monitor: one timestamped line each"; else bad "monitor lines"; fi
for want in \
        " StateChanged attempt=7 state=verifying" \
        " StateChanged attempt=7 state=requesting-token" \
        " PropertiesChanged State=blinking" \
        " Finished attempt=8 success=yes error=\"\" message=\"\" device_id=\"\"" \
        " Confirmed attempt=9 device_id=dev-9" \
        " Finished attempt=10 success=no error=org.blinkupd.Fixture1.Error.Timeout message=\"No answer from the factory server.\" device_id=\"\"" \
        " PropertiesChanged Successes=3 Failures=5 LastError=org.blinkupd.Fixture1.Error.Cancelled LastTiming=(51234,40000,212)" \
        " NameOwnerChanged name=org.blinkupd.Fixture1 owner=\"\""; do
        if grep -qF -- "$want" "$tmp/mon"; then ok "monitor:$want"; else bad "monitor lacks '$want'"; fi
done
# in order: attempt 8's Finished before attempt 9's Confirmed
if [ "$(grep -n 'Finished attempt=8' "$tmp/mon" | cut -d: -f1)" -lt "$(grep -n 'Confirmed attempt=9' "$tmp/mon" | cut -d: -f1)" ]; then
        ok "monitor: in order"
else
        bad "monitor: order"
fi

# the same events as JSON, one object per line
wait_for "$tmp/monj" '"signal":"NameOwnerChanged"' || bad "monitor --json: no NameOwnerChanged"
kill -INT "$monj_pid"
wait "$monj_pid"; rc=$?
monj_pid=
if [ $rc -eq 0 ]; then ok "monitor --json ends on SIGINT"; else bad "monitor --json exit $rc: $(cat "$tmp/monj.err")"; fi
if [ "$(wc -l <"$tmp/monj")" -eq "$(wc -l <"$tmp/mon")" ]; then ok "monitor --json: as many events as monitor"
else bad "monitor --json: $(wc -l <"$tmp/monj") lines, monitor $(wc -l <"$tmp/mon")"; fi
json_check "monitor --json: one object per line" '
lines = text.splitlines()
assert len(lines) == len(values) and all(json.loads(l) == v for l, v in zip(lines, values))
import re, datetime
for v in values:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", v["timestamp"]), v
    t = datetime.datetime.fromtimestamp(v["timestamp_usec"] / 1e6, datetime.timezone.utc)
    assert t.strftime("%Y-%m-%dT%H:%M:%S") == v["timestamp"][:19], v
def has(want):
    assert any(all(v.get(k) == x for k, x in want.items()) for v in values), want
has({"signal": "StateChanged", "attempt_id": 7, "state": "verifying"})
has({"signal": "StateChanged", "attempt_id": 7, "state": "requesting-token"})
has({"signal": "PropertiesChanged", "changed": {"state": "blinking"}, "invalidated": []})
has({"signal": "Finished", "attempt_id": 8, "success": True, "error_name": "", "message": "", "device_id": ""})
has({"signal": "Confirmed", "attempt_id": 9, "device_id": "dev-9"})
has({"signal": "Finished", "attempt_id": 10, "success": False,
     "error_name": "org.blinkupd.Fixture1.Error.Timeout", "message": "No answer from the factory server.",
     "device_id": ""})
has({"signal": "PropertiesChanged", "changed": {"successes": 3, "failures": 5,
     "last_error": "org.blinkupd.Fixture1.Error.Cancelled",
     "last_timing": {"max_lateness_ns": 51234, "p99_lateness_ns": 40000, "edges": 212}}})
has({"signal": "NameOwnerChanged", "name": "org.blinkupd.Fixture1", "owner": None})
' "$tmp/monj"

# ---- history, from the record the fake wrote ----
if run "history" 0 "$ctl" history --state-dir="$tmp/state"; then
        sed 's/20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]Z/YYYY-MM-DDTHH:MM:SSZ/' "$tmp/out" >"$tmp/got"
        cat >"$tmp/want" <<'EOF'
ATTEMPT  STARTED (UTC)         KIND     OUTCOME       DEVICE   EDGES    MAX LATE    P99 LATE  ERROR
      7  YYYY-MM-DDTHH:MM:SSZ  factory  confirmed     dev-7      212     51.2 us     40.0 us  -
      8  YYYY-MM-DDTHH:MM:SSZ  factory  confirmed     dev-8      212     51.2 us     40.0 us  -
      9  YYYY-MM-DDTHH:MM:SSZ  factory  confirmed     dev-9      212     51.2 us     40.0 us  -
     10  YYYY-MM-DDTHH:MM:SSZ  factory  failed        -            -           -           -  Timeout: No answer from the factory server.
     11  YYYY-MM-DDTHH:MM:SSZ  factory  failed        -          212     51.2 us     40.0 us  Timeout: The device did not enroll in time.
     12  YYYY-MM-DDTHH:MM:SSZ  factory  failed        -          212     51.2 us     40.0 us  Timeout: The device did not enroll in time.
     13  YYYY-MM-DDTHH:MM:SSZ  factory  cancelled     -            -           -           -  -
     14  YYYY-MM-DDTHH:MM:SSZ  factory  cancelled     -            -           -           -  -
     15  YYYY-MM-DDTHH:MM:SSZ  clear    cleared       -          212     51.2 us     40.0 us  -
     16  YYYY-MM-DDTHH:MM:SSZ  factory  unfinished    -            -           -           -  -
EOF
        if diff -u "$tmp/want" "$tmp/got"; then ok "history: attempts"; else bad "history: attempts"; fi
fi
# the same attempts as JSON: one object per line, or indented objects one after another
history_want='[
 (7, "factory", "confirmed", "dev-7", None, None, 212), (8, "factory", "confirmed", "dev-8", None, None, 212),
 (9, "factory", "confirmed", "dev-9", None, None, 212),
 (10, "factory", "failed", None, "org.blinkupd.Fixture1.Error.Timeout", "No answer from the factory server.", None),
 (11, "factory", "failed", None, "org.blinkupd.Fixture1.Error.Timeout", "The device did not enroll in time.", 212),
 (12, "factory", "failed", None, "org.blinkupd.Fixture1.Error.Timeout", "The device did not enroll in time.", 212),
 (13, "factory", "cancelled", None, None, None, None), (14, "factory", "cancelled", None, None, None, None),
 (15, "clear", "cleared", None, None, None, 212), (16, "factory", "unfinished", None, None, None, None)]'
history_check='
import datetime
got = [(v["attempt_id"], v["kind"], v["outcome"], v["device_id"], v["error_name"], v["message"], v["edges"])
       for v in values]
assert got == '"$history_want"', got
keys = ["attempt_id", "kind", "serial", "operator", "started_at", "started_at_usec", "outcome", "device_id", "token_id", "plan_id",
        "error_name", "message", "edges", "frames", "max_lateness_ns", "p99_lateness_ns", "clean"]
for v in values:
    assert list(v) == keys, v
    assert v["serial"] is None and v["operator"] is None, v  # plain BlinkUp and Clear
    t = datetime.datetime.fromtimestamp(v["started_at_usec"] // 1000000, datetime.timezone.utc)
    assert v["started_at"] == t.strftime("%Y-%m-%dT%H:%M:%S") + ".%06dZ" % (v["started_at_usec"] % 1000000), v
    timing = (v["frames"], v["max_lateness_ns"], v["p99_lateness_ns"], v["clean"])
    assert timing == ((1, 51234, 40000, True) if v["edges"] else (None, None, None, None)), v
a7, a15 = values[0], values[8]
assert (a7["token_id"], a7["plan_id"]) == ("tok-42", "0123456789abcdef"), a7
assert (a15["token_id"], a15["plan_id"]) == (None, None), a15  # a clear frame needs no token
'
if run "history --json" 0 "$ctl" history --state-dir="$tmp/state" --json; then
        json_check "history --json" "$history_check
lines = text.splitlines()
assert len(lines) == 10 and all(json.loads(l) == v for l, v in zip(lines, values)), lines"
fi
if run "history --json=pretty" 0 "$ctl" history --state-dir="$tmp/state" --json=pretty; then
        json_check "history --json=pretty" "$history_check
assert len(text.splitlines()) == 10 * 19, text"
fi
if run "history --json -n 2" 0 "$ctl" history -n 2 --state-dir="$tmp/state" --json; then
        json_check "history --json -n 2" 'assert [v["attempt_id"] for v in values] == [15, 16], values'
fi
if run "history --json=off" 0 "$ctl" history --state-dir="$tmp/state" --json=off; then out_has "history --json=off" "ATTEMPT  STARTED"; fi
if run "history -n 2" 0 "$ctl" history -n 2 --state-dir="$tmp/state"; then
        [ "$(wc -l <"$tmp/out")" -eq 3 ] && [ "$(tail -n1 "$tmp/out" | awk '{print $1}')" = 16 ] &&
                [ "$(sed -n 2p "$tmp/out" | awk '{print $1}')" = 15 ] && ok "history -n 2" || bad "history -n 2: $(cat "$tmp/out")"
fi
# a power cut in the middle of a line: noted, skipped, the rest shown
size=$(wc -c <"$tmp/state/attempts.log")
printf '2026-11-24T03:10:00.123456Z attempt=17 event=star' >>"$tmp/state/attempts.log"
if run "history, torn line" 0 "$ctl" history -n 1 --state-dir="$tmp/state"; then
        err_is "history: torn line noted" "blinkupctl: $tmp/state/attempts.log: incomplete last line at byte $size skipped (a write was interrupted)"
        [ "$(tail -n1 "$tmp/out" | awk '{print $1}')" = 16 ] && ok "history: torn line skipped" || bad "history torn: $(cat "$tmp/out")"
fi
if run "history, no record" 1 "$ctl" history --state-dir="$tmp/nowhere"; then
        err_is "history, no record" "blinkupctl: cannot read the attempt record $tmp/nowhere/attempts.log: No such file or directory"
fi
: >"$tmp/empty.log"; mkdir "$tmp/empty"; mv "$tmp/empty.log" "$tmp/empty/attempts.log"
if run "history, empty" 0 "$ctl" history --state-dir="$tmp/empty"; then
        out_has "history, empty" "No attempts recorded in $tmp/empty/attempts.log."
fi
if run "history --json, empty" 0 "$ctl" history --state-dir="$tmp/empty" --json && [ ! -s "$tmp/out" ]; then
        ok "history --json, empty: no output"
fi

# ---- history --json of values no text would hold: control characters, quotes and bytes that are
# not UTF-8 (the record escapes them; JSON gets \u00XX and U+FFFD) ----
mkdir "$tmp/odd"
if [ -n "$have_python" ]; then
        python3 - "$tmp/odd/attempts.log" <<'PY'
import sys, zlib
lines = [
    'attempt=1 event=started kind=factory',
    r'attempt=1 event=failed error=org.blinkupd.Fixture1.Error.Server message="caf\xc3\xa9 \"q\" \\ \x01\tend \xff"',
]
with open(sys.argv[1], "w") as f:
    for l in lines:
        l = "2026-11-24T03:10:00.123456Z " + l
        f.write("%s crc=%08x\n" % (l, zlib.crc32(l.encode())))
PY
fi
if [ -n "$have_python" ] && run "history --json, odd bytes" 0 "$ctl" history --state-dir="$tmp/odd" --json; then
        json_check "history --json, odd bytes" '
v, = values
assert v["message"] == "caf\u00e9 \"q\" \\ \x01\tend \ufffd", repr(v["message"])
assert v["started_at"] == "2026-11-24T03:10:00.123456Z" and v["started_at_usec"] == 1795489800123456, v
assert "\\u0001\\u0009end \ufffd\"" in text, text
'
fi

# ---- blinkup --serial and --operator: BlinkUpWithOptions, on a fake recording into $tmp/ident ----
for args in "--serial=SN 1" "--serial=" "--operator= alice" "--operator=$(printf 'a\tb')" \
            "--serial=$(printf '%065d' 0)"; do
        if run "usage: blinkup $args" 2 "$ctl" --user-bus blinkup "$args" && [ ! -s "$tmp/out" ]; then
                ok "usage: blinkup $args"
        fi
done
if run "usage: --serial message" 2 "$ctl" --user-bus blinkup --serial="SN 1"; then
        err_is "usage: --serial message" "blinkupctl blinkup: --serial: a space at byte 2; a serial number has none"
fi
if run "usage: clear --serial" 2 "$ctl" --user-bus clear --serial=SN1; then
        err_is "usage: clear --serial" "blinkupctl clear: --serial: a clear frame is for no particular unit"
fi
mkdir "$tmp/ident"
"$fake" --state-dir="$tmp/ident" >"$tmp/fake2.out" 2>"$tmp/fake2.err" &
fake_pid=$!
if ! wait_for "$tmp/fake2.out" READY; then
        bad "fake-fixture did not start again: $(cat "$tmp/fake2.err")"
        exit 1
fi
outcome no-confirm # no confirmation racing with the history below
prop() { busctl --user get-property org.blinkupd.Fixture1 /org/blinkupd/Fixture1 org.blinkupd.Fixture1 "$1"; }
if run "blinkup --serial" 0 "$ctl" --user-bus blinkup --serial=SN123 --wait; then
        out_has "blinkup --serial" "Attempt 7: BlinkUp sent."
fi
[ "$(prop LastSerial) $(prop LastOperator)" = 's "SN123" s ""' ] && ok "LastSerial" || bad "LastSerial: $(prop LastSerial) $(prop LastOperator)"
if run "blinkup --serial --operator" 0 "$ctl" --user-bus blinkup --serial=SN-2/B --operator="Zoë Smith" --wait; then
        out_has "blinkup --serial --operator" "Attempt 8: BlinkUp sent."
fi
# busctl escapes what is not ASCII when its output is not a terminal
[ "$(prop LastOperator)" = 's "Zo\303\253 Smith"' ] && ok "LastOperator" || bad "LastOperator: $(prop LastOperator)"
run "blinkup --operator" 0 "$ctl" --user-bus blinkup --operator=alice --wait
run "blinkup, plain" 0 "$ctl" --user-bus blinkup --wait
[ "$(prop LastSerial) $(prop LastOperator)" = 's "" s ""' ] && ok "plain BlinkUp: no LastSerial" || bad "plain BlinkUp: $(prop LastSerial) $(prop LastOperator)"
if busctl --user call org.blinkupd.Fixture1 /org/blinkupd/Fixture1 org.blinkupd.Fixture1 BlinkUpWithOptions \
        'a{sv}' 1 colour s red >"$tmp/out" 2>"$tmp/err"; then
        bad "fake: unknown option accepted"
else
        grep -qF 'Unknown option "colour"' "$tmp/err" && ok "fake: unknown option refused" || bad "fake: unknown option: $(cat "$tmp/err")"
fi
for want in ' attempt=7 event=started kind=factory serial=SN123 crc=' \
             ' attempt=8 event=started kind=factory serial=SN-2/B operator="Zo\xc3\xab Smith" crc=' \
             ' attempt=9 event=started kind=factory operator=alice crc=' \
             ' attempt=10 event=started kind=factory crc='; do
        grep -qF -- "$want" "$tmp/ident/attempts.log" && ok "record:$want" || bad "record lacks '$want': $(cat "$tmp/ident/attempts.log")"
done
if run "history, identity" 0 "$ctl" history --state-dir="$tmp/ident"; then
        sed 's/20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]Z/YYYY-MM-DDTHH:MM:SSZ/' "$tmp/out" >"$tmp/got"
        cat >"$tmp/want" <<'EOF'
ATTEMPT  STARTED (UTC)         KIND     OUTCOME       DEVICE   EDGES    MAX LATE    P99 LATE  ERROR
      7  YYYY-MM-DDTHH:MM:SSZ  factory  blinked       -          212     51.2 us     40.0 us  -
         serial SN123
      8  YYYY-MM-DDTHH:MM:SSZ  factory  blinked       -          212     51.2 us     40.0 us  -
         serial SN-2/B  operator Zo\xc3\xab Smith
      9  YYYY-MM-DDTHH:MM:SSZ  factory  blinked       -          212     51.2 us     40.0 us  -
         operator alice
     10  YYYY-MM-DDTHH:MM:SSZ  factory  blinked       -          212     51.2 us     40.0 us  -
EOF
        if diff -u "$tmp/want" "$tmp/got"; then ok "history: serial and operator"; else bad "history: serial and operator"; fi
fi
if run "history --json, identity" 0 "$ctl" history --state-dir="$tmp/ident" --json; then
        json_check "history --json: serial and operator" '
got = [(v["attempt_id"], v["serial"], v["operator"]) for v in values]
assert got[:4] == [(7, "SN123", None), (8, "SN-2/B", "Zo\u00eb Smith"), (9, None, "alice"), (10, None, None)], got
'
fi

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
