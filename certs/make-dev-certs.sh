#!/usr/bin/env bash
# Makes a development certificate authority and a server certificate for
# localhost / 127.0.0.1 / ::1 signed by it, with openssl.
#
#   certs/make-dev-certs.sh            # create what is missing, keep what exists
#   certs/make-dev-certs.sh --force    # throw everything away and start again
#
# Output (next to this script unless --dir is given; all git-ignored):
#   dev-ca.crt  dev-ca.key     the development CA (trust dev-ca.crt in clients)
#   server.crt  server.key     the server certificate and key for liaison serve
#
# Idempotent: when all four files exist it does nothing. When only the CA
# exists, it keeps the CA (so clients that already trust it keep working) and
# issues a new server certificate. Keys are EC P-256.
set -euo pipefail

usage() {
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
}

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
force=0
while [ $# -gt 0 ]; do
    case "$1" in
        --force|-f) force=1 ;;
        --dir) shift; dir="${1:?--dir needs a directory}" ;;
        -h|--help) usage; exit 0 ;;
        *) echo "make-dev-certs: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

command -v openssl >/dev/null 2>&1 || {
    echo "make-dev-certs: openssl not found (apt-get install openssl)" >&2
    exit 1
}

ca_days=3650
server_days=825
ca_crt="$dir/dev-ca.crt"
ca_key="$dir/dev-ca.key"
srv_crt="$dir/server.crt"
srv_key="$dir/server.key"

mkdir -p "$dir"

if [ "$force" -eq 0 ] && [ -s "$ca_crt" ] && [ -s "$ca_key" ] && [ -s "$srv_crt" ] && [ -s "$srv_key" ]; then
    echo "make-dev-certs: certificates already in $dir (use --force to regenerate)"
    exit 0
fi

umask 077
tmp="$(mktemp -d "${TMPDIR:-/tmp}/liaison-certs.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# --- the development CA -----------------------------------------------------
if [ "$force" -eq 1 ] || [ ! -s "$ca_crt" ] || [ ! -s "$ca_key" ]; then
    echo "make-dev-certs: creating development CA ($ca_days days)"
    openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/dev-ca.key"
    openssl req -x509 -new -sha256 -days "$ca_days" \
        -key "$tmp/dev-ca.key" -out "$tmp/dev-ca.crt" \
        -subj "/O=Liaison development/CN=Liaison Dev CA $(hostname 2>/dev/null || echo local)" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash"
    ca_crt_use="$tmp/dev-ca.crt"
    ca_key_use="$tmp/dev-ca.key"
    new_ca=1
else
    echo "make-dev-certs: reusing existing development CA $ca_crt"
    ca_crt_use="$ca_crt"
    ca_key_use="$ca_key"
    new_ca=0
fi

# --- the server certificate -------------------------------------------------
echo "make-dev-certs: creating server certificate for localhost, 127.0.0.1, ::1 ($server_days days)"
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/server.key"
openssl req -new -sha256 -key "$tmp/server.key" -out "$tmp/server.csr" \
    -subj "/O=Liaison development/CN=localhost"
cat > "$tmp/server.ext" <<'EXT'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid,issuer
EXT
openssl x509 -req -sha256 -days "$server_days" \
    -in "$tmp/server.csr" -CA "$ca_crt_use" -CAkey "$ca_key_use" \
    -set_serial "0x$(openssl rand -hex 16)" \
    -extfile "$tmp/server.ext" -out "$tmp/server.crt" 2>/dev/null

openssl verify -CAfile "$ca_crt_use" "$tmp/server.crt" >/dev/null

# --- install: certificates world-readable, keys owner-only -----------------
if [ "$new_ca" -eq 1 ]; then
    install -m 600 "$tmp/dev-ca.key" "$ca_key"
    install -m 644 "$tmp/dev-ca.crt" "$ca_crt"
fi
install -m 600 "$tmp/server.key" "$srv_key"
install -m 644 "$tmp/server.crt" "$srv_crt"

echo "make-dev-certs: wrote $srv_crt and $srv_key, signed by $ca_crt"
