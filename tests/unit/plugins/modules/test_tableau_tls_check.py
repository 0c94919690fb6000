# -*- coding: utf-8 -*-
# Copyright (c) 2025, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""tableau_tls_check through main(), against real TLS servers on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json

import pytest

pytest.importorskip("cryptography")

from ansible.module_utils import basic  # noqa: E402
from ansible.module_utils.common.text.converters import to_bytes  # noqa: E402

from ansible_collections.tableau.tsm.plugins.modules import tableau_tls_check  # noqa: E402
from ansible_collections.tableau.tsm.tests.unit.plugins.module_utils.test_tls import (  # noqa: E402
    PG_REJECT_NO_ENCRYPTION,
    TLSServer,
    free_port,
    make_pki,
    pg_auth,
)

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    @contextlib.contextmanager
    def patch_module_args(args=None):
        old = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args or {}}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = old


class ModuleExit(Exception):
    def __init__(self, failed, result):
        super(ModuleExit, self).__init__(result.get("msg"))
        self.failed = failed
        self.result = result


def _exit_json(self, **kwargs):
    kwargs.setdefault("changed", False)
    raise ModuleExit(False, kwargs)


def _fail_json(self, msg, **kwargs):
    kwargs["msg"] = msg
    kwargs["failed"] = True
    raise ModuleExit(True, kwargs)


@pytest.fixture(autouse=True)
def capture_exit(monkeypatch):
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", _exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", _fail_json)


def run_module(args):
    with patch_module_args(args):
        with pytest.raises(ModuleExit) as info:
            tableau_tls_check.main()
    return info.value


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory)


@pytest.fixture(scope="module")
def gateway(pki):
    """A hardened gateway: TLS 1.2-1.3."""
    with TLSServer(pki.paths["leaf"], pki.key) as server:
        yield server


@pytest.fixture(scope="module")
def legacy_gateway(pki):
    """A gateway with tsm's default 'all -SSLv2 -SSLv3': TLS 1.0-1.3, security level 0."""
    with TLSServer(pki.paths["leaf"], pki.key, min_version="TLSv1", seclevel0=True) as server:
        yield server


@pytest.fixture(scope="module")
def repository(pki):
    """A repository with SSL on (answers the SSLRequest with S)."""
    with TLSServer(pki.paths["other"], pki.key, postgres=b"S") as server:
        yield server


@pytest.fixture(scope="module")
def repository_no_ssl(pki):
    with TLSServer(pki.paths["other"], pki.key, postgres=b"N") as server:
        yield server


# ---------------------------------------------------------------------------------------------

def test_gateway_passes(pki, gateway):
    out = run_module({
        "host": "127.0.0.1", "port": gateway.port, "server_name": "localhost",
        "expected_fingerprint": pki.fingerprint("leaf").upper(),
        "protocols_accepted": ["TLSv1.2", "TLSv1.3"],
        "protocols_refused": ["SSLv2", "SSLv3", "TLSv1", "TLSv1.1"],
        "min_days_left": 30,
    })
    assert not out.failed, out.result
    result = out.result
    assert result["changed"] is False
    assert result["passed"] is True
    assert result["failures"] == []
    assert result["protocol"] == "TLSv1.3"
    assert result["server_name"] == "localhost"
    assert result["certificate"]["sha256_fingerprint"] == pki.fingerprint("leaf")
    assert result["certificate"]["sans"] == ["DNS:localhost", "IP:127.0.0.1"]
    assert result["certificate"]["days_left"] == 90
    assert result["protocols"] == {"TLSv1.2": True, "TLSv1.3": True, "SSLv2": False, "SSLv3": False,
                                   "TLSv1": False, "TLSv1.1": False}


def test_check_mode_runs_the_full_check(pki, gateway):
    out = run_module({"host": "127.0.0.1", "port": gateway.port, "protocols_refused": ["TLSv1.1"],
                      "_ansible_check_mode": True})
    assert not out.failed
    assert out.result["changed"] is False
    assert out.result["protocols"] == {"TLSv1.1": False}
    assert out.result["certificate"]["sha256_fingerprint"] == pki.fingerprint("leaf")


def test_tls11_refusal_required_but_accepted_fails(legacy_gateway):
    out = run_module({"host": "127.0.0.1", "port": legacy_gateway.port,
                      "protocols_refused": ["TLSv1", "TLSv1.1"]})
    assert out.failed
    assert out.result["msg"] == (
        "TLS check of 127.0.0.1:%d failed: TLSv1 must be refused but the server accepted it; "
        "TLSv1.1 must be refused but the server accepted it" % legacy_gateway.port)
    assert out.result["passed"] is False
    assert out.result["protocols"] == {"TLSv1": True, "TLSv1.1": True}
    assert out.result["changed"] is False


