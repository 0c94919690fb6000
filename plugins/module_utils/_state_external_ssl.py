# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""External (gateway) SSL state from ``tsm settings export``.

The configuration key names are NOT verified against a real Tableau Server
(tsm-facts §3.4 labels them [R]); they live in KEYS below and nowhere else, so
correcting them is a one-line change. Reading is tolerant: keys are compared
case-insensitively, unknown keys are ignored, missing keys take defaults.
"""

from __future__ import annotations

import typing as t

from ansible_collections.tableau.tsm.plugins.module_utils._files import fingerprint_from_name
from ansible_collections.tableau.tsm.plugins.module_utils._protocols import (
    DEFAULT_TSM_PROTOCOLS,
    sorted_protocols,
    try_parse_protocols,
)
from ansible_collections.tableau.tsm.plugins.module_utils._state_common import (
    config_keys,
    get_bool,
    get_str,
    secret_is_set,
)

FAMILY = "external_ssl"

KEYS = {
    "enabled": "ssl.enabled",
    "cert_file_name": "ssl.cert.file_name",
    "key_file_name": "ssl.key.file_name",
    "chain_file_name": "ssl.chain.file_name",
    "passphrase": "ssl.key.passphrase",
    "protocols": "ssl.protocols",
}

# Roles used in content-addressed file names (see _files.content_name).
ROLE_CERT = "cert"
ROLE_KEY = "key"
ROLE_CHAIN = "chain"


def read_state(export: t.Optional[t.Mapping[str, t.Any]]) -> t.Dict[str, t.Any]:
    """Family dict from a settings export (no secret values, only whether one is set)."""
    keys = config_keys(export)
    cert_name = get_str(keys, KEYS["cert_file_name"])
    key_name = get_str(keys, KEYS["key_file_name"])
    chain_name = get_str(keys, KEYS["chain_file_name"])
    protocols_string = get_str(keys, KEYS["protocols"], DEFAULT_TSM_PROTOCOLS) or DEFAULT_TSM_PROTOCOLS
    protocols = try_parse_protocols(protocols_string)
    return {
        "enabled": get_bool(keys, KEYS["enabled"], False),
        "cert_file_name": cert_name or None,
        "cert_sha256_prefix": fingerprint_from_name(cert_name, ROLE_CERT),
        "key_file_name": key_name or None,
        "key_sha256_prefix": fingerprint_from_name(key_name, ROLE_KEY),
        "chain_file_name": chain_name or None,
        "chain_sha256_prefix": fingerprint_from_name(chain_name, ROLE_CHAIN),
        "passphrase_set": secret_is_set(keys.get(KEYS["passphrase"])),
        "protocols": sorted_protocols(protocols) if protocols is not None else None,
        "protocols_string": protocols_string,
    }


def differences(current: t.Mapping[str, t.Any], desired: t.Mapping[str, t.Any]) -> t.List[str]:
    """Names of the fields that differ (for state=present).

    A file name we did not create carries no hash (prefix None), so its content is
    unknown and counts as different: the next run then replaces it with a named copy.
    """
    fields = ("enabled", "cert_sha256_prefix", "key_sha256_prefix", "chain_sha256_prefix")
    diff = [f for f in fields if current.get(f) != desired.get(f)]
    # An encrypted key needs its passphrase on the server; a leftover passphrase is harmless.
    if desired.get("passphrase_set") and not current.get("passphrase_set"):
        diff.append("passphrase_set")
    if current.get("protocols") is None or set(current.get("protocols") or ()) != set(desired.get("protocols") or ()):
        diff.append("protocols")
    return diff
