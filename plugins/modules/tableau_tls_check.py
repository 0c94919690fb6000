#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: tableau_tls_check
short_description: Check a Tableau Server TLS endpoint with a real handshake
version_added: 1.0.0
description:
  - Connects to O(host):O(port), completes a TLS handshake (optionally after a PostgreSQL C(SSLRequest), as
    for the Tableau repository) and reports the negotiated protocol and cipher and the server certificate.
  - Probes every protocol listed in O(protocols_accepted) and O(protocols_refused) in a connection of its own
    that is pinned to that one protocol, and reports whether the server accepted it.
  - Fails when an expectation is not met (certificate fingerprint, certificate file, days left before expiry,
    chain verification, protocols that must be accepted or refused), or reports RV(passed=false) with the list of
    RV(failures) when O(fail_on_mismatch=false).
  - The module never changes anything, neither on the node it runs on nor on the server. It needs no C(tsm).
  - The client lowers its own OpenSSL security level to 0 (C(DEFAULT:@SECLEVEL=0)) for every handshake, so that
    a refused TLS 1.0 or TLS 1.1 handshake is refused by the server, not by the client's own default policy.
author:
  - tableau.tsm contributors (@tableau-tsm)
requirements:
  - Python's C(ssl) module (OpenSSL). C(cryptography) on the node is optional; without it the certificate is
    decoded with what C(ssl) offers.
extends_documentation_fragment:
  - tableau.tsm._attributes
  - tableau.tsm._attributes.info_module
options:
  host:
    description:
      - Host name or IP address to connect to, for example a node's gateway or the repository node.
    type: str
    required: true
  port:
    description:
      - TCP port. The Tableau gateway listens on V(443); the repository (PostgreSQL) on V(8060) by default.
    type: int
    default: 443
  server_name:
    description:
      - Server name sent in the TLS SNI extension.
      - Defaults to O(host). No SNI is sent when this is an IP address (or O(host) is one and this is not set).
    type: str
  starttls:
    description:
      - V(none) starts TLS right away (the gateway).
      - V(postgres) first sends the 8-byte PostgreSQL C(SSLRequest) and expects C(S) before the handshake, as
        a PostgreSQL client does (the repository). When the server answers C(N) it refuses SSL altogether;
        this is reported as RV(tls_available=false) and a failure.
    type: str
    choices: [none, postgres]
    default: none
  postgres_plaintext:
    description:
      - Only with O(starttls=postgres). Also checks whether the repository accepts an B(unencrypted) connection -
        the module sends a PostgreSQL protocol 3 C(StartupMessage) without an C(SSLRequest) before it, for
        O(postgres_probe_user) and O(postgres_probe_database), reads the server's first answer and closes the
        connection. It never authenticates and never sends a password.
      - An C(ErrorResponse) with SQLSTATE C(28000) (C(pg_hba.conf rejects connection ... no encryption) or
        C(no pg_hba.conf entry ... no encryption)) means refused; an authentication request (C(R)) means
        accepted. The result is RV(plaintext_accepted), with the server's answer in RV(plaintext_detail).
      - V(refused) is what C(tsm security repository-ssl enable) (SSL required for every connection) must give;
        V(accepted) is what C(--internal-only) (SSL for connections from outside the cluster only) and SSL off give.
        A result that differs, or any other answer (for example SQLSTATE C(57P03), the database system is
        starting up), is a failure.
      - When not set (the default) the plaintext probe is not made.
    type: str
    choices: [refused, accepted]
  postgres_probe_user:
    description:
      - User name sent in the plaintext probe's C(StartupMessage) (see O(postgres_plaintext)).
      - pg_hba.conf rules can name users. Keep the default, a user that does not exist, unless a rule for
        a specific user is what you want to test; a rule that rejects every unknown user makes the probe report
        refused for that reason.
    type: str
    default: tableau_tsm_probe
  postgres_probe_database:
    description:
      - Database name sent in the plaintext probe's C(StartupMessage). V(workgroup) is the Tableau repository.
    type: str
    default: workgroup
  timeout:
    description:
      - Seconds to wait for each connection and handshake.
    type: float
    default: 10
  protocols_accepted:
    description:
      - Protocols that the server must accept. Each is probed in a connection of its own.
      - Names as in C(tsm security external-ssl enable --protocols), case-insensitive
        (V(TLSv1), V(TLSv1.1), V(TLSv1.2), V(TLSv1.3); V(TLSv1.0) means V(TLSv1)).
      - V(SSLv2) and V(SSLv3) cannot be probed, so they cannot be required here.
    type: list
    elements: str
    default: []
  protocols_refused:
    description:
      - Protocols that the server must refuse. Each is probed in a connection of its own.
      - Same names as O(protocols_accepted), plus V(SSLv2) and V(SSLv3). The OpenSSL 3 library used by the
        client implements neither, and neither can be enabled in an OpenSSL 1.1 or 3 based server such as
        Tableau Server's gateway, so they are reported as refused by construction, with a note in
        RV(protocol_details), without a connection.
    type: list
    elements: str
    default: []
  expected_fingerprint:
    description:
      - SHA-256 fingerprint that the server certificate must have; hexadecimal, with or without colons,
        case-insensitive (the output of C(openssl x509 -noout -fingerprint -sha256) is accepted as is).
    type: str
  expected_cert_file:
    description:
      - Certificate file on the managed node (PEM or DER) that the server must present, compared by
        SHA-256 fingerprint. For a PEM file with several certificates the first one counts.
    type: path
  min_days_left:
    description:
      - Minimum number of whole days before the server certificate expires. An expired certificate has a
        negative RV(certificate.days_left).
    type: int
  ca_file:
    description:
      - PEM file with CA certificates to verify the server's certificate chain against. The chain is verified,
        the host name is not. The result is RV(chain_verified).
      - Without it the chain is not verified.
    type: path
  fail_on_mismatch:
    description:
      - When V(true), the module fails when an expectation is not met.
      - When V(false), it returns RV(passed=false) and the RV(failures) instead, for a report or a later
        C(assert).
      - Errors that prevent the check altogether (host unreachable, connection refused, timeout, a handshake that
        fails for any protocol, bad input) fail the module in both cases.
    type: bool
    default: true
