"""Pending changes, prompts, apply/restart, configuration, settings, status, jobs, server jobs."""

import json

import pytest

from test_cli_helpers import file_mode, knobs


def stage_ssl(c, p):
    c.ok("security", "external-ssl", "enable", "--cert-file", p.cert, "--key-file", p.key)


def test_pending_list_and_discard(cluster, pki):
    assert cluster.ok("pending-changes", "list").stdout.strip() == "There are no pending changes."
    stage_ssl(cluster, pki)
    cluster.ok("security", "maestro-tabpy-ssl", "enable", "--connection-type", "maestro-tabpy", "--tabpy-host",
               "h", "--tabpy-port", "9004", "--tabpy-password", "tabpy-secret")
    out = cluster.ok("pending-changes", "list").stdout
    assert "  ssl.enabled: true" in out and "ssl.cert.file_name: server.crt" in out
    assert "maestro.tabpy.password: ********" in out and "tabpy-secret" not in out
    assert "require a server restart" in out
    assert "no pending topology" in cluster.ok("pending-changes", "list", "--topology-only").stdout
    assert "ssl.enabled" in cluster.ok("pending-changes", "list", "--config-only").stdout
    cluster.ok("pending-changes", "discard", "--topology-only")
    assert len(cluster.state()["pending"]) == 2
    assert "Discarded 2" in cluster.ok("pending-changes", "discard", "--config-only").stdout
    assert cluster.state()["pending"] == []
    assert cluster.applied()["ssl.enabled"] == "false"
    assert cluster.calls()[-1]["kind"] == "write"


def test_dynamic_key_needs_no_restart(cluster):
    cluster.ok("configuration", "set", "-k", "gateway.timeout", "-v", "900")
    out = cluster.ok("pending-changes", "list").stdout
    assert "gateway.timeout: 900 (does not require a restart)" in out
    assert "do not require a server restart" in out
    r = cluster.ok("pending-changes", "apply")  # no prompt, stdin not read
    assert "(y/n)" not in r.stdout
    c = cluster.calls()[-1]
    assert c["kind"] == "apply" and c["restarted"] is False
    assert cluster.ok("configuration", "get", "-k", "gateway.timeout").stdout.strip() == "900"


def test_apply_nothing_pending(cluster):
    r = cluster.ok("pending-changes", "apply")
    assert "no pending changes" in r.stdout
    c = cluster.calls()[-1]
    assert c["kind"] == "apply" and c["restarted"] is False and c["rc"] == 0
    assert cluster.state()["jobs"] == []


@pytest.mark.parametrize("answer", ["y\n", "yes\n", "Y\n"])
def test_apply_prompt_yes(cluster, pki, answer):
    stage_ssl(cluster, pki)
    r = cluster.ok("pending-changes", "apply", input=answer)
    assert "server restart" in r.stdout and "(y/n)" in r.stdout
    c = cluster.calls()[-1]
    assert c["kind"] == "apply" and c["restarted"] is True
    st = cluster.state()
    assert st["pending"] == [] and st["applied"]["ssl.enabled"] == "true"
    assert st["applied_files"]["ssl.cert.file_name"].endswith("/server.crt")
    assert st["jobs"][-1]["type"] == "ApplyPendingChangesJob" and st["jobs"][-1]["status"] == "Succeeded"
    assert st["gateway_status"] == {"node1": "up", "node2": "up"} and st["server"] == "RUNNING"


@pytest.mark.parametrize("answer", ["n\n", "", "maybe\n"])
def test_apply_prompt_no_or_eof_aborts(cluster, pki, answer):
    stage_ssl(cluster, pki)
    before = cluster.state()
    r = cluster.fail("pending-changes", "apply", input=answer)
    assert "(y/n)" in r.stdout and "not applied" in r.stderr
    after = cluster.state()
    assert after["pending"] == before["pending"] and after["applied"] == before["applied"]
    assert after["jobs"] == []
    c = cluster.calls()[-1]
    assert c["rc"] == 1 and c["restarted"] is False and c["kind"] == "apply"


def test_apply_ignore_prompt_and_options(cluster, pki):
    stage_ssl(cluster, pki)
    r = cluster.ok("pending-changes", "apply", "--ignore-prompt", "-iw", "--request-timeout", "600")
    assert "(y/n)" not in r.stdout and "timeout is 10 minutes" in r.stdout
    assert cluster.calls()[-1]["restarted"] is True
    stage_ssl(cluster, pki)
    cluster.ok("pending-changes", "apply", "--ignore-warnings", "--ignore-prompt")
    r = cluster.fail("pending-changes", "apply", "--request-timeout", "soon")
    assert "--request-timeout" in r.stderr


