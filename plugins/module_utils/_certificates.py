# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Certificate and key checks on ``cryptography``, used to refuse bad input before any tsm write.

No message produced here contains a secret: passphrases and key bytes are never formatted
into strings; files are named by path and the fault is described.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import re
import traceback
import typing as t

from ansible_collections.tableau.tsm.plugins.module_utils._errors import TsmInputError

CRYPTOGRAPHY_IMPORT_ERROR: t.Optional[str]
try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, padding, rsa
    from cryptography.x509.oid import ExtensionOID, NameOID
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None

WARN_DAYS = 30
MIN_RSA_DSA_BITS = 2048
MIN_EC_BITS = 256
REFUSED_HASHES = frozenset(["sha1", "md5"])

_PEM_CERT_RE = re.compile(
    rb"-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----\s.*?-----END (?:X509 |TRUSTED )?CERTIFICATE-----",
    re.DOTALL,
)


class CertificateError(TsmInputError):
    """A certificate, key or chain file is unusable."""


def _utc(value: datetime.datetime) -> datetime.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


def not_valid_before(cert: t.Any) -> datetime.datetime:
    value = getattr(cert, "not_valid_before_utc", None)
    return _utc(value if value is not None else cert.not_valid_before)


def not_valid_after(cert: t.Any) -> datetime.datetime:
    value = getattr(cert, "not_valid_after_utc", None)
    return _utc(value if value is not None else cert.not_valid_after)


