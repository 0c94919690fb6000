# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import shutil
import subprocess

import pytest

pytest.importorskip("cryptography")

from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402

from ansible_collections.tableau.tsm.plugins.module_utils import _certificates as C  # noqa: E402
from ansible_collections.tableau.tsm.tests.unit.plugins.module_utils.tsm_certgen import (  # noqa: E402
    DAY, NOW, PKI, der, ec_key, key_der, key_pem, make_cert, pem, rsa_key, write,
)

SECRET = "s3cr3t-Passphrase!"


@pytest.fixture(scope="module")
def pki():
    return PKI("Test", slot=0)


@pytest.fixture(scope="module")
def other_pki():
    return PKI("Other", slot=1)


@pytest.fixture
def files(tmp_path, pki):
    def make(cert=None, key=None, chain=None, cert_bytes=None, key_bytes=None, chain_bytes=None):
        cert_path = write(tmp_path / "server.crt", cert_bytes if cert_bytes is not None else pem(cert or pki.leaf))
        key_path = write(tmp_path / "server.key", key_bytes if key_bytes is not None else key_pem(key or pki.leaf_key))
        chain_path = None
        if chain is not None or chain_bytes is not None:
            chain_path = write(tmp_path / "chain.crt",
                               chain_bytes if chain_bytes is not None else b"".join(pem(c) for c in chain))
        return cert_path, key_path, chain_path
    return make


def check(paths, **kwargs):
    kwargs.setdefault("now", NOW)
    return C.check_server_certificate(*paths, **kwargs)


def test_good_certificate_with_full_chain(files, pki):
    result = check(files(chain=[pki.intermediate, pki.root]), hostname="tableau.example.com")
    assert result.errors == []
    assert result.warnings == []
    assert result.chain_end == "self-signed root"
    assert result.cert_format == "PEM"
    assert result.info["subject"] == "CN=tableau.example.com"
    assert result.info["key_type"] == "RSA" and result.info["key_size"] == 2048
    assert result.info["signature_hash"] == "sha256"
    assert result.info["subject_alt_names"] == ["DNS:tableau.example.com"]
    colon, plain = C.fingerprint_sha256(pki.leaf)
    assert result.info["sha256"] == plain == pki.leaf.fingerprint(hashes.SHA256()).hex()
    assert colon.replace(":", "").lower() == plain and colon.count(":") == 31
    assert result.chain_pem == pem(pki.intermediate) + pem(pki.root)


def test_chain_without_root_says_issuer_not_included(files, pki):
    result = check(files(chain=[pki.intermediate]))
    assert result.ok
    assert "not included" in result.chain_end and "Test Root CA" in result.chain_end


def test_expired(files, pki):
    result = check(files(), now=NOW + 400 * DAY)
    assert any("has expired" in e and "server.crt" in e for e in result.errors)


def test_not_yet_valid(files, pki):
    result = check(files(), now=NOW - 30 * DAY)
    assert any("not yet valid" in e and "server.crt" in e for e in result.errors)


def test_expiring_soon_is_a_warning(files, pki):
    result = check(files(), now=NOW + 350 * DAY)
    assert result.ok
    assert any("expires in 15 days" in w for w in result.warnings)


def test_mismatched_key(files, pki, other_pki):
    result = check(files(key=other_pki.leaf_key))
    assert any("does not match the certificate" in e and "server.key" in e for e in result.errors)


def test_encrypted_key_without_passphrase(files, pki):
    result = check(files(key_bytes=key_pem(pki.leaf_key, SECRET)))
    assert any("is encrypted, but no passphrase was given" in e for e in result.errors)


def test_encrypted_key_wrong_passphrase(files, pki):
    result = check(files(key_bytes=key_pem(pki.leaf_key, SECRET)), passphrase="wrong-one")
    assert any("wrong passphrase" in e for e in result.errors)
    assert all("wrong-one" not in e for e in result.errors)


def test_encrypted_key_right_passphrase(files, pki):
    data = key_pem(pki.leaf_key, SECRET)
    result = check(files(key_bytes=data), passphrase=SECRET)
    assert result.ok, result.errors
    assert result.key_encrypted is True
    assert result.key_pem == data  # PEM keys are handed to tsm unchanged
    text = " ".join(result.errors + result.warnings) + repr(result.info)
    assert SECRET not in text


