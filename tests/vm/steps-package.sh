# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# steps-package.sh: the package steps of the system test, sourced by scenario.sh (whose helpers
# they use). The project is installed the way a factory installs it: apt-get install of the
# .deb files that tests/vm/run put in $VMTEST_DIR/debs/ (new/: the packages under test;
# previous/: the same relabelled one version lower), their dependencies resolved by apt.
#
#   package-install   the previous build on a board with no configuration: the users, groups
#                     and directories are there, the GPIO chip is the group gpio's at once, the
#                     service is neither enabled nor started and apt said why; started anyway,
#                     it fails once (exit status 78) and is not restarted
#   package-upgrade   (after the fixture is configured and has records) the new build installed
#                     while an attempt blinks: the attempt ends as it would have, then the new
#                     daemon runs; configuration, secrets and record kept
#   autopkgtest-smoke debian/tests/smoke, as autopkgtest runs it, on the installed packages
#   package-remove    apt-get remove while an attempt blinks: stopped, the LED dark and
#                     released, the attempt recorded as cancelled, the configuration kept
#   package-purge     apt-get purge: /etc/blinkupd gone, the attempt record kept (the documented
#                     decision, debian/blinkupd.README.Debian), and nothing else of the package
#                     left on the file system (compared with a listing made before the install,
#                     as piuparts does)
#   package-preseeded the configuration written before the install (a drop-in): the install
#                     enables and starts the service; purged again

DEBS_DIR=$VMTEST_DIR/debs

apt_install() { # apt_install DIR: apt-get install of the two packages in DIR (new, previous)
        (cd "$DEBS_DIR/$1" && run apt-get install -y -q ./blinkupd_*.deb ./blinkupctl_*.deb)
}

# fs_listing OUT: the paths under /etc, /usr and /var/lib, without the package manager's,
# systemd's and the test's own bookkeeping
fs_listing() {
        find /etc /usr /var/lib -xdev \
                \( -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/lib/systemd -o -path /var/lib/dbus \
                -o -path /etc/ld.so.cache -o -path /usr/lib/python3 \) -prune -o -print | sort >"$1"
}

st_package_install() {
        local out
        fs_listing "$WORK/fs-before.list"
        [ -z "${CHIP_DEV:-}" ] || echo "$CHIP_DEV before: $(stat -c '%U:%G %a' "$CHIP_DEV")"
        out=$(apt_install previous 2>&1) || { echo "$out"; fail "apt-get install of the previous build failed"; }
        echo "$out" | sed -n '/^Setting up blinkup/,$p'
        expect_eq "$(dpkg-query -W -f='${Version}' blinkupd)" "$DEB_VERSION~previous" "the installed version"
        grep -q 'installed, but not enabled or started: the configuration is not complete' <<<"$out" ||
                fail "apt's output does not say why blinkupd was not started"
        grep -q 'URL: not set' <<<"$out" || fail "apt's output does not name what is missing"
        expect_eq "$(systemctl is-enabled blinkupd 2>&1 || true)" disabled "systemctl is-enabled (no configuration)"
        expect_eq "$(systemctl is-active blinkupd 2>&1 || true)" inactive "systemctl is-active (no configuration)"
        # what the maintainer scripts made, through debhelper (sysusers, tmpfiles, udev)
        run getent passwd blinkupd || fail "no user blinkupd"
        run getent group blinkup || fail "no group blinkup"
        run getent group gpio || fail "no group gpio"
        expect_eq "$(stat -c '%U:%G %a' /etc/blinkupd)" "root:blinkupd 750" "/etc/blinkupd"
        expect_eq "$(stat -c '%U:%G %a' "$STATEDIR")" "blinkupd:blinkup 750" "$STATEDIR"
        [ -z "${CHIP_DEV:-}" ] ||
                expect_eq "$(stat -c '%G %a' "$CHIP_DEV")" "gpio 660" "$CHIP_DEV after the install (the udev rule applied at once)"
        # started by hand with the shipped configuration: fails once, with the reasons, no restarts
        if timeout 60 systemctl start blinkupd 2>/dev/null; then
                fail "blinkupd started with the shipped, incomplete configuration"
        fi
        sleep 7 # RestartSec=2s: three restarts would have happened by now
        run systemctl show -p Result -p ExecMainStatus -p NRestarts -p ActiveState blinkupd
        expect_eq "$(systemctl show -p ExecMainStatus --value blinkupd)" 78 "exit status of the unconfigured daemon"
        expect_eq "$(systemctl show -p NRestarts --value blinkupd)" 0 "NRestarts of the unconfigured daemon"
        expect_eq "$(systemctl is-active blinkupd 2>&1 || true)" failed "systemctl is-active (unconfigured, started)"
        journalctl -u blinkupd -o cat | grep -E 'not set|invalid' | sed 's/^/journal: /'
        journalctl -u blinkupd -o cat | grep -q 'URL: not set' || fail "the journal does not say what is missing"
        run systemctl reset-failed blinkupd
        run usermod -a -G blinkup vmoperator
}

