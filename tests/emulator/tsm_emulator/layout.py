"""Cluster directory layout, address/port allocation and process bookkeeping.

Owned by the control CLI (``tsm-emulator create``).  See tests/emulator/CONTRACT.md.
"""
import contextlib
import fcntl
import getpass
import hashlib
import json
import os
import shlex
import shutil
import signal
import socket
import sys
import time

EMU_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PKG_DIR = os.path.join(EMU_ROOT, "tsm_emulator")
REGISTRY_DIR = os.environ.get("TSM_EMULATOR_REGISTRY", "/tmp/tsm-emulator")
MAX_CLUSTERS = 250

DEFAULT_VERSION = "2024.2"
# Fallback only: the other engineer's data files (data/versions.json) win when present.
_FALLBACK_CODES = {
    "2020.3": "20203.20.0807.2058",
    "2021.4": "20214.21.1109.1535",
    "2022.1": "20221.22.0415.1144",
    "2023.1": "20231.23.0310.1240",
    "2023.3": "20233.23.1017.0948",
    "2024.2": "20242.24.0807.0327",
    "2025.1": "20251.25.0408.0842",
    "2025.3": "20253.25.0917.1215",
}
DEFAULT_ACCOUNTS = {"tsmadmin": hashlib.sha256(b"tsmadmin-password").hexdigest()}


# --------------------------------------------------------------------------- helpers

def abspath(d):
    return os.path.abspath(os.path.expanduser(d))


def write_json(path, data, mode=0o644):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2, sort_keys=False)
        f.write("\n")
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def read_json(path, default=None, retries=20):
    """Read a JSON file that writers replace atomically; tolerate a torn read."""
    for i in range(retries):
        try:
            with open(path) as f:
                return json.load(f)
        except FileNotFoundError:
            return default
        except ValueError:
            time.sleep(0.02)
    with open(path) as f:
        return json.load(f)


def load_cluster(d):
    c = read_json(os.path.join(abspath(d), "cluster.json"))
    if c is None:
        raise FileNotFoundError("%s is not an emulated cluster (no cluster.json)" % d)
    return c


def read_state(d):
    """Read state.json WITHOUT taking the state lock.

    The daemon is called by the tsm CLI while it holds ``state.locked(DIR)``; taking the
    lock here would deadlock.  state.py writes state.json atomically (tmp + rename).
    """
    return read_json(os.path.join(abspath(d), "state.json"), default={}) or {}


def read_knobs(d):
    k = {"latency_ms": 5, "restart_ms": 200, "lock_held_calls": 0, "fail_writes": 0, "fail_reads": 0,
         "gateway_fail_next_apply": False, "controller_unreachable": False}
    k.update(read_json(os.path.join(abspath(d), "knobs.json"), default={}) or {})
    return k


def requested(st):
    try:
        from tsm_emulator import state as _state  # noqa
        if hasattr(_state, "requested"):
            return _state.requested(st)
    except ImportError:
        pass
    req = dict(st.get("applied") or {})
    for p in st.get("pending") or []:
        req.update(p.get("keys") or {})
    return req


def version_code(version):
    try:
        from tsm_emulator import versions as _versions
        return _versions.code(version)
    except (ImportError, ValueError, KeyError, FileNotFoundError):
        pass
    path = os.path.join(PKG_DIR, "data", "versions.json")
    data = read_json(path, default=None)
    if isinstance(data, dict):
        entry = data.get(version) or (data.get("versions") or {}).get(version)
        if isinstance(entry, dict) and entry.get("code"):
            return entry["code"]
        if isinstance(entry, str):
            return entry
    if version in _FALLBACK_CODES:
        return _FALLBACK_CODES[version]
    raise ValueError("unknown Tableau Server version %r (known: %s)"
                     % (version, ", ".join(sorted(_FALLBACK_CODES))))


def is_root():
    return os.geteuid() == 0


# --------------------------------------------------------------------------- registry