def test_passphrase_for_plain_key_is_ignored_with_warning(files, pki):
    result = check(files(), passphrase=SECRET)
    assert result.ok
    assert any("passphrase is ignored" in w for w in result.warnings)
    assert all(SECRET not in w for w in result.warnings)


def test_chain_wrong_order(files, pki):
    result = check(files(chain=[pki.root, pki.intermediate]))
    assert any("wrong order" in e and "#2" in e for e in result.errors), result.errors


def test_chain_not_certifying(files, pki, other_pki):
    result = check(files(chain=[other_pki.intermediate, other_pki.root]))
    assert any("does not certify the server certificate" in e for e in result.errors), result.errors


def test_chain_gap(files, pki, other_pki):
    result = check(files(chain=[pki.intermediate, other_pki.root]))
    assert any("is not issued by certificate #2" in e for e in result.errors), result.errors


def test_sha1_signature_refused(files, pki, tmp_path):
    """cryptography >= 47 refuses to sign with SHA-1, so the certificate is made by openssl."""
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.skip("openssl not available")
    key, crt = str(tmp_path / "s1.key"), str(tmp_path / "s1.crt")
    proc = subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha1", "-days", "3650",
                           "-subj", "/CN=tableau.example.com", "-keyout", key, "-out", crt],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        pytest.skip("openssl cannot sign with SHA-1 here")
    result = C.check_server_certificate(crt, key)
    assert any("SHA-1" in e and "refused" in e and "s1.crt" in e for e in result.errors), result.errors


class _StubCert:
    def __init__(self, algorithm):
        self.signature_hash_algorithm = algorithm


@pytest.mark.parametrize("algorithm, refused", [(hashes.SHA1(), True), (hashes.MD5(), True),
                                                (hashes.SHA256(), False), (None, False)])
def test_signature_hash_check(algorithm, refused):
    result = C.CertificateCheckResult()
    C._check_signature_hash(_StubCert(algorithm), "certificate file x.crt", result)
    assert bool(result.errors) is refused


def test_small_rsa_key_refused(files, pki):
    small = rsa_key(1024)
    leaf = pki.issue("tableau.example.com", small)
    result = check(files(cert=leaf, key=small))
    assert any("1024 bits is too small" in e for e in result.errors), result.errors


def test_ec_key_accepted(files, pki):
    key = ec_key()
    leaf = pki.issue("tableau.example.com", key)
    result = check(files(cert=leaf, key_bytes=key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())))
    assert result.ok, result.errors
    assert result.info["key_type"] == "EC" and result.info["key_size"] == 256


def test_der_certificate_and_key_converted(files, pki):
    result = check(files(cert_bytes=der(pki.leaf), key_bytes=key_der(pki.leaf_key)))
    assert result.ok, result.errors
    assert result.cert_format == "DER" and result.key_format == "DER"
    assert result.cert_pem == pem(pki.leaf)
    assert result.key_pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")


def test_der_encrypted_key_armoured(files, pki):
    result = check(files(key_bytes=key_der(pki.leaf_key, SECRET)), passphrase=SECRET)
    assert result.ok, result.errors
    assert result.key_pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    loaded = serialization.load_pem_private_key(result.key_pem, SECRET.encode())
    assert C.key_matches_certificate(loaded, pki.leaf)


def test_same_certificate_pem_and_der_same_bytes(files, pki, tmp_path):
    a = check(files())
    b = check(files(cert_bytes=der(pki.leaf)))
    assert a.cert_pem == b.cert_pem


def test_hostname(files, pki):
    assert check(files(), hostname="tableau.example.com").ok
    result = check(files(), hostname="other.example.com")
    assert any("does not match the host name other.example.com" in e for e in result.errors)
    wildcard = pki.issue("*.example.com", pki.leaf_key, sans=["*.example.com", "10.0.0.5"])
    assert C.hostname_matches(wildcard, "tableau.example.com")
    assert not C.hostname_matches(wildcard, "a.b.example.com")
    assert C.hostname_matches(wildcard, "10.0.0.5")


def test_garbage_and_swapped_files(files, pki):
    result = check(files(cert_bytes=b"this is not a certificate"))
    assert any("neither a PEM nor a DER" in e and "server.crt" in e for e in result.errors)
    result = check(files(cert_bytes=key_pem(pki.leaf_key)))
    assert any("contains a private key, not a certificate" in e for e in result.errors)
    result = check(files(key_bytes=pem(pki.leaf)))
    assert any("contains a certificate, not a private key" in e for e in result.errors)


