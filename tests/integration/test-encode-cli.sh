#!/bin/sh
# SPDX-License-Identifier: MIT
# blinkupctl encode from the command line: the spec's vectors, the formats, and bad input.
set -u
ctl="${top_builddir:-.}/src/blinkupctl"
decode="${top_builddir:-.}/tests/helpers/blinkup-decode"
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
fails=0 passes=0

ok() { passes=$((passes + 1)); echo "ok: $1"; }
bad() { fails=$((fails + 1)); echo "FAIL: $1"; }

expect_out() { # name expected command...
        name=$1 want=$2; shift 2
        got=$("$@" 2>"$tmp/err"); rc=$?
        if [ $rc -eq 0 ] && [ "$got" = "$want" ]; then ok "$name"; else
                bad "$name: rc=$rc got '$got' want '$want' stderr: $(cat "$tmp/err")"; fi
}

expect_err() { # name exit-code stderr-substring command...
        name=$1 want_rc=$2 want=$3; shift 3
        "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
        lines=$(wc -l <"$tmp/err")
        if [ $rc -eq "$want_rc" ] && grep -qF -- "$want" "$tmp/err" && [ "$lines" -eq 1 ] && [ ! -s "$tmp/out" ]; then
                ok "$name"
        else
                bad "$name: rc=$rc (want $want_rc) stderr: $(cat "$tmp/err") (want '$want', one line, no stdout)"
        fi
}

P=0123456789abcdef K=fedcba9876543210

expect_out "spec clear" 55555555555555552a0207001d41 "$ctl" encode --clear
expect_out "spec wifi" 55555555555555552a260107466163746f727906097365637265743132330510efcdab89674523011032547698badcfe29c1 \
        "$ctl" encode --ssid=Factory --password=secret123 --plan-id=$P --token=$K
expect_out "spec no wifi" 55555555555555552a120510efcdab89674523011032547698badcfee401 \
        "$ctl" encode --plan-id=$P --token=$K
expect_out "upper-case ids" 55555555555555552a120510efcdab89674523011032547698badcfee401 \
        "$ctl" encode --plan-id=0123456789ABCDEF --token=FEDCBA9876543210 --format=hex
# 2a 02 07 00 1d 41 after the 64 alternating preamble bits, MSB first
expect_out "bits" 0101010101010101010101010101010101010101010101010101010101010101001010100000001000000111000000000001110101000001 \
        "$ctl" encode --clear --format=bits
printf 'secret123\n' >"$tmp/pw"
expect_out "password file" 55555555555555552a260107466163746f727906097365637265743132330510efcdab89674523011032547698badcfe29c1 \
        "$ctl" encode --ssid=Factory --password-file="$tmp/pw" --plan-id=$P --token=$K
expect_out "static network" 55555555555555552a2d0107466163746f72790b10c0a80132ffffff00c0a80101080808080510efcdab89674523011032547698badcfe5b40 \
        "$ctl" encode --ssid=Factory --address=192.168.1.50 --netmask=255.255.255.0 --gateway=192.168.1.1 --dns=8.8.8.8 --plan-id=$P --token=$K
expect_out "proxy" 55555555555555552a300107466163746f72790d13380c0b70726f78792e6c6f63616c01750270770510efcdab89674523011032547698badcfebd40 \
        "$ctl" encode --ssid=Factory --proxy=proxy.local:3128 --proxy-user=u --proxy-password=pw --plan-id=$P --token=$K

# VCD: what a logic analyser records; decoded independently
for pol in "" --active-high; do
        for fast in "" --fast; do
                "$ctl" encode --ssid=Factory --password=secret123 --plan-id=$P --token=$K --format=vcd $pol $fast >"$tmp/w.vcd"
                out=$("$decode" $pol "$tmp/w.vcd")
                if echo "$out" | grep -q "frame 1: 55555555555555552a260107466163746f727906097365637265743132330510efcdab89674523011032547698badcfe29c1" &&
                   [ "$(echo "$out" | sed -n 's/.*max_edge_error_ns=\([0-9]*\).*/\1/p')" -lt 10 ]; then ok "vcd $pol $fast"; else bad "vcd $pol $fast: $out"; fi
        done
