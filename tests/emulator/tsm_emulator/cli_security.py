"""Handlers for ``tsm security ...`` and ``tsm authentication ...``."""

import os
import re
import shutil
import time

from tsm_emulator import state, versions
from tsm_emulator.cli import Fail, write_guard

MASK = "********"


# ---- shared helpers -------------------------------------------------------------------

def _certs():
    from tsm_emulator import certs  # lazy: cryptography is slow to import
    return certs


def cert_call(ctx, fn, *args, **kw):
    """Run a certs function and turn CertError into the version's message."""
    certs = _certs()
    try:
        return fn(*args, **kw)
    except certs.CertError as e:
        params = dict(e.params)
        params["what"] = ctx.S("what_" + params.get("what", "file"))
        raise Fail(ctx.S("cert_" + e.code, **params))


def stage(ctx, family, keys, uploads=None, meta=None, message="staged"):
    """Append a pending entry. uploads: {config key: (source path, bytes)} copied into DIR/cfs."""
    restart = bool(versions.restart_families().get(family, True))
    with state.locked(ctx.d) as st:
        files = {}
        if uploads:
            st["cfs_generation"] = st.get("cfs_generation", 0) + 1
            base = os.path.join(os.path.abspath(ctx.d), "cfs", family, str(st["cfs_generation"]))
            os.makedirs(base, exist_ok=True)
            for key, (src, data) in uploads.items():
                dst = os.path.join(base, os.path.basename(src))
                fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                files[key] = dst
        entry = {"family": family, "command": " ".join(ctx.path[1:] if ctx.path[0] == "security" else ctx.path),
                 "keys": keys, "files": files, "restart": restart, "at": time.time()}
        if meta is not None:
            entry["meta"] = meta
        st.setdefault("pending", []).append(entry)
    ctx.out(ctx.S(message))
    ctx.out(ctx.S("staged_restart" if restart else "staged_no_restart"))
    return 0


def requested(ctx):
    return state.requested(state.read(ctx.d))


def show_keys(ctx, layout, req):
    """Print `key: value` lines for the logical keys of a layout (secrets masked)."""
    K = ctx.K
    secrets = versions.secret_keys()
    for logical in ctx.prof["layouts"][layout]:
        name = K.get(logical, logical)
        value = req.get(name, "")
        if name in secrets:
            value = MASK if value else ""
        ctx.out(ctx.S("list_line", key=name, value=value))


def read_upload(ctx, path, what):
    return cert_call(ctx, _certs().read_file, path, what)


# ---- custom-cert ----------------------------------------------------------------------

def custom_cert_add(ctx):
    write_guard(ctx)
    K = ctx.K
    if requested(ctx).get(K["custom_ca_file_name"]):
        ctx.fail("custom_cert_exists")
    path = ctx.opts["cert-file"]
    data = read_upload(ctx, path, "certificate")
    certs = _certs()
    cert = cert_call(ctx, certs.load_cert_any, data, path, "certificate")
    return stage(ctx, "custom_cert", {K["custom_ca_file_name"]: os.path.basename(path)},
                 {K["custom_ca_file_name"]: (path, data)}, meta=certs.cert_meta(cert))


def custom_cert_delete(ctx):
    write_guard(ctx)
    K = ctx.K
    if not requested(ctx).get(K["custom_ca_file_name"]):
        ctx.fail("custom_cert_none_to_delete")
    return stage(ctx, "custom_cert", {K["custom_ca_file_name"]: ""}, meta=None)


def custom_cert_list(ctx):
    K = ctx.K
    st = state.read(ctx.d)
    name = state.requested(st).get(K["custom_ca_file_name"], "")
    meta = (st.get("custom_cert") or {}).get("meta")
    for p in st.get("pending", []):
        if K["custom_ca_file_name"] in p.get("keys", {}):
            meta = p.get("meta")
    if not name:
        ctx.out(ctx.S("custom_cert_none"))
        return 0
    values = dict(meta or {})
    values["key"] = K["custom_ca_file_name"]
    values["name"] = name
    ctx.out(ctx.S("custom_cert_list", **values))
    return 0


# ---- external-ssl ---------------------------------------------------------------------