def read_file(path: str, label: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except (IOError, OSError) as exc:
        raise CertificateError("%s %s cannot be read: %s" % (label, path, exc.strerror or exc))
    if not data.strip():
        raise CertificateError("%s %s is empty" % (label, path))
    return data


def is_pem(data: bytes) -> bool:
    return b"-----BEGIN " in data


def load_certificates(data: bytes, path: str, label: str) -> t.Tuple[t.List[t.Any], str]:
    """All certificates in a file: (list, 'PEM'|'DER'). Raises CertificateError."""
    if is_pem(data):
        blocks = _PEM_CERT_RE.findall(data)
        if not blocks:
            if b"PRIVATE KEY-----" in data:
                raise CertificateError("%s %s contains a private key, not a certificate" % (label, path))
            raise CertificateError("%s %s is PEM but contains no CERTIFICATE block" % (label, path))
        certs = []
        for number, block in enumerate(blocks, 1):
            try:
                certs.append(x509.load_pem_x509_certificate(block))
            except ValueError:
                raise CertificateError("%s %s: PEM certificate #%d is malformed" % (label, path, number))
        return certs, "PEM"
    try:
        return [x509.load_der_x509_certificate(data)], "DER"
    except ValueError:
        raise CertificateError("%s %s is neither a PEM nor a DER X.509 certificate" % (label, path))


def load_certificate(data: bytes, path: str, label: str = "certificate file") -> t.Tuple[t.Any, str]:
    """The one certificate of a file: (certificate, 'PEM'|'DER')."""
    certs, fmt = load_certificates(data, path, label)
    if len(certs) > 1:
        raise CertificateError(
            "%s %s contains %d certificates; put the server certificate alone in it and the "
            "intermediate certificates in the chain file" % (label, path, len(certs)))
    return certs[0], fmt


def load_private_key(
    data: bytes, path: str, passphrase: t.Optional[str], label: str = "key file",
) -> t.Tuple[t.Any, str, bool, bool]:
    """Load a private key: (key, 'PEM'|'DER', encrypted, passphrase_unused)."""
    fmt = "PEM" if is_pem(data) else "DER"
    if fmt == "PEM" and b"PRIVATE KEY-----" not in data:
        if b"CERTIFICATE-----" in data:
            raise CertificateError("%s %s contains a certificate, not a private key" % (label, path))
        raise CertificateError("%s %s is PEM but contains no PRIVATE KEY block" % (label, path))
    loader = serialization.load_pem_private_key if fmt == "PEM" else serialization.load_der_private_key
    try:
        return loader(data, password=None), fmt, False, bool(passphrase)
    except TypeError:
        pass  # encrypted
    except UnsupportedAlgorithm:
        raise CertificateError("%s %s holds a private key of an unsupported type" % (label, path))
    except ValueError:
        raise CertificateError("%s %s is not a valid %s private key" % (label, path, fmt))
    if not passphrase:
        raise CertificateError("%s %s is encrypted, but no passphrase was given" % (label, path))
    try:
        return loader(data, password=passphrase.encode("utf-8")), fmt, True, False
    except (ValueError, TypeError):
        raise CertificateError(
            "%s %s could not be decrypted with the given passphrase (wrong passphrase)" % (label, path))
    except UnsupportedAlgorithm:
        raise CertificateError("%s %s is encrypted with an unsupported algorithm" % (label, path))


def fingerprint_sha256(cert: t.Any) -> t.Tuple[str, str]:
    """(colon-separated upper-case hex, plain lower-case hex)."""
    plain = cert.fingerprint(hashes.SHA256()).hex()
    return ":".join(plain[i:i + 2] for i in range(0, len(plain), 2)).upper(), plain


def _spki(public_key: t.Any) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_matches_certificate(key: t.Any, cert: t.Any) -> bool:
    return _spki(key.public_key()) == _spki(cert.public_key())


def key_type_and_size(public_key: t.Any) -> t.Tuple[str, t.Optional[int]]:
    if isinstance(public_key, rsa.RSAPublicKey):
        return "RSA", public_key.key_size
    if isinstance(public_key, dsa.DSAPublicKey):
        return "DSA", public_key.key_size
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return "EC", public_key.curve.key_size
    return type(public_key).__name__.replace("PublicKey", "").lstrip("_"), None


def key_strength_error(public_key: t.Any) -> t.Optional[str]:
    kind, size = key_type_and_size(public_key)
    if kind in ("RSA", "DSA"):
        if size is not None and size < MIN_RSA_DSA_BITS:
            return ("%s key of %d bits is too small: at least %d bits are required (Tableau Server 2025.3 "
                    "and later refuse smaller keys)" % (kind, size, MIN_RSA_DSA_BITS))
        return None
    if kind == "EC":
        if size is not None and size < MIN_EC_BITS:
            return "EC key of %d bits is too small: at least %d bits are required" % (size, MIN_EC_BITS)
        return None
    return "%s keys are not supported by the Tableau gateway; use RSA (2048 bits or more) or EC" % kind


def signature_hash_name(cert: t.Any) -> t.Optional[str]:
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return "unknown"
    return algorithm.name.lower() if algorithm is not None else None


def _name(name: t.Any) -> str:
    try:
        return name.rfc4514_string()
    except Exception:  # pragma: no cover - very old cryptography
        return str(name)


def is_signed_by(cert: t.Any, issuer: t.Any) -> bool:
    """True when ``issuer`` issued ``cert`` (issuer name matches and the signature verifies)."""
    if cert.issuer != issuer.subject:
        return False
    verify = getattr(cert, "verify_directly_issued_by", None)
    if verify is not None:
        try:
            verify(issuer)
            return True
        except (ValueError, TypeError, InvalidSignature):
            return False
    public_key = issuer.public_key()  # pragma: no cover - cryptography < 40
    try:  # pragma: no cover
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                              cert.signature_hash_algorithm)
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(cert.signature, cert.tbs_certificate_bytes,
                              ec.ECDSA(cert.signature_hash_algorithm))
        elif isinstance(public_key, dsa.DSAPublicKey):
            public_key.verify(cert.signature, cert.tbs_certificate_bytes, cert.signature_hash_algorithm)
        else:
            public_key.verify(cert.signature, cert.tbs_certificate_bytes)
        return True
    except (InvalidSignature, TypeError, ValueError):  # pragma: no cover
        return False


def is_self_signed(cert: t.Any) -> bool:
    return is_signed_by(cert, cert)


def subject_alt_names(cert: t.Any) -> t.List[str]:
    try:
        ext = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    except x509.ExtensionNotFound:
        return []
    names: t.List[str] = []
    names.extend("DNS:" + n for n in ext.get_values_for_type(x509.DNSName))
    names.extend("IP:" + str(n) for n in ext.get_values_for_type(x509.IPAddress))
    return names


def common_names(cert: t.Any) -> t.List[str]:
    return [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]


def _dns_match(pattern: str, hostname: str) -> bool:
    pattern = pattern.lower().rstrip(".")
    hostname = hostname.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _sep, rest = hostname.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == hostname


def hostname_matches(cert: t.Any, hostname: str) -> bool:
    """RFC 6125 style: SANs (DNS with left-most wildcard, IP); CN only when there are no SANs."""
    sans = subject_alt_names(cert)
    try:
        ip = ipaddress.ip_address(hostname)
    except ValueError:
        ip = None
    if sans:
        for san in sans:
            kind, value = san.split(":", 1)
            if kind == "IP" and ip is not None and ipaddress.ip_address(value) == ip:
                return True
            if kind == "DNS" and ip is None and _dns_match(value, hostname):
                return True
        return False
    return ip is None and any(_dns_match(cn, hostname) for cn in common_names(cert))


