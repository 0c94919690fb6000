#!/usr/bin/python
# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: tableau_mutual_ssl
short_description: Manage mutual (client certificate) SSL of Tableau Server with tsm authentication mutual-ssl
version_added: 1.0.0
description:
  - Configures, enables or disables mutual SSL (client certificate authentication) with
    C(tsm authentication mutual-ssl configure) / C(enable) / C(disable), idempotently.
  - The module reads the requested configuration (applied plus pending) once with C(tsm settings export).
    With O(state=present) it stages C(configure) when a given setting differs, then C(enable) when mutual SSL is
    not enabled yet; with O(state=absent) it stages C(disable) when mutual SSL is enabled.
  - Mutual SSL needs external SSL. The module refuses, before any write, to configure or enable mutual SSL when
    external SSL is not enabled in the requested configuration; enable it first, for example with
    M(tableau.tsm.tableau_external_ssl) earlier in the same play (its change may still be pending).
  - Input is checked before any tsm write call; an unreadable, non-certificate, non-CA, expired, not yet valid,
    SHA-1 signed or weak O(ca_cert_file), and a O(revocation_file) that is not a CRL, fail with a message naming
    the option and the fault. Certificates expiring within 30 days, CRLs past their next update, and CRLs not
    issued by a certificate of O(ca_cert_file) give a warning.
  - Files are handed to tsm as private copies named C(tableau-tsm-mssl-ca-<first 16 hex digits of the SHA-256>.crt)
    (PEM) and C(tableau-tsm-mssl-crl-<hash>.pem) or C(.der) (the CRL keeps its format), removed afterwards.
    Because tsm records these names, the module compares content, not paths.
  - Changes are staged; they take effect after C(tsm pending-changes apply). See O(apply) and
    M(tableau.tsm.tableau_pending_changes).
extends_documentation_fragment:
  - tableau.tsm._connection
  - tableau.tsm._connection.apply
  - tableau.tsm._attributes
  - tableau.tsm._attributes.actiongroup_tsm
attributes:
  check_mode:
    support: full
    details:
      - Check mode validates the input and reads the server's configuration, but makes no write call.
  diff_mode:
    support: full
  idempotent:
    support: full
requirements:
  - cryptography >= 3.4 (on the managed node) when O(ca_cert_file) or O(revocation_file) is given
options:
  state:
    description:
      - V(present) configures mutual SSL with the given settings and enables it.
      - V(absent) disables mutual SSL (C(tsm authentication mutual-ssl disable)); the configured settings stay
        and the other options are ignored.
    type: str
    choices: [present, absent]
    default: present
  ca_cert_file:
    description:
      - Path on the managed node of the CA certificate(s) that issue the client certificates, PEM or DER
        (C(-cf)/C(--ca-cert)).
      - Required with O(state=present) unless a CA certificate is configured already.
    type: path
  fallback_to_basic:
    description:
      - Whether users without a valid client certificate may sign in with user name and password
        (C(-fb)/C(--fallback-to-basic)). tsm's default is V(false).
      - When omitted, the server's setting is left as it is.
    type: bool
  user_name_mapping:
    description:
      - How the user name is taken from the client certificate (C(-m)/C(--user-name-mapping)); it must match the
        format of the certificates' subject or subject alternative names.
      - When omitted, the server's setting is left as it is.
    type: str
    choices: [upn, ldap, cn]
  revocation_file:
    description:
      - Path on the managed node of a certificate revocation list (CRL), PEM or DER (C(-rf)/C(--revocation-file)).
      - When omitted, the server's setting is left as it is (tsm offers no documented way to remove it).
    type: path
notes:
  - The configuration key names (C(ssl.client_certificate_login.*)) are not verified against a real Tableau Server.
  - Mutual SSL is not supported by Tableau Mobile.
seealso:
  - module: tableau.tsm.tableau_external_ssl
  - module: tableau.tsm.tableau_pending_changes
  - name: tsm authentication mutual-ssl
    description: Tableau's reference of the command.
    link: https://help.tableau.com/current/server-linux/en-us/cli_authentication_tsm.htm
author:
  - tableau.tsm contributors (@tableau-tsm)
"""

EXAMPLES = r"""
- name: Enable external SSL first (staged)
  tableau.tsm.tableau_external_ssl:
    cert_file: /etc/pki/tableau/server.crt
    key_file: /etc/pki/tableau/server.key

