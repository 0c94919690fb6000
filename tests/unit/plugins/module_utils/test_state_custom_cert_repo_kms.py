# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.tableau.tsm.plugins.module_utils import _state_custom_cert as cc
from ansible_collections.tableau.tsm.plugins.module_utils import _state_kms as kms
from ansible_collections.tableau.tsm.plugins.module_utils import _state_repository_ssl as repo
from ansible_collections.tableau.tsm.plugins.module_utils._errors import TsmInputError

NAME = "tableau-tsm-custom-ca-0123456789abcdef.crt"
SHA = "AB:CD:" + ":".join(["00"] * 30)
WANT = {"sha256": "abcd" + "00" * 30, "sha1": "11" * 20, "serial_number": "1a2b", "issuer": "CN=Example Root CA,O=Ex"}


# custom cert --------------------------------------------------------------------------------------

def test_custom_cert_read_state():
    assert cc.read_state({"configKeys": {"ssl.custom_ca.file_name": NAME}}) == {
        "present": True, "file_name": NAME, "sha256_prefix": "0123456789abcdef"}
    assert cc.read_state({"configKeys": {"SSL.Custom_CA.File_Name": "  "}})["present"] is False
    assert cc.read_state({"configKeys": {"ssl.custom_ca.file_name": "root.crt"}})["sha256_prefix"] is None
    # a content-addressed name of another role does not count
    assert cc.read_state({"configKeys": {"ssl.custom_ca.file_name": "tableau-tsm-cert-0123456789abcdef.crt"}}
                         )["sha256_prefix"] is None
    assert cc.export_has_key({"configKeys": {"ssl.custom_ca.file_name": ""}}) is True
    assert cc.export_has_key({"configKeys": {}}) is False
    assert cc.export_has_key(None) is False


def test_parse_list_emulator_layout():
    text = ("ssl.custom_ca.file_name: %s\nSubject: CN=Example Root CA,O=Ex\nIssuer: CN=Example Root CA,O=Ex\n"
            "Serial number: 1A2B\nNot valid before: 2026-01-01T00:00:00Z\nNot valid after: 2036-01-01T00:00:00Z\n"
            "SHA-256 fingerprint: %s\n" % (NAME, SHA))
    info = cc.parse_custom_cert_list(text)
    assert info["present"] is True and info["file_name"] == NAME
    assert info["sha256"] == WANT["sha256"] and info["serial_number"] == "1A2B"
    assert info["not_after"] == "2036-01-01T00:00:00Z"
    assert cc.listed_matches(info, WANT) is True
    assert cc.listed_matches(info, dict(WANT, sha256="ff" * 32)) is False
    assert cc.state_from_list(info)["sha256_prefix"] == "0123456789abcdef"


@pytest.mark.parametrize("text", ["", "No custom certificate is configured.", "There is no custom certificate.\n",
                                  "No custom certificates have been added"])
def test_parse_list_none(text):
    info = cc.parse_custom_cert_list(text)
    assert info["present"] is False
    assert cc.state_from_list(info) == {"present": False, "file_name": None, "sha256_prefix": None}


def test_parse_list_other_layouts():
    info = cc.parse_custom_cert_list("Custom certificate details\n  - ISSUER = cn=example root ca, o=ex\n"
                                     "  - Serial Number = 0x1a2b\n  - unrelated: line\n")
    assert info["present"] is True and info["sha256"] is None
    assert cc.listed_matches(info, WANT) is True  # serial+issuer, case and spacing ignored
    assert cc.listed_matches(info, dict(WANT, serial_number="1a2c")) is False
    # decimal serial
    info = cc.parse_custom_cert_list("Issuer: O=Ex, CN=Example Root CA\nSerial: %d\n" % 0x1a2b)
    assert cc.listed_matches(info, WANT) is True
    # only a fingerprint in SHA-1
    info = cc.parse_custom_cert_list("Thumbprint: " + "11" * 20)
    assert cc.listed_matches(info, WANT) is True
    # something, but nothing to compare: undecided
    info = cc.parse_custom_cert_list("A custom certificate is installed.")
    assert info["present"] is True and cc.listed_matches(info, WANT) is None


def test_normalizers():
    assert cc.normalize_hex("AB:cd 01") == "abcd01"
    assert cc.normalize_hex("xyz") is None
    assert cc.normalize_serial("00:1A") == "1a"
    assert cc.serial_candidates("10") == {"10", "a"}
    assert cc.normalize_name("CN=A, O=B") == cc.normalize_name("o=b,cn=a")


# repository ssl ------------------------------------------------------------------------------------

