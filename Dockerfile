# syntax=docker/dockerfile:1.7
#
# memorid's container image:  docker build -t memorid:0.1.0 .
#
# Three stages: the release binary (built --locked), the built-in embedding
# model (e5-small-v2 and ONNX Runtime, installed by that binary's own
# `memorid install-model`, sha256-checked by src/embed/install.rs), and a
# distroless runtime (glibc, libgcc and libstdc++ for ONNX Runtime, no
# shell, no package manager, UID 65532). The model is baked in because a
# locked-down pod cannot download it: the config below turns auto_install
# off, so a missing model is a start-up error, not a download.
#
# scripts/ci-helm checks this file without a Docker engine: every COPY
# source is in the build context, the runtime command and config are ones
# the release binary accepts, and the paths and ports match the Helm chart.

ARG RUST_VERSION=1.94

FROM docker.io/library/rust:${RUST_VERSION}-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src/ src/
COPY proto/ proto/
COPY migrations/ migrations/
COPY prompts/ prompts/
# Declared as [[bench]] targets in Cargo.toml: cargo needs their files.
COPY benches/ benches/
RUN --mount=type=cache,id=memorid-cargo-registry,target=/usr/local/cargo/registry \
    --mount=type=cache,id=memorid-target,target=/src/target \
    cargo build --release --locked --bin memorid \
 && install -D -m 0755 target/release/memorid /out/memorid

# The installer needs Python (pip and urllib fetch the packages); the
# binary from the build stage runs here (both are Debian bookworm).
FROM docker.io/library/python:3.12-slim-bookworm AS model
COPY --from=build /out/memorid /usr/local/bin/memorid
RUN MEMORID_EMBEDDINGS__MODEL_DIR=/model memorid install-model \
 && mkdir -p /data

FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="memorid" \
      org.opencontainers.image.description="A gRPC memory service for LLM applications" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/memorid /usr/local/bin/memorid
COPY --from=model /model/ /usr/share/memorid/models/e5-small-v2/
# Where the default SQLite file goes when the image runs on its own.
COPY --from=model --chown=65532:65532 /data/ /var/lib/memorid/
# Defaults for `docker run`; the Helm chart mounts its own file here.
COPY <<EOF /etc/memorid/memorid.toml
[server]
listen = "0.0.0.0:50051"

[metrics]
listen = "0.0.0.0:9090"

[storage]
url = "sqlite:///var/lib/memorid/memorid.db"

[embeddings]
model_dir = "/usr/share/memorid/models/e5-small-v2"
auto_install = false
EOF
ENV MEMORID_CONFIG=/etc/memorid/memorid.toml
WORKDIR /var/lib/memorid
USER 65532:65532
EXPOSE 50051 9090
ENTRYPOINT ["/usr/local/bin/memorid"]
CMD ["serve"]
