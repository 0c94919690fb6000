# -*- coding: utf-8 -*-
# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin for tableau.tsm.tableau_certificate_files (documented in the module of the same name).

Reads every O(files[].src) on the controller (relative paths searched like copy's ``src``, vaulted files
decrypted), then runs the module once on the node with the contents in its hidden, no_log ``_contents``
option. Nothing of the content is ever put into the result or an error message.
"""

from __future__ import annotations

import base64
import typing as t

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.plugins.action import ActionBase

from ansible_collections.tableau.tsm.plugins.module_utils._files import CERTIFICATE_FILES_ARGUMENT_SPEC

MODULE = "tableau.tsm.tableau_certificate_files"

# The module's options, without its hidden _contents (a task may not set it).
ARGUMENT_SPEC = CERTIFICATE_FILES_ARGUMENT_SPEC


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def _read_local(self, src: str) -> bytes:
        """The bytes of a controller file (searched like copy's src; vault decrypted). Raises AnsibleActionFail."""
        try:
            found = self._find_needle("files", src)
        except AnsibleError as exc:
            raise AnsibleActionFail("could not find src=%s: %s" % (src, to_native(exc.message))) from None
        try:
            real = self._loader.get_real_file(found, decrypt=True)
        except AnsibleError as exc:
            raise AnsibleActionFail("could not read src=%s (%s): %s" % (src, found, to_native(exc.message))) from None
        try:
            with open(real, "rb") as handle:
                return handle.read()
        except OSError as exc:
            raise AnsibleActionFail("could not read src=%s (%s): %s" % (src, found, to_native(exc.strerror or exc))) from None
        finally:
            self._loader.cleanup_tmp_file(real)

    def run(self, tmp: t.Any = None, task_vars: t.Optional[t.Dict[str, t.Any]] = None) -> t.Dict[str, t.Any]:
        if task_vars is None:
            task_vars = {}
        result = super().run(tmp, task_vars)
        del tmp  # tmp no longer has any effect

        try:
            dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
            names = set()
            contents = {}
            for index, item in enumerate(args["files"]):
                name = item["name"]
                if not name or "/" in name or name in (".", ".."):
                    raise AnsibleActionFail("files[%d].name %r must be a plain file name (no '/', not '.' or '..')" % (index, name))
                if name in names:
                    raise AnsibleActionFail("files[%d].name %r is named twice" % (index, name))
                names.add(name)
                contents[name] = to_text(base64.b64encode(self._read_local(item["src"])))
        except AnsibleActionFail as exc:
            # explicit keys: AnsibleActionFail.result is not filled the same way by every ansible-core
            result.update(failed=True, msg=to_native(exc.message))
            return result

        module_args = dict(args)
        module_args["_contents"] = contents
        try:
            module_result = self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars)
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)

        # The module masks _contents in its invocation already; drop it entirely, to be sure.
        invocation = module_result.get("invocation")
        if isinstance(invocation, dict) and isinstance(invocation.get("module_args"), dict):
            invocation["module_args"].pop("_contents", None)
        result.update(module_result)
        return result
