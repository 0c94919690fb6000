"""The emulated ``tsm`` command line: parsing, authentication, guards, dispatch, call log.

Handlers live in cli_security.py (tsm security, tsm authentication) and cli_admin.py (everything
else); they are imported lazily so that read commands stay fast. All user-visible text comes
from the version profile (data/default.json + data/<version>.json) through Ctx.S().
"""

import contextlib
import fcntl
import hashlib
import importlib
import json
import os
import re
import sys
import time

from tsm_emulator import calllog, knobs, state, versions

DEFAULT_PASSWORD_SHA256 = hashlib.sha256(b"tsmadmin-password").hexdigest()
DEFAULT_ACCOUNTS = {"tsmadmin": DEFAULT_PASSWORD_SHA256}
SESSION_LIFETIME = 2 * 3600


class Usage(Exception):
    def __init__(self, message, node=None, path=()):
        super().__init__(message)
        self.message = message
        self.node = node
        self.path = tuple(path)


class Fail(Exception):
    """A command failure: message on stderr, exit code rc."""

    def __init__(self, message, rc=1):
        super().__init__(message)
        self.message = message
        self.rc = rc


# ---- command tree ---------------------------------------------------------------------

def Opt(long, short=None, value=True, required=False, meta="value", help=""):
    return {"long": long, "short": short, "value": value, "required": required, "meta": meta, "help": help}


GLOBAL_OPTIONS = [
    Opt("--username", "-u", meta="user", help="TSM administrator account name"),
    Opt("--password", "-p", meta="password", help="password (read from stdin when -u is given without -p)"),
    Opt("--server", "-s", meta="https://<name>:<port>", help="Administration Controller URL"),
    Opt("--trust-admin-controller-cert", value=False, help="trust the controller's self-signed certificate"),
    Opt("--help", "-h", value=False, help="show help"),
    Opt("--request-timeout", meta="seconds", help="seconds to wait for the command to finish (default 1800)"),
]


def L(handler, kind, options=(), help="", auth=True):
    return {"handler": handler, "kind": kind, "options": list(options), "help": help, "auth": auth}


def G(help="", **children):
    return {"children": {k.replace("_", "-"): v for k, v in children.items()}, "help": help}


def _maestro(svc):
    return G(
        "Prep flow connections to %s" % ("Rserve" if svc == "rserve" else "TabPy"),
        enable=L("cli_security:maestro_enable", "write", [
            Opt("--connection-type", required=True, meta="maestro-%s|maestro-%s-secure" % (svc, svc)),
            Opt("--%s-host" % svc, required=True, meta="host"),
            Opt("--%s-port" % svc, required=True, meta="port"),
            Opt("--%s-username" % svc, meta="user"),
            Opt("--%s-password" % svc, meta="password"),
            Opt("--%s-connect-timeout-ms" % svc, meta="ms"),
            Opt("--certificate-file", "-cf", meta="file"),
        ], "Enable the connection"),
        disable=L("cli_security:maestro_disable", "write", help="Disable the connection"),
    )


