# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime
import json
import os
import stat

import pytest

from ansible_collections.tableau.tsm.plugins.module_utils._records import (
    RecordStore,
    RecordStoreError,
    default_record_path,
    format_timestamp,
    parse_timestamp,
)
from ansible_collections.tableau.tsm.plugins.module_utils._state_status import (
    parse_kms_status,
    parse_status,
    parse_version,
    version_from_build,
)

UTC = datetime.timezone.utc


# --- record store ------------------------------------------------------------------------------

def test_default_record_path():
    assert default_record_path("/x/var/opt/tableau/tableau_server") == \
        "/x/var/opt/tableau/tableau_server/data/ansible_tableau_tsm/records.json"
    assert default_record_path(None) == "/var/opt/tableau/tableau_server/data/ansible_tableau_tsm/records.json"


def test_store_roundtrip_modes_and_other_records_kept(tmp_path):
    path = tmp_path / "data" / "ansible_tableau_tsm" / "records.json"
    store = RecordStore(str(path))
    assert store.load() == {} and store.get("a") is None
    store.put("a", {"x": 1})
    store.put("b", {"y": "2"})
    assert store.get("a") == {"x": 1} and store.get("b") == {"y": "2"}
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(path.parent)).st_mode) == 0o700
    assert json.loads(path.read_text())["format"] == 1
    # atomic write leaves no temp files behind
    assert sorted(os.listdir(str(path.parent))) == ["records.json"]


def test_store_keeps_mode_of_existing_directory(tmp_path):
    directory = tmp_path / "shared"
    directory.mkdir()
    directory.chmod(0o755)
    RecordStore(str(directory / "r.json")).put("a", {})
    assert stat.S_IMODE(os.stat(str(directory)).st_mode) == 0o755
    assert stat.S_IMODE(os.stat(str(directory / "r.json")).st_mode) == 0o600


def test_store_invalid_json_is_an_error_not_empty(tmp_path):
    path = tmp_path / "r.json"
    path.write_text("{not json")
    with pytest.raises(RecordStoreError, match="not valid JSON"):
        RecordStore(str(path)).get("a")
    path.write_text("[1, 2]")
    with pytest.raises(RecordStoreError, match="'records' object"):
        RecordStore(str(path)).get("a")
    path.write_text("")
    assert RecordStore(str(path)).get("a") is None


def test_store_needs_absolute_path():
    with pytest.raises(RecordStoreError, match="absolute"):
        RecordStore("relative/records.json")


