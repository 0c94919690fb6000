"""Helpers for the runtime tests (real listeners, PostgreSQL, the control CLI).

Imported explicitly by tests/test_runtime_*.py (not a pytest conftest).
"""
import contextlib
import datetime
import hashlib
import http.client
import ipaddress
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
EMU = os.path.dirname(HERE)
CLI = os.path.join(EMU, "tsm-emulator")
if EMU not in sys.path:
    sys.path.insert(0, EMU)

from tsm_emulator import daemon, layout  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning)

TLS = {"TLSv1": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1,
       "TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}
PSQL = shutil.which("psql")


# --------------------------------------------------------------------------- CLI

def cli(*args, check=True, timeout=180):
    p = subprocess.run([sys.executable, CLI] + [str(a) for a in args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=timeout, check=False)
    if check and p.returncode != 0:
        raise AssertionError("tsm-emulator %s failed (%d):\n%s\n%s"
                             % (" ".join(map(str, args)), p.returncode, p.stdout, p.stderr))
    return p


def cli_json(*args, **kw):
    return json.loads(cli(*args, **kw).stdout)


def reload(d, **extra):
    t0 = time.time()
    r = daemon.request(d, dict({"op": "reload"}, **extra), timeout=120)
    r["_seconds"] = time.time() - t0
    return r


# --------------------------------------------------------------------------- certificates

def _x509():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    return x509, hashes, serialization, rsa, NameOID


def make_pki(out_dir, hostnames, addresses, passphrase=None, tag="gw"):
    """Root CA -> intermediate -> leaf.  Returns dict of paths and the leaf fingerprint."""
    x509, hashes, serialization, rsa, NameOID = _x509()
    now = datetime.datetime.now(datetime.timezone.utc)
    os.makedirs(out_dir, exist_ok=True)

    def key():
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def cert(subject, skey, issuer, ikey, ca, sans=None):
        b = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name(issuer))
             .public_key(skey.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(hours=1))
             .not_valid_after(now + datetime.timedelta(days=30))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return b.sign(ikey, hashes.SHA256())

    rk, ik, lk = key(), key(), key()
    root = cert("%s test root" % tag, rk, "%s test root" % tag, rk, True)
    inter = cert("%s test intermediate" % tag, ik, "%s test root" % tag, rk, True)
    sans = [x509.DNSName(h) for h in hostnames] + \
        [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    leaf = cert(hostnames[0], lk, "%s test intermediate" % tag, ik, False, sans)
    pem = serialization.Encoding.PEM
    paths = {k: os.path.join(out_dir, v) for k, v in
             (("root", "root.crt"), ("chain", "chain.crt"), ("cert", "server.crt"),
              ("key", "server.key"))}
    with open(paths["root"], "wb") as f:
        f.write(root.public_bytes(pem))
    with open(paths["chain"], "wb") as f:
        f.write(inter.public_bytes(pem))
    with open(paths["cert"], "wb") as f:
        f.write(leaf.public_bytes(pem))
    enc = (serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
           else serialization.NoEncryption())
    with open(paths["key"], "wb") as f:
        f.write(lk.private_bytes(pem, serialization.PrivateFormat.PKCS8, enc))
    os.chmod(paths["key"], 0o600)
    paths["fingerprint"] = hashlib.sha256(leaf.public_bytes(serialization.Encoding.DER)).hexdigest()
    return paths


def apply_external_ssl(d, pki, protocols="all, -SSLv2, -SSLv3", passphrase=None, enabled=True,
                       chain=True):
    """Configure the *applied* external SSL state directly (as an apply would), no reload."""
    from tsm_emulator import state
    files = {}
    with state.locked(d) as st:
        a = st["applied"]
        a["ssl.enabled"] = "true" if enabled else "false"
        if enabled:
            a["ssl.cert.file_name"] = os.path.basename(pki["cert"])
            a["ssl.key.file_name"] = os.path.basename(pki["key"])
            a["ssl.chain.file_name"] = os.path.basename(pki["chain"]) if chain else ""
            a["ssl.key.passphrase"] = state.enc(passphrase) if passphrase else ""
            a["ssl.protocols"] = protocols
            files = {"ssl.cert.file_name": pki["cert"], "ssl.key.file_name": pki["key"]}
            if chain:
                files["ssl.chain.file_name"] = pki["chain"]
        st.setdefault("applied_files", {}).update(files)


def set_repository_ssl(d, mode, bump_generation=False):
    from tsm_emulator import state
    with state.locked(d) as st:
        a = st["applied"]
        a["pgsql.ssl.enabled"] = "true" if mode in ("required", "internal-only") else "false"
        a["pgsql.ssl.required"] = "true" if mode == "required" else "false"
        if bump_generation:
            st.setdefault("repository_cert", {"generation": 1})
            st["repository_cert"]["generation"] = int(st["repository_cert"].get("generation", 1)) + 1


# --------------------------------------------------------------------------- clients

def tls_client_ctx(version=None, cafile=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cafile:
        ctx.load_verify_locations(cafile)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    # The client lowers its own security level so that a refused TLS 1.0/1.1 handshake is the
    # server's doing, not ours (see tooling-on-this-machine.md section 5).
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    if version:
        ctx.minimum_version = ctx.maximum_version = TLS[version]
    return ctx


def handshake(addr, port, version=None, cafile=None, server_hostname=None, timeout=5):
    """Returns (ok, detail): detail is (protocol, sha256 of the peer cert) or the error."""
    ctx = tls_client_ctx(version, cafile)
    try:
        with socket.create_connection((addr, port), timeout=timeout) as s:
            with ctx.wrap_socket(s, server_hostname=server_hostname) as t:
                der = t.getpeercert(binary_form=True)
                return True, (t.version(), hashlib.sha256(der).hexdigest())
    except (ssl.SSLError, OSError) as e:
        return False, "%s: %s" % (type(e).__name__, e)


def port_open(addr, port, timeout=2):
    try:
        with socket.create_connection((addr, port), timeout=timeout):
            return True
    except OSError:
        return False


def http_get(addr, port, path="/", tls=False, timeout=5):
    if tls:
        c = http.client.HTTPSConnection(addr, port, timeout=timeout, context=tls_client_ctx())
    else:
        c = http.client.HTTPConnection(addr, port, timeout=timeout)
    try:
        c.request("GET", path, headers={"Host": addr})
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        c.close()


class Api:
    """Tiny TSM API client (HTTPS, self-signed controller cert not verified)."""

    def __init__(self, cluster):
        self.addr = cluster["controller"]["address"]
        self.port = cluster["controller"]["port"]
        self.cookie = None

    def call(self, method, path, body=None):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        c = http.client.HTTPSConnection(self.addr, self.port, timeout=10, context=ctx)
        try:
            h = {"Content-Type": "application/json"}
            if self.cookie:
                h["Cookie"] = "AUTH_COOKIE=" + self.cookie
            c.request(method, "/api/0.5" + path, body=json.dumps(body) if body else None,
                      headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, dict(r.getheaders()), (json.loads(data) if data else None)
        finally:
            c.close()

    def login(self, name="tsmadmin", password="tsmadmin-password"):
        code, headers, _body = self.call("POST", "/login",
                                         {"authentication": {"name": name, "password": password}})
        sc = headers.get("Set-Cookie", "")
        if code == 204 and sc.startswith("AUTH_COOKIE="):
            self.cookie = sc.split(";")[0].split("=", 1)[1]
        return code, headers


# --------------------------------------------------------------------------- psql

def psql(cluster, d, sslmode, user="tableau", rootcert=None, host=None, dbname="workgroup",
         password=None, sql="select ssl from pg_stat_ssl where pid = pg_backend_pid()"):
    r = cluster["repository"]
    conn = "host=%s hostaddr=%s port=%d user=%s dbname=%s sslmode=%s connect_timeout=5" % (
        host or r["address"], r["address"], r["port"], user, dbname, sslmode)
    if rootcert:
        conn += " sslrootcert=%s" % rootcert
    env = dict(os.environ, PGPASSWORD=password or layout.repository_password(d, user),
               PGSSLROOTCERT="/nonexistent", PGSSLCERT="/nonexistent", PGSSLKEY="/nonexistent")
    p = subprocess.run([PSQL, "-X", "-Atc", sql, conn], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, env=env, timeout=30, check=False)
    return p.returncode, (p.stdout + p.stderr).strip()


def wait_until(fn, timeout=10, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(interval)
    return fn()


def processes_mentioning(*needles):
    return layout.find_processes(list(needles))


@contextlib.contextmanager
def timer(store, key):
    t0 = time.time()
    yield
    store[key] = time.time() - t0
