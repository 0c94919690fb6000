# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.tableau.tsm.plugins.module_utils import _state_common as S
from ansible_collections.tableau.tsm.plugins.module_utils._state_external_ssl import differences, read_state
from ansible_collections.tableau.tsm.plugins.module_utils._state_pending import parse_pending_list

CERT = "tableau-tsm-cert-0123456789abcdef.crt"
KEY = "tableau-tsm-key-fedcba9876543210.key"


def export(**keys):
    return {"configKeys": keys, "configEntities": {"gatewaySettings": {}}, "topologyVersion": {}}


def test_defaults_when_keys_missing():
    state = read_state({})
    assert state["enabled"] is False
    assert state["cert_file_name"] is None and state["cert_sha256_prefix"] is None
    assert state["passphrase_set"] is False
    assert state["protocols"] == ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
    assert state["protocols_string"] == "all, -SSLv2, -SSLv3"


def test_enabled_with_content_addressed_names():
    state = read_state(export(**{
        "ssl.enabled": "true", "ssl.cert.file_name": CERT, "ssl.key.file_name": KEY,
        "ssl.chain.file_name": "", "ssl.key.passphrase": "ENC(AbCd==)",
        "ssl.protocols": "all -SSLv2 -SSLv3 -TLSv1 -TLSv1.1", "some.unknown.key": "x",
    }))
    assert state == {
        "enabled": True,
        "cert_file_name": CERT, "cert_sha256_prefix": "0123456789abcdef",
        "key_file_name": KEY, "key_sha256_prefix": "fedcba9876543210",
        "chain_file_name": None, "chain_sha256_prefix": None,
        "passphrase_set": True,
        "protocols": ["TLSv1.2", "TLSv1.3"],
        "protocols_string": "all -SSLv2 -SSLv3 -TLSv1 -TLSv1.1",
    }
    assert "ENC(" not in repr(state)


def test_case_insensitive_and_foreign_names():
    state = read_state({"CONFIGKEYS": {"SSL.Enabled": True, "SSL.CERT.FILE_NAME": "server.crt",
                                       "ssl.protocols": "nonsense tokens"}})
    assert state["enabled"] is True
    assert state["cert_file_name"] == "server.crt" and state["cert_sha256_prefix"] is None
    assert state["protocols"] is None


def test_differences():
    current = read_state(export(**{"ssl.enabled": "true", "ssl.cert.file_name": CERT, "ssl.key.file_name": KEY,
                                   "ssl.protocols": "all -SSLv2 -SSLv3 -TLSv1 -TLSv1.1"}))
    desired = dict(current, protocols=["TLSv1.3", "TLSv1.2"], passphrase_set=False)
    assert differences(current, desired) == []
    assert differences(current, dict(desired, protocols=["TLSv1.3"])) == ["protocols"]
    assert differences(current, dict(desired, cert_sha256_prefix="1" * 16)) == ["cert_sha256_prefix"]
    assert differences(current, dict(desired, passphrase_set=True)) == ["passphrase_set"]
    assert differences(dict(current, enabled=False), desired) == ["enabled"]


@pytest.mark.parametrize("value, expected", [
    ("true", True), ("TRUE", True), (True, True), ("1", True), ("false", False), ("", False), (None, False),
    ("garbage", False),
])
def test_parse_bool(value, expected):
    assert S.parse_bool(value) is expected


def test_mask_value():
    assert S.mask_value("ssl.key.passphrase", "ENC(x)") == S.MASK
    assert S.mask_value("maestro.rserve.password", "plain") == S.MASK
    assert S.mask_value("anything", "ENC(abc)") == S.MASK
    assert S.mask_value("ssl.enabled", "true") == "true"
    assert S.mask_value("maestro.rserve.password", "") == ""
    # a number under a secret-looking key may be the secret itself
    assert S.mask_value("maestro.rserve.password", 1234) == S.MASK


@pytest.mark.parametrize("key", ["password_set", "passphrase_set", "maestro.rserve.password", "client_secret"])
@pytest.mark.parametrize("value", [True, False, None])
def test_mask_value_keeps_booleans_and_none(key, value):
    # a boolean or None says whether a secret is set, it is never the secret
    assert S.mask_value(key, value) is value


@pytest.mark.parametrize("text", [
    "", "There are no pending changes.", "No pending changes", "no pending configuration changes\n",
    "Pending changes:\n  There are no changes pending.\n",
])
def test_pending_none(text):
    parsed = parse_pending_list(text)
    assert parsed["pending"] is False and parsed["changes"] == [] and parsed["restart_required"] is False


def test_pending_key_values_need_restart_by_default():
    parsed = parse_pending_list("Pending Configuration Changes:\n  ssl.enabled: true\n"
                                "  ssl.key.passphrase: ENC(abc)\n  ssl.protocols: all -SSLv2\n")
    assert parsed["pending"] is True
    assert [c["key"] for c in parsed["changes"]] == ["ssl.enabled", "ssl.key.passphrase", "ssl.protocols"]
    assert parsed["changes"][1]["value"] == S.MASK
    assert parsed["restart_required"] is True


def test_pending_without_restart():
    parsed = parse_pending_list("gateway.timeout: 900\nThe pending changes do not require a server restart.\n")
    assert parsed["pending"] is True
    assert parsed["restart_required"] is False


def test_pending_explicit_restart_line():
    parsed = parse_pending_list("- wgserver.session.idle_limit: 30 (does not require a restart)\n"
                                "- ssl.enabled: true\nThese changes will require a server restart.\n")
    assert parsed["changes"][0]["restart"] is False
    assert parsed["restart_required"] is True


def test_pending_unknown_format_counts_as_pending():
    parsed = parse_pending_list("external-ssl enable (staged)\n")
    assert parsed["pending"] is True
    assert parsed["other"] == ["external-ssl enable (staged)"]


def test_pending_emulator_format():
    """The strings of tests/emulator/tsm_emulator/data/default.json."""
    parsed = parse_pending_list("Pending configuration changes:\n  gateway.timeout: 900 (does not require a restart)\n"
                                "These pending changes do not require a server restart.\n")
    assert parsed["changes"] == [{"key": "gateway.timeout", "value": "900", "restart": False}]
    assert parsed["pending"] is True and parsed["restart_required"] is False
    parsed = parse_pending_list("Pending configuration changes:\n  ssl.enabled: true\n"
                                "These pending changes require a server restart.\n")
    assert parsed["changes"] == [{"key": "ssl.enabled", "value": "true", "restart": None}]
    assert parsed["restart_required"] is True
