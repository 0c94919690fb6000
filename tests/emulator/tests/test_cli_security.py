"""tsm security / tsm authentication mutual-ssl: staging and every documented validation."""

import os

import pytest

from test_cli_helpers import file_mode


def enable_args(p, **over):
    a = {"--cert-file": p.cert, "--key-file": p.key}
    a.update(over)
    out = ["security", "external-ssl", "enable"]
    for k, v in a.items():
        if v is not None:
            out += [k, v]
    return out


# ---- external-ssl -----------------------------------------------------------------------

def test_external_ssl_enable_stages_and_copies_files(cluster, pki):
    r = cluster.ok(*enable_args(pki, **{"--chain-file": pki.chain, "--key-file": pki.key_enc,
                                        "--passphrase": pki.passphrase,
                                        "--protocols": "all -SSLv2 -SSLv3 -TLSv1 -TLSv1.1"}))
    assert "pending" in r.stdout.lower()
    st = cluster.state()
    assert len(st["pending"]) == 1
    p = st["pending"][0]
    assert p["family"] == "external_ssl" and p["restart"] is True
    assert p["keys"]["ssl.enabled"] == "true"
    assert p["keys"]["ssl.cert.file_name"] == "server.crt"
    assert p["keys"]["ssl.key.file_name"] == "server-enc.key"
    assert p["keys"]["ssl.chain.file_name"] == "chain.crt"
    assert p["keys"]["ssl.protocols"] == "all -SSLv2 -SSLv3 -TLSv1 -TLSv1.1"
    assert p["keys"]["ssl.key.passphrase"].startswith("ENC(")
    assert pki.passphrase not in cluster.state_text()
    for key, path in p["files"].items():
        assert path.startswith(os.path.join(cluster.d, "cfs", "external_ssl"))
        assert os.path.basename(path) == p["keys"][key]
        assert file_mode(path) == 0o600
    assert open(p["files"]["ssl.cert.file_name"], "rb").read() == open(pki.cert, "rb").read()
    # applied values unchanged until apply
    assert cluster.ok("configuration", "get", "-k", "ssl.enabled").stdout.strip() == "false"
    lst = cluster.ok("security", "external-ssl", "list").stdout
    assert "ssl.enabled: true" in lst and "ssl.cert.file_name: server.crt" in lst
    assert "ssl.key.passphrase: ********" in lst and pki.passphrase not in lst
    assert cluster.calls()[-3]["kind"] == "write"


def test_external_ssl_default_protocols_ec_key_and_expired_cert(cluster, pki):
    cluster.ok(*enable_args(pki, **{"--cert-file": pki.ec_cert, "--key-file": pki.ec_key}))
    assert cluster.requested()["ssl.protocols"] == "all, -SSLv2, -SSLv3"
    # an expired certificate is not refused by tsm (Apache loads it); the collection must check dates
    cluster.ok(*enable_args(pki, **{"--cert-file": pki.expired}))


def test_external_ssl_disable_and_list(cluster, pki):
    cluster.ok(*enable_args(pki))
    cluster.apply()
    cluster.ok("security", "external-ssl", "disable")
    req = cluster.requested()
    assert req["ssl.enabled"] == "false" and req["ssl.cert.file_name"] == ""
    assert cluster.applied()["ssl.enabled"] == "true"
    cluster.apply()
    assert cluster.applied()["ssl.enabled"] == "false"
    assert cluster.state()["applied_files"] == {}


