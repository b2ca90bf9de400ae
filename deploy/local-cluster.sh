#!/usr/bin/env bash
# A whole grid on this machine, on loopback: a private PostgreSQL cluster, one API silo and N worker silos.
#
#   deploy/local-cluster.sh start [--workers N] [--run-dir DIR] [--api-port P] [--pg-port P] [--cpu-slots S]
#                                 [--token T] [--silo-dll PATH]
#   deploy/local-cluster.sh stop   [--run-dir DIR]
#   deploy/local-cluster.sh status [--run-dir DIR]
#
# start builds the silo (Release) unless --silo-dll names a built Bilevel.Silo.dll, initialises PostgreSQL in
# RUN_DIR/pg (as the postgres user when run as root: initdb refuses root), starts it on 127.0.0.1, creates the
# database "bilevel", starts the API silo and the workers, and returns once the API answers /health. Every process
# writes RUN_DIR/NAME.log and RUN_DIR/NAME.pid; RUN_DIR/cluster.env holds BILEVEL_SERVER (and BILEVEL_API_TOKEN when
# a token was given) for the CLI. stop sends SIGTERM (workers checkpoint and release their trials), waits, then stops
# PostgreSQL. Defaults: 2 workers, RUN_DIR ./.bilevel-cluster, API port 5000, a free PostgreSQL port.
set -euo pipefail

command=${1:-}
[ $# -gt 0 ] && shift
run_dir=.bilevel-cluster
workers=2
api_port=5000
pg_port=""
cpu_slots=1
token=${BILEVEL_API_TOKEN:-}
silo_dll=""
while [ $# -gt 0 ]; do
  case "$1" in
    --workers) workers=$2; shift 2 ;;
    --run-dir) run_dir=$2; shift 2 ;;
    --api-port) api_port=$2; shift 2 ;;
    --pg-port) pg_port=$2; shift 2 ;;
    --cpu-slots) cpu_slots=$2; shift 2 ;;
    --token) token=$2; shift 2 ;;
    --silo-dll) silo_dll=$2; shift 2 ;;
    *) echo "local-cluster: unknown option '$1'" >&2; exit 2 ;;
  esac
done
case "$workers" in ''|*[!0-9]*) echo "local-cluster: --workers must be a number, got '$workers'" >&2; exit 2 ;; esac
case "$api_port" in ''|*[!0-9]*) echo "local-cluster: --api-port must be a number, got '$api_port'" >&2; exit 2 ;; esac

