#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# scenario.sh: the system test, run as root inside the test VM by blinkupd-vmtest.service
# (written by tests/vm/run). Its output goes to the VM's second serial port; tests/vm/run reads
# these lines from it:
#
#   VMTEST: BEGIN
#   VMTEST: PASS <step> (<seconds>s)
#   VMTEST: FAIL <step>: <reason>
#   VMTEST: SKIP <step>: <reason>
#   VMTEST: FILE-BEGIN <name> / base64 of gzip / VMTEST: FILE-END <name>   (artifacts)
#   VMTEST: DONE pass=<n> fail=<n> skip=<n>
#
# Everything else (each step's commands and their output, indented) is for humans.
#
# Environment (from $VMTEST_DIR/env, written by tests/vm/run):
#   VMTEST_DIR   where this script and the other test files are (/opt/blinkupd-vmtest)
#   SBINDIR BINDIR SYSCONFDIR STATEDIR   the project's install locations (make install)
#   STEP_TIMEOUT seconds one step may take (default 180)
set -euo pipefail

VMTEST_DIR=${VMTEST_DIR:-/opt/blinkupd-vmtest}
# shellcheck source=/dev/null
[ -f "$VMTEST_DIR/env" ] && . "$VMTEST_DIR/env"
: "${SBINDIR:=/usr/sbin}" "${BINDIR:=/usr/bin}" "${SYSCONFDIR:=/etc}" "${STATEDIR:=/var/lib/blinkupd}"
: "${STEP_TIMEOUT:=180}"
export PATH="$SBINDIR:$BINDIR:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export SYSTEMD_PAGER='' SYSTEMD_COLORS=0 LC_ALL=C.UTF-8

WORK=/run/vmtest           # scratch; also the state passed between steps
STATE=$WORK/state           # KEY=VALUE lines that a step adds for the later steps
mkdir -p "$WORK"
: >"$STATE"

SIM=/sys/kernel/config/gpio-sim
TRACE=/sys/kernel/tracing
CHIP_NAME=fixture           # gpio-sim device and bank label: Chip=fixture in blinkupd.conf
# Line names of the simulated chip, by offset.
LINE_NAMES=(led button ready busy pass fail spare6 spare7)

n_pass=0 n_fail=0 n_skip=0
FAILED=()

# ---- the step machinery ----

# step NAME CMD [ARGS...]: runs CMD (usually a function below) in a subshell with set -e,
# bounded by STEP_TIMEOUT, prints its output indented and one protocol line. A step records
# values for later steps with `state KEY VALUE`; they are read back after every step.
step() {
        local name=$1 log=$WORK/step.log t0 t1 rc pid wd reason
        shift
        echo "---- $name"
        t0=$(date +%s.%N)
        set +e
        (set -euo pipefail; "$@") </dev/null >"$log" 2>&1 &
        pid=$!
        (sleep "$STEP_TIMEOUT" && echo "step timed out after ${STEP_TIMEOUT}s" >>"$log" &&
                kill -TERM "$pid" 2>/dev/null) </dev/null >/dev/null 2>&1 &
        wd=$!
        wait "$pid"
        rc=$?
        kill "$wd" 2>/dev/null
        wait "$wd" 2>/dev/null
        set -e
        t1=$(date +%s.%N)
        sed 's/^/    /' "$log"
        # shellcheck source=/dev/null
        . "$STATE"
        if [ "$rc" -eq 0 ]; then
                n_pass=$((n_pass + 1))
                echo "VMTEST: PASS $name ($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')s)"
        elif [ "$rc" -eq 77 ]; then
                n_skip=$((n_skip + 1))
                reason=$(grep -v '^+' "$log" | tail -n 1)
                echo "VMTEST: SKIP $name: ${reason:-skipped}"
        else
                n_fail=$((n_fail + 1))
                FAILED+=("$name")
                reason=$(grep -v '^+' "$log" | tail -n 1)
                echo "VMTEST: FAIL $name: ${reason:-exit status $rc}"
        fi
}