TREE = G(
    "Tableau Services Manager",
    security=G(
        "Security configuration",
        custom_cert=G(
            "Custom CA certificate",
            add=L("cli_security:custom_cert_add", "write", [Opt("--cert-file", "-c", required=True, meta="file")],
                  "Add a custom certificate (PEM or DER)"),
            delete=L("cli_security:custom_cert_delete", "write", help="Delete the custom certificate"),
            list=L("cli_security:custom_cert_list", "read", help="List details of the custom certificate"),
        ),
        external_ssl=G(
            "Gateway (external) SSL",
            enable=L("cli_security:external_ssl_enable", "write", [
                Opt("--cert-file", required=True, meta="file.crt"),
                Opt("--key-file", required=True, meta="file.key"),
                Opt("--chain-file", meta="chainfile.crt"),
                Opt("--passphrase", meta="passphrase"),
                Opt("--protocols", meta="list"),
            ], "Enable and configure external SSL"),
            disable=L("cli_security:external_ssl_disable", "write", help="Disable external SSL"),
            list=L("cli_security:external_ssl_list", "read", help="List the external SSL settings"),
        ),
        kms=G(
            "Key management system",
            set_mode=G(
                "Set the KMS mode",
                aws=L("cli_security:kms_aws", "write", [Opt("--key-arn", required=True, meta="arn"),
                                                        Opt("--aws-region", required=True, meta="region")],
                      "Use AWS KMS"),
                azure=L("cli_security:kms_azure", "write", [Opt("--key-name", required=True, meta="name"),
                                                            Opt("--vault-name", required=True, meta="name")],
                        "Use Azure Key Vault"),
                local=L("cli_security:kms_local", "write", help="Use the local KMS (default)"),
            ),
            status=L("cli_security:kms_status", "read", help="Show the KMS status"),
        ),
        maestro_rserve_ssl=_maestro("rserve"),
        maestro_tabpy_ssl=_maestro("tabpy"),
        regenerate_internal_tokens=L("cli_admin:regenerate_tokens", "job",
                                     help="Regenerate internal tokens, certificates and passwords"),
        repository_ssl=G(
            "Repository (PostgreSQL) SSL",
            enable=L("cli_security:repository_ssl_enable", "write",
                     [Opt("--internal-only", "-i", value=False)], "Enable repository SSL"),
            disable=L("cli_security:repository_ssl_disable", "write", help="Disable repository SSL"),
            get_certificate_file=L("cli_security:repository_ssl_get_cert", "read",
                                   [Opt("--file", "-f", required=True, meta="path")],
                                   "Write the repository server certificate to a file"),
            list=L("cli_security:repository_ssl_list", "read", help="List the repository SSL settings"),
        ),
    ),
    authentication=G(
        "Authentication",
        mutual_ssl=G(
            "Mutual (client certificate) SSL",
            configure=L("cli_security:mutual_configure", "write", [
                Opt("--ca-cert", "-cf", meta="certificate-file.crt"),
                Opt("--fallback-to-basic", "-fb", meta="true|false"),
                Opt("--user-name-mapping", "-m", meta="upn|ldap|cn"),
                Opt("--revocation-file", "-rf", meta="revoke-file.pem"),
            ], "Configure mutual SSL"),
            enable=L("cli_security:mutual_enable", "write", help="Enable mutual SSL"),
            disable=L("cli_security:mutual_disable", "write", help="Disable mutual SSL"),
        ),
        list=L("cli_security:authentication_list", "read", [Opt("--verbose", "-v", value=False)],
               "List the authentication settings"),
    ),
    pending_changes=G(
        "Pending configuration changes",
        list=L("cli_admin:pending_list", "read", [Opt("--config-only", value=False),
                                                  Opt("--topology-only", value=False)], "List pending changes"),
        apply=L("cli_admin:pending_apply", "apply", [Opt("--ignore-warnings", "-iw", value=False),
                                                     Opt("--ignore-prompt", value=False)], "Apply pending changes"),
        discard=L("cli_admin:pending_discard", "write", [Opt("--config-only", value=False),
                                                         Opt("--topology-only", value=False)],
                  "Discard pending changes"),
    ),
    configuration=G(
        "Configuration keys",
        get=L("cli_admin:config_get", "read", [Opt("--key", "-k", required=True, meta="key")],
              "Show the applied value of a key"),
        set=L("cli_admin:config_set", "write", [Opt("--key", "-k", required=True, meta="key"),
                                                Opt("--value", "-v", meta="value"),
                                                Opt("--default", "-d", value=False),
                                                Opt("--force-keys", "-frc", value=False)], "Set a key"),
    ),
    settings=G(
        "Settings files",
        export=L("cli_admin:settings_export", "read",
                 [Opt("--output-config-file", "-f", required=True, meta="file")], "Export the configuration"),
        import_=L("cli_admin:settings_import", "write", [
            Opt("--import-config-file", "-f", required=True, meta="file"),
            Opt("--config-only", value=False), Opt("--topology-only", value=False),
            Opt("--force-keys", "-frc", value=False)], "Import a configuration file"),
    ),
    status=L("cli_admin:status", "read", [Opt("--verbose", "-v", value=False)], "Show the server status"),
    start=L("cli_admin:start", "job", help="Start the server"),
    stop=L("cli_admin:stop", "job", help="Stop the server"),
    restart=L("cli_admin:restart", "job", help="Restart the server"),
    login=L("cli_admin:login", "auth", help="Log in to the Administration Controller", auth=False),
    logout=L("cli_admin:logout", "auth", help="Log out", auth=False),
    version=L("cli_admin:version", "read", help="Show the version", auth=False),
    jobs=G("Asynchronous jobs", list=L("cli_admin:jobs_list", "read", help="List jobs")),
)
# "import" is a Python keyword: G() got import_
TREE["children"]["settings"]["children"]["import"] = TREE["children"]["settings"]["children"].pop("import-")

