# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json

import pytest

from ansible.module_utils import basic
from ansible_collections.tableau.tsm.tests.unit.plugins.modules.tsm_fake import get_warning_messages

from ansible_collections.tableau.tsm.plugins.modules import tableau_kms as mod
from ansible_collections.tableau.tsm.tests.unit.plugins.modules.tsm_fake import FakeTsm, install, run_module

ARN = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ARN_EU = "arn:aws:kms:eu-central-1:123456789012:key/abcd"
KMS_KEYS = {"kms.mode": "local", "kms.aws.key_arn": "", "kms.aws.region": "", "kms.azure.key_name": "",
            "kms.azure.vault_name": ""}
READS = (["settings", "export"], ["pending-changes", "list"], ["version"])


class KmsFake(FakeTsm):
    """FakeTsm plus kms set-mode, tsm version and a topology with a binary version in the export."""

    def __init__(self):
        super().__init__()
        self.keys.update(KMS_KEYS)
        self.binary_version = "20242.24.0807.0327"
        self.version_text = "Tableau Server version: 2024.2\nTableau Server build: 20242.24.0807.0327\n"

    @property
    def writes(self):
        return [c for c in self.calls if not any(c["args"][:len(r)] == r for r in READS)]

    def __call__(self, module, args, data=None, environ_update=None, **kwargs):
        cmd = self.strip_globals(list(args)[1:])
        if cmd[:2] == ["settings", "export"]:
            self.calls.append({"argv": list(args), "args": cmd, "data": data})
            doc = {"configKeys": dict(self.keys), "configEntities": {}}
            if self.binary_version:
                doc["topologyVersion"] = {"nodes": {"node1": {"services": {"gateway": {"instances": [
                    {"instanceId": "0", "binaryVersion": self.binary_version}]}}}}}
            with open(cmd[cmd.index("-f") + 1], "w") as handle:
                json.dump(doc, handle)
            return 0, "", ""
        if cmd == ["version"]:
            self.calls.append({"argv": list(args), "args": cmd, "data": data})
            return 0, self.version_text, ""
        if cmd[:3] == ["security", "kms", "set-mode"]:
            self.calls.append({"argv": list(args), "args": cmd, "data": data})
            opts = dict(zip(cmd[4::2], cmd[5::2]))
            self.keys.update(KMS_KEYS)
            self.keys["kms.mode"] = cmd[3]
            self.keys["kms.aws.key_arn"] = opts.get("--key-arn", "")
            self.keys["kms.aws.region"] = opts.get("--aws-region", "")
            self.keys["kms.azure.key_name"] = opts.get("--key-name", "")
            self.keys["kms.azure.vault_name"] = opts.get("--vault-name", "")
            return 0, "Staged.", ""
        return super().__call__(module, args, data=data, environ_update=environ_update, **kwargs)


