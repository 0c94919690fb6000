#!/usr/bin/python
# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: tableau_repository_ssl
short_description: Manage SSL of the Tableau Server repository (PostgreSQL) with tsm security repository-ssl
version_added: 1.0.0
description:
  - Enables or disables SSL for connections to the Tableau Server repository (PostgreSQL) with
    C(tsm security repository-ssl enable [--internal-only]) / C(disable), idempotently.
  - The module compares the requested configuration (applied plus pending) from C(tsm settings export).
    SSL enabled and required for all connections is O(state=present) with O(internal_only=false); enabled and
    required only for internal connections is O(state=present) with O(internal_only=true). Running the module
    again before the change is applied reports no change.
  - Optionally fetches the repository server certificate with
    C(tsm security repository-ssl get-certificate-file) and writes it to O(certificate_dest) only when its
    content differs (byte comparison), for clients that connect to the repository directly. This costs one
    more read call to tsm, only when O(certificate_dest) is set.
  - Changes are staged; they take effect after C(tsm pending-changes apply), which restarts Tableau Server.
    See O(apply) and M(tableau.tsm.tableau_pending_changes).
extends_documentation_fragment:
  - tableau.tsm._connection
  - tableau.tsm._connection.apply
  - tableau.tsm._attributes
  - tableau.tsm._attributes.actiongroup_tsm
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
    details:
      - Check mode reads the server's configuration and, with O(certificate_dest), fetches the certificate to a
        private temporary file to compare it, but makes no write call and writes no file.
  diff_mode:
    support: full
    details:
      - The diff shows whether repository SSL is enabled and required.
  idempotent:
    support: full
options:
  state:
    description:
      - V(present) enables repository SSL.
      - V(absent) disables repository SSL (C(tsm security repository-ssl disable)).
    type: str
    choices: [present, absent]
    default: present
  internal_only:
    description:
      - With V(false), SSL is required for all connections to the repository, internal ones and direct
        connections of the C(tableau) and C(readonly) users.
      - With V(true) (C(--internal-only)), SSL is required for internal connections and optional for direct
        connections.
      - Ignored when O(state=absent).
    type: bool
    default: false
  certificate_dest:
    description:
      - Path on the managed node where the repository server certificate is written, for example for clients
        that connect to the repository directly with SSL.
      - The file is written only when its content differs from the certificate tsm returns, and then reported by
        RV(certificate_changed). Its parent directory must exist.
      - When O(mode) is not set, the file gets mode V(0600), like every file the collection writes; set O(mode)
        (for example V(0644)) when other users must read the certificate.
      - tsm can return the certificate only once repository SSL is applied. When this task leaves the change
        pending (O(apply=false)), or repository SSL was enabled by an earlier task but not yet applied, the
        certificate is not fetched and the module warns; set O(apply=true) to fetch it after applying, or run the
        task again after the apply.
      - Ignored, with a warning, when O(state=absent).
    type: path
notes:
  - Repository SSL generates the server certificate and key of the repository; they are distributed to the
    nodes by Tableau Server. O(certificate_dest) is only needed by clients outside Tableau Server.
seealso:
  - module: tableau.tsm.tableau_pending_changes
  - module: tableau.tsm.tableau_tls_check
  - name: tsm security repository-ssl
    description: Tableau's reference of the command.
    link: https://help.tableau.com/current/server-linux/en-us/cli_security_tsm.htm
  - name: Configure Postgres SSL to allow direct connections from clients
    description: Tableau's guide to repository SSL.
    link: https://help.tableau.com/current/server-linux/en-us/ssl_config_postgres.htm
author:
  - tableau.tsm contributors (@tableau-tsm)
"""

EXAMPLES = r"""
- name: Require SSL for every repository connection (staged, applied later by a handler)
  tableau.tsm.tableau_repository_ssl:
    state: present
  notify: tableau tsm apply

- name: Require SSL for internal connections only, apply, and save the certificate for direct clients
  tableau.tsm.tableau_repository_ssl:
    internal_only: true
    certificate_dest: /etc/pki/tableau/repository.crt
    owner: root
    group: root
    mode: "0644"
    apply: true

