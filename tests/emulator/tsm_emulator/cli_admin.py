"""Handlers for pending-changes, configuration, settings, status, start/stop/restart,
regenerate-internal-tokens, login/logout, version and jobs."""

import json
import os
import sys
import time

from tsm_emulator import knobs, state, versions
from tsm_emulator.cli import Fail, Usage, authenticate, job, session_path, write_guard

MASK = "********"


# ---- server control helpers -----------------------------------------------------------

def require_controller(ctx):
    """Jobs need the daemon (it hosts the controller) unless TSM_EMULATOR_NO_DAEMON=1."""
    if ctx.no_daemon:
        return
    from tsm_emulator import daemon
    if not daemon.running(ctx.d):
        ctx.fail("controller_unreachable", url=ctx.cluster.get("controller", {}).get("url", "https://localhost:8850"))


def services(ctx, op, **extra):
    gw = ctx.gateway_nodes()
    if ctx.no_daemon:
        return {"ok": True, "gateways": {n: ("down" if op == "stop_services" else "up") for n in gw}}
    from tsm_emulator import daemon
    req = {"op": op}
    req.update(extra)
    try:
        res = daemon.request(ctx.d, req, timeout=ctx.request_timeout())
    except Exception as e:  # daemon gone, timeout...
        raise Fail(ctx.S("daemon_error", op=op, error=str(e)))
    return res if isinstance(res, dict) else {"ok": False}


def gateway_load_error(ctx, st):
    """What Apache would say when loading the applied certificate/key, or None."""
    K = ctx.K
    applied = st.get("applied", {})
    if applied.get(K["ssl_enabled"]) != "true":
        return None
    files = st.get("applied_files", {})
    cert, key, chain = (files.get(K["ssl_cert_file_name"]), files.get(K["ssl_key_file_name"]),
                        files.get(K["ssl_chain_file_name"]))
    for f in (cert, key):
        if not f or not os.path.isfile(f):
            return ctx.S("gateway_file_missing", path=f or "")
    import ssl
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    c.set_ciphers("DEFAULT:@SECLEVEL=%d" % (2 if ctx.min_key_bits() >= 2048 else 1))
    pw = state.dec(applied.get(K["ssl_key_passphrase"], ""))
    try:
        c.load_cert_chain(cert, key, password=lambda: pw)
        if chain:
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=chain)
    except (ssl.SSLError, OSError, ValueError) as e:
        return ctx.S("gateway_load_failed", error=str(e))
    return None


def bring_up(ctx, ops, fail_knob=False):
    """Check the gateway can load its certificate, ask the daemon to (re)start; update state."""
    st = state.read(ctx.d)
    gw = ctx.gateway_nodes()
    reason = None
    if fail_knob and knobs.consume(ctx.d, "gateway_fail_next_apply"):
        reason = ctx.S("gateway_knob_reason")
    if reason is None:
        reason = gateway_load_error(ctx, st)
    if reason:
        with state.locked(ctx.d) as s:
            s["gateway_status"] = {n: "error: " + reason for n in gw}
            s["server"] = "DEGRADED"
    res = {}
    for op in ops:
        # the daemon keeps the gateways down in error when Apache could not load the files
        res = services(ctx, op, **({"fail_gateway": True} if reason and op != "stop_services" else {}))
    gws = dict(res.get("gateways") or {n: "up" for n in gw})
    if reason:
        gws = {n: "error: " + reason for n in gw}
    ok = bool(res.get("ok", True)) and not reason and all(v == "up" for v in gws.values())
    with state.locked(ctx.d) as s:
        s["gateway_status"] = gws
        s["server"] = "RUNNING" if ok else "DEGRADED"
    if not ok and not reason:
        bad = [v for v in gws.values() if v != "up"]
        reason = bad[0] if bad else ctx.S("gateway_unknown_failure")
    return ok, reason, [n for n, v in gws.items() if v != "up"]


def stop_services(ctx):
    services(ctx, "stop_services")
    with state.locked(ctx.d) as s:
        s["server"] = "STOPPED"
        s["gateway_status"] = {n: "down" for n in ctx.gateway_nodes()}


def restart_sleep(ctx, since=None):
    """Wait out the modeled restart (knob restart_ms). With ``since`` (a time.monotonic() taken before the
    emulator's own restart work: gateways, PostgreSQL), that work counts as part of the restart and only
    the remainder is slept, so a restart lasts restart_ms (or the work, when longer) as on a real server,
    where that work runs on the cluster's machines during the restart."""
    ms = ctx.knobs.get("restart_ms") or 0
    if ms:
        left = ms / 1000.0 - (time.monotonic() - since if since is not None else 0.0)
        if left > 0:
            time.sleep(left)