notes:
  - The plaintext probe (O(postgres_plaintext)) leaves one failed connection attempt in the PostgreSQL log of
    the repository (a pg_hba rejection or an incomplete authentication by user C(tableau_tsm_probe)).
  - The certificate is read without verification (unless O(ca_file) is set, and then in a second connection),
    so that the certificate of a misconfigured server can still be reported.
  - The first handshake offers TLS 1.0 to TLS 1.3 and lets the server choose; RV(protocol) is its choice.
  - RV(chain_length) is only returned when the Python C(ssl) module on the managed node exposes the chain the
    server sent (public API since Python 3.13).
seealso:
  - module: tableau.tsm.tableau_external_ssl
  - module: tableau.tsm.tableau_repository_ssl
  - module: tableau.tsm.tableau_security_info
"""

EXAMPLES = r"""
- name: The gateway serves the new certificate and refuses TLS 1.0 and 1.1
  tableau.tsm.tableau_tls_check:
    host: "{{ inventory_hostname }}"
    port: 443
    server_name: tableau.example.com
    expected_fingerprint: "3B:8A:01:5C:...:9F"
    protocols_accepted: [TLSv1.2, TLSv1.3]
    protocols_refused: [SSLv3, TLSv1, TLSv1.1]
  delegate_to: localhost

- name: The repository only speaks SSL with the certificate that tsm handed out
  tableau.tsm.tableau_tls_check:
    host: "{{ inventory_hostname }}"
    port: 8060
    starttls: postgres
    expected_cert_file: /var/opt/tableau/repository/server.crt
    protocols_refused: [TLSv1, TLSv1.1]

- name: The repository requires SSL (tsm security repository-ssl enable) - plaintext is refused
  tableau.tsm.tableau_tls_check:
    host: "{{ inventory_hostname }}"
    port: 8060
    starttls: postgres
    postgres_plaintext: refused
  delegate_to: localhost

- name: The repository in internal-only mode - SSL offered, plaintext still accepted (inside the cluster)
  tableau.tsm.tableau_tls_check:
    host: "{{ inventory_hostname }}"
    port: 8060
    starttls: postgres
    postgres_plaintext: accepted
    fail_on_mismatch: false
  register: repository_tls

- name: Show what the repository answered to the unencrypted startup
  ansible.builtin.debug:
    msg: "plaintext accepted: {{ repository_tls.plaintext_accepted }} ({{ repository_tls.plaintext_detail }})"

- name: Expiry gate - report, and fail the play later with a readable summary
  tableau.tsm.tableau_tls_check:
    host: tableau.example.com
    min_days_left: 30
    ca_file: /etc/pki/tls/certs/corporate-ca.pem
    fail_on_mismatch: false
  register: gateway_tls

