# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this doc fragment is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

from __future__ import annotations


class ModuleDocFragment:
    # Standard attribute descriptions; each module sets the support levels.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
      - This assumes that the system controlled/queried by the module has not changed in a relevant way.
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
"""

    # The action group for module_defaults.
    ACTIONGROUP_TSM = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/tableau.tsm.tsm) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - tableau.tsm.tsm
"""

    # Read-only modules.
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
  idempotent:
    support: full
"""

    # Read-only check modules with an action plugin that runs them inside the controller's process
    # (plugins/plugin_utils/_inprocess.py).
    INPROCESS_CHECK = r"""
options: {}
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
    details:
      - On the controller (the C(local) connection) without become, C(async) or a task C(environment), and with the
        module's Python requirements importable there, the action plugin runs the whole check in the controller's
        Ansible process, with the module's own code, unless the task variable C(tableau_tsm_inprocess) is V(false).
        Otherwise it runs the module.
  async:
    description: Supports being used with the C(async) keyword.
    support: full
    details:
      - An C(async) task always runs as a module process.
"""