_GLOBAL_BY_FLAG = {}
for _o in GLOBAL_OPTIONS:
    _GLOBAL_BY_FLAG[_o["long"]] = _o
    if _o["short"]:
        _GLOBAL_BY_FLAG[_o["short"]] = _o


def okey(opt):
    return opt["long"].lstrip("-")


def parse(argv, prof):
    """Return (path, node, options, globals). Raises Usage."""
    g, opts, path = {}, {}, []
    node, leaf = TREE, None
    i = 0
    while i < len(argv):
        a = argv[i]
        i += 1
        if a.startswith("-") and len(a) > 1:
            name, has_eq, inline = a.partition("=") if a.startswith("--") else (a, "", "")
            spec = _GLOBAL_BY_FLAG.get(name)
            target = g
            if spec is None and leaf is not None:
                spec = next((o for o in leaf["options"] if name in (o["long"], o["short"])), None)
                target = opts
            if spec is None:
                raise Usage(("unknown_option", {"option": name}), node, path)
            if spec["value"]:
                if has_eq:
                    val = inline
                elif i < len(argv):
                    val = argv[i]
                    i += 1
                else:
                    raise Usage(("missing_value", {"option": name}), node, path)
                target[okey(spec)] = val
            else:
                if has_eq:
                    raise Usage(("no_value_expected", {"option": name}), node, path)
                target[okey(spec)] = True
            continue
        if leaf is not None:
            raise Usage(("unexpected_argument", {"argument": a}), node, path)
        child = node.get("children", {}).get(a)
        if child is None or not versions.command_available(prof, tuple(path + [a])):
            raise Usage(("unknown_command", {"command": " ".join(path + [a])}), node, path)
        path.append(a)
        node = child
        if "handler" in child:
            leaf = child
    if g.get("help"):
        return path, node, opts, g
    if leaf is None:
        raise Usage(("missing_command", {"command": " ".join(["tsm"] + path)}), node, path)
    for o in leaf["options"]:
        if o["required"] and okey(o) not in opts:
            raise Usage(("missing_option", {"option": o["long"]}), node, path)
    return path, node, opts, g


def usage_text(prof, node, path):
    def S(k, **kw):
        return fmt(prof["strings"][k], kw)

    lines = []
    cmd = " ".join(["tsm"] + list(path))
    if "handler" in node:
        lines.append(S("usage_leaf", command=cmd))
        if node.get("help"):
            lines.append("  " + node["help"])
        if node["options"]:
            lines.append(S("usage_options"))
            for o in node["options"]:
                flags = ", ".join(x for x in (o["short"], o["long"]) if x)
                if o["value"]:
                    flags += " <%s>" % o["meta"]
                lines.append(("  %-48s %s" % (flags, S("usage_required") if o["required"] else "")).rstrip())
    else:
        lines.append(S("usage_group", command=cmd))
        lines.append(S("usage_commands"))
        for name, child in node["children"].items():
            if versions.command_available(prof, tuple(list(path) + [name])):
                lines.append("  %-32s %s" % (name, child.get("help", "")))
    lines.append(S("usage_global"))
    for o in GLOBAL_OPTIONS:
        flags = ", ".join(x for x in (o["short"], o["long"]) if x)
        if o["value"]:
            flags += " <%s>" % o["meta"]
        lines.append("  %-48s %s" % (flags, o["help"]))
    return "\n".join(lines)