- name: Stop when the gateway certificate expires within 30 days
  ansible.builtin.assert:
    that: gateway_tls.passed
    fail_msg: "{{ gateway_tls.failures | join('; ') }}"
    success_msg: "{{ gateway_tls.certificate.days_left }} days left, valid until {{ gateway_tls.certificate.not_after }}"
"""

RETURN = r"""
host:
  description: The host that was checked.
  returned: always
  type: str
  sample: node1.example.com
port:
  description: The port that was checked.
  returned: always
  type: int
  sample: 443
server_name:
  description: The server name sent as SNI (not sent when it is an IP address).
  returned: always
  type: str
  sample: tableau.example.com
starttls:
  description: The STARTTLS method used, V(none) or V(postgres).
  returned: always
  type: str
  sample: postgres
tls_available:
  description:
    - Whether a TLS handshake was possible at all.
    - V(false) when a PostgreSQL server answered C(N) to the C(SSLRequest) (SSL is off).
  returned: always
  type: bool
  sample: true
protocol:
  description: Protocol negotiated when the client offered TLS 1.0 to TLS 1.3.
  returned: always (null when RV(tls_available=false))
  type: str
  sample: TLSv1.3
cipher:
  description: Cipher suite negotiated in that handshake (OpenSSL name).
  returned: always (null when RV(tls_available=false))
  type: str
  sample: TLS_AES_256_GCM_SHA384
certificate:
  description: The server (leaf) certificate.
  returned: always (null when RV(tls_available=false))
  type: dict
  contains:
    subject:
      description: Subject as an RFC 4514 string.
      type: str
      sample: CN=tableau.example.com,O=Example Corp,C=US
    issuer:
      description: Issuer as an RFC 4514 string.
      type: str
      sample: CN=Example Issuing CA,O=Example Corp,C=US
    sans:
      description: Subject alternative names, each prefixed by its type (C(DNS:), C(IP:), C(email:), C(URI:)).
      type: list
      elements: str
      sample: ["DNS:tableau.example.com", "IP:10.0.0.5"]
    serial:
      description: Serial number in hexadecimal, as C(openssl x509 -serial) prints it.
      type: str
      sample: 3A0F1C55D2E64B7A
    not_before:
      description: Start of validity, ISO 8601 UTC.
      type: str
      sample: "2025-01-01T00:00:00Z"
    not_after:
      description: End of validity, ISO 8601 UTC.
      type: str
      sample: "2026-01-01T00:00:00Z"
    days_left:
      description: Whole days from now until RV(certificate.not_after); negative when expired.
      type: int
      sample: 245
    sha256_fingerprint:
      description: SHA-256 fingerprint of the DER certificate, lowercase hex pairs separated by colons.
      type: str
      sample: "3b:8a:01:5c:7e:22:90:4d:aa:10:6f:0e:c1:58:2b:77:19:e4:05:c3:8d:61:f0:2a:9b:44:de:73:08:b6:51:9f"
chain_length:
  description: Number of certificates the server sent (leaf included).
  returned: when RV(tls_available=true) and the Python C(ssl) module on the managed node exposes the peer's
    unverified chain (public in Python 3.13, available privately in earlier CPython 3 versions)
  type: int
  sample: 2
chain_verified:
  description: Whether the server's chain verifies against O(ca_file).
  returned: when O(ca_file) is set and RV(tls_available=true)
  type: bool
  sample: true
protocols:
  description:
    - For each protocol of O(protocols_accepted) and O(protocols_refused), whether the server accepted a
      handshake pinned to it.
    - V(SSLv2) and V(SSLv3) are always V(false) (refused by construction, see O(protocols_refused)).
    - Null for a protocol that the local OpenSSL cannot offer (then a failure is reported).
  returned: always
  type: dict
  sample: {"TLSv1": false, "TLSv1.1": false, "TLSv1.2": true, "TLSv1.3": true}