done
"$ctl" encode --clear --format=vcd >"$tmp/c.vcd"
# active-low: idle high; the first light (low) is at bit 16 = 16/60 s = 266666667 ns; ends at 187 bits
if grep -q '^\$timescale 1ns \$end' "$tmp/c.vcd" && grep -q '^\$var wire 1 ! led \$end' "$tmp/c.vcd" &&
   [ "$(sed -n '/^\$dumpvars/{n;p}' "$tmp/c.vcd")" = "1!" ] &&
   [ "$(grep -A1 '^#266666667$' "$tmp/c.vcd" | tail -n1)" = "0!" ] &&
   [ "$(tail -n1 "$tmp/c.vcd")" = "#3116666667" ]; then ok "vcd layout"; else bad "vcd layout"; cat "$tmp/c.vcd" | head -20; fi
"$ctl" encode --clear --format=vcd --repeat=3 >"$tmp/r.vcd"
if [ "$("$decode" "$tmp/r.vcd" | tail -n1)" = "frames: 3, all CRCs valid" ]; then ok "vcd repeat"; else bad "vcd repeat"; fi

# an aborted frame followed by its resend: the decoder skips the damaged one, as a receiver would
"$ctl" encode --ssid=Factory --password=secret123 --plan-id=$P --token=$K --format=vcd --repeat=2 >"$tmp/two.vcd"
changes=$(grep -c '^#' "$tmp/two.vcd")
# drop the 100th..110th level changes (inside frame 1's records), or the same near the end (frame 2)
awk 'BEGIN{n=0} /^#/{n++} !(n>=100 && n<=110)' "$tmp/two.vcd" >"$tmp/first-bad.vcd"
awk -v a=$((changes - 40)) -v b=$((changes - 30)) 'BEGIN{n=0} /^#/{n++} !(n>=a && n<=b)' "$tmp/two.vcd" >"$tmp/last-bad.vcd"
out=$("$decode" "$tmp/first-bad.vcd"); rc=$?
if [ $rc -eq 0 ] && [ "$(echo "$out" | tail -n1)" = "frames: 1 valid, 1 damaged; the last one is valid" ]; then
        ok "damaged frame skipped"; else bad "damaged frame skipped: rc=$rc $out"; fi
out=$("$decode" "$tmp/last-bad.vcd"); rc=$?
if [ $rc -ne 0 ] && echo "$out" | tail -n1 | grep -q "the last one is damaged"; then
        ok "damaged last frame fails"; else bad "damaged last frame fails: rc=$rc $out"; fi

# bad input: exit 2, one line naming the field and the rule
expect_err "long ssid" 2 "ssid: must be at most 32 bytes, got 33" "$ctl" encode --ssid=ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456 --plan-id=1 --token=1
expect_err "short password" 2 "password: 7 characters is not a valid length" "$ctl" encode --ssid=F --password=1234567 --plan-id=1 --token=1
expect_err "non-hex 64" 2 "password: 64 characters must all be hex digits" "$ctl" encode --ssid=F --password=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeX --plan-id=1 --token=1
expect_err "bad plan id" 2 'plan-id: must be 1..16 hex digits, got "12g"' "$ctl" encode --plan-id=12g --token=1
expect_err "long token" 2 "token: must be 1..16 hex digits" "$ctl" encode --plan-id=1 --token=12345678901234567
expect_err "token alone" 2 "plan-id: required together with token" "$ctl" encode --token=1
expect_err "nothing" 2 "frame: nothing to send" "$ctl" encode
expect_err "clear plus" 2 "clear: a clear frame carries no other settings" "$ctl" encode --clear --ssid=x
expect_err "bad format" 2 'format: "png" is not one of hex, bits, vcd' "$ctl" encode --clear --format=png
expect_err "bad repeat" 2 'repeat: "0" is not 1..16' "$ctl" encode --clear --repeat=0
expect_err "bad address" 2 'address: "1.2.3" is not an IPv4 address' "$ctl" encode --ssid=F --address=1.2.3
expect_err "bad proxy" 2 'proxy: port of "h:0" is not 1..65535' "$ctl" encode --ssid=F --proxy=h:0
expect_err "missing password file" 1 "password-file: $tmp/nope: No such file or directory" "$ctl" encode --ssid=F --password-file="$tmp/nope"
expect_err "unknown option" 2 "unrecognized option" "$ctl" encode --colour
expect_err "unknown command" 2 'unknown command "frobnicate"' "$ctl" frobnicate
long=$(printf 'h%.0s' $(seq 1 200))
expect_err "too big" 2 "frame: the records need more than 255 bytes" "$ctl" encode --ssid=ABCDEFGHIJKLMNOPQRSTUVWXYZ012345 --password=ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp --proxy=$long:1 --plan-id=1 --token=1

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
