"""Mutable cluster state (DIR/state.json), see CONTRACT.md.

Readers use read(); writers use ``with locked(DIR) as st:`` which holds an fcntl lock on
DIR/state.lock and saves atomically (temp file + rename) when the block exits normally.
An exception inside the block leaves state.json untouched.
"""

import base64
import contextlib
import fcntl
import json
import os
import time
import uuid

from tsm_emulator import versions as _versions

STATE = "state.json"
LOCK = "state.lock"


def _path(d, name=STATE):
    return os.path.join(d, name)


def load_cluster(d):
    with open(_path(d, "cluster.json")) as f:
        return json.load(f)


def initial_state(d=None, server="RUNNING"):
    cluster = None
    if d is not None and os.path.exists(_path(d, "cluster.json")):
        cluster = load_cluster(d)
    gws = {}
    if cluster:
        for n in cluster.get("nodes", []):
            if "gateway" in n.get("services", ["gateway"]):
                gws[n["name"]] = "up" if server == "RUNNING" else "down"
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {
        "server": server,
        "applied": _versions.key_defaults(),
        "applied_files": {},
        "pending": [],
        "custom_cert": None,
        "gateway_status": gws,
        "repository_cert": {"generation": 1},
        "tokens": {"generation": 0, "last": None},
        "jobs": [],
        "cfs_generation": 0,
        "kms": {"rmk_id": str(uuid.uuid4()),
                "meks": [{"id": str(uuid.uuid4()), "status": "encrypt or decrypt key",
                          "created": now, "first_transition": now, "decrypt_only_transition": ""}]},
    }


def init(d, server="RUNNING", force=False):
    """Create DIR/state.json (and DIR/cfs) if missing; returns the state."""
    os.makedirs(os.path.join(d, "cfs"), exist_ok=True)
    with locked(d, create=True) as st:
        if st and not force:
            return dict(st)
        st.clear()
        st.update(initial_state(d, server))
        return dict(st)


def read(d):
    """Unlocked read (readers). Returns the state dict."""
    with open(_path(d)) as f:
        return json.load(f)


def _save(d, st):
    tmp = _path(d, STATE + ".tmp.%d" % os.getpid())
    with open(tmp, "w") as f:
        json.dump(st, f, indent=1, sort_keys=True)
        f.flush()
    os.replace(tmp, _path(d))


@contextlib.contextmanager
def locked(d, create=False):
    """Exclusive lock on the state; yields a mutable dict saved atomically on normal exit."""
    fd = os.open(_path(d, LOCK), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        p = _path(d)
        if os.path.exists(p):
            with open(p) as f:
                st = json.load(f)
        elif create:
            st = {}
        else:
            raise FileNotFoundError(p)
        before = json.dumps(st, sort_keys=True)
        yield st
        if json.dumps(st, sort_keys=True) != before:
            _save(d, st)
    finally:
        os.close(fd)


def requested(st):
    """Requested configuration: applied overlaid with every pending entry, in order."""
    out = dict(st.get("applied", {}))
    for p in st.get("pending", []):
        out.update(p.get("keys", {}))
    return out


def requested_files(st):
    out = dict(st.get("applied_files", {}))
    for p in st.get("pending", []):
        for k in p.get("keys", {}):
            out.pop(k, None)
        out.update(p.get("files", {}))
    return out


def enc(plain):
    """Emulated secret storage: ENC(<base64>) (not real encryption)."""
    if plain in (None, ""):
        return ""
    return "ENC(%s)" % base64.b64encode(plain.encode()).decode()


def dec(value):
    if not value:
        return ""
    if value.startswith("ENC(") and value.endswith(")"):
        try:
            return base64.b64decode(value[4:-1]).decode()
        except Exception:  # pragma: no cover - corrupted value
            return ""
    return value
