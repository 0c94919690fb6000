"""Mirror the collection's source files into a copy that ansible-test can use.

ansible-test must run from .../ansible_collections/<namespace>/<name>/ and must not see
.venv/, .tmp/ or other local debris. This copies exactly the files git would commit
(tracked plus untracked-but-not-ignored) into DEST, updates only what changed, and
removes files that are gone from the source, keeping DEST/tests/output/ (ansible-test's
own cache) so that warm runs stay fast. Without git it falls back to a walk that skips
the usual debris.

DEST gets its own (empty) git repository: ansible-test walks up from the collection root
looking for a .git directory, and without one in DEST it would find the working tree's
repository, in which DEST (under .tmp/) is ignored, and test nothing. In DEST's own
repository every copied file is "untracked, not ignored", which is what ansible-test lists.

Usage: python tools/sync_collection_copy.py SRC DEST
"""
import os
import shutil
import subprocess
import sys

KEEP_IN_DEST = (".git", "tests/output")
WALK_SKIP_DIRS = {".git", ".venv", ".tmp", ".ansible", "collections", "__pycache__",
                  ".pytest_cache", ".tox", ".nox"}
WALK_SKIP_PATHS = {"tests/output", "tests/integration/inventory", "bench/results"}


def source_files(src):
    try:
        out = subprocess.run(
            ["git", "-C", src, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            check=True, capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return walk_files(src)
    files = set()
    for raw in out.split(b"\0"):
        if not raw:
            continue
        rel = os.fsdecode(raw)
        if os.path.lexists(os.path.join(src, rel)):  # deleted but still tracked: skip
            files.add(rel)
    return files


def walk_files(src):
    files = set()
    for dirpath, dirnames, filenames in os.walk(src):
        reldir = os.path.relpath(dirpath, src)
        reldir = "" if reldir == "." else reldir
        dirnames[:] = [d for d in dirnames if d not in WALK_SKIP_DIRS
                       and os.path.join(reldir, d) not in WALK_SKIP_PATHS]
        for name in filenames:
            rel = os.path.join(reldir, name)
            if rel not in WALK_SKIP_PATHS and not name.endswith((".pyc", ".tar.gz")):
                files.add(rel)
    return files


def same(src_path, dst_path):
    if os.path.islink(src_path) or os.path.islink(dst_path):
        return (os.path.islink(src_path) and os.path.islink(dst_path)
                and os.readlink(src_path) == os.readlink(dst_path))
    try:
        s, d = os.stat(src_path), os.stat(dst_path)
    except FileNotFoundError:
        return False
    return s.st_size == d.st_size and int(s.st_mtime) == int(d.st_mtime) and s.st_mode == d.st_mode


def kept(rel):
    return any(rel == k or rel.startswith(k + "/") for k in KEEP_IN_DEST)


def main(src, dest):
    src, dest = os.path.abspath(src), os.path.abspath(dest)
    files = source_files(src)
    copied = removed = 0
    for rel in sorted(files):
        s, d = os.path.join(src, rel), os.path.join(dest, rel)
        if same(s, d):
            continue
        os.makedirs(os.path.dirname(d), exist_ok=True)
        if os.path.lexists(d) or os.path.isdir(d):
            if os.path.isdir(d) and not os.path.islink(d):
                shutil.rmtree(d)
            else:
                os.unlink(d)
        if os.path.islink(s):
            os.symlink(os.readlink(s), d)
        else:
            shutil.copy2(s, d)
        copied += 1
    for dirpath, dirnames, filenames in os.walk(dest, topdown=True):
        reldir = os.path.relpath(dirpath, dest)
        reldir = "" if reldir == "." else reldir
        dirnames[:] = [n for n in dirnames if not kept(os.path.join(reldir, n))]
        for name in filenames + [n for n in dirnames if os.path.islink(os.path.join(dirpath, n))]:
            rel = os.path.join(reldir, name)
            if rel not in files and not kept(rel):
                os.unlink(os.path.join(dirpath, name))
                removed += 1
    for dirpath, dirnames, filenames in os.walk(dest, topdown=False):
        rel = os.path.relpath(dirpath, dest)
        if rel != "." and not kept(rel) and not os.listdir(dirpath):
            os.rmdir(dirpath)
    if not os.path.isdir(os.path.join(dest, ".git")):
        subprocess.run(["git", "init", "-q", dest], check=True)
    print(f"synced {len(files)} files to {dest} ({copied} copied, {removed} removed)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
