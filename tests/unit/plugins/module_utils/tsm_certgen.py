# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Test helper: build certificates, keys and chains with cryptography."""

from __future__ import annotations

import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

NOW = datetime.datetime(2026, 6, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
DAY = datetime.timedelta(days=1)

_KEY_CACHE = {}


def rsa_key(bits=2048, slot=0):
    """RSA keys are slow to make: cache them by (bits, slot)."""
    if (bits, slot) not in _KEY_CACHE:
        _KEY_CACHE[(bits, slot)] = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return _KEY_CACHE[(bits, slot)]


def ec_key(curve=None):
    return ec.generate_private_key(curve or ec.SECP256R1())


def make_cert(subject, key, issuer=None, issuer_key=None, ca=False, not_before=None, not_after=None,
              sans=None, hash_alg=None, serial=None):
    not_before = not_before or (NOW - 10 * DAY)
    not_after = not_after or (NOW + 365 * DAY)
    subject_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name = issuer.subject if issuer is not None else subject_name
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject_name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if sans:
        names = []
        for san in sans:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(san)))
            except ValueError:
                names.append(x509.DNSName(san))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key or key, hash_alg or hashes.SHA256())


class PKI:
    """root -> intermediate -> leaf (tableau.example.com)."""

    def __init__(self, name="Test", slot=0):
        self.root_key = rsa_key(2048, slot=slot * 3)
        self.root = make_cert(name + " Root CA", self.root_key, ca=True)
        self.int_key = rsa_key(2048, slot=slot * 3 + 1)
        self.intermediate = make_cert(name + " Issuing CA", self.int_key, issuer=self.root,
                                      issuer_key=self.root_key, ca=True)
        self.leaf_key = rsa_key(2048, slot=slot * 3 + 2)
        self.leaf = self.issue("tableau.example.com", self.leaf_key)

    def issue(self, cn, key, **kwargs):
        kwargs.setdefault("sans", [cn])
        return make_cert(cn, key, issuer=self.intermediate, issuer_key=self.int_key, **kwargs)


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


def key_pem(key, passphrase=None, fmt=serialization.PrivateFormat.TraditionalOpenSSL):
    enc = (serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
           else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, fmt, enc)


def key_der(key, passphrase=None):
    enc = (serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
           else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, enc)


def write(path, data):
    path.write_bytes(data)
    return str(path)
