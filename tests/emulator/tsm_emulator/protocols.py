"""Apache httpd ``SSLProtocol`` parsing (the syntax of ``ssl.protocols`` / ``--protocols``).

Emulates mod_ssl 2.4: tokens ``all SSLv2 SSLv3 TLSv1 TLSv1.1 TLSv1.2 TLSv1.3`` (case-insensitive),
each with an optional ``+`` (add) or ``-`` (remove) prefix; a bare token *replaces* the set
(mod_ssl warns "overrides already set parameter(s)"); ``SSLv2`` is only accepted as ``-SSLv2``.
Tokens are separated by spaces and/or commas (the documented default is "all, -SSLv2, -SSLv3").
"""

import re

ORDER = ["SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
TLS = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
_CANON = {p.lower(): p for p in ORDER + ["SSLv2"]}


class ProtocolError(ValueError):
    pass


def tokens(text):
    return [t for t in re.split(r"[\s,]+", (text or "").strip()) if t]


def enabled(text):
    """Return the enabled protocols, in ORDER, or raise ProtocolError."""
    toks = tokens(text)
    if not toks:
        raise ProtocolError("the protocol list is empty")
    current = set()
    for tok in toks:
        action = ""
        word = tok
        if tok[0] in "+-":
            action, word = tok[0], tok[1:]
        lw = word.lower()
        if lw == "all":
            this = set(ORDER)
        elif lw in _CANON:
            this = {_CANON[lw]}
        else:
            raise ProtocolError("invalid protocol %r" % tok)
        if lw == "sslv2":
            if action != "-":
                raise ProtocolError("SSLv2 is no longer supported (%r)" % tok)
            continue
        if action == "-":
            current -= this
        elif action == "+":
            current |= this
        else:
            current = set(this)
    tls = [p for p in ORDER if p in current and p in TLS]
    if not tls:
        raise ProtocolError("no TLS protocol version is left enabled by %r" % text)
    return [p for p in ORDER if p in current]


def tls_enabled(text):
    return [p for p in enabled(text) if p in TLS]


def bounds(text):
    """(lowest, highest) enabled TLS version names, e.g. ("TLSv1.2", "TLSv1.3")."""
    t = tls_enabled(text)
    return t[0], t[-1]


def valid(text):
    try:
        enabled(text)
        return True
    except ProtocolError:
        return False