@pytest.mark.parametrize("over,needle", [
    ({"--cert-file": "/nonexistent/server.crt"}, "does not exist"),
    ({"--key-file": "/nonexistent/server.key"}, "does not exist"),
    ({"--chain-file": "/nonexistent/chain.crt"}, "does not exist"),
    ({"--cert-file": "DIR"}, "cannot be read"),
    ({"--cert-file": "CERT_PEM_EXT"}, ".crt"),
    ({"--chain-file": "CHAIN_PEM_EXT"}, "not .pem"),
    ({"--cert-file": "GARBAGE"}, "not a valid PEM-encoded x509"),
    ({"--cert-file": "CA_DER_CRT"}, "not a valid PEM-encoded x509"),
    ({"--cert-file": "KEY_AS_CERT"}, "not a valid PEM-encoded x509"),
    ({"--chain-file": "GARBAGE"}, "not a valid PEM-encoded x509"),
    ({"--key-file": "GARBAGE"}, "not a valid RSA, DSA or EC private key"),
    ({"--key-file": "OTHER_KEY"}, "does not match"),
    ({"--key-file": "ED_KEY"}, "RSA, DSA or EC"),
    ({"--key-file": "KEY_ENC"}, "passphrase"),
    ({"--key-file": "KEY_ENC", "--passphrase": "wrong"}, "passphrase does not decrypt"),
    ({"--protocols": "all -SSLv2 -TLSv1.4"}, "Invalid --protocols"),
    ({"--protocols": "SSLv2"}, "Invalid --protocols"),
    ({"--protocols": "all -all"}, "Invalid --protocols"),
    ({"--protocols": ""}, "Invalid --protocols"),
    ({"--protocols": "-TLSv1.2 -TLSv1.3"}, "Invalid --protocols"),
])
def test_external_ssl_enable_validation(cluster, pki, tmp_path, over, needle):
    subst = {"DIR": str(tmp_path), "CERT_PEM_EXT": pki.cert_pem_ext, "CHAIN_PEM_EXT": pki.chain_pem_ext,
             "GARBAGE": pki.garbage, "CA_DER_CRT": pki.ca_der_crt, "KEY_AS_CERT": pki.key_as_cert,
             "OTHER_KEY": pki.other_key, "ED_KEY": pki.ed_key, "KEY_ENC": pki.key_enc}
    over = {k: subst.get(v, v) for k, v in over.items()}
    snap = cluster.snapshot()
    r = cluster.fail(*enable_args(pki, **over))
    assert needle in r.stderr, r.stderr
    assert r.stdout == ""
    cluster.assert_unchanged(snap, r)
    assert cluster.calls()[-1]["kind"] == "write"


@pytest.mark.parametrize("protocols,ok", [
    ("all, -SSLv2, -SSLv3", True), ("all -SSLv2 -SSLv3 -TLSv1 -TLSv1.1", True), ("TLSv1.2 +TLSv1.3", True),
    ("+TLSv1.2,+TLSv1.3", True), ("tlsv1.2", True), ("all,-SSLv2,-SSLv3,-TLSv1,-TLSv1.1,-TLSv1.2", True),
    ("TLSv1.2 TLS1.3", False), ("+SSLv2 all", False), ("--TLSv1", False),
])
def test_protocol_syntax(cluster, pki, protocols, ok):
    r = cluster.tsm(*enable_args(pki, **{"--protocols": protocols}))
    assert (r.returncode == 0) == ok, r.stderr


def test_protocols_module():
    from tsm_emulator import protocols as P
    assert P.tls_enabled("all, -SSLv2, -SSLv3") == ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
    assert P.tls_enabled("all -SSLv2 -SSLv3 -TLSv1 -TLSv1.1") == ["TLSv1.2", "TLSv1.3"]
    assert P.tls_enabled("TLSv1.2 TLSv1.3") == ["TLSv1.3"]  # bare token replaces, as in mod_ssl
    assert P.bounds("all -TLSv1 -TLSv1.1") == ("TLSv1.2", "TLSv1.3")
    with pytest.raises(P.ProtocolError):
        P.enabled("all -all")


def test_key_size_by_version(make, pki):
    old = make(version="2024.2")
    old.ok(*enable_args(pki, **{"--cert-file": pki.small_cert, "--key-file": pki.small_key}))
    old.apply()
    assert old.state()["server"] == "RUNNING"
    new = make(version="2025.3")
    snap = new.snapshot()
    r = new.fail(*enable_args(pki, **{"--cert-file": pki.small_cert, "--key-file": pki.small_key}))
    assert "1024 bits" in r.stderr and "2048" in r.stderr
    new.assert_unchanged(snap, r)
    new.ok(*enable_args(pki))


# ---- custom-cert ------------------------------------------------------------------------

