#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Compares one interface of an introspected object with its shipped description.

Usage: check-interface.py SHIPPED.xml INTROSPECTED.xml INTERFACE

Every method (name, in and out arguments: types and names), property (name, type, access,
whether it emits PropertiesChanged) and signal (name, arguments) of INTERFACE must be the same
in both files; the order does not matter. Prints each difference on a line of its own and exits
1 when there is one, 0 when there is none, 2 on bad input."""
import sys
import xml.etree.ElementTree as ET

EMITS = "org.freedesktop.DBus.Property.EmitsChangedSignal"


def args(el, direction):
    """(type, name) of el's arguments in that direction; a signal's have none (out)."""
    return tuple((a.get("type"), a.get("name") or "") for a in el.findall("arg")
                 if a.get("direction", "out" if el.tag == "signal" else "in") == direction)


def describe(args_):
    return "(" + ", ".join((t + " " + n).strip() for t, n in args_) + ")"


def members(path, interface):
    """{(kind, name): description} of the interface's members in the file at path."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        sys.exit("check-interface: %s: %s" % (path, e))
    found = [i for i in root.iter("interface") if i.get("name") == interface]
    if not found:
        sys.exit("check-interface: %s: no interface %s" % (path, interface))
    out = {}
    for el in found[0]:
        name = el.get("name")
        if el.tag == "method":
            out[("method", name)] = "in %s out %s" % (describe(args(el, "in")), describe(args(el, "out")))
        elif el.tag == "signal":
            out[("signal", name)] = describe(args(el, "out"))
        elif el.tag == "property":
            emits = next((a.get("value") for a in el.findall("annotation") if a.get("name") == EMITS), "true")
            out[("property", name)] = "type %s access %s emits-changed %s" % (el.get("type"), el.get("access"), emits)
    return out


def main(argv):
    if len(argv) != 4:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    shipped, running, interface = argv[1], argv[2], argv[3]
    want, got = members(shipped, interface), members(running, interface)
    differences = 0
    for key in sorted(set(want) | set(got)):
        kind, name = key
        if key not in got:
            print("%s %s: in %s %s, not introspected" % (kind, name, shipped, want[key]))
        elif key not in want:
            print("%s %s: introspected %s, not in %s" % (kind, name, got[key], shipped))
        elif want[key] != got[key]:
            print("%s %s: introspected %s, shipped %s" % (kind, name, got[key], want[key]))
        else:
            continue
        differences += 1
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