def external_ssl_enable(ctx):
    write_guard(ctx)
    K = ctx.K
    certs = _certs()
    o = ctx.opts
    cert_path, key_path, chain_path = o["cert-file"], o["key-file"], o.get("chain-file")
    passphrase = o.get("passphrase")
    cert_data = read_upload(ctx, cert_path, "certificate")
    key_data = read_upload(ctx, key_path, "key")
    chain_data = read_upload(ctx, chain_path, "chain") if chain_path is not None else None
    if not cert_path.lower().endswith(".crt"):
        ctx.fail("cert_extension", path=cert_path)
    if chain_path is not None and not chain_path.lower().endswith(".crt"):
        ctx.fail("chain_extension", path=chain_path)
    cert = cert_call(ctx, certs.load_pem_certs, cert_data, cert_path, "certificate")[0]
    if chain_data is not None:
        cert_call(ctx, certs.load_pem_certs, chain_data, chain_path, "chain")
    key = cert_call(ctx, certs.load_private_key, key_data, key_path, passphrase)
    if not certs.key_matches(cert, key):
        ctx.fail("key_mismatch", cert=cert_path, key=key_path)
    if not certs.min_bits_ok(key, ctx.min_key_bits()):
        ctx.fail("key_too_small", bits=certs.key_bits(key), min=ctx.min_key_bits(), version=ctx.prof["version"])
    protos = o.get("protocols")
    if protos is None:
        protos = versions.key_defaults()[K["ssl_protocols"]]
    from tsm_emulator import protocols
    try:
        protocols.enabled(protos)
    except protocols.ProtocolError as e:
        ctx.fail("bad_protocols", value=protos, reason=str(e))
    keys = {K["ssl_enabled"]: "true",
            K["ssl_cert_file_name"]: os.path.basename(cert_path),
            K["ssl_key_file_name"]: os.path.basename(key_path),
            K["ssl_chain_file_name"]: os.path.basename(chain_path) if chain_path else "",
            K["ssl_key_passphrase"]: state.enc(passphrase),
            K["ssl_protocols"]: protos}
    uploads = {K["ssl_cert_file_name"]: (cert_path, cert_data), K["ssl_key_file_name"]: (key_path, key_data)}
    if chain_path:
        uploads[K["ssl_chain_file_name"]] = (chain_path, chain_data)
    return stage(ctx, "external_ssl", keys, uploads)


def external_ssl_disable(ctx):
    write_guard(ctx)
    K = ctx.K
    keys = {K["ssl_enabled"]: "false", K["ssl_cert_file_name"]: "", K["ssl_key_file_name"]: "",
            K["ssl_chain_file_name"]: "", K["ssl_key_passphrase"]: ""}
    return stage(ctx, "external_ssl", keys)


def external_ssl_list(ctx):
    show_keys(ctx, "external_ssl_list", requested(ctx))
    return 0


# ---- kms ------------------------------------------------------------------------------

_ARN = re.compile(r"^arn:aws(?:-[a-z]+)*:kms:([a-z0-9-]+):([0-9]{12}):key/([A-Za-z0-9-]+)$")
_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-[0-9]+$")


def _kms_keys(ctx, mode, **values):
    K = ctx.K
    keys = {K["kms_mode"]: mode, K["kms_aws_key_arn"]: "", K["kms_aws_region"]: "",
            K["kms_azure_key_name"]: "", K["kms_azure_vault_name"]: ""}
    for k, v in values.items():
        keys[K[k]] = v
    return keys


def kms_aws(ctx):
    write_guard(ctx)
    arn, region = ctx.opts["key-arn"].strip(), ctx.opts["aws-region"].strip()
    if not _REGION.match(region):
        ctx.fail("kms_bad_region", region=region)
    m = _ARN.match(arn)
    if not m:
        ctx.fail("kms_bad_arn", arn=arn)
    if m.group(1) != region:
        ctx.fail("kms_region_mismatch", arn=arn, region=region, arn_region=m.group(1))
    return stage(ctx, "kms", _kms_keys(ctx, "aws", kms_aws_key_arn=arn, kms_aws_region=region))


