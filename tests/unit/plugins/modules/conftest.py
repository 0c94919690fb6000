# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.tableau.tsm.tests.unit.plugins.modules.tsm_fake import install


@pytest.fixture
def fake_tsm(monkeypatch, tmp_path):
    return install(monkeypatch, tmp_path)
