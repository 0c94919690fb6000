#!/usr/bin/python
# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: tableau_kms
short_description: Set the key management system (KMS) mode of Tableau Server with tsm security kms set-mode
version_added: 1.0.0
description:
  - Sets the KMS that protects the master extract keys of Tableau Server with
    C(tsm security kms set-mode local|aws|azure), idempotently.
  - The module compares the requested configuration (applied plus pending) from C(tsm settings export),
    that is the mode and, for V(aws) and V(azure), the key settings of that mode. Running the module again before the
    change is applied reports no change.
  - The options are checked before any tsm call; missing options of the mode, options of another mode
    (conflicting options), a malformed AWS region or key ARN, an ARN in another region than O(aws_region), and
    malformed Azure key or vault names fail with a message naming the option and the fault.
  - O(mode=azure) needs Tableau Server 2021.1 or later. The module takes the server version from the
    topology in C(tsm settings export), or, when the export does not carry it, from C(tsm version) (one more read
    call, only when the mode has to change to V(azure)), and fails with a clear message on older versions.
  - Changes are staged; they take effect after C(tsm pending-changes apply), which restarts Tableau Server.
    See O(apply) and M(tableau.tsm.tableau_pending_changes).
extends_documentation_fragment:
  - tableau.tsm._connection
  - tableau.tsm._connection.apply
  - tableau.tsm._attributes
  - tableau.tsm._attributes.actiongroup_tsm
attributes:
  check_mode:
    support: full
    details:
      - Check mode validates the options and reads the server's configuration, but makes no write call.
  diff_mode:
    support: full
    details:
      - The diff shows the mode and the key settings of the AWS and Azure modes (no secrets are involved).
  idempotent:
    support: full
options:
  mode:
    description:
      - V(local) uses the local key store of Tableau Server (the default of Tableau Server).
      - V(aws) uses a customer master key of AWS KMS; needs O(key_arn) and O(aws_region), Tableau Server in EC2 and
        Advanced Management.
      - V(azure) uses a key in Azure Key Vault; needs O(key_name) and O(vault_name), Tableau Server 2021.1 or
        later in Azure and Advanced Management.
    type: str
    choices: [local, aws, azure]
    required: true
  key_arn:
    description:
      - ARN of the AWS KMS customer master key, C(arn:aws:kms:<region>:<12-digit account>:key/<key id>).
      - Required with O(mode=aws); not allowed with other modes.
      - Not a secret; it is passed to tsm on its command line (C(--key-arn)).
    type: str
  aws_region:
    description:
      - AWS region of the key, for example V(us-west-2); must be the region in O(key_arn).
      - Required with O(mode=aws); not allowed with other modes.
    type: str
  key_name:
    description:
      - Name of the key in Azure Key Vault.
      - Required with O(mode=azure); not allowed with other modes.
      - Not a secret; it is passed to tsm on its command line (C(--key-name)).
    type: str
  vault_name:
    description:
      - Name of the Azure Key Vault.
      - Required with O(mode=azure); not allowed with other modes.
    type: str
notes:
  - C(tsm security kms status) checks only the initial node; a node that cannot reach the KMS shows only when
    its services fail. Verify after applying.
  - The option names of C(tsm security kms set-mode azure) are not confirmed against a real server yet.
seealso:
  - module: tableau.tsm.tableau_pending_changes
  - module: tableau.tsm.tableau_security_info
  - name: Key management system
    description: Tableau's overview of KMS modes.
    link: https://help.tableau.com/current/server/en-us/security_kms.htm
author:
  - tableau.tsm contributors (@tableau-tsm)
"""

EXAMPLES = r"""
- name: Use an AWS KMS customer master key (staged, applied later by a handler)
  tableau.tsm.tableau_kms:
    mode: aws
    key_arn: arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    aws_region: us-west-2
  notify: tableau tsm apply

- name: Use Azure Key Vault and apply right away
  tableau.tsm.tableau_kms:
    mode: azure
    key_name: tableau-mek
    vault_name: example-vault
    apply: true

