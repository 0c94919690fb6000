# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""tableau_maestro_rserve_ssl and tableau_maestro_tabpy_ssl against a fake tsm."""

from __future__ import annotations

import datetime
import json
import os

import pytest

pytest.importorskip("cryptography")

from ansible_collections.tableau.tsm.tests.unit.plugins.modules.tsm_fake import get_warning_messages  # noqa: E402

from ansible_collections.tableau.tsm.plugins.module_utils._files import content_name  # noqa: E402
from ansible_collections.tableau.tsm.plugins.modules import tableau_maestro_rserve_ssl as rserve_mod  # noqa: E402
from ansible_collections.tableau.tsm.plugins.modules import tableau_maestro_tabpy_ssl as tabpy_mod  # noqa: E402
from ansible_collections.tableau.tsm.tests.unit.plugins.module_utils.tsm_certgen import (  # noqa: E402
    DAY, PKI, der, make_cert, pem, rsa_key, write,
)
from ansible_collections.tableau.tsm.tests.unit.plugins.modules.tsm_fake import FakeTsm, run_module  # noqa: E402

PASSWORD = "Rserve-Pw-Secret-9"
PASSWORD2 = "Rserve-Pw-Other-4"
MODULES = {"rserve": rserve_mod, "tabpy": tabpy_mod}


class MaestroFake(FakeTsm):
    """FakeTsm plus maestro-<svc>-ssl enable/disable, storing keys like the emulator does."""

    def __call__(self, module, args, data=None, environ_update=None, **kwargs):
        cmd = self.strip_globals(list(args)[1:])
        if cmd[:1] == ["security"] and len(cmd) > 2 and cmd[1] in ("maestro-rserve-ssl", "maestro-tabpy-ssl"):
            self.calls.append({"argv": list(args), "args": cmd, "data": data, "environ": dict(environ_update or {})})
            if self.fail_on and self.fail_on[0] in cmd:
                return self.fail_on[1]
            svc = cmd[1].split("-")[1]
            pre = "maestro.%s." % svc
            if cmd[2] == "disable":
                for k in ("connection_type", "host", "port", "username", "password", "connect_timeout_ms",
                          "cert_file_name"):
                    self.keys[pre + k] = ""
                self.keys[pre + "enabled"] = "false"
                return 0, "", ""
            opts = dict(zip(cmd[3::2], cmd[4::2]))
            cf = opts.get("-cf")
            if cf:
                with open(cf, "rb") as handle:
                    self.files_seen[svc] = {"path": cf, "data": handle.read()}
            self.keys.update({
                pre + "enabled": "true",
                pre + "connection_type": opts["--connection-type"],
                pre + "host": opts["--%s-host" % svc],
                pre + "port": opts["--%s-port" % svc],
                pre + "username": opts.get("--%s-username" % svc, ""),
                pre + "password": "ENC(eHh4)" if opts.get("--%s-password" % svc) else "",
                pre + "connect_timeout_ms": opts.get("--%s-connect-timeout-ms" % svc, ""),
                pre + "cert_file_name": os.path.basename(cf) if cf else "",
            })
            return 0, "", ""
        return super().__call__(module, args, data=data, environ_update=environ_update, **kwargs)


@pytest.fixture
def fake(fake_tsm):
    fake_tsm.__class__ = MaestroFake
    return fake_tsm


@pytest.fixture(scope="module")
def pki():
    return PKI("Maestro", slot=7)


