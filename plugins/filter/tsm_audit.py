# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters of the tableau.tsm.audit role: evaluate gathered facts against a policy, draw expiry."""

from __future__ import annotations

import datetime
import html
import math

from ansible.errors import AnsibleFilterError

PROBEABLE = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]

DEFAULT_POLICY = {
    "external_ssl": True,
    "protocols_allowed": ["TLSv1.2", "TLSv1.3"],
    "certificate_min_days": 30,
    "certificate_warn_days": 60,
    "consistent_certificate": True,
    "repository_ssl": "required",
    "kms_mode": None,
    "mutual_ssl": None,
    "custom_cert": None,
    "maestro_secure": True,
    "no_pending_changes": True,
    "server_running": True,
}

TITLES = {
    "server_status": "Server is RUNNING",
    "pending_changes": "No pending configuration changes",
    "external_ssl": "External (gateway) SSL enabled",
    "protocols_configured": "Gateway configured for the allowed TLS protocols only",
    "gateway_protocols": "Every gateway accepts only the allowed TLS protocols (handshake)",
    "gateway_certificate_expiry": "Every gateway certificate valid long enough",
    "gateway_certificate_consistent": "Every node serves the same certificate",
    "repository_ssl": "Repository (PostgreSQL) SSL mode",
    "repository_tls": "Repository answers TLS (handshake)",
    "custom_cert": "Custom CA certificate",
    "kms_mode": "Key management system (KMS) mode",
    "mutual_ssl": "Mutual SSL (client certificates)",
    "maestro_rserve": "Prep Rserve connection secure when enabled",
    "maestro_tabpy": "Prep TabPy connection secure when enabled",
}

_NORM = {"tlsv1.0": "TLSv1", "tlsv1": "TLSv1", "tlsv1.1": "TLSv1.1", "tlsv1.2": "TLSv1.2", "tlsv1.3": "TLSv1.3"}


def _proto(name):
    return _NORM.get(str(name).strip().lower(), str(name).strip())


def _parse_time(value):
    if not value:
        return None
    text = str(value).strip().replace("Z", "+00:00")
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed


def _now(now):
    parsed = _parse_time(now) if now else None
    return parsed or datetime.datetime.now(datetime.timezone.utc)


def _control(cid, status, expected, actual, detail=""):
    return {"id": cid, "title": TITLES.get(cid, cid), "status": status,
            "expected": expected, "actual": actual, "detail": detail}


def _err(result, key):
    """The error of a registered result (kept going by failed_when false), else None.

    A result that lacks ``key`` (a key every successful result has) failed or was skipped. A failed result
    may carry ``key`` too (tableau_security_info keeps ``gathered``), but only a failed one has ``msg``."""
    if not isinstance(result, dict) or not result:
        return "not gathered"
    if result.get("skipped"):
        return "skipped"
    if key not in result or result.get("failed") or "msg" in result:
        return str(result.get("msg") or "failed")
    return None


