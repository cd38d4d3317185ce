#!/usr/bin/env bash
# `deno task demo`: the whole idea on the embedded local-directory store, no server needed.
# tar a folder, put it encrypted, list, verify, get it back and compare.
set -euo pipefail
cd "$(dirname "$0")/.."
demo=$PWD/.demo
rm -rf "$demo" && mkdir -p "$demo/store/backups"
s3duct() { deno run -A main.ts "$@"; }
store=(--bucket backups --endpoint-url "file://$demo/store")
export S3DUCT_DEMO_KEY
S3DUCT_DEMO_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')

echo "== put: tar of lib/ and tests/, 64K chunks, AES-256-GCM key from env:S3DUCT_DEMO_KEY"
tar cf - lib tests | s3duct put "${store[@]}" --name demo/src.tar --chunk-size 64K --key env:S3DUCT_DEMO_KEY
echo "== list"
s3duct list "${store[@]}"
echo "== verify"
s3duct verify "${store[@]}" --name demo/src.tar --key env:S3DUCT_DEMO_KEY
echo "== get | tar t (first lines)"
s3duct get "${store[@]}" --name demo/src.tar --key env:S3DUCT_DEMO_KEY | tar tf - | sed -n 1,5p
s3duct get "${store[@]}" --name demo/src.tar --key env:S3DUCT_DEMO_KEY -q >"$demo/restored.tar"
tar cf - lib tests | cmp - "$demo/restored.tar" && echo "== demo ok: restored tar is byte-identical"
echo "objects are in $demo/store/backups"
