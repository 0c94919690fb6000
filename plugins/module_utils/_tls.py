# -*- coding: utf-8 -*-
# Copyright (c) 2025, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!

"""Read-only TLS probing for tableau_tls_check.

Everything here talks to a server with the standard library only (``socket``, ``ssl``). The
peer certificate is parsed with ``cryptography`` when it is importable, else with what the
``ssl`` module offers. Nothing is ever written to the server: the probes complete (or fail)
a handshake and close the connection.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import os
import re
import socket
import ssl
import struct
import tempfile
import threading
import warnings

try:
    from cryptography import x509

    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError as _exc:  # pragma: no cover - depends on the node
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = _exc


#: Protocols that can be handshaken with the local OpenSSL, with the ``ssl.TLSVersion`` member name.
PROBEABLE_PROTOCOLS = {
    "TLSv1": "TLSv1",
    "TLSv1.1": "TLSv1_1",
    "TLSv1.2": "TLSv1_2",
    "TLSv1.3": "TLSv1_3",
}
#: Protocols that OpenSSL 1.1+/3.x clients (and servers) no longer implement at all.
UNPROBEABLE_PROTOCOLS = ("SSLv2", "SSLv3")
ALL_PROTOCOLS = UNPROBEABLE_PROTOCOLS + tuple(PROBEABLE_PROTOCOLS)
_CANONICAL_PROTOCOLS = dict((name.lower(), name) for name in ALL_PROTOCOLS)
# The spellings the rest of the collection accepts as well (see _protocols.py).
_CANONICAL_PROTOCOLS.update({"tlsv1.0": "TLSv1", "tls1": "TLSv1", "tls1.0": "TLSv1", "tls1.1": "TLSv1.1",
                             "tls1.2": "TLSv1.2", "tls1.3": "TLSv1.3"})

#: Lowest security level, so that a refusal of TLS 1.0/1.1 is the server's and not our client's.
PROBE_CIPHERS = "DEFAULT:@SECLEVEL=0"

#: PostgreSQL SSLRequest: length 8, request code 80877103 (0x04d2162f).
POSTGRES_SSL_REQUEST = struct.pack("!II", 8, 80877103)
#: PostgreSQL protocol 3.0, as sent in the StartupMessage.
POSTGRES_PROTOCOL_3 = 196608
#: Defaults of the plaintext probe: a user and database that the probe never authenticates as.
POSTGRES_PROBE_USER = "tableau_tsm_probe"
POSTGRES_PROBE_DATABASE = "workgroup"
#: SQLSTATE invalid_authorization_specification: pg_hba.conf rejected the connection (or has no entry).
_PG_HBA_REJECT = "28000"
#: What PostgreSQL's pg_hba messages say about an unencrypted connection (14+: "no encryption",
#: 12-13: "SSL off"; GSSAPI builds add "GSS encryption").
_PG_NO_ENCRYPTION_RE = re.compile(r"no encryption|ssl off|hostnossl", re.IGNORECASE)

#: Serializes warnings.catch_warnings() in client_context(). catch_warnings saves and restores the
#: process-wide warnings filters; two threads inside it at once (tableau_tls_check checks several
#: targets concurrently) could restore each other's state and leave a filter behind for good.
_WARNINGS_LOCK = threading.Lock()

#: OpenSSL reasons that mean *our* side could not even offer a handshake.
_LOCAL_REASONS = frozenset(["NO_CIPHERS_AVAILABLE", "NO_PROTOCOLS_AVAILABLE", "NO_SUITABLE_SIGNATURE_ALGORITHM"])

_PEM_CERT_RE = re.compile(
    br"-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----\s*(.+?)\s*-----END (?:X509 |TRUSTED )?CERTIFICATE-----",
    re.DOTALL,
)
_HEX_RE = re.compile(r"^[0-9a-f]{64}$")

_SHORT_NAMES = {
    "commonName": "CN",
    "countryName": "C",
    "stateOrProvinceName": "ST",
    "localityName": "L",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "streetAddress": "STREET",
    "domainComponent": "DC",
    "userId": "UID",
}
_SAN_PREFIXES = {"DNS": "DNS", "IP Address": "IP", "email": "email", "URI": "URI", "DirName": "dirName"}


class TLSCheckError(Exception):
    """The check could not be carried out (unreachable, timeout, broken handshake, bad input)."""


class StartTLSRefused(TLSCheckError):
    """The server answered a STARTTLS request with a refusal (PostgreSQL: 'N')."""


class _ProbeRefused(Exception):
    """The server refused the handshake (internal: turned into accepted=False)."""


def canonical_protocol(name):
    """Canonical protocol name (``TLSv1.2``) for a case-insensitive spelling, or None."""
    return _CANONICAL_PROTOCOLS.get(str(name).strip().lower())


# ---------------------------------------------------------------------------------------------
# Fingerprints and certificate files
# ---------------------------------------------------------------------------------------------

def normalize_fingerprint(text):
    """Return a SHA-256 fingerprint as 64 lowercase hex digits.

    Accepts colon/space/dash separated or plain hex, any case, optionally prefixed with
    ``sha256:`` or ``SHA256 Fingerprint=`` (as printed by ``openssl x509 -fingerprint``).
    Raises ValueError when it is not a SHA-256 fingerprint.
    """
    value = (text or "").strip()
    lowered = value.lower()
    for prefix in ("sha256 fingerprint=", "sha256fingerprint=", "sha256:", "sha256="):
        if lowered.startswith(prefix):
            value = value[len(prefix):]
            break
    cleaned = re.sub(r"[\s:\-]", "", value).lower()
    if not _HEX_RE.match(cleaned):
        raise ValueError(
            "%r is not a SHA-256 fingerprint (expected 64 hexadecimal digits, optionally separated by colons)" % text
        )
    return cleaned


def format_fingerprint(hexdigest):
    """64 hex digits -> colon separated lowercase pairs (``ab:cd:...``)."""
    hexdigest = hexdigest.lower()
    return ":".join(hexdigest[i:i + 2] for i in range(0, len(hexdigest), 2))


def sha256_fingerprint(der):
    """Colon separated lowercase SHA-256 fingerprint of a DER certificate."""
    return format_fingerprint(hashlib.sha256(der).hexdigest())


def certificate_der_from_bytes(data, source="certificate"):
    """Return the DER bytes of the first certificate in PEM or DER ``data``.

    Raises TLSCheckError naming ``source`` when ``data`` holds no certificate.
    """
    match = _PEM_CERT_RE.search(data)
    if match:
        try:
            der = base64.b64decode(b"".join(match.group(1).split()), validate=True)
        except (binascii.Error, ValueError):
            raise TLSCheckError("%s: the PEM CERTIFICATE block is not valid base64" % source)
    elif b"-----BEGIN" in data:
        raise TLSCheckError("%s: contains PEM data but no CERTIFICATE block (is it a key or a CSR?)" % source)
    else:
        der = data
    if not der or der[:1] != b"\x30":
        raise TLSCheckError("%s: is neither a PEM nor a DER certificate" % source)
    if HAS_CRYPTOGRAPHY:
        try:
            x509.load_der_x509_certificate(der)
        except Exception as exc:  # pylint: disable=broad-except
            raise TLSCheckError("%s: is not a valid X.509 certificate (%s)" % (source, exc))
    return der


def load_certificate_file(path):
    """Read a PEM or DER certificate file and return its DER bytes (TLSCheckError if unusable)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except (IOError, OSError) as exc:
        raise TLSCheckError("cannot read certificate file %s: %s" % (path, exc.strerror or exc))
    return certificate_der_from_bytes(data, source="certificate file %s" % path)


