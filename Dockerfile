# codex-review: build with the Rust toolchain, run on a small distroless image as non-root.
# Build: docker build -t codex-review .    Run: docker run -p 3000:3000 --env-file .env codex-review

FROM docker.io/library/rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock app-manifest.yml ./
COPY src src
COPY migrations migrations
# The same build command CI checks (see .ci/run).
RUN cargo build --release --locked --bin codex-review \
    && mkdir -p /out/data \
    && cp target/release/codex-review /out/codex-review

# Debian 12 with glibc, CA certificates and a `nonroot` user (65532), no shell.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/codex-review /usr/local/bin/codex-review
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
WORKDIR /data
ENV LISTEN_ADDR=0.0.0.0:3000 \
    DATABASE_URL=sqlite:///data/codex-review.db \
    RUST_LOG=info
EXPOSE 3000
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/codex-review", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/codex-review"]
CMD ["serve"]