def test_fail_on_mismatch_false_reports(legacy_gateway):
    out = run_module({"host": "127.0.0.1", "port": legacy_gateway.port, "protocols_refused": ["tlsv1.0"],
                      "fail_on_mismatch": False})
    assert not out.failed
    assert out.result["passed"] is False
    assert out.result["protocols"] == {"TLSv1": True}
    assert out.result["failures"] == ["TLSv1 must be refused but the server accepted it"]


def test_accepted_protocol_refused_fails(gateway):
    out = run_module({"host": "127.0.0.1", "port": gateway.port, "protocols_accepted": ["TLSv1.1"]})
    assert out.failed
    assert "TLSv1.1 must be accepted but the server refused it" in out.result["msg"]


@pytest.mark.parametrize("which", ["other", "other_der"])
def test_repository_starttls_expected_cert_file(pki, repository, which):
    out = run_module({"host": "127.0.0.1", "port": repository.port, "starttls": "postgres",
                      "expected_cert_file": pki.paths[which], "protocols_refused": ["TLSv1", "TLSv1.1"]})
    assert not out.failed, out.result.get("msg")
    assert out.result["tls_available"] is True
    assert out.result["starttls"] == "postgres"
    assert out.result["certificate"]["sha256_fingerprint"] == pki.fingerprint("other")


def test_repository_wrong_cert_file(pki, repository):
    out = run_module({"host": "127.0.0.1", "port": repository.port, "starttls": "postgres",
                      "expected_cert_file": pki.paths["leaf"]})
    assert out.failed
    assert ("certificate fingerprint %s does not match %s (fingerprint %s)" % (
        pki.fingerprint("other"), pki.paths["leaf"], pki.fingerprint("leaf"))) in out.result["msg"]


def test_repository_without_ssl(repository_no_ssl):
    args = {"host": "127.0.0.1", "port": repository_no_ssl.port, "starttls": "postgres"}
    out = run_module(args)
    assert out.failed
    assert "answered 'N' to the SSLRequest" in out.result["msg"]
    args["fail_on_mismatch"] = False
    out = run_module(args)
    assert not out.failed
    assert out.result["tls_available"] is False
    assert out.result["certificate"] is None
    assert out.result["passed"] is False


def test_expiry_gate(pki):
    with TLSServer(pki.paths["expiring"], pki.key) as server:
        out = run_module({"host": "127.0.0.1", "port": server.port, "min_days_left": 30})
        assert out.failed
        assert "certificate expires in 5 day(s)" in out.result["msg"]
        assert out.result["certificate"]["days_left"] == 5
        out = run_module({"host": "127.0.0.1", "port": server.port, "min_days_left": 5})
        assert not out.failed


def test_expected_fingerprint_mismatch(pki, gateway):
    out = run_module({"host": "127.0.0.1", "port": gateway.port,
                      "expected_fingerprint": pki.fingerprint("other").replace(":", "")})
    assert out.failed
    assert out.result["failures"] == ["certificate fingerprint %s does not match expected_fingerprint %s" % (
        pki.fingerprint("leaf"), pki.fingerprint("other"))]


def test_ca_file(pki, gateway):
    out = run_module({"host": "127.0.0.1", "port": gateway.port, "ca_file": pki.paths["ca"]})
    assert not out.failed
    assert out.result["chain_verified"] is True
    out = run_module({"host": "127.0.0.1", "port": gateway.port, "ca_file": pki.paths["other_ca"],
                      "fail_on_mismatch": False})
    assert out.result["chain_verified"] is False
    assert out.result["passed"] is False


def test_connection_refused_message():
    port = free_port()
    out = run_module({"host": "127.0.0.1", "port": port, "timeout": 2})
    assert out.failed
    assert out.result["msg"] == ("TLS check of 127.0.0.1:%d failed: connection to 127.0.0.1:%d refused "
                                 "(nothing listening on that port?)" % (port, port))
    assert out.result["changed"] is False


def test_connection_refused_fails_even_without_fail_on_mismatch():
    out = run_module({"host": "127.0.0.1", "port": free_port(), "fail_on_mismatch": False})
    assert out.failed


