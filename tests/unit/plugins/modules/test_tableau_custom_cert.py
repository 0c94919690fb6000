# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime
import json
import os
import stat

import pytest

pytest.importorskip("cryptography")

from ansible.module_utils import basic  # noqa: E402
from ansible_collections.tableau.tsm.tests.unit.plugins.modules.tsm_fake import get_warning_messages  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402

from ansible_collections.tableau.tsm.plugins.module_utils._files import content_name  # noqa: E402
from ansible_collections.tableau.tsm.plugins.modules import tableau_custom_cert as mod  # noqa: E402
from ansible_collections.tableau.tsm.tests.unit.plugins.module_utils.tsm_certgen import (  # noqa: E402
    DAY, make_cert, pem, der, rsa_key, write,
)
from ansible_collections.tableau.tsm.tests.unit.plugins.modules.tsm_fake import (  # noqa: E402
    FakeTsm, install, run_module,
)

KEY = "ssl.custom_ca.file_name"
READS = (["settings", "export"], ["pending-changes", "list"], ["security", "custom-cert", "list"])


class CustomCertFake(FakeTsm):
    """FakeTsm plus custom-cert add/delete/list, the way the emulator models them."""

    def __init__(self):
        super().__init__()
        self.keys[KEY] = ""
        self.export_has_key = True
        self.meta = None
        self.list_text = None  # override of the list output
        self.added = []

    @property
    def writes(self):
        return [c for c in self.calls if not any(c["args"][:len(r)] == r for r in READS)]

    def __call__(self, module, args, data=None, environ_update=None, **kwargs):
        cmd = self.strip_globals(list(args)[1:])
        if cmd[:2] == ["settings", "export"]:
            self.calls.append({"argv": list(args), "args": cmd, "data": data})
            keys = dict(self.keys)
            if not self.export_has_key:
                keys.pop(KEY, None)
            with open(cmd[cmd.index("-f") + 1], "w") as handle:
                json.dump({"configKeys": keys, "configEntities": {}}, handle)
            return 0, "", ""
        if cmd[:2] != ["security", "custom-cert"]:
            return super().__call__(module, args, data=data, environ_update=environ_update, **kwargs)
        self.calls.append({"argv": list(args), "args": cmd, "data": data})
        if self.fail_on and self.fail_on[0] in cmd:
            return self.fail_on[1]
        verb = cmd[2]
        if verb == "add":
            if self.keys[KEY]:
                return 1, "", "A custom certificate already exists. Remove it first with 'tsm security custom-cert delete'."
            path = cmd[cmd.index("-c") + 1]
            with open(path, "rb") as handle:
                data_bytes = handle.read()
            self.added.append({"path": path, "data": data_bytes, "mode": stat.S_IMODE(os.stat(path).st_mode)})
            cert = x509.load_pem_x509_certificate(data_bytes)
            self.meta = {"subject": cert.subject.rfc4514_string(), "issuer": cert.issuer.rfc4514_string(),
                         "serial": format(cert.serial_number, "X"),
                         "sha256": cert.fingerprint(hashes.SHA256()).hex(":").upper()}
            self.keys[KEY] = os.path.basename(path)
            return 0, "Staged.", ""
        if verb == "delete":
            if not self.keys[KEY]:
                return 1, "", "There is no custom certificate to delete."
            self.keys[KEY] = ""
            self.meta = None
            return 0, "Staged.", ""
        if verb == "list":
            if self.list_text is not None:
                return 0, self.list_text, ""
            if not self.keys[KEY]:
                return 0, "No custom certificate is configured.\n", ""
            return 0, ("%s: %s\nSubject: %s\nIssuer: %s\nSerial number: %s\nSHA-256 fingerprint: %s\n" % (
                KEY, self.keys[KEY], self.meta["subject"], self.meta["issuer"], self.meta["serial"],
                self.meta["sha256"])), ""
        return 1, "", "unknown"


