# syntax=docker/dockerfile:1.7
# Container images for both binaries of the workspace, one final target each:
#   docker buildx build --target docproxy .
#   docker buildx build --target dummy-pdf-or-png .
# Binaries are static musl builds, so the runtime is distroless "static" (no libc,
# no shell): a few MB under the binary. Base images are pinned by digest (tag in
# the comment); Dependabot's docker ecosystem proposes digest bumps.

# rust:1.95-bookworm
FROM rust:1.95-bookworm@sha256:6258907abe69656e41cd992e0b705cdcfabcbbe3db374f92ed2d47121282d4a1 AS chef
# strip=debuginfo keeps symbol names for backtraces and drops the line tables.
ENV CARGO_TERM_COLOR=never \
    CARGO_PROFILE_RELEASE_STRIP=debuginfo
WORKDIR /src
# The musl triple follows the build platform (x86_64 or aarch64).
RUN cargo install cargo-chef --locked --version 0.1.78 \
    && rustup target add "$(uname -m)-unknown-linux-musl"

# A recipe of the dependency graph only: it changes when Cargo.toml/Cargo.lock do,
# so the expensive dependency layer below stays cached across source edits.
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --target "$(uname -m)-unknown-linux-musl" \
        -p docproxy -p dummy-pdf-or-png --recipe-path recipe.json
COPY . .
RUN target="$(uname -m)-unknown-linux-musl" \
    && cargo build --release --locked --target "$target" -p docproxy -p dummy-pdf-or-png --bins \
    && mkdir /out \
    && cp "target/$target/release/docproxy" "target/$target/release/dummy-pdf-or-png" /out/

# Shared runtime: distroless static, nonroot (UID/GID 65532), no shell. Nothing is
# written to the root filesystem, so it runs with readOnlyRootFilesystem.
# gcr.io/distroless/static-debian12:nonroot
FROM gcr.io/distroless/static-debian12:nonroot@sha256:d093aa3e30dbadd3efe1310db061a14da60299baff8450a17fe0ccc514a16639 AS runtime
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
LABEL org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="https://github.com/docproxy/docproxy" \
      org.opencontainers.image.url="https://github.com/docproxy/docproxy" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.vendor="docproxy" \
      org.opencontainers.image.base.name="gcr.io/distroless/static-debian12:nonroot"
USER 65532:65532

FROM runtime AS dummy-pdf-or-png
LABEL org.opencontainers.image.title="dummy-pdf-or-png" \
      org.opencontainers.image.description="Test upstream for docproxy: random PNG, PDF or corrupt PDF, with fault injection"
COPY --from=builder /out/dummy-pdf-or-png /usr/local/bin/dummy-pdf-or-png
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/dummy-pdf-or-png", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/dummy-pdf-or-png"]

# Last stage, so a plain `docker build .` produces docproxy.
FROM runtime AS docproxy
LABEL org.opencontainers.image.title="docproxy" \
      org.opencontainers.image.description="Fail-safe document proxy that never serves a corrupt or mislabelled PDF or PNG"
COPY --from=builder /out/docproxy /usr/local/bin/docproxy
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/docproxy", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/docproxy"]