def check_ca_file(path):
    """Raise TLSCheckError unless ``path`` holds at least one CA certificate OpenSSL can load."""
    if not os.path.isfile(path):
        raise TLSCheckError("ca_file %s does not exist or is not a file" % path)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        ctx.load_verify_locations(cafile=path)
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise TLSCheckError("ca_file %s cannot be loaded as PEM CA certificates: %s" % (path, _reason(exc)))
    if not ctx.cert_store_stats().get("x509"):
        raise TLSCheckError("ca_file %s holds no certificate" % path)


# ---------------------------------------------------------------------------------------------
# Certificate parsing
# ---------------------------------------------------------------------------------------------

def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def _iso(value):
    return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _aware(value):
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value


def _days_left(not_after, now):
    return (not_after - now).days


def _serial_hex(number):
    """Uppercase hex with an even number of digits, as ``openssl x509 -serial`` prints it."""
    text = "%X" % number
    if len(text) % 2:
        text = "0" + text
    return text


def _parse_with_cryptography(der, now):
    cert = x509.load_der_x509_certificate(der)
    not_before = _aware(getattr(cert, "not_valid_before_utc", None) or cert.not_valid_before)
    not_after = _aware(getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after)
    sans = []
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        ext = None
    if ext is not None:
        for name in ext.value:
            if isinstance(name, x509.DNSName):
                sans.append("DNS:%s" % name.value)
            elif isinstance(name, x509.IPAddress):
                sans.append("IP:%s" % name.value)
            elif isinstance(name, x509.RFC822Name):
                sans.append("email:%s" % name.value)
            elif isinstance(name, x509.UniformResourceIdentifier):
                sans.append("URI:%s" % name.value)
            elif isinstance(name, x509.DirectoryName):
                sans.append("dirName:%s" % name.value.rfc4514_string())
            else:
                sans.append("otherName:%s" % (getattr(name, "value", name),))
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "sans": sans,
        "serial": _serial_hex(cert.serial_number),
        "not_before": _iso(not_before),
        "not_after": _iso(not_after),
        "days_left": _days_left(not_after, now),
        "sha256_fingerprint": sha256_fingerprint(der),
    }


