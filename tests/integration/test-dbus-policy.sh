#!/bin/sh
# SPDX-License-Identifier: MIT
# The system bus policy dbus/org.blinkupd.Fixture1.conf in a real dbus-daemon.
#  1. A private bus configured like the system bus, with the shipped policy
#     included verbatim, starts and answers (a policy error is fatal there).
#  2. As root: the same bus with the policy's user blinkupd and group blinkup
#     replaced by accounts that exist here, a stand-in service (python3-dbus)
#     owning the name, and clients of different identities (setpriv): who may
#     own the name, read properties, introspect, ping and call the methods.
# Exit 77 when dbus-daemon is missing, or when part 2 cannot run (not root,
# no setpriv, no python3 with the dbus and gi modules) and part 1 passed.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
policy="$top_srcdir/dbus/org.blinkupd.Fixture1.conf"
name=org.blinkupd.Fixture1
path=/org/blinkupd/Fixture1

for tool in dbus-daemon dbus-send; do
        command -v $tool >/dev/null 2>&1 || { echo "skip: no $tool (Debian: dbus-daemon, dbus-bin)"; exit 77; }
done
[ -f "$policy" ] || { echo "FAIL: $policy is missing"; exit 1; }

tmp=$(mktemp -d) || exit 99
bus_pid= svc_pid=
cleanup() {
        [ -n "$svc_pid" ] && kill "$svc_pid" 2>/dev/null
        [ -n "$bus_pid" ] && kill "$bus_pid" 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT
chmod 0755 "$tmp" # the stand-in service and the clients run as other users
fails=0 passes=0

ok() { passes=$((passes + 1)); echo "ok: $1"; }
bad() { fails=$((fails + 1)); echo "FAIL: $1"; }

# a bus configured like /usr/share/dbus-1/system.conf, including $1
bus_config() { # policy-file config-file socket
        cat >"$2" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$3</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus" send_member="UpdateActivationEnvironment"/>
  </policy>
  <include>$1</include>
</busconfig>
EOF
}

start_bus() { # config-file socket; sets bus_pid
        rm -f "$2"
        dbus-daemon --config-file="$1" --fork --print-pid=1 --nosyslog \
                >"$tmp/bus.pid" 2>"$tmp/bus.err" </dev/null || return 1
        bus_pid=$(head -n 1 "$tmp/bus.pid")
        [ -n "$bus_pid" ] || return 1
        i=0
        while [ ! -S "$2" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        [ -S "$2" ]
}

stop_bus() {
        [ -n "$bus_pid" ] && kill "$bus_pid" 2>/dev/null
        bus_pid=
}

# ---- 1. the shipped policy, verbatim ----
cp "$policy" "$tmp/verbatim.conf"
bus_config "$tmp/verbatim.conf" "$tmp/verbatim-bus.conf" "$tmp/verbatim.sock"
if start_bus "$tmp/verbatim-bus.conf" "$tmp/verbatim.sock"; then
        if dbus-send --bus="unix:path=$tmp/verbatim.sock" --print-reply --dest=org.freedesktop.DBus \
                / org.freedesktop.DBus.GetId >"$tmp/out" 2>&1; then
                ok "dbus-daemon loads the policy and answers"
        else
                bad "the bus does not answer: $(cat "$tmp/out")"
        fi
        # unknown users and groups (no blinkupd/blinkup here) are warnings; anything else is not
        if grep -v -e 'Unknown username' -e 'Unknown group' -e '^$' "$tmp/bus.err" >"$tmp/bus.other"; then
                bad "dbus-daemon complains: $(cat "$tmp/bus.other")"
        else
                ok "dbus-daemon has no complaint about the policy"
        fi
        # nobody but blinkupd may own the name: on this bus, not us either
        if dbus-send --bus="unix:path=$tmp/verbatim.sock" --print-reply --dest=org.freedesktop.DBus \
                / org.freedesktop.DBus.RequestName string:$name uint32:4 >"$tmp/out" 2>&1; then
                bad "$(id -un) may own $name: $(cat "$tmp/out")"
        elif grep -q AccessDenied "$tmp/out"; then
                ok "$(id -un) may not own $name"
        else
                bad "RequestName: $(cat "$tmp/out")"
        fi
else
        bad "dbus-daemon does not start with the policy: $(cat "$tmp/bus.err")"
fi
stop_bus

# ---- 2. who may do what ----
skip_access() {
        echo "skip: access checks: $1"
        echo "$passes passed, $fails failed"
        [ $fails -eq 0 ] || exit 1
        exit 77
}
py=
for p in python3 /usr/bin/python3; do
        if command -v "$p" >/dev/null 2>&1 &&
           "$p" -c 'import dbus, dbus.service, dbus.mainloop.glib; from gi.repository import GLib' 2>/dev/null; then
                py=$(command -v "$p"); break
        fi
done
why=
[ "$(id -u)" -eq 0 ] || why="clients of other identities need root"
command -v setpriv >/dev/null 2>&1 || why="no setpriv (util-linux)"
[ -n "$py" ] || why="no python3 with the dbus and gi modules (Debian: python3-dbus, python3-gi)"
[ -z "$why" ] || skip_access "$why"

# Identities: existing accounts (the bus refuses users it cannot look up),
# standing in for the service user, an operator and an outsider. The bus
# takes a client's groups from its socket, so the operator's group only has
# to exist, not to list the operator.
svc_user=daemon op_user=bin out_user=nobody
for u in $svc_user $op_user $out_user; do
        getent passwd $u >/dev/null || why="no user $u here"
done
[ -z "$why" ] || skip_access "$why"
svc_uid=$(id -u $svc_user) op_uid=$(id -u $op_user) out_uid=$(id -u $out_user)
# a group that is no primary group of the three and lists no members
op_group=$(getent group | awk -F: -v a="$(id -g $svc_user)" -v b="$(id -g $op_user)" -v c="$(id -g $out_user)" \
        '$3 > 0 && $3 != a && $3 != b && $3 != c && $4 == "" { print $1; exit }')
[ -n "$op_group" ] || skip_access "no spare group"
op_gid=$(getent group "$op_group" | cut -d: -f3)
echo "service user $svc_user, operator $op_user in group $op_group, outsider $out_user"

sed -e "s/user=\"blinkupd\"/user=\"$svc_user\"/" -e "s/group=\"blinkup\"/group=\"$op_group\"/" \
        "$policy" >"$tmp/renamed.conf"
grep -q "user=\"$svc_user\"" "$tmp/renamed.conf" || bad "the policy does not name the user blinkupd"
grep -q "group=\"$op_group\"" "$tmp/renamed.conf" || bad "the policy does not name the group blinkup"
bus_config "$tmp/renamed.conf" "$tmp/renamed-bus.conf" "$tmp/renamed.sock"
start_bus "$tmp/renamed-bus.conf" "$tmp/renamed.sock" || { bad "bus: $(cat "$tmp/bus.err")"; exit 1; }
addr="unix:path=$tmp/renamed.sock"

cat >"$tmp/service.py" <<'EOF'
# A stand-in for blinkupd: owns the name, answers every method.
import sys
import dbus, dbus.service, dbus.mainloop.glib
from gi.repository import GLib

IFACE = "org.blinkupd.Fixture1"
PROPS = "org.freedesktop.DBus.Properties"

class Fixture(dbus.service.Object):
    @dbus.service.method(IFACE, in_signature="", out_signature="t")
    def BlinkUp(self):
        return dbus.UInt64(1)

    # any signature: dbus-send cannot build a{sv}, the policy is what is tested
    @dbus.service.method(IFACE, out_signature="t")
    def BlinkUpWithOptions(self, options):
        return dbus.UInt64(1)

    @dbus.service.method(IFACE, in_signature="", out_signature="t")
    def Clear(self):
        return dbus.UInt64(2)

    @dbus.service.method(IFACE, in_signature="", out_signature="")
    def Cancel(self):
        pass

    @dbus.service.method(IFACE, in_signature="", out_signature="")
    def Reload(self):
        pass

    @dbus.service.method(PROPS, in_signature="ss", out_signature="v")
    def Get(self, iface, prop):
        return self.GetAll(iface)[prop]

    @dbus.service.method(PROPS, in_signature="s", out_signature="a{sv}")
    def GetAll(self, iface):
        return {"State": dbus.String("idle", variant_level=1)}

    @dbus.service.method(PROPS, in_signature="ssv", out_signature="")
    def Set(self, iface, prop, value):
        raise dbus.exceptions.DBusException("org.freedesktop.DBus.Error.PropertyReadOnly",
                                            "read-only")

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.bus.BusConnection(sys.argv[1])
name = dbus.service.BusName("org.blinkupd.Fixture1", bus, do_not_queue=True)
Fixture(bus, "/org/blinkupd/Fixture1")
print("ready", flush=True)
GLib.MainLoop().run()
EOF

# who, expected outcome (allowed|denied), description, dbus-send arguments
expect() {
        who=$1 want=$2 what=$3; shift 3
        case $who in
        root) id= ;;
        operator) id="--reuid=$op_uid --regid=$op_uid --groups=$op_gid" ;;
        outsider) id="--reuid=$out_uid --regid=$out_uid --clear-groups" ;;
        esac
        # shellcheck disable=SC2086
        ${id:+setpriv $id} dbus-send --bus="$addr" --print-reply "$@" >"$tmp/out" 2>&1
        rc=$?
        if [ $rc -eq 0 ]; then got=allowed
        elif grep -q 'org.freedesktop.DBus.Error.AccessDenied' "$tmp/out"; then got=denied
        else got="error: $(cat "$tmp/out")"; fi
        if [ "$got" = "$want" ]; then ok "$who: $what: $got"
        else bad "$who: $what: $got, want $want"; fi
}
own="--dest=org.freedesktop.DBus / org.freedesktop.DBus.RequestName string:$name uint32:4"
to_service="--dest=$name $path"

