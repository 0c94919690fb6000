# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime
import json

import pytest

pytest.importorskip("cryptography")

from ansible_collections.tableau.tsm.plugins.modules import tableau_certificate_check as mod  # noqa: E402
from ansible_collections.tableau.tsm.tests.unit.plugins.module_utils.tsm_certgen import (  # noqa: E402
    DAY, PKI, key_pem, pem, rsa_key, write,
)
from ansible_collections.tableau.tsm.tests.unit.plugins.modules.tsm_fake import run_module  # noqa: E402

PASSPHRASE = "Cert-Check-Secret-9"


@pytest.fixture(scope="module")
def pki():
    return PKI("Check", slot=7)


@pytest.fixture
def files(tmp_path, pki):
    now = datetime.datetime.now(datetime.timezone.utc)
    leaf = pki.issue("tableau.example.com", pki.leaf_key, not_before=now - 10 * DAY, not_after=now + 200 * DAY)
    d = tmp_path / "in"
    d.mkdir()
    return {
        "leaf": leaf,
        "cert_file": write(d / "server.crt", pem(leaf)),
        "key_file": write(d / "server.key", key_pem(pki.leaf_key)),
        "key_enc": write(d / "server-enc.key", key_pem(pki.leaf_key, PASSPHRASE)),
        "other_key": write(d / "other.key", key_pem(rsa_key(2048, slot=99))),
        "chain_file": write(d / "chain.crt", pem(pki.intermediate) + pem(pki.root)),
        "chain_reversed": write(d / "chain-rev.crt", pem(pki.root) + pem(pki.intermediate)),
        "expired": write(d / "expired.crt", pem(pki.issue("tableau.example.com", pki.leaf_key,
                                                          not_before=now - 400 * DAY, not_after=now - DAY))),
        "soon": write(d / "soon.crt", pem(pki.issue("tableau.example.com", pki.leaf_key,
                                                    not_before=now - 400 * DAY, not_after=now + 5 * DAY))),
        "not_a_cert": write(d / "junk.crt", b"hello\n"),
    }


@pytest.fixture
def run(monkeypatch, tmp_path):
    from ansible_collections.tableau.tsm.tests.unit.plugins.modules.tsm_fake import install
    install(monkeypatch, tmp_path)

    def _run(args, check_mode=False):
        return run_module(mod, args, check_mode=check_mode)
    return _run


def test_valid_input(run, files):
    out = run({"cert_file": files["cert_file"], "key_file": files["key_file"], "chain_file": files["chain_file"],
               "expected_hostname": "tableau.example.com"})
    assert not out.failed
    r = out.result
    assert r["valid"] is True and r["errors"] == [] and r["changed"] is False
    assert r["chain_length"] == 2 and r["key_encrypted"] is False
    assert r["fingerprint"] == r["certificate"]["sha256_fingerprint"]
    assert r["certificate"]["sans"] == ["DNS:tableau.example.com"]
    assert r["certificate"]["subject"] == "CN=tableau.example.com"
    assert 198 <= r["certificate"]["days_left"] <= 200
    assert set(r["certificate"]) >= {"subject", "issuer", "sans", "not_after", "days_left", "sha256_fingerprint"}


def test_check_mode_is_the_same(run, files):
    out = run({"cert_file": files["cert_file"], "key_file": files["key_file"]}, check_mode=True)
    assert not out.failed and out.result["valid"] and out.result["changed"] is False


def test_wrong_key_fails_with_clear_message(run, files):
    out = run({"cert_file": files["cert_file"], "key_file": files["other_key"]})
    assert out.failed
    assert "does not match the certificate" in out.result["msg"]
    assert out.result["valid"] is False


def test_fail_on_error_false_reports(run, files):
    out = run({"cert_file": files["expired"], "key_file": files["key_file"], "fail_on_error": False})
    assert not out.failed
    assert out.result["valid"] is False
    assert any("has expired" in e for e in out.result["errors"])


def test_encrypted_key_passphrase_never_returned(run, files):
    ok = run({"cert_file": files["cert_file"], "key_file": files["key_enc"], "passphrase": PASSPHRASE})
    assert not ok.failed and ok.result["key_encrypted"] is True
    assert PASSPHRASE not in json.dumps(ok.result)
    missing = run({"cert_file": files["cert_file"], "key_file": files["key_enc"]})
    assert missing.failed and "no passphrase was given" in missing.result["msg"]
    wrong = run({"cert_file": files["cert_file"], "key_file": files["key_enc"], "passphrase": "nope-wrong"})
    assert wrong.failed and "wrong passphrase" in wrong.result["msg"]
    assert "nope-wrong" not in json.dumps(wrong.result)


def test_chain_in_wrong_order(run, files):
    out = run({"cert_file": files["cert_file"], "key_file": files["key_file"],
               "chain_file": files["chain_reversed"]})
    assert out.failed and "wrong order" in out.result["msg"]


def test_hostname_mismatch(run, files):
    out = run({"cert_file": files["cert_file"], "key_file": files["key_file"],
               "expected_hostname": "other.example.com"})
    assert out.failed and "does not match the host name other.example.com" in out.result["msg"]


def test_warn_days_and_min_days_left(run, files):
    soon = run({"cert_file": files["soon"], "key_file": files["key_file"]})
    assert not soon.failed and soon.result["valid"]
    assert any("expires in" in w for w in soon.result["certificate_warnings"])
    quiet = run({"cert_file": files["soon"], "key_file": files["key_file"], "warn_days": 1})
    assert quiet.result["certificate_warnings"] == []
    strict = run({"cert_file": files["soon"], "key_file": files["key_file"], "min_days_left": 30})
    assert strict.failed and "less than min_days_left=30" in strict.result["msg"]


def test_unreadable_and_junk_files(run, files, tmp_path):
    out = run({"cert_file": str(tmp_path / "missing.crt"), "key_file": files["key_file"],
               "fail_on_error": False})
    assert out.result["valid"] is False and "cannot be read" in out.result["errors"][0]
    assert "certificate" not in out.result
    junk = run({"cert_file": files["not_a_cert"], "key_file": files["key_file"], "fail_on_error": False})
    assert any("neither a PEM nor a DER" in e for e in junk.result["errors"])


def test_negative_numbers_refused(run, files):
    out = run({"cert_file": files["cert_file"], "key_file": files["key_file"], "min_days_left": -1})
    assert out.failed and "min_days_left" in out.result["msg"]
