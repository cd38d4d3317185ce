# Helpers shared by ceph.sh and swift.sh (sourced, never run). Each script sets, before use:
#   NAME       its name in messages (ceph.sh, swift.sh)
#   DIR        its absolute state dir; MARKER the file in DIR that proves the dir is ours
#   PID_MARK   a string on every command line it starts (proves a PID is ours, not recycled)
#   DAEMONS    its processes' pid-file names, in stop order
#   TERM_WAIT  seconds a daemon gets between SIGTERM and SIGKILL
# shellcheck shell=bash

log() { echo "$NAME: $*" >&2; }

# Install the Debian packages $2 unless every command of $3... is on PATH; $1 is how long it
# takes (for the message). Not root: say what to run and exit 3 (the "missing tool" code).
apt_install() {
  local took=$1 pkgs=$2 c missing=()
  shift 2
  for c in "$@"; do command -v "$c" >/dev/null || missing+=("$c"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    log "missing ${missing[*]}; as root run: apt-get install -y --no-install-recommends $pkgs"
    exit 3
  fi
  log "installing $pkgs ($took)"
  export DEBIAN_FRONTEND=noninteractive
  # The package lists may be stale or absent on a fresh machine: update once if install fails.
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $pkgs >&2 || {
    apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends $pkgs >&2
  }
}

# Dead includes zombies: daemons are reparented to PID 1, which may reap them only later.
alive() { grep -q '^State:[[:space:]]*[^Z[:space:]]' "/proc/$1/status" 2>/dev/null; }

# PID from DIR/run/$1.pid, only if that process is alive AND its command line has PID_MARK:
# guards against a recycled PID belonging to some unrelated process.
pid_of() {
  local f=$DIR/run/$1.pid p
  [ -s "$f" ] || return 1
  p=$(<"$f")
  alive "$p" || return 1
  tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$PID_MARK" || return 1
  echo "$p"
}

# Retry a command for up to $1 seconds (by the clock: one try of a CLI can take seconds).
wait_for() {
  local end=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do [ $SECONDS -lt $end ] || return 1; sleep 0.1; done
}

# One at a time, in DAEMONS order (a daemon whose peer is already gone can stall its shutdown).
kill_all() {
  local d p
  for d in "${DAEMONS[@]}"; do
    p=$(pid_of "$d") || continue
    kill -TERM "$p" 2>/dev/null || true
    wait_for "$TERM_WAIT" eval "! alive $p" && continue
    log "$d (pid $p) ignored SIGTERM for $TERM_WAIT s; SIGKILL"
    kill -KILL "$p" 2>/dev/null || true
    wait_for 5 eval "! alive $p" || true
  done
}

# $1 free TCP ports (held open together, so they differ), chosen by the kernel.
free_ports() {
  python3 -c '
import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))' "$1"
}

# Say $1 with the tails of DIR's logs, stop what started, exit 1 (DIR stays for a post-mortem).
fail_logs() {
  log "$1; log tails from $DIR/log:"
  local f
  for f in "$DIR"/log/*.log; do [ -f "$f" ] && { echo "== $f" >&2; tail -n 25 "$f" >&2; }; done
  kill_all
  exit 1
}

# rm -rf only what the script made: a mistyped DIR (say $HOME) must not be deleted.
wipe() {
  [ -e "$DIR" ] || return 0
  if [ ! -e "$DIR/$MARKER" ] && [ -n "$(ls -A "$DIR")" ]; then
    log "$DIR is not a $NAME dir (no $MARKER marker); refusing to delete it"; exit 1
  fi
  kill_all
  rm -rf "$DIR"
}

# The command line both scripts take: install | start [DIR] | stop [DIR] | status [DIR].
dispatch() {
  case $1 in
    install) install ;;
    start) start ;;
    stop) wipe ;;
    status) running ;;
    *) echo "usage: $0 install | start [DIR] | stop [DIR] | status [DIR]" >&2; exit 2 ;;
  esac
}