repo_root="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$run_dir"
run_dir="$(cd "$run_dir" && pwd)"
pg_dir="$run_dir/pg"

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] || { echo "local-cluster: PostgreSQL is not installed; run deploy/install-prerequisites.sh" >&2; exit 1; }
  echo "$dir"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_http() { # url seconds
  local deadline=$((SECONDS + $2))
  until python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$1" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

start_silo() { # name, then silo arguments
  local name=$1; shift
  if alive "$run_dir/$name.pid"; then echo "local-cluster: $name already runs (pid $(cat "$run_dir/$name.pid"))" >&2; return; fi
  # setsid: a process group of its own, so stop can signal it without touching the caller.
  BILEVEL_API_TOKEN="$token" setsid dotnet "$silo_dll" "$@" >"$run_dir/$name.log" 2>&1 < /dev/null &
  echo $! >"$run_dir/$name.pid"
}

start() {
  if [ -z "$silo_dll" ]; then
    dotnet build "$repo_root/silo/Bilevel.Silo/Bilevel.Silo.csproj" -c Release -v quiet -nologo >"$run_dir/build.log" 2>&1 \
      || { echo "local-cluster: building the silo failed; see $run_dir/build.log" >&2; exit 1; }
    silo_dll="$repo_root/silo/Bilevel.Silo/bin/Release/net10.0/Bilevel.Silo.dll"
  fi
  [ -f "$silo_dll" ] || { echo "local-cluster: --silo-dll: $silo_dll does not exist" >&2; exit 1; }
  silo_dll="$(cd "$(dirname "$silo_dll")" && pwd)/$(basename "$silo_dll")"

  local bin
  bin=$(pg_bin)
  [ -n "$pg_port" ] || pg_port=$(free_port)
  if [ ! -f "$pg_dir/PG_VERSION" ]; then
    mkdir -p "$pg_dir"
    if [ "$(id -u)" -eq 0 ]; then chmod 755 "$run_dir"; chown postgres:postgres "$pg_dir"; fi
    as_postgres "$bin/initdb" -D "$pg_dir" -A trust -U postgres --no-sync >"$run_dir/initdb.log" 2>&1 \
      || { echo "local-cluster: initdb failed; see $run_dir/initdb.log" >&2; exit 1; }
  fi
  if ! as_postgres "$bin/pg_ctl" -D "$pg_dir" status >/dev/null 2>&1; then
    as_postgres "$bin/pg_ctl" -D "$pg_dir" -l "$pg_dir/server.log" -w -t 60 \
      -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null \
      || { echo "local-cluster: PostgreSQL did not start; see $pg_dir/server.log" >&2; exit 1; }
    echo "$pg_port" >"$run_dir/pg.port"
  fi
  pg_port=$(cat "$run_dir/pg.port")
  as_postgres "$bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'bilevel'" | grep -q 1 \
    || as_postgres "$bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres bilevel
  local connection="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=bilevel"

  start_silo api --roles api --urls "http://127.0.0.1:$api_port" --postgres "$connection" --Silo:DataDirectory="$run_dir"
  wait_http "http://127.0.0.1:$api_port/health" 60 \
    || { echo "local-cluster: the API did not answer /health within 60 s; see $run_dir/api.log" >&2; exit 1; }
  for i in $(seq 1 "$workers"); do
    start_silo "worker-$i" --roles worker --urls "http://127.0.0.1:0" --postgres "$connection" \
      --worker-id "local-worker-$i" --cpu-slots "$cpu_slots" --Silo:DataDirectory="$run_dir"
  done
  {
    echo "BILEVEL_SERVER=http://127.0.0.1:$api_port"
    [ -z "$token" ] || echo "BILEVEL_API_TOKEN=$token"
    echo "BILEVEL_POSTGRES='$connection'"
  } >"$run_dir/cluster.env"
  chmod 600 "$run_dir/cluster.env"
  echo "local-cluster: PostgreSQL on 127.0.0.1:$pg_port, API on http://127.0.0.1:$api_port, $workers workers; run dir $run_dir"
}

stop_pid() { # pid file
  local pidfile=$1 pid
  alive "$pidfile" || { rm -f "$pidfile"; return 0; }
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "local-cluster: $(basename "$pidfile" .pid) did not stop in 30 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

stop() {
  local pidfile
  for pidfile in "$run_dir"/worker-*.pid; do [ -e "$pidfile" ] && stop_pid "$pidfile"; done
  stop_pid "$run_dir/api.pid"
  if [ -f "$pg_dir/PG_VERSION" ]; then
    as_postgres "$(pg_bin)/pg_ctl" -D "$pg_dir" -m fast -w stop >/dev/null 2>&1 || true
  fi
  echo "local-cluster: stopped ($run_dir)"
}

status() {
  local pidfile name
  for pidfile in "$run_dir"/*.pid; do
    [ -e "$pidfile" ] || continue
    name=$(basename "$pidfile" .pid)
    if alive "$pidfile"; then echo "$name: running (pid $(cat "$pidfile"))"; else echo "$name: stopped"; fi
  done
  if [ -f "$pg_dir/PG_VERSION" ] && as_postgres "$(pg_bin)/pg_ctl" -D "$pg_dir" status >/dev/null 2>&1; then
    echo "postgres: running (port $(cat "$run_dir/pg.port"))"
  else
    echo "postgres: stopped"
  fi
}

case "$command" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