@contextlib.contextmanager
def _registry():
    os.makedirs(REGISTRY_DIR, exist_ok=True)
    with contextlib.suppress(PermissionError):
        os.chmod(REGISTRY_DIR, 0o1777)
    lock = os.path.join(REGISTRY_DIR, "registry.lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        path = os.path.join(REGISTRY_DIR, "registry.json")
        reg = read_json(path, default=None) or {"slots": {}}
        yield reg
        write_json(path, reg, mode=0o666)
    finally:
        os.close(fd)


def _reclaim(entry):
    """Clean up after a cluster whose directory vanished without destroy."""
    pgdir = entry.get("pg_dir")
    if pgdir and os.path.isdir(pgdir):
        pidfile = os.path.join(pgdir, "data", "postmaster.pid")
        with contextlib.suppress(Exception):
            with open(pidfile) as f:
                os.kill(int(f.readline().strip()), signal.SIGQUIT)
        shutil.rmtree(pgdir, ignore_errors=True)
    for p in find_processes([entry.get("dir")] + ([pgdir] if pgdir else [])):
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)


def allocate_slot(d, name=None):
    """Lowest free cluster index in 1..250; stale entries (DIR gone) are reclaimed."""
    with _registry() as reg:
        slots = reg.setdefault("slots", {})
        for k, e in list(slots.items()):
            ed = e.get("dir") or "/nonexistent"
            if not os.path.isdir(ed) or (
                    not os.path.exists(os.path.join(ed, "cluster.json"))
                    and time.time() - e.get("created", 0) > 60):
                _reclaim(e)
                del slots[k]
        for e in slots.values():
            if e.get("dir") == d:
                raise RuntimeError("%s is already registered as cluster %s" % (d, e.get("name")))
            if name and e.get("name") == name:
                raise RuntimeError("a cluster named %r already runs in %s" % (name, e["dir"]))
        for k in range(1, MAX_CLUSTERS + 1):
            if str(k) not in slots:
                pg_dir = os.path.join(REGISTRY_DIR, "pg", "%d-%s" % (k, os.urandom(4).hex()))
                slots[str(k)] = {"dir": d, "name": name or "c%d" % k, "created": time.time(),
                                 "pg_dir": pg_dir}
                return k, pg_dir
        raise RuntimeError("no free cluster slot (%d clusters registered)" % MAX_CLUSTERS)


def update_slot(k, **kw):
    with _registry() as reg:
        reg["slots"].setdefault(str(k), {}).update(kw)


def free_slot(d):
    with _registry() as reg:
        for k, e in list(reg.get("slots", {}).items()):
            if e.get("dir") == d:
                del reg["slots"][k]


def registry_entry(d):
    with _registry() as reg:
        for k, e in reg.get("slots", {}).items():
            if e.get("dir") == d:
                return dict(e, index=int(k))
    return None


# --------------------------------------------------------------------------- ports

def can_bind(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port(addr, avoid=()):
    for _attempt in range(50):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((addr, 0))
            port = s.getsockname()[1]
        finally:
            s.close()
        if port not in avoid:
            return port
    raise RuntimeError("no free port on %s" % addr)


# --------------------------------------------------------------------------- certificates

def generate_self_signed(crt_path, key_path, cn, dns=(), ips=(), days=825):
    """Self-signed RSA-2048 certificate (cryptography), key unencrypted, 0600."""
    import datetime
    import ipaddress
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.timezone.utc)
    sans = [x509.DNSName(n) for n in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    b = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(minutes=5))
         .not_valid_after(now + datetime.timedelta(days=days))
         .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True))
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = b.sign(key, hashes.SHA256())
    old = os.umask(0o077)
    try:
        with open(key_path, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.TraditionalOpenSSL,
                                      serialization.NoEncryption()))
        with open(crt_path, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
    finally:
        os.umask(old)
    os.chmod(key_path, 0o600)
    os.chmod(crt_path, 0o644)


# --------------------------------------------------------------------------- processes

def _proc_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read().rsplit(")", 1)[1].split()[0]
        return st not in ("Z", "X")
    except (OSError, IndexError):
        return False


def pid_alive(pid):
    return bool(pid) and _proc_alive(int(pid))


def children(pid):
    """Direct children of pid (e.g. PostgreSQL's backends, whose cmdline names no path)."""
    out = []
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                with open("/proc/%s/stat" % e) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(e))
            except (OSError, IndexError, ValueError):
                pass
    return out


