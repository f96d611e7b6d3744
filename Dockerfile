# keyrotor in a container: a multi-stage build (the Rust toolchain only in the
# build stage), a small Debian runtime, the data directory as a volume and a
# health check on /healthz.
#
#   docker build -t keyrotor .
#   docker run -d --name keyrotor -p 8443:8443 -v keyrotor-data:/data keyrotor
#
# README.md ("Running in a container") says how to reach it from the host.

FROM rust:1.89-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p keyrotor \
 && install -D -m 0755 target/release/keyrotor /out/keyrotor

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin keyrotor \
 && install -d -o keyrotor -g keyrotor -m 0700 /data
COPY --from=build /out/keyrotor /usr/local/bin/keyrotor
USER keyrotor
VOLUME ["/data"]
EXPOSE 8443
# Alive and serving: /healthz needs no credentials and says nothing more.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS --cacert /data/tls/ca.pem https://127.0.0.1:8443/healthz || exit 1
ENTRYPOINT ["keyrotor", "serve", "--data-dir", "/data", "--listen", "0.0.0.0:8443"]
