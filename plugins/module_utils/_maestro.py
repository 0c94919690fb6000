# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The shared logic of tableau_maestro_rserve_ssl and tableau_maestro_tabpy_ssl.

Both modules are thin wrappers around ``main(service)``: argument spec, input checks,
read (one ``tsm settings export``) -> compare -> stage ``tsm security maestro-<service>-ssl
enable|disable``.

The password rule (``update_password``), because the stored password cannot be read back:

- a password is given and the server stores none (or the connection is off): it is set;
- ``update_password=always`` and a password is given: enable is staged on every run;
- ``update_password=on_create`` (default): a stored password is left alone as long as nothing
  else changes. When another setting changes, ``enable`` must be run again and it sets every
  setting at once, so the given password is passed along;
- no password given, ``username`` given: the password is not managed. If another setting must
  change while the server stores a password, the module fails before any write and asks for
  it, because re-enabling without it would drop the stored password;
- neither ``username`` nor ``password`` given: the connection is wanted without credentials;
  stored credentials are a difference and are removed by re-enabling without them.
"""

from __future__ import annotations

import re
import typing as t

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.tableau.tsm.plugins.module_utils._certificates import (
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_CRYPTOGRAPHY,
    CertificateCheckResult,
    check_ca_certificates,
)
from ansible_collections.tableau.tsm.plugins.module_utils._errors import TsmError, TsmInputError
from ansible_collections.tableau.tsm.plugins.module_utils._files import PrivateCopies, content_hash, content_name
from ansible_collections.tableau.tsm.plugins.module_utils._module import TsmModule
from ansible_collections.tableau.tsm.plugins.module_utils._state_maestro import (
    cert_role,
    connection_type,
    differences,
    family,
    read_state,
)

DEFAULT_PORTS = {"rserve": 6311, "tabpy": 9004}
DISPLAY_NAMES = {"rserve": "Rserve", "tabpy": "TabPy"}
# Tableau's documentation uses 900000 ms (15 minutes) as the example value.
DEFAULT_CONNECT_TIMEOUT_MS = 900000
CERT_FLAG = "-cf"


def argument_spec(service: str) -> t.Dict[str, t.Dict[str, t.Any]]:
    """The module options of tableau_maestro_<service>_ssl (connection options come from TsmModule)."""
    return {
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "secure": {"type": "bool", "default": True},
        "host": {"type": "str"},
        "port": {"type": "int", "default": DEFAULT_PORTS[service]},
        "username": {"type": "str"},
        "password": {"type": "str", "no_log": True},
        "connect_timeout_ms": {"type": "int", "default": DEFAULT_CONNECT_TIMEOUT_MS},
        "cert_file": {"type": "path"},
        "update_password": {"type": "str", "default": "on_create", "choices": ["always", "on_create"]},
    }


# input checks ------------------------------------------------------------------------------------

_HOST_RE = re.compile(r"^[A-Za-z0-9._:\[\]-]+$")


def validate(params: t.Mapping[str, t.Any], service: str) -> None:
    """Refuse bad input before anything is read or written (state=present)."""
    name = DISPLAY_NAMES[service]
    host = params.get("host")
    if host is None or not str(host).strip():
        raise TsmInputError("host must name the %s server (a host name or IP address), got an empty value" % name)
    if not _HOST_RE.match(str(host).strip()):
        raise TsmInputError("host %r is not a valid host name or IP address" % host)
    port = params.get("port")
    if port is None or not 1 <= port <= 65535:
        raise TsmInputError("port must be from 1 to 65535, got %s" % port)
    timeout = params.get("connect_timeout_ms")
    if timeout is None or timeout <= 0:
        raise TsmInputError("connect_timeout_ms must be a positive number of milliseconds, got %s" % timeout)
    if params.get("secure") and not params.get("cert_file"):
        raise TsmInputError(
            "cert_file is required with secure=true: tsm needs the certificate of the %s server (or of the CA "
            "that issued it) for connection type %s" % (name, connection_type(service, True)))
    if params.get("cert_file") and not params.get("secure"):
        raise TsmInputError(
            "cert_file is only used with secure=true; remove it or set secure=true (connection type %s takes "
            "no certificate)" % connection_type(service, False))
    if params.get("password") is not None and params.get("password") == "":
        raise TsmInputError("password is empty; omit it for a connection without a password")
    if params.get("password") and not params.get("username"):
        raise TsmInputError("password is set but username is not; %s needs both" % name)


# compare -----------------------------------------------------------------------------------------

def desired_present(params: t.Mapping[str, t.Any], service: str,
                    trusted: t.Optional[CertificateCheckResult]) -> t.Dict[str, t.Any]:
    secure = bool(params["secure"])
    return {
        "enabled": True,
        "connection_type": connection_type(service, secure),
        "secure": secure,
        "host": str(params["host"]).strip(),
        "port": int(params["port"]),
        "username": params.get("username") or None,
        "password_set": bool(params.get("password")),
        "connect_timeout_ms": int(params["connect_timeout_ms"]),
        "cert_file_name": content_name(cert_role(service), trusted.cert_pem, ".crt") if trusted else None,
        "cert_sha256_prefix": content_hash(trusted.cert_pem) if trusted else None,
    }


def desired_absent(current: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    after = dict(current)
    after.update({
        "enabled": False, "connection_type": None, "secure": None, "host": None, "port": None,
        "username": None, "password_set": False, "connect_timeout_ms": None,
        "cert_file_name": None, "cert_sha256_prefix": None,
    })
    return after


def plan(current: t.Mapping[str, t.Any], desired: t.Dict[str, t.Any], params: t.Mapping[str, t.Any],
         service: str) -> t.List[str]:
    """The reasons to stage ``enable`` (empty: nothing to do); fixes ``desired['password_set']``.

    Raises TsmInputError when a change needs the stored password and none was given.
    """
    reasons = differences(current, desired)
    password = params.get("password")
    if password:
        if not current.get("password_set"):
            reasons.append("password_set")
        elif params.get("update_password") == "always":
            reasons.append("password (update_password=always)")
        return reasons
    if not params.get("username"):
        # no credentials wanted: a stored password is a difference (removed by re-enabling)
        if current.get("password_set"):
            reasons.append("password_set")
        desired["password_set"] = False
        return reasons
    # username without password: the password is not managed
    if reasons and current.get("enabled") and current.get("password_set"):
        name = DISPLAY_NAMES[service]
        raise TsmInputError(
            "password is required to change %s of the %s connection: 'tsm security maestro-%s-ssl enable' sets "
            "every setting at once and would drop the stored password, which cannot be read back. Give the "
            "password (with update_password=on_create it is only passed when something changes)"
            % (", ".join(reasons), name, service))
    desired["password_set"] = bool(current.get("password_set")) and not reasons
    return reasons


# act ---------------------------------------------------------------------------------------------

def enable_args(service: str, desired: t.Mapping[str, t.Any], password: t.Optional[str],
                cert_path: t.Optional[str]) -> t.List[str]:
    args = ["security", "maestro-%s-ssl" % service, "enable",
            "--connection-type", desired["connection_type"],
            "--%s-host" % service, desired["host"],
            "--%s-port" % service, str(desired["port"])]
    if desired.get("username"):
        args += ["--%s-username" % service, desired["username"]]
    if password:
        args += ["--%s-password" % service, password]
    args += ["--%s-connect-timeout-ms" % service, str(desired["connect_timeout_ms"])]
    if cert_path:
        args += [CERT_FLAG, cert_path]
    return args


def stage_enable(module: TsmModule, service: str, desired: t.Mapping[str, t.Any], password: t.Optional[str],
                 trusted: t.Optional[CertificateCheckResult]) -> None:
    display = enable_args(service, desired, password, desired.get("cert_file_name"))
    if module.check_mode or trusted is None:
        module.stage(family(service), "enable", display)
        return
    with PrivateCopies() as copies:
        path = copies.add(cert_role(service), trusted.cert_pem, ".crt")
        module.stage(family(service), "enable", enable_args(service, desired, password, path), display=display)


def main(service: str) -> None:
    """Run tableau_maestro_<service>_ssl."""
    module = TsmModule(
        argument_spec=argument_spec(service),
        staging=True,
        supports_check_mode=True,
        required_if=[("state", "present", ["host"])],
    )
    params = module.params
    extra: t.Dict[str, t.Any] = {}
    changed = False
    reasons: t.List[str] = []
    try:
        trusted = None
        if params["state"] == "present":
            validate(params, service)
            if params["cert_file"]:
                if not HAS_CRYPTOGRAPHY:
                    module.fail_json(msg=missing_required_lib("cryptography"), exception=CRYPTOGRAPHY_IMPORT_ERROR)
                # the server's own certificate or its CA: no CA flag required
                trusted = check_ca_certificates(params["cert_file"], "cert_file")
                trusted.raise_for_errors()
                for warning in trusted.warnings:
                    module.warn(warning)
                extra["certificate"] = trusted.info

        # The single read call: the requested configuration (applied + pending).
        current = read_state(module.runner.export_settings(), service)

        if params["state"] == "present":
            desired = desired_present(params, service, trusted)
            reasons = plan(current, desired, params, service)
            changed = bool(reasons)
            if changed:
                stage_enable(module, service, desired, params.get("password"), trusted)
        else:
            desired = desired_absent(current)
            changed = bool(current["enabled"])
            if changed:
                reasons = ["enabled"]
                module.stage(family(service), "disable", ["security", "maestro-%s-ssl" % service, "disable"])
        module.apply_if_requested()
    except TsmError as exc:
        module.fail_from(exc, **extra)

    after = desired if changed else current
    module.finish(changed, current, after, state=after, changed_settings=reasons, **extra)
