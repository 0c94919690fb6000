# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The bad-input matrix: every case fails with a clear message, before any tsm write.

Module cases run as ONE playbook (one task per case, ``ignore_errors``) against one shared
cluster; each case's tsm calls are told apart by time (the call log's ``start`` against the
case's result event). Role cases run as one playbook with one play per case, each on its own
inventory aliases of the same cluster (a failed host does not stop the next case's play).

For each case: the message matches, the case made ZERO write/apply/job calls, and the whole
batch left ``tsm settings export`` and the emulator's applied/pending state identical.
Documented conversions (DER given where tsm needs PEM) are asserted as accepted, in check mode.
"""

from __future__ import annotations

import copy
import os
import re
import time

import pytest

from conftest import (ROOT, TIMINGS, create_cluster, destroy_cluster, finish_background, harden_vars,
                      run_playbook, write_playbook)

PARALLEL = 4

WRONG = "not-the-passphrase"
RSERVE = {"host": "rserve.example.com", "port": 6311, "username": "ruser"}
TABPY = {"host": "tabpy.example.com", "port": 9004, "username": "tuser"}
ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

# (id, module, args (values "@name" = path of a PKI file), expected message regex,
#  outcome: "fail" (refused) | "ok-check" (accepted in check mode: a documented conversion))
MODULE_CASES = [
    ("ext_cert_expired", "tableau_external_ssl", {"cert_file": "@expired.crt", "key_file": "@expired.key"},
     r"expired", "fail"),
    ("ext_cert_not_yet_valid", "tableau_external_ssl", {"cert_file": "@future.crt", "key_file": "@future.key"},
     r"not (yet )?valid", "fail"),
    ("ext_self_signed_leaf_with_chain", "tableau_external_ssl",
     {"cert_file": "@selfsigned.crt", "key_file": "@selfsigned.key", "chain_file": "@chain.crt"},
     r"self-signed, so no chain can certify it: remove the chain file .*chain\.crt", "fail"),
    ("ext_wrong_hostname", "tableau_external_ssl",
     {"cert_file": "@good.crt", "key_file": "@good.key", "expected_hostname": "tableau.wrong.example"},
     r"does not match the host name tableau\.wrong\.example", "fail"),
    ("ext_key_mismatch", "tableau_external_ssl", {"cert_file": "@good.crt", "key_file": "@good2.key"},
     r"does not match the certificate", "fail"),
    ("ext_encrypted_key_no_passphrase", "tableau_external_ssl", {"cert_file": "@good.crt", "key_file": "@enc.key"},
     r"encrypted.*passphrase|passphrase.*encrypted", "fail"),
    ("ext_encrypted_key_wrong_passphrase", "tableau_external_ssl",
     {"cert_file": "@good.crt", "key_file": "@enc.key", "passphrase": WRONG},
     r"passphrase", "fail"),
    ("ext_chain_wrong_order", "tableau_external_ssl",
     {"cert_file": "@good.crt", "key_file": "@good.key", "chain_file": "@chain_wrong_order.crt"},
     r"order", "fail"),
    ("ext_chain_not_certifying", "tableau_external_ssl",
     {"cert_file": "@good.crt", "key_file": "@good.key", "chain_file": "@chain_unrelated.crt"},
     r"chain", "fail"),
    ("ext_der_cert_converted", "tableau_external_ssl", {"cert_file": "@good.der", "key_file": "@good.key"},
     None, "ok-check"),
    ("ext_cert_empty", "tableau_external_ssl", {"cert_file": "@empty.crt", "key_file": "@good.key"},
     r"empty", "fail"),
    ("ext_cert_binary_garbage", "tableau_external_ssl", {"cert_file": "@garbage.bin", "key_file": "@good.key"},
     r"garbage\.bin", "fail"),
    ("ext_key_binary_garbage", "tableau_external_ssl", {"cert_file": "@good.crt", "key_file": "@garbage.bin"},
     r"garbage\.bin", "fail"),
    ("ext_cert_is_directory", "tableau_external_ssl", {"cert_file": "@a_directory", "key_file": "@good.key"},
     r"director|not a (regular )?file", "fail"),
    ("ext_cert_missing_on_node", "tableau_external_ssl", {"cert_file": "@missing", "key_file": "@good.key"},
     r"does-not-exist\.crt", "fail"),
    ("ext_weak_1024_bit_key", "tableau_external_ssl", {"cert_file": "@weak.crt", "key_file": "@weak.key"},
     r"1024", "fail"),
    ("ext_sha1_signature", "tableau_external_ssl", {"cert_file": "@sha1.crt", "key_file": "@sha1.key"},
     r"(?i)sha-?1", "fail"),
    ("ext_protocol_sslv3", "tableau_external_ssl",
     {"cert_file": "@good.crt", "key_file": "@good.key", "protocols": ["SSLv3"]}, r"SSLv3", "fail"),
    ("ext_protocol_unknown", "tableau_external_ssl",
     {"cert_file": "@good.crt", "key_file": "@good.key", "protocols": ["TLSv9"]}, r"TLSv9", "fail"),
    ("ext_protocol_empty_list", "tableau_external_ssl",
     {"cert_file": "@good.crt", "key_file": "@good.key", "protocols": []}, r"protocol", "fail"),
    ("ext_unknown_state", "tableau_external_ssl", {"state": "enabled", "cert_file": "@good.crt", "key_file": "@good.key"},
     r"value of state must be one of: present, absent", "fail"),
    ("ext_present_without_key", "tableau_external_ssl", {"cert_file": "@good.crt"},
     r"key_file", "fail"),
    ("custom_cert_binary_garbage", "tableau_custom_cert", {"cert_file": "@garbage.bin"}, r"garbage\.bin", "fail"),
    ("custom_cert_private_key_given", "tableau_custom_cert", {"cert_file": "@good.key"}, r"good\.key", "fail"),
    ("custom_cert_missing_on_node", "tableau_custom_cert", {"cert_file": "@missing"}, r"does-not-exist\.crt", "fail"),
    ("custom_cert_der_accepted", "tableau_custom_cert", {"cert_file": "@root.der"}, None, "ok-check"),
    ("kms_malformed_arn", "tableau_kms", {"mode": "aws", "key_arn": "arn:aws:kms:not-an-arn", "aws_region": "us-east-1"},
     r"key_arn 'arn:aws:kms:not-an-arn' is not a KMS key ARN; expected arn:aws:kms:<region>", "fail"),
    ("kms_arn_region_mismatch", "tableau_kms", {"mode": "aws", "key_arn": ARN, "aws_region": "eu-west-1"},
     r"(?=.*us-east-1)(?=.*eu-west-1)", "fail"),
    ("kms_aws_options_with_mode_azure", "tableau_kms",
     {"mode": "azure", "key_name": "tableau-key", "vault_name": "tableau-vault", "key_arn": ARN}, r"key_arn", "fail"),
    ("kms_aws_without_arn", "tableau_kms", {"mode": "aws"}, r"key_arn", "fail"),
    ("kms_unknown_mode", "tableau_kms", {"mode": "gcp"}, r"value of mode must be one of: local, aws, azure", "fail"),
    ("rserve_port_0", "tableau_maestro_rserve_ssl", dict(RSERVE, port=0, secure=False),
     r"port must be from 1 to 65535, got 0", "fail"),
    ("tabpy_port_70000", "tableau_maestro_tabpy_ssl", dict(TABPY, port=70000, secure=False),
     r"port must be from 1 to 65535, got 70000", "fail"),
    ("rserve_timeout_0", "tableau_maestro_rserve_ssl", dict(RSERVE, secure=False, connect_timeout_ms=0),
     r"connect_timeout_ms must be a positive number", "fail"),
    ("tabpy_timeout_negative", "tableau_maestro_tabpy_ssl", dict(TABPY, secure=False, connect_timeout_ms=-5),
     r"connect_timeout_ms must be a positive number", "fail"),
    ("rserve_secure_without_cert", "tableau_maestro_rserve_ssl", dict(RSERVE, secure=True),
     r"cert_file is required with secure=true", "fail"),
    ("tabpy_cert_binary_garbage", "tableau_maestro_tabpy_ssl", dict(TABPY, secure=True, cert_file="@garbage.bin"),
     r"garbage\.bin", "fail"),
    ("rserve_unknown_state", "tableau_maestro_rserve_ssl", dict(RSERVE, state="on"),
     r"value of state must be one of", "fail"),
    ("tokens_without_force_or_max_age", "tableau_internal_tokens", {}, r"force: true or max_age", "fail"),
    ("tokens_bad_max_age", "tableau_internal_tokens", {"max_age": "soon"}, r"max_age", "fail"),
    ("tokens_zero_max_age", "tableau_internal_tokens", {"max_age": "0d"}, r"greater than zero", "fail"),
    ("mutual_ssl_ca_binary_garbage", "tableau_mutual_ssl", {"ca_cert_file": "@garbage.bin"}, r"garbage\.bin", "fail"),
    ("mutual_ssl_unknown_mapping", "tableau_mutual_ssl", {"ca_cert_file": "@root.crt", "user_name_mapping": "email"},
     r"user_name_mapping", "fail"),
    ("pending_unknown_state", "tableau_pending_changes", {"state": "done"}, r"value of state must be one of", "fail"),
    ("repository_ssl_dest_dir_missing", "tableau_repository_ssl", {"certificate_dest": "/nonexistent-dir/x/repo.crt"},
     r"nonexistent-dir", "fail"),
    ("password_without_username", "tableau_security_info", {"tsm_password": "x-password-x"},
     r"tsm_username", "fail"),
]

VERSION_CASES = [
    ("kms_azure_on_2020_3", "tableau_kms", {"mode": "azure", "key_name": "tableau-key", "vault_name": "tableau-vault"},
     r"mode=azure needs Tableau Server 2021\.1 or later; this server runs 2020\.3", "fail"),
]


def _resolve(value, certs):
    if isinstance(value, str) and value.startswith("@"):
        return certs[value[1:]]
    if isinstance(value, list):
        return [_resolve(v, certs) for v in value]
    return value


def _batch(workdir, cluster, certs, cases, label, parts=1):
    """Run the cases as ``parts`` playbooks at once; returns ({id: (event, calls in its window)},
    config before, config after, runs). A case's window runs from the previous result event of
    its own playbook to its own; windows of parallel parts overlap, which can only blame a write
    on too many cases, never hide one."""
    runs = []
    before = cluster.config()
    first = cluster.call_count()
    started = time.monotonic()
    procs = []
    for part in range(parts):
        tasks = []
        for case_id, module, args, _regex, outcome in cases[part::parts]:
            task = {"name": "case %s" % case_id,
                    "tableau.tsm.%s" % module: dict((k, _resolve(v, certs)) for k, v in args.items()),
                    "ignore_errors": True}
            if outcome == "ok-check":
                task["check_mode"] = True
            tasks.append(task)
        play = [{"name": "bad input batch", "hosts": cluster.initial_host, "gather_facts": False,
                 "module_defaults": {"group/tableau.tsm.tsm": {"tsm_path": "{{ tableau_tsm_path }}",
                                                               "lock_timeout": 0}},
                 "tasks": tasks}]
        playbook = write_playbook(workdir, "bad_input_%d.yml" % part, play)
        procs.append(run_playbook(os.path.join(workdir, str(part)), playbook, cluster.inventory, background=True))
    for proc in procs:
        proc.wait(timeout=900)
        runs.append(finish_background(proc, time.monotonic() - started))
    TIMINGS.append(("%s (%d cases, %d playbooks at once)" % (label, len(cases), parts), time.monotonic() - started))
    after = cluster.config()
    calls = cluster.calls()[first:]
    results = {}
    for run in runs:
        previous = 0.0
        for event in run.events:
            if not event.get("task", "").startswith("case "):
                continue
            case_id = event["task"][len("case "):]
            mine = [c for c in calls if previous < c["start"] <= event["time"]]
            results[case_id] = (event, mine)
            previous = event["time"]
    return results, before, after, runs


@pytest.fixture(scope="module")
def module_batch(tmp_path_factory, cluster, certs):
    return _batch(str(tmp_path_factory.mktemp("batch")), cluster, certs, MODULE_CASES, "bad input: module batch",
                  parts=2)


@pytest.fixture(scope="module")
def old_cluster(tmp_path_factory):
    c = create_cluster(tmp_path_factory.mktemp("old"), nodes=1, version="2020.3")
    try:
        yield c
    finally:
        destroy_cluster(c)


@pytest.fixture(scope="module")
def version_batch(tmp_path_factory, old_cluster, certs):
    return _batch(str(tmp_path_factory.mktemp("vbatch")), old_cluster, certs, VERSION_CASES,
                  "bad input: 2020.3 batch")


def _check_case(batch, case):
    case_id, module, _args, regex, outcome = case
    results, _before, _after, run = batch
    assert case_id in results, "case %s has no result event:\n%s" % (
        case_id, "\n".join(r.text()[-3000:] for r in run))
    event, calls = results[case_id]
    res = event["res"]
    writes = [c["argv"] for c in calls if c.get("kind") in ("write", "apply", "job")]
    assert not writes, "case %s made write calls: %s" % (case_id, writes)
    if outcome == "fail":
        assert event["event"] == "runner_on_failed", "case %s was not refused: %s" % (case_id, res)
        msg = res.get("msg", "")
        assert re.search(regex, msg, re.S), "case %s: message %r does not match %r" % (case_id, msg, regex)
        assert "Traceback" not in repr(res) and "MODULE FAILURE" not in msg, "case %s crashed: %s" % (case_id, res)
        assert res.get("changed") in (None, False)
    else:
        assert event["event"] == "runner_on_ok", "case %s refused: %s" % (case_id, res.get("msg"))
        if module == "tableau_external_ssl":
            assert res["certificate"]["format"] == "DER"
            assert ".crt" in res["pending_changes"][0]["command"]  # converted copy, PEM .crt for tsm


@pytest.mark.parametrize("case", MODULE_CASES, ids=[c[0] for c in MODULE_CASES])
def test_module_bad_input(module_batch, case):
    _check_case(module_batch, case)


@pytest.mark.parametrize("case", VERSION_CASES, ids=[c[0] for c in VERSION_CASES])
def test_version_bad_input(version_batch, case):
    _check_case(version_batch, case)


def test_module_batch_left_the_server_unchanged(module_batch, cluster):
    _results, before, after, runs = module_batch
    assert before == after
    assert all(r.rc == 0 for r in runs), "\n".join(r.text()[-2000:] for r in runs)
    cluster.assert_good()


def test_version_batch_left_the_server_unchanged(version_batch):
    _results, before, after, _run = version_batch
    assert before == after


# ------------------------------------------------------------------------------ role cases

ROLE_CASES = [
    # (id, playbook role, vars on top of the good harden vars, message regex)
    ("role_gateway_cert_missing_on_controller", "hardening",
     {"tableau_tsm_gateway_cert_file": "@missing"}, r"does-not-exist\.crt"),
    ("role_gateway_key_var_unset", "hardening",
     {"tableau_tsm_gateway_key_file": ""}, r"tableau_tsm_gateway_key_file"),
    ("role_custom_cert_missing_on_controller", "hardening",
     {"tableau_tsm_custom_cert": "enable", "tableau_tsm_custom_cert_file": "@missing"},
     r"does-not-exist\.crt does not exist or is not a file on the controller"),
    ("role_gateway_cert_expired", "hardening",
     {"tableau_tsm_gateway_cert_file": "@expired.crt", "tableau_tsm_gateway_key_file": "@expired.key",
      "tableau_tsm_gateway_chain_file": ""}, r"expired"),
    ("role_gateway_key_mismatch", "hardening",
     {"tableau_tsm_gateway_key_file": "@good2.key"}, r"does not match the certificate"),
    ("role_kms_aws_without_arn", "hardening",
     {"tableau_tsm_kms": "enable", "tableau_tsm_kms_mode": "aws"}, r"tableau_tsm_kms_key_arn"),
    ("role_rotation_key_mismatch", "certificate_rotation",
     {"tableau_tsm_rotation_cert_file": "@good.crt", "tableau_tsm_rotation_key_file": "@good2.key"},
     r"does not match the certificate"),
    ("role_rotation_cert_not_yet_valid", "certificate_rotation",
     {"tableau_tsm_rotation_cert_file": "@future.crt", "tableau_tsm_rotation_key_file": "@future.key"},
     r"not (yet )?valid"),
]


@pytest.fixture(scope="module")
def role_batch(tmp_path_factory, cluster, certs):
    """One ansible-playbook run per case (a play whose hosts all fail ends the playbook run),
    several at a time; each case on its own inventory aliases of the shared cluster."""
    workdir = str(tmp_path_factory.mktemp("roles"))
    before = cluster.config()
    first = cluster.call_count()
    started = time.monotonic()
    procs = {}
    pending = list(ROLE_CASES)
    results = {}
    while pending or procs:
        while pending and len(procs) < PARALLEL:
            case_id, role, extra, _regex = pending.pop(0)
            hosts = {}
            for name, hv in cluster.hosts.items():
                hv = copy.deepcopy(hv)
                hv["tableau_cluster"] = case_id  # the role names the cluster in its messages
                hosts["%s-%s" % (case_id, name)] = hv
            inv = write_playbook(workdir, "inventory-%s.yml" % case_id,
                                 {"all": {"children": {"tableau_server": {"hosts": hosts}}}})
            play_vars = harden_vars(cluster, certs)
            play_vars.update(dict((k, _resolve(v, certs)) for k, v in extra.items()))
            playbook = os.path.join(os.environ.get("TABLEAU_TSM_PLAYBOOKS", os.path.join(ROOT, "playbooks")),
                                    "harden.yml" if role == "hardening" else "rotate_certificates.yml")
            procs[case_id] = (run_playbook(os.path.join(workdir, case_id), playbook, inv, extra_vars=play_vars,
                                           background=True), time.monotonic())
        for case_id in list(procs):
            proc, t0 = procs[case_id]
            if proc.poll() is not None:
                results[case_id] = finish_background(proc, time.monotonic() - t0)
                del procs[case_id]
        time.sleep(0.2)
    TIMINGS.append(("bad input: role cases (%d playbook runs, %d at a time)" % (len(ROLE_CASES), PARALLEL),
                    time.monotonic() - started))
    after = cluster.config()
    return results, cluster.calls()[first:], before, after


@pytest.mark.parametrize("case", ROLE_CASES, ids=[c[0] for c in ROLE_CASES])
def test_role_bad_input(role_batch, case):
    case_id, _role, _extra, regex = case
    results, calls, _before, _after = role_batch
    run = results[case_id]
    assert run.rc != 0, "case %s did not fail:\n%s" % (case_id, run.stdout[-3000:])
    failures = run.failures()
    messages = "\n".join(str(e["res"].get("msg", "")) for e in failures)
    assert re.search(regex, messages, re.S), "case %s: %r does not match %r" % (case_id, messages, regex)
    assert "Traceback" not in run.stdout
    # zero writes while this case ran (the other cases write nothing either: see the batch test)
    events = run.events
    start, end = events[0]["time"] - run.seconds, events[-1]["time"]
    writes = [c["argv"] for c in calls if start <= c["start"] <= end and c.get("kind") in ("write", "apply", "job")]
    assert not writes, "case %s made write calls: %s" % (case_id, writes)


def test_role_batch_left_the_server_unchanged(role_batch, cluster):
    _results, calls, before, after = role_batch
    assert not [c["argv"] for c in calls if c.get("kind") in ("write", "apply", "job")]
    assert before == after
    cluster.assert_good()