protocol_details:
  description: For each probed protocol, RV(protocols) value and a note saying why (the server's alert, the cipher).
  returned: always
  type: dict
  sample:
    TLSv1.1:
      accepted: false
      note: "refused by the server: TLSV1_ALERT_PROTOCOL_VERSION"
    TLSv1.3:
      accepted: true
      note: "accepted (cipher TLS_AES_256_GCM_SHA384)"
plaintext_accepted:
  description:
    - Whether the repository accepted an unencrypted PostgreSQL C(StartupMessage) (answered with an
      authentication request), see O(postgres_plaintext).
    - V(false) when pg_hba.conf rejected it (SQLSTATE C(28000)); null when the answer said neither (then a
      failure is reported).
  returned: when O(postgres_plaintext) is set
  type: bool
  sample: false
plaintext_detail:
  description: The server's answer to the unencrypted startup, in one sentence (SQLSTATE and message of an error).
  returned: when O(postgres_plaintext) is set
  type: str
  sample: >-
    refused for lack of encryption: SQLSTATE 28000: pg_hba.conf rejects connection for host "127.0.0.1",
    user "tableau_tsm_probe", database "workgroup", no encryption
failures:
  description: Every expectation that was not met, one sentence each. Empty when RV(passed=true).
  returned: always
  type: list
  elements: str
  sample: ["TLSv1.1 must be refused but the server accepted it"]
passed:
  description: Whether every expectation was met.
  returned: always
  type: bool
  sample: true
"""

import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tableau.tsm.plugins.module_utils import _tls


def _protocol_list(module, option, allow_unprobeable):
    result = []
    for name in module.params[option] or []:
        canonical = _tls.canonical_protocol(name)
        if canonical is None:
            module.fail_json(msg="%s: unknown protocol %r; use one of %s" % (
                option, name, ", ".join(_tls.ALL_PROTOCOLS if allow_unprobeable else _tls.PROBEABLE_PROTOCOLS)))
        if not allow_unprobeable and canonical in _tls.UNPROBEABLE_PROTOCOLS:
            module.fail_json(msg="%s: %s cannot be probed (no current OpenSSL implements it), so it cannot be "
                                 "required; list it in protocols_refused instead" % (option, canonical))
        if canonical not in result:
            result.append(canonical)
    return result


def main():
    module = AnsibleModule(
        argument_spec={
            "host": {"type": "str", "required": True},
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
        },
        supports_check_mode=True,
    )
    params = module.params

    # Bad input fails before any connection.
    host = params["host"].strip()
    if not host:
        module.fail_json(msg="host must not be empty")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    port = params["port"]
    if not 1 <= port <= 65535:
        module.fail_json(msg="port %d is out of range (1-65535)" % port)
    if params["timeout"] <= 0:
        module.fail_json(msg="timeout must be greater than 0 (got %s)" % params["timeout"])
    accepted = _protocol_list(module, "protocols_accepted", allow_unprobeable=False)
    refused = _protocol_list(module, "protocols_refused", allow_unprobeable=True)
    both = [p for p in accepted if p in refused]
    if both:
        module.fail_json(msg="%s listed in both protocols_accepted and protocols_refused" % ", ".join(both))

    if params["postgres_plaintext"] and params["starttls"] != "postgres":
        module.fail_json(msg="postgres_plaintext=%s needs starttls=postgres (it probes a PostgreSQL repository)"
                             % params["postgres_plaintext"])
    for option in ("postgres_probe_user", "postgres_probe_database"):
        value = params[option]
        if not value or "\x00" in value:
            module.fail_json(msg="%s must be a non-empty name without NUL characters" % option)

    expected_fingerprint = None
    if params["expected_fingerprint"]:
        try:
            expected_fingerprint = _tls.normalize_fingerprint(params["expected_fingerprint"])
        except ValueError as exc:
            module.fail_json(msg="expected_fingerprint: %s" % exc)

    expected_der = None
    try:
        if params["expected_cert_file"]:
            expected_der = _tls.load_certificate_file(params["expected_cert_file"])
        if params["ca_file"]:
            _tls.check_ca_file(params["ca_file"])
    except _tls.TLSCheckError as exc:
        module.fail_json(msg=str(exc))

    where = _tls.endpoint(host, port)
    server_name = params["server_name"]
    if server_name is None:
        server_name = host

    try:
        result = _tls.run_check(
            host=host,
            port=port,
            server_name=server_name,
            starttls=params["starttls"],
            timeout=params["timeout"],
            protocols_accepted=accepted,
            protocols_refused=refused,
            expected_fingerprint=expected_fingerprint,
            expected_der=expected_der,
            expected_cert_source=params["expected_cert_file"],
            min_days_left=params["min_days_left"],
            ca_file=params["ca_file"],
            postgres_plaintext=params["postgres_plaintext"],
            postgres_user=params["postgres_probe_user"],
            postgres_database=params["postgres_probe_database"],
        )
    except _tls.TLSCheckError as exc:
        module.fail_json(msg="TLS check of %s failed: %s" % (where, exc), changed=False)
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg="TLS check of %s failed unexpectedly: %s" % (where, exc),
                         exception=traceback.format_exc(), changed=False)

    result["changed"] = False
    if result["failures"] and params["fail_on_mismatch"]:
        module.fail_json(
            msg="TLS check of %s failed: %s" % (where, "; ".join(result["failures"])),
            **result
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
