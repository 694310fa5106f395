# syntax=docker/dockerfile:1
#
# budgetgate container image: one binary, run as `budgetgate operator ...` (controller, plus the
# admission webhook when TLS flags are given) or `budgetgate webhook ...`; the Helm chart passes
# the command and flags.
#
#   docker build -t budgetgate:dev .            (BuildKit: Docker 23+ by default)
#   buildah bud --layers -t budgetgate:dev .     (no Docker: see tests/scripts/build-image.sh)
#   docker run --rm budgetgate:dev --help
#
# Warnings are errors (BUDGETGATE_WERROR defaults to ON), as in every other build type.
# Compiler output is kept in a build cache mount (ccache), so a rebuild after a small change
# recompiles only what changed; the image never contains it.
#
# Stage 1 builds with Debian bookworm's packaged libraries; stage 2 carries only the shared
# libraries the binary is linked against (from `ldd build/budgetgate`, mapped to packages with
# `dpkg -S`), CA certificates (https Prometheus / API server) and tzdata (calendar windows with
# a timeZone).

ARG DEBIAN_RELEASE=bookworm

FROM debian:${DEBIAN_RELEASE} AS builder
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Versions are not pinned: bookworm's archive keeps only the current point-release build of each
# package, so a pinned version stops resolving at the next security update (see .hadolint.yaml).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build ccache \
      libcpprest-dev libboost-dev libboost-system-dev libssl-dev libyaml-cpp-dev \
      libspdlog-dev libfmt-dev rapidjson-dev libsimdjson-dev libhowardhinnant-date-dev libcli11-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/root/.cache/ccache \
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUDGETGATE_BUILD_TESTS=OFF \
      -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
 && CCACHE_DIR=/root/.cache/ccache cmake --build build --target budgetgate \
 && strip build/budgetgate \
 && build/budgetgate --version

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# NEEDED by build/budgetgate -> Debian package:
#   libcpprest.so.2.10 -> libcpprest2.10 (pulls libbrotli1, zlib1g)
#   libspdlog.so.1.10  -> libspdlog1.10        libfmt.so.9         -> libfmt9
#   libyaml-cpp.so.0.7 -> libyaml-cpp0.7       libdate-tz.so.3     -> libdate-tz3
#   libsimdjson.so.14  -> libsimdjson14
#   libssl.so.3, libcrypto.so.3 -> libssl3     libstdc++, libgcc_s, libc -> in the base image
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libcpprest2.10 libspdlog1.10 libfmt9 libyaml-cpp0.7 libdate-tz3 libsimdjson14 libssl3 \
      ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/*
COPY --from=builder /src/build/budgetgate /usr/local/bin/budgetgate
# Fail the build here, not in the cluster, if a shared library is missing.
RUN ldd /usr/local/bin/budgetgate | { ! grep 'not found'; } \
 && /usr/local/bin/budgetgate --version

LABEL org.opencontainers.image.title="budgetgate" \
      org.opencontainers.image.description="SLO error budgets from Prometheus, enforced on every Deployment rollout"
# 8443: admission webhook (HTTPS); 8080: /metrics /healthz /readyz (plain HTTP).
EXPOSE 8443 8080
# Numeric, non-root (the "nonroot" uid of distroless images), so Kubernetes can verify runAsNonRoot.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/budgetgate"]
CMD ["--help"]
