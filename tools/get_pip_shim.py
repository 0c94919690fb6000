"""Offline stand-in for ansible-test's get-pip bootstrap script.

ansible-test downloads get-pip-<ver>.py from ci-files.testing.ansible.com, which is not
reachable from our machines. It looks for a cached copy at
~/.ansible/test/cache/get_pip_<ver with _>.py first (24_2 for ansible-core 2.19,
25_2 for 2.21); `make setup` installs this file there under both names.

It bootstraps pip from the stdlib ensurepip, then pip-installs the requested pip from
the configured index. ensurepip wipes PIP_* from os.environ and sets
PIP_CONFIG_FILE=/dev/null, which would drop the machine's pip.conf (cert=...) for the
second step, so os.environ is saved before and passed back explicitly.
"""
import ensurepip
import os
import subprocess
import sys

GET_PIP_ONLY_FLAGS = ("--no-setuptools", "--no-wheel")


def main():
    env = dict(os.environ)
    args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY_FLAGS]
    ensurepip.bootstrap(upgrade=True, default_pip=True)
    os.environ.clear()
    os.environ.update(env)
    return subprocess.call([sys.executable, "-m", "pip", "install", "--quiet", "--upgrade"] + args, env=env)


if __name__ == "__main__":
    sys.exit(main())
