# -*- coding: utf-8 -*-
# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The tableau_certificate_files action plugin: reads controller files, runs the module once, leaks nothing.

The module execution is replaced by a call of the real module's main() in this process, so these tests
cover the action plugin and the module together.
"""

from __future__ import annotations

import base64
import json
import os
from unittest.mock import MagicMock

import pytest

from ansible.errors import AnsibleFileNotFound
from ansible.module_utils import basic

from ansible_collections.tableau.tsm.plugins.action.tableau_certificate_files import ActionModule
from ansible_collections.tableau.tsm.plugins.modules import tableau_certificate_files as module
from ansible_collections.tableau.tsm.tests.unit.plugins.modules.tsm_fake import Exit, run_module

KEY = b"-----BEGIN PRIVATE KEY-----\nTOPSECRETKEYMATERIAL\n-----END PRIVATE KEY-----\n"
CERT = b"-----BEGIN CERTIFICATE-----\nMIIcertificate\n-----END CERTIFICATE-----\n"


@pytest.fixture(autouse=True)
def capture_exit(monkeypatch):
    def exit_json(self, **result):
        raise Exit(result, False)

    def fail_json(self, **result):
        raise Exit(result, True)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)


@pytest.fixture
def controller(tmp_path):
    files = tmp_path / "controller" / "files"
    files.mkdir(parents=True)
    (files / "gw.crt").write_bytes(CERT)
    (files / "gw.key").write_bytes(KEY)
    return files


def make_action(args, files_dir, check_mode=False):
    task = MagicMock()
    task.args = args
    task.async_val = 0
    task.check_mode = check_mode
    task.action = "tableau.tsm.tableau_certificate_files"
    connection = MagicMock()
    connection._shell.tmpdir = None
    loader = MagicMock()
    loader.get_real_file.side_effect = lambda path, decrypt=True: path
    action = ActionModule(task, connection, MagicMock(), loader, MagicMock(), None)
    calls = []

    def find_needle(dirname, needle):
        assert dirname == "files"
        path = needle if os.path.isabs(needle) else os.path.join(str(files_dir), needle)
        if not os.path.exists(path):
            raise AnsibleFileNotFound("Could not find or access '%s'" % needle)
        return path

    def execute_module(module_name=None, module_args=None, task_vars=None, **kwargs):
        calls.append((module_name, json.loads(json.dumps(module_args))))
        res = run_module(module, module_args, check_mode=check_mode, diff=True)
        out = dict(res.result)
        if res.failed:
            out["failed"] = True
        out["invocation"] = {"module_args": dict(module_args)}
        return out

    action._find_needle = find_needle
    action._execute_module = execute_module
    action._remove_tmp_path = MagicMock()
    return action, calls


def assert_no_content(result):
    text = json.dumps(result)
    for secret in (KEY, CERT):
        assert secret.decode() not in text
        assert base64.b64encode(secret).decode() not in text
    assert "TOPSECRET" not in text


def test_one_module_run_for_all_files(tmp_path, controller):
    dest = tmp_path / "node" / "certs"
    args = {"dest": str(dest), "files": [{"src": "gw.crt", "name": "server.crt"},
                                         {"src": str(controller / "gw.key"), "name": "server.key"}]}
    action, calls = make_action(args, controller)
    result = action.run(task_vars={})
    assert not result.get("failed"), result
    assert len(calls) == 1
    name, margs = calls[0]
    assert name == "tableau.tsm.tableau_certificate_files"
    assert set(margs["_contents"]) == {"server.crt", "server.key"}
    assert result["changed"]
    assert (dest / "server.key").read_bytes() == KEY
    assert oct(os.stat(dest / "server.key").st_mode & 0o777) == "0o600"
    assert "_contents" not in result["invocation"]["module_args"]
    assert_no_content(result)
    # again: nothing to do
    action, calls = make_action(args, controller)
    assert action.run(task_vars={})["changed"] is False


def test_check_mode(tmp_path, controller):
    dest = tmp_path / "node" / "certs"
    args = {"dest": str(dest), "files": [{"src": "gw.key", "name": "server.key"}]}
    action, dummy = make_action(args, controller, check_mode=True)
    result = action.run(task_vars={})
    assert result["changed"] and not dest.exists()
    assert_no_content(result)


def test_missing_local_file_fails_before_module(tmp_path, controller):
    args = {"dest": str(tmp_path / "certs"), "files": [{"src": "gw.crt", "name": "server.crt"},
                                                       {"src": "nope.key", "name": "server.key"}]}
    action, calls = make_action(args, controller)
    result = action.run(task_vars={})
    assert result["failed"]
    assert "nope.key" in result["msg"]
    assert calls == []
    assert not (tmp_path / "certs").exists()


def test_unreadable_local_file(tmp_path, controller):
    (controller / "dir.crt").mkdir()
    args = {"dest": str(tmp_path / "certs"), "files": [{"src": "dir.crt", "name": "server.crt"}]}
    action, calls = make_action(args, controller)
    result = action.run(task_vars={})
    assert result["failed"] and "could not read src=dir.crt" in result["msg"]
    assert calls == []


def test_bad_args(tmp_path, controller):
    for args, words in (
        ({"dest": str(tmp_path), "files": [{"src": "gw.crt"}]}, "name"),
        ({"dest": str(tmp_path), "files": [{"src": "gw.crt", "name": "a/b"}]}, "plain file name"),
        ({"dest": str(tmp_path), "files": [{"src": "gw.crt", "name": "a"}, {"src": "gw.key", "name": "a"}]}, "twice"),
        ({"dest": str(tmp_path), "files": [], "_contents": {"x": "eA=="}}, "_contents"),
    ):
        action, calls = make_action(args, controller)
        try:
            result = action.run(task_vars={})
        except Exception as exc:  # pylint: disable=broad-exception-caught
            result = {"failed": True, "msg": str(exc)}
        assert result["failed"] and words in result["msg"], result
        assert calls == []
