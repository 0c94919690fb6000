"""Version profiles and configuration key names, loaded from data/*.json.

data/default.json  shared defaults: output strings/templates, command availability, limits
data/<version>.json per-version overrides (version, code, strings, min_key_bits, ...)
data/keys.json     configuration key names, defaults, secret and dynamic keys
"""

import json
import os

from tsm_emulator import DATA_DIR

DEFAULT_VERSION = "2024.2"
_cache = {}


def _load(name):
    if name not in _cache:
        with open(os.path.join(DATA_DIR, name)) as f:
            _cache[name] = json.load(f)
    return _cache[name]


def parse(version):
    return tuple(int(x) for x in str(version).split("."))


def available():
    out = []
    for fn in os.listdir(DATA_DIR):
        stem = fn[:-5]
        if fn.endswith(".json") and stem[:1].isdigit():
            out.append(stem)
    return sorted(out, key=parse)


def profile(version=None):
    version = version or DEFAULT_VERSION
    key = ("profile", version)
    if key in _cache:
        return _cache[key]
    base = _load("default.json")
    try:
        over = _load("%s.json" % version)
    except FileNotFoundError:
        raise ValueError("unknown Tableau Server version %r (known: %s)" % (version, ", ".join(available())))
    prof = {}
    for k, v in base.items():
        prof[k] = dict(v) if isinstance(v, dict) else v
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(prof.get(k), dict):
            prof[k].update(v)
        else:
            prof[k] = v
    prof["version"] = version
    _cache[key] = prof
    return prof


def code(version=None):
    return profile(version)["code"]


def at_least(prof, version):
    return parse(prof["version"]) >= parse(version)


def command_available(prof, path):
    """path: tuple of words, e.g. ("security", "kms", "set-mode", "azure")."""
    table = prof.get("commands", {})
    for i in range(1, len(path) + 1):
        rule = table.get(" ".join(path[:i]))
        if not rule:
            continue
        if "since" in rule and parse(prof["version"]) < parse(rule["since"]):
            return False
        if "until" in rule and parse(prof["version"]) > parse(rule["until"]):
            return False
    return True


# ---- configuration keys -------------------------------------------------------------

def _keys():
    return _load("keys.json")


def key_names():
    """logical name -> configuration key name."""
    return {k: v["name"] for k, v in _keys()["keys"].items()}


def key_defaults():
    out = {v["name"]: v["default"] for v in _keys()["keys"].values()}
    out.update(_keys().get("other_keys", {}))
    return out


def secret_keys():
    names = key_names()
    return {names[k] for k in _keys()["secret"]}


def dynamic_keys():
    return set(_keys().get("dynamic", []))


def restart_families():
    return _keys().get("restart", {})
