# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json

import pytest

from ansible.module_utils import basic

from ansible_collections.tableau.tsm.plugins.modules import tableau_security_info as mod
from ansible_collections.tableau.tsm.tests.unit.plugins.modules.tsm_fake import FakeTsm, run_module

ENC_PASSPHRASE = "ENC(c2VjcmV0LXBhc3NwaHJhc2U=)"
ENC_RSERVE = "ENC(cnNlcnZlLXB3)"
PLAIN_TABPY = "Plain-Tabpy-Pw-9"  # a plaintext secret in the export must not leak either

KEYS = {
    "ssl.enabled": "true",
    "ssl.cert.file_name": "tableau-tsm-cert-0123456789abcdef.crt",
    "ssl.key.file_name": "tableau-tsm-key-fedcba9876543210.key",
    "ssl.chain.file_name": "",
    "ssl.key.passphrase": ENC_PASSPHRASE,
    "ssl.protocols": "all -SSLv2 -SSLv3 -TLSv1 -TLSv1.1",
    "pgsql.ssl.enabled": "true",
    "pgsql.ssl.required": "false",
    "ssl.custom_ca.file_name": "tableau-tsm-custom-ca-00112233aabbccdd.crt",
    "kms.mode": "aws",
    "kms.aws.key_arn": "arn:aws:kms:us-west-2:123456789012:key/abcd",
    "kms.aws.region": "us-west-2",
    "kms.azure.key_name": "",
    "kms.azure.vault_name": "",
    "maestro.rserve.enabled": "true",
    "maestro.rserve.connection_type": "maestro-rserve-secure",
    "maestro.rserve.host": "rserve.example.com",
    "maestro.rserve.port": "6311",
    "maestro.rserve.username": "rs",
    "maestro.rserve.password": ENC_RSERVE,
    "maestro.rserve.connect_timeout_ms": "900000",
    "maestro.rserve.cert_file_name": "",
    "maestro.tabpy.enabled": "false",
    "maestro.tabpy.password": PLAIN_TABPY,
    "ssl.client_certificate_login.required": "true",
    "ssl.client_certificate_login.fallback_to_basic": "false",
    "ssl.client_certificate_login.mapping": "upn",
    "ssl.client_certificate_login.cacert.file_name": "tableau-tsm-mssl-ca-0011223344556677.crt",
    "ssl.client_certificate_login.revocation.file_name": "",
}

OUTPUTS = {
    ("security", "kms", "status"): "Mode: aws\nCustomer master key ARN: arn:aws:kms:us-west-2:123456789012:key/abcd\n"
                                   "Region: us-west-2\nRoot master key ID: rmk-1\nMaster extract keys:\n"
                                   "  ID: mek-1\n  Key status: encrypt or decrypt key\n  Created at: 2026-01-01T00:00:00Z\n",
    ("security", "custom-cert", "list"): "ssl.custom_ca.file_name: tableau-tsm-custom-ca-00112233aabbccdd.crt\n"
                                         "Subject: CN=Example Root CA\nIssuer: CN=Example Root CA\nSerial number: 1A2B\n"
                                         "Not valid after: 2035-01-01T00:00:00Z\n",
    ("status", "-v"): "Status: RUNNING\n\nNode: node1 (node1.example.com)\n    Gateway: running\n    Repository: running\n",
    ("version",): "Tableau Server version: 2024.2\nTableau Server build: 20242.24.0807.0327\n",
}


class InfoFakeTsm(FakeTsm):
    """FakeTsm that also answers the read commands of tableau_security_info."""

    def __init__(self):
        super().__init__()
        self.keys = dict(KEYS)
        self.outputs = dict(OUTPUTS)

    def __call__(self, module, args, data=None, environ_update=None, **kwargs):
        cmd = tuple(self.strip_globals(list(args)[1:]))
        if cmd in self.outputs and not (self.fail_on or self.fail_next):
            self.calls.append({"argv": list(args), "args": list(cmd), "data": data, "environ": dict(environ_update or {})})
            return 0, self.outputs[cmd], ""
        return super().__call__(module, args, data=data, environ_update=environ_update, **kwargs)

    @property
    def writes(self):
        return [c for c in self.calls if tuple(c["args"][:3]) not in READS and tuple(c["args"][:2]) not in READS
                and tuple(c["args"][:1]) not in READS]


