# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark helper (not shipped): write one JSON line per host and task to $BENCH_TASKLOG.

Each line: host, task name, action (module), role, handler, start, end, status
(ok/changed/skipped/failed/unreachable). bench/run.py matches the emulator's call log
against these windows to say which task made which tsm call.
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: bench_tasks
type: aggregate
short_description: per-host task timing for bench/run.py
description: Writes host/task/start/end/status as JSON lines to the file named by BENCH_TASKLOG.
requirements: [enable in ANSIBLE_CALLBACKS_ENABLED]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_tasks"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._path = os.environ.get("BENCH_TASKLOG")
        self._starts = {}
        self._handlers = set()

    def _write(self, rec):
        if not self._path:
            return
        with open(self._path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(rec, sort_keys=True) + "\n")

    def v2_playbook_on_handler_task_start(self, task):
        self._handlers.add(task._uuid)

    def v2_runner_on_start(self, host, task):
        self._starts[(host.get_name(), task._uuid)] = time.time()

    def _done(self, result, status):
        host = result._host.get_name()
        task = result._task
        start = self._starts.pop((host, task._uuid), None)
        role = task._role.get_name() if getattr(task, "_role", None) else None
        self._write({"host": host, "task": task.get_name(), "action": task.action, "role": role,
                     "handler": task._uuid in self._handlers, "start": start, "end": time.time(),
                     "status": status})

    def v2_runner_on_ok(self, result):
        self._done(result, "changed" if result._result.get("changed") else "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._done(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._done(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._done(result, "unreachable")
