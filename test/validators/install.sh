#!/usr/bin/env bash
# Build the offline YAML/Dockerfile validators into one bin directory.
#
#   bash test/validators/install.sh [--force] [TOOL...]
#
# TOOL is any of: tekton-validate argo-validate dockerfile-lint (default: all).
# Output directory: ${AICR_CI_TOOLS_BIN:-$HOME/.cache/aicr-ci/bin}.
#
# Each tool is its own Go module (go.mod/go.sum pin every dependency); the
# modules come from the Go module proxy through the ordinary `go` command.
# A tool is rebuilt only when its go.mod, go.sum or Go sources, or the Go
# version, changed since the last build (a .stamp file next to the binary
# records that); --force rebuilds regardless. Build times are printed.
#
# Needs Go >= 1.26.8 (github.com/moby/buildkit v0.34.2 requires it). No
# GOTOOLCHAIN override is needed or used.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="${AICR_CI_TOOLS_BIN:-$HOME/.cache/aicr-ci/bin}"
all_tools=(tekton-validate argo-validate dockerfile-lint)
min_go="1.26.8"

force=0
tools=()
for a in "$@"; do
  case "$a" in
    --force) force=1 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    tekton-validate|argo-validate|dockerfile-lint) tools+=("$a") ;;
    *) echo "install.sh: unknown argument: $a" >&2; exit 2 ;;
  esac
done
[ ${#tools[@]} -eq 0 ] && tools=("${all_tools[@]}")

if ! command -v go >/dev/null 2>&1; then
  echo "install.sh: go not found on PATH (need Go >= $min_go)" >&2
  exit 1
fi
go_version="$(go env GOVERSION)"          # e.g. go1.26.8
have="${go_version#go}"
if [ "$(printf '%s\n%s\n' "$min_go" "$have" | sort -V | head -n1)" != "$min_go" ]; then
  echo "install.sh: $go_version is too old, need Go >= $min_go" >&2
  exit 1
fi

mkdir -p "$bin"

sha() { sha256sum | cut -d' ' -f1; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { print b - a }'; }

stamp_of() { # tool dir -> content hash of everything that affects the binary
  local dir="$1"
  {
    echo "$go_version $(go env GOOS)/$(go env GOARCH)"
    (cd "$dir" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -print0 \
      | LC_ALL=C sort -z | xargs -0 sha256sum)
  } | sha
}

total_start=$(date +%s.%N)
status=0
for t in "${tools[@]}"; do
  dir="$here/$t"
  out="$bin/$t"
  stamp="$(stamp_of "$dir")"
  if [ $force -eq 0 ] && [ -x "$out" ] && [ -f "$out.stamp" ] && [ "$(cat "$out.stamp")" = "$stamp" ]; then
    echo "$t: up to date ($out)"
    continue
  fi
  start=$(date +%s.%N)
  if (cd "$dir" && CGO_ENABLED=0 go build -mod=readonly -trimpath -o "$out.tmp" .); then
    mv -f "$out.tmp" "$out"
    echo "$stamp" > "$out.stamp"
    end=$(date +%s.%N)
    printf '%s: built in %.1fs (%s)\n' "$t" "$(elapsed "$start" "$end")" "$out"
  else
    rm -f "$out.tmp"
    echo "$t: BUILD FAILED" >&2
    status=1
  fi
done
total_end=$(date +%s.%N)
printf 'validators: done in %.1fs; add to PATH: export PATH="%s:$PATH"\n' "$(elapsed "$total_start" "$total_end")" "$bin"
exit $status
