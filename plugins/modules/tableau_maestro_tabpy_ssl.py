#!/usr/bin/python
# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: tableau_maestro_tabpy_ssl
short_description: Manage the Tableau Prep flow connection to TabPy with tsm security maestro-tabpy-ssl
version_added: 1.0.0
description:
  - Enables, changes or disables the connection that Tableau Prep flows on Tableau Server use to reach a TabPy
    server, with C(tsm security maestro-tabpy-ssl enable) / C(disable), idempotently.
  - The module reads the requested configuration (applied plus pending) once with C(tsm settings export),
    compares connection type, host, port, user name, connect timeout and the content of the certificate,
    and stages C(enable) only when something differs (or a password must be set, see O(update_password)).
  - Input is checked before any tsm write call; a port out of range, a non-positive timeout, an empty host,
    O(secure=true) without O(cert_file), and an unreadable, non-certificate, expired, not yet valid, SHA-1 signed
    or weak (RSA under 2048 bits) O(cert_file) fail with a message naming the option and the fault.
    A certificate expiring within 30 days gives a warning.
  - The certificate is handed to tsm as a private PEM copy named
    C(tableau-tsm-tabpy-cert-<first 16 hex digits of its SHA-256>.crt), removed afterwards. Because tsm records
    that name, the module compares content, not paths; the same certificate under another path or in DER form is
    no change, a renewed certificate under the same path is.
  - Changes are staged; they take effect after C(tsm pending-changes apply). See O(apply) and
    M(tableau.tsm.tableau_pending_changes).
extends_documentation_fragment:
  - tableau.tsm._connection
  - tableau.tsm._connection.apply
  - tableau.tsm._attributes
  - tableau.tsm._attributes.actiongroup_tsm
  - tableau.tsm._maestro
options:
  state:
    description:
      - V(present) enables the TabPy connection with the given settings.
      - V(absent) disables it (C(tsm security maestro-tabpy-ssl disable)); the other options are then ignored.
    type: str
    choices: [present, absent]
    default: present
  secure:
    description:
      - V(true) uses connection type C(maestro-tabpy-secure) (TLS, needs O(cert_file)),
        V(false) uses C(maestro-tabpy) (unencrypted).
    type: bool
    default: true
  host:
    description:
      - Host name or IP address of the TabPy server.
      - Required when O(state=present). Compared case-insensitively.
    type: str
  port:
    description:
      - Port of the TabPy server, from 1 to 65535.
    type: int
    default: 9004
  password:
    description:
      - Password of O(username).
      - It cannot be read back from Tableau Server; O(update_password) decides when it is passed.
      - B(tsm offers no other way to pass it than its command line) (C(--tabpy-password)), so it is visible in the
        process table of the managed node while tsm runs and may be logged by tsm. The module masks it in its own
        results, errors and diffs.
    type: str
  connect_timeout_ms:
    description:
      - Connect timeout in milliseconds (C(--tabpy-connect-timeout-ms)), a positive number.
      - The default is the value used in Tableau's documentation (15 minutes).
    type: int
    default: 900000
notes:
  - The configuration key names (C(maestro.tabpy.*)) are not verified against a real Tableau Server.
seealso:
  - module: tableau.tsm.tableau_maestro_rserve_ssl
  - module: tableau.tsm.tableau_pending_changes
  - name: tsm security maestro-tabpy-ssl
    description: Tableau's reference of the command.
    link: https://help.tableau.com/current/server-linux/en-us/cli_security_tsm.htm
author:
  - tableau.tsm contributors (@tableau-tsm)
"""

EXAMPLES = r"""
- name: Connect Prep flows to TabPy over TLS (staged, applied later by a handler)
  tableau.tsm.tableau_maestro_tabpy_ssl:
    host: tabpy.example.com
    port: 9004
    username: tableau
    password: "{{ vault_tabpy_password }}"
    cert_file: /etc/pki/tableau/tabpy.crt
  notify: tableau tsm apply

