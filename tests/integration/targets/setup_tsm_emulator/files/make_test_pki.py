# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Write a small test PKI for the integration targets into OUTDIR (cryptography only).

Usage: make_test_pki.py OUTDIR [HOSTNAME ...]

Files (PEM unless said otherwise):
  ca.crt ca.der ca.key             root CA
  int.crt int.key                  intermediate CA signed by the root
  chain.crt                        int.crt + ca.crt (issuer first)
  server1.crt server1.key          leaf signed by int, SANs = HOSTNAMEs + *.tsm.test + 127.0.0.1
  server1.der server1.key.der      the same in DER
  server1-renewed.crt              a renewal of server1 (same key, new serial and dates)
  server2.crt server2-enc.key      another leaf, key encrypted with PASSPHRASE below
  expired.crt expired.key          leaf signed by int that expired yesterday
  future.crt                       leaf (key server1.key) valid from next year
  other.key                        a key that matches no certificate
  other-ca.crt other-ca.der        an unrelated self-signed CA (wrong chain, second custom cert)
  weak.crt weak.key                self-signed leaf with a 1024-bit RSA key
  crl.pem                          an empty CRL issued by the root CA (mutual SSL revocation file)
  garbage.crt                      not a certificate
Prints a JSON object with the SHA-256 fingerprints (lowercase, colon separated) of the certificates.
"""
import datetime
import json
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

PASSPHRASE = b"integration-s3cret"
NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
DAY = datetime.timedelta(days=1)


def key(bits=2048):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tableau.tsm tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def cert(subject_cn, subject_key, issuer_cert=None, issuer_key=None, ca=False, sans=None,
         not_before=None, not_after=None, algorithm=None):
    issuer_name = issuer_cert.subject if issuer_cert is not None else name(subject_cn)
    signer = issuer_key if issuer_key is not None else subject_key
    b = (x509.CertificateBuilder()
         .subject_name(name(subject_cn)).issuer_name(issuer_name)
         .public_key(subject_key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(not_before or NOW - DAY)
         .not_valid_after(not_after or NOW + 365 * DAY)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key()), critical=False))
    if issuer_cert is not None:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
                            critical=False)
    if ca:
        b = b.add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                          key_encipherment=False, data_encipherment=False,
                                          key_agreement=False, key_cert_sign=True, crl_sign=True,
                                          encipher_only=False, decipher_only=False), critical=True)
    else:
        names = []
        for s in sans or []:
            try:
                import ipaddress
                names.append(x509.IPAddress(ipaddress.ip_address(s)))
            except ValueError:
                names.append(x509.DNSName(s))
        if names:
            b = b.add_extension(x509.SubjectAlternativeName(names), critical=False)
        b = b.add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH,
                                                   x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]),
                            critical=False)
    return b.sign(signer, algorithm or hashes.SHA256())


def pem(c):
    return c.public_bytes(serialization.Encoding.PEM)


def der(c):
    return c.public_bytes(serialization.Encoding.DER)


def key_bytes(k, encoding=serialization.Encoding.PEM, passphrase=None):
    enc = (serialization.BestAvailableEncryption(passphrase) if passphrase
           else serialization.NoEncryption())
    return k.private_bytes(encoding, serialization.PrivateFormat.PKCS8, enc)


def main():
    out = sys.argv[1]
    hostnames = sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    files = {}
    fps = {}

    def put(fname, data):
        files[fname] = data

    def fp(label, c):
        fps[label] = c.fingerprint(hashes.SHA256()).hex(":")

    ca_key = key()
    ca = cert("tableau.tsm test root CA", ca_key, ca=True, not_after=NOW + 3650 * DAY)
    int_key = key()
    inter = cert("tableau.tsm test intermediate CA", int_key, ca, ca_key, ca=True,
                 not_after=NOW + 1825 * DAY)
    sans = list(hostnames) + ["*.tsm.test", "localhost", "127.0.0.1"]
    s1_key = key()
    s1 = cert(hostnames[0] if hostnames else "server1.tsm.test", s1_key, inter, int_key, sans=sans)
    s1r = cert(hostnames[0] if hostnames else "server1.tsm.test", s1_key, inter, int_key, sans=sans,
               not_before=NOW - DAY + datetime.timedelta(seconds=5), not_after=NOW + 730 * DAY)
    s2_key = key()
    s2 = cert("server2.tsm.test", s2_key, inter, int_key, sans=sans)
    exp_key = key()
    expired = cert("expired.tsm.test", exp_key, inter, int_key, sans=sans,
                   not_before=NOW - 400 * DAY, not_after=NOW - DAY)
    future = cert("future.tsm.test", s1_key, inter, int_key, sans=sans,
                  not_before=NOW + 365 * DAY, not_after=NOW + 730 * DAY)
    other_ca_key = key()
    other_ca = cert("unrelated test CA", other_ca_key, ca=True)
    weak_key = key(1024)
    weak = cert("weak.tsm.test", weak_key, sans=sans)
    crl = (x509.CertificateRevocationListBuilder().issuer_name(ca.subject)
           .last_update(NOW - DAY).next_update(NOW + 30 * DAY).sign(ca_key, hashes.SHA256()))

    put("ca.crt", pem(ca))
    put("ca.der", der(ca))
    put("ca.key", key_bytes(ca_key))
    put("int.crt", pem(inter))
    put("int.key", key_bytes(int_key))
    put("chain.crt", pem(inter) + pem(ca))
    put("server1.crt", pem(s1))
    put("server1.key", key_bytes(s1_key))
    put("server1.der", der(s1))
    put("server1.key.der", key_bytes(s1_key, serialization.Encoding.DER))
    put("server1-renewed.crt", pem(s1r))
    put("server2.crt", pem(s2))
    put("server2-enc.key", key_bytes(s2_key, passphrase=PASSPHRASE))
    put("expired.crt", pem(expired))
    put("expired.key", key_bytes(exp_key))
    put("future.crt", pem(future))
    put("other.key", key_bytes(key()))
    put("other-ca.crt", pem(other_ca))
    put("other-ca.der", der(other_ca))
    put("weak.crt", pem(weak))
    put("weak.key", key_bytes(weak_key))
    put("crl.pem", crl.public_bytes(serialization.Encoding.PEM))
    put("garbage.crt", b"this is not a certificate\n")
    for fname, data in files.items():
        path = os.path.join(out, fname)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    for label, c in (("ca", ca), ("int", inter), ("server1", s1), ("server1_renewed", s1r),
                     ("server2", s2), ("expired", expired), ("other_ca", other_ca)):
        fp(label, c)
    json.dump({"dir": os.path.abspath(out), "passphrase": PASSPHRASE.decode(), "fingerprints": fps},
              sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
