# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Tableau Prep (maestro) Rserve / TabPy connection state from ``tsm settings export``.

The configuration key names are NOT verified against a real Tableau Server
(tsm-facts §3.4: "prefix ``maestro.`` [R] unverified"); they live in KEYS below
and nowhere else, so correcting them is a one-line change. Reading is tolerant:
keys are compared case-insensitively, unknown keys are ignored, missing keys
take defaults. The password is a secret: only whether one is stored is read.
"""

from __future__ import annotations

import typing as t

from ansible_collections.tableau.tsm.plugins.module_utils._files import fingerprint_from_name
from ansible_collections.tableau.tsm.plugins.module_utils._state_common import (
    config_keys,
    get_bool,
    get_str,
    secret_is_set,
)

SERVICES = ("rserve", "tabpy")

_FIELDS = ("enabled", "connection_type", "host", "port", "username", "password", "connect_timeout_ms",
           "cert_file_name")

# KEYS[service][field] -> configuration key name
KEYS: t.Dict[str, t.Dict[str, str]] = {
    service: {field: "maestro.%s.%s" % (service, field) for field in _FIELDS} for service in SERVICES
}


def family(service: str) -> str:
    """Family name used in ``pending_changes`` entries."""
    return "maestro_%s" % service


def cert_role(service: str) -> str:
    """Role used in the content-addressed name of the certificate copy (see _files.content_name)."""
    return "%s-cert" % service


def connection_type(service: str, secure: bool) -> str:
    return "maestro-%s-secure" % service if secure else "maestro-%s" % service


def _int_or_none(text: str) -> t.Optional[int]:
    text = (text or "").strip()
    if text.isdigit():
        return int(text)
    return None


def read_state(export: t.Optional[t.Mapping[str, t.Any]], service: str) -> t.Dict[str, t.Any]:
    """Family dict from a settings export (no secret values, only whether a password is set)."""
    if service not in KEYS:
        raise ValueError("unknown maestro service %r" % service)
    keys = config_keys(export)
    names = KEYS[service]
    ctype = get_str(keys, names["connection_type"]).strip()
    cert_name = get_str(keys, names["cert_file_name"]).strip()
    enabled = get_bool(keys, names["enabled"], False)
    return {
        "enabled": enabled,
        "connection_type": ctype or None,
        "secure": ctype.endswith("-secure") if ctype else None,
        "host": get_str(keys, names["host"]).strip() or None,
        "port": _int_or_none(get_str(keys, names["port"])),
        "username": get_str(keys, names["username"]) or None,
        "password_set": secret_is_set(keys.get(names["password"].lower())),
        "connect_timeout_ms": _int_or_none(get_str(keys, names["connect_timeout_ms"])),
        "cert_file_name": cert_name or None,
        "cert_sha256_prefix": fingerprint_from_name(cert_name, cert_role(service)),
    }


def _host(value: t.Any) -> t.Optional[str]:
    return str(value).strip().lower() if value else None


def differences(current: t.Mapping[str, t.Any], desired: t.Mapping[str, t.Any]) -> t.List[str]:
    """Names of the non-password fields that differ (for state=present).

    Host names compare case-insensitively. A certificate name we did not create
    carries no hash (prefix None) and counts as different, so it is replaced once
    by a named copy. The password is not compared here (it cannot be read back):
    see _maestro.plan for the update_password rules.
    """
    diff: t.List[str] = []
    if not current.get("enabled"):
        diff.append("enabled")
    for field in ("connection_type", "port", "connect_timeout_ms", "cert_sha256_prefix"):
        if current.get(field) != desired.get(field):
            diff.append(field)
    if _host(current.get("host")) != _host(desired.get("host")):
        diff.append("host")
    if (current.get("username") or None) != (desired.get("username") or None):
        diff.append("username")
    return diff