- name: Rotate the TabPy password (stages enable on every run while update_password is always)
  tableau.tsm.tableau_maestro_tabpy_ssl:
    host: tabpy.example.com
    username: tableau
    password: "{{ vault_tabpy_new_password }}"
    update_password: always
    cert_file: /etc/pki/tableau/tabpy.crt

- name: Unencrypted connection without authentication, applied right away
  tableau.tsm.tableau_maestro_tabpy_ssl:
    host: 10.0.0.12
    secure: false
    connect_timeout_ms: 60000
    apply: true

- name: Disable the TabPy connection
  tableau.tsm.tableau_maestro_tabpy_ssl:
    state: absent
"""

RETURN = r"""
state:
  description:
    - The TabPy connection after the task (in check mode, as it would be), from C(tsm settings export)
      (applied plus pending). No secret values.
  returned: always
  type: dict
  contains:
    enabled:
      description: Whether the connection is enabled.
      type: bool
      sample: true
    connection_type:
      description: C(maestro-tabpy-secure) or C(maestro-tabpy); V(null) when disabled.
      type: str
      sample: maestro-tabpy-secure
    secure:
      description: Whether the connection type is the secure one; V(null) when disabled.
      type: bool
      sample: true
    host:
      description: TabPy host.
      type: str
      sample: tabpy.example.com
    port:
      description: TabPy port.
      type: int
      sample: 9004
    username:
      description: TabPy user name.
      type: str
      sample: tableau
    password_set:
      description: Whether a password is stored (never the password).
      type: bool
      sample: true
    connect_timeout_ms:
      description: Connect timeout in milliseconds.
      type: int
      sample: 900000
    cert_file_name:
      description: File name of the certificate as recorded by tsm.
      type: str
      sample: tableau-tsm-tabpy-cert-3f2a9c0d1e4b5a6f.crt
    cert_sha256_prefix:
      description: First 16 hex digits of the SHA-256 of the certificate file given to tsm, from its name; V(null) for names not made by this collection.
      type: str
      sample: 3f2a9c0d1e4b5a6f
  sample:
    enabled: true
    connection_type: maestro-tabpy-secure
    secure: true
    host: tabpy.example.com
    port: 9004
    username: tableau
    password_set: true
    connect_timeout_ms: 900000
    cert_file_name: tableau-tsm-tabpy-cert-3f2a9c0d1e4b5a6f.crt
    cert_sha256_prefix: 3f2a9c0d1e4b5a6f
changed_settings:
  description: Why this task staged a change (names of the differing settings); empty when nothing changed.
  returned: always
  type: list
  elements: str
  sample: [host, password_set]
certificate:
  description: Facts about the first certificate of O(cert_file) as checked.
  returned: when O(cert_file) is given and O(state=present)
  type: dict
  sample:
    subject: CN=tabpy.example.com
    issuer: CN=Example Issuing CA
    serial_number: 1a2b3c
    sha256_fingerprint: "3F:2A:9C:..."
    sha256: 3f2a9c...
    not_before: "2026-01-01T00:00:00Z"
    not_after: "2027-01-01T00:00:00Z"
    days_left: 200
    subject_alt_names: ["DNS:tabpy.example.com"]
    key_type: RSA
    key_size: 2048
    signature_hash: sha256
    self_signed: false
    format: PEM
    count: 1
pending_changes:
  description:
    - What this task staged (in check mode, would stage), one entry per tsm call, the password masked and the
      certificate copy shown by file name. Empty when nothing changed.
  returned: always
  type: list
  elements: dict
  sample:
    - family: maestro_tabpy
      action: enable
      command: >-
        tsm security maestro-tabpy-ssl enable --connection-type maestro-tabpy-secure --tabpy-host tabpy.example.com
        --tabpy-port 9004 --tabpy-username tableau --tabpy-password ******** --tabpy-connect-timeout-ms 900000
        -cf tableau-tsm-tabpy-cert-3f2a9c0d1e4b5a6f.crt
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

from ansible_collections.tableau.tsm.plugins.module_utils._maestro import main as maestro_main


def main() -> None:
    maestro_main("tabpy")


if __name__ == "__main__":
    main()
