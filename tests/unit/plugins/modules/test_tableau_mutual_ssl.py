# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""tableau_mutual_ssl against a fake tsm."""

from __future__ import annotations

import datetime
import os

import pytest

pytest.importorskip("cryptography")

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402

from ansible_collections.tableau.tsm.tests.unit.plugins.modules.tsm_fake import get_warning_messages  # noqa: E402

from ansible_collections.tableau.tsm.plugins.module_utils._files import content_name  # noqa: E402
from ansible_collections.tableau.tsm.plugins.modules import tableau_mutual_ssl as mod  # noqa: E402
from ansible_collections.tableau.tsm.tests.unit.plugins.module_utils.tsm_certgen import (  # noqa: E402
    DAY, PKI, der, make_cert, pem, write,
)
from ansible_collections.tableau.tsm.tests.unit.plugins.modules.tsm_fake import FakeTsm, run_module  # noqa: E402

PRE = "ssl.client_certificate_login."


class MutualFake(FakeTsm):
    """FakeTsm plus authentication mutual-ssl configure/enable/disable, like the emulator."""

    def __call__(self, module, args, data=None, environ_update=None, **kwargs):
        cmd = self.strip_globals(list(args)[1:])
        if cmd[:2] == ["authentication", "mutual-ssl"]:
            self.calls.append({"argv": list(args), "args": cmd, "data": data, "environ": dict(environ_update or {})})
            verb = cmd[2]
            if verb == "configure":
                opts = dict(zip(cmd[3::2], cmd[4::2]))
                if "-cf" in opts:
                    self.keys[PRE + "cacert.file_name"] = os.path.basename(opts["-cf"])
                    with open(opts["-cf"], "rb") as handle:
                        self.files_seen["-cf"] = {"path": opts["-cf"], "data": handle.read()}
                if "-rf" in opts:
                    self.keys[PRE + "revocation.file_name"] = os.path.basename(opts["-rf"])
                    with open(opts["-rf"], "rb") as handle:
                        self.files_seen["-rf"] = {"path": opts["-rf"], "data": handle.read()}
                if "-fb" in opts:
                    self.keys[PRE + "fallback_to_basic"] = opts["-fb"]
                if "-m" in opts:
                    self.keys[PRE + "mapping"] = opts["-m"]
                return 0, "", ""
            if verb == "enable":
                if self.keys.get("ssl.enabled") != "true":
                    return 1, "", "Enable and configure external SSL before you enable mutual SSL."
                if not self.keys.get(PRE + "cacert.file_name"):
                    return 1, "", "Configure the trusted CA certificate before you enable mutual SSL."
                self.keys[PRE + "required"] = "true"
                return 0, "", ""
            if verb == "disable":
                self.keys[PRE + "required"] = "false"
                return 0, "", ""
        return super().__call__(module, args, data=data, environ_update=environ_update, **kwargs)


@pytest.fixture
def fake(fake_tsm):
    fake_tsm.__class__ = MutualFake
    fake_tsm.keys["ssl.enabled"] = "true"
    return fake_tsm


@pytest.fixture(scope="module")
def pki():
    return PKI("Client", slot=9)


def make_crl(issuer, key, last, nxt, serials=(1, 2)):
    builder = (x509.CertificateRevocationListBuilder().issuer_name(issuer.subject)
               .last_update(last).next_update(nxt))
    for serial in serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(last).build())
    return builder.sign(key, hashes.SHA256())


