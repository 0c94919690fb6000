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
  - With O(targets) instead of O(host) it checks several endpoints in one module run, for example every node's
    gateway of a cluster plus the repository. The targets are checked concurrently (at most 8 at a time) and
    reported in RV(targets), in the order of O(targets). One module run costs far less controller CPU than one
    run per endpoint in a loop.
  - Probes every protocol listed in O(protocols_accepted) and O(protocols_refused) in a connection of its own
    that is pinned to that one protocol, and reports whether the server accepted it.
  - Fails when an expectation is not met (certificate fingerprint, certificate file, days left before expiry,
    chain verification, protocols that must be accepted or refused), or reports RV(passed=false) with the list of
    RV(failures) when O(fail_on_mismatch=false).
  - The module never changes anything, neither on the node it runs on nor on the server. It needs no C(tsm).
  - The client lowers its own OpenSSL security level to 0 (C(DEFAULT:@SECLEVEL=0)) for every handshake, so that
    a refused TLS 1.0 or TLS 1.1 handshake is refused by the server, not by the client's own default policy.
  - When the task runs on the controller (delegated to V(localhost), or a host with the C(local) connection)
    without become, the check runs inside the controller's Ansible process (in the module's action plugin)
    instead of a module process. The options and the results are the same; it costs the controller far less
    CPU. The task variable C(tableau_tsm_inprocess=false) turns this off. With become, C(async), a task
    C(environment) or any other connection the module runs as a normal module.
author:
  - tableau.tsm contributors (@tableau-tsm)
requirements:
  - Python's C(ssl) module (OpenSSL). C(cryptography) on the node is optional; without it the certificate is
    decoded with what C(ssl) offers.
extends_documentation_fragment:
  - tableau.tsm._attributes
  - tableau.tsm._attributes.info_module
  - tableau.tsm._attributes.inprocess_check