def test_missing_file(tmp_path):
    result = C.check_server_certificate(str(tmp_path / "nope.crt"), str(tmp_path / "nope.key"), now=NOW)
    assert any("nope.crt cannot be read" in e for e in result.errors)
    assert any("nope.key cannot be read" in e for e in result.errors)


def test_certificate_file_with_several_certificates(files, pki):
    result = check(files(cert_bytes=pem(pki.leaf) + pem(pki.intermediate)))
    assert any("contains 2 certificates" in e for e in result.errors)


def test_expired_intermediate(files, pki):
    old_int = make_cert("Test Issuing CA", pki.int_key, issuer=pki.root, issuer_key=pki.root_key, ca=True,
                        not_before=NOW - 100 * DAY, not_after=NOW - DAY)
    result = check(files(chain=[old_int, pki.root]))
    assert any("certificate #1" in e and "has expired" in e for e in result.errors), result.errors


def test_raise_for_errors(files, pki, other_pki):
    result = check(files(key=other_pki.leaf_key))
    with pytest.raises(C.CertificateError) as exc:
        result.raise_for_errors()
    assert "does not match" in str(exc.value)


def test_self_signed_server_certificate_with_a_chain_says_so(files, pki):
    key = rsa_key(slot=3)
    selfsigned = make_cert("tableau.example.com", key)
    result = check(files(cert=selfsigned, key=key, chain=[pki.intermediate, pki.root]))
    assert len(result.errors) == 1
    assert "is self-signed, so no chain can certify it" in result.errors[0]
    assert "chain.crt" in result.errors[0]


# check_ca_certificates: the trusted/CA certificate files of custom_cert, mutual_ssl and maestro ------------

