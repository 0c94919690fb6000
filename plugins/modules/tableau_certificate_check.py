#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: tableau_certificate_check
short_description: Check a Tableau gateway certificate, key, chain and passphrase before they are used
version_added: 1.0.0
description:
  - Checks a server certificate, its private key, an optional chain and an optional key passphrase on the host
    the module runs on, with the same checks that M(tableau.tsm.tableau_external_ssl) makes before any tsm write.
  - Meant as a preflight on the Ansible controller (delegated to V(localhost)), before the files are copied to
    a Tableau node or anything is changed; the C(tableau.tsm.hardening) and C(tableau.tsm.certificate_rotation)
    roles use it that way.
  - Errors are an unreadable or empty file, a file that is not a PEM or DER X.509 certificate or key, a
    certificate file with more than one certificate, an expired or not yet valid certificate, a key that does not
    match the certificate, an encrypted key without or with a wrong passphrase, a chain that does not certify the
    certificate or is in the wrong order, SHA-1 or MD5 signatures, RSA or DSA keys under 2048 bits, EC keys under
    256 bits, a certificate that does not match O(expected_hostname), and fewer than O(min_days_left) days of
    validity left.
  - Warnings (RV(certificate_warnings), also issued as Ansible warnings) are a certificate that expires within
    O(warn_days) days, a passphrase given for a key that is not encrypted, and a chain that starts with the server
    certificate itself.
  - The module never changes anything and needs no C(tsm).
  - When the task runs on the controller (delegated to V(localhost), or a host with the C(local) connection)
    without become, and the controller's Python has C(cryptography), the check runs inside the controller's
    Ansible process (in the module's action plugin) instead of a module process. The options and the results
    are the same; it costs the controller far less CPU. The task variable C(tableau_tsm_inprocess=false) turns
    this off. With become, C(async), a task C(environment) or any other connection the module runs as a normal
    module.
extends_documentation_fragment:
  - tableau.tsm._attributes
  - tableau.tsm._attributes.info_module
  - tableau.tsm._attributes.inprocess_check
requirements:
  - cryptography >= 3.4 (on the host the module runs on)
options:
  cert_file:
    description:
      - Path of the server certificate, PEM or DER, holding only the server certificate.
    type: path
    required: true
  key_file:
    description:
      - Path of the private key of O(cert_file), PEM or DER, optionally encrypted.
    type: path
    required: true
  chain_file:
    description:
      - Path of the intermediate certificates, PEM or DER, ordered from the issuer of O(cert_file) up to
        (optionally) the root.
    type: path
  passphrase:
    description:
      - Passphrase of an encrypted O(key_file). Never returned nor shown in a message.
    type: str
  expected_hostname:
    description:
      - When set, the certificate must be valid for this host name (subject alternative names, or the common
        name when there are none; wildcards are honoured).
    type: str
  warn_days:
    description:
      - A certificate (or chain certificate) that expires within this many days gives a warning.
    type: int
    default: 30
  min_days_left:
    description:
      - The certificate must be valid for at least this many more whole days, otherwise it is an error.
      - V(0) only refuses expired certificates.
    type: int
    default: 0
  fail_on_error:
    description:
      - When V(true), the module fails when RV(errors) is not empty, with all errors in its message.
      - When V(false), it returns RV(valid=false) and the RV(errors) instead, for a report or a later C(assert).
    type: bool
    default: true
notes:
  - The checks run on the host the module runs on, so the paths are paths on that host.
  - In the controller's process (see the description) the check uses the Python that runs Ansible, not
    C(ansible_python_interpreter); relative paths are relative to the playbook directory, as for a module run by
    the C(local) connection. O(passphrase) is removed from the whole result, warnings included.
seealso:
  - module: tableau.tsm.tableau_external_ssl
  - module: tableau.tsm.tableau_tls_check
author:
  - tableau.tsm contributors (@tableau-tsm)
"""

EXAMPLES = r"""
- name: Refuse a bad gateway certificate before anything is copied
  tableau.tsm.tableau_certificate_check:
    cert_file: files/tableau.example.com.crt
    key_file: files/tableau.example.com.key
    chain_file: files/chain.crt
    passphrase: "{{ vault_gateway_key_passphrase }}"
    expected_hostname: tableau.example.com
    min_days_left: 14
  delegate_to: localhost
  run_once: true
  register: gateway_cert

- name: Show the fingerprint the gateways must serve
  ansible.builtin.debug:
    msg: "{{ gateway_cert.fingerprint }}"

- name: Report instead of failing
  tableau.tsm.tableau_certificate_check:
    cert_file: /etc/pki/tableau/server.crt
    key_file: /etc/pki/tableau/server.key
    fail_on_error: false
  register: report
"""

RETURN = r"""
valid:
  description: Whether the certificate, key, chain and passphrase passed every check (no RV(errors)).
  returned: always
  type: bool
  sample: true
errors:
  description: What is wrong, one message per fault, naming the file. Never contains a secret.
  returned: always
  type: list
  elements: str
  sample: ["key file /srv/certs/server.key does not match the certificate in /srv/certs/server.crt (different public keys)"]
certificate_warnings:
  description:
    - Problems that do not make the input unusable, such as a certificate that expires soon.
    - The same messages are also issued as Ansible warnings, so they appear in the standard C(warnings) of the
      result as well.
  returned: always
  type: list
  elements: str
  sample: ["certificate file /srv/certs/server.crt expires in 12 days (on 2026-12-11)"]
certificate:
  description: The server certificate, when O(cert_file) could be read as a certificate.
  returned: when O(cert_file) holds a certificate
  type: dict
  contains:
    subject:
      description: Subject distinguished name.
      type: str
      sample: CN=tableau.example.com
    issuer:
      description: Issuer distinguished name.
      type: str
      sample: CN=Example Issuing CA
    sans:
      description: Subject alternative names, as C(DNS:name) or C(IP:address).
      type: list
      elements: str
      sample: ["DNS:tableau.example.com"]
    not_after:
      description: End of validity, UTC, ISO 8601.
      type: str
      sample: "2027-11-29T12:00:00Z"
    days_left:
      description: Whole days of validity left; negative when expired.
      type: int
      sample: 364
    sha256_fingerprint:
      description: SHA-256 fingerprint, upper-case hexadecimal pairs separated by colons.
      type: str
      sample: "3A:5F:...:9C"
    key_type:
      description: Type of the public key.
      type: str
      sample: RSA
    key_size:
      description: Size of the public key in bits.
      type: int
      sample: 2048
    self_signed:
      description: Whether the certificate is self-signed.
      type: bool
      sample: false
    format:
      description: Encoding of O(cert_file).
      type: str
      sample: PEM
fingerprint:
  description:
    - SHA-256 fingerprint of the certificate, upper-case hexadecimal pairs separated by colons, as
      M(tableau.tsm.tableau_tls_check) accepts in its O(tableau.tsm.tableau_tls_check#module:expected_fingerprint).
  returned: when O(cert_file) holds a certificate
  type: str
  sample: "3A:5F:...:9C"
key_encrypted:
  description: Whether O(key_file) is encrypted.
  returned: when O(key_file) could be read as a key
  type: bool
  sample: false
chain_length:
  description: Number of certificates in O(chain_file).
  returned: when O(chain_file) is given
  type: int
  sample: 2
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tableau.tsm.plugins.module_utils._certificate_check import ARGUMENT_SPEC, execute
from ansible_collections.tableau.tsm.plugins.module_utils._errors import run_check_module


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    run_check_module(module, execute)


if __name__ == "__main__":
    main()