@pytest.fixture
def fake(monkeypatch, tmp_path):
    base = install(monkeypatch, tmp_path)
    fake = KmsFake()
    fake.path = base.path

    def run_command(self, args, **kwargs):
        return fake(self, args, **kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    return fake


def aws(fake, **extra):
    result = {"tsm_path": fake.path, "mode": "aws", "key_arn": ARN, "aws_region": "us-west-2"}
    result.update(extra)
    return result


def azure(fake, **extra):
    result = {"tsm_path": fake.path, "mode": "azure", "key_name": "tableau-mek", "vault_name": "example-vault"}
    result.update(extra)
    return result


def test_aws_then_unchanged(fake):
    res = run_module(mod, aws(fake))
    r = res.result
    assert not res.failed, r
    assert r["changed"] is True and r["restart_required"] is True
    assert [c["args"] for c in fake.writes] == [
        ["security", "kms", "set-mode", "aws", "--key-arn", ARN, "--aws-region", "us-west-2"]]
    assert r["state"]["mode"] == "aws" and r["state"]["aws_key_arn"] == ARN and r["state"]["aws_region"] == "us-west-2"
    assert "server_version" not in r
    fake.calls = []
    res = run_module(mod, aws(fake))
    assert res.result["changed"] is False and len(fake.calls) == 1 and fake.writes == []


def test_aws_other_key_is_a_change(fake):
    run_module(mod, aws(fake))
    res = run_module(mod, aws(fake, key_arn=ARN.replace("1234abcd", "9999abcd")))
    assert res.result["changed"] is True


def test_local(fake):
    res = run_module(mod, {"tsm_path": fake.path, "mode": "local"})
    assert res.result["changed"] is False and fake.writes == []
    assert res.result["state"]["mode"] == "local"
    run_module(mod, aws(fake))
    fake.calls = []
    res = run_module(mod, {"tsm_path": fake.path, "mode": "local"}, diff=True)
    assert res.result["changed"] is True
    assert [c["args"] for c in fake.writes] == [["security", "kms", "set-mode", "local"]]
    assert res.result["diff"]["before"]["mode"] == "aws" and res.result["diff"]["after"]["mode"] == "local"


def test_check_mode(fake):
    res = run_module(mod, aws(fake, apply=True), check_mode=True, diff=True)
    r = res.result
    assert r["changed"] is True and r["applied"] is True and fake.writes == []
    assert fake.keys["kms.mode"] == "local"
    assert r["pending_changes"][0]["command"].startswith("tsm security kms set-mode aws --key-arn arn:aws:kms:")
    assert r["diff"]["after"]["aws_region"] == "us-west-2"


def test_apply(fake):
    res = run_module(mod, aws(fake, apply=True))
    assert res.result["applied"] is True
    assert fake.writes[-1]["args"][:2] == ["pending-changes", "apply"]


@pytest.mark.parametrize("params, fragment", [
    ({"mode": "aws", "key_arn": ARN}, "mode=aws requires aws_region"),
    ({"mode": "aws", "aws_region": "us-west-2"}, "mode=aws requires key_arn"),
    ({"mode": "aws", "key_arn": "arn:aws:kms:us-west-2:1234:key/abc", "aws_region": "us-west-2"},
     "is not a KMS key ARN"),
    ({"mode": "aws", "key_arn": ARN.replace(":key/", ":alias/"), "aws_region": "us-west-2"}, "is not a KMS key ARN"),
    ({"mode": "aws", "key_arn": ARN_EU, "aws_region": "us-west-2"}, "key_arn is in region eu-central-1, but aws_region is us-west-2"),
    ({"mode": "aws", "key_arn": ARN, "aws_region": "Oregon"}, "aws_region 'Oregon' is not an AWS region"),
    ({"mode": "aws", "key_arn": ARN, "aws_region": "us-west-2", "vault_name": "v1"}, "conflicting options: vault_name"),
    ({"mode": "azure", "key_name": "k"}, "mode=azure requires vault_name"),
    ({"mode": "azure", "key_name": "k", "vault_name": "v"}, "vault_name 'v' is not an Azure Key Vault name"),
    ({"mode": "azure", "key_name": "bad key", "vault_name": "example-vault"}, "key_name 'bad key'"),
    ({"mode": "azure", "key_name": "k", "vault_name": "example-vault", "key_arn": ARN},
     "conflicting options: key_arn cannot be used with mode=azure"),
    ({"mode": "local", "aws_region": "us-west-2"}, "conflicting options: aws_region"),
])
def test_bad_input_fails_before_any_call(fake, params, fragment):
    params = dict(params, tsm_path=fake.path)
    res = run_module(mod, params)
    assert res.failed
    assert fragment in res.result["msg"]
    assert res.result["changed"] is False and fake.calls == []


def test_azure_with_version_from_export(fake):
    res = run_module(mod, azure(fake))
    r = res.result
    assert not res.failed, r
    assert r["changed"] is True and r["server_version"] == "2024.2"
    assert [c["args"][:1] for c in fake.calls] == [["settings"], ["security"]]  # no 'tsm version' call
    assert fake.writes[0]["args"] == ["security", "kms", "set-mode", "azure", "--key-name", "tableau-mek",
                                      "--vault-name", "example-vault"]
    fake.calls = []
    res = run_module(mod, azure(fake))
    assert res.result["changed"] is False and len(fake.calls) == 1 and "server_version" not in res.result


def test_azure_refused_on_old_version(fake):
    fake.binary_version = "20203.20.0913.2112"
    res = run_module(mod, azure(fake))
    assert res.failed
    assert "2021.1" in res.result["msg"] and "2020.3" in res.result["msg"]
    assert res.result["changed"] is False and fake.writes == []


def test_azure_version_from_tsm_version(fake):
    fake.binary_version = None
    fake.version_text = "Tableau Server version: 2020.4\nTableau Server build: 20204.20.1116.1810\n"
    res = run_module(mod, azure(fake))
    assert res.failed and "2020.4" in res.result["msg"]
    assert [c["args"] for c in fake.calls][1] == ["version"] and fake.writes == []
    fake.calls = []
    fake.version_text = "Tableau Server version: 2023.3\n"
    res = run_module(mod, azure(fake))
    assert res.result["changed"] is True and res.result["server_version"] == "2023.3"


def test_azure_unknown_version_warns_and_proceeds(fake):
    fake.binary_version = None
    fake.version_text = "something else\n"
    res = run_module(mod, azure(fake))
    assert res.result["changed"] is True
    assert any("could not determine" in w for w in get_warning_messages())