# ---- pending-changes ------------------------------------------------------------------

def _show_value(key, value):
    if key in versions.secret_keys() and value:
        return MASK
    return value


def pending_list(ctx):
    st = state.read(ctx.d)
    pending = st.get("pending", [])
    if ctx.opts.get("topology-only"):
        ctx.out(ctx.S("pending_none_topology"))
        return 0
    if not pending:
        ctx.out(ctx.S("pending_none"))
        return 0
    merged, restart_of = {}, {}
    for p in pending:
        for k, v in p.get("keys", {}).items():
            merged[k] = v
            restart_of[k] = restart_of.get(k, False) or bool(p.get("restart"))
    ctx.out(ctx.S("pending_header"))
    for k, v in merged.items():
        ctx.out(ctx.S("pending_line" if restart_of[k] else "pending_line_no_restart", key=k,
                      value=_show_value(k, v)))
    ctx.out(ctx.S("pending_restart" if any(restart_of.values()) else "pending_no_restart"))
    return 0


def _prompt(ctx):
    sys.stdout.write(ctx.S("apply_prompt"))
    sys.stdout.flush()
    line = sys.stdin.readline()
    sys.stdout.write("\n")
    return line.strip().lower() in ("y", "yes")


def pending_apply(ctx):
    st = state.read(ctx.d)
    if not st.get("pending"):
        ctx.out(ctx.S("apply_none"))
        return 0
    require_controller(ctx)
    needs_restart = any(p.get("restart") for p in st["pending"])
    if needs_restart and not ctx.opts.get("ignore-prompt"):
        if not _prompt(ctx):
            ctx.fail("apply_aborted")
    with job(ctx, "ApplyPendingChangesJob") as js:
        K = ctx.K
        with state.locked(ctx.d) as s:
            pending = s.get("pending", [])
            running = s.get("server") != "STOPPED"
            restart = running and any(p.get("restart") for p in pending)
            applied = s.setdefault("applied", {})
            files = s.setdefault("applied_files", {})
            for p in pending:
                applied.update(p.get("keys", {}))
                for k in p.get("keys", {}):
                    files.pop(k, None)
                files.update(p.get("files", {}))
                ck = K["custom_ca_file_name"]
                if ck in p.get("keys", {}):
                    v = p["keys"][ck]
                    s["custom_cert"] = {"file": p["files"].get(ck), "name": v, "meta": p.get("meta")} if v else None
            s["pending"] = []
        t0 = time.monotonic()
        if restart:
            ctx.out(ctx.S("apply_restarting"))
            ctx.restarted = True
        if running:
            ok, reason, bad = bring_up(ctx, ["reload"], fail_knob=True)
        if restart:
            restart_sleep(ctx, since=t0)
        if running:
            if not ok:
                js["status"] = "Failed"
                ctx.fail("gateway_failed", nodes=", ".join(bad), reason=reason)
        else:
            ctx.out(ctx.S("apply_stopped"))
    ctx.out(ctx.S("apply_done"))
    return 0


def pending_discard(ctx):
    write_guard(ctx)
    if ctx.opts.get("topology-only"):
        ctx.out(ctx.S("pending_none_topology"))
        return 0
    with state.locked(ctx.d) as s:
        n = len(s.get("pending", []))
        s["pending"] = []
    ctx.out(ctx.S("pending_discarded", count=n) if n else ctx.S("pending_none"))
    return 0


# ---- configuration --------------------------------------------------------------------

def config_get(ctx):
    key = ctx.opts["key"]
    applied = state.read(ctx.d).get("applied", {})
    if key not in applied:
        ctx.fail("config_unknown_key", key=key)
    ctx.out(applied[key])
    return 0


