# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# steps-metrics.sh: the metrics file in the system test, sourced by scenario.sh (whose helpers
# it uses), on the installed package under the unit's real sandbox.
#
#   metrics-textfile  [Metrics] TextfileDirectory=/var/lib/prometheus/node-exporter (made as
#                     Debian's prometheus-node-exporter makes it: root's, 0755) in a drop-in,
#                     systemctl reload: the sandbox (ProtectSystem=strict) refuses the write,
#                     which is logged once, naming the path, and an attempt still succeeds; then
#                     the setup of blinkupd-metrics(7) (a unit drop-in with ReadWritePaths=, a
#                     tmpfiles.d ACL for the user blinkupd, systemctl restart): blinkupd.prom is
#                     there, 0644, with blinkupd_up 1 and this release's build info, an attempt
#                     is counted in it; systemctl stop leaves blinkupd_up 0. Everything is
#                     undone at the end (the directory too) and the daemon started again.

metrics_journal() { # the daemon's lines about the metrics file in this boot
        journalctl -b -u blinkupd --no-pager -o cat | grep 'metrics file' || true
}

metrics_attempt() { # one BlinkUp to its end, a success: its ID in METRICS_ID
        local id
        release
        id=$(bus_call BlinkUp | awk '{ print $2 }')
        [ -n "$id" ] || fail "BlinkUp returned no attempt ID"
        wait_state idle 120
        case $(record_last_event "$id") in
        blinked | confirmed) ;;
        *) fail "attempt $id did not succeed: its last event is $(record_last_event "$id")" ;;
        esac
        METRICS_ID=$id
}

st_metrics_textfile() {
        local d=$SYSCONFDIR/blinkupd dir=/var/lib/prometheus/node-exporter unit_dropin=/etc/systemd/system/blinkupd.service.d
        local prom n codename f made
        [ -x "$SBINDIR/blinkupd" ] || skip "blinkupd is not installed"
        # the directory is the step's own unless node_exporter's package made it: removed after
        # (the purge step looks for anything left behind)
        [ -d /var/lib/prometheus ] && made= || made=/var/lib/prometheus
        # shellcheck disable=SC2064 # the paths, expanded now
        trap "rm -f '$d/blinkupd.conf.d/80-metrics.conf' '$unit_dropin/metrics.conf' /etc/tmpfiles.d/blinkupd-metrics.conf;
              rm -rf $made; rmdir '$unit_dropin' 2>/dev/null; systemctl daemon-reload; systemctl restart blinkupd" EXIT
        prom=$dir/blinkupd.prom
        install -d -o root -g root -m 0755 "$dir"
        rm -f "$prom"
        install -m 0640 -g blinkupd /dev/null "$d/blinkupd.conf.d/80-metrics.conf"
        printf '[Metrics]\nTextfileDirectory=%s\n' "$dir" >"$d/blinkupd.conf.d/80-metrics.conf"
        run systemctl reload blinkupd

        # no drop-in yet: the sandbox keeps the directory read-only; said once, attempts go on
        WAIT_INTERVAL=0.5 wait_for 30 sh -c "journalctl -b -u blinkupd -o cat | grep -qF 'Cannot write the metrics file $prom: Read-only file system'" ||
                fail "no warning about the metrics file: $(metrics_journal | tail -n 1)"
        metrics_journal | tail -n 1
        metrics_attempt
        echo "attempt $METRICS_ID succeeded with the metrics file refused"
        [ ! -e "$prom" ] || fail "$prom was written through the sandbox"
        n=$(metrics_journal | grep -cF "Cannot write the metrics file $prom")
        expect_eq "$n" 1 "warnings about the refused metrics file"

        # the setup of blinkupd-metrics(7)
        mkdir -p "$unit_dropin"
        printf '[Service]\nReadWritePaths=%s\n' "$dir" >"$unit_dropin/metrics.conf"
        printf 'a+ %s - - - - u:blinkupd:rwx\n' "$dir" >/etc/tmpfiles.d/blinkupd-metrics.conf
        run systemd-tmpfiles --create /etc/tmpfiles.d/blinkupd-metrics.conf
        run systemctl daemon-reload
        run systemctl restart blinkupd
        wait_for 30 test -s "$prom" || fail "no $prom after the restart: $(metrics_journal | tail -n 1)"
        run ls -l "$prom"
        expect_eq "$(stat -c '%U %a' "$prom")" "blinkupd 644" "the metrics file's owner and mode"
        grep -qx 'blinkupd_up 1' "$prom" || fail "no 'blinkupd_up 1' in $prom"
        codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
        grep -qE "^blinkupd_build_info\{version=\"[^\"]+\",libgpiod_api=\"[12]\",release=\"$codename\"\} 1$" "$prom" ||
                fail "no build info for $codename: $(grep build_info "$prom")"
        grep -E '^blinkupd_(build_info|up|factory_status)' "$prom"

        metrics_attempt
        # the attempt's end writes the file (just after State is idle); the counter counts since
        # the restart
        wait_for 10 grep -qx 'blinkupd_attempts_total{kind="factory",outcome="success"} 1' "$prom" ||
                fail "attempt $METRICS_ID is not counted: $(grep 'outcome="success"' "$prom")"
        grep -qE '^blinkupd_edge_lateness_seconds_count [1-9][0-9]*$' "$prom" ||
                fail "no edges in the lateness histogram: $(grep lateness_seconds_count "$prom")"
        grep -E '^blinkupd_(attempts_total\{kind="factory",outcome="success"\}|frames_sent_total|edge_lateness_seconds_count)' "$prom"
        for f in "$dir"/.blinkupd.prom.*; do
                [ ! -e "$f" ] || fail "a temporary file was left: $f"
        done

        run systemctl stop blinkupd
        wait_for 10 grep -qx 'blinkupd_up 0' "$prom" || fail "no 'blinkupd_up 0' after systemctl stop"
        echo "after systemctl stop: blinkupd_up 0"
}