def kms_azure(ctx):
    write_guard(ctx)
    name, vault = ctx.opts["key-name"].strip(), ctx.opts["vault-name"].strip()
    if not re.match(r"^[A-Za-z0-9-]{1,127}$", name):
        ctx.fail("kms_bad_key_name", name=name)
    if not re.match(r"^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$", vault):
        ctx.fail("kms_bad_vault_name", vault=vault)
    return stage(ctx, "kms", _kms_keys(ctx, "azure", kms_azure_key_name=name, kms_azure_vault_name=vault))


def kms_local(ctx):
    write_guard(ctx)
    return stage(ctx, "kms", _kms_keys(ctx, "local"))


def kms_status(ctx):
    K = ctx.K
    st = state.read(ctx.d)
    req = state.requested(st)
    mode = req.get(K["kms_mode"], "local")
    kms = st.get("kms", {})
    ctx.out(ctx.S("kms_status_" + mode if "kms_status_" + mode in ctx.prof["strings"] else "kms_status_local",
                  mode=mode, arn=req.get(K["kms_aws_key_arn"], ""), region=req.get(K["kms_aws_region"], ""),
                  key_name=req.get(K["kms_azure_key_name"], ""), vault=req.get(K["kms_azure_vault_name"], ""),
                  rmk=kms.get("rmk_id", "")))
    for mek in kms.get("meks", []):
        ctx.out(ctx.S("kms_status_mek", id=mek.get("id", ""), status=mek.get("status", ""),
                      created=mek.get("created", ""), first=mek.get("first_transition", ""),
                      decrypt_only=mek.get("decrypt_only_transition", "")))
    return 0


# ---- maestro --------------------------------------------------------------------------

def _svc(ctx):
    return "rserve" if ctx.path[1] == "maestro-rserve-ssl" else "tabpy"


def maestro_enable(ctx):
    write_guard(ctx)
    svc = _svc(ctx)
    K = ctx.K
    o = ctx.opts
    ctype = o["connection-type"]
    allowed = ["maestro-%s" % svc, "maestro-%s-secure" % svc]
    if ctype not in allowed:
        ctx.fail("maestro_bad_type", value=ctype, allowed=", ".join(allowed))
    host = o["%s-host" % svc].strip()
    if not host or re.search(r"\s", host):
        ctx.fail("maestro_bad_host", value=o["%s-host" % svc])
    port = o["%s-port" % svc].strip()
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        ctx.fail("maestro_bad_port", value=port)
    timeout = o.get("%s-connect-timeout-ms" % svc)
    if timeout is not None and (not timeout.strip().isdigit() or int(timeout) <= 0):
        ctx.fail("maestro_bad_timeout", value=timeout)
    cf = o.get("certificate-file")
    uploads = {}
    secure = ctype.endswith("-secure")
    if secure and not cf:
        ctx.fail("maestro_cert_required", type=ctype)
    if cf and not secure:
        ctx.fail("maestro_cert_not_secure", type=ctype)
    if cf:
        data = read_upload(ctx, cf, "certificate")
        cert_call(ctx, _certs().load_pem_certs, data, cf, "certificate")
        uploads[K["%s_cert_file_name" % svc]] = (cf, data)
    keys = {K["%s_enabled" % svc]: "true", K["%s_connection_type" % svc]: ctype,
            K["%s_host" % svc]: host, K["%s_port" % svc]: str(int(port)),
            K["%s_username" % svc]: o.get("%s-username" % svc, ""),
            K["%s_password" % svc]: state.enc(o.get("%s-password" % svc)),
            K["%s_connect_timeout_ms" % svc]: str(int(timeout)) if timeout else "",
            K["%s_cert_file_name" % svc]: os.path.basename(cf) if cf else ""}
    return stage(ctx, "maestro_" + svc, keys, uploads)


def maestro_disable(ctx):
    write_guard(ctx)
    svc = _svc(ctx)
    K = ctx.K
    keys = {K["%s_%s" % (svc, k)]: "" for k in ("connection_type", "host", "port", "username", "password",
                                                "connect_timeout_ms", "cert_file_name")}
    keys[K["%s_enabled" % svc]] = "false"
    return stage(ctx, "maestro_" + svc, keys)


