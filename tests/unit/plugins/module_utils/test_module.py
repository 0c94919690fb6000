# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""TsmModule.finish and mask_dict (the shared result tail of every staging module)."""

from __future__ import annotations

import pytest

from ansible_collections.tableau.tsm.plugins.module_utils._module import MASK, TsmModule, mask_dict
from ansible_collections.tableau.tsm.tests.unit.plugins.modules.tsm_fake import Exit, install, patch_module_args


def test_mask_dict_keeps_boolean_flags_and_masks_secrets():
    data = {
        "password_set": True,
        "passphrase_set": False,
        "password": "plain",
        "ssl.key.passphrase": "ENC(abc)",
        "token": None,
        "host": "h",
        "nested": [{"client_secret": "s", "secret_set": True, "other": "ENC(x)"}],
    }
    assert mask_dict(data) == {
        "password_set": True,
        "passphrase_set": False,
        "password": MASK,
        "ssl.key.passphrase": MASK,
        "token": None,
        "host": "h",
        "nested": [{"client_secret": MASK, "secret_set": True, "other": MASK}],
    }
    # a copy: the input is left alone
    assert data["password"] == "plain"


def _module(monkeypatch, tmp_path, diff=False, check_mode=False, staging=True):
    install(monkeypatch, tmp_path)
    args = {"_ansible_diff": diff, "_ansible_check_mode": check_mode}
    with patch_module_args(args):
        return TsmModule(argument_spec={}, staging=staging, supports_check_mode=True)


def _finish(module, *args, **kwargs):
    with pytest.raises(Exit) as exc:
        module.finish(*args, **kwargs)
    assert exc.value.failed is False
    return exc.value.result


def test_finish_without_diff_mode(monkeypatch, tmp_path):
    module = _module(monkeypatch, tmp_path)
    result = _finish(module, True, {"a": 1}, {"a": 2}, state={"a": 2})
    assert result == {"changed": True, "pending_changes": [], "restart_required": False, "applied": False,
                      "state": {"a": 2}}


def test_finish_with_diff_masks_secrets_and_keeps_flags(monkeypatch, tmp_path):
    module = _module(monkeypatch, tmp_path, diff=True)
    module.staged.append({"family": "f", "action": "enable", "command": "tsm x"})
    module.restart_required = True
    result = _finish(module, 1, {"password": "old", "password_set": False}, {"password": "new", "password_set": True},
                     changed_settings=["password_set"])
    assert result["changed"] is True
    assert result["pending_changes"] == [{"family": "f", "action": "enable", "command": "tsm x"}]
    assert result["restart_required"] is True and result["applied"] is False
    assert result["changed_settings"] == ["password_set"]
    assert result["diff"] == {"before": {"password": MASK, "password_set": False},
                              "after": {"password": MASK, "password_set": True}}


def test_finish_extra_overrides_standard_keys(monkeypatch, tmp_path):
    # tableau_pending_changes reports the changes it found, not what it staged
    module = _module(monkeypatch, tmp_path, diff=True, staging=False)
    found = [{"key": "ssl.enabled", "value": "true", "restart": True}]
    result = _finish(module, False, {"pending_changes": found}, {"pending_changes": found},
                     pending_changes=found, restart_required=True, applied=False, discarded=False)
    assert result == {"changed": False, "pending_changes": found, "restart_required": True, "applied": False,
                      "discarded": False, "diff": {"before": {"pending_changes": found},
                                                   "after": {"pending_changes": found}}}
