#!/usr/bin/python
# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: tableau_custom_cert
short_description: Manage the custom CA certificate of Tableau Server with tsm security custom-cert
version_added: 1.0.0
description:
  - Adds, replaces or deletes the custom CA certificate of Tableau Server with
    C(tsm security custom-cert add) / C(delete), idempotently. Tableau uses it to trust TLS servers such as
    an SMTP server.
  - The certificate is checked on the managed node before any tsm write call; an unreadable file, a file that
    is not a PEM or DER X.509 certificate, a file with more than one certificate, an expired or not yet valid
    certificate, a SHA-1 or MD5 signature (except on self-signed roots), and RSA/DSA keys under 2048 bits fail
    with a message naming the file and the fault. A certificate that expires within 30 days, or that is not a
    CA certificate, gives a warning.
  - The module hands tsm a private PEM copy named
    C(tableau-tsm-custom-ca-<first 16 hex digits of the SHA-256 of the PEM bytes>.crt), in a private temporary
    directory that is removed afterwards. Because tsm records this name, the module compares content, not
    paths, from C(tsm settings export) alone. The same certificate under another path or in DER form is no
    change.
  - A different certificate is replaced with C(tsm security custom-cert delete) followed by
    C(tsm security custom-cert add), because tsm refuses to add a certificate while one exists.
  - When the export does not carry the custom certificate setting, or names a file not made by this module
    (a certificate added by hand), the module runs C(tsm security custom-cert list) once more and compares
    the SHA-256 fingerprint it shows, or else the serial number and issuer. If the listing allows no decision,
    the certificate is replaced.
  - The current state is the requested configuration (applied plus pending), so running the module again
    before the change is applied reports no change.
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
      - Check mode validates the certificate and reads the server's configuration, but makes no write call.
  diff_mode:
    support: full
    details:
      - The diff shows whether a custom certificate is configured, its file name and content hash.
  idempotent:
    support: full
requirements:
  - cryptography >= 3.4 (on the managed node) when O(state=present)
options:
  state:
    description:
      - V(present) makes O(cert_file) the custom CA certificate, replacing a different one.
      - V(absent) deletes the custom CA certificate when one is configured.
    type: str
    choices: [present, absent]
    default: present
  cert_file:
    description:
      - Path on the managed node of the CA certificate, PEM or DER, holding exactly one certificate.
      - Required when O(state=present).
    type: path
notes:
  - Tableau keeps a single custom CA certificate, and does not store it in a recoverable form; keep a copy
    elsewhere.
seealso:
  - module: tableau.tsm.tableau_pending_changes
  - module: tableau.tsm.tableau_security_info
  - name: tsm security custom-cert
    description: Tableau's reference of the command.
    link: https://help.tableau.com/current/server-linux/en-us/cli_security_tsm.htm
author:
  - tableau.tsm contributors (@tableau-tsm)
"""

EXAMPLES = r"""
- name: Trust the company CA for TLS to the SMTP server (staged, applied later by a handler)
  tableau.tsm.tableau_custom_cert:
    cert_file: /etc/pki/ca-trust/source/anchors/example-root-ca.crt
  notify: tableau tsm apply

- name: Replace it with a DER certificate and apply right away
  tableau.tsm.tableau_custom_cert:
    cert_file: /etc/pki/tableau/new-root-ca.der
    apply: true

- name: Remove the custom CA certificate
  tableau.tsm.tableau_custom_cert:
    state: absent
"""

RETURN = r"""
state:
  description:
    - The custom CA certificate configuration after the task (in check mode, as it would be), from
      C(tsm settings export) (applied plus pending) or, as a fallback, C(tsm security custom-cert list).
  returned: always
  type: dict
  contains:
    present:
      description: Whether a custom CA certificate is configured.
      type: bool
      sample: true
    file_name:
      description: File name of the certificate as recorded by tsm; V(null) when none is configured.
      type: str
      sample: tableau-tsm-custom-ca-3f2a9c0d1e4b5a6f.crt
    sha256_prefix:
      description:
        - First 16 hex digits of the SHA-256 of the PEM file given to tsm, from its name; V(null) for names
          not made by this collection.
      type: str
      sample: 3f2a9c0d1e4b5a6f
  sample:
    present: true
    file_name: tableau-tsm-custom-ca-3f2a9c0d1e4b5a6f.crt
    sha256_prefix: 3f2a9c0d1e4b5a6f
certificate:
  description: Facts about O(cert_file) as checked.
  returned: when O(state=present)
  type: dict
  sample:
    subject: CN=Example Root CA
    issuer: CN=Example Root CA
    serial_number: 1a2b3c
    sha256_fingerprint: "3F:2A:9C:..."
    sha256: 3f2a9c...
    not_before: "2026-01-01T00:00:00Z"
    not_after: "2036-01-01T00:00:00Z"
    days_left: 3500
    subject_alt_names: []
    key_type: RSA
    key_size: 4096
    signature_hash: sha256
    self_signed: true
    format: PEM
pending_changes:
  description:
    - What this task staged (in check mode, would stage), one entry per tsm call, private copies shown by
      file name. Empty when nothing changed.
  returned: always
  type: list
  elements: dict
  sample:
    - family: custom_cert
      action: delete
      command: tsm security custom-cert delete
    - family: custom_cert
      action: add
      command: tsm security custom-cert add -c tableau-tsm-custom-ca-3f2a9c0d1e4b5a6f.crt