# only the service user may own the name
# shellcheck disable=SC2086
for who in root operator outsider; do expect $who denied "own the name" $own; done

setpriv --reuid=$svc_uid --regid=$svc_uid --clear-groups "$py" "$tmp/service.py" "$addr" \
        >"$tmp/svc.out" 2>"$tmp/svc.err" &
svc_pid=$!
i=0
while ! grep -q ready "$tmp/svc.out" 2>/dev/null && [ $i -lt 100 ]; do
        kill -0 $svc_pid 2>/dev/null || break
        sleep 0.1; i=$((i + 1))
done
if grep -q ready "$tmp/svc.out"; then ok "service: owns $name"; else
        bad "service user cannot own $name: $(cat "$tmp/svc.err")"
        echo "$passes passed, $fails failed"
        exit 1
fi

for who in outsider operator root; do
        expect $who allowed "Properties.Get" $to_service org.freedesktop.DBus.Properties.Get \
                string:$name string:State
        expect $who allowed "Properties.GetAll" $to_service org.freedesktop.DBus.Properties.GetAll \
                string:$name
        expect $who allowed "Introspect" $to_service org.freedesktop.DBus.Introspectable.Introspect
        expect $who allowed "Peer.Ping" $to_service org.freedesktop.DBus.Peer.Ping
        # no property is writable: the bus refuses Set before the service sees it
        expect $who denied "Properties.Set" $to_service org.freedesktop.DBus.Properties.Set \
                string:$name string:State variant:string:blinking
done
for m in BlinkUp Clear Cancel Reload; do
        expect outsider denied "$m" $to_service $name.$m
        expect operator allowed "$m" $to_service $name.$m
        expect root allowed "$m" $to_service $name.$m
done
options="dict:string:string:serial,SN123,operator,alice"
expect outsider denied "BlinkUpWithOptions" $to_service $name.BlinkUpWithOptions $options
expect operator allowed "BlinkUpWithOptions" $to_service $name.BlinkUpWithOptions $options
expect root allowed "BlinkUpWithOptions" $to_service $name.BlinkUpWithOptions $options
# interfaces nobody granted stay closed, even for operators
expect operator denied "another interface" $to_service org.example.Other.Method

echo "$passes passed, $fails failed"
[ $fails -eq 0 ] || exit 1
exit 0