# Inside steps:
fail() { echo "FAILED: $*" >&2; exit 1; }
skip() { echo "$*" >&2; exit 77; }
state() { printf '%s=%q\n' "$1" "$2" >>"$STATE"; }
run() { echo "+ $*" >&2; "$@"; }                       # show a command, then run it
expect_eq() { [ "$1" = "$2" ] || fail "${3:-value}: expected '$2', got '$1'"; }
# wait_for SECONDS CMD...: retries CMD every WAIT_INTERVAL (0.2) s until it succeeds
wait_for() {
        local end=$((SECONDS + $1))
        shift
        until "$@" >/dev/null 2>&1; do
                [ "$SECONDS" -lt "$end" ] || return 1
                sleep "${WAIT_INTERVAL:-0.2}"
        done
}

# emit_file NAME PATH: sends a file to the host (tests/vm/run stores it as artifacts/NAME)
emit_file() {
        [ -r "$2" ] || return 0
        echo "VMTEST: FILE-BEGIN $1"
        gzip -c "$2" | base64 -w 76
        echo "VMTEST: FILE-END $1"
}

# ---- helpers for GPIO steps (use after the gpio-sim-chip step) ----

line_offset() { # line_offset NAME
        local i
        for i in "${!LINE_NAMES[@]}"; do
                [ "${LINE_NAMES[$i]}" = "$1" ] && { echo "$i"; return 0; }
        done
        return 1
}
sim_attr() { # sim_attr LINE ATTR: the sysfs attribute file of a simulated line
        echo "$SIM_SYSFS/sim_gpio$(line_offset "$1")/$2"
}
press() { echo pull-up >"$(sim_attr "${1:-button}" pull)"; }     # button line high
release() { echo pull-down >"$(sim_attr "${1:-button}" pull)"; } # and low again
trace_start() { # clears the trace buffer and records gpio_value events
        echo 0 >"$TRACE/tracing_on"
        : >"$TRACE/trace"
        echo 1 >"$TRACE/events/gpio/gpio_value/enable"
        echo 1 >"$TRACE/tracing_on"
        # When something drives the LED already (the daemon holds it, idle and dark), its level
        # now: trace2vcd starts the VCD with it, so a capture that begins while the line idles
        # has the dark lead-in a decoder needs.
        if led_is_output; then
                echo "trace2vcd gpio=$((CHIP_BASE + $(line_offset led))) level=$(cat "$(sim_attr led value)")" \
                        >"$TRACE/trace_marker"
        fi
}
led_is_output() { # is the LED line held as an output right now?
        # (not just "output": gpiolib keeps that flag after the release, while gpio-sim then
        # shows the pull on the line's value)
        gpioinfo "$CHIP" | grep -qE "^[[:space:]]+line +$(line_offset led):.* output .*\[used"
}
trace_stop() { # trace_stop OUT: stops recording, saves the trace text
        local counts
        echo 0 >"$TRACE/tracing_on"
        cat "$TRACE/trace" >"$1"
        # "# entries-in-buffer/entries-written: 83/83": fewer in the buffer = events lost
        counts=$(sed -n 's/^# entries-in-buffer\/entries-written: \([0-9]*\/[0-9]*\).*/\1/p' "$1")
        [ "${counts%/*}" = "${counts#*/}" ] || fail "trace buffer overflowed ($counts events kept)"
}
led_vcd() { # led_vcd TRACE OUT.vcd [TRACE2VCD OPTIONS]: the LED line's waveform from a trace
        python3 "$VMTEST_DIR/trace2vcd" --gpio "$((CHIP_BASE + $(line_offset led)))" "$1" -o "$2" "${@:3}"
}

# ---- steps: the machine ----

st_boot() {
        local s
        s=$(timeout 120 systemctl is-system-running --wait || true)
        echo "is-system-running: $s"
        if [ "$s" = degraded ]; then
                systemctl --failed --no-legend --plain
        fi
        case $s in
        running | degraded) ;;
        *) fail "system state is '$s'" ;;
        esac
        run uname -r
        run systemctl --version | head -n 1
        echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
}

st_system_bus() {
        run busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetId
        run busctl --system get-property org.freedesktop.systemd1 /org/freedesktop/systemd1 \
                org.freedesktop.systemd1.Manager Version
        busctl --system list --no-legend | grep -q '^org.freedesktop.systemd1 ' ||
                fail "org.freedesktop.systemd1 not on the system bus"
}

