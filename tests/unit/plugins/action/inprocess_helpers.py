# -*- coding: utf-8 -*-
# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Test helpers for the action plugins that run a check module's work in the controller's process.

make_action() builds the action plugin around a fake task, connection and play context (local connection
without become unless asked otherwise), with _execute_module replaced by a recorder. module_in_process()
runs the module's main() in this process (exit_json/fail_json captured); module_process() runs the module
file as a separate Python process, as ansible-core runs a module, and returns its JSON result.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from unittest.mock import MagicMock

from ansible.module_utils import basic

from ansible_collections.tableau.tsm.tests.unit.plugins.modules.tsm_fake import Exit, run_module

#: What the fake templar makes of a task variable's template.
TEMPLATES = {"{{ tsm_inprocess_off }}": False, "{{ tsm_inprocess_on }}": True}

#: What the fake _execute_module returns.
MODULE_RESULT = {"changed": False, "ran": "module"}


def make_action(action_class, module_name, args, transport="local", load_name=None, become=False,
                check_mode=False, async_val=0, environment=None, basedir=None):
    """The action plugin for a task with ``args``; returns (action, calls of _execute_module)."""
    task = MagicMock()
    task.args = args
    task.async_val = async_val
    task.check_mode = check_mode
    task.action = module_name
    task.environment = environment if environment is not None else []
    connection = MagicMock()
    connection.transport = transport
    connection._load_name = load_name or transport
    connection.become = MagicMock() if become else None
    connection.has_native_async = False
    connection._shell.tmpdir = None
    play_context = MagicMock()
    play_context.become = become
    loader = MagicMock()
    loader.get_basedir.return_value = basedir
    templar = MagicMock()
    templar.template.side_effect = lambda value: TEMPLATES.get(value, value)
    action = action_class(task, connection, play_context, loader, templar, None)
    # What ansible-core 2.19 sets for a collection's action plugin (the Python module path)
    action._load_name = "ansible_collections.%s.plugins.action.%s" % tuple(module_name.rsplit(".", 1))
    calls = []

    def execute_module(module_name=None, module_args=None, task_vars=None, wrap_async=False, **kwargs):
        calls.append({"module_name": module_name, "module_args": module_args, "task_vars": task_vars,
                      "wrap_async": wrap_async, "kwargs": kwargs})
        return dict(MODULE_RESULT)

    action._execute_module = execute_module
    action._remove_tmp_path = MagicMock()
    return action, calls


def capture_module(monkeypatch):
    """exit_json/fail_json raise Exit; AnsibleModule.warn is recorded in the returned list (for a fixture)."""
    warnings = []

    def exit_json(self, **result):
        raise Exit(result, False)

    def fail_json(self, **result):
        raise Exit(result, True)

    def warn(self, warning, *args, **kwargs):
        warnings.append(warning)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    monkeypatch.setattr(basic.AnsibleModule, "warn", warn)
    return warnings


def module_in_process(module, args, warnings, check_mode=False):
    """The result of the module's main() for ``args`` (needs capture_module), with ``failed`` when it failed and
    its warnings in ``warnings`` as an action plugin returns them. exception (a traceback) is left out."""
    del warnings[:]
    exit_ = run_module(module, args, check_mode=check_mode)
    result = dict(exit_.result)
    result.pop("exception", None)
    if exit_.failed:
        result["failed"] = True
    if warnings:
        result["warnings"] = list(warnings)
    return result


def without(result, *keys):
    """``result`` without ``keys`` (and without exception, a traceback), through JSON."""
    out = json.loads(json.dumps(result))
    for key in keys + ("exception",):
        out.pop(key, None)
    return out


def module_process(module, args, tmp_path, check_mode=False):
    """Run the module file in a new Python process, as ansible-core does (the module's real exit_json and
    fail_json, no_log removal, invocation, warnings); return its result with ``warnings`` as plain messages."""
    parts = os.path.abspath(module.__file__).split(os.sep)
    root = os.sep.join(parts[:parts.index("ansible_collections")]) or os.sep
    args = dict(args, _ansible_module_name=module.__name__.replace("ansible_collections.", "").replace(
        ".plugins.modules", ""))
    if check_mode:
        args["_ansible_check_mode"] = True
    args_file = tmp_path / ("args-%d.json" % len(list(tmp_path.glob("args-*.json"))))
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    proc = subprocess.run([sys.executable, module.__file__, str(args_file)], capture_output=True, text=True,
                          env=env, cwd=str(tmp_path), timeout=120, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, "no JSON from the module: rc=%s stdout=%r stderr=%r" % (proc.returncode, proc.stdout, proc.stderr)
    result = json.loads(lines[-1])
    if "warnings" in result:
        result["warnings"] = [w["event"]["msg"] if isinstance(w, dict) else w for w in result["warnings"]]
    result.pop("exception", None)
    return result