# upgrade_mid_blink: starts an attempt, and once the LED is lit, the new build's apt-get
# install in the background (APT_PID, output in $WORK/apt-upgrade.log)
upgrade_mid_blink() {
        local id
        id=$(bus_call BlinkUp | sed -n 's/^t \([0-9]*\)$/\1/p')
        [ -n "$id" ] || fail "BlinkUp returned no attempt id"
        echo "attempt $id"
        state UPGRADE_ID "$id"
        UPGRADE_ID=$id
        led_lit_wait
        echo "+ apt-get install ./blinkupd_${DEB_VERSION}_amd64.deb ./blinkupctl_${DEB_VERSION}_amd64.deb (the LED is blinking)"
        apt_install new >"$WORK/apt-upgrade.log" 2>&1 &
        APT_PID=$!
}

st_package_upgrade() {
        local pid pid2 rc=0 events sums
        expect_eq "$(systemctl is-active blinkupd)" active "systemctl is-active before the upgrade"
        pid=$(systemctl show -p MainPID --value blinkupd)
        sums=$(cd /etc/blinkupd && find . -type f | sort | xargs sha256sum)
        cp "$(record_file)" "$WORK/record-before-upgrade"
        [ -s "$WORK/record-before-upgrade" ] || fail "no attempt record before the upgrade"
        blink_capture package-upgrade upgrade_mid_blink
        wait "$APT_PID" || rc=$?
        sed 's/^/apt: /' "$WORK/apt-upgrade.log" | grep -vE '^apt: (Get|Reading|Building|Selecting|Preparing|Unpacking)' || true
        [ "$rc" -eq 0 ] || fail "apt-get install of the new build failed (exit status $rc)"
        grep -q 'stopping the running daemon between attempts' "$WORK/apt-upgrade.log" ||
                fail "the postinst did not stop the daemon between attempts"
        expect_eq "$(dpkg-query -W -f='${Version}' blinkupd)" "$DEB_VERSION" "the version after the upgrade"
        # the attempt under way ended as it would have: not cancelled by the upgrade
        events=$(grep -E "[[:space:]]attempt=${UPGRADE_ID}[[:space:]]" "$(record_file)" | sed -n 's/.*[[:space:]]event=\([a-z]*\).*/\1/p' | tr '\n' ' ')
        echo "attempt $UPGRADE_ID in the record: $events"
        case " $events" in *" cancelled "*) fail "the upgrade cancelled attempt $UPGRADE_ID mid-blink" ;; esac
        case " $events" in *" blinked "*) ;; *) fail "attempt $UPGRADE_ID did not finish its blink: $events" ;; esac
        expect_eq "$BLINK_FINISHED_ID" "$UPGRADE_ID" "the attempt of the Finished signal"
        if [ -n "$BLINK_EXACT" ]; then
                echo "attempt $UPGRADE_ID: the frame of token $BLINK_TOKEN, bit-exact, across the upgrade"
        else
                echo "attempt $UPGRADE_ID: no bit-exact frame (emulator timing; the record says it was not cut)"
        fi
        journalctl -u blinkupd -o cat | grep -E "SIGQUIT|Received|stopping" | tail -n 5 | sed 's/^/journal: /'
        # the new daemon runs, with the same configuration, secrets and record
        WAIT_INTERVAL=1 wait_for 60 sh -c "systemctl is-active blinkupd | grep -qx active" ||
                fail "blinkupd is $(systemctl is-active blinkupd || true) after the upgrade"
        pid2=$(systemctl show -p MainPID --value blinkupd)
        [ "$pid2" != "$pid" ] && [ "$pid2" != 0 ] || fail "MainPID: expected a new daemon (old $pid), got $pid2"
        kill -0 "$pid" 2>/dev/null && fail "the old daemon $pid is still running"
        expect_eq "$(cd /etc/blinkupd && find . -type f | sort | xargs sha256sum)" "$sums" "the configuration and secrets"
        cmp -n "$(stat -c %s "$WORK/record-before-upgrade")" "$WORK/record-before-upgrade" "$(record_file)" ||
                fail "the record before the upgrade is not the beginning of the record after it"
        wait_state idle 60
        wait_for 30 sh -c "busctl --system get-property ${BUS_DEST[*]} FactoryStatus | grep -qx 's \"verified\"'" ||
                fail "FactoryStatus after the upgrade is $(bus_prop FactoryStatus)"
        echo "upgraded from $DEB_VERSION~previous to $DEB_VERSION: daemon $pid -> $pid2"
}

