# Copyright (c) 2026, tableau.tsm contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The one place that runs tsm.

- argv lists only (never a shell), LANG=C/LC_ALL=C (copied per call);
- tsm discovery: tsm_path option, else ``tsm`` on PATH, else the newest
  /opt/tableau/tableau_server/packages/customer-bin.*/tsm;
- connection options appended to every call; the tsm password is fed on
  stdin (tsm prompts for it when -u is given without -p), never on argv;
- --request-timeout on the subcommands that accept it;
- bounded retry while another TSM job holds the lock (LOCK_ERROR_RE);
- bounded retry of a transient controller error (TRANSIENT_ERROR_RE), for read-only
  calls only (``write=False`` and a read verb such as list/status/get/export): a write,
  apply or job is never repeated, because tsm may have acted before it failed;
- errors are TsmError with every secret masked in message, cmd, stdout, stderr.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import tempfile
import time
import typing as t

from ansible_collections.tableau.tsm.plugins.module_utils._errors import (
    TsmError,
    TsmInputError,
    TsmLockTimeout,
)

MASK = "********"
DEFAULT_INSTALL_GLOB = "/opt/tableau/tableau_server/packages/customer-bin.*/tsm"
ENVIRON = {"LANG": "C", "LC_ALL": "C", "LC_MESSAGES": "C", "LANGUAGE": "C"}

# Flags whose next argv element (or ``--flag=value`` part) is a secret.
SECRET_FLAGS = frozenset([
    "-p", "--password",
    "--passphrase", "--key-passphrase",
    "--rserve-password", "--tabpy-password",
    "--secret", "--client-secret",
])

# Subcommands (as argv prefixes) that accept --request-timeout.
REQUEST_TIMEOUT_COMMANDS = frozenset([
    ("pending-changes", "apply"),
    ("security", "regenerate-internal-tokens"),
    ("start",),
    ("stop",),
    ("restart",),
    ("initialize",),
])

# THE place that recognises "another TSM job holds the lock". Tolerant on purpose:
# the exact wording of tsm is not known from any public source.
LOCK_ERROR_RE = re.compile(
    r"(another|an?\s+other|existing|running|active)\s+(tsm\s+)?(async\s+)?(job|operation)"
    r"|(job|operation)s?\s+(is|are)\s+(already\s+|currently\s+|still\s+)*(running|in\s+progress|active)"
    r"|(lock|locked)\b.{0,60}\b(held|busy|acquire|job|another)"
    r"|wait\s+for\s+the\s+(current\s+|running\s+)?(job|operation)",
    re.IGNORECASE,
)

# THE place that recognises a transient failure of the Administration Controller (HTTP 5xx
# gateway/service errors, "try again", a reset or timed-out connection). Checked only after
# LOCK_ERROR_RE, and acted on only for read-only calls (see is_read_only).
TRANSIENT_ERROR_RE = re.compile(
    r"\b50[234]\b|service\s+unavailable|temporarily\s+unavailable|bad\s+gateway|gateway\s+time-?out"
    r"|try\s+again|connection\s+(was\s+)?reset|timed?\s*-?out\s+waiting",
    re.IGNORECASE,
)

# Verbs (the last positional word of the tsm argv) of the commands that only read. A call is
# retried on a transient error only when it is not marked write=True AND its verb is here.
READ_ONLY_VERBS = frozenset([
    "list", "status", "get", "export", "version", "get-certificate-file", "show",
])

_DATA_DIR_RE = re.compile(r"^(?P<prefix>.*)/opt/tableau/tableau_server/packages/customer-bin\.[^/]+/tsm$")


def version_key(path: str) -> t.Tuple[t.Any, ...]:
    """Sort key for .../customer-bin.<version>/tsm: numeric parts compared as numbers."""
    directory = os.path.basename(os.path.dirname(path))
    version = directory.split(".", 1)[1] if "." in directory else ""
    key: t.List[t.Tuple[int, t.Any]] = []
    for part in re.split(r"[.\-_]", version):
        key.append((1, int(part)) if part.isdigit() else (0, part))
    return tuple(key)


def derive_data_dir(tsm_path: t.Optional[str]) -> t.Optional[str]:
    """``<prefix>/opt/tableau/tableau_server/packages/customer-bin.X/tsm`` ->
    ``<prefix>/var/opt/tableau/tableau_server`` (prefix is empty on real servers)."""
    if not tsm_path:
        return None
    for candidate in (tsm_path, os.path.realpath(tsm_path)):
        match = _DATA_DIR_RE.match(candidate)
        if match:
            return match.group("prefix") + "/var/opt/tableau/tableau_server"
    return None


def is_lock_error(text: str) -> bool:
    return bool(LOCK_ERROR_RE.search(text or ""))


def is_transient_error(text: str) -> bool:
    return bool(TRANSIENT_ERROR_RE.search(text or "")) and not is_lock_error(text)