st_users() {
        local out
        run id vmuser
        run id vmoperator
        expect_eq "$(runuser -u vmuser -- id -un)" vmuser "runuser -u vmuser id -un"
        # An unprivileged caller reaches the bus, and a privileged method gives AccessDenied:
        # the same check the daemon's policy steps need.
        run runuser -u vmuser -- busctl --system call org.freedesktop.DBus /org/freedesktop/DBus \
                org.freedesktop.DBus GetId
        out=$(runuser -u vmuser -- busctl --system call org.freedesktop.systemd1 /org/freedesktop/systemd1 \
                org.freedesktop.systemd1.Manager Reload 2>&1 || true)
        echo "unprivileged Manager.Reload: $out"
        case $out in
        *"Access denied"* | *AccessDenied* | *"Interactive authentication required"*) ;;
        *) fail "expected a denial for an unprivileged Reload, got: $out" ;;
        esac
}

st_journal() {
        local tag=vmtest-$$
        run logger -t "$tag" "journal check"
        wait_for 10 sh -c "journalctl -b -t '$tag' -o cat | grep -q 'journal check'" ||
                fail "message not found in the journal"
        run journalctl --header | grep -E '^(File path|State)' | head -n 2
}

# ---- steps: the kernel's GPIO (gpio-sim) ----

st_gpio_sim_module() {
        run modprobe gpio-sim-mod
        mountpoint -q /sys/kernel/config || run mount -t configfs configfs /sys/kernel/config
        [ -d "$SIM" ] || fail "$SIM missing after loading gpio-sim-mod"
        mountpoint -q "$TRACE" || run mount -t tracefs tracefs "$TRACE"
        [ -d "$TRACE/events/gpio/gpio_value" ] || fail "no gpio_value trace event"
        # CLOCK_MONOTONIC timestamps (comparable with the daemon's), room for long captures
        echo mono >"$TRACE/trace_clock"
        echo 8192 >"$TRACE/buffer_size_kb"
        run lsmod | grep -E '^(gpio_sim_mod|configfs) '
}

st_gpio_sim_chip() {
        local d=$SIM/$CHIP_NAME i dev chip base
        mkdir "$d" "$d/bank0"
        echo "${#LINE_NAMES[@]}" >"$d/bank0/num_lines"
        echo "$CHIP_NAME" >"$d/bank0/label"
        for i in "${!LINE_NAMES[@]}"; do
                mkdir "$d/bank0/line$i"
                echo "${LINE_NAMES[$i]}" >"$d/bank0/line$i/name"
        done
        echo 1 >"$d/live"
        dev=$(cat "$d/dev_name")
        chip=$(cat "$d/bank0/chip_name")
        [ -c "/dev/$chip" ] || wait_for 10 test -c "/dev/$chip" || fail "/dev/$chip did not appear"
        # The global GPIO numbers (in the trace events) start at the chip's base.
        base=""
        for i in /sys/class/gpio/gpiochip*; do
                if [ "$(cat "$i/label")" = "$CHIP_NAME" ]; then base=$(cat "$i/base"); fi
        done
        [ -n "$base" ] || fail "no /sys/class/gpio/gpiochip* with label $CHIP_NAME"
        echo "device $dev, /dev/$chip, label $CHIP_NAME, base $base"
        run gpiodetect
        run gpioinfo "$chip"
        expect_eq "$(gpiofind led)" "$chip 0" "gpiofind led"
        expect_eq "$(gpiofind button)" "$chip $(line_offset button)" "gpiofind button"
        # The board's pull-up on the active-low LED: dark whenever nobody drives the line.
        # (gpio-sim sets a released line's value to its pull, pull-down by default: an
        # active-low LED would light up when the daemon lets go of it.)
        echo pull-up >"/sys/devices/platform/$dev/$chip/sim_gpio$(line_offset led)/pull"
        state CHIP_DEV "/dev/$chip"
        state CHIP "$chip"
        state CHIP_BASE "$base"
        state SIM_SYSFS "/sys/devices/platform/$dev/$chip"
}

