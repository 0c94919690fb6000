# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""KMS mode state from ``tsm settings export``, input validation, and the server version.

The key names are NOT verified against a real Tableau Server (tsm-facts §3.4);
they live in KEYS below and nowhere else. The server version is taken from the
export's topology (``binaryVersion`` such as ``20242.24.0807.0327``) when
present, else from ``tsm version`` output, parsed tolerantly.
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.tableau.tsm.plugins.module_utils._errors import TsmInputError
from ansible_collections.tableau.tsm.plugins.module_utils._state_common import config_keys, get_str, lower_keys
from ansible_collections.tableau.tsm.plugins.module_utils._state_status import parse_version as parse_version_output

FAMILY = "kms"

KEYS = {
    "mode": "kms.mode",
    "aws_key_arn": "kms.aws.key_arn",
    "aws_region": "kms.aws.region",
    "azure_key_name": "kms.azure.key_name",
    "azure_vault_name": "kms.azure.vault_name",
}

MODES = ("local", "aws", "azure")
# option name -> (mode it belongs to, state field)
MODE_OPTIONS = {
    "key_arn": ("aws", "aws_key_arn"),
    "aws_region": ("aws", "aws_region"),
    "key_name": ("azure", "azure_key_name"),
    "vault_name": ("azure", "azure_vault_name"),
}
FIELDS_BY_MODE = {
    "local": (),
    "aws": ("aws_key_arn", "aws_region"),
    "azure": ("azure_key_name", "azure_vault_name"),
}
AZURE_SINCE = (2021, 1)

ARN_RE = re.compile(r"^arn:aws(?:-[a-z]+)*:kms:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):key/(?P<id>[A-Za-z0-9-]+)$")
REGION_RE = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-[0-9]+$")
AZURE_KEY_NAME_RE = re.compile(r"^[A-Za-z0-9-]{1,127}$")
AZURE_VAULT_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$")


def read_state(export: t.Optional[t.Mapping[str, t.Any]]) -> t.Dict[str, t.Any]:
    """{'mode', 'aws_key_arn', 'aws_region', 'azure_key_name', 'azure_vault_name'} (None when empty)."""
    keys = config_keys(export)
    mode = get_str(keys, KEYS["mode"], "local").strip().lower() or "local"
    state: t.Dict[str, t.Any] = {"mode": mode}
    for field in ("aws_key_arn", "aws_region", "azure_key_name", "azure_vault_name"):
        state[field] = get_str(keys, KEYS[field]).strip() or None
    return state


def desired_state(mode: str, params: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    state: t.Dict[str, t.Any] = {"mode": mode, "aws_key_arn": None, "aws_region": None,
                                 "azure_key_name": None, "azure_vault_name": None}
    for option, (option_mode, field) in MODE_OPTIONS.items():
        if option_mode == mode:
            state[field] = (params.get(option) or "").strip() or None
    return state


def differences(current: t.Mapping[str, t.Any], desired: t.Mapping[str, t.Any]) -> t.List[str]:
    """Fields that differ: the mode and the keys of the desired mode (keys of other modes are ignored)."""
    fields = ("mode",) + FIELDS_BY_MODE.get(desired["mode"], ())
    return [f for f in fields if (current.get(f) or None) != (desired.get(f) or None)]


def validate(mode: str, params: t.Mapping[str, t.Any]) -> None:
    """Raise TsmInputError for missing, conflicting or malformed options (before any tsm call).
    Every problem found is reported at once, so one run shows the user all there is to fix."""
    if mode not in MODES:
        raise TsmInputError("mode must be one of %s, got %s" % (", ".join(MODES), mode))
    errors: t.List[str] = []
    conflicting = sorted(o for o, (m, _f) in MODE_OPTIONS.items() if m != mode and params.get(o) not in (None, ""))
    if conflicting:
        errors.append("conflicting options: %s cannot be used with mode=%s (%s)" % (
            ", ".join(conflicting), mode,
            "; ".join("%s belongs to mode=%s" % (o, MODE_OPTIONS[o][0]) for o in conflicting)))
    missing = sorted(o for o, (m, _f) in MODE_OPTIONS.items() if m == mode and not (params.get(o) or "").strip())
    if missing:
        errors.append("mode=%s requires %s" % (mode, " and ".join(missing)))
    if mode == "aws":
        arn = (params.get("key_arn") or "").strip()
        region = (params.get("aws_region") or "").strip()
        if region and not REGION_RE.match(region):
            errors.append("aws_region %r is not an AWS region name (for example us-west-2)" % region)
        match = ARN_RE.match(arn) if arn else None
        if arn and not match:
            errors.append("key_arn %r is not a KMS key ARN; expected "
                          "arn:aws:kms:<region>:<12-digit account>:key/<key id>" % arn)
        if match and region and REGION_RE.match(region) and match.group("region") != region:
            errors.append("key_arn is in region %s, but aws_region is %s; they must be the same"
                          % (match.group("region"), region))
    elif mode == "azure":
        name = (params.get("key_name") or "").strip()
        vault = (params.get("vault_name") or "").strip()
        if name and not AZURE_KEY_NAME_RE.match(name):
            errors.append("key_name %r is not an Azure Key Vault key name (1-127 letters, digits and hyphens)" % name)
        if vault and (not AZURE_VAULT_NAME_RE.match(vault) or "--" in vault):
            errors.append("vault_name %r is not an Azure Key Vault name (3-24 letters, digits and single "
                          "hyphens, starting with a letter)" % vault)
    if errors:
        raise TsmInputError("; ".join(errors))


def kms_args(desired: t.Mapping[str, t.Any]) -> t.List[str]:
    mode = desired["mode"]
    args = ["security", "kms", "set-mode", mode]
    if mode == "aws":
        args += ["--key-arn", desired["aws_key_arn"], "--aws-region", desired["aws_region"]]
    elif mode == "azure":
        args += ["--key-name", desired["azure_key_name"], "--vault-name", desired["azure_vault_name"]]
    return args


# server version ---------------------------------------------------------------------------------

def parse_version(text: t.Optional[str]) -> t.Optional[t.Tuple[int, int]]:
    """(year, minor) from text such as ``Tableau Server version: 2024.2`` or a build code such as
    ``20242.24.0807.0327``; None when none is found. The parsing itself is the one of ``tsm version``
    output in _state_status (one parser for versions in the collection)."""
    version = parse_version_output(str(text or ""))["version"]
    if not version:
        return None
    year, minor = version.split(".")[:2]
    return int(year), int(minor)


def _walk_binary_versions(node: t.Any, found: t.List[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if str(key).lower() in ("binaryversion", "version", "productversion") and isinstance(value, str):
                found.append(value)
            else:
                _walk_binary_versions(value, found)
    elif isinstance(node, list):
        for value in node:
            _walk_binary_versions(value, found)


def version_from_export(export: t.Optional[t.Mapping[str, t.Any]]) -> t.Optional[t.Tuple[int, int]]:
    """The lowest server version found in the export's topology (a cluster mid-upgrade counts as its
    oldest node), or None."""
    top = lower_keys(export)
    found: t.List[str] = []
    for name in ("topologyversion", "topology"):
        _walk_binary_versions(top.get(name), found)
    versions = [v for v in (parse_version(s) for s in found) if v is not None]
    return min(versions) if versions else None


def format_version(version: t.Optional[t.Tuple[int, int]]) -> t.Optional[str]:
    return None if version is None else "%d.%d" % version
