#!/usr/bin/python
# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: tableau_security_info
short_description: Report the security configuration, pending changes, status and version of Tableau Server
version_added: 1.0.0
description:
  - Reads, in one task, the state of every C(tsm security) family managed by this collection (external SSL,
    repository SSL, the custom CA certificate, KMS, the Tableau Prep Rserve and TabPy connections, mutual SSL),
    the pending changes, the server status and the version.
  - The families come from one C(tsm settings export) (the requested configuration, that is the applied
    configuration plus what is pending), read by the same code the managing modules use, so the report
    shows what those modules compare against.
  - Secrets never appear in the result. Passwords and the key passphrase are reported only as
    C(password_set) / C(passphrase_set); encrypted values (C(ENC(...))) are never returned.
  - Use O(gather) to limit the report, and so the number of tsm calls (each costs seconds).
extends_documentation_fragment:
  - tableau.tsm._connection
  - tableau.tsm._attributes
  - tableau.tsm._attributes.info_module
  - tableau.tsm._attributes.actiongroup_tsm
options:
  gather:
    description:
      - What to report. V(all) reports everything.
      - V(external_ssl), V(repository_ssl), V(custom_cert), V(kms), V(maestro) and V(mutual_ssl) share one
        C(tsm settings export) call. V(kms) adds C(tsm security kms status); V(custom_cert) adds
        C(tsm security custom-cert list) when a custom certificate is configured (for its subject, issuer and
        validity).
      - V(pending_changes) runs C(tsm pending-changes list), V(status) runs C(tsm status -v), V(version) runs
        C(tsm version).
    type: list
    elements: str
    choices: [all, external_ssl, repository_ssl, custom_cert, kms, maestro, mutual_ssl, pending_changes, status, version]
    default: [all]
notes:
  - The output of C(tsm status), C(tsm version), C(tsm security kms status), C(tsm security custom-cert list)
    and C(tsm pending-changes list) is not documented by Tableau; the module parses it tolerantly and reports
    V(null) (or V(UNKNOWN) for the server status) for what it cannot recognise.
  - When C(tsm security kms status) or C(tsm security custom-cert list) fails, the module warns and reports
    V(null) for those details; every other failed tsm call fails the module.
seealso:
  - module: tableau.tsm.tableau_external_ssl
  - module: tableau.tsm.tableau_repository_ssl
  - module: tableau.tsm.tableau_custom_cert
  - module: tableau.tsm.tableau_kms
  - module: tableau.tsm.tableau_maestro_rserve_ssl
  - module: tableau.tsm.tableau_maestro_tabpy_ssl
  - module: tableau.tsm.tableau_mutual_ssl
  - module: tableau.tsm.tableau_pending_changes
  - module: tableau.tsm.tableau_tls_check
author:
  - tableau.tsm contributors (@tableau-tsm)
"""

EXAMPLES = r"""
- name: Read everything
  tableau.tsm.tableau_security_info:
  register: tableau_security

- name: Fail when external SSL is off or a change is still pending
  ansible.builtin.assert:
    that:
      - tableau_security.external_ssl.enabled
      - tableau_security.pending_changes | length == 0
      - tableau_security.status.status == 'RUNNING'

- name: Only the gateway and repository SSL state (one tsm call)
  tableau.tsm.tableau_security_info:
    gather:
      - external_ssl
      - repository_ssl
  register: tableau_ssl

- name: Version and status of a cluster, from another node
  tableau.tsm.tableau_security_info:
    gather: [status, version]
    tsm_server: https://node1.example.com:8850
    tsm_username: "{{ tableau_tsm_username }}"
    tsm_password: "{{ tableau_tsm_password }}"
    trust_admin_controller_cert: true
"""

RETURN = r"""
gathered:
  description: The parts reported (O(gather) with V(all) expanded), in a fixed order.
  returned: always
  type: list
  elements: str
  sample: [external_ssl, repository_ssl, custom_cert, kms, maestro, mutual_ssl, pending_changes, status, version]
