# -*- coding: utf-8 -*-
# Copyright (c) 2025, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for _tls against real TLS servers on 127.0.0.1 (threads, ephemeral ports).

The server helpers (make_pki, TLSServer, ...) are also used by the module tests.
"""

from __future__ import annotations

import datetime
import socket
import ssl
import struct
import threading
import time
import warnings

import pytest

cryptography = pytest.importorskip("cryptography")

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

from ansible_collections.tableau.tsm.plugins.module_utils import _tls  # noqa: E402


# ---------------------------------------------------------------------------------------------
# Helpers: certificates and servers
# ---------------------------------------------------------------------------------------------

class PKI(object):
    """Files of a small PKI written to a directory."""

    def __init__(self, directory):
        self.dir = directory
        self.paths = {}
        self.der = {}
        self.now = datetime.datetime.now(datetime.timezone.utc)
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._key_path = self._write("server.key", self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
        self.ca_cert = self._cert("Test Root CA", self._key, None, ca=True, days_after=3650)
        self._store("ca", self.ca_cert)
        self.other_ca_cert = self._cert("Other Root CA", self._key, None, ca=True, days_after=3650)
        self._store("other_ca", self.other_ca_cert)
        self._store("leaf", self._cert("localhost", self._key, self.ca_cert, days_after=90, hours=1, serial=0x1A2B3C))
        self._store("other", self._cert("other.example.com", self._key, self.ca_cert, days_after=90))
        self._store("expiring", self._cert("localhost", self._key, self.ca_cert, days_after=5, hours=1))
        self._store("expired", self._cert("localhost", self._key, self.ca_cert, days_after=-2, hours=1,
                                          days_before=30))

    def _write(self, name, data):
        path = str(self.dir / name)
        with open(path, "wb") as handle:
            handle.write(data)
        return path

    def _cert(self, cn, key, issuer_cert, ca=False, days_after=90, hours=0, days_before=1, serial=None):
        subject = x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tableau.tsm tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ])
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_cert.subject if issuer_cert is not None else subject)
            .public_key(key.public_key())
            .serial_number(serial or x509.random_serial_number())
            .not_valid_before(self.now - datetime.timedelta(days=days_before))
            .not_valid_after(self.now + datetime.timedelta(days=days_after, hours=hours))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(x509.SubjectAlternativeName([
                x509.DNSName(cn), x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]), critical=False)
        return builder.sign(key, hashes.SHA256())

    def _store(self, name, cert):
        pem = cert.public_bytes(serialization.Encoding.PEM)
        der = cert.public_bytes(serialization.Encoding.DER)
        self.der[name] = der
        self.paths[name] = self._write(name + ".pem", pem)
        self.paths[name + "_der"] = self._write(name + ".der", der)
        if name not in ("ca", "other_ca"):
            ca_pem = self.ca_cert.public_bytes(serialization.Encoding.PEM)
            self.paths[name + "_chain"] = self._write(name + "-chain.pem", pem + ca_pem)

    @property
    def key(self):
        return self._key_path

    def fingerprint(self, name):
        return _tls.sha256_fingerprint(self.der[name])


def make_pki(tmp_path_factory):
    return PKI(tmp_path_factory.mktemp("pki"))


VERSIONS = {
    "TLSv1": "TLSv1", "TLSv1.1": "TLSv1_1", "TLSv1.2": "TLSv1_2", "TLSv1.3": "TLSv1_3",
}


class TLSServer(object):
    """A TLS (or fake PostgreSQL) server in a thread on 127.0.0.1.

    postgres: None (TLS right away), b"S" (SSLRequest answered S, then TLS), b"N" (answered N, then
    closed) or any other bytes (answered with them, then closed).
    mode: "tls" (default), "silent" (accept, never answer), "plain" (answer HTTP, no TLS).
    plaintext: with postgres set, the answer to an unencrypted StartupMessage (see pg_error/pg_auth);
    None closes the connection without an answer. Each startup's parameters go to self.startups.
    delay: seconds to wait after accepting a connection before answering anything (a slow server).
    self.accepts counts the accepted connections.
    """

    def __init__(self, certfile, keyfile, min_version="TLSv1.2", max_version="TLSv1.3", seclevel0=False,
                 postgres=None, mode="tls", plaintext=None, delay=0):
        self.delay = delay
        self.accepts = 0
        self.postgres = postgres
        self.plaintext = plaintext
        self.startups = []
        self.mode = mode
        self.ssl_requests = 0
        self.handshakes = []
        self.errors = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = getattr(ssl.TLSVersion, VERSIONS[min_version])
            ctx.maximum_version = getattr(ssl.TLSVersion, VERSIONS[max_version])
        if seclevel0:
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.load_cert_chain(certfile, keyfile)
        self.ctx = ctx
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="tls-server-%d" % self.port)
        self._thread.daemon = True
        if mode != "silent":
            self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _addr = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            self.accepts += 1
            worker = threading.Thread(target=self._handle, args=(conn,))
            worker.daemon = True
            worker.start()

    def _handle(self, conn):
        conn.settimeout(5)
        try:
            if self.delay:
                time.sleep(self.delay)
            if self.mode == "plain":
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                return
            if self.postgres is not None:
                data = b""
                while len(data) < 8:
                    chunk = conn.recv(8 - len(data))
                    if not chunk:
                        return
                    data += chunk
                if data[4:8] == struct.pack("!I", 196608):  # an unencrypted StartupMessage
                    length = struct.unpack("!I", data[:4])[0]
                    rest = b""
                    while len(rest) < length - 8:
                        chunk = conn.recv(length - 8 - len(rest))
                        if not chunk:
                            return
                        rest += chunk
                    parts = rest.rstrip(b"\x00").split(b"\x00")
                    self.startups.append(dict(zip([p.decode() for p in parts[::2]], [p.decode() for p in parts[1::2]])))
                    if self.plaintext is not None:
                        conn.sendall(self.plaintext)
                    return
                assert data == struct.pack("!II", 8, 80877103), data
                self.ssl_requests += 1
                conn.sendall(self.postgres)
                if self.postgres != b"S":
                    return
            tls = self.ctx.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
            conn = tls  # tls owns the descriptor now
            tls.do_handshake()
            self.handshakes.append(tls.version())
            try:
                while tls.recv(1024):
                    pass
            except (OSError, ssl.SSLError):
                pass
        except (OSError, ssl.SSLError, AssertionError) as exc:
            self.errors.append(exc)
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def close(self):
        self._stop.set()
        self.sock.close()
        if self._thread.is_alive():
            self._thread.join(2)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def pg_error(sqlstate, message, severity="FATAL"):
    """A PostgreSQL ErrorResponse ('E') as a server sends it."""
    body = b"".join(key + value.encode() + b"\x00" for key, value in (
        (b"S", severity), (b"V", severity), (b"C", sqlstate), (b"M", message), (b"R", "ClientAuthentication")))
    body += b"\x00"
    return b"E" + struct.pack("!I", len(body) + 4) + body


def pg_auth(method=10, extra=b"SCRAM-SHA-256\x00\x00"):
    """A PostgreSQL authentication request ('R'); 10 = SASL (scram-sha-256), 5 = MD5, 3 = cleartext."""
    body = struct.pack("!I", method) + extra
    return b"R" + struct.pack("!I", len(body) + 4) + body


PG_REJECT_NO_ENCRYPTION = pg_error(
    "28000", 'pg_hba.conf rejects connection for host "127.0.0.1", user "tableau_tsm_probe", database "workgroup", '
             "no encryption")
PG_NO_ENTRY_SSL_OFF = pg_error(
    "28000", 'no pg_hba.conf entry for host "127.0.0.1", user "tableau_tsm_probe", database "workgroup", SSL off')


def free_port():
    """A port on 127.0.0.1 with nothing listening (bound, then closed)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory)


