# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# steps-scanner.sh: the barcode scanner in the system test, sourced by scenario.sh (whose
# helpers it uses), on the installed package under the unit's sandbox (DeviceAllow=char-input
# r, group input).
#
#   barcode-scanner   a virtual keyboard made with uinput (a Python script, the standard
#                     library only) stands in for a USB scanner; a drop-in names its
#                     /dev/input/eventN as [Scanner] Device=; after systemctl reload the daemon
#                     has grabbed it (EVIOCGRAB from another descriptor fails with EBUSY); a
#                     line that is no serial number ("bad serial") is refused and leaves
#                     PendingSerial empty; "SN-SCAN-0042" and Enter make PendingSerial
#                     SN-SCAN-0042 (blinkupctl status: Next serial); BlinkUp() without options
#                     records serial=SN-SCAN-0042 on its started line and empties PendingSerial;
#                     the keyboard unplugged is logged once and the daemon keeps serving.
#                     Skipped (77) when the kernel has no uinput.

# The virtual keyboard: creates it, writes its /dev/input/eventN to INFO, then types what is
# written to FIFO (each writer's text, '\n' is Enter) until killed; the kernel removes the
# device when the process ends. x86-64: struct input_event is 24 bytes.
scanner_write_vkbd() {
        cat >"$WORK/vkbd.py" <<'EOF'
import fcntl, os, struct, sys, time

UI_SET_EVBIT, UI_SET_KEYBIT = 0x40045564, 0x40045565
UI_DEV_SETUP, UI_DEV_CREATE = 0x405C5503, 0x5501
UI_GET_SYSNAME_64 = 0x8040552C
EV_SYN, EV_KEY, SYN_REPORT, BUS_USB = 0, 1, 0, 3
KEY_LEFTSHIFT, KEY_ENTER = 42, 28
LETTERS = dict(zip("qwertyuiop", range(16, 26)), **dict(zip("asdfghjkl", range(30, 39))),
               **dict(zip("zxcvbnm", range(44, 51))))
KEYS = dict(LETTERS, **dict(zip("1234567890", range(2, 12))), **{"-": 12, " ": 57, ".": 52, "/": 53, "\n": KEY_ENTER})

def key_of(c):
    if c.isupper() and c.lower() in LETTERS:
        return LETTERS[c.lower()], True
    if c == "_":
        return 12, True
    return KEYS[c], False

fifo, info = sys.argv[1], sys.argv[2]
fd = os.open("/dev/uinput", os.O_WRONLY | os.O_NONBLOCK)
fcntl.ioctl(fd, UI_SET_EVBIT, EV_KEY)
for code in set(KEYS.values()) | {KEY_LEFTSHIFT}:
    fcntl.ioctl(fd, UI_SET_KEYBIT, code)
# struct uinput_setup: struct input_id (bustype, vendor, product, version), name[80], ff_effects_max
fcntl.ioctl(fd, UI_DEV_SETUP, struct.pack("HHHH80sI", BUS_USB, 0x1234, 0x5678, 1, b"blinkupd VM barcode scanner", 0))
fcntl.ioctl(fd, UI_DEV_CREATE)
sysname = fcntl.ioctl(fd, UI_GET_SYSNAME_64, bytes(64)).split(b"\0")[0].decode()
sysdir = "/sys/devices/virtual/input/" + sysname
for _ in range(100):
    nodes = [n for n in os.listdir(sysdir) if n.startswith("event")] if os.path.isdir(sysdir) else []
    if nodes:
        break
    time.sleep(0.1)
else:
    sys.exit("no event node under " + sysdir)
with open(info + ".tmp", "w") as f:
    f.write("/dev/input/%s\n" % nodes[0])
os.rename(info + ".tmp", info)

def emit(code, value):
    os.write(fd, struct.pack("llHHi", 0, 0, EV_KEY, code, value))
    os.write(fd, struct.pack("llHHi", 0, 0, EV_SYN, SYN_REPORT, 0))
    time.sleep(0.005)

while True:
    with open(fifo) as f:
        text = f.read()
    for c in text:
        code, shift = key_of(c)
        if shift:
            emit(KEY_LEFTSHIFT, 1)
        emit(code, 1)
        emit(code, 0)
        if shift:
            emit(KEY_LEFTSHIFT, 0)
EOF
}

# scanner_grabbed NODE: EVIOCGRAB on a descriptor of our own fails with EBUSY (0), else 1
scanner_grabbed() {
        python3 - "$1" <<'EOF'
import errno, fcntl, os, sys
EVIOCGRAB = 0x40044590
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
try:
    fcntl.ioctl(fd, EVIOCGRAB, 1)
except OSError as e:
    sys.exit(0 if e.errno == errno.EBUSY else "EVIOCGRAB: %s" % e)
fcntl.ioctl(fd, EVIOCGRAB, 0)
sys.exit("EVIOCGRAB succeeded: nobody else had grabbed the device")
EOF
}

scanner_type() { # scanner_type TEXT: the virtual keyboard types TEXT (printf's escapes)
        # shellcheck disable=SC2059 # the escapes are the point
        printf "$1" >"$WORK/vkbd.fifo"
}

scanner_journal() { # the daemon's lines about the scanner in this boot
        journalctl -b -u blinkupd --no-pager -o cat | grep 'Barcode scanner' || true
}

