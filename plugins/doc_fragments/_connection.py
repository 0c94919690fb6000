# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this doc fragment is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

from __future__ import annotations


class ModuleDocFragment:
    # The connection options shared by every tsm module.
    DOCUMENTATION = r"""
options:
  tsm_path:
    description:
      - Path of the C(tsm) executable on the managed node.
      - When not set, C(tsm) is searched on the E(PATH) of the managed node, then the newest
        C(/opt/tableau/tableau_server/packages/customer-bin.*/tsm) (by version) is used.
    type: path
  tsm_server:
    description:
      - URL of the TSM Administration Controller, passed to tsm as C(-s), for example V(https://node1.example.com:8850).
      - Not needed when the module runs on the initial node (the one running the Administration Controller)
        as a member of the TSM-authorized group, where tsm works without a login.
    type: str
  tsm_username:
    description:
      - TSM administrator user name, passed to tsm as C(-u).
      - Requires O(tsm_password).
    type: str
  tsm_password:
    description:
      - Password of O(tsm_username).
      - It is fed to tsm on standard input (tsm prompts for it when C(-u) is given without C(-p)),
        so it never appears on the command line or in the process table.
      - Requires O(tsm_username).
    type: str
  trust_admin_controller_cert:
    description:
      - Pass C(--trust-admin-controller-cert) so that tsm trusts the self-signed certificate of the
        Administration Controller.
    type: bool
    default: false
  request_timeout:
    description:
      - Seconds tsm waits for long-running jobs (C(--request-timeout)), used on the subcommands that accept
        it, such as C(pending-changes apply).
    type: int
    default: 1800
  lock_timeout:
    description:
      - Seconds to keep retrying while another TSM job holds the lock (for example an apply started by
        another task or administrator). The module retries every few seconds and fails with a clear
        message when the lock is still held after this time.
      - V(0) disables the retry.
    type: int
    default: 300
notes:
  - All tsm commands of a cluster should run on its initial node (the one running the Administration Controller).
  - The module runs C(tsm) with C(LANG=C) and C(LC_ALL=C), never through a shell.
"""

    # For modules that stage changes (enable/disable/set-mode/configure).
    APPLY = r"""
options:
  apply:
    description:
      - Run C(tsm pending-changes apply --ignore-prompt) after this task staged a change.
      - The default V(false) leaves the change pending, so that one apply (for example the
        M(tableau.tsm.tableau_pending_changes) module in a handler) serves many tasks and the
        server restarts at most once.
      - Nothing is applied when this task staged nothing, even if other changes are pending;
        use M(tableau.tsm.tableau_pending_changes) to apply those.
      - Applying restarts Tableau Server when the pending changes need it.
    type: bool
    default: false
"""
