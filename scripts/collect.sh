#!/bin/sh
# dockwall snapshot collector (POSIX sh, no dependencies beyond the tools it reads from).
#
#   sh collect.sh [--force] [--keep-env] [OUT_DIR]        (as root on the Docker host)
#
# Writes the snapshot directory dockwall reads: rulesets, daemon.json, docker inspect output,
# addresses, routes, listeners, sysctls, and manifest.json saying what was missing and why.
# It only runs read-only commands; it never changes the host. A missing tool, permission or
# daemon is recorded in manifest.json and never stops the collection. Nothing is sent anywhere.
#
# It runs as root where others may have prepared the ground, so: OUT_DIR must be new or empty
# (--force replaces an earlier snapshot in it: its snapshot files are removed, nothing else is
# touched); the directory gets mode 0700 and every file 0600; no file is written through a link
# (noclobber, in a directory only we can write); containers' environment variables (passwords)
# are left out of containers.json unless --keep-env. Exit status: 0 written, 2 the directory was
# refused or no ruleset could be read.
set -u
umask 077

usage() {
  cat <<'USAGE'
Usage: sh collect.sh [--force] [--keep-env] [OUT_DIR]       (as root on the Docker host)

Writes a dockwall snapshot directory (default ./dockwall-snapshot-<host>-<UTC time>), which must
be new or empty. Mode 0700 for the directory, 0600 for each file; containers' environment
variables are left out of containers.json.

  --force      collect into a directory holding an earlier snapshot (its snapshot files are
               removed first; nothing else is touched)
  --keep-env   keep containers' environment variables (Config.Env)

Exit status: 0 written; 2 the directory was refused, or no ruleset could be read (not root?).
USAGE
}

FORCE=0
KEEP_ENV=0
OUT=""
for arg in "$@"; do
  case $arg in
    --force) FORCE=1 ;;
    --keep-env) KEEP_ENV=1 ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "collect.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
    *)
      [ -z "$OUT" ] || { echo "collect.sh: one OUT_DIR only" >&2; exit 2; }
      OUT=$arg
      ;;
  esac
done
[ -n "$OUT" ] || OUT=dockwall-snapshot-$(hostname 2>/dev/null || echo host)-$(date -u +%Y%m%dT%H%M%SZ)

refuse() { echo "collect.sh: $1" >&2; exit 2; }

# The names a snapshot directory may hold (and our scratch file).
SNAPSHOT_NAMES="iptables-save.txt ip6tables-save.txt nft-ruleset.json nft-ruleset.txt daemon.json
networks.json containers.json listeners.txt ip-addr.json ip-route.json ip-rule.json ip6-rule.json sysctl.txt
docker-version.json manifest.json .collect-stderr"

is_snapshot_name() {
  for n in $SNAPSHOT_NAMES; do [ "$n" = "$1" ] && return 0; done
  return 1
}

if [ -L "$OUT" ]; then
  refuse "$OUT is a symbolic link; give a new directory"
