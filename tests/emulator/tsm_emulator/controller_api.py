"""Read-only TSM REST API 0.5 ("alpha") served by the emulated Administration Controller.

HTTPS on controller.address:8850 with the self-signed cert made at create (DIR/run/controller.*).
"""
import contextlib
import datetime
import hashlib
import hmac
import json
import os
import re
import secrets
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from tsm_emulator import layout
from tsm_emulator.gateway import TLSThreadingHTTPServer

PREFIX = "/api/0.5"
COOKIE = "AUTH_COOKIE"


def _iso(ts):
    if not ts:
        return None
    if isinstance(ts, str):
        return ts
    return datetime.datetime.fromtimestamp(float(ts), datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _masked(keys):
    out = {}
    for k, v in keys.items():
        v = "" if v is None else str(v)
        if v and re.search(r"(password|passphrase|secret)$", k) and not v.startswith("ENC("):
            v = "ENC(%s)" % hashlib.sha256(v.encode()).hexdigest()[:24]
        out[k] = v
    return out


def _job(j):
    status = j.get("status", "Succeeded")
    return {
        "id": j.get("id"), "status": status, "jobType": j.get("type", "Job"),
        "progress": 100 if status in ("Succeeded", "Failed", "Cancelled") else 50,
        "createdAt": _iso(j.get("created")), "updatedAt": _iso(j.get("completed") or j.get("created")),
        "completedAt": _iso(j.get("completed")), "worker": j.get("node", "node1"),
        "jobTimeout": j.get("timeout", 1800), "statusMessageData": {},
        "statusMessage": j.get("message") or ("This job completed successfully."
                                              if status == "Succeeded" else ""),
        "detailedProgress": {"progressNotes": [], "doneSteps": 1, "totalSteps": 1},
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tabadmincontroller"
    sys_version = ""

    def log_message(self, *a):
        pass

    def version_string(self):
        return self.server_version

    # -------------------------------------------------------------- plumbing
    def _send(self, code, obj=None, headers=()):
        body = b"" if obj is None else (json.dumps(obj, indent=2) + "\n").encode()
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        if obj is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, code, msg):
        self._send(code, {"httpErrorCode": code, "message": msg})

    def _cookie(self):
        for part in (self.headers.get("Cookie") or "").split(";"):
            k, _sep, v = part.strip().partition("=")
            if k == COOKIE:
                return v
        return None

    def _authed(self):
        c = self._cookie()
        return bool(c) and c in self.server.api.sessions

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    # -------------------------------------------------------------- verbs
    def do_POST(self):
        api = self.server.api
        path = urlsplit(self.path).path
        raw = self._body()
        if path == PREFIX + "/login":
            try:
                auth = json.loads(raw or b"{}")["authentication"]
                name, password = str(auth["name"]), str(auth["password"])
            except (ValueError, KeyError, TypeError):
                return self._error(400, "Request body must be "
                                   '{"authentication": {"name": ..., "password": ...}}')
            if not api.check_password(name, password):
                return self._error(401, "Authentication failed.")
            token = secrets.token_urlsafe(24)
            api.sessions[token] = {"user": name, "at": time.time()}
            return self._send(204, None, [("Set-Cookie", "%s=%s; Path=/; Secure; HttpOnly"
                                           % (COOKIE, token))])
        if path == PREFIX + "/logout":
            c = self._cookie()
            if c:
                api.sessions.pop(c, None)
            return self._send(204)
        if not self._authed():
            return self._error(401, "Unauthorized")
        return self._error(405 if path.startswith(PREFIX) else 404,
                           "This emulated TSM API is read-only")

    def do_GET(self):
        api = self.server.api
        u = urlsplit(self.path)
        path = u.path.rstrip("/")
        if not path.startswith(PREFIX + "/"):
            return self._error(404, "Not found")
        if not self._authed():
            return self._error(401, "Unauthorized")
        rest = path[len(PREFIX) + 1:]
        st = layout.read_state(api.dir)
        try:
            code, obj = api.route(rest, u.query, st)
        except Exception as e:  # pragma: no cover - surfaced to the client
            code, obj = 500, {"httpErrorCode": 500, "message": str(e)}
        self._send(code, obj)


class _Server(TLSThreadingHTTPServer):
    """The controller API server (TLS with the controller's self-signed certificate)."""


class ControllerAPI:
    def __init__(self, d, cluster, daemon=None):
        self.dir, self.cluster, self.daemon = d, cluster, daemon
        self.sessions = {}
        self.server = None

    # -------------------------------------------------------------- lifecycle
    @property
    def up(self):
        return self.server is not None

    def start(self):
        if self.server:
            return
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        run = os.path.join(self.dir, "run")
        ctx.load_cert_chain(os.path.join(run, "controller.crt"), os.path.join(run, "controller.key"))
        c = self.cluster["controller"]
        srv = _Server((c["address"], c["port"]), _Handler)
        srv.ctx, srv.api = ctx, self
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                         name="controller-api", daemon=True).start()
        self.server = srv

    def stop(self):
        if self.server:
            with contextlib.suppress(Exception):
                self.server.shutdown()
            with contextlib.suppress(Exception):
                self.server.server_close()
            self.server = None

    # -------------------------------------------------------------- auth
    def check_password(self, name, password):
        accounts = layout.load_cluster(self.dir).get("accounts") or layout.DEFAULT_ACCOUNTS
        want = accounts.get(name)
        if not want:
            return False
        got = hashlib.sha256(password.encode()).hexdigest()
        return hmac.compare_digest(want, got)

    # -------------------------------------------------------------- data
    def config_version(self, st):
        if st.get("config_version"):
            return int(st["config_version"])
        return 1 + sum(1 for j in st.get("jobs") or []
                       if "Apply" in str(j.get("type")) and j.get("status") == "Succeeded")

    def status(self, st):
        d = self.daemon
        running = d.services_running if d else st.get("server", "RUNNING") != "STOPPED"
        gws = d.gateway_status() if d else (st.get("gateway_status") or {})
        repo = d.repo.status if d else "unknown"
        now = _iso(time.time())
        nodes = []
        degraded = False
        for n in self.cluster["nodes"]:
            services = []
            for svc in n["services"] + ["clientfileservice", "vizportal", "vizqlserver"]:
                if svc == "controller":
                    svc_status, msg = "Running", ""
                elif not running:
                    svc_status, msg = "Stopped", ""
                elif svc == "gateway":
                    g = gws.get(n["name"], "down")
                    svc_status = "Running" if g == "up" else "Error"
                    msg = "" if g == "up" else g
                elif svc == "repository":
                    svc_status = "Error" if repo.startswith("error") else "Running"
                    msg = repo if repo.startswith("error") else ""
                else:
                    svc_status, msg = "Running", ""
                if svc_status == "Error":
                    degraded = True
                name = {"controller": "tabadmincontroller", "repository": "pgsql"}.get(svc, svc)
                services.append({"serviceName": name, "rollupStatus": svc_status,
                                 "rollupRequestedDeploymentState": "Enabled",
                                 "instances": [{"instanceId": "0", "processStatus": svc_status,
                                                "currentDeploymentState": "Enabled",
                                                "code": svc_status.upper(), "message": msg,
                                                "timestampUtc": now}]})
            nstat = "STOPPED" if not running else (
                "DEGRADED" if any(s["rollupStatus"] == "Error" for s in services) else "RUNNING")
            nodes.append({"nodeId": n["name"], "rollupStatus": nstat,
                          "rollupRequestedDeploymentState": "Enabled", "services": services})
        roll = "STOPPED" if not running else ("DEGRADED" if degraded else "RUNNING")
        return {"clusterStatus": {"rollupStatus": roll,
                                  "rollupRequestedDeploymentState":
                                      "Enabled" if running else "Disabled",
                                  "nodes": nodes}}

    def route(self, rest, query, st):
        parts = rest.split("/")
        if rest == "status":
            return 200, self.status(st)
        if parts[0] == "nodes":
            infos = {n["name"]: {"nodeId": n["name"], "address": n["hostname"],
                                 "ipAddress": n["address"], "processorCount": 2,
                                 "services": n["services"]} for n in self.cluster["nodes"]}
            if len(parts) == 1:
                return 200, {"clusterNodes": {"nodes": list(infos.values())}}
            if parts[1] in infos:
                return 200, {"nodeInfo": infos[parts[1]]}
            return 404, {"httpErrorCode": 404, "message": "Unknown node %s" % parts[1]}
        if parts[0] == "asyncJobs":
            jobs = [_job(j) for j in st.get("jobs") or []]
            if len(parts) == 1:
                return 200, {"asyncJobs": jobs}
            for j in jobs:
                if str(j["id"]) == parts[1]:
                    return 200, {"asyncJob": j}
            return 404, {"httpErrorCode": 404, "message": "No job with id %s" % parts[1]}
        if rest == "configurations/requested/version":
            return 200, {"version": self.config_version(st)}
        if parts[0] == "configurations" and len(parts) >= 3 and parts[2] == "keys":
            ver = parts[1]
            if not ver.isdigit() or int(ver) < 1 or int(ver) > self.config_version(st):
                return 404, {"httpErrorCode": 404, "message": "Unknown configuration version %s"
                             % ver}
            keys = _masked(st.get("applied") or {})
            if len(parts) == 3:
                return 200, {"configKeys": keys}
            key = "/".join(parts[3:])
            if key in keys:
                return 200, {"configKeys": {key: keys[key]}}
            return 404, {"httpErrorCode": 404, "message": "Unknown key %s" % key}
        if rest == "topologies/requested/version":
            return 200, {"version": 1}
        if rest == "export":
            return 200, self.export(st, "includeBinaryVersion=true" in (query or ""))
        if rest == "bootstrap":
            c = self.cluster["controller"]
            return 200, {"initialBootstrapSettings": {"machineAddress": c["address"],
                                                      "port": c["port"]}}
        return 404, {"httpErrorCode": 404, "message": "Not found: %s" % rest}

    def export(self, st, binary):
        c = self.cluster
        n1 = c["nodes"][0]
        out = {
            "configEntities": {"gatewaySettings": {
                "_type": "gatewaySettingsType", "port": n1["gateway"]["http_port"],
                "sslRedirectEnabled": True, "publicHost": n1["hostname"],
                "publicPort": n1["gateway"]["http_port"]}},
            "configKeys": _masked(layout.requested(st)),
            "topologyVersion": {"nodes": {n["name"]: {"services": {
                s: {"instances": [{"instanceId": "0"}]} for s in n["services"]}}
                for n in c["nodes"]}},
        }
        if binary:
            out["binaryVersion"] = c["code"]
        return out