options:
  host:
    description:
      - Host name or IP address to connect to, for example a node's gateway or the repository node.
      - Exactly one of O(host) and O(targets) is required.
    type: str
  targets:
    description:
      - Several endpoints to check in one module run, instead of O(host). Exactly one of O(host) and O(targets)
        is required.
      - Each element sets O(targets[].host) and any of the per-endpoint options below. An option that an element
        does not set (or sets to V(null)) takes the value of the top-level option of the same name, so the
        top-level options are defaults for every target (O(port) V(443), O(starttls) V(none), and so on).
        A target cannot unset a top-level option, so set an option that applies to some targets only on those
        targets. A list set on a target, even an empty one, replaces the top-level list.
      - O(timeout), O(fail_on_mismatch), O(postgres_probe_user) and O(postgres_probe_database) are top-level only
        and apply to every target.
      - The input of every target is validated before any connection is made; one bad element fails the module
        without checking any target. Such an error message starts with the element's index and its name in
        parentheses, for example C(targets[1]) and C(repository) give "targets[1] (repository)", then a colon
        and the problem.
      - The targets are checked concurrently, at most 8 at a time. The results are in RV(targets), in the order
        of this list.
      - A target that cannot be checked at all (unreachable, connection refused, timeout, a handshake that fails
        for any protocol) does not stop the others; it is reported with RV(targets[].error) and counts as failed.
        See O(fail_on_mismatch) for how this differs from O(host).
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - Label of this target in RV(targets[].name) and in the RV(failures) and error messages.
          - Defaults to C(host:port) (C([address]:port) for an IPv6 address).
          - Must be unique within O(targets).
        type: str
      host:
        description:
          - Host name or IP address to connect to, see O(host).
        type: str
        required: true
      port:
        description:
          - TCP port, see O(port).
          - Defaults to the top-level O(port).
        type: int
      server_name:
        description:
          - Server name sent in the TLS SNI extension, see O(server_name).
          - Defaults to the top-level O(server_name), and when that is not set either, to O(targets[].host).
        type: str
      starttls:
        description:
          - V(none) or V(postgres), see O(starttls).
          - Defaults to the top-level O(starttls).
        type: str
        choices: [none, postgres]
      postgres_plaintext:
        description:
          - Whether the repository must refuse or accept an unencrypted connection, see O(postgres_plaintext).
            Only with O(targets[].starttls=postgres) (set here or at the top level).
          - Defaults to the top-level O(postgres_plaintext).
        type: str
        choices: [refused, accepted]
      protocols_accepted:
        description:
          - Protocols that the server must accept, see O(protocols_accepted).
          - Defaults to the top-level O(protocols_accepted). An empty list set here requires none for this target.
        type: list
        elements: str
      protocols_refused:
        description:
          - Protocols that the server must refuse, see O(protocols_refused).
          - Defaults to the top-level O(protocols_refused). An empty list set here requires none for this target.
        type: list
        elements: str
      expected_fingerprint:
        description:
          - SHA-256 fingerprint that the server certificate must have, see O(expected_fingerprint).
          - Defaults to the top-level O(expected_fingerprint).
        type: str
      expected_cert_file:
        description:
          - Certificate file that the server must present, see O(expected_cert_file).
          - Defaults to the top-level O(expected_cert_file).
        type: path
      min_days_left:
        description:
          - Minimum number of whole days before the server certificate expires, see O(min_days_left).
          - Defaults to the top-level O(min_days_left).
        type: int
      ca_file:
        description:
          - PEM file with CA certificates to verify the chain against, see O(ca_file).
          - Defaults to the top-level O(ca_file).
        type: path
  port:
    description:
      - TCP port. The Tableau gateway listens on V(443); the repository (PostgreSQL) on V(8060) by default.
      - With O(targets), the default of O(targets[].port).
    type: int
    default: 443
  server_name:
    description:
      - Server name sent in the TLS SNI extension.
      - Defaults to O(host). No SNI is sent when this is an IP address (or O(host) is one and this is not set).
      - With O(targets), the default of O(targets[].server_name); when neither is set, each target's own
        O(targets[].host).
    type: str
  starttls:
    description:
      - V(none) starts TLS right away (the gateway).
      - V(postgres) first sends the 8-byte PostgreSQL C(SSLRequest) and expects C(S) before the handshake, as
        a PostgreSQL client does (the repository). When the server answers C(N) it refuses SSL altogether;
        this is reported as RV(tls_available=false) and a failure.
      - With O(targets), the default of O(targets[].starttls).
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
      - With O(targets), the default of O(targets[].postgres_plaintext). A target cannot unset it, so a top-level
        value needs O(targets[].starttls=postgres) for every target; set it on the repository targets instead
        when O(targets) mixes gateways and repositories.
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
      - With O(targets) it applies to every target (there is no per-target timeout). As the targets are checked
        concurrently, an unreachable target delays the module run by about this much, not once per target.
    type: float
    default: 10
  protocols_accepted:
    description:
      - Protocols that the server must accept. Each is probed in a connection of its own.
      - Names as in C(tsm security external-ssl enable --protocols), case-insensitive
        (V(TLSv1), V(TLSv1.1), V(TLSv1.2), V(TLSv1.3); V(TLSv1.0) means V(TLSv1)).
      - V(SSLv2) and V(SSLv3) cannot be probed, so they cannot be required here.
      - With O(targets), the default of O(targets[].protocols_accepted).
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
      - With O(targets), the default of O(targets[].protocols_refused).
    type: list
    elements: str
    default: []
  expected_fingerprint:
    description:
      - SHA-256 fingerprint that the server certificate must have; hexadecimal, with or without colons,
        case-insensitive (the output of C(openssl x509 -noout -fingerprint -sha256) is accepted as is).
      - With O(targets), the default of O(targets[].expected_fingerprint).
    type: str
  expected_cert_file:
    description:
      - Certificate file on the managed node (PEM or DER) that the server must present, compared by
        SHA-256 fingerprint. For a PEM file with several certificates the first one counts.
      - With O(targets), the default of O(targets[].expected_cert_file).
    type: path
  min_days_left:
    description:
      - Minimum number of whole days before the server certificate expires. An expired certificate has a
        negative RV(certificate.days_left).
      - With O(targets), the default of O(targets[].min_days_left).
    type: int
  ca_file:
    description:
      - PEM file with CA certificates to verify the server's certificate chain against. The chain is verified,
        the host name is not. The result is RV(chain_verified).
      - Without it the chain is not verified.
      - With O(targets), the default of O(targets[].ca_file).
    type: path
  fail_on_mismatch:
    description:
      - When V(true), the module fails when an expectation is not met.
      - When V(false), it returns RV(passed=false) and the RV(failures) instead, for a report or a later
        C(assert).
      - With O(host), errors that prevent the check altogether (host unreachable, connection refused, timeout, a
        handshake that fails for any protocol, bad input) fail the module in both cases.
      - With O(targets), such an error of one target is reported in that target's RV(targets[].error) and the
        target counts as failed (RV(targets[].passed=false), a sentence in RV(failures)). It fails the module only
        when this is V(true); when this is V(false) the module returns RV(passed=false) instead, whatever the
        targets' errors. Bad input fails the module in both cases, before any connection.
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
  - With O(targets) the endpoints are checked in threads of one module run, at most 8 at a time; each target's own
    probes (one connection per protocol, one more for O(ca_file)) run one after the other. The servers see the
    same connections as with one module run per endpoint.
  - In the controller's process (see the description) the check uses the Python that runs Ansible, not
    C(ansible_python_interpreter); relative paths (O(expected_cert_file), O(ca_file)) are relative to the
    playbook directory, as for a module run by the C(local) connection.
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