# ---- repository-ssl -------------------------------------------------------------------

def repository_ssl_enable(ctx):
    write_guard(ctx)
    K = ctx.K
    internal = bool(ctx.opts.get("internal-only"))
    return stage(ctx, "repository_ssl", {K["pgsql_ssl_enabled"]: "true",
                                         K["pgsql_ssl_required"]: "false" if internal else "true"})


def repository_ssl_disable(ctx):
    write_guard(ctx)
    K = ctx.K
    return stage(ctx, "repository_ssl", {K["pgsql_ssl_enabled"]: "false", K["pgsql_ssl_required"]: "false"})


def repository_ssl_list(ctx):
    show_keys(ctx, "repository_ssl_list", requested(ctx))
    return 0


def repository_ssl_get_cert(ctx):
    K = ctx.K
    st = state.read(ctx.d)
    if st["applied"].get(K["pgsql_ssl_enabled"]) != "true":
        ctx.fail("repo_ssl_disabled")
    target = ctx.opts["file"]
    parent = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(parent) or os.path.isdir(target):
        ctx.fail("repo_cert_bad_target", path=target)
    certs = _certs()
    _sec, crt, _key, _node = certs.repository_cert_paths(ctx.d, ctx.cluster)
    if not os.path.exists(crt):
        crt = certs.ensure_repository_cert(ctx.d)
    try:
        shutil.copyfile(crt, target)
    except OSError as e:
        ctx.fail("repo_cert_bad_target", path=target + " (%s)" % e.strerror)
    ctx.out(ctx.S("repo_cert_written", path=target))
    return 0


# ---- authentication -------------------------------------------------------------------

def mutual_configure(ctx):
    write_guard(ctx)
    K = ctx.K
    o = ctx.opts
    if not any(k in o for k in ("ca-cert", "fallback-to-basic", "user-name-mapping", "revocation-file")):
        ctx.fail("mutual_nothing")
    keys, uploads = {}, {}
    if "fallback-to-basic" in o:
        v = o["fallback-to-basic"].strip().lower()
        if v not in ("true", "false"):
            ctx.fail("mutual_bad_fallback", value=o["fallback-to-basic"])
        keys[K["mssl_fallback"]] = v
    if "user-name-mapping" in o:
        v = o["user-name-mapping"].strip().lower()
        if v not in ("upn", "ldap", "cn"):
            ctx.fail("mutual_bad_mapping", value=o["user-name-mapping"])
        keys[K["mssl_mapping"]] = v
    if "ca-cert" in o:
        path = o["ca-cert"]
        data = read_upload(ctx, path, "certificate")
        cert_call(ctx, _certs().load_pem_certs, data, path, "certificate")
        keys[K["mssl_cacert"]] = os.path.basename(path)
        uploads[K["mssl_cacert"]] = (path, data)
    if "revocation-file" in o:
        path = o["revocation-file"]
        data = read_upload(ctx, path, "revocation")
        if not path.lower().endswith((".pem", ".der")):
            ctx.fail("mutual_bad_revocation_ext", path=path)
        cert_call(ctx, _certs().load_crl, data, path)
        keys[K["mssl_revocation"]] = os.path.basename(path)
        uploads[K["mssl_revocation"]] = (path, data)
    return stage(ctx, "mutual_ssl", keys, uploads)


def mutual_enable(ctx):
    write_guard(ctx)
    K = ctx.K
    req = requested(ctx)
    if req.get(K["ssl_enabled"]) != "true":
        ctx.fail("mutual_needs_ssl")
    if not req.get(K["mssl_cacert"]):
        ctx.fail("mutual_needs_ca")
    return stage(ctx, "mutual_ssl", {K["mssl_required"]: "true"})


def mutual_disable(ctx):
    write_guard(ctx)
    return stage(ctx, "mutual_ssl", {ctx.K["mssl_required"]: "false"})


def authentication_list(ctx):
    req = requested(ctx)
    show_keys(ctx, "authentication_list_verbose" if ctx.opts.get("verbose") else "authentication_list", req)
    return 0
