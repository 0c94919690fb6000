# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Parser for ``tsm pending-changes list`` output.

The exact text is not known from any public source (tsm-facts §2), so the parser
is tolerant and conservative: a "no pending changes" style message means empty;
``key: value`` lines are changes (secret-looking values masked); any other
content that is not a known header or progress line also counts as pending, so
that an unknown format leads at worst to one unnecessary apply, never to a
skipped one. Restart: documented behaviour is that changes not needing a restart
are listed as such and, when none needs one, a message says so.
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.tableau.tsm.plugins.module_utils._state_common import mask_value

_NONE_RE = re.compile(
    r"\bno\s+(pending\s+)?(configuration\s+|topology\s+)?changes\b"
    r"|\bthere\s+are\s+no\b.{0,40}\bchanges\b"
    r"|\bnothing\s+(is\s+)?pending\b"
    r"|\bno\s+changes\s+(are\s+)?pending\b",
    re.IGNORECASE,
)
_NO_RESTART_RE = re.compile(
    r"(do|does|will)\s*(not|n't)\s+require\s+(a\s+)?(server\s+)?restart|no\s+restart\s+(is\s+)?(required|needed)"
    r"|not\s+requiring\s+(a\s+)?restart|without\s+(a\s+)?restart",
    re.IGNORECASE,
)
_RESTART_RE = re.compile(
    r"(will\s+)?requires?\s+(a\s+)?(server\s+)?restart|restart\s+(is\s+)?(required|needed)"
    r"|will\s+(cause|trigger|perform)\s+(a\s+)?(server\s+)?restart",
    re.IGNORECASE,
)
_KV_RE = re.compile(r"^\s*(?:[-*]\s+)?(?P<key>[A-Za-z0-9_][A-Za-z0-9_.\-\[\]/]*)\s*[:=]\s*(?P<value>.*?)\s*$")
_NOTE_RE = re.compile(r"\s*\((?=[^)]*restart)[^)]*\)\s*$", re.IGNORECASE)
_HEADER_RE = re.compile(
    r"^\s*(pending\s+(configuration\s+|topology\s+)?changes?|configuration\s+changes?|topology\s+changes?"
    r"|changes?|keys?|\W*)\s*:?\s*$"
    r"|^\s*(job\s+id|timeout|running|done|ok)\b",
    re.IGNORECASE,
)


def parse_pending_list(text: t.Optional[str]) -> t.Dict[str, t.Any]:
    """{'pending': bool, 'changes': [{'key', 'value', 'restart'}], 'other': [lines], 'restart_required': bool}"""
    text = text or ""
    changes: t.List[t.Dict[str, t.Any]] = []
    other: t.List[str] = []
    none_message = bool(_NONE_RE.search(text))
    global_no_restart = False
    any_restart_line = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        line_no_restart = bool(_NO_RESTART_RE.search(line))
        line_restart = bool(_RESTART_RE.search(line)) and not line_no_restart
        match = _KV_RE.match(line)
        if match and match.group("value") and " " not in match.group("key"):
            key = match.group("key")
            value = _NOTE_RE.sub("", match.group("value")).strip()
            restart: t.Optional[bool] = None
            if line_no_restart:
                restart = False
            elif line_restart:
                restart = True
            changes.append({"key": key, "value": mask_value(key, value), "restart": restart})
            continue
        if line_no_restart:
            global_no_restart = True
            continue
        if line_restart:
            any_restart_line = True
            continue
        if _NONE_RE.search(line) or _HEADER_RE.match(line):
            continue
        other.append(mask_value("", line))
    pending = bool(changes or other) or (not none_message and any_restart_line)
    if none_message and not changes:
        pending = False
        other = []
    if not pending:
        restart_required = False
    elif any(c["restart"] for c in changes) or any_restart_line:
        restart_required = True
    elif changes and all(c["restart"] is False for c in changes):
        restart_required = False
    else:
        restart_required = not global_no_restart
    return {"pending": pending, "changes": changes, "other": other, "restart_required": restart_required}
