#!/usr/bin/python
# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: tableau_internal_tokens
short_description: Regenerate the internal tokens, certificates and passwords of Tableau Server, guarded by age
version_added: 1.0.0
description:
  - Runs C(tsm security regenerate-internal-tokens), which stops Tableau Server, generates new internal SSL
    certificates for the repository and the search server, new passwords for all internally managed accounts,
    new encryption keys and internal security tokens, distributes them to every node and starts the server again.
  - This is not a configuration with a state that could be read back, so the module is guarded instead of
    idempotent. It runs only when O(force=true), or when O(max_age) is set and the last regeneration
    B(recorded by this module) is older than O(max_age). With neither option the module fails before doing
    anything.
  - The time of every regeneration run by this module is kept in a small record store on the node the module
    runs on (the initial node), see O(record_path). When no regeneration is recorded there (first run,
    a new initial node, or a removed record file), the module treats the tokens as never regenerated and
    runs when O(max_age) is set.
  - The command is not staged and does not use pending changes; C(tsm pending-changes apply) is neither needed
    nor run.
  - B(Warning) - every run restarts Tableau Server, so all users lose their sessions and the server is
    unavailable for minutes. Do not call this module in a routine or drift-check run without O(max_age);
    schedule it in a maintenance window.
  - B(Warning) - after a regeneration, node bootstrap (node configuration) files created before are no longer
    valid. Before adding a node to the cluster, create a new one with C(tsm topology nodes get-bootstrap-file).
extends_documentation_fragment:
  - tableau.tsm._connection
  - tableau.tsm._attributes
  - tableau.tsm._attributes.actiongroup_tsm
attributes:
  check_mode:
    support: full
    details:
      - Check mode reads only the record store and reports whether the module would run (RV(would_run)) and why;
        it makes no tsm call at all.
  diff_mode:
    support: full
    details:
      - The diff shows the recorded time of the last regeneration before and after the task.
  idempotent:
    support: partial
    details:
      - With O(max_age), a second run within O(max_age) reports no change and makes no tsm call.
      - With O(force=true), every run regenerates the tokens and restarts the server.
options:
  force:
    description:
      - Regenerate now, whatever the record store says.
      - Every run with V(true) restarts Tableau Server.
    type: bool
    default: false
  max_age:
    description:
      - Regenerate only when the last regeneration recorded by this module is older than this, or when none is recorded.
      - A number of seconds (V(86400)), or a number followed by one unit - V(d) (days), V(h) (hours),
        V(m) (minutes) or V(s) (seconds), for example V(90d), V(12h) or V(30m). Must be greater than zero.
      - Regenerations run outside this module (by hand, or by another tool) are not known to the module and
        do not count.
      - One of O(force=true) or O(max_age) is required.
    type: raw
  record_path:
    description:
      - Path of the JSON record store on the managed node where the module records when it last regenerated
        the tokens, and reads it back.
      - The default is C(<Tableau data directory>/data/ansible_tableau_tsm/records.json), that is
        C(/var/opt/tableau/tableau_server/data/ansible_tableau_tsm/records.json) on a default Linux
        installation; the data directory is derived from the path of C(tsm).
      - The file is written atomically with mode C(0600); a directory the module creates for it gets mode C(0700).
        It holds no secrets.
      - An unreadable or invalid record file is an error (the module never treats it as empty, since that would
        restart the server).
    type: path
notes:
  - Run the module on the initial node (the one running the Administration Controller) of each cluster, so that the
    record store stays in one place per cluster; for example with C(run_once) per cluster or a host pattern that
    selects only initial nodes.
  - The C(--request-timeout) value passed to tsm is O(request_timeout) (default 1800 seconds).
  - When the regeneration succeeded but the record could not be written, the module fails with RV(regenerated=true);
    fix the record store, or a later run with O(max_age) regenerates (and restarts) again.
seealso:
  - module: tableau.tsm.tableau_security_info
  - name: tsm security regenerate-internal-tokens
    description: Tableau's reference of the command.
    link: https://help.tableau.com/current/server-linux/en-us/cli_security_tsm.htm
author:
  - tableau.tsm contributors (@tableau-tsm)
"""

EXAMPLES = r"""
- name: Regenerate the internal tokens when the last regeneration by Ansible is older than 90 days
  tableau.tsm.tableau_internal_tokens:
    max_age: 90d
  when: tableau_initial_node | default(false) | bool

