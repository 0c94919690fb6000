# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Secrets: run with -vvv and ANSIBLE_LOG_PATH, then scan everything for every secret value.

Scanned: ansible-playbook stdout/stderr, the Ansible log file, the results every callback sees
(what AWX stores as job events), the registered results dumped by the playbook, ansible-runner's
artifacts and job events (when ansible_runner is importable), and the emulator's call log.

Zero hits, except the argv tsm itself requires: the key passphrase only right after
``--passphrase`` of ``security external-ssl enable``, the Rserve/TabPy passwords only right after
``--rserve-password``/``--tabpy-password`` of ``maestro-*-ssl enable`` -- and each of those is
documented in the module's documentation. The tsm password never reaches argv (stdin only).
Files the collection writes with keys or secrets are 0600.
"""

from __future__ import annotations

import base64
import glob
import json
import os
import re
import stat

import pytest

import pki
from conftest import ROOT, TSM_PASSWORD, TSM_USERNAME, harden_vars, playbook_env, run_playbook, write_playbook

RSERVE_PASSWORD = "Rserve-Pw-7hQ2!zz"
TABPY_PASSWORD = "TabPy-Pw-4mW8#yy"
TABPY_PASSWORD_2 = "TabPy-Pw2-1xC6$ww"
SECRETS = {
    "tsm password": TSM_PASSWORD,
    "key passphrase": pki.KEY_PASSPHRASE,
    "rserve password": RSERVE_PASSWORD,
    "tabpy password": TABPY_PASSWORD,
    "tabpy password 2": TABPY_PASSWORD_2,
}
# secret label -> (the only argv flag it may follow, the module documenting it, option name)
ARGV_EXCEPTIONS = {
    "key passphrase": ("--passphrase", "tableau_external_ssl", "passphrase"),
    "rserve password": ("--rserve-password", "tableau_maestro_rserve_ssl", "password"),
    "tabpy password": ("--tabpy-password", "tableau_maestro_tabpy_ssl", "password"),
    "tabpy password 2": ("--tabpy-password", "tableau_maestro_tabpy_ssl", "password"),
}
PLAYBOOKS = os.environ.get("TABLEAU_TSM_PLAYBOOKS", os.path.join(ROOT, "playbooks"))


def _forms(value):
    return {value, json.dumps(value)[1:-1], repr(value)[1:-1]}


def _hits(data, where):
    return [(where, label) for label, value in SECRETS.items() if any(f and f in data for f in _forms(value))]


def _scan_file(path):
    with open(path, "rb") as handle:
        data = handle.read().decode("utf-8", "replace")
    return _hits(data, path)


def _key_material(path):
    """Fragments of a private key file as they would show if its content leaked: a line of the PEM
    body, and a slice of the base64 of the whole file (how tableau_certificate_files ships it)."""
    with open(path, "rb") as handle:
        data = handle.read()
    body = [line for line in data.decode().splitlines() if line and not line.startswith("-----")]
    return {"private key (PEM line)": body[len(body) // 2],
            "private key (base64 of the file)": base64.b64encode(data).decode()[80:140]}


def _credentials(cluster):
    return {"tableau_tsm_server": cluster.summary["controller"]["url"], "tableau_tsm_username": TSM_USERNAME,
            "tableau_tsm_password": TSM_PASSWORD, "tableau_tsm_trust_admin_controller_cert": True}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory, cluster, certs):
    workdir = str(tmp_path_factory.mktemp("secrets"))
    SECRETS.update(_key_material(certs["enc.key"]))  # the key the hardening copies to the node
    log_path = os.path.join(workdir, "ansible.log")
    first = cluster.call_count()
    runs = []
    # 1. the hardening role: encrypted key with passphrase, Rserve and TabPy with passwords, tsm login
    extra = harden_vars(cluster, certs, tableau_tsm_gateway_key_file=certs["enc.key"],
                        tableau_tsm_gateway_key_passphrase=pki.KEY_PASSPHRASE,
                        tableau_tsm_rserve="enable", tableau_tsm_rserve_host="rserve.example.com",
                        tableau_tsm_rserve_secure=False, tableau_tsm_rserve_username="ruser",
                        tableau_tsm_rserve_password=RSERVE_PASSWORD,
                        tableau_tsm_tabpy="enable", tableau_tsm_tabpy_host="tabpy.example.com",
                        tableau_tsm_tabpy_secure=False, tableau_tsm_tabpy_username="tuser",
                        tableau_tsm_tabpy_password=TABPY_PASSWORD,
                        **_credentials(cluster))
    runs.append(run_playbook(os.path.join(workdir, "harden"), os.path.join(PLAYBOOKS, "harden.yml"),
                             cluster.inventory, extra_vars=extra, verbosity=3, log_path=log_path,
                             label="secrets: harden -vvv"))
    # 2. modules on a NON-initial node: the password path (tsm -s URL -u USER, password on stdin)
    node2 = cluster.host_names[1]
    dump = os.path.join(workdir, "registered.json")
    record = os.path.join(cluster.dir, "records", "tokens.json")
    creds = {"tsm_path": "{{ tableau_tsm_path }}", "tsm_server": cluster.summary["controller"]["url"],
             "tsm_username": TSM_USERNAME, "tsm_password": "{{ tsm_password }}",
             "trust_admin_controller_cert": True}
    tasks = [
        {"name": "read everything", "tableau.tsm.tableau_security_info": {}, "register": "r_info"},
        {"name": "check mode, encrypted key", "check_mode": True, "register": "r_ext",
         "tableau.tsm.tableau_external_ssl": {"cert_file": certs["good.crt"], "key_file": certs["enc.key"],
                                              "passphrase": "{{ key_passphrase }}"}},
        {"name": "refused: wrong passphrase (the error must not echo it)", "ignore_errors": True, "register": "r_bad",
         "tableau.tsm.tableau_external_ssl": {"cert_file": certs["good.crt"], "key_file": certs["enc.key"],
                                              "passphrase": "{{ key_passphrase }}-wrong"}},
        {"name": "rotate the TabPy password", "register": "r_tabpy", "diff": True,
         "tableau.tsm.tableau_maestro_tabpy_ssl": {"host": "tabpy.example.com", "secure": False, "username": "tuser",
                                                   "password": "{{ tabpy_password_2 }}", "update_password": "always",
                                                   "apply": True}},
        {"name": "regenerate the internal tokens (record store)", "register": "r_tokens",
         "tableau.tsm.tableau_internal_tokens": {"force": True, "record_path": record}},
        {"name": "keep the registered results", "delegate_to": "localhost",
         "ansible.builtin.copy": {"dest": dump, "mode": "0600",
                                  "content": "{{ {'info': r_info, 'ext': r_ext, 'bad': r_bad, 'tabpy': r_tabpy,"
                                             " 'tokens': r_tokens} | to_nice_json }}"}},
    ]
    play = [{"name": "modules through a login on a non-initial node", "hosts": node2, "gather_facts": False,
             "vars": {"tsm_password": TSM_PASSWORD, "key_passphrase": pki.KEY_PASSPHRASE,
                      "tabpy_password_2": TABPY_PASSWORD_2},
             "module_defaults": {"group/tableau.tsm.tsm": creds}, "tasks": tasks}]
    playbook = write_playbook(workdir, "modules.yml", play)
    runs.append(run_playbook(os.path.join(workdir, "modules"), playbook, cluster.inventory, verbosity=3,
                             log_path=log_path, label="secrets: modules -vvv on a non-initial node"))
    runner_dir = None
    try:
        import ansible_runner  # pylint: disable=import-outside-toplevel
    except ImportError:
        ansible_runner = None
    if ansible_runner is not None:
        runner_dir = os.path.join(workdir, "pdd")
        os.makedirs(os.path.join(runner_dir, "project"))
        os.makedirs(os.path.join(runner_dir, "inventory"))
        with open(os.path.join(runner_dir, "inventory", "hosts.yml"), "w", encoding="utf-8") as handle:
            handle.write(cluster.inventory_text)
        with open(playbook, encoding="utf-8") as src, \
                open(os.path.join(runner_dir, "project", "modules.yml"), "w", encoding="utf-8") as dst:
            dst.write(src.read().replace(dump, dump + ".runner"))
        env = playbook_env(runner_dir)
        old = dict(os.environ)
        os.environ["PATH"] = env["PATH"]
        try:
            result = ansible_runner.run(private_data_dir=runner_dir, playbook="modules.yml", ident="job", quiet=True,
                                        verbosity=3, envvars={k: env[k] for k in ("ANSIBLE_COLLECTIONS_PATH",
                                                                                  "ANSIBLE_PIPELINING")})
        finally:
            os.environ.clear()
            os.environ.update(old)
        assert result.status == "successful", result.stdout.read()[-3000:] if result.stdout else result.status
    return {"runs": runs, "log": log_path, "dump": dump, "runner_dir": runner_dir, "record": record,
            "calls": cluster.calls()[first:], "workdir": workdir}


def test_scenarios_succeeded(scenario):
    for run in scenario["runs"]:
        assert run.rc == 0, run.failure_text() + "\n" + run.stdout[-3000:]


def test_the_secrets_were_really_used(scenario):
    calls = scenario["calls"]
    assert any("-u" in c["argv"] and TSM_USERNAME in c["argv"] and c["node"] != "node1" for c in calls), \
        "no tsm call logged in on a non-initial node"
    assert any("--passphrase" in c["argv"] for c in calls)
    assert any("--rserve-password" in c["argv"] for c in calls)
    assert any("--tabpy-password" in c["argv"] for c in calls)
    with open(scenario["dump"], encoding="utf-8") as handle:
        registered = json.load(handle)
    assert registered["bad"]["failed"] and "could not be decrypted" in registered["bad"]["msg"]


def test_no_secret_in_stdout_log_events_results(scenario):
    found = []
    for run in scenario["runs"]:
        found += _hits(run.stdout, "stdout") + _hits(run.stderr, "stderr")
        found += _scan_file(run.events_path)
    found += _scan_file(scenario["log"]) + _scan_file(scenario["dump"])
    assert os.path.getsize(scenario["log"]) > 10000, "the -vvv log is suspiciously small"
    assert not found, "secret values leaked: %s" % found


def test_no_secret_in_ansible_runner_artifacts(scenario):
    if not scenario["runner_dir"]:
        pytest.skip("ansible_runner is not installed")
    artifacts = os.path.join(scenario["runner_dir"], "artifacts")
    events = glob.glob(os.path.join(artifacts, "*", "job_events", "*.json"))
    assert events
    found = []
    for path in glob.glob(os.path.join(artifacts, "**"), recursive=True):
        if os.path.isfile(path):
            found += _scan_file(path)
    found += _scan_file(scenario["dump"] + ".runner")
    assert not found, "secret values leaked into ansible-runner artifacts: %s" % found


def test_call_log_argv_only_where_tsm_requires_it(scenario):
    unexpected = []
    for call in scenario["calls"]:
        argv = call["argv"]
        for label, value in SECRETS.items():
            for i, arg in enumerate(argv):
                if value not in arg:
                    continue
                allowed = ARGV_EXCEPTIONS.get(label)
                if allowed and arg == value and i > 0 and argv[i - 1] == allowed[0]:
                    continue
                unexpected.append((label, argv))
        # nothing but argv may carry a secret: the other fields of the call-log line
        rest = dict((k, v) for k, v in call.items() if k != "argv")
        unexpected += [(label, "call-log field") for _w, label in _hits(json.dumps(rest), "calls")]
    assert not unexpected, "secrets on tsm argv where tsm does not require them: %s" % unexpected


@pytest.mark.parametrize("label", sorted(set(ARGV_EXCEPTIONS)))
def test_argv_exception_is_documented(label):
    flag, module, option = ARGV_EXCEPTIONS[label]
    path = os.path.join(ROOT, "plugins", "modules", module + ".py")
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    doc = source[source.index("DOCUMENTATION"):source.index("EXAMPLES")]
    block = doc[doc.index("\n  %s:\n" % option):]
    block = block[:re.search(r"\n  [a-z_]+:\n", block[5:]).start() + 5]
    assert "tsm offers no other way" in block and flag in block, "%s: %s is not documented" % (module, flag)


def test_files_with_keys_or_secrets_are_0600(scenario, cluster):
    checked = []
    cert_dir = os.path.join(cluster.dir, "ansible-certs")
    for path in glob.glob(os.path.join(cert_dir, "*")):
        checked.append(path)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, "%s is %o" % (path, stat.S_IMODE(os.stat(path).st_mode))
    assert os.path.join(cert_dir, "server.key") in checked
    assert stat.S_IMODE(os.stat(cert_dir).st_mode) == 0o700
    record = scenario["record"]
    assert os.path.isfile(record)
    assert stat.S_IMODE(os.stat(record).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(record)).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(scenario["dump"]).st_mode) == 0o600


def test_no_private_copy_left_behind():
    """The modules hand tsm private copies in temp dirs and remove them afterwards."""
    leftovers = [p for p in glob.glob(os.path.join(os.environ.get("TMPDIR", "/tmp"), "tableau-tsm-*"))
                 if os.path.getmtime(p) > os.path.getmtime(__file__) and os.stat(p).st_uid == os.getuid()]
    assert not [p for p in leftovers if glob.glob(os.path.join(p, "*.key"))], leftovers