# debian/tests/smoke as autopkgtest runs it: from the source tree (in $VMTEST_DIR/src), on the
# installed packages, with the test's Depends installed
st_autopkgtest_smoke() {
        local d=$VMTEST_DIR/src p rc=0
        [ -x "$d/debian/tests/smoke" ] || skip "debian/tests is not in the VM"
        for p in $(sed -n 's/^Depends: //p' "$d/debian/tests/control" | tr -d ','); do
                dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
                        fail "$p, a Depends of debian/tests/control, is not installed"
        done
        (cd "$d" && AUTOPKGTEST_TMP=$(mktemp -d) timeout 170 debian/tests/smoke) >"$WORK/smoke.log" 2>&1 || rc=$?
        sed 's/^/smoke: /' "$WORK/smoke.log"
        [ "$rc" -eq 0 ] && return 0
        grep -q 'TimingFault' "$WORK/smoke.log" && timing_fault "debian/tests/smoke: a late edge in every frame"
        fail "debian/tests/smoke failed (exit status $rc)"
}

st_package_remove() {
        local id dark
        dark=$(led_dark_level)
        expect_eq "$(systemctl is-active blinkupd)" active "systemctl is-active before the remove"
        # 16 frames per attempt (minutes at 60 bits/s): the blink outlasts apt-get, however slow
        # a busy host makes it, so the remove always stops the daemon in the middle of it
        install -m 0640 -g blinkupd /dev/null "$SYSCONFDIR/blinkupd/blinkupd.conf.d/70-long-blink.conf"
        printf '[LED]\nRepeat=16\n' >"$SYSCONFDIR/blinkupd/blinkupd.conf.d/70-long-blink.conf"
        run systemctl reload blinkupd
        wait_state idle 60
        trace_start
        id=$(bus_call BlinkUp | sed -n 's/^t \([0-9]*\)$/\1/p')
        [ -n "$id" ] || fail "BlinkUp returned no attempt id"
        echo "attempt $id"
        led_lit_wait
        run apt-get remove -y -q blinkupd || fail "apt-get remove blinkupd failed"
        trace_stop "$WORK/remove.trace"
        expect_eq "$(systemctl is-active blinkupd 2>&1 || true)" inactive "systemctl is-active after the remove"
        expect_eq "$(dpkg-query -W -f='${db:Status-Abbrev}' blinkupd | tr -d ' ')" rc "dpkg status of blinkupd"
        [ ! -e "$SBINDIR/blinkupd" ] || fail "$SBINDIR/blinkupd is still there"
        # the LED: dark when the daemon let go of it, and released
        led_vcd "$WORK/remove.trace" "$WORK/remove.vcd"
        expect_eq "$(vcd_last_level "$WORK/remove.vcd")" "$dark" "last LED level written before the daemon exited"
        led_is_output && fail "the LED line is still held after the remove"
        expect_eq "$(sim_value led)" "$dark" "LED line after the remove"
        expect_eq "$(record_last_event "$id")" cancelled "the record's last event of attempt $id"
        # the configuration and the secrets stay until a purge
        run ls -l /etc/blinkupd
        for f in blinkupd.conf login-key wifi-password; do
                [ -s "/etc/blinkupd/$f" ] || fail "/etc/blinkupd/$f did not survive the remove"
        done
        run blinkupctl history -n 3 --state-dir="$STATEDIR"
}