def test_custom_cert_add_list_delete(cluster, pki):
    assert "No custom certificate" in cluster.ok("security", "custom-cert", "list").stdout
    cluster.ok("security", "custom-cert", "add", "-c", pki.ca_der)
    out = cluster.ok("security", "custom-cert", "list").stdout
    assert "ssl.custom_ca.file_name: ca.der" in out and pki.ca_sha256 in out and "Test Root CA" in out
    snap = cluster.snapshot()
    r = cluster.fail("security", "custom-cert", "add", "--cert-file", pki.ca)
    assert "already exists" in r.stderr and "custom-cert delete" in r.stderr
    cluster.assert_unchanged(snap, r)
    cluster.apply()
    st = cluster.state()
    assert st["custom_cert"]["name"] == "ca.der" and os.path.exists(st["custom_cert"]["file"])
    cluster.fail("security", "custom-cert", "add", "-c", pki.ca)  # still exists once applied
    cluster.ok("security", "custom-cert", "delete")
    cluster.apply()
    assert cluster.state()["custom_cert"] is None
    snap = cluster.snapshot()
    r = cluster.fail("security", "custom-cert", "delete")
    cluster.assert_unchanged(snap, r)
    cluster.ok("security", "custom-cert", "add", "-c", pki.ca)  # PEM accepted too


@pytest.mark.parametrize("path,needle", [("/nonexistent.crt", "does not exist"), ("GARBAGE", "not a valid")])
def test_custom_cert_validation(cluster, pki, path, needle):
    snap = cluster.snapshot()
    r = cluster.fail("security", "custom-cert", "add", "-c", pki.garbage if path == "GARBAGE" else path)
    assert needle in r.stderr
    cluster.assert_unchanged(snap, r)


def test_custom_cert_add_requires_option(cluster):
    r = cluster.fail("security", "custom-cert", "add")
    assert "Missing required option: --cert-file" in r.stderr
    assert cluster.calls()[-1]["kind"] == "usage"


# ---- kms --------------------------------------------------------------------------------

ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_kms_modes(cluster):
    out = cluster.ok("security", "kms", "status").stdout
    assert "Mode: local" in out and "Root master key ID:" in out and "Key status: encrypt or decrypt key" in out
    cluster.ok("security", "kms", "set-mode", "aws", "--key-arn", ARN, "--aws-region", "eu-west-1")
    out = cluster.ok("security", "kms", "status").stdout
    assert "Mode: aws" in out and ARN in out and "Region: eu-west-1" in out
    cluster.ok("security", "kms", "set-mode", "azure", "--key-name", "tableau-key", "--vault-name", "my-vault")
    req = cluster.requested()
    assert req["kms.mode"] == "azure" and req["kms.aws.key_arn"] == "" and req["kms.azure.vault_name"] == "my-vault"
    cluster.ok("security", "kms", "set-mode", "local")
    cluster.apply()
    assert cluster.applied()["kms.mode"] == "local"


@pytest.mark.parametrize("args,needle", [
    (["aws", "--key-arn", ARN], "Missing required option: --aws-region"),
    (["aws", "--aws-region", "eu-west-1"], "Missing required option: --key-arn"),
    (["aws", "--key-arn", "arn:aws:kms:eu-west-1:1234:key/abc", "--aws-region", "eu-west-1"], "Invalid key ARN"),
    (["aws", "--key-arn", "not-an-arn", "--aws-region", "eu-west-1"], "Invalid key ARN"),
    (["aws", "--key-arn", ARN, "--aws-region", "us-east-1"], "not in --aws-region"),
    (["aws", "--key-arn", ARN, "--aws-region", "Europe"], "Invalid AWS region"),
    (["azure", "--key-name", "k"], "Missing required option: --vault-name"),
    (["azure", "--vault-name", "my-vault"], "Missing required option: --key-name"),
    (["azure", "--key-name", "k", "--vault-name", "x"], "Invalid Azure Key Vault name"),
    (["azure", "--key-name", "bad key", "--vault-name", "my-vault"], "Invalid Azure key name"),
    (["gcp"], "Unknown command"),
])
def test_kms_validation(cluster, args, needle):
    snap = cluster.snapshot()
    r = cluster.fail("security", "kms", "set-mode", *args)
    assert needle in r.stderr, r.stderr
    cluster.assert_unchanged(snap, r)


# ---- maestro ------------------------------------------------------------------------------

