# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Repository (PostgreSQL) SSL state from ``tsm settings export``.

``tsm security repository-ssl enable`` requires SSL for every connection
(enabled + required); ``enable --internal-only`` requires it for internal
connections and makes it optional for direct ``tableau``/``readonly`` users
(enabled, not required); ``disable`` turns it off.

The key names are NOT verified against a real Tableau Server (tsm-facts §3.4);
they live in KEYS below and nowhere else.
"""

from __future__ import annotations

import typing as t

from ansible_collections.tableau.tsm.plugins.module_utils._state_common import config_keys, get_bool, parse_bool

FAMILY = "repository_ssl"

KEYS = {
    "enabled": "pgsql.ssl.enabled",
    "required": "pgsql.ssl.required",
}

MODE_OFF = "off"
MODE_REQUIRED = "required"
MODE_INTERNAL_ONLY = "internal_only"


def state_from(enabled: bool, required: bool) -> t.Dict[str, t.Any]:
    enabled = bool(enabled)
    required = bool(required) and enabled
    if not enabled:
        mode = MODE_OFF
    elif required:
        mode = MODE_REQUIRED
    else:
        mode = MODE_INTERNAL_ONLY
    return {"enabled": enabled, "required": required, "internal_only": enabled and not required, "mode": mode}


def read_state(export: t.Optional[t.Mapping[str, t.Any]]) -> t.Dict[str, t.Any]:
    """{'enabled', 'required', 'internal_only', 'mode'} from a settings export (requested configuration)."""
    keys = config_keys(export)
    return state_from(get_bool(keys, KEYS["enabled"], False), get_bool(keys, KEYS["required"], False))


def desired_state(present: bool, internal_only: bool) -> t.Dict[str, t.Any]:
    if not present:
        return state_from(False, False)
    return state_from(True, not internal_only)


def differs(current: t.Mapping[str, t.Any], desired: t.Mapping[str, t.Any]) -> bool:
    return current.get("mode") != desired.get("mode")


def parse_applied_enabled(text: t.Optional[str]) -> t.Optional[bool]:
    """Output of ``tsm configuration get -k pgsql.ssl.enabled`` (the applied value, one line) -> bool;
    None when the output is not a recognisable boolean (unknown key, empty, anything else)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not lines:
        return None
    value = lines[-1]
    if ":" in value:
        value = value.rsplit(":", 1)[1].strip()
    lowered = value.strip().strip("'\"").lower()
    if lowered not in ("true", "false"):
        return None
    return parse_bool(lowered)
