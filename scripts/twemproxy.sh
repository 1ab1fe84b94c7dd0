#!/usr/bin/env bash
# Shards respd behind twemproxy (nutcracker) on this machine.
#
#   scripts/twemproxy.sh N [--auth PASSWORD] [--port PORT] [--redis-server]
#       starts N respd shards and nutcracker in front of them, prints the
#       proxy's address (host:port) as the last line of its output.
#   scripts/twemproxy.sh stop
#       stops exactly the processes the last start started.
#
# Ports: the proxy listens on PORT (default 22121, nutcracker's own), the
# shards on PORT+1 ... PORT+N, nutcracker's stats on PORT+N+1; all on
# 127.0.0.1. State (config, pid files, logs, shard data) lives in
# $TWEMPROXY_DIR (default: $TMPDIR/respd-twemproxy). The respd binary is
# $RESPD_BIN, or target/release/respd (built when missing). --redis-server
# runs redis-server shards instead, to compare the two behind the same proxy.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STATE="${TWEMPROXY_DIR:-${TMPDIR:-/tmp}/respd-twemproxy}"

usage() {
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# True while process $1 runs (an exited one waiting to be reaped does not).
alive() {
    kill -0 "$1" 2>/dev/null && [[ $(ps -o stat= -p "$1" 2>/dev/null) != Z* ]]
}

# Stops the process whose pid is in $1 if it is still running.
stop_one() {
    local pidfile=$1 pid
    pid=$(cat "$pidfile" 2>/dev/null) || return 0
    if alive "$pid"; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do
            alive "$pid" || break
            sleep 0.1
        done
        alive "$pid" && kill -9 "$pid" 2>/dev/null
    fi
    rm -f "$pidfile"
}

stop() {
    [[ -d $STATE ]] || { echo "nothing started (no $STATE)"; return 0; }
    # The proxy first, so no client is sent to a shard going away.
    [[ -f $STATE/nutcracker.pid ]] && stop_one "$STATE/nutcracker.pid"
    for pidfile in "$STATE"/shard-*.pid; do
        [[ -e $pidfile ]] && stop_one "$pidfile"
    done
    rm -rf "$STATE"
    echo "stopped"
}

# Waits until the process in pid file $2 accepts connections on 127.0.0.1:$1.
wait_port() {
    for _ in $(seq 100); do
        if ! alive "$(cat "$2")"; then
            echo "the server for port $1 exited (see the logs in $STATE)" >&2
            return 1
        fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "nothing listens on 127.0.0.1:$1 (see the logs in $STATE)" >&2
    return 1
}

start() {
    local shards=$1 port=22121 auth="" backend=respd
    shift
    while [[ $# -gt 0 ]]; do
        case $1 in
            --auth) auth=${2:?--auth needs a password}; shift 2 ;;
            --port) port=${2:?--port needs a number}; shift 2 ;;
            --redis-server) backend=redis-server; shift ;;
            *) usage ;;
        esac
    done
    [[ $shards =~ ^[1-9][0-9]*$ ]] || usage
    command -v nutcracker >/dev/null || {
        echo "nutcracker is not installed (Debian/Ubuntu: apt-get install nutcracker)" >&2
        exit 1
    }
    if [[ -e $STATE/nutcracker.pid ]]; then
        echo "already started ($STATE): run '$0 stop' first" >&2
        exit 1
    fi
    local server
    if [[ $backend == respd ]]; then
        server="${RESPD_BIN:-}"
        if [[ -z $server ]]; then
            server="${CARGO_TARGET_DIR:-$ROOT/target}/release/respd"
            [[ -x $server ]] || (cd "$ROOT" && cargo build --release --bin respd)
        fi
    else
        server=$(command -v redis-server)
    fi
    mkdir -p "$STATE"
    # On any failure from here, stop what was started.
    trap 'stop >/dev/null' ERR

    local conf=$STATE/nutcracker.yml
    {
        echo "respd:"
        echo "  listen: 127.0.0.1:$port"
        echo "  hash: murmur"
        echo "  distribution: ketama"
        echo "  redis: true"
        echo "  timeout: 2000"
        echo "  auto_eject_hosts: true"
        echo "  server_retry_timeout: 2000"
        echo "  server_failure_limit: 1"
        [[ -n $auth ]] && echo "  redis_auth: $auth"
        echo "  servers:"
    } >"$conf"

    local i shard_port dir
    for i in $(seq "$shards"); do
        shard_port=$((port + i))
        dir=$STATE/shard-$i
        mkdir -p "$dir"
        local args=(--port "$shard_port" --bind 127.0.0.1 --dir "$dir" --save "")
        [[ -n $auth ]] && args+=(--requirepass "$auth")
        nohup "$server" "${args[@]}" >"$dir/log" 2>&1 &
        echo $! >"$STATE/shard-$i.pid"
        # host:port:weight name (the name keeps the ring stable if ports change)
        echo "   - 127.0.0.1:$shard_port:1 shard-$i" >>"$conf"
    done
    for i in $(seq "$shards"); do
        wait_port $((port + i)) "$STATE/shard-$i.pid"
    done

    nutcracker --test-conf -c "$conf" >/dev/null 2>&1 || {
        nutcracker --test-conf -c "$conf" >&2
        false
    }
    nohup nutcracker -c "$conf" -s $((port + shards + 1)) -o "$STATE/nutcracker.log" \
        >/dev/null 2>&1 &
    echo $! >"$STATE/nutcracker.pid"
    wait_port "$port" "$STATE/nutcracker.pid"
    trap - ERR

    echo "$shards $backend shards on 127.0.0.1:$((port + 1))-$((port + shards)), state in $STATE"
    echo "stop them with: $0 stop"
    echo "127.0.0.1:$port"
}

case ${1:-} in
    stop) stop ;;
    "" | -h | --help) usage ;;
    *) start "$@" ;;
esac
