#!/usr/bin/env bash
# make demo: harden an emulated 3-node Tableau Server cluster, show the result, re-run, show no change.
# Run by `make demo` after `make setup` (PATH has .venv/bin, ANSIBLE_COLLECTIONS_PATH=.tmp/collections).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DEMO="$ROOT/.tmp/demo"
CLUSTER="$DEMO/cluster"
EMU="$ROOT/tests/emulator/tsm-emulator"
PY="$ROOT/.venv/bin/python"
export PATH="$ROOT/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="${ANSIBLE_COLLECTIONS_PATH:-$ROOT/.tmp/collections}"
export ANSIBLE_NOCOLOR="${ANSIBLE_NOCOLOR:-0}"
NAME="${DEMO_CLUSTER_NAME:-demo}"

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

if [ ! -e "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/tableau/tsm" ]; then
    echo "collection path $ANSIBLE_COLLECTIONS_PATH is not set up: run 'make setup' (or 'make demo')" >&2
    exit 1
fi

say "1. Emulated 3-node Tableau Server cluster in $CLUSTER"
if [ -f "$CLUSTER/cluster.json" ]; then
    echo "an earlier demo cluster exists: destroying it first"
    "$EMU" destroy "$CLUSTER" >/dev/null || true
fi
rm -rf "$DEMO" && mkdir -p "$DEMO"
"$EMU" create "$CLUSTER" --nodes 3 --name "$NAME" > "$DEMO/create.json"
"$EMU" inventory "$CLUSTER" --cluster "$NAME" > "$DEMO/inventory.yml"
"$PY" - "$DEMO/create.json" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1]))
for n in c["nodes"]:
    g = n["gateway"]
    print("  %-6s %-22s gateway %s:%s  tsm %s" % (n["name"], n["hostname"], g["address"], g["https_port"], n["tsm"]))
print("  repository %s:%s  status %s" % (c["repository"]["address"], c["repository"]["port"], c["status"]))
PYEOF

say "2. Demo CA and gateway certificate (tools/demo_certs.py)"
SANS=$("$PY" -c 'import json,sys; c=json.load(open(sys.argv[1])); print(" ".join("--san %s --san %s" % (n["hostname"], n["gateway"]["address"]) for n in c["nodes"]))' "$DEMO/create.json")
# shellcheck disable=SC2086
"$PY" tools/demo_certs.py "$DEMO/certs" --cn "$NAME.tsm.test" $SANS > "$DEMO/certs.json"
FPR=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["sha256_fingerprint"])' "$DEMO/certs.json")
echo "  server certificate $DEMO/certs/server.crt"
echo "  SHA-256 $FPR"
cat > "$DEMO/hardening-vars.yml" <<VARS
---
tableau_tsm_gateway_cert_file: $DEMO/certs/server.crt
tableau_tsm_gateway_key_file: $DEMO/certs/server.key
tableau_tsm_gateway_chain_file: $DEMO/certs/chain.crt
tableau_tsm_cert_dir: "{{ tableau_emulator_dir }}/ansible-certs"
VARS

calls_summary() {  # $1 = first call-log line to count (1-based), $2 = label
    "$EMU" calls "$CLUSTER" --json | "$PY" -c '
import json, sys
start, label = int(sys.argv[1]), sys.argv[2]
calls = [json.loads(l) for l in sys.stdin if l.strip()][start - 1:]
writes = [c for c in calls if c["kind"] in ("write", "apply", "job")]
restarts = sum(1 for c in calls if c.get("restarted"))
print("  %s: %d tsm calls, %d write/apply calls, %d restart%s" % (label, len(calls), len(writes), restarts, "" if restarts == 1 else "s"))
for c in writes:
    print("    %-6s %-5s %s%s" % (c["node"], c["kind"], " ".join(c["argv"])[:110], "   (restarted)" if c.get("restarted") else ""))
' "$1" "$2"
}
calls_count() { "$EMU" calls "$CLUSTER" --json | grep -c . || true; }

say "3. ansible-playbook tableau.tsm.harden (from defaults: external SSL TLS 1.2+, repository SSL required)"
start=$(date +%s%N)
ansible-playbook -i "$DEMO/inventory.yml" -e "@$DEMO/hardening-vars.yml" tableau.tsm.harden | tee "$DEMO/harden-1.log" | grep -E '^(PLAY RECAP|TASK|RUNNING HANDLER)|ok=|changed:|fatal|msg' | grep -vE '^TASK .*(Guard|skipping)' | sed 's/^/  /'
t1=$(( ($(date +%s%N) - start) / 100000000 )); t1="$((t1 / 10)).$((t1 % 10))"
echo "  wall time ${t1} s"
calls_summary 1 "hardening run"

