#!/usr/bin/env bash
# make-test-certs.sh DIR: certificates for testing mutual TLS (docs/security.md). Not for production.
#
#   DIR/ca.pem                      the test CA (ca-key.pem: its key)
#   DIR/store.pem, store-key.pem    CN tskv-store, SAN IP:127.0.0.1 DNS:localhost, serverAuth+clientAuth
#                                   (stores and the scheduler: served and dialled with it)
#   DIR/client.pem, client-key.pem  CN tskv-client, clientAuth (RawClient, the tinykv command)
#   DIR/intruder.pem, intruder-key.pem  CN intruder, same CA, same SANs and uses as store.pem
#   DIR/other-ca.pem                a second, unrelated CA
#   DIR/other.pem, other-key.pem    CN tskv-client signed by the other CA
#
# Idempotent: files already there are kept (delete DIR to start over). EC P-256 keys, 10 years.
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
dir=$1
command -v openssl >/dev/null || { echo "$0: openssl not found" >&2; exit 1; }
mkdir -p "$dir"
cd "$dir"
umask 077

ca() { # name cn
  [ -s "$1.pem" ] && [ -s "$1-key.pem" ] && return 0
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=$2" -keyout "$1-key.pem" -out "$1.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

leaf() { # name cn issuer extendedKeyUsage
  [ -s "$1.pem" ] && [ -s "$1-key.pem" ] && return 0
  local ext
  ext=$(mktemp)
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=%s\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' "$4" >"$ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$2" \
    -keyout "$1-key.pem" -out "$1.csr" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3-key.pem" -CAcreateserial -days 3650 \
    -extfile "$ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$ext"
}

ca ca tskv-test-ca
ca other-ca tskv-other-ca
leaf store tskv-store ca serverAuth,clientAuth
leaf client tskv-client ca clientAuth
leaf intruder intruder ca serverAuth,clientAuth
leaf other tskv-client other-ca serverAuth,clientAuth
# Public parts readable by all (keys stay 0600).
chmod 644 ./*.pem && chmod 600 ./*-key.pem
