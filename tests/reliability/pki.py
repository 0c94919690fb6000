# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Good and bad certificate material for the reliability suite.

``make_pki(outdir, hostnames, addresses)`` writes every file the bad-input matrix and the fault
scenarios need and returns {name: absolute path}. cryptography makes everything except the
SHA-1 certificate, which the openssl CLI signs (cryptography refuses SHA-1 signing).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import subprocess

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DAY = datetime.timedelta(days=1)
KEY_PASSPHRASE = "Key-Passphrase-9f3Kq!x"


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tableau.tsm reliability"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _key(bits=2048):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _cert(subject_key, cn, issuer_key=None, issuer_name=None, ca=False, days=(-1, 365), sans=(),
          path_len=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(_name(cn))
               .issuer_name(issuer_name or _name(cn))
               .public_key(subject_key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now + days[0] * DAY)
               .not_valid_after(now + days[1] * DAY)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=path_len), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True)
    else:
        alt = []
        for name in sans:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alt.append(x509.DNSName(name))
        if alt:
            builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key()),
                                    critical=False)
    return builder.sign(issuer_key or subject_key, hashes.SHA256())


def _pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key, passphrase=None):
    enc = (serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
           else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def make_pki(outdir, hostnames, addresses=()):
    os.makedirs(outdir, exist_ok=True)
    files = {}

    def write(name, data, mode=0o600):
        path = os.path.join(outdir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        files[name.rsplit(".", 1)[0] if name.count(".") == 1 else name] = path
        files[name] = path
        return path

    sans = list(hostnames) + list(addresses)
    root_key, inter_key, leaf_key, other_key = _key(), _key(), _key(), _key()
    root = _cert(root_key, "Reliability Root CA", ca=True, days=(-2, 3650))
    inter = _cert(inter_key, "Reliability Issuing CA", root_key, root.subject, ca=True, days=(-2, 1825), path_len=0)
    leaf = _cert(leaf_key, hostnames[0], inter_key, inter.subject, sans=sans)
    leaf2 = _cert(other_key, hostnames[0], inter_key, inter.subject, sans=sans)  # a second good set
    other_root_key = _key()
    other_root = _cert(other_root_key, "Unrelated Root CA", ca=True, days=(-2, 3650))

    write("root.crt", _pem(root), 0o644)
    write("good.crt", _pem(leaf), 0o644)
    write("good.key", _key_pem(leaf_key))
    write("good2.crt", _pem(leaf2), 0o644)
    write("good2.key", _key_pem(other_key))
    write("chain.crt", _pem(inter) + _pem(root), 0o644)
    write("chain_wrong_order.crt", _pem(root) + _pem(inter), 0o644)
    write("chain_unrelated.crt", _pem(other_root), 0o644)
    write("good.der", leaf.public_bytes(serialization.Encoding.DER), 0o644)
    write("root.der", root.public_bytes(serialization.Encoding.DER), 0o644)
    write("enc.key", _key_pem(leaf_key, KEY_PASSPHRASE))

    exp_key = _key()
    write("expired.crt", _pem(_cert(exp_key, hostnames[0], inter_key, inter.subject, sans=sans, days=(-30, -1))), 0o644)
    write("expired.key", _key_pem(exp_key))
    fut_key = _key()
    write("future.crt", _pem(_cert(fut_key, hostnames[0], inter_key, inter.subject, sans=sans, days=(10, 400))), 0o644)
    write("future.key", _key_pem(fut_key))
    ss_key = _key()
    write("selfsigned.crt", _pem(_cert(ss_key, hostnames[0], sans=sans)), 0o644)
    write("selfsigned.key", _key_pem(ss_key))
    weak_key = _key(1024)
    write("weak.crt", _pem(_cert(weak_key, hostnames[0], inter_key, inter.subject, sans=sans)), 0o644)
    write("weak.key", _key_pem(weak_key))

    # SHA-1: signed by the openssl CLI with the intermediate CA.
    inter_key_path = write("inter.key", _key_pem(inter_key))
    inter_path = write("inter.crt", _pem(inter), 0o644)
    sha1_key = _key()
    sha1_key_path = write("sha1.key", _key_pem(sha1_key))
    csr = os.path.join(outdir, "sha1.csr")
    ext = os.path.join(outdir, "sha1.ext")
    with open(ext, "w", encoding="utf-8") as handle:
        handle.write("basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n"
                     % ",".join(("IP:" if _is_ip(n) else "DNS:") + n for n in sans))
    subprocess.run(["openssl", "req", "-new", "-key", sha1_key_path, "-subj", "/CN=%s" % hostnames[0],
                    "-out", csr], check=True, capture_output=True)
    sha1_path = os.path.join(outdir, "sha1.crt")
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", inter_path, "-CAkey", inter_key_path,
                    "-CAcreateserial", "-days", "365", "-sha1", "-extfile", ext, "-out", sha1_path],
                   check=True, capture_output=True)
    files["sha1.crt"] = files["sha1"] = sha1_path

    write("empty.crt", b"", 0o644)
    write("garbage.bin", os.urandom(1500), 0o644)
    write("notes.txt", b"this is not a certificate\n", 0o644)
    directory = os.path.join(outdir, "a_directory.crt")
    os.makedirs(directory, exist_ok=True)
    files["a_directory"] = directory
    files["missing"] = os.path.join(outdir, "does-not-exist.crt")
    return files


def _is_ip(name):
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False
