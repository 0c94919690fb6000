"""Runtime tests: a real 3-node emulated cluster (gateways, PostgreSQL, controller API, CLI).

One cluster is shared by the whole module (creating one costs ~1.5 s); tests that change the
applied configuration set it explicitly first, so their order does not matter except for the
final destroy test.
"""
import json
import os
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import conftest_runtime as rt  # noqa: E402
from conftest_runtime import daemon, layout  # noqa: E402

HARDENED = "all -SSLv2 -SSLv3 -TLSv1 -TLSv1.1"
TIMINGS = {}

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def cl(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("runtime") / "cluster")
    t0 = time.time()
    summary = rt.cli_json("create", d, "--nodes", "3")
    TIMINGS["create_3_nodes_s"] = time.time() - t0
    c = layout.load_cluster(d)
    nodes = c["nodes"]
    pki = rt.make_pki(os.path.join(d, "cfs", "external_ssl", "test"),
                      [n["hostname"] for n in nodes], [n["address"] for n in nodes])
    enc = rt.make_pki(os.path.join(d, "cfs", "external_ssl", "enc"),
                      [n["hostname"] for n in nodes], [n["address"] for n in nodes],
                      passphrase="p4ss phrase!", tag="enc")
    info = {"dir": d, "summary": summary, "cluster": c, "pki": pki, "enc": enc}
    yield info
    if os.path.exists(d):
        rt.cli("destroy", d, check=False)


def _gw(c, i=0):
    n = c["nodes"][i]
    return n["address"], n["gateway"]["https_port"], n["gateway"]["http_port"], n["hostname"]


def _external(cl, protocols=HARDENED, **kw):
    rt.apply_external_ssl(cl["dir"], kw.pop("pki", cl["pki"]), protocols=protocols, **kw)
    r = rt.reload(cl["dir"])
    TIMINGS.setdefault("gateway_reload_s", r["_seconds"])
    return r


# --------------------------------------------------------------------------- layout / CLI

def test_create_summary_and_layout(cl):
    s, c, d = cl["summary"], cl["cluster"], cl["dir"]
    assert s["running"] is True and len(s["nodes"]) == 3
    k = c["index"]
    assert s["name"] == c["name"] == "c%d" % k
    for i, n in enumerate(s["nodes"], 1):
        assert n["gateway"]["address"] == "127.201.%d.%d" % (k, i)
        assert n["hostname"] == "node%d.c%d.tsm.test" % (i, k)
        assert os.access(n["tsm"], os.X_OK)
        assert "/customer-bin.%s/tsm" % c["code"] in n["tsm"]
        with open(n["tsm"]) as f:
            text = f.read()
        assert text.startswith("#!/bin/sh") and "TSM_EMULATOR_NODE=node%d" % i in text
        assert "tsm_main.py" in text and c["python"] in text
    assert s["controller"]["url"] == "https://node1.c%d.tsm.test:8850" % k
    assert (s["repository"]["address"], s["repository"]["port"]) == ("127.201.%d.1" % k, 8060)
    for f in ("cluster.json", "state.json", "knobs.json", "run/daemon.pid", "run/controller.crt"):
        assert os.path.exists(os.path.join(d, f)), f
    for u in ("tsm", "tableau", "readonly"):
        assert os.stat(os.path.join(d, "run", "pg-%s.password" % u)).st_mode & 0o777 == 0o600
    assert s["status"]["gateways"] == {"node1": "up", "node2": "up", "node3": "up"}
    assert TIMINGS["create_3_nodes_s"] < 30