- name: Back to the local key store
  tableau.tsm.tableau_kms:
    mode: local
"""

RETURN = r"""
state:
  description:
    - The KMS configuration after the task (in check mode, as it would be), from C(tsm settings export)
      (applied plus pending). After a change, the settings of the other modes are shown empty, as
      C(set-mode) replaces them.
  returned: always
  type: dict
  contains:
    mode:
      description: The KMS mode, V(local), V(aws) or V(azure).
      type: str
      sample: aws
    aws_key_arn:
      description: ARN of the AWS customer master key; V(null) when not set.
      type: str
      sample: arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    aws_region:
      description: AWS region of the key; V(null) when not set.
      type: str
      sample: us-west-2
    azure_key_name:
      description: Name of the Azure Key Vault key; V(null) when not set.
      type: str
      sample: null
    azure_vault_name:
      description: Name of the Azure Key Vault; V(null) when not set.
      type: str
      sample: null
  sample:
    mode: aws
    aws_key_arn: arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    aws_region: us-west-2
    azure_key_name: null
    azure_vault_name: null
server_version:
  description:
    - Tableau Server version (V(YYYY.N)) as found for the Azure version check.
  returned: when it was looked up (O(mode=azure) and a change was needed) and found
  type: str
  sample: "2024.2"
pending_changes:
  description:
    - What this task staged (in check mode, would stage), one entry per tsm call. Empty when nothing changed.
  returned: always
  type: list
  elements: dict
  sample:
    - family: kms
      action: set-mode
      command: >-
        tsm security kms set-mode aws --key-arn arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
        --aws-region us-west-2
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

import typing as t

from ansible_collections.tableau.tsm.plugins.module_utils._errors import TsmError, TsmInputError
from ansible_collections.tableau.tsm.plugins.module_utils._module import TsmModule
from ansible_collections.tableau.tsm.plugins.module_utils._state_kms import (
    AZURE_SINCE,
    FAMILY,
    desired_state,
    differences,
    format_version,
    kms_args,
    parse_version,
    read_state,
    validate,
    version_from_export,
)


def server_version(module: TsmModule, export: t.Mapping[str, t.Any]) -> t.Optional[t.Tuple[int, int]]:
    """From the export when it carries the topology's binary version, else from ``tsm version``."""
    version = version_from_export(export)
    if version is None:
        version = parse_version(module.runner.run(["version"])[1])
    return version


def main() -> None:
    module = TsmModule(
        argument_spec={
            "mode": {"type": "str", "required": True, "choices": ["local", "aws", "azure"]},
            "key_arn": {"type": "str", "no_log": False},
            "aws_region": {"type": "str"},
            "key_name": {"type": "str", "no_log": False},
            "vault_name": {"type": "str"},
        },
        staging=True,
        supports_check_mode=True,
    )
    params = module.params
    mode = params["mode"]
    extra: t.Dict[str, t.Any] = {}
    try:
        validate(mode, params)
        desired = desired_state(mode, params)

        # The single read call: the requested configuration (applied + pending).
        export = module.runner.export_settings()
        current = read_state(export)
        changed = bool(differences(current, desired))
        if changed and mode == "azure":
            version = server_version(module, export)
            if version is None:
                module.warn("could not determine the Tableau Server version; Azure Key Vault needs 2021.1 or later")
            else:
                extra["server_version"] = format_version(version)
                if version < AZURE_SINCE:
                    raise TsmInputError(
                        "mode=azure needs Tableau Server %s or later; this server runs %s. Upgrade Tableau Server "
                        "or use mode=aws or mode=local" % (format_version(AZURE_SINCE), format_version(version)))
        if changed:
            module.stage(FAMILY, "set-mode", kms_args(desired))
        module.apply_if_requested()
    except TsmError as exc:
        module.fail_from(exc, **extra)

    after = desired if changed else current
    module.finish(changed, current, after, state=after, **extra)


if __name__ == "__main__":
    main()