@pytest.fixture
def files(tmp_path, pki):
    now = datetime.datetime.now(datetime.timezone.utc)
    leaf = pki.issue("rserve.example.com", pki.leaf_key, not_before=now - 10 * DAY, not_after=now + 300 * DAY)
    d = tmp_path / "in"
    d.mkdir()
    return {
        "leaf": leaf,
        "root": pki.root,
        "tmp": d,
        "cert": write(d / "rserve.pem", pem(leaf)),
        "cert_der": write(d / "rserve.der", der(leaf)),
        "expired": write(d / "expired.crt", pem(pki.issue("rserve.example.com", pki.leaf_key,
                                                          not_before=now - 400 * DAY, not_after=now - DAY))),
        "future": write(d / "future.crt", pem(pki.issue("rserve.example.com", pki.leaf_key,
                                                        not_before=now + 5 * DAY, not_after=now + 400 * DAY))),
        "soon": write(d / "soon.crt", pem(pki.issue("rserve.example.com", pki.leaf_key,
                                                    not_before=now - 400 * DAY, not_after=now + 5 * DAY))),
        "weak": write(d / "weak.crt", pem(make_cert("weak", rsa_key(1024, slot=99), not_before=now - DAY,
                                                    not_after=now + 300 * DAY))),
        "key": write(d / "rserve.key", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
        "junk": write(d / "junk.crt", b"not a certificate at all"),
    }


def args(fake, files, svc="rserve", **extra):
    base = {"tsm_path": fake.path, "host": "%s.example.com" % svc, "username": "tableau",
            "password": PASSWORD, "cert_file": files["cert"]}
    base.update(extra)
    return base


@pytest.mark.parametrize("svc", ["rserve", "tabpy"])
def test_enable_then_unchanged(fake, files, svc):
    mod = MODULES[svc]
    res = run_module(mod, args(fake, files, svc))
    assert not res.failed, res.result
    r = res.result
    assert r["changed"] is True and r["restart_required"] is True and r["applied"] is False
    enable = fake.calls[1]["args"]
    assert enable[:3] == ["security", "maestro-%s-ssl" % svc, "enable"]
    opts = dict(zip(enable[3::2], enable[4::2]))
    assert opts["--connection-type"] == "maestro-%s-secure" % svc
    assert opts["--%s-port" % svc] == ("6311" if svc == "rserve" else "9004")
    assert opts["--%s-connect-timeout-ms" % svc] == "900000"
    assert opts["--%s-password" % svc] == PASSWORD
    name = content_name("%s-cert" % svc, pem(files["leaf"]), ".crt")
    assert os.path.basename(opts["-cf"]) == name
    assert not os.path.exists(opts["-cf"])  # private copy removed
    assert fake.files_seen[svc]["data"] == pem(files["leaf"])
    assert r["state"]["enabled"] is True and r["state"]["password_set"] is True
    assert r["state"]["cert_file_name"] == name
    assert PASSWORD not in json.dumps(r)
    assert "--%s-password ********" % svc in r["pending_changes"][0]["command"]
    assert name in r["pending_changes"][0]["command"]

    fake.calls = []
    res = run_module(mod, args(fake, files, svc))
    assert res.result["changed"] is False, res.result
    assert res.result["pending_changes"] == [] and res.result["restart_required"] is False
    assert len(fake.calls) == 1 and fake.writes == []


def test_same_certificate_in_der_elsewhere_and_host_case_are_no_change(fake, files):
    run_module(rserve_mod, args(fake, files))
    fake.calls = []
    res = run_module(rserve_mod, args(fake, files, cert_file=files["cert_der"], host="RSERVE.Example.com"))
    assert res.result["changed"] is False
    assert fake.writes == []


def test_renewed_certificate_is_a_change(fake, files, pki):
    run_module(rserve_mod, args(fake, files))
    with open(files["cert"], "wb") as handle:
        handle.write(pem(pki.issue("rserve.example.com", pki.leaf_key)))
    fake.calls = []
    res = run_module(rserve_mod, args(fake, files))
    assert res.result["changed"] is True
    assert res.result["changed_settings"] == ["cert_sha256_prefix"]
    assert len(fake.writes) == 1


@pytest.mark.parametrize("change, reason", [
    ({"port": 6312}, "port"),
    ({"connect_timeout_ms": 60000}, "connect_timeout_ms"),
    ({"host": "other.example.com"}, "host"),
    ({"username": "other"}, "username"),
])
def test_setting_changes_pass_the_password(fake, files, change, reason):
    run_module(rserve_mod, args(fake, files))
    fake.calls = []
    res = run_module(rserve_mod, args(fake, files, **change))
    assert res.result["changed"] is True
    assert reason in res.result["changed_settings"]
    assert "--rserve-password" in fake.writes[0]["args"]


def test_update_password_always_changes_every_run(fake, files):
    run_module(rserve_mod, args(fake, files))
    for _run in range(2):
        fake.calls = []
        res = run_module(rserve_mod, args(fake, files, password=PASSWORD2, update_password="always"))
        assert res.result["changed"] is True
        assert res.result["changed_settings"] == ["password (update_password=always)"]
        assert len(fake.writes) == 1
        assert PASSWORD2 not in json.dumps(res.result)


def test_on_create_new_password_alone_is_no_change(fake, files):
    run_module(rserve_mod, args(fake, files))
    fake.calls = []
    res = run_module(rserve_mod, args(fake, files, password=PASSWORD2))
    assert res.result["changed"] is False
    assert fake.writes == []


def test_change_without_password_when_one_is_stored_fails_before_write(fake, files):
    run_module(rserve_mod, args(fake, files))
    fake.calls = []
    a = args(fake, files, port=7000)
    del a["password"]
    res = run_module(rserve_mod, a)
    assert res.failed
    assert "password is required to change port" in res.result["msg"]
    assert res.result["changed"] is False
    assert fake.writes == []
    # without a change, a missing password is fine
    del a["port"]
    res = run_module(rserve_mod, a)
    assert not res.failed and res.result["changed"] is False


def test_no_credentials_removes_stored_ones(fake, files):
    run_module(rserve_mod, args(fake, files))
    fake.calls = []
    a = args(fake, files)
    del a["password"]
    del a["username"]
    res = run_module(rserve_mod, a)
    assert res.result["changed"] is True
    assert set(res.result["changed_settings"]) == {"username", "password_set"}
    enable = fake.writes[0]["args"]
    assert "--rserve-password" not in enable and "--rserve-username" not in enable
    fake.calls = []
    res = run_module(rserve_mod, a)
    assert res.result["changed"] is False and fake.writes == []


def test_insecure_connection(fake, files):
    a = {"tsm_path": fake.path, "host": "10.0.0.12", "secure": False}
    res = run_module(rserve_mod, a)
    assert res.result["changed"] is True
    enable = fake.writes[0]["args"]
    assert "-cf" not in enable
    assert enable[enable.index("--connection-type") + 1] == "maestro-rserve"
    fake.calls = []
    assert run_module(rserve_mod, a).result["changed"] is False
    # switching to secure is a change
    res = run_module(rserve_mod, dict(a, secure=True, cert_file=files["cert"]))
    assert res.result["changed"] is True
    assert "connection_type" in res.result["changed_settings"]


def test_check_mode_and_diff(fake, files):
    res = run_module(rserve_mod, args(fake, files), check_mode=True, diff=True)
    r = res.result
    assert r["changed"] is True and fake.writes == []
    assert r["diff"]["before"]["enabled"] is False
    assert r["diff"]["after"]["enabled"] is True and r["diff"]["after"]["host"] == "rserve.example.com"
    # password_set is a flag, not a secret: the diff shows the boolean, never a mask
    assert r["diff"]["before"]["password_set"] is False
    assert r["diff"]["after"]["password_set"] is True
    assert r["state"]["host"] == "rserve.example.com"
    assert len(r["pending_changes"]) == 1
    assert PASSWORD not in json.dumps(r)
    assert fake.keys.get("maestro.rserve.enabled") is None


def test_foreign_cert_name_is_replaced_once(fake, files):
    run_module(rserve_mod, args(fake, files))
    fake.keys["maestro.rserve.cert_file_name"] = "rserve.crt"
    fake.calls = []
    res = run_module(rserve_mod, args(fake, files))
    assert res.result["changed"] is True
    fake.calls = []
    assert run_module(rserve_mod, args(fake, files)).result["changed"] is False


@pytest.mark.parametrize("change, fragment", [
    ({"port": 0}, "port must be from 1 to 65535, got 0"),
    ({"port": 70000}, "port must be from 1 to 65535, got 70000"),
    ({"connect_timeout_ms": 0}, "connect_timeout_ms must be a positive number"),
    ({"connect_timeout_ms": -5}, "connect_timeout_ms must be a positive number"),
    ({"host": "  "}, "host must name the Rserve server"),
    ({"host": "bad host"}, "is not a valid host name"),
    ({"cert_file": None}, "cert_file is required with secure=true"),
    ({"secure": False}, "cert_file is only used with secure=true"),
    ({"username": None}, "password is set but username is not"),
    ({"password": ""}, "password is empty"),
    ("expired", "has expired"),
    ("future", "is not yet valid"),
    ("weak", "1024 bits is too small"),
    ("key", "contains a private key, not a certificate"),
    ("junk", "is neither a PEM nor a DER X.509 certificate"),
    ("missing", "cannot be read"),
])
def test_bad_input_fails_before_any_tsm_call(fake, files, tmp_path, change, fragment):
    if isinstance(change, str):
        change = {"cert_file": files[change] if change in files else str(tmp_path / "nope.crt")}
    a = args(fake, files, **change)
    a = {k: v for k, v in a.items() if v is not None}
    res = run_module(rserve_mod, a)
    assert res.failed, res.result
    assert fragment in res.result["msg"], res.result["msg"]
    assert fake.calls == []
    assert PASSWORD not in json.dumps(res.result)


def test_sha1_signed_certificate_refused(fake, files, monkeypatch):
    """cryptography >= 47 cannot sign with SHA-1: the hash name is faked; self-signed roots are exempt."""
    from ansible_collections.tableau.tsm.plugins.module_utils import _certificates
    monkeypatch.setattr(_certificates, "signature_hash_name", lambda cert: "sha1")
    res = run_module(rserve_mod, args(fake, files))
    assert res.failed and "is signed with SHA-1, which is refused" in res.result["msg"]
    assert fake.calls == []
    root = write(files["tmp"] / "root.crt", pem(files["root"]))
    res = run_module(rserve_mod, args(fake, files, cert_file=root))
    assert not res.failed, res.result


def test_expiring_soon_warns(fake, files):
    res = run_module(rserve_mod, args(fake, files, cert_file=files["soon"]))
    assert not res.failed
    assert any("expires in" in w and "soon.crt" in w for w in get_warning_messages())


def test_absent(fake, files):
    res = run_module(rserve_mod, {"tsm_path": fake.path, "state": "absent"})
    assert res.result["changed"] is False and fake.writes == []
    run_module(rserve_mod, args(fake, files))
    fake.calls = []
    res = run_module(rserve_mod, {"tsm_path": fake.path, "state": "absent"}, check_mode=True)
    assert res.result["changed"] is True and fake.writes == []
    res = run_module(rserve_mod, {"tsm_path": fake.path, "state": "absent"})
    assert res.result["changed"] is True
    assert fake.writes[0]["args"] == ["security", "maestro-rserve-ssl", "disable"]
    assert res.result["state"]["enabled"] is False
    fake.calls = []
    res = run_module(rserve_mod, {"tsm_path": fake.path, "state": "absent"})
    assert res.result["changed"] is False and fake.writes == []


def test_apply(fake, files):
    res = run_module(rserve_mod, args(fake, files, apply=True))
    assert res.result["applied"] is True and res.result["restart_required"] is False
    assert fake.writes[-1]["args"][:2] == ["pending-changes", "apply"]
    fake.calls = []
    res = run_module(rserve_mod, args(fake, files, apply=True))
    assert res.result["changed"] is False and res.result["applied"] is False and fake.writes == []


def test_tsm_failure_is_masked(fake, files):
    fake.fail_on = ("maestro-rserve-ssl", (1, "", "error: bad password %s" % PASSWORD))
    res = run_module(rserve_mod, args(fake, files))
    assert res.failed
    assert PASSWORD not in json.dumps(res.result)
    assert "maestro-rserve-ssl enable" in res.result["msg"]


def test_missing_host(fake):
    res = run_module(rserve_mod, {"tsm_path": fake.path, "secure": False})
    assert res.failed and "host" in res.result["msg"]
    assert fake.calls == []


@pytest.mark.parametrize("svc", ["rserve", "tabpy"])
def test_docs_document_every_option_once(svc):
    """The shared options come from the tableau.tsm._maestro doc fragment; what names the service stays here."""
    yaml = pytest.importorskip("yaml")
    from ansible_collections.tableau.tsm.plugins.doc_fragments._maestro import ModuleDocFragment
    from ansible_collections.tableau.tsm.plugins.module_utils._maestro import DEFAULT_PORTS, DISPLAY_NAMES, argument_spec

    doc = yaml.safe_load(MODULES[svc].DOCUMENTATION)
    fragment = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)
    assert "tableau.tsm._maestro" in doc["extends_documentation_fragment"]
    assert not set(fragment["options"]) & set(doc["options"])
    assert "attributes" not in doc and "requirements" not in doc
    documented = dict(fragment["options"], **doc["options"])
    spec = argument_spec(svc)
    assert set(documented) == set(spec)
    for name, option in documented.items():
        assert option["type"] == spec[name]["type"], name
        assert option.get("default") == spec[name].get("default"), name
        assert option.get("choices") == spec[name].get("choices"), name
    # the fragment is service-neutral; each module names its own service and default port
    assert not any(word in ModuleDocFragment.DOCUMENTATION.lower() for word in ("rserve", "tabpy"))
    assert doc["options"]["port"]["default"] == DEFAULT_PORTS[svc]
    for name in ("state", "host", "port"):
        assert DISPLAY_NAMES[svc] in " ".join(doc["options"][name]["description"]), name
    for name in ("secure", "password", "connect_timeout_ms"):
        assert svc in " ".join(doc["options"][name]["description"]), name
