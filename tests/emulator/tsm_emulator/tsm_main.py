"""Entry point exec'd by each node's ``tsm`` wrapper (TSM_EMULATOR_DIR, TSM_EMULATOR_NODE)."""

import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
# running a file inside the package puts the package dir first on sys.path: replace it
# with its parent so that only ``tsm_emulator.*`` names resolve to our modules.
if sys.path and os.path.abspath(sys.path[0] or ".") == _here:
    sys.path[0] = os.path.dirname(_here)
else:
    sys.path.insert(0, os.path.dirname(_here))

from tsm_emulator import cli  # noqa: E402

if __name__ == "__main__":
    sys.exit(cli.main(sys.argv[1:]))