def _gateway(node, policy, now):
    g = node.get("gateway") or {}
    err = _err(g, "passed")
    cert = g.get("certificate") if isinstance(g.get("certificate"), dict) else {}
    days = cert.get("days_left")
    nat = _parse_time(cert.get("not_after"))
    if nat is not None:
        days = int((nat - now).total_seconds() // 86400)
    return {
        "name": node.get("name"),
        "host": g.get("host", node.get("gateway_host")),
        "port": g.get("port", node.get("gateway_port")),
        "error": err,
        "protocol": g.get("protocol"),
        "protocols": g.get("protocols") or {},
        "failures": list(g.get("failures") or []) if not err else [err],
        "passed": bool(g.get("passed")) and not err,
        "subject": cert.get("subject"),
        "issuer": cert.get("issuer"),
        "not_after": cert.get("not_after"),
        "days_left": days,
        "fingerprint": (cert.get("sha256_fingerprint") or "").lower(),
    }


def _protocol_failures(gw, allowed):
    bad = []
    for proto, accepted in (gw.get("protocols") or {}).items():
        proto = _proto(proto)
        if accepted is None:
            continue
        if accepted and proto not in allowed:
            bad.append("%s accepts %s" % (gw["name"], proto))
        if not accepted and proto in allowed:
            bad.append("%s refuses %s" % (gw["name"], proto))
    return bad


def _evaluate_cluster(name, nodes, policy, now):
    initial = next((n for n in nodes if n.get("initial")), nodes[0])
    info = initial.get("info") or {}
    info_err = _err(info, "gathered")
    controls = []
    gateways = [_gateway(n, policy, now) for n in nodes]
    allowed = [_proto(p) for p in policy.get("protocols_allowed") or []]
    min_days = int(policy.get("certificate_min_days") or 0)

    def from_info(cid, key, fn):
        if info_err:
            controls.append(_control(cid, "error", "-", "-", "tableau_security_info failed: %s" % info_err))
            return
        part = info.get(key)
        if part is None:
            controls.append(_control(cid, "error", "-", "-", "%s was not reported" % key))
            return
        controls.append(fn(part))

    if policy.get("server_running"):
        from_info("server_status", "status", lambda s: _control(
            "server_status", "pass" if s.get("status") == "RUNNING" else "fail", "RUNNING", s.get("status")))
    if policy.get("no_pending_changes"):
        from_info("pending_changes", "pending_changes", lambda p: _control(
            "pending_changes", "pass" if not p else "fail", "none",
            "none" if not p else ", ".join(str(c.get("key") or c.get("value")) for c in p)))
    if policy.get("external_ssl") is not None:
        want = bool(policy["external_ssl"])
        from_info("external_ssl", "external_ssl", lambda e: _control(
            "external_ssl", "pass" if bool(e.get("enabled")) == want else "fail",
            "enabled" if want else "disabled", "enabled" if e.get("enabled") else "disabled"))
    if allowed:
        def proto_conf(e):
            got = e.get("protocols")
            if not e.get("enabled"):
                return _control("protocols_configured", "fail", ", ".join(allowed), "external SSL disabled")
            if got is None:
                return _control("protocols_configured", "error", ", ".join(allowed), e.get("protocols_string"),
                                "protocol string cannot be parsed")
            extra = [p for p in (_proto(x) for x in got) if p not in allowed]
            return _control("protocols_configured", "fail" if extra else "pass", ", ".join(allowed), ", ".join(got),
                            ("also allows " + ", ".join(extra)) if extra else "")
        from_info("protocols_configured", "external_ssl", proto_conf)

        errs = ["%s: %s" % (g["name"], g["error"]) for g in gateways if g["error"]]
        bad = [b for g in gateways if not g["error"] for b in _protocol_failures(g, allowed)]
        seen = sorted({_proto(p) for g in gateways for p, ok in (g["protocols"] or {}).items() if ok})
        controls.append(_control("gateway_protocols", "error" if errs else ("fail" if bad else "pass"),
                                 ", ".join(allowed), ", ".join(seen) or "-", "; ".join(errs + bad)))
    if min_days or policy.get("certificate_min_days") is not None:
        errs = ["%s: %s" % (g["name"], g["error"]) for g in gateways if g["error"]]
        short = ["%s: %s days left" % (g["name"], g["days_left"]) for g in gateways
                 if not g["error"] and (g["days_left"] is None or g["days_left"] < min_days)]
        least = min([g["days_left"] for g in gateways if g["days_left"] is not None] or [None], key=lambda x: (x is None, x))
        controls.append(_control("gateway_certificate_expiry", "error" if errs and not short else ("fail" if short else "pass"),
                                 ">= %d days" % min_days, "-" if least is None else "%d days" % least,
                                 "; ".join(short + errs)))
    if policy.get("consistent_certificate"):
        fps = sorted({g["fingerprint"] for g in gateways if g["fingerprint"]})
        errs = [g["name"] for g in gateways if g["error"]]
        status = "pass" if len(fps) == 1 and not errs else ("fail" if len(fps) > 1 else "error")
        controls.append(_control("gateway_certificate_consistent", status, "one certificate",
                                 "%d certificate(s)" % len(fps),
                                 ("no answer from " + ", ".join(errs)) if errs else ""))
    repo_policy = policy.get("repository_ssl")
    if repo_policy and repo_policy != "any":
        order = {"off": 0, "internal_only": 1, "enabled": 1, "required": 2}

        def repo_conf(r):
            mode = r.get("mode") or ("required" if r.get("required") else ("internal_only" if r.get("enabled") else "off"))
            ok = order.get(mode, 0) >= order.get(repo_policy, 2)
            return _control("repository_ssl", "pass" if ok else "fail", repo_policy, mode)
        from_info("repository_ssl", "repository_ssl", repo_conf)
        repo = initial.get("repository") or {}
        rerr = _err(repo, "passed")
        if repo.get("skipped"):  # tableau_tsm_audit_check_repository: false
            controls.append(_control("repository_tls", "skip", "TLS", "-", "repository check disabled"))
        elif rerr:
            controls.append(_control("repository_tls", "error", "TLS", "-", rerr))
        else:
            ok = bool(repo.get("tls_available"))
            bad = [b for b in _protocol_failures({"name": "repository", "protocols": repo.get("protocols")}, allowed)
                   if "accepts" in b] if ok else []
            controls.append(_control("repository_tls", "pass" if ok and not bad else "fail", "TLS",
                                     (repo.get("protocol") or "TLS") if ok else "no TLS",
                                     "; ".join(bad)))
    if policy.get("custom_cert") is not None:
        want = bool(policy["custom_cert"])
        from_info("custom_cert", "custom_cert", lambda c: _control(
            "custom_cert", "pass" if bool(c.get("present")) == want else "fail",
            "present" if want else "absent", "present" if c.get("present") else "absent"))
    if policy.get("kms_mode"):
        from_info("kms_mode", "kms", lambda k: _control(
            "kms_mode", "pass" if k.get("mode") == policy["kms_mode"] else "fail", policy["kms_mode"], k.get("mode")))
    if policy.get("mutual_ssl") is not None:
        want = bool(policy["mutual_ssl"])
        from_info("mutual_ssl", "mutual_ssl", lambda m: _control(
            "mutual_ssl", "pass" if bool(m.get("enabled")) == want else "fail",
            "enabled" if want else "disabled", "enabled" if m.get("enabled") else "disabled"))
    if policy.get("maestro_secure"):
        for svc in ("rserve", "tabpy"):
            def conf(m, svc=svc):
                s = m.get(svc) or {}
                if not s.get("enabled"):
                    return _control("maestro_" + svc, "skip", "secure when enabled", "not enabled")
                return _control("maestro_" + svc, "pass" if s.get("secure") else "fail", "secure",
                                "secure" if s.get("secure") else "not secure")
            from_info("maestro_" + svc, "maestro", conf)

    certificates = []
    by_fp = {}
    for g in gateways:
        if g["fingerprint"] and g["not_after"]:
            by_fp.setdefault(g["fingerprint"], {"cluster": name, "label": "gateway", "subject": g["subject"],
                                                "not_after": g["not_after"], "days_left": g["days_left"],
                                                "nodes": []})["nodes"].append(g["name"])
    certificates.extend(by_fp.values())
    repo = initial.get("repository") or {}
    rcert = repo.get("certificate") if isinstance(repo.get("certificate"), dict) else None
    if rcert and rcert.get("not_after"):
        nat = _parse_time(rcert["not_after"])
        certificates.append({"cluster": name, "label": "repository", "subject": rcert.get("subject"),
                             "not_after": rcert["not_after"],
                             "days_left": int((nat - now).total_seconds() // 86400) if nat else rcert.get("days_left"),
                             "nodes": [initial.get("name")]})
    cc = (info.get("custom_cert") or {}).get("details") if not info_err else None
    if isinstance(cc, dict) and cc.get("not_after"):
        nat = _parse_time(cc["not_after"])
        certificates.append({"cluster": name, "label": "custom CA", "subject": cc.get("subject"),
                             "not_after": cc["not_after"],
                             "days_left": int((nat - now).total_seconds() // 86400) if nat else None, "nodes": []})

    counts = {s: sum(1 for c in controls if c["status"] == s) for s in ("pass", "fail", "error", "skip")}
    return {
        "name": name,
        "initial_node": initial.get("name"),
        "version": ((info.get("version") or {}).get("version_full") or (info.get("version") or {}).get("version"))
        if not info_err else None,
        "status": (info.get("status") or {}).get("status") if not info_err else None,
        "compliant": counts["fail"] == 0 and counts["error"] == 0,
        "counts": counts,
        "controls": controls,
        "nodes": gateways,
        "certificates": certificates,
    }


def audit_report(nodes, policy=None, now=None):
    """Build the audit report from per-node facts (a dict host -> facts, or a list of facts)."""
    if isinstance(nodes, dict):
        items = []
        for host, facts in nodes.items():
            facts = dict(facts or {})
            facts.setdefault("name", host)
            items.append(facts)
    elif isinstance(nodes, list):
        items = [dict(n or {}) for n in nodes]
    else:
        raise AnsibleFilterError("audit_report expects a dict of host -> facts or a list, got %s" % type(nodes).__name__)
    merged = dict(DEFAULT_POLICY)
    merged.update(policy or {})
    when = _now(now)
    clusters = {}
    for item in items:
        clusters.setdefault(str(item.get("cluster") or "default"), []).append(item)
    evaluated = [_evaluate_cluster(name, clusters[name], merged, when) for name in sorted(clusters)]
    violations = ["%s: %s - %s%s" % (c["name"], ctl["title"], ctl["status"].upper(),
                                     (": " + ctl["detail"]) if ctl["detail"] else
                                     " (expected %s, found %s)" % (ctl["expected"], ctl["actual"]))
                  for c in evaluated for ctl in c["controls"] if ctl["status"] in ("fail", "error")]
    total = {s: sum(c["counts"][s] for c in evaluated) for s in ("pass", "fail", "error", "skip")}
    return {
        "generated_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "policy": merged,
        "summary": {
            "clusters": len(evaluated),
            "clusters_compliant": sum(1 for c in evaluated if c["compliant"]),
            "nodes": sum(len(c["nodes"]) for c in evaluated),
            "controls": sum(len(c["controls"]) for c in evaluated),
            "passed": total["pass"], "failed": total["fail"], "errors": total["error"], "skipped": total["skip"],
            "compliant": all(c["compliant"] for c in evaluated),
        },
        "clusters": evaluated,
        "violations": violations,
    }


def audit_expiry_svg(report, width=860, horizon_days=None):
    """An inline SVG timeline: one bar per certificate from now until it expires."""
    if not isinstance(report, dict):
        raise AnsibleFilterError("audit_expiry_svg expects the report made by audit_report")
    now = _now(report.get("generated_at"))
    policy = report.get("policy") or {}
    min_days = int(policy.get("certificate_min_days") or 0)
    warn_days = int(policy.get("certificate_warn_days") or max(min_days * 2, 60))
    certs = [c for cl in report.get("clusters", []) for c in cl.get("certificates", []) if c.get("days_left") is not None]
    certs.sort(key=lambda c: c["days_left"])
    if horizon_days is None:
        longest = max([c["days_left"] for c in certs] or [365])
        horizon_days = max(90, min(longest + 30, 3650), min_days + 30)
    left, right, row, top = 260, 20, 26, 46
    plot = width - left - right
    height = top + row * max(len(certs), 1) + 40

    def x(days):
        days = max(0, min(days, horizon_days))
        return left + plot * days / float(horizon_days)

    esc = html.escape
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" '
           'aria-label="Certificate expiry over time" font-family="sans-serif" font-size="12">' % (width, height, width, height),
           '<title>Certificate expiry over time</title>',
           '<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>' % (width, height)]
    # month ticks
    # the smallest step whose date labels (about 80 px each) do not overlap
    steps = (30, 61, 91, 182, 365, 730, 1461)
    step = next((s for s in steps if plot * s / float(horizon_days) >= 90), None)
    step = step or int(math.ceil(90.0 * horizon_days / max(plot, 1)))
    d = 0
    while d <= horizon_days:
        tick_date = (now + datetime.timedelta(days=d)).strftime("%Y-%m-%d")
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e0e0e0"/>' % (x(d), top - 6, x(d), height - 30))
        out.append('<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%s</text>' % (x(d), height - 14, tick_date))
        d += step
    if min_days:
        out.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="#fdecea"/>' % (
            x(0), top - 6, x(min_days) - x(0), height - 30 - top + 6))
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#c62828" stroke-dasharray="4 3"/>' % (
            x(min_days), top - 6, x(min_days), height - 30))
        out.append('<text x="%.1f" y="%d" fill="#c62828">policy: %d days</text>' % (x(min_days) + 4, top - 12, min_days))
    out.append('<text x="%d" y="%d" fill="#333" font-weight="bold">today %s</text>' % (left, 14, now.strftime("%Y-%m-%d")))
    if not certs:
        out.append('<text x="%d" y="%d" fill="#555">no certificate could be read</text>' % (left, top + 16))
    for i, c in enumerate(certs):
        y = top + i * row
        days = c["days_left"]
        color = "#c62828" if days < min_days else ("#ef6c00" if days < warn_days else "#2e7d32")
        label = "%s %s" % (c.get("cluster"), c.get("label"))
        if c.get("nodes"):
            label += " (%s)" % ", ".join(str(n) for n in c["nodes"])
        short = label if len(label) <= 32 else label[:31] + "\u2026"  # about 7.5 px per character
        out.append('<text x="%d" y="%d" text-anchor="end" fill="#222"><title>%s</title>%s</text>'
                   % (left - 8, y + 15, esc(label), esc(short)))
        w = max(x(days) - x(0), 2)
        out.append('<rect x="%.1f" y="%d" width="%.1f" height="18" rx="3" fill="%s"><title>%s: %s, expires %s (%d days)</title></rect>'
                   % (x(0), y + 2, w, color, esc(label), esc(str(c.get("subject") or "")), esc(str(c.get("not_after"))), days))
        text = "expired" if days < 0 else "%d d" % days
        if days > horizon_days:
            text += " (beyond chart)"
        out.append('<text x="%.1f" y="%d" fill="#222">%s</text>' % (min(x(days) + 4, width - right - 60), y + 15, esc(text)))
    out.append('</svg>')
    return "\n".join(out)


class FilterModule:
    """tableau.tsm audit filters."""

    def filters(self):
        return {"audit_report": audit_report, "audit_expiry_svg": audit_expiry_svg}