@pytest.fixture(scope="module")
def modern_server(pki):
    """TLS 1.2-1.3, default security level (what tsm's 'all -SSLv2 -SSLv3 -TLSv1 -TLSv1.1' gives)."""
    with TLSServer(pki.paths["leaf_chain"], pki.key) as server:
        yield server


@pytest.fixture(scope="module")
def legacy_server(pki):
    """TLS 1.0-1.3 at security level 0 (tsm's default 'all -SSLv2 -SSLv3')."""
    with TLSServer(pki.paths["leaf"], pki.key, min_version="TLSv1", seclevel0=True) as server:
        yield server


# ---------------------------------------------------------------------------------------------
# Pure functions
# ---------------------------------------------------------------------------------------------

HEX = "3b8a015c7e22904daa106f0ec1582b7719e405c38d61f02a9b44de7308b6519f"


@pytest.mark.parametrize("text", [
    HEX,
    HEX.upper(),
    ":".join(HEX[i:i + 2] for i in range(0, 64, 2)).upper(),
    "SHA256 Fingerprint=" + ":".join(HEX[i:i + 2] for i in range(0, 64, 2)).upper(),
    "sha256:" + HEX,
    "  " + " ".join(HEX[i:i + 2] for i in range(0, 64, 2)) + "\n",
])
def test_normalize_fingerprint_accepts_common_spellings(text):
    assert _tls.normalize_fingerprint(text) == HEX


