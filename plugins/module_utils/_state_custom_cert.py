# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Custom CA certificate state (``tsm security custom-cert``).

Primary source: ``tsm settings export`` (the requested configuration), key
``ssl.custom_ca.file_name``. The module hands tsm a private copy named
``tableau-tsm-custom-ca-<16 hex of the sha256 of the PEM bytes>.crt``, so the
name alone tells the content.

The key name is NOT verified against a real Tableau Server (tsm-facts §3.4);
it lives in KEYS below. When the export does not carry the key at all, or the
name carries no content hash (a certificate added outside this module), the
module falls back to ``tsm security custom-cert list``, parsed tolerantly here
(case-insensitive ``key: value`` lines, unknown lines ignored): compare the
SHA-256 fingerprint when shown, else serial number + issuer.
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.tableau.tsm.plugins.module_utils._files import fingerprint_from_name
from ansible_collections.tableau.tsm.plugins.module_utils._state_common import config_keys, get_str

FAMILY = "custom_cert"
ROLE = "custom-ca"

KEYS = {
    "file_name": "ssl.custom_ca.file_name",
}

LIST_ARGS = ["security", "custom-cert", "list"]

# ``custom-cert list`` parsing ------------------------------------------------------------------

_NONE_RE = re.compile(
    r"\bno\s+(custom\s+)?(ca\s+)?certificates?\b(\s+(is|are|has\s+been))?"
    r"|\bthere\s+is\s+no\s+custom\b"
    r"|\bnot\s+configured\b|\bnone\s+configured\b",
    re.IGNORECASE,
)
_KV_RE = re.compile(r"^\s*(?:[-*]\s+)?(?P<key>[A-Za-z][A-Za-z0-9 _.\-/()]*?)\s*[:=]\s*(?P<value>.*?)\s*$")
_HEX_RE = re.compile(r"^[0-9a-fA-F:\s]+$")

# Normalised label -> field. Labels are lower-cased with runs of non-alphanumerics turned into one space.
_FIELDS = (
    ("sha256", ("sha 256 fingerprint", "sha256 fingerprint", "fingerprint sha256", "fingerprint sha 256",
                "sha256", "sha 256", "thumbprint sha256")),
    ("sha1", ("sha 1 fingerprint", "sha1 fingerprint", "fingerprint sha1", "sha1", "thumbprint")),
    ("serial_number", ("serial number", "serial", "serialnumber", "serial no")),
    ("issuer", ("issuer", "issued by", "issuer dn", "issuer name")),
    ("subject", ("subject", "issued to", "subject dn", "subject name")),
    ("not_before", ("not valid before", "valid from", "not before", "notbefore", "start date")),
    ("not_after", ("not valid after", "valid until", "valid to", "not after", "notafter", "expires", "expiration date",
                   "expiry date", "end date")),
)