_FIELD = re.compile(r"\{([A-Za-z0-9_.]+)\}")


def fmt(template, values):
    if isinstance(template, list):
        template = "\n".join(template)
    return _FIELD.sub(lambda m: str(values.get(m.group(1), m.group(0))), template)


# ---- context --------------------------------------------------------------------------

def current_user():
    try:
        import pwd
        return pwd.getpwuid(os.geteuid()).pw_name
    except Exception:  # pragma: no cover
        import getpass
        return getpass.getuser()


class Ctx:
    def __init__(self, d, node_name, cluster, prof):
        self.d = d
        self.node_name = node_name
        self.cluster = cluster
        self.prof = prof
        self.user = current_user()
        self.path = ()
        self.opts = {}
        self.g = {}
        self.kind = "usage"
        self.restarted = False
        self._knobs = None
        self.no_daemon = os.environ.get("TSM_EMULATOR_NO_DAEMON") == "1"

    # text
    def S(self, _key, **kw):
        return fmt(self.prof["strings"][_key], kw)

    def out(self, text=""):
        sys.stdout.write(text + "\n")

    def err(self, text):
        sys.stderr.write(text + "\n")

    def fail(self, _key, **kw):
        raise Fail(self.S(_key, **kw))

    # cluster helpers
    @property
    def K(self):
        return versions.key_names()

    @property
    def knobs(self):
        if self._knobs is None:
            self._knobs = knobs.read(self.d)
        return self._knobs

    def node(self, name=None):
        name = name or self.node_name
        return next(n for n in self.cluster["nodes"] if n["name"] == name)

    def initial(self):
        return self.node(self.cluster.get("initial_node") or self.cluster["nodes"][0]["name"])

    def is_initial(self):
        return self.node_name == self.initial()["name"]

    def gateway_nodes(self):
        return [n["name"] for n in self.cluster["nodes"] if "gateway" in n.get("services", ["gateway"])]

    def request_timeout(self):
        return int(self.g.get("request-timeout") or 1800)

    def min_key_bits(self):
        return int(self.prof.get("min_key_bits") or 0)


# ---- authentication -------------------------------------------------------------------

def session_path(ctx):
    return os.path.join(ctx.d, ctx.node_name, "home", ctx.user, ".tableau", "tsm", "session.json")


def read_session(ctx):
    try:
        with open(session_path(ctx)) as f:
            s = json.load(f)
    except (OSError, ValueError):
        return None
    if s.get("expires", 0) < time.time():
        return None
    return s


def controller_names(ctx):
    init = ctx.node(ctx.cluster.get("controller", {}).get("node") or ctx.initial()["name"])
    names = {init["name"].lower(), init.get("hostname", "").lower()}
    if ctx.is_initial():
        names.add("localhost")
    return names


def controller_port(ctx):
    return int(ctx.cluster.get("controller", {}).get("port", 8850))


def check_server(ctx, url):
    """Validate a -s URL; return the normalised https://host:port."""
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://([^/:]+)(?::([0-9]+))?/?$", url or "")
    if not m:
        ctx.fail("server_bad_url", url=url)
    scheme, host, port = m.group(1).lower(), m.group(2), m.group(3)
    if scheme != "https":
        ctx.fail("server_not_https", url=url)
    if not port:
        ctx.fail("server_no_port", url=url, port=controller_port(ctx))
    if re.match(r"^[0-9.]+$", host) or ":" in host:
        ctx.fail("server_ip", url=url)
    all_names = set()
    for n in ctx.cluster["nodes"]:
        all_names.update({n["name"].lower(), n.get("hostname", "").lower()})
    if ctx.is_initial():
        all_names.add("localhost")
    if host.lower() not in all_names:
        ctx.fail("server_unknown_host", host=host, url=url)
    if int(port) != controller_port(ctx) or host.lower() not in controller_names(ctx):
        ctx.fail("server_refused", url=url)
    return "https://%s:%s" % (host.lower(), port)