def test_apply_on_stopped_server_prompts_but_does_not_restart(cluster, pki):
    cluster.ok("stop")
    assert cluster.ok("status").stdout.strip() == "Status: STOPPED"
    stage_ssl(cluster, pki)
    r = cluster.fail("pending-changes", "apply", input="")  # the prompt shows even when stopped
    assert "(y/n)" in r.stdout
    r = cluster.ok("pending-changes", "apply", input="y\n")
    assert "stopped" in r.stdout
    c = cluster.calls()[-1]
    assert c["restarted"] is False
    st = cluster.state()
    assert st["applied"]["ssl.enabled"] == "true" and st["server"] == "STOPPED"
    assert st["gateway_status"] == {"node1": "down", "node2": "down"}
    cluster.ok("start")
    assert cluster.state()["server"] == "RUNNING"


def test_gateway_cannot_load_key_degrades(cluster, pki):
    cluster.ok("security", "external-ssl", "enable", "--cert-file", pki.cert, "--key-file", pki.key_enc,
               "--passphrase", pki.passphrase)
    cluster.apply()
    # configKeys are not validated: a wrong passphrase reaches the gateway, as on a real server
    cluster.ok("configuration", "set", "-k", "ssl.key.passphrase", "-v", "wrong-passphrase")
    r = cluster.tsm("pending-changes", "apply", "--ignore-prompt")
    assert r.returncode == 1 and "gateway could not start" in r.stderr and "DEGRADED" in r.stderr
    assert cluster.calls()[-1]["rc"] == 1 and cluster.calls()[-1]["kind"] == "apply"
    st = cluster.state()
    assert st["server"] == "DEGRADED" and st["gateway_status"]["node1"].startswith("error: ")
    assert st["jobs"][-1]["status"] == "Failed" and st["pending"] == []
    assert cluster.ok("status").stdout.strip() == "Status: DEGRADED"
    assert "Gateway: error (" in cluster.ok("status", "-v").stdout
    # fixing the configuration recovers the server
    cluster.ok("security", "external-ssl", "enable", "--cert-file", pki.cert, "--key-file", pki.key)
    cluster.apply()
    st = cluster.state()
    assert st["server"] == "RUNNING" and st["gateway_status"] == {"node1": "up", "node2": "up"}


def test_gateway_fail_knob(cluster, pki):
    cluster.knobs(gateway_fail_next_apply=True)
    stage_ssl(cluster, pki)
    r = cluster.fail("pending-changes", "apply", "--ignore-prompt")
    assert "injected" in r.stderr
    assert cluster.state()["server"] == "DEGRADED"
    assert knobs.read(cluster.d)["gateway_fail_next_apply"] is False
    cluster.ok("restart")
    assert cluster.state()["server"] == "RUNNING"


def test_configuration_get_set(cluster):
    assert cluster.ok("configuration", "get", "-k", "ssl.protocols").stdout == "all, -SSLv2, -SSLv3\n"
    snap = cluster.snapshot()
    r = cluster.fail("configuration", "get", "-k", "no.such.key")
    assert "Unknown key" in r.stderr
    assert cluster.state_text() == snap[0]
    snap = cluster.snapshot()
    r = cluster.fail("configuration", "set", "-k", "my.custom.key", "-v", "1")
    assert "Unknown key" in r.stderr and "--force-keys" in r.stderr
    cluster.assert_unchanged(snap, r)
    cluster.ok("configuration", "set", "-k", "my.custom.key", "-v", "1", "-frc")
    cluster.ok("configuration", "set", "--key", "ssl.protocols", "--value", "all -SSLv2 -SSLv3 -TLSv1 -TLSv1.1")
    assert cluster.ok("configuration", "get", "-k", "ssl.protocols").stdout.strip() == "all, -SSLv2, -SSLv3"
    cluster.fail("configuration", "get", "-k", "my.custom.key")  # pending only
    cluster.apply()
    assert cluster.ok("configuration", "get", "-k", "my.custom.key").stdout.strip() == "1"
    assert cluster.ok("configuration", "get", "--key", "ssl.protocols").stdout.strip() == \
        "all -SSLv2 -SSLv3 -TLSv1 -TLSv1.1"
    cluster.ok("configuration", "set", "-k", "ssl.protocols", "-d")
    cluster.apply()
    assert cluster.ok("configuration", "get", "-k", "ssl.protocols").stdout.strip() == "all, -SSLv2, -SSLv3"
    assert "--value" in cluster.fail("configuration", "set", "-k", "ssl.protocols").stderr
    assert "either" in cluster.fail("configuration", "set", "-k", "ssl.protocols", "-v", "x", "-d").stderr
    assert "Missing required option: --key" in cluster.fail("configuration", "get").stderr


