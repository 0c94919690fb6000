"""Check a built collection artifact and the docs of everything it ships.

Usage: python tools/artifact_check.py ARTIFACT.tar.gz INSTALLED_COLLECTIONS_PATH

1. The tarball must not contain the emulator, benchmarks, developer tooling or tool
   debris (galaxy.yml build_ignore must keep them out).
2. Every module in plugins/modules/ and every role with meta/argument_specs.yml of the
   *installed* artifact must render with ansible-doc (as galaxy-importer requires).
"""
import json
import os
import re
import subprocess
import sys
import tarfile

FORBIDDEN = re.compile(
    r"^(\.venv[^/]*|\.tmp|\.ci|\.ansible|\.git|\.pytest_cache|\.benchmarks|collections|tools|hack|bench"
    r"|tests/emulator|tests/output|tests/integration/inventory)(/|$)"
    r"|(^|/)__pycache__(/|$)|\.pyc$|\.tar\.gz$|^changelogs/\.plugin-cache\.yaml$")
NAMESPACE, NAME = "tableau", "tsm"


def check_tarball(path):
    with tarfile.open(path) as tar:
        names = [m.name[2:] if m.name.startswith("./") else m.name for m in tar.getmembers()]
    bad = sorted(n for n in names if FORBIDDEN.search(n))
    if bad:
        print("artifact contains files that build_ignore should keep out:")
        for n in bad[:50]:
            print("  " + n)
        return False
    print(f"artifact {os.path.basename(path)}: {len(names)} entries, no debris")
    return True


def ansible_doc(plugin_type, fqcn, env):
    proc = subprocess.run(["ansible-doc", "--json", "-t", plugin_type, fqcn],
                          env=env, capture_output=True, text=True, check=False)
    ok = proc.returncode == 0
    if ok:
        try:
            data = json.loads(proc.stdout)
            entry = data.get(fqcn) or {}
            ok = bool(entry.get("doc") or entry.get("entry_points"))
        except ValueError:
            ok = False
    status = "ok" if ok else "FAILED"
    print(f"  ansible-doc -t {plugin_type} {fqcn}: {status}")
    if not ok:
        sys.stdout.write(proc.stdout[-2000:] + proc.stderr[-2000:])
    return ok


def check_docs(installed):
    coll = os.path.join(installed, "ansible_collections", NAMESPACE, NAME)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=installed)
    env.pop("ANSIBLE_COLLECTIONS_PATHS", None)
    ok = True
    mod_dir = os.path.join(coll, "plugins", "modules")
    modules = sorted(f[:-3] for f in os.listdir(mod_dir)
                     if f.endswith(".py") and not f.startswith("_")) if os.path.isdir(mod_dir) else []
    role_dir = os.path.join(coll, "roles")
    roles = sorted(r for r in os.listdir(role_dir)
                   if os.path.exists(os.path.join(role_dir, r, "meta", "argument_specs.yml"))
                   ) if os.path.isdir(role_dir) else []
    if not modules and not roles:
        print("NOTE: no modules or documented roles in the artifact yet: ansible-doc check skipped")
        return True
    for mod in modules:
        ok = ansible_doc("module", f"{NAMESPACE}.{NAME}.{mod}", env) and ok
    for role in roles:
        ok = ansible_doc("role", f"{NAMESPACE}.{NAME}.{role}", env) and ok
    return ok


def main(artifact, installed):
    ok = check_tarball(artifact)
    ok = check_docs(installed) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