def check_password(ctx, username, password):
    accounts = ctx.cluster.get("accounts") or DEFAULT_ACCOUNTS
    want = accounts.get(username)
    if want is None or hashlib.sha256((password or "").encode()).hexdigest() != want:
        ctx.fail("auth_failed", user=username)


def read_password(ctx):
    if "password" in ctx.g:
        return ctx.g["password"]
    sys.stderr.write(ctx.S("password_prompt"))
    sys.stderr.flush()
    line = sys.stdin.readline()
    if not line:
        ctx.fail("password_eof")
    return line.rstrip("\r\n")


def authenticate(ctx, for_login=False):
    """Authenticate the call as a real tsm client would; raise Fail on any problem."""
    if ctx.knobs.get("controller_unreachable"):
        url = ctx.g.get("server") or "https://localhost:%d" % controller_port(ctx)
        ctx.fail("controller_unreachable", url=url)
    if "password" in ctx.g and "username" not in ctx.g:
        ctx.fail("password_without_user")
    server = ctx.g.get("server")
    session = read_session(ctx)
    if server:
        url = check_server(ctx, server)
        trusted = ctx.g.get("trust-admin-controller-cert") or (
            session and session.get("trusted") and session.get("server") == url)
        if not trusted:
            ctx.fail("untrusted_cert", url=url)
        if "username" in ctx.g:
            check_password(ctx, ctx.g["username"], read_password(ctx))
            return {"server": url, "username": ctx.g["username"], "trusted": True}
        if session and session.get("server") == url and not for_login:
            return session
        ctx.fail("login_required", url=url)
    local = "https://localhost:%d" % controller_port(ctx)
    if not ctx.is_initial():
        if session and not for_login:
            return session
        ctx.fail("not_controller_node", node=ctx.node_name, initial=ctx.initial().get("hostname", ""),
                 port=controller_port(ctx))
    if "username" in ctx.g:
        check_password(ctx, ctx.g["username"], read_password(ctx))
        return {"server": local, "username": ctx.g["username"], "trusted": True}
    if for_login:
        raise Usage(("missing_option", {"option": "--username"}), None, ctx.path)
    if ctx.user in ctx.cluster.get("authorized_users", []):
        return {"server": local, "username": ctx.user, "trusted": True}
    if session:
        return session
    ctx.fail("not_authorized", user=ctx.user)


# ---- guards: job lock, write faults -----------------------------------------------------

def _last_job_id(ctx):
    try:
        jobs = state.read(ctx.d).get("jobs", [])
    except (OSError, ValueError):
        jobs = []
    return max([j["id"] for j in jobs] or [0])


def _held_job_id(fd):
    try:
        os.lseek(fd, 0, 0)
        return os.read(fd, 64).decode().strip() or "?"
    except OSError:  # pragma: no cover
        return "?"