def find_processes(needles):
    """PIDs (not zombies, not us) whose command line mentions any of the needles."""
    needles = [n for n in needles if n]
    found = []
    me = os.getpid()
    for e in os.listdir("/proc"):
        if not e.isdigit() or int(e) == me:
            continue
        try:
            with open("/proc/%s/cmdline" % e, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if any(n in cmd for n in needles) and _proc_alive(int(e)):
            found.append(int(e))
    return found


# --------------------------------------------------------------------------- create

WRAPPER = """#!/bin/sh
# tsm emulator wrapper for {node} of cluster {name} (generated by tsm-emulator create)
TSM_EMULATOR_DIR={dir}
TSM_EMULATOR_NODE={node}
export TSM_EMULATOR_DIR TSM_EMULATOR_NODE
exec {python} {main} "$@"
"""


def _default_state(cluster):
    return {
        "server": "RUNNING",
        "applied": {
            "ssl.enabled": "false", "ssl.cert.file_name": "", "ssl.key.file_name": "",
            "ssl.chain.file_name": "", "ssl.key.passphrase": "",
            "ssl.protocols": "all, -SSLv2, -SSLv3",
            "ssl.ciphersuite": "HIGH:MEDIUM:!aNULL:!MD5:!RC4:!3DES",
            "pgsql.ssl.enabled": "false", "pgsql.ssl.required": "false",
        },
        "pending": [], "custom_cert": None,
        "gateway_status": {n["name"]: "up" for n in cluster["nodes"]},
        "repository_cert": {"generation": 1}, "tokens": {"generation": 0, "last": None},
        "jobs": [], "kms": {},
    }


def create(d, nodes=3, version=DEFAULT_VERSION, name=None, authorized_users=None,
           latency_ms=5, restart_ms=200):
    d = abspath(d)
    if os.path.exists(os.path.join(d, "cluster.json")):
        raise RuntimeError("%s already holds a cluster (destroy it first)" % d)
    if not 1 <= nodes <= 250:
        raise ValueError("--nodes must be between 1 and 250")
    code = version_code(version)
    os.makedirs(d, exist_ok=True)
    k, pg_dir = allocate_slot(d, name)
    try:
        return _create(d, k, pg_dir, nodes, version, code, name or "c%d" % k,
                       authorized_users, latency_ms, restart_ms)
    except BaseException:
        free_slot(d)
        raise


def _create(d, k, pg_dir, nnodes, version, code, name, authorized_users, latency_ms,
            restart_ms):
    py = os.path.abspath(sys.executable)
    main = os.path.join(PKG_DIR, "tsm_main.py")
    nodes = []
    for i in range(1, nnodes + 1):
        addr = "127.201.%d.%d" % (k, i)
        https = 443 if can_bind(addr, 443) else free_port(addr, avoid=(8850, 8060))
        http = 80 if can_bind(addr, 80) else free_port(addr, avoid=(8850, 8060, https))
        nname = "node%d" % i
        nd = os.path.join(d, nname)
        bindir = os.path.join(nd, "opt/tableau/tableau_server/packages/customer-bin.%s" % code)
        data_dir = os.path.join(nd, "var/opt/tableau/tableau_server")
        os.makedirs(bindir, exist_ok=True)
        os.makedirs(os.path.join(data_dir, "data/tabsvc/config"), exist_ok=True)
        os.makedirs(os.path.join(nd, "home"), exist_ok=True)
        tsm = os.path.join(bindir, "tsm")
        with open(tsm, "w") as f:
            f.write(WRAPPER.format(node=nname, name=name, dir=shlex.quote(d),
                                   python=shlex.quote(py), main=shlex.quote(main)))
        os.chmod(tsm, 0o755)
        services = ["gateway"] + (["controller", "repository"] if i == 1 else [])
        nodes.append({"name": nname, "hostname": "node%d.%s.tsm.test" % (i, name),
                      "address": addr, "gateway": {"https_port": https, "http_port": http},
                      "tsm_path": tsm, "data_dir": data_dir, "services": services})
    n1 = nodes[0]
    pg_bin = __import__("tsm_emulator.repository", fromlist=["x"]).find_pg_bin()
    pg_version = os.path.basename(os.path.dirname(pg_bin)) if pg_bin else "15"
    cluster = {
        "name": name, "index": k, "version": version, "code": code, "python": py,
        "initial_node": "node1",
        "authorized_users": list(authorized_users or [getpass.getuser()]),
        "accounts": dict(DEFAULT_ACCOUNTS),
        "nodes": nodes,
        "controller": {"node": "node1", "address": n1["address"], "port": 8850,
                       "url": "https://%s:8850" % n1["hostname"]},
        "repository": {"node": "node1", "address": n1["address"], "port": 8060,
                       "pg_version": pg_version, "real_postgres": bool(pg_bin), "user": "tsm",
                       "pg_dir": pg_dir},
        "created": time.time(),
    }
    os.makedirs(os.path.join(d, "cfs"), exist_ok=True)
    run = os.path.join(d, "run")
    os.makedirs(run, exist_ok=True)
    os.chmod(run, 0o700)
    write_json(os.path.join(d, "cluster.json"), cluster)
    write_json(os.path.join(d, "knobs.json"),
               {"latency_ms": latency_ms, "restart_ms": restart_ms, "lock_held_calls": 0,
                "fail_writes": 0, "fail_reads": 0, "gateway_fail_next_apply": False,
                "controller_unreachable": False})
    init_state(d, cluster)
    for u in ("tsm", "tableau", "readonly"):
        pw = os.urandom(12).hex()
        p = os.path.join(run, "pg-%s.password" % u)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(pw + "\n")
    generate_self_signed(os.path.join(run, "controller.crt"), os.path.join(run, "controller.key"),
                         n1["hostname"], dns=[n1["hostname"], "localhost"],
                         ips=[n1["address"], "127.0.0.1"])
    update_slot(k, name=name, dir=d)
    return cluster


def init_state(d, cluster):
    try:
        from tsm_emulator import state as _state
    except ImportError:
        _state = None
    if _state is not None and hasattr(_state, "init"):
        _state.init(d)
    elif not os.path.exists(os.path.join(d, "state.json")):
        write_json(os.path.join(d, "state.json"), _default_state(cluster))


def summary(d):
    c = load_cluster(d)
    return {
        "dir": abspath(d), "name": c["name"], "index": c["index"], "version": c["version"],
        "code": c["code"], "initial_node": c["initial_node"],
        "nodes": [{"name": n["name"], "hostname": n["hostname"], "tsm": n["tsm_path"],
                   "gateway": {"address": n["address"], "https_port": n["gateway"]["https_port"],
                               "http_port": n["gateway"]["http_port"]}}
                  for n in c["nodes"]],
        "controller": {"url": c["controller"]["url"], "address": c["controller"]["address"],
                       "port": c["controller"]["port"]},
        "repository": {"address": c["repository"]["address"], "port": c["repository"]["port"],
                       "real_postgres": c["repository"]["real_postgres"],
                       "password_files": {u: os.path.join(abspath(d), "run", "pg-%s.password" % u)
                                          for u in ("tsm", "tableau", "readonly")}},
    }


def repository_password(d, user):
    with open(os.path.join(abspath(d), "run", "pg-%s.password" % user)) as f:
        return f.read().strip()
