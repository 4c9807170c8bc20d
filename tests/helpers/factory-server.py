#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A local factory server for blinkupd's tests and demo.

It speaks the factory server API (factory-server-api.md, also org.blinkupd.Fixture1(5)) over
HTTPS on 127.0.0.1, with a throwaway certificate authority made with openssl, and can be told
to misbehave. Python 3.11 standard library only.

START
    factory-server.py --make-pki DIR
        Creates (if missing) a throwaway PKI in DIR and exits:
          ca.pem               the CA to trust (CAFile=DIR/ca.pem)
          other-ca.pem         an unrelated CA (for "wrong CA" tests)
          server.pem/.key      for 127.0.0.1 and localhost, valid for 2 days
          expired.pem          same key and names, expired in 2020
          wronghost.pem        same key, for the name wrong-host.invalid only
    factory-server.py --pki DIR [--cert server|expired|wronghost] [--http]
                      [--config JSON] [--log-file PATH] [--login-key KEY] [--api-key KEY]
                      [--claim-delay SEC] [--port N]
        Serves (threaded) on 127.0.0.1, port 0 (any free port) unless --port is given, and
        prints the port number on a line of its own on stdout once it accepts connections.
        The PKI is created when missing. --http serves plain HTTP (for AllowInsecureHttp=).
        The API is under /v5 (https://127.0.0.1:PORT/v5) and also at the root.
        SIGTERM or SIGINT stops it.

THE API (normal behaviour)
    POST /auth/token        {"key": LOGIN_KEY} -> 200 access_token (expires_in = token_ttl)
    GET  /devices/{id}      Bearer -> 200 device in a "factoryfixture_devicegroup"
    POST /enroll            Bearer + {"type": "factory_token", "fixture_id": ID}
                            Basic base64(API_KEY + ":") + {"type": "production_token"[, "plan_id"]}
                            -> 201 {"plan_id", "token_id", "expires_at"}
    GET  /enroll/{token_id} -> 200 "pending", then "claimed" with a device_id once claim_delay
                            seconds have passed since the token was issued, or once told so with
                            POST /_control/claim.
    Errors are {"errors": [{"status", "code", "title", "detail"}]}.

SETTINGS (--config JSON at start, or POST /_control/mode at run time; merged into the current)
    login_key        "test-login-key"      the login key that authenticates
    api_key          "test-api-key"        the production API key
    token_ttl        3600                  access token lifetime, seconds (expired -> 401)
    expires_in       true                  false: the auth response has expires_at only
    plan_id          "0123456789abcdef"    the plan of factory tokens
    fixture_group    "factoryfixture_devicegroup"   the device group type of every fixture;
                                           null: the device has no group relationship
    unknown_fixture  false                 true: GET /devices/{id} answers 404
    enroll_forbidden false                 true: POST /enroll (factory_token) answers 403
    claim_delay      2.0                   seconds until a token is claimed; null: only on
                                           POST /_control/claim
    claim_error      null                  {"code", "message"}: tokens end in "error" instead
    device_id        null                  the device ID of claims (default: random)
    token_expires_in 3600                  seconds from now to an enrollment token's expires_at
                                           (negative: issued expired)
    faults           []                    the misbehaviour list (replaces the current one)

FAULTS: each entry applies to requests matching "method" (optional) and "path" (exact, or a
prefix when it ends in "*"; the /v5 prefix is removed first). "skip" (default 0) matching
requests pass first, then "count" (default 1, -1 = always) are answered by the "action":
    status     "status" (e.g. 503), "body": "json" (an errors document with "title" and
               "detail"; "{login_key}" and "{api_key}" in them are replaced by the keys, like
               a careless server would) | "empty" | "html" | "truncated";
               "headers": {"Retry-After": "1"} etc.
    delay      sleep "seconds", then answer normally (slower than the client's timeout)
    reset      read the request, then reset the connection (TCP RST)
    short      announce a longer Content-Length than is sent, then close
    raw        200 with the text "raw" ("content_type" optional, default application/json)
    json       200 with the JSON value "json" (wrong types, non-hex IDs, ...)
    oversize   200 with a valid JSON document larger than 64 KiB
    redirect   302 to "location" (default: the same path on this server)
    revoke     revoke every access token, then answer normally (so Bearer -> 401)

CONTROL (no authentication; never logged)
    GET    /_control/log     {"requests": [...]}: every API request seen, in order
    DELETE /_control/log     forget the log
    GET    /_control/mode    the current settings
    POST   /_control/mode    merge settings (JSON object), answers the new settings
    POST   /_control/claim   {"token_id": ID (default: the oldest pending), "device_id": ID
                             (optional), "error": {"code", "message"} (optional)}: a device
                             enrolled (or failed) with that token; answers the token
    GET    /_control/tokens  every enrollment token issued and its state
    POST   /_control/revoke  revoke every access token

LOG ENTRIES (also appended to --log-file as JSON lines, written when the request arrives):
    {"seq", "t" (time.monotonic()), "wall" (time.time()), "method", "path" (as sent),
     "api_path" (without /v5), "headers" {name: value}, "body" (text), "fault" (action or null)}
"""

import argparse
import base64
import copy
import http.server
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time

HEX_ID = re.compile(r"^[0-9a-fA-F]{1,16}$")
API_PREFIX = "/v5"

DEFAULT_SETTINGS = {
    "login_key": "test-login-key",
    "api_key": "test-api-key",
    "token_ttl": 3600,
    "expires_in": True,
    "plan_id": "0123456789abcdef",
    "fixture_group": "factoryfixture_devicegroup",
    "unknown_fixture": False,
    "enroll_forbidden": False,
    "claim_delay": 2.0,
    "claim_error": None,
    "device_id": None,
    "token_expires_in": 3600,
    "faults": [],
}


# ---- the throwaway PKI ----

CA_CONFIG = """\
[ca]
default_ca = ca_default
[ca_default]
database = ca-db/index.txt
new_certs_dir = ca-db
serial = ca-db/serial
default_md = sha256
policy = policy_any
copy_extensions = none
unique_subject = no
[policy_any]
commonName = supplied
[ext_server]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
[ext_wronghost]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:wrong-host.invalid
"""


def openssl(cwd, *args):
    r = subprocess.run(["openssl", *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        sys.exit(f"factory-server: openssl {' '.join(args)} failed:\n{r.stdout}")


def make_pki(d):
    os.makedirs(d, exist_ok=True)
    if all(os.path.exists(os.path.join(d, f)) for f in ("ca.pem", "other-ca.pem", "server.pem", "server.key",
                                                          "expired.pem", "wronghost.pem")):
        return
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for name, cn in (("ca", "blinkupd test CA"), ("other-ca", "unrelated test CA")):
        openssl(d, "req", "-x509", *ec, "-keyout", f"{name}.key", "-out", f"{name}.pem", "-subj", f"/CN={cn}",
                "-days", "2", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl(d, "req", "-new", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    with open(os.path.join(d, "ca.cnf"), "w") as f:
        f.write(CA_CONFIG)
    for name, ext, dates in (("server", "ext_server", ["-days", "2"]),
                             ("expired", "ext_server", ["-startdate", "20200101000000Z",
                                                        "-enddate", "20200201000000Z"]),
                             ("wronghost", "ext_wronghost", ["-days", "2"])):
        shutil.rmtree(os.path.join(d, "ca-db"), ignore_errors=True)
        os.mkdir(os.path.join(d, "ca-db"))
        with open(os.path.join(d, "ca-db", "index.txt"), "w"):
            pass
        with open(os.path.join(d, "ca-db", "serial"), "w") as f:
            f.write(secrets.token_hex(8) + "\n")
        openssl(d, "ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key", "-in", "server.csr",
                "-out", f"{name}.pem", "-extensions", ext, "-notext", *dates)
    shutil.rmtree(os.path.join(d, "ca-db"), ignore_errors=True)
    for f in ("ca.cnf", "server.csr"):
        os.unlink(os.path.join(d, f))
    for f in os.listdir(d):
        if f.endswith(".key"):
            os.chmod(os.path.join(d, f), 0o600)


# ---- state ----

class State:
    def __init__(self, settings, log_file):
        self.lock = threading.Lock()
        self.settings = copy.deepcopy(DEFAULT_SETTINGS)
        self.settings.update(settings)
        self.fault_used = []          # per fault: matches seen
        self.access_tokens = {}       # token -> expiry (monotonic)
        self.enroll_tokens = {}       # token_id -> record
        self.log = []
        self.log_file = open(log_file, "a", buffering=1) if log_file else None

    def set(self, changes):
        with self.lock:
            for k, v in changes.items():
                if k not in DEFAULT_SETTINGS:
                    raise ValueError(f"unknown setting {k!r}")
                self.settings[k] = v
            if "faults" in changes:
                self.fault_used = [0] * len(self.settings["faults"])
            return copy.deepcopy(self.settings)

    def pick_fault(self, method, api_path):
        with self.lock:
            faults = self.settings["faults"]
            if len(self.fault_used) != len(faults):
                self.fault_used = [0] * len(faults)
            chosen = None
            for i, f in enumerate(faults):
                if f.get("method") and f["method"] != method:
                    continue
                p = f.get("path", "*")
                if p.endswith("*"):
                    if not api_path.startswith(p[:-1]):
                        continue
                elif p != api_path:
                    continue
                # every matching fault counts the request, the first one due answers it
                self.fault_used[i] += 1
                n = self.fault_used[i] - f.get("skip", 0)
                count = f.get("count", 1)
                if chosen is None and n >= 1 and (count < 0 or n <= count):
                    chosen = f
            return chosen

    def record(self, entry):
        with self.lock:
            entry["seq"] = len(self.log)
            self.log.append(entry)
            if self.log_file:
                self.log_file.write(json.dumps(entry) + "\n")
                self.log_file.flush()

    def new_access_token(self):
        with self.lock:
            t = secrets.token_urlsafe(24)
            self.access_tokens[t] = time.monotonic() + float(self.settings["token_ttl"])
            return t

    def bearer_ok(self, header):
        if not header or not header.startswith("Bearer "):
            return False
        with self.lock:
            exp = self.access_tokens.get(header[7:])
            return exp is not None and time.monotonic() < exp

    def basic_ok(self, header):
        with self.lock:
            want = "Basic " + base64.b64encode((self.settings["api_key"] + ":").encode()).decode()
        return header == want

    def revoke(self):
        with self.lock:
            self.access_tokens.clear()

    def enroll_state(self, token_id):
        """The token's record, claimed once its time has come."""
        with self.lock:
            rec = self.enroll_tokens.get(token_id)
            if rec is None:
                return None
            delay = self.settings["claim_delay"]
            if rec["status"] == "pending" and delay is not None and time.monotonic() - rec["issued"] >= delay:
                self._claim(rec, None, self.settings["claim_error"])
            return dict(rec)

    def _claim(self, rec, device_id, error):
        if error:
            rec["status"] = "error"
            rec["error"] = {"code": error.get("code", "enrollment_failed"), "message": error.get("message", "")}
        else:
            rec["status"] = "claimed"
            rec["device_id"] = device_id or self.settings["device_id"] or secrets.token_hex(8)
            rec["claimed_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    def claim(self, token_id, device_id, error):
        with self.lock:
            if token_id is None:
                pending = [r for r in self.enroll_tokens.values() if r["status"] == "pending"]
                if not pending:
                    return None
                rec = min(pending, key=lambda r: r["issued"])
            else:
                rec = self.enroll_tokens.get(token_id)
                if rec is None:
                    return None
            self._claim(rec, device_id, error)
            return dict(rec)


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def errors_doc(status, code, title, detail):
    return {"errors": [{"status": str(status), "code": code, "title": title, "detail": detail}]}


# ---- the handler ----

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body are written separately: without TCP_NODELAY each response would wait
    # for the client's delayed ACK (some 40 ms)
    disable_nagle_algorithm = True
    server_version = "factory-server/1"
    sys_version = ""

    def log_message(self, format, *args):
        pass

    @property
    def state(self):
        return self.server.state

    # responses

    def send_raw(self, status, body, content_type="application/json", headers=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def send_json(self, status, doc, headers=None):
        self.send_raw(status, json.dumps(doc), headers=headers)

    def send_error_doc(self, status, code, title, detail, headers=None):
        self.send_json(status, errors_doc(status, code, title, detail), headers)

    def reset_connection(self):
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        try:
            self.connection.close()
        except OSError:
            pass

    # requests

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_PUT(self):
        self.dispatch("PUT")

    def dispatch(self, method):
        try:
            body = self.read_body()
            path = self.path.split("?", 1)[0]
            if path.startswith("/_control/"):
                return self.control(method, path, body)
            api_path = path[len(API_PREFIX):] if path.startswith(API_PREFIX + "/") else path
            fault = self.state.pick_fault(method, api_path)
            self.state.record({
                "t": time.monotonic(), "wall": time.time(), "method": method, "path": self.path,
                "api_path": api_path, "headers": {k: v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"), "fault": fault["action"] if fault else None,
            })
            if fault and self.apply_fault(fault, method, path):
                return
            self.api(method, api_path, body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
        except Exception as e:  # a bad fault description, say: tell whoever runs the test
            print(f"factory-server: {method} {self.path}: {e!r}", file=sys.stderr)
            self.close_connection = True

    def echo(self, text):
        """A server that repeats secrets back: {login_key} and {api_key} are replaced."""
        settings = self.state.settings
        return text.replace("{login_key}", settings["login_key"]).replace("{api_key}", settings["api_key"])

    def apply_fault(self, f, method, path):
        """True when the fault answered the request."""
        action = f["action"]
        if action == "delay":
            time.sleep(float(f.get("seconds", 1)))
            return False
        if action == "revoke":
            self.state.revoke()
            return False
        if action == "reset":
            self.reset_connection()
            return True
        if action == "status":
            status = int(f.get("status", 500))
            kind = f.get("body", "json")
            headers = f.get("headers", {})
            if kind == "json":
                title = self.echo(f.get("title", "Injected"))
                detail = self.echo(f.get("detail", f"injected status {status}"))
                self.send_error_doc(status, f.get("code", "injected"), title, detail, headers)
            elif kind == "empty":
                self.send_raw(status, b"", content_type=None, headers=headers)
            elif kind == "html":
                self.send_raw(status, f"<html><body><h1>{status} Bad Gateway</h1></body></html>",
                              "text/html", headers)
            elif kind == "truncated":
                self.send_raw(status, '{"errors": [{"status": "%d", "title": "Cut o' % status, headers=headers)
            else:
                raise ValueError(f"unknown body kind {kind!r}")
            return True
        if action == "short":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "200")
            self.end_headers()
            self.wfile.write(b'{"plan_id": "0123')
            self.wfile.flush()
            self.close_connection = True
            return True
        if action == "raw":
            self.send_raw(int(f.get("status", 200)), f.get("raw", ""), f.get("content_type", "application/json"))
            return True
        if action == "json":
            self.send_json(int(f.get("status", 200)), f.get("json"))
            return True
        if action == "oversize":
            self.send_json(200, {"plan_id": "0123456789abcdef", "token_id": "00000000000000aa",
                                 "padding": "x" * (70 * 1024)})
            return True
        if action == "redirect":
            host = "127.0.0.1:%d" % self.server.server_address[1]
            loc = f.get("location", f"https://{host}{path}")
            self.send_raw(302, b"", content_type=None, headers={"Location": loc})
            return True
        raise ValueError(f"unknown fault action {action!r}")

    def api(self, method, path, body):
        st = self.state
        settings = st.settings
        auth = self.headers.get("Authorization")

        if method == "POST" and path == "/auth/token":
            doc = self.parse_json(body)
            if doc is None:
                return
            if not isinstance(doc, dict) or doc.get("key") != settings["login_key"]:
                return self.send_error_doc(401, "invalid_credentials", "Unauthorized", "the login key is not valid")
            token = st.new_access_token()
            ttl = int(settings["token_ttl"])
            resp = {"access_token": token, "expires_at": iso(time.time() + ttl),
                    "refresh_token": secrets.token_urlsafe(16)}
            if settings["expires_in"]:
                resp["expires_in"] = ttl
            return self.send_json(200, resp)

        m = re.fullmatch(r"/devices/([^/]+)", path)
        if method == "GET" and m:
            if not st.bearer_ok(auth):
                return self.send_error_doc(401, "unauthorized", "Unauthorized", "the access token is not valid")
            dev = m.group(1)
            if settings["unknown_fixture"]:
                return self.send_error_doc(404, "not_found", "Not Found", f"no device {dev}")
            data = {"type": "device", "id": dev, "attributes": {"name": "test fixture"}}
            if settings["fixture_group"] is not None:
                data["relationships"] = {"devicegroup": {"type": settings["fixture_group"], "id": "dg-1"}}
            return self.send_json(200, {"data": data})

        if method == "POST" and path == "/enroll":
            if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
                return self.send_error_doc(415, "unsupported_media_type", "Unsupported Media Type",
                                           "the body must be application/json")
            doc = self.parse_json(body)
            if doc is None:
                return
            kind = doc.get("type") if isinstance(doc, dict) else None
            if kind == "factory_token":
                if not st.bearer_ok(auth):
                    return self.send_error_doc(401, "unauthorized", "Unauthorized", "the access token is not valid")
                fid = doc.get("fixture_id")
                if not isinstance(fid, str) or not HEX_ID.match(fid):
                    return self.send_error_doc(400, "invalid_fixture_id", "Bad Request", "fixture_id is not hex")
                if settings["enroll_forbidden"] or settings["unknown_fixture"] or \
                        settings["fixture_group"] not in ("factoryfixture_devicegroup",
                                                          "pre_factoryfixture_devicegroup"):
                    return self.send_error_doc(403, "forbidden", "Forbidden", f"{fid} is not a factory fixture")
                plan = settings["plan_id"]
            elif kind == "production_token":
                if not st.basic_ok(auth):
                    return self.send_error_doc(401, "unauthorized", "Unauthorized", "the API key is not valid")
                plan = doc.get("plan_id", settings["plan_id"])
                if not isinstance(plan, str) or not HEX_ID.match(plan):
                    return self.send_error_doc(400, "invalid_plan_id", "Bad Request", "plan_id is not hex")
            else:
                return self.send_error_doc(400, "invalid_type", "Bad Request",
                                           "type must be factory_token or production_token")
            token_id = secrets.token_hex(8)
            rec = {"token_id": token_id, "plan_id": plan, "type": kind, "fixture_id": doc.get("fixture_id"),
                   "issued": time.monotonic(), "status": "pending"}
            with st.lock:
                st.enroll_tokens[token_id] = rec
            return self.send_json(201, {"plan_id": plan, "token_id": token_id,
                                        "expires_at": iso(time.time() + settings["token_expires_in"])})

        m = re.fullmatch(r"/enroll/([^/]+)", path)
        if method == "GET" and m:
            if not (st.bearer_ok(auth) or st.basic_ok(auth)):
                return self.send_error_doc(401, "unauthorized", "Unauthorized", "not authorized")
            rec = st.enroll_state(m.group(1))
            if rec is None:
                return self.send_error_doc(404, "not_found", "Not Found", f"no enrollment token {m.group(1)}")
            resp = {"token_id": rec["token_id"], "plan_id": rec["plan_id"], "status": rec["status"]}
            for k in ("device_id", "claimed_at", "error"):
                if k in rec:
                    resp[k] = rec[k]
            return self.send_json(200, resp)

        return self.send_error_doc(404, "not_found", "Not Found", f"no such resource {method} {path}")

    def parse_json(self, body):
        try:
            return json.loads(body.decode())
        except (ValueError, UnicodeDecodeError):
            self.send_error_doc(400, "invalid_json", "Bad Request", "the body is not JSON")
            return None

    def control(self, method, path, body):
        st = self.state
        try:
            doc = json.loads(body.decode()) if body else {}
        except ValueError:
            return self.send_error_doc(400, "invalid_json", "Bad Request", "the body is not JSON")
        if path == "/_control/log" and method == "GET":
            with st.lock:
                return self.send_json(200, {"requests": list(st.log)})
        if path == "/_control/log" and method == "DELETE":
            with st.lock:
                st.log.clear()
            return self.send_json(200, {})
        if path == "/_control/mode" and method == "GET":
            with st.lock:
                return self.send_json(200, st.settings)
        if path == "/_control/mode" and method == "POST":
            try:
                return self.send_json(200, st.set(doc))
            except (ValueError, AttributeError) as e:
                return self.send_error_doc(400, "invalid_setting", "Bad Request", str(e))
        if path == "/_control/claim" and method == "POST":
            rec = st.claim(doc.get("token_id"), doc.get("device_id"), doc.get("error"))
            if rec is None:
                return self.send_error_doc(404, "not_found", "Not Found", "no such pending token")
            return self.send_json(200, rec)
        if path == "/_control/tokens" and method == "GET":
            with st.lock:
                return self.send_json(200, {"tokens": list(st.enroll_tokens.values())})
        if path == "/_control/revoke" and method == "POST":
            st.revoke()
            return self.send_json(200, {})
        return self.send_error_doc(404, "not_found", "Not Found", f"no control {method} {path}")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, state, context):
        self.state = state
        self.context = context
        super().__init__(address, Handler)

    def finish_request(self, request, client_address):
        # the TLS handshake in the connection's own thread: a stalled client blocks no one
        if self.context:
            try:
                request.settimeout(30)
                request = self.context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as e:
                print(f"factory-server: TLS handshake with {client_address[0]} failed: {e}", file=sys.stderr)
                return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        pass


def main():
    ap = argparse.ArgumentParser(description="A local factory server for blinkupd (tests and demo).")
    ap.add_argument("--make-pki", metavar="DIR", help="create a throwaway PKI in DIR and exit")
    ap.add_argument("--pki", metavar="DIR", help="the PKI to serve with (created when missing)")
    ap.add_argument("--cert", choices=("server", "expired", "wronghost"), default="server")
    ap.add_argument("--http", action="store_true", help="plain HTTP instead of HTTPS")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--config", default="{}", help="initial settings, a JSON object")
    ap.add_argument("--log-file", help="append every API request as a JSON line")
    ap.add_argument("--login-key")
    ap.add_argument("--api-key")
    ap.add_argument("--claim-delay", type=float)
    args = ap.parse_args()

    if args.make_pki:
        make_pki(args.make_pki)
        return 0

    settings = json.loads(args.config)
    if args.login_key is not None:
        settings["login_key"] = args.login_key
    if args.api_key is not None:
        settings["api_key"] = args.api_key
    if args.claim_delay is not None:
        settings["claim_delay"] = args.claim_delay if args.claim_delay >= 0 else None
    for k in settings:
        if k not in DEFAULT_SETTINGS:
            sys.exit(f"factory-server: unknown setting {k!r}")

    context = None
    if not args.http:
        if not args.pki:
            sys.exit("factory-server: --pki DIR is needed for HTTPS (or --http)")
        make_pki(args.pki)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(os.path.join(args.pki, f"{args.cert}.pem"), os.path.join(args.pki, "server.key"))

    state = State(settings, args.log_file)
    server = Server(("127.0.0.1", args.port), state, context)
    # the log is written line by line as requests arrive: nothing is lost by leaving at once
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