def test_settings_export_import(cluster, pki, tmp_path):
    cluster.ok("security", "external-ssl", "enable", "--cert-file", pki.cert, "--key-file", pki.key_enc,
               "--passphrase", pki.passphrase)
    f = tmp_path / "settings.json"
    cluster.ok("settings", "export", "-f", str(f))
    assert file_mode(str(f)) == 0o600
    doc = json.loads(f.read_text())
    ck = doc["configKeys"]
    assert ck["ssl.enabled"] == "true"  # requested configuration
    assert ck["ssl.key.passphrase"].startswith("ENC(") and pki.passphrase not in f.read_text()
    assert doc["configEntities"]["gatewaySettings"]["_type"] == "gatewaySettingsType"
    assert set(doc["topologyVersion"]["nodes"]) == {"node1", "node2"}
    assert cluster.calls()[-1]["kind"] == "read"
    cluster.apply()
    # re-importing the same settings changes nothing
    assert "no configuration changes" in cluster.ok("settings", "import", "-f", str(f)).stdout
    assert cluster.state()["pending"] == []
    imp = tmp_path / "imp.json"
    imp.write_text(json.dumps({"configKeys": {"gateway.http.hsts": True, "ssl.protocols": "all -TLSv1"},
                               "configEntities": {"gatewaySettings": {"_type": "gatewaySettingsType"}}}))
    cluster.ok("settings", "import", "--import-config-file", str(imp), "--config-only")
    p = cluster.state()["pending"][-1]
    assert p["keys"] == {"gateway.http.hsts": "true", "ssl.protocols": "all -TLSv1"} and p["restart"] is True
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"configKeys": {"x.y.z": "1"}}))
    snap = cluster.snapshot()
    r = cluster.fail("settings", "import", "-f", str(unknown))
    assert "x.y.z" in r.stderr and "--force-keys" in r.stderr
    cluster.assert_unchanged(snap, r)
    cluster.ok("settings", "import", "-f", str(unknown), "-frc")
    assert cluster.requested()["x.y.z"] == "1"
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    snap = cluster.snapshot()
    cluster.assert_unchanged(snap, cluster.fail("settings", "import", "-f", str(bad)))
    ent = tmp_path / "ent.json"
    ent.write_text(json.dumps({"configEntities": {"gatewaySettings": {"port": 80}}}))
    assert "_type" in cluster.fail("settings", "import", "-f", str(ent)).stderr
    assert "does not exist" in cluster.fail("settings", "import", "-f", str(tmp_path / "none.json")).stderr
    cluster.ok("settings", "import", "-f", str(unknown), "--topology-only")
    assert "Missing required option" in cluster.fail("settings", "export").stderr
    assert "Cannot write" in cluster.fail("settings", "export", "-f", str(tmp_path / "no" / "x.json")).stderr


def test_status_and_version(make):
    for v, code in [("2020.3", "20203."), ("2024.2", "20242.24.0807.0327"), ("2025.3", "20253.")]:
        c = make(version=v)
        out = c.ok("version").stdout
        assert "version: %s" % v in out and code in out
        r = c.ok("status")
        assert r.stdout.splitlines()[0] == "Status: RUNNING"
        v_out = c.ok("status", "-v").stdout
        assert "Node: node1 (node1.c1.tsm.test)" in v_out and "Node: node2" in v_out
        assert "Gateway: running" in v_out and "Administration Controller: running" in v_out
        assert c.calls()[-1]["kind"] == "read"


def test_start_stop_restart_jobs(cluster):
    assert cluster.ok("jobs", "list").stdout.strip() == "No jobs."
    cluster.ok("stop")
    assert cluster.state()["server"] == "STOPPED"
    assert "Gateway: stopped" in cluster.ok("status", "--verbose").stdout
    cluster.ok("start", "--request-timeout", "120")
    cluster.ok("restart")
    calls = [c for c in cluster.calls() if c["kind"] == "job"]
    assert [c["argv"][0] for c in calls] == ["stop", "start", "restart"]
    assert [c["restarted"] for c in calls] == [False, False, True]
    out = cluster.ok("jobs", "list").stdout
    for t in ("StopServerJob", "StartServerJob", "RestartServerJob"):
        assert "Job type: %s" % t in out
    assert out.count("Job status: Succeeded") == 3


def test_regenerate_internal_tokens(cluster):
    st0 = cluster.state()
    cluster.ok("stop")
    r = cluster.ok("security", "regenerate-internal-tokens", "--request-timeout", "1800")
    assert "regenerated" in r.stdout
    st = cluster.state()
    assert st["tokens"]["generation"] == st0["tokens"]["generation"] + 1 and st["tokens"]["last"]
    assert st["repository_cert"]["generation"] == st0["repository_cert"]["generation"] + 1
    assert st["server"] == "RUNNING"
    c = cluster.calls()[-1]
    assert c["kind"] == "job" and c["restarted"] is True
    assert st["jobs"][-1]["type"] == "RegenerateInternalTokensJob"
