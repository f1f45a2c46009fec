# syntax=docker/dockerfile:1
#
# hookledger server image: one static binary, no shell, runs as nonroot.
#
#   docker build -t hookledger .
#   docker run --rm hookledger --help
#
# Version: the build context has no .git (.dockerignore), so pass what to
# report (`hookledger version`, hookledger_build_info and the OCI labels):
#
#   docker build --build-arg VERSION=v1.2.3 --build-arg REVISION=$(git rev-parse HEAD) \
#     --build-arg CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ) -t hookledger:v1.2.3 .
#
# Needs BuildKit (the default builder since Docker 23): cache mounts and the
# automatic BUILDPLATFORM/TARGETOS/TARGETARCH arguments. Cross-builds, e.g.
# `docker buildx build --platform linux/arm64 .`, compile natively for the
# target without emulation.
#
# Built with -tags nochdb: the embedded ClickHouse engine (chDB, the 566 MB
# libchdb.so) is left out, and with it chdb-go's dlopen, which would make
# the binary dynamically linked (it needs the libc loader, absent from
# distroless/static). So this image runs the production tiers
# (`ingest`, `process`, `query`, `migrate`, `replay`) against a ClickHouse
# server (clickhouse.dsn). `run` works too when the config names Kafka
# brokers and a ClickHouse DSN; with an empty dsn it fails at start with
# "this build has no embedded ClickHouse".

# The builder follows go.mod (go 1.26.8). Official golang images set
# GOTOOLCHAIN=local, so the 1.26 tag must carry 1.26.8 or later (it tracks the
# newest 1.26.x); pin e.g. golang:1.26.8-bookworm for bit-for-bit rebuilds.
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
ARG TARGETOS
ARG TARGETARCH
# Linked into the binary (internal/buildinfo); empty: what the toolchain
# recorded ("(devel)", revision "unknown").
ARG VERSION=
ARG REVISION=
WORKDIR /src

# Modules first, so a source change does not download them again. go.mod
# replaces chdb-go with the patched copy under third_party (see its
# README.md), whose go.mod the module graph needs.
COPY go.mod go.sum ./
COPY third_party/chdb-go/go.mod third_party/chdb-go/
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -tags nochdb -trimpath \
      -ldflags="-s -w -X github.com/hookledger/hookledger/internal/buildinfo.version=${VERSION} -X github.com/hookledger/hookledger/internal/buildinfo.revision=${REVISION}" \
      -o /out/hookledger ./cmd/hookledger \
 && mkdir -p /out/data

# distroless/static: CA certificates, tzdata, /etc/passwd with nonroot
# (65532), nothing else. No shell, so no shell-form RUN/HEALTHCHECK below.
FROM gcr.io/distroless/static-debian13:nonroot

# OCI image annotations (https://github.com/opencontainers/image-spec,
# annotations.md). An ARG is scoped to its stage: declared again here.
ARG VERSION=
ARG REVISION=
ARG CREATED=
LABEL org.opencontainers.image.title="hookledger" \
      org.opencontainers.image.description="Verifies, logs and queries signed SMS and voice provider callbacks (MessageMedia, Vonage, SignalWire)" \
      org.opencontainers.image.source="https://github.com/hookledger/hookledger" \
      org.opencontainers.image.url="https://github.com/hookledger/hookledger" \
      org.opencontainers.image.documentation="https://github.com/hookledger/hookledger/tree/main/docs" \
      org.opencontainers.image.vendor="hookledger" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="gcr.io/distroless/static-debian13:nonroot"

COPY --from=build /out/hookledger /usr/local/bin/hookledger
# data_dir. The ingest tier keeps its Vonage JWT replay memory here
# (replay-guard.log); the other tiers only create the directory. Owned by
# nonroot so a fresh named volume inherits a writable directory.
COPY --from=build --chown=65532:65532 /out/data /data
VOLUME ["/data"]
# A relative data_dir (the default ./hookledger-data) lands under /data too.
WORKDIR /data

# Numeric, so Kubernetes' runAsNonRoot can verify it.
USER 65532:65532

# ingest.listen, query.listen and processor.listen as the deploy configs
# set them (0.0.0.0:8080, 8081, 8082; the built-in defaults are 127.0.0.1).
# No HEALTHCHECK here: the port depends on the tier the container runs; use
# `hookledger health --url http://127.0.0.1:PORT/readyz` (docker-compose.yml).
EXPOSE 8080 8081 8082

# hookledger handles SIGTERM itself: stop accepting, drain, flush, commit.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/hookledger"]
CMD ["--help"]