@pytest.fixture
def files(tmp_path, pki):
    now = datetime.datetime.now(datetime.timezone.utc)
    d = tmp_path / "in"
    d.mkdir()
    ca = make_cert("Client CA", pki.int_key, ca=True, not_before=now - DAY, not_after=now + 900 * DAY)
    crl = make_crl(ca, pki.int_key, now - DAY, now + 30 * DAY)
    return {
        "ca_cert": ca,
        "crl_obj": crl,
        "ca": write(d / "ca.pem", pem(ca)),
        "ca_der": write(d / "ca.der", der(ca)),
        "ca2": write(d / "ca2.pem", pem(pki.root)),
        "leaf": write(d / "leaf.pem", pem(make_cert("user", pki.leaf_key, not_before=now - DAY,
                                                    not_after=now + 300 * DAY))),
        "expired_ca": write(d / "old.pem", pem(make_cert("Old CA", pki.int_key, ca=True, not_before=now - 900 * DAY,
                                                         not_after=now - DAY))),
        "crl": write(d / "revoked.pem", crl.public_bytes(serialization.Encoding.PEM)),
        "crl_der": write(d / "revoked.der", crl.public_bytes(serialization.Encoding.DER)),
        "stale_crl": write(d / "stale.pem", make_crl(ca, pki.int_key, now - 60 * DAY, now - 30 * DAY)
                           .public_bytes(serialization.Encoding.PEM)),
        "foreign_crl": write(d / "foreign.pem", make_crl(pki.root, pki.root_key, now - DAY, now + 30 * DAY)
                             .public_bytes(serialization.Encoding.PEM)),
        "forged_crl": write(d / "forged.pem", make_crl(ca, pki.root_key, now - DAY, now + 30 * DAY)
                            .public_bytes(serialization.Encoding.PEM)),
        "junk": write(d / "junk.pem", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
        "garbage": write(d / "garbage.der", b"\x00\x01garbage"),
    }


def args(fake, files, **extra):
    base = {"tsm_path": fake.path, "ca_cert_file": files["ca"], "user_name_mapping": "upn",
            "fallback_to_basic": False}
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def verbs(fake):
    return [c["args"][2] for c in fake.writes]


def test_configure_enable_then_unchanged(fake, files):
    res = run_module(mod, args(fake, files))
    assert not res.failed, res.result
    r = res.result
    assert r["changed"] is True and r["restart_required"] is True
    assert verbs(fake) == ["configure", "enable"]
    configure = fake.writes[0]["args"]
    opts = dict(zip(configure[3::2], configure[4::2]))
    name = content_name("mssl-ca", pem(files["ca_cert"]), ".crt")
    assert os.path.basename(opts["-cf"]) == name and opts["-m"] == "upn" and opts["-fb"] == "false"
    assert not os.path.exists(opts["-cf"])
    assert r["state"]["enabled"] is True and r["state"]["ca_cert_file_name"] == name
    assert [p["action"] for p in r["pending_changes"]] == ["configure", "enable"]
    assert name in r["pending_changes"][0]["command"]
    assert r["ca_certificate"]["subject"] == "CN=Client CA"

    fake.calls = []
    res = run_module(mod, args(fake, files))
    assert res.result["changed"] is False
    assert len(fake.calls) == 1 and fake.writes == []


def test_same_ca_in_der_is_no_change_other_ca_is(fake, files):
    run_module(mod, args(fake, files))
    fake.calls = []
    assert run_module(mod, args(fake, files, ca_cert_file=files["ca_der"])).result["changed"] is False
    res = run_module(mod, args(fake, files, ca_cert_file=files["ca2"]))
    assert res.result["changed"] is True and res.result["changed_settings"] == ["ca_cert"]
    assert verbs(fake) == ["configure"]


def test_setting_change_configures_only(fake, files):
    run_module(mod, args(fake, files))
    fake.calls = []
    res = run_module(mod, args(fake, files, fallback_to_basic=True, user_name_mapping="cn"))
    assert res.result["changed"] is True
    assert res.result["changed_settings"] == ["fallback_to_basic", "user_name_mapping"]
    assert verbs(fake) == ["configure"]
    assert fake.keys[PRE + "fallback_to_basic"] == "true" and fake.keys[PRE + "mapping"] == "cn"


def test_omitted_settings_are_left_alone(fake, files):
    run_module(mod, args(fake, files, fallback_to_basic=True))
    fake.calls = []
    res = run_module(mod, {"tsm_path": fake.path})
    assert res.result["changed"] is False and fake.writes == []
    assert res.result["state"]["fallback_to_basic"] is True


@pytest.mark.parametrize("key, ext", [("crl", ".pem"), ("crl_der", ".der")])
def test_revocation_file_keeps_its_format(fake, files, key, ext):
    res = run_module(mod, args(fake, files, revocation_file=files[key]))
    assert not res.failed, res.result
    seen = fake.files_seen["-rf"]
    assert seen["path"].endswith(ext)
    assert os.path.basename(seen["path"]).startswith("tableau-tsm-mssl-crl-")
    assert res.result["revocation_list"]["revoked"] == 2
    fake.calls = []
    assert run_module(mod, args(fake, files, revocation_file=files[key])).result["changed"] is False
    assert fake.writes == []


def test_check_mode_and_diff(fake, files):
    res = run_module(mod, args(fake, files), check_mode=True, diff=True)
    r = res.result
    assert r["changed"] is True and fake.writes == []
    assert r["diff"]["before"]["enabled"] is False and r["diff"]["after"]["enabled"] is True
    assert r["diff"]["after"]["user_name_mapping"] == "upn"
    assert [p["action"] for p in r["pending_changes"]] == ["configure", "enable"]
    assert PRE + "required" not in fake.keys


def test_refuses_without_external_ssl(fake, files):
    fake.keys["ssl.enabled"] = "false"
    res = run_module(mod, args(fake, files))
    assert res.failed
    assert "enable external SSL first, e.g. with tableau_external_ssl in the same play" in res.result["msg"]
    assert res.result["changed"] is False and fake.writes == []


def test_ca_required_when_none_configured(fake, files):
    res = run_module(mod, {"tsm_path": fake.path, "user_name_mapping": "upn"})
    assert res.failed and "ca_cert_file is required" in res.result["msg"]
    assert fake.writes == []


@pytest.mark.parametrize("change, fragment", [
    ({"ca_cert_file": "leaf"}, "is not a CA certificate"),
    ({"ca_cert_file": "expired_ca"}, "has expired"),
    ({"ca_cert_file": "junk"}, "is malformed"),
    ({"ca_cert_file": "missing"}, "cannot be read"),
    ({"revocation_file": "ca"}, "contains no X509 CRL block"),
    ({"revocation_file": "garbage"}, "is neither a PEM nor a DER certificate revocation list"),
    ({"revocation_file": "forged_crl"}, "signature does not verify"),
    ({"revocation_file": "missing"}, "cannot be read"),
])
def test_bad_input_fails_before_any_tsm_call(fake, files, tmp_path, change, fragment):
    (option, key), = change.items()
    a = args(fake, files, **{option: files[key] if key in files else str(tmp_path / "nope")})
    res = run_module(mod, a)
    assert res.failed, res.result
    assert fragment in res.result["msg"] and option in res.result["msg"], res.result["msg"]
    assert fake.calls == []


def test_bad_mapping_refused(fake, files):
    res = run_module(mod, args(fake, files, user_name_mapping="email"))
    assert res.failed and "user_name_mapping" in res.result["msg"]
    assert fake.calls == []


@pytest.mark.parametrize("key, fragment", [("stale_crl", "is stale"), ("foreign_crl", "not a certificate of ca_cert_file")])
def test_crl_warnings(fake, files, key, fragment):
    res = run_module(mod, args(fake, files, revocation_file=files[key]))
    assert not res.failed, res.result
    assert any(fragment in w for w in get_warning_messages())


def test_absent(fake, files):
    res = run_module(mod, {"tsm_path": fake.path, "state": "absent"})
    assert res.result["changed"] is False and fake.writes == []
    run_module(mod, args(fake, files))
    fake.calls = []
    res = run_module(mod, {"tsm_path": fake.path, "state": "absent"}, check_mode=True)
    assert res.result["changed"] is True and fake.writes == []
    res = run_module(mod, {"tsm_path": fake.path, "state": "absent"})
    assert res.result["changed"] is True and verbs(fake) == ["disable"]
    assert res.result["state"]["enabled"] is False
    fake.calls = []
    assert run_module(mod, {"tsm_path": fake.path, "state": "absent"}).result["changed"] is False
    assert fake.writes == []


def test_apply(fake, files):
    res = run_module(mod, args(fake, files, apply=True))
    assert res.result["applied"] is True
    assert fake.writes[-1]["args"][:2] == ["pending-changes", "apply"]
    assert verbs(fake)[:2] == ["configure", "enable"]


def test_non_ca_certificate_message(fake, files):
    res = run_module(mod, args(fake, files, ca_cert_file=files["leaf"]))
    assert res.failed
    assert res.result["msg"] == ("ca_cert_file %s is not a CA certificate (basicConstraints CA:FALSE); give the CA "
                                 "that issues the client certificates" % files["leaf"])
    assert fake.calls == []
