#!/usr/bin/python
# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: tableau_external_ssl
short_description: Manage external (gateway) SSL of Tableau Server with tsm security external-ssl
version_added: 1.0.0
description:
  - Enables or disables SSL for external traffic to the Tableau Server gateway with
    C(tsm security external-ssl enable) / C(disable), idempotently.
  - The certificate, key and optional chain are checked on the managed node before any tsm write call;
    bad input (unreadable or non-certificate files, expired or not yet valid certificates, a key that does
    not match the certificate, an encrypted key without or with a wrong passphrase, a chain that does not
    certify the certificate or is in the wrong order, SHA-1 or MD5 signatures, RSA/DSA keys under 2048 bits,
    EC keys under 256 bits, invalid protocols) fails with a message naming the file and the fault.
  - A certificate that expires within 30 days gives a warning.
  - The module hands tsm private copies of the files, named
    C(tableau-tsm-<role>-<first 16 hex digits of the SHA-256 of the content>.crt) (or C(.key)), converted
    to PEM when given as DER, in a private temporary directory that is removed afterwards. Because tsm records
    these names, the module compares content, not paths, from C(tsm settings export) alone. The same
    certificate under another path or in DER form is no change; a renewed certificate under the same path is.
    The key's name is derived from its public key, so the same key in PEM, DER, PKCS#8 or traditional form,
    encrypted or not, is no change either.
  - The current state is the requested configuration (applied plus pending), so running the module again
    before the change is applied reports no change.
  - A configuration made outside this module (file names without a content hash) is replaced once by named
    copies of the given files; later runs are idempotent.
  - Changes are staged; they take effect after C(tsm pending-changes apply), which restarts the gateway.
    See O(apply) and M(tableau.tsm.tableau_pending_changes).
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
    details:
      - The diff shows file names, content hashes, whether a passphrase is set, and protocols; never a secret.
  idempotent:
    support: full
requirements:
  - cryptography >= 3.4 (on the managed node) when O(state=present)
options:
  state:
    description:
      - V(present) enables external SSL with the given certificate, key, chain and protocols.
      - V(absent) disables external SSL (C(tsm security external-ssl disable)).
    type: str
    choices: [present, absent]
    default: present
  cert_file:
    description:
      - Path on the managed node of the server certificate, PEM or DER, containing only the server certificate.
      - Required when O(state=present).
    type: path
  key_file:
    description:
      - Path on the managed node of the private key of O(cert_file), PEM or DER, optionally encrypted.
      - Required when O(state=present).
    type: path
  chain_file:
    description:
      - Path on the managed node of the intermediate certificates, PEM or DER, ordered from the issuer of
        O(cert_file) up to (optionally) the root.
      - When omitted, a chain configured earlier is removed.
    type: path
  passphrase:
    description:
      - Passphrase of an encrypted O(key_file).
      - B(tsm offers no other way to pass it than its command line) (C(--passphrase)), so it is visible in the
        process table of the managed node while tsm runs and may be logged by tsm. The module masks it in its
        own results, errors and diffs.
      - Ignored, with a warning, when O(key_file) is not encrypted.
    type: str
  protocols:
    description:
      - The TLS protocol versions the gateway accepts, for example V([TLSv1.2, TLSv1.3]).
      - Each entry is a protocol name (V(TLSv1), V(TLSv1.1), V(TLSv1.2), V(TLSv1.3)) or V(all); a single
        Apache C(SSLProtocol) string such as V(all -SSLv3 -TLSv1 -TLSv1.1) is accepted too.
      - SSLv2 and SSLv3 are refused.
      - The module passes the canonical form to tsm, for example C(all -SSLv2 -SSLv3 -TLSv1 -TLSv1.1), and compares
        protocols as a set, so equivalent spellings are no change.
      - The default is Tableau's recommendation, TLS 1.2 and later only.
    type: list
    elements: str
    default: [TLSv1.2, TLSv1.3]
  expected_hostname:
    description:
      - When set, the certificate must be valid for this host name (subject alternative names, or the common
        name when there are none; wildcards are honoured), otherwise the module fails before any write.
    type: str
notes:
  - tsm requires certificate and chain files to be PEM with a C(.crt) extension; the module takes care of it.
  - A passphrase-protected key cannot be reused for SAML on Tableau Server.
seealso:
  - module: tableau.tsm.tableau_pending_changes
  - module: tableau.tsm.tableau_tls_check
  - name: tsm security external-ssl
    description: Tableau's reference of the command.
    link: https://help.tableau.com/current/server-linux/en-us/cli_security_tsm.htm
author:
  - tableau.tsm contributors (@tableau-tsm)
"""

EXAMPLES = r"""
- name: Enable external SSL (staged, applied later by a handler)
  tableau.tsm.tableau_external_ssl:
    cert_file: /etc/pki/tableau/server.crt
    key_file: /etc/pki/tableau/server.key
    chain_file: /etc/pki/tableau/chain.crt
    expected_hostname: tableau.example.com
  notify: tableau tsm apply