def write_guard(ctx):
    """Called by every write before it changes anything."""
    if knobs.consume(ctx.d, "lock_held_calls"):
        ctx.fail("job_in_progress", id=_last_job_id(ctx) + 1)
    fd = os.open(os.path.join(ctx.d, "job.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            ctx.fail("job_in_progress", id=_held_job_id(fd))
    finally:
        os.close(fd)
    if knobs.consume(ctx.d, "fail_writes"):
        ctx.fail("transient_error")


@contextlib.contextmanager
def job(ctx, job_type):
    """Hold DIR/job.lock for a TSM job; records the job in state.jobs. Yields the job dict."""
    if knobs.consume(ctx.d, "lock_held_calls"):
        ctx.fail("job_in_progress", id=_last_job_id(ctx) + 1)
    fd = os.open(os.path.join(ctx.d, "job.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            ctx.fail("job_in_progress", id=_held_job_id(fd))
        with state.locked(ctx.d) as st:
            jid = max([j["id"] for j in st.get("jobs", [])] or [0]) + 1
            rec = {"id": jid, "type": job_type, "status": "Running", "created": time.time(),
                   "completed": None, "node": ctx.initial()["name"]}
            st.setdefault("jobs", []).append(rec)
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, 0)
        os.write(fd, str(jid).encode())
        status = {}
        ctx.out(ctx.S("job_started", id=jid, type=job_type, timeout=max(1, ctx.request_timeout() // 60)))
        try:
            yield status
            status.setdefault("status", "Succeeded")
        except BaseException:
            status["status"] = "Failed"
            raise
        finally:
            with state.locked(ctx.d) as st:
                for j in st.get("jobs", []):
                    if j["id"] == jid:
                        j["status"] = status.get("status") or "Failed"
                        j["completed"] = time.time()
                st["jobs"] = st["jobs"][-50:]
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)


# ---- main -----------------------------------------------------------------------------

def main(argv, d=None, node_name=None):
    start = time.time()
    d = d or os.environ.get("TSM_EMULATOR_DIR")
    node_name = node_name or os.environ.get("TSM_EMULATOR_NODE")
    if not d or not node_name:
        sys.stderr.write("tsm emulator: TSM_EMULATOR_DIR and TSM_EMULATOR_NODE must be set\n")
        return 1
    try:
        with open(os.path.join(d, "cluster.json")) as f:
            cluster = json.load(f)
        prof = versions.profile(cluster.get("version"))
    except (OSError, ValueError) as e:
        sys.stderr.write("tsm emulator: cannot load cluster in %s: %s\n" % (d, e))
        return 1
    ctx = Ctx(d, node_name, cluster, prof)
    rc = 1
    try:
        rc = _run(ctx, argv)
    except Usage as e:
        key, kw = e.message
        ctx.err(ctx.S("error_prefix") + ctx.S(key, **kw))
        ctx.err(usage_text(prof, e.node or TREE, e.path))
        ctx.kind = "usage"
        rc = 1
    except Fail as e:
        ctx.err(ctx.S("error_prefix") + e.message)
        rc = e.rc
    except KeyboardInterrupt:  # pragma: no cover
        rc = 130
    except Exception:  # an emulator bug: say so, keep the call log consistent
        import traceback
        traceback.print_exc()
        ctx.err(ctx.S("error_prefix") + "internal emulator error")
        rc = 1
    finally:
        try:
            sys.stdout.flush()
        except Exception:  # pragma: no cover
            pass
        calllog.append(d, {"argv": list(argv), "node": node_name, "user": ctx.user, "start": start,
                           "end": time.time(), "rc": rc, "kind": ctx.kind, "restarted": ctx.restarted,
                           "pid": os.getpid()})
    return rc


def _run(ctx, argv):
    path, node, opts, g = parse(argv, ctx.prof)
    ctx.path, ctx.opts, ctx.g = tuple(path), opts, g
    if g.get("help"):
        ctx.out(usage_text(ctx.prof, node, path))
        return 0
    ctx.kind = node["kind"]
    rt = g.get("request-timeout")
    if rt is not None and not (rt.isdigit() and int(rt) > 0):
        raise Usage(("bad_request_timeout", {"value": rt}), node, path)
    if node["auth"]:
        authenticate(ctx)
    lat = ctx.knobs.get("latency_ms") or 0
    if lat:
        time.sleep(lat / 1000.0)
    if ctx.kind == "read" and ctx.knobs.get("fail_reads") and knobs.consume(ctx.d, "fail_reads"):
        ctx.fail("transient_error")
    mod_name, func = node["handler"].split(":")
    mod = importlib.import_module("tsm_emulator." + mod_name)
    rc = getattr(mod, func)(ctx)
    return rc or 0
