# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Private, content-addressed copies of user files for tsm.

tsm wants certificate and chain files as PEM with a ``.crt`` extension and keys
as ``.key``, and records only the file *name* in its configuration
(``ssl.cert.file_name`` ...). We therefore hand tsm a copy named
``tableau-tsm-<role>-<first 16 hex of sha256 of the exact bytes tsm gets>.<ext>``:
the applied configuration then tells, from ``tsm settings export`` alone,
which content is in use (``fingerprint_from_name``), so idempotency is by
content, not by path. Copies live in a private temp directory (0700, files
0600) that is removed when the context ends.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import typing as t

NAME_PREFIX = "tableau-tsm-"
HASH_LEN = 16
_NAME_RE = re.compile(r"^tableau-tsm-(?P<role>[a-z0-9][a-z0-9_-]*?)-(?P<hash>[0-9a-f]{16})\.[a-z0-9]+$", re.I)


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:HASH_LEN]


def content_name(role: str, data: bytes, ext: str = ".crt") -> str:
    if not ext.startswith("."):
        ext = "." + ext
    return "%s%s-%s%s" % (NAME_PREFIX, role, content_hash(data), ext)


def parse_name(name: t.Optional[str]) -> t.Optional[t.Tuple[str, str]]:
    """(role, hash) of a content-addressed name (a path is fine), or None."""
    if not name:
        return None
    match = _NAME_RE.match(os.path.basename(str(name).strip().replace("\\", "/")))
    if not match:
        return None
    return match.group("role").lower(), match.group("hash").lower()


def fingerprint_from_name(name: t.Optional[str], role: t.Optional[str] = None) -> t.Optional[str]:
    """The 16-hex content hash carried by a name we created, or None for any other name.

    With ``role``, names of another role do not count.
    """
    parsed = parse_name(name)
    if parsed is None or (role is not None and parsed[0] != role):
        return None
    return parsed[1]


class PrivateCopies:
    """Context manager holding private copies; ``add`` returns the path to give tsm."""

    def __init__(self, parent: t.Optional[str] = None) -> None:
        self.parent = parent
        self.path: t.Optional[str] = None

    def __enter__(self) -> "PrivateCopies":
        self.path = tempfile.mkdtemp(prefix="tableau-tsm-", dir=self.parent)
        os.chmod(self.path, 0o700)
        return self

    def add(self, role: str, data: bytes, ext: str = ".crt", name_data: t.Optional[bytes] = None) -> str:
        """Write ``data`` to a private file named after ``name_data`` (default: ``data``)."""
        if self.path is None:
            raise RuntimeError("PrivateCopies used outside of its context")
        target = os.path.join(self.path, content_name(role, data if name_data is None else name_data, ext))
        if os.path.exists(target):
            return target
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        os.chmod(target, 0o600)
        return target

    def cleanup(self) -> None:
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            self.path = None

    def __exit__(self, *exc_info: t.Any) -> None:
        self.cleanup()


# Options of tableau_certificate_files that a task sets: the module adds its hidden ``_contents`` (set by the
# action plugin), and the action plugin validates a task's arguments against exactly these.
CERTIFICATE_FILES_ARGUMENT_SPEC: t.Dict[str, t.Dict[str, t.Any]] = {
    "dest": {"type": "path", "required": True},
    "dest_mode": {"type": "raw", "default": "0700"},
    "files": {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": {
            "src": {"type": "path", "required": True},
            "name": {"type": "str", "required": True},
            "mode": {"type": "raw", "default": "0600"},
        },
    },
    "owner": {"type": "str"},
    "group": {"type": "str"},
    "remove_others": {"type": "bool", "default": False},
}
