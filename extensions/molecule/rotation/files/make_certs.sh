#!/bin/sh
# Test certificates for the rotation and audit scenarios: a CA and server certificates
# (RSA 2048, SHA-256) valid for *.tsm.test and the emulator's loopback addresses.
# usage: make_certs.sh DIR NAME:DAYS [NAME:DAYS ...]
set -eu
dir=$1; shift
mkdir -p "$dir"; chmod 700 "$dir"; cd "$dir"
if [ ! -f ca.crt ]; then
    openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days 3650 -subj "/CN=tableau.tsm test CA" \
        -keyout ca.key -out ca.crt 2>/dev/null
fi
for spec in "$@"; do
    name=${spec%%:*}; days=${spec#*:}
    [ -f "$name.crt" ] && continue
    printf 'subjectAltName=DNS:tableau.tsm.test,DNS:*.tsm.test,DNS:*.c1.tsm.test,DNS:*.c2.tsm.test,DNS:*.c3.tsm.test,IP:127.201.1.1,IP:127.201.1.2,IP:127.201.1.3,IP:127.201.2.1,IP:127.201.2.2,IP:127.201.2.3\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' > "$name.ext"
    openssl req -newkey rsa:2048 -sha256 -nodes -subj "/CN=tableau.tsm.test/O=$name" \
        -keyout "$name.key" -out "$name.csr" 2>/dev/null
    openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 \
        -days "$days" -extfile "$name.ext" -out "$name.crt" 2>/dev/null
    rm -f "$name.csr" "$name.ext"
done
chmod 600 ./*.key