READS = {("settings", "export"), ("pending-changes", "list"), ("security", "kms", "status"),
         ("security", "custom-cert", "list"), ("status",), ("version",)}


@pytest.fixture
def fake(monkeypatch, fake_tsm):
    info = InfoFakeTsm()
    info.path = fake_tsm.path

    def run_command(self, args, **kwargs):
        return info(self, args, **kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    return info


def test_everything(fake):
    fake.pending_text = "Pending configuration changes:\n  ssl.enabled: true\n  maestro.rserve.password: " \
                        + ENC_RSERVE + "\nThese pending changes require a server restart.\n"
    res = run_module(mod, {"tsm_path": fake.path})
    assert not res.failed, res.result
    r = res.result
    assert r["changed"] is False
    assert r["gathered"] == list(mod.PARTS)
    assert r["tsm_calls"] == 6 == len(fake.calls)
    assert fake.writes == []
    assert [c["args"][:2] for c in fake.calls] == [
        ["settings", "export"], ["security", "custom-cert"], ["security", "kms"], ["pending-changes", "list"],
        ["status", "-v"], ["version"]]

    ext = r["external_ssl"]
    assert ext["enabled"] is True and ext["passphrase_set"] is True
    assert ext["cert_sha256_prefix"] == "0123456789abcdef"
    assert ext["protocols"] == ["TLSv1.2", "TLSv1.3"]
    assert r["repository_ssl"] == {"enabled": True, "required": False, "internal_only": True, "mode": "internal_only"}
    cc = r["custom_cert"]
    assert cc["present"] is True and cc["sha256_prefix"] == "00112233aabbccdd"
    assert cc["details"]["subject"] == "CN=Example Root CA" and cc["details"]["not_after"] == "2035-01-01T00:00:00Z"
    kms = r["kms"]
    assert kms["mode"] == "aws" and kms["aws_region"] == "us-west-2" and kms["azure_key_name"] is None
    assert kms["aws_key_arn"] == "arn:aws:kms:us-west-2:123456789012:key/abcd"
    assert kms["status"]["root_master_key_id"] == "rmk-1"
    assert kms["status"]["master_extract_keys"][0]["id"] == "mek-1"
    rserve = r["maestro"]["rserve"]
    assert rserve["enabled"] is True and rserve["port"] == 6311 and rserve["password_set"] is True
    assert r["maestro"]["tabpy"]["enabled"] is False and r["maestro"]["tabpy"]["password_set"] is True
    assert r["mutual_ssl"]["enabled"] is True and r["mutual_ssl"]["user_name_mapping"] == "upn"
    assert r["mutual_ssl"]["ca_cert_sha256_prefix"] == "0011223344556677"
    assert r["pending_changes"][0] == {"key": "ssl.enabled", "value": "true", "restart": None}
    assert r["restart_required"] is True
    assert r["status"]["status"] == "RUNNING"
    assert r["status"]["nodes"][0]["processes"][0] == {"name": "Gateway", "status": "running", "status_text": "running"}
    assert r["version"] == {"version": "2024.2", "version_full": "2024.2", "build": "20242.24.0807.0327"}

    dumped = json.dumps(r)
    for secret in ("ENC(", ENC_PASSPHRASE, ENC_RSERVE, PLAIN_TABPY, "c2VjcmV0"):
        assert secret not in dumped


def test_gather_limits_calls(fake):
    res = run_module(mod, {"tsm_path": fake.path, "gather": ["external_ssl", "repository_ssl", "maestro", "mutual_ssl"]})
    r = res.result
    assert r["tsm_calls"] == 1 and [c["args"][:2] for c in fake.calls] == [["settings", "export"]]
    assert set(r) >= {"external_ssl", "repository_ssl", "maestro", "mutual_ssl"}
    for absent in ("custom_cert", "kms", "pending_changes", "restart_required", "status", "version"):
        assert absent not in r
    assert r["gathered"] == ["external_ssl", "repository_ssl", "maestro", "mutual_ssl"]

    fake.calls = []
    r = run_module(mod, {"tsm_path": fake.path, "gather": ["version", "status"]}).result
    assert r["tsm_calls"] == 2 and r["gathered"] == ["status", "version"]
    assert "external_ssl" not in r
    assert [c["args"] for c in fake.calls] == [["status", "-v"], ["version"]]

    fake.calls = []
    r = run_module(mod, {"tsm_path": fake.path, "gather": ["pending_changes"]}).result
    assert r["tsm_calls"] == 1 and r["pending_changes"] == [] and r["restart_required"] is False


def test_check_mode_is_the_same_read(fake):
    res = run_module(mod, {"tsm_path": fake.path, "gather": ["all", "kms"]}, check_mode=True)
    assert not res.failed and res.result["changed"] is False
    assert res.result["tsm_calls"] == 6 and fake.writes == []


def test_no_custom_cert_means_no_list_call(fake):
    fake.keys["ssl.custom_ca.file_name"] = ""
    r = run_module(mod, {"tsm_path": fake.path, "gather": ["custom_cert"]}).result
    assert r["custom_cert"] == {"present": False, "file_name": None, "sha256_prefix": None, "details": None}
    assert r["tsm_calls"] == 1


def test_defaults_when_export_is_nearly_empty(fake):
    fake.keys = {}
    fake.outputs[("security", "custom-cert", "list")] = "No custom certificate is configured."
    r = run_module(mod, {"tsm_path": fake.path, "gather": ["external_ssl", "repository_ssl", "custom_cert", "kms"]}).result
    assert r["external_ssl"]["enabled"] is False
    assert r["repository_ssl"]["mode"] == "off"
    assert r["custom_cert"]["present"] is False and r["custom_cert"]["details"] is None
    assert r["kms"]["mode"] == "local"
    assert r["tsm_calls"] == 3  # export, custom-cert list (export lacks the key), kms status


def test_kms_status_failure_is_a_warning(fake):
    fake.fail_on = ("kms", (1, "", "Unknown command: tsm security kms"))
    res = run_module(mod, {"tsm_path": fake.path, "gather": ["kms"]})
    assert not res.failed
    assert res.result["kms"]["status"] is None and res.result["kms"]["mode"] == "aws"
    assert res.result["tsm_calls"] == 2


def test_core_read_failure_fails_with_call_count(fake):
    fake.fail_on = ("export", (1, "", "Error: not authorized"))
    res = run_module(mod, {"tsm_path": fake.path})
    assert res.failed
    assert "not authorized" in res.result["msg"]
    assert res.result["tsm_calls"] == 1 and res.result["changed"] is False


def test_bad_gather_refused_before_any_call(fake):
    res = run_module(mod, {"tsm_path": fake.path, "gather": ["everything"]})
    assert res.failed and "gather" in res.result["msg"]
    res = run_module(mod, {"tsm_path": fake.path, "gather": []})
    assert res.failed and "at least one" in res.result["msg"]
    assert fake.calls == []


def test_scrub_masks_enc_and_secret_keys():
    data = {"a": "ENC(x)", "password": "p", "password_set": True, "nested": [{"client_secret": "s", "host": "h"}],
            "cert_sha256_prefix": "0123"}
    assert mod.scrub(data) == {"a": "********", "password": "********", "password_set": True,
                               "nested": [{"client_secret": "********", "host": "h"}], "cert_sha256_prefix": "0123"}
