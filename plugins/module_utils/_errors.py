# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Typed errors raised by the private core of tableau.tsm.

Every error carries an already masked message; ``cmd`` is the masked argv
(a list of strings) of the tsm call that failed, if any.
"""

from __future__ import annotations

import typing as t


class TsmError(Exception):
    """A tsm call failed, or its output could not be understood."""

    def __init__(
        self,
        msg: str,
        cmd: t.Optional[t.List[str]] = None,
        rc: t.Optional[int] = None,
        stdout: t.Optional[str] = None,
        stderr: t.Optional[str] = None,
    ) -> None:
        super().__init__(msg)
        self.msg = msg
        self.cmd = list(cmd) if cmd is not None else None
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr

    def __str__(self) -> str:
        return self.msg

    def to_result(self) -> t.Dict[str, t.Any]:
        """Keys suitable for fail_json (everything already masked)."""
        result: t.Dict[str, t.Any] = {"msg": self.msg}
        if self.cmd is not None:
            result["cmd"] = self.cmd
        if self.rc is not None:
            result["rc"] = self.rc
        if self.stdout is not None:
            result["stdout"] = self.stdout
        if self.stderr is not None:
            result["stderr"] = self.stderr
        return result


class TsmLockTimeout(TsmError):
    """Another TSM job kept holding the lock for longer than lock_timeout."""


class TsmInputError(TsmError):
    """The user's input is invalid; raised before any tsm write call."""


class CheckFailure(Exception):
    """A read-only check module (tableau_tls_check, tableau_certificate_check) must fail.

    ``msg`` is the module's failure message, ``result`` the other keys of the failed result
    (may be empty), ``traceback`` the formatted traceback of an unexpected exception, if any.
    Raised by the modules' execute() functions, turned into fail_json by the module and into a
    failed result by the action plugin that runs the check inside the controller's process.
    """

    def __init__(
        self,
        msg: str,
        result: t.Optional[t.Dict[str, t.Any]] = None,
        traceback: t.Optional[str] = None,
    ) -> None:
        super().__init__(msg)
        self.msg = msg
        self.result: t.Dict[str, t.Any] = dict(result or {})
        self.traceback = traceback

    def __str__(self) -> str:
        return self.msg


def run_check_module(module: t.Any, execute: t.Callable[[t.Dict[str, t.Any]], t.Dict[str, t.Any]]) -> None:
    """main() of a read-only check module: ``execute(module.params)`` (the same code the action plugin runs
    inside the controller's process), its ``warnings`` issued with module.warn, then exit_json, or fail_json
    for a CheckFailure."""
    try:
        result = execute(module.params)
    except CheckFailure as exc:
        result = exc.result
        for warning in result.pop("warnings", None) or []:
            module.warn(warning)
        if exc.traceback:
            module.fail_json(msg=exc.msg, exception=exc.traceback, **result)
        module.fail_json(msg=exc.msg, **result)
    for warning in result.pop("warnings", None) or []:
        module.warn(warning)
    module.exit_json(**result)