- name: Check every gateway of a three-node cluster and its repository in one module run
  tableau.tsm.tableau_tls_check:
    targets:
      - host: node1.example.com
      - host: node2.example.com
      - host: node3.example.com
      - name: repository
        host: node1.example.com
        port: 8060
        starttls: postgres
        postgres_plaintext: refused
        protocols_accepted: [TLSv1.2]  # replaces the top-level list for this target only
    # Defaults for every target that does not set the option itself
    server_name: tableau.example.com
    protocols_accepted: [TLSv1.2, TLSv1.3]
    protocols_refused: [SSLv3, TLSv1, TLSv1.1]
    min_days_left: 30
    fail_on_mismatch: false
  delegate_to: localhost
  run_once: true
  register: cluster_tls

- name: One line per endpoint
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.failures | join('; ') if item.failures else 'passed, ' ~ item.protocol }}"
  loop: "{{ cluster_tls.targets }}"
  loop_control:
    label: "{{ item.name }}"
  run_once: true

- name: Stop when any endpoint failed (the failures are prefixed with the target's name)
  ansible.builtin.assert:
    that: cluster_tls.passed
    fail_msg: "{{ cluster_tls.failures | join('; ') }}"
  run_once: true

- name: Check the gateway of every host in the group tableau_server and the repository in one module run
  tableau.tsm.tableau_tls_check:
    # Each host's gateway address is its tableau_gateway_host variable, else its inventory name.
    targets: >-
      {%- set gateways = [] -%}
      {%- for node in groups['tableau_server'] -%}
      {%-   set _ = gateways.append({'name': node ~ ' gateway', 'host': hostvars[node].tableau_gateway_host | default(node)}) -%}
      {%- endfor -%}
      {{ gateways + [{'name': 'repository', 'host': groups['tableau_server'][0], 'port': 8060, 'starttls': 'postgres',
                      'expected_fingerprint': repository_fingerprint}] }}
    expected_fingerprint: "{{ gateway_fingerprint }}"  # the repository target sets its own
    protocols_refused: [TLSv1, TLSv1.1]
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
host:
  description: The host that was checked.
  returned: with O(host)
  type: str
  sample: node1.example.com
port:
  description: The port that was checked.
  returned: with O(host)
  type: int
  sample: 443
server_name:
  description: The server name sent as SNI (not sent when it is an IP address).
  returned: with O(host)
  type: str
  sample: tableau.example.com
starttls:
  description: The STARTTLS method used, V(none) or V(postgres).
  returned: with O(host)
  type: str
  sample: postgres
tls_available:
  description:
    - Whether a TLS handshake was possible at all.
    - V(false) when a PostgreSQL server answered C(N) to the C(SSLRequest) (SSL is off).
  returned: with O(host)
  type: bool
  sample: true
protocol:
  description: Protocol negotiated when the client offered TLS 1.0 to TLS 1.3.
  returned: with O(host) (null when RV(tls_available=false))
  type: str
  sample: TLSv1.3
cipher:
  description: Cipher suite negotiated in that handshake (OpenSSL name).
  returned: with O(host) (null when RV(tls_available=false))
  type: str
  sample: TLS_AES_256_GCM_SHA384
certificate:
  description: The server (leaf) certificate.
  returned: with O(host) (null when RV(tls_available=false))
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
  returned: with O(host), when RV(tls_available=true) and the Python C(ssl) module on the managed node exposes
    the peer's unverified chain (public in Python 3.13, available privately in earlier CPython 3 versions)
  type: int
  sample: 2
chain_verified:
  description: Whether the server's chain verifies against O(ca_file).
  returned: with O(host), when O(ca_file) is set and RV(tls_available=true)
  type: bool
  sample: true
protocols:
  description:
    - For each protocol of O(protocols_accepted) and O(protocols_refused), whether the server accepted a
      handshake pinned to it.
    - V(SSLv2) and V(SSLv3) are always V(false) (refused by construction, see O(protocols_refused)).
    - Null for a protocol that the local OpenSSL cannot offer (then a failure is reported).
  returned: with O(host)
  type: dict
  sample: {"TLSv1": false, "TLSv1.1": false, "TLSv1.2": true, "TLSv1.3": true}
protocol_details:
  description: For each probed protocol, RV(protocols) value and a note saying why (the server's alert, the cipher).
  returned: with O(host)
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
  returned: with O(host), when O(postgres_plaintext) is set
  type: bool
  sample: false
plaintext_detail:
  description: The server's answer to the unencrypted startup, in one sentence (SQLSTATE and message of an error).
  returned: with O(host), when O(postgres_plaintext) is set
  type: str
  sample: >-
    refused for lack of encryption: SQLSTATE 28000: pg_hba.conf rejects connection for host "127.0.0.1",
    user "tableau_tsm_probe", database "workgroup", no encryption
failures:
  description:
    - Every expectation that was not met, one sentence each. Empty when RV(passed=true).
    - With O(targets), the failures of every target in the order of O(targets), each prefixed with the target's
      name, a colon and a space, including one sentence for each target that could not be checked
      (RV(targets[].error)).
  returned: always
  type: list
  elements: str
  sample: ["TLSv1.1 must be refused but the server accepted it"]
passed:
  description:
    - Whether every expectation was met.
    - With O(targets), whether every target passed; V(false) when any target has an RV(targets[].error).
  returned: always
  type: bool
  sample: true
targets:
  description:
    - One result per element of O(targets), in the same order.
    - Each is what a check with O(host) returns (RV(host), RV(port), RV(certificate), RV(protocols),
      RV(failures), RV(passed) and so on, see there), plus RV(targets[].name) and RV(targets[].error).
  returned: with O(targets)
  type: list
  elements: dict
  contains:
    name:
      description: The target's O(targets[].name), by default C(host:port).
      type: str
      sample: repository
    host:
      description: The host that was checked.
      type: str
      sample: node1.example.com
    port:
      description: The port that was checked.
      type: int
      sample: 8060
    error:
      description:
        - Why the target could not be checked at all (unreachable, connection refused, timeout, a handshake that
          fails for any protocol, an unexpected error). Empty when the check could be made.
        - When set, RV(targets[].passed) is V(false), RV(targets[].tls_available) is V(false) and
          RV(targets[].failures) holds one sentence with the error.
      type: str
      sample: ""
    server_name:
      description: The server name sent as SNI, see RV(server_name).
      type: str
      sample: tableau.example.com
    starttls:
      description: The STARTTLS method used, V(none) or V(postgres).
      type: str
      sample: postgres
    tls_available:
      description: Whether a TLS handshake was possible at all, see RV(tls_available).
      type: bool
      sample: true
    protocol:
      description: Protocol negotiated when the client offered TLS 1.0 to TLS 1.3; null when no handshake was made.
      type: str
      sample: TLSv1.3
    cipher:
      description: Cipher suite negotiated in that handshake; null when no handshake was made.
      type: str
      sample: TLS_AES_256_GCM_SHA384
    certificate:
      description: The server (leaf) certificate with the same keys as RV(certificate); null when no handshake was made.
      type: dict
      sample: {"subject": "CN=tableau.example.com", "days_left": 245, "sha256_fingerprint": "3b:8a:01:...:9f"}
    chain_length:
      description: Number of certificates the server sent, see RV(chain_length).
      returned: when the Python C(ssl) module exposes the peer's chain and the handshake was made
      type: int
      sample: 2
    chain_verified:
      description: Whether the chain verifies against the target's O(targets[].ca_file).
      returned: when O(targets[].ca_file) applies to the target and the handshake was made
      type: bool
      sample: true
    protocols:
      description: For each probed protocol, whether the server accepted it, see RV(protocols).
      type: dict
      sample: {"TLSv1.1": false, "TLSv1.2": true}
    protocol_details:
      description: For each probed protocol, the result and a note, see RV(protocol_details).
      type: dict
      sample: {"TLSv1.2": {"accepted": true, "note": "accepted (cipher ECDHE-RSA-AES256-GCM-SHA384)"}}
    plaintext_accepted:
      description: Whether the repository accepted an unencrypted startup, see RV(plaintext_accepted).
      returned: when O(targets[].postgres_plaintext) applies to the target and the check could be made
      type: bool
      sample: false
    plaintext_detail:
      description: The server's answer to the unencrypted startup, see RV(plaintext_detail).
      returned: when O(targets[].postgres_plaintext) applies to the target and the check could be made
      type: str
      sample: "refused for lack of encryption: SQLSTATE 28000: ..."
    failures:
      description: This target's unmet expectations (or its error), one sentence each, without the name prefix.
      type: list
      elements: str
      sample: ["certificate fingerprint 3b:8a:... does not match expected_fingerprint 11:22:..."]
    passed:
      description: Whether this target was checked and met every expectation.
      type: bool
      sample: false
  sample:
    - name: node1.example.com:443
      host: node1.example.com
      port: 443
      error: ""
      passed: true
      failures: []
      protocol: TLSv1.3
    - name: repository
      host: node1.example.com
      port: 8060
      error: "connection to node1.example.com:8060 refused (nothing listening on that port?)"
      passed: false
      failures: ["TLS check could not be made: connection to node1.example.com:8060 refused (nothing listening on that port?)"]
      protocol: null
"""

from ansible.module_utils.basic import AnsibleModule

# _tls is imported here too so that tests can replace _tls.run_check through this module.
from ansible_collections.tableau.tsm.plugins.module_utils import _tls  # noqa: F401 pylint: disable=unused-import
from ansible_collections.tableau.tsm.plugins.module_utils._errors import run_check_module
from ansible_collections.tableau.tsm.plugins.module_utils._tls_check import (
    ARGUMENT_SPEC,
    MUTUALLY_EXCLUSIVE,
    REQUIRED_ONE_OF,
    execute,
)


def main():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        required_one_of=REQUIRED_ONE_OF,
        mutually_exclusive=MUTUALLY_EXCLUSIVE,
        supports_check_mode=True,
    )
    run_check_module(module, execute)


if __name__ == "__main__":
    main()
