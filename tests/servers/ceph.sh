#!/usr/bin/env bash
# Throwaway single-node Ceph RADOS Gateway (S3) on 127.0.0.1 for integration tests.
# Usage: ceph.sh install | start [DIR] | stop [DIR] | status [DIR]
#   DIR defaults to ${S3DUCT_CEPH_DIR:-/tmp/s3duct-ceph}; S3DUCT_CEPH_PORT fixes the S3 port.
#   After start, `. DIR/env` exports S3DUCT_TEST_{ENDPOINT,BUCKET,ACCESS_KEY,SECRET_KEY,REGION}
#   and S3DUCT_TEST_KMS_KEY_ID{,_2} (SSE-KMS key ids of the "testing" KMS backend).
# Everything (conf, data, logs, pid files, sockets) lives in DIR so several checkouts never clash
# and stop can remove every trace. Facts behind the settings: shared/reference/ceph-rgw-notes.md.
set -euo pipefail

ACCESS_KEY=s3ducttest
SECRET_KEY=s3ducttestsecret
BUCKET=s3duct-test
REGION=us-east-1
RGW_ID=rgw.s3duct
KMS_KEY_1=testkey-1
KMS_KEY_2=testkey-2
# Order matters for stop: the gateway first, so it never sees its OSD vanish mid-request.
DAEMONS=("client.$RGW_ID" osd.0 mon.a)

