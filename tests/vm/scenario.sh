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
#   VMTEST: RETRY <step>: <reason>      (a try that failed only by an emulator timing fault)
#   VMTEST: FILE-BEGIN <name> / base64 of gzip / VMTEST: FILE-END <name>   (artifacts)
#   VMTEST: DONE pass=<n> fail=<n> skip=<n> retries=<n>
#
# Everything else (each step's commands and their output, indented) is for humans.
#
# Environment (from $VMTEST_DIR/env, written by tests/vm/run):
#   VMTEST_DIR   where this script and the other test files are (/opt/blinkupd-vmtest)
#   SBINDIR BINDIR SYSCONFDIR STATEDIR   the packages' install locations
#   DEB_VERSION  the version of the packages under test (debs/new; debs/previous: VERSION~previous)
#   STEP_TIMEOUT seconds one try of a step may take (default 180)
#   STEP_RETRIES tries after the first of a step that failed only by a timing fault (default 4)
#   VM_RELEASE VM_BOARD  the VM's Debian release and the board it simulates (pi4, pi5)
set -euo pipefail

VMTEST_DIR=${VMTEST_DIR:-/opt/blinkupd-vmtest}
# shellcheck source=/dev/null
[ -f "$VMTEST_DIR/env" ] && . "$VMTEST_DIR/env"
: "${SBINDIR:=/usr/sbin}" "${BINDIR:=/usr/bin}" "${SYSCONFDIR:=/etc}" "${STATEDIR:=/var/lib/blinkupd}"
: "${STEP_TIMEOUT:=180}" "${STEP_RETRIES:=4}"
export PATH="$SBINDIR:$BINDIR:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export SYSTEMD_PAGER='' SYSTEMD_COLORS=0 LC_ALL=C.UTF-8

WORK=/run/vmtest           # scratch; also the state passed between steps
STATE=$WORK/state           # KEY=VALUE lines that a step adds for the later steps
mkdir -p "$WORK"
: >"$STATE"

SIM=/sys/kernel/config/gpio-sim
TRACE=/sys/kernel/tracing
# The simulated board, laid out like a Raspberry Pi's GPIO chips (VM_BOARD, from tests/vm/run:
# pi4 on bookworm, pi5 on trixie). The chips that come first are decoys, so the header chip is
# not chip 0; the header chip has the Pi's label and names its lines like the Pi's header, and
# blinkupd.conf names lines only (no Chip=): the daemon must find them by name.
#   pi4  gpiochip0 raspberrypi-exp-gpio (8 lines, the firmware's expander), then the header
#        chip pinctrl-bcm2711 (58 lines)
#   pi5  two gpio-brcmstb chips of the SoC (32 and 6 lines), then pinctrl-rp1 (54 lines), the
#        header chip on the RP1
# DECOYS: "device-name label lines name0,name1,..." (names for the first lines only)
case ${VM_BOARD:-pi4} in
pi5)
        HEADER_LABEL=pinctrl-rp1 HEADER_LINES=54
        DECOYS=("brcmstb0 gpio-brcmstb@107d508500 32 RP1_SDA,RP1_SCL,RP1_RUN,SD_IOVDD_SEL,SD_PWR_ON,SD_CDET_N,SD_FLG_N,-,2712_WAKE,2712_STAT_LED"
                "brcmstb1 gpio-brcmstb@107d517c00 6 RP1_SDA_AON,RP1_SCL_AON,PWR_GPIO,BT_RTS") ;;
*)
        HEADER_LABEL=pinctrl-bcm2711 HEADER_LINES=58
        DECOYS=("pi4exp raspberrypi-exp-gpio 8 BT_ON,WL_ON,PWR_LED_OFF,GLOBAL_RESET,VDD_SD_IO_SEL,CAM_GPIO,SD_PWR_ON,SD_OC_N") ;;
esac
CHIP_NAME=header            # gpio-sim device of the header chip
# Line names of the header chip, by offset: GPIO0..GPIO27, the rest unnamed like most of a
# Pi's lines past the header.
LINE_NAMES=()
for ((i = 0; i < 28; i++)); do LINE_NAMES+=("GPIO$i"); done
# The fixture's wiring: LED on GPIO17, button on GPIO27, indicators on GPIO22..GPIO25.
declare -A WIRING=([led]=GPIO17 [button]=GPIO27 [ready]=GPIO22 [busy]=GPIO23 [pass]=GPIO24 [fail]=GPIO25)

n_pass=0 n_fail=0 n_skip=0 n_retry=0
FAILED=()

# ---- the step machinery ----

# step NAME CMD [ARGS...]: runs CMD (usually a function below) in a subshell with set -e,
# bounded by STEP_TIMEOUT, prints its output indented and one protocol line. A step records
# values for later steps with `state KEY VALUE`; they are read back after every step.
#
# QEMU's TCG is not real time: a virtual CPU stalled by a busy host makes an LED edge late, and
# the daemon rightly records a timing fault (TimingFault) when every frame of an attempt had
# one. That proves nothing about the product on a real kernel (timing is measured on the host,
# by bench/), so a step whose only failure is such a fault ends with timing_fault (status 75)
# and is tried again, up to STEP_RETRIES times; each retry is reported (VMTEST: RETRY) and
# counted. Any other failure fails the step at once.
step() {
        local name=$1 log=$WORK/step.log t0 t1 rc pid wd reason try=0
        shift
        echo "---- $name"
        t0=$(date +%s.%N)
        while :; do
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
                sed 's/^/    /' "$log"
                # shellcheck source=/dev/null
                . "$STATE"
                [ "$rc" -eq 75 ] && [ "$try" -lt "$STEP_RETRIES" ] || break
                try=$((try + 1))
                n_retry=$((n_retry + 1))
                reason=$(grep -v '^+' "$log" | tail -n 1)
                echo "VMTEST: RETRY $name: ${reason:-timing fault}"
                echo "---- $name (retry $try of $STEP_RETRIES)"
        done
        t1=$(date +%s.%N)
        local took
        took="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')s"
        [ "$try" -eq 0 ] || [ "$try" -gt 1 ] || took="$took, 1 retry after a timing fault"
        [ "$try" -le 1 ] || took="$took, $try retries after timing faults"
        if [ "$rc" -eq 0 ]; then
                n_pass=$((n_pass + 1))
                echo "VMTEST: PASS $name ($took)"
        elif [ "$rc" -eq 77 ]; then
                n_skip=$((n_skip + 1))
                reason=$(grep -v '^+' "$log" | tail -n 1)
                echo "VMTEST: SKIP $name: ${reason:-skipped}"
        else
                n_fail=$((n_fail + 1))
                FAILED+=("$name")
                reason=$(grep -v '^+' "$log" | tail -n 1)
                [ "$rc" -ne 75 ] || reason="$reason (still after $STEP_RETRIES retries)"
                echo "VMTEST: FAIL $name: ${reason:-exit status $rc}"
        fi
}