def test_inventory(cl):
    import yaml
    d, c = cl["dir"], cl["cluster"]
    inv = yaml.safe_load(rt.cli("inventory", d).stdout)
    hosts = inv["all"]["children"]["tableau_server"]["hosts"]
    name = c["name"]
    assert sorted(hosts) == ["%s-node%d" % (name, i) for i in (1, 2, 3)]
    h1 = hosts["%s-node1" % name]
    assert h1["tableau_initial_node"] is True
    assert not any(h.get("tableau_initial_node") for k, h in hosts.items() if k.endswith("2"))
    for i, n in enumerate(c["nodes"]):
        h = hosts["%s-node%d" % (name, i + 1)]
        assert h["tableau_cluster"] == name
        assert h["tableau_tsm_path"] == n["tsm_path"]
        assert h["tableau_gateway_host"] == n["address"]
        assert h["tableau_gateway_https_port"] == n["gateway"]["https_port"]
        assert h["tableau_gateway_http_port"] == n["gateway"]["http_port"]
        assert h["tableau_repository_host"] == c["repository"]["address"]
        assert h["tableau_repository_port"] == 8060
        assert h["tableau_node_hostname"] == n["hostname"]
        assert h["ansible_connection"] == "local"
        assert h["ansible_python_interpreter"] == c["python"]
        assert h["tableau_emulator_dir"] == d
        # each emulated node keeps the collection's files under its own root, never in the real /etc, /var
        root = os.path.join(d, n["name"])
        assert h["tableau_tsm_cert_dir"] == os.path.join(root, "etc/opt/tableau/tableau_tsm/certs")
        assert h["tableau_tsm_rotation_backup_dir"].startswith(root + "/var/opt/tableau/")
    inv2 = yaml.safe_load(rt.cli("inventory", d, "--cluster", "prod-east").stdout)
    hv = inv2["all"]["children"]["tableau_server"]["hosts"]["%s-node2" % name]
    assert hv["tableau_cluster"] == "prod-east"


def test_inventory_without_pyyaml_is_the_same_yaml(cl):
    import importlib.machinery
    import types
    import yaml
    loader = importlib.machinery.SourceFileLoader("tsm_emulator_cli", rt.CLI)
    mod = types.ModuleType(loader.name)
    mod.__file__ = rt.CLI
    loader.exec_module(mod)
    inv = mod.inventory_dict(cl["dir"])
    hand = "---\n" + "\n".join(mod._yaml(inv)) + "\n"
    assert yaml.safe_load(hand) == inv == yaml.safe_load(mod.dump_yaml(inv))