def config_set(ctx):
    write_guard(ctx)
    key = ctx.opts["key"]
    o = ctx.opts
    if o.get("default") and "value" in o:
        ctx.fail("config_value_and_default")
    if not o.get("default") and "value" not in o:
        raise Usage(("missing_option", {"option": "--value"}), None, ctx.path)
    defaults = versions.key_defaults()
    req = state.requested(state.read(ctx.d))
    if key not in req and key not in defaults and not o.get("force-keys"):
        ctx.fail("config_unknown_key_set", key=key)
    value = defaults.get(key, "") if o.get("default") else o["value"]
    if key in versions.secret_keys() and not value.startswith("ENC("):
        value = state.enc(value)
    restart = key not in versions.dynamic_keys()
    with state.locked(ctx.d) as s:
        s.setdefault("pending", []).append({"family": "configuration", "command": "configuration set",
                                            "keys": {key: value}, "files": {}, "restart": restart,
                                            "at": time.time()})
    ctx.out(ctx.S("staged"))
    ctx.out(ctx.S("staged_restart" if restart else "staged_no_restart"))
    return 0


# ---- settings -------------------------------------------------------------------------

def export_document(ctx, st):
    K = ctx.K
    req = state.requested(st)
    init = ctx.initial()
    ssl_on = req.get(K["ssl_enabled"]) == "true"
    code = ctx.cluster.get("code") or ctx.prof.get("code")
    nodes = {}
    for n in ctx.cluster["nodes"]:
        nodes[n["name"]] = {"address": n.get("hostname", n["name"]),
                            "services": {svc: {"instances": [{"instanceId": "0", "binaryVersion": code}]}
                                         for svc in n.get("services", [])}}
    return {
        "configKeys": dict(sorted(req.items())),
        "configEntities": {
            "gatewaySettings": {"_type": "gatewaySettingsType",
                                "port": int(init.get("gateway", {}).get("http_port", 80)),
                                "sslRedirectEnabled": True,
                                "publicHost": req.get("gateway.public.host") or init.get("hostname", init["name"]),
                                "publicPort": int(req.get("gateway.public.port") or
                                                  (init.get("gateway", {}).get("https_port", 443) if ssl_on
                                                   else init.get("gateway", {}).get("http_port", 80)))},
            "identityStore": {"_type": "identityStoreType", "type": req.get("wgserver.authenticate", "local")},
        },
        "topologyVersion": {"nodes": nodes},
    }


def settings_export(ctx):
    path = ctx.opts["output-config-file"]
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent) or os.path.isdir(path):
        ctx.fail("settings_bad_target", path=path)
    doc = export_document(ctx, state.read(ctx.d))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    ctx.out(ctx.S("settings_exported", path=path))
    return 0


def settings_import(ctx):
    write_guard(ctx)
    path = ctx.opts["import-config-file"]
    if not os.path.isfile(path):
        ctx.fail("cert_file_missing", path=path, what=ctx.S("what_settings"))
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        ctx.fail("settings_bad_json", path=path, error=str(e))
    if not isinstance(doc, dict):
        ctx.fail("settings_bad_json", path=path, error="not a JSON object")
    if ctx.opts.get("topology-only"):
        ctx.out(ctx.S("settings_import_nothing"))
        return 0
    ents = doc.get("configEntities", {})
    if not isinstance(ents, dict) or any(not isinstance(v, dict) or "_type" not in v for v in ents.values()):
        ctx.fail("settings_bad_entity", path=path)
    ck = doc.get("configKeys", {})
    if not isinstance(ck, dict):
        ctx.fail("settings_bad_json", path=path, error="configKeys is not an object")
    st = state.read(ctx.d)
    req = state.requested(st)
    defaults = versions.key_defaults()
    unknown = sorted(k for k in ck if k not in req and k not in defaults)
    if unknown and not ctx.opts.get("force-keys"):
        ctx.fail("settings_unknown_keys", keys=", ".join(unknown))
    secrets = versions.secret_keys()
    changes = {}
    for k, v in ck.items():
        if isinstance(v, bool):
            v = "true" if v else "false"
        elif v is None:
            v = ""
        elif not isinstance(v, str):
            v = json.dumps(v) if isinstance(v, (list, dict)) else str(v)
        if k in secrets and v and not v.startswith("ENC("):
            v = state.enc(v)
        if req.get(k) != v:
            changes[k] = v
    if not changes:
        ctx.out(ctx.S("settings_import_nothing"))
        return 0
    restart = any(k not in versions.dynamic_keys() for k in changes)
    with state.locked(ctx.d) as s:
        s.setdefault("pending", []).append({"family": "configuration", "command": "settings import",
                                            "keys": changes, "files": {}, "restart": restart,
                                            "at": time.time()})
    ctx.out(ctx.S("settings_imported", count=len(changes)))
    ctx.out(ctx.S("staged_restart" if restart else "staged_no_restart"))
    return 0


# ---- status / jobs / version ------------------------------------------------------------

