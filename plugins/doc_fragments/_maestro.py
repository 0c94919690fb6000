# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this doc fragment is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

from __future__ import annotations


class ModuleDocFragment:
    # What tableau_maestro_rserve_ssl and tableau_maestro_tabpy_ssl share word for word. The options
    # that name the service (state, secure, host, port, password, connect_timeout_ms) stay in each module.
    DOCUMENTATION = r"""
attributes:
  check_mode:
    support: full
    details:
      - Check mode validates the input and reads the server's configuration, but makes no write call.
  diff_mode:
    support: full
    details:
      - The diff shows the connection settings and the certificate file name and content hash; never the password.
  idempotent:
    support: partial
    details:
      - Not idempotent with O(update_password=always) and a O(password), because the stored password cannot be read
        back, so the connection is enabled again on every run.
requirements:
  - cryptography >= 3.4 (on the managed node) when O(cert_file) is given
options:
  username:
    description:
      - User name for the server. Omit it, together with O(password), for a server without authentication.
    type: str
  cert_file:
    description:
      - Path on the managed node of the certificate of the server, or of the CA that issued it, PEM or DER;
        a PEM file may hold several certificates.
      - Required when O(secure=true); refused when O(secure=false).
    type: path
  update_password:
    description:
      - When the O(password) is passed to tsm.
      - V(on_create) (default) passes it when the server stores no password yet, or when another setting changes
        (C(enable) sets every setting at once). A re-run with the same settings is then no change, which keeps
        roles idempotent.
      - V(always) enables the connection again on every run that has a O(password), so the module reports a
        change every time (the stored password cannot be compared). Use it to rotate the password, then switch
        back.
      - Unlike M(ansible.builtin.user), the default is V(on_create), because V(always) would stage a change,
        and a restart when applied, on every run.
      - When another setting changes, the server stores a password and no O(password) is given, the module fails
        before any write and asks for it, because enabling again without it would drop the stored password.
      - When neither O(username) nor O(password) is given, stored credentials are removed.
    type: str
    choices: [always, on_create]
    default: on_create
"""
