"""One node's gateway: a real TLS listener with the applied certificate, chain and protocols.

Mirrors Apache httpd as Tableau runs it: HTTPS on the node's https_port when external SSL is
enabled (the HTTP port then answers 301 to https), plain HTTP only when it is disabled, and
nothing at all when the certificate/key cannot be loaded (the gateway is down).
"""
import base64
import contextlib
import os
import re
import ssl
import threading
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


TRUE = ("true", "1", "yes", "on")
_VERSIONS = [("TLSv1", ssl.TLSVersion.TLSv1), ("TLSv1.1", ssl.TLSVersion.TLSv1_1),
             ("TLSv1.2", ssl.TLSVersion.TLSv1_2), ("TLSv1.3", ssl.TLSVersion.TLSv1_3)]
_ALL = ["SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]   # Apache 2.4 + OpenSSL 1.1.1+
_NAMES = {n.lower(): n for n in ["SSLv2"] + _ALL}

warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*TLSv1.*")
warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*ssl.TLSVersion.*")


class GatewayError(Exception):
    pass


def _private_parse(text):
    """Apache SSLProtocol (with or without commas) -> set of enabled protocol names."""
    enabled = set()
    tokens = [t for t in re.split(r"[\s,]+", (text or "").strip()) if t]
    if not tokens:
        raise GatewayError("SSLProtocol is empty")
    for t in tokens:
        sign = ""
        if t[0] in "+-":
            sign, t = t[0], t[1:]
        low = t.lower()
        if low == "all":
            names = set(_ALL)
        elif low in _NAMES:
            names = {_NAMES[low]}
        else:
            raise GatewayError("SSLProtocol: illegal protocol '%s'" % t)
        if sign == "-":
            enabled -= names
        elif sign == "+":
            enabled |= names
        else:
            enabled = set(names)
    return enabled


def protocol_range(text):
    """(minimum_version, maximum_version, legacy_allowed) for an SSLProtocol string."""
    try:
        from tsm_emulator import protocols as _p  # the tsm CLI's parser: one syntax everywhere
    except ImportError:
        _p = None
    if _p is not None:
        try:
            enabled = set(_p.tls_enabled(text))
        except ValueError as e:
            raise GatewayError("SSLProtocol: %s" % e)
    else:
        enabled = _private_parse(text)
    usable = [(n, v) for n, v in _VERSIONS if n in enabled]
    if not usable:
        raise GatewayError("no usable SSL/TLS protocol enabled by SSLProtocol '%s'" % text)
    return usable[0][1], usable[-1][1], usable[0][1] < ssl.TLSVersion.TLSv1_2


def decode_secret(value):
    """Applied secrets are ENC(<base64>) (state.enc/state.dec)."""
    if not value:
        return ""
    try:
        from tsm_emulator import state as _state
        return _state.dec(value)
    except ImportError:
        pass
    m = re.fullmatch(r"ENC\((.*)\)", value.strip(), re.S)
    if not m:
        return value
    try:
        return base64.b64decode(m.group(1)).decode("utf-8")
    except Exception:
        return m.group(1)


def resolve_file(d, st, key, name):
    """Applied file name -> path in the Client File Service (DIR/cfs)."""
    if not name:
        return None
    for holder in ("applied_files", "files"):
        p = (st.get(holder) or {}).get(key)
        if isinstance(p, str) and p:
            p = p if os.path.isabs(p) else os.path.join(d, p)
            if os.path.isfile(p):
                return p
    if os.path.isabs(name) and os.path.isfile(name):
        return name
    direct = os.path.join(d, "cfs", "external_ssl", name)
    if os.path.isfile(direct):
        return direct
    best = None
    for root, _dirs, files in os.walk(os.path.join(d, "cfs")):
        if name in files:
            p = os.path.join(root, name)
            if best is None or os.path.getmtime(p) > os.path.getmtime(best):
                best = p
    return best


def desired_config(d, st):
    a = st.get("applied") or {}
    enabled = str(a.get("ssl.enabled", "false")).lower() in TRUE
    cfg = {"ssl": enabled}
    if enabled:
        cfg.update({
            "cert": resolve_file(d, st, "ssl.cert.file_name", a.get("ssl.cert.file_name")),
            "key": resolve_file(d, st, "ssl.key.file_name", a.get("ssl.key.file_name")),
            "chain": resolve_file(d, st, "ssl.chain.file_name", a.get("ssl.chain.file_name")),
            "cert_name": a.get("ssl.cert.file_name"), "key_name": a.get("ssl.key.file_name"),
            "chain_name": a.get("ssl.chain.file_name"),
            "passphrase": decode_secret(a.get("ssl.key.passphrase", "")),
            "protocols": a.get("ssl.protocols") or "all, -SSLv2, -SSLv3",
            "ciphers": a.get("ssl.ciphersuite") or "HIGH:MEDIUM:!aNULL:!MD5:!RC4:!3DES",
        })
    return cfg


class _Handler(BaseHTTPRequestHandler):
    server_version = "Apache"
    sys_version = ""
    protocol_version = "HTTP/1.0"

    def log_message(self, *a):
        pass

    def version_string(self):
        return self.server_version

    def _page(self):
        gw = self.server.gw
        if self.server.kind == "redirect":
            host = (self.headers.get("Host") or gw.node["address"]).rsplit(":", 1)[0]
            port = gw.node["gateway"]["https_port"]
            loc = "https://%s%s%s" % (host, "" if port == 443 else ":%d" % port, self.path)
            self.send_response(301)
            self.send_header("Location", loc)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return b""
        body = ("<html><head><title>Tableau Server</title></head><body>"
                "Tableau Server (emulated) %s %s</body></html>\n"
                % (gw.node["name"], gw.node["hostname"])).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return body

    def do_GET(self):
        body = self._page()
        self.wfile.write(body)

    def do_HEAD(self):
        self._page()


class TLSThreadingHTTPServer(ThreadingHTTPServer):
    """HTTP server that speaks TLS with ``ctx`` (plain HTTP when ``ctx`` is None); used by the
    gateways and by the controller API."""
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    ctx = None

    def finish_request(self, request, client_address):
        request.settimeout(15)
        if self.ctx is None:
            return super().finish_request(request, client_address)
        try:
            tls = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except (ssl.SSLError, OSError):
            pass
        finally:
            with contextlib.suppress(OSError):
                tls.close()


class _Server(TLSThreadingHTTPServer):
    def __init__(self, addr, gw, kind, ctx=None):
        self.gw, self.kind, self.ctx = gw, kind, ctx
        super().__init__(addr, _Handler)


class Gateway:
    def __init__(self, d, node):
        self.dir, self.node = d, node
        self.servers = []
        self.status = "down"
        self.config = None

    def _serve(self, port, kind, ctx=None):
        srv = _Server((self.node["address"], port), self, kind, ctx)
        t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                             name="gw-%s-%s" % (self.node["name"], kind), daemon=True)
        t.start()
        self.servers.append(srv)

    def stop(self):
        for s in self.servers:
            with contextlib.suppress(Exception):
                s.shutdown()
            with contextlib.suppress(Exception):
                s.server_close()
        self.servers = []
        self.status = "down"

    def build_context(self, cfg):
        for k, label in (("cert", "certificate"), ("key", "key")):
            if not cfg.get(k):
                raise GatewayError("SSL %s file %r not found in the Client File Service"
                                   % (label, cfg.get(k + "_name")))
        if cfg.get("chain_name") and not cfg.get("chain"):
            raise GatewayError("SSL chain file %r not found" % cfg["chain_name"])
        lo, hi, legacy = protocol_range(cfg["protocols"])
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version, ctx.maximum_version = lo, hi
        ciphers = cfg["ciphers"] + (":@SECLEVEL=0" if legacy else "")
        try:
            ctx.set_ciphers(ciphers)
        except ssl.SSLError as e:
            raise GatewayError("SSLCipherSuite %r: %s" % (cfg["ciphers"], e))
        # The gateway sends the server certificate followed by the chain.
        full = os.path.join(self.dir, "run", "gateway-%s.pem" % self.node["name"])
        try:
            with open(cfg["cert"], "rb") as f:
                data = f.read().rstrip(b"\n") + b"\n"
            if cfg.get("chain"):
                with open(cfg["chain"], "rb") as f:
                    data += f.read().rstrip(b"\n") + b"\n"
        except OSError as e:
            raise GatewayError("cannot read certificate: %s" % e)
        with open(full, "wb") as f:
            f.write(data)
        pw = cfg.get("passphrase") or ""
        try:
            ctx.load_cert_chain(full, cfg["key"], password=pw.encode)
        except ssl.SSLError as e:
            raise GatewayError("cannot load certificate/key: %s" % (e.reason or e))
        except OSError as e:
            raise GatewayError("cannot load certificate/key: %s" % e)
        return ctx

    def apply(self, cfg, fail=False):
        """(Re)start with cfg; returns 'up' or 'error: <reason>'."""
        self.stop()
        self.config = cfg
        try:
            if fail:
                raise GatewayError("injected failure: gateway failed to start")
            if cfg["ssl"]:
                ctx = self.build_context(cfg)
                self._serve(self.node["gateway"]["https_port"], "https", ctx)
                self._serve(self.node["gateway"]["http_port"], "redirect")
            else:
                self._serve(self.node["gateway"]["http_port"], "http")
        except GatewayError as e:
            self.stop()
            self.status = "error: %s" % e
            return self.status
        except OSError as e:
            self.stop()
            self.status = "error: cannot listen: %s" % e
            return self.status
        self.status = "up"
        return self.status
