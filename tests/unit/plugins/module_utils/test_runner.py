# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.tableau.tsm.plugins.module_utils import _runner as R
from ansible_collections.tableau.tsm.plugins.module_utils._errors import TsmError, TsmInputError, TsmLockTimeout

PASSWORD = "Tsm-P@ss-42"
PASSPHRASE = "key-phrase-99"
LOCK_MSG = "Another job is already running. Wait for the current job to finish (tsm jobs list)."


class FakeModule:
    def __init__(self, params=None, responses=None, bin_path="/usr/bin/tsm", check_mode=False):
        self.params = {
            "tsm_path": None, "tsm_server": None, "tsm_username": None, "tsm_password": None,
            "trust_admin_controller_cert": False, "request_timeout": 1800, "lock_timeout": 300,
        }
        self.params.update(params or {})
        self.responses = list(responses or [])
        self.calls = []
        self.bin_path = bin_path
        self.check_mode = check_mode
        self.no_log_values = set(v for v in (self.params.get("tsm_password"),) if v)

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return self.bin_path

    def run_command(self, args, data=None, binary_data=False, check_rc=False, environ_update=None, **kwargs):
        self.calls.append({"args": list(args), "data": data, "environ": environ_update, "check_rc": check_rc})
        if environ_update is not None:
            environ_update["MUTATED"] = "yes"  # must not leak into the next call
        response = self.responses.pop(0) if self.responses else (0, "", "")
        if callable(response):
            return response(args)
        return response


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def runner_for(module, **kwargs):
    clock = Clock()
    runner = R.TsmRunner(module, sleep=clock.sleep, clock=clock.clock, **kwargs)
    return runner, clock


def test_argv_connection_options_and_password_on_stdin():
    module = FakeModule({"tsm_server": "https://node1:8850", "tsm_username": "admin", "tsm_password": PASSWORD,
                         "trust_admin_controller_cert": True})
    runner = runner_for(module)[0]
    runner.run(["security", "external-ssl", "list"])
    call = module.calls[0]
    assert call["args"] == ["/usr/bin/tsm", "security", "external-ssl", "list", "-s", "https://node1:8850",
                            "-u", "admin", "--trust-admin-controller-cert"]
    assert "-p" not in call["args"] and "--password" not in call["args"]
    assert all(PASSWORD not in a for a in call["args"])
    assert call["data"] == PASSWORD + "\n"
    assert call["check_rc"] is False


def test_no_login_no_stdin():
    module = FakeModule()
    runner = runner_for(module)[0]
    runner.run(["status"])
    assert module.calls[0]["args"] == ["/usr/bin/tsm", "status"]
    assert module.calls[0]["data"] is None


def test_password_without_username_refused():
    with pytest.raises(TsmInputError):
        R.TsmRunner(FakeModule({"tsm_password": PASSWORD}))


def test_environment_is_c_locale_and_copied_per_call():
    module = FakeModule()
    runner = runner_for(module)[0]
    runner.run(["status"])
    runner.run(["status"])
    for call in module.calls:
        assert call["environ"]["LANG"] == "C" and call["environ"]["LC_ALL"] == "C"
    assert "MUTATED" not in R.ENVIRON
    assert module.calls[0]["environ"] is not module.calls[1]["environ"]


def test_request_timeout_only_where_accepted():
    module = FakeModule({"request_timeout": 900})
    runner = runner_for(module)[0]
    runner.apply_pending(ignore_warnings=True)
    runner.run(["security", "external-ssl", "disable"])
    runner.run(["security", "regenerate-internal-tokens"])
    assert module.calls[0]["args"] == ["/usr/bin/tsm", "pending-changes", "apply", "--ignore-prompt",
                                       "--ignore-warnings", "--request-timeout", "900"]
    assert "--request-timeout" not in module.calls[1]["args"]
    assert module.calls[2]["args"][-2:] == ["--request-timeout", "900"]