# Inside steps:
fail() { echo "FAILED: $*" >&2; exit 1; }
skip() { echo "$*" >&2; exit 77; }
timing_fault() { echo "TIMING FAULT (emulator): $*" >&2; exit 75; } # see step()
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

line_offset() { # line_offset ROLE|NAME: the offset on the header chip (led, button, GPIO17)
        local i name=${WIRING[$1]:-$1}
        for i in "${!LINE_NAMES[@]}"; do
                [ "${LINE_NAMES[$i]}" = "$name" ] && { echo "$i"; return 0; }
        done
        return 1
}
sim_attr() { # sim_attr ROLE ATTR: the sysfs attribute file of a simulated line
        echo "$SIM_SYSFS/sim_gpio$(line_offset "$1")/$2"
}

# The libgpiod command-line tools: v1 (bookworm, libgpiod 1.6) and v2 (trixie, libgpiod 2)
# differ in syntax and output. These give both the same interface; CHIP is a device name
# (gpiochip1): the v2 tools take no chip label.
GPIOD_TOOLS=$(gpiodetect --version 2>/dev/null | sed -n '1s/.* v\([0-9]*\)\..*/\1/p')
gpio_info() { # gpio_info CHIP: every line of the chip
        if [ "$GPIOD_TOOLS" = 1 ]; then gpioinfo "$1"; else gpioinfo -c "$1"; fi
}
gpio_find() { # gpio_find NAME: "CHIP OFFSET" of the line with that name, on any chip
        if [ "$GPIOD_TOOLS" = 1 ]; then
                gpiofind "$1"
        else
                # gpiochip1 17    "GPIO17"        input
                gpioinfo --strict "$1" | awk 'NR == 1 { print $1, $2 }'
        fi
}
gpio_line_info() { # gpio_line_info CHIP OFFSET: the line's row of gpio_info
        gpio_info "$1" | grep -E "^[[:space:]]+line +$2:"
}
gpio_line_used() { # gpio_line_used CHIP OFFSET: is the line requested by someone?
        # v1: [used]; v2: consumer="..."
        gpio_line_info "$1" "$2" | grep -qE '\[used|consumer='
}
gpio_line_output_used() { # gpio_line_output_used CHIP OFFSET: requested, as an output?
        gpio_line_info "$1" "$2" | grep -E '\[used|consumer=' | grep -qE '[[:space:]]output([[:space:]]|$)'
}
gpio_set_for() { # gpio_set_for MS CHIP OFFSET VALUE: requests, sets, holds MS ms, releases
        if [ "$GPIOD_TOOLS" = 1 ]; then
                gpioset --mode=time --usec="$(($1 * 1000))" "$2" "$3=$4"
        else
                gpioset -c "$2" -p "${1}ms" -t 0 "$3=$4"
        fi
}
gpio_set_held() { # gpio_set_held CHIP OFFSET VALUE: sets and holds until SIGTERM
        if [ "$GPIOD_TOOLS" = 1 ]; then
                exec gpioset --mode=signal "$1" "$2=$3"
        else
                exec gpioset -c "$1" "$2=$3"
        fi
}
gpio_mon_rising() { # gpio_mon_rising SECONDS CHIP OFFSET: waits for one rising edge, prints it
        if [ "$GPIOD_TOOLS" = 1 ]; then
                exec timeout "$1" gpiomon --num-events=1 --rising-edge "$2" "$3"
        else
                exec timeout "$1" gpiomon -n 1 -e rising -c "$2" "$3"
        fi
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
        gpio_line_output_used "$CHIP" "$(line_offset led)"
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

sim_chip() { # sim_chip DEVICE LABEL LINES [NAME...]: a gpio-sim device with one bank, live
        local dev=$1 d=$SIM/$1 label=$2 n=$3 i=0 name
        shift 3
        mkdir "$d" "$d/bank0"
        echo "$n" >"$d/bank0/num_lines"
        echo "$label" >"$d/bank0/label"
        for name in "$@"; do
                if [ "$name" != - ]; then
                        mkdir "$d/bank0/line$i"
                        echo "$name" >"$d/bank0/line$i/name"
                fi
                i=$((i + 1))
        done
        echo 1 >"$d/live"
        [ -c "/dev/$(cat "$d/bank0/chip_name")" ] || wait_for 10 test -c "/dev/$(cat "$d/bank0/chip_name")" ||
                fail "/dev/$(cat "$d/bank0/chip_name") did not appear"
        echo "gpio-sim device $dev: $(cat "$d/dev_name") /dev/$(cat "$d/bank0/chip_name"), label $label, $n lines"
}

st_gpio_sim_chip() {
        local d=$SIM/$CHIP_NAME i dev chip base decoy
        echo "board ${VM_BOARD:-pi4}: header chip $HEADER_LABEL"
        # the decoys first: they take the lower chip numbers
        for decoy in "${DECOYS[@]}"; do
                # shellcheck disable=SC2086 # "device label lines names": split on purpose
                set -- $decoy
                IFS=, read -r -a names <<<"$4"
                sim_chip "$1" "$2" "$3" "${names[@]}"
        done
        sim_chip "$CHIP_NAME" "$HEADER_LABEL" "$HEADER_LINES" "${LINE_NAMES[@]}"
        dev=$(cat "$d/dev_name")
        chip=$(cat "$d/bank0/chip_name")
        [ "$chip" != gpiochip0 ] || fail "the header chip is gpiochip0: the decoys did not come first"
        # The global GPIO numbers (in the trace events) start at the chip's base.
        base=""
        for i in /sys/class/gpio/gpiochip*; do
                if [ "$(cat "$i/label")" = "$HEADER_LABEL" ]; then base=$(cat "$i/base"); fi
        done
        [ -n "$base" ] || fail "no /sys/class/gpio/gpiochip* with label $HEADER_LABEL"
        echo "header chip: device $dev, /dev/$chip, label $HEADER_LABEL, base $base"
        echo "libgpiod tools: v$GPIOD_TOOLS"
        run gpiodetect
        gpiodetect | grep -q "^$chip \[$HEADER_LABEL\] ($HEADER_LINES lines)" ||
                fail "gpiodetect does not list $chip [$HEADER_LABEL] ($HEADER_LINES lines)"
        run gpio_info "$chip" | head -n 30
        local role
        for role in "${!WIRING[@]}"; do
                expect_eq "$(gpio_find "${WIRING[$role]}")" "$chip $(line_offset "$role")" \
                        "the chip and offset of ${WIRING[$role]} ($role) by name"
        done
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
        # gpioset requests the line, sets it and holds it for 50 ms (gpio_set_for). Every write
        # shows up as a gpio_value event with its kernel timestamp (CLOCK_MONOTONIC).
        local pattern=(1 0 1 1 0 1 0) v gpio
        gpio=$((CHIP_BASE + $(line_offset led)))
        trace_start
        for v in "${pattern[@]}"; do
                gpio_set_for 50 "$CHIP" "$(line_offset led)" "$v"
        done
        # Held by a running gpioset: the simulator reads the driven level back.
        gpio_set_held "$CHIP" "$(line_offset led)" 1 &
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
        gpio_mon_rising 30 "$CHIP" "$off" >"$WORK/gpiomon.out" 2>&1 &
        pid=$!
        wait_for 15 gpio_line_used "$CHIP" "$off" || fail "gpiomon did not request the button line"
        run gpio_line_info "$CHIP" "$off"
        press
        wait "$pid" || fail "gpiomon saw no event: $(cat "$WORK/gpiomon.out")"
        out=$(cat "$WORK/gpiomon.out")
        echo "$out"
        # v1: "event:  RISING EDGE offset: 27 ..."; v2: "<time>\trising\t<chip> 27"
        case $out in *RISING* | *rising*) ;; *) fail "no rising edge: $out" ;; esac
        release
        expect_eq "$(cat "$(sim_attr button value)")" 0 "button value after release"
}

