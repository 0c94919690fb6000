# -*- coding: utf-8 -*-
# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any
# time. Do not use this from other collections or standalone plugins/modules!

"""The work of tableau_tls_check, without AnsibleModule.

``execute(params)`` takes the validated parameters (see ARGUMENT_SPEC, MUTUALLY_EXCLUSIVE and
REQUIRED_ONE_OF) and returns the module's result, or raises CheckFailure wherever the module fails.
The module (plugins/modules/tableau_tls_check.py) and the action plugin that runs the check inside
the controller's process (plugins/action/tableau_tls_check.py) both call it, so that both give the
same results and messages.
"""

from __future__ import annotations

import traceback

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.tableau.tsm.plugins.module_utils import _tls
from ansible_collections.tableau.tsm.plugins.module_utils._errors import CheckFailure

#: At most this many targets are checked at the same time.
MAX_WORKERS = 8

#: The options that describe one endpoint. An element of targets can set each of them; what it does
#: not set (None) is taken from the top-level option of the same name.
ENDPOINT_OPTIONS = ("host", "port", "server_name", "starttls", "postgres_plaintext", "protocols_accepted",
                    "protocols_refused", "expected_fingerprint", "expected_cert_file", "min_days_left", "ca_file")

#: Suboptions of targets. None has a default, so that "not set" can be told from a value.
TARGET_SPEC = {
    "name": {"type": "str"},
    "host": {"type": "str", "required": True},
    "port": {"type": "int"},
    "server_name": {"type": "str"},
    "starttls": {"type": "str", "choices": ["none", "postgres"]},
    "postgres_plaintext": {"type": "str", "choices": ["refused", "accepted"]},
    "protocols_accepted": {"type": "list", "elements": "str"},
    "protocols_refused": {"type": "list", "elements": "str"},
    "expected_fingerprint": {"type": "str"},
    "expected_cert_file": {"type": "path"},
    "min_days_left": {"type": "int"},
    "ca_file": {"type": "path"},
}

#: The module's options (see its DOCUMENTATION).
ARGUMENT_SPEC = {
    "host": {"type": "str"},
    "targets": {"type": "list", "elements": "dict", "options": TARGET_SPEC},
    "port": {"type": "int", "default": 443},
    "server_name": {"type": "str"},
    "starttls": {"type": "str", "default": "none", "choices": ["none", "postgres"]},
    "timeout": {"type": "float", "default": 10},
    "protocols_accepted": {"type": "list", "elements": "str", "default": []},
    "protocols_refused": {"type": "list", "elements": "str", "default": []},
    "expected_fingerprint": {"type": "str"},
    "expected_cert_file": {"type": "path"},
    "min_days_left": {"type": "int"},
    "ca_file": {"type": "path"},
    "fail_on_mismatch": {"type": "bool", "default": True},
    "postgres_plaintext": {"type": "str", "choices": ["refused", "accepted"]},
    "postgres_probe_user": {"type": "str", "default": _tls.POSTGRES_PROBE_USER},
    "postgres_probe_database": {"type": "str", "default": _tls.POSTGRES_PROBE_DATABASE},
}
MUTUALLY_EXCLUSIVE = [["host", "targets"]]
REQUIRED_ONE_OF = [["host", "targets"]]


class InputError(Exception):
    """Bad input, found before any connection is made."""


def _protocol_list(values, option, allow_unprobeable):
    result = []
    for name in values or []:
        canonical = _tls.canonical_protocol(name)
        if canonical is None:
            raise InputError("%s: unknown protocol %r; use one of %s" % (
                option, name, ", ".join(_tls.ALL_PROTOCOLS if allow_unprobeable else _tls.PROBEABLE_PROTOCOLS)))
        if not allow_unprobeable and canonical in _tls.UNPROBEABLE_PROTOCOLS:
            raise InputError("%s: %s cannot be probed (no current OpenSSL implements it), so it cannot be "
                             "required; list it in protocols_refused instead" % (option, canonical))
        if canonical not in result:
            result.append(canonical)
    return result


def _clean_host(host):
    host = (host or "").strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host


def check_common(params):
    """Validate the top-level-only options, which apply to every endpoint. Raises InputError."""
    if params["timeout"] <= 0:
        raise InputError("timeout must be greater than 0 (got %s)" % params["timeout"])
    for option in ("postgres_probe_user", "postgres_probe_database"):
        value = params[option]
        if not value or "\x00" in value:
            raise InputError("%s must be a non-empty name without NUL characters" % option)


