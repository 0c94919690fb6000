# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
import os

import pytest

pytest.importorskip("cryptography")

from ansible_collections.tableau.tsm.tests.unit.plugins.modules.tsm_fake import get_warning_messages  # noqa: E402

from ansible_collections.tableau.tsm.plugins.module_utils._files import content_name  # noqa: E402
from ansible_collections.tableau.tsm.plugins.modules import tableau_external_ssl as mod  # noqa: E402
from ansible_collections.tableau.tsm.tests.unit.plugins.module_utils.tsm_certgen import (  # noqa: E402
    DAY, PKI, der, key_der, key_pem, pem, write,
)
from ansible_collections.tableau.tsm.tests.unit.plugins.modules.tsm_fake import run_module  # noqa: E402

PASSPHRASE = "Very-Secret-Phrase-7"
PASSWORD = "Tsm-Admin-Pw-3"


@pytest.fixture(scope="module")
def pki():
    return PKI("Mod", slot=5)


@pytest.fixture
def certs(tmp_path, pki):
    import datetime
    now = datetime.datetime.now(datetime.timezone.utc)
    # certificates valid around the real "now", since the module uses the clock
    leaf = pki.issue("tableau.example.com", pki.leaf_key, not_before=now - 10 * DAY, not_after=now + 300 * DAY)
    d = tmp_path / "in"
    d.mkdir()
    return {
        "leaf": leaf,
        "cert_file": write(d / "server.pem", pem(leaf)),
        "cert_der": write(d / "server.der", der(leaf)),
        "key_file": write(d / "server.key", key_pem(pki.leaf_key)),
        "key_enc": write(d / "server-enc.key", key_pem(pki.leaf_key, PASSPHRASE)),
        "chain_file": write(d / "chain.pem", pem(pki.intermediate) + pem(pki.root)),
        "expired": write(d / "expired.crt", pem(pki.issue("tableau.example.com", pki.leaf_key,
                                                          not_before=now - 400 * DAY, not_after=now - DAY))),
        "soon": write(d / "soon.crt", pem(pki.issue("tableau.example.com", pki.leaf_key,
                                                    not_before=now - 400 * DAY, not_after=now + 5 * DAY))),
    }


def base(fake_tsm, certs, **extra):
    args = {"tsm_path": fake_tsm.path, "cert_file": certs["cert_file"], "key_file": certs["key_file"],
            "chain_file": certs["chain_file"]}
    args.update(extra)
    return args


def test_enable_then_unchanged(fake_tsm, certs):
    res = run_module(mod, base(fake_tsm, certs))
    assert not res.failed, res.result
    r = res.result
    assert r["changed"] is True
    assert r["restart_required"] is True and r["applied"] is False
    expected = [["settings", "export", "-f"], ["security", "external-ssl", "enable"]]
    assert [c["args"][:3] for c in fake_tsm.calls] == expected
    enable = fake_tsm.calls[1]["args"]
    assert enable[enable.index("--protocols") + 1] == "all -SSLv2 -SSLv3 -TLSv1 -TLSv1.1"
    assert "--passphrase" not in enable
    # content-addressed private copies, PEM, 0600 in a 0700 dir, removed afterwards
    cert_seen = fake_tsm.files_seen["--cert-file"]
    assert os.path.basename(cert_seen["path"]) == content_name("cert", pem(certs["leaf"]), ".crt")
    assert cert_seen["mode"] == 0o600 and cert_seen["dir_mode"] == 0o700
    assert fake_tsm.files_seen["--key-file"]["path"].endswith(".key")
    assert fake_tsm.files_seen["--chain-file"]["path"].endswith(".crt")
    for seen in fake_tsm.files_seen.values():
        assert not os.path.exists(seen["path"])
    assert r["state"]["enabled"] is True
    assert r["state"]["cert_file_name"] == os.path.basename(cert_seen["path"])
    assert len(r["pending_changes"]) == 1
    assert r["pending_changes"][0]["command"].startswith("tsm security external-ssl enable --cert-file tableau-tsm-cert-")
    assert r["certificate"]["chain_end"] == "self-signed root"

    fake_tsm.calls = []
    res = run_module(mod, base(fake_tsm, certs))
    assert res.result["changed"] is False
    assert res.result["pending_changes"] == [] and res.result["restart_required"] is False
    assert len(fake_tsm.calls) == 1 and fake_tsm.writes == []


