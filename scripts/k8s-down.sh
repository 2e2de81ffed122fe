#!/usr/bin/env bash
# Stop the control plane started by scripts/k8s-up.sh and remove its state dir.
# Only the processes recorded in <state>/*.pid are signalled, and only when the
# pid still runs the binary k8s-up started. Safe to run when nothing is up.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${AICR_CI_K8S_STATE_DIR:-$ROOT/.k8s}"

log() { printf '[k8s-down] %s\n' "$*" >&2; }

if [[ ! -d "$STATE" ]]; then
  log "nothing to stop ($STATE does not exist)"
  exit 0
fi

exec 9>"$STATE/.lock"
flock -w 120 9 || { log "could not take $STATE/.lock; stopping anyway"; }

ours() { # pid name -> true if pid is alive and runs .../<name>
  local pid="$1" name="$2" exe
  kill -0 "$pid" 2>/dev/null || return 1
  exe="$(readlink "/proc/$pid/exe" 2>/dev/null || true)"
  [[ -z "$exe" || "$(basename "${exe% (deleted)}")" == "$name" ]]
}

# controller-manager first, etcd last
for name in kube-controller-manager kube-apiserver etcd; do
  f="$STATE/$name.pid"
  [[ -f "$f" ]] || continue
  pid="$(cat "$f")"
  if [[ -n "$pid" ]] && ours "$pid" "$name"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do ours "$pid" "$name" || break; sleep 0.1; done
    if ours "$pid" "$name"; then
      log "$name ($pid) ignored SIGTERM for 10s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    log "stopped $name ($pid)"
  fi
  rm -f "$f"
done

rm -rf "$STATE"
log "removed $STATE"