- name: See whether a regeneration is due, without restarting anything
  tableau.tsm.tableau_internal_tokens:
    max_age: 90d
  check_mode: true
  register: tokens

- name: Show the decision
  ansible.builtin.debug:
    msg: "{{ tokens.reason }} (next due {{ tokens.next_due }})"

- name: Regenerate now (for example after a suspected compromise); restarts Tableau Server
  tableau.tsm.tableau_internal_tokens:
    force: true
    request_timeout: 3600

- name: Keep the record somewhere else
  tableau.tsm.tableau_internal_tokens:
    max_age: 12h
    record_path: /var/lib/ansible-tableau/records.json
"""

RETURN = r"""
regenerated:
  description: Whether C(tsm security regenerate-internal-tokens) ran in this task (and so the server restarted).
  returned: always
  type: bool
  sample: true
would_run:
  description:
    - Whether the guard allows a regeneration (O(force=true), no recorded regeneration, or one older than O(max_age)).
    - In check mode this is what the module would do; outside check mode it equals RV(regenerated) unless tsm failed.
  returned: always
  type: bool
  sample: true
reason:
  description: Why the module ran or did not run, in words.
  returned: always
  type: str
  sample: "the last regeneration recorded by this module (2026-01-02T03:04:05Z) is older than max_age 90d"
last_regenerated:
  description:
    - The last regeneration recorded by this module (UTC, ISO 8601), before and after this task.
    - V(null) when none is recorded. In check mode RV(last_regenerated.after) equals RV(last_regenerated.before).
  returned: always
  type: dict
  contains:
    before:
      description: Recorded time before this task.
      type: str
      returned: always
      sample: "2026-01-02T03:04:05Z"
    after:
      description: Recorded time after this task.
      type: str
      returned: always
      sample: "2026-04-05T06:07:08Z"
  sample:
    before: "2026-01-02T03:04:05Z"
    after: "2026-04-05T06:07:08Z"
next_due:
  description:
    - When the next regeneration is due under O(max_age) (UTC, ISO 8601), counted from the last recorded one
      (in check mode, when the module would run, counted from now).
  returned: when O(max_age) is set
  type: str
  sample: "2026-07-04T06:07:08Z"
max_age_seconds:
  description: O(max_age) in seconds.
  returned: when O(max_age) is set
  type: int
  sample: 7776000
record_path:
  description: The record store that was read (and written after a regeneration).
  returned: always
  type: str
  sample: /var/opt/tableau/tableau_server/data/ansible_tableau_tsm/records.json
pending_changes:
  description: Always empty; the regeneration is not staged.
  returned: always
  type: list
  elements: dict
  sample: []
restart_required:
  description: Always V(false); the regeneration restarts the server by itself.
  returned: always
  type: bool
  sample: false
applied:
  description: Always V(false); C(tsm pending-changes apply) is not run.
  returned: always
  type: bool
  sample: false
"""

import datetime
import re
import typing as t

from ansible_collections.tableau.tsm.plugins.module_utils._errors import TsmError, TsmInputError
from ansible_collections.tableau.tsm.plugins.module_utils._module import TsmModule
from ansible_collections.tableau.tsm.plugins.module_utils._records import (
    RecordStore,
    RecordStoreError,
    default_record_path,
    format_timestamp,
    parse_timestamp,
    utc_now,
)

RECORD_NAME = "internal_tokens"
MODULE_NAME = "tableau.tsm.tableau_internal_tokens"
_AGE_RE = re.compile(r"^(?P<number>[0-9]+)(?P<unit>[dhms]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
FUTURE_TOLERANCE = datetime.timedelta(minutes=5)


def parse_max_age(value: t.Any) -> int:
    """Seconds from ``90d``/``12h``/``30m``/``45s``/``3600``/3600; TsmInputError on anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TsmInputError("max_age must be a number of seconds or a number with a unit d, h, m or s "
                            "(for example 90d), got %r" % (value,))
    text = str(value).strip().lower()
    match = _AGE_RE.match(text)
    if not match:
        raise TsmInputError("max_age %r is not valid: use a number of seconds or a number followed by one "
                            "unit d, h, m or s, for example 90d, 12h, 30m or 86400" % (value,))
    seconds = int(match.group("number")) * _UNITS[match.group("unit")]
    if seconds <= 0:
        raise TsmInputError("max_age %r must be greater than zero; use force: true to regenerate unconditionally"
                            % (value,))
    return seconds


