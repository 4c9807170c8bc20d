#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A results endpoint for blinkupd's tests: receives the results documents of [Results] URL=.

It serves HTTPS on 127.0.0.1 with the throwaway PKI of factory-server.py (the same CA, so
[Server] CAFile= trusts it; the PKI code is factory-server.py's own), records every request it
receives, and can be told to misbehave at run time. Python 3.11 standard library only.

START
    results-receiver.py --pki DIR [--port N] [--control-port N] [--log-file PATH]
        DIR is a PKI made by "factory-server.py --make-pki DIR" (made here when missing).
        Serves two ports on 127.0.0.1 (any free ports unless given): the results endpoint,
        which accepts POST at any path (the URL printed says /results), and the control API,
        which stays up whatever the mode. Once both accept connections it prints two lines:
            url https://127.0.0.1:PORT/results
            control https://127.0.0.1:CPORT/_control
        SIGTERM or SIGINT stops it.

MODES (POST /_control/mode, a JSON object; it replaces the current mode; default {"mode": "ok"})
    {"mode": "ok"}                        200 {"ok": true}
    {"mode": "down"}                      stop listening on the port (connections are refused)
                                          and close every open connection; any other mode
                                          listens again on the same port
    {"mode": "slow", "seconds": N}        answer 200 after N seconds
    {"mode": "status", "status": 503}     answer that status (a JSON body; "body": TEXT
                                          instead; "headers": {"Retry-After": "1"} optional)
    {"mode": "drop"}                      read the whole request, then close the connection
                                          without answering
    Filters of slow, status and drop (requests that do not match are answered 200):
        "count": K          only the next K matching requests, then the mode is "ok" again
        "attempt_id": A     only documents whose attempt_id is A
        "event": E          only documents whose event is E ("outcome", "confirmation")

CONTROL (no authentication; never recorded)
    GET    /_control/mode       the current mode (with "left": how many of "count" are left)
    POST   /_control/mode       set the mode (see above); answers it
    GET    /_control/received   {"received": [...]}: every request to the endpoint, in order
    DELETE /_control/received   forget them

RECEIVED ENTRIES (also appended to --log-file as JSON lines once answered):
    {"seq", "time" (time.time() at arrival), "t" (time.monotonic() at arrival), "method",
     "path", "idempotency_key" (header Idempotency-Key, or null), "authorization" (header, or
     null), "content_type", "body" (the parsed JSON, or null when not JSON), "text" (the body
     as text when it is not JSON, else null), "answer" (the status sent, or "drop"),
     "answered" (false until the answer was written; false for a drop or when the client was
     gone)}
"""

import argparse
import copy
import http.server
import importlib.util
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MODES = ("ok", "down", "slow", "status", "drop")
MODE_KEYS = {"mode", "seconds", "status", "body", "headers", "count", "attempt_id", "event"}


def factory_server_module():
    """factory-server.py as a module (its name is not an identifier): its make_pki()."""
    spec = importlib.util.spec_from_file_location("factory_server", os.path.join(HERE, "factory-server.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


FACTORY_SERVER = factory_server_module()


def check_mode(doc):
    if not isinstance(doc, dict):
        raise ValueError("the mode is a JSON object")
    unknown = set(doc) - MODE_KEYS
    if unknown:
        raise ValueError("unknown keys %s" % sorted(unknown))
    mode = doc.get("mode", "ok")
    if mode not in MODES:
        raise ValueError("unknown mode %r (%s)" % (mode, ", ".join(MODES)))
    if mode == "slow" and not isinstance(doc.get("seconds"), (int, float)):
        raise ValueError("slow needs \"seconds\"")
    if mode == "status" and not (isinstance(doc.get("status"), int) and 100 <= doc["status"] <= 599):
        raise ValueError("status needs \"status\", 100..599")
    if "count" in doc and doc["count"] is not None and not isinstance(doc["count"], int):
        raise ValueError("count is an integer")
    m = dict(doc, mode=mode)
    m["left"] = doc.get("count") if doc.get("count") is not None and doc["count"] >= 0 else None
    return m


class State:
    def __init__(self, log_file):
        self.lock = threading.Lock()
        self.mode = {"mode": "ok", "left": None}
        self.received = []
        self.log_file = open(log_file, "a", buffering=1) if log_file else None

    def pick(self, body):
        """The treatment of one request: (mode dict) -- "ok" when the filters do not match."""
        with self.lock:
            m = self.mode
            if m["mode"] in ("ok", "down"):
                return {"mode": "ok"}
            doc = body if isinstance(body, dict) else {}
            if "attempt_id" in m and m["attempt_id"] is not None and doc.get("attempt_id") != m["attempt_id"]:
                return {"mode": "ok"}
            if "event" in m and m["event"] is not None and doc.get("event") != m["event"]:
                return {"mode": "ok"}
            if m["left"] is not None:
                if m["left"] <= 0:
                    return {"mode": "ok"}
                m["left"] -= 1
            return copy.deepcopy(m)

    def add(self, entry):
        with self.lock:
            entry["seq"] = len(self.received)
            self.received.append(entry)

    def done(self, entry):
        with self.lock:
            if self.log_file:
                self.log_file.write(json.dumps(entry) + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "results-receiver/1"
    sys_version = ""

    def log_message(self, format, *args):
        pass

    def setup(self):
        super().setup()
        self.server.track(self.connection, True)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    # the factory server's answers (factory-server.py), the same bytes on the wire
    send_raw = FACTORY_SERVER.Handler.send_raw
    send_json = FACTORY_SERVER.Handler.send_json

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def handle_any(self, method):
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        if self.server.is_control:
            return self.control(method, self.path.split("?")[0], body)
        return self.results(method, body)

    # ---- the results endpoint ----

    def results(self, method, raw):
        st = self.server.state
        try:
            doc = json.loads(raw.decode())
            text = None
        except (ValueError, UnicodeDecodeError):
            doc, text = None, raw.decode(errors="replace")
        entry = {"time": time.time(), "t": time.monotonic(), "method": method, "path": self.path,
                 "idempotency_key": self.headers.get("Idempotency-Key"),
                 "authorization": self.headers.get("Authorization"),
                 "content_type": self.headers.get("Content-Type"),
                 "body": doc, "text": text, "answer": None, "answered": False}
        m = st.pick(doc) if method == "POST" else {"mode": "status", "status": 405}
        if m["mode"] == "drop":
            entry["answer"] = "drop"
            st.add(entry)
            st.done(entry)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        status = m.get("status", 200) if m["mode"] == "status" else 200
        entry["answer"] = status
        st.add(entry)
        if m["mode"] == "slow":
            time.sleep(float(m["seconds"]))
        try:
            if m["mode"] == "status":
                if "body" in m and m["body"] is not None:
                    self.send_raw(status, m["body"], "text/plain", m.get("headers"))
                else:
                    self.send_json(status, {"error": "test status %d" % status}, m.get("headers"))
            else:
                self.send_json(200, {"ok": True})
            with st.lock:
                entry["answered"] = True
        except OSError:
            self.close_connection = True
        st.done(entry)

    # ---- control ----

    def control(self, method, path, raw):
        st = self.server.state
        try:
            doc = json.loads(raw.decode()) if raw else {}
        except ValueError:
            return self.send_json(400, {"error": "the body is not JSON"})
        if path == "/_control/received" and method == "GET":
            with st.lock:
                return self.send_json(200, {"received": copy.deepcopy(st.received)})
        if path == "/_control/received" and method == "DELETE":
            with st.lock:
                st.received.clear()
            return self.send_json(200, {})
        if path == "/_control/mode" and method == "GET":
            with st.lock:
                return self.send_json(200, st.mode)
        if path == "/_control/mode" and method == "POST":
            try:
                m = check_mode(doc)
            except ValueError as e:
                return self.send_json(400, {"error": str(e)})
            with st.lock:
                st.mode = m
            # the listener follows the mode before the answer: once answered, it holds
            try:
                self.server.endpoint.listen(m["mode"] != "down")
            except OSError as e:
                return self.send_json(500, {"error": "cannot listen again: %s" % e})
            return self.send_json(200, m)
        return self.send_json(404, {"error": "no control %s %s" % (method, path)})


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, state, context, is_control, endpoint=None):
        self.state = state
        self.context = context
        self.is_control = is_control
        self.endpoint = endpoint
        self.conns = set()
        self.conns_lock = threading.Lock()
        super().__init__(address, Handler)

    def track(self, conn, add):
        with self.conns_lock:
            (self.conns.add if add else self.conns.discard)(conn)

    def close_connections(self):
        with self.conns_lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def finish_request(self, request, client_address):
        # the TLS handshake in the connection's own thread: a stalled client blocks no one
        try:
            request.settimeout(60)
            request = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        pass


class Endpoint:
    """The results port: a server that can stop listening and listen again on the same port."""

    def __init__(self, state, context, port):
        self.state = state
        self.context = context
        self.lock = threading.Lock()
        self.server = None
        self.thread = None
        self.port = port
        self.listen(True)

    def listen(self, up):
        with self.lock:
            if up and self.server is None:
                self.server = Server(("127.0.0.1", self.port), self.state, self.context, False)
                self.port = self.server.server_address[1]
                self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                               daemon=True)
                self.thread.start()
            elif not up and self.server is not None:
                srv, self.server = self.server, None
                srv.shutdown()
                srv.server_close()  # the listening socket is closed: connect() is refused
                srv.close_connections()
                self.thread.join(10)


def main():
    ap = argparse.ArgumentParser(description="A results endpoint for blinkupd's tests.")
    ap.add_argument("--pki", metavar="DIR", required=True, help="a PKI of factory-server.py --make-pki")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--control-port", type=int, default=0)
    ap.add_argument("--log-file", help="append every request received as a JSON line")
    args = ap.parse_args()

    if not os.path.exists(os.path.join(args.pki, "server.pem")):
        FACTORY_SERVER.make_pki(args.pki)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(os.path.join(args.pki, "server.pem"), os.path.join(args.pki, "server.key"))

    state = State(args.log_file)
    endpoint = Endpoint(state, context, args.port)
    control = Server(("127.0.0.1", args.control_port), state, context, True, endpoint)
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    print("url https://127.0.0.1:%d/results" % endpoint.port, flush=True)
    print("control https://127.0.0.1:%d/_control" % control.server_address[1], flush=True)
    try:
        control.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