def _rdn_string(rdns):
    parts = []
    for rdn in reversed(rdns or ()):
        parts.append("+".join("%s=%s" % (_SHORT_NAMES.get(key, key), value) for key, value in rdn))
    return ",".join(parts)


def _parse_with_ssl(der, now):
    """Fallback without cryptography: let the ssl module decode a temporary PEM copy."""
    decoded = {}
    decode = getattr(getattr(ssl, "_ssl", None), "_test_decode_cert", None)
    if decode is not None:
        fd, path = tempfile.mkstemp(suffix=".pem")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(ssl.DER_cert_to_PEM_cert(der))
            decoded = decode(path)
        except Exception:  # pylint: disable=broad-except
            decoded = {}
        finally:
            os.unlink(path)
    result = {
        "subject": _rdn_string(decoded.get("subject")) or None,
        "issuer": _rdn_string(decoded.get("issuer")) or None,
        "sans": ["%s:%s" % (_SAN_PREFIXES.get(kind, kind), value) for kind, value in decoded.get("subjectAltName", ())],
        "serial": decoded.get("serialNumber"),
        "not_before": None,
        "not_after": None,
        "days_left": None,
        "sha256_fingerprint": sha256_fingerprint(der),
    }
    for key, src in (("not_before", "notBefore"), ("not_after", "notAfter")):
        if decoded.get(src):
            stamp = datetime.datetime.fromtimestamp(ssl.cert_time_to_seconds(decoded[src]), datetime.timezone.utc)
            result[key] = _iso(stamp)
            if key == "not_after":
                result["days_left"] = _days_left(stamp, now)
    return result


def parse_certificate(der, now=None, use_cryptography=None):
    """Describe a DER certificate: subject, issuer, sans, serial, validity, days_left, fingerprint."""
    now = now or _utcnow()
    if use_cryptography is None:
        use_cryptography = HAS_CRYPTOGRAPHY
    if use_cryptography:
        return _parse_with_cryptography(der, now)
    return _parse_with_ssl(der, now)


# ---------------------------------------------------------------------------------------------
# Connections and handshakes
# ---------------------------------------------------------------------------------------------

def endpoint(host, port):
    if ":" in host and not host.startswith("["):
        return "[%s]:%s" % (host, port)
    return "%s:%s" % (host, port)


def _connect(host, port, timeout):
    where = endpoint(host, port)
    try:
        return socket.create_connection((host, port), timeout=timeout)
    except socket.gaierror as exc:
        raise TLSCheckError("cannot resolve %s: %s" % (where, exc.strerror or exc))
    except socket.timeout:
        raise TLSCheckError("connection to %s timed out after %s seconds" % (where, timeout))
    except ConnectionRefusedError:
        raise TLSCheckError("connection to %s refused (nothing listening on that port?)" % where)
    except OSError as exc:
        raise TLSCheckError("cannot connect to %s: %s" % (where, exc.strerror or exc))