st_barcode_scanner() {
        local d=$SYSCONFDIR/blinkupd node pid id started gone
        [ -x "$SBINDIR/blinkupd" ] || skip "blinkupd is not installed"
        # /dev/uinput may be a static node (kmod static-nodes) with no driver behind it
        run modprobe uinput || true
        [ -e /sys/class/misc/uinput ] ||
                skip "the kernel has no uinput ($(uname -r)): no virtual keyboard to stand in for a scanner"
        run modprobe evdev || true # /dev/input/event*: built in, or a module
        wait_for 10 test -c /dev/uinput || fail "/sys/class/misc/uinput, but no /dev/uinput"

        scanner_write_vkbd
        rm -f "$WORK/vkbd.fifo" "$WORK/vkbd.node"
        mkfifo "$WORK/vkbd.fifo"
        python3 "$WORK/vkbd.py" "$WORK/vkbd.fifo" "$WORK/vkbd.node" 2>"$WORK/vkbd.err" &
        pid=$!
        # the step is a subshell, whose locals are gone when it exits: expanded now. The
        # keyboard and the drop-in go, whatever happens.
        # shellcheck disable=SC2064
        trap "kill $pid 2>/dev/null || true; rm -f '$d/blinkupd.conf.d/70-scanner.conf'" EXIT
        wait_for 30 test -s "$WORK/vkbd.node" || fail "no virtual keyboard: $(cat "$WORK/vkbd.err")"
        node=$(cat "$WORK/vkbd.node")
        run udevadm settle --timeout=30 || true
        run ls -l "$node"
        [ "$(stat -c %G "$node")" = input ] || fail "$node is not group input's"

        install -m 0640 -g blinkupd /dev/null "$d/blinkupd.conf.d/70-scanner.conf"
        printf '[Scanner]\nDevice=%s\n' "$node" >"$d/blinkupd.conf.d/70-scanner.conf"
        run systemctl reload blinkupd
        # the journal takes the daemon's lines a moment after the reload has returned
        WAIT_INTERVAL=0.5 wait_for 30 sh -c "journalctl -b -u blinkupd -o cat | grep -qF 'Barcode scanner: $node (blinkupd VM barcode scanner), grabbed.'" ||
                fail "the daemon did not open the scanner: $(scanner_journal | tail -n 1)"
        scanner_journal | tail -n 3
        scanner_grabbed "$node" || fail "$node is not grabbed by the daemon"
        echo "$node: grabbed by the daemon (EVIOCGRAB: EBUSY)"
        expect_eq "$(prop_value PendingSerial)" "" "PendingSerial before a scan"

        # a line that is no serial number: refused, nothing pending
        scanner_type 'bad serial\n'
        WAIT_INTERVAL=0.5 wait_for 30 sh -c "journalctl -b -u blinkupd -o cat | grep -qF 'Barcode scanner $node: \"bad serial\" refused'" ||
                fail "no warning about \"bad serial\": $(scanner_journal | tail -n 1)"
        expect_eq "$(prop_value PendingSerial)" "" "PendingSerial after a bad line"

        scanner_type 'SN-SCAN-0042\n'
        WAIT_INTERVAL=0.5 wait_for 30 sh -c "busctl --system get-property ${BUS_DEST[*]} PendingSerial | grep -qx 's \"SN-SCAN-0042\"'" ||
                fail "PendingSerial is $(bus_prop PendingSerial), not SN-SCAN-0042: $(scanner_journal | tail -n 1)"
        run blinkupctl status
        blinkupctl status | grep -qx ' *Next serial: SN-SCAN-0042' || fail "blinkupctl status does not show the next serial"

        # the next attempt without a serial number takes it
        release
        id=$(bus_call BlinkUp | awk '{ print $2 }')
        [ -n "$id" ] || fail "BlinkUp returned no attempt ID"
        wait_state idle 120
        started=$(grep -E "[[:space:]]attempt=${id}[[:space:]]event=started[[:space:]]" "$(record_file)" | head -n 1)
        echo "record: $started"
        grep -qE "[[:space:]]serial=SN-SCAN-0042([[:space:]]|$)" <<<"$started" ||
                fail "attempt $id: the started line has no serial=SN-SCAN-0042"
        expect_eq "$(prop_value LastSerial)" "SN-SCAN-0042" "LastSerial after the attempt"
        expect_eq "$(prop_value PendingSerial)" "" "PendingSerial after the attempt"

        # unplugged: logged once, closed, the daemon serves on
        kill "$pid"
        wait "$pid" 2>/dev/null || true
        WAIT_INTERVAL=0.5 wait_for 30 sh -c "journalctl -b -u blinkupd -o cat | grep -qF 'Barcode scanner $node is gone'" ||
                fail "no message about the scanner going away: $(scanner_journal | tail -n 1)"
        sleep 2
        gone=$(scanner_journal | grep -cF "Barcode scanner $node is gone")
        expect_eq "$gone" 1 "messages about the scanner going away"
        run systemctl is-active blinkupd
        expect_eq "$(prop_value State)" idle "State after the scanner went away"

        # without the drop-in again, for the steps after this one
        rm -f "$d/blinkupd.conf.d/70-scanner.conf"
        run systemctl reload blinkupd
}