cmd=${1:-}
DIR=${2:-${S3DUCT_CEPH_DIR:-/tmp/s3duct-ceph}}
case $DIR in /*) ;; *) DIR=$PWD/$DIR ;; esac   # daemons chdir to /, so paths must be absolute
CONF=$DIR/ceph.conf
export CEPH_CONF=$CONF
exec </dev/null                                  # CI has no stdin; never let a tool wait on one
NAME=ceph.sh
MARKER=.s3duct-ceph
PID_MARK="-c $CONF "   # "-c $CONF" is on every daemon command line this script starts
# An OSD whose monitor is already gone waits 5 s for a shutdown ack that never comes.
TERM_WAIT=10
# shellcheck source=tests/servers/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ceph-mgr is left out on purpose: the gateway does not need it and it costs ~300 MB RSS.
install() {
  apt_install "~35 s" "radosgw ceph-mon ceph-osd ceph-common curl uuid-runtime" \
    radosgw radosgw-admin ceph-mon ceph-osd ceph monmaptool curl
}

port_of() { sed -n 's/^rgw_port=//p' "$DIR/ports" 2>/dev/null; }

running() {
  local d port
  for d in "${DAEMONS[@]}"; do pid_of "$d" >/dev/null || return 1; done
  port=$(port_of) && [ -n "$port" ] || return 1
  curl -fsS -o /dev/null --max-time 3 "http://127.0.0.1:$port/"
}

osd_up() { ceph osd stat -f json | grep -q '"num_up_osds":1'; }

start() {
  local t0=$SECONDS
  install
  if running; then
    echo "ceph rgw ready at http://127.0.0.1:$(port_of) (0 s)"; return 0
  fi
  # Stale or half-started cluster: kill whatever of ours still lives, then start clean.
  wipe
  mkdir -p "$DIR"/{run,log,mon,osd,rgw,crash}
  : >"$DIR/$MARKER"
  local mon_port rgw_port fsid osd_uuid osd_id
  read -r mon_port rgw_port <<<"$(free_ports 2)"   # python3 comes with ceph-common
  rgw_port=${S3DUCT_CEPH_PORT:-$rgw_port}
  [ "$rgw_port" != "$mon_port" ] || read -r mon_port <<<"$(free_ports 1)"
  fsid=$(cat /proc/sys/kernel/random/uuid)
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  printf 'mon_port=%s\nrgw_port=%s\n' "$mon_port" "$rgw_port" >"$DIR/ports"
  # Server-side encryption: two SSE-KMS keys for the `testing` backend, new on every start.
  local kms1 kms2
  kms1=$(head -c 32 /dev/urandom | base64 -w0)
  kms2=$(head -c 32 /dev/urandom | base64 -w0)

  cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
public addr = 127.0.0.1
cluster addr = 127.0.0.1
# v2 only: one port for the mon, nothing listening on the legacy 6789.
ms bind msgr1 = false
# Daemons trust each other; S3 requests are still SigV4-checked by the gateway.
auth cluster required = none
auth service required = none
auth client required = none
keyring = $DIR/keyring
run dir = $DIR/run
pid file = $DIR/run/\$name.pid
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
mon cluster log file = $DIR/log/cluster.log
crash dir = $DIR/crash
mon data = $DIR/mon/\$id
osd data = $DIR/osd/\$id
rgw data = $DIR/rgw/\$id
# One OSD: every pool must live with a single replica on a single host.
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
# RAM-backed OSD: fast and leaves nothing on disk; 8 GiB is a cap, not an allocation.
osd objectstore = memstore
memstore device bytes = 8589934592
# Default 1 s per map change makes start take ~13 s instead of ~2 s.
paxos propose interval = 0.01

[client.$RGW_ID]
# Without crc mode radosgw hangs at start when daemon auth is off.
ms mon client mode = crc
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw dns name = localhost
# Reclaim deleted objects quickly: memstore holds them in RAM until gc runs.
rgw gc obj min wait = 30
rgw gc processor period = 30
# SSE-C and SSE-KMS over the tests' plain http (the default refuses any SSE header without TLS).
rgw crypt require ssl = false
# SSE-KMS from keys in this file (Ceph's "testing" backend; not for production). Ceph 16.2 has
# no SSE-S3: it answers AES256 with 200 and stores plaintext (tests/integration/sse_test.ts).
rgw crypt s3 kms backend = testing
rgw crypt s3 kms encryption keys = $KMS_KEY_1=$kms1 $KMS_KEY_2=$kms2
EOF
  : >"$DIR/keyring"

  # "-c $CONF" on every daemon command line lets pid_of() prove a PID is ours.
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$DIR/monmap" >/dev/null 2>&1
  ceph-mon -c "$CONF" -i a --mkfs --monmap "$DIR/monmap" >>"$DIR/log/setup.log" 2>&1 \
    || fail_logs "ceph-mon --mkfs failed"
  ceph-mon -c "$CONF" -i a >>"$DIR/log/setup.log" 2>&1 || fail_logs "ceph-mon failed to start"
  wait_for 30 ceph --connect-timeout 3 mon stat || fail_logs "monitor did not come up"

  osd_id=$(ceph osd new "$osd_uuid" 2>>"$DIR/log/setup.log") || fail_logs "ceph osd new failed"
  [ "$osd_id" = 0 ] || fail_logs "expected osd id 0, got '$osd_id'"
  mkdir -p "$DIR/osd/0"
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$DIR/log/setup.log" 2>&1 \
    || fail_logs "ceph-osd --mkfs failed"
  ceph-osd -c "$CONF" -i 0 >>"$DIR/log/setup.log" 2>&1 || fail_logs "ceph-osd failed to start"
  wait_for 60 osd_up || fail_logs "osd did not come up"

  radosgw-admin -n "client.$RGW_ID" user create --uid=s3duct --display-name="s3duct tests" \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >>"$DIR/log/setup.log" 2>&1 \
    || fail_logs "radosgw-admin user create failed"
  radosgw -c "$CONF" -n "client.$RGW_ID" >>"$DIR/log/setup.log" 2>&1 || fail_logs "radosgw failed to start"
  local endpoint=http://127.0.0.1:$rgw_port
  local t_rgw=$SECONDS deadline=$((t0 + 90))
  until curl -fsS -o /dev/null --max-time 3 "$endpoint/" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || fail_logs "radosgw did not answer on $endpoint within 90 s"
    # A gateway that died (e.g. port taken) should fail now, not after 90 s; its pid file
    # appears only after it forks, hence the grace.
    [ $((SECONDS - t_rgw)) -lt 5 ] || pid_of "client.$RGW_ID" >/dev/null \
      || fail_logs "radosgw exited (port $rgw_port taken?)"
    sleep 0.2
  done

  # curl 7.88 (Debian 12) leaves x-amz-content-sha256 out of the signature and RGW then answers
  # SignatureDoesNotMatch; sending the header makes curl sign it.
  curl -fsS -o /dev/null -X PUT -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
    --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY" "$endpoint/$BUCKET" \
    || fail_logs "creating bucket $BUCKET failed"

  cat >"$DIR/env" <<EOF
export S3DUCT_TEST_ENDPOINT=$endpoint
export S3DUCT_TEST_BUCKET=$BUCKET
export S3DUCT_TEST_ACCESS_KEY=$ACCESS_KEY
export S3DUCT_TEST_SECRET_KEY=$SECRET_KEY
export S3DUCT_TEST_REGION=$REGION
export S3DUCT_TEST_KMS_KEY_ID=$KMS_KEY_1
export S3DUCT_TEST_KMS_KEY_ID_2=$KMS_KEY_2
EOF
  echo "ceph rgw ready at $endpoint ($((SECONDS - t0)) s)"
}

dispatch "$cmd"
