# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Transient-error retry of the runner: read-only calls only, bounded, never a write/apply/job."""

from __future__ import annotations

import pytest

from ansible_collections.tableau.tsm.plugins.module_utils import _runner as R
from ansible_collections.tableau.tsm.plugins.module_utils._errors import TsmError, TsmLockTimeout

TRANSIENT = "Error: The Administration Controller could not complete the request (503 Service Unavailable). Try again."
LOCK = "Error: Another job is in progress (job id '7'). Only one TSM job can run at a time; wait for it to finish."
PASSWORD = "Tsm-P@ss-42"


class FakeModule:
    def __init__(self, responses, params=None, check_mode=False):
        self.params = {
            "tsm_path": None, "tsm_server": None, "tsm_username": None, "tsm_password": None,
            "trust_admin_controller_cert": False, "request_timeout": 1800, "lock_timeout": 300,
        }
        self.params.update(params or {})
        self.responses = list(responses)
        self.calls = []
        self.check_mode = check_mode
        self.no_log_values = set(v for v in (self.params.get("tsm_password"),) if v)

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return "/usr/bin/tsm"

    def run_command(self, args, data=None, binary_data=False, check_rc=False, environ_update=None, **kwargs):
        self.calls.append(list(args))
        return self.responses.pop(0) if self.responses else (0, "", "")


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def make(responses, **params):
    module = FakeModule(responses, params)
    clock = Clock()
    return module, clock, R.TsmRunner(module, sleep=clock.sleep, clock=clock.clock)


@pytest.mark.parametrize("args, expected", [
    (["security", "external-ssl", "list"], True),
    (["settings", "export", "-f", "/tmp/x.json"], True),
    (["configuration", "get", "-k", "ssl.enabled"], True),
    (["status", "-v"], True),
    (["version"], True),
    (["pending-changes", "list"], True),
    (["security", "kms", "status"], True),
    (["security", "repository-ssl", "get-certificate-file", "-f", "/tmp/c"], True),
    (["jobs", "list"], True),
    (["security", "external-ssl", "enable", "--cert-file", "a", "--key-file", "b"], False),
    (["security", "external-ssl", "disable"], False),
    (["pending-changes", "apply", "--ignore-prompt"], False),
    (["pending-changes", "discard"], False),
    (["security", "regenerate-internal-tokens"], False),
    (["security", "kms", "set-mode", "aws", "--key-arn", "x"], False),
    (["security", "custom-cert", "add", "-c", "/tmp/list"], False),  # a file named like a verb
    (["login", "-u", "admin"], False),
    ([], False),
])
def test_is_read_only(args, expected):
    assert R.is_read_only(args) is expected


@pytest.mark.parametrize("text, transient", [
    (TRANSIENT, True),
    ("502 Bad Gateway", True),
    ("Gateway Timeout (504)", True),
    ("the service is temporarily unavailable", True),
    ("Connection reset by peer", True),
    (LOCK, False),  # a lock error says "try again" too: it is the lock retry's business
    ("Invalid username or password", False),
    ("The certificate file is not valid", False),
    ("Unable to connect to the Administration Controller: Connection refused", False),
    ("", False),
])
def test_transient_regex(text, transient):
    assert R.is_transient_error(text) is transient


def test_read_retried_then_succeeds():
    module, clock, runner = make([(1, "", TRANSIENT), (1, "", TRANSIENT), (0, "ssl: on", "")])
    assert runner.run(["security", "external-ssl", "list"]) == (0, "ssl: on", "")
    assert len(module.calls) == 3
    assert clock.sleeps == [2.0, 4.0]


def test_read_retry_is_bounded_and_says_so():
    module, clock, runner = make([(1, "", TRANSIENT)] * 10)
    with pytest.raises(TsmError) as info:
        runner.run(["settings", "export", "-f", "/tmp/x"])
    assert len(module.calls) == 1 + R.TsmRunner.transient_retries
    assert sum(clock.sleeps) <= 10
    assert "after 2 retries of a transient error" in info.value.msg
    assert "503 Service Unavailable" in info.value.msg


@pytest.mark.parametrize("args", [
    ["security", "external-ssl", "enable", "--cert-file", "a", "--key-file", "b"],
    ["pending-changes", "apply", "--ignore-prompt"],
    ["security", "regenerate-internal-tokens"],
    ["security", "maestro-rserve-ssl", "enable", "--rserve-password", PASSWORD],
])
def test_write_never_retried(args):
    module, clock, runner = make([(1, "", TRANSIENT), (0, "", "")])
    with pytest.raises(TsmError) as info:
        runner.run(args, write=True)
    assert len(module.calls) == 1
    assert clock.sleeps == []
    assert "retr" not in info.value.msg
    assert PASSWORD not in info.value.msg and PASSWORD not in " ".join(info.value.cmd)


def test_unmarked_non_read_verb_never_retried():
    """Belt and braces: a call not marked write but whose verb is not a read is not retried."""
    module, clock, runner = make([(1, "", TRANSIENT), (0, "", "")])
    with pytest.raises(TsmError):
        runner.run(["security", "external-ssl", "disable"])
    assert len(module.calls) == 1


def test_read_marked_write_never_retried():
    module, clock, runner = make([(1, "", TRANSIENT), (0, "", "")])
    with pytest.raises(TsmError):
        runner.run(["security", "external-ssl", "list"], write=True)
    assert len(module.calls) == 1


def test_check_rc_false_read_still_retried_then_returns_failure():
    module, clock, runner = make([(1, "", TRANSIENT)] * 5)
    rc, _out, err = runner.run(["configuration", "get", "-k", "x"], check_rc=False)
    assert rc == 1 and "503" in err
    assert len(module.calls) == 3


def test_lock_error_on_read_uses_lock_retry_not_transient():
    module, clock, runner = make([(1, "", LOCK)] * 100, lock_timeout=12)
    with pytest.raises(TsmLockTimeout):
        runner.run(["security", "external-ssl", "list"])
    assert all(s == R.TsmRunner.lock_poll_interval for s in clock.sleeps)
    assert clock.now <= 12


def test_password_masked_in_retry_error():
    module, clock, runner = make([(1, "", TRANSIENT + " user admin " + PASSWORD)] * 5,
                                 tsm_server="https://n1:8850", tsm_username="admin", tsm_password=PASSWORD)
    with pytest.raises(TsmError) as info:
        runner.run(["security", "external-ssl", "list"])
    result = info.value.to_result()
    assert PASSWORD not in repr(result)
