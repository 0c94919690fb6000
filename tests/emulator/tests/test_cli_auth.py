"""Who may run tsm where: passwordless on the initial node, -s/-u/-p, stdin password, tsm login."""

import hashlib
import json
import os
import time

import pytest

from test_cli_helpers import PASSWORD, file_mode

S = "https://node1.c1.tsm.test:8850"
CREDS = ["-s", S, "-u", "tsmadmin", "-p", PASSWORD, "--trust-admin-controller-cert"]
LIST = ["security", "external-ssl", "list"]


def session_file(c, node="node2"):
    import pwd
    return os.path.join(c.d, node, "home", pwd.getpwuid(os.geteuid()).pw_name, ".tableau", "tsm", "session.json")


def test_initial_node_is_passwordless(cluster):
    assert "ssl.enabled: false" in cluster.ok(*LIST).stdout
    assert cluster.calls()[-1]["node"] == "node1"


def test_other_node_needs_server_and_credentials(cluster):
    r = cluster.fail(*LIST, node="node2")
    assert "does not run the Tableau Server Administration Controller" in r.stderr
    assert "https://node1.c1.tsm.test:8850" in r.stderr
    assert r.stdout == ""
    c = cluster.calls()[-1]
    assert c["node"] == "node2" and c["rc"] == 1
    assert "ssl.enabled: false" in cluster.ok(*LIST, *CREDS, node="node2").stdout
    # by node name, options anywhere on the line
    cluster.ok("-u", "tsmadmin", "security", "--trust-admin-controller-cert", "external-ssl", "-s",
               "https://node1:8850", "list", "-p", PASSWORD, node="node2")
    cluster.ok(*LIST, "--server=%s" % S, "--username=tsmadmin", "--password=" + PASSWORD,
               "--trust-admin-controller-cert", node="node2")


def test_other_node_write_is_refused_without_credentials(cluster, pki):
    snap = cluster.snapshot()
    r = cluster.fail("security", "repository-ssl", "enable", node="node2")
    cluster.assert_unchanged(snap, r)
    cluster.ok("security", "repository-ssl", "enable", *CREDS, node="node2")
    assert cluster.requested()["pgsql.ssl.enabled"] == "true"


@pytest.mark.parametrize("server,needle", [
    ("http://node1.c1.tsm.test:8850", "must use https"),
    ("https://127.201.1.1:8850", "IP address"),
    ("https://node1.c1.tsm.test", "must include the controller port"),
    ("https://node1.c1.tsm.test:443", "Connection refused"),
    ("https://node2.c1.tsm.test:8850", "Connection refused"),
    ("https://nowhere.example:8850", "Unable to resolve host"),
    ("node1", "Invalid server URL"),
])
def test_bad_server_urls(cluster, server, needle):
    r = cluster.fail(*LIST, "-s", server, "-u", "tsmadmin", "-p", PASSWORD, "--trust-admin-controller-cert",
                     node="node2")
    assert needle in r.stderr, r.stderr


def test_untrusted_controller_certificate(cluster):
    r = cluster.fail(*LIST, "-s", S, "-u", "tsmadmin", "-p", PASSWORD, node="node2")
    assert "SSL error" in r.stderr and "--trust-admin-controller-cert" in r.stderr


def test_wrong_password_and_unknown_user(cluster):
    r = cluster.fail(*LIST, "-s", S, "-u", "tsmadmin", "-p", "nope", "--trust-admin-controller-cert", node="node2")
    assert "Authentication failed" in r.stderr and "nope" not in r.stderr
    r = cluster.fail(*LIST, "-s", S, "-u", "mallory", "-p", PASSWORD, "--trust-admin-controller-cert",
                     node="node2")
    assert "Authentication failed" in r.stderr
    assert "without a user name" in cluster.fail(*LIST, "-p", PASSWORD).stderr


def test_password_from_stdin(cluster):
    args = [*LIST, "-s", S, "-u", "tsmadmin", "--trust-admin-controller-cert"]
    r = cluster.ok(*args, node="node2", input=PASSWORD + "\n")
    assert "Password:" in r.stderr and "Password:" not in r.stdout and "ssl.enabled" in r.stdout
    assert "Authentication failed" in cluster.fail(*args, node="node2", input="wrong\n").stderr
    assert "No password" in cluster.fail(*args, node="node2", input="").stderr


def test_login_session_and_logout(cluster):
    r = cluster.fail("login", "-s", S, "-u", "tsmadmin", "-p", PASSWORD, node="node2")
    assert "SSL error" in r.stderr and not os.path.exists(session_file(cluster))
    r = cluster.ok("login", "-s", S, "-u", "tsmadmin", "--trust-admin-controller-cert", node="node2",
                   input=PASSWORD + "\n")
    assert "logged in" in r.stdout
    assert cluster.calls()[-1]["kind"] == "auth"
    sf = session_file(cluster)
    assert file_mode(sf) == 0o600 and PASSWORD not in open(sf).read()
    cluster.ok(*LIST, node="node2")
    cluster.ok(*LIST, "-s", S, node="node2")  # the session says the certificate is trusted
    cluster.ok("security", "repository-ssl", "enable", node="node2")
    # a session is per node: node3 would not have it, node1 does not need it
    assert "logged out" in cluster.ok("logout", node="node2").stdout
    assert not os.path.exists(sf)
    cluster.fail(*LIST, node="node2")
    assert "Not logged in" in cluster.ok("logout", node="node2").stdout


def test_login_validation(cluster):
    assert "Missing required option: --username" in cluster.fail("login", "-s", S, node="node2").stderr
    r = cluster.fail("login", "-s", S, "-u", "tsmadmin", "-p", "bad", "--trust-admin-controller-cert",
                     node="node2")
    assert "Authentication failed" in r.stderr and not os.path.exists(session_file(cluster))
    assert "does not run" in cluster.fail("login", "-u", "tsmadmin", "-p", PASSWORD, node="node2").stderr


def test_expired_session_is_ignored(cluster):
    cluster.ok("login", *CREDS, node="node2")
    sf = session_file(cluster)
    doc = json.load(open(sf))
    doc["expires"] = time.time() - 1
    json.dump(doc, open(sf, "w"))
    cluster.fail(*LIST, node="node2")


def test_unauthorized_user_on_initial_node(make):
    c = make(authorized=[])
    r = c.fail(*LIST)
    assert "not authorized" in r.stderr
    c.ok(*LIST, "-u", "tsmadmin", "-p", PASSWORD)
    c.ok("login", "-u", "tsmadmin", "-p", PASSWORD)
    c.ok(*LIST)


def test_configured_accounts(make):
    c = make(accounts={"admin2": hashlib.sha256(b"other-pw").hexdigest()})
    c.ok(*LIST, "-s", S, "-u", "admin2", "-p", "other-pw", "--trust-admin-controller-cert", node="node2")
    c.fail(*LIST, "-s", S, "-u", "tsmadmin", "-p", PASSWORD, "--trust-admin-controller-cert", node="node2")


def test_controller_unreachable_knob(cluster):
    cluster.knobs(controller_unreachable=True)
    r = cluster.fail(*LIST)
    assert "Unable to connect" in r.stderr and "Connection refused" in r.stderr
    assert cluster.calls()[-1]["rc"] == 1
    cluster.fail("login", *CREDS, node="node2")
    assert "version" in cluster.ok("version").stdout  # the CLI's own version needs no controller
    cluster.knobs(controller_unreachable=False)
    cluster.ok(*LIST)