@pytest.mark.parametrize("text", ["", "abc", HEX[:-2], HEX + "00", "zz" + HEX[2:], "sha1:" + HEX[:40]])
def test_normalize_fingerprint_rejects_others(text):
    with pytest.raises(ValueError, match="not a SHA-256 fingerprint"):
        _tls.normalize_fingerprint(text)


def test_format_fingerprint():
    assert _tls.format_fingerprint(HEX.upper()) == ":".join(HEX[i:i + 2] for i in range(0, 64, 2))


@pytest.mark.parametrize("name, expected", [
    ("TLSv1.2", "TLSv1.2"), ("tlsv1.3", "TLSv1.3"), ("TLSv1.0", "TLSv1"), ("tls1.1", "TLSv1.1"),
    ("sslv3", "SSLv3"), (" TLSv1 ", "TLSv1"), ("TLSv2", None), ("all", None),
])
def test_canonical_protocol(name, expected):
    assert _tls.canonical_protocol(name) == expected


def test_load_certificate_file_pem_and_der(pki):
    assert _tls.load_certificate_file(pki.paths["leaf"]) == pki.der["leaf"]
    assert _tls.load_certificate_file(pki.paths["leaf_der"]) == pki.der["leaf"]
    # First certificate of a bundle counts.
    assert _tls.load_certificate_file(pki.paths["leaf_chain"]) == pki.der["leaf"]


def test_load_certificate_file_errors(pki, tmp_path):
    with pytest.raises(_tls.TLSCheckError, match="cannot read certificate file .*missing.pem"):
        _tls.load_certificate_file(str(tmp_path / "missing.pem"))
    with pytest.raises(_tls.TLSCheckError, match="no CERTIFICATE block"):
        _tls.load_certificate_file(pki.key)
    junk = tmp_path / "junk.crt"
    junk.write_bytes(b"hello world")
    with pytest.raises(_tls.TLSCheckError, match="junk.crt: is neither a PEM nor a DER certificate"):
        _tls.load_certificate_file(str(junk))
    bad_der = tmp_path / "bad.der"
    bad_der.write_bytes(b"\x30\x03\x02\x01\x01")
    with pytest.raises(_tls.TLSCheckError, match="not a valid X.509 certificate"):
        _tls.load_certificate_file(str(bad_der))


def test_check_ca_file(pki, tmp_path):
    _tls.check_ca_file(pki.paths["ca"])
    with pytest.raises(_tls.TLSCheckError, match="does not exist"):
        _tls.check_ca_file(str(tmp_path / "nope.pem"))
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    with pytest.raises(_tls.TLSCheckError, match="ca_file .*empty.pem"):
        _tls.check_ca_file(str(empty))


@pytest.mark.parametrize("use_cryptography", [True, False])
def test_parse_certificate_backends(pki, use_cryptography):
    info = _tls.parse_certificate(pki.der["leaf"], use_cryptography=use_cryptography)
    assert info["subject"] == "CN=localhost,O=tableau.tsm tests"
    assert info["issuer"] == "CN=Test Root CA,O=tableau.tsm tests"
    assert info["sans"] == ["DNS:localhost", "IP:127.0.0.1"]
    assert info["serial"] == "1A2B3C"
    assert info["days_left"] == 90
    assert info["not_after"].endswith("Z")
    assert info["sha256_fingerprint"] == pki.fingerprint("leaf")
    assert len(info["sha256_fingerprint"]) == 95


def test_parse_certificate_backends_agree(pki):
    for name in ("leaf", "expired", "ca"):
        assert (_tls.parse_certificate(pki.der[name], use_cryptography=True)
                == _tls.parse_certificate(pki.der[name], use_cryptography=False))


