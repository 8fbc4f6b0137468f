#!/usr/bin/env bash
# Stops the nodes start.sh started in DATA (default var/kafka): SIGTERM, then SIGKILL after 30 s.
#   stop.sh [--data DIR] [--purge]     --purge also deletes DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="$here/../../var/kafka"
purge=false
while [[ $# -gt 0 ]]; do
    case "$1" in
        --data) data="$2"; shift 2 ;;
        --purge) purge=true; shift ;;
        *) echo "usage: $0 [--data DIR] [--purge]" >&2; exit 2 ;;
    esac
done
[[ -d "$data" ]] || exit 0
pids=()
for pidfile in "$data"/node-*/pid; do
    [[ -f "$pidfile" ]] || continue
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        pids+=("$pid")
    fi
    rm -f "$pidfile"
done
deadline=$(( SECONDS + 30 ))
for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null; do
        if (( SECONDS > deadline )); then kill -KILL "$pid" 2>/dev/null || true; break; fi
        sleep 0.2
    done
done
if $purge; then rm -rf "$data"; fi