def _label(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def normalize_hex(value: t.Optional[str]) -> t.Optional[str]:
    """Fingerprint or serial as lower-case hex without separators; None when not hex."""
    if value is None:
        return None
    text = str(value).strip()
    if text.lower().startswith("0x"):
        text = text[2:]
    if not text or not _HEX_RE.match(text):
        return None
    return re.sub(r"[:\s]", "", text).lower()


def normalize_serial(value: t.Optional[str]) -> t.Optional[str]:
    """Serial number as lower-case hex without leading zeros. Decimal-only values stay ambiguous, so
    both readings are kept by callers through ``serial_candidates``."""
    hexed = normalize_hex(value)
    if hexed is None:
        return None
    return hexed.lstrip("0") or "0"


def serial_candidates(value: t.Optional[str]) -> t.Set[str]:
    """Hex readings of a serial as printed by tsm: as hex, and (when all digits) as decimal."""
    result: t.Set[str] = set()
    as_hex = normalize_serial(value)
    if as_hex is not None:
        result.add(as_hex)
    text = str(value or "").strip()
    if text.isdigit():
        result.add("%x" % int(text))
    return result


def normalize_name(value: t.Optional[str]) -> str:
    """Distinguished name compared loosely: case, spaces and RDN order ignored."""
    text = str(value or "").strip().lower()
    parts = [re.sub(r"\s*=\s*", "=", p.strip()) for p in re.split(r"\s*[,/]\s*", text) if p.strip()]
    return ",".join(sorted(parts))


def parse_custom_cert_list(text: t.Optional[str], file_key: str = KEYS["file_name"]) -> t.Dict[str, t.Any]:
    """``tsm security custom-cert list`` output -> {'present', 'file_name', 'subject', 'issuer',
    'serial_number', 'sha256', 'sha1', 'not_before', 'not_after'} (unknown fields None).

    Tolerant: keys are matched case-insensitively; unknown lines are ignored. Without any
    recognised field, a "no custom certificate" style message means absent; any other non-empty
    output counts as present (content unknown), so that the caller replaces it rather than
    wrongly keeping it.
    """
    text = text or ""
    info: t.Dict[str, t.Any] = {name: None for name, _labels in _FIELDS}
    info["file_name"] = None
    lookup = {}
    for name, labels in _FIELDS:
        for label in labels:
            lookup[label] = name
    file_label = _label(file_key)
    meaningful = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        match = _KV_RE.match(line)
        if match:
            label = _label(match.group("key"))
            value = match.group("value").strip()
            if label == file_label or label in ("file name", "file", "certificate file", "name", "file name s"):
                if value:
                    info["file_name"] = value
                    meaningful = True
                continue
            field = lookup.get(label)
            if field is not None and value and info[field] is None:
                info[field] = value
                meaningful = True
                continue
        if _NONE_RE.search(line):
            continue
        meaningful = True
    if info["sha256"] is not None:
        info["sha256"] = normalize_hex(info["sha256"])
    if info["sha1"] is not None:
        info["sha1"] = normalize_hex(info["sha1"])
    found = any(info[name] for name, _labels in _FIELDS) or bool(info["file_name"])
    info["present"] = bool(found or (meaningful and not _NONE_RE.search(text)))
    return info


def listed_matches(listed: t.Mapping[str, t.Any], desired: t.Mapping[str, t.Any]) -> t.Optional[bool]:
    """Does the certificate shown by ``custom-cert list`` equal the desired one?

    ``desired`` needs 'sha256' (plain hex), 'sha1', 'serial_number' (hex) and 'issuer'.
    True/False when the listing allows a decision; None when it shows neither a fingerprint
    nor serial + issuer (content unknown).
    """
    if listed.get("sha256"):
        return listed["sha256"] == (desired.get("sha256") or "").lower()
    if listed.get("sha1") and desired.get("sha1"):
        return listed["sha1"] == desired["sha1"].lower()
    if listed.get("serial_number") and listed.get("issuer"):
        serial = normalize_serial(desired.get("serial_number"))
        return (serial in serial_candidates(listed["serial_number"])
                and normalize_name(listed["issuer"]) == normalize_name(desired.get("issuer")))
    return None


# state from the export ----------------------------------------------------------------------------

def export_has_key(export: t.Optional[t.Mapping[str, t.Any]]) -> bool:
    return KEYS["file_name"].lower() in config_keys(export)


def read_state(export: t.Optional[t.Mapping[str, t.Any]]) -> t.Dict[str, t.Any]:
    """{'present', 'file_name', 'sha256_prefix'} from a settings export.

    ``sha256_prefix`` is the content hash carried by a name this collection made (None otherwise).
    """
    keys = config_keys(export)
    name = get_str(keys, KEYS["file_name"]).strip()
    return {
        "present": bool(name),
        "file_name": name or None,
        "sha256_prefix": fingerprint_from_name(name, ROLE),
    }


def state_from_list(listed: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """Family dict from a parsed ``custom-cert list`` (when the export lacks the key)."""
    name = listed.get("file_name")
    return {
        "present": bool(listed.get("present")),
        "file_name": name or None,
        "sha256_prefix": fingerprint_from_name(name, ROLE),
    }