def test_store_read_and_write_failures_are_errors(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(RecordStoreError, match="cannot read"):
        RecordStore(str(blocker / "sub" / "r.json")).put("a", {})

    def refuse(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(RecordStoreError, match="cannot write .*No space left"):
        RecordStore(str(tmp_path / "d" / "r.json")).put("a", {})
    assert os.listdir(str(tmp_path / "d")) == []  # the temp file is removed


def test_timestamps():
    moment = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert format_timestamp(moment) == "2026-01-02T03:04:05Z"
    assert parse_timestamp("2026-01-02T03:04:05Z") == moment
    assert parse_timestamp("2026-01-02T04:04:05+01:00") == moment
    assert parse_timestamp("2026-01-02T03:04:05") == moment
    for bad in (None, "", "yesterday", 5):
        assert parse_timestamp(bad) is None


# --- tsm status --------------------------------------------------------------------------------

EMULATOR_STATUS = """Status: DEGRADED

Node: node1 (node1.c1.tsm.test)
    Gateway: error (AH02565: Certificate and private key could not be loaded)
    Administration Controller: running
    Repository: running

Node: node2 (node2.c1.tsm.test)
    Gateway: stopped
"""

REAL_LIKE_STATUS = """External load balancer: none
Status: RUNNING
node1: tableau01.example.com
    'Tableau Server Gateway 0' is running.
    Tableau Server Application Server 0 'node1' is running (Active).
    Tableau Server Backgrounder 1 'node1' is stopped.
"""


def test_status_emulator_layout():
    parsed = parse_status(EMULATOR_STATUS)
    assert parsed["status"] == "DEGRADED"
    assert [n["name"] for n in parsed["nodes"]] == ["node1", "node2"]
    assert parsed["nodes"][0]["host"] == "node1.c1.tsm.test"
    gw = parsed["nodes"][0]["processes"][0]
    assert gw["name"] == "Gateway" and gw["status"] == "error"
    assert "AH02565" in gw["status_text"]
    assert parsed["nodes"][1]["processes"] == [{"name": "Gateway", "status": "stopped", "status_text": "stopped"}]


def test_status_recalled_real_layout():
    parsed = parse_status(REAL_LIKE_STATUS)
    assert parsed["status"] == "RUNNING"
    node = parsed["nodes"][0]
    assert node["name"] == "node1" and node["host"] == "tableau01.example.com"
    names = [(p["name"], p["status"]) for p in node["processes"]]
    assert names == [("Gateway 0", "running"), ("Application Server 0", "running"), ("Backgrounder 1", "stopped")]


def test_status_without_verbose_and_unknown():
    assert parse_status("Status: STOPPED\n") == {"status": "STOPPED", "status_text": "STOPPED", "nodes": []}
    assert parse_status("status: running")["status"] == "RUNNING"
    weird = parse_status("Status: STARTING\n")
    assert weird["status"] == "UNKNOWN" and weird["status_text"] == "STARTING"
    assert parse_status("")["status"] == "UNKNOWN"
    assert parse_status(None)["status_text"] is None
    assert parse_status("garbage\n\x00\n")["nodes"] == []


# --- tsm version -------------------------------------------------------------------------------

def test_version_emulator_layout():
    text = "Tableau Server version: 2024.2\nTableau Server build: 20242.24.0807.0327\n"
    assert parse_version(text) == {"version": "2024.2", "version_full": "2024.2", "build": "20242.24.0807.0327"}


def test_version_from_build_only_and_patch_release():
    assert parse_version("Tableau Server Controller version:\n    20231.23.0310.1045\n") == \
        {"version": "2023.1", "version_full": None, "build": "20231.23.0310.1045"}
    assert parse_version("Tableau Server version 2022.1.5 (20221.22.0415.1144)")["version"] == "2022.1"
    assert parse_version("Tableau Server version 2022.1.5 (20221.22.0415.1144)")["version_full"] == "2022.1.5"
    assert parse_version("nothing here") == {"version": None, "version_full": None, "build": None}
    assert version_from_build("20253.25.1010.0101") == "2025.3"
    assert version_from_build("customer-bin.x") is None


# --- tsm security kms status -------------------------------------------------------------------

KMS_AWS = """Mode: aws
Customer master key ARN: arn:aws:kms:us-west-2:123456789012:key/abcd-1234
Region: us-west-2
Root master key ID: 11111111-2222-3333-4444-555555555555
Master extract keys:
  ID: 8ddd70df-be67-4dbf-9c35-1f0aa2421521
  Key status: encrypt or decrypt key
  Created at: 2019-05-29T23:46:54Z.
  First transition to encrypt and decrypt: 2019-05-29T23:46:54Z
  Transition to decrypt-only:
  ID: 9eee70df-be67-4dbf-9c35-1f0aa2421522
  Key status: decrypt-only key
  Created at: 2018-01-01T00:00:00Z
Secret token: abc
Unrelated text without a colon
"""


def test_kms_status():
    parsed = parse_kms_status(KMS_AWS)
    assert parsed["mode"] == "aws"
    assert parsed["aws_key_arn"] == "arn:aws:kms:us-west-2:123456789012:key/abcd-1234"
    assert parsed["aws_region"] == "us-west-2"
    assert parsed["root_master_key_id"] == "11111111-2222-3333-4444-555555555555"
    meks = parsed["master_extract_keys"]
    assert [m["id"] for m in meks] == ["8ddd70df-be67-4dbf-9c35-1f0aa2421521", "9eee70df-be67-4dbf-9c35-1f0aa2421522"]
    assert meks[0]["status"] == "encrypt or decrypt key"
    assert meks[0]["created"] == "2019-05-29T23:46:54Z"
    assert meks[0]["decrypt_only_transition"] is None
    assert meks[1]["status"] == "decrypt-only key" and meks[1]["first_transition"] is None
    assert parsed["other"] == {"secret_token": "********"}


def test_kms_status_local_and_empty():
    parsed = parse_kms_status("Mode: Local\nRoot master key ID: r1\nMaster extract keys:\n")
    assert parsed["mode"] == "local" and parsed["root_master_key_id"] == "r1"
    assert parsed["master_extract_keys"] == [] and parsed["aws_key_arn"] is None
    empty = parse_kms_status("")
    assert empty["mode"] is None and empty["master_extract_keys"] == []