def _gw_label(ctx, v):
    if v == "up":
        return ctx.S("process_running")
    if v == "down":
        return ctx.S("process_stopped")
    return ctx.S("process_error", reason=v[len("error: "):] if v.startswith("error: ") else v)


def status(ctx):
    st = state.read(ctx.d)
    server = st.get("server", "RUNNING")
    ctx.out(ctx.S("status", status=server))
    if not ctx.opts.get("verbose"):
        return 0
    names = ctx.prof["process_names"]
    for n in ctx.cluster["nodes"]:
        ctx.out(ctx.S("status_node", node=n["name"], host=n.get("hostname", n["name"])))
        for svc in n.get("services", []):
            if svc == "gateway":
                label = _gw_label(ctx, st.get("gateway_status", {}).get(n["name"], "down"))
            elif svc == "controller":
                label = ctx.S("process_running")
            else:
                label = ctx.S("process_stopped" if server == "STOPPED" else "process_running")
            ctx.out(ctx.S("status_process", process=names.get(svc, svc), status=label))
    return 0


def _ts(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)) if t else ""


def jobs_list(ctx):
    jobs = state.read(ctx.d).get("jobs", [])
    if not jobs:
        ctx.out(ctx.S("jobs_none"))
        return 0
    for j in jobs:
        ctx.out(ctx.S("job_entry", id=j["id"], type=j["type"], status=j["status"], created=_ts(j.get("created")),
                      completed=_ts(j.get("completed")), node=j.get("node", "")))
    return 0


def version(ctx):
    ctx.out(ctx.S("version", version=ctx.prof["version"], code=ctx.cluster.get("code") or ctx.prof["code"]))
    return 0


# ---- server jobs ----------------------------------------------------------------------

def stop(ctx):
    require_controller(ctx)
    with job(ctx, "StopServerJob"):
        stop_services(ctx)
        restart_sleep(ctx)
    ctx.out(ctx.S("stopped"))
    return 0


def _start(ctx, js):
    t0 = time.monotonic()
    ok, reason, bad = bring_up(ctx, ["start_services"])
    restart_sleep(ctx, since=t0)
    if not ok:
        js["status"] = "Failed"
        ctx.fail("gateway_failed", nodes=", ".join(bad), reason=reason)


def start(ctx):
    require_controller(ctx)
    with job(ctx, "StartServerJob") as js:
        _start(ctx, js)
    ctx.out(ctx.S("started"))
    return 0


def restart(ctx):
    require_controller(ctx)
    with job(ctx, "RestartServerJob") as js:
        stop_services(ctx)
        ctx.restarted = True
        _start(ctx, js)
    ctx.out(ctx.S("restarted"))
    return 0


def regenerate_tokens(ctx):
    require_controller(ctx)
    with job(ctx, "RegenerateInternalTokensJob") as js:
        stop_services(ctx)
        ctx.restarted = True
        with state.locked(ctx.d) as s:
            t = s.setdefault("tokens", {"generation": 0, "last": None})
            t["generation"] = t.get("generation", 0) + 1
            t["last"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            rc = s.setdefault("repository_cert", {"generation": 1})
            rc["generation"] = rc.get("generation", 1) + 1
        if ctx.no_daemon:
            from tsm_emulator import certs
            certs.ensure_repository_cert(ctx.d)
        t0 = time.monotonic()
        ok, reason, bad = bring_up(ctx, ["start_services", "reload"])
        restart_sleep(ctx, since=t0)
        if not ok:
            js["status"] = "Failed"
            ctx.fail("gateway_failed", nodes=", ".join(bad), reason=reason)
    ctx.out(ctx.S("tokens_regenerated"))
    return 0


# ---- login / logout -------------------------------------------------------------------

def login(ctx):
    if "username" not in ctx.g:
        raise Usage(("missing_option", {"option": "--username"}), None, ctx.path)
    sess = authenticate(ctx, for_login=True)
    path = session_path(ctx)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    now = time.time()
    doc = {"server": sess["server"], "username": sess["username"], "trusted": bool(sess.get("trusted")),
           "created": now, "expires": now + 7200, "cookie": os.urandom(16).hex()}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f)
    ctx.out(ctx.S("login_ok", user=sess["username"], server=sess["server"]))
    return 0


def logout(ctx):
    path = session_path(ctx)
    if os.path.exists(path):
        os.unlink(path)
        ctx.out(ctx.S("logout_ok"))
    else:
        ctx.out(ctx.S("logout_none"))
    return 0