- name: Require client certificates, user name from the UPN, with a CRL (staged, applied by a handler)
  tableau.tsm.tableau_mutual_ssl:
    ca_cert_file: /etc/pki/tableau/client-ca.crt
    user_name_mapping: upn
    fallback_to_basic: false
    revocation_file: /etc/pki/tableau/client-ca.crl.pem
  notify: tableau tsm apply

- name: Disable mutual SSL and apply right away
  tableau.tsm.tableau_mutual_ssl:
    state: absent
    apply: true
"""

RETURN = r"""
state:
  description:
    - The mutual SSL configuration after the task (in check mode, as it would be), from C(tsm settings export)
      (applied plus pending).
  returned: always
  type: dict
  contains:
    enabled:
      description: Whether mutual SSL is enabled.
      type: bool
      sample: true
    fallback_to_basic:
      description: Whether user name and password sign-in is allowed as a fallback.
      type: bool
      sample: false
    user_name_mapping:
      description: V(upn), V(ldap), V(cn), or V(null) when not set.
      type: str
      sample: upn
    ca_cert_file_name:
      description: File name of the CA certificate as recorded by tsm.
      type: str
      sample: tableau-tsm-mssl-ca-3f2a9c0d1e4b5a6f.crt
    ca_cert_sha256_prefix:
      description: Content hash prefix from the CA certificate file name; V(null) for names not made by this collection.
      type: str
      sample: 3f2a9c0d1e4b5a6f
    revocation_file_name:
      description: File name of the CRL as recorded by tsm.
      type: str
      sample: tableau-tsm-mssl-crl-0b1c2d3e4f5a6b7c.pem
    revocation_sha256_prefix:
      description: Content hash prefix from the CRL file name.
      type: str
      sample: 0b1c2d3e4f5a6b7c
    external_ssl_enabled:
      description: Whether external SSL is enabled in the requested configuration (a prerequisite).
      type: bool
      sample: true
  sample:
    enabled: true
    fallback_to_basic: false
    user_name_mapping: upn
    ca_cert_file_name: tableau-tsm-mssl-ca-3f2a9c0d1e4b5a6f.crt
    ca_cert_sha256_prefix: 3f2a9c0d1e4b5a6f
    revocation_file_name: null
    revocation_sha256_prefix: null
    external_ssl_enabled: true
changed_settings:
  description: Why this task staged changes (names of the differing settings); empty when nothing changed.
  returned: always
  type: list
  elements: str
  sample: [ca_cert, enabled]
ca_certificate:
  description: Facts about the first certificate of O(ca_cert_file) as checked.
  returned: when O(ca_cert_file) is given and O(state=present)
  type: dict
  sample:
    subject: CN=Example Client CA
    issuer: CN=Example Client CA
    sha256_fingerprint: "3F:2A:9C:..."
    not_after: "2030-01-01T00:00:00Z"
    days_left: 1300
    format: PEM
    count: 1
revocation_list:
  description: Facts about O(revocation_file) as checked.
  returned: when O(revocation_file) is given and O(state=present)
  type: dict
  sample:
    issuer: CN=Example Client CA
    format: PEM
    last_update: "2026-05-01T00:00:00Z"
    next_update: "2026-06-01T00:00:00Z"
    revoked: 3
pending_changes:
  description:
    - What this task staged (in check mode, would stage), one entry per tsm call, files shown by name.
      Empty when nothing changed.
  returned: always
  type: list
  elements: dict
  sample:
    - family: mutual_ssl
      action: configure
      command: tsm authentication mutual-ssl configure -cf tableau-tsm-mssl-ca-3f2a9c0d1e4b5a6f.crt -m upn
    - family: mutual_ssl
      action: enable
      command: tsm authentication mutual-ssl enable
restart_required:
  description: Whether this task left staged changes that need C(tsm pending-changes apply) and a restart to take effect.
  returned: always
  type: bool
  sample: true
applied:
  description: Whether this task ran (in check mode, would run) C(tsm pending-changes apply).
  returned: always
  type: bool
  sample: false