st_decode_replay() {
        # The capture path the daemon steps rely on, end to end without the daemon: a real
        # BlinkUp frame from blinkupctl encode, played on the LED line through the GPIO
        # character device, captured by the kernel's trace, turned into a VCD and decoded.
        # The player is a Python loop, not a real-time thread: under TCG it can be late by
        # milliseconds, so it plays the short clear frame at half speed, and a frame that does
        # not decode after the player was late (gpio-replay's status 3) is a timing fault.
        [ -x "$BINDIR/blinkupctl" ] || skip "blinkupctl not installed"
        [ -x "$VMTEST_DIR/blinkup-decode" ] || skip "blinkup-decode not built"
        local want got rc=0
        run blinkupctl encode --clear --format=vcd >"$WORK/frame.vcd"
        want=$(blinkupctl encode --clear)
        trace_start
        run python3 "$VMTEST_DIR/gpio-replay" --scale=2 "$CHIP_DEV" "$(line_offset led)" \
                "$WORK/frame.vcd" | tee "$WORK/replay.out" || rc=$?
        [ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || fail "gpio-replay failed (status $rc)"
        trace_stop "$WORK/replay.trace"
        led_vcd "$WORK/replay.trace" "$WORK/replay.vcd"
        run "$VMTEST_DIR/blinkup-decode" "$WORK/replay.vcd" | tee "$WORK/replay.decoded" || true
        got=$(sed -n 's/^frame 1: \([0-9a-f]*\)$/\1/p' "$WORK/replay.decoded")
        [ "$got" = "$want" ] && return 0
        echo "decoded '${got:-nothing}', want '$want'"
        [ "$rc" -ne 3 ] || timing_fault "the player was late: $(sed -n 's/^gpio-replay: //p' "$WORK/replay.out")"
        expect_eq "$got" "$want" "decoded frame"
}

# ---- steps: blinkupd ----
#
# Conventions for these steps:
#  - the daemon is installed from its Debian package by apt (package-install, then
#    package-upgrade: steps-package.sh); its files are where the package puts them:
#    "$SBINDIR/blinkupd", "$SYSCONFDIR/blinkupd/blinkupd.conf", the unit blinkupd.service;
#  - write_config below configures it for the simulated chip by line names;
#  - capture the LED with trace_start / trace_stop / led_vcd and decode with
#    "$VMTEST_DIR/blinkup-decode"; want_frame gives the frame the server's token requires;
#  - press / release the button through the simulator's pull;
#  - run as another user with runuser -u vmuser (outside group blinkup) or
#    runuser -u vmoperator (put into group blinkup by st_package_install).
# Timing under TCG: most edges from the daemon's real-time thread are within 0.3 ms, but a
# virtual CPU stalled by the host makes some late by milliseconds, far beyond the
# 10%-of-a-bit default of MaxLatenessUs (704 us at 142 bits/s), and a timing fault ends the
# frame early. The VM configuration therefore uses 60 bits/s, MaxLatenessUs=7000 (under half
# a bit) and TimingFaultRetries=3 (write_config); the decoder still checks every bit and the
# CRC. An attempt that still ends in a timing fault (every frame had a late edge) makes its
# step end with timing_fault, and step() tries it again (see there).

BUS_DEST=(org.blinkupd.Fixture1 /org/blinkupd/Fixture1 org.blinkupd.Fixture1)
bus_call() { busctl --system call "${BUS_DEST[@]}" "$@"; }          # bus_call BlinkUp
bus_prop() { busctl --system get-property "${BUS_DEST[@]}" "$@"; }  # bus_prop State -> s "idle"
wait_state() { # wait_state STATE [SECONDS]: until the State property is STATE
        # (polled slowly: every process started in the VM competes with the transmitter)
        WAIT_INTERVAL=1 wait_for "${2:-60}" sh -c "busctl --system get-property ${BUS_DEST[*]} State | grep -qx 's \"$1\"'" ||
                fail "State did not become $1 (it is $(bus_prop State 2>&1))"
}

server_start() { # server_start [ARGS...]: tests/helpers/factory-server.py on 127.0.0.1 (HTTPS)
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
        # Line names only, no Chip=: the daemon finds each line on whichever chip has it.
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
	Line=${WIRING[led]}
	[Button]
	Line=${WIRING[button]}
	ActiveLow=no
	Bias=as-is
	[Indicators]
	Ready=${WIRING[ready]}
	Busy=${WIRING[busy]}
	Pass=${WIRING[pass]}
	Fail=${WIRING[fail]}
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

st_line_not_found() {
        # A line name that no chip has: refused, and the message lists the chips there are (so
        # that an operator can see where the line went). --check-config when it looks lines up,
        # else the daemon itself (started by hand, with a state directory of its own; the
        # service is not running yet).
        [ -x "$SBINDIR/blinkupd" ] || skip "blinkupd is not installed"
        local c=$WORK/nochip.conf out rc chip label
        install -d -m 0700 "$WORK/nochip-state"
        install -m 0600 /dev/null "$WORK/nochip-key"
        echo test-login-key >"$WORK/nochip-key"
        install -m 0600 /dev/null "$c"
        cat >"$c" <<-EOF
	[WiFi]
	SSID=FactoryNet
	Password=factory-pass
	[LED]
	Line=GPIO99
	[Button]
	Line=${WIRING[button]}
	[Server]
	URL=https://127.0.0.1:9/v5
	LoginKeyFile=$WORK/nochip-key
	[Daemon]
	StateDirectory=$WORK/nochip-state
	EOF
        set +e
        out=$("$SBINDIR/blinkupd" --check-config --config="$c" 2>&1)
        rc=$?
        set -e
        echo "blinkupd --check-config: exit status $rc"
        if [ "$rc" -eq 0 ]; then
                set +e
                out=$(timeout 60 "$SBINDIR/blinkupd" --config="$c" 2>&1)
                rc=$?
                set -e
                echo "blinkupd --config=$c: exit status $rc"
                [ "$rc" -ne 124 ] || fail "blinkupd kept running with Line=GPIO99, which no chip has"
        fi
        echo "$out" | sed 's/^/  | /'
        [ "$rc" -ne 0 ] || fail "Line=GPIO99 (on no chip) was accepted"
        grep -q GPIO99 <<<"$out" || fail "the message does not name GPIO99"
        # every chip, by name and label
        while read -r chip label _; do
                label=${label#[}
                label=${label%]}
                grep -qw "$chip" <<<"$out" || fail "the message does not list $chip"
                grep -qF "$label" <<<"$out" || fail "the message does not list $chip's label $label"
        done < <(gpiodetect)
}

st_daemon_start() {
        [ -x "$SBINDIR/blinkupd" ] || skip "blinkupd is not installed"
        server_start
        . "$STATE"
        write_config
        run "$SBINDIR/blinkupd" --check-config >/dev/null
        # as debian/blinkupd.README.Debian says, once the configuration is complete
        run timeout 60 systemctl enable --now blinkupd ||
                { systemctl status blinkupd --no-pager || true; fail "systemctl enable --now blinkupd failed"; }
        expect_eq "$(systemctl is-enabled blinkupd)" enabled "systemctl is-enabled blinkupd"
        # Type=notify: "active" only after READY=1
        expect_eq "$(systemctl is-active blinkupd)" active "systemctl is-active blinkupd"
        run bus_prop State
        wait_state idle 30
        wait_for 30 sh -c "busctl --system get-property ${BUS_DEST[*]} FactoryStatus | grep -qx 's \"verified\"'" ||
                fail "FactoryStatus is $(bus_prop FactoryStatus)"
        # the daemon's sd_notify STATUS= reached systemd, and it started once
        wait_for 30 sh -c "systemctl show -p StatusText --value blinkupd | grep -q '^Idle, factory status verified'" ||
                fail "StatusText: expected 'Idle, factory status verified...', got '$(systemctl show -p StatusText --value blinkupd)'"
        run systemctl show -p StatusText -p NRestarts -p MainPID -p WatchdogUSec blinkupd
        expect_eq "$(systemctl show -p NRestarts --value blinkupd)" 0 "NRestarts"
        # The lines were found by name: the configuration names no chip, and the daemon holds
        # them on the header chip (not chip 0), the outputs as outputs.
        ! grep -qE '^[[:space:]]*Chip[[:space:]]*=' "$SYSCONFDIR/blinkupd/blinkupd.conf" ||
                fail "blinkupd.conf names a chip; the test is of lines found by name"
        local role
        for role in led button ready busy pass fail; do
                run gpio_line_info "$CHIP" "$(line_offset "$role")"
                case $role in
                button) gpio_line_used "$CHIP" "$(line_offset button)" && ! gpio_line_output_used "$CHIP" "$(line_offset button)" ||
                        fail "the daemon does not hold ${WIRING[button]} ($role) as an input on $CHIP" ;;
                *) gpio_line_output_used "$CHIP" "$(line_offset "$role")" ||
                        fail "the daemon does not hold ${WIRING[$role]} ($role) as an output on $CHIP" ;;
                esac
        done
        # the factory server client, blinkupd-https: the daemon's child in the unit's cgroup,
        # user blinkupd, no capabilities, nothing locked; the daemon maps no TLS library
        local main https="" p
        main=$(systemctl show -p MainPID --value blinkupd)
        for p in /proc/[0-9]*; do
                if [ "$(cat "$p/comm" 2>/dev/null)" = blinkupd-https ] &&
                        grep -qx "PPid:[[:space:]]*$main" "$p/status" 2>/dev/null; then
                        https=${p#/proc/}
                fi
        done
        [ -n "$https" ] || fail "no blinkupd-https under blinkupd (PID $main)"
        run grep -E '^(Name|Uid|CapPrm|CapEff|VmLck|VmRSS):' "/proc/$main/status" "/proc/$https/status"
        grep -qx "$https" /sys/fs/cgroup/system.slice/blinkupd.service/cgroup.procs ||
                fail "blinkupd-https (PID $https) is not in blinkupd.service's cgroup"
        expect_eq "$(stat -c %U "/proc/$https")" blinkupd "the user of blinkupd-https"
        grep -qE '^CapEff:[[:space:]]*0+$' "/proc/$https/status" || fail "blinkupd-https has capabilities"
        grep -qE '^VmLck:[[:space:]]*0 kB$' "/proc/$https/status" || fail "blinkupd-https has locked memory"
        if grep -qE 'libcurl|libssl|libcrypto|libgnutls|libjson-c' "/proc/$main/maps"; then
                fail "blinkupd maps a TLS, HTTP or JSON library"
        fi
}

# blink_capture NAME CMD...: runs CMD (which starts an attempt) with the LED traced, waits
# until the daemon is idle again and decodes the capture; sets BLINK_GOT (the hex of every
# frame that decoded, one per line: after a timing fault the daemon sends the frame again),
# BLINK_TOKEN (the token in the first of them), BLINK_WANT (the frame that token requires) and
# BLINK_EXACT (yes when one of the frames is that one, bit-exact)
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
        # the signal's header, then its body up to the closing "};": UINT64 id; BOOLEAN success
        : >"$WORK/$name.finished"
        while IFS= read -r -t 180 line <&8; do
                case $line in *Member=Finished*) break ;; esac
        done
        while IFS= read -r -t 30 line <&8; do
                echo "$line" >>"$WORK/$name.finished"
                case $line in *"};"*) break ;; esac
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
        BLINK_FINISHED_ID=$(sed -n 's/^ *UINT64 \([0-9]*\);.*/\1/p' "$WORK/$name.finished" | head -n 1)
        BLINK_FINISHED_OK=$(sed -n 's/^ *BOOLEAN \([a-z]*\);.*/\1/p' "$WORK/$name.finished" | head -n 1)
        echo "Finished: attempt ${BLINK_FINISHED_ID:-?}, success ${BLINK_FINISHED_OK:-?}"
        BLINK_GOT=$(sed -n 's/^frame [0-9]*: \([0-9a-f]*\)$/\1/p' "$WORK/$name.decoded")
        BLINK_TOKEN=$(sed -n 's/.* token=\([0-9a-f]*\).*/\1/p' "$WORK/$name.decoded" | head -n 1)
        BLINK_WANT="" BLINK_EXACT=""
        if [ -n "$BLINK_TOKEN" ]; then
                BLINK_WANT=$(want_frame "$BLINK_TOKEN")
                if grep -qx "$BLINK_WANT" <<<"$BLINK_GOT"; then
                        BLINK_EXACT=yes
                fi
        fi
}

