#!/bin/sh
# SPDX-License-Identifier: MIT
# The system-integration files: the service unit passes systemd-analyze verify
# without a word, reaches an exposure of at most 2.0 in systemd-analyze
# security, has what the daemon needs and none of the settings that would
# break it; the sysusers.d and tmpfiles.d entries create the users, groups and
# directories in a scratch root; the D-Bus XML files are well-formed, and the
# interface file is introspection data with exactly the contract's members.
# Each part needs its tool; a missing tool skips that part (exit 77 overall
# when nothing failed but something was skipped).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
unit="$top_builddir/systemd/blinkupd.service"
sysusers="$top_srcdir/sysusers.d/blinkupd.conf"
tmpfiles="$top_builddir/tmpfiles.d/blinkupd.conf"
policy="$top_srcdir/dbus/org.blinkupd.Fixture1.conf"
iface="$top_srcdir/dbus/org.blinkupd.Fixture1.xml"
max_exposure=2.0

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
fails=0 passes=0 skips=0

ok() { passes=$((passes + 1)); echo "ok: $1"; }
bad() { fails=$((fails + 1)); echo "FAIL: $1"; }
skip() { skips=$((skips + 1)); echo "skip: $1"; }
have() { command -v "$1" >/dev/null 2>&1; }

for f in "$unit" "$sysusers" "$tmpfiles" "$policy" "$iface"; do
        [ -f "$f" ] || { echo "FAIL: $f is missing (not built?)"; exit 1; }
done

# ---- the service unit ----
# no placeholder may survive the build
if grep -n '@[a-zA-Z_]*@' "$unit" "$tmpfiles"; then bad "unsubstituted @placeholders@"; else
        ok "placeholders substituted"; fi

if have systemd-analyze; then
        # verify insists that ExecStart= is an executable file: point it at the
        # built daemon (or any executable) in a copy named like the original.
        mkdir "$tmp/unit"
        exe="$top_builddir/src/blinkupd"
        [ -x "$exe" ] || exe=$(command -v true)
        sed "s|^ExecStart=.*|ExecStart=$exe|" "$unit" >"$tmp/unit/blinkupd.service"
        # unknown keys and bad values are warnings with exit 0: demand silence
        (cd "$tmp/unit" && SYSTEMD_COLORS=0 systemd-analyze verify --man=no blinkupd.service) \
                >"$tmp/verify.out" 2>&1
        rc=$?
        if [ $rc -eq 0 ] && [ ! -s "$tmp/verify.out" ]; then ok "systemd-analyze verify"; else
                bad "systemd-analyze verify: rc=$rc: $(cat "$tmp/verify.out")"; fi

        if systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
                (cd "$tmp/unit" && SYSTEMD_COLORS=0 systemd-analyze security --offline=yes \
                        --no-pager blinkupd.service) >"$tmp/security.out" 2>&1
                level=$(sed -n 's/.*Overall exposure level for blinkupd.service: *\([0-9.]*\).*/\1/p' \
                        "$tmp/security.out")
                if [ -z "$level" ]; then
                        bad "systemd-analyze security: no exposure level: $(cat "$tmp/security.out")"
                elif awk -v l="$level" -v m="$max_exposure" 'BEGIN { exit !(l + 0 <= m + 0) }'; then
                        ok "systemd-analyze security: exposure $level <= $max_exposure"
                else
                        grep '✗' "$tmp/security.out"
                        bad "systemd-analyze security: exposure $level > $max_exposure"
                fi
        else
                skip "systemd-analyze security (needs --offline=, systemd >= 250)"
        fi
else
        skip "the service unit (no systemd-analyze)"
fi

# what the daemon relies on, and what would break it
for want in 'Type=notify' 'NotifyAccess=main' 'User=blinkupd' 'Group=blinkup' 'SupplementaryGroups=blinkupd gpio input' \
        'DevicePolicy=closed' 'DeviceAllow=char-gpiochip rw' 'DeviceAllow=char-input r' 'StateDirectory=blinkupd' \
        'BusName=org.blinkupd.Fixture1' 'CapabilityBoundingSet=' 'RestartPreventExitStatus=78'; do
        if grep -qx -- "$want" "$unit"; then ok "unit has $want"; else bad "unit lacks $want"; fi
done
for key in LimitRTPRIO LimitMEMLOCK WatchdogSec ExecReload; do
        if grep -q "^$key=." "$unit"; then ok "unit sets $key="; else bad "unit lacks $key="; fi
