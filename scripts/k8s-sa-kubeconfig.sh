#!/usr/bin/env bash
# Mint a kubeconfig for a ServiceAccount on the control plane of scripts/k8s-up.sh.
#
#   bash scripts/k8s-sa-kubeconfig.sh <namespace> <serviceaccount> [output-file]
#
# Creates the namespace and the ServiceAccount when missing (no Role, no
# binding: the account has no rights beyond what RBAC gives every
# authenticated user), requests a token through the TokenRequest API with the
# admin client certificate (curl only, no kubectl), writes a kubeconfig with
# cluster "aicr-ci-test" and context "aicr-ci-test-<namespace>-<sa>", and
# prints its path. Default output: <state>/sa-<namespace>-<sa>.kubeconfig.
# AICR_CI_K8S_TOKEN_SECONDS sets the token lifetime (default 86400, min 600).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${AICR_CI_K8S_STATE_DIR:-$ROOT/.k8s}"
die() { printf '[k8s-sa-kubeconfig] ERROR: %s\n' "$*" >&2; exit 1; }

(($# >= 2)) || die "usage: $0 <namespace> <serviceaccount> [output-file]"
NS="$1" SA="$2"
OUT="${3:-$STATE/sa-$NS-$SA.kubeconfig}"
SECONDS_WANTED="${AICR_CI_K8S_TOKEN_SECONDS:-86400}"
[[ -f "$STATE/env" ]] || die "no control plane state in $STATE; run scripts/k8s-up.sh first"
# shellcheck disable=SC1091
source "$STATE/env"

BODY_FILE="$(mktemp)"
trap 'rm -f "$BODY_FILE"' EXIT
api() { # method path [json-body] -> body in $BODY_FILE, HTTP code in $CODE (no subshell)
  local method="$1" path="$2" body="${3:-}"
  CODE="$(curl -sS --max-time 20 -o "$BODY_FILE" -w '%{http_code}' -X "$method" \
    --cacert "$AICR_CI_K8S_CA" --cert "$AICR_CI_K8S_CLIENT_CERT" --key "$AICR_CI_K8S_CLIENT_KEY" \
    -H 'Content-Type: application/json' -H 'Accept: application/json' \
    ${body:+--data-binary "$body"} "$AICR_CI_K8S_SERVER$path")"
}

api POST /api/v1/namespaces "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$NS\"}}"
[[ "$CODE" == 201 || "$CODE" == 409 ]] || die "creating namespace $NS: HTTP $CODE"
api POST "/api/v1/namespaces/$NS/serviceaccounts" "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"$SA\"}}"
[[ "$CODE" == 201 || "$CODE" == 409 ]] || die "creating serviceaccount $NS/$SA: HTTP $CODE"
api POST "/api/v1/namespaces/$NS/serviceaccounts/$SA/token" \
  "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenRequest\",\"spec\":{\"expirationSeconds\":$SECONDS_WANTED}}"
resp="$(cat "$BODY_FILE")"
[[ "$CODE" == 201 ]] || die "TokenRequest for $NS/$SA: HTTP $CODE: $resp"
TOKEN="$(printf '%s' "$resp" | tr -d '\n ' | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')"
[[ -n "$TOKEN" ]] || die "TokenRequest answer has no token: $resp"

CTX="aicr-ci-test-$NS-$SA"
mkdir -p "$(dirname "$OUT")"
umask 077
cat >"$OUT" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: aicr-ci-test
  cluster:
    server: $AICR_CI_K8S_SERVER
    certificate-authority-data: $(base64 -w0 <"$AICR_CI_K8S_CA")
users:
- name: system:serviceaccount:$NS:$SA
  user:
    token: $TOKEN
contexts:
- name: $CTX
  context:
    cluster: aicr-ci-test
    user: system:serviceaccount:$NS:$SA
    namespace: $NS
current-context: $CTX
EOF
echo "$OUT"