@pytest.mark.parametrize("args, message", [
    ({"expected_fingerprint": "abc"}, "expected_fingerprint: 'abc' is not a SHA-256 fingerprint"),
    ({"protocols_refused": ["TLSv2"]}, "protocols_refused: unknown protocol 'TLSv2'"),
    ({"protocols_accepted": ["SSLv3"]}, "protocols_accepted: SSLv3 cannot be probed"),
    ({"protocols_accepted": ["TLSv1.2"], "protocols_refused": ["tlsv1.2"]},
     "TLSv1.2 listed in both protocols_accepted and protocols_refused"),
    ({"port": 0}, "port 0 is out of range (1-65535)"),
    ({"timeout": 0}, "timeout must be greater than 0"),
    ({"expected_cert_file": "/nonexistent/cert.pem"}, "cannot read certificate file /nonexistent/cert.pem"),
    ({"ca_file": "/nonexistent/ca.pem"}, "ca_file /nonexistent/ca.pem does not exist"),
    ({"starttls": "smtp"}, "value of starttls must be one of"),
    ({"postgres_plaintext": "refused"}, "postgres_plaintext=refused needs starttls=postgres"),
    ({"starttls": "postgres", "postgres_plaintext": "maybe"}, "value of postgres_plaintext must be one of"),
    ({"starttls": "postgres", "postgres_plaintext": "refused", "postgres_probe_user": ""},
     "postgres_probe_user must be a non-empty name"),
])
def test_bad_input_fails_before_connecting(args, message):
    # Nothing listens on the port: a connection attempt would produce a different message.
    full = {"host": "127.0.0.1", "port": free_port()}
    full.update(args)
    out = run_module(full)
    assert out.failed
    assert message in out.result["msg"]
    assert "refused (nothing listening" not in out.result["msg"]


def test_key_file_as_expected_cert_file(pki):
    out = run_module({"host": "127.0.0.1", "port": free_port(), "expected_cert_file": pki.key})
    assert out.failed
    assert out.result["msg"] == ("certificate file %s: contains PEM data but no CERTIFICATE block "
                                 "(is it a key or a CSR?)" % pki.key)


# ---------------------------------------------------------------------------------------------
# postgres_plaintext: a fake repository that answers an unencrypted startup with 'E' 28000 or 'R'
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def repository_required(pki):
    """repository-ssl enable: SSL on, pg_hba rejects unencrypted connections (E, SQLSTATE 28000)."""
    with TLSServer(pki.paths["other"], pki.key, postgres=b"S", plaintext=PG_REJECT_NO_ENCRYPTION) as server:
        yield server


@pytest.fixture(scope="module")
def repository_internal_only(pki):
    """repository-ssl enable --internal-only: SSL on, unencrypted connections go on to authentication (R)."""
    with TLSServer(pki.paths["other"], pki.key, postgres=b"S", plaintext=pg_auth()) as server:
        yield server


def test_plaintext_refused_passes(repository_required):
    out = run_module({"host": "127.0.0.1", "port": repository_required.port, "starttls": "postgres",
                      "postgres_plaintext": "refused"})
    assert not out.failed, out.result
    assert out.result["plaintext_accepted"] is False
    assert "SQLSTATE 28000" in out.result["plaintext_detail"]
    assert out.result["passed"] is True
    assert out.result["changed"] is False


def test_plaintext_accepted_when_refused_required_fails(repository_internal_only):
    args = {"host": "127.0.0.1", "port": repository_internal_only.port, "starttls": "postgres",
            "postgres_plaintext": "refused"}
    out = run_module(args)
    assert out.failed
    assert "accepts unencrypted PostgreSQL connections but postgres_plaintext=refused" in out.result["msg"]
    assert out.result["plaintext_accepted"] is True
    args["fail_on_mismatch"] = False
    out = run_module(args)
    assert not out.failed
    assert out.result["passed"] is False
    assert out.result["plaintext_accepted"] is True


def test_plaintext_accepted_expected(repository_internal_only, repository_required):
    out = run_module({"host": "127.0.0.1", "port": repository_internal_only.port, "starttls": "postgres",
                      "postgres_plaintext": "accepted"})
    assert not out.failed, out.result
    assert out.result["plaintext_accepted"] is True
    out = run_module({"host": "127.0.0.1", "port": repository_required.port, "starttls": "postgres",
                      "postgres_plaintext": "accepted"})
    assert out.failed
    assert "refuses unencrypted PostgreSQL connections but postgres_plaintext=accepted" in out.result["msg"]


def test_plaintext_not_returned_unless_asked(repository_required):
    out = run_module({"host": "127.0.0.1", "port": repository_required.port, "starttls": "postgres"})
    assert not out.failed
    assert "plaintext_accepted" not in out.result
    assert "plaintext_detail" not in out.result