done
# systemctl reload must fail on a refused configuration: the D-Bus method answers with the
# error, a signal would not (tests/vm/scenario.sh proves it under systemd)
if grep -qx -- 'ExecReload=+busctl --system call org.blinkupd.Fixture1 /org/blinkupd/Fixture1 org.blinkupd.Fixture1 Reload' "$unit"
then ok "ExecReload= calls Reload() on the bus"; else bad "ExecReload= does not call Reload() on the bus"; fi
for key in PrivateDevices RestrictRealtime PrivateNetwork PrivateUsers; do
        if grep -q "^$key=" "$unit"; then bad "unit sets $key= (breaks GPIO, SCHED_FIFO or the server)"
        else ok "unit leaves $key= alone"; fi
done

# ---- sysusers.d and tmpfiles.d, applied to a scratch root ----
root="$tmp/root"
mkdir -p "$root/etc"
if have systemd-sysusers; then
        if systemd-sysusers --root="$root" "$sysusers" >"$tmp/sysusers.out" 2>&1; then
                ok "systemd-sysusers"
                if grep -q '^blinkupd:x:[0-9]*:[0-9]*:.*:[^:]*nologin$' "$root/etc/passwd"; then
                        ok "user blinkupd, no login shell"
                else
                        bad "user blinkupd not created: $(cat "$root/etc/passwd")"
                fi
                for g in blinkupd blinkup gpio input; do
                        if grep -q "^$g:x:[0-9]*:" "$root/etc/group"; then ok "group $g"
                        else bad "group $g not created: $(cat "$root/etc/group")"; fi
                done
                uid=$(awk -F: '$1 == "blinkupd" { print $3 }' "$root/etc/passwd")
                if [ -n "$uid" ] && [ "$uid" -gt 0 ] && [ "$uid" -lt 1000 ]; then ok "blinkupd is a system user ($uid)"
                else bad "blinkupd uid '$uid' is not a system uid"; fi
        else
                bad "systemd-sysusers: $(cat "$tmp/sysusers.out")"
        fi
        # the same again changes nothing
        cp "$root/etc/passwd" "$tmp/passwd.1"
        systemd-sysusers --root="$root" "$sysusers" >/dev/null 2>&1
        if cmp -s "$root/etc/passwd" "$tmp/passwd.1"; then ok "systemd-sysusers is idempotent"
        else bad "systemd-sysusers changed passwd on a second run"; fi
else
        skip "sysusers.d (no systemd-sysusers)"
fi

if have systemd-tmpfiles && [ -s "$root/etc/passwd" ]; then
        uid=$(awk -F: '$1 == "blinkupd" { print $3 }' "$root/etc/passwd")
        gid=$(awk -F: '$1 == "blinkupd" { print $3 }' "$root/etc/group")
        op_gid=$(awk -F: '$1 == "blinkup" { print $3 }' "$root/etc/group")
        root_uid=0 root_gid=0
        conf="$tmpfiles"
        if [ "$(id -u)" -ne 0 ]; then
                # only root may hand files to others: the same lines, owned by us
                uid=$(id -u) gid=$(id -g) root_uid=$uid root_gid=$gid op_gid=$gid
                awk -v u="$uid" -v g="$gid" '$1 == "d" { $4 = u; $5 = g } { print }' "$tmpfiles" \
                        >"$tmp/tmpfiles.conf"
                conf="$tmp/tmpfiles.conf"
                echo "(not root: owners replaced by $uid:$gid)"
        fi
        if systemd-tmpfiles --root="$root" --create "$conf" >"$tmp/tmpfiles.out" 2>&1 &&
           [ ! -s "$tmp/tmpfiles.out" ]; then
                ok "systemd-tmpfiles --create"
        else
                bad "systemd-tmpfiles: $(cat "$tmp/tmpfiles.out")"
        fi
        # every d line: path mode user group
        awk '$1 == "d" { print $2, $3, $4, $5 }' "$tmpfiles" >"$tmp/dirs"
        while read -r path mode user group; do
                want_u=$root_uid; [ "$user" = blinkupd ] && want_u=$uid
                want_g=$root_gid; [ "$group" = blinkupd ] && want_g=$gid
                [ "$group" = blinkup ] && want_g=$op_gid
                got=$(stat -c '%a %u %g' "$root$path" 2>/dev/null)
                if [ "$got" = "${mode#0} $want_u $want_g" ]; then ok "$path: $got"
                else bad "$path: '$got', want '${mode#0} $want_u $want_g'"; fi
        done <"$tmp/dirs"
        [ -s "$tmp/dirs" ] || bad "no directories in $tmpfiles"
