"""Call log DIR/calls.jsonl: one JSON line per tsm invocation (CONTRACT.md)."""

import fcntl
import json
import os

NAME = "calls.jsonl"
KINDS = ("read", "write", "apply", "job", "auth", "usage")


def append(d, record):
    """Append one record (dict) with O_APPEND under an fcntl lock; file mode 0600."""
    path = os.path.join(d, NAME)
    line = (json.dumps(record, sort_keys=True) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line)
    finally:
        os.close(fd)


def read(d):
    path = os.path.join(d, NAME)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]
