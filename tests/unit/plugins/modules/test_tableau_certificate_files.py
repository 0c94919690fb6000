# -*- coding: utf-8 -*-
# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""tableau_certificate_files (the module part) through main(), on a temporary directory."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat

import pytest

from ansible.module_utils import basic

from ansible_collections.tableau.tsm.plugins.modules import tableau_certificate_files
from ansible_collections.tableau.tsm.tests.unit.plugins.modules.tsm_fake import Exit, run_module

KEY = b"-----BEGIN PRIVATE KEY-----\nTOPSECRETKEYMATERIAL\n-----END PRIVATE KEY-----\n"
CERT = b"-----BEGIN CERTIFICATE-----\nMIIcertificate\n-----END CERTIFICATE-----\n"
CHAIN = b"-----BEGIN CERTIFICATE-----\nMIIchain\n-----END CERTIFICATE-----\n"


@pytest.fixture(autouse=True)
def capture_exit(monkeypatch):
    def exit_json(self, **result):
        raise Exit(result, False)

    def fail_json(self, **result):
        raise Exit(result, True)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)


def args_for(dest, files, **extra):
    """Module args as the action plugin builds them: files + hidden base64 contents."""
    args = {
        "dest": str(dest),
        "files": [dict({"src": "/controller/" + name, "name": name}, **opts) for name, _data, opts in files],
        "_contents": {name: base64.b64encode(data).decode() for name, data, _opts in files},
    }
    args.update(extra)
    return args


def run(dest, files, check_mode=False, diff=False, **extra):
    return run_module(tableau_certificate_files, args_for(dest, files, **extra), check_mode=check_mode, diff=diff)


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def assert_no_content(result):
    text = json.dumps(result)
    for secret in (KEY, CERT, CHAIN):
        assert secret.decode() not in text
        assert base64.b64encode(secret).decode() not in text
    assert "TOPSECRET" not in text


SET = [("server.crt", CERT, {}), ("server.key", KEY, {}), ("chain.crt", CHAIN, {})]


def test_creates_dir_and_files_with_modes(tmp_path):
    dest = tmp_path / "certs"
    res = run(dest, SET, diff=True)
    assert not res.failed, res.result
    r = res.result
    assert r["changed"] and r["dest_created"]
    assert mode_of(dest) == 0o700
    for name, data, _opts in SET:
        assert (dest / name).read_bytes() == data
        assert mode_of(dest / name) == 0o600
    assert [f["name"] for f in r["files"]] == ["server.crt", "server.key", "chain.crt"]
    assert all(f["changed"] and f["content_changed"] for f in r["files"])
    assert r["files"][1]["sha256"] == hashlib.sha256(KEY).hexdigest()
    assert r["files"][1]["mode"] == "0600"
    assert hashlib.sha256(KEY).hexdigest() in r["diff"]["after"]
    assert_no_content(r)
    # no temporary file left behind
    assert sorted(os.listdir(dest)) == ["chain.crt", "server.crt", "server.key"]


def test_idempotent(tmp_path):
    dest = tmp_path / "certs"
    assert run(dest, SET).result["changed"]
    res = run(dest, SET, diff=True)
    assert not res.failed
    assert res.result["changed"] is False
    assert not any(f["changed"] for f in res.result["files"])
    assert res.result["diff"]["before"] == res.result["diff"]["after"] == ""


def test_rewrites_changed_content_only(tmp_path):
    dest = tmp_path / "certs"
    run(dest, SET)
    inode_crt = os.stat(dest / "server.crt").st_ino
    new_key = KEY.replace(b"TOPSECRET", b"OTHERSECRET")
    res = run(dest, [SET[0], ("server.key", new_key, {}), SET[2]], diff=True)
    r = res.result
    assert r["changed"]
    assert [f["changed"] for f in r["files"]] == [False, True, False]
    assert (dest / "server.key").read_bytes() == new_key
    assert mode_of(dest / "server.key") == 0o600
    assert os.stat(dest / "server.crt").st_ino == inode_crt  # untouched
    assert hashlib.sha256(KEY).hexdigest() in r["diff"]["before"]
    assert hashlib.sha256(new_key).hexdigest() in r["diff"]["after"]
    assert "OTHERSECRET" not in json.dumps(r)
    assert_no_content(r)


def test_enforces_modes(tmp_path):
    dest = tmp_path / "certs"
    run(dest, SET)
    os.chmod(dest, 0o755)
    os.chmod(dest / "server.key", 0o644)
    res = run(dest, SET)
    r = res.result
    assert r["changed"]
    assert [f["changed"] for f in r["files"]] == [False, True, False]
    assert r["files"][1]["content_changed"] is False
    assert mode_of(dest) == 0o700
    assert mode_of(dest / "server.key") == 0o600
    assert run(dest, SET).result["changed"] is False