# attempt_timing_fault ID: did attempt ID fail by a timing fault (TimingFault in the record)?
attempt_timing_fault() {
        grep -E "[[:space:]]attempt=${1}[[:space:]]" "$(record_file)" | tail -n 1 |
                grep -qE "[[:space:]]event=failed[[:space:]].*error=org\.blinkupd\.Fixture1\.Error\.TimingFault"
}

st_blinkup_root() {
        [ -x "$SBINDIR/blinkupd" ] || skip "blinkupd is not installed"
        blink_capture blinkup-root bus_call BlinkUp
        [ -n "$BLINK_FINISHED_ID" ] || fail "no Finished signal after BlinkUp"
        if [ -n "$BLINK_EXACT" ] && [ "$BLINK_FINISHED_OK" = true ]; then
                echo "attempt $BLINK_FINISHED_ID: the frame of token $BLINK_TOKEN, bit-exact"
                state ROOT_ID "$BLINK_FINISHED_ID"
                return 0
        fi
        echo "attempt $BLINK_FINISHED_ID: success=$BLINK_FINISHED_OK, decoded '${BLINK_GOT:-nothing}'${BLINK_WANT:+, want '$BLINK_WANT'}"
        attempt_timing_fault "$BLINK_FINISHED_ID" &&
                timing_fault "attempt $BLINK_FINISHED_ID: a late edge in every frame ($(bus_prop LastTiming))"
        fail "attempt $BLINK_FINISHED_ID did not send the token's frame bit-exact"
}