def decide(force: bool, max_age: t.Optional[int], max_age_text: t.Optional[str], last: t.Optional[datetime.datetime],
           now: datetime.datetime) -> t.Tuple[bool, str]:
    """(would_run, reason)."""
    if force:
        return True, "force: true"
    if last is None or max_age is None:
        return True, "no regeneration is recorded by this module, so the tokens count as never regenerated"
    due = last + datetime.timedelta(seconds=max_age)
    if now >= due:
        return True, "the last regeneration recorded by this module (%s) is older than max_age %s" % (
            format_timestamp(last), max_age_text)
    return False, "the last regeneration recorded by this module (%s) is within max_age %s; next due %s" % (
        format_timestamp(last), max_age_text, format_timestamp(due))


def main() -> None:
    module = TsmModule(
        argument_spec={
            "force": {"type": "bool", "default": False},
            "max_age": {"type": "raw"},
            "record_path": {"type": "path"},
        },
        supports_check_mode=True,
    )
    params = module.params
    force = bool(params["force"])
    max_age_text = None if params["max_age"] is None else str(params["max_age"]).strip()
    result: t.Dict[str, t.Any] = {}
    predicted: t.Optional[str] = None
    try:
        # Input first: nothing is read or run before these checks.
        if not force and max_age_text is None:
            raise TsmInputError("tableau_internal_tokens needs force: true or max_age (for example max_age: 90d): "
                                "regenerating the internal tokens restarts Tableau Server, so it never runs unguarded")
        max_age = parse_max_age(params["max_age"]) if max_age_text is not None else None

        record_path = params["record_path"] or default_record_path(module.runner.data_dir)
        result["record_path"] = record_path
        store = RecordStore(record_path)
        record = store.get(RECORD_NAME) or {}
        last_text = record.get("last_regenerated")
        last = parse_timestamp(last_text)
        if last_text is not None and last is None:
            raise RecordStoreError("the record store %s holds an unreadable last_regenerated value %r for %s; "
                                   "correct or remove that record" % (record_path, last_text, RECORD_NAME))
        now = utc_now()
        if last is not None and last - now > FUTURE_TOLERANCE:
            module.warn("The last regeneration recorded in %s (%s) lies in the future; check the clock of the node"
                        % (record_path, format_timestamp(last)))
        would_run, reason = decide(force, max_age, max_age_text, last, now)
        before = format_timestamp(last) if last is not None else None
        result.update({
            "would_run": would_run,
            "reason": reason,
            "regenerated": False,
            "last_regenerated": {"before": before, "after": before},
        })
        if max_age is not None:
            result["max_age_seconds"] = max_age

        if would_run and not module.check_mode:
            try:
                module.runner.run(["security", "regenerate-internal-tokens"], write=True)
            except TsmError as exc:
                failed = dict(record, last_attempt=format_timestamp(now), last_result="failed",
                              last_error=str(exc), module=MODULE_NAME)
                try:
                    store.put(RECORD_NAME, failed)
                except RecordStoreError as store_exc:
                    module.warn(str(store_exc))
                raise
            result["regenerated"] = True
            done = utc_now()
            result["last_regenerated"]["after"] = format_timestamp(done)
            try:
                store.put(RECORD_NAME, {
                    "last_regenerated": format_timestamp(done),
                    "last_attempt": format_timestamp(now),
                    "last_result": "succeeded",
                    "module": MODULE_NAME,
                })
            except RecordStoreError as exc:
                result["next_due"] = None
                module.fail_json(
                    msg="The internal tokens were regenerated (and Tableau Server restarted), but the record could "
                        "not be written: %s. Fix the record store, or the next run with max_age regenerates again." % exc,
                    **module.result(True, **result))

        if max_age is not None:
            after = parse_timestamp(result["last_regenerated"]["after"])
            base = after if after is not None else (now if would_run else last)
            result["next_due"] = format_timestamp(base + datetime.timedelta(seconds=max_age)) if base else None
        # what the diff shows as "after": in check mode, the time that would be recorded
        predicted = format_timestamp(now) if module.check_mode and would_run else result["last_regenerated"]["after"]
    except TsmError as exc:
        module.fail_from(exc, **result)

    changed = bool(result["regenerated"] or (module.check_mode and result["would_run"]))
    module.finish(changed, {"last_regenerated": result["last_regenerated"]["before"]},
                  {"last_regenerated": predicted}, **result)


if __name__ == "__main__":
    main()
