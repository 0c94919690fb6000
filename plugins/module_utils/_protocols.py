# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Apache SSLProtocol strings as used by tsm (``--protocols``, ``ssl.protocols``).

Grammar: tokens separated by spaces and/or commas; each token is ``all`` or a
protocol name, optionally prefixed by ``+`` (add) or ``-`` (remove). A first
token without sign sets the list; a later token without sign resets the list
to that one protocol, as Apache does (mod_ssl warns about it). ``all`` means
SSLv3 up to TLSv1.3 (Apache's ``all`` does not include SSLv2 since 2.4).

The user-facing list form (``protocols: [TLSv1.2, TLSv1.3]``) is different:
there each bare name adds to the set (see protocols_from_list).
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.tableau.tsm.plugins.module_utils._errors import TsmInputError

# Ordered from oldest to newest.
PROTOCOLS = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
ALL = frozenset(PROTOCOLS[1:])
_CANONICAL = {p.lower(): p for p in PROTOCOLS}
_CANONICAL["all"] = "all"
# Common spellings users write; mapped to the Apache names.
_ALIASES = {"tlsv1.0": "TLSv1", "tls1": "TLSv1", "tls1.0": "TLSv1", "tls1.1": "TLSv1.1",
            "tls1.2": "TLSv1.2", "tls1.3": "TLSv1.3"}

DEFAULT_TSM_PROTOCOLS = "all, -SSLv2, -SSLv3"
RECOMMENDED = ("TLSv1.2", "TLSv1.3")


def canonical_name(token: str) -> t.Optional[str]:
    """Canonical spelling of a protocol name (case-insensitive), or None."""
    low = token.strip().lower()
    return _CANONICAL.get(low) or _ALIASES.get(low)


def parse_protocols(value: str) -> t.FrozenSet[str]:
    """Parse an SSLProtocol string into the set of enabled protocols.

    Raises TsmInputError naming the bad token.
    """
    if value is None:
        raise TsmInputError("Protocol string is empty")
    tokens = [tok for tok in re.split(r"[\s,]+", value.strip()) if tok]
    if not tokens:
        raise TsmInputError("Protocol string is empty")
    enabled: t.Set[str] = set()
    for token in tokens:
        sign = ""
        name = token
        if token[0] in "+-":
            sign, name = token[0], token[1:]
        canon = canonical_name(name)
        if canon is None:
            raise TsmInputError(
                "Invalid protocol token %r in %r; valid tokens are all, %s, each optionally "
                "prefixed with + or -" % (token, value, ", ".join(PROTOCOLS))
            )
        members = set(ALL) if canon == "all" else {canon}
        if sign == "-":
            enabled -= members
        elif sign == "+":
            enabled |= members
        else:
            enabled = members
    return frozenset(enabled)


def try_parse_protocols(value: t.Optional[str]) -> t.Optional[t.FrozenSet[str]]:
    """Like parse_protocols, but None instead of an error (for server-side values)."""
    try:
        return parse_protocols(value or "")
    except TsmInputError:
        return None


def render_protocols(enabled: t.Iterable[str]) -> str:
    """Canonical Tableau form: ``all`` minus each excluded protocol, e.g.
    ``all -SSLv2 -SSLv3 -TLSv1 -TLSv1.1``."""
    wanted = set(enabled)
    unknown = wanted - set(PROTOCOLS)
    if unknown:
        raise TsmInputError("Unknown protocols: %s" % ", ".join(sorted(unknown)))
    if not wanted:
        raise TsmInputError("At least one protocol must be enabled")
    parts = ["all"]
    for proto in PROTOCOLS:
        if proto == "SSLv2":
            # always excluded explicitly: tsm's own default says -SSLv2, keep the form familiar
            if proto not in wanted:
                parts.append("-SSLv2")
            continue
        if proto not in wanted:
            parts.append("-" + proto)
    if "SSLv2" in wanted:
        parts.append("+SSLv2")
    return " ".join(parts)


def protocols_from_list(values: t.Iterable[str], allow_insecure: bool = False) -> t.FrozenSet[str]:
    """Validate a user-facing list like [TLSv1.2, TLSv1.3] (or SSLProtocol tokens) into a set.

    Each entry may be a protocol name or a full SSLProtocol string; ``all`` is accepted.
    SSLv2/SSLv3 are refused unless allow_insecure.
    """
    values = list(values or [])
    if not values:
        raise TsmInputError("protocols must list at least one protocol, for example [TLSv1.2, TLSv1.3]")
    if any(v is None or not str(v).strip() for v in values):
        raise TsmInputError("protocols contains an empty entry")
    entries = [str(v).strip() for v in values]
    if all(re.match(r"^[^\s,+-][^\s,]*$", e) for e in entries):
        # plain names: the union of them
        enabled: t.Set[str] = set()
        for entry in entries:
            enabled |= parse_protocols(entry)
    else:
        joined = " ".join(entries)
        if joined[:1] in "+-":
            # a list that starts with a modifier is relative to everything: "all ..."
            joined = "all " + joined
        enabled = set(parse_protocols(joined))
    if not enabled:
        raise TsmInputError("protocols %r leaves no protocol enabled" % (values,))
    insecure = sorted(enabled & {"SSLv2", "SSLv3"}, key=PROTOCOLS.index)
    if insecure and not allow_insecure:
        raise TsmInputError(
            "protocols %r enables %s, which are broken and refused; use TLSv1.2 and TLSv1.3"
            % (values, ", ".join(insecure))
        )
    return frozenset(enabled)


def sorted_protocols(enabled: t.Iterable[str]) -> t.List[str]:
    return sorted(set(enabled), key=PROTOCOLS.index)
