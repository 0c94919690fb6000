"""Fixtures for the tsm CLI tests: a hand-made cluster directory (no daemon) and a test PKI.

Test modules import the helpers they use from here; conftest.py offers the fixtures to
every test module. The cluster runs with
TSM_EMULATOR_NO_DAEMON=1: apply/start/stop skip the daemon and report every gateway "up"
(after the CLI's own gateway-can-load check).
"""

import datetime
import hashlib
import json
import os
import stat
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
EMU = os.path.dirname(HERE)
sys.path.insert(0, EMU)

from tsm_emulator import calllog, knobs, state, versions  # noqa: E402

MAIN = os.path.join(EMU, "tsm_emulator", "tsm_main.py")
PASSWORD = "tsmadmin-password"


def _user():
    import pwd
    return pwd.getpwuid(os.geteuid()).pw_name


class Cluster:
    def __init__(self, d, cluster):
        self.d = d
        self.cluster = cluster
        self.nodes = [n["name"] for n in cluster["nodes"]]

    def tsm(self, *args, node="node1", input=None, env=None):
        e = dict(os.environ)
        e.update(env or {})
        path = next(n["tsm_path"] for n in self.cluster["nodes"] if n["name"] == node)
        return subprocess.run([path] + [str(a) for a in args], input=input, capture_output=True, text=True,
                              env=e, timeout=60, check=False)

    def ok(self, *args, **kw):
        r = self.tsm(*args, **kw)
        assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r

    def fail(self, *args, **kw):
        r = self.tsm(*args, **kw)
        assert r.returncode == 1, (args, r.returncode, r.stdout, r.stderr)
        return r

    def state(self):
        return state.read(self.d)

    def state_text(self):
        with open(os.path.join(self.d, "state.json")) as f:
            return f.read()

    def calls(self):
        return calllog.read(self.d)

    def knobs(self, **kw):
        return knobs.set(self.d, **kw)

    def requested(self):
        return state.requested(self.state())

    def applied(self):
        return self.state()["applied"]

    def cfs_files(self):
        out = []
        for root, _dirs, files in os.walk(os.path.join(self.d, "cfs")):
            out += [os.path.join(root, f) for f in files]
        return sorted(out)

    def snapshot(self):
        return (self.state_text(), self.cfs_files(), len(self.calls()))

    def assert_unchanged(self, snap, r=None):
        """State and CFS unchanged; exactly one more call-log line, with rc 1."""
        text, cfs, ncalls = snap
        assert self.state_text() == text
        assert self.cfs_files() == cfs
        calls = self.calls()
        assert len(calls) == ncalls + 1
        assert calls[-1]["rc"] == 1
        if r is not None:
            assert r.returncode == 1
            assert r.stderr.strip()

    def apply(self, **kw):
        return self.ok("pending-changes", "apply", "--ignore-prompt", **kw)

    def set_cluster(self, **values):
        self.cluster.update(values)
        with open(os.path.join(self.d, "cluster.json"), "w") as f:
            json.dump(self.cluster, f, indent=1)


def make_cluster(d, version="2024.2", nodes=2, authorized=None, accounts=None):
    os.makedirs(d, exist_ok=True)
    code = versions.code(version)
    cluster = {"name": "c1", "index": 1, "version": version, "code": code, "python": sys.executable,
               "initial_node": "node1", "authorized_users": [_user()] if authorized is None else authorized,
               "nodes": [], "controller": {"node": "node1", "address": "127.201.1.1", "port": 8850,
                                           "url": "https://node1.c1.tsm.test:8850"},
               "repository": {"node": "node1", "address": "127.201.1.1", "port": 8060, "pg_version": "15",
                              "real_postgres": False, "user": "tsm"}}
    if accounts is not None:
        cluster["accounts"] = accounts
    for i in range(1, nodes + 1):
        name = "node%d" % i
        bindir = os.path.join(d, name, "opt/tableau/tableau_server/packages/customer-bin.%s" % code)
        os.makedirs(bindir, exist_ok=True)
        datadir = os.path.join(d, name, "var/opt/tableau/tableau_server")
        os.makedirs(datadir, exist_ok=True)
        tsm = os.path.join(bindir, "tsm")
        with open(tsm, "w") as f:
            f.write("#!/bin/sh\nexport TSM_EMULATOR_DIR='%s'\nexport TSM_EMULATOR_NODE='%s'\n"
                    "exec '%s' '%s' \"$@\"\n" % (d, name, sys.executable, MAIN))
        os.chmod(tsm, 0o755)
        services = ["gateway", "controller", "repository"] if i == 1 else ["gateway"]
        cluster["nodes"].append({"name": name, "hostname": "%s.c1.tsm.test" % name,
                                 "address": "127.201.1.%d" % i,
                                 "gateway": {"https_port": 443, "http_port": 80},
                                 "tsm_path": tsm, "data_dir": datadir, "services": services})
    with open(os.path.join(d, "cluster.json"), "w") as f:
        json.dump(cluster, f, indent=1)
    state.init(d)
    knobs.set(d, latency_ms=0, restart_ms=0)
    return Cluster(d, cluster)


@pytest.fixture
def no_daemon(monkeypatch):
    monkeypatch.setenv("TSM_EMULATOR_NO_DAEMON", "1")