def _recv_exactly(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _postgres_starttls(sock, where, timeout):
    """Send the PostgreSQL SSLRequest; return when the server agreed ('S')."""
    try:
        sock.sendall(POSTGRES_SSL_REQUEST)
        answer = _recv_exactly(sock, 1)
    except socket.timeout:
        raise TLSCheckError("%s did not answer the PostgreSQL SSLRequest within %s seconds" % (where, timeout))
    except OSError as exc:
        raise TLSCheckError("%s closed the connection on the PostgreSQL SSLRequest: %s" % (where, exc.strerror or exc))
    if answer == b"S":
        return
    if answer == b"N":
        raise StartTLSRefused(
            "%s refuses SSL: the PostgreSQL server answered 'N' to the SSLRequest (SSL is off)" % where
        )
    if not answer:
        raise TLSCheckError("%s closed the connection on the PostgreSQL SSLRequest (is it PostgreSQL?)" % where)
    raise TLSCheckError(
        "%s answered the PostgreSQL SSLRequest with %r instead of 'S' or 'N' (is it PostgreSQL?)" % (where, answer)
    )


def postgres_startup_message(user=POSTGRES_PROBE_USER, database=POSTGRES_PROBE_DATABASE):
    """A PostgreSQL v3 StartupMessage (no SSLRequest before it) for ``user`` and ``database``."""
    body = struct.pack("!I", POSTGRES_PROTOCOL_3)
    for key, value in (("user", user), ("database", database), ("application_name", "tableau_tls_check")):
        body += key.encode("utf-8") + b"\x00" + value.encode("utf-8") + b"\x00"
    body += b"\x00"
    return struct.pack("!I", len(body) + 4) + body


def parse_postgres_error(payload):
    """Fields of a PostgreSQL ErrorResponse body: {'S': severity, 'C': sqlstate, 'M': message, ...}."""
    fields = {}
    for part in payload.split(b"\x00"):
        if len(part) < 2:
            continue
        fields[part[:1].decode("ascii", "replace")] = part[1:].decode("utf-8", "replace")
    return fields


def postgres_plaintext_probe(host, port, timeout=10.0, user=POSTGRES_PROBE_USER, database=POSTGRES_PROBE_DATABASE):
    """Send a StartupMessage WITHOUT SSL and classify the server's first answer.

    Returns ``(accepted, detail)``:

    - ``False``: ErrorResponse ``E`` with SQLSTATE 28000 (pg_hba.conf rejected the unencrypted
      connection: ``no pg_hba.conf entry ... no encryption`` or ``pg_hba.conf rejects connection
      ... no encryption``).
    - ``True``: an authentication request ``R`` (the server goes on to authenticate over plaintext).
      The probe closes the connection there: it never authenticates.
    - ``None``: any other answer (another SQLSTATE such as 57P03 "starting up" or 53300 "too many
      connections"): nothing can be said.

    Raises TLSCheckError when the server cannot be reached or does not answer like PostgreSQL.
    """
    where = endpoint(host, port)
    sock = _connect(host, port, timeout)
    try:
        try:
            sock.sendall(postgres_startup_message(user=user, database=database))
            kind = _recv_exactly(sock, 1)
            header = _recv_exactly(sock, 4) if kind else b""
        except socket.timeout:
            raise TLSCheckError("%s did not answer an unencrypted PostgreSQL StartupMessage within %s seconds" % (
                where, timeout))
        except OSError as exc:
            raise TLSCheckError("%s closed the connection on an unencrypted PostgreSQL StartupMessage: %s" % (
                where, exc.strerror or exc))
        if not kind:
            raise TLSCheckError("%s closed the connection on an unencrypted PostgreSQL StartupMessage without an "
                                "answer (is it PostgreSQL?)" % where)
        length = struct.unpack("!I", header)[0] if len(header) == 4 else 0
        if kind == b"R":
            code = None
            if 8 <= length <= 4096:
                try:
                    body = _recv_exactly(sock, 4)
                    if len(body) == 4:
                        code = struct.unpack("!I", body)[0]
                except OSError:
                    pass
            return True, "accepted: the server answered an unencrypted startup with an authentication request " \
                         "('R', method %s)" % ("unknown" if code is None else code)
        if kind == b"E":
            payload = b""
            if 4 < length <= 65536:
                try:
                    payload = _recv_exactly(sock, length - 4)
                except OSError:
                    pass
            else:
                # Protocol 2 style error (a plain string) or a broken length: read what there is.
                payload = header
                try:
                    payload += sock.recv(4096)
                except OSError:
                    pass
            fields = parse_postgres_error(payload)
            code = fields.get("C")
            message = fields.get("M") or payload.decode("utf-8", "replace").strip("\x00 ")
            text = "SQLSTATE %s: %s" % (code or "unknown", message)
            if code == _PG_HBA_REJECT or (code is None and _PG_NO_ENCRYPTION_RE.search(message or "")):
                why = "for lack of encryption" if _PG_NO_ENCRYPTION_RE.search(message or "") else "by pg_hba.conf"
                return False, "refused %s: %s" % (why, text)
            return None, "inconclusive: the server answered an unencrypted startup with an error that does not " \
                         "come from pg_hba.conf (%s)" % text
        raise TLSCheckError("%s answered an unencrypted PostgreSQL StartupMessage with %r instead of 'R' or 'E' "
                            "(is it PostgreSQL?)" % (where, kind))
    finally:
        try:
            sock.close()
        except OSError:
            pass


def client_context(protocol=None, ca_file=None):
    """A client context for probing.

    ``protocol`` pins minimum and maximum version to that protocol; ``None`` opens the widest
    range the local OpenSSL allows (TLSv1 .. TLSv1.3), so that the server's choice decides.
    The security level is lowered to 0 in both cases: refusals must be the server's. With
    ``ca_file`` the chain is verified against it (the host name is not checked).
    """
    # ssl.TLSVersion.TLSv1/TLSv1_1 are deprecated (3.10+): probing them is the point here. The
    # warnings filters are process-wide state: the lock keeps concurrent checks from mixing them up.
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        if ca_file:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(cafile=ca_file)
        else:
            ctx.verify_mode = ssl.CERT_NONE
        ctx.set_ciphers(PROBE_CIPHERS)
        if protocol is None:
            lowest = ssl.TLSVersion.MINIMUM_SUPPORTED
            if getattr(ssl, "HAS_TLSv1", False):
                lowest = ssl.TLSVersion.TLSv1
            ctx.minimum_version = lowest
            ctx.maximum_version = ssl.TLSVersion.MAXIMUM_SUPPORTED
        else:
            version = getattr(ssl.TLSVersion, PROBEABLE_PROTOCOLS[protocol])
            # Order matters when the new minimum is above the current maximum and vice versa.
            ctx.maximum_version = ssl.TLSVersion.MAXIMUM_SUPPORTED
            ctx.minimum_version = version
            ctx.maximum_version = version
    return ctx


def local_protocol_support(protocol):
    """True when the local OpenSSL can offer ``protocol``."""
    if protocol in UNPROBEABLE_PROTOCOLS:
        return False
    return bool(getattr(ssl, "HAS_" + PROBEABLE_PROTOCOLS[protocol], True))


def _reason(exc):
    reason = getattr(exc, "reason", None)
    if reason:
        return str(reason)
    return str(exc) or exc.__class__.__name__


def handshake(host, port, server_name=None, timeout=10.0, starttls="none", protocol=None, ca_file=None,
              want_details=True):
    """One connection and handshake. Returns a dict (protocol, cipher, der, chain_length).

    Raises StartTLSRefused, TLSCheckError (cannot connect, timeout, local failure), or
    _ProbeRefused (the server refused or broke off the handshake).
    """
    where = endpoint(host, port)
    ctx = client_context(protocol=protocol, ca_file=ca_file)
    sock = _connect(host, port, timeout)
    tls = None
    try:
        if starttls == "postgres":
            _postgres_starttls(sock, where, timeout)
        sni = server_name if server_name else None
        try:
            # wrap_socket detaches sock: from here on, tls owns the file descriptor.
            tls = ctx.wrap_socket(sock, server_hostname=sni, do_handshake_on_connect=False)
        except ValueError as exc:
            raise TLSCheckError("cannot use server name %r for %s: %s" % (server_name, where, exc))
        try:
            tls.do_handshake()
        except ssl.SSLCertVerificationError:
            raise
        except ssl.SSLError as exc:
            reason = _reason(exc)
            if reason in _LOCAL_REASONS:
                raise TLSCheckError(
                    "the local OpenSSL cannot offer %s (%s); the result would not be the server's" % (
                        protocol or "any protocol", reason)
                )
            raise _ProbeRefused(reason)
        except socket.timeout:
            raise TLSCheckError("TLS handshake with %s timed out after %s seconds" % (where, timeout))
        except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError) as exc:
            raise _ProbeRefused("connection closed by the server during the handshake (%s)" % exc.__class__.__name__)
        except OSError as exc:
            raise TLSCheckError("TLS handshake with %s failed: %s" % (where, exc.strerror or exc))
        result = {"protocol": tls.version(), "cipher": None, "der": None}
        cipher = tls.cipher()
        if cipher:
            result["cipher"] = cipher[0]
            result["cipher_bits"] = cipher[2]
        if want_details:
            result["der"] = tls.getpeercert(binary_form=True)
            sslobj = getattr(tls, "_sslobj", None)
            get_chain = getattr(sslobj, "get_unverified_chain", None)
            if get_chain is not None:
                try:
                    chain = get_chain()
                    if chain is not None:
                        result["chain_length"] = len(chain)
                except Exception:  # pylint: disable=broad-except
                    pass
        return result
    finally:
        for conn in (tls, sock):
            if conn is not None:
                try:
                    conn.close()
                except OSError:
                    pass