def certificate_pem(cert: t.Any) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_bytes_for_tsm(data: bytes, fmt: str, key: t.Any, encrypted: bool) -> bytes:
    """The key bytes tsm gets: PEM input unchanged; DER converted to PEM deterministically
    (unencrypted: traditional OpenSSL PEM; encrypted PKCS#8: the same DER, armoured)."""
    if fmt == "PEM":
        return data
    if encrypted:
        body = base64.encodebytes(data).replace(b"\n", b"")
        lines = [body[i:i + 64] for i in range(0, len(body), 64)]
        return b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n" + b"\n".join(lines) + b"\n-----END ENCRYPTED PRIVATE KEY-----\n"
    try:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                 serialization.NoEncryption())
    except ValueError:  # pragma: no cover - key types without a traditional format
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def describe_certificate(cert: t.Any, now: t.Optional[datetime.datetime] = None) -> t.Dict[str, t.Any]:
    now = _utc(now or datetime.datetime.now(datetime.timezone.utc))
    colon, plain = fingerprint_sha256(cert)
    kind, size = key_type_and_size(cert.public_key())
    after = not_valid_after(cert)
    return {
        "subject": _name(cert.subject),
        "issuer": _name(cert.issuer),
        "serial_number": "%x" % cert.serial_number,
        "sha256_fingerprint": colon,
        "sha256": plain,
        "not_before": not_valid_before(cert).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "not_after": after.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "days_left": int((after - now).total_seconds() // 86400),
        "subject_alt_names": subject_alt_names(cert),
        "key_type": kind,
        "key_size": size,
        "signature_hash": signature_hash_name(cert),
        "self_signed": is_self_signed(cert),
    }


class CertificateCheckResult:
    """Outcome of check_server_certificate and check_ca_certificates. ``errors`` and ``warnings`` are
    user-facing messages."""

    def __init__(self) -> None:
        self.errors: t.List[str] = []
        self.warnings: t.List[str] = []
        self.certificate: t.Any = None
        # check_ca_certificates: every certificate of the file (``certificate`` is the first one)
        # and ``cert_pem`` the canonical PEM of all of them
        self.certificates: t.List[t.Any] = []
        self.cert_format: t.Optional[str] = None
        self.cert_pem: t.Optional[bytes] = None
        self.key_format: t.Optional[str] = None
        self.key_encrypted = False
        self.key_pem: t.Optional[bytes] = None
        # DER of the key's public key: the key's identity, whatever its encoding or encryption
        self.key_id: t.Optional[bytes] = None
        self.chain: t.List[t.Any] = []
        self.chain_format: t.Optional[str] = None
        self.chain_pem: t.Optional[bytes] = None
        self.chain_end: t.Optional[str] = None  # 'self-signed root' | 'issued by <name> (not included)'
        self.info: t.Dict[str, t.Any] = {}

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_for_errors(self) -> None:
        if self.errors:
            raise CertificateError("; ".join(self.errors))


def _check_validity(cert: t.Any, label: str, now: datetime.datetime, result: CertificateCheckResult,
                    warn_days: int) -> None:
    before = not_valid_before(cert)
    after = not_valid_after(cert)
    if now < before:
        result.errors.append("%s is not yet valid: valid from %s" % (label, before.strftime("%Y-%m-%d %H:%M:%S UTC")))
    elif now > after:
        result.errors.append("%s has expired: valid until %s" % (label, after.strftime("%Y-%m-%d %H:%M:%S UTC")))
    else:
        days = int((after - now).total_seconds() // 86400)
        if days < warn_days:
            result.warnings.append("%s expires in %d day%s (on %s)"
                                   % (label, days, "" if days == 1 else "s", after.strftime("%Y-%m-%d")))


def _check_signature_hash(cert: t.Any, label: str, result: CertificateCheckResult) -> None:
    name = signature_hash_name(cert)
    if name in REFUSED_HASHES:
        result.errors.append("%s is signed with %s, which is refused; reissue it with SHA-256 or better"
                             % (label, name.upper().replace("SHA1", "SHA-1")))


def _check_key(public_key: t.Any, label: str, result: CertificateCheckResult) -> None:
    problem = key_strength_error(public_key)
    if problem:
        result.errors.append("%s: %s" % (label, problem))


def basic_constraints_ca(cert: t.Any) -> t.Optional[bool]:
    """The CA flag of the basicConstraints extension; None when the certificate has none."""
    try:
        return bool(cert.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value.ca)
    except x509.ExtensionNotFound:
        return None


def _chain_label(path: str, number: int, cert: t.Any) -> str:
    return "chain file %s certificate #%d (%s)" % (path, number, _name(cert.subject))


def check_chain(leaf: t.Any, chain: t.List[t.Any], path: str, now: datetime.datetime,
                result: CertificateCheckResult, warn_days: int = WARN_DAYS) -> None:
    """Order and signatures: the leaf is issued by chain[0], chain[i] by chain[i+1]; the last one is
    either a self-signed root or issued by a certificate that is not included."""
    if not chain:
        return
    if fingerprint_sha256(chain[0])[1] == fingerprint_sha256(leaf)[1]:
        result.warnings.append("chain file %s starts with the server certificate itself; the chain check "
                               "starts at the next certificate" % path)
        chain = chain[1:]
        if not chain:
            return
        offset = 2
    else:
        offset = 1
    numbered = list(enumerate(chain, offset))
    for number, cert in numbered:
        label = _chain_label(path, number, cert)
        _check_validity(cert, label, now, result, warn_days)
        _check_key(cert.public_key(), label, result)
        if not is_self_signed(cert):
            _check_signature_hash(cert, label, result)
        if basic_constraints_ca(cert) is False:
            result.errors.append("%s is not a CA certificate (basicConstraints CA:FALSE)" % label)
    # the leaf
    if not is_signed_by(leaf, chain[0]):
        issuers = [n for n, c in numbered if is_signed_by(leaf, c)]
        if issuers:
            result.errors.append(
                "chain file %s is in the wrong order: the server certificate is issued by certificate #%d, "
                "which must come first (order: issuer of the server certificate first, root last)"
                % (path, issuers[0]))
        elif is_self_signed(leaf):
            result.errors.append(
                "the server certificate '%s' is self-signed, so no chain can certify it: remove the chain file %s "
                "or use a certificate issued by the CA of that chain" % (_name(leaf.subject), path))
        else:
            result.errors.append(
                "chain file %s does not certify the server certificate: no certificate in it issued '%s' "
                "(or its signature does not verify)" % (path, _name(leaf.issuer)))
        return
    for index in range(len(numbered) - 1):
        number, cert = numbered[index]
        next_number, nxt = numbered[index + 1]
        if not is_signed_by(cert, nxt):
            elsewhere = [n for n, c in numbered if n != number and is_signed_by(cert, c)]
            if elsewhere:
                result.errors.append(
                    "chain file %s is in the wrong order: certificate #%d is issued by certificate #%d, which "
                    "must directly follow it" % (path, number, elsewhere[0]))
            elif is_self_signed(cert):
                result.errors.append(
                    "chain file %s: certificate #%d (%s) is a self-signed root but is not the last one"
                    % (path, number, _name(cert.subject)))
            else:
                result.errors.append(
                    "chain file %s: certificate #%d (%s) is not issued by certificate #%d (%s)"
                    % (path, number, _name(cert.subject), next_number, _name(nxt.subject)))
            return
    last = numbered[-1][1]
    if is_self_signed(last):
        result.chain_end = "self-signed root"
    else:
        result.chain_end = "issued by '%s' (not included; clients must trust it)" % _name(last.issuer)


def check_server_certificate(
    cert_path: str,
    key_path: str,
    chain_path: t.Optional[str] = None,
    passphrase: t.Optional[str] = None,
    hostname: t.Optional[str] = None,
    now: t.Optional[datetime.datetime] = None,
    warn_days: int = WARN_DAYS,
) -> CertificateCheckResult:
    """Everything tsm external-ssl needs to be right, checked before any write."""
    result = CertificateCheckResult()
    now = _utc(now or datetime.datetime.now(datetime.timezone.utc))
    cert = None
    key = None
    cert_label = "certificate file %s" % cert_path
    try:
        cert, result.cert_format = load_certificate(read_file(cert_path, "certificate file"), cert_path)
    except CertificateError as exc:
        result.errors.append(exc.msg)
    if cert is not None:
        result.certificate = cert
        result.cert_pem = certificate_pem(cert)
        result.info = describe_certificate(cert, now)
        result.info["format"] = result.cert_format
        _check_validity(cert, cert_label, now, result, warn_days)
        _check_signature_hash(cert, cert_label, result)
        _check_key(cert.public_key(), cert_label, result)
        if hostname and not hostname_matches(cert, hostname):
            names = result.info["subject_alt_names"] or ["CN:" + cn for cn in common_names(cert)]
            result.errors.append("%s does not match the host name %s (names: %s)"
                                 % (cert_label, hostname, ", ".join(names) or "none"))
    try:
        key_data = read_file(key_path, "key file")
        key, result.key_format, result.key_encrypted, unused = load_private_key(key_data, key_path, passphrase)
        result.key_pem = key_bytes_for_tsm(key_data, result.key_format, key, result.key_encrypted)
        result.key_id = _spki(key.public_key())
        if unused:
            result.warnings.append("key file %s is not encrypted; the passphrase is ignored" % key_path)
    except CertificateError as exc:
        result.errors.append(exc.msg)
    if cert is not None and key is not None and not key_matches_certificate(key, cert):
        result.errors.append("key file %s does not match the certificate in %s (different public keys)"
                             % (key_path, cert_path))
    if chain_path:
        try:
            result.chain, result.chain_format = load_certificates(
                read_file(chain_path, "chain file"), chain_path, "chain file")
        except CertificateError as exc:
            result.errors.append(exc.msg)
        if result.chain:
            result.chain_pem = b"".join(certificate_pem(c) for c in result.chain)
            if cert is not None:
                check_chain(cert, result.chain, chain_path, now, result, warn_days)
    return result


def check_ca_certificates(
    path: str,
    label: str,
    now: t.Optional[datetime.datetime] = None,
    warn_days: int = WARN_DAYS,
    require_ca: t.Optional[str] = None,
    not_ca_hint: str = "",
    only_one: t.Optional[str] = None,
) -> CertificateCheckResult:
    """Check a file of certificates that Tableau is told to trust (a CA, or a peer's own certificate).

    ``label`` names the file in every message (the option, e.g. ``cert_file``): "<label> <path> ...".
    Errors: unreadable, not a certificate, expired, not yet valid, SHA-1/MD5 signature on a
    certificate that is not a self-signed root, weak key. A certificate that expires within
    ``warn_days`` gives a warning. With several certificates each is named "... certificate #N".

    ``only_one``: refuse a file with more than one certificate, giving this reason.
    ``require_ca``: None accepts any certificate; ``"warn"`` warns about each certificate without
    basicConstraints CA:TRUE; ``"error"`` refuses the first one marked CA:FALSE (checked once the
    other checks passed). ``not_ca_hint`` ends those messages.

    ``cert_pem`` is the canonical PEM of all certificates, so the same certificates in DER or PEM
    give the same bytes; ``info`` describes the first one (plus ``format``, and ``count`` when the
    file may hold several).
    """
    if require_ca not in (None, "warn", "error"):
        raise ValueError("require_ca must be None, 'warn' or 'error', got %r" % (require_ca,))
    result = CertificateCheckResult()
    now = _utc(now or datetime.datetime.now(datetime.timezone.utc))
    file_label = "%s %s" % (label, path)
    try:
        certs, result.cert_format = load_certificates(read_file(path, label), path, label)
    except CertificateError as exc:
        result.errors.append(exc.msg)
        return result
    if only_one and len(certs) > 1:
        result.errors.append("%s contains %d certificates; %s" % (file_label, len(certs), only_one))
        return result
    named = [(file_label if len(certs) == 1 else "%s certificate #%d" % (file_label, number), cert)
             for number, cert in enumerate(certs, 1)]
    for which, cert in named:
        _check_validity(cert, which, now, result, warn_days)
        if not is_self_signed(cert):
            _check_signature_hash(cert, which, result)
        _check_key(cert.public_key(), which, result)
        if require_ca == "warn" and not basic_constraints_ca(cert):
            result.warnings.append("%s is not a CA certificate (no basicConstraints CA:TRUE); %s" % (which, not_ca_hint))
    if require_ca == "error" and not result.errors:
        for which, cert in named:
            if basic_constraints_ca(cert) is False:
                result.errors.append("%s is not a CA certificate (basicConstraints CA:FALSE); %s" % (which, not_ca_hint))
                break
    result.certificates = certs
    result.certificate = certs[0]
    result.cert_pem = b"".join(certificate_pem(c) for c in certs)
    result.info = describe_certificate(certs[0], now)
    result.info["format"] = result.cert_format
    if not only_one:
        result.info["count"] = len(certs)
    return result