st_led_trace() {
        # gpioset (libgpiod v1) requests the line, sets it and holds it for --usec. Every write
        # shows up as a gpio_value event with its kernel timestamp (CLOCK_MONOTONIC).
        local pattern=(1 0 1 1 0 1 0) v gpio
        gpio=$((CHIP_BASE + $(line_offset led)))
        trace_start
        for v in "${pattern[@]}"; do
                gpioset --mode=time --usec=50000 "$CHIP" "$(line_offset led)=$v"
        done
        # Held by a running gpioset: the simulator reads the driven level back.
        gpioset --mode=signal "$CHIP" "$(line_offset led)=1" &
        wait_for 10 sh -c "[ \"\$(cat '$(sim_attr led value)')\" = 1 ]" || fail "sim value not 1"
        kill -TERM $!
        wait $! || true
        trace_stop "$WORK/led.trace"
        grep "gpio_value: $gpio set" "$WORK/led.trace" | sed 's/^ *//'
        led_vcd "$WORK/led.trace" "$WORK/led.vcd"
        cat "$WORK/led.vcd"
        # The levels, merged (1 1 -> 1), are the pattern plus the final 1.
        local got want
        got=$(grep -E '^[01]!' "$WORK/led.vcd" | tr -d '!\n')
        want=$(printf '%s' "${pattern[@]}" 1 | tr -s '01')
        expect_eq "$got" "$want" "LED levels in the trace"
        # Each level was held for at least the 50 ms of --usec.
        awk '/^#/ { t = substr($0, 2) + 0; if (p && t - p < 50000000) bad = 1; p = t }
             END { exit bad }' "$WORK/led.vcd" || fail "a level lasted less than 50 ms"
        state LED_VCD "$WORK/led.vcd"
}

st_button_edge() {
        local off out pid
        off=$(line_offset button)
        release
        timeout 30 gpiomon --num-events=1 --rising-edge "$CHIP" "$off" >"$WORK/gpiomon.out" 2>&1 &
        pid=$!
        wait_for 15 sh -c "gpioinfo $CHIP | grep -E '^[[:space:]]+line +$off:.*\\[used' " ||
                fail "gpiomon did not request the button line"
        run gpioinfo "$CHIP" | grep -E "line +$off:"
        press
        wait "$pid" || fail "gpiomon saw no event: $(cat "$WORK/gpiomon.out")"
        out=$(cat "$WORK/gpiomon.out")
        echo "$out"
        case $out in *RISING*) ;; *) fail "no RISING edge: $out" ;; esac
        release
        expect_eq "$(cat "$(sim_attr button value)")" 0 "button value after release"
}

st_decode_replay() {
        # The capture path the daemon steps rely on, end to end without the daemon: a real
        # BlinkUp frame from blinkupctl encode, played on the LED line through the GPIO
        # character device, captured by the kernel's trace, turned into a VCD and decoded.
        # The player is a Python loop, not a real-time thread: under TCG it can be late by
        # milliseconds, so it plays the short clear frame at half speed and gets three tries.
        [ -x "$BINDIR/blinkupctl" ] || skip "blinkupctl not installed"
        [ -x "$VMTEST_DIR/blinkup-decode" ] || skip "blinkup-decode not built"
        local want got try
        run blinkupctl encode --clear --format=vcd >"$WORK/frame.vcd"
        want=$(blinkupctl encode --clear)
        for try in 1 2 3; do
                trace_start
                run python3 "$VMTEST_DIR/gpio-replay" --scale=2 "$CHIP_DEV" "$(line_offset led)" \
                        "$WORK/frame.vcd"
                trace_stop "$WORK/replay.trace"
                led_vcd "$WORK/replay.trace" "$WORK/replay.vcd"
                run "$VMTEST_DIR/blinkup-decode" "$WORK/replay.vcd" | tee "$WORK/replay.decoded" || true
                got=$(sed -n 's/^frame 1: \([0-9a-f]*\)$/\1/p' "$WORK/replay.decoded")
                [ "$got" = "$want" ] && break
                echo "try $try: decoded '${got:-nothing}', want '$want'"
        done
        expect_eq "$got" "$want" "decoded frame"
}