@pytest.mark.parametrize("svc", ["rserve", "tabpy"])
def test_maestro_enable_disable(cluster, pki, svc):
    cmd = ["security", "maestro-%s-ssl" % svc]
    cluster.ok(*cmd, "enable", "--connection-type", "maestro-%s-secure" % svc, "--%s-host" % svc, "r.example",
               "--%s-port" % svc, "6311", "--%s-username" % svc, "u", "--%s-password" % svc, "pw-secret",
               "--%s-connect-timeout-ms" % svc, "900000", "-cf", pki.ca)
    cluster.apply()
    a = cluster.applied()
    pre = "maestro.%s." % svc
    assert a[pre + "enabled"] == "true" and a[pre + "host"] == "r.example" and a[pre + "port"] == "6311"
    assert a[pre + "connect_timeout_ms"] == "900000" and a[pre + "cert_file_name"] == "ca.crt"
    assert a[pre + "password"].startswith("ENC(") and "pw-secret" not in cluster.state_text()
    cluster.ok(*cmd, "enable", "--connection-type", "maestro-%s" % svc, "--%s-host" % svc, "r2",
               "--%s-port" % svc, "1")
    cluster.ok(*cmd, "disable")
    cluster.apply()
    assert cluster.applied()[pre + "enabled"] == "false" and cluster.applied()[pre + "host"] == ""


@pytest.mark.parametrize("extra,needle", [
    (["--connection-type", "maestro-tabpy", "--rserve-host", "h", "--rserve-port", "1"], "Invalid --connection-type"),
    (["--connection-type", "maestro-rserve", "--rserve-host", "", "--rserve-port", "1"], "Invalid host"),
    (["--connection-type", "maestro-rserve", "--rserve-host", "h", "--rserve-port", "0"], "Invalid port"),
    (["--connection-type", "maestro-rserve", "--rserve-host", "h", "--rserve-port", "65536"], "Invalid port"),
    (["--connection-type", "maestro-rserve", "--rserve-host", "h", "--rserve-port", "http"], "Invalid port"),
    (["--connection-type", "maestro-rserve", "--rserve-host", "h", "--rserve-port", "1",
      "--rserve-connect-timeout-ms", "-5"], "Invalid connect timeout"),
    (["--connection-type", "maestro-rserve", "--rserve-host", "h", "--rserve-port", "1",
      "--rserve-connect-timeout-ms", "0"], "Invalid connect timeout"),
    (["--connection-type", "maestro-rserve-secure", "--rserve-host", "h", "--rserve-port", "1"],
     "requires a certificate file"),
    (["--connection-type", "maestro-rserve-secure", "--rserve-host", "h", "--rserve-port", "1", "-cf", "GARBAGE"],
     "not a valid PEM"),
    (["--connection-type", "maestro-rserve-secure", "--rserve-host", "h", "--rserve-port", "1", "-cf", "DER"],
     "not a valid PEM"),
    (["--connection-type", "maestro-rserve", "--rserve-host", "h", "--rserve-port", "1", "-cf", "CA"],
     "only used with a secure"),
    (["--connection-type", "maestro-rserve", "--rserve-host", "h"], "Missing required option: --rserve-port"),
    (["--connection-type", "maestro-rserve", "--tabpy-host", "h", "--rserve-port", "1"], "Unknown option"),
])
def test_maestro_validation(cluster, pki, extra, needle):
    extra = [{"GARBAGE": pki.garbage, "DER": pki.ca_der_crt, "CA": pki.ca}.get(x, x) for x in extra]
    snap = cluster.snapshot()
    r = cluster.fail("security", "maestro-rserve-ssl", "enable", *extra)
    assert needle in r.stderr, r.stderr
    cluster.assert_unchanged(snap, r)


# ---- repository-ssl -------------------------------------------------------------------------

def test_repository_ssl_modes_and_certificate(cluster, tmp_path):
    target = tmp_path / "repo.cert"
    snap = cluster.snapshot()
    r = cluster.fail("security", "repository-ssl", "get-certificate-file", "-f", str(target))
    assert "must be enabled" in r.stderr and not target.exists()
    cluster.assert_unchanged(snap, r)
    cluster.ok("security", "repository-ssl", "enable")
    assert "pgsql.ssl.enabled: true" in cluster.ok("security", "repository-ssl", "list").stdout
    # requested but not applied: still refused
    cluster.fail("security", "repository-ssl", "get-certificate-file", "-f", str(target))
    cluster.apply()
    a = cluster.applied()
    assert a["pgsql.ssl.enabled"] == "true" and a["pgsql.ssl.required"] == "true"
    target.write_text("old content")
    cluster.ok("security", "repository-ssl", "get-certificate-file", "--file", str(target))
    data = target.read_bytes()
    assert data.startswith(b"-----BEGIN CERTIFICATE-----")
    from cryptography import x509
    cert = x509.load_pem_x509_certificate(data)
    assert "node1.c1.tsm.test" in cert.subject.rfc4514_string()
    served = os.path.join(cluster.cluster["nodes"][0]["data_dir"], "data/tabsvc/config/pgsql_15/security/server.crt")
    assert open(served, "rb").read() == data
    assert cluster.calls()[-1]["kind"] == "read"
    # regenerate-internal-tokens issues a new repository certificate
    cluster.ok("security", "regenerate-internal-tokens")
    cluster.ok("security", "repository-ssl", "get-certificate-file", "-f", str(target))
    assert target.read_bytes() != data
    cluster.ok("security", "repository-ssl", "enable", "-i")
    cluster.apply()
    assert cluster.applied()["pgsql.ssl.required"] == "false"
    cluster.ok("security", "repository-ssl", "enable", "--internal-only")
    cluster.ok("security", "repository-ssl", "disable")
    cluster.apply()
    assert cluster.applied()["pgsql.ssl.enabled"] == "false"
    cluster.fail("security", "repository-ssl", "get-certificate-file", "-f", str(target))
    r = cluster.fail("security", "repository-ssl", "get-certificate-file")
    assert "Missing required option: --file" in r.stderr


