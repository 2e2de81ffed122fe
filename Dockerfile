# syntax=docker/dockerfile:1
# check=error=true
#
# The aicr-ci step image for Tekton Tasks and Argo Workflows templates: Node 24, the pinned
# aicr (copied from NVIDIA's own image), helm and kubectl for deploy.sh, git for GitOps, and
# the bundled shell CLI (dist/cli). Runs as UID/GID 65532; ENTRYPOINT is `aicr-ci`.
#
#   npm ci && npm run build            # dist/ is committed; rebuild it after changing src/
#   docker buildx build --platform linux/amd64,linux/arm64 -t ghcr.io/<org>/aicr-ci:0.1.0 --push .
#
# See README.md beside this file ("Step image") for pinning the result by digest.

# The pinned aicr. NVIDIA publishes it with ko: the binary is /ko-app/aicr (static,
# CGO_ENABLED=0) on nvcr.io/nvidia/cuda:13.1.0-runtime-ubuntu24.04. Pinned by tag: no
# public record of this tag's digest was found; resolve it with
# `crane digest ghcr.io/nvidia/aicr:v0.11.1` and add `@sha256:…` when you build.
ARG AICR_IMAGE=ghcr.io/nvidia/aicr:v0.11.1
# node:24-bookworm-slim (Node 24.18.0) by digest, as recorded in public build logs of
# 2026-07-19; refresh with `crane digest node:24-bookworm-slim`.
ARG NODE_IMAGE=node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d

FROM ${AICR_IMAGE} AS aicr

FROM ${NODE_IMAGE} AS tools
ARG TARGETARCH
# deploy.sh (mode: script) runs helm and kubectl. Release archives, checked against their
# published SHA-256 before use.
ARG HELM_VERSION=v3.19.0
ARG HELM_SHA256_AMD64=a7f81ce08007091b86d8bd696eb4d86b8d0f2e1b9f6c714be62f82f96a594496
ARG HELM_SHA256_ARM64=440cf7add0aee27ebc93fada965523c1dc2e0ab340d4348da2215737fc0d76ad
ARG KUBECTL_VERSION=v1.34.1
ARG KUBECTL_SHA256_AMD64=7721f265e18709862655affba5343e85e1980639395d5754473dafaadcaa69e3
ARG KUBECTL_SHA256_ARM64=420e6110e3ba7ee5a3927b5af868d18df17aae36b720529ffa4e9e945aa95450
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /tools
RUN case "${TARGETARCH}" in \
      amd64) helm_sha="${HELM_SHA256_AMD64}"; kubectl_sha="${KUBECTL_SHA256_AMD64}" ;; \
      arm64) helm_sha="${HELM_SHA256_ARM64}"; kubectl_sha="${KUBECTL_SHA256_ARM64}" ;; \
      *) echo "unsupported TARGETARCH '${TARGETARCH}'" >&2; exit 1 ;; \
    esac \
 && curl -fsSL -o helm.tgz "https://get.helm.sh/helm-${HELM_VERSION}-linux-${TARGETARCH}.tar.gz" \
 && echo "${helm_sha}  helm.tgz" | sha256sum -c - \
 && tar -xzf helm.tgz --strip-components=1 "linux-${TARGETARCH}/helm" \
 && curl -fsSL -o kubectl "https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/${TARGETARCH}/kubectl" \
 && echo "${kubectl_sha}  kubectl" | sha256sum -c - \
 && chmod 0755 helm kubectl \
 && rm helm.tgz

FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.title="aicr-ci" \
      org.opencontainers.image.description="NVIDIA AICR stages (snapshot, recipe, bundle, deploy, drift-check, validate) for Tekton and Argo Workflows" \
      org.opencontainers.image.licenses="Apache-2.0"
# git for deploy mode gitops; bash is in the base image (deploy.sh).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git \
 && rm -rf /var/lib/apt/lists/*
COPY --from=aicr /ko-app/aicr /usr/local/bin/aicr
COPY --from=tools /tools/helm /tools/kubectl /usr/local/bin/
COPY dist/cli/ /opt/aicr-ci/cli/
RUN ln -s /opt/aicr-ci/cli/index.js /usr/local/bin/aicr-ci \
 && chmod 0755 /opt/aicr-ci/cli/index.js
# A read-only root filesystem is expected: /tmp (and HOME) is an emptyDir in the Tasks.
ENV HOME=/tmp \
    NODE_ENV=production \
    AICR_CI_TEMP=/tmp
WORKDIR /workspace
USER 65532:65532
ENTRYPOINT ["aicr-ci"]
CMD ["--help"]