# ---- steps: blinkupd ----
#
# Conventions for these steps:
#  - the daemon is installed by make install (tests/vm/run); its files are where the build
#    put them: "$SBINDIR/blinkupd", "$SYSCONFDIR/blinkupd/blinkupd.conf", the unit
#    blinkupd.service; the unit, sysusers.d, tmpfiles.d, D-Bus policy and udev rule are in
#    /usr/lib and /usr/share whatever the prefix (see SYSINT_DIRS in tests/vm/run);
#  - write_config below configures it for the simulated chip by line names;
#  - capture the LED with trace_start / trace_stop / led_vcd and decode with
#    "$VMTEST_DIR/blinkup-decode"; want_frame gives the frame the server's token requires;
#  - press / release the button through the simulator's pull;
#  - run as another user with runuser -u vmuser (outside group blinkup) or
#    runuser -u vmoperator (put into group blinkup by st_daemon_install).
# Timing under TCG: most edges from the daemon's real-time thread are within 0.3 ms, but a
# virtual CPU stalled by the host makes some late by milliseconds, far beyond the
# 10%-of-a-bit default of MaxLatenessUs (704 us at 142 bits/s), and a timing fault ends the
# frame early. The VM configuration therefore uses 60 bits/s, MaxLatenessUs=7000 (under half
# a bit) and TimingFaultRetries=3 (write_config); the decoder still checks every bit and the
# CRC.

BUS_DEST=(org.blinkupd.Fixture1 /org/blinkupd/Fixture1 org.blinkupd.Fixture1)
bus_call() { busctl --system call "${BUS_DEST[@]}" "$@"; }          # bus_call BlinkUp
bus_prop() { busctl --system get-property "${BUS_DEST[@]}" "$@"; }  # bus_prop State -> s "idle"
wait_state() { # wait_state STATE [SECONDS]: until the State property is STATE
        # (polled slowly: every process started in the VM competes with the transmitter)
        WAIT_INTERVAL=1 wait_for "${2:-60}" sh -c "busctl --system get-property ${BUS_DEST[*]} State | grep -qx 's \"$1\"'" ||
                fail "State did not become $1 (it is $(bus_prop State 2>&1))"
}

server_start() { # server_start [ARGS...]: tests/factory-server.py on 127.0.0.1 (HTTPS)
        [ -f "$VMTEST_DIR/factory-server.py" ] || fail "factory-server.py not installed"
        local port
        python3 "$VMTEST_DIR/factory-server.py" --pki "$WORK/pki" --log-file "$WORK/server.log" \
                "$@" >"$WORK/server.out" 2>"$WORK/server.err" &
        state SERVER_PID $!
        wait_for 60 sh -c "grep -qE '^[0-9]+\$' '$WORK/server.out'" ||
                fail "factory server did not start: $(cat "$WORK/server.err")"
        port=$(grep -E '^[0-9]+$' "$WORK/server.out" | head -n 1)
        echo "factory server on 127.0.0.1:$port (CA $WORK/pki/ca.pem)"
        state SERVER_PORT "$port"
        state SERVER_URL "https://127.0.0.1:$port/v5"
        state SERVER_CA "$WORK/pki/ca.pem"
}
server_control() { # server_control METHOD PATH [JSON]: the test server's /_control API
        SERVER_CA=$SERVER_CA SERVER_PORT=$SERVER_PORT python3 - "$@" <<-'EOF'
	import json, os, ssl, sys, urllib.request
	method, path = sys.argv[1], sys.argv[2]
	data = sys.argv[3].encode() if len(sys.argv) > 3 else None
	ctx = ssl.create_default_context(cafile=os.environ["SERVER_CA"])
	req = urllib.request.Request("https://127.0.0.1:%s%s" % (os.environ["SERVER_PORT"], path),
	                             data=data, method=method,
	                             headers={"Content-Type": "application/json"})
	print(urllib.request.urlopen(req, context=ctx).read().decode())
	EOF
}
want_frame() { # want_frame TOKEN_ID: the frame hex the daemon must send for that token
        local plan
        plan=$(server_control GET /_control/tokens |
                python3 -c 'import json, sys; print(next(t["plan_id"] for t in json.load(sys.stdin)["tokens"] if t["token_id"] == sys.argv[1]))' "$1")
        blinkupctl encode --ssid=FactoryNet --password=factory-pass --plan-id="$plan" --token="$1"
}