@pytest.mark.parametrize("use_cryptography", [True, False])
@pytest.mark.parametrize("serial, expected", [(0x1A2B3C, "1A2B3C"), (0xA2B3C, "0A2B3C"), (0x80, "80"), (1, "01")])
def test_serial_like_openssl(pki, tmp_path, use_cryptography, serial, expected):
    der = pki._cert("serial.test", pki._key, None, serial=serial).public_bytes(serialization.Encoding.DER)
    info = _tls.parse_certificate(der, use_cryptography=use_cryptography)
    assert info["serial"] == expected


def test_days_left_negative_when_expired(pki):
    assert _tls.parse_certificate(pki.der["expired"])["days_left"] == -2
    assert _tls.parse_certificate(pki.der["expiring"])["days_left"] == 5


def test_client_context_emits_no_deprecation_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for protocol in ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3", None):
            ctx = _tls.client_context(protocol)
            assert ctx.verify_mode == ssl.CERT_NONE
    assert not [w for w in caught if issubclass(w.category, DeprecationWarning)]


def test_client_context_pins_version():
    ctx = _tls.client_context("TLSv1.1")
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_1
    assert ctx.maximum_version == ssl.TLSVersion.TLSv1_1


def _in_threads(count, work):
    errors = []

    def run():
        try:
            work()
        except Exception as exc:  # pylint: disable=broad-except
            errors.append(exc)

    threads = [threading.Thread(target=run) for dummy in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not [t for t in threads if t.is_alive()]
    assert not errors, errors


def test_client_context_in_threads_leaves_the_warnings_filters_alone():
    # warnings.catch_warnings() saves and restores the process-wide filters. tableau_tls_check runs
    # run_check in threads: unserialized, two threads restore each other's state and a filter stays.
    before = list(warnings.filters)

    def work():
        for dummy in range(100):
            for protocol in ("TLSv1", "TLSv1.1", None):
                _tls.client_context(protocol)

    _in_threads(8, work)
    assert warnings.filters == before


# ---------------------------------------------------------------------------------------------
# Against live servers
# ---------------------------------------------------------------------------------------------

ALL_TLS = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]


def test_modern_server_report(pki, modern_server):
    result = _tls.run_check("127.0.0.1", modern_server.port, server_name="localhost",
                            protocols_accepted=["TLSv1.2", "TLSv1.3"],
                            protocols_refused=["SSLv2", "SSLv3", "TLSv1", "TLSv1.1"],
                            expected_fingerprint=pki.fingerprint("leaf").replace(":", ""),
                            expected_der=pki.der["leaf"], min_days_left=30)
    assert result["failures"] == []
    assert result["passed"] is True
    assert result["tls_available"] is True
    assert result["protocol"] == "TLSv1.3"
    assert result["cipher"].startswith("TLS_")
    cert = result["certificate"]
    assert cert["sha256_fingerprint"] == pki.fingerprint("leaf")
    assert cert["subject"] == "CN=localhost,O=tableau.tsm tests"
    assert cert["days_left"] == 90
    assert result["protocols"] == {"SSLv2": False, "SSLv3": False, "TLSv1": False, "TLSv1.1": False,
                                   "TLSv1.2": True, "TLSv1.3": True}
    assert "by construction" in result["protocol_details"]["SSLv3"]["note"]
    assert result["protocol_details"]["TLSv1.1"]["note"].startswith("refused by the server")
    assert "accepted (cipher" in result["protocol_details"]["TLSv1.2"]["note"]


def test_chain_length_only_where_python_offers_it(modern_server):
    result = _tls.run_check("127.0.0.1", modern_server.port)
    # The private _sslobj.get_unverified_chain is there in 3.10+ (public in 3.13).
    if hasattr(getattr(ssl, "_ssl", None), "_SSLSocket") and hasattr(ssl._ssl._SSLSocket, "get_unverified_chain"):
        assert result["chain_length"] == 2
    else:
        assert "chain_length" not in result


def test_tls11_accepted_only_by_the_server_that_allows_it(legacy_server, modern_server):
    legacy = _tls.run_check("127.0.0.1", legacy_server.port, protocols_accepted=ALL_TLS)
    modern = _tls.run_check("127.0.0.1", modern_server.port, protocols_refused=ALL_TLS)
    assert legacy["protocols"] == {"TLSv1": True, "TLSv1.1": True, "TLSv1.2": True, "TLSv1.3": True}
    assert legacy["passed"] is True
    assert modern["protocols"] == {"TLSv1": False, "TLSv1.1": False, "TLSv1.2": True, "TLSv1.3": True}
    assert sorted(modern["failures"]) == ["TLSv1.2 must be refused but the server accepted it",
                                          "TLSv1.3 must be refused but the server accepted it"]
    assert "TLSv1.1" in legacy_server.handshakes