else
        skip "tmpfiles.d (no systemd-tmpfiles or no users)"
fi

# ---- the D-Bus XML files ----
if have xmllint; then
        for f in "$policy" "$iface"; do
                if xmllint --noout --nonet "$f" 2>"$tmp/xmllint.out"; then ok "well-formed: ${f##*/}"
                else bad "xmllint ${f##*/}: $(cat "$tmp/xmllint.out")"; fi
        done
        # introspection data, as sd-bus writes it (the freedesktop DTD is stale)
        cat >"$tmp/introspect.dtd" <<'EOF'
<!ELEMENT node (interface*, node*)>
<!ATTLIST node name CDATA #IMPLIED>
<!ELEMENT interface (method | signal | property | annotation)*>
<!ATTLIST interface name CDATA #REQUIRED>
<!ELEMENT method (arg | annotation)*>
<!ATTLIST method name CDATA #REQUIRED>
<!ELEMENT signal (arg | annotation)*>
<!ATTLIST signal name CDATA #REQUIRED>
<!ELEMENT arg (annotation)*>
<!ATTLIST arg name CDATA #IMPLIED type CDATA #REQUIRED direction (in | out) #IMPLIED>
<!ELEMENT property (annotation)*>
<!ATTLIST property name CDATA #REQUIRED type CDATA #REQUIRED access (read | write | readwrite) #REQUIRED>
<!ELEMENT annotation EMPTY>
<!ATTLIST annotation name CDATA #REQUIRED value CDATA #REQUIRED>
EOF
        if xmllint --noout --nonet --dtdvalid "$tmp/introspect.dtd" "$iface" 2>"$tmp/xmllint.out"; then
                ok "valid introspection data"
        else
                bad "introspection DTD: $(cat "$tmp/xmllint.out")"
        fi
        # the contract: every member with its signature
        # (one element per line in the file)
        sed -n 's/^ *<\(method\|signal\|property\|arg\) \([^>]*[^/>]\)\/*>.*$/\1 \2/p' "$iface" \
                >"$tmp/members"
        cat >"$tmp/members.want" <<'EOF'
property name="State" type="s" access="read"
property name="FixtureId" type="s" access="read"
property name="FactoryStatus" type="s" access="read"
property name="Fast" type="b" access="read"
property name="ActiveHigh" type="b" access="read"
property name="SSID" type="s" access="read"
property name="Attempts" type="t" access="read"
property name="Successes" type="t" access="read"
property name="Failures" type="t" access="read"
property name="LastAttemptId" type="t" access="read"
property name="LastError" type="s" access="read"
property name="LastDeviceId" type="s" access="read"
property name="LastSerial" type="s" access="read"
property name="LastOperator" type="s" access="read"
property name="PendingSerial" type="s" access="read"
property name="LastTiming" type="(ttt)" access="read"
property name="ResultsURL" type="s" access="read"
property name="ResultsBacklog" type="u" access="read"
property name="ResultsParked" type="u" access="read"
property name="ResultsLastDelivery" type="t" access="read"
property name="ResultsLastErrorTime" type="t" access="read"
property name="ResultsLastError" type="s" access="read"
method name="BlinkUp"
arg type="t" name="attempt_id" direction="out"
method name="BlinkUpWithOptions"
arg type="a{sv}" name="options" direction="in"
arg type="t" name="attempt_id" direction="out"
method name="Clear"
arg type="t" name="attempt_id" direction="out"
method name="Cancel"
method name="Reload"
signal name="StateChanged"
arg type="t" name="attempt_id"
arg type="s" name="state"
signal name="Finished"
arg type="t" name="attempt_id"
arg type="b" name="success"
arg type="s" name="error_name"
arg type="s" name="message"
arg type="s" name="device_id"
signal name="Confirmed"
arg type="t" name="attempt_id"
arg type="s" name="device_id"
EOF
        if diff -u "$tmp/members.want" "$tmp/members" >"$tmp/members.diff"; then
                ok "interface members and signatures"
        else
                bad "interface differs from the contract: $(cat "$tmp/members.diff")"
        fi
else
        skip "the D-Bus XML files (no xmllint; Debian: libxml2-utils)"
fi

echo "$passes passed, $fails failed, $skips skipped"
[ $fails -eq 0 ] || exit 1
[ $skips -eq 0 ] || exit 77
exit 0