st_package_purge() {
        local out extra missing
        out=$(apt-get purge -y -q blinkupd blinkupctl 2>&1) || { echo "$out"; fail "apt-get purge failed"; }
        echo "$out" | grep -E 'blinkupd|Purging' | sed 's/^/apt: /'
        grep -q 'kept the attempt record in /var/lib/blinkupd' <<<"$out" || fail "the purge did not say that it kept the record"
        [ ! -e /etc/blinkupd ] || fail "/etc/blinkupd is still there: $(ls -A /etc/blinkupd | tr '\n' ' ')"
        [ -s "$STATEDIR/attempts.log" ] || fail "the attempt record was not kept"
        case $(dpkg-query -W -f='${db:Status-Abbrev}' blinkupd 2>/dev/null | tr -d ' ') in
        "" | un | pn) ;;
        *) fail "dpkg still has blinkupd: $(dpkg-query -W -f='${db:Status-Abbrev}' blinkupd)" ;;
        esac
        systemctl cat blinkupd.service >/dev/null 2>&1 && fail "systemd still knows blinkupd.service"
        getent passwd blinkupd >/dev/null || fail "the user blinkupd was removed (Debian keeps system users)"
        # piuparts' check: nothing of the package left but what is documented
        fs_listing "$WORK/fs-after.list"
        extra=$(comm -13 "$WORK/fs-before.list" "$WORK/fs-after.list" | grep -vE '^/var/lib/blinkupd(/|$)|^/etc/(passwd|group|shadow|gshadow|subuid|subgid)-$' || true)
        missing=$(comm -23 "$WORK/fs-before.list" "$WORK/fs-after.list" || true)
        comm -13 "$WORK/fs-before.list" "$WORK/fs-after.list" | sed 's/^/left after the purge: /'
        [ -z "$extra" ] || fail "left on the file system after the purge: $(tr '\n' ' ' <<<"$extra")"
        [ -z "$missing" ] || fail "gone after the install and the purge: $(tr '\n' ' ' <<<"$missing")"
}

# A board prepared before the package (an SD card image with the line's configuration as a
# drop-in): the install enables and starts the service at once. Purged again at the end.
st_package_preseeded() {
        local out
        write_config
        # the line's settings as a drop-in: blinkupd.conf itself is the package's conffile
        mv /etc/blinkupd/blinkupd.conf /etc/blinkupd/blinkupd.conf.d/10-line.conf
        run ls -l /etc/blinkupd /etc/blinkupd/blinkupd.conf.d
        out=$(apt_install new 2>&1) || { echo "$out"; fail "apt-get install on the preseeded board failed"; }
        echo "$out" | sed -n '/^Setting up blinkup/,$p'
        grep -q 'not enabled or started' <<<"$out" && fail "the complete configuration was taken as incomplete"
        expect_eq "$(systemctl is-enabled blinkupd)" enabled "systemctl is-enabled (preseeded)"
        expect_eq "$(systemctl is-active blinkupd)" active "systemctl is-active (preseeded)"
        wait_state idle 60
        wait_for 30 sh -c "busctl --system get-property ${BUS_DEST[*]} FactoryStatus | grep -qx 's \"verified\"'" ||
                fail "FactoryStatus is $(bus_prop FactoryStatus)"
        run apt-get purge -y -q blinkupd blinkupctl >/dev/null || fail "apt-get purge failed"
        expect_eq "$(systemctl is-active blinkupd 2>&1 || true)" inactive "systemctl is-active after the purge"
        [ ! -e /etc/blinkupd ] || fail "/etc/blinkupd is still there after the purge"
}