- name: Disable repository SSL
  tableau.tsm.tableau_repository_ssl:
    state: absent
"""

RETURN = r"""
state:
  description:
    - The repository SSL configuration after the task (in check mode, as it would be), from
      C(tsm settings export) (applied plus pending).
  returned: always
  type: dict
  contains:
    enabled:
      description: Whether repository SSL is enabled.
      type: bool
      sample: true
    required:
      description: Whether SSL is required for all connections, direct ones included.
      type: bool
      sample: true
    internal_only:
      description: Whether SSL is required for internal connections only (direct connections may use SSL).
      type: bool
      sample: false
    mode:
      description: V(required), V(internal_only) or V(off).
      type: str
      sample: required
  sample:
    enabled: true
    required: true
    internal_only: false
    mode: required
certificate_dest:
  description: The value of O(certificate_dest).
  returned: when O(certificate_dest) is set and O(state=present)
  type: str
  sample: /etc/pki/tableau/repository.crt
certificate_fetched:
  description: Whether the certificate was fetched from tsm (false when repository SSL was not applied yet).
  returned: when O(certificate_dest) is set and O(state=present)
  type: bool
  sample: true
certificate_changed:
  description: Whether O(certificate_dest) was (in check mode, would be) written because its content differed.
  returned: when O(certificate_dest) is set and O(state=present)
  type: bool
  sample: false
certificate_sha256:
  description: SHA-256 (hex) of the certificate file returned by tsm.
  returned: when the certificate was fetched
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
pending_changes:
  description:
    - What this task staged (in check mode, would stage), one entry per tsm call. Empty when nothing changed.
  returned: always
  type: list
  elements: dict
  sample:
    - family: repository_ssl
      action: enable
      command: tsm security repository-ssl enable --internal-only
restart_required:
  description: Whether this task left staged changes that need C(tsm pending-changes apply) and a restart to take effect.
  returned: always
  type: bool
  sample: true
applied:
  description: Whether this task ran (in check mode, would run) C(tsm pending-changes apply).
  returned: always
  type: bool
  sample: false
