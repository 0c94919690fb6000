# -*- coding: utf-8 -*-
# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin for tableau.tsm.tableau_certificate_check (documented in the module of the same name).

When the task runs on the controller (the local connection, without become) and the controller's Python has
cryptography, the check runs inside the controller's Ansible process, with the module's own code
(module_utils/_certificate_check.py); otherwise the module runs as usual. See plugin_utils/_inprocess.py.
"""

from __future__ import annotations

import typing as t

from ansible_collections.tableau.tsm.plugins.module_utils import _certificate_check
from ansible_collections.tableau.tsm.plugins.module_utils._certificates import HAS_CRYPTOGRAPHY
from ansible_collections.tableau.tsm.plugins.plugin_utils._inprocess import InProcessCheckAction


class ActionModule(InProcessCheckAction):

    MODULE = "tableau.tsm.tableau_certificate_check"
    ARGUMENT_SPEC = _certificate_check.ARGUMENT_SPEC

    def requirements_met(self) -> bool:
        # Without cryptography here the module runs, and fails with its missing_required_lib message unless
        # the module's interpreter has it.
        return HAS_CRYPTOGRAPHY

    def execute(self, params: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
        return _certificate_check.execute(params)