# The daemon steps after blinkup-root, in order (each relies on the ones before it):
#   button-attempt   a press through the sim's pull: one more attempt, Finished(success),
#                    the token's frame decoded bit-exact (up to three presses, TCG timing)
#   indicators       ready/busy/pass/fail lines after that success, idle
#   access-denied    vmuser (not in group blinkup): methods AccessDenied, properties readable
#   access-group     vmoperator (group blinkup): Clear() allowed
#   reload-broken    broken drop-in: systemctl reload and Reload() keep the old config
#   stop-mid-blink   systemctl stop while blinking: LED dark, attempt recorded as cancelled
#   watchdog         WatchdogSec=3s (drop-in in /run, kept for the rest of the run),
#                    kill -STOP: SIGABRT from systemd, restarted, answers on the bus
#   record-journal   the attempts above in attempts.log, blinkupctl history and the journal
#   results-delivery every attempt delivered to a results endpoint (steps-results.sh)
#   barcode-scanner  a uinput keyboard as [Scanner] Device=, grabbed; a scanned serial number
#                    is PendingSerial, then the next BlinkUp's (steps-scanner.sh)
#   metrics-textfile blinkupd.prom in node_exporter's directory: refused by the sandbox
#                    (logged once, attempts go on), then written with blinkupd-metrics(7)'s
#                    setup; blinkupd_up 0 after systemctl stop (steps-metrics.sh)
# Attempt IDs pass between steps as ROOT_ID, BUTTON_ID, CLEAR_ID and CANCEL_ID.

prop_value() { # prop_value NAME: the bare value of a property (t 3 -> 3, s "idle" -> idle)
        bus_prop "$1" | sed -e 's/^[a-z]* //' -e 's/^"\(.*\)"$/\1/'
}
led_lit_wait() { # until State is blinking, then until the LED has been seen lit
        # (State polled faster than wait_state: the frame lasts a few seconds; the LED read
        # with the shell's read, no process started: under a busy host the frame may start
        # well after State=blinking)
        local v="" dark end
        dark=$(led_dark_level)
        WAIT_INTERVAL=0.3 wait_for 60 sh -c "busctl --system get-property ${BUS_DEST[*]} State | grep -qx 's \"blinking\"'" ||
                fail "State did not become blinking (it is $(bus_prop State 2>&1))"
        end=$((SECONDS + 60))
        while [ "$SECONDS" -lt "$end" ]; do
                read -r v <"$(sim_attr led value)"
                [ "$v" = "$dark" ] || return 0
                sleep 0.02
        done
        fail "the LED was never seen lit within 60 s of State=blinking"
}

