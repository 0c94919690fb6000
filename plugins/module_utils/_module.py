# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""TsmModule: AnsibleModule with the shared connection options, the runner and the standard results.

Standard result keys of every module that stages changes:

- ``pending_changes``: list of what THIS task staged (or would stage in check mode), each
  ``{"family", "action", "command"}`` with secrets masked and private copies shown by file name;
- ``restart_required``: true when this task left staged changes that need a restart to take effect;
- ``applied``: true when this task ran (or in check mode would run) ``tsm pending-changes apply``.
"""

from __future__ import annotations

import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tableau.tsm.plugins.module_utils._errors import TsmError, TsmInputError
from ansible_collections.tableau.tsm.plugins.module_utils._runner import MASK, TsmRunner
from ansible_collections.tableau.tsm.plugins.module_utils._state_common import mask_value

CONNECTION_ARGSPEC: t.Dict[str, t.Dict[str, t.Any]] = {
    "tsm_path": {"type": "path"},
    "tsm_server": {"type": "str"},
    "tsm_username": {"type": "str"},
    "tsm_password": {"type": "str", "no_log": True},
    "trust_admin_controller_cert": {"type": "bool", "default": False},
    "request_timeout": {"type": "int", "default": 1800},
    "lock_timeout": {"type": "int", "default": 300},
}

APPLY_ARGSPEC: t.Dict[str, t.Dict[str, t.Any]] = {
    "apply": {"type": "bool", "default": False},
}


def connection_argspec(staging: bool = False) -> t.Dict[str, t.Dict[str, t.Any]]:
    spec = {k: dict(v) for k, v in CONNECTION_ARGSPEC.items()}
    if staging:
        spec.update({k: dict(v) for k, v in APPLY_ARGSPEC.items()})
    return spec


def mask_dict(data: t.Any) -> t.Any:
    """Copy of a dict/list structure with secret-looking keys and ENC(...) values masked.

    Booleans and None are kept under any key (``password_set: true`` is no secret)."""
    if isinstance(data, dict):
        return {k: (mask_dict(v) if isinstance(v, (dict, list)) else mask_value(str(k), v)) for k, v in data.items()}
    if isinstance(data, list):
        return [mask_dict(v) for v in data]
    return data


class TsmModule(AnsibleModule):
    """AnsibleModule plus: connection options, ``runner``, ``stage``/``apply_if_requested``,
    ``fail_from``, ``result`` and ``finish``."""

    def __init__(self, argument_spec: t.Dict[str, t.Any], staging: bool = False, **kwargs: t.Any) -> None:
        spec = connection_argspec(staging)
        spec.update(argument_spec)
        required_together = list(kwargs.pop("required_together", None) or [])
        required_together.append(["tsm_username", "tsm_password"])
        super().__init__(argument_spec=spec, required_together=required_together, **kwargs)
        self.staging = staging
        self._runner: t.Optional[TsmRunner] = None
        self.staged: t.List[t.Dict[str, t.Any]] = []
        self.restart_required = False
        self.applied = False
        for name in ("request_timeout", "lock_timeout"):
            if self.params.get(name) is not None and self.params[name] < 0:
                self.fail_json(msg="%s must be 0 or more seconds, got %s" % (name, self.params[name]))

    @property
    def runner(self) -> TsmRunner:
        if self._runner is None:
            try:
                self._runner = TsmRunner(self)
            except TsmError as exc:
                self.fail_from(exc)
        return self._runner  # type: ignore[return-value]

    # staging -----------------------------------------------------------------------------------

    def stage(self, family: str, action: str, args: t.Sequence[str], restart: bool = True,
              display: t.Optional[t.Sequence[str]] = None) -> None:
        """Record a staging call and run it (not in check mode). ``display`` replaces ``args`` in the
        result (e.g. file names instead of private temp paths); secrets are masked either way."""
        shown = self.runner.mask_argv(list(display if display is not None else args))
        self.staged.append({"family": family, "action": action, "command": "tsm " + " ".join(shown)})
        if restart:
            self.restart_required = True
        if not self.check_mode:
            self.runner.run(list(args), write=True)

    def apply_if_requested(self, ignore_warnings: bool = False) -> None:
        """With ``apply: true`` and something staged by this task, run ``pending-changes apply``."""
        if not (self.staging and self.params.get("apply") and self.staged):
            return
        if not self.check_mode:
            self.runner.apply_pending(ignore_warnings=ignore_warnings)
        self.applied = True
        self.restart_required = False

    # results -----------------------------------------------------------------------------------

    def result(self, changed: bool, **extra: t.Any) -> t.Dict[str, t.Any]:
        result: t.Dict[str, t.Any] = {
            "changed": bool(changed),
            "pending_changes": list(self.staged),
            "restart_required": bool(self.restart_required),
            "applied": bool(self.applied),
        }
        result.update(extra)
        return result

    def diff(self, before: t.Any, after: t.Any) -> t.Optional[t.Dict[str, t.Any]]:
        """before/after with secrets masked, or None when diff mode is off."""
        if not self._diff:
            return None
        return {"before": mask_dict(before), "after": mask_dict(after)}

    def finish(self, changed: bool, before: t.Any, after: t.Any, **extra: t.Any) -> t.NoReturn:  # type: ignore[misc]
        """exit_json with ``result(changed, **extra)`` plus, in diff mode, ``diff`` of before/after
        (secrets masked). ``extra`` may override the standard keys."""
        result = self.result(changed, **extra)
        diff = self.diff(before, after)
        if diff is not None:
            result["diff"] = diff
        self.exit_json(**result)

    def fail_from(self, error: Exception, **extra: t.Any) -> t.NoReturn:  # type: ignore[misc]
        """fail_json from our errors (messages are masked already); keeps the standard keys."""
        result: t.Dict[str, t.Any] = {}
        if self.staging or self.staged:
            result.update(self.result(False))
            result["changed"] = bool(self.staged) and not self.check_mode
        if isinstance(error, TsmError):
            result.update(error.to_result())
            if isinstance(error, TsmInputError) and not self.staged:
                result["changed"] = False
        else:
            result["msg"] = str(error)
        result.update(extra)
        msg = result.pop("msg")
        self.fail_json(msg=msg, **result)


__all__ = ["TsmModule", "CONNECTION_ARGSPEC", "APPLY_ARGSPEC", "connection_argspec", "mask_dict", "MASK"]