def is_read_only(args: t.Sequence[str]) -> bool:
    """True when ``tsm <args>`` only reads: its last positional word (before the first
    option) is a read verb, e.g. ``security external-ssl list``, ``settings export -f F``."""
    words: t.List[str] = []
    for arg in args:
        if str(arg).startswith("-"):
            break
        words.append(str(arg))
    return bool(words) and words[-1] in READ_ONLY_VERBS


class TsmRunner:
    """Runs tsm for one AnsibleModule.

    The module needs ``params``, ``run_command``, ``get_bin_path``, ``check_mode``
    and ``no_log_values``.
    """

    lock_poll_interval = 5.0
    # Transient-error retry of read-only calls: at most this many extra attempts, waiting
    # transient_delay, then twice that, ... (2 + 4 = 6 s in all by default).
    transient_retries = 2
    transient_delay = 2.0

    def __init__(
        self,
        module: t.Any,
        install_glob: str = DEFAULT_INSTALL_GLOB,
        data_dir: t.Optional[str] = None,
        sleep: t.Callable[[float], None] = time.sleep,
        clock: t.Callable[[], float] = time.monotonic,
    ) -> None:
        self.module = module
        params = module.params
        self._tsm_path_param = params.get("tsm_path")
        self.server = params.get("tsm_server")
        self.username = params.get("tsm_username")
        self.password = params.get("tsm_password")
        self.trust_cert = bool(params.get("trust_admin_controller_cert"))
        self.request_timeout = params.get("request_timeout")
        lock_timeout = params.get("lock_timeout")
        self.lock_timeout = 300 if lock_timeout is None else lock_timeout
        self.install_glob = install_glob
        self._data_dir = data_dir or params.get("tsm_data_dir")
        self._sleep = sleep
        self._clock = clock
        self._tsm: t.Optional[str] = None
        if self.password and not self.username:
            raise TsmInputError("tsm_password is set but tsm_username is not; set both or neither")

    # discovery ---------------------------------------------------------------------------------

    @property
    def tsm(self) -> str:
        if self._tsm is None:
            self._tsm = self.discover()
        return self._tsm

    def discover(self) -> str:
        if self._tsm_path_param:
            path = self._tsm_path_param
            if not (os.path.isfile(path) and os.access(path, os.X_OK)):
                raise TsmInputError("tsm_path %s does not exist or is not an executable file" % path)
            return path
        path = self.module.get_bin_path("tsm")
        if path:
            return path
        candidates = [p for p in glob.glob(self.install_glob) if os.access(p, os.X_OK)]
        if candidates:
            return sorted(candidates, key=version_key)[-1]
        raise TsmError(
            "Could not find tsm: set tsm_path, put tsm on the PATH (source /etc/profile.d/tableau_server.sh), "
            "or install Tableau Server so that %s exists" % self.install_glob
        )

    @property
    def data_dir(self) -> t.Optional[str]:
        """Tableau data directory (overridable), derived from the tsm path."""
        if self._data_dir:
            return self._data_dir
        return derive_data_dir(self.tsm)

    # argv and masking --------------------------------------------------------------------------

    def build_argv(self, args: t.Sequence[str], request_timeout: t.Optional[bool] = None) -> t.List[str]:
        argv = [self.tsm] + [str(a) for a in args]
        if request_timeout is None:
            request_timeout = any(tuple(args[:len(p)]) == p for p in REQUEST_TIMEOUT_COMMANDS)
        if request_timeout and self.request_timeout and "--request-timeout" not in args:
            argv += ["--request-timeout", str(self.request_timeout)]
        if self.server:
            argv += ["-s", self.server]
        if self.username:
            argv += ["-u", self.username]  # no -p: tsm then reads the password from stdin
        if self.trust_cert:
            argv.append("--trust-admin-controller-cert")
        return argv

    def _secrets(self, argv: t.Sequence[str] = ()) -> t.List[str]:
        secrets = set(v for v in getattr(self.module, "no_log_values", ()) or () if v)
        if self.password:
            secrets.add(self.password)
        for i, arg in enumerate(argv):
            if arg in SECRET_FLAGS and i + 1 < len(argv) and argv[i + 1]:
                secrets.add(argv[i + 1])
            elif "=" in arg and arg.split("=", 1)[0] in SECRET_FLAGS and arg.split("=", 1)[1]:
                secrets.add(arg.split("=", 1)[1])
        # longest first, so that a secret containing another is masked whole
        return sorted((str(s) for s in secrets), key=len, reverse=True)

    def mask_argv(self, argv: t.Sequence[str]) -> t.List[str]:
        secrets = self._secrets(argv)
        masked: t.List[str] = []
        hide_next = False
        for arg in argv:
            if hide_next:
                masked.append(MASK)
                hide_next = False
                continue
            if arg in SECRET_FLAGS:
                masked.append(arg)
                hide_next = True
                continue
            if "=" in arg and arg.split("=", 1)[0] in SECRET_FLAGS:
                masked.append(arg.split("=", 1)[0] + "=" + MASK)
                continue
            masked.append(self._mask(arg, secrets))
        return masked

    @staticmethod
    def _mask(text: t.Optional[str], secrets: t.Sequence[str]) -> str:
        text = text or ""
        for secret in secrets:
            if secret:
                text = text.replace(secret, MASK)
        return text

    def mask_text(self, text: t.Optional[str], argv: t.Sequence[str] = ()) -> str:
        return self._mask(text, self._secrets(argv))

    # running -----------------------------------------------------------------------------------

    def _error(self, msg: str, argv: t.Sequence[str], rc: t.Optional[int] = None, out: str = "",
               err: str = "", cls: t.Type[TsmError] = TsmError) -> TsmError:
        secrets = self._secrets(argv)
        return cls(self._mask(msg, secrets), cmd=self.mask_argv(argv), rc=rc,
                   stdout=self._mask(out, secrets), stderr=self._mask(err, secrets))

    def run(
        self,
        args: t.Sequence[str],
        data: t.Optional[str] = None,
        write: bool = False,
        check_rc: bool = True,
        request_timeout: t.Optional[bool] = None,
    ) -> t.Tuple[int, str, str]:
        """Run ``tsm <args>``; returns (rc, stdout, stderr) or raises TsmError.

        ``write`` marks calls that change the server; they are refused in check mode
        (a programming error caught here rather than on a production server).
        """
        argv = self.build_argv(args, request_timeout=request_timeout)
        if write and getattr(self.module, "check_mode", False):
            raise self._error("internal error: refusing a tsm write call in check mode", argv)
        stdin: t.Optional[str] = None
        if self.username and self.password:
            stdin = self.password + "\n" + (data or "")
        elif data is not None:
            stdin = data
        deadline = self._clock() + max(0, self.lock_timeout or 0)
        waited = False
        retry_transient = not write and is_read_only(args)
        transient_left = max(0, int(self.transient_retries)) if retry_transient else 0
        transient_wait = float(self.transient_delay)
        retried = 0
        while True:
            rc, out, err = self.module.run_command(
                argv, data=stdin, binary_data=True, check_rc=False, environ_update=dict(ENVIRON),
            )
            out = out or ""
            err = err or ""
            if rc != 0 and transient_left > 0 and is_transient_error(out + "\n" + err):
                transient_left -= 1
                retried += 1
                self._sleep(transient_wait)
                transient_wait *= 2
                continue
            if rc != 0 and is_lock_error(out + "\n" + err):
                if self._clock() + self.lock_poll_interval <= deadline:
                    waited = True
                    self._sleep(self.lock_poll_interval)
                    continue
                raise self._error(
                    "Another TSM job kept holding the lock for more than lock_timeout=%ss while running "
                    "'tsm %s'; wait for it to finish (tsm jobs list) or raise lock_timeout"
                    % (self.lock_timeout, " ".join(self.mask_argv(argv)[1:])),
                    argv, rc, out, err, cls=TsmLockTimeout,
                )
            break
        if rc != 0 and check_rc:
            detail = (err.strip() or out.strip()).splitlines()
            raise self._error(
                "'tsm %s' failed (rc=%s)%s%s%s" % (
                    " ".join(self.mask_argv(argv)[1:]), rc,
                    ": " + detail[-1].strip() if detail else "",
                    " (after waiting for another TSM job)" if waited else "",
                    " (after %d retr%s of a transient error)" % (retried, "y" if retried == 1 else "ies")
                    if retried else "",
                ),
                argv, rc, out, err,
            )
        return rc, out, err

    # helpers -----------------------------------------------------------------------------------

    def export_settings(self) -> t.Dict[str, t.Any]:
        """``tsm settings export`` into a private temp file; parsed JSON; file removed.

        The export holds secrets (ENC values, keystore): it is never returned whole to users.
        """
        tmpdir = tempfile.mkdtemp(prefix="tableau-tsm-export-")
        try:
            os.chmod(tmpdir, 0o700)
            path = os.path.join(tmpdir, "settings.json")
            argv_args = ["settings", "export", "-f", path]
            self.run(argv_args)
            if not os.path.exists(path):
                raise self._error("'tsm settings export' succeeded but wrote no file", self.build_argv(argv_args))
            with open(path, "rb") as handle:
                raw = handle.read()
            try:
                data = json.loads(raw.decode("utf-8-sig"))
            except ValueError as exc:
                raise self._error("could not parse the JSON written by 'tsm settings export': %s"
                                  % exc.__class__.__name__, self.build_argv(argv_args))
            if not isinstance(data, dict):
                raise self._error("'tsm settings export' wrote JSON that is not an object",
                                  self.build_argv(argv_args))
            return data
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)

    def apply_pending(self, ignore_warnings: bool = False) -> t.Tuple[int, str, str]:
        args = ["pending-changes", "apply", "--ignore-prompt"]
        if ignore_warnings:
            args.append("--ignore-warnings")
        return self.run(args, write=True)

    def discard_pending(self) -> t.Tuple[int, str, str]:
        return self.run(["pending-changes", "discard"], write=True)

    def list_pending(self) -> str:
        return self.run(["pending-changes", "list"])[1]