@pytest.mark.parametrize("enabled, required, mode", [
    ("true", "true", "required"), ("true", "false", "internal_only"), ("false", "true", "off"),
    ("false", "false", "off"), (None, None, "off"), ("TRUE", "False", "internal_only"),
])
def test_repository_read_state(enabled, required, mode):
    keys = {}
    if enabled is not None:
        keys["pgsql.ssl.enabled"] = enabled
    if required is not None:
        keys["pgsql.ssl.required"] = required
    state = repo.read_state({"configKeys": keys})
    assert state["mode"] == mode
    assert state["internal_only"] is (mode == "internal_only")
    assert state["required"] is (mode == "required")


def test_repository_desired_and_differs():
    assert repo.desired_state(True, False)["mode"] == "required"
    assert repo.desired_state(True, True)["mode"] == "internal_only"
    assert repo.desired_state(False, True)["mode"] == "off"
    assert repo.differs(repo.state_from(True, True), repo.desired_state(True, True)) is True
    assert repo.differs(repo.state_from(False, True), repo.desired_state(False, False)) is False


@pytest.mark.parametrize("text, value", [
    ("true\n", True), ("false", False), ("pgsql.ssl.enabled: true\n", True), ("Unknown key: 'x'.", None),
    ("", None), ("Null", None),
])
def test_parse_applied_enabled(text, value):
    assert repo.parse_applied_enabled(text) is value


# kms ----------------------------------------------------------------------------------------------

ARN = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_kms_read_state_and_differences():
    assert kms.read_state({}) == {"mode": "local", "aws_key_arn": None, "aws_region": None,
                                  "azure_key_name": None, "azure_vault_name": None}
    current = kms.read_state({"configKeys": {"kms.mode": "AWS", "kms.aws.key_arn": ARN, "kms.aws.region": "us-west-2",
                                             "kms.azure.key_name": "stale"}})
    assert current["mode"] == "aws"
    desired = kms.desired_state("aws", {"key_arn": ARN, "aws_region": "us-west-2"})
    assert kms.differences(current, desired) == []  # the other mode's leftovers are ignored
    assert kms.differences(current, kms.desired_state("aws", {"key_arn": ARN, "aws_region": "us-east-1"})) == [
        "aws_region"]
    assert kms.differences(current, kms.desired_state("local", {})) == ["mode"]
    assert kms.kms_args(desired) == ["security", "kms", "set-mode", "aws", "--key-arn", ARN, "--aws-region", "us-west-2"]
    assert kms.kms_args(kms.desired_state("local", {})) == ["security", "kms", "set-mode", "local"]


@pytest.mark.parametrize("params", [
    {"key_arn": ARN, "aws_region": "us-west-2"},
    {"key_arn": "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/mrk-1234", "aws_region": "us-gov-west-1"},
])
def test_kms_validate_ok(params):
    kms.validate("aws", params)


@pytest.mark.parametrize("mode, params, fragment", [
    ("aws", {"key_arn": ARN}, "requires aws_region"),
    ("aws", {"key_arn": ARN, "aws_region": "eu-west-1"}, "region us-west-2, but aws_region is eu-west-1"),
    ("aws", {"key_arn": "arn:aws:kms:us-west-2:12345678901:key/x", "aws_region": "us-west-2"}, "not a KMS key ARN"),
    ("azure", {"key_name": "k", "vault_name": "ab--cd"}, "not an Azure Key Vault name"),
    ("local", {"key_name": "k"}, "conflicting options: key_name"),
])
def test_kms_validate_errors(mode, params, fragment):
    with pytest.raises(TsmInputError) as exc:
        kms.validate(mode, params)
    assert fragment in str(exc.value)


def test_kms_validate_reports_every_problem_at_once():
    with pytest.raises(TsmInputError) as exc:
        kms.validate("aws", {"key_arn": "arn:aws:kms:not-an-arn", "key_name": "k"})
    msg = str(exc.value)
    assert "conflicting options: key_name" in msg
    assert "requires aws_region" in msg
    assert "'arn:aws:kms:not-an-arn' is not a KMS key ARN" in msg


@pytest.mark.parametrize("text, version", [
    ("Tableau Server version: 2024.2\nTableau Server build: 20242.24.0807.0327", (2024, 2)),
    ("Tableau Server build: 20203.20.0913.2112", (2020, 3)),
    ("version 2021.1.4", (2021, 1)),
    ("Tableau Server 2022.1.0 (20221.22.0315.1449)", (2022, 1)),
    ("nothing here", None),
    ("", None),
])
def test_parse_version(text, version):
    assert kms.parse_version(text) == version


def test_version_from_export():
    export = {"topologyVersion": {"nodes": {
        "node1": {"services": {"gateway": {"instances": [{"binaryVersion": "20242.24.0807.0327"}]}}},
        "node2": {"services": {"vizql": {"instances": [{"binaryVersion": "20233.23.1017.0948"}]}}}}}}
    assert kms.version_from_export(export) == (2023, 3)
    assert kms.version_from_export({"configKeys": {}}) is None
    assert kms.format_version((2021, 1)) == "2021.1" and kms.format_version(None) is None