tsm_calls:
  description: How many times the module ran tsm.
  returned: always
  type: int
  sample: 5
external_ssl:
  description: External (gateway) SSL, as read by M(tableau.tsm.tableau_external_ssl).
  returned: when V(external_ssl) is gathered
  type: dict
  contains:
    enabled:
      description: Whether external SSL is enabled.
      type: bool
      returned: success
    cert_file_name:
      description: File name of the certificate in use (tsm records names, not paths).
      type: str
      returned: success
    cert_sha256_prefix:
      description: First 16 hex digits of the SHA-256 of the certificate file, when it was set by this collection.
      type: str
      returned: success
    key_file_name:
      description: File name of the private key.
      type: str
      returned: success
    chain_file_name:
      description: File name of the chain file.
      type: str
      returned: success
    passphrase_set:
      description: Whether a key passphrase is stored (the passphrase itself is never returned).
      type: bool
      returned: success
    protocols:
      description: The protocols the gateway accepts, or V(null) when the configured string cannot be parsed.
      type: list
      elements: str
      returned: success
    protocols_string:
      description: The configured protocol string, as tsm stores it.
      type: str
      returned: success
  sample:
    enabled: true
    cert_file_name: tableau-tsm-cert-0123456789abcdef.crt
    cert_sha256_prefix: 0123456789abcdef
    key_file_name: tableau-tsm-key-fedcba9876543210.key
    key_sha256_prefix: fedcba9876543210
    chain_file_name: null
    chain_sha256_prefix: null
    passphrase_set: false
    protocols: [TLSv1.2, TLSv1.3]
    protocols_string: all -SSLv2 -SSLv3 -TLSv1 -TLSv1.1
repository_ssl:
  description: Repository (PostgreSQL) SSL, as read by M(tableau.tsm.tableau_repository_ssl).
  returned: when V(repository_ssl) is gathered
  type: dict
  contains:
    enabled:
      description: Whether SSL is enabled for the repository.
      type: bool
      returned: success
    required:
      description: Whether SSL is required for all connections, including direct C(tableau)/C(readonly) users.
      type: bool
      returned: success
    internal_only:
      description: Whether SSL is required for internal connections only.
      type: bool
      returned: success
    mode:
      description: V(off), V(internal_only) or V(required).
      type: str
      returned: success
  sample: {enabled: true, required: true, internal_only: false, mode: required}
custom_cert:
  description:
    - The custom CA certificate, as read by M(tableau.tsm.tableau_custom_cert), with the details shown by
      C(tsm security custom-cert list) when one is configured.
  returned: when V(custom_cert) is gathered
  type: dict
  contains:
    present:
      description: Whether a custom CA certificate is configured.
      type: bool
      returned: success
    file_name:
      description: Its file name.
      type: str
      returned: success
    sha256_prefix:
      description: First 16 hex digits of its SHA-256, when it was added by this collection.
      type: str
      returned: success
    details:
      description:
        - What C(tsm security custom-cert list) shows (C(subject), C(issuer), C(serial_number), C(sha256), C(sha1),
          C(not_before), C(not_after); V(null) for what it does not show).
        - V(null) when no custom certificate is configured or the command failed.
      type: dict
      returned: success
  sample:
    present: true
    file_name: tableau-tsm-custom-ca-0123456789abcdef.crt
    sha256_prefix: 0123456789abcdef
    details:
      subject: CN=Example Root CA
      issuer: CN=Example Root CA
      serial_number: 1a2b
      sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
      sha1: null
      not_before: "2025-01-01T00:00:00Z"
      not_after: "2035-01-01T00:00:00Z"
