# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# steps-results.sh: the results delivery in the system test, sourced by scenario.sh (whose
# helpers it uses), on the installed package under the unit's sandbox and the real journal.
#
#   results-delivery  a drop-in points the fixture at tests/helpers/results-receiver.py
#                     (HTTPS on 127.0.0.1, the test server's CA) with a bearer token from a
#                     file; after systemctl reload, every attempt the earlier steps recorded
#                     arrives, in the record's order, then an attempt started with a serial
#                     number and an operator (BlinkUpWithOptions) arrives with them; the
#                     journal has BLINKUP_SERIAL= and BLINKUP_OPERATOR=; the delivered
#                     position is in the state directory, the daemon's; ResultsBacklog is 0

receiver_start() { # receiver_start: results-receiver.py on 127.0.0.1, the test server's PKI
        [ -f "$VMTEST_DIR/results-receiver.py" ] || fail "results-receiver.py not installed"
        python3 "$VMTEST_DIR/results-receiver.py" --pki "$WORK/pki" --log-file "$WORK/receiver.log" \
                >"$WORK/receiver.out" 2>"$WORK/receiver.err" &
        RECEIVER_PID=$!
        wait_for 60 sh -c "grep -q '^control ' '$WORK/receiver.out'" ||
                fail "results receiver did not start: $(cat "$WORK/receiver.err")"
        RECEIVER_URL=$(sed -n 's/^url //p' "$WORK/receiver.out")
        RECEIVER_CONTROL=$(sed -n 's/^control //p' "$WORK/receiver.out")
        echo "results receiver at $RECEIVER_URL"
}
# the documents received, one per line, tab-separated: the Idempotency-Key header, attempt_id,
# event, serial, operator, line, the Authorization header, the body's idempotency_key
receiver_received() {
        SERVER_CA=$SERVER_CA python3 - "$RECEIVER_CONTROL/received" <<-'EOF'
	import json, os, ssl, sys, urllib.request
	ctx = ssl.create_default_context(cafile=os.environ["SERVER_CA"])
	for r in json.load(urllib.request.urlopen(sys.argv[1], context=ctx))["received"]:
	    b = r["body"] or {}
	    print(*(str(v) for v in (r["idempotency_key"], b.get("attempt_id"), b.get("event"), b.get("serial"),
	                                b.get("operator"), b.get("line"), r["authorization"], b.get("idempotency_key"))),
	          sep="\t")
	EOF
}

st_results_delivery() {
        local d=$SYSCONFDIR/blinkupd got id attempts first want fid end
        [ -x "$SBINDIR/blinkupd" ] || skip "blinkupd is not installed"
        [ -n "${SERVER_CA:-}" ] || fail "no test server (daemon-start did not run)"
        receiver_start
        trap 'kill "$RECEIVER_PID" 2>/dev/null || true' EXIT # the step is a subshell
        install -m 0640 -g blinkupd /dev/null "$d/results-token"
        echo vm-results-token >"$d/results-token"
        install -m 0640 -g blinkupd /dev/null "$d/blinkupd.conf.d/60-results.conf"
        printf '[Fixture]\nLine=VM line\n[Results]\nURL=%s\nTokenFile=%s/results-token\nRetryMaxSec=2\n' \
                "$RECEIVER_URL" "$d" >"$d/blinkupd.conf.d/60-results.conf"
        run systemctl reload blinkupd
        expect_eq "$(prop_value ResultsURL)" "$RECEIVER_URL" "ResultsURL after the reload"

        # the record's attempts so far, all delivered from the start of the record
        attempts=$(sed -n 's/.* attempt=\([0-9]*\) event=started .*/\1/p' "$(record_file)" | sort -n | uniq)
        [ -n "$attempts" ] || fail "no attempts in the record"
        WAIT_INTERVAL=1 wait_for 120 sh -c "[ \"\$(busctl --system get-property ${BUS_DEST[*]} ResultsBacklog)\" = 'u 0' ] &&
                [ \"\$(busctl --system get-property ${BUS_DEST[*]} ResultsLastDelivery)\" != 't 0' ]" ||
                fail "the backlog was not delivered: $(bus_prop ResultsBacklog) waiting, last error $(bus_prop ResultsLastError)"
        got=$(receiver_received)
        echo "$got" | sed 's/^/received: /'
        for id in $attempts; do
                grep -qP "^[0-9a-f]+-$id-outcome\t$id\toutcome\t" <<<"$got" ||
                        fail "attempt $id: no outcome document at the endpoint"
        done
        # in the record's order: the outcomes' attempt IDs as they first arrived are ascending
        first=$(awk -F'\t' '$3 == "outcome" && !seen[$2]++ { print $2 }' <<<"$got" | tr '\n' ' ')
        want=$(tr '\n' ' ' <<<"$attempts")
        expect_eq "$first" "$want" "the outcomes' order at the endpoint"
        awk -F'\t' '$7 != "Bearer vm-results-token" { bad = 1 } END { exit bad }' <<<"$got" ||
                fail "a document came without Authorization: Bearer vm-results-token"
        awk -F'\t' '$1 != $8 { bad = 1 } END { exit bad }' <<<"$got" ||
                fail "an Idempotency-Key header differs from the document's idempotency_key"

        # an attempt for one unit, by one operator
        release
        id=$(bus_call BlinkUpWithOptions 'a{sv}' 2 serial s SN-VM-0001 operator s "VM Operator" | awk '{ print $2 }')
        [ -n "$id" ] || fail "BlinkUpWithOptions returned no attempt ID"
        echo "attempt $id: serial SN-VM-0001, operator VM Operator"
        wait_state idle 120
        end=$((SECONDS + 120))
        until got=$(receiver_received | awk -F'\t' -v id="$id" '$2 == id && $3 == "outcome"' | head -n 1) && [ -n "$got" ]; do
                [ "$SECONDS" -lt "$end" ] || fail "attempt $id: no outcome document at the endpoint within 120 s"
                sleep 1
        done
        echo "received: $got"
        fid=$(prop_value FixtureId)
        expect_eq "$(awk -F'\t' '{ print $1 "|" $4 "|" $5 "|" $6 }' <<<"$got")" \
                "$fid-$id-outcome|SN-VM-0001|VM Operator|VM line" "the attempt's document"
        journalctl -u blinkupd BLINKUP_ATTEMPT_ID="$id" BLINKUP_SERIAL=SN-VM-0001 -o json | grep -q . ||
                fail "journal: no entry of attempt $id with BLINKUP_SERIAL=SN-VM-0001"
        journalctl -u blinkupd BLINKUP_ATTEMPT_ID="$id" BLINKUP_OPERATOR="VM Operator" -o json | grep -q . ||
                fail "journal: no entry of attempt $id with BLINKUP_OPERATOR=VM Operator"
        echo "journal: attempt $id has BLINKUP_SERIAL and BLINKUP_OPERATOR"

        # the position, the daemon's user's, in the state directory; no helper left without a daemon
        run ls -l "$STATEDIR/results.position"
        [ "$(stat -c %U "$STATEDIR/results.position")" = blinkupd ] || fail "results.position is not blinkupd's"
        run cat "$STATEDIR/results.position"
        pgrep -u blinkupd -f 'blinkupd-https .*--results' >/dev/null || fail "no blinkupd-https --results running"
        run blinkupctl status
        blinkupctl status | grep -q "Results backlog: 0 waiting, 0 parked" || fail "blinkupctl status: backlog not 0"
}