- name: Enable with an encrypted key, TLS 1.3 only, and apply right away
  tableau.tsm.tableau_external_ssl:
    cert_file: /etc/pki/tableau/server.der
    key_file: /etc/pki/tableau/server-enc.key
    passphrase: "{{ vault_tableau_key_passphrase }}"
    protocols: [TLSv1.3]
    apply: true

- name: Set the connection options once for the whole play
  module_defaults:
    group/tableau.tsm.tsm:
      tsm_server: https://node1.example.com:8850
      tsm_username: "{{ tableau_tsm_username }}"
      tsm_password: "{{ tableau_tsm_password }}"
  block:
    - name: Disable external SSL
      tableau.tsm.tableau_external_ssl:
        state: absent
"""

RETURN = r"""
state:
  description:
    - The external SSL configuration after the task (in check mode, as it would be), from C(tsm settings export)
      (applied plus pending). No secret values.
  returned: always
  type: dict
  contains:
    enabled:
      description: Whether external SSL is enabled.
      type: bool
      sample: true
    cert_file_name:
      description: File name of the certificate as recorded by tsm.
      type: str
      sample: tableau-tsm-cert-3f2a9c0d1e4b5a6f.crt
    cert_sha256_prefix:
      description: First 16 hex digits of the SHA-256 of the certificate file given to tsm, from its name; V(null) for names not made by this collection.
      type: str
      sample: 3f2a9c0d1e4b5a6f
    key_file_name:
      description: File name of the key as recorded by tsm.
      type: str
      sample: tableau-tsm-key-0b1c2d3e4f5a6b7c.key
    key_sha256_prefix:
      description: Hash prefix from the key file name (the SHA-256 of the DER-encoded public key).
      type: str
      sample: 0b1c2d3e4f5a6b7c
    chain_file_name:
      description: File name of the chain as recorded by tsm, V(null) without a chain.
      type: str
      sample: tableau-tsm-chain-9a8b7c6d5e4f3a2b.crt
    chain_sha256_prefix:
      description: Content hash prefix from the chain file name.
      type: str
      sample: 9a8b7c6d5e4f3a2b
    passphrase_set:
      description: Whether a key passphrase is stored (never the passphrase).
      type: bool
      sample: false
    protocols:
      description: Enabled protocols, oldest first; V(null) when the server's value cannot be parsed.
      type: list
      elements: str
      sample: [TLSv1.2, TLSv1.3]
    protocols_string:
      description: The protocol string as stored by tsm (or as the module passes it).
      type: str
      sample: all -SSLv2 -SSLv3 -TLSv1 -TLSv1.1
  sample:
    enabled: true
    cert_file_name: tableau-tsm-cert-3f2a9c0d1e4b5a6f.crt
    cert_sha256_prefix: 3f2a9c0d1e4b5a6f
    key_file_name: tableau-tsm-key-0b1c2d3e4f5a6b7c.key
    key_sha256_prefix: 0b1c2d3e4f5a6b7c
    chain_file_name: null
    chain_sha256_prefix: null
    passphrase_set: false
    protocols: [TLSv1.2, TLSv1.3]
    protocols_string: all -SSLv2 -SSLv3 -TLSv1 -TLSv1.1
certificate:
  description: Facts about O(cert_file) and O(chain_file) as checked.
  returned: when O(state=present)
  type: dict
  sample:
    subject: CN=tableau.example.com
    issuer: CN=Example Issuing CA
    serial_number: 1a2b3c
    sha256_fingerprint: "3F:2A:9C:..."
    sha256: 3f2a9c...
    not_before: "2026-01-01T00:00:00Z"
    not_after: "2027-01-01T00:00:00Z"
    days_left: 200
    subject_alt_names: ["DNS:tableau.example.com"]
    key_type: RSA
    key_size: 2048
    signature_hash: sha256
    self_signed: false
    format: PEM
    chain_end: self-signed root
pending_changes:
  description:
    - What this task staged (in check mode, would stage), one entry per tsm call, secrets masked and private
      copies shown by file name. Empty when nothing changed.
  returned: always
  type: list
  elements: dict
  sample:
    - family: external_ssl
      action: enable
      command: >-
        tsm security external-ssl enable --cert-file tableau-tsm-cert-3f2a9c0d1e4b5a6f.crt
        --key-file tableau-tsm-key-0b1c2d3e4f5a6b7c.key --protocols all -SSLv2 -SSLv3 -TLSv1 -TLSv1.1
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

