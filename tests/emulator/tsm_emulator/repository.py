"""The repository: a real PostgreSQL whose SSL mode follows repository-ssl.

The data directory lives outside DIR (DIR/pg is a symlink to it) because, when we run as
root, PostgreSQL runs as the `postgres` user, which cannot traverse private (0700) parents
such as pytest's tmp dirs, and because unix socket paths are limited to 107 bytes.
"""
import contextlib
import fcntl
import glob
import os
import pwd
import shutil
import socket
import ssl
import struct
import subprocess
import threading

from tsm_emulator import layout

TRUE = ("true", "1", "yes", "on")
TEMPLATE_V = 2   # bump when the template's roles/databases change
SSL_REQUEST = 80877103
PROTOCOL_3 = 196608  # StartupMessage of protocol 3.0


def find_pg_bin():
    env = os.environ.get("TSM_EMULATOR_PG_BIN")
    if env:
        return env if os.path.isfile(os.path.join(env, "initdb")) else None
    if os.environ.get("TSM_EMULATOR_NO_POSTGRES"):
        return None
    cands = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: [int(x) for x in p.split("/")[4].split(".") if x.isdigit()])
    return os.path.dirname(cands[-1]) if cands else None


def mode_of(applied):
    en = str(applied.get("pgsql.ssl.enabled", "false")).lower() in TRUE
    req = str(applied.get("pgsql.ssl.required", "false")).lower() in TRUE
    if en and req:
        return "required"
    if en:
        return "internal-only"
    return "off"


def _pg_owner():
    """(uid, gid) PostgreSQL runs as: postgres when we are root, else ourselves."""
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        return pw.pw_uid, pw.pw_gid
    return os.geteuid(), os.getegid()


def _chown(path, recursive=False):
    uid, gid = _pg_owner()
    if os.geteuid() != 0:
        return
    os.chown(path, uid, gid)
    if recursive:
        for root, dirs, files in os.walk(path):
            for n in dirs + files:
                with contextlib.suppress(FileNotFoundError):
                    os.lchown(os.path.join(root, n), uid, gid)


def cert_dir(d, cluster=None):
    c = cluster or layout.load_cluster(d)
    node = next(n for n in c["nodes"] if n["name"] == c["repository"]["node"])
    return os.path.join(node["data_dir"], "data", "tabsvc", "config",
                        "pgsql_%s" % c["repository"].get("pg_version", "15"), "security")


def ensure_repository_cert(d, generation=None, cluster=None):
    """server.crt/server.key for the repository (certs.ensure_repository_cert does the work:
    regenerated when missing or when state.repository_cert.generation changed); the files are
    then given to the PostgreSQL user, key 0600.  Returns the path of server.crt.
    Reads state.json without the state lock (the tsm CLI may hold it when calling this).
    """
    d = layout.abspath(d)
    if generation is None:
        generation = (layout.read_state(d).get("repository_cert") or {}).get("generation", 1)
    try:
        from tsm_emulator import certs as _certs
    except ImportError:
        _certs = None
    if _certs is not None and hasattr(_certs, "ensure_repository_cert"):
        crt = _certs.ensure_repository_cert(d, generation)
    else:
        crt = _own_repository_cert(d, generation, cluster)
    key = os.path.join(os.path.dirname(crt), "server.key")
    os.chmod(key, 0o600)
    for p in (crt, key):
        _chown(p)
    return crt


def _own_repository_cert(d, generation, cluster=None):
    c = cluster or layout.load_cluster(d)
    sec = cert_dir(d, c)
    crt, key = os.path.join(sec, "server.crt"), os.path.join(sec, "server.key")
    marker = os.path.join(sec, "server.generation")
    cur = None
    with contextlib.suppress(OSError, ValueError):
        with open(marker) as f:
            cur = int(f.read().strip())
    if cur == int(generation) and os.path.isfile(crt) and os.path.isfile(key):
        return crt
    os.makedirs(sec, exist_ok=True)
    node = next(n for n in c["nodes"] if n["name"] == c["repository"]["node"])
    addr = c["repository"]["address"]
    layout.generate_self_signed(crt, key, node["hostname"],
                                dns=[node["hostname"], node["name"], "localhost"],
                                ips=sorted({addr, "127.0.0.1"}))
    with open(marker, "w") as f:
        f.write("%d\n" % int(generation))
    return crt