def probe_protocol(host, port, protocol, server_name=None, timeout=10.0, starttls="none"):
    """Whether the server accepts a handshake pinned to ``protocol``.

    Returns ``(accepted, note)``: ``accepted`` is True/False, or None when the local OpenSSL
    cannot offer the protocol (so nothing can be said). SSLv2/SSLv3 are reported refused by
    construction. Raises TLSCheckError when the server cannot be reached at all.
    """
    if protocol in UNPROBEABLE_PROTOCOLS:
        return False, (
            "not probed: %s is not implemented by this OpenSSL (nor by any current OpenSSL-based "
            "server); reported refused by construction" % protocol
        )
    if not local_protocol_support(protocol):
        return None, "not probed: the local OpenSSL was built without %s" % protocol
    try:
        result = handshake(host, port, server_name=server_name, timeout=timeout, starttls=starttls,
                           protocol=protocol, want_details=False)
    except StartTLSRefused:
        return False, "refused: the server refuses SSL altogether (PostgreSQL answered 'N')"
    except _ProbeRefused as exc:
        return False, "refused by the server: %s" % exc
    if result["protocol"] != protocol:  # pragma: no cover - OpenSSL enforces the pinned range
        return False, "server negotiated %s instead" % result["protocol"]
    return True, "accepted (cipher %s)" % result["cipher"]


