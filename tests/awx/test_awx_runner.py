# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The AWX / Automation Controller path, end to end, without AWX.

AWX hands ansible-runner a private data directory and reads back the job events. This test
lays that directory out the way AWX does for a job template that uses the collection's
credential types (extensions/awx/credential_type.yml), runs it with ``ansible_runner.run``
against an emulated Tableau Server cluster, and checks that

* the job succeeds (status ``successful``, rc 0), with the credential-injected extra
  variables actually used (the emulator only accepts the right password);
* no secret (TSM password, key passphrase, private key) appears in stdout, in any job event,
  or anywhere else under the job's artifacts, and the TSM password is never on a tsm command
  line (the emulator's call log records argv unmasked).

The injectors are rendered from credential_type.yml itself, as AWX does: file injectors are
written to files in ``env/``, extra_vars injectors rendered in a Jinja sandbox with the
credential inputs (``tower.filename`` for the files), and the result written to
``env/extravars`` with every string tagged ``!unsafe`` (AWX's safe_dump), so a password that
looks like a Jinja template must reach tsm untouched.

Run with ``make awx-test`` (needs ``make setup``: .venv with ansible-runner, and
.tmp/collections, the symlink tree ANSIBLE_COLLECTIONS_PATH points at).
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys

import pytest

yaml = pytest.importorskip("yaml")
ansible_runner = pytest.importorskip("ansible_runner")
sandbox = pytest.importorskip("jinja2.sandbox")

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EMULATOR = os.path.join(ROOT, "tests", "emulator", "tsm-emulator")
DEMO_CERTS = os.path.join(ROOT, "tools", "demo_certs.py")
CREDENTIAL_TYPES = os.path.join(ROOT, "extensions", "awx", "credential_type.yml")
JOB_TEMPLATES = os.path.join(ROOT, "extensions", "awx", "job_templates.yml")
COLLECTIONS_PATH = os.environ.get("TABLEAU_TSM_COLLECTIONS_PATH", os.path.join(ROOT, ".tmp", "collections"))
FALLBACK_PLAYBOOK = os.path.join(ROOT, "tests", "awx", "tsm_modules.yml")


# ----------------------------------------------------------------------------- YAML helpers

class _Unsafe(str):
    """A string that AWX's safe_dump writes as ``!unsafe``."""


class _Loader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
    """SafeLoader that reads ``!unsafe`` scalars as plain strings (they are templates)."""


_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


class _Dumper(yaml.SafeDumper):  # pylint: disable=too-many-ancestors
    """SafeDumper that writes _Unsafe strings with the ``!unsafe`` tag."""


_Dumper.add_representer(_Unsafe, lambda dumper, value: dumper.represent_scalar("!unsafe", str(value)))


def _mark_unsafe(value):
    """Mark every string of an extra_vars structure unsafe, as AWX does."""
    if isinstance(value, str):
        return _Unsafe(value)
    if isinstance(value, dict):
        return dict((k, _mark_unsafe(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_mark_unsafe(v) for v in value]
    return value


def load_yaml(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_Loader)  # nosec B506 - SafeLoader subclass


def credential_type(name):
    for item in load_yaml(CREDENTIAL_TYPES)["controller_credential_types"]:
        if item["name"] == name:
            return item
    raise AssertionError("no credential type %r in %s" % (name, CREDENTIAL_TYPES))


# ----------------------------------------------------------------------------- AWX emulation

class _Tower:  # pylint: disable=too-few-public-methods
    """The ``tower`` namespace of an injector template (``tower.filename``)."""

    def __init__(self):
        self.filename = None


def inject(ctype, inputs, private_data_dir):
    """Render a credential type's injectors like AWX's CredentialType.inject_credential.

    Returns the extra variables it injects; file injectors are written under env/.
    """
    env = sandbox.ImmutableSandboxedEnvironment()
    namespace = {}
    for field in ctype["inputs"]["fields"]:
        if field["id"] in inputs:
            namespace[field["id"]] = inputs[field["id"]]
        elif field.get("type") == "boolean":
            namespace[field["id"]] = field.get("default", False)
    for required in ctype["inputs"].get("required", []):
        assert inputs.get(required), "credential input %s is required" % required

    injectors = ctype.get("injectors", {})
    tower = _Tower()
    files = {}
    for key, template in (injectors.get("file") or {}).items():
        handle, path = _mkstemp(os.path.join(private_data_dir, "env"))
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(env.from_string(template).render(**namespace))
        os.chmod(path, 0o600)
        files[key[len("template."):] if key.startswith("template.") else key] = path
    if files:
        tower.filename = files["template"] if list(files) == ["template"] else files
    namespace["tower"] = tower

    assert not injectors.get("env"), "env injectors do not reach the Tableau nodes: use extra_vars"
    return dict((name, env.from_string(template).render(**namespace))
                for name, template in (injectors.get("extra_vars") or {}).items())


def _mkstemp(directory):
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "tmp" + secrets.token_hex(4))
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), path


def survey_defaults(template_name):
    """The extra variables a survey produces when every question keeps its default."""
    for item in load_yaml(JOB_TEMPLATES)["controller_templates"]:
        if item["name"] == template_name:
            answers = {}
            for question in item.get("survey_spec", {}).get("spec", []):
                default = question.get("default")
                if question["type"] == "multiselect":
                    default = [c for c in str(default or "").split("\n") if c]
                answers[question["variable"]] = default
            return item, answers
    raise AssertionError("no job template %r in %s" % (template_name, JOB_TEMPLATES))


# ----------------------------------------------------------------------------- fixtures

def _run(argv, **kw):
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kw).stdout


@pytest.fixture
def cluster(tmp_path):
    """A 2-node emulated cluster with an extra TSM account whose password looks like Jinja."""
    cdir = str(tmp_path / "cluster")
    summary = json.loads(_run([sys.executable, EMULATOR, "create", cdir, "--nodes", "2"]))
    try:
        password = "Awx{{ lookup('env', 'HOME') }}%s!" % secrets.token_hex(8)
        username = "awxadmin"
        cfile = os.path.join(cdir, "cluster.json")
        with open(cfile, encoding="utf-8") as handle:
            data = json.load(handle)
        if "accounts" in data:
            data["accounts"][username] = hashlib.sha256(password.encode("utf-8")).hexdigest()
            with open(cfile, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2)
        else:  # older emulator: only the default account
            username, password = "tsmadmin", "tsmadmin-password"
        yield {"dir": cdir, "summary": summary, "username": username, "password": password,
               "inventory": _run([sys.executable, EMULATOR, "inventory", cdir])}
    finally:
        subprocess.run([sys.executable, EMULATOR, "destroy", cdir], check=False, capture_output=True)


@pytest.fixture
def certs(tmp_path, cluster):
    """A demo CA and gateway certificate for every node, the key encrypted with a passphrase."""
    out = str(tmp_path / "certs")
    passphrase = "pp-" + secrets.token_hex(12)
    argv = [sys.executable, DEMO_CERTS, out, "--passphrase", passphrase,
            "--cn", cluster["summary"]["nodes"][0]["hostname"]]
    for node in cluster["summary"]["nodes"]:
        argv += ["--san", node["hostname"], "--san", node["gateway"]["address"]]
    _run(argv)

    def read(name):
        with open(os.path.join(out, name), encoding="utf-8") as handle:
            return handle.read()

    return {"certificate": read("server.crt"), "private_key": read("server.key"),
            "chain": read("chain.crt"), "passphrase": passphrase}


# ----------------------------------------------------------------------------- the job

def lay_out(pdd, cluster, certs, playbook_src, playbook, survey, with_certificate=True):
    """Lay out a private data directory as AWX does: project/, inventory/hosts, env/."""
    os.makedirs(os.path.join(pdd, "project"))
    os.makedirs(os.path.join(pdd, "inventory"))
    os.makedirs(os.path.join(pdd, "env"), mode=0o700)
    shutil.copy(playbook_src, os.path.join(pdd, "project", playbook))
    with open(os.path.join(pdd, "inventory", "hosts"), "w", encoding="utf-8") as handle:
        handle.write(cluster["inventory"])

    # Inside the execution environment the private data directory is mounted at /runner.
    survey = dict((k, pdd + v[len("/runner"):] if isinstance(v, str) and v.startswith("/runner/") else v)
                  for k, v in survey.items())
    tsm_inputs = {"tsm_username": cluster["username"], "tsm_password": cluster["password"],
                  "tsm_server": cluster["summary"]["controller"]["url"],
                  "trust_admin_controller_cert": True}
    extra_vars = dict(survey)
    extra_vars.update(inject(credential_type("Tableau TSM"), tsm_inputs, pdd))
    if with_certificate:
        extra_vars.update(inject(credential_type("Tableau gateway certificate"), certs, pdd))
    assert extra_vars["tableau_tsm_password"] == cluster["password"]

    fd = os.open(os.path.join(pdd, "env", "extravars"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.dump(_mark_unsafe(extra_vars), handle, Dumper=_Dumper, default_flow_style=False)
    with open(os.path.join(pdd, "env", "envvars"), "w", encoding="utf-8") as handle:
        yaml.safe_dump({"ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_PATH,
                        "ANSIBLE_FORCE_COLOR": "False",
                        "ANSIBLE_RETRY_FILES_ENABLED": "False"}, handle)
    with open(os.path.join(pdd, "env", "settings"), "w", encoding="utf-8") as handle:
        yaml.safe_dump({"job_timeout": 900, "idle_timeout": 600, "pexpect_timeout": 5}, handle)
    return extra_vars


def leaks(artifact_dir, values):
    """Every (file, secret label) where a secret value occurs under the job's artifacts."""
    found = []
    for path in glob.glob(os.path.join(artifact_dir, "**"), recursive=True):
        if not os.path.isfile(path):
            continue
        with open(path, "rb") as handle:
            data = handle.read()
        for label, value in values.items():
            forms = {value, json.dumps(value)[1:-1]}
            if any(form.encode("utf-8") in data for form in forms if form):
                found.append((os.path.relpath(path, artifact_dir), label))
    return found


def read_json(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def read_calls(cluster_dir):
    with open(os.path.join(cluster_dir, "calls.jsonl"), encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def secret_values(cluster, certs):
    key_lines = [line for line in certs["private_key"].splitlines() if line and "-----" not in line]
    return {"tsm password": cluster["password"], "key passphrase": certs["passphrase"],
            "private key (first line of the body)": key_lines[0],
            "private key (last line of the body)": key_lines[-1]}


JOBS = [
    # (job template in job_templates.yml, collection playbook, AWX job type)
    pytest.param("Tableau TSM - harden", "harden.yml", "run", id="harden"),
    pytest.param("Tableau TSM - audit", "audit.yml", "check", id="audit-check"),
    pytest.param(None, "tsm_modules.yml", "run", id="modules"),
]


@pytest.mark.parametrize("template_name, playbook, job_type", JOBS)
def test_awx_job_through_ansible_runner(tmp_path, monkeypatch, cluster, certs, template_name, playbook, job_type):
    # ansible-runner finds ansible-playbook on PATH: use the one beside this interpreter.
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    with_certificate = True
    if template_name:
        template, survey = survey_defaults(template_name)
        with_certificate = "Tableau gateway certificate" in template["credentials"]
        assert template["playbook"] == playbook
        assert template["job_type"] == job_type
        playbook_src = os.path.join(ROOT, "playbooks", playbook)
        if not os.path.isfile(playbook_src):
            pytest.skip("playbooks/%s does not exist yet" % playbook)
    else:
        survey = {"tableau_tsm_gateway_protocols": ["TLSv1.2", "TLSv1.3"]}
        playbook_src = FALLBACK_PLAYBOOK
    assert os.path.isdir(os.path.join(COLLECTIONS_PATH, "ansible_collections", "tableau", "tsm")), (
        "%s has no tableau.tsm: run `make setup`" % COLLECTIONS_PATH)

    pdd = str(tmp_path / "pdd")
    lay_out(pdd, cluster, certs, playbook_src, playbook, survey, with_certificate)
    ident = "job-" + playbook.split(".")[0]
    result = ansible_runner.run(private_data_dir=pdd, playbook=playbook, ident=ident, quiet=True,
                                cmdline="--check" if job_type == "check" else None)
    artifact_dir = os.path.join(pdd, "artifacts", ident)
    stdout = result.stdout.read() if result.stdout else ""

    assert (result.status, result.rc) == ("successful", 0), (
        "job %s: status %s rc %s\n%s" % (ident, result.status, result.rc, stdout[-6000:]))
    events = sorted(glob.glob(os.path.join(artifact_dir, "job_events", "*.json")))
    assert events, "no job events under %s" % artifact_dir
    assert any(read_json(e).get("event") == "playbook_on_stats" for e in events)
    # the credential was really used: tsm was called with -u <username>
    calls = read_calls(cluster["dir"])
    assert any(cluster["username"] in c["argv"] for c in calls), "tsm never ran with the injected user"

    writes = [c["argv"] for c in calls if c.get("kind") in ("write", "apply", "job")]
    if job_type == "check":
        assert not writes, "a check job changed the server: %s" % writes
    elif with_certificate:
        assert any("external-ssl" in argv and "enable" in argv for argv in writes), (
            "the job never enabled external SSL with the injected certificate: %s" % writes)

    values = secret_values(cluster, certs)
    found = leaks(os.path.join(pdd, "artifacts"), values)  # the job and anything it wrote there
    for label, value in values.items():
        if value in stdout:
            found.append(("stdout (runner result)", label))
    assert not found, "secret values leaked: %s" % found
    on_argv = [c["argv"] for c in calls if any(cluster["password"] in a for a in c["argv"])]
    assert not on_argv, "the TSM password was on a tsm command line: %s" % on_argv
