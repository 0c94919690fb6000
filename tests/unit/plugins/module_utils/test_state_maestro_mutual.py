# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""State readers and comparison of the maestro (Rserve/TabPy) and mutual SSL families."""

from __future__ import annotations

import pytest

from ansible_collections.tableau.tsm.plugins.module_utils import _state_maestro as M
from ansible_collections.tableau.tsm.plugins.module_utils import _state_mutual_ssl as S
from ansible_collections.tableau.tsm.plugins.module_utils._errors import TsmInputError

CERT = "tableau-tsm-rserve-cert-0123456789abcdef.crt"


def export(**keys):
    return {"configKeys": keys, "configEntities": {}, "topologyVersion": {}}


def rserve(**values):
    return export(**{"maestro.rserve.%s" % k: v for k, v in values.items()})


# maestro -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("service", ["rserve", "tabpy"])
def test_maestro_defaults(service):
    state = M.read_state({}, service)
    assert state == {"enabled": False, "connection_type": None, "secure": None, "host": None, "port": None,
                     "username": None, "password_set": False, "connect_timeout_ms": None,
                     "cert_file_name": None, "cert_sha256_prefix": None}


def test_maestro_enabled_tolerant():
    data = {"CONFIGKEYS": {"Maestro.Rserve.Enabled": "TRUE", "maestro.rserve.connection_type": "maestro-rserve-secure",
                           "maestro.rserve.host": " rserve.example.com ", "maestro.rserve.port": "6311",
                           "maestro.rserve.username": "tableau", "maestro.rserve.password": "ENC(abc)",
                           "maestro.rserve.connect_timeout_ms": "900000", "maestro.rserve.cert_file_name": CERT,
                           "maestro.tabpy.enabled": "true", "unknown.key": "x"}}
    state = M.read_state(data, "rserve")
    assert state["enabled"] is True and state["secure"] is True
    assert state["host"] == "rserve.example.com" and state["port"] == 6311
    assert state["password_set"] is True and state["connect_timeout_ms"] == 900000
    assert state["cert_sha256_prefix"] == "0123456789abcdef"
    # a tabpy name in the rserve slot is not ours
    other = M.read_state(rserve(cert_file_name="tableau-tsm-tabpy-cert-0123456789abcdef.crt"), "rserve")
    assert other["cert_file_name"] and other["cert_sha256_prefix"] is None
    assert M.read_state(rserve(port="abc"), "rserve")["port"] is None


def test_maestro_unknown_service():
    with pytest.raises(ValueError):
        M.read_state({}, "vizql")


def desired(**over):
    base = {"enabled": True, "connection_type": "maestro-rserve-secure", "host": "rserve.example.com", "port": 6311,
            "username": "tableau", "connect_timeout_ms": 900000, "cert_sha256_prefix": "0123456789abcdef"}
    base.update(over)
    return base


def test_maestro_differences():
    current = dict(desired(), host="RSERVE.example.com")
    assert M.differences(current, desired()) == []
    assert M.differences(dict(current, enabled=False), desired()) == ["enabled"]
    assert M.differences(current, desired(port=1, username=None)) == ["port", "username"]
    assert M.differences(dict(current, cert_sha256_prefix=None), desired()) == ["cert_sha256_prefix"]
    assert M.differences(current, desired(username="")) == ["username"]
    assert M.differences(dict(current, username=None), desired(username="")) == []


def test_connection_type_and_roles():
    assert M.connection_type("tabpy", True) == "maestro-tabpy-secure"
    assert M.connection_type("rserve", False) == "maestro-rserve"
    assert M.cert_role("tabpy") == "tabpy-cert" and M.family("tabpy") == "maestro_tabpy"


# the update_password plan (in _maestro) ------------------------------------------------------------

def _plan(current, params, want=None):
    from ansible_collections.tableau.tsm.plugins.module_utils._maestro import plan
    want = dict(want or desired(), password_set=bool(params.get("password")))
    reasons = plan(current, want, params, "rserve")
    return reasons, want


def test_plan_password_rules():
    stored = dict(desired(), password_set=True)
    # on_create, same settings, password given: nothing to do
    assert _plan(stored, {"password": "x", "username": "tableau", "update_password": "on_create"})[0] == []
    # always: a change every time
    assert _plan(stored, {"password": "x", "username": "tableau", "update_password": "always"})[0] == \
        ["password (update_password=always)"]
    # no password stored yet: set it
    assert _plan(dict(stored, password_set=False),
                 {"password": "x", "username": "tableau", "update_password": "on_create"})[0] == ["password_set"]
    # not managed: no change, and the after state keeps the stored password
    reasons, want = _plan(stored, {"username": "tableau", "update_password": "on_create"})
    assert reasons == [] and want["password_set"] is True
    # a change would drop the stored password: refused
    with pytest.raises(TsmInputError, match="password is required to change port"):
        _plan(stored, {"username": "tableau", "update_password": "on_create"}, desired(port=1))
    # ... unless the connection is disabled (that is a creation)
    reasons, want = _plan(dict(stored, enabled=False), {"username": "tableau"}, desired())
    assert reasons == ["enabled"] and want["password_set"] is False
    # no credentials at all: stored ones are removed
    reasons, want = _plan(stored, {}, desired(username=None))
    assert reasons == ["username", "password_set"] and want["password_set"] is False


# mutual SSL --------------------------------------------------------------------------------------

def test_mutual_defaults():
    assert S.read_state({}) == {"enabled": False, "fallback_to_basic": False, "user_name_mapping": None,
                                "ca_cert_file_name": None, "ca_cert_sha256_prefix": None,
                                "revocation_file_name": None, "revocation_sha256_prefix": None,
                                "external_ssl_enabled": False}


def test_mutual_read():
    state = S.read_state(export(**{
        "ssl.enabled": "true",
        "ssl.client_certificate_login.required": "true",
        "ssl.client_certificate_login.fallback_to_basic": "TRUE",
        "ssl.client_certificate_login.mapping": "UPN",
        "ssl.client_certificate_login.cacert.file_name": "tableau-tsm-mssl-ca-0123456789abcdef.crt",
        "ssl.client_certificate_login.revocation.file_name": "tableau-tsm-mssl-crl-fedcba9876543210.der",
    }))
    assert state["enabled"] and state["fallback_to_basic"] and state["external_ssl_enabled"]
    assert state["user_name_mapping"] == "upn"
    assert state["ca_cert_sha256_prefix"] == "0123456789abcdef"
    assert state["revocation_sha256_prefix"] == "fedcba9876543210"
    foreign = S.read_state(export(**{"ssl.client_certificate_login.cacert.file_name": "ca.crt"}))
    assert foreign["ca_cert_file_name"] == "ca.crt" and foreign["ca_cert_sha256_prefix"] is None


def test_mutual_configure_differences():
    current = {"fallback_to_basic": False, "user_name_mapping": "upn", "ca_cert_sha256_prefix": "a" * 16,
               "revocation_sha256_prefix": None}
    none = {"fallback_to_basic": None, "user_name_mapping": None, "ca_cert_sha256_prefix": None,
            "revocation_sha256_prefix": None}
    assert S.configure_differences(current, none) == []
    assert S.configure_differences(current, dict(none, fallback_to_basic=False, user_name_mapping="upn",
                                                 ca_cert_sha256_prefix="a" * 16)) == []
    assert S.configure_differences(current, dict(none, fallback_to_basic=True)) == ["fallback_to_basic"]
    assert S.configure_differences(current, dict(none, ca_cert_sha256_prefix="b" * 16,
                                                 revocation_sha256_prefix="c" * 16)) == ["ca_cert", "revocation_file"]
