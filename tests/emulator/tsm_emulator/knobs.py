"""Latency and fault-injection knobs, DIR/knobs.json (CONTRACT.md).

Writers (the control CLI) should use set(); it writes atomically under DIR/knobs.lock, the same
lock the tsm CLI takes to consume counters.
"""

import contextlib
import fcntl
import json
import os

DEFAULTS = {"latency_ms": 5, "restart_ms": 200, "lock_held_calls": 0, "fail_writes": 0, "fail_reads": 0,
            "gateway_fail_next_apply": False, "controller_unreachable": False}


def _path(d):
    return os.path.join(d, "knobs.json")


def read(d):
    out = dict(DEFAULTS)
    try:
        with open(_path(d)) as f:
            out.update(json.load(f))
    except FileNotFoundError:
        pass
    return out


@contextlib.contextmanager
def _locked(d):
    fd = os.open(os.path.join(d, "knobs.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        k = read(d)
        before = dict(k)
        yield k
        if k != before:
            tmp = _path(d) + ".tmp.%d" % os.getpid()
            with open(tmp, "w") as f:
                json.dump(k, f, indent=1, sort_keys=True)
            os.replace(tmp, _path(d))
    finally:
        os.close(fd)


def set(d, **values):  # noqa: A001 - public API name
    with _locked(d) as k:
        for name, value in values.items():
            if name not in DEFAULTS:
                raise KeyError("unknown knob: %s" % name)
            k[name] = value
        return dict(k)


def consume(d, name):
    """Counter knob: if > 0, decrement and return True. Boolean knob: if true, reset and return True."""
    if not os.path.exists(_path(d)):
        return False
    with _locked(d) as k:
        v = k.get(name)
        if isinstance(v, bool):
            if v:
                k[name] = False
                return True
            return False
        if isinstance(v, int) and v > 0:
            k[name] = v - 1
            return True
        return False