@pytest.fixture
def fake(monkeypatch, tmp_path):
    base = install(monkeypatch, tmp_path)
    fake = CustomCertFake()
    fake.path = base.path

    def run_command(self, args, **kwargs):
        return fake(self, args, **kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    return fake


@pytest.fixture
def certs(tmp_path):
    now = datetime.datetime.now(datetime.timezone.utc)
    key = rsa_key(2048, slot=40)
    ca = make_cert("Example Root CA", key, ca=True, not_before=now - 10 * DAY, not_after=now + 3000 * DAY)
    other = make_cert("Other Root CA", rsa_key(2048, slot=41), ca=True, not_before=now - DAY,
                      not_after=now + 3000 * DAY)
    d = tmp_path / "in"
    d.mkdir()
    return {
        "ca": ca,
        "other_cert": other,
        "pem": write(d / "ca.pem", b"comment line\n" + pem(ca)),
        "der": write(d / "elsewhere.der", der(ca)),
        "other": write(d / "other.crt", pem(other)),
        "expired": write(d / "expired.crt", pem(make_cert("Old CA", key, ca=True, not_before=now - 900 * DAY,
                                                          not_after=now - DAY))),
        "future": write(d / "future.crt", pem(make_cert("Future CA", key, ca=True, not_before=now + 5 * DAY,
                                                        not_after=now + 900 * DAY))),
        "soon": write(d / "soon.crt", pem(make_cert("Soon CA", key, ca=True, not_before=now - 900 * DAY,
                                                    not_after=now + 5 * DAY))),
        "leaf": write(d / "leaf.crt", pem(make_cert("smtp.example.com", key, ca=False, not_before=now - DAY,
                                                    not_after=now + 300 * DAY))),
        "small": write(d / "small.crt", pem(make_cert("Small CA", rsa_key(1024, slot=42), ca=True,
                                                      not_before=now - DAY, not_after=now + 300 * DAY))),
        "two": write(d / "two.crt", pem(ca) + pem(other)),
        "garbage": write(d / "garbage.crt", b"not a certificate at all"),
        "key": write(d / "key.pem", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
    }


def args(fake, path, **extra):
    result = {"tsm_path": fake.path, "cert_file": path}
    result.update(extra)
    return result


def test_add_then_unchanged(fake, certs):
    res = run_module(mod, args(fake, certs["pem"]))
    assert not res.failed, res.result
    r = res.result
    assert r["changed"] is True and r["restart_required"] is True and r["applied"] is False
    assert [c["args"][:3] for c in fake.calls] == [["settings", "export", "-f"], ["security", "custom-cert", "add"]]
    # a private PEM copy, named by the hash of the PEM bytes, 0600, removed afterwards
    added = fake.added[0]
    assert os.path.basename(added["path"]) == content_name("custom-ca", pem(certs["ca"]), ".crt")
    assert added["data"] == pem(certs["ca"]) and added["mode"] == 0o600
    assert not os.path.exists(added["path"])
    assert r["state"] == {"present": True, "file_name": os.path.basename(added["path"]),
                          "sha256_prefix": os.path.basename(added["path"])[len("tableau-tsm-custom-ca-"):-4]}
    assert r["pending_changes"] == [{"family": "custom_cert", "action": "add",
                                     "command": "tsm security custom-cert add -c " + r["state"]["file_name"]}]
    assert r["certificate"]["self_signed"] is True and r["certificate"]["format"] == "PEM"

    fake.calls = []
    res = run_module(mod, args(fake, certs["pem"]))
    assert res.result["changed"] is False and res.result["pending_changes"] == []
    assert len(fake.calls) == 1 and fake.writes == []


def test_same_certificate_der_elsewhere_is_no_change(fake, certs):
    run_module(mod, args(fake, certs["pem"]))
    fake.calls = []
    res = run_module(mod, args(fake, certs["der"]))
    assert res.result["changed"] is False and fake.writes == []
    assert res.result["certificate"]["format"] == "DER"


def test_different_certificate_is_replaced_delete_then_add(fake, certs):
    run_module(mod, args(fake, certs["pem"]))
    fake.calls = []
    res = run_module(mod, args(fake, certs["other"]))
    assert res.result["changed"] is True
    assert [c["args"][:3] for c in fake.writes] == [["security", "custom-cert", "delete"],
                                                    ["security", "custom-cert", "add"]]
    assert [p["action"] for p in res.result["pending_changes"]] == ["delete", "add"]
    assert fake.keys[KEY] == content_name("custom-ca", pem(certs["other_cert"]), ".crt")


def test_check_mode_and_diff(fake, certs):
    run_module(mod, args(fake, certs["pem"]))
    fake.calls = []
    before = dict(fake.keys)
    res = run_module(mod, args(fake, certs["other"]), check_mode=True, diff=True)
    r = res.result
    assert r["changed"] is True and fake.writes == [] and fake.keys == before
    assert [p["action"] for p in r["pending_changes"]] == ["delete", "add"]
    assert r["diff"]["before"]["file_name"] == before[KEY]
    assert r["diff"]["after"]["file_name"] == content_name("custom-ca", pem(certs["other_cert"]), ".crt")


def test_absent(fake, certs):
    res = run_module(mod, {"tsm_path": fake.path, "state": "absent"})
    assert res.result["changed"] is False and fake.writes == []
    run_module(mod, args(fake, certs["pem"]))
    fake.calls = []
    res = run_module(mod, {"tsm_path": fake.path, "state": "absent"}, diff=True)
    assert res.result["changed"] is True
    assert [c["args"] for c in fake.writes] == [["security", "custom-cert", "delete"]]
    assert res.result["state"]["present"] is False and res.result["diff"]["before"]["present"] is True
    fake.calls = []
    res = run_module(mod, {"tsm_path": fake.path, "state": "absent"})
    assert res.result["changed"] is False and fake.writes == []


def test_apply(fake, certs):
    res = run_module(mod, args(fake, certs["pem"], apply=True))
    assert res.result["applied"] is True and res.result["restart_required"] is False
    assert fake.writes[-1]["args"][:2] == ["pending-changes", "apply"]
    fake.calls = []
    res = run_module(mod, args(fake, certs["pem"], apply=True))
    assert res.result["applied"] is False and fake.writes == []


@pytest.mark.parametrize("name, fragment", [
    ("expired", "has expired"),
    ("future", "is not yet valid"),
    ("garbage", "neither a PEM nor a DER"),
    ("key", "contains a private key"),
    ("two", "contains 2 certificates"),
    ("small", "too small"),
])
def test_bad_input_fails_before_any_tsm_call(fake, certs, name, fragment):
    res = run_module(mod, args(fake, certs[name]))
    assert res.failed
    assert fragment in res.result["msg"] and certs[name] in res.result["msg"]
    assert res.result["changed"] is False
    assert fake.calls == []


def test_missing_file_and_missing_option(fake, certs, tmp_path):
    res = run_module(mod, args(fake, str(tmp_path / "nope.crt")))
    assert res.failed and "cannot be read" in res.result["msg"] and fake.calls == []
    res = run_module(mod, {"tsm_path": fake.path})
    assert res.failed and "cert_file" in res.result["msg"] and fake.calls == []


def test_warnings_expiring_soon_and_not_ca(fake, certs):
    res = run_module(mod, args(fake, certs["soon"]))
    assert not res.failed
    assert any("expires in" in w and "soon.crt" in w for w in get_warning_messages())
    res = run_module(mod, args(fake, certs["leaf"]))
    assert not res.failed
    assert any("not a CA certificate" in w for w in get_warning_messages())


# fallback to custom-cert list -------------------------------------------------------------------

def test_export_without_key_falls_back_to_list(fake, certs):
    fake.export_has_key = False
    res = run_module(mod, args(fake, certs["pem"]))
    assert res.result["changed"] is True
    assert [c["args"][:3] for c in fake.calls] == [
        ["settings", "export", "-f"], ["security", "custom-cert", "list"], ["security", "custom-cert", "add"]]
    fake.calls = []
    res = run_module(mod, args(fake, certs["pem"]))
    assert res.result["changed"] is False and fake.writes == []
    assert len(fake.calls) == 2
    res = run_module(mod, args(fake, certs["other"]))
    assert res.result["changed"] is True
    assert [c["args"][2] for c in fake.writes] == ["delete", "add"]


def test_foreign_name_identical_by_fingerprint_is_kept(fake, certs):
    ca = certs["ca"]
    fake.keys[KEY] = "company-root.crt"
    fake.meta = {"subject": ca.subject.rfc4514_string(), "issuer": ca.issuer.rfc4514_string(),
                 "serial": format(ca.serial_number, "X"), "sha256": ca.fingerprint(hashes.SHA256()).hex(":").upper()}
    res = run_module(mod, args(fake, certs["der"]))
    assert res.result["changed"] is False and fake.writes == []
    assert res.result["state"]["file_name"] == "company-root.crt"
    res = run_module(mod, args(fake, certs["other"]))
    assert res.result["changed"] is True


def test_list_with_serial_and_issuer_only(fake, certs):
    ca = certs["ca"]
    fake.export_has_key = False
    fake.keys[KEY] = "company-root.crt"
    fake.list_text = "Custom certificate\n  Issuer: %s\n  Serial: %d\n  Something else: x\n" % (
        ca.issuer.rfc4514_string(), ca.serial_number)
    res = run_module(mod, args(fake, certs["pem"]))
    assert res.result["changed"] is False and fake.writes == []


def test_list_without_identity_is_replaced(fake, certs):
    fake.export_has_key = False
    fake.keys[KEY] = "company-root.crt"
    fake.list_text = "A custom certificate is configured.\n"
    res = run_module(mod, args(fake, certs["pem"]))
    assert res.result["changed"] is True
    assert [c["args"][2] for c in fake.writes] == ["delete", "add"]


def test_tsm_failure_reported(fake, certs):
    fake.fail_on = ("add", (1, "", "Error: upload failed"))
    res = run_module(mod, args(fake, certs["pem"]))
    assert res.failed and "custom-cert add" in res.result["msg"] and "upload failed" in res.result["msg"]


def test_exact_messages_one_certificate_and_not_ca(fake, certs):
    res = run_module(mod, args(fake, certs["two"]))
    assert res.failed
    assert res.result["msg"] == ("certificate file %s contains 2 certificates; tsm security custom-cert add takes "
                                 "exactly one CA certificate" % certs["two"])
    res = run_module(mod, args(fake, certs["leaf"]))
    assert not res.failed
    assert ("certificate file %s is not a CA certificate (no basicConstraints CA:TRUE); Tableau will trust only "
            "this exact certificate" % certs["leaf"]) in get_warning_messages()
    assert "count" not in res.result["certificate"]