def test_refused_protocol_accepted_is_a_failure(legacy_server):
    result = _tls.run_check("127.0.0.1", legacy_server.port, protocols_refused=["TLSv1", "TLSv1.1"])
    assert result["passed"] is False
    assert result["failures"] == ["TLSv1 must be refused but the server accepted it",
                                  "TLSv1.1 must be refused but the server accepted it"]


def test_default_client_level_would_refuse_tls11_by_itself(legacy_server):
    """Why the probe lowers its own level: a default client fails TLS 1.1 against a willing server."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ssl.TLSVersion.TLSv1_1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    with socket.create_connection(("127.0.0.1", legacy_server.port), timeout=5) as sock:
        with pytest.raises(ssl.SSLError):
            ctx.wrap_socket(sock)
    assert _tls.probe_protocol("127.0.0.1", legacy_server.port, "TLSv1.1")[0] is True


def test_tls12_only_server(pki):
    with TLSServer(pki.paths["leaf"], pki.key, min_version="TLSv1.2", max_version="TLSv1.2") as server:
        result = _tls.run_check("127.0.0.1", server.port, protocols_accepted=["TLSv1.3"],
                                protocols_refused=["TLSv1.1"])
    assert result["protocol"] == "TLSv1.2"
    assert result["protocols"] == {"TLSv1.3": False, "TLSv1.1": False}
    assert result["failures"][0].startswith("TLSv1.3 must be accepted but the server refused it")


def test_run_check_in_threads_keeps_results_apart(pki, modern_server, legacy_server):
    # tableau_tls_check checks several targets in threads: run_check keeps no shared state.
    with TLSServer(pki.paths["other"], pki.key) as other:
        expected = {
            modern_server.port: (pki.fingerprint("leaf"), False),
            legacy_server.port: (pki.fingerprint("leaf"), True),
            other.port: (pki.fingerprint("other"), False),
        }

        def work():
            for port in list(expected) * 3:
                result = _tls.run_check("127.0.0.1", port, timeout=10, protocols_refused=["TLSv1.1"])
                fingerprint, tls11 = expected[port]
                assert result["port"] == port
                assert result["certificate"]["sha256_fingerprint"] == fingerprint
                assert result["protocols"] == {"TLSv1.1": tls11}
                assert result["passed"] is not tls11

        _in_threads(4, work)


def test_expectation_failures(pki, modern_server):
    result = _tls.run_check("127.0.0.1", modern_server.port,
                            expected_fingerprint=_tls.normalize_fingerprint(pki.fingerprint("other")),
                            expected_der=pki.der["other"], expected_cert_source="/etc/other.pem",
                            min_days_left=120)
    failures = result["failures"]
    assert result["passed"] is False
    assert len(failures) == 3
    assert failures[0] == "certificate fingerprint %s does not match expected_fingerprint %s" % (
        pki.fingerprint("leaf"), pki.fingerprint("other"))
    assert "does not match /etc/other.pem" in failures[1]
    assert failures[2].startswith("certificate expires in 90 day(s)")
    assert "less than min_days_left=120" in failures[2]


def test_expiring_and_expired(pki):
    with TLSServer(pki.paths["expiring"], pki.key) as server:
        result = _tls.run_check("127.0.0.1", server.port, min_days_left=30)
    assert result["certificate"]["days_left"] == 5
    assert result["failures"][0].startswith("certificate expires in 5 day(s)")
    with TLSServer(pki.paths["expired"], pki.key) as server:
        result = _tls.run_check("127.0.0.1", server.port, min_days_left=0)
    assert result["certificate"]["days_left"] == -2
    assert result["failures"][0].startswith("certificate expired 2 day(s) ago")


def test_ca_file_verification(pki, modern_server):
    good = _tls.run_check("127.0.0.1", modern_server.port, ca_file=pki.paths["ca"])
    assert good["chain_verified"] is True
    assert good["passed"] is True
    bad = _tls.run_check("127.0.0.1", modern_server.port, ca_file=pki.paths["other_ca"])
    assert bad["chain_verified"] is False
    assert bad["failures"][0].startswith("certificate chain does not verify against %s" % pki.paths["other_ca"])
    assert "chain_verified" not in _tls.run_check("127.0.0.1", modern_server.port)


def test_postgres_starttls_s(pki):
    with TLSServer(pki.paths["other"], pki.key, postgres=b"S") as server:
        result = _tls.run_check("127.0.0.1", server.port, starttls="postgres", expected_der=pki.der["other"],
                                protocols_accepted=["TLSv1.2"], protocols_refused=["TLSv1.1"])
        assert server.ssl_requests == 3  # main handshake + two probes, each with its SSLRequest
    assert result["passed"] is True, result["failures"]
    assert result["tls_available"] is True
    assert result["certificate"]["sha256_fingerprint"] == pki.fingerprint("other")
    assert result["protocols"] == {"TLSv1.2": True, "TLSv1.1": False}


def test_postgres_starttls_n(pki):
    with TLSServer(pki.paths["leaf"], pki.key, postgres=b"N") as server:
        result = _tls.run_check("127.0.0.1", server.port, starttls="postgres", protocols_refused=["TLSv1.1"])
    assert result["tls_available"] is False
    assert result["certificate"] is None and result["protocol"] is None
    assert result["passed"] is False
    assert result["failures"] == [
        "127.0.0.1:%d refuses SSL: the PostgreSQL server answered 'N' to the SSLRequest (SSL is off)" % server.port]
    assert result["protocols"] == {"TLSv1.1": False}


def test_postgres_starttls_unexpected_answer(pki):
    with TLSServer(pki.paths["leaf"], pki.key, postgres=b"E") as server:
        with pytest.raises(_tls.TLSCheckError, match=r"answered the PostgreSQL SSLRequest with b'E'"):
            _tls.run_check("127.0.0.1", server.port, starttls="postgres")


def test_connection_refused_names_host_and_port():
    port = free_port()
    with pytest.raises(_tls.TLSCheckError, match=r"connection to 127\.0\.0\.1:%d refused" % port):
        _tls.run_check("127.0.0.1", port, timeout=2)


def test_handshake_timeout(pki):
    with TLSServer(pki.paths["leaf"], pki.key, mode="silent") as server:
        with pytest.raises(_tls.TLSCheckError, match=r"TLS handshake with 127\.0\.0\.1:%d timed out after 0.5"
                           % server.port):
            _tls.run_check("127.0.0.1", server.port, timeout=0.5)


def test_not_tls_at_all(pki):
    with TLSServer(pki.paths["leaf"], pki.key, mode="plain") as server:
        with pytest.raises(_tls.TLSCheckError, match=r"TLS handshake with 127\.0\.0\.1:%d failed" % server.port):
            _tls.run_check("127.0.0.1", server.port, timeout=5)


def test_unresolvable_host():
    with pytest.raises(_tls.TLSCheckError, match=r"cannot resolve no-such-host\.invalid:443"):
        _tls.run_check("no-such-host.invalid", 443, timeout=2)


def test_sni_sent(pki):
    seen = []
    with TLSServer(pki.paths["leaf"], pki.key) as server:
        server.ctx.sni_callback = lambda sock, name, ctx: seen.append(name)
        _tls.run_check("127.0.0.1", server.port, server_name="tableau.example.com")
        _tls.run_check("127.0.0.1", server.port)  # IP address: no SNI
    assert seen == ["tableau.example.com", None]


# ---------------------------------------------------------------------------------------------
# The unencrypted PostgreSQL startup probe (postgres_plaintext)
# ---------------------------------------------------------------------------------------------

def test_postgres_startup_message_layout():
    msg = _tls.postgres_startup_message("u", "db")
    length, protocol = struct.unpack("!II", msg[:8])
    assert length == len(msg)
    assert protocol == 196608
    assert msg[8:] == b"user\x00u\x00database\x00db\x00application_name\x00tableau_tls_check\x00\x00"


def test_parse_postgres_error():
    fields = _tls.parse_postgres_error(PG_REJECT_NO_ENCRYPTION[5:])
    assert fields["C"] == "28000"
    assert fields["S"] == "FATAL"
    assert fields["M"].endswith("no encryption")


@pytest.mark.parametrize("answer", [PG_REJECT_NO_ENCRYPTION, PG_NO_ENTRY_SSL_OFF])
def test_plaintext_refused(pki, answer):
    with TLSServer(pki.paths["other"], pki.key, postgres=b"S", plaintext=answer) as server:
        result = _tls.run_check("127.0.0.1", server.port, starttls="postgres", postgres_plaintext="refused")
        assert server.startups == [{"user": "tableau_tsm_probe", "database": "workgroup",
                                    "application_name": "tableau_tls_check"}]
    assert result["passed"] is True, result["failures"]
    assert result["plaintext_accepted"] is False
    assert result["plaintext_detail"].startswith("refused for lack of encryption: SQLSTATE 28000: ")


def test_plaintext_refused_but_accepted_expected(pki):
    with TLSServer(pki.paths["other"], pki.key, postgres=b"S", plaintext=PG_REJECT_NO_ENCRYPTION) as server:
        result = _tls.run_check("127.0.0.1", server.port, starttls="postgres", postgres_plaintext="accepted")
    assert result["passed"] is False
    assert result["plaintext_accepted"] is False
    assert result["failures"] == [
        "127.0.0.1:%d refuses unencrypted PostgreSQL connections but postgres_plaintext=accepted (%s)" % (
            server.port, result["plaintext_detail"])]


@pytest.mark.parametrize("method", [10, 5, 3, 0])
def test_plaintext_accepted(pki, method):
    with TLSServer(pki.paths["other"], pki.key, postgres=b"S", plaintext=pg_auth(method, b"")) as server:
        good = _tls.run_check("127.0.0.1", server.port, starttls="postgres", postgres_plaintext="accepted")
        bad = _tls.run_check("127.0.0.1", server.port, starttls="postgres", postgres_plaintext="refused")
    assert good["passed"] is True, good["failures"]
    assert good["plaintext_accepted"] is True
    assert "method %d" % method in good["plaintext_detail"]
    assert bad["passed"] is False
    assert bad["plaintext_accepted"] is True
    assert bad["failures"][0].startswith(
        "127.0.0.1:%d accepts unencrypted PostgreSQL connections but postgres_plaintext=refused" % server.port)


def test_plaintext_with_ssl_off(pki):
    """SSL off: the SSLRequest is answered N and plaintext accepted; both are reported."""
    with TLSServer(pki.paths["other"], pki.key, postgres=b"N", plaintext=pg_auth()) as server:
        result = _tls.run_check("127.0.0.1", server.port, starttls="postgres", postgres_plaintext="refused")
    assert result["tls_available"] is False
    assert result["plaintext_accepted"] is True
    assert len(result["failures"]) == 2


def test_plaintext_inconclusive(pki):
    starting = pg_error("57P03", "the database system is starting up")
    with TLSServer(pki.paths["other"], pki.key, postgres=b"S", plaintext=starting) as server:
        result = _tls.run_check("127.0.0.1", server.port, starttls="postgres", postgres_plaintext="refused")
    assert result["plaintext_accepted"] is None
    assert result["passed"] is False
    assert "cannot tell whether" in result["failures"][0]
    assert "SQLSTATE 57P03: the database system is starting up" in result["failures"][0]


def test_plaintext_custom_user_and_database(pki):
    with TLSServer(pki.paths["other"], pki.key, postgres=b"S", plaintext=PG_REJECT_NO_ENCRYPTION) as server:
        accepted, _note = _tls.postgres_plaintext_probe("127.0.0.1", server.port, user="probe2", database="d")
        assert server.startups[0]["user"] == "probe2" and server.startups[0]["database"] == "d"
    assert accepted is False


@pytest.mark.parametrize("answer, match", [
    (None, "without an answer"),
    (b"N", r"with b'N' instead of 'R' or 'E'"),
])
def test_plaintext_not_postgres(pki, answer, match):
    with TLSServer(pki.paths["other"], pki.key, postgres=b"S", plaintext=answer) as server:
        with pytest.raises(_tls.TLSCheckError, match=match):
            _tls.postgres_plaintext_probe("127.0.0.1", server.port, timeout=2)


def test_plaintext_not_probed_by_default(pki):
    with TLSServer(pki.paths["other"], pki.key, postgres=b"S", plaintext=pg_auth()) as server:
        result = _tls.run_check("127.0.0.1", server.port, starttls="postgres")
        assert server.startups == []
    assert "plaintext_accepted" not in result
    assert result["passed"] is True
