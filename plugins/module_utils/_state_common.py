# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Shared helpers for the per-family state readers (``_state_<family>.py``).

State comes from ``tsm settings export`` (the requested configuration: applied
plus pending), so one read call serves every comparison and a second run before
``pending-changes apply`` is a no-op too.
"""

from __future__ import annotations

import re
import typing as t

_TRUE = frozenset(["true", "yes", "on", "1", "enabled", "enable", "required"])
_FALSE = frozenset(["false", "no", "off", "0", "disabled", "disable", "", "none", "null"])
_ENC_RE = re.compile(r"^\s*ENC\(.*\)\s*$", re.DOTALL)
SECRET_KEY_RE = re.compile(r"pass(word|phrase)|secret|token|private", re.IGNORECASE)
MASK = "********"


def lower_keys(mapping: t.Optional[t.Mapping[str, t.Any]]) -> t.Dict[str, t.Any]:
    if not isinstance(mapping, dict):
        return {}
    return {str(k).lower(): v for k, v in mapping.items()}


def config_keys(export: t.Optional[t.Mapping[str, t.Any]]) -> t.Dict[str, t.Any]:
    """The ``configKeys`` object of a settings export, keys lower-cased; {} when absent."""
    top = lower_keys(export)
    return lower_keys(top.get("configkeys"))


def config_entities(export: t.Optional[t.Mapping[str, t.Any]]) -> t.Dict[str, t.Any]:
    top = lower_keys(export)
    return lower_keys(top.get("configentities"))


def get_str(keys: t.Mapping[str, t.Any], name: str, default: str = "") -> str:
    value = keys.get(name.lower())
    if value is None:
        return default
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_bool(value: t.Any, default: bool = False) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return default
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return default


def get_bool(keys: t.Mapping[str, t.Any], name: str, default: bool = False) -> bool:
    return parse_bool(keys.get(name.lower()), default)


def is_encrypted_value(value: t.Any) -> bool:
    return bool(value) and bool(_ENC_RE.match(str(value)))


def secret_is_set(value: t.Any) -> bool:
    """A secret key counts as set when it holds ENC(...) or any non-empty value."""
    return value is not None and str(value).strip() != ""


def mask_value(key: str, value: t.Any) -> t.Any:
    """Mask values of secret-looking keys and ENC(...) values.

    Booleans and None carry no secret (``password_set: true`` only says that a password is
    stored), so they are returned as they are, whatever the key.
    """
    if value is None or isinstance(value, bool):
        return value
    if is_encrypted_value(value) or (SECRET_KEY_RE.search(key or "") and secret_is_set(value)):
        return MASK
    return value
