# -*- coding: utf-8 -*-
# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parity: the in-process result of the check action plugins equals what the module returns when it runs as a
module (a Python process of its own, with AnsibleModule's real exit_json/fail_json: no_log removal,
invocation, warnings), for both modules and a handful of inputs."""

from __future__ import annotations

import datetime

import pytest

pytest.importorskip("cryptography")

from ansible_collections.tableau.tsm.plugins.action import tableau_certificate_check as cert_action  # noqa: E402
from ansible_collections.tableau.tsm.plugins.action import tableau_tls_check as tls_action  # noqa: E402
from ansible_collections.tableau.tsm.plugins.modules import tableau_certificate_check as cert_module  # noqa: E402
from ansible_collections.tableau.tsm.plugins.modules import tableau_tls_check as tls_module  # noqa: E402
from ansible_collections.tableau.tsm.tests.unit.plugins.action.inprocess_helpers import (  # noqa: E402
    make_action,
    module_process,
    without,
)
from ansible_collections.tableau.tsm.tests.unit.plugins.module_utils.test_tls import (  # noqa: E402
    TLSServer,
    free_port,
    make_pki,
)
from ansible_collections.tableau.tsm.tests.unit.plugins.module_utils.tsm_certgen import (  # noqa: E402
    DAY, PKI, key_pem, pem, rsa_key, write,
)

PASSPHRASE = "Parity-Secret-5"


@pytest.fixture(scope="module")
def tls_pki(tmp_path_factory):
    return make_pki(tmp_path_factory)


@pytest.fixture(scope="module")
def servers(tls_pki):
    with TLSServer(tls_pki.paths["leaf"], tls_pki.key) as gateway:
        with TLSServer(tls_pki.paths["leaf"], tls_pki.key, min_version="TLSv1", seclevel0=True) as legacy:
            yield {"gateway": gateway.port, "legacy": legacy.port, "closed": free_port()}


@pytest.fixture(scope="module")
def cert_files(tmp_path_factory):
    pki = PKI("Parity", slot=9)
    now = datetime.datetime.now(datetime.timezone.utc)
    d = tmp_path_factory.mktemp("parity-" + PASSPHRASE)  # the passphrase in the paths: removed from every string
    leaf = pki.issue("tableau.example.com", pki.leaf_key, not_before=now - 10 * DAY, not_after=now + 200 * DAY)
    return {
        "cert": write(d / "server.crt", pem(leaf)),
        "key": write(d / "server.key", key_pem(pki.leaf_key)),
        "key_enc": write(d / "server-enc.key", key_pem(pki.leaf_key, PASSPHRASE)),
        "other_key": write(d / "other.key", key_pem(rsa_key(2048, slot=98))),
        "chain": write(d / "chain.crt", pem(pki.intermediate) + pem(pki.root)),
        "soon": write(d / "soon.crt", pem(pki.issue("tableau.example.com", pki.leaf_key,
                                                    not_before=now - 400 * DAY, not_after=now + 5 * DAY))),
    }


def in_process(action_module, module, args, check_mode=False):
    name = module.__name__.replace("ansible_collections.", "").replace(".plugins.modules", "")
    action, calls = make_action(action_module.ActionModule, name, args, check_mode=check_mode)
    result = action.run(task_vars={})
    assert calls == []
    return result


def assert_parity(action_module, module, args, tmp_path, check_mode=False):
    ours = without(in_process(action_module, module, args, check_mode=check_mode))
    theirs = without(module_process(module, args, tmp_path, check_mode=check_mode))
    if "warnings" in theirs and args.get("passphrase"):
        # ansible-core 2.19+ does not remove no_log values from a module's warnings (they are WarningSummary
        # objects by then, which remove_values does not look into); the action plugin removes them from the
        # whole result, warnings included.
        theirs["warnings"] = [w.replace(args["passphrase"], "********") for w in theirs["warnings"]]
    assert ours == theirs
    return ours


TLS_CASES = {
    "passes": lambda p, s: {"host": "127.0.0.1", "port": s["gateway"], "server_name": "localhost",
                            "expected_fingerprint": p.fingerprint("leaf"), "ca_file": p.paths["ca"],
                            "protocols_accepted": ["TLSv1.2", "tlsv1.3"], "protocols_refused": ["SSLv3", "TLSv1.1"]},
    "mismatch fails": lambda p, s: {"host": "127.0.0.1", "port": s["legacy"], "protocols_refused": ["TLSv1"]},
    "mismatch reported": lambda p, s: {"host": "127.0.0.1", "port": s["legacy"], "protocols_refused": ["TLSv1"],
                                       "expected_cert_file": p.paths["other"], "fail_on_mismatch": False},
    "refused": lambda p, s: {"host": "127.0.0.1", "port": s["closed"], "timeout": 2},
    "targets": lambda p, s: {"targets": [{"name": "gw", "host": "127.0.0.1", "port": s["gateway"]},
                                         {"host": "127.0.0.1", "port": s["legacy"], "protocols_refused": []},
                                         {"host": "127.0.0.1", "port": s["closed"]}],
                             "protocols_refused": ["TLSv1.1"], "timeout": 2},
    "bad input": lambda p, s: {"host": "127.0.0.1", "port": s["gateway"], "protocols_accepted": ["SSLv2"]},
    "bad target": lambda p, s: {"targets": [{"host": "127.0.0.1", "port": 70000}]},
    "validation": lambda p, s: {"port": s["gateway"]},
    "unsupported": lambda p, s: {"host": "127.0.0.1", "nope": 1},
}


@pytest.mark.parametrize("case", sorted(TLS_CASES))
def test_tls_check_parity(tls_pki, servers, tmp_path, case):
    args = TLS_CASES[case](tls_pki, servers)
    assert_parity(tls_action, tls_module, args, tmp_path)


def test_tls_check_parity_check_mode(tls_pki, servers, tmp_path):
    assert_parity(tls_action, tls_module, TLS_CASES["passes"](tls_pki, servers), tmp_path, check_mode=True)


CERT_CASES = {
    "good": lambda f: {"cert_file": f["cert"], "key_file": f["key"], "chain_file": f["chain"],
                       "expected_hostname": "tableau.example.com"},
    "encrypted key": lambda f: {"cert_file": f["cert"], "key_file": f["key_enc"], "passphrase": PASSPHRASE},
    "wrong passphrase": lambda f: {"cert_file": f["cert"], "key_file": f["key_enc"], "passphrase": "x" + PASSPHRASE},
    "warnings": lambda f: {"cert_file": f["soon"], "key_file": f["key"], "passphrase": PASSPHRASE},
    "warnings and failure": lambda f: {"cert_file": f["soon"], "key_file": f["key"], "min_days_left": 10},
    "wrong key reported": lambda f: {"cert_file": f["cert"], "key_file": f["other_key"], "fail_on_error": False},
    "negative": lambda f: {"cert_file": f["cert"], "key_file": f["key"], "warn_days": -3},
    "validation": lambda f: {"key_file": f["key"], "passphrase": PASSPHRASE},
    "unsupported": lambda f: {"cert_file": f["cert"], "key_file": f["key"], "extra": "x"},
}


@pytest.mark.parametrize("case", sorted(CERT_CASES))
def test_certificate_check_parity(cert_files, tmp_path, case):
    args = CERT_CASES[case](cert_files)
    result = assert_parity(cert_action, cert_module, args, tmp_path)
    if "passphrase" in args:
        assert args["passphrase"] not in repr(result)