elif [ -e "$OUT" ]; then
  [ -d "$OUT" ] || refuse "$OUT exists and is not a directory"
  owner=$(ls -ldn "$OUT" | awk '{ print $3 }')
  [ "$owner" = "$(id -u)" ] || refuse "$OUT belongs to another user; give a new directory"
  # Every entry, dot files included ("$OUT"/.[!.]* and ..?* cover names starting with a dot).
  for entry in "$OUT"/* "$OUT"/.[!.]* "$OUT"/..?*; do
    [ -e "$entry" ] || [ -L "$entry" ] || continue
    [ "$FORCE" -eq 1 ] || refuse "$OUT is not empty; give a new directory, or --force to replace the snapshot in it"
    is_snapshot_name "${entry##*/}" || refuse "$OUT holds files that are not part of a snapshot (${entry##*/}); give a new directory"
  done
  for n in $SNAPSHOT_NAMES; do
    # rm removes a planted link itself, never its target.
    if [ -e "$OUT/$n" ] || [ -L "$OUT/$n" ]; then rm -f "$OUT/$n" || refuse "cannot remove $OUT/$n"; fi
  done
else
  mkdir -p "$OUT" || refuse "cannot create $OUT"
fi
chmod 700 "$OUT" || refuse "cannot make $OUT private (chmod 700)"
# From here every '>' fails rather than overwrite: nothing is written through a planted link.
set -C

ERR="$OUT/.collect-stderr"
: >"$ERR" || refuse "cannot write in $OUT"
MISSING=""
FILES=""

# JSON string body: line breaks and tabs become spaces, other control characters are dropped,
# backslashes and quotes are escaped.
json_escape() {
  printf '%s' "$1" | tr '\n\r\t' '   ' | tr -d '\000-\037\177' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'
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

has_file() {
  case ", $FILES," in *", \"$1\","*) return 0 ;; esac
  return 1
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
  "$@" >"$OUT/$file" 2>|"$ERR"
  status=$?
  if [ "$status" -eq 0 ]; then
    # iptables-nft-save warns on stderr of legacy tables it does not print: kept in the dump,
    # where dockwall reads what the dump lacks
    grep -E '^# Warning: ip6?tables-legacy tables present, use ip6?tables-legacy-save to see them$' "$ERR" >>"$OUT/$file" 2>/dev/null
    note_file "$file"
    return 0
  fi
  reason=$(first_line "$ERR")
  note_missing "$file" "$*" "exit status $status: ${reason:-no message}"
  return 1
}

# docker inspect output without containers' environment variables: each "Env" array (docker
# writes one string per line) becomes "Env": [].
strip_env() {
  awk '
    skipping {
      if ($0 ~ /^[ \t]*\][ \t]*,?[ \t]*$/) {
        rest = $0; sub(/^[ \t]*\][ \t]*/, "", rest)
        print indent "\"Env\": []" rest
        skipping = 0
      }
      next
    }
    /"Env": \[[ \t]*$/ {
      match($0, /^[ \t]*/); indent = substr($0, 1, RLENGTH); skipping = 1; next
    }
    /"Env": \[.*\]/ { sub(/"Env": \[.*\]/, "\"Env\": []") }
    { print }
  '
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
  if docker version --format '{{json .}}' >"$OUT/docker-version.json" 2>|"$ERR" && docker info >/dev/null 2>&1; then
    note_file docker-version.json
    ids=$(docker ps -aq 2>|"$ERR")
    if [ -n "$ids" ]; then
      # shellcheck disable=SC2086 # one argument per id
      if [ "$KEEP_ENV" -eq 1 ]; then
        capture containers.json docker inspect $ids
      elif docker inspect $ids 2>|"$ERR" | strip_env >"$OUT/containers.json" && [ -s "$OUT/containers.json" ]; then
        note_file containers.json
      else
        reason=$(first_line "$ERR")
        note_missing containers.json "docker inspect" "${reason:-docker inspect failed}"
      fi
    else
      echo '[]' >"$OUT/containers.json" && note_file containers.json
    fi
    nets=$(docker network ls -q 2>|"$ERR")
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
  v4=$(ip -j -4 route show table all 2>|"$ERR") || v4=""
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

# policy routing rules, one file per family: a rule before the main table routes otherwise
capture ip-rule.json ip -j -4 rule show
capture ip6-rule.json ip -j -6 rule show

capture listeners.txt ss -Htlnup

# sysctls straight from /proc (no sysctl binary needed); br_netfilter keys exist only when the
# module is loaded.
: >"$OUT/sysctl.txt"
for key in net.ipv4.ip_forward net.ipv6.conf.all.forwarding net.bridge.bridge-nf-call-iptables \
  net.bridge.bridge-nf-call-ip6tables net.ipv4.conf.all.route_localnet net.ipv4.conf.all.rp_filter \
  net.ipv4.conf.all.accept_local; do
  p=/proc/sys/$(printf '%s' "$key" | tr . /)
  if [ -r "$p" ]; then
    printf '%s = %s\n' "$key" "$(cat "$p")" >>"$OUT/sysctl.txt"
  else
    note_missing "sysctl.txt:$key" "cat $p" "not present (for net.bridge.*: br_netfilter not loaded)"
  fi
done
# route_localnet (a DNAT to 127.0.0.1 from outside needs it), rp_filter (which sources routing
# takes), forwarding (IPv4 forwards what arrives on an interface only where its own is on) and
# accept_local (whether a source of the host's own is routed) per interface, keyed as sysctl
# writes them: a dot in a name becomes '/'.
for which in route_localnet rp_filter forwarding accept_local; do
  for p in /proc/sys/net/ipv4/conf/*/"$which"; do
    [ -r "$p" ] || continue
    name=${p#/proc/sys/net/ipv4/conf/}
    name=${name%/"$which"}
    case $name in all | default) continue ;; esac
    printf 'net.ipv4.conf.%s.%s = %s\n' "$(printf '%s' "$name" | tr . /)" "$which" "$(cat "$p")" >>"$OUT/sysctl.txt"
  done
done
note_file sysctl.txt

if have nft; then
  capture nft-ruleset.json nft -j list ruleset
else
  note_missing nft-ruleset.json "nft -j list ruleset" "nft is not installed"
fi

rm -f "$ERR"
if [ "$KEEP_ENV" -eq 1 ]; then environment=kept; else environment=dropped; fi
host=$(hostname 2>/dev/null || echo unknown)
cat >"$OUT/manifest.json" <<JSON
{
  "collector": "collect.sh",
  "host": "$(json_escape "$host")",
  "time": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "uid": $(id -u 2>/dev/null || echo null),
  "kernel": "$(json_escape "$(uname -r 2>/dev/null)")",
  "containerEnvironment": "$environment",
  "files": [$FILES],
  "missing": [$MISSING]
}
JSON

if ! has_file iptables-save.txt && ! has_file ip6tables-save.txt && ! has_file nft-ruleset.json; then
  user=""
  [ "$(id -u 2>/dev/null)" = 0 ] || user=" (not running as root)"
  echo "collect.sh: no ruleset could be read$user; the snapshot in $OUT cannot be audited (see manifest.json)" >&2
  exit 2
fi
echo "dockwall snapshot written to $OUT" >&2
[ "$KEEP_ENV" -eq 1 ] || echo "  containers' environment variables left out (--keep-env keeps them)" >&2
exit 0
