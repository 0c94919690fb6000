# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test-only callback: every task result as one JSON line in $RELIABILITY_EVENTS.

What a callback sees is what AWX stores as job events (after no_log censoring), so the
reliability suite scans these lines for secrets and reads each case's message from them.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: reliability_events
type: notification
short_description: write task results as JSON lines (tableau.tsm reliability tests only)
description:
  - Writes one JSON object per task result to the file named by E(RELIABILITY_EVENTS).
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "reliability_events"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._path = os.environ.get("RELIABILITY_EVENTS")
        self._play = None

    def _write(self, event, result=None, **extra):
        if not self._path:
            return
        record = {"event": event, "time": time.time(), "play": self._play}
        if result is not None:
            task = result._task
            record.update({
                "host": result._host.get_name(),
                "task": task.get_name(),
                "action": task.action,
                "res": result._result,
            })
        record.update(extra)
        with open(self._path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, default=str) + "\n")

    def v2_playbook_on_play_start(self, play):
        self._play = play.get_name()
        self._write("play_start")

    def v2_runner_on_ok(self, result):
        self._write("runner_on_ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write("runner_on_failed", result, ignore_errors=ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._write("runner_on_skipped", result)

    def v2_runner_on_unreachable(self, result):
        self._write("runner_on_unreachable", result)

    def v2_runner_item_on_ok(self, result):
        self._write("runner_item_on_ok", result)

    def v2_runner_item_on_failed(self, result):
        self._write("runner_item_on_failed", result)

    def v2_playbook_on_stats(self, stats):
        self._write("playbook_on_stats", failures=dict(stats.failures), ok=dict(stats.ok))
