#!/usr/bin/env bash
# Smoke test of the control plane from scripts/k8s-up.sh, with curl only.
# Shows the behaviours the test suite relies on:
#   namespace create, ConfigMap server-side apply (fieldManager=aicr, force),
#   SSA into a missing namespace (404), >1 MiB ConfigMap (422) and >3 MiB body (413),
#   RBAC forbidden for a ServiceAccount without rights (403),
#   Job -> Pod created by the Job controller -> pod status PATCHed -> Job Complete / Failed.
# Everything is created in a throw-away namespace that is deleted at the end.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${AICR_CI_K8S_STATE_DIR:-$ROOT/.k8s}"
[[ -f "$STATE/env" ]] || { echo "no control plane in $STATE; run scripts/k8s-up.sh" >&2; exit 1; }
# shellcheck disable=SC1091
source "$STATE/env"
command -v jq >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null; }

NS="smoke-$$-$RANDOM"
PASS=0 FAIL=0
ok() { PASS=$((PASS + 1)); printf '  ok   %s\n' "$*"; }
bad() { FAIL=$((FAIL + 1)); printf '  FAIL %s\n' "$*"; }
check() { # description expected actual
  if [[ "$2" == "$3" ]]; then ok "$1 ($3)"; else bad "$1: expected '$2', got '$3'"; fi
}
BODY="$(mktemp)"; BIG="$(mktemp)"
trap 'rm -f "$BODY" "$BIG"' EXIT
# req METHOD PATH CONTENT-TYPE [curl data args...] -> sets CODE, body in $BODY
req() {
  local method="$1" path="$2" ctype="$3"; shift 3
  CODE="$(curl -sS --max-time 30 -o "$BODY" -w '%{http_code}' -X "$method" \
    --cacert "$AICR_CI_K8S_CA" --cert "$AICR_CI_K8S_CLIENT_CERT" --key "$AICR_CI_K8S_CLIENT_KEY" \
    -H "Content-Type: $ctype" -H 'Accept: application/json' "$@" "$AICR_CI_K8S_SERVER$path")"
}
j() { jq -r "$1" "$BODY"; }
poll() { # seconds jq-expr expected path
  local i
  for ((i = 0; i < $1 * 4; i++)); do
    req GET "$4" application/json
    [[ "$(j "$2")" == "$3" ]] && return 0
    sleep 0.25
  done
  return 1
}
SSA='application/apply-patch+yaml'
MERGE='application/merge-patch+json'

echo "k8s smoke against $AICR_CI_K8S_SERVER (namespace $NS)"
req GET /version application/json
echo "  server $(j .gitVersion)"

req POST /api/v1/namespaces application/json -d "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$NS\"}}"
check "create namespace" 201 "$CODE"

cm=$'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aicr-snapshot\n  labels:\n    app.kubernetes.io/name: aicr\ndata:\n  format: yaml\n  snapshot.yaml: "kind: Snapshot"\n'
req PATCH "/api/v1/namespaces/$NS/configmaps/aicr-snapshot?fieldManager=aicr&force=true" "$SSA" --data-binary "$cm"
check "server-side apply creates ConfigMap" 201 "$CODE"
req PATCH "/api/v1/namespaces/$NS/configmaps/aicr-snapshot?fieldManager=aicr&force=true" "$SSA" --data-binary "${cm/format: yaml/format: json}"
check "server-side apply overwrites ConfigMap" "200 json aicr" "$CODE $(j .data.format) $(j '.metadata.managedFields[0].manager')"

req PATCH "/api/v1/namespaces/no-such-ns-$$/configmaps/x?fieldManager=aicr&force=true" "$SSA" \
  --data-binary $'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n'
check "apply into a missing namespace" "404 NotFound" "$CODE $(j .reason)"
echo "       message: $(j .message)"

{ printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  snapshot.yaml: "'; head -c 1048577 /dev/zero | tr '\0' x; printf '"\n'; } >"$BIG"
req PATCH "/api/v1/namespaces/$NS/configmaps/big?fieldManager=aicr&force=true" "$SSA" --data-binary "@$BIG"
check "ConfigMap with 1 MiB + 1 byte of data" "422 Invalid" "$CODE $(j .reason)"
echo "       message: $(j .message)"
{ printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: huge\ndata:\n  snapshot.yaml: "'; head -c 3200000 /dev/zero | tr '\0' x; printf '"\n'; } >"$BIG"
req PATCH "/api/v1/namespaces/$NS/configmaps/huge?fieldManager=aicr&force=true" "$SSA" --data-binary "@$BIG"
check "request body over 3 MiB" "413 RequestEntityTooLarge" "$CODE $(j .reason)"
echo "       message: $(j .message)"

SA_KC="$(bash "$ROOT/scripts/k8s-sa-kubeconfig.sh" "$NS" no-rights "$STATE/sa-smoke.kubeconfig")"
TOKEN="$(sed -n 's/^    token: //p' "$SA_KC")"
CODE="$(curl -sS --max-time 10 -o "$BODY" -w '%{http_code}' --cacert "$AICR_CI_K8S_CA" \
  -H "Authorization: Bearer $TOKEN" "$AICR_CI_K8S_SERVER/api/v1/namespaces/$NS/configmaps/aicr-snapshot")"
check "ServiceAccount without rights reads a ConfigMap" "403 Forbidden" "$CODE $(j .reason)"
echo "       message: $(j .message)"
rm -f "$SA_KC"

job() { # name -> Job JSON
  printf '{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"%s","labels":{"app.kubernetes.io/name":"aicr"}},"spec":{"backoffLimit":0,"template":{"metadata":{"labels":{"app.kubernetes.io/name":"aicr"}},"spec":{"restartPolicy":"Never","tolerations":[{"operator":"Exists"}],"containers":[{"name":"aicr","image":"ghcr.io/nvidia/aicr:latest","command":["aicr"],"args":["snapshot","-o","cm://%s/aicr-snapshot"]}]}}}}' "$1" "$NS"
}
pod_of() { # job -> pod name (waits for the Job controller)
  poll 30 '.items | length | tostring' 1 "/api/v1/namespaces/$NS/pods?labelSelector=batch.kubernetes.io/job-name=$1" || return 1
  j '.items[0].metadata.name'
}

for outcome in Succeeded Failed; do
  name="job-${outcome,,}"
  req POST "/apis/batch/v1/namespaces/$NS/jobs" application/json -d "$(job "$name")"
  check "create Job $name" 201 "$CODE"
  if ! pod="$(pod_of "$name")"; then bad "Job controller created no pod for $name within 30s"; continue; fi
  req GET "/api/v1/namespaces/$NS/pods/$pod" application/json
  check "Job controller created pod $pod (no kubelet: Pending, unscheduled)" "Pending null" "$(j .status.phase) $(j .spec.nodeName)"
  # Play the node: the pod's status subresource is all the Job controller reads.
  now="$(date -u +%FT%TZ)"
  if [[ $outcome == Succeeded ]]; then term='{"exitCode":0,"reason":"Completed"}'; else term='{"exitCode":1,"reason":"Error"}'; fi
  term="$(jq -c --arg t "$now" '. + {startedAt: $t, finishedAt: $t}' <<<"$term")"
  req PATCH "/api/v1/namespaces/$NS/pods/$pod/status" "$MERGE" \
    -d "{\"status\":{\"phase\":\"$outcome\",\"containerStatuses\":[{\"name\":\"aicr\",\"image\":\"ghcr.io/nvidia/aicr:latest\",\"imageID\":\"\",\"ready\":false,\"restartCount\":0,\"state\":{\"terminated\":$term}}]}}"
  check "PATCH pods/$pod/status phase=$outcome" "200 $outcome" "$CODE $(j .status.phase)"
  want=Complete; [[ $outcome == Failed ]] && want=Failed
  expr="[.status.conditions[]? | select(.status == \"True\") | .type] | index(\"$want\") != null"
  if poll 30 "$expr" true "/apis/batch/v1/namespaces/$NS/jobs/$name"; then
    ok "Job $name condition $want=True (succeeded=$(j '.status.succeeded // 0') failed=$(j '.status.failed // 0'))"
  else
    bad "Job $name did not reach $want within 30s: $(j -c .status)"
  fi
done

req DELETE "/api/v1/namespaces/$NS" application/json
check "delete namespace" 200 "$CODE"
echo "k8s-smoke: $PASS passed, $FAIL failed"
((FAIL == 0))