@pytest.fixture
def cluster(tmp_path, no_daemon):
    return make_cluster(str(tmp_path / "c1"))


@pytest.fixture
def make(tmp_path, no_daemon):
    counter = [0]

    def _make(**kw):
        counter[0] += 1
        return make_cluster(str(tmp_path / ("c%d" % counter[0])), **kw)
    return _make


# ---- test PKI -------------------------------------------------------------------------

class PKI:
    pass


def _write(path, data, mode=0o600):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    return path


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.x509.oid import NameOID

    d = str(tmp_path_factory.mktemp("pki"))
    now = datetime.datetime.now(datetime.timezone.utc)
    day = datetime.timedelta(days=1)

    def pem_key(k, pw=None):
        enc = serialization.BestAvailableEncryption(pw.encode()) if pw else serialization.NoEncryption()
        return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def make_cert(key, cn, issuer_key, issuer_name, ca=False, start=None, end=None, sans=()):
        b = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(issuer_name)
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(start or now - day).not_valid_after(end or now + 365 * day)
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False)
        return b.sign(issuer_key, hashes.SHA256())

    p = PKI()
    p.dir = d
    p.passphrase = "s3cret-pass"
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = make_cert(ca_key, "Test Root CA", ca_key, name("Test Root CA"), ca=True)
    inter_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    inter = make_cert(inter_key, "Test Intermediate CA", ca_key, ca.subject, ca=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = make_cert(key, "node1.c1.tsm.test", inter_key, inter.subject,
                     sans=["node1.c1.tsm.test", "node2.c1.tsm.test", "tableau.c1.tsm.test"])
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = make_cert(other_key, "other.c1.tsm.test", inter_key, inter.subject, sans=["other.c1.tsm.test"])
    expired = make_cert(key, "node1.c1.tsm.test", inter_key, inter.subject, start=now - 400 * day,
                        end=now - 30 * day, sans=["node1.c1.tsm.test"])
    small_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    small = make_cert(small_key, "small.c1.tsm.test", small_key, name("small.c1.tsm.test"))
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_cert = make_cert(ec_key, "ec.c1.tsm.test", inter_key, inter.subject, sans=["ec.c1.tsm.test"])
    ed_key = ed25519.Ed25519PrivateKey.generate()

    def pem(c):
        return c.public_bytes(serialization.Encoding.PEM)

    p.cert = _write(os.path.join(d, "server.crt"), pem(cert))
    p.cert_pem_ext = _write(os.path.join(d, "server.pem"), pem(cert))
    p.key = _write(os.path.join(d, "server.key"), pem_key(key))
    p.key_enc = _write(os.path.join(d, "server-enc.key"), pem_key(key, p.passphrase))
    p.chain = _write(os.path.join(d, "chain.crt"), pem(inter) + pem(ca))
    p.chain_pem_ext = _write(os.path.join(d, "chain.pem"), pem(inter) + pem(ca))
    p.ca = _write(os.path.join(d, "ca.crt"), pem(ca))
    p.ca_der = _write(os.path.join(d, "ca.der"), ca.public_bytes(serialization.Encoding.DER))
    p.ca_der_crt = _write(os.path.join(d, "ca-der.crt"), ca.public_bytes(serialization.Encoding.DER))
    p.other_cert = _write(os.path.join(d, "other.crt"), pem(other))
    p.other_key = _write(os.path.join(d, "other.key"), pem_key(other_key))
    p.expired = _write(os.path.join(d, "expired.crt"), pem(expired))
    p.small_cert = _write(os.path.join(d, "small.crt"), pem(small))
    p.small_key = _write(os.path.join(d, "small.key"), pem_key(small_key))
    p.ec_cert = _write(os.path.join(d, "ec.crt"), pem(ec_cert))
    p.ec_key = _write(os.path.join(d, "ec.key"), pem_key(ec_key))
    p.ed_key = _write(os.path.join(d, "ed.key"), pem_key(ed_key))
    p.garbage = _write(os.path.join(d, "garbage.crt"), b"this is not a certificate\n")
    p.key_as_cert = _write(os.path.join(d, "keyascert.crt"), pem_key(key))
    crl = (x509.CertificateRevocationListBuilder().issuer_name(ca.subject).last_update(now - day)
           .next_update(now + 30 * day).sign(ca_key, hashes.SHA256()))
    p.crl_pem = _write(os.path.join(d, "revoked.pem"), crl.public_bytes(serialization.Encoding.PEM))
    p.crl_der = _write(os.path.join(d, "revoked.der"), crl.public_bytes(serialization.Encoding.DER))
    p.crl_bad_ext = _write(os.path.join(d, "revoked.crl"), crl.public_bytes(serialization.Encoding.PEM))
    p.cert_sha256 = cert.fingerprint(hashes.SHA256()).hex(":").upper()
    p.ca_sha256 = ca.fingerprint(hashes.SHA256()).hex(":").upper()
    p.hash = lambda s: hashlib.sha256(s.encode()).hexdigest()
    return p


def file_mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


__all__ = ["Cluster", "make_cluster", "no_daemon", "cluster", "make", "pki", "PKI", "file_mode", "PASSWORD",
           "calllog", "knobs", "state", "versions", "EMU", "MAIN"]
