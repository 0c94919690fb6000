# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Mutual (client certificate) SSL state from ``tsm settings export``.

The configuration key names are NOT verified against a real Tableau Server
(tsm-facts §3.4 knows only the tabadmin-era ``ssl.client_certificate_login.required``);
they live in KEYS below and nowhere else, so correcting them is a one-line change.
Whether external SSL is enabled comes from the external SSL reader's key name, so that
name too lives in one place (_state_external_ssl.KEYS).
"""

from __future__ import annotations

import typing as t

from ansible_collections.tableau.tsm.plugins.module_utils._files import fingerprint_from_name
from ansible_collections.tableau.tsm.plugins.module_utils._state_common import config_keys, get_bool, get_str
from ansible_collections.tableau.tsm.plugins.module_utils._state_external_ssl import KEYS as EXTERNAL_SSL_KEYS

FAMILY = "mutual_ssl"

KEYS = {
    "enabled": "ssl.client_certificate_login.required",
    "fallback_to_basic": "ssl.client_certificate_login.fallback_to_basic",
    "user_name_mapping": "ssl.client_certificate_login.mapping",
    "ca_cert_file_name": "ssl.client_certificate_login.cacert.file_name",
    "revocation_file_name": "ssl.client_certificate_login.revocation.file_name",
}

MAPPINGS = ("upn", "ldap", "cn")

# Roles used in content-addressed file names (see _files.content_name).
ROLE_CA = "mssl-ca"
ROLE_CRL = "mssl-crl"


def read_state(export: t.Optional[t.Mapping[str, t.Any]]) -> t.Dict[str, t.Any]:
    """Family dict from a settings export."""
    keys = config_keys(export)
    ca_name = get_str(keys, KEYS["ca_cert_file_name"]).strip()
    crl_name = get_str(keys, KEYS["revocation_file_name"]).strip()
    mapping = get_str(keys, KEYS["user_name_mapping"]).strip().lower()
    return {
        "enabled": get_bool(keys, KEYS["enabled"], False),
        "fallback_to_basic": get_bool(keys, KEYS["fallback_to_basic"], False),
        "user_name_mapping": mapping or None,
        "ca_cert_file_name": ca_name or None,
        "ca_cert_sha256_prefix": fingerprint_from_name(ca_name, ROLE_CA),
        "revocation_file_name": crl_name or None,
        "revocation_sha256_prefix": fingerprint_from_name(crl_name, ROLE_CRL),
        "external_ssl_enabled": get_bool(keys, EXTERNAL_SSL_KEYS["enabled"], False),
    }


def configure_differences(current: t.Mapping[str, t.Any], desired: t.Mapping[str, t.Any]) -> t.List[str]:
    """Names of the ``configure`` settings that differ. A setting that is None in ``desired`` is not managed.

    A file name we did not create carries no hash (prefix None) and counts as different, so it is
    replaced once by a named copy.
    """
    diff: t.List[str] = []
    if desired.get("ca_cert_sha256_prefix") is not None and \
            current.get("ca_cert_sha256_prefix") != desired.get("ca_cert_sha256_prefix"):
        diff.append("ca_cert")
    if desired.get("fallback_to_basic") is not None and \
            bool(current.get("fallback_to_basic")) != bool(desired.get("fallback_to_basic")):
        diff.append("fallback_to_basic")
    if desired.get("user_name_mapping") is not None and \
            current.get("user_name_mapping") != desired.get("user_name_mapping"):
        diff.append("user_name_mapping")
    if desired.get("revocation_sha256_prefix") is not None and \
            current.get("revocation_sha256_prefix") != desired.get("revocation_sha256_prefix"):
        diff.append("revocation_file")
    return diff