def test_same_certificate_in_der_at_another_path_is_no_change(fake_tsm, certs):
    run_module(mod, base(fake_tsm, certs))
    fake_tsm.calls = []
    res = run_module(mod, base(fake_tsm, certs, cert_file=certs["cert_der"]))
    assert res.result["changed"] is False
    assert fake_tsm.writes == []


@pytest.mark.parametrize("form", ["der", "pkcs8"])
def test_same_key_in_another_encoding_is_no_change(fake_tsm, certs, pki, tmp_path, form):
    from cryptography.hazmat.primitives import serialization
    run_module(mod, base(fake_tsm, certs))
    if form == "der":
        data = key_der(pki.leaf_key)
    else:
        data = key_pem(pki.leaf_key, fmt=serialization.PrivateFormat.PKCS8)
    other = write(tmp_path / ("other-" + form + ".key"), data)
    fake_tsm.calls = []
    res = run_module(mod, base(fake_tsm, certs, key_file=other))
    assert res.result["changed"] is False, res.result
    assert fake_tsm.writes == []


def test_another_key_is_a_change(fake_tsm, certs, pki, tmp_path):
    from cryptography.hazmat.primitives.asymmetric import rsa
    run_module(mod, base(fake_tsm, certs))
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    new_cert = pki.issue("tableau.example.com", new_key)
    args = base(fake_tsm, certs, cert_file=write(tmp_path / "new.crt", pem(new_cert)),
                key_file=write(tmp_path / "new.key", key_pem(new_key)))
    fake_tsm.calls = []
    res = run_module(mod, args)
    assert res.result["changed"] is True
    assert len(fake_tsm.writes) == 1


def test_renewed_certificate_same_path_is_a_change(fake_tsm, certs, pki):
    run_module(mod, base(fake_tsm, certs))
    renewed = pki.issue("tableau.example.com", pki.leaf_key)
    with open(certs["cert_file"], "wb") as handle:
        handle.write(pem(renewed))
    fake_tsm.calls = []
    res = run_module(mod, base(fake_tsm, certs))
    assert res.result["changed"] is True
    assert len(fake_tsm.writes) == 1


def test_protocols_change_and_equivalent_spelling(fake_tsm, certs):
    run_module(mod, base(fake_tsm, certs))
    fake_tsm.calls = []
    res = run_module(mod, base(fake_tsm, certs, protocols=["all -SSLv3 -TLSv1 -TLSv1.1"]))
    assert res.result["changed"] is False
    res = run_module(mod, base(fake_tsm, certs, protocols=["TLSv1.3"]))
    assert res.result["changed"] is True
    assert fake_tsm.keys["ssl.protocols"] == "all -SSLv2 -SSLv3 -TLSv1 -TLSv1.1 -TLSv1.2"


def test_check_mode_and_diff(fake_tsm, certs):
    res = run_module(mod, base(fake_tsm, certs), check_mode=True, diff=True)
    r = res.result
    assert r["changed"] is True
    assert fake_tsm.writes == []
    assert len(r["pending_changes"]) == 1
    assert r["diff"]["before"]["enabled"] is False
    assert r["diff"]["after"]["enabled"] is True
    assert r["diff"]["after"]["protocols"] == ["TLSv1.2", "TLSv1.3"]


def test_encrypted_key_passphrase_never_in_results(fake_tsm, certs):
    args = base(fake_tsm, certs, key_file=certs["key_enc"], passphrase=PASSPHRASE,
                tsm_username="admin", tsm_password=PASSWORD)
    res = run_module(mod, args, diff=True)
    assert res.result["changed"] is True
    enable = [c for c in fake_tsm.calls if c["args"][:3] == ["security", "external-ssl", "enable"]][0]
    assert enable["args"][enable["args"].index("--passphrase") + 1] == PASSPHRASE  # tsm offers no other way
    assert enable["data"] == PASSWORD + "\n"  # the tsm password goes on stdin
    assert all(PASSWORD not in a for c in fake_tsm.calls for a in c["argv"])
    blob = json.dumps(res.result)
    assert PASSPHRASE not in blob and PASSWORD not in blob
    assert "--passphrase ********" in res.result["pending_changes"][0]["command"]
    assert res.result["state"]["passphrase_set"] is True
    # and unchanged next time
    fake_tsm.calls = []
    res = run_module(mod, args)
    assert res.result["changed"] is False and fake_tsm.writes == []


