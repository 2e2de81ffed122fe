#!/usr/bin/env bash
# Start a real, loopback-only Kubernetes control plane for the tests:
# etcd + kube-apiserver + kube-controller-manager, built from Go modules
# (tools/k8s) into a per-machine cache and run as background processes.
#
#   bash scripts/k8s-up.sh        # build if needed, start (or reuse), print timings
#   source .k8s/env               # KUBECONFIG, AICR_CI_K8S_SERVER, AICR_CI_K8S_CA, ...
#   bash scripts/k8s-down.sh      # stop everything, remove .k8s/
#
# Environment knobs (all optional):
#   AICR_CI_K8S_STATE_DIR  state dir (default <repo>/.k8s)
#   AICR_CI_K8S_CACHE      binary cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/aicr-ci/k8s)
#   AICR_CI_K8S_KUBECTL=1  also build kubectl into the cache (debugging only)
#   AICR_CI_K8S_READY_TIMEOUT  seconds to wait for readiness (default 120)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/tools/k8s"
STATE="${AICR_CI_K8S_STATE_DIR:-$ROOT/.k8s}"
READY_TIMEOUT="${AICR_CI_K8S_READY_TIMEOUT:-120}"
CLUSTER=aicr-ci-test

log() { printf '[k8s-up] %s\n' "$*" >&2; }
die() { printf '[k8s-up] ERROR: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# --- prerequisites (apt only when something is missing) ---------------------
need_pkgs=()
command -v openssl >/dev/null || need_pkgs+=(openssl)
command -v curl >/dev/null || need_pkgs+=(curl ca-certificates)
command -v flock >/dev/null || need_pkgs+=(util-linux)
if ((${#need_pkgs[@]})); then
  log "installing missing packages: ${need_pkgs[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi
command -v go >/dev/null || die "go is required to build the control plane (tools/k8s/go.mod)"

modver() { # module -> version required in tools/k8s/go.mod (block or single-line require)
  awk -v m="$1" '$1 == "require" && $2 == m { print $3; exit } $1 == m && $2 ~ /^v/ { print $2; exit }' "$TOOLS/go.mod"
}
K8S_VERSION="$(modver k8s.io/kubernetes)"
ETCD_VERSION="$(modver go.etcd.io/etcd/server/v3)"
[[ -n "$K8S_VERSION" && -n "$ETCD_VERSION" ]] || die "cannot read pinned versions from $TOOLS/go.mod"
K8S_MINOR="$(echo "$K8S_VERSION" | cut -d. -f2)"

CACHE_ROOT="${AICR_CI_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aicr-ci/k8s}"
BIN="$CACHE_ROOT/$K8S_VERSION/bin"
# The cache is keyed by version; the stamp also covers go.mod/go.sum so an
# edited tools module forces a rebuild.
STAMP_WANT="$(cat "$TOOLS/go.mod" "$TOOLS/go.sum" | sha256sum | cut -c1-16)"

mkdir -p "$STATE"
exec 9>"$STATE/.lock"
flock -w 1800 9 || die "another k8s-up/k8s-down holds $STATE/.lock"

CA="$STATE/pki/ca.crt"

alive() { # pidfile -> true if the process is running
  local f="$STATE/$1.pid" pid
  [[ -f "$f" ]] || return 1
  pid="$(cat "$f")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

admin_curl() { # path -> body (fails on HTTP error)
  curl -fsS --max-time 5 --cacert "$CA" --cert "$STATE/pki/admin.crt" --key "$STATE/pki/admin.key" "$SERVER$1"
}

# --- reuse a healthy running control plane ----------------------------------
if [[ -f "$STATE/state.json" && -f "$STATE/env" ]] && alive etcd && alive kube-apiserver && alive kube-controller-manager; then
  SERVER="$(sed -n 's/^export AICR_CI_K8S_SERVER=//p' "$STATE/env" | tr -d "'\"")"
  if [[ -n "$SERVER" ]] && [[ "$(admin_curl /readyz 2>/dev/null || true)" == ok ]]; then
    log "reusing running control plane at $SERVER (state in $STATE)"
    log "build time: 0.0s (reused)  start time: 0.0s (reused)"
    echo "$STATE/env"
    exit 0
  fi
fi
if compgen -G "$STATE/*.pid" >/dev/null; then
  log "stale or unhealthy control plane found in $STATE; stopping it"
  flock -u 9
  AICR_CI_K8S_STATE_DIR="$STATE" bash "$ROOT/scripts/k8s-down.sh"
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock -w 60 9 || die "cannot re-take $STATE/.lock"
fi

# --- build (or reuse) the binaries ------------------------------------------
BUILD_START="$(now)"
BUILT=0
WANT_BINS=(kube-apiserver kube-controller-manager etcd)
[[ "${AICR_CI_K8S_KUBECTL:-0}" == 1 ]] && WANT_BINS+=(kubectl)
missing=0
for b in "${WANT_BINS[@]}"; do [[ -x "$BIN/$b" ]] || missing=1; done
[[ "$(cat "$BIN/.stamp" 2>/dev/null || true)" == "$STAMP_WANT" ]] || missing=1
if ((missing)); then
  log "building Kubernetes $K8S_VERSION and etcd $ETCD_VERSION into $BIN (first run on a clean 2-core machine takes ~8 min)"
  mkdir -p "$CACHE_ROOT/$K8S_VERSION"
  tmp="$(mktemp -d "$CACHE_ROOT/$K8S_VERSION/build.XXXXXX")"
  vpkg=k8s.io/component-base/version
  cpkg=k8s.io/client-go/pkg/version
  ldflags="-s -w"
  for p in $vpkg $cpkg; do
    ldflags+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$K8S_MINOR -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  pkgs=(k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager)
  [[ "${AICR_CI_K8S_KUBECTL:-0}" == 1 ]] && pkgs+=(k8s.io/kubernetes/cmd/kubectl)
  timer=()
  [[ -x /usr/bin/time ]] && timer=(/usr/bin/time -v -o "$tmp/time-k8s.txt")
  # (errexit does not apply inside a subshell whose status is tested: chain with &&)
  (
    cd "$TOOLS" &&
      export GOFLAGS="${GOFLAGS:-} -mod=readonly" CGO_ENABLED=0 &&
      "${timer[@]}" go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${pkgs[@]}" &&
      # etcd: the server module's main package (what etcd's own build names bin/etcd)
      "${timer[@]/time-k8s/time-etcd}" go build -trimpath \
        -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=module" \
        -o "$tmp/etcd" go.etcd.io/etcd/server/v3
  ) >"$tmp/build.log" 2>&1 || { tail -n 40 "$tmp/build.log" >&2; die "build failed (log: $tmp/build.log)"; }
  for t in "$tmp"/time-*.txt; do
    [[ -f "$t" ]] && log "$(basename "$t" .txt): $(grep -E 'Maximum resident' "$t" | sed 's/^\s*//')"
  done
  mkdir -p "$BIN"
  for b in "${WANT_BINS[@]}"; do mv -f "$tmp/$b" "$BIN/$b"; done
  cp -f "$tmp"/time-*.txt "$tmp/build.log" "$BIN/" 2>/dev/null || true
  echo "$STAMP_WANT" >"$BIN/.stamp"
  rm -rf "$tmp"
  BUILT=1
fi
BUILD_SECONDS="$(elapsed "$BUILD_START" "$(now)")"
if ((BUILT)); then echo "$BUILD_SECONDS" >"$BIN/.build-seconds"; else BUILD_SECONDS=0.0; fi
CACHED_BUILD_SECONDS="$(cat "$BIN/.build-seconds" 2>/dev/null || echo null)"
log "build time: ${BUILD_SECONDS}s ($([[ $BUILT == 1 ]] && echo built || echo "cached in $BIN"))"

# --- certificates ------------------------------------------------------------
START_START="$(now)"
PKI="$STATE/pki"
mkdir -p "$PKI"
chmod 700 "$STATE" "$PKI"
ossl() { openssl "$@" 2>>"$STATE/openssl.log"; }
if [[ ! -f "$PKI/ca.crt" ]]; then
  ossl req -x509 -new -nodes -newkey rsa:2048 -sha256 -days 3650 \
    -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -subj "/CN=aicr-ci-test-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"
  # service-account token signing key pair
  ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$PKI/sa.key"
  ossl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub"
fi
leaf() { # name subject ext-lines...
  local name="$1" subj="$2"; shift 2
  printf '%s\n' "$@" >"$PKI/$name.ext"
  ossl req -new -nodes -newkey rsa:2048 -keyout "$PKI/$name.key" -out "$PKI/$name.csr" -subj "$subj"
  ossl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt"
  rm -f "$PKI/$name.csr" "$PKI/$name.ext"
}
[[ -f "$PKI/apiserver.crt" ]] || leaf apiserver "/CN=kube-apiserver" \
  "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
  "extendedKeyUsage=serverAuth" \
  "subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
CLIENT_EXT=("basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=clientAuth")
[[ -f "$PKI/admin.crt" ]] || leaf admin "/O=system:masters/CN=aicr-ci-admin" "${CLIENT_EXT[@]}"
[[ -f "$PKI/controller-manager.crt" ]] || leaf controller-manager "/CN=system:kube-controller-manager" "${CLIENT_EXT[@]}"
chmod 600 "$PKI"/*.key

# --- ports ---------------------------------------------------------------------
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 30000))
    ss -Htln "sport = :$p" 2>/dev/null | grep -q . && continue
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
    [[ " ${USED_PORTS:-} " == *" $p "* ]] && continue
    USED_PORTS="${USED_PORTS:-} $p"
    echo "$p"; return 0
  done
  die "no free loopback port found"
}
ETCD_PORT="$(free_port)"; USED_PORTS=" $ETCD_PORT "
ETCD_PEER_PORT="$(free_port)"; USED_PORTS+=" $ETCD_PEER_PORT "
API_PORT="$(free_port)"
SERVER="https://127.0.0.1:$API_PORT"

b64() { base64 -w0 <"$1"; }
kubeconfig() { # file user cert key
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: $CLUSTER
  cluster:
    server: $SERVER
    certificate-authority-data: $(b64 "$CA")
users:
- name: $2
  user:
    client-certificate-data: $(b64 "$3")
    client-key-data: $(b64 "$4")
contexts:
- name: $CLUSTER
  context:
    cluster: $CLUSTER
    user: $2
current-context: $CLUSTER
EOF
  chmod 600 "$1"
}
kubeconfig "$STATE/admin.kubeconfig" aicr-ci-admin "$PKI/admin.crt" "$PKI/admin.key"
kubeconfig "$STATE/controller-manager.kubeconfig" system:kube-controller-manager "$PKI/controller-manager.crt" "$PKI/controller-manager.key"

# --- processes -----------------------------------------------------------------
# If anything below fails, stop what this run started (logs stay in $STATE).
on_exit() {
  local rc=$?
  ((rc == 0)) && return 0
  local p pid
  for p in kube-controller-manager kube-apiserver etcd; do
    [[ -f "$STATE/$p.pid" ]] || continue
    pid="$(cat "$STATE/$p.pid")"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$STATE/$p.pid"
  done
  rm -f "$STATE/state.json" "$STATE/env"
  log "start failed; stopped the processes this run started (logs kept in $STATE)"
}
trap on_exit EXIT
start() { # name args...
  local name="$1"; shift
  # fd 9 (the state lock) must not leak into the long-running processes
  setsid "$BIN/$name" "$@" </dev/null >"$STATE/$name.log" 2>&1 9>&- &
  echo $! >"$STATE/$name.pid"
}
wait_for() { # description deadline-seconds command...
  local what="$1" limit="$2"; shift 2
  local t0=$SECONDS
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS - t0 > limit)); then die "timed out after ${limit}s waiting for $what (logs in $STATE)"; fi
    for p in etcd kube-apiserver kube-controller-manager; do
      if [[ -f "$STATE/$p.pid" ]] && ! alive "$p"; then
        tail -n 30 "$STATE/$p.log" >&2 || true
        die "$p exited while waiting for $what (log: $STATE/$p.log)"
      fi
    done
    sleep 0.3
  done
}

rm -rf "$STATE/etcd-data" "$STATE/state.json" "$STATE/env"   # every start is a fresh, empty cluster
mkdir -p "$STATE/etcd-data" && chmod 700 "$STATE/etcd-data"
start etcd \
  --name aicr-ci --data-dir "$STATE/etcd-data" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "aicr-ci=http://127.0.0.1:$ETCD_PEER_PORT" --initial-cluster-state new \
  --unsafe-no-fsync --quota-backend-bytes 2147483648 --log-level warn
wait_for "etcd /health" "$READY_TIMEOUT" curl -fsS --max-time 2 "http://127.0.0.1:$ETCD_PORT/health"

start kube-apiserver \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
  --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
  --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
  --client-ca-file "$CA" \
  --authorization-mode Node,RBAC \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
  --service-cluster-ip-range 10.0.0.0/24 \
  --endpoint-reconciler-type none \
  --allow-privileged=true \
  --profiling=false \
  --v 1
wait_for "kube-apiserver /readyz" "$READY_TIMEOUT" bash -c "[[ \"\$(curl -fsS --max-time 3 --cacert '$CA' --cert '$PKI/admin.crt' --key '$PKI/admin.key' '$SERVER/readyz')\" == ok ]]"

start kube-controller-manager \
  --kubeconfig "$STATE/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$STATE/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$STATE/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port 0 \
  --leader-elect=false \
  --use-service-account-credentials=true \
  --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$CA" \
  --cluster-signing-cert-file "$CA" --cluster-signing-key-file "$PKI/ca.key" \
  --cluster-name "$CLUSTER" \
  --controllers '*' \
  --profiling=false \
  --v 1
# The controller manager is working once the serviceaccount controller has
# created "default" in the "default" namespace and the root-CA publisher has
# written kube-root-ca.crt there.
wait_for "kube-controller-manager (default ServiceAccount)" "$READY_TIMEOUT" \
  admin_curl /api/v1/namespaces/default/serviceaccounts/default
wait_for "kube-controller-manager (kube-root-ca.crt)" "$READY_TIMEOUT" \
  admin_curl /api/v1/namespaces/default/configmaps/kube-root-ca.crt
START_SECONDS="$(elapsed "$START_START" "$(now)")"

# --- outputs -------------------------------------------------------------------
ETCD_REPORTED="$(curl -fsS "http://127.0.0.1:$ETCD_PORT/version" | sed -n 's/.*"etcdserver":"\([^"]*\)".*/\1/p')"
K8S_REPORTED="$(admin_curl /version | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p')"
GO_VERSION="$(go env GOVERSION)"
cat >"$STATE/env" <<EOF
# generated by scripts/k8s-up.sh; source it
export KUBECONFIG='$STATE/admin.kubeconfig'
export AICR_CI_K8S_SERVER='$SERVER'
export AICR_CI_K8S_CA='$CA'
export AICR_CI_K8S_CLIENT_CERT='$PKI/admin.crt'
export AICR_CI_K8S_CLIENT_KEY='$PKI/admin.key'
export AICR_CI_K8S_CONTEXT='$CLUSTER'
export AICR_CI_K8S_STATE_DIR='$STATE'
EOF
cat >"$STATE/state.json" <<EOF
{
  "server": "$SERVER",
  "kubeconfig": "$STATE/admin.kubeconfig",
  "caFile": "$CA",
  "clientCertFile": "$PKI/admin.crt",
  "clientKeyFile": "$PKI/admin.key",
  "context": "$CLUSTER",
  "stateDir": "$STATE",
  "binDir": "$BIN",
  "versions": { "kubernetes": "$K8S_REPORTED", "etcd": "$ETCD_REPORTED", "go": "$GO_VERSION" },
  "ports": { "apiserver": $API_PORT, "etcd": $ETCD_PORT, "etcdPeer": $ETCD_PEER_PORT },
  "pids": { "etcd": $(cat "$STATE/etcd.pid"), "kubeApiserver": $(cat "$STATE/kube-apiserver.pid"), "kubeControllerManager": $(cat "$STATE/kube-controller-manager.pid") },
  "buildSeconds": $BUILD_SECONDS,
  "cachedBuildSeconds": $CACHED_BUILD_SECONDS,
  "startSeconds": $START_SECONDS
}
EOF
log "kubernetes $K8S_REPORTED, etcd $ETCD_REPORTED, server $SERVER"
log "start time: ${START_SECONDS}s"
log "build time: ${BUILD_SECONDS}s"
log "source $STATE/env  (KUBECONFIG=$STATE/admin.kubeconfig, context $CLUSTER)"
echo "$STATE/env"