def test_ensure_repository_cert_generations(cluster):
    from tsm_emulator import certs
    p1 = certs.ensure_repository_cert(cluster.d)
    d1 = open(p1, "rb").read()
    assert certs.ensure_repository_cert(cluster.d) == p1 and open(p1, "rb").read() == d1
    certs.ensure_repository_cert(cluster.d, generation=2)
    assert open(p1, "rb").read() != d1
    assert file_mode(p1[:-3] + "key") == 0o600


# ---- mutual SSL ------------------------------------------------------------------------------

def test_mutual_ssl_configure_enable_disable(cluster, pki):
    snap = cluster.snapshot()
    r = cluster.fail("authentication", "mutual-ssl", "enable")
    assert "external SSL" in r.stderr
    cluster.assert_unchanged(snap, r)
    cluster.ok(*enable_args(pki))
    r = cluster.fail("authentication", "mutual-ssl", "enable")
    assert "--ca-cert" in r.stderr
    cluster.ok("authentication", "mutual-ssl", "configure", "-cf", pki.ca, "-fb", "TRUE", "-m", "ldap",
               "-rf", pki.crl_pem)
    cluster.ok("authentication", "mutual-ssl", "configure", "--revocation-file", pki.crl_der,
               "--user-name-mapping", "cn", "--fallback-to-basic", "false", "--ca-cert", pki.ca)
    cluster.ok("authentication", "mutual-ssl", "enable")
    cluster.apply()
    a = cluster.applied()
    assert a["ssl.client_certificate_login.required"] == "true"
    assert a["ssl.client_certificate_login.mapping"] == "cn"
    assert a["ssl.client_certificate_login.fallback_to_basic"] == "false"
    assert a["ssl.client_certificate_login.revocation.file_name"] == "revoked.der"
    out = cluster.ok("authentication", "list", "-v").stdout
    assert "ssl.client_certificate_login.required: true" in out and "ssl.client_certificate_login.mapping: cn" in out
    short = cluster.ok("authentication", "list").stdout
    assert "mapping" not in short and "ssl.client_certificate_login.required: true" in short
    cluster.ok("authentication", "mutual-ssl", "disable")
    cluster.apply()
    assert cluster.applied()["ssl.client_certificate_login.required"] == "false"


@pytest.mark.parametrize("args,needle", [
    ([], "at least one"),
    (["-fb", "yes"], "true or false"),
    (["-m", "email"], "upn, ldap or cn"),
    (["-cf", "GARBAGE"], "not a valid PEM"),
    (["-cf", "/nonexistent/ca.crt"], "does not exist"),
    (["-rf", "BADEXT"], ".pem or .der"),
    (["-rf", "CAPEM"], "revocation list"),
    (["-x", "1"], "Unknown option: -x"),
])
def test_mutual_ssl_validation(cluster, pki, tmp_path, args, needle):
    capem = str(tmp_path / "ca.pem")
    open(capem, "wb").write(open(pki.ca, "rb").read())
    args = [{"GARBAGE": pki.garbage, "BADEXT": pki.crl_bad_ext, "CAPEM": capem}.get(a, a) for a in args]
    snap = cluster.snapshot()
    r = cluster.fail("authentication", "mutual-ssl", "configure", *args)
    assert needle in r.stderr, r.stderr
    cluster.assert_unchanged(snap, r)