def test_calls_and_knobs_commands(cl):
    d, c = cl["dir"], cl["cluster"]
    p = subprocess.run([c["nodes"][0]["tsm_path"], "version"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=30, check=False)
    assert p.returncode == 0, p.stderr
    out = rt.cli("calls", d).stdout
    assert out.splitlines()[0].split()[:3] == ["#", "time", "node"]
    assert any(line.split()[-1:] == ["version"] for line in out.splitlines()[1:]), out
    lines = rt.cli("calls", d, "--json").stdout.splitlines()
    assert json.loads(lines[-1])["argv"] == ["version"]
    k = rt.cli_json("knob", d, "latency_ms=7", "fail_writes=2")
    assert k["latency_ms"] == 7 and k["fail_writes"] == 2
    k = rt.cli_json("knob", d, "latency_ms=5", "fail_writes=0")
    assert k["fail_writes"] == 0
    assert rt.cli("knob", d, "bogus=1", check=False).returncode != 0
    st = rt.cli_json("status", d)
    assert st["daemon"] == "running" and st["controller"] == "up"
    assert {x["what"] for x in st["listeners"]} >= {"controller-api", "repository"}


# --------------------------------------------------------------------------- gateway

def test_http_page_when_ssl_off(cl):
    c = cl["cluster"]
    rt.apply_external_ssl(cl["dir"], cl["pki"], enabled=False)
    r = rt.reload(cl["dir"])
    assert r["ok"] and set(r["gateways"].values()) == {"up"}
    for i in range(3):
        addr, https, http, _host = _gw(c, i)
        code, _headers, body = rt.http_get(addr, http)
        assert code == 200 and b"Tableau Server" in body
        assert not rt.port_open(addr, https)


PROTOCOL_MATRIX = [
    (HARDENED, {"TLSv1.2", "TLSv1.3"}),
    ("all, -SSLv2, -SSLv3", {"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}),
    ("all -SSLv3 -TLSv1", {"TLSv1.1", "TLSv1.2", "TLSv1.3"}),
    ("-all +TLSv1.2", {"TLSv1.2"}),
    ("TLSv1.3", {"TLSv1.3"}),
    ("all,-SSLv2,-SSLv3,-TLSv1.3", {"TLSv1", "TLSv1.1", "TLSv1.2"}),
]


@pytest.mark.parametrize("protocols,accepted", PROTOCOL_MATRIX)
def test_gateway_protocol_matrix(cl, protocols, accepted):
    r = _external(cl, protocols)
    assert r["ok"], r
    nodes = range(3) if protocols == HARDENED else [1]
    for i in nodes:
        addr, https, _http, _host = _gw(cl["cluster"], i)
        for v in rt.TLS:
            ok, detail = rt.handshake(addr, https, v)
            assert ok == (v in accepted), (protocols, v, detail)
            if ok:
                assert detail[0] == v


def test_client_can_do_tls11_so_refusals_are_the_servers(cl):
    # The client context used above really speaks TLS 1.0/1.1 when a server allows it.
    _external(cl, "all, -SSLv2, -SSLv3")
    addr, https, _http, _host = _gw(cl["cluster"], 0)
    assert rt.handshake(addr, https, "TLSv1.1")[0]
    assert rt.handshake(addr, https, "TLSv1")[0]


def test_openssl_s_client(cl):
    _external(cl, HARDENED)
    addr, https, _http, _host = _gw(cl["cluster"], 2)

    def s_client(*args):
        p = subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % (addr, https),
                            "-cipher", "DEFAULT:@SECLEVEL=0", "-showcerts"] + list(args),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=20, check=False)
        return p.returncode, p.stdout

    rc, out = s_client("-tls1_1")
    assert rc != 0 and ("protocol version" in out or "alert" in out), out
    rc, out = s_client("-tls1_2")
    assert rc == 0, out
    assert "Protocol  : TLSv1.2" in out or "TLSv1.2" in out
    assert out.count("-----BEGIN CERTIFICATE-----") == 2      # leaf + intermediate


def test_served_cert_is_applied_cert_and_chain_is_sent(cl):
    _external(cl, HARDENED)
    c = cl["cluster"]
    for i in range(3):
        addr, https, _http, host = _gw(c, i)
        ok, detail = rt.handshake(addr, https)
        assert ok and detail[1] == cl["pki"]["fingerprint"]
        # Verification against the root alone succeeds only if the intermediate is sent.
        ok, detail = rt.handshake(addr, https, cafile=cl["pki"]["root"], server_hostname=host)
        assert ok, detail
    # Without the chain configured, the same verification fails.
    _external(cl, HARDENED, chain=False)
    addr, https, _http, host = _gw(c, 0)
    ok, detail = rt.handshake(addr, https, cafile=cl["pki"]["root"], server_hostname=host)
    assert not ok and "CERTIFICATE_VERIFY_FAILED" in detail


def test_http_redirects_to_https_when_ssl_on(cl):
    _external(cl, HARDENED)
    addr, https, http, _host = _gw(cl["cluster"], 1)
    code, headers, _body = rt.http_get(addr, http, "/#/signin?x=1")
    assert code == 301
    want = "https://%s%s/" % (addr, "" if https == 443 else ":%d" % https)
    assert headers["Location"].startswith(want)
    code, _headers, body = rt.http_get(addr, https, "/", tls=True)
    assert code == 200 and b"Tableau Server" in body


def test_encrypted_key_with_passphrase(cl):
    r = _external(cl, HARDENED, pki=cl["enc"], passphrase="p4ss phrase!")
    assert r["ok"], r
    addr, https, _http, _host = _gw(cl["cluster"], 0)
    ok, detail = rt.handshake(addr, https)
    assert ok and detail[1] == cl["enc"]["fingerprint"]
    r = _external(cl, HARDENED, pki=cl["enc"], passphrase="wrong")
    assert not r["ok"] and all(v.startswith("error:") for v in r["gateways"].values())


def test_bad_cert_takes_gateway_down(cl):
    d, c = cl["dir"], cl["cluster"]
    bad = dict(cl["pki"], key=cl["enc"]["key"])       # key does not match the certificate
    rt.apply_external_ssl(d, bad, protocols=HARDENED, passphrase="p4ss phrase!")
    r = rt.reload(d)
    assert r["ok"] is False and "error" in r
    for i in range(3):
        assert r["gateways"]["node%d" % (i + 1)].startswith("error: ")
        addr, https, http, _host = _gw(c, i)
        assert not rt.port_open(addr, https) and not rt.port_open(addr, http)
    api = rt.Api(c)
    assert api.login()[0] == 204
    code, _headers, body = api.call("GET", "/status")
    assert body["clusterStatus"]["rollupStatus"] == "DEGRADED"
    # invalid protocols also keep the gateway down; a good config brings it back
    r = _external(cl, "-all")
    assert r["ok"] is False
    r = _external(cl, HARDENED)
    assert r["ok"] and set(r["gateways"].values()) == {"up"}


def test_injected_gateway_failure(cl):
    rt.apply_external_ssl(cl["dir"], cl["pki"], protocols=HARDENED)
    r = rt.reload(cl["dir"], fail_gateway="node2")
    assert not r["ok"] and r["gateways"]["node2"].startswith("error: ")
    assert r["gateways"]["node1"] == "up"
    assert rt.reload(cl["dir"])["ok"]


def test_tsm_cli_apply_drives_the_daemon(cl):
    """The per-node tsm (other engineer's CLI) stages, applies, and the daemon serves it."""
    d, c = cl["dir"], cl["cluster"]
    tsm = c["nodes"][0]["tsm_path"]
    pki = cl["pki"]

    def run(*args, stdin=None):
        return subprocess.run([tsm] + list(args), input=stdin, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=60, check=False)

    p = run("security", "external-ssl", "enable", "--cert-file", pki["cert"], "--key-file",
            pki["key"], "--chain-file", pki["chain"], "--protocols", "all -SSLv2 -SSLv3 -TLSv1")
    assert p.returncode == 0, p.stdout + p.stderr
    p = run("pending-changes", "apply", "--ignore-prompt")
    assert p.returncode == 0, p.stdout + p.stderr
    addr, https, _http, _host = _gw(c, 2)
    ok, detail = rt.handshake(addr, https, "TLSv1.1")
    assert ok and detail[1] == pki["fingerprint"], detail
    assert not rt.handshake(addr, https, "TLSv1")[0]


# --------------------------------------------------------------------------- repository

needs_pg = pytest.mark.skipif(not rt.PSQL or
                              not __import__("tsm_emulator.repository", fromlist=["x"]).find_pg_bin(),
                              reason="no PostgreSQL binaries/psql here: PostgreSQL SSL modes "
                                     "not checked through psql (SSLRequest responder only)")


@needs_pg
def test_postgres_ssl_modes(cl):
    from tsm_emulator import repository
    d, c = cl["dir"], cl["cluster"]
    host = c["nodes"][0]["hostname"]
    # required
    rt.set_repository_ssl(d, "required")
    r = rt.reload(d)
    TIMINGS["repository_reload_s"] = r["_seconds"]
    assert r["ok"] and r["repository"] == "ssl=required", r
    crt = repository.ensure_repository_cert(d)
    assert crt.startswith(c["nodes"][0]["data_dir"] + "/data/tabsvc/config/pgsql_")
    assert crt.endswith("/security/server.crt")
    key = os.path.join(os.path.dirname(crt), "server.key")
    assert os.stat(key).st_mode & 0o777 == 0o600
    if os.geteuid() == 0:
        import pwd
        assert pwd.getpwuid(os.stat(key).st_uid).pw_name == "postgres"
    rc, out = rt.psql(c, d, "disable")
    assert rc != 0 and ("no encryption" in out or "reject" in out), out
    rc, out = rt.psql(c, d, "verify-full", rootcert=crt)
    assert rc == 0 and out == "t", out
    rc, out = rt.psql(c, d, "verify-full", rootcert=crt, host=host, user="readonly")
    assert rc == 0 and out == "t", out
    # internal-only: both connect
    rt.set_repository_ssl(d, "internal-only")
    assert rt.reload(d)["repository"] == "ssl=internal-only"
    assert rt.psql(c, d, "disable") == (0, "f")
    assert rt.psql(c, d, "verify-full", rootcert=crt) == (0, "t")
    # off: SSL cannot be required
    rt.set_repository_ssl(d, "off")
    assert rt.reload(d)["repository"] == "ssl=off"
    rc, out = rt.psql(c, d, "require")
    assert rc != 0 and "does not support SSL" in out, out
    assert rt.psql(c, d, "disable") == (0, "f")
    # password auth over TCP, not trust
    assert rt.psql(c, d, "disable", user="tsm", sql="select 1") == (0, "1")
    rc, out = rt.psql(c, d, "disable", password="wrong")
    assert rc != 0 and "password authentication failed" in out, out
    # regenerated certificate (regenerate-internal-tokens bumps the generation)
    with open(crt) as f:
        old = f.read()
    old_copy = os.path.join(os.path.dirname(d), "old-repo.crt")
    with open(old_copy, "w") as f:
        f.write(old)
    rt.set_repository_ssl(d, "required", bump_generation=True)
    assert rt.reload(d)["repository"] == "ssl=required"
    with open(crt) as f:
        assert f.read() != old
    assert rt.psql(c, d, "verify-full", rootcert=crt) == (0, "t")
    rc, out = rt.psql(c, d, "verify-full", rootcert=old_copy)
    assert rc != 0 and "certificate verify failed" in out, out
    rt.set_repository_ssl(d, "off")
    assert rt.reload(d)["ok"]


# --------------------------------------------------------------------------- controller API

def test_controller_api(cl):
    d, c = cl["dir"], cl["cluster"]
    _external(cl, HARDENED)
    api = rt.Api(c)
    assert api.call("GET", "/status")[0] == 401
    assert api.login("tsmadmin", "nope")[0] == 401
    assert api.login("nobody", "tsmadmin-password")[0] == 401
    assert api.call("POST", "/login", {"x": 1})[0] == 400
    code, headers = api.login()
    assert code == 204 and headers["Set-Cookie"].startswith("AUTH_COOKIE=")
    code, _headers, body = api.call("GET", "/status")
    assert code == 200
    cs = body["clusterStatus"]
    assert cs["rollupStatus"] == "RUNNING"
    assert [n["nodeId"] for n in cs["nodes"]] == ["node1", "node2", "node3"]
    gw = [s for s in cs["nodes"][1]["services"] if s["serviceName"] == "gateway"][0]
    assert gw["instances"][0]["processStatus"] == "Running"
    code, _headers, body = api.call("GET", "/nodes")
    assert code == 200 and len(body["clusterNodes"]["nodes"]) == 3
    code, _headers, body = api.call("GET", "/configurations/requested/version")
    ver = body["version"]
    code, _headers, body = api.call("GET", "/configurations/%d/keys" % ver)
    assert code == 200
    keys = body["configKeys"]
    assert keys["ssl.enabled"] == "true" and keys["ssl.protocols"] == HARDENED
    assert keys["ssl.cert.file_name"] == "server.crt"
    code, _headers, body = api.call("GET", "/configurations/%d/keys/ssl.protocols" % ver)
    assert code == 200 and body == {"configKeys": {"ssl.protocols": HARDENED}}
    assert api.call("GET", "/configurations/%d/keys/no.such.key" % ver)[0] == 404
    # secrets are ENC(...)
    rt.apply_external_ssl(d, cl["enc"], protocols=HARDENED, passphrase="p4ss phrase!")
    code, _headers, body = api.call("GET", "/configurations/%d/keys/ssl.key.passphrase" % ver)
    v = body["configKeys"]["ssl.key.passphrase"]
    assert v.startswith("ENC(") and "p4ss" not in v
    code, _headers, body = api.call("GET", "/export?includeBinaryVersion=true")
    assert code == 200 and "configKeys" in body and "p4ss phrase!" not in json.dumps(body)
    assert body["binaryVersion"] == c["code"]
    code, _headers, body = api.call("GET", "/asyncJobs")
    assert code == 200 and isinstance(body["asyncJobs"], list)
    assert api.call("GET", "/asyncJobs/999999")[0] == 404
    assert api.call("POST", "/logout")[0] == 204
    assert api.call("GET", "/status")[0] == 401


def test_controller_unreachable_knob(cl):
    d, c = cl["dir"], cl["cluster"]
    addr, port = c["controller"]["address"], c["controller"]["port"]
    rt.cli("knob", d, "controller_unreachable=true")
    assert rt.wait_until(lambda: not rt.port_open(addr, port), 5)
    rt.cli("knob", d, "controller_unreachable=false")
    assert rt.wait_until(lambda: rt.port_open(addr, port), 5)
    api = rt.Api(c)
    assert api.login()[0] == 204


# --------------------------------------------------------------------------- stop / start

def test_stop_and_start_services(cl):
    d, c = cl["dir"], cl["cluster"]
    _external(cl, HARDENED)
    r = daemon.request(d, {"op": "stop_services"})
    assert r["ok"] and r["server"] == "STOPPED" and r["repository"] == "stopped"
    for i in range(3):
        addr, https, http, _host = _gw(c, i)
        assert not rt.port_open(addr, https) and not rt.port_open(addr, http)
    assert not rt.port_open(c["repository"]["address"], 8060)
    api = rt.Api(c)
    assert api.login()[0] == 204                      # the controller stays up
    assert api.call("GET", "/status")[2]["clusterStatus"]["rollupStatus"] == "STOPPED"
    r = daemon.request(d, {"op": "start_services"})
    assert r["ok"] and r["server"] == "RUNNING" and set(r["gateways"].values()) == {"up"}
    assert rt.port_open(c["repository"]["address"], 8060)
    addr, https, _http, _host = _gw(c, 0)
    assert rt.handshake(addr, https, "TLSv1.2")[0]


def test_cli_stop_and_start(cl):
    d, c = cl["dir"], cl["cluster"]
    pid = daemon.read_pid(d)
    rt.cli("stop", d)
    assert not layout.pid_alive(pid) and not daemon.running(d)
    assert not rt.port_open(c["controller"]["address"], 8850)
    assert not rt.port_open(c["repository"]["address"], 8060)
    assert rt.processes_mentioning(c["repository"]["pg_dir"]) == []
    t0 = time.time()
    out = rt.cli_json("start", d)
    TIMINGS["start_s"] = time.time() - t0
    assert out["gateways"] == {"node1": "up", "node2": "up", "node3": "up"}
    addr, https, _http, _host = _gw(c, 0)
    ok, detail = rt.handshake(addr, https)          # applied state survives a restart
    assert ok and detail[1] == cl["pki"]["fingerprint"]


# --------------------------------------------------------------------------- side by side

def test_two_clusters_side_by_side(cl, tmp_path):
    d2 = str(tmp_path / "second")
    s2 = rt.cli_json("create", d2, "--nodes", "2", "--name", "east", "--version", "2024.2")
    try:
        c1, c2 = cl["cluster"], layout.load_cluster(d2)
        assert c2["index"] != c1["index"] and s2["name"] == "east"
        a1 = {n["address"] for n in c1["nodes"]}
        a2 = {n["address"] for n in c2["nodes"]}
        assert not a1 & a2
        assert s2["nodes"][1]["hostname"] == "node2.east.tsm.test"
        import yaml
        hosts = yaml.safe_load(rt.cli("inventory", d2).stdout)["all"]["children"][
            "tableau_server"]["hosts"]
        assert sorted(hosts) == ["east-node1", "east-node2"]
        # both clusters answer at the same time
        n2 = c2["nodes"][1]
        assert rt.http_get(n2["address"], n2["gateway"]["http_port"])[0] == 200
        addr, https, _http, _host = _gw(c1, 1)
        assert rt.handshake(addr, https)[0]
        assert rt.Api(c2).login()[0] == 204 and rt.Api(c1).login()[0] == 204
        # the same name cannot be used twice at once
        p = rt.cli("create", str(tmp_path / "third"), "--name", "east", check=False)
        assert p.returncode != 0 and "east" in p.stderr
        # a crashed daemon leaves PostgreSQL orphaned: destroy must still stop it
        pg_pid = daemon.request(d2, {"op": "status"})["postgres_pid"]
        os.kill(daemon.read_pid(d2), 9)
        assert rt.wait_until(lambda: not daemon.running(d2), 5)
        assert layout.pid_alive(pg_pid)
    finally:
        r = rt.cli_json("destroy", d2)
    assert r["leftover"] == [] and not os.path.exists(d2)
    assert rt.processes_mentioning(d2 + "/", c2["repository"]["pg_dir"]) == []
    assert layout.registry_entry(d2) is None


def test_sslrequest_responder_fallback(tmp_path):
    """Where no PostgreSQL binaries exist the repository answers the SSLRequest itself."""
    import socket
    import ssl
    import struct
    d = str(tmp_path / "nopg")
    env = dict(os.environ, TSM_EMULATOR_NO_POSTGRES="1")
    p = subprocess.run([sys.executable, rt.CLI, "create", d, "--nodes", "1"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60, check=False)
    assert p.returncode == 0, p.stderr
    try:
        c = layout.load_cluster(d)
        assert c["repository"]["real_postgres"] is False
        addr = c["repository"]["address"]

        def ask():
            with socket.create_connection((addr, 8060), timeout=5) as s:
                s.sendall(struct.pack("!ii", 8, 80877103))
                return s.recv(1)

        def plaintext():
            """An unencrypted StartupMessage: 'E' (28000) when SSL is required, 'R' otherwise."""
            params = b"user\0tableau\0database\0workgroup\0\0"
            with socket.create_connection((addr, 8060), timeout=5) as s:
                s.sendall(struct.pack("!ii", 8 + len(params), 196608) + params)
                return s.recv(4096)

        assert ask() == b"N"
        assert plaintext()[:1] == b"R"
        rt.set_repository_ssl(d, "required")
        r = rt.reload(d)
        assert r["ok"] and r["repository"].startswith("ssl=required"), r
        assert ask() == b"S"
        answer = plaintext()
        assert answer[:1] == b"E" and b"C28000" in answer and b"no encryption" in answer
        with socket.create_connection((addr, 8060), timeout=5) as s:
            s.sendall(struct.pack("!ii", 8, 80877103))
            assert s.recv(1) == b"S"
            crt = __import__("tsm_emulator.repository", fromlist=["x"]).ensure_repository_cert(d)
            ctx = ssl.create_default_context(cafile=crt)
            with ctx.wrap_socket(s, server_hostname=addr) as t:
                assert t.version() in ("TLSv1.2", "TLSv1.3")
    finally:
        r = rt.cli_json("destroy", d)
    assert r["leftover"] == []


# --------------------------------------------------------------------------- teardown (last)

def test_zz_destroy_leaves_nothing(cl):
    d, c = cl["dir"], cl["cluster"]
    pids = [daemon.read_pid(d)]
    k = c["index"]
    t0 = time.time()
    r = rt.cli_json("destroy", d)
    TIMINGS["destroy_s"] = time.time() - t0
    assert r["leftover"] == [] and not os.path.exists(d)
    assert not os.path.exists(c["repository"]["pg_dir"])
    assert not any(layout.pid_alive(p) for p in pids + r["stopped_pids"])
    assert rt.processes_mentioning(d + "/", c["repository"]["pg_dir"]) == []
    for n in c["nodes"]:
        assert not rt.port_open(n["address"], n["gateway"]["https_port"])
        assert not rt.port_open(n["address"], n["gateway"]["http_port"])
    assert not rt.port_open(c["controller"]["address"], 8850)
    assert layout.registry_entry(d) is None
    # the slot is free again: the next cluster may take index k
    with layout._registry() as reg:
        assert str(k) not in reg["slots"]
    sys.stderr.write("\nruntime timings: %s\n" % json.dumps(
        {k: round(v, 3) for k, v in TIMINGS.items()}))