def _no_constraints(cn, key):
    """A self-signed certificate without a basicConstraints extension (make_cert always adds one)."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(NOW - 10 * DAY)
            .not_valid_after(NOW + 365 * DAY).sign(key, hashes.SHA256()))


def ca_check(tmp_path, data, name="ca.crt", **kwargs):
    path = write(tmp_path / name, data)
    kwargs.setdefault("now", NOW)
    return path, C.check_ca_certificates(path, kwargs.pop("label", "cert_file"), **kwargs)


def test_basic_constraints_ca(pki):
    assert C.basic_constraints_ca(pki.root) is True
    assert C.basic_constraints_ca(pki.leaf) is False
    assert C.basic_constraints_ca(_no_constraints("x", rsa_key(slot=4))) is None


def test_ca_certificates_good_bundle(tmp_path, pki):
    path, result = ca_check(tmp_path, pem(pki.intermediate) + pem(pki.root))
    assert result.ok and result.warnings == []
    assert result.certificates == [pki.intermediate, pki.root] and result.certificate == pki.intermediate
    assert result.cert_pem == pem(pki.intermediate) + pem(pki.root)
    assert result.cert_format == "PEM"
    assert result.info["subject"] == "CN=Test Issuing CA" and result.info["format"] == "PEM"
    assert result.info["count"] == 2


def test_ca_certificates_der_gives_the_same_pem(tmp_path, pki):
    _path, from_der = ca_check(tmp_path, der(pki.root), name="root.der")
    _path, from_pem = ca_check(tmp_path, pem(pki.root))
    assert from_der.ok and from_der.cert_format == "DER" and from_der.info["format"] == "DER"
    assert from_der.cert_pem == from_pem.cert_pem == pem(pki.root)


def test_ca_certificates_errors_name_the_option_file_and_certificate(tmp_path, pki):
    old = make_cert("Old CA", rsa_key(slot=5), ca=True, not_before=NOW - 100 * DAY, not_after=NOW - DAY)
    path, result = ca_check(tmp_path, pem(pki.root) + pem(old))
    expiry = C.not_valid_after(old).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert result.errors == ["cert_file %s certificate #2 has expired: valid until %s" % (path, expiry)]
    with pytest.raises(C.CertificateError) as exc:
        result.raise_for_errors()
    assert str(exc.value) == result.errors[0]


def test_ca_certificates_single_certificate_is_named_by_the_file(tmp_path, pki):
    path, result = ca_check(tmp_path, pem(pki.root), now=NOW - 30 * DAY)
    assert len(result.errors) == 1
    assert result.errors[0].startswith("cert_file %s is not yet valid: valid from " % path)


def test_ca_certificates_expiring_soon_warns(tmp_path, pki):
    path, result = ca_check(tmp_path, pem(pki.root), now=C.not_valid_after(pki.root) - 5 * DAY)
    assert result.ok
    assert result.warnings == ["cert_file %s expires in 5 days (on %s)"
                               % (path, C.not_valid_after(pki.root).strftime("%Y-%m-%d"))]


def test_ca_certificates_unreadable_and_wrong_content(tmp_path, pki):
    missing = str(tmp_path / "missing.crt")
    result = C.check_ca_certificates(missing, "ca_cert_file", now=NOW)
    assert result.errors == ["ca_cert_file %s cannot be read: No such file or directory" % missing]
    assert result.certificates == [] and result.cert_pem is None
    path, result = ca_check(tmp_path, key_pem(pki.leaf_key), label="certificate file")
    assert result.errors == ["certificate file %s contains a private key, not a certificate" % path]


def test_ca_certificates_weak_key_and_sha1(tmp_path, pki, monkeypatch):
    weak = make_cert("Weak CA", rsa_key(1024), ca=True)
    path, result = ca_check(tmp_path, pem(weak))
    assert len(result.errors) == 1 and result.errors[0].startswith(
        "cert_file %s: RSA key of 1024 bits is too small" % path)
    # cryptography >= 47 cannot sign with SHA-1: fake the hash name; self-signed roots are exempt
    monkeypatch.setattr(C, "signature_hash_name", lambda cert: "sha1")
    path, result = ca_check(tmp_path, pem(pki.intermediate))
    assert result.errors == ["cert_file %s is signed with SHA-1, which is refused; reissue it with SHA-256 or "
                             "better" % path]
    _path, result = ca_check(tmp_path, pem(pki.root))
    assert result.ok


def test_ca_certificates_only_one(tmp_path, pki):
    reason = "tsm security custom-cert add takes exactly one CA certificate"
    path, result = ca_check(tmp_path, pem(pki.intermediate) + pem(pki.root), label="certificate file",
                            only_one=reason)
    assert result.errors == ["certificate file %s contains 2 certificates; %s" % (path, reason)]
    _path, result = ca_check(tmp_path, pem(pki.root), only_one=reason)
    assert result.ok and "count" not in result.info


def test_ca_certificates_require_ca_warn(tmp_path, pki):
    hint = "Tableau will trust only this exact certificate"
    _path, result = ca_check(tmp_path, pem(pki.root), require_ca="warn", not_ca_hint=hint)
    assert result.ok and result.warnings == []
    for cert in (pki.leaf, _no_constraints("bare", rsa_key(slot=4))):
        path, result = ca_check(tmp_path, pem(cert), require_ca="warn", not_ca_hint=hint)
        assert result.ok
        assert result.warnings == ["cert_file %s is not a CA certificate (no basicConstraints CA:TRUE); %s"
                                   % (path, hint)]


def test_ca_certificates_require_ca_error(tmp_path, pki):
    hint = "give the CA that issues the client certificates"
    path, result = ca_check(tmp_path, pem(pki.root) + pem(pki.leaf) + pem(pki.leaf), label="ca_cert_file",
                            require_ca="error", not_ca_hint=hint)
    # the first non-CA certificate is named
    assert result.errors == ["ca_cert_file %s certificate #2 is not a CA certificate (basicConstraints CA:FALSE); "
                             "%s" % (path, hint)]
    # no basicConstraints at all: accepted
    _path, result = ca_check(tmp_path, pem(_no_constraints("bare", rsa_key(slot=4))), require_ca="error")
    assert result.ok and result.warnings == []
    # other faults come first: the CA flag is checked once the certificates are otherwise usable
    _path, result = ca_check(tmp_path, pem(pki.leaf), require_ca="error", now=NOW + 400 * DAY)
    assert len(result.errors) == 1 and "has expired" in result.errors[0]


def test_ca_certificates_require_ca_unknown_value(tmp_path, pki):
    with pytest.raises(ValueError):
        ca_check(tmp_path, pem(pki.root), require_ca="maybe")
