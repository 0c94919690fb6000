# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Demo/test PKI: a CA and a gateway server certificate for an emulated Tableau cluster.

    tools/demo_certs.py OUTDIR [--cn NAME] [--san NAME_OR_IP ...] [--days N]
                               [--passphrase P] [--variant good|expired|wrong-key|sha1]

Writes OUTDIR/ca.crt, ca.key, server.crt, server.key and chain.crt (= the CA certificate),
keys 0600, and prints a JSON summary (paths, SHA-256 fingerprint). Existing files are reused
when they are still what was asked for, so that a re-run keeps the same certificate (and a
hardening re-run stays a no-op). Variants other than ``good`` make a certificate that the
collection must refuse (for tests): expired, a key that does not match, a SHA-1 signature.

Needs ``cryptography`` (in the project .venv). Not part of the shipped collection.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import json
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DAY = datetime.timedelta(days=1)


def _write(path, data, mode=0o644):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _key_pem(key, passphrase=None):
    enc = (serialization.BestAvailableEncryption(passphrase.encode("utf-8")) if passphrase
           else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL
                             if not passphrase else serialization.PrivateFormat.PKCS8, enc)


def _name(cn, org="tableau.tsm demo"):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _load_ca(outdir):
    crt, key = os.path.join(outdir, "ca.crt"), os.path.join(outdir, "ca.key")
    if os.path.exists(crt) and os.path.exists(key):
        with open(crt, "rb") as handle:
            cert = x509.load_pem_x509_certificate(handle.read())
        with open(key, "rb") as handle:
            pkey = serialization.load_pem_private_key(handle.read(), password=None)
        if cert.not_valid_after_utc > datetime.datetime.now(datetime.timezone.utc) + 30 * DAY:
            return cert, pkey
    now = datetime.datetime.now(datetime.timezone.utc)
    pkey = _key()
    cert = (x509.CertificateBuilder()
            .subject_name(_name("tableau.tsm Demo Root CA"))
            .issuer_name(_name("tableau.tsm Demo Root CA"))
            .public_key(pkey.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - DAY)
            .not_valid_after(now + 3650 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(pkey.public_key()), critical=False)
            .sign(pkey, hashes.SHA256()))
    _write(key, _key_pem(pkey), 0o600)
    _write(crt, cert.public_bytes(serialization.Encoding.PEM))
    return cert, pkey


def _sans(names):
    out = []
    for name in names:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            out.append(x509.DNSName(name))
    return out


def _existing_ok(outdir, cn, sans, variant):
    """True when server.crt/server.key exist, match the request and have > 30 days left."""
    marker = os.path.join(outdir, "server.request.json")
    try:
        with open(marker) as handle:
            if json.load(handle) != {"cn": cn, "sans": sorted(sans), "variant": variant}:
                return False
        with open(os.path.join(outdir, "server.crt"), "rb") as handle:
            cert = x509.load_pem_x509_certificate(handle.read())
    except (OSError, ValueError):
        return False
    if variant == "expired":
        return True
    return cert.not_valid_after_utc > datetime.datetime.now(datetime.timezone.utc) + 30 * DAY


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("outdir")
    parser.add_argument("--cn", default="tableau.demo.test")
    parser.add_argument("--san", action="append", default=[], help="DNS name or IP address (repeatable)")
    parser.add_argument("--days", type=int, default=397)
    parser.add_argument("--passphrase", default=None, help="encrypt server.key with this passphrase")
    parser.add_argument("--variant", default="good", choices=["good", "expired", "wrong-key", "sha1"])
    parser.add_argument("--force", action="store_true", help="make a new server certificate even if one fits")
    args = parser.parse_args(argv)

    outdir = os.path.abspath(args.outdir)
    os.makedirs(outdir, mode=0o700, exist_ok=True)
    ca_cert, ca_key = _load_ca(outdir)
    sans = list(dict.fromkeys([args.cn] + args.san))
    crt_path, key_path = os.path.join(outdir, "server.crt"), os.path.join(outdir, "server.key")
    chain_path = os.path.join(outdir, "chain.crt")

    if args.force or args.passphrase or not _existing_ok(outdir, args.cn, sans, args.variant):
        now = datetime.datetime.now(datetime.timezone.utc)
        key = _key()
        not_before, not_after = now - DAY, now + args.days * DAY
        if args.variant == "expired":
            not_before, not_after = now - 400 * DAY, now - 2 * DAY
        builder = (x509.CertificateBuilder()
                   .subject_name(_name(args.cn))
                   .issuer_name(ca_cert.subject)
                   .public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(not_before)
                   .not_valid_after(not_after)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                   .add_extension(x509.SubjectAlternativeName(_sans(sans)), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                                  critical=False))
        algorithm = hashes.SHA1() if args.variant == "sha1" else hashes.SHA256()
        try:
            cert = builder.sign(ca_key, algorithm)
        except Exception as exc:  # newer cryptography may refuse SHA-1 signing
            sys.exit("cannot make a SHA-1 signed certificate with this cryptography: %s" % exc)
        if args.variant == "wrong-key":
            key = _key()  # the key written does not belong to the certificate
        _write(crt_path, cert.public_bytes(serialization.Encoding.PEM))
        _write(key_path, _key_pem(key, args.passphrase), 0o600)
        _write(chain_path, ca_cert.public_bytes(serialization.Encoding.PEM))
        with open(os.path.join(outdir, "server.request.json"), "w") as handle:
            json.dump({"cn": args.cn, "sans": sorted(sans), "variant": args.variant}, handle)

    with open(crt_path, "rb") as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    plain = cert.fingerprint(hashes.SHA256()).hex().upper()
    print(json.dumps({
        "ca_file": os.path.join(outdir, "ca.crt"),
        "cert_file": crt_path,
        "key_file": key_path,
        "chain_file": chain_path,
        "subject": cert.subject.rfc4514_string(),
        "sans": sans,
        "not_after": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "variant": args.variant,
        "sha256_fingerprint": ":".join(plain[i:i + 2] for i in range(0, len(plain), 2)),
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