restart_required:
  description: Whether this task left staged changes that need C(tsm pending-changes apply) to take effect.
  returned: always
  type: bool
  sample: true
applied:
  description: Whether this task ran (in check mode, would run) C(tsm pending-changes apply).
  returned: always
  type: bool
  sample: false
"""

import hashlib
import ssl
import typing as t

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.tableau.tsm.plugins.module_utils._certificates import (
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_CRYPTOGRAPHY,
    CertificateCheckResult,
    check_ca_certificates,
)
from ansible_collections.tableau.tsm.plugins.module_utils._errors import TsmError
from ansible_collections.tableau.tsm.plugins.module_utils._files import PrivateCopies, content_hash, content_name
from ansible_collections.tableau.tsm.plugins.module_utils._module import TsmModule
from ansible_collections.tableau.tsm.plugins.module_utils._state_custom_cert import (
    FAMILY,
    LIST_ARGS,
    ROLE,
    export_has_key,
    listed_matches,
    parse_custom_cert_list,
    read_state,
    state_from_list,
)


def check_ca_certificate(path: str) -> CertificateCheckResult:
    """Load and check the one CA certificate; errors/warnings in the result."""
    return check_ca_certificates(
        path, "certificate file", require_ca="warn",
        not_ca_hint="Tableau will trust only this exact certificate",
        only_one="tsm security custom-cert add takes exactly one CA certificate")


def desired_present(check: CertificateCheckResult) -> t.Dict[str, t.Any]:
    return {
        "present": True,
        "file_name": content_name(ROLE, check.cert_pem, ".crt"),
        "sha256_prefix": content_hash(check.cert_pem),
    }


def identity(check: CertificateCheckResult) -> t.Dict[str, t.Any]:
    """What custom-cert list may show of the desired certificate."""
    der = ssl.PEM_cert_to_DER_cert(check.cert_pem.decode("ascii"))
    return {
        "sha256": check.info["sha256"],
        "sha1": hashlib.sha1(der).hexdigest(),  # nosec - only compared with what tsm lists
        "serial_number": "%x" % check.certificate.serial_number,
        "issuer": check.info["issuer"],
    }


def read_current(module: TsmModule, want: t.Optional[t.Dict[str, t.Any]]) -> t.Tuple[t.Dict[str, t.Any], t.Optional[bool]]:
    """(current state, same-as-desired or None when not decided by the name).

    One read call (settings export); a second one (custom-cert list) only when the export lacks the
    setting, or names a file this collection did not make while a certificate is wanted.
    """
    export = module.runner.export_settings()
    listed = None
    if export_has_key(export):
        current = read_state(export)
        if want is not None and current["present"] and current["sha256_prefix"] is None:
            listed = parse_custom_cert_list(module.runner.run(LIST_ARGS)[1])
    else:
        listed = parse_custom_cert_list(module.runner.run(LIST_ARGS)[1])
        current = state_from_list(listed)
    same = None
    if want is not None and current["present"]:
        if current["sha256_prefix"] is not None:
            same = current["sha256_prefix"] == want["sha256_prefix"]
        elif listed is not None:
            same = listed_matches(listed, want["identity"])
    return current, same


def main() -> None:
    module = TsmModule(
        argument_spec={
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
            "cert_file": {"type": "path"},
        },
        staging=True,
        supports_check_mode=True,
        required_if=[("state", "present", ["cert_file"])],
    )
    params = module.params
    extra: t.Dict[str, t.Any] = {}
    desired: t.Dict[str, t.Any] = {}
    try:
        check = None
        want = None
        if params["state"] == "present":
            if not HAS_CRYPTOGRAPHY:
                module.fail_json(msg=missing_required_lib("cryptography"), exception=CRYPTOGRAPHY_IMPORT_ERROR)
            check = check_ca_certificate(params["cert_file"])
            for warning in check.warnings:
                module.warn(warning)
            check.raise_for_errors()
            extra["certificate"] = dict(check.info)
            desired = desired_present(check)
            want = dict(desired, identity=identity(check))

        current, same = read_current(module, want)

        if check is not None:
            changed = not (current["present"] and same)
            if changed:
                if current["present"]:
                    module.stage(FAMILY, "delete", ["security", "custom-cert", "delete"])
                display = ["security", "custom-cert", "add", "-c", desired["file_name"]]
                if module.check_mode:
                    module.stage(FAMILY, "add", display)
                else:
                    with PrivateCopies() as copies:
                        path = copies.add(ROLE, check.cert_pem, ".crt")
                        module.stage(FAMILY, "add", ["security", "custom-cert", "add", "-c", path], display=display)
        else:
            desired = {"present": False, "file_name": None, "sha256_prefix": None}
            changed = bool(current["present"])
            if changed:
                module.stage(FAMILY, "delete", ["security", "custom-cert", "delete"])
        module.apply_if_requested()
    except TsmError as exc:
        module.fail_from(exc, **extra)

    after = desired if changed else current
    module.finish(changed, current, after, state=after, **extra)


if __name__ == "__main__":
    main()