# dbus_call_as USER METHOD: the method called as USER with dbus-send, which (unlike busctl)
# prints the D-Bus error name; the output with "Error <name>: <message>" on failure
dbus_call_as() {
        runuser -u "$1" -- dbus-send --system --print-reply --reply-timeout=30000 \
                --dest=org.blinkupd.Fixture1 /org/blinkupd/Fixture1 "org.blinkupd.Fixture1.$2" 2>&1 || true
}
record_file() { echo "$STATEDIR/attempts.log"; }
record_last_event() { # record_last_event ID: the event of the record's last line for attempt ID
        grep -E "[[:space:]]attempt=${1}[[:space:]]" "$(record_file)" | tail -n 1 |
                sed -n 's/.*[[:space:]]event=\([a-z-]*\).*/\1/p'
}
led_dark_level() { # the physical level of the dark LED: 1 when active-low (ActiveHigh=no)
        if [ "$(prop_value ActiveHigh)" = true ]; then echo 0; else echo 1; fi
}
vcd_last_level() { # vcd_last_level VCD: the last level of the (single) signal
        grep -E '^[01]!' "$1" | tail -n 1 | cut -c1
}
sim_value() { cat "$(sim_attr "$1" value)"; }

button_click() { press; sleep 0.3; release; }

st_button_attempt() {
        # The button on the simulated chip starts an attempt like BlinkUp() does; the press
        # must count, and the attempt must send the token's frame bit-exact.
        local before last n
        release
        before=$(prop_value Attempts)
        last=$(prop_value LastAttemptId)
        blink_capture button button_click
        n=$(prop_value Attempts)
        [ "$n" -eq $((before + 1)) ] || fail "Attempts after a press: expected $((before + 1)), got $n"
        [ -n "$BLINK_FINISHED_ID" ] || fail "no Finished signal after the press"
        [ "$BLINK_FINISHED_ID" -gt "$last" ] ||
                fail "Finished for attempt $BLINK_FINISHED_ID, expected a new one (> $last)"
        expect_eq "$(prop_value LastAttemptId)" "$BLINK_FINISHED_ID" "LastAttemptId"
        if [ "$BLINK_FINISHED_OK" = true ] && [ -n "$BLINK_EXACT" ]; then
                echo "attempt $BLINK_FINISHED_ID succeeded, the frame of token $BLINK_TOKEN, bit-exact"
                state BUTTON_ID "$BLINK_FINISHED_ID"
                return 0
        fi
        echo "attempt $BLINK_FINISHED_ID: success=$BLINK_FINISHED_OK, decoded '${BLINK_GOT:-nothing}'${BLINK_WANT:+, want '$BLINK_WANT'}"
        attempt_timing_fault "$BLINK_FINISHED_ID" &&
                timing_fault "attempt $BLINK_FINISHED_ID: a late edge in every frame ($(bus_prop LastTiming))"
        fail "the press's attempt $BLINK_FINISHED_ID did not succeed with the token's frame bit-exact"
}

st_indicators() {
        # [Indicators] in write_config: after a successful attempt and back to idle
        [ -n "${BUTTON_ID:-}" ] || skip "no successful button attempt"
        local l want
        for l in ready:1 busy:0 pass:1 fail:0; do
                want=${l#*:}
                l=${l%:*}
                echo "$l: $(sim_value "$l")"
                expect_eq "$(sim_value "$l")" "$want" "indicator line $l when idle after a successful attempt"
        done
}

st_access_denied() {
        local out
        out=$(dbus_call_as vmuser BlinkUp)
        echo "vmuser BlinkUp: $out"
        case $out in
        *"Error org.freedesktop.DBus.Error.AccessDenied"*) ;;
        *) fail "vmuser BlinkUp: expected org.freedesktop.DBus.Error.AccessDenied, got: $out" ;;
        esac
        out=$(dbus_call_as vmuser Clear)
        case $out in
        *"Error org.freedesktop.DBus.Error.AccessDenied"*) ;;
        *) fail "vmuser Clear: expected org.freedesktop.DBus.Error.AccessDenied, got: $out" ;;
        esac
        # reading is for everyone
        out=$(runuser -u vmuser -- busctl --system get-property "${BUS_DEST[@]}" State 2>&1) ||
                fail "vmuser could not read State: $out"
        echo "vmuser State: $out"
        expect_eq "$out" 's "idle"' "State read by vmuser"
        run runuser -u vmuser -- busctl --system get-property "${BUS_DEST[@]}" Attempts SSID ||
                fail "vmuser could not read Attempts and SSID"
        expect_eq "$(prop_value State)" idle "State after the denied calls"
}

st_access_group() {
        # vmoperator is in group blinkup: Clear() is allowed (no server involved)
        local out id last
        id -nG vmoperator | grep -qw blinkup || fail "vmoperator is not in group blinkup"
        last=$(prop_value LastAttemptId)
        out=$(dbus_call_as vmoperator Clear)
        echo "vmoperator Clear: $out"
        case $out in *Error*) fail "vmoperator Clear: expected success, got: $out" ;; esac
        id=$(sed -n 's/^ *uint64 \([0-9]*\).*/\1/p' <<<"$out")
        [ -n "$id" ] && [ "$id" -gt "$last" ] || fail "vmoperator Clear: expected a new attempt id (> $last), got: $out"
        wait_state idle 120
        expect_eq "$(prop_value LastAttemptId)" "$id" "LastAttemptId after Clear"
        grep -E "[[:space:]]attempt=${id}[[:space:]]" "$(record_file)" | sed 's/^/record: /'
        attempt_timing_fault "$id" && timing_fault "Clear attempt $id: a late edge in every frame ($(bus_prop LastTiming))"
        expect_eq "$(record_last_event "$id")" blinked "the record's last event of the Clear attempt $id"
        state CLEAR_ID "$id"
}