write_config() { # write_config: the configuration for the sim chip and the test server
        local d=$SYSCONFDIR/blinkupd
        install -d -m 0750 -g blinkupd "$d" "$d/blinkupd.conf.d"
        install -m 0640 -g blinkupd /dev/null "$d/login-key"
        install -m 0640 -g blinkupd /dev/null "$d/wifi-password"
        echo test-login-key >"$d/login-key"
        echo factory-pass >"$d/wifi-password"
        install -m 0640 -g blinkupd /dev/null "$d/blinkupd.conf"
        cat >"$d/blinkupd.conf" <<-EOF
	[WiFi]
	SSID=FactoryNet
	PasswordFile=$d/wifi-password
	[LED]
	Chip=$CHIP_NAME
	Line=led
	[Button]
	Chip=$CHIP_NAME
	Line=button
	ActiveLow=no
	Bias=as-is
	[Indicators]
	Ready=ready
	Busy=busy
	Pass=pass
	Fail=fail
	[Server]
	URL=$SERVER_URL
	CAFile=$SERVER_CA
	LoginKeyFile=$d/login-key
	EOF
        # TCG timing (see above), in a drop-in like a site would do it
        install -m 0640 -g blinkupd /dev/null "$d/blinkupd.conf.d/50-vm.conf"
        printf '[LED]\nFast=no\n[RealTime]\nMaxLatenessUs=7000\nTimingFaultRetries=3\n' \
                >"$d/blinkupd.conf.d/50-vm.conf"
}

st_daemon_install() {
        [ -x "$SBINDIR/blinkupd" ] || skip "blinkupd is not installed (make install)"
        systemctl cat blinkupd.service >/dev/null || fail "blinkupd.service unknown to systemd"
        getent passwd blinkupd >/dev/null || run systemd-sysusers
        getent passwd blinkupd >/dev/null || fail "sysusers did not create user blinkupd"
        run systemd-tmpfiles --create
        run usermod -a -G blinkup vmoperator
        run id vmoperator
        run ls -l "$CHIP_DEV"
}

st_daemon_start() {
        [ -x "$SBINDIR/blinkupd" ] || skip "blinkupd is not installed"
        server_start
        . "$STATE"
        write_config
        run "$SBINDIR/blinkupd" --check-config >/dev/null
        run timeout 60 systemctl start blinkupd ||
                { systemctl status blinkupd --no-pager || true; fail "systemctl start blinkupd failed"; }
        # Type=notify: "active" only after READY=1
        expect_eq "$(systemctl is-active blinkupd)" active "systemctl is-active blinkupd"
        run bus_prop State
        wait_state idle 30
        wait_for 30 sh -c "busctl --system get-property ${BUS_DEST[*]} FactoryStatus | grep -qx 's \"verified\"'" ||
                fail "FactoryStatus is $(bus_prop FactoryStatus)"
}

# blink_capture NAME CMD...: runs CMD (which starts an attempt) with the LED traced, waits
# until the daemon is idle again and decodes the capture; sets BLINK_GOT (the hex of every
# frame that decoded, one per line: after a timing fault the daemon sends the frame again)
# and BLINK_TOKEN (the token in the first of them)
blink_capture() {
        local name=$1
        shift
        trace_start
        # Wait for the Finished signal without starting processes: each one competes with the
        # transmitter for the host's CPUs (see above). busctl monitor blocks until it comes.
        local mon line
        rm -f "$WORK/monitor.fifo"
        mkfifo "$WORK/monitor.fifo"
        timeout 180 busctl --system monitor \
                --match "type='signal',interface='org.blinkupd.Fixture1',member='Finished'" \
                >"$WORK/monitor.fifo" 2>/dev/null &
        mon=$!
        exec 8<"$WORK/monitor.fifo"
        "$@"
        while IFS= read -r -t 180 line <&8; do
                case $line in *Member=Finished*) break ;; esac
        done
        exec 8<&-
        kill "$mon" 2>/dev/null || true
        wait "$mon" 2>/dev/null || true
        wait_state idle 120
        trace_stop "$WORK/$name.trace"
        bus_prop LastTiming
        bus_prop LastError
        led_vcd "$WORK/$name.trace" "$WORK/$name.vcd"
        # One VCD per frame (the decoder stops at the first damaged one, and a damaged frame
        # is followed by its resend): frames are apart by more than 0.5 s of dark, no frame
        # holds a level that long (at most 2 bytes of equal bits, 0.27 s at 60 bits/s).
        : >"$WORK/$name.decoded"
        local f
        for f in $(led_vcd "$WORK/$name.trace" "$WORK/$name-frame" --split-gap-ns 500000000); do
                # a frame has at least the 64 edges of its preamble
                [ "$(grep -c '^[01]!' "$f")" -ge 64 ] || continue
                "$VMTEST_DIR/blinkup-decode" "$f" >>"$WORK/$name.decoded" 2>&1 || true
        done
        grep -v 'record type' "$WORK/$name.decoded" || true
        BLINK_GOT=$(sed -n 's/^frame [0-9]*: \([0-9a-f]*\)$/\1/p' "$WORK/$name.decoded")
        BLINK_TOKEN=$(sed -n 's/.* token=\([0-9a-f]*\).*/\1/p' "$WORK/$name.decoded" | head -n 1)
}

