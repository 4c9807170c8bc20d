#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Reference BlinkUp frames, computed from ../shared/spec/blinkup-protocol.md by a separate
implementation (not the C code under test). The hex strings in tests/unit/test-frame.c were
produced by this script; it first checks itself against the spec's public vectors."""
import struct, sys

def table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1
        t.append(c)
    return t
T = table()

def crc(data):
    c = 0
    for b in data:
        c = ((c << 8) & 0xFFFF) ^ T[((c >> 8) ^ b) & 0xFF]
    return c

def rec(t, v):
    return bytes([t, len(v)]) + v

def enroll(plan, token):
    return rec(5, struct.pack('<QQ', int(plan, 16), int(token, 16)))

def frame(*records):
    body = b''.join(records)
    assert len(body) <= 255
    c = crc(bytes([len(body)]) + body)
    return (b'\x55' * 8 + b'\x2a' + bytes([len(body)]) + body + struct.pack('>H', c)).hex()

P, K = '0123456789abcdef', 'fedcba9876543210'
assert crc(b'123456789') == 0x9540
assert (T[1], T[2], T[255]) == (0xC0C1, 0xC181, 0x4040)
assert frame(rec(7, b'')) == '5555555555555555' '2a' '020700' '1d41'
assert frame(rec(1, b'Factory'), rec(6, b'secret123'), enroll(P, K)) == (
    '55555555555555552a2601074661637' '46f727906097365637265743132330510'
    'efcdab89674523011032547698badcfe29c1')
assert frame(enroll(P, K)) == '55555555555555552a120510efcdab89674523011032547698badcfee401'

ip = lambda s: bytes(int(x) for x in s.split('.'))
vectors = {
    'utf8_ssid': frame(rec(1, 'Fábrica-Ω'.encode()), rec(6, b'secret123'), enroll(P, K)),
    'ssid32_pw63': frame(rec(1, b'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345'),
                         rec(6, b'p' * 63), enroll(P, K)),
    'pw64hex': frame(rec(1, b'Factory'), rec(6, b'0123456789ABCDEF' * 4), enroll(P, K)),
    'wep5': frame(rec(1, b'W'), rec(6, b'abcde'), enroll(P, K)),
    'wep13': frame(rec(1, b'W'), rec(6, b'abcdefghijklm'), enroll(P, K)),
    'wep10hex': frame(rec(1, b'W'), rec(6, b'0a1b2c3d4e'), enroll(P, K)),
    'wep26hex': frame(rec(1, b'W'), rec(6, b'0123456789abcdef0123456789'), enroll(P, K)),
    'short_ids': frame(rec(1, b'Factory'), enroll('A', '1f')),
    'open_network': frame(rec(1, b'Guest'), enroll(P, K)),
    'wps': frame(rec(3, b'12345670'), enroll(P, K)),
    'firmware': frame(rec(1, b'Factory'), rec(4, b''), enroll(P, K)),
    'static16': frame(rec(1, b'Factory'), rec(11, ip('192.168.1.50') + ip('255.255.255.0') +
                      ip('192.168.1.1') + ip('8.8.8.8')), enroll(P, K)),
    'static20': frame(rec(1, b'Factory'), rec(11, ip('10.0.0.2') + ip('255.0.0.0') +
                      ip('10.0.0.1') + ip('10.0.0.53') + ip('1.1.1.1')), enroll(P, K)),
    'proxy': frame(rec(1, b'Factory'), rec(13, struct.pack('<H', 3128) + b'\x0bproxy.local' +
                   b'\x01u' + b'\x02pw'), enroll(P, K)),
    'proxy_nouser': frame(rec(1, b'Factory'), rec(13, struct.pack('<H', 8080) + b'\x01p'),
                          enroll(P, K)),
}
if __name__ == '__main__':
    for k, v in vectors.items():
        print(f'{k} {v}')
