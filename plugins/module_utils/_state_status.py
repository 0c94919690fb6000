# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Tolerant parsers for the free-text read commands of tsm.

The exact output of ``tsm status``, ``tsm version`` and ``tsm security kms status``
is not known from any public source
(tsm-facts §2.1, §10). What is known: ``tsm status`` prints ``Status: <STATE>``
(the official installer greps it), ``kms status`` shows the CMK ARN and region,
the root master key ID and the master extract keys with ID, status and
timestamps. So each parser reads ``key: value`` lines case-insensitively,
ignores lines it does not know, and never fails on unknown text: fields it
cannot find are None. Correcting a parser against a real server is a change in
this one file. (``tsm security custom-cert list`` is parsed in _state_custom_cert.)

These parsers feed reports (tableau_security_info); no module decides a write
from them.
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.tableau.tsm.plugins.module_utils._state_common import mask_value

SERVER_STATES = ("RUNNING", "STOPPED", "DEGRADED")
UNKNOWN = "UNKNOWN"

_KV_RE = re.compile(r"^\s*(?:[-*]\s+)?(?P<key>[A-Za-z][A-Za-z0-9 _./()'-]*?)\s*:\s*(?P<value>.*?)\s*$")
_STATUS_RE = re.compile(r"^\s*(?:server\s+|tableau\s+server\s+)?status\s*:\s*(?P<value>\S.*?)\s*$", re.IGNORECASE)
# "Node: node1 (node1.example.com)" (emulator) or "node1: node1.example.com" (recalled real layout).
_NODE_RE = re.compile(
    r"^(?:node\s*:\s*(?P<name1>[^\s(]+)(?:\s*\((?P<host1>[^)]*)\))?"
    r"|(?P<name2>node\d+)\s*:\s*(?P<host2>\S+)?)\s*$",
    re.IGNORECASE,
)
# "Tableau Server Gateway 'node1' is running." / "... 0 'node1' is stopped (...)."
_PROCESS_IS_RE = re.compile(r"^(?P<name>.+?)\s+(?:is|are)\s+(?P<status>[A-Za-z][A-Za-z -]*?)(?:\s*\((?P<detail>.*)\))?\.?\s*$")
_BUILD_RE = re.compile(r"\b(?P<year>20\d{2})(?P<minor>\d)\.\d{2}\.\d{4}\.\d{4}\b")
_VERSION_RE = re.compile(r"\b(?P<version>20\d{2}\.\d+(?:\.\d+)?)\b")


def _norm_key(key: str) -> str:
    """'Customer master key ARN' -> 'customer_master_key_arn'."""
    return re.sub(r"[^a-z0-9]+", "_", key.strip().lower()).strip("_")


def _kv(line: str) -> t.Optional[t.Tuple[str, str]]:
    match = _KV_RE.match(line)
    if not match:
        return None
    return _norm_key(match.group("key")), match.group("value")


def _server_state(value: t.Optional[str]) -> str:
    word = (value or "").strip().split()[0].upper().rstrip(".,;") if (value or "").strip() else ""
    return word if word in SERVER_STATES else UNKNOWN


# --- tsm status [-v] ---------------------------------------------------------------------------

def _process_status(text: str) -> str:
    word = text.strip().lower()
    if word.startswith(("running", "active", "up")):
        return "running"
    if word.startswith(("stopped", "stopping", "down", "disabled")):
        return "stopped"
    if word.startswith(("error", "in an error", "failed", "degraded", "unavailable")):
        return "error"
    if word.startswith(("starting", "busy", "synchroniz", "pending")):
        return "starting"
    return "unknown"


def _process_entry(line: str) -> t.Optional[t.Dict[str, t.Any]]:
    kv = _KV_RE.match(line)
    if kv and kv.group("value"):
        raw = kv.group("value")
        return {"name": kv.group("key").strip(), "status": _process_status(raw), "status_text": raw}
    match = _PROCESS_IS_RE.match(line.strip())
    if match:
        name = match.group("name").strip()
        if len(name) > 1 and name[0] == name[-1] and name[0] in "'\"":
            name = name[1:-1].strip()
        name = re.sub(r"^tableau\s+server\s+", "", name, flags=re.IGNORECASE)
        name = re.sub(r"\s*'[^']*'\s*$", "", name).strip()
        raw = match.group("status") + (" (%s)" % match.group("detail") if match.group("detail") else "")
        return {"name": name, "status": _process_status(match.group("status")), "status_text": raw}
    return None