class Repository:
    """Supervises one PostgreSQL instance (or the SSLRequest responder fallback)."""

    def __init__(self, d, cluster):
        self.dir, self.cluster = d, cluster
        r = cluster["repository"]
        self.addr, self.port = r["address"], r["port"]
        self.bin = find_pg_bin() if r.get("real_postgres", True) else None
        self.real = bool(self.bin)
        self.pgdir = r.get("pg_dir") or os.path.join(d, "pg")
        self.data = os.path.join(self.pgdir, "data")
        self.sock = os.path.join(self.pgdir, "sock")
        self.log = os.path.join(self.pgdir, "pg.log")
        self.mode = None          # mode PostgreSQL currently runs with
        self.cert_fp = None
        self.running = False
        self.status = "stopped"
        self._fallback = None

    # ---------------------------------------------------------------- helpers
    def _run(self, argv, check=True, timeout=60, **kw):
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--"] + argv
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=timeout, cwd="/", check=False, **kw)
        if check and p.returncode != 0:
            tool = next((os.path.basename(a) for a in argv if a.startswith(self.bin or "/")),
                        argv[0])
            raise RuntimeError("%s failed (%d): %s" % (tool, p.returncode,
                                                       p.stdout.strip()[-800:]))
        return p

    def pg(self, tool):
        return os.path.join(self.bin, tool)

    def psql(self, sql, user="tsm", db="postgres"):
        return self._run([self.pg("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.sock,
                          "-p", str(self.port), "-U", user, "-d", db, "-Atc", sql])

    # ---------------------------------------------------------------- init
    def init(self):
        if not self.real:
            return
        if os.path.isfile(os.path.join(self.data, "PG_VERSION")):
            return
        os.makedirs(os.path.dirname(self.pgdir), exist_ok=True)
        with contextlib.suppress(PermissionError):
            os.chmod(os.path.dirname(self.pgdir), 0o755)
        os.makedirs(self.sock, exist_ok=True)
        os.chmod(self.pgdir, 0o700)
        _chown(self.pgdir, recursive=True)
        link = os.path.join(self.dir, "pg")
        if self.pgdir != link and not os.path.lexists(link):
            os.symlink(self.pgdir, link)
        tmpl = self._template()
        subprocess.run(["cp", "-a", tmpl, self.data], check=True)
        self._write_conf("off")

    def _template(self):
        """A data directory with the roles and databases already made, built once per machine
        and PostgreSQL version and copied by every cluster (CREATE DATABASE costs ~0.3 s each).
        """
        ver = os.path.basename(os.path.dirname(self.bin))
        base = os.path.join(os.path.dirname(self.pgdir), "template-%s-v%d" % (ver, TEMPLATE_V))
        data = os.path.join(base, "data")
        if os.path.exists(os.path.join(base, "ready")):
            return data
        fd = os.open(base + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.path.exists(os.path.join(base, "ready")):
                return data
            shutil.rmtree(base, ignore_errors=True)
            tmp = "%s.tmp%d" % (base, os.getpid())
            shutil.rmtree(tmp, ignore_errors=True)
            os.makedirs(tmp, 0o700)
            _chown(tmp)
            tdata = os.path.join(tmp, "data")
            for stale in glob.glob(os.path.join(os.path.dirname(base), "template-*")):
                if not stale.startswith(base):
                    shutil.rmtree(stale, ignore_errors=True)
            self._run([self.pg("initdb"), "-D", tdata, "-U", "tsm", "--auth=trust",
                       "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions",
                       "--wal-segsize=1"])
            with open(os.path.join(tdata, "postgresql.conf"), "a") as f:
                f.write("\ninclude_if_exists = 'emulator.conf'\n")
            opts = "-c listen_addresses='' -c unix_socket_directories='%s' -c port=5432 " \
                   "-c fsync=off -c full_page_writes=off -c min_wal_size=2MB " \
                   "-c max_wal_size=32MB" % tmp
            self._run([self.pg("pg_ctl"), "-D", tdata, "-l", os.path.join(tmp, "log"), "-w",
                       "-t", "60", "-o", opts, "start"])
            try:
                argv = [self.pg("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", tmp,
                        "-p", "5432", "-U", "tsm", "-d", "postgres"]
                for st in ("CREATE ROLE tableau LOGIN", "CREATE ROLE readonly LOGIN",
                           "CREATE DATABASE workgroup OWNER tableau",
                           "CREATE DATABASE tableau OWNER tableau",
                           "CREATE DATABASE readonly OWNER readonly", "CHECKPOINT"):
                    argv += ["-c", st]
                self._run(argv)
            finally:
                self._run([self.pg("pg_ctl"), "-D", tdata, "-m", "fast", "-w", "stop"],
                          check=False)
            with open(os.path.join(tmp, "ready"), "w") as f:
                f.write("ok\n")
            os.rename(tmp, base)
            return data
        finally:
            os.close(fd)

    def _create_roles(self):
        """Once, on the first start: this cluster's passwords for tsm, tableau and readonly."""
        marker = os.path.join(self.pgdir, "roles.done")
        if os.path.exists(marker):
            return
        pw = {u: layout.repository_password(self.dir, u) for u in ("tsm", "tableau", "readonly")}
        argv = [self.pg("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.sock,
                "-p", str(self.port), "-U", "tsm", "-d", "postgres"]
        for u in ("tsm", "tableau", "readonly"):
            argv += ["-c", "ALTER ROLE %s PASSWORD '%s'" % (u, pw[u])]
        self._run(argv)
        with open(marker, "w") as f:
            f.write("ok\n")

    # ---------------------------------------------------------------- config
    def _write_conf(self, mode):
        ssl_on = mode in ("required", "internal-only")
        lines = [
            "listen_addresses = '%s'" % self.addr,
            "port = %d" % self.port,
            "unix_socket_directories = '%s'" % self.sock,
            "max_connections = 30",
            "shared_buffers = 16MB",
            "fsync = off", "synchronous_commit = off", "full_page_writes = off",
            "min_wal_size = 2MB", "max_wal_size = 32MB",
            "password_encryption = 'scram-sha-256'",
            "ssl = %s" % ("on" if ssl_on else "off"),
            "ssl_cert_file = 'server.crt'", "ssl_key_file = 'server.key'",
            "ssl_min_protocol_version = 'TLSv1.2'",
        ]
        p = os.path.join(self.data, "emulator.conf")
        with open(p, "w") as f:
            f.write("# written by the tsm emulator: repository SSL mode %s\n" % mode)
            f.write("\n".join(lines) + "\n")
        hba = ["# written by the tsm emulator: repository SSL mode %s" % mode,
               "local all all trust"]
        nets = ("0.0.0.0/0", "::/0")
        for net in nets:
            if mode == "required":
                hba.append("hostssl all all %s scram-sha-256" % net)
                hba.append("hostnossl all all %s reject" % net)
            elif mode == "internal-only":
                hba.append("hostssl all all %s scram-sha-256" % net)
                hba.append("host all all %s scram-sha-256" % net)
            else:
                hba.append("host all all %s scram-sha-256" % net)
        with open(os.path.join(self.data, "pg_hba.conf"), "w") as f:
            f.write("\n".join(hba) + "\n")
        _chown(p)
        _chown(os.path.join(self.data, "pg_hba.conf"))

    def _install_cert(self):
        crt = ensure_repository_cert(self.dir, cluster=self.cluster)
        key = os.path.join(os.path.dirname(crt), "server.key")
        for src, name in ((crt, "server.crt"), (key, "server.key")):
            dst = os.path.join(self.data, name)
            shutil.copyfile(src, dst)
            os.chmod(dst, 0o600)
            _chown(dst)
        with open(crt, "rb") as f:
            return f.read()

    # ---------------------------------------------------------------- lifecycle
    def apply(self, mode, services_running=True):
        """Bring PostgreSQL to `mode` (restarting only when something changed)."""
        try:
            if not services_running:
                self.stop()
                return self.status
            if not self.real:
                return self._fallback_apply(mode)
            self.init()
            fp = self._install_cert() if mode != "off" else None
            if self.running and mode == self.mode and fp == self.cert_fp and self._alive():
                return self.status
            self.stop()
            self._write_conf(mode)
            self._run([self.pg("pg_ctl"), "-D", self.data, "-l", self.log, "-w", "-t", "60",
                       "start"])
            self.running, self.mode, self.cert_fp = True, mode, fp
            self._create_roles()
            self.status = "ssl=%s" % mode
        except Exception as e:  # reported, not raised: the daemon must stay up
            self.status = "error: %s" % e
        return self.status

    def _alive(self):
        pid = self.pid()
        return bool(pid) and layout.pid_alive(pid)

    def pid(self):
        with contextlib.suppress(OSError, ValueError):
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                return int(f.readline().strip())
        return None

    def stop(self):
        if self._fallback:
            self._fallback.close()
            self._fallback = None
        if self.real and os.path.isfile(os.path.join(self.data, "postmaster.pid")):
            self._run([self.pg("pg_ctl"), "-D", self.data, "-m", "fast", "-w", "-t", "30",
                       "stop"], check=False)
            pid = self.pid()
            if pid and layout.pid_alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, 9)
        self.running, self.mode, self.cert_fp = False, None, None
        self.status = "stopped"

    # ---------------------------------------------------------------- fallback
    def _fallback_apply(self, mode):
        if self._fallback and self._fallback.mode == mode:
            return self.status
        if self._fallback:
            self._fallback.close()
        ctx = None
        if mode != "off":
            crt = ensure_repository_cert(self.dir, cluster=self.cluster)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(crt, os.path.join(os.path.dirname(crt), "server.key"))
        self._fallback = _SSLRequestResponder(self.addr, self.port, mode, ctx)
        self.running, self.mode = True, mode
        self.status = "ssl=%s (responder)" % mode
        return self.status


class _SSLRequestResponder:
    """Answers the PostgreSQL SSLRequest with 'S'/'N' (no PostgreSQL binaries here)."""

    def __init__(self, addr, port, mode, ctx):
        self.mode, self.ctx = mode, ctx
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self):
        while not self._stop.is_set():
            try:
                c, _peer = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._one, args=(c,), daemon=True).start()

    def _one(self, c):
        with contextlib.closing(c):
            c.settimeout(5)
            try:
                head = c.recv(8)
                if len(head) != 8:
                    return
                length, code = struct.unpack("!ii", head)
                if code == SSL_REQUEST:
                    if self.ctx is not None:
                        c.sendall(b"S")
                        with contextlib.suppress(Exception):
                            self.ctx.wrap_socket(c, server_side=True).close()
                    else:
                        c.sendall(b"N")
                elif code == PROTOCOL_3:
                    c.recv(max(0, min(length - 8, 10000)))
                    c.sendall(self._plaintext_answer(c.getpeername()[0]))
            except OSError:
                pass

    def _plaintext_answer(self, peer):
        """What PostgreSQL answers an unencrypted StartupMessage: with SSL required (pg_hba has
        only hostssl lines) an ErrorResponse 28000; otherwise a SCRAM authentication request."""
        if self.mode == "required":
            fields = [b"SFATAL", b"VFATAL", b"C28000",
                      ("Mpg_hba.conf rejects connection for host \"%s\", user \"tableau\", database "
                       "\"workgroup\", no encryption" % peer).encode()]
            body = b"".join(f + b"\0" for f in fields) + b"\0"
            return b"E" + struct.pack("!i", len(body) + 4) + body
        body = struct.pack("!i", 10) + b"SCRAM-SHA-256\0\0"
        return b"R" + struct.pack("!i", len(body) + 4) + body

    def close(self):
        self._stop.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(2)    # a thread blocked in poll/accept keeps the port bound
        with contextlib.suppress(OSError):
            self.sock.close()


def remove_pgdir(pgdir):
    if pgdir and os.path.isdir(pgdir):
        shutil.rmtree(pgdir, ignore_errors=True)


__all__ = ["Repository", "ensure_repository_cert", "find_pg_bin", "mode_of", "cert_dir",
           "remove_pgdir"]
