"""The per-cluster daemon: every node's gateway, the controller API, PostgreSQL supervision.

Python API (CONTRACT.md "Daemon protocol"):
    start(DIR), stop(DIR), running(DIR) -> bool, request(DIR, {"op": ...}, timeout) -> dict
Control socket DIR/run/daemon.sock: one JSON line in, one JSON line out.
    {"op": "ping"}                         -> {"ok": true, "pid": N}
    {"op": "reload", ["fail_gateway": true | "node2" | ["node2", ...]]}
                                           -> {"ok", "gateways": {...}, "repository": "ssl=..."}
    {"op": "stop_services"} / {"op": "start_services"}   (tsm stop / tsm start)
    {"op": "status"}                       -> processes, ports, statuses
    {"op": "knobs"}                        -> re-read knobs.json now
    {"op": "shutdown"}
"""
import contextlib
import hashlib
import json
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
import traceback

if __name__ == "__main__" and __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tsm_emulator import layout  # noqa: E402


# --------------------------------------------------------------------------- paths

def _run_dir(d):
    return os.path.join(layout.abspath(d), "run")


def pid_file(d):
    return os.path.join(_run_dir(d), "daemon.pid")


def sock_path(d):
    return os.path.join(_run_dir(d), "daemon.sock")


def log_file(d):
    return os.path.join(_run_dir(d), "daemon.log")


def _bind_path(d):
    """Path to bind the unix socket at; long DIRs get a short path plus a symlink."""
    p = sock_path(d)
    if len(p.encode()) <= 100:
        return p
    h = hashlib.sha256(layout.abspath(d).encode()).hexdigest()[:16]
    short = os.path.join(layout.REGISTRY_DIR, "sock", h + ".sock")
    os.makedirs(os.path.dirname(short), exist_ok=True)
    return short


def _connect_path(d):
    p = sock_path(d)
    return os.path.realpath(p) if os.path.islink(p) else p


def read_pid(d):
    with contextlib.suppress(OSError, ValueError):
        with open(pid_file(d)) as f:
            return int(f.read().strip())
    return None


# --------------------------------------------------------------------------- client API

def running(d):
    pid = read_pid(d)
    if not pid or not layout.pid_alive(pid):
        return False
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return b"tsm_emulator" in f.read()
    except OSError:
        return False


