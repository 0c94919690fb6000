#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: tableau_certificate_files
short_description: Copy certificate and key files from the controller into one private directory, in one run
version_added: 1.0.0
description:
  - Copies a set of certificate, key, chain, CA and revocation files from the Ansible controller into one
    directory of the managed node (typically the initial node of a Tableau cluster, where C(tsm) reads them).
  - It does what a M(ansible.builtin.file) task for the directory plus an M(ansible.builtin.copy) loop over
    the files do, in B(one) module execution on the node, whatever the number of files. Each copy task costs the
    controller one module run (and CPU) per file; this module costs one per directory.
  - The action plugin reads every file on the controller (Ansible Vault encrypted files are decrypted) and
    passes the contents to the module in a hidden option that is marked C(no_log). File contents are never
    returned, logged, shown in a diff or in an error message; only file names, SHA-256 digests and modes are.
  - A file is written only when its content differs from the file on the node (SHA-256 compared on the node),
    like M(ansible.builtin.copy) with O(ansible.builtin.copy#module:force=true). Its mode, owner and group are
    corrected when only they differ.
  - Writes are atomic - a temporary file in O(dest) gets the mode, owner and group first, then the content, and
    then replaces the file (C(os.replace)), so no reader ever sees a partial file or one with a wider mode.
  - Every check (local files readable, names valid, O(dest) a directory, owner and group known) happens before the
    first write on the node.
author:
  - tableau.tsm contributors (@tableau-tsm)
extends_documentation_fragment:
  - tableau.tsm._attributes
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
  check_mode:
    support: full
    details:
      - Reports which files would be written, and whether the directory would be created, without writing.
  diff_mode:
    support: full
    details:
      - The diff lists file names with their SHA-256 digest and mode, never their content.
  idempotent:
    support: full
options:
  dest:
    description:
      - Directory on the managed node that receives the files.
      - Created (with missing parent directories) when it does not exist. Its mode is set to O(dest_mode), and
        its owner and group to O(owner) and O(group), whether it was created or not.
      - The task fails, before any write, when O(dest) exists and is not a directory.
    type: path
    required: true
  dest_mode:
    description:
      - Mode of O(dest), as an octal string such as V('0700') (or V('0750') when a group must read the files).
    type: raw
    default: '0700'
  files:
    description:
      - The files to copy. An empty list only makes sure that O(dest) exists (and, with O(remove_others=true),
        empties it).
    type: list
    elements: dict
    required: true
    suboptions:
      src:
        description:
          - Path of the file on the B(controller).
          - A relative path is searched like M(ansible.builtin.copy) searches its O(ansible.builtin.copy#module:src),
            in the C(files) directory of the role, then next to the playbook.
        type: path
        required: true
      name:
        description:
          - Name of the file in O(dest). A plain file name, without C(/); not V(.) or V(..).
          - Names must be unique in O(files).
        type: str
        required: true
      mode:
        description:
          - Mode of the file, as an octal string such as V('0600').
        type: raw
        default: '0600'
  owner:
    description:
      - Name or numeric id of the user that owns O(dest) and the files. When not set, new files are owned by the
        user the module runs as, and the owner of existing files is not changed.
    type: str
  group:
    description:
      - Name or numeric id of the group of O(dest) and the files. When not set, the group is not managed.
    type: str
  remove_others:
    description:
      - Also remove the files (and symbolic links) in O(dest) that O(files) does not name, for example a chain
        file from an earlier configuration. Directories in O(dest) are never removed.
      - Off by default, so that O(dest) can hold files that other tasks manage.
    type: bool
    default: false
  _contents:
    description:
      - B(Internal), set by the action plugin - a dictionary of file name to the base64-encoded content that it read
        from O(files[].src) on the controller. A task cannot set it (the action plugin refuses the option).
      - Marked C(no_log); never returned.
    type: dict
notes:
  - O(dest) should be a directory that only this module manages (for example C(/etc/tableau-tsm/certs)), so
    that its mode can be enforced.
  - The whole content of every file travels in the module's arguments (base64). Certificate and key files are
    small; do not use the module for large files.
seealso:
  - module: ansible.builtin.copy
  - module: tableau.tsm.tableau_external_ssl
  - module: tableau.tsm.tableau_custom_cert
"""

EXAMPLES = r"""
- name: Copy the gateway certificate, key and chain to the initial node
  tableau.tsm.tableau_certificate_files:
    dest: /etc/tableau-tsm/certs
    owner: tableau
    files:
      - {src: certs/gateway.crt, name: server.crt}
      - {src: certs/gateway.key, name: server.key}
      - {src: certs/chain.crt, name: chain.crt}

- name: Keep exactly the named files, readable by a group
  tableau.tsm.tableau_certificate_files:
    dest: /etc/tableau-tsm/certs
    dest_mode: '0750'
    group: tableau
    remove_others: true
    files:
      - {src: /secure/ca.crt, name: custom_ca.crt, mode: '0640'}
  register: cert_files
"""

RETURN = r"""
dest:
  description: The directory on the managed node.
  returned: always
  type: str
  sample: /etc/tableau-tsm/certs
dest_created:
  description: Whether O(dest) was created (or would be, in check mode).
  returned: always
  type: bool
  sample: false
files:
  description: One entry per file of O(files), in the same order. Never the content.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: File name in O(dest).
      type: str
      sample: server.crt
    path:
      description: Full path on the managed node.
      type: str
      sample: /etc/tableau-tsm/certs/server.crt
    sha256:
      description: SHA-256 digest of the content (hex).
      type: str
      sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    mode:
      description: Mode of the file, as an octal string.
      type: str
      sample: '0600'
    changed:
      description: Whether the file was written or its mode, owner or group corrected (or would be, in check mode).
      type: bool
      sample: true
    content_changed:
      description: Whether the content was written (or would be, in check mode); V(false) when only the mode, owner or group changed.
      type: bool
      sample: true
removed:
  description: Names of the files removed from O(dest) because of O(remove_others=true) (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [chain.crt]
"""

import base64
import binascii
import grp
import hashlib
import os
import pwd
import stat
import tempfile
import typing as t

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native

from ansible_collections.tableau.tsm.plugins.module_utils._files import CERTIFICATE_FILES_ARGUMENT_SPEC


def _parse_mode(value: t.Any, what: str) -> int:
    """An octal string ('0600', '600') or an int (already numeric) -> int; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("%s must be an octal string such as '0600', got %r" % (what, value))
    if isinstance(value, int):
        mode = value
    else:
        text = str(value).strip()
        try:
            mode = int(text, 8)
        except ValueError:
            raise ValueError("%s must be an octal string such as '0600', got %r" % (what, text)) from None
    if mode < 0 or mode > 0o7777:
        raise ValueError("%s %r is not a file mode" % (what, value))
    return mode


def _resolve_uid(owner: t.Optional[str]) -> int:
    if owner is None or owner == "":
        return -1
    if owner.isdigit():
        return int(owner)
    try:
        return pwd.getpwnam(owner).pw_uid
    except KeyError:
        raise ValueError("owner %r: no such user on this node" % owner) from None


def _resolve_gid(group: t.Optional[str]) -> int:
    if group is None or group == "":
        return -1
    if group.isdigit():
        return int(group)
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise ValueError("group %r: no such group on this node" % group) from None


def _sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(65536), b""):
            digest.update(block)
    return digest.hexdigest()


def _attrs_differ(st: os.stat_result, mode: int, uid: int, gid: int) -> bool:
    return (stat.S_IMODE(st.st_mode) != mode
            or (uid != -1 and st.st_uid != uid)
            or (gid != -1 and st.st_gid != gid))


def _fix_attrs(path: str, st: os.stat_result, mode: int, uid: int, gid: int) -> None:
    if (uid != -1 and st.st_uid != uid) or (gid != -1 and st.st_gid != gid):
        os.chown(path, uid, gid)
    # chmod after chown: chown may clear set-id bits
    os.chmod(path, mode)


def _write_atomic(dest: str, name: str, data: bytes, mode: int, uid: int, gid: int) -> None:
    """Temp file in dest (mode, owner, group set before any content), then os.replace."""
    fd, tmp = tempfile.mkstemp(prefix=".%s." % name, suffix=".tmp", dir=dest)
    try:
        # mkstemp created the file 0600; owner, group and mode before any content
        if uid != -1 or gid != -1:
            os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    os.close(fd)
    try:
        os.replace(tmp, os.path.join(dest, name))
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _line(name: str, sha256: t.Optional[str], mode: t.Optional[int]) -> str:
    if sha256 is None:
        return "%s: (absent)\n" % name
    return "%s: sha256 %s mode %s\n" % (name, sha256, "%04o" % mode if mode is not None else "?")


def run(module: AnsibleModule) -> t.Dict[str, t.Any]:
    """Check everything, then write; returns the result (no content, ever)."""
    params = module.params
    dest = params["dest"]
    contents = params["_contents"]
    if contents is None:
        module.fail_json(msg="tableau_certificate_files needs its action plugin: call it as "
                             "tableau.tsm.tableau_certificate_files from a task, not as a bare module")

    # --- everything that can fail, before the first write
    try:
        dest_mode = _parse_mode(params["dest_mode"], "dest_mode")
        uid = _resolve_uid(params["owner"])
        gid = _resolve_gid(params["group"])
    except ValueError as exc:
        module.fail_json(msg=to_native(exc))

    wanted = []  # (name, data, mode, sha256)
    seen = set()
    for index, item in enumerate(params["files"]):
        name = item["name"]
        if not name or "/" in name or "\0" in name or name in (".", ".."):
            module.fail_json(msg="files[%d].name %r must be a plain file name (no '/', not '.' or '..')" % (index, name))
        if name in seen:
            module.fail_json(msg="files[%d].name %r is named twice" % (index, name))
        seen.add(name)
        try:
            mode = _parse_mode(item["mode"], "files[%d].mode (%s)" % (index, name))
        except ValueError as exc:
            module.fail_json(msg=to_native(exc))
        encoded = contents.get(name)
        if not isinstance(encoded, str):
            module.fail_json(msg="no content for %s: the action plugin did not pass it" % name)
        try:
            data = base64.b64decode(to_bytes(encoded), validate=True)
        except (binascii.Error, ValueError):
            module.fail_json(msg="the content passed for %s is not valid base64" % name)
        wanted.append((name, data, mode, hashlib.sha256(data).hexdigest()))

    dest_exists = os.path.lexists(dest)
    if dest_exists and not os.path.isdir(dest):
        module.fail_json(msg="dest %s exists and is not a directory" % dest)

    dest_changed = False
    current = {}  # name -> (sha256 or None, lstat or None)
    if dest_exists:
        dest_st = os.stat(dest)
        dest_changed = _attrs_differ(dest_st, dest_mode, uid, gid)
        for name, _data, _mode, _sha in wanted:
            path = os.path.join(dest, name)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                current[name] = (None, None)
                continue
            if stat.S_ISDIR(st.st_mode):
                module.fail_json(msg="%s is a directory; it cannot be replaced by the file %s" % (path, name))
            if stat.S_ISREG(st.st_mode):
                try:
                    current[name] = (_sha256_file(path), st)
                except OSError as exc:
                    module.fail_json(msg="cannot read %s to compare it: %s" % (path, to_native(exc.strerror or exc)))
            else:  # a symbolic link or a special file: replaced by a regular file
                current[name] = ("(not a regular file)", None)
    else:
        current = dict((name, (None, None)) for name, _data, _mode, _sha in wanted)

    to_remove = []
    if params["remove_others"] and dest_exists:
        for entry in sorted(os.listdir(dest)):
            path = os.path.join(dest, entry)
            if entry in seen or (os.path.isdir(path) and not os.path.islink(path)):
                continue
            to_remove.append(entry)

    # --- plan
    results = []
    for name, _data, mode, sha in wanted:
        cur_sha, cur_st = current[name]
        content_changed = cur_sha != sha
        attrs_changed = (not content_changed) and cur_st is not None and _attrs_differ(cur_st, mode, uid, gid)
        results.append({
            "name": name,
            "path": os.path.join(dest, name),
            "sha256": sha,
            "mode": "%04o" % mode,
            "changed": content_changed or attrs_changed,
            "content_changed": content_changed,
        })

    changed = (not dest_exists) or dest_changed or bool(to_remove) or any(r["changed"] for r in results)

    # --- act
    if not module.check_mode and changed:
        try:
            if not dest_exists:
                os.makedirs(dest, mode=0o700)
                dest_st = os.stat(dest)
                _fix_attrs(dest, dest_st, dest_mode, uid, gid)
            elif dest_changed:
                _fix_attrs(dest, dest_st, dest_mode, uid, gid)
            for (name, data, mode, _sha), res in zip(wanted, results):
                if res["content_changed"]:
                    _write_atomic(dest, name, data, mode, uid, gid)
                elif res["changed"]:
                    _fix_attrs(res["path"], current[name][1], mode, uid, gid)
            for entry in to_remove:
                os.unlink(os.path.join(dest, entry))
        except OSError as exc:
            module.fail_json(msg="writing into %s failed: %s" % (dest, to_native(exc.strerror or exc)),
                             files=[dict(r) for r in results], dest=dest)

    result = {
        "changed": changed,
        "dest": dest,
        "dest_created": not dest_exists,
        "files": results,
        "removed": to_remove,
    }
    if module._diff:  # pylint: disable=protected-access
        before = []
        after = []
        if not dest_exists:
            before.append("%s/: (absent)\n" % dest)
            after.append("%s/: directory mode %04o\n" % (dest, dest_mode))
        elif dest_changed:
            before.append("%s/: directory mode %04o\n" % (dest, stat.S_IMODE(dest_st.st_mode)))
            after.append("%s/: directory mode %04o\n" % (dest, dest_mode))
        for (name, _data, mode, sha), res in zip(wanted, results):
            if not res["changed"]:
                continue
            cur_sha, cur_st = current[name]
            before.append(_line(name, cur_sha, stat.S_IMODE(cur_st.st_mode) if cur_st is not None else None))
            after.append(_line(name, sha, mode))
        for entry in to_remove:
            before.append("%s: present\n" % entry)
            after.append("%s: (absent)\n" % entry)
        result["diff"] = {
            "before_header": dest,
            "after_header": dest,
            "before": "".join(before),
            "after": "".join(after),
        }
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            CERTIFICATE_FILES_ARGUMENT_SPEC,
            # Set by the action plugin: {name: base64 content}. Hidden, never returned.
            _contents={"type": "dict", "no_log": True},
        ),
        supports_check_mode=True,
    )
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