kms:
  description:
    - The key management system configuration, as read by M(tableau.tsm.tableau_kms), and what
      C(tsm security kms status) shows.
  returned: when V(kms) is gathered
  type: dict
  contains:
    mode:
      description: V(local), V(aws) or V(azure).
      type: str
      returned: success
    aws_key_arn:
      description: ARN of the AWS customer master key (mode V(aws)).
      type: str
      returned: success
    aws_region:
      description: AWS region of the key (mode V(aws)).
      type: str
      returned: success
    azure_key_name:
      description: Azure key name (mode V(azure)).
      type: str
      returned: success
    azure_vault_name:
      description: Azure Key Vault name (mode V(azure)).
      type: str
      returned: success
    status:
      description:
        - Parsed C(tsm security kms status) - C(mode), C(aws_key_arn), C(aws_region), C(azure_key_name), C(azure_vault_name),
          C(root_master_key_id), C(master_extract_keys) (each with C(id), C(status), C(created),
          C(first_transition), C(decrypt_only_transition)) and C(other) (unrecognised lines of the form C(key) colon C(value)).
        - V(null) when the command failed. The status checks only the initial node.
      type: dict
      returned: success
  sample:
    mode: local
    aws_key_arn: null
    aws_region: null
    azure_key_name: null
    azure_vault_name: null
    status:
      mode: local
      root_master_key_id: 3f1c2d4e-0000-4000-8000-000000000001
      master_extract_keys:
        - id: 8ddd70df-be67-4dbf-9c35-1f0aa2421521
          status: encrypt or decrypt key
          created: "2026-01-01T00:00:00Z"
          first_transition: null
          decrypt_only_transition: null
maestro:
  description:
    - The Tableau Prep connections to Rserve (C(rserve)) and TabPy (C(tabpy)), as read by
      M(tableau.tsm.tableau_maestro_rserve_ssl) and M(tableau.tsm.tableau_maestro_tabpy_ssl).
    - Each has C(enabled), C(connection_type), C(secure), C(host), C(port), C(username), C(password_set),
      C(connect_timeout_ms), C(cert_file_name) and C(cert_sha256_prefix). The password is never returned.
  returned: when V(maestro) is gathered
  type: dict
  sample:
    rserve:
      enabled: true
      connection_type: maestro-rserve-secure
      secure: true
      host: rserve.example.com
      port: 6311
      username: rserve
      password_set: true
      connect_timeout_ms: 900000
      cert_file_name: tableau-tsm-rserve-cert-0123456789abcdef.crt
      cert_sha256_prefix: 0123456789abcdef
    tabpy:
      enabled: false
      connection_type: null
      secure: null
      host: null
      port: null
      username: null
      password_set: false
      connect_timeout_ms: null
      cert_file_name: null
      cert_sha256_prefix: null
mutual_ssl:
  description:
    - Mutual (client certificate) SSL, as read by M(tableau.tsm.tableau_mutual_ssl) - C(enabled),
      C(fallback_to_basic), C(user_name_mapping), C(ca_cert_file_name), C(ca_cert_sha256_prefix),
      C(revocation_file_name), C(revocation_sha256_prefix) and C(external_ssl_enabled).
  returned: when V(mutual_ssl) is gathered
  type: dict
  sample:
    enabled: false
    fallback_to_basic: false
    user_name_mapping: null
    ca_cert_file_name: null
    ca_cert_sha256_prefix: null
    revocation_file_name: null
    revocation_sha256_prefix: null
    external_ssl_enabled: true
pending_changes:
  description:
    - The pending changes (C(tsm pending-changes list)), in the form M(tableau.tsm.tableau_pending_changes)
      returns them - C(key), C(value) (secret-looking values masked) and C(restart) (V(true)/V(false) when the
      output says so, else V(null)); other lines come with a V(null) key.
    - Empty when nothing is pending.
  returned: when V(pending_changes) is gathered
  type: list
  elements: dict
  sample:
    - key: ssl.enabled
      value: "true"
      restart: null
restart_required:
  description: Whether applying the pending changes needs a server restart (V(false) when nothing is pending).
  returned: when V(pending_changes) is gathered
  type: bool
  sample: true
