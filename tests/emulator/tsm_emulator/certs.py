"""Certificate, key and CRL handling with ``cryptography`` (imported only by commands that need it).

Errors are raised as CertError(code, **params); the CLI turns the code into the message
from the version's data file.
"""

import datetime
import hashlib
import ipaddress
import json
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa
from cryptography.x509.oid import NameOID


class CertError(Exception):
    def __init__(self, code, **params):
        super().__init__(code)
        self.code = code
        self.params = params


def read_file(path, what="file"):
    if not path:
        raise CertError("file_missing", path=path, what=what)
    if not os.path.exists(path):
        raise CertError("file_missing", path=path, what=what)
    if not os.path.isfile(path):
        raise CertError("file_unreadable", path=path, what=what)
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        raise CertError("file_unreadable", path=path, what=what)


def load_pem_certs(data, path, what="certificate"):
    """All certificates of a PEM file (at least one), else CertError('not_pem_cert')."""
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise CertError("not_pem_cert", path=path, what=what)
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise CertError("not_pem_cert", path=path, what=what)
    if not certs:
        raise CertError("not_pem_cert", path=path, what=what)
    # every PEM block must be a certificate
    if data.count(b"-----BEGIN ") != len(certs):
        raise CertError("not_pem_cert", path=path, what=what)
    return certs


def load_cert_any(data, path, what="certificate"):
    """PEM or DER certificate (custom-cert add)."""
    if b"-----BEGIN" in data:
        return load_pem_certs(data, path, what)[0]
    try:
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise CertError("not_cert", path=path, what=what)


def load_private_key(data, path, passphrase=None):
    if b"-----BEGIN" not in data or b"PRIVATE KEY-----" not in data:
        raise CertError("not_key", path=path, what="key")
    encrypted = b"ENCRYPTED" in data
    if encrypted and not passphrase:
        raise CertError("key_encrypted", path=path, what="key")
    pw = passphrase.encode() if (passphrase and encrypted) else None
    try:
        key = serialization.load_pem_private_key(data, password=pw)
    except TypeError:
        raise CertError("key_encrypted", path=path, what="key")
    except ValueError:
        if encrypted:
            raise CertError("bad_passphrase", path=path, what="key")
        raise CertError("not_key", path=path, what="key")
    except Exception:  # unsupported algorithm etc.
        raise CertError("not_key", path=path, what="key")
    if not isinstance(key, (rsa.RSAPrivateKey, dsa.DSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise CertError("key_type", path=path, what="key")
    return key


def _spki(pub):
    return pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_matches(cert, key):
    return _spki(cert.public_key()) == _spki(key.public_key())


def key_bits(key):
    return key.key_size


def min_bits_ok(key, min_bits):
    """OpenSSL security level semantics: RSA/DSA >= min_bits; EC >= 224 at level 2."""
    if not min_bits:
        return True
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.curve.key_size >= 224
    return key.key_size >= min_bits


def fingerprint(cert):
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def _utc(dt_attr_cert, name):
    v = getattr(dt_attr_cert, name + "_utc", None)
    if v is None:  # pragma: no cover - old cryptography
        v = getattr(dt_attr_cert, name).replace(tzinfo=datetime.timezone.utc)
    return v.strftime("%Y-%m-%dT%H:%M:%SZ")


def cert_meta(cert):
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "serial": format(cert.serial_number, "X"),
        "not_before": _utc(cert, "not_valid_before"),
        "not_after": _utc(cert, "not_valid_after"),
        "sha256": fingerprint(cert),
    }


def load_crl(data, path):
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError:
        raise CertError("not_crl", path=path, what="revocation")


# ---- repository (PostgreSQL) server certificate --------------------------------------

def repository_cert_paths(d, cluster=None):
    if cluster is None:
        with open(os.path.join(d, "cluster.json")) as f:
            cluster = json.load(f)
    repo = cluster["repository"]
    node = next(n for n in cluster["nodes"] if n["name"] == repo["node"])
    sec = os.path.join(node["data_dir"], "data", "tabsvc", "config",
                       "pgsql_%s" % repo.get("pg_version", "15"), "security")
    return sec, os.path.join(sec, "server.crt"), os.path.join(sec, "server.key"), node


def ensure_repository_cert(d, generation=None):
    """Make sure the repository server certificate for the current generation exists.

    Path: <repository node data_dir>/data/tabsvc/config/pgsql_<pg_version>/security/server.{crt,key};
    a marker ``server.generation`` records state.repository_cert.generation. A new key and
    self-signed certificate (CN = repository host name; SANs: host name, node name, localhost,
    address) are generated when the files are missing or the generation changed.
    Returns the certificate path. Shared with the daemon.
    """
    with open(os.path.join(d, "cluster.json")) as f:
        cluster = json.load(f)
    if generation is None:
        with open(os.path.join(d, "state.json")) as f:
            generation = json.load(f).get("repository_cert", {}).get("generation", 1)
    sec, crt, keyp, node = repository_cert_paths(d, cluster)
    marker = os.path.join(sec, "server.generation")
    try:
        with open(marker) as f:
            current = int(f.read().strip() or 0)
    except (OSError, ValueError):
        current = None
    if current == generation and os.path.exists(crt) and os.path.exists(keyp):
        return crt
    os.makedirs(sec, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    host = node.get("hostname", node["name"])
    names = [x509.DNSName(host), x509.DNSName(node["name"]), x509.DNSName("localhost")]
    addr = cluster["repository"].get("address") or node.get("address")
    if addr:
        names.append(x509.IPAddress(ipaddress.ip_address(addr)))
    names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tableau Server repository (emulated)")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=730))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    tmpk = keyp + ".tmp"
    fd = os.open(tmpk, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                  serialization.NoEncryption()))
    os.replace(tmpk, keyp)
    with open(crt + ".tmp", "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    os.replace(crt + ".tmp", crt)
    with open(marker, "w") as f:
        f.write(str(generation))
    return crt


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()
