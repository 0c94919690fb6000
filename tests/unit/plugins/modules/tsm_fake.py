# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Test helper: a fake tsm behind AnsibleModule.run_command, and a runner for module main()."""

from __future__ import annotations

import contextlib
import json
import os
import stat

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    @contextlib.contextmanager
    def patch_module_args(args=None):
        old = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args or {}}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = old

GLOBAL_FLAGS_WITH_VALUE = ("-s", "-u", "--request-timeout")
GLOBAL_FLAGS = ("--trust-admin-controller-cert",)


class Exit(Exception):
    def __init__(self, result, failed):
        super().__init__(result.get("msg", ""))
        self.result = result
        self.failed = failed


class FakeTsm:
    """Understands the handful of tsm commands the modules use; records every call."""

    def __init__(self):
        self.keys = {"ssl.enabled": "false", "ssl.protocols": "all, -SSLv2, -SSLv3"}
        self.pending_text = "There are no pending changes."
        self.calls = []
        self.files_seen = {}
        self.fail_next = None  # (rc, out, err) for the next call
        self.fail_on = None  # (argv word, (rc, out, err)): fail every call containing the word
        self.responses = {}  # tuple(command args): (rc, out, err), for commands without a behaviour below

    @staticmethod
    def strip_globals(argv):
        out, skip = [], False
        for arg in argv:
            if skip:
                skip = False
                continue
            if arg in GLOBAL_FLAGS_WITH_VALUE:
                skip = True
                continue
            if arg in GLOBAL_FLAGS:
                continue
            out.append(arg)
        return out

    @property
    def writes(self):
        return [c for c in self.calls if c["args"][:2] not in (["settings", "export"], ["pending-changes", "list"])]

    def __call__(self, module, args, data=None, environ_update=None, **kwargs):
        cmd = self.strip_globals(list(args)[1:])
        self.calls.append({"argv": list(args), "args": cmd, "data": data, "environ": dict(environ_update or {})})
        if self.fail_on and self.fail_on[0] in cmd:
            return self.fail_on[1]
        if self.fail_next:
            result, self.fail_next = self.fail_next, None
            return result
        if tuple(cmd) in self.responses:
            return self.responses[tuple(cmd)]
        if cmd[:2] == ["settings", "export"]:
            with open(cmd[cmd.index("-f") + 1], "w") as handle:
                json.dump({"configKeys": dict(self.keys), "configEntities": {}}, handle)
            return 0, "", ""
        if cmd[:3] == ["security", "external-ssl", "enable"]:
            opts = dict(zip(cmd[3::2], cmd[4::2]))
            for flag in ("--cert-file", "--key-file", "--chain-file"):
                if flag in opts:
                    path = opts[flag]
                    mode = stat.S_IMODE(os.stat(path).st_mode)
                    with open(path, "rb") as handle:
                        self.files_seen[flag] = {"path": path, "mode": mode, "data": handle.read(),
                                                 "dir_mode": stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode)}
            self.keys.update({
                "ssl.enabled": "true",
                "ssl.cert.file_name": os.path.basename(opts["--cert-file"]),
                "ssl.key.file_name": os.path.basename(opts["--key-file"]),
                "ssl.chain.file_name": os.path.basename(opts.get("--chain-file", "")),
                "ssl.key.passphrase": "ENC(c2VjcmV0)" if opts.get("--passphrase") else "",
                "ssl.protocols": opts.get("--protocols", "all, -SSLv2, -SSLv3"),
            })
            self.pending_text = "ssl.enabled: true\n"
            return 0, "", ""
        if cmd[:3] == ["security", "external-ssl", "disable"]:
            self.keys.update({"ssl.enabled": "false", "ssl.cert.file_name": "", "ssl.key.file_name": "",
                              "ssl.chain.file_name": "", "ssl.key.passphrase": ""})
            self.pending_text = "ssl.enabled: false\n"
            return 0, "", ""
        if cmd[:2] == ["pending-changes", "list"]:
            return 0, self.pending_text, ""
        if cmd[:2] == ["pending-changes", "apply"] or cmd[:2] == ["pending-changes", "discard"]:
            self.pending_text = "There are no pending changes."
            return 0, "done", ""
        return 1, "", "unknown command %s" % " ".join(cmd)


# Warnings the module under test issued (AnsibleModule.warn), captured here rather than read from
# ansible's process-global store: that store is bypassed once controller code (action or filter
# plugin tests) has been imported into the same pytest process.
WARNINGS = []


def get_warning_messages():
    return tuple(WARNINGS)


def install(monkeypatch, tmp_path):
    """Put a FakeTsm behind AnsibleModule.run_command; exit_json/fail_json raise Exit; warnings are
    captured for get_warning_messages()."""
    fake = FakeTsm()
    del WARNINGS[:]
    original_warn = basic.AnsibleModule.warn

    def warn(self, warning, *args, **kwargs):
        WARNINGS.append(warning)
        return original_warn(self, warning, *args, **kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "warn", warn)
    tsm = tmp_path / "customer-bin.1" / "tsm"
    tsm.parent.mkdir()
    tsm.write_text("#!/bin/sh\nexit 99\n")
    tsm.chmod(0o755)
    fake.path = str(tsm)

    def run_command(self, args, **kwargs):
        return fake(self, args, **kwargs)

    def exit_json(self, **result):
        raise Exit(result, False)

    def fail_json(self, **result):
        raise Exit(result, True)

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    return fake


def run_module(module, args, check_mode=False, diff=False):
    args = dict(args)
    if check_mode:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    with patch_module_args(args):
        with pytest.raises(Exit) as exc:
            module.main()
    return exc.value