def request(d, req, timeout=120):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(_connect_path(d))
        s.sendall((json.dumps(req) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    finally:
        s.close()
    if not buf:
        raise ConnectionError("the emulator daemon closed the connection without answering")
    return json.loads(buf)


def _log_tail(d, n=30):
    with contextlib.suppress(OSError):
        with open(log_file(d)) as f:
            return "".join(f.readlines()[-n:])
    return ""


def start(d, timeout=120):
    """Spawn the daemon detached (double fork) and wait until it answers; returns its pid."""
    d = layout.abspath(d)
    if running(d):
        return read_pid(d)
    c = layout.load_cluster(d)
    os.makedirs(_run_dir(d), exist_ok=True)
    for p in (pid_file(d), sock_path(d)):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(p)
    py = c.get("python") or sys.executable
    if not os.path.exists(py):
        py = sys.executable
    env = dict(os.environ)
    env["PYTHONPATH"] = layout.EMU_ROOT + (os.pathsep + env["PYTHONPATH"]
                                           if env.get("PYTHONPATH") else "")
    env.pop("TSM_EMULATOR_NODE", None)
    with open(log_file(d), "ab") as log:
        p = subprocess.Popen([py, "-m", "tsm_emulator.daemon", "--detach", d], env=env,
                             stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd="/",
                             close_fds=True, start_new_session=True)
    p.wait(timeout=30)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(_connect_path(d)):
            with contextlib.suppress(OSError, ValueError, ConnectionError):
                r = request(d, {"op": "ping"}, timeout=5)
                if r.get("ok"):
                    return r.get("pid")
        pid = read_pid(d)
        if pid and not layout.pid_alive(pid):
            raise RuntimeError("emulator daemon exited during start-up:\n" + _log_tail(d))
        time.sleep(0.05)
    raise TimeoutError("emulator daemon did not become ready in %ss:\n%s" % (timeout, _log_tail(d)))


def stop(d, timeout=60):
    """SIGTERM the daemon (it stops PostgreSQL and its listeners) and wait for it."""
    d = layout.abspath(d)
    pid = read_pid(d)
    if pid and layout.pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.time() + timeout
        while layout.pid_alive(pid) and time.time() < deadline:
            time.sleep(0.05)
        if layout.pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
    for p in (pid_file(d), sock_path(d)):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(p)
    return pid


# --------------------------------------------------------------------------- the daemon

def _log(msg):
    sys.stdout.write("%s [%d] %s\n" % (time.strftime("%Y-%m-%d %H:%M:%S"), os.getpid(), msg))
    sys.stdout.flush()


class _Control(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    block_on_close = False


class _ControlHandler(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline()
        try:
            req = json.loads(line or b"{}")
            resp = self.server.daemon.handle(req)
        except Exception as e:
            _log("request failed: %s\n%s" % (e, traceback.format_exc()))
            resp = {"ok": False, "error": str(e)}
        self.wfile.write((json.dumps(resp) + "\n").encode())


class Daemon:
    def __init__(self, d):
        from tsm_emulator import controller_api, gateway, repository
        self.dir = layout.abspath(d)
        self.cluster = layout.load_cluster(self.dir)
        self.gateways = {n["name"]: gateway.Gateway(self.dir, n) for n in self.cluster["nodes"]}
        self.repo = repository.Repository(self.dir, self.cluster)
        self.api = controller_api.ControllerAPI(self.dir, self.cluster, self)
        self._gw = gateway
        self._repomod = repository
        self.lock = threading.RLock()
        self.stop_ev = threading.Event()
        self.services_running = layout.read_state(self.dir).get("server", "RUNNING") != "STOPPED"
        self.control = None
        self.knobs_mtime = None
        self.last_reload = None

    # ---------------------------------------------------------------- ops
    def gateway_status(self):
        return {n: g.status for n, g in self.gateways.items()}

    def _result(self, extra=None):
        gws = self.gateway_status()
        ok = not any(s.startswith("error") for s in gws.values()) and \
            not self.repo.status.startswith("error")
        r = {"ok": ok, "gateways": gws, "repository": self.repo.status,
             "server": "RUNNING" if self.services_running else "STOPPED"}
        if not ok:
            errs = ["%s: %s" % (n, s[len("error: "):]) for n, s in gws.items()
                    if s.startswith("error")]
            if self.repo.status.startswith("error"):
                errs.append("repository: %s" % self.repo.status[len("error: "):])
            r["error"] = "; ".join(errs)
        r.update(extra or {})
        return r

    def reload(self, fail_gateway=None):
        with self.lock:
            t0 = time.time()
            st = layout.read_state(self.dir)
            cfg = self._gw.desired_config(self.dir, st)
            if isinstance(fail_gateway, str):
                fail = {fail_gateway}
            elif isinstance(fail_gateway, (list, tuple)):
                fail = set(fail_gateway)
            elif fail_gateway:
                fail = set(self.gateways)
            else:
                fail = set()
            if self.services_running:
                for name, g in self.gateways.items():
                    g.apply(cfg, fail=name in fail)
            else:
                for g in self.gateways.values():
                    g.stop()
            applied = st.get("applied") or {}
            self.repo.apply(self._repomod.mode_of(applied), self.services_running)
            self.last_reload = time.time() - t0
            r = self._result({"seconds": round(self.last_reload, 3)})
            _log("reload: %s" % json.dumps(r))
            return r

    def handle(self, req):
        op = req.get("op")
        if op == "ping":
            return {"ok": True, "pid": os.getpid()}
        if op == "reload":
            return self.reload(req.get("fail_gateway"))
        if op == "stop_services":
            with self.lock:
                self.services_running = False
                return self.reload()
        if op == "start_services":
            with self.lock:
                self.services_running = True
                return self.reload(req.get("fail_gateway"))
        if op == "knobs":
            self.apply_knobs(force=True)
            return {"ok": True, "controller": "up" if self.api.up else "down"}
        if op == "status":
            return self.status()
        if op == "shutdown":
            self.stop_ev.set()
            return {"ok": True}
        return {"ok": False, "error": "unknown op %r" % op}

    def status(self):
        r = self._result()
        c = self.cluster
        r.update({
            "pid": os.getpid(),
            "postgres_pid": self.repo.pid() if self.repo.real and self.repo.running else None,
            "real_postgres": self.repo.real,
            "controller": "up" if self.api.up else "down",
            "controller_url": c["controller"]["url"],
            "listeners": self.listeners(),
            "last_reload_seconds": self.last_reload,
        })
        return r

    def listeners(self):
        out = []
        for name, g in self.gateways.items():
            for s in g.servers:
                a, p = s.server_address[:2]
                out.append({"what": "gateway-%s" % s.kind, "node": name, "address": a, "port": p})
        if self.api.up:
            out.append({"what": "controller-api", "node": "node1",
                        "address": self.cluster["controller"]["address"],
                        "port": self.cluster["controller"]["port"]})
        if self.repo.running:
            out.append({"what": "repository", "node": self.cluster["repository"]["node"],
                        "address": self.repo.addr, "port": self.repo.port})
        return out

    # ---------------------------------------------------------------- knobs
    def apply_knobs(self, force=False):
        p = os.path.join(self.dir, "knobs.json")
        try:
            m = os.stat(p).st_mtime_ns
        except FileNotFoundError:
            m = None
        if not force and m == self.knobs_mtime:
            return
        self.knobs_mtime = m
        k = layout.read_knobs(self.dir)
        if k.get("controller_unreachable"):
            if self.api.up:
                _log("knob controller_unreachable: closing the controller API")
                self.api.stop()
        elif not self.api.up:
            try:
                self.api.start()
                _log("controller API listening")
            except OSError as e:
                _log("controller API cannot listen: %s" % e)

    def _knob_watcher(self):
        while not self.stop_ev.wait(0.2):
            with contextlib.suppress(Exception):
                self.apply_knobs()

    # ---------------------------------------------------------------- main loop
    def run(self):
        signal.signal(signal.SIGTERM, lambda *a: self.stop_ev.set())
        signal.signal(signal.SIGINT, lambda *a: self.stop_ev.set())
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        with open(pid_file(self.dir), "w") as f:
            f.write("%d\n" % os.getpid())
        _log("daemon starting for %s (cluster %s)" % (self.dir, self.cluster["name"]))
        try:
            self.reload()
            self.apply_knobs(force=True)
            bind = _bind_path(self.dir)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(bind)
            old = os.umask(0o077)
            try:
                self.control = _Control(bind, _ControlHandler)
            finally:
                os.umask(old)
            self.control.daemon = self
            if bind != sock_path(self.dir):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(sock_path(self.dir))
                os.symlink(bind, sock_path(self.dir))
            threading.Thread(target=self.control.serve_forever, kwargs={"poll_interval": 0.1},
                             daemon=True, name="control").start()
            threading.Thread(target=self._knob_watcher, daemon=True, name="knobs").start()
            _log("ready")
            while not self.stop_ev.wait(0.5):
                pass
            _log("shutting down")
        finally:
            self.shutdown()

    def shutdown(self):
        if self.control:
            with contextlib.suppress(Exception):
                self.control.shutdown()
                self.control.server_close()
            with contextlib.suppress(OSError):
                os.unlink(os.path.realpath(sock_path(self.dir)))
        self.api.stop()
        for g in self.gateways.values():
            g.stop()
        with contextlib.suppress(Exception):
            self.repo.stop()
        for p in (sock_path(self.dir), pid_file(self.dir)):
            with contextlib.suppress(OSError):
                os.unlink(p)
        _log("stopped")


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    detach = "--detach" in argv
    argv = [a for a in argv if a != "--detach"]
    if len(argv) != 1:
        sys.stderr.write("usage: python -m tsm_emulator.daemon [--detach] DIR\n")
        return 2
    d = layout.abspath(argv[0])
    if detach:
        pid = os.fork()
        if pid:
            os.waitpid(pid, 0)
            os._exit(0)
        os.setsid()
        if os.fork():
            os._exit(0)
    os.chdir("/")
    os.umask(0o022)
    try:
        Daemon(d).run()
    except Exception:
        _log("fatal:\n" + traceback.format_exc())
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