"""

import hashlib
import os
import shutil
import tempfile
import typing as t

from ansible_collections.tableau.tsm.plugins.module_utils._errors import TsmError, TsmInputError
from ansible_collections.tableau.tsm.plugins.module_utils._module import TsmModule
from ansible_collections.tableau.tsm.plugins.module_utils._state_repository_ssl import (
    FAMILY,
    KEYS,
    desired_state,
    differs,
    parse_applied_enabled,
    read_state,
)

DEFAULT_CERT_MODE = 0o600
GET_CERT_ARGS = ["security", "repository-ssl", "get-certificate-file", "-f"]


def check_dest(path: str) -> None:
    if os.path.isdir(path):
        raise TsmInputError("certificate_dest %s is a directory; give the path of the certificate file" % path)
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise TsmInputError("certificate_dest %s: the directory %s does not exist" % (path, parent))


def fetch_certificate(module: TsmModule) -> t.Optional[bytes]:
    """The repository certificate from tsm (one read call), or None when repository SSL is not applied yet
    (then one more read call, ``configuration get``, tells that apart from a real failure)."""
    tmpdir = tempfile.mkdtemp(prefix="tableau-tsm-repo-")
    try:
        os.chmod(tmpdir, 0o700)
        target = os.path.join(tmpdir, "repository-server.cert")
        args = GET_CERT_ARGS + [target]
        rc, out, err = module.runner.run(args, check_rc=False)
        if rc == 0 and os.path.isfile(target):
            with open(target, "rb") as handle:
                return handle.read()
        applied = None
        try:
            applied = parse_applied_enabled(module.runner.run(["configuration", "get", "-k", KEYS["enabled"]])[1])
        except TsmError:
            applied = None
        if applied is False:
            return None
        argv = module.runner.build_argv(args)
        detail = (err.strip() or out.strip()).splitlines()
        shown = " ".join(module.runner.mask_argv(argv)[1:])
        if rc == 0:
            msg = "'tsm %s' succeeded but wrote no file" % shown
        else:
            msg = "'tsm %s' failed (rc=%s)%s" % (shown, rc, ": " + detail[-1].strip() if detail else "")
        raise TsmError(module.runner.mask_text(msg), cmd=module.runner.mask_argv(argv), rc=rc,
                       stdout=module.runner.mask_text(out), stderr=module.runner.mask_text(err))
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def write_if_different(module: TsmModule, dest: str, data: bytes) -> bool:
    """Write ``data`` to ``dest`` (atomically) when the content differs; returns whether it did (or would)."""
    current = None
    if os.path.isfile(dest):
        with open(dest, "rb") as handle:
            current = handle.read()
    if current == data:
        return False
    if not module.check_mode:
        fd, tmp = tempfile.mkstemp(prefix=".tableau-tsm-", dir=os.path.dirname(os.path.abspath(dest)))
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            module.atomic_move(tmp, dest, unsafe_writes=module.params.get("unsafe_writes"))
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return True


def handle_certificate(module: TsmModule, dest: str, staged_pending: bool) -> t.Dict[str, t.Any]:
    result: t.Dict[str, t.Any] = {"certificate_dest": dest, "certificate_fetched": False, "certificate_changed": False}
    if staged_pending:
        module.warn("repository SSL is only staged (pending) by this task, and tsm can return the repository "
                    "certificate only once it is applied: %s was not written; set apply: true or run again after "
                    "tsm pending-changes apply" % dest)
        return result
    if module.check_mode and module.applied:
        module.warn("check mode: the repository certificate would be fetched after applying and written to %s "
                    "if it differs" % dest)
        return result
    data = fetch_certificate(module)
    if data is None:
        module.warn("repository SSL is enabled but not applied yet (pending), and tsm can return the repository "
                    "certificate only once it is applied: %s was not written; run again after "
                    "tsm pending-changes apply" % dest)
        return result
    result["certificate_fetched"] = True
    result["certificate_sha256"] = hashlib.sha256(data).hexdigest()
    result["certificate_changed"] = write_if_different(module, dest, data)
    return result


def main() -> None:
    module = TsmModule(
        argument_spec={
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
            "internal_only": {"type": "bool", "default": False},
            "certificate_dest": {"type": "path"},
        },
        staging=True,
        supports_check_mode=True,
        add_file_common_args=True,
    )
    params = module.params
    present = params["state"] == "present"
    dest = params["certificate_dest"]
    cert_result: t.Dict[str, t.Any] = {}
    file_changed = False
    try:
        if dest and not present:
            module.warn("certificate_dest is ignored when state=absent")
            dest = None
        if dest:
            check_dest(dest)

        # The single read call: the requested configuration (applied + pending).
        current = read_state(module.runner.export_settings())
        desired = desired_state(present, params["internal_only"])
        changed = differs(current, desired)
        if changed:
            if present:
                args = ["security", "repository-ssl", "enable"]
                if params["internal_only"]:
                    args.append("--internal-only")
                module.stage(FAMILY, "enable", args)
            else:
                module.stage(FAMILY, "disable", ["security", "repository-ssl", "disable"])
        module.apply_if_requested()

        if dest:
            cert_result = handle_certificate(module, dest, staged_pending=bool(module.staged) and not module.applied)
            file_changed = cert_result["certificate_changed"]
            if os.path.exists(dest):
                file_args = module.load_file_common_arguments(params, path=dest)
                if file_args.get("mode") is None:
                    file_args["mode"] = DEFAULT_CERT_MODE
                file_changed = module.set_fs_attributes_if_different(file_args, file_changed)
    except TsmError as exc:
        module.fail_from(exc, **cert_result)

    after = desired if changed else current
    module.finish(changed or file_changed, current, after, state=after, **cert_result)


if __name__ == "__main__":
    main()