status:
  description: The server status from C(tsm status -v).
  returned: when V(status) is gathered
  type: dict
  contains:
    status:
      description: V(RUNNING), V(STOPPED), V(DEGRADED), or V(UNKNOWN) when the output shows something else.
      type: str
      returned: success
    status_text:
      description: The status as printed, or V(null) when no C(Status:) line was found.
      type: str
      returned: success
    nodes:
      description:
        - One entry per node (C(name), C(host)) with its C(processes) (C(name), C(status) - one of
          V(running), V(stopped), V(error), V(starting), V(unknown) - and C(status_text) as printed).
      type: list
      elements: dict
      returned: success
  sample:
    status: RUNNING
    status_text: RUNNING
    nodes:
      - name: node1
        host: node1.example.com
        processes:
          - {name: Gateway, status: running, status_text: running}
version:
  description: The Tableau Server version from C(tsm version).
  returned: when V(version) is gathered
  type: dict
  contains:
    version:
      description: Release as C(YYYY.N), from the version line or else from the build code.
      type: str
      returned: success
    version_full:
      description: The version as printed when it has more parts (C(2024.2.3)), else as printed or V(null).
      type: str
      returned: success
    build:
      description: The build code (as in C(customer-bin.<build>)), or V(null).
      type: str
      returned: success
  sample: {version: "2024.2", version_full: "2024.2", build: "20242.24.0807.0327"}
