# -*- coding: utf-8 -*-
# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The work of tableau_certificate_check, without AnsibleModule.

``execute(params)`` takes the validated parameters (see ARGUMENT_SPEC) and returns the module's result,
or raises CheckFailure wherever the module fails. The certificate warnings are in the result's
``warnings`` (a list of str), for the caller to issue: the module calls AnsibleModule.warn for each,
the action plugin that runs the check inside the controller's process (plugins/action) returns them
in its result's ``warnings``. Nothing here ever formats the passphrase into a message.
"""

from __future__ import annotations

import traceback
import typing as t

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.tableau.tsm.plugins.module_utils._certificates import (
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_CRYPTOGRAPHY,
    check_server_certificate,
)
from ansible_collections.tableau.tsm.plugins.module_utils._errors import CheckFailure

#: The module's options (see its DOCUMENTATION).
ARGUMENT_SPEC = {
    "cert_file": {"type": "path", "required": True},
    "key_file": {"type": "path", "required": True, "no_log": False},
    "chain_file": {"type": "path"},
    "passphrase": {"type": "str", "no_log": True},
    "expected_hostname": {"type": "str"},
    "warn_days": {"type": "int", "default": 30},
    "min_days_left": {"type": "int", "default": 0},
    "fail_on_error": {"type": "bool", "default": True},
}


def _certificate_summary(info: t.Dict[str, t.Any], fmt: t.Optional[str]) -> t.Dict[str, t.Any]:
    sans = list(info.get("subject_alt_names") or [])
    return {
        "subject": info.get("subject"),
        "issuer": info.get("issuer"),
        "sans": sans,
        "not_after": info.get("not_after"),
        "days_left": info.get("days_left"),
        "sha256_fingerprint": info.get("sha256_fingerprint"),
        "key_type": info.get("key_type"),
        "key_size": info.get("key_size"),
        "self_signed": info.get("self_signed"),
        "format": fmt,
    }


def execute(params: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
    """Check the files of the validated module parameters ``params``.

    Returns the result (with ``changed``, and ``warnings`` when there are certificate warnings) or raises
    CheckFailure with the module's message and the keys of its failed result (``warnings`` included).
    """
    if not HAS_CRYPTOGRAPHY:
        raise CheckFailure(missing_required_lib("cryptography"), traceback=CRYPTOGRAPHY_IMPORT_ERROR)
    if params["warn_days"] < 0:
        raise CheckFailure("warn_days must be 0 or more, got %d" % params["warn_days"])
    if params["min_days_left"] < 0:
        raise CheckFailure("min_days_left must be 0 or more, got %d" % params["min_days_left"])

    try:
        check = check_server_certificate(
            params["cert_file"],
            params["key_file"],
            chain_path=params["chain_file"] or None,
            passphrase=params["passphrase"] or None,
            hostname=params["expected_hostname"] or None,
            warn_days=params["warn_days"],
        )
    except Exception as exc:  # pylint: disable=broad-except
        raise CheckFailure("certificate check of %s failed unexpectedly: %s" % (params["cert_file"], exc),
                           traceback=traceback.format_exc())

    errors = list(check.errors)
    warnings = list(check.warnings)
    result: t.Dict[str, t.Any] = {"changed": False, "errors": errors, "certificate_warnings": warnings}
    if check.info:
        result["certificate"] = _certificate_summary(check.info, check.cert_format)
        result["fingerprint"] = check.info.get("sha256_fingerprint")
        days_left = check.info.get("days_left")
        if (params["min_days_left"] and days_left is not None and 0 <= days_left < params["min_days_left"]
                and not any("has expired" in e for e in errors)):
            errors.append("certificate file %s has %d day%s of validity left, less than min_days_left=%d"
                          % (params["cert_file"], days_left, "" if days_left == 1 else "s",
                             params["min_days_left"]))
    if check.key_format is not None:
        result["key_encrypted"] = bool(check.key_encrypted)
    if params["chain_file"]:
        result["chain_length"] = len(check.chain)
    result["valid"] = not errors

    if warnings:
        result["warnings"] = list(warnings)
    if errors and params["fail_on_error"]:
        raise CheckFailure("certificate check failed: %s" % "; ".join(errors), result)
    return result
