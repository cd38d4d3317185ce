#!/usr/bin/env bash
# Throwaway OpenStack Swift with its s3api middleware (a second S3 implementation) on 127.0.0.1.
# Usage: swift.sh install | start [DIR] | stop [DIR] | status [DIR]
#   DIR defaults to ${S3DUCT_SWIFT_DIR:-/tmp/s3duct-swift}.
#   After start, `. DIR/env` exports S3DUCT_SWIFT_{ENDPOINT,BUCKET,ACCESS_KEY,SECRET_KEY,REGION}.
# Rings, storage, configs, logs and pid files live in DIR; /etc/swift is replaced by DIR/etc only
# inside each server's private mount namespace (swift.conf's path is hard-coded), so the host's
# /etc is never touched. Swift's DEFAULT constraints on purpose (max_meta_value_length 256): the
# tests must pass against what users run. Facts: shared/reference/swift-s3api-notes.md.
set -euo pipefail

ACCESS_KEY=test:tester
SECRET_KEY=testing
BUCKET=s3duct-test
REGION=us-east-1   # s3api refuses any other signing region (AuthorizationHeaderMalformed)
# Stop order: the proxy first, so no request reaches a storage server that is going away.
SERVERS=(proxy object container account)

cmd=${1:-}
DIR=${2:-${S3DUCT_SWIFT_DIR:-/tmp/s3duct-swift}}
case $DIR in /*) ;; *) DIR=$PWD/$DIR ;; esac
exec </dev/null
NAME=swift.sh
MARKER=.s3duct-swift
PID_MARK="$DIR/"   # every server's command line names its config in DIR
DAEMONS=("${SERVERS[@]}" memcached logsink)
TERM_WAIT=5
# shellcheck source=tests/servers/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install() {
  apt_install "~15 s" "swift-proxy swift-account swift-container swift-object python3-swift memcached curl" \
    swift-proxy-server swift-object-server swift-container-server swift-account-server \
    memcached unshare curl
}

port_of() { sed -n "s/^$1=//p" "$DIR/ports" 2>/dev/null; }

running() {
  local n port
  for n in "${DAEMONS[@]}"; do pid_of "$n" >/dev/null || return 1; done
  port=$(port_of proxy) && [ -n "$port" ] || return 1
  curl -fsS -o /dev/null --max-time 3 "http://127.0.0.1:$port/healthcheck"
}

# [DEFAULT] of every server: one process (workers = 0, so $! is its PID), as root (else it
# drops to user swift, who cannot write DIR), no mount check, syslog to our own sink.
server_default() {
  cat <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $1
workers = 0
user = root
swift_dir = $DIR/etc
devices = $DIR/srv/node
mount_check = false
log_address = $DIR/run/log.sock
EOF
}

write_configs() {
  local n
  # No [swift-constraints]: Swift's defaults (max_meta_value_length 256, 4096 bytes in all).
  cat >"$DIR/etc/swift.conf" <<EOF
[swift-hash]
swift_hash_path_prefix = s3ducttest
swift_hash_path_suffix = s3ducttest
[storage-policy:0]
name = Policy-0
default = yes
EOF
  for n in object container account; do
    { server_default "$(port_of "$n")"
      printf '[pipeline:main]\npipeline = %s-server\n[app:%s-server]\nuse = egg:swift#%s\n' \
        "$n" "$n" "$n"; } >"$DIR/etc/$n-server.conf"
  done
  # s3api before tempauth; slo between s3api and the proxy, else multipart is off.
  { server_default "$(port_of proxy)"
    cat <<EOF
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$(port_of memcached)
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = $SECRET_KEY .admin
[filter:s3api]
use = egg:swift#s3api
[filter:proxy-logging]
use = egg:swift#proxy_logging
EOF
    for n in catch_errors gatekeeper healthcheck listing_formats copy slo dlo; do
      printf '[filter:%s]\nuse = egg:swift#%s\n' "$n" "$n"
    done; } >"$DIR/etc/proxy-server.conf"
}

# One Python process builds all three rings (swift-ring-builder, once per step, takes ~9 s).
# Debian's /usr/bin/python3: the one with the swift package, whatever python3 is first on PATH.
make_rings() {
  (cd "$DIR/etc" && /usr/bin/python3 -c '
import sys
from swift.common.ring import RingBuilder
for name, port in zip(("account", "container", "object"), sys.argv[1:]):
    b = RingBuilder(10, 1, 1)  # 2^10 partitions, 1 replica, 1 h between moves
    b.add_dev({"region": 1, "zone": 1, "ip": "127.0.0.1", "port": int(port), "device": "d1",
               "weight": 1, "meta": ""})
    b.rebalance()
    b.get_ring().save(name + ".ring.gz")
' "$(port_of account)" "$(port_of container)" "$(port_of object)") >>"$DIR/log/setup.log" 2>&1 \
    || fail_logs "building the rings failed"
}

# Swift always adds a syslog handler; without this sink it would send UDP to localhost:514.
start_logsink() {
  /usr/bin/python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True: s.recv(65536)' "$DIR/run/log.sock" "$DIR/" >/dev/null 2>>"$DIR/log/setup.log" &
  echo $! >"$DIR/run/logsink.pid"
  wait_for 5 test -S "$DIR/run/log.sock" || fail_logs "syslog sink did not start"
}

start_server() {
  # The private mount namespace puts DIR/etc at /etc/swift for this server only.
  unshare -m sh -c "mount --bind '$DIR/etc' /etc/swift && exec /usr/bin/swift-$1-server '$DIR/etc/$1-server.conf' -v" \
    >>"$DIR/log/$1.log" 2>&1 &
  echo $! >"$DIR/run/$1.pid"
}

tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ready() {
  local n
  curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$(port_of proxy)/healthcheck" || return 1
  for n in object container account; do tcp_open "$(port_of "$n")" || return 1; done
}

# A SigV4-signed PUT of the bucket. Not curl --aws-sigv4: --user splits at the first colon and
# the access key (account:user) has one.
create_bucket() {
  /usr/bin/python3 - "$1" "$BUCKET" "$ACCESS_KEY" "$SECRET_KEY" "$REGION" <<'PY'
import datetime, hashlib, hmac, sys, urllib.request
endpoint, bucket, ak, sk, region = sys.argv[1:]
host = endpoint.split("//", 1)[1]
now = datetime.datetime.now(datetime.timezone.utc)
amz, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
empty = hashlib.sha256(b"").hexdigest()
canon = f"PUT\n/{bucket}\n\nhost:{host}\nx-amz-content-sha256:{empty}\nx-amz-date:{amz}\n\n" \
  f"host;x-amz-content-sha256;x-amz-date\n{empty}"
scope = f"{day}/{region}/s3/aws4_request"
to_sign = f"AWS4-HMAC-SHA256\n{amz}\n{scope}\n" + hashlib.sha256(canon.encode()).hexdigest()
k = ("AWS4" + sk).encode()
for part in (day, region, "s3", "aws4_request"):
  k = hmac.new(k, part.encode(), hashlib.sha256).digest()
sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
req = urllib.request.Request(f"{endpoint}/{bucket}", method="PUT", headers={
  "x-amz-date": amz, "x-amz-content-sha256": empty,
  "Authorization": f"AWS4-HMAC-SHA256 Credential={ak}/{scope}, "
  f"SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={sig}"})
urllib.request.urlopen(req, timeout=10).read()
PY
}

start() {
  local t0=$SECONDS
  install
  if running; then echo "swift s3api ready at http://127.0.0.1:$(port_of proxy) (0 s)"; return 0; fi
  wipe
  mkdir -p "$DIR"/{etc,run,log,srv/node/d1}
  : >"$DIR/$MARKER"
  local ports
  read -r -a ports <<<"$(free_ports 5)"
  printf 'object=%s\ncontainer=%s\naccount=%s\nmemcached=%s\nproxy=%s\n' "${ports[@]}" >"$DIR/ports"
  write_configs
  make_rings
  start_logsink
  # memcached first: the proxy skips an unreachable one for 60 s (slower, not broken).
  memcached -u root -l 127.0.0.1 -p "$(port_of memcached)" -U 0 -m 64 -d \
    -P "$DIR/run/memcached.pid" >>"$DIR/log/memcached.log" 2>&1 || fail_logs "memcached failed"
  local n
  for n in account container object proxy; do start_server "$n"; done
  wait_for 30 ready || fail_logs "swift did not become ready within 30 s"
  local endpoint=http://127.0.0.1:$(port_of proxy)
  create_bucket "$endpoint" >>"$DIR/log/setup.log" 2>&1 || fail_logs "creating bucket $BUCKET failed"
  cat >"$DIR/env" <<EOF
export S3DUCT_SWIFT_ENDPOINT=$endpoint
export S3DUCT_SWIFT_BUCKET=$BUCKET
export S3DUCT_SWIFT_ACCESS_KEY=$ACCESS_KEY
export S3DUCT_SWIFT_SECRET_KEY=$SECRET_KEY
export S3DUCT_SWIFT_REGION=$REGION
EOF
  echo "swift s3api ready at $endpoint ($((SECONDS - t0)) s)"
}

dispatch "$cmd"