def test_error_masks_every_secret():
    module = FakeModule({"tsm_username": "admin", "tsm_password": PASSWORD},
                        responses=[(1, "out mentions %s" % PASSPHRASE, "bad passphrase %s for user with %s"
                                    % (PASSPHRASE, PASSWORD))])
    runner = runner_for(module)[0]
    with pytest.raises(TsmError) as exc:
        runner.run(["security", "external-ssl", "enable", "--cert-file", "a.crt", "--key-file", "a.key",
                    "--passphrase", PASSPHRASE, "--rserve-password=" + "rs-secret"])
    err = exc.value
    blob = json.dumps(err.to_result())
    for secret in (PASSWORD, PASSPHRASE, "rs-secret"):
        assert secret not in blob
    assert "--passphrase" in err.cmd and err.cmd[err.cmd.index("--passphrase") + 1] == R.MASK
    assert "--rserve-password=" + R.MASK in err.cmd
    assert err.rc == 1
    assert "failed (rc=1)" in err.msg and "external-ssl enable" in err.msg


def test_no_log_values_are_masked():
    module = FakeModule(responses=[(2, "", "boom with registered-secret inside")])
    module.no_log_values.add("registered-secret")
    runner = runner_for(module)[0]
    with pytest.raises(TsmError) as exc:
        runner.run(["configuration", "get", "-k", "x"])
    assert "registered-secret" not in json.dumps(exc.value.to_result())


def test_check_rc_false_returns_failure():
    module = FakeModule(responses=[(3, "o", "e")])
    runner = runner_for(module)[0]
    assert runner.run(["status"], check_rc=False) == (3, "o", "e")


def test_write_refused_in_check_mode():
    module = FakeModule(check_mode=True)
    runner = runner_for(module)[0]
    with pytest.raises(TsmError):
        runner.run(["security", "external-ssl", "disable"], write=True)
    assert module.calls == []


def test_lock_retry_then_success():
    module = FakeModule(responses=[(1, "", LOCK_MSG), (1, LOCK_MSG, ""), (0, "ok", "")])
    runner, clock = runner_for(module)
    assert runner.run(["security", "external-ssl", "disable"], write=True) == (0, "ok", "")
    assert len(module.calls) == 3
    assert clock.sleeps == [runner.lock_poll_interval] * 2


def test_lock_timeout():
    module = FakeModule({"lock_timeout": 20}, responses=[(1, "", LOCK_MSG)] * 100)
    runner, clock = runner_for(module)
    with pytest.raises(TsmLockTimeout) as exc:
        runner.run(["pending-changes", "apply", "--ignore-prompt"], write=True)
    assert "lock_timeout=20" in exc.value.msg
    assert len(module.calls) == 5  # t=0,5,10,15,20
    assert clock.now <= 20


def test_lock_timeout_zero_means_no_retry():
    module = FakeModule({"lock_timeout": 0}, responses=[(1, "", LOCK_MSG)])
    runner = runner_for(module)[0]
    with pytest.raises(TsmLockTimeout):
        runner.run(["status"])
    assert len(module.calls) == 1


@pytest.mark.parametrize("text, locked", [
    (LOCK_MSG, True),
    ("Error: a job is currently running: ApplyPendingChangesJob id 12", True),
    ("Could not acquire lock: held by job 7", True),
    ("Another TSM operation is in progress", True),
    ("Unknown key: ssl.foo", False),
    ("The certificate file is not valid", False),
])
def test_lock_regex(text, locked):
    assert R.is_lock_error(text) is locked


def test_other_failure_not_retried():
    module = FakeModule(responses=[(1, "", "Unknown key")])
    runner, clock = runner_for(module)
    with pytest.raises(TsmError) as exc:
        runner.run(["configuration", "get", "-k", "nope"])
    assert not isinstance(exc.value, TsmLockTimeout)
    assert clock.sleeps == [] and len(module.calls) == 1