"""

import datetime
import traceback
import typing as t

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.tableau.tsm.plugins.module_utils._certificates import (
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_CRYPTOGRAPHY,
    CertificateCheckResult,
    CertificateError,
    check_ca_certificates,
    read_file,
)
from ansible_collections.tableau.tsm.plugins.module_utils._errors import TsmError, TsmInputError
from ansible_collections.tableau.tsm.plugins.module_utils._files import PrivateCopies, content_hash, content_name
from ansible_collections.tableau.tsm.plugins.module_utils._module import TsmModule
from ansible_collections.tableau.tsm.plugins.module_utils._state_mutual_ssl import (
    FAMILY,
    MAPPINGS,
    ROLE_CA,
    ROLE_CRL,
    configure_differences,
    read_state,
)

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
except ImportError:
    X509_IMPORT_ERROR: t.Optional[str] = traceback.format_exc()
else:
    X509_IMPORT_ERROR = None

BASE = ["authentication", "mutual-ssl"]


def _time(crl: t.Any, name: str) -> t.Optional[datetime.datetime]:
    value = getattr(crl, name + "_utc", None)
    if value is None:
        value = getattr(crl, name, None)
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
    return value


def _stamp(value: t.Optional[datetime.datetime]) -> t.Optional[str]:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def check_ca(path: str) -> CertificateCheckResult:
    """The CA certificates of ca_cert_file; a certificate marked CA:FALSE is refused."""
    check = check_ca_certificates(path, "ca_cert_file", require_ca="error",
                                  not_ca_hint="give the CA that issues the client certificates")
    check.raise_for_errors()
    return check


class CrlCheck:
    def __init__(self, path: str, ca: t.Optional[CertificateCheckResult], now: t.Optional[datetime.datetime] = None) -> None:
        now = now or datetime.datetime.now(datetime.timezone.utc)
        data = read_file(path, "revocation_file")
        self.warnings: t.List[str] = []
        if b"-----BEGIN" in data:
            self.format, self.ext = "PEM", ".pem"
            if b"-----BEGIN X509 CRL-----" not in data:
                raise CertificateError("revocation_file %s is PEM but contains no X509 CRL block (a certificate "
                                       "revocation list is needed)" % path)
            try:
                crl = x509.load_pem_x509_crl(data)
            except ValueError:
                raise CertificateError("revocation_file %s: the PEM X509 CRL block is malformed" % path)
            self.data = crl.public_bytes(serialization.Encoding.PEM)
        else:
            self.format, self.ext = "DER", ".der"
            try:
                crl = x509.load_der_x509_crl(data)
            except ValueError:
                raise CertificateError("revocation_file %s is neither a PEM nor a DER certificate revocation "
                                       "list (CRL)" % path)
            self.data = crl.public_bytes(serialization.Encoding.DER)
        next_update = _time(crl, "next_update")
        if next_update is not None and next_update < now:
            self.warnings.append("revocation_file %s is stale: its next update was due on %s; clients may be "
                                 "refused until a current CRL is configured" % (path, next_update.strftime("%Y-%m-%d")))
        if ca is not None:
            issuers = [c for c in ca.certificates if c.subject == crl.issuer]
            if not issuers:
                self.warnings.append("revocation_file %s is issued by '%s', which is not a certificate of "
                                     "ca_cert_file" % (path, crl.issuer.rfc4514_string()))
            elif not any(crl.is_signature_valid(c.public_key()) for c in issuers):
                raise CertificateError("revocation_file %s: its signature does not verify with the CA certificate "
                                       "'%s' of ca_cert_file" % (path, crl.issuer.rfc4514_string()))
        self.info = {
            "issuer": crl.issuer.rfc4514_string(),
            "format": self.format,
            "last_update": _stamp(_time(crl, "last_update")),
            "next_update": _stamp(next_update),
            "revoked": len(list(crl)),
        }


def configure_args(params: t.Mapping[str, t.Any], ca_path: t.Optional[str], crl_path: t.Optional[str]) -> t.List[str]:
    args = BASE + ["configure"]
    if ca_path:
        args += ["-cf", ca_path]
    if params.get("fallback_to_basic") is not None:
        args += ["-fb", "true" if params["fallback_to_basic"] else "false"]
    if params.get("user_name_mapping"):
        args += ["-m", params["user_name_mapping"]]
    if crl_path:
        args += ["-rf", crl_path]
    return args


def stage_configure(module: TsmModule, desired: t.Mapping[str, t.Any], ca: t.Optional[CertificateCheckResult],
                    crl: t.Optional[CrlCheck]) -> None:
    params = module.params
    display = configure_args(params, desired["ca_cert_file_name"] if ca else None,
                             desired["revocation_file_name"] if crl else None)
    if module.check_mode:
        module.stage(FAMILY, "configure", display)
        return
    with PrivateCopies() as copies:
        ca_path = copies.add(ROLE_CA, ca.cert_pem, ".crt") if ca else None
        crl_path = copies.add(ROLE_CRL, crl.data, crl.ext) if crl else None
        module.stage(FAMILY, "configure", configure_args(params, ca_path, crl_path), display=display)


def main() -> None:
    module = TsmModule(
        argument_spec={
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
            "ca_cert_file": {"type": "path"},
            "fallback_to_basic": {"type": "bool"},
            "user_name_mapping": {"type": "str", "choices": list(MAPPINGS)},
            "revocation_file": {"type": "path"},
        },
        staging=True,
        supports_check_mode=True,
    )
    params = module.params
    extra: t.Dict[str, t.Any] = {}
    reasons: t.List[str] = []
    changed = False
    try:
        ca = crl = None
        present = params["state"] == "present"
        if present and (params["ca_cert_file"] or params["revocation_file"]):
            if not HAS_CRYPTOGRAPHY or X509_IMPORT_ERROR:
                module.fail_json(msg=missing_required_lib("cryptography"),
                                 exception=CRYPTOGRAPHY_IMPORT_ERROR or X509_IMPORT_ERROR)
            if params["ca_cert_file"]:
                ca = check_ca(params["ca_cert_file"])
                extra["ca_certificate"] = ca.info
            if params["revocation_file"]:
                crl = CrlCheck(params["revocation_file"], ca)
                extra["revocation_list"] = crl.info
            for check in (ca, crl):
                for warning in (check.warnings if check else ()):
                    module.warn(warning)

        # The single read call: the requested configuration (applied + pending).
        current = read_state(module.runner.export_settings())

        desired = dict(current)
        if present:
            desired["enabled"] = True
            if ca:
                desired["ca_cert_file_name"] = content_name(ROLE_CA, ca.cert_pem, ".crt")
                desired["ca_cert_sha256_prefix"] = content_hash(ca.cert_pem)
            if crl:
                desired["revocation_file_name"] = content_name(ROLE_CRL, crl.data, crl.ext)
                desired["revocation_sha256_prefix"] = content_hash(crl.data)
            if params["fallback_to_basic"] is not None:
                desired["fallback_to_basic"] = params["fallback_to_basic"]
            if params["user_name_mapping"]:
                desired["user_name_mapping"] = params["user_name_mapping"]
            if not desired["ca_cert_file_name"]:
                raise TsmInputError("ca_cert_file is required: no trusted CA certificate is configured for mutual SSL "
                                    "on the server yet")
            # only the options given are compared (None = not managed)
            wanted = {
                "ca_cert_sha256_prefix": desired["ca_cert_sha256_prefix"] if ca else None,
                "fallback_to_basic": params["fallback_to_basic"],
                "user_name_mapping": params["user_name_mapping"],
                "revocation_sha256_prefix": desired["revocation_sha256_prefix"] if crl else None,
            }
            reasons = configure_differences(current, wanted)
            needs_enable = not current["enabled"]
            if (reasons or needs_enable) and not current["external_ssl_enabled"]:
                raise TsmInputError(
                    "mutual SSL needs external SSL, which is not enabled in the requested configuration: enable "
                    "external SSL first, e.g. with tableau_external_ssl in the same play (it may stay pending)")
            if not current["external_ssl_enabled"]:
                module.warn("mutual SSL is enabled but external SSL is not; client certificates are not used until "
                            "external SSL is enabled")
            if reasons:
                stage_configure(module, desired, ca, crl)
            if needs_enable:
                reasons.append("enabled")
                module.stage(FAMILY, "enable", BASE + ["enable"])
        else:
            desired["enabled"] = False
            if current["enabled"]:
                reasons = ["enabled"]
                module.stage(FAMILY, "disable", BASE + ["disable"])
        changed = bool(reasons)
        module.apply_if_requested()
    except TsmError as exc:
        module.fail_from(exc, **extra)

    after = desired if changed else current
    module.finish(changed, current, after, state=after, changed_settings=reasons, **extra)


if __name__ == "__main__":
    main()
