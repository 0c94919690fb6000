# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import itertools
import os
import stat

import pytest

from ansible_collections.tableau.tsm.plugins.module_utils import _files as F
from ansible_collections.tableau.tsm.plugins.module_utils import _protocols as P
from ansible_collections.tableau.tsm.plugins.module_utils._errors import TsmInputError

MODERN = {"TLSv1.2", "TLSv1.3"}


@pytest.mark.parametrize("text, expected", [
    ("all -SSLv2 -SSLv3 -TLSv1 -TLSv1.1", MODERN),
    ("all, -SSLv2, -SSLv3", {"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}),
    ("ALL,-sslv3 ,  -tlsv1,-TLSV1.1", MODERN),
    ("all", {"SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}),
    ("TLSv1.2 +TLSv1.3", MODERN),
    ("-all +TLSv1.3", {"TLSv1.3"}),
    ("TLSv1.2 TLSv1.3", {"TLSv1.3"}),  # Apache: a later token without sign resets
    ("all +SSLv2", {"SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}),
])
def test_parse(text, expected):
    assert P.parse_protocols(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "all -TLSv1.4", "all, -SSLv2, foo", "TLS1.9"])
def test_parse_invalid(text):
    with pytest.raises(TsmInputError) as exc:
        P.parse_protocols(text)
    assert "protocol" in exc.value.msg.lower()


def test_render_canonical():
    assert P.render_protocols(MODERN) == "all -SSLv2 -SSLv3 -TLSv1 -TLSv1.1"
    assert P.render_protocols({"TLSv1.3"}) == "all -SSLv2 -SSLv3 -TLSv1 -TLSv1.1 -TLSv1.2"
    with pytest.raises(TsmInputError):
        P.render_protocols(set())


def test_render_roundtrip_every_subset():
    for n in range(1, len(P.PROTOCOLS) + 1):
        for subset in itertools.combinations(P.PROTOCOLS, n):
            assert P.parse_protocols(P.render_protocols(subset)) == set(subset)


def test_user_list():
    assert P.protocols_from_list(["TLSv1.2", "TLSv1.3"]) == MODERN
    assert P.protocols_from_list(["tlsv1.3", "TLSv1.2"]) == MODERN
    assert P.protocols_from_list(["all -SSLv3 -TLSv1 -TLSv1.1"]) == MODERN
    assert P.protocols_from_list(["-SSLv3", "-TLSv1", "-TLSv1.1"]) == MODERN
    assert P.protocols_from_list(["TLS1.2", "TLSv1.3"]) == MODERN


@pytest.mark.parametrize("values, fragment", [
    ([], "at least one"),
    (["TLSv1.2", "SSLv3"], "SSLv3"),
    (["all"], "SSLv3"),
    (["TLSv1.2", "TLSv9"], "TLSv9"),
    (["TLSv1.2", ""], "empty"),
    (["-all"], "no protocol"),
])
def test_user_list_invalid(values, fragment):
    with pytest.raises(TsmInputError) as exc:
        P.protocols_from_list(values)
    assert fragment in exc.value.msg


def test_try_parse():
    assert P.try_parse_protocols("bogus value") is None
    assert P.try_parse_protocols(P.DEFAULT_TSM_PROTOCOLS) == {"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}


def test_content_names():
    name = F.content_name("cert", b"abc", ".crt")
    assert name == "tableau-tsm-cert-ba7816bf8f01cfea.crt"
    assert F.fingerprint_from_name(name) == "ba7816bf8f01cfea"
    assert F.fingerprint_from_name("/some/dir/" + name, role="cert") == "ba7816bf8f01cfea"
    assert F.fingerprint_from_name(name, role="chain") is None
    assert F.fingerprint_from_name("TABLEAU-TSM-KEY-BA7816BF8F01CFEA.KEY", role="key") == "ba7816bf8f01cfea"
    assert F.parse_name(F.content_name("mutual-ssl-ca", b"x", "crt"))[0] == "mutual-ssl-ca"
    for other in (None, "", "server.crt", "tableau-tsm-cert-xyz.crt", "tableau-tsm-cert-ba7816bf8f01cfe.crt"):
        assert F.fingerprint_from_name(other) is None


def test_private_copies(tmp_path):
    with F.PrivateCopies(parent=str(tmp_path)) as copies:
        path = copies.add("cert", b"data", ".crt")
        again = copies.add("cert", b"data", ".crt")
        assert path == again
        assert os.path.basename(path) == F.content_name("cert", b"data", ".crt")
        assert stat.S_IMODE(os.stat(copies.path).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        with open(path, "rb") as handle:
            assert handle.read() == b"data"
        directory = copies.path
    assert not os.path.exists(directory)


def test_private_copies_removed_on_error(tmp_path):
    with pytest.raises(RuntimeError):
        with F.PrivateCopies(parent=str(tmp_path)) as copies:
            copies.add("key", b"k", ".key")
            directory = copies.path
            raise RuntimeError("boom")
    assert not os.path.exists(directory)