import typing as t

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.tableau.tsm.plugins.module_utils._certificates import (
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_CRYPTOGRAPHY,
    check_server_certificate,
)
from ansible_collections.tableau.tsm.plugins.module_utils._errors import TsmError
from ansible_collections.tableau.tsm.plugins.module_utils._files import PrivateCopies, content_hash, content_name
from ansible_collections.tableau.tsm.plugins.module_utils._module import TsmModule
from ansible_collections.tableau.tsm.plugins.module_utils._protocols import (
    protocols_from_list,
    render_protocols,
    sorted_protocols,
)
from ansible_collections.tableau.tsm.plugins.module_utils._state_external_ssl import (
    FAMILY,
    ROLE_CERT,
    ROLE_CHAIN,
    ROLE_KEY,
    differences,
    read_state,
)


def desired_present(check: t.Any, protocols: t.FrozenSet[str]) -> t.Dict[str, t.Any]:
    chain = check.chain_pem
    return {
        "enabled": True,
        "cert_file_name": content_name(ROLE_CERT, check.cert_pem, ".crt"),
        "cert_sha256_prefix": content_hash(check.cert_pem),
        "key_file_name": content_name(ROLE_KEY, check.key_id, ".key"),
        "key_sha256_prefix": content_hash(check.key_id),
        "chain_file_name": content_name(ROLE_CHAIN, chain, ".crt") if chain else None,
        "chain_sha256_prefix": content_hash(chain) if chain else None,
        "passphrase_set": bool(check.key_encrypted),
        "protocols": sorted_protocols(protocols),
        "protocols_string": render_protocols(protocols),
    }


def desired_absent(current: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    after = dict(current)
    after.update({
        "enabled": False,
        "cert_file_name": None, "cert_sha256_prefix": None,
        "key_file_name": None, "key_sha256_prefix": None,
        "chain_file_name": None, "chain_sha256_prefix": None,
        "passphrase_set": False,
    })
    return after


def stage_enable(module: TsmModule, check: t.Any, desired: t.Mapping[str, t.Any], passphrase: t.Optional[str]) -> None:
    def argv(cert: str, key: str, chain: t.Optional[str]) -> t.List[str]:
        args = ["security", "external-ssl", "enable", "--cert-file", cert, "--key-file", key]
        if chain:
            args += ["--chain-file", chain]
        if check.key_encrypted:
            args += ["--passphrase", passphrase or ""]
        args += ["--protocols", desired["protocols_string"]]
        return args

    display = argv(desired["cert_file_name"], desired["key_file_name"], desired["chain_file_name"])
    if module.check_mode:
        module.stage(FAMILY, "enable", display)
        return
    with PrivateCopies() as copies:
        cert_path = copies.add(ROLE_CERT, check.cert_pem, ".crt")
        key_path = copies.add(ROLE_KEY, check.key_pem, ".key", name_data=check.key_id)
        chain_path = copies.add(ROLE_CHAIN, check.chain_pem, ".crt") if check.chain_pem else None
        module.stage(FAMILY, "enable", argv(cert_path, key_path, chain_path), display=display)


def main() -> None:
    module = TsmModule(
        argument_spec={
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
            "cert_file": {"type": "path"},
            "key_file": {"type": "path", "no_log": False},
            "chain_file": {"type": "path"},
            "passphrase": {"type": "str", "no_log": True},
            "protocols": {"type": "list", "elements": "str", "default": ["TLSv1.2", "TLSv1.3"]},
            "expected_hostname": {"type": "str"},
        },
        staging=True,
        supports_check_mode=True,
        required_if=[("state", "present", ["cert_file", "key_file"])],
    )
    params = module.params
    extra: t.Dict[str, t.Any] = {}
    try:
        check = None
        protocols: t.FrozenSet[str] = frozenset()
        if params["state"] == "present":
            if not HAS_CRYPTOGRAPHY:
                module.fail_json(msg=missing_required_lib("cryptography"), exception=CRYPTOGRAPHY_IMPORT_ERROR)
            protocols = protocols_from_list(params["protocols"])
            check = check_server_certificate(
                params["cert_file"], params["key_file"], params["chain_file"],
                passphrase=params["passphrase"], hostname=params["expected_hostname"],
            )
            for warning in check.warnings:
                module.warn(warning)
            check.raise_for_errors()
            extra["certificate"] = dict(check.info, chain_end=check.chain_end)

        # The single read call: the requested configuration (applied + pending).
        current = read_state(module.runner.export_settings())

        if check is not None:
            desired = desired_present(check, protocols)
            changed = bool(differences(current, desired))
            if changed:
                stage_enable(module, check, desired, params["passphrase"])
        else:
            desired = desired_absent(current)
            changed = bool(current["enabled"])
            if changed:
                module.stage(FAMILY, "disable", ["security", "external-ssl", "disable"])
        module.apply_if_requested()
    except TsmError as exc:
        module.fail_from(exc, **extra)

    after = desired if changed else current
    module.finish(changed, current, after, state=after, **extra)


if __name__ == "__main__":
    main()
