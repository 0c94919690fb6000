# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""A small JSON record store on the initial node.

Some facts cannot be read back from Tableau Server, for example when this
collection last ran ``tsm security regenerate-internal-tokens``. Modules that
need such a fact keep it here:

    <data dir>/data/ansible_tableau_tsm/records.json

where ``<data dir>`` is the Tableau data directory (``/var/opt/tableau/tableau_server``
on a real server, derived from the tsm path by the runner). The directory is
created 0700 (an existing directory keeps its mode) and the file is 0600; writes are atomic (temp file in the same directory,
fsync, rename). The file holds no secrets.

Layout::

    {"format": 1, "records": {"<name>": {...}, ...}}

A file that cannot be read or parsed is an error (``RecordStoreError``), never
silently treated as empty: for ``regenerate-internal-tokens`` an empty store
means "run now", which restarts the server.
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile
import typing as t

from ansible_collections.tableau.tsm.plugins.module_utils._errors import TsmError

FORMAT = 1
DEFAULT_DATA_DIR = "/var/opt/tableau/tableau_server"
RECORD_SUBDIR = os.path.join("data", "ansible_tableau_tsm")
RECORD_FILE = "records.json"
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class RecordStoreError(TsmError):
    """The record store cannot be read or written."""


def default_record_path(data_dir: t.Optional[str]) -> str:
    """``<data_dir>/data/ansible_tableau_tsm/records.json`` (data_dir defaults to the Linux default)."""
    return os.path.join(data_dir or DEFAULT_DATA_DIR, RECORD_SUBDIR, RECORD_FILE)


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def format_timestamp(value: datetime.datetime) -> str:
    """UTC ISO 8601 with a Z, second precision: ``2026-03-01T12:00:00Z``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc).strftime(TIMESTAMP_FORMAT)


def parse_timestamp(value: t.Any) -> t.Optional[datetime.datetime]:
    """Aware UTC datetime from an ISO 8601 string (``Z`` or offset; naive means UTC); None if unusable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.astimezone(datetime.timezone.utc)


class RecordStore:
    """Read and update named records in one JSON file."""

    def __init__(self, path: str) -> None:
        if not path or not os.path.isabs(path):
            raise RecordStoreError("record_path must be an absolute path, got %r" % (path,))
        self.path = path

    def load(self) -> t.Dict[str, t.Any]:
        """All records ({} when the file does not exist yet)."""
        try:
            with open(self.path, "rb") as handle:
                raw = handle.read()
        except FileNotFoundError:
            return {}
        except (IOError, OSError) as exc:
            raise RecordStoreError("cannot read the record store %s: %s" % (self.path, exc.strerror or exc))
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise RecordStoreError(
                "the record store %s is not valid JSON; repair it or remove it (removing it makes the collection "
                "forget what it recorded, e.g. when it last regenerated the internal tokens)" % self.path
            )
        if not isinstance(data, dict) or not isinstance(data.get("records", {}), dict):
            raise RecordStoreError("the record store %s does not hold a JSON object with a 'records' object" % self.path)
        return dict(data.get("records") or {})

    def get(self, name: str) -> t.Optional[t.Dict[str, t.Any]]:
        record = self.load().get(name)
        return dict(record) if isinstance(record, dict) else None

    def put(self, name: str, record: t.Mapping[str, t.Any]) -> None:
        """Replace record ``name`` (read-modify-write; other records are kept)."""
        records = self.load()
        records[name] = dict(record)
        self._write({"format": FORMAT, "records": records})

    def _write(self, data: t.Mapping[str, t.Any]) -> None:
        directory = os.path.dirname(self.path)
        tmp: t.Optional[str] = None
        try:
            if not os.path.isdir(directory):
                # Only a directory created here is made 0700: an existing one (record_path may
                # point anywhere) keeps its mode.
                os.makedirs(directory, mode=0o700)
                os.chmod(directory, 0o700)
            fd, tmp = tempfile.mkstemp(prefix=".records-", suffix=".tmp", dir=directory)
            with os.fdopen(fd, "w") as handle:
                json.dump(data, handle, indent=2, sort_keys=True)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
            tmp = None
        except (IOError, OSError) as exc:
            raise RecordStoreError("cannot write the record store %s: %s" % (self.path, exc.strerror or exc))
        finally:
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)