# ---------------------------------------------------------------------------------------------
# The whole check
# ---------------------------------------------------------------------------------------------

def run_check(host, port=443, server_name=None, starttls="none", timeout=10.0,
              protocols_accepted=None, protocols_refused=None, expected_fingerprint=None,
              expected_der=None, expected_cert_source=None, min_days_left=None, ca_file=None, now=None,
              postgres_plaintext=None, postgres_user=POSTGRES_PROBE_USER, postgres_database=POSTGRES_PROBE_DATABASE):
    """Run the TLS check and return the result dict (without ``changed``).

    ``expected_fingerprint`` must already be normalized (64 lowercase hex digits).
    ``postgres_plaintext`` (``refused``/``accepted``, only with ``starttls="postgres"``) adds the
    unencrypted StartupMessage probe (postgres_plaintext_probe) and its expectation.
    Raises TLSCheckError when the server cannot be reached or the handshake breaks for a reason
    that is not a statement about TLS (timeouts, resets, no TLS at all).
    """
    where = endpoint(host, port)
    if server_name is None:
        server_name = host
    failures = []
    result = {
        "host": host,
        "port": port,
        "server_name": server_name,
        "starttls": starttls,
        "tls_available": False,
        "protocol": None,
        "cipher": None,
        "certificate": None,
        "protocols": {},
        "protocol_details": {},
        "failures": failures,
        "passed": False,
    }

    try:
        main = handshake(host, port, server_name=server_name, timeout=timeout, starttls=starttls)
    except StartTLSRefused as exc:
        failures.append(str(exc))
        main = None
    except _ProbeRefused as exc:
        raise TLSCheckError("TLS handshake with %s failed: %s" % (where, exc))

    if main is not None:
        result["tls_available"] = True
        result["protocol"] = main["protocol"]
        result["cipher"] = main["cipher"]
        if "chain_length" in main:
            result["chain_length"] = main["chain_length"]
        if main.get("der"):
            cert = parse_certificate(main["der"], now=now)
            result["certificate"] = cert
            actual = cert["sha256_fingerprint"].replace(":", "")
            if expected_fingerprint and actual != expected_fingerprint:
                failures.append(
                    "certificate fingerprint %s does not match expected_fingerprint %s" % (
                        cert["sha256_fingerprint"], format_fingerprint(expected_fingerprint))
                )
            if expected_der is not None and main["der"] != expected_der:
                failures.append(
                    "certificate fingerprint %s does not match %s (fingerprint %s)" % (
                        cert["sha256_fingerprint"], expected_cert_source or "expected_cert_file",
                        sha256_fingerprint(expected_der))
                )
            if min_days_left is not None:
                if cert["days_left"] is None:
                    failures.append("cannot read the certificate's expiry date to check min_days_left")
                elif cert["days_left"] < min_days_left:
                    if cert["days_left"] < 0:
                        what = "expired %d day(s) ago (%s)" % (-cert["days_left"], cert["not_after"])
                    else:
                        what = "expires in %d day(s) (%s)" % (cert["days_left"], cert["not_after"])
                    failures.append("certificate %s, less than min_days_left=%d" % (what, min_days_left))
        elif expected_fingerprint or expected_der is not None or min_days_left is not None:
            failures.append("the server sent no certificate")

        if ca_file:
            try:
                handshake(host, port, server_name=server_name, timeout=timeout, starttls=starttls,
                          ca_file=ca_file, want_details=False)
                result["chain_verified"] = True
            except ssl.SSLCertVerificationError as exc:
                result["chain_verified"] = False
                failures.append("certificate chain does not verify against %s: %s" % (
                    ca_file, getattr(exc, "verify_message", None) or _reason(exc)))
            except _ProbeRefused as exc:
                result["chain_verified"] = False
                failures.append("certificate chain does not verify against %s: %s" % (ca_file, exc))

    for protocol in list(protocols_accepted or []) + list(protocols_refused or []):
        if protocol in result["protocols"]:
            continue
        if main is None:
            accepted, note = False, "refused: the server refuses SSL altogether"
        else:
            accepted, note = probe_protocol(host, port, protocol, server_name=server_name, timeout=timeout,
                                            starttls=starttls)
        result["protocols"][protocol] = accepted
        result["protocol_details"][protocol] = {"accepted": accepted, "note": note}

    for protocol in protocols_accepted or []:
        accepted = result["protocols"][protocol]
        if accepted is None:
            failures.append("%s must be accepted but cannot be probed: %s" % (
                protocol, result["protocol_details"][protocol]["note"]))
        elif not accepted and main is not None:
            failures.append("%s must be accepted but the server refused it (%s)" % (
                protocol, result["protocol_details"][protocol]["note"]))
    for protocol in protocols_refused or []:
        accepted = result["protocols"][protocol]
        if accepted is None:
            failures.append("%s must be refused but cannot be probed: %s" % (
                protocol, result["protocol_details"][protocol]["note"]))
        elif accepted:
            failures.append("%s must be refused but the server accepted it" % protocol)

    if starttls == "postgres" and postgres_plaintext:
        accepted, note = postgres_plaintext_probe(host, port, timeout=timeout, user=postgres_user,
                                                  database=postgres_database)
        result["plaintext_accepted"] = accepted
        result["plaintext_detail"] = note
        if accepted is None:
            failures.append("cannot tell whether %s accepts unencrypted connections (postgres_plaintext=%s): %s" % (
                where, postgres_plaintext, note))
        elif accepted and postgres_plaintext == "refused":
            failures.append("%s accepts unencrypted PostgreSQL connections but postgres_plaintext=refused (%s)" % (
                where, note))
        elif not accepted and postgres_plaintext == "accepted":
            failures.append("%s refuses unencrypted PostgreSQL connections but postgres_plaintext=accepted (%s)" % (
                where, note))

    result["passed"] = not failures
    return result
