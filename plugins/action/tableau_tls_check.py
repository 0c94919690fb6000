# -*- coding: utf-8 -*-
# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin for tableau.tsm.tableau_tls_check (documented in the module of the same name).

When the task runs on the controller (the local connection, without become), the TLS check runs inside the
controller's Ansible process, with the module's own code (module_utils/_tls_check.py); otherwise the module
runs as usual. See plugin_utils/_inprocess.py.
"""

from __future__ import annotations

import typing as t

from ansible_collections.tableau.tsm.plugins.module_utils import _tls_check
from ansible_collections.tableau.tsm.plugins.plugin_utils._inprocess import InProcessCheckAction


class ActionModule(InProcessCheckAction):

    MODULE = "tableau.tsm.tableau_tls_check"
    ARGUMENT_SPEC = _tls_check.ARGUMENT_SPEC
    MUTUALLY_EXCLUSIVE = _tls_check.MUTUALLY_EXCLUSIVE
    REQUIRED_ONE_OF = _tls_check.REQUIRED_ONE_OF

    def execute(self, params: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
        # cryptography is optional for this module: without it the certificate is decoded with ssl, as the
        # module does on a node without it.
        return _tls_check.execute(params)
