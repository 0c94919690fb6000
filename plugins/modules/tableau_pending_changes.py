#!/usr/bin/python
# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: tableau_pending_changes
short_description: Apply or discard the pending configuration changes of Tableau Server
version_added: 1.0.0
description:
  - Reads C(tsm pending-changes list) and, only when something is pending, runs
    C(tsm pending-changes apply --ignore-prompt) or C(tsm pending-changes discard).
  - With nothing pending the module reports no change and makes no write call, so it is safe in a handler
    or at the end of every run. A server is restarted at most once, and only when needed.
  - Applying restarts Tableau Server when a pending change needs it.
extends_documentation_fragment:
  - tableau.tsm._connection
  - tableau.tsm._attributes
  - tableau.tsm._attributes.actiongroup_tsm
attributes:
  check_mode:
    support: full
    details:
      - Check mode reads the pending changes and reports what would be applied or discarded.
  diff_mode:
    support: full
    details:
      - The diff lists the pending changes before and none after; secret values are masked.
  idempotent:
    support: full
options:
  state:
    description:
      - V(applied) applies the pending changes (C(tsm pending-changes apply)).
      - V(discarded) throws them away (C(tsm pending-changes discard)).
    type: str
    choices: [applied, discarded]
    default: applied
  ignore_warnings:
    description:
      - Pass C(--ignore-warnings) to C(tsm pending-changes apply), so that warning-level constraints do not stop it.
    type: bool
    default: false
  gather_status:
    description:
      - Also read the server status with C(tsm status -v) at the end of the task (after the apply or discard, or
        when nothing was pending) and return it in RV(status), so that a playbook can check that Tableau Server
        is V(RUNNING) after an apply without a second task.
      - One more read call. It is made in check mode too (it changes nothing).
    type: bool
    default: false
    version_added: 1.0.0
notes:
  - The output of C(tsm pending-changes list) is not documented; the module parses it tolerantly and, when in
    doubt, treats the output as pending (one unnecessary apply at worst, never a skipped one).
seealso:
  - module: tableau.tsm.tableau_external_ssl
  - name: tsm pending-changes
    description: Tableau's reference of the command.
    link: https://help.tableau.com/current/server-linux/en-us/cli_pending-changes.htm
author:
  - tableau.tsm contributors (@tableau-tsm)
"""

EXAMPLES = r"""
- name: Apply whatever the previous tasks staged (a typical handler)
  tableau.tsm.tableau_pending_changes:
    state: applied
  listen: tableau tsm apply

- name: Apply, then check that Tableau Server came back up, in one task
  tableau.tsm.tableau_pending_changes:
    state: applied
    gather_status: true
  register: tableau_apply

- name: Fail unless the server is running
  ansible.builtin.assert:
    that: tableau_apply.status.status == 'RUNNING'

- name: Throw away changes staged by mistake
  tableau.tsm.tableau_pending_changes:
    state: discarded

- name: Apply on a cluster from another node, ignoring warnings
  tableau.tsm.tableau_pending_changes:
    ignore_warnings: true
    tsm_server: https://node1.example.com:8850
    tsm_username: "{{ tableau_tsm_username }}"
    tsm_password: "{{ tableau_tsm_password }}"
    trust_admin_controller_cert: true
"""

RETURN = r"""
pending_changes:
  description:
    - The changes that were pending before this task (and were applied or discarded, or would be in check mode).
    - Each entry has the configuration C(key), its C(value) (secret-looking values masked), and C(restart)
      (V(true)/V(false) when the output says so, else V(null)). Other lines come with a V(null) key.
  returned: always
  type: list
  elements: dict
  sample:
    - key: ssl.enabled
      value: "true"
      restart: null
restart_required:
  description:
    - Whether the pending changes need a server restart (so applying them restarts, or would restart, the server).
    - V(false) when nothing was pending or when discarding.
  returned: always
  type: bool
  sample: true
applied:
  description: Whether C(tsm pending-changes apply) was run (in check mode, would be run).
  returned: always
  type: bool
  sample: true
discarded:
  description: Whether C(tsm pending-changes discard) was run (in check mode, would be run).
  returned: always
  type: bool
  sample: false
status:
  description:
    - The server status from C(tsm status -v), read at the end of the task. Same structure as the
      RV(tableau.tsm.tableau_security_info#module:status) of M(tableau.tsm.tableau_security_info).
  returned: when O(gather_status=true)
  type: dict
  contains:
    status:
      description: V(RUNNING), V(STOPPED), V(DEGRADED), or V(UNKNOWN) when the output shows something else.
      type: str
      returned: success
    status_text:
      description: The status as printed, or V(null) when no C(Status:) line was found.
      type: str
      returned: success
    nodes:
      description:
        - One entry per node (C(name), C(host)) with its C(processes) (C(name), C(status) - one of
          V(running), V(stopped), V(error), V(starting), V(unknown) - and C(status_text) as printed).
      type: list
      elements: dict
      returned: success
  sample:
    status: RUNNING
    status_text: RUNNING
    nodes:
      - name: node1
        host: node1.example.com
        processes:
          - {name: Gateway, status: running, status_text: running}
"""

import typing as t

from ansible_collections.tableau.tsm.plugins.module_utils._errors import TsmError
from ansible_collections.tableau.tsm.plugins.module_utils._module import TsmModule
from ansible_collections.tableau.tsm.plugins.module_utils._state_pending import parse_pending_list
from ansible_collections.tableau.tsm.plugins.module_utils._state_status import parse_status


def main() -> None:
    module = TsmModule(
        argument_spec={
            "state": {"type": "str", "default": "applied", "choices": ["applied", "discarded"]},
            "ignore_warnings": {"type": "bool", "default": False},
            "gather_status": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    state = module.params["state"]
    applied = discarded = restart = changed = False
    extra: t.Dict[str, t.Any] = {}
    try:
        parsed = parse_pending_list(module.runner.list_pending())
        changes: t.List[t.Dict[str, t.Any]] = list(parsed["changes"])
        changes += [{"key": None, "value": line, "restart": None} for line in parsed["other"]]
        changed = bool(parsed["pending"])
        if changed:
            if state == "applied":
                restart = bool(parsed["restart_required"])
                if not module.check_mode:
                    module.runner.apply_pending(ignore_warnings=module.params["ignore_warnings"])
                applied = True
            else:
                if not module.check_mode:
                    module.runner.discard_pending()
                discarded = True
        if module.params["gather_status"]:
            extra["status"] = parse_status(module.runner.run(["status", "-v"])[1])
    except TsmError as exc:
        done = not module.check_mode
        module.fail_from(exc, changed=changed and done, applied=applied and done, discarded=discarded and done)

    module.finish(changed, {"pending_changes": changes}, {"pending_changes": [] if changed else changes},
                  pending_changes=changes, restart_required=restart, applied=applied, discarded=discarded, **extra)


if __name__ == "__main__":
    main()
