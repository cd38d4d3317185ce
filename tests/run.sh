#!/usr/bin/env bash
# The project's test command (`deno task test`, also run by .ci/run): installs what is missing
# (Ceph via apt-get when root), starts a throwaway Ceph RGW and Swift s3api (the server matrix:
# tests/servers/swift.sh), runs every test (unit, compat, integration), stops the servers it
# started, and exits with deno test's status.
#   tests/run.sh                 all tests
#   tests/run.sh bench [args]    the benchmark (bench/bench.ts) against the same servers
#   tests/run.sh -- [deno test args]   e.g. -- --filter tamper
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export S3DUCT_CEPH_DIR=${S3DUCT_CEPH_DIR:-/tmp/s3duct-ceph}
# Tests talk to 127.0.0.1 only: never let the credential chain probe EC2 instance metadata.
export AWS_EC2_METADATA_DISABLED=true
command -v deno >/dev/null || { echo "run.sh: deno not on PATH; run via: npx -y deno@2.9.6 task test" >&2; exit 3; }

need_apt=()
command -v age >/dev/null || need_apt+=(age)
command -v strace >/dev/null || need_apt+=(strace)   # durability test: traces fsync after rename
[ -x /usr/bin/time ] || need_apt+=(time)   # GNU time: peak-RSS meter (hostile-store tests, bench)
# network_test.ts: TLS terminators and the [::1] relay (socat), a real proxy (tinyproxy), certs
command -v socat >/dev/null || need_apt+=(socat)
command -v tinyproxy >/dev/null || need_apt+=(tinyproxy)
command -v openssl >/dev/null || need_apt+=(openssl)
if [ "${1:-}" = bench ]; then
  command -v aws >/dev/null || need_apt+=(awscli)
  command -v zstd >/dev/null || need_apt+=(zstd)   # bench --compress: the external-pipe baseline
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "run.sh: installing ${need_apt[*]} (apt-get)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" \
      >&2 </dev/null || { apt-get update -qq >&2 </dev/null &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >&2 </dev/null; }
  else
    echo "run.sh: missing ${need_apt[*]}; as root: apt-get install ${need_apt[*]}" >&2
    exit 3
  fi
fi

started=0
if ! bash tests/servers/ceph.sh status "$S3DUCT_CEPH_DIR" >/dev/null 2>&1; then
  bash tests/servers/ceph.sh start "$S3DUCT_CEPH_DIR" || {
    echo "run.sh: could not start Ceph RGW; integration tests cannot run (see messages above)" >&2
    exit 1
  }
  started=1
fi
# The second server of the matrix (tests/integration/harness.ts servers()): Swift's s3api.
export S3DUCT_SWIFT_DIR=${S3DUCT_SWIFT_DIR:-/tmp/s3duct-swift}
swift_started=0
if [ "${1:-}" != bench ] && ! bash tests/servers/swift.sh status "$S3DUCT_SWIFT_DIR" >/dev/null 2>&1; then
  bash tests/servers/swift.sh start "$S3DUCT_SWIFT_DIR" || {
    echo "run.sh: could not start Swift (s3api); the server matrix cannot run (see above)" >&2
    [ $started = 1 ] && bash tests/servers/ceph.sh stop "$S3DUCT_CEPH_DIR" >&2
    exit 1
  }
  swift_started=1
fi
stop() {
  [ $swift_started = 1 ] && bash tests/servers/swift.sh stop "$S3DUCT_SWIFT_DIR" >&2
  [ $started = 1 ] && bash tests/servers/ceph.sh stop "$S3DUCT_CEPH_DIR" >&2
}
trap stop EXIT
# shellcheck disable=SC1091
. "$S3DUCT_CEPH_DIR/env"
if [ "${1:-}" != bench ]; then
  # shellcheck disable=SC1091
  . "$S3DUCT_SWIFT_DIR/env"
  # A missing Swift env then fails the matrix tests instead of quietly running Ceph only.
  export S3DUCT_REQUIRE_SWIFT=1
fi

if [ "${1:-}" = bench ]; then
  shift
  deno run -A bench/bench.ts "$@"
  exit $?
fi
if [ "${1:-}" = -- ]; then
  shift
  deno test -A --no-check=remote "$@" tests/
  exit $?
fi
# Every test, then the data-moving integration tests once more on the portable path (no
# OpenSSL: what the least-privilege flags, without --allow-ffi, run), since races there once
# passed on one machine and failed on another. The last line sums both runs in deno test's
# own summary format, which .ci/run reads.
out=$(mktemp)
deno test -A --no-check=remote tests/ 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
echo "run.sh: the data-moving tests again without OpenSSL (S3DUCT_NO_OPENSSL=1)"
# On Ceph only: the portable path does not depend on the server, and CI time is counted. Fewer
# SIGKILL rounds (3, not 10) and concurrent pairs (8, not 20); the 1000-request fault-rate run
# (transport, not hashing), the test that runs the portable path itself, and permissions_test
# (its runs have no --allow-ffi: portable already) are left to the first run. The first run
# type-checked these files already (--no-check).
S3DUCT_NO_OPENSSL=1 S3DUCT_CHAOS_ITERATIONS=3 S3DUCT_CONCURRENT_PAIRS=8 S3DUCT_PORTABLE_RERUN=1 \
  env -u S3DUCT_SWIFT_ENDPOINT -u S3DUCT_REQUIRE_SWIFT deno test -A --no-check \
  tests/integration/roundtrip_test.ts tests/integration/resume_test.ts \
  tests/integration/restorable_test.ts tests/integration/faults_test.ts \
  tests/integration/spill_test.ts tests/integration/age_test.ts \
  tests/integration/v2_test.ts tests/integration/compress_test.ts 2>&1 | tee -a "$out"
portable=${PIPESTATUS[0]}
totals=$(sed 's/\x1b\[[0-9;]*m//g' "$out" | grep -E '^(ok|FAILED) \| [0-9]+ passed' |
  sed -E 's/^[A-Za-z]+ \| ([0-9]+) passed.*\| ([0-9]+) failed.*/\1 \2/' |
  awk '{p += $1; f += $2} END {print p + 0, f + 0}')
rm -f "$out"
read -r passed failed <<<"$totals"
if [ "$status" -eq 0 ] && [ "$portable" -eq 0 ]; then
  echo "ok | $passed passed | $failed failed (all tests, then the portable-path rerun)"
  exit 0
fi
echo "FAILED | $passed passed | $failed failed (all tests, then the portable-path rerun)"
exit 1
