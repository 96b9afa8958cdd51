#!/usr/bin/env bash
# Makes what deploy/compose.yaml mounts for the HTTP servers (SPEC §9):
# deploy/secrets/http-token (the bearer token) and a self-signed certificate
# deploy/secrets/tls.crt / tls.key for the name `alliance` (the compose
# service Prometheus scrapes). For trying things out: in production the
# certificate comes from your CA and the token from your secret store.
set -euo pipefail
dir="$(cd "$(dirname "$0")" && pwd)/secrets"
mkdir -p "$dir"
umask 077
[ -s "$dir/http-token" ] || openssl rand -hex 32 > "$dir/http-token"
[ -s "$dir/tls.crt" ] || openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj /CN=alliance \
  -addext "subjectAltName=DNS:alliance,DNS:localhost,IP:127.0.0.1" \
  -keyout "$dir/tls.key" -out "$dir/tls.crt" 2> /dev/null
# Readable by the containers' users (alliance, nobody for Prometheus).
chmod 644 "$dir/http-token" "$dir/tls.crt" "$dir/tls.key"
echo "deploy/secrets: http-token, tls.crt, tls.key"
