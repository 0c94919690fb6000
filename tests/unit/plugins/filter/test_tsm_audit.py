# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The audit role's filters, fed with node facts shaped as roles/audit/tasks/main.yml builds them."""

from __future__ import annotations

import copy
import datetime
import os
import re
import xml.etree.ElementTree as ET

import pytest
import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.tableau.tsm.plugins.filter import tsm_audit
from ansible_collections.tableau.tsm.plugins.filter.tsm_audit import audit_expiry_svg, audit_report

NOW = "2026-03-01T00:00:00Z"
NOW_DT = datetime.datetime(2026, 3, 1, tzinfo=datetime.timezone.utc)
SVG = "{http://www.w3.org/2000/svg}"
RED = "#c62828"
FP_A = ":".join(["ab"] * 32)
FP_B = ":".join(["cd"] * 32)
ROLE_DEFAULTS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "audit", "defaults", "main.yml")
ALL_CONTROLS = ["server_status", "pending_changes", "external_ssl", "protocols_configured", "gateway_protocols",
                "gateway_certificate_expiry", "gateway_certificate_consistent", "repository_ssl", "repository_tls",
                "custom_cert", "kms_mode", "mutual_ssl", "maestro_rserve", "maestro_tabpy"]


def iso(days):
    return (NOW_DT + datetime.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- registered results, as the role's tasks register them (failed_when: false) ------------------------------

def info_result():
    """A successful tableau_security_info (gather: all) result of a compliant cluster."""
    return {
        "changed": False, "failed": False, "failed_when_result": False, "tsm_calls": 9,
        "gathered": ["external_ssl", "repository_ssl", "custom_cert", "kms", "maestro", "mutual_ssl",
                     "pending_changes", "status", "version"],
        "external_ssl": {"enabled": True, "cert_file_name": "tableau-tsm-cert-0123456789abcdef.crt",
                         "cert_sha256_prefix": "0123456789abcdef", "key_file_name": "k.key",
                         "chain_file_name": None, "passphrase_set": False,
                         "protocols": ["TLSv1.2", "TLSv1.3"],
                         "protocols_string": "all -SSLv2 -SSLv3 -TLSv1 -TLSv1.1"},
        "repository_ssl": {"enabled": True, "required": True, "internal_only": False, "mode": "required"},
        "custom_cert": {"present": True, "file_name": "tableau-tsm-custom-ca-0123456789abcdef.crt",
                        "sha256_prefix": "0123456789abcdef",
                        "details": {"subject": "CN=Example Root CA", "issuer": "CN=Example Root CA",
                                    "serial_number": "1a2b", "sha256": None, "sha1": None,
                                    "not_before": "2025-01-01T00:00:00Z", "not_after": iso(2000)}},
        "kms": {"mode": "local", "aws_key_arn": None, "aws_region": None, "azure_key_name": None,
                "azure_vault_name": None, "status": {"mode": "local"}},
        "maestro": {
            "rserve": {"enabled": True, "connection_type": "maestro-rserve-secure", "secure": True,
                       "host": "rserve.example.com", "port": 6311},
            "tabpy": {"enabled": True, "connection_type": "maestro-tabpy-secure", "secure": True,
                      "host": "tabpy.example.com", "port": 9004},
        },
        "mutual_ssl": {"enabled": False, "fallback_to_basic": False, "external_ssl_enabled": True},
        "pending_changes": [],
        "restart_required": False,
        "status": {"status": "RUNNING", "status_text": "RUNNING", "nodes": []},
        "version": {"version": "2024.2", "version_full": "2024.2.3", "build": "20242.24.0807.0327"},
    }


def tls_result(host, port=443, days=365, fingerprint=FP_A, protocols=None, subject=None, starttls="none"):
    """A tableau_tls_check result (fail_on_mismatch: false)."""
    if protocols is None:
        protocols = {"TLSv1": False, "TLSv1.1": False, "TLSv1.2": True, "TLSv1.3": True}
    failures = ["%s must be refused but the server accepted it" % p for p, ok in protocols.items()
                if ok and p in ("TLSv1", "TLSv1.1")]
    return {
        "changed": False, "failed": False, "failed_when_result": False,
        "host": host, "port": port, "server_name": host, "starttls": starttls,
        "tls_available": True, "protocol": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384",
        "certificate": {"subject": subject or "CN=%s" % host, "issuer": "CN=Example Issuing CA",
                        "sans": ["DNS:%s" % host], "serial": "3A0F",
                        "not_before": "2025-01-01T00:00:00Z", "not_after": iso(days), "days_left": days,
                        "sha256_fingerprint": fingerprint},
        "protocols": protocols,
        "protocol_details": {},
        "failures": failures,
        "passed": not failures,
    }


def repo_result(host, days=700):
    # the role asks only protocols_refused of the repository
    return tls_result(host, 8060, days=days, fingerprint=FP_B, subject="CN=repository",
                      protocols={"TLSv1": False, "TLSv1.1": False}, starttls="postgres")


def failed_result(msg):
    return {"changed": False, "failed": False, "failed_when_result": False, "msg": msg}


def skipped_result(condition):
    return {"changed": False, "skipped": True, "skip_reason": "Conditional result was False",
            "false_condition": condition}


def node(name, cluster="prod", initial=False, info=None, gateway=None, repository=None):
    """audit_node of roles/audit/tasks/main.yml: info and repository only on the initial node."""
    return {
        "name": name,
        "cluster": cluster,
        "initial": initial,
        "info": (info if info is not None else info_result()) if initial else {},
        "gateway": gateway if gateway is not None else tls_result(name),
        "repository": (repository if repository is not None else repo_result(name)) if initial else {},
    }


def cluster(cluster_name="prod", hosts=("node1", "node2", "node3")):
    """dict(host -> audit_node), as report.yml builds it from hostvars."""
    return {h: node(h, cluster_name, initial=(i == 0)) for i, h in enumerate(hosts)}


FULL_POLICY = {"kms_mode": "local", "mutual_ssl": False, "custom_cert": True}


def run(nodes, policy=None):
    return audit_report(nodes, policy, NOW)


def controls(report, cluster_index=0):
    return {c["id"]: c for c in report["clusters"][cluster_index]["controls"]}


def status_of(report, cid):
    return controls(report)[cid]["status"]


# --- audit_report: compliant cluster --------------------------------------------------------------------------

def test_compliant_cluster_passes_every_control():
    report = run(cluster(), FULL_POLICY)
    ctl = controls(report)
    assert sorted(ctl) == sorted(ALL_CONTROLS)
    assert {c: ctl[c]["status"] for c in ctl} == {c: "pass" for c in ALL_CONTROLS}
    cl = report["clusters"][0]
    assert cl["compliant"] is True
    assert cl["initial_node"] == "node1"
    assert cl["version"] == "2024.2.3"
    assert cl["status"] == "RUNNING"
    assert report["violations"] == []
    assert report["generated_at"] == NOW
    assert report["summary"] == {"clusters": 1, "clusters_compliant": 1, "nodes": 3, "controls": 14,
                                 "passed": 14, "failed": 0, "errors": 0, "skipped": 0, "compliant": True}
    # one gateway certificate shared by the three nodes, the repository's and the custom CA
    certs = {c["label"]: c for c in cl["certificates"]}
    assert sorted(certs) == ["custom CA", "gateway", "repository"]
    assert certs["gateway"]["nodes"] == ["node1", "node2", "node3"]
    assert certs["gateway"]["days_left"] == 365
    assert certs["repository"]["nodes"] == ["node1"]
    assert certs["custom CA"]["days_left"] == 2000


def test_list_input_and_default_policy():
    nodes = list(cluster().values())
    report = run(nodes)
    ids = [c["id"] for c in report["clusters"][0]["controls"]]
    # kms_mode, mutual_ssl and custom_cert are null in the default policy: not evaluated
    assert "kms_mode" not in ids and "mutual_ssl" not in ids and "custom_cert" not in ids
    assert report["summary"]["compliant"] is True
    assert report["summary"]["controls"] == 11


def test_initial_node_is_found_wherever_it_is():
    nodes = cluster()
    nodes["node1"] = node("node1", initial=False)
    nodes["node3"] = node("node3", initial=True, info=dict(info_result(), version={"version": "2023.3"}))
    report = run(nodes)
    assert report["clusters"][0]["initial_node"] == "node3"
    assert report["clusters"][0]["version"] == "2023.3"


def test_not_a_dict_or_list():
    with pytest.raises(AnsibleFilterError):
        audit_report("node1")
    with pytest.raises(AnsibleFilterError):
        audit_expiry_svg(["not", "a", "report"])


def test_filter_plugin_exposes_both_filters():
    filters = tsm_audit.FilterModule().filters()
    assert filters == {"audit_report": audit_report, "audit_expiry_svg": audit_expiry_svg}


# --- audit_report: each rule fails when violated --------------------------------------------------------------

def with_info(nodes, **parts):
    info = nodes["node1"]["info"]
    for key, value in parts.items():
        info[key] = value
    return nodes


def test_gateway_accepting_tls11_fails():
    nodes = cluster()
    probes = {"TLSv1": False, "TLSv1.1": True, "TLSv1.2": True, "TLSv1.3": True}
    nodes["node2"]["gateway"] = tls_result("node2", protocols=probes)
    report = run(nodes)
    ctl = controls(report)["gateway_protocols"]
    assert ctl["status"] == "fail"
    assert "node2 accepts TLSv1.1" in ctl["detail"]
    assert "node1" not in ctl["detail"] and "node3" not in ctl["detail"]
    assert "TLSv1.1" in ctl["actual"]
    assert report["summary"]["compliant"] is False
    assert any("TLS protocols" in v and "node2 accepts TLSv1.1" in v for v in report["violations"])


def test_gateway_refusing_an_allowed_protocol_fails():
    nodes = cluster()
    probes = {"TLSv1": False, "TLSv1.1": False, "TLSv1.2": True, "TLSv1.3": False}
    nodes["node3"]["gateway"] = tls_result("node3", protocols=probes)
    ctl = controls(run(nodes))["gateway_protocols"]
    assert ctl["status"] == "fail"
    assert "node3 refuses TLSv1.3" in ctl["detail"]


def test_unprobeable_protocol_is_not_held_against_the_gateway():
    nodes = cluster()
    nodes["node1"]["gateway"]["protocols"]["TLSv1"] = None  # local OpenSSL cannot offer it
    assert status_of(run(nodes), "gateway_protocols") == "pass"


@pytest.mark.parametrize("configured", [
    ["TLSv1.1", "TLSv1.2", "TLSv1.3"],
    ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"],
    ["SSLv3", "TLSv1.2"],
])
def test_protocols_configured_wider_than_allowed_fails(configured):
    external = dict(info_result()["external_ssl"], protocols=configured, protocols_string="custom")
    nodes = with_info(cluster(), external_ssl=external)
    ctl = controls(run(nodes))["protocols_configured"]
    assert ctl["status"] == "fail"
    assert ctl["detail"].startswith("also allows ")
    assert ctl["expected"] == "TLSv1.2, TLSv1.3"


def test_protocols_configured_narrower_than_allowed_passes():
    nodes = with_info(cluster(), external_ssl=dict(info_result()["external_ssl"], protocols=["tlsv1.3"]))
    assert status_of(run(nodes), "protocols_configured") == "pass"


def test_protocols_configured_unparseable_is_an_error():
    external = dict(info_result()["external_ssl"], protocols=None, protocols_string="HIGH:!aNULL")
    nodes = with_info(cluster(), external_ssl=external)
    ctl = controls(run(nodes))["protocols_configured"]
    assert ctl["status"] == "error"
    assert ctl["actual"] == "HIGH:!aNULL"


def test_external_ssl_disabled_fails_both_controls():
    nodes = with_info(cluster(), external_ssl=dict(info_result()["external_ssl"], enabled=False))
    report = run(nodes)
    assert status_of(report, "external_ssl") == "fail"
    assert status_of(report, "protocols_configured") == "fail"
    assert controls(report)["protocols_configured"]["actual"] == "external SSL disabled"


@pytest.mark.parametrize("state, mode", [
    ({"enabled": False, "required": False, "internal_only": False, "mode": "off"}, "off"),
    ({"enabled": True, "required": False, "internal_only": True, "mode": "internal_only"}, "internal_only"),
    ({"enabled": False, "required": False}, "off"),  # without mode: derived from the flags
    ({"enabled": True, "required": False}, "internal_only"),
])
def test_repository_ssl_weaker_than_required_fails(state, mode):
    report = run(with_info(cluster(), repository_ssl=state))
    ctl = controls(report)["repository_ssl"]
    assert ctl["status"] == "fail"
    assert (ctl["expected"], ctl["actual"]) == ("required", mode)


@pytest.mark.parametrize("policy, mode, status", [
    ("enabled", "internal_only", "pass"),
    ("enabled", "required", "pass"),
    ("enabled", "off", "fail"),
    ("required", "required", "pass"),
])
def test_repository_ssl_levels(policy, mode, status):
    nodes = with_info(cluster(), repository_ssl={"enabled": mode != "off", "required": mode == "required",
                                                 "internal_only": mode == "internal_only", "mode": mode})
    assert status_of(run(nodes, {"repository_ssl": policy}), "repository_ssl") == status


def test_repository_ssl_any_is_not_checked():
    nodes = with_info(cluster(), repository_ssl={"enabled": False, "required": False, "mode": "off"})
    nodes["node1"]["repository"] = dict(repo_result("node1"), tls_available=False, certificate=None, protocol=None)
    report = run(nodes, {"repository_ssl": "any"})
    ids = [c["id"] for c in report["clusters"][0]["controls"]]
    assert "repository_ssl" not in ids and "repository_tls" not in ids
    assert report["summary"]["compliant"] is True


def test_repository_without_tls_fails():
    nodes = cluster()
    nodes["node1"]["repository"] = dict(repo_result("node1"), tls_available=False, certificate=None, protocol=None)
    ctl = controls(run(nodes))["repository_tls"]
    assert (ctl["status"], ctl["actual"]) == ("fail", "no TLS")


def test_repository_accepting_tls1_fails():
    nodes = cluster()
    nodes["node1"]["repository"]["protocols"] = {"TLSv1": True, "TLSv1.1": False}
    ctl = controls(run(nodes))["repository_tls"]
    assert ctl["status"] == "fail"
    assert "repository accepts TLSv1" in ctl["detail"]


def test_repository_check_disabled_is_skip_not_error():
    # tableau_tsm_audit_check_repository: false skips the task on the initial node
    nodes = cluster()
    nodes["node1"]["repository"] = skipped_result("tableau_tsm_audit_check_repository | bool")
    report = run(nodes)
    assert status_of(report, "repository_tls") == "skip"
    assert status_of(report, "repository_ssl") == "pass"
    assert report["summary"]["skipped"] == 1
    assert report["summary"]["compliant"] is True


def test_repository_check_failed_is_an_error():
    nodes = cluster()
    nodes["node1"]["repository"] = failed_result("TLS check of node1:8060 failed: connection refused")
    report = run(nodes)
    ctl = controls(report)["repository_tls"]
    assert ctl["status"] == "error"
    assert "connection refused" in ctl["detail"]
    assert report["summary"]["compliant"] is False


@pytest.mark.parametrize("days, status", [(29, "fail"), (0, "fail"), (-3, "fail"), (30, "pass"), (31, "pass")])
def test_certificate_expiry_against_min_days(days, status):
    nodes = cluster()
    nodes["node2"]["gateway"] = tls_result("node2", days=days)
    ctl = controls(run(nodes))["gateway_certificate_expiry"]
    assert ctl["status"] == status
    assert ctl["expected"] == ">= 30 days"
    assert ctl["actual"] == "%d days" % min(days, 365)
    if status == "fail":
        assert ctl["detail"] == "node2: %d days left" % days


def test_certificate_expiry_is_computed_from_not_after_and_now():
    # days_left of the module is stale (computed when the check ran): not_after and the report time win
    nodes = cluster()
    nodes["node1"]["gateway"]["certificate"]["days_left"] = 400
    nodes["node1"]["gateway"]["certificate"]["not_after"] = iso(10)
    ctl = controls(run(nodes))["gateway_certificate_expiry"]
    assert ctl["status"] == "fail"
    assert "node1: 10 days left" in ctl["detail"]


def test_certificate_min_days_override():
    nodes = cluster()
    report = run(nodes, {"certificate_min_days": 400})
    ctl = controls(report)["gateway_certificate_expiry"]
    assert (ctl["status"], ctl["expected"]) == ("fail", ">= 400 days")


def test_nodes_serving_different_certificates_fail():
    nodes = cluster()
    nodes["node3"]["gateway"] = tls_result("node3", fingerprint=FP_B.upper())
    report = run(nodes)
    ctl = controls(report)["gateway_certificate_consistent"]
    assert (ctl["status"], ctl["actual"]) == ("fail", "2 certificate(s)")
    gw = [c for c in report["clusters"][0]["certificates"] if c["label"] == "gateway"]
    assert sorted(tuple(c["nodes"]) for c in gw) == [("node1", "node2"), ("node3",)]


def test_fingerprint_case_does_not_count_as_a_different_certificate():
    nodes = cluster()
    nodes["node3"]["gateway"] = tls_result("node3", fingerprint=FP_A.upper())
    assert status_of(run(nodes), "gateway_certificate_consistent") == "pass"


def test_pending_changes_fail():
    nodes = with_info(cluster(), pending_changes=[{"key": "ssl.enabled", "value": "true", "restart": None},
                                                  {"key": None, "value": "some other line", "restart": None}],
                      restart_required=True)
    ctl = controls(run(nodes))["pending_changes"]
    assert ctl["status"] == "fail"
    assert ctl["actual"] == "ssl.enabled, some other line"


@pytest.mark.parametrize("state", ["STOPPED", "DEGRADED", "UNKNOWN"])
def test_server_not_running_fails(state):
    nodes = with_info(cluster(), status={"status": state, "status_text": state, "nodes": []})
    report = run(nodes)
    ctl = controls(report)["server_status"]
    assert (ctl["status"], ctl["expected"], ctl["actual"]) == ("fail", "RUNNING", state)
    assert report["clusters"][0]["status"] == state


def test_server_running_and_pending_changes_can_be_switched_off():
    nodes = with_info(cluster(), status={"status": "STOPPED"}, pending_changes=[{"key": "a", "value": "b"}])
    report = run(nodes, {"server_running": False, "no_pending_changes": False})
    ids = [c["id"] for c in report["clusters"][0]["controls"]]
    assert "server_status" not in ids and "pending_changes" not in ids
    assert report["summary"]["compliant"] is True


@pytest.mark.parametrize("policy_mode, actual, status", [
    ("aws", "local", "fail"),
    ("azure", "aws", "fail"),
    ("local", "local", "pass"),
])
def test_kms_mode(policy_mode, actual, status):
    nodes = with_info(cluster(), kms=dict(info_result()["kms"], mode=actual))
    ctl = controls(run(nodes, {"kms_mode": policy_mode}))["kms_mode"]
    assert (ctl["status"], ctl["expected"], ctl["actual"]) == (status, policy_mode, actual)


@pytest.mark.parametrize("svc", ["rserve", "tabpy"])
def test_maestro_insecure_when_enabled_fails(svc):
    maestro = info_result()["maestro"]
    maestro[svc]["secure"] = False
    ctl = controls(run(with_info(cluster(), maestro=maestro)))
    assert ctl["maestro_" + svc]["status"] == "fail"
    assert ctl["maestro_" + svc]["actual"] == "not secure"
    other = "tabpy" if svc == "rserve" else "rserve"
    assert ctl["maestro_" + other]["status"] == "pass"


def test_maestro_not_enabled_is_skip():
    maestro = {"rserve": {"enabled": False, "secure": None}, "tabpy": {"enabled": False, "secure": False}}
    report = run(with_info(cluster(), maestro=maestro))
    assert status_of(report, "maestro_rserve") == "skip"
    assert status_of(report, "maestro_tabpy") == "skip"
    assert report["summary"]["skipped"] == 2
    assert report["summary"]["compliant"] is True
    assert report["clusters"][0]["counts"] == {"pass": 9, "fail": 0, "error": 0, "skip": 2}


def test_maestro_secure_off_has_no_maestro_controls():
    maestro = info_result()["maestro"]
    maestro["tabpy"]["secure"] = False
    report = run(with_info(cluster(), maestro=maestro), {"maestro_secure": False})
    assert not [c for c in report["clusters"][0]["controls"] if c["id"].startswith("maestro_")]


@pytest.mark.parametrize("key, part, policy", [
    ("custom_cert", {"present": False, "details": None}, {"custom_cert": True}),
    ("custom_cert", {"present": True, "details": None}, {"custom_cert": False}),
    ("mutual_ssl", {"enabled": False}, {"mutual_ssl": True}),
    ("mutual_ssl", {"enabled": True}, {"mutual_ssl": False}),
    ("external_ssl", dict(info_result()["external_ssl"]), {"external_ssl": False}),
])
def test_boolean_controls_fail_when_violated(key, part, policy):
    report = run(with_info(cluster(), **{key: part}), policy)
    assert status_of(report, key) == "fail"


# --- audit_report: errors are errors ---------------------------------------------------------------------------

INFO_CONTROLS = ["server_status", "pending_changes", "external_ssl", "protocols_configured", "repository_ssl",
                 "custom_cert", "kms_mode", "mutual_ssl", "maestro_rserve", "maestro_tabpy"]


def security_info_failure():
    """What tableau_security_info registers when tsm fails (fail_from keeps gathered and tsm_calls)."""
    return {"changed": False, "failed": False, "failed_when_result": False,
            "msg": "tsm status -v failed (rc=1): cannot reach the Administration Controller",
            "cmd": "tsm status -v", "rc": 1, "stdout": "", "stderr": "Could not connect",
            "tsm_calls": 3, "gathered": info_result()["gathered"]}


@pytest.mark.parametrize("info", [
    security_info_failure(),
    failed_result("Authentication failed"),
    {},
    skipped_result("inventory_hostname == audit_initial_node"),
], ids=["tsm-failed", "module-failed", "not-gathered", "skipped"])
def test_failed_security_info_is_error_not_pass(info):
    nodes = cluster()
    nodes["node1"]["info"] = info
    report = run(nodes, FULL_POLICY)
    ctl = controls(report)
    for cid in INFO_CONTROLS:
        assert ctl[cid]["status"] == "error", cid
        assert ctl[cid]["detail"].startswith("tableau_security_info failed: "), ctl[cid]["detail"]
    # the handshakes still count
    for cid in ("gateway_protocols", "gateway_certificate_expiry", "gateway_certificate_consistent", "repository_tls"):
        assert ctl[cid]["status"] == "pass", cid
    cl = report["clusters"][0]
    assert cl["compliant"] is False and cl["version"] is None and cl["status"] is None
    assert report["summary"]["errors"] == len(INFO_CONTROLS)
    assert report["summary"]["passed"] == 4
    assert len(report["violations"]) == len(INFO_CONTROLS)
    assert all(" - ERROR: tableau_security_info failed" in v for v in report["violations"])
    if info.get("msg"):
        assert info["msg"] in ctl["server_status"]["detail"]


def test_missing_part_is_error():
    nodes = cluster()
    del nodes["node1"]["info"]["kms"]
    ctl = controls(run(nodes, {"kms_mode": "local"}))["kms_mode"]
    assert (ctl["status"], ctl["detail"]) == ("error", "kms was not reported")


def test_unreachable_gateway_is_error_not_pass():
    nodes = cluster()
    nodes["node2"]["gateway"] = failed_result("TLS check of node2:443 failed: timed out")
    report = run(nodes)
    ctl = controls(report)
    assert ctl["gateway_protocols"]["status"] == "error"
    assert "node2: TLS check of node2:443 failed: timed out" in ctl["gateway_protocols"]["detail"]
    assert ctl["gateway_certificate_expiry"]["status"] == "error"
    # the two that answered serve the same certificate, but one node said nothing
    assert ctl["gateway_certificate_consistent"]["status"] == "error"
    assert ctl["gateway_certificate_consistent"]["detail"] == "no answer from node2"
    assert report["summary"]["compliant"] is False
    gw = {g["name"]: g for g in report["clusters"][0]["nodes"]}
    assert gw["node2"]["passed"] is False and gw["node2"]["failures"] == [gw["node2"]["error"]]
    assert gw["node1"]["passed"] is True and gw["node1"]["error"] is None


def test_unreachable_gateway_does_not_hide_a_failure():
    nodes = cluster()
    nodes["node2"]["gateway"] = failed_result("timed out")
    nodes["node3"]["gateway"] = tls_result("node3", days=5, fingerprint=FP_B)
    ctl = controls(run(nodes))
    assert ctl["gateway_certificate_expiry"]["status"] == "fail"
    assert ctl["gateway_certificate_consistent"]["status"] == "fail"


def test_no_gateway_answered_is_error():
    nodes = cluster()
    for h in nodes:
        nodes[h]["gateway"] = failed_result("connection refused")
    ctl = controls(run(nodes))
    for cid in ("gateway_protocols", "gateway_certificate_expiry", "gateway_certificate_consistent"):
        assert ctl[cid]["status"] == "error", cid


# --- audit_report: several clusters, summary, policy --------------------------------------------------------------

def test_summary_counts_over_clusters():
    nodes = cluster("prod")
    nodes.update(cluster("test", hosts=("t1", "t2")))
    nodes["t1"]["info"].update(status={"status": "STOPPED"}, pending_changes=[{"key": "x", "value": "y"}])
    nodes["t2"]["gateway"] = failed_result("timed out")
    report = run(nodes)
    assert [c["name"] for c in report["clusters"]] == ["prod", "test"]
    prod, test = report["clusters"]
    assert prod["compliant"] is True and prod["counts"] == {"pass": 11, "fail": 0, "error": 0, "skip": 0}
    assert test["initial_node"] == "t1"
    # STOPPED, pending changes; gateway protocols + expiry error for t2, consistent error (no answer)
    assert test["counts"] == {"pass": 6, "fail": 2, "error": 3, "skip": 0}
    assert report["summary"] == {"clusters": 2, "clusters_compliant": 1, "nodes": 5, "controls": 22,
                                 "passed": 17, "failed": 2, "errors": 3, "skipped": 0, "compliant": False}
    assert len(report["violations"]) == 5
    assert all(v.startswith("test: ") for v in report["violations"])
    assert "test: Server is RUNNING - FAIL (expected RUNNING, found STOPPED)" in report["violations"]


def test_node_without_cluster_goes_to_default():
    nodes = cluster()
    for n in nodes.values():
        del n["cluster"]
    assert [c["name"] for c in run(nodes)["clusters"]] == ["default"]


def test_policy_override_merges_with_defaults():
    report = run(cluster(), {"kms_mode": "aws", "certificate_min_days": 45})
    policy = report["policy"]
    assert policy["kms_mode"] == "aws"
    assert policy["certificate_min_days"] == 45
    for key, value in tsm_audit.DEFAULT_POLICY.items():
        if key not in ("kms_mode", "certificate_min_days"):
            assert policy[key] == value, key
    assert set(policy) == set(tsm_audit.DEFAULT_POLICY)
    assert controls(report)["kms_mode"]["status"] == "fail"
    # the defaults are not modified by an override
    assert tsm_audit.DEFAULT_POLICY["kms_mode"] is None
    assert run(cluster(), None)["policy"] == tsm_audit.DEFAULT_POLICY
    assert run(cluster(), {})["policy"] == tsm_audit.DEFAULT_POLICY


def test_filter_defaults_match_the_role_defaults():
    with open(ROLE_DEFAULTS) as f:
        defaults = yaml.safe_load(f)["tableau_tsm_audit_policy_defaults"]
    assert defaults == tsm_audit.DEFAULT_POLICY


def test_protocols_allowed_override():
    nodes = cluster()
    for h in nodes:
        nodes[h]["gateway"]["protocols"]["TLSv1.3"] = False  # what the role probes with allowed [TLSv1.2]
    with_info(nodes, external_ssl=dict(info_result()["external_ssl"], protocols=["TLSv1.2", "TLSv1.3"]))
    report = run(nodes, {"protocols_allowed": ["TLSv1.2"]})
    ctl = controls(report)
    assert ctl["gateway_protocols"]["status"] == "pass"
    assert ctl["protocols_configured"]["status"] == "fail"
    assert ctl["protocols_configured"]["detail"] == "also allows TLSv1.3"


def test_input_is_not_modified():
    nodes = cluster()
    before = copy.deepcopy(nodes)
    run(nodes, FULL_POLICY)
    assert nodes == before


# --- audit_expiry_svg ----------------------------------------------------------------------------------------

def parse(svg):
    root = ET.fromstring(svg)
    assert root.tag == SVG + "svg"
    return root


def bars(root):
    # the certificate bars are the only rects with a <title>
    return [r for r in root.iter(SVG + "rect") if r.find(SVG + "title") is not None]


def labels(root):
    return [t for t in root.iter(SVG + "text") if t.get("text-anchor") == "end"]


def ticks(root):
    return [t for t in root.iter(SVG + "text")
            if t.get("text-anchor") == "middle" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", t.text or "")]


def svg_report(gateway_days=(365,), repo_days=700, custom_days=2000, cluster_name="prod", subject=None):
    hosts = ["node%d" % (i + 1) for i in range(len(gateway_days))]
    nodes = {}
    for i, (h, days) in enumerate(zip(hosts, gateway_days)):
        gw = tls_result(h, days=days, fingerprint=":".join(["%02x" % i] * 32), subject=subject)
        nodes[h] = node(h, cluster_name, initial=(i == 0), gateway=gw, repository=repo_result(h, repo_days))
    info = nodes[hosts[0]]["info"]
    info["custom_cert"]["details"]["not_after"] = iso(custom_days)
    return run(nodes)


def test_svg_is_valid_xml_with_one_bar_per_certificate():
    report = svg_report(gateway_days=(365, 200, 100))
    certs = report["clusters"][0]["certificates"]
    assert len(certs) == 5  # three gateway certificates, the repository's, the custom CA
    root = parse(audit_expiry_svg(report))
    assert root.get("width") == "860"
    assert len(bars(root)) == 5
    assert len(labels(root)) == 5
    # sorted soonest first
    days = [int(re.search(r"\((-?\d+) days\)$", b.find(SVG + "title").text).group(1)) for b in bars(root)]
    assert days == sorted(c["days_left"] for c in certs)
    assert "today 2026-03-01" in [t.text for t in root.iter(SVG + "text")]


def test_svg_bar_lengths_follow_days():
    root = parse(audit_expiry_svg(svg_report(gateway_days=(100,), repo_days=200, custom_days=400), horizon_days=400))
    widths = [float(b.get("width")) for b in bars(root)]
    assert widths == sorted(widths)
    assert widths[1] == pytest.approx(2 * widths[0], rel=0.01)
    assert widths[2] == pytest.approx(4 * widths[0], rel=0.01)
    assert widths[2] == pytest.approx(860 - 260 - 20, rel=0.01)


def test_svg_expired_certificate_is_red_and_says_expired():
    report = svg_report(gateway_days=(-5, 365))
    root = parse(audit_expiry_svg(report))
    first = bars(root)[0]
    assert "(-5 days)" in first.find(SVG + "title").text
    assert first.get("fill") == RED
    assert float(first.get("width")) > 0
    texts = [t.text for t in root.iter(SVG + "text")]
    assert texts.count("expired") == 1
    assert "-5 d" not in texts


def test_svg_colours_follow_the_policy():
    report = svg_report(gateway_days=(10, 45), repo_days=100, custom_days=2000)
    fills = [b.get("fill") for b in bars(parse(audit_expiry_svg(report)))]
    assert fills == [RED, "#ef6c00", "#2e7d32", "#2e7d32"]


def test_svg_policy_threshold_is_marked():
    svg = audit_expiry_svg(svg_report())
    root = parse(svg)
    assert "policy: 30 days" in [t.text for t in root.iter(SVG + "text")]


def test_svg_without_certificates():
    nodes = cluster()
    for h in nodes:
        nodes[h]["gateway"] = failed_result("timed out")
    nodes["node1"]["repository"] = failed_result("timed out")
    nodes["node1"]["info"]["custom_cert"] = {"present": False, "details": None}
    root = parse(audit_expiry_svg(run(nodes)))
    assert bars(root) == []
    assert "no certificate could be read" in [t.text for t in root.iter(SVG + "text")]


@pytest.mark.parametrize("width, horizon, longest", [
    (860, None, 60),
    (860, None, 365),
    (860, None, 1000),
    (860, None, 5000),
    (860, 400, 365),
    (860, 20000, 365),
    (1600, None, 3000),
    (480, None, 3000),
    (400, None, 3000),
    (400, 3650, 365),
])
def test_svg_tick_labels_do_not_overlap(width, horizon, longest):
    report = svg_report(gateway_days=(longest,), repo_days=20, custom_days=10)
    root = parse(audit_expiry_svg(report, width=width, horizon_days=horizon))
    xs = [float(t.get("x")) for t in ticks(root)]
    assert xs, "no tick"
    assert xs[0] == pytest.approx(260)  # today
    assert all(b - a >= 80 for a, b in zip(xs, xs[1:])), xs
    assert all(x <= width for x in xs)
    dates = [t.text for t in ticks(root)]
    assert dates[0] == "2026-03-01"
    assert dates == sorted(set(dates))


def test_svg_ticks_are_not_too_sparse():
    # 90 days on 580 px: a tick every month, not one for the whole chart
    root = parse(audit_expiry_svg(svg_report(gateway_days=(60,), repo_days=20, custom_days=10)))
    assert len(ticks(root)) >= 3


def test_svg_long_label_is_truncated_with_full_text_in_title():
    report = svg_report(gateway_days=(365,), cluster_name="production-emea-west-datacenter")
    root = parse(audit_expiry_svg(report))
    full = "production-emea-west-datacenter gateway (node1)"
    label = [t for t in labels(root) if t.find(SVG + "title").text == full]
    assert len(label) == 1
    shown = label[0].find(SVG + "title").tail
    assert len(shown) == 32
    assert shown.endswith("\u2026")
    assert shown == full[:31] + "\u2026"
    # 41 characters: truncated too
    short = [t for t in labels(root) if t.find(SVG + "title").text == "production-emea-west-datacenter custom CA"]
    assert short[0].find(SVG + "title").tail == "production-emea-west-datacenter\u2026"
    assert all(len(t.find(SVG + "title").tail) <= 32 for t in labels(root))


def test_svg_short_label_is_not_truncated():
    root = parse(audit_expiry_svg(svg_report(cluster_name="prod")))
    for t in labels(root):
        assert t.find(SVG + "title").tail == t.find(SVG + "title").text
        assert "\u2026" not in t.find(SVG + "title").tail


def test_svg_escapes_hostile_text():
    hostile = '<script>alert("x")</script>&amp;\'"'
    report = svg_report(gateway_days=(365,), cluster_name="<img src=x onerror=alert(1)>", subject="CN=" + hostile)
    svg = audit_expiry_svg(report)
    assert "<script>" not in svg and "<img" not in svg
    assert "&lt;script&gt;" in svg
    root = parse(svg)
    assert not list(root.iter("script")) and not list(root.iter(SVG + "script"))
    titles = [b.find(SVG + "title").text for b in bars(root)]
    assert any(("CN=" + hostile) in t for t in titles)
    assert all(t.startswith("<img src=x onerror=alert(1)>") for t in titles)
    for t in labels(root):
        assert t.find(SVG + "title").text.startswith("<img src=x onerror=alert(1)>")


def test_svg_beyond_horizon():
    report = svg_report(gateway_days=(500,), repo_days=20, custom_days=10)
    root = parse(audit_expiry_svg(report, horizon_days=100))
    texts = [t.text for t in root.iter(SVG + "text")]
    assert "500 d (beyond chart)" in texts
    assert max(float(b.get("width")) for b in bars(root)) == pytest.approx(580)
