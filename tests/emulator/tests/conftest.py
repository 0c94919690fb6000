"""pytest fixtures shared by the tsm CLI tests (test_cli_*.py).

The fixtures are defined in test_cli_helpers.py; importing them here makes pytest offer
them to every test module in this directory without a wildcard import.
"""

from test_cli_helpers import cluster, make, no_daemon, pki

__all__ = ["cluster", "make", "no_daemon", "pki"]