st_reload_broken() {
        local d=$SYSCONFDIR/blinkupd/blinkupd.conf.d f out since where
        f=$d/90-broken.conf
        where=90-broken.conf:4
        expect_eq "$(prop_value SSID)" FactoryNet "SSID before the reload"
        # line 4 is out of range (0..99); SSID=BrokenNet shows if the file were applied anyway
        install -m 0640 -g blinkupd /dev/null "$f"
        printf '[WiFi]\nSSID=BrokenNet\n[RealTime]\nPriority=120\n' >"$f"
        since=$(date '+%Y-%m-%d %H:%M:%S')
        sleep 1
        # ExecReload= calls Reload() on the bus: a refused configuration fails systemctl reload
        if run systemctl reload blinkupd; then
                fail "systemctl reload blinkupd succeeded with a broken drop-in"
        fi
        wait_for 30 sh -c "journalctl -u blinkupd --since '$since' -o cat | grep -q 'Reload failed'" ||
                fail "no 'Reload failed' in the journal after systemctl reload"
        journalctl -u blinkupd --since "$since" -o cat | sed 's/^/journal: /'
        journalctl -u blinkupd --since "$since" -o cat | grep -q "$where" ||
                fail "the journal does not name $where"
        expect_eq "$(systemctl is-active blinkupd)" active "systemctl is-active blinkupd after the reload"
        expect_eq "$(prop_value SSID)" FactoryNet "SSID after the failed reload (the old configuration)"
        expect_eq "$(prop_value State)" idle "State after the failed reload"
        # the same through the bus
        out=$(dbus_call_as root Reload)
        echo "Reload(): $out"
        case $out in
        *"Error org.blinkupd.Fixture1.Error.InvalidConfig"*"$where"*) ;;
        *) fail "Reload(): expected org.blinkupd.Fixture1.Error.InvalidConfig naming $where, got: $out" ;;
        esac
        expect_eq "$(prop_value SSID)" FactoryNet "SSID after the failed Reload()"
        rm -f "$f"
        out=$(dbus_call_as root Reload)
        echo "Reload() without the broken file: $out"
        case $out in *Error*) fail "Reload() of the good configuration failed: $out" ;; esac
        expect_eq "$(systemctl is-active blinkupd)" active "systemctl is-active blinkupd"
        expect_eq "$(prop_value SSID)" FactoryNet "SSID after the good Reload()"
        wait_for 30 sh -c "busctl --system get-property ${BUS_DEST[*]} FactoryStatus | grep -qx 's \"verified\"'" ||
                fail "FactoryStatus after the reload is $(bus_prop FactoryStatus)"
}

st_stop_mid_blink() {
        local id dark got pid
        dark=$(led_dark_level)
        pid=$(systemctl show -p MainPID --value blinkupd)
        trace_start
        id=$(bus_call BlinkUp | sed -n 's/^t \([0-9]*\)$/\1/p')
        [ -n "$id" ] || fail "BlinkUp returned no attempt id"
        echo "attempt $id"
        # into the frame, then a moment more
        led_lit_wait
        sleep 0.3
        run systemctl stop blinkupd || fail "systemctl stop blinkupd failed"
        trace_stop "$WORK/stop.trace"
        expect_eq "$(systemctl is-active blinkupd || true)" inactive "systemctl is-active after stop"
        # the service was stopped, not killed: SIGTERM, exit status 0
        expect_eq "$(systemctl show -p Result --value blinkupd)" success "Result of the stop"
        kill -0 "$pid" 2>/dev/null && fail "main PID $pid still alive"
        led_vcd "$WORK/stop.trace" "$WORK/stop.vcd"
        # dark, lit, ..., dark: the stop came in the middle of the blink
        [ "$(grep -c '^[01]!' "$WORK/stop.vcd")" -ge 3 ] || fail "the LED did not blink before the stop"
        got=$(vcd_last_level "$WORK/stop.vcd")
        echo "last LED level in the trace: $got (dark: $dark)"
        expect_eq "$got" "$dark" "last LED level written before the daemon exited"
        # released now: the board's pull-up keeps it dark
        led_is_output && fail "the LED line is still held after the stop"
        expect_eq "$(sim_value led)" "$dark" "LED line after the stop"
        grep -E "[[:space:]]attempt=${id}[[:space:]]" "$(record_file)" | sed 's/^/record: /'
        expect_eq "$(record_last_event "$id")" cancelled "the record's last event of attempt $id"
        state CANCEL_ID "$id"
}

st_watchdog() {
        local d=/run/systemd/system/blinkupd.service.d pid pid2 n n2 since
        # a shorter watchdog for the test (the unit has 10 s)
        mkdir -p "$d"
        printf '[Service]\nWatchdogSec=3s\nTimeoutStopSec=20s\n' >"$d/50-vmtest-watchdog.conf"
        run systemctl daemon-reload
        run timeout 60 systemctl start blinkupd || fail "systemctl start blinkupd failed"
        expect_eq "$(systemctl is-active blinkupd)" active "systemctl is-active blinkupd"
        expect_eq "$(systemctl show -p WatchdogUSec --value blinkupd)" 3s "WatchdogUSec"
        wait_state idle 30
        pid=$(systemctl show -p MainPID --value blinkupd)
        n=$(systemctl show -p NRestarts --value blinkupd)
        # healthy: fed for more than twice the watchdog period
        sleep 7
        expect_eq "$(systemctl is-active blinkupd)" active "systemctl is-active blinkupd (fed for 7 s)"
        expect_eq "$(systemctl show -p NRestarts --value blinkupd)" "$n" "NRestarts while healthy"
        expect_eq "$(systemctl show -p MainPID --value blinkupd)" "$pid" "MainPID while healthy"
        since=$(date '+%Y-%m-%d %H:%M:%S')
        echo "MainPID $pid, NRestarts $n"
        run kill -STOP "$pid"
        WAIT_INTERVAL=1 wait_for 90 sh -c "[ \$(systemctl show -p NRestarts --value blinkupd) -gt $n ]" ||
                fail "NRestarts stayed $n after kill -STOP (state $(systemctl is-active blinkupd || true))"
        WAIT_INTERVAL=1 wait_for 60 sh -c "systemctl is-active blinkupd | grep -qx active" ||
                fail "blinkupd is $(systemctl is-active blinkupd || true) after the watchdog restart"
        n2=$(systemctl show -p NRestarts --value blinkupd)
        pid2=$(systemctl show -p MainPID --value blinkupd)
        echo "MainPID $pid2, NRestarts $n2"
        [ "$n2" -gt "$n" ] || fail "NRestarts: expected more than $n, got $n2"
        [ "$pid2" != "$pid" ] && [ "$pid2" != 0 ] || fail "MainPID: expected a new one (old $pid), got $pid2"
        kill -0 "$pid" 2>/dev/null && fail "the stopped process $pid is still there"
        journalctl -u blinkupd --since "$since" -o cat | grep -iE 'watchdog|SIGABRT|restart' | sed 's/^/journal: /'
        journalctl -u blinkupd --since "$since" -o cat | grep -q 'Watchdog timeout' ||
                fail "no 'Watchdog timeout' from systemd in the journal"
        wait_state idle 60
        run bus_prop State
        expect_eq "$(busctl --system status org.blinkupd.Fixture1 2>/dev/null | sed -n 's/^PID=//p')" "$pid2" \
                "PID of the bus name's owner"
}