"""

import typing as t

from ansible_collections.tableau.tsm.plugins.module_utils._errors import TsmError, TsmInputError
from ansible_collections.tableau.tsm.plugins.module_utils._module import TsmModule
from ansible_collections.tableau.tsm.plugins.module_utils._state_common import (
    MASK,
    SECRET_KEY_RE,
    is_encrypted_value,
    secret_is_set,
)
from ansible_collections.tableau.tsm.plugins.module_utils import _state_custom_cert as custom_cert_state
from ansible_collections.tableau.tsm.plugins.module_utils import _state_external_ssl as external_ssl_state
from ansible_collections.tableau.tsm.plugins.module_utils import _state_kms as kms_state
from ansible_collections.tableau.tsm.plugins.module_utils import _state_maestro as maestro_state
from ansible_collections.tableau.tsm.plugins.module_utils import _state_mutual_ssl as mutual_ssl_state
from ansible_collections.tableau.tsm.plugins.module_utils import _state_repository_ssl as repository_ssl_state
from ansible_collections.tableau.tsm.plugins.module_utils._state_pending import parse_pending_list
from ansible_collections.tableau.tsm.plugins.module_utils._state_status import (
    parse_kms_status,
    parse_status,
    parse_version,
)

PARTS = ("external_ssl", "repository_ssl", "custom_cert", "kms", "maestro", "mutual_ssl",
         "pending_changes", "status", "version")
EXPORT_PARTS = frozenset(["external_ssl", "repository_ssl", "custom_cert", "kms", "maestro", "mutual_ssl"])


def scrub(data: t.Any, key: str = "") -> t.Any:
    """Defence in depth: no ENC(...) value and no value of a secret-looking key leaves the module
    (booleans such as ``password_set`` stay)."""
    if isinstance(data, dict):
        return {k: scrub(v, str(k)) for k, v in data.items()}
    if isinstance(data, list):
        return [scrub(v, key) for v in data]
    if isinstance(data, bool) or data is None:
        return data
    if is_encrypted_value(data):
        return MASK
    if key and SECRET_KEY_RE.search(key) and not key.endswith(("_set", "_sha256_prefix")) and secret_is_set(data):
        return MASK
    return data


def secret_values(export: t.Optional[t.Mapping[str, t.Any]]) -> t.Set[str]:
    """Values of secret-looking keys and ENC(...) values anywhere in the export, for no_log_values."""
    found: t.Set[str] = set()

    def walk(node: t.Any, key: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, str(k))
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str) and len(node.strip()) >= 4:
            if is_encrypted_value(node) or SECRET_KEY_RE.search(key):
                found.add(node)

    walk(export, "")
    return found


def expand_gather(gather: t.Optional[t.Sequence[str]]) -> t.List[str]:
    wanted = set(gather or ())
    if not wanted:
        raise TsmInputError("gather must name at least one of: all, %s" % ", ".join(PARTS))
    if "all" in wanted:
        return list(PARTS)
    return [part for part in PARTS if part in wanted]


class Reader:
    """Runs the read calls and counts them."""

    def __init__(self, module: TsmModule) -> None:
        self.module = module
        self.calls = 0

    def export(self) -> t.Dict[str, t.Any]:
        self.calls += 1
        return self.module.runner.export_settings()

    def run(self, args: t.List[str]) -> str:
        self.calls += 1
        return self.module.runner.run(args)[1]

    def try_run(self, args: t.List[str], what: str) -> t.Optional[str]:
        try:
            return self.run(args)
        except TsmError as exc:
            self.module.warn("Could not read %s: %s" % (what, exc))
            return None


def gather_info(module: TsmModule, parts: t.Sequence[str]) -> t.Dict[str, t.Any]:
    reader = Reader(module)
    result: t.Dict[str, t.Any] = {"gathered": list(parts)}
    try:
        export: t.Dict[str, t.Any] = {}
        if EXPORT_PARTS.intersection(parts):
            export = reader.export()
            module.no_log_values.update(secret_values(export))
        if "external_ssl" in parts:
            result["external_ssl"] = external_ssl_state.read_state(export)
        if "repository_ssl" in parts:
            result["repository_ssl"] = repository_ssl_state.read_state(export)
        if "custom_cert" in parts:
            custom = custom_cert_state.read_state(export)
            custom["details"] = None
            # the list shows subject, issuer and validity; also the only source when the export lacks the key
            if custom["present"] or not custom_cert_state.export_has_key(export):
                listed_text = reader.try_run(list(custom_cert_state.LIST_ARGS), "the custom certificate")
                if listed_text is not None:
                    listed = custom_cert_state.parse_custom_cert_list(listed_text)
                    if not custom_cert_state.export_has_key(export):
                        custom.update(custom_cert_state.state_from_list(listed))
                    if listed.get("present"):
                        custom["details"] = {k: v for k, v in listed.items() if k not in ("present", "file_name")}
            result["custom_cert"] = custom
        if "kms" in parts:
            kms = kms_state.read_state(export)
            kms_text = reader.try_run(["security", "kms", "status"], "the KMS status")
            kms["status"] = parse_kms_status(kms_text) if kms_text is not None else None
            result["kms"] = kms
        if "maestro" in parts:
            result["maestro"] = {service: maestro_state.read_state(export, service) for service in maestro_state.SERVICES}
        if "mutual_ssl" in parts:
            result["mutual_ssl"] = mutual_ssl_state.read_state(export)
        if "pending_changes" in parts:
            parsed = parse_pending_list(reader.run(["pending-changes", "list"]))
            changes = list(parsed["changes"])
            changes += [{"key": None, "value": line, "restart": None} for line in parsed["other"]]
            result["pending_changes"] = changes
            result["restart_required"] = bool(parsed["pending"] and parsed["restart_required"])
        if "status" in parts:
            result["status"] = parse_status(reader.run(["status", "-v"]))
        if "version" in parts:
            result["version"] = parse_version(reader.run(["version"]))
    except TsmError as exc:
        module.fail_from(exc, changed=False, tsm_calls=reader.calls, gathered=list(parts))
    result["tsm_calls"] = reader.calls
    return scrub(result)


def main() -> None:
    module = TsmModule(
        argument_spec={
            "gather": {"type": "list", "elements": "str", "default": ["all"], "choices": ["all"] + list(PARTS)},
        },
        supports_check_mode=True,
    )
    try:
        parts = expand_gather(module.params["gather"])
    except TsmInputError as exc:
        module.fail_from(exc)
        return
    result = gather_info(module, parts)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