def prepare_endpoint(options, params):
    """Validate the options of one endpoint and return the keyword arguments of _tls.run_check.

    ``options`` holds ENDPOINT_OPTIONS (for a target: its own merged with the top-level ones),
    ``params`` the module parameters (for the top-level-only options, see check_common).
    Reads the certificate files, never connects. Raises InputError.
    """
    host = _clean_host(options["host"])
    if not host:
        raise InputError("host must not be empty")
    port = options["port"]
    if not 1 <= port <= 65535:
        raise InputError("port %d is out of range (1-65535)" % port)
    accepted = _protocol_list(options["protocols_accepted"], "protocols_accepted", allow_unprobeable=False)
    refused = _protocol_list(options["protocols_refused"], "protocols_refused", allow_unprobeable=True)
    both = [p for p in accepted if p in refused]
    if both:
        raise InputError("%s listed in both protocols_accepted and protocols_refused" % ", ".join(both))

    if options["postgres_plaintext"] and options["starttls"] != "postgres":
        raise InputError("postgres_plaintext=%s needs starttls=postgres (it probes a PostgreSQL repository)"
                         % options["postgres_plaintext"])

    expected_fingerprint = None
    if options["expected_fingerprint"]:
        try:
            expected_fingerprint = _tls.normalize_fingerprint(options["expected_fingerprint"])
        except ValueError as exc:
            raise InputError("expected_fingerprint: %s" % exc)

    expected_der = None
    try:
        if options["expected_cert_file"]:
            expected_der = _tls.load_certificate_file(options["expected_cert_file"])
        if options["ca_file"]:
            _tls.check_ca_file(options["ca_file"])
    except _tls.TLSCheckError as exc:
        raise InputError(str(exc))

    server_name = options["server_name"]
    if server_name is None:
        server_name = host

    return {
        "host": host,
        "port": port,
        "server_name": server_name,
        "starttls": options["starttls"],
        "timeout": params["timeout"],
        "protocols_accepted": accepted,
        "protocols_refused": refused,
        "expected_fingerprint": expected_fingerprint,
        "expected_der": expected_der,
        "expected_cert_source": options["expected_cert_file"],
        "min_days_left": options["min_days_left"],
        "ca_file": options["ca_file"],
        "postgres_plaintext": options["postgres_plaintext"],
        "postgres_user": params["postgres_probe_user"],
        "postgres_database": params["postgres_probe_database"],
    }


def prepare_targets(params):
    """Validate every element of targets; return [(name, run_check keyword arguments), ...]. Raises InputError."""
    targets = params["targets"]
    if not targets:
        raise InputError("targets must not be empty")
    jobs = []
    seen = {}
    for index, target in enumerate(targets):
        options = {}
        for option in ENDPOINT_OPTIONS:
            value = target.get(option)
            options[option] = params[option] if value is None else value
        name = target.get("name")
        label = name if name is not None else _tls.endpoint(_clean_host(options["host"]), options["port"])
        try:
            if name is not None and not name.strip():
                raise InputError("name must not be empty")
            kwargs = prepare_endpoint(options, params)
        except InputError as exc:
            raise InputError("targets[%d] (%s): %s" % (index, label, exc))
        if name is None:
            name = _tls.endpoint(kwargs["host"], kwargs["port"])
        if name in seen:
            raise InputError("targets[%d] (%s): the name is already used by targets[%d]; every target needs a "
                             "unique name (set name to tell targets on the same host and port apart)"
                             % (index, name, seen[name]))
        seen[name] = index
        jobs.append((name, kwargs))
    return jobs


def _error_result(kwargs, error):
    """The result of a target that could not be checked, with the keys of a _tls.run_check result."""
    return {
        "host": kwargs["host"],
        "port": kwargs["port"],
        "server_name": kwargs["server_name"],
        "starttls": kwargs["starttls"],
        "tls_available": False,
        "protocol": None,
        "cipher": None,
        "certificate": None,
        "protocols": {},
        "protocol_details": {},
        "failures": ["TLS check could not be made: %s" % error],
        "passed": False,
    }


def check_target(job):
    """Check one target (in a worker thread). Never raises: errors go to the result's error."""
    name, kwargs = job
    error = ""
    try:
        result = _tls.run_check(**kwargs)
    except _tls.TLSCheckError as exc:
        error = str(exc) or exc.__class__.__name__
    except Exception as exc:  # pylint: disable=broad-except
        error = "unexpected error: %s: %s" % (exc.__class__.__name__, exc)
    if error:
        result = _error_result(kwargs, error)
    entry = {"name": name, "host": kwargs["host"], "port": kwargs["port"], "error": error}
    entry.update(result)
    return entry


def check_targets(jobs):
    """Check every target, at most MAX_WORKERS at a time; the results are in the order of ``jobs``."""
    if len(jobs) == 1:
        return [check_target(jobs[0])]
    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(jobs))) as pool:
        return list(pool.map(check_target, jobs))


def run_single(params, kwargs):
    """The check of O(host): unchanged since before targets existed (errors fail the module)."""
    where = _tls.endpoint(kwargs["host"], kwargs["port"])
    try:
        result = _tls.run_check(**kwargs)
    except _tls.TLSCheckError as exc:
        raise CheckFailure("TLS check of %s failed: %s" % (where, exc), {"changed": False})
    except Exception as exc:  # pylint: disable=broad-except
        raise CheckFailure("TLS check of %s failed unexpectedly: %s" % (where, exc), {"changed": False},
                           traceback=traceback.format_exc())

    result["changed"] = False
    if result["failures"] and params["fail_on_mismatch"]:
        raise CheckFailure("TLS check of %s failed: %s" % (where, "; ".join(result["failures"])), result)
    return result


def run_targets(params, jobs):
    results = check_targets(jobs)
    failures = ["%s: %s" % (entry["name"], failure) for entry in results for failure in entry["failures"]]
    result = {
        "changed": False,
        "passed": all(entry["passed"] for entry in results),
        "failures": failures,
        "targets": results,
    }
    if not result["passed"] and params["fail_on_mismatch"]:
        raise CheckFailure("TLS check failed: %s" % "; ".join(failures), result)
    return result


def execute(params):
    """Run the check for the validated module parameters ``params``.

    Returns the result (a dict with ``changed``; no ``failed``, no ``msg``) or raises CheckFailure with
    the module's message and the keys of its failed result. Bad input (of every target) fails before
    any connection is made. The check never issues a warning.
    """
    jobs = kwargs = None
    try:
        check_common(params)
        if params["targets"] is None:
            kwargs = prepare_endpoint(params, params)
        else:
            jobs = prepare_targets(params)
    except InputError as exc:
        raise CheckFailure(str(exc)) from None

    if jobs is None:
        return run_single(params, kwargs)
    return run_targets(params, jobs)