# MESSAGE_IDs of the attempt events (src/daemon/manager*.c)
MID_STARTED=5e1b0b7a3c5f4d7e9a4f1e2d3c4b5a69
MID_BLINKED=0c7d6e5f4a3b4c2d8e1f0a9b8c7d6e5f
MID_CONFIRMED=a1b2c3d4e5f6478899aabbccddeeff01
MID_FAILED=f0e1d2c3b4a5469788796a5b4c3d2e1f

st_record_journal() {
        local hist f spec id want got mid
        f=$(record_file)
        [ -s "$f" ] || fail "no attempt record $f"
        run ls -l "$f"
        sed 's/^/attempts.log: /' "$f"
        hist=$(blinkupctl history -n 50 --state-dir="$STATEDIR") || fail "blinkupctl history failed: $hist"
        echo "$hist"
        # operators (group blinkup) read the record too; other users do not
        run ls -ld "$STATEDIR"
        got=$(runuser -u vmoperator -- blinkupctl history -n 50 --state-dir="$STATEDIR" 2>&1) ||
                fail "blinkupctl history as an operator (group blinkup) failed: $got"
        expect_eq "$got" "$hist" "blinkupctl history as an operator"
        if got=$(runuser -u vmuser -- blinkupctl history --state-dir="$STATEDIR" 2>&1); then
                fail "blinkupctl history as vmuser (not in group blinkup) worked: $got"
        fi
        echo "vmuser: $got"
        # the attempts of the steps above and their outcomes (a factory attempt is confirmed by
        # the test server within seconds, well before this step)
        for spec in "${ROOT_ID:-}:confirmed" "${BUTTON_ID:-}:confirmed" "${CLEAR_ID:-}:cleared" \
                "${CANCEL_ID:-}:cancelled"; do
                id=${spec%%:*}
                want=${spec#*:}
                [ -n "$id" ] || fail "an earlier step did not record its attempt id (want $want)"
                got=$(awk -v id="$id" '$1 == id { print $4 }' <<<"$hist")
                expect_eq "$got" "$want" "blinkupctl history: outcome of attempt $id"
                grep -qE "[[:space:]]attempt=${id}[[:space:]].*event=started" "$f" ||
                        fail "attempts.log has no started event of attempt $id"
                # the journal: the attempt's started event with its fields
                journalctl -u blinkupd MESSAGE_ID="$MID_STARTED" BLINKUP_ATTEMPT_ID="$id" -o json |
                        grep -q . || fail "journal: no MESSAGE_ID=$MID_STARTED entry with BLINKUP_ATTEMPT_ID=$id"
                case $want in
                confirmed) mid=$MID_CONFIRMED ;;
                cleared) mid=$MID_BLINKED ;;
                cancelled) mid=$MID_FAILED ;;
                esac
                journalctl -u blinkupd MESSAGE_ID="$mid" BLINKUP_ATTEMPT_ID="$id" -o json | grep -q . ||
                        fail "journal: no MESSAGE_ID=$mid ($want) entry with BLINKUP_ATTEMPT_ID=$id"
                echo "attempt $id: $want in the record, the history and the journal"
        done
        # one entry in full: the fields the daemon sends
        journalctl -u blinkupd MESSAGE_ID="$MID_CONFIRMED" BLINKUP_ATTEMPT_ID="$BUTTON_ID" -o json -n 1 |
                python3 -c '
import json, sys
e = json.loads(sys.stdin.readline())
for k in ("MESSAGE", "MESSAGE_ID", "PRIORITY", "BLINKUP_ATTEMPT_ID", "BLINKUP_FIXTURE_ID", "BLINKUP_DEVICE_ID", "_SYSTEMD_UNIT"):
    print("journal: %s=%s" % (k, e.get(k)))
assert e.get("_SYSTEMD_UNIT") == "blinkupd.service", "not from blinkupd.service"
assert e.get("BLINKUP_DEVICE_ID"), "no BLINKUP_DEVICE_ID"
' || fail "the journal entry of the confirmed attempt $BUTTON_ID lacks its fields"
}

# ---- steps: the packages (install, upgrade, remove, purge) ----
# shellcheck source=tests/vm/steps-package.sh
. "$VMTEST_DIR/steps-package.sh"
# shellcheck source=tests/vm/steps-results.sh
. "$VMTEST_DIR/steps-results.sh"
# shellcheck source=tests/vm/steps-scanner.sh
. "$VMTEST_DIR/steps-scanner.sh"
# shellcheck source=tests/vm/steps-metrics.sh
. "$VMTEST_DIR/steps-metrics.sh"

# ---- main ----

echo "VMTEST: BEGIN"
step boot st_boot
step system-bus st_system_bus
step users st_users
step journal st_journal
step gpio-sim-module st_gpio_sim_module
step gpio-sim-chip st_gpio_sim_chip
# the packages first: the chip exists, so the install's udev rule must be applied at once
step package-install st_package_install
if [ -n "${CHIP:-}" ]; then
        step led-trace st_led_trace
        step button-edge st_button_edge
        step decode-replay st_decode_replay
fi
if [ -n "${CHIP:-}" ] && [ -x "$SBINDIR/blinkupd" ]; then
        step line-not-found st_line_not_found
        step daemon-start st_daemon_start
        step blinkup-root st_blinkup_root
        step package-upgrade st_package_upgrade
        step autopkgtest-smoke st_autopkgtest_smoke
        step button-attempt st_button_attempt
        step indicators st_indicators
        step access-denied st_access_denied
        step access-group st_access_group
        step reload-broken st_reload_broken
        step stop-mid-blink st_stop_mid_blink
        step watchdog st_watchdog
        step record-journal st_record_journal
        step results-delivery st_results_delivery
        step barcode-scanner st_barcode_scanner
        step metrics-textfile st_metrics_textfile
        step package-remove st_package_remove
        step package-purge st_package_purge
        step package-preseeded st_package_preseeded
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
echo "VMTEST: DONE pass=$n_pass fail=$n_fail skip=$n_skip retries=$n_retry"
