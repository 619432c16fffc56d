#!/bin/sh
# dockwall snapshot collector (POSIX sh, no dependencies beyond the tools it reads from).
#
#   sh collect.sh [OUT_DIR]        (as root on the Docker host)
#
# Writes the snapshot directory dockwall reads: rulesets, daemon.json, docker inspect output,
# addresses, routes, listeners, sysctls, and manifest.json saying what was missing and why.
# It only runs read-only commands; it never changes the host. A missing tool, permission or
# daemon is recorded in manifest.json and never stops the collection. Nothing is sent anywhere.
set -u

OUT=${1:-dockwall-snapshot-$(hostname 2>/dev/null || echo host)-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT" || { echo "collect.sh: cannot create $OUT" >&2; exit 2; }
ERR="$OUT/.collect-stderr"
MISSING=""
FILES=""

# JSON string body: line breaks and tabs become spaces, other control characters are dropped,
# backslashes and quotes are escaped.
json_escape() {
  printf '%s' "$1" | tr '\n\r\t' '   ' | tr -d '\000-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'
}

# note_missing FILE COMMAND REASON
note_missing() {
  entry="{\"file\": \"$(json_escape "$1")\", \"command\": \"$(json_escape "$2")\", \"reason\": \"$(json_escape "$3")\"}"
  if [ -z "$MISSING" ]; then MISSING="$entry"; else MISSING="$MISSING, $entry"; fi
  rm -f "$OUT/$1"
}

note_file() {
  entry="\"$(json_escape "$1")\""
  if [ -z "$FILES" ]; then FILES="$entry"; else FILES="$FILES, $entry"; fi
}

have() { command -v "$1" >/dev/null 2>&1; }

# The start of a command's error output, on one line (POSIX tools only).
first_line() {
  tr '\n' ' ' <"$1" | cut -c1-300
}

# capture FILE TOOL ARGS... : run a read-only command into FILE, or record why not.
capture() {
  file=$1; shift
  if ! have "$1"; then
    note_missing "$file" "$*" "$1 is not installed"
    return 1
  fi
  "$@" >"$OUT/$file" 2>"$ERR"
  status=$?
  if [ "$status" -eq 0 ]; then
    note_file "$file"
    return 0
  fi
  reason=$(first_line "$ERR")
  note_missing "$file" "$*" "exit status $status: ${reason:-no message}"
  return 1
}

capture iptables-save.txt iptables-save
capture ip6tables-save.txt ip6tables-save

if [ -r /etc/docker/daemon.json ]; then
  cat /etc/docker/daemon.json >"$OUT/daemon.json" && note_file daemon.json
elif [ -e /etc/docker/daemon.json ]; then
  note_missing daemon.json "cat /etc/docker/daemon.json" "not readable (run as root)"
else
  note_missing daemon.json "cat /etc/docker/daemon.json" "no /etc/docker/daemon.json: dockerd runs with its defaults"
fi

if have docker; then
  if docker version --format '{{json .}}' >"$OUT/docker-version.json" 2>"$ERR" && docker info >/dev/null 2>&1; then
    note_file docker-version.json
    ids=$(docker ps -aq 2>"$ERR")
    if [ -n "$ids" ]; then
      # shellcheck disable=SC2086 # one argument per id
      capture containers.json docker inspect $ids
    else
      echo '[]' >"$OUT/containers.json" && note_file containers.json
    fi
    nets=$(docker network ls -q 2>"$ERR")
    # shellcheck disable=SC2086
    [ -n "$nets" ] && capture networks.json docker network inspect $nets
  else
    reason=$(first_line "$ERR")
    # The client still prints its own part; keep it so the client version is known.
    if [ -s "$OUT/docker-version.json" ]; then note_file docker-version.json; fi
    for f in containers.json networks.json; do
      note_missing "$f" "docker" "the Docker daemon is not reachable: ${reason:-no message}"
    done
    [ -s "$OUT/docker-version.json" ] || note_missing docker-version.json "docker version" "the Docker daemon is not reachable: ${reason:-no message}"
  fi
else
  for f in docker-version.json containers.json networks.json; do
    note_missing "$f" "docker" "docker CLI is not installed"
  done
fi

capture ip-addr.json ip -j addr show
# IPv4 and IPv6 routes of every table, merged into one JSON array.
if have ip; then
  v4=$(ip -j -4 route show table all 2>"$ERR") || v4=""
  v6=$(ip -j -6 route show table all 2>/dev/null) || v6=""
  [ -n "$v4" ] || v4='[]'
  [ -n "$v6" ] || v6='[]'
  if [ "$v6" = '[]' ]; then routes=$v4
  elif [ "$v4" = '[]' ]; then routes=$v6
  else routes="${v4%]},${v6#[}"; fi
  printf '%s\n' "$routes" >"$OUT/ip-route.json" && note_file ip-route.json
else
  note_missing ip-route.json "ip -j route show table all" "ip is not installed"
fi

capture listeners.txt ss -Htlnup

# sysctls straight from /proc (no sysctl binary needed); br_netfilter keys exist only when the
# module is loaded.
: >"$OUT/sysctl.txt"
for key in net.ipv4.ip_forward net.ipv6.conf.all.forwarding net.bridge.bridge-nf-call-iptables \
  net.bridge.bridge-nf-call-ip6tables net.ipv4.conf.all.route_localnet; do
  p=/proc/sys/$(printf '%s' "$key" | tr . /)
  if [ -r "$p" ]; then
    printf '%s = %s\n' "$key" "$(cat "$p")" >>"$OUT/sysctl.txt"
  else
    note_missing "sysctl.txt:$key" "cat $p" "not present (for net.bridge.*: br_netfilter not loaded)"
  fi
done
note_file sysctl.txt

if have nft; then
  capture nft-ruleset.json nft -j list ruleset
else
  note_missing nft-ruleset.json "nft -j list ruleset" "nft is not installed"
fi

rm -f "$ERR"
host=$(hostname 2>/dev/null || echo unknown)
cat >"$OUT/manifest.json" <<JSON
{
  "collector": "collect.sh",
  "host": "$(json_escape "$host")",
  "time": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "uid": $(id -u 2>/dev/null || echo null),
  "kernel": "$(json_escape "$(uname -r 2>/dev/null)")",
  "files": [$FILES],
  "missing": [$MISSING]
}
JSON
echo "dockwall snapshot written to $OUT" >&2