if [ -f playbooks/audit.yml ]; then
    say "4. Audit (tableau.tsm.audit)"
    ansible-playbook -i "$DEMO/inventory.yml" -e "@$DEMO/hardening-vars.yml" \
        -e "tableau_tsm_audit_report_dir=$DEMO/audit" tableau.tsm.audit >"$DEMO/audit.log" 2>&1 \
        || echo "  (the audit playbook reported a problem: see $DEMO/audit.log)"
    # the role's summary: one line per cluster, then the paths of the JSON and HTML reports
    grep -E '^ +"(Tableau Server security audit|cluster |JSON:|HTML:)' "$DEMO/audit.log" \
        | sed -e 's/^ *"/  /' -e 's/",\?$//' || true
    find "$DEMO/audit" -name '*.html' 2>/dev/null | sed 's/^/  open in a browser: file:\/\//' || true
else
    say "4. Audit: playbooks/audit.yml is not in this checkout yet; skipped"
fi

say "5. TLS handshakes against every gateway and the repository"
"$PY" - "$DEMO/create.json" "$FPR" <<'PYEOF'
import json, socket, ssl, sys, warnings, hashlib
warnings.filterwarnings("ignore", category=DeprecationWarning)
c, fpr = json.load(open(sys.argv[1])), sys.argv[2].replace(":", "").lower()
versions = [("TLSv1", ssl.TLSVersion.TLSv1), ("TLSv1.1", ssl.TLSVersion.TLSv1_1),
            ("TLSv1.2", ssl.TLSVersion.TLSv1_2), ("TLSv1.3", ssl.TLSVersion.TLSv1_3)]
def probe(host, port, version):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = ctx.maximum_version = version
    try:
        with socket.create_connection((host, port), timeout=5) as s, ctx.wrap_socket(s) as t:
            return "accepted", hashlib.sha256(t.getpeercert(binary_form=True)).hexdigest()
    except (ssl.SSLError, OSError):
        return "refused", None
for n in c["nodes"]:
    g = n["gateway"]
    row, served = [], None
    for name, v in versions:
        result, fp = probe(g["address"], g["https_port"], v)
        served = served or fp
        row.append("%s %s" % (name, result))
    print("  %s %s:%s  %s  certificate %s" % (n["name"], g["address"], g["https_port"], ", ".join(row),
          "= demo certificate" if served == fpr else "DIFFERENT (%s)" % served))
r = c["repository"]
with socket.create_connection((r["address"], r["port"]), timeout=5) as s:
    s.sendall(b"\x00\x00\x00\x08\x04\xd2\x16\x2f")
    answer = s.recv(1)
print("  repository %s:%s  PostgreSQL SSLRequest answered %r (%s)" % (r["address"], r["port"], answer,
      "TLS available" if answer == b"S" else "no TLS"))
PYEOF

say "6. Run the hardening again: nothing must change"
first=$(calls_count)
start=$(date +%s%N)
ansible-playbook -i "$DEMO/inventory.yml" -e "@$DEMO/hardening-vars.yml" tableau.tsm.harden > "$DEMO/harden-2.log"
t2=$(( ($(date +%s%N) - start) / 100000000 )); t2="$((t2 / 10)).$((t2 % 10))"
grep -E 'ok=' "$DEMO/harden-2.log" | sed 's/^/  /'
echo "  wall time ${t2} s"
calls_summary $((first + 1)) "re-run"
if grep -E 'ok=' "$DEMO/harden-2.log" | grep -vq 'changed=0'; then
    echo "  UNEXPECTED: the re-run changed something (see $DEMO/harden-2.log)"; exit 1
fi

say "7. Look around, then tear down"
cat <<TXT
  cluster status:   tests/emulator/tsm-emulator status $CLUSTER
  call log:         tests/emulator/tsm-emulator calls $CLUSTER
  tsm on node1:     $(sed -n 's/.*"tsm": "\(.*node1.*\)".*/\1/p' "$DEMO/create.json" | head -1) security external-ssl list
  gateway (node1):  openssl s_client -connect $(sed -n 's/.*"address": "\(127[^"]*\)".*/\1/p' "$DEMO/create.json" | head -1):$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["nodes"][0]["gateway"]["https_port"])' "$DEMO/create.json") -showcerts </dev/null
                    openssl s_client -connect <same> -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' </dev/null   (refused)
  inventory:        $DEMO/inventory.yml   variables: $DEMO/hardening-vars.yml
  logs:             $DEMO/harden-1.log  $DEMO/harden-2.log
  tear down:        make demo-clean   (= tests/emulator/tsm-emulator destroy $CLUSTER; rm -rf $DEMO)
TXT