def _exe(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return str(path)


def test_discovery_order(tmp_path):
    explicit = _exe(tmp_path / "bin" / "tsm")
    base = tmp_path / "opt/tableau/tableau_server/packages"
    older = _exe(base / "customer-bin.20231.23.0101.0001" / "tsm")
    newest = _exe(base / "customer-bin.20242.24.0807.0327" / "tsm")
    _exe(base / "customer-bin.9999.1.2.3" / "tsm")  # 9999 < 20242 numerically...
    newest_numeric = _exe(base / "customer-bin.30000.1.1.1" / "tsm")
    pattern = str(base / "customer-bin.*" / "tsm")
    # 1. tsm_path wins
    runner = R.TsmRunner(FakeModule({"tsm_path": explicit}), install_glob=pattern)
    assert runner.tsm == explicit
    # 2. PATH
    runner = R.TsmRunner(FakeModule(bin_path="/usr/local/bin/tsm"), install_glob=pattern)
    assert runner.tsm == "/usr/local/bin/tsm"
    # 3. newest install by version sort (numeric, not lexical)
    runner = R.TsmRunner(FakeModule(bin_path=None), install_glob=pattern)
    assert runner.tsm == newest_numeric
    assert older != newest
    assert R.version_key(newest) > R.version_key(older)
    # nothing anywhere
    runner = R.TsmRunner(FakeModule(bin_path=None), install_glob=str(tmp_path / "none" / "tsm"))
    with pytest.raises(TsmError) as exc:
        runner.tsm
    assert "Could not find tsm" in exc.value.msg


def test_bad_tsm_path(tmp_path):
    runner = R.TsmRunner(FakeModule({"tsm_path": str(tmp_path / "missing")}))
    with pytest.raises(TsmInputError):
        runner.tsm


def test_data_dir(tmp_path):
    assert R.derive_data_dir("/opt/tableau/tableau_server/packages/customer-bin.20242.24.0807.0327/tsm") == \
        "/var/opt/tableau/tableau_server"
    assert R.derive_data_dir("/x/c1/node1/opt/tableau/tableau_server/packages/customer-bin.1.2/tsm") == \
        "/x/c1/node1/var/opt/tableau/tableau_server"
    assert R.derive_data_dir("/usr/bin/tsm") is None
    runner = R.TsmRunner(FakeModule(bin_path="/n/opt/tableau/tableau_server/packages/customer-bin.1/tsm"))
    assert runner.data_dir == "/n/var/opt/tableau/tableau_server"
    runner = R.TsmRunner(FakeModule(), data_dir="/override")
    assert runner.data_dir == "/override"


def test_export_settings_reads_and_deletes_file():
    seen = {}

    def export(args):
        path = args[args.index("-f") + 1]
        seen["path"] = path
        seen["dir_mode"] = os.stat(os.path.dirname(path)).st_mode & 0o777
        with open(path, "w") as handle:
            json.dump({"configKeys": {"ssl.enabled": "true"}}, handle)
        return 0, "", ""

    module = FakeModule(responses=[export])
    runner = runner_for(module)[0]
    data = runner.export_settings()
    assert data == {"configKeys": {"ssl.enabled": "true"}}
    assert module.calls[0]["args"][1:4] == ["settings", "export", "-f"]
    assert seen["dir_mode"] == 0o700
    assert not os.path.exists(seen["path"]) and not os.path.exists(os.path.dirname(seen["path"]))


def test_export_settings_bad_json_no_content_in_error():
    def export(args):
        with open(args[args.index("-f") + 1], "w") as handle:
            handle.write('{"configKeys": {"ssl.key.passphrase": "ENC(abc)" ')
        return 0, "", ""

    runner = runner_for(FakeModule(responses=[export]))[0]
    with pytest.raises(TsmError) as exc:
        runner.export_settings()
    assert "ENC(abc)" not in json.dumps(exc.value.to_result())


def test_export_settings_no_file():
    runner = runner_for(FakeModule(responses=[(0, "", "")]))[0]
    with pytest.raises(TsmError):
        runner.export_settings()


def test_pending_helpers():
    module = FakeModule(responses=[(0, "ssl.enabled: true\n", ""), (0, "", "")])
    runner = runner_for(module)[0]
    assert runner.list_pending() == "ssl.enabled: true\n"
    runner.discard_pending()
    assert module.calls[1]["args"] == ["/usr/bin/tsm", "pending-changes", "discard"]