def parse_status(text: t.Optional[str]) -> t.Dict[str, t.Any]:
    """``{'status': RUNNING|STOPPED|DEGRADED|UNKNOWN, 'status_text': str|None, 'nodes': [...]}``.

    Each node: ``{'name', 'host', 'processes': [{'name', 'status', 'status_text'}]}`` where a
    process status is running/stopped/error/starting/unknown. ``nodes`` is empty without ``-v``.
    """
    status_text: t.Optional[str] = None
    nodes: t.List[t.Dict[str, t.Any]] = []
    node: t.Optional[t.Dict[str, t.Any]] = None
    for raw in (text or "").splitlines():
        if not raw.strip():
            continue
        indented = raw[:1] in (" ", "\t")
        line = raw.strip()
        if status_text is None and not indented:
            match = _STATUS_RE.match(line)
            if match:
                status_text = match.group("value")
                continue
        node_match = _NODE_RE.match(line) if not indented else None
        if node_match:
            node = {
                "name": node_match.group("name1") or node_match.group("name2"),
                "host": (node_match.group("host1") or node_match.group("host2") or "").strip() or None,
                "processes": [],
            }
            nodes.append(node)
            continue
        if node is not None and indented:
            entry = _process_entry(line)
            if entry is not None:
                node["processes"].append(entry)
    return {"status": _server_state(status_text), "status_text": status_text, "nodes": nodes}


# --- tsm version -------------------------------------------------------------------------------

def version_from_build(build: t.Optional[str]) -> t.Optional[str]:
    """``20242.24.0807.0327`` -> ``2024.2``; None when it does not look like a build code."""
    match = _BUILD_RE.search(build or "")
    if not match:
        return None
    return "%s.%s" % (match.group("year"), match.group("minor"))


def parse_version(text: t.Optional[str]) -> t.Dict[str, t.Optional[str]]:
    """``{'version': '2024.2', 'version_full': '2024.2.1'|None, 'build': '20242.24.0807.0327'|None}``.

    The build code is the first ``YYYYN.YY.MMDD.HHMM`` found; the version is the first ``YYYY.N[.N]``
    on a line that mentions a version, else derived from the build code.
    """
    build: t.Optional[str] = None
    version_full: t.Optional[str] = None
    for line in (text or "").splitlines():
        match = _BUILD_RE.search(line)
        if match and build is None:
            build = match.group(0)
            line = line.replace(build, " ")
        if version_full is None:
            vmatch = _VERSION_RE.search(line)
            if vmatch and ("version" in line.lower() or ":" not in line):
                version_full = vmatch.group("version")
    version = None
    if version_full:
        version = ".".join(version_full.split(".")[:2])
    elif build:
        version = version_from_build(build)
    return {"version": version, "version_full": version_full, "build": build}


# --- tsm security kms status -------------------------------------------------------------------

_KMS_FIELDS = {
    "mode": "mode",
    "kms_mode": "mode",
    "customer_master_key_arn": "aws_key_arn",
    "customer_master_key": "aws_key_arn",
    "cmk_arn": "aws_key_arn",
    "key_arn": "aws_key_arn",
    "arn": "aws_key_arn",
    "region": "aws_region",
    "aws_region": "aws_region",
    "cmk_region": "aws_region",
    "key_name": "azure_key_name",
    "azure_key_name": "azure_key_name",
    "vault_name": "azure_vault_name",
    "azure_key_vault_name": "azure_vault_name",
    "key_vault_name": "azure_vault_name",
    "root_master_key_id": "root_master_key_id",
    "rmk_id": "root_master_key_id",
    "root_master_key": "root_master_key_id",
}
_MEK_FIELDS = {
    "id": "id",
    "mek_id": "id",
    "master_extract_key_id": "id",
    "key_status": "status",
    "status": "status",
    "created_at": "created",
    "created": "created",
    "creation_time": "created",
    "first_transition_to_encrypt_and_decrypt": "first_transition",
    "transition_to_decrypt_only": "decrypt_only_transition",
}


def _clean(value: str) -> t.Optional[str]:
    value = value.strip()
    if value.endswith(".") and not value.endswith(".."):
        value = value[:-1]
    return value or None


def parse_kms_status(text: t.Optional[str]) -> t.Dict[str, t.Any]:
    """``{'mode', 'aws_key_arn', 'aws_region', 'azure_key_name', 'azure_vault_name', 'root_master_key_id',
    'master_extract_keys': [{'id', 'status', 'created', 'first_transition', 'decrypt_only_transition'}],
    'other': {normalised key: value}}``; unknown fields None, secret-looking values masked.
    Field names match _state_kms.read_state."""
    result: t.Dict[str, t.Any] = {name: None for name in sorted(set(_KMS_FIELDS.values()))}
    meks: t.List[t.Dict[str, t.Any]] = []
    other: t.Dict[str, t.Any] = {}
    in_meks = False
    mek: t.Optional[t.Dict[str, t.Any]] = None
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line:
            continue
        kv = _kv(line)
        if kv is None:
            continue
        key, value = kv
        if key in ("master_extract_keys", "meks", "master_extract_key_collection"):
            in_meks = True
            continue
        if in_meks and key in _MEK_FIELDS:
            field = _MEK_FIELDS[key]
            if field == "id" or mek is None or mek.get(field) is not None:
                mek = {name: None for name in sorted(set(_MEK_FIELDS.values()))}
                meks.append(mek)
            mek[field] = _clean(value)
            continue
        if key in _KMS_FIELDS and result[_KMS_FIELDS[key]] is None:
            result[_KMS_FIELDS[key]] = _clean(value)
            continue
        other[key] = mask_value(key, _clean(value))
    if result["mode"]:
        result["mode"] = result["mode"].lower()
    result["master_extract_keys"] = meks
    result["other"] = other
    return result