st_blinkup_root() {
        [ -x "$SBINDIR/blinkupd" ] || skip "blinkupd is not installed"
        # TCG is not real time: a stall of the virtual CPU on a busy host makes an edge late,
        # which the daemon rightly reports as a timing fault. Up to three attempts; one must
        # come out bit-exact.
        local try want=""
        for try in 1 2 3; do
                blink_capture "blinkup-root-$try" bus_call BlinkUp
                if [ -n "$BLINK_TOKEN" ]; then
                        want=$(want_frame "$BLINK_TOKEN")
                        if grep -qx "$want" <<<"$BLINK_GOT"; then
                                echo "attempt $try: the frame of token $BLINK_TOKEN, bit-exact"
                                return 0
                        fi
                fi
                echo "attempt $try: decoded '${BLINK_GOT:-nothing}'${want:+, want '$want'}"
        done
        fail "no attempt sent the token's frame bit-exact"
}

# DAEMON-STEP: more steps, each a function registered in main below:
#   st_button_attempt      press; a second attempt (Attempts property, trace)
#   st_access_denied       runuser -u vmuser -- busctl call ... BlinkUp -> AccessDenied
#   st_access_group        runuser -u vmoperator -- busctl call ... BlinkUp -> allowed
#   st_reload_broken       broken drop-in; systemctl reload; still active, old config in use
#   st_stop_mid_blink      systemctl stop while blinking; LED line dark afterwards (the last
#                          gpio_value of the LED in the trace is the dark level; the sim's
#                          value is then the pull-up set in st_gpio_sim_chip)
#   st_watchdog            kill -STOP the main PID; watchdog kills and restarts it
#   st_record_journal      attempt record in the state directory and journal entries present

# ---- main ----

echo "VMTEST: BEGIN"
step boot st_boot
step system-bus st_system_bus
step users st_users
step journal st_journal
step gpio-sim-module st_gpio_sim_module
step gpio-sim-chip st_gpio_sim_chip
if [ -n "${CHIP:-}" ]; then
        step led-trace st_led_trace
        step button-edge st_button_edge
        step decode-replay st_decode_replay
fi
step daemon-install st_daemon_install
if [ -n "${CHIP:-}" ] && [ -x "$SBINDIR/blinkupd" ]; then
        step daemon-start st_daemon_start
        step blinkup-root st_blinkup_root
        # DAEMON-STEP: register the other daemon steps here, in order.
fi
# Ad-hoc steps: BLINKUPD_VM_EXTRA=FILE on the host (tests/vm/run) puts FILE here as extra.sh;
# it can define st_* functions and call step, like this file.
if [ -f "$VMTEST_DIR/extra.sh" ]; then
        # shellcheck source=/dev/null
        . "$VMTEST_DIR/extra.sh"
fi

# Artifacts for the host (tests/vm/run stores them next to its log).
for f in "$WORK"/*.trace "$WORK"/*.vcd; do
        [ -f "$f" ] && emit_file "${f##*/}" "$f"
done
journalctl -b --no-pager -o short-monotonic >"$WORK/journal.txt" 2>&1 || true
emit_file journal.txt "$WORK/journal.txt"

[ ${#FAILED[@]} -eq 0 ] || echo "failed steps: ${FAILED[*]}"
echo "VMTEST: DONE pass=$n_pass fail=$n_fail skip=$n_skip"