def test_custom_modes(tmp_path):
    dest = tmp_path / "certs"
    res = run(dest, [("ca.crt", CERT, {"mode": "0640"}), ("k.key", KEY, {"mode": 0o400})], dest_mode="0750")
    assert not res.failed, res.result
    assert mode_of(dest) == 0o750
    assert mode_of(dest / "ca.crt") == 0o640
    assert mode_of(dest / "k.key") == 0o400


def test_check_mode_writes_nothing(tmp_path):
    dest = tmp_path / "certs"
    res = run(dest, SET, check_mode=True, diff=True)
    r = res.result
    assert r["changed"] and r["dest_created"]
    assert all(f["changed"] for f in r["files"])
    assert not dest.exists()
    assert_no_content(r)
    # existing directory, one file differs
    run(dest, SET)
    (dest / "chain.crt").write_bytes(b"old chain")
    res = run(dest, SET, check_mode=True)
    assert [f["changed"] for f in res.result["files"]] == [False, False, True]
    assert (dest / "chain.crt").read_bytes() == b"old chain"


def test_remove_others(tmp_path):
    dest = tmp_path / "certs"
    run(dest, SET)
    (dest / "sub").mkdir()
    res = run(dest, SET[:2], remove_others=True, check_mode=True)
    assert res.result["removed"] == ["chain.crt"]
    assert (dest / "chain.crt").exists()
    res = run(dest, SET[:2], remove_others=True)
    assert res.result["changed"] and res.result["removed"] == ["chain.crt"]
    assert sorted(os.listdir(dest)) == ["server.crt", "server.key", "sub"]
    # default: other files are kept
    (dest / "other.txt").write_text("x")
    assert run(dest, SET[:2]).result["changed"] is False
    assert (dest / "other.txt").exists()


def test_replaces_symlink(tmp_path):
    dest = tmp_path / "certs"
    dest.mkdir(mode=0o700)
    target = tmp_path / "elsewhere"
    target.write_bytes(CERT)
    os.symlink(str(target), str(dest / "server.crt"))
    res = run(dest, SET[:1])
    assert res.result["changed"]
    assert not os.path.islink(str(dest / "server.crt"))
    assert target.read_bytes() == CERT


def test_dest_not_a_directory(tmp_path):
    dest = tmp_path / "certs"
    dest.write_text("a file")
    res = run(dest, SET)
    assert res.failed
    assert "not a directory" in res.result["msg"]
    assert dest.read_text() == "a file"


def test_errors_before_any_write(tmp_path):
    dest = tmp_path / "certs"
    dest.mkdir(mode=0o700)
    (dest / "chain.crt").mkdir()
    res = run(dest, SET)
    assert res.failed and "is a directory" in res.result["msg"]
    assert sorted(os.listdir(dest)) == ["chain.crt"]  # server.crt, server.key not written
    res = run(tmp_path / "new", SET, owner="no-such-user-tableau-tsm")
    assert res.failed and "no such user" in res.result["msg"]
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("name", ["../x", "a/b", ".", ".."])
def test_bad_names(tmp_path, name):
    res = run(tmp_path / "certs", [(name, CERT, {})])
    assert res.failed and "plain file name" in res.result["msg"]
    assert not (tmp_path / "certs").exists()


def test_duplicate_names_and_bad_mode(tmp_path):
    res = run(tmp_path / "certs", [("a.crt", CERT, {}), ("a.crt", KEY, {})])
    assert res.failed and "named twice" in res.result["msg"]
    res = run(tmp_path / "certs", [("a.crt", CERT, {"mode": "u=rw"})])
    assert res.failed and "octal" in res.result["msg"]
    assert not (tmp_path / "certs").exists()


def test_missing_contents(tmp_path):
    args = args_for(tmp_path / "certs", SET)
    del args["_contents"]
    res = run_module(tableau_certificate_files, args)
    assert res.failed and "action plugin" in res.result["msg"]
    args = args_for(tmp_path / "certs", SET)
    del args["_contents"]["server.key"]
    res = run_module(tableau_certificate_files, args)
    assert res.failed and "server.key" in res.result["msg"]


def test_owner_group_numeric_self(tmp_path):
    dest = tmp_path / "certs"
    res = run(dest, SET, owner=str(os.getuid()), group=str(os.getgid()))
    assert not res.failed, res.result
    st = os.stat(dest / "server.key")
    assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid())
    assert run(dest, SET, owner=str(os.getuid()), group=str(os.getgid())).result["changed"] is False
