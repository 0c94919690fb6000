# -*- coding: utf-8 -*-
# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this plugin util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Base of the action plugins that run a read-only check module's work inside the controller's process.

tableau_tls_check and tableau_certificate_check are mostly run on the controller (``delegate_to: localhost``).
A module run costs a worker's fork plus AnsiballZ packaging, a shell and a new Python that imports
ansible.module_utils again; the check itself is cheap. When the task's connection is the controller itself
(the ``local`` connection) and nothing needs the separate module process (become, async, a task
``environment``, the opt-out variable ``tableau_tsm_inprocess: false``), the action plugin validates the
arguments with the module's own argument spec and calls the module's own ``execute()`` from module_utils in
the worker process instead. Otherwise it runs the module, exactly as the ``normal`` action would.

The result is the module's: the same keys and messages (``execute()`` is the module's code), no_log values
removed like AnsibleModule removes them, ``invocation`` only when the module would add it, and the module's
warnings in the result's ``warnings``. Relative paths are resolved against the playbook directory, the
working directory a module run by the local connection gets.
"""

from __future__ import annotations

import contextlib
import copy
import os
import typing as t

from ansible import constants as C
from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.errors import UnsupportedError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.tableau.tsm.plugins.module_utils._errors import CheckFailure

#: Task variable: set it to false to always run the module as a module.
OPT_OUT_VAR = "tableau_tsm_inprocess"

#: Transports and load names of ansible-core's local connection (2.19 names ansible.builtin.local by its
#: Python module path).
LOCAL_CONNECTIONS = frozenset([
    "local",
    "ansible.builtin.local",
    "ansible.legacy.local",
    "ansible_collections.ansible.builtin.plugins.connection.local",
])


class InProcessCheckAction(ActionBase):
    """Runs ``execute()`` of a read-only check module in this process when the task runs on the controller.

    Subclasses set MODULE (the module's FQCN), ARGUMENT_SPEC and, if the module uses them,
    MUTUALLY_EXCLUSIVE and REQUIRED_ONE_OF, and implement ``execute(params)`` (return the result or raise
    CheckFailure) and, if the module needs a library that the controller may lack, ``requirements_met()``.
    """

    MODULE: str = ""
    ARGUMENT_SPEC: t.Dict[str, t.Any] = {}
    MUTUALLY_EXCLUSIVE: t.Optional[t.List[t.List[str]]] = None
    REQUIRED_ONE_OF: t.Optional[t.List[t.List[str]]] = None

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = True

    # ----------------------------------------------------------------- to implement
    def execute(self, params: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
        """The module's work for the validated ``params``: its result, or CheckFailure."""
        raise NotImplementedError

    def requirements_met(self) -> bool:
        """Whether the module's Python requirements import in this (the controller's) Python."""
        return True

    # ----------------------------------------------------------------- the decision
    def runs_here(self, task_vars: t.Dict[str, t.Any]) -> bool:
        """Whether the check may run in this process: the task's connection is the controller itself, and
        nothing that only a module process provides is asked for."""
        wanted = task_vars.get(OPT_OUT_VAR, True)
        if isinstance(wanted, str):
            wanted = self._templar.template(wanted)
        if not boolean(wanted, strict=False):
            return False
        connection = self._connection
        if (getattr(connection, "transport", None) not in LOCAL_CONNECTIONS
                and getattr(connection, "_load_name", None) not in LOCAL_CONNECTIONS):
            return False
        # become (the module would run as another user), async (async_wrapper), a task environment (the module
        # process would get those variables): all need the module process.
        if self._play_context.become or getattr(connection, "become", None) is not None:
            return False
        if self._task.async_val:
            return False
        if any(self._task.environment or []):
            return False
        return self.requirements_met()

    # ----------------------------------------------------------------- run
    def run(self, tmp: t.Any = None, task_vars: t.Optional[t.Dict[str, t.Any]] = None) -> t.Dict[str, t.Any]:
        if task_vars is None:
            task_vars = {}
        result = super().run(tmp, task_vars)
        del tmp  # tmp no longer has any effect

        if not self.runs_here(task_vars):
            # As the normal action runs a module.
            wrap_async = self._task.async_val and not self._connection.has_native_async
            result = merge_hash(result, self._execute_module(module_name=self.MODULE, module_args=self._task.args,
                                                             task_vars=task_vars, wrap_async=wrap_async))
            if not wrap_async:
                self._remove_tmp_path(self._connection._shell.tmpdir)
            return result

        result.update(self.run_in_process(task_vars))
        return result

    def run_in_process(self, task_vars: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
        """The module's result, computed in this process. Check mode needs nothing: the checks are read-only."""
        spec = copy.deepcopy(self.ARGUMENT_SPEC)  # the validator may put a default's list into the parameters
        try:
            validation, params = self.validate_argument_spec(
                argument_spec=spec,
                mutually_exclusive=self.MUTUALLY_EXCLUSIVE,
                required_one_of=self.REQUIRED_ONE_OF,
            )
            no_log_values = validation._no_log_values
        except AnsibleActionFail as exc:
            # Validate again for what AnsibleModule's failed result holds: its message (validate_argument_spec
            # names the module by the action plugin's load name, which ansible-core 2.19 sets to the Python
            # module path), the parameters and the no_log values.
            again = ArgumentSpecValidator(copy.deepcopy(self.ARGUMENT_SPEC),
                                          mutually_exclusive=self.MUTUALLY_EXCLUSIVE,
                                          required_one_of=self.REQUIRED_ONE_OF).validate(dict(self._task.args))
            params = dict(self._task.args)
            params.update(again.validated_parameters)
            no_log_values = again._no_log_values
            if again.errors:
                msg = again.errors.msg
                if isinstance(again.errors[0], UnsupportedError):
                    msg = "Unsupported parameters for (%s) module: %s" % (self.MODULE, msg)
            else:  # not expected: the same validation
                msg = to_native(exc.message)
            result = {"failed": True, "msg": msg}
        else:
            try:
                with self._in_basedir():
                    result = self.execute(params)
            except CheckFailure as exc:
                result = dict(exc.result)
                result.update(failed=True, msg=exc.msg)
                if exc.traceback:
                    result["exception"] = exc.traceback
        if self._inject_invocation(task_vars):
            result["invocation"] = {"module_args": params}
        return self._remove_no_log_values(result, no_log_values)

    # ----------------------------------------------------------------- helpers
    @staticmethod
    def _remove_no_log_values(result: t.Dict[str, t.Any], no_log_values: t.Iterable[str]) -> t.Dict[str, t.Any]:
        """What AnsibleModule does to its result: every no_log value removed, top-level booleans and None kept."""
        preserved = dict((key, value) for key, value in result.items() if value is None or isinstance(value, bool))
        result = remove_values(result, set(no_log_values))
        result.update(preserved)
        return result

    @staticmethod
    def _inject_invocation(task_vars: t.Dict[str, t.Any]) -> bool:
        """Whether the module would return ``invocation``: always before ansible-core 2.21, with 2.21 when the
        INJECT_INVOCATION setting is on."""
        if not C.config.get_configuration_definition("INJECT_INVOCATION"):
            return True
        return boolean(C.config.get_config_value("INJECT_INVOCATION", variables=task_vars), strict=False)

    @contextlib.contextmanager
    def _in_basedir(self) -> t.Iterator[None]:
        """Work in the playbook directory, as a module run by the local connection does (relative paths)."""
        basedir = self._loader.get_basedir() if self._loader is not None else None
        try:
            cwd: t.Optional[str] = os.getcwd()
        except OSError:
            cwd = None
        if not isinstance(basedir, str) or not basedir or basedir == cwd or not os.path.isdir(basedir):
            yield
            return
        os.chdir(basedir)
        try:
            yield
        finally:
            if cwd is not None:
                os.chdir(cwd)