def test_tsm_failure_is_masked(fake_tsm, certs):
    args = base(fake_tsm, certs, key_file=certs["key_enc"], passphrase=PASSPHRASE)
    fake_tsm.fail_on = ("enable", (1, "", "Error: passphrase %s does not decrypt the key" % PASSPHRASE))
    res = run_module(mod, args)
    assert res.failed
    blob = json.dumps(res.result)
    assert PASSPHRASE not in blob
    assert "external-ssl enable" in res.result["msg"] and "rc=1" in res.result["msg"]
    assert "********" in res.result["stderr"]


@pytest.mark.parametrize("change, fragment", [
    ({"cert_file": "expired"}, "has expired"),
    ({"key_file": "key_enc"}, "no passphrase was given"),
    ({"key_file": "key_enc", "passphrase": "wrong"}, "wrong passphrase"),
    ({"protocols": ["TLSv1.2", "SSLv3"]}, "SSLv3"),
    ({"protocols": ["TLSv1.2", "TLSv2"]}, "TLSv2"),
    ({"expected_hostname": "other.example.org"}, "does not match the host name"),
])
def test_bad_input_fails_before_any_tsm_call(fake_tsm, certs, change, fragment):
    args = base(fake_tsm, certs)
    for k, v in change.items():
        args[k] = certs.get(v, v) if isinstance(v, str) else v
    res = run_module(mod, args)
    assert res.failed
    assert fragment in res.result["msg"]
    assert res.result["changed"] is False
    assert fake_tsm.calls == []


def test_mismatched_chain_fails(fake_tsm, certs, tmp_path):
    other = PKI("Other", slot=6)
    args = base(fake_tsm, certs, chain_file=write(tmp_path / "other-chain.crt", pem(other.intermediate)))
    res = run_module(mod, args)
    assert res.failed and "does not certify" in res.result["msg"]
    assert fake_tsm.calls == []


def test_expiring_soon_warns(fake_tsm, certs):
    res = run_module(mod, base(fake_tsm, certs, cert_file=certs["soon"]))
    assert not res.failed
    assert any("expires in" in w and "soon.crt" in w for w in get_warning_messages())


def test_absent(fake_tsm, certs):
    res = run_module(mod, {"tsm_path": fake_tsm.path, "state": "absent"})
    assert res.result["changed"] is False and fake_tsm.writes == []
    run_module(mod, base(fake_tsm, certs))
    fake_tsm.calls = []
    res = run_module(mod, {"tsm_path": fake_tsm.path, "state": "absent"}, diff=True)
    assert res.result["changed"] is True
    assert [c["args"] for c in fake_tsm.writes] == [["security", "external-ssl", "disable"]]
    assert res.result["state"]["enabled"] is False
    assert res.result["diff"]["before"]["enabled"] is True


def test_apply(fake_tsm, certs):
    res = run_module(mod, base(fake_tsm, certs, apply=True))
    assert res.result["applied"] is True and res.result["restart_required"] is False
    apply = fake_tsm.calls[-1]["argv"]
    assert apply[1:4] == ["pending-changes", "apply", "--ignore-prompt"]
    assert apply[-2:] == ["--request-timeout", "1800"]
    fake_tsm.calls = []
    res = run_module(mod, base(fake_tsm, certs, apply=True))
    assert res.result["changed"] is False and res.result["applied"] is False
    assert fake_tsm.writes == []


def test_missing_required_options(fake_tsm):
    res = run_module(mod, {"tsm_path": fake_tsm.path, "state": "present"})
    assert res.failed and "cert_file" in res.result["msg"]
