//! Listeners and connections: one SO_REUSEPORT acceptor per core, the
//! service that routes each request (data planes, health probes, ARM), the
//! HTTP/1 connection with its header-read timeout, graceful shutdown.

use super::*;

/// One service for everything: data-plane requests (by host name under the
/// DNS suffix, or by the `/cosmos/`, `/batch/`, `/ai/` path prefixes) go to
/// the data plane; the rest to the control plane and token issuer.
#[derive(Clone)]
pub(super) struct App {
    arm: axum::Router,
    dp: Arc<keyrotor_dataplane::DataPlane>,
    core: Arc<Keyrotor>,
    dns_suffix: Option<Arc<str>>,
}

impl App {
    async fn call(
        &self,
        req: http::Request<axum::body::Body>,
        peer: SocketAddr,
    ) -> axum::response::Response {
        let host = req
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| req.uri().authority().map(http::uri::Authority::as_str));
        // The vault and ARM futures are boxed: they are large, and the
        // account data planes' hot path should not carry (and move) them.
        if let Some(vault) = self.dp.vault_target(host) {
            let vault = vault.to_string();
            return Box::pin(self.dp.handle_vault(&vault, req)).await;
        }
        match keyrotor_dataplane::target(host, req.uri().path(), self.dns_suffix.as_deref()) {
            Some(mut t) => {
                t.peer = Some(peer);
                self.dp.handle(t, req).await
            }
            None if matches!(req.uri().path(), "/healthz" | "/readyz")
                && matches!(*req.method(), http::Method::GET | http::Method::HEAD) =>
            {
                Box::pin(probe(&self.core, req.uri().path())).await
            }
            None => match Box::pin(self.arm.clone().oneshot(req)).await {
                Ok(r) => r,
                Err(never) => match never {},
            },
        }
    }
}

pub(super) fn compose(
    arm: axum::Router,
    dp: Arc<keyrotor_dataplane::DataPlane>,
    core: Arc<Keyrotor>,
    dns_suffix: Option<String>,
) -> App {
    App {
        arm,
        dp,
        core,
        dns_suffix: dns_suffix.map(Arc::from),
    }
}

/// `GET /healthz` (the process serves: always 200) and `GET /readyz` (the
/// store answers: 200, else 503) for load balancers and orchestrators:
/// unauthenticated, and they say nothing else.
pub(super) async fn probe(core: &Arc<Keyrotor>, path: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    let ready = match path {
        "/healthz" => true,
        _ => {
            let core = core.clone();
            match tokio::task::spawn_blocking(move || core.ready()).await {
                Ok(Ok(())) => true,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "readiness probe: the store does not answer");
                    false
                }
                Err(e) => {
                    tracing::warn!(error = %e, "readiness probe failed");
                    false
                }
            }
        }
    };
    let (status, body) = if ready {
        (http::StatusCode::OK, "ok\n")
    } else {
        (http::StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    };
    (
        status,
        [
            (http::header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (http::header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// Binds `workers` listening sockets to one address with SO_REUSEPORT (the
/// first decides the port when 0 is asked for).
///
/// SO_REUSEPORT would also let a second keyrotor (another data directory)
/// bind the same port and silently receive half of the connections, with
/// other keys. A probe socket without it fails to bind while anything
/// listens there, so that start-up is refused instead.
pub(super) fn bind_listeners(
    addr: SocketAddr,
    workers: usize,
) -> Result<Vec<std::net::TcpListener>> {
    let stream_socket = |at: SocketAddr| {
        socket2::Socket::new(
            socket2::Domain::for_address(at),
            socket2::Type::STREAM,
            None,
        )
    };
    if addr.port() != 0 {
        let probe = stream_socket(addr)?;
        probe.set_reuse_address(true)?;
        if let Err(e) = probe.bind(&addr.into()) {
            bail!("{addr} is already in use by another process ({e})");
        }
    }
    let mut out: Vec<std::net::TcpListener> = Vec::new();
    for _ in 0..workers.max(1) {
        let at = out
            .first()
            .map_or(Ok(addr), std::net::TcpListener::local_addr)?;
        let sock = stream_socket(at)?;
        sock.set_reuse_address(true)?;
        sock.set_reuse_port(true)?;
        sock.set_nonblocking(true)?;
        sock.bind(&at.into())?;
        sock.listen(1024)?;
        out.push(sock.into());
    }
    Ok(out)
}

/// An HTTP/1.1 connection (the protocol every Azure SDK speaks). Its
/// header-read timeout uses [`PolledTimer`]: drive it with `polled_every`.
pub(super) fn http1<I, S>(
    io: I,
    svc: S,
    head_timeout: Duration,
) -> impl hyper_util::server::graceful::GracefulConnection<Error = hyper::Error>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<hyper::body::Incoming> + Send + 'static,
    S::Future: Send + 'static,
    S::ResBody: Send + 'static,
    <S::ResBody as hyper::body::Body>::Data: Send,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    hyper::server::conn::http1::Builder::new()
        .timer(PolledTimer)
        .header_read_timeout(head_timeout)
        .writev(false)
        .serve_connection(io, svc)
}

pub(super) async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term => {},
    }
}

pub(super) async fn serve(
    listener: tokio::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: App,
    mut stop: tokio::sync::watch::Receiver<bool>,
    head_timeout: Duration,
) -> Result<()> {
    // This thread's own handle: requests clone (and drop) it, touching a
    // reference count that no other thread writes. Cloning the shared `App`
    // per request would bounce the router's and the data plane's counts
    // between the cores on every request.
    let app = Arc::new(app);
    // How often each connection is polled for its header-read deadline.
    let tick = (head_timeout / 6).clamp(Duration::from_millis(100), Duration::from_secs(5));
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let graceful = GracefulShutdown::new();
    let shutdown = async move {
        while !*stop.borrow() {
            if stop.changed().await.is_err() {
                break;
            }
        }
    };
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                let app = app.clone();
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let app = app.clone();
                        async move { Ok::<_, std::convert::Infallible>(app.call(req.map(axum::body::Body::new), peer).await) }
                    });
                    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    let result = match acceptor {
                        Some(acceptor) => {
                            let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                                Ok(Ok(s)) => s,
                                Ok(Err(e)) => {
                                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                                    return;
                                }
                                Err(_) => return,
                            };
                            if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
                                watcher.watch(builder.serve_connection(TokioIo::new(tls), svc).into_owned()).await
                            } else {
                                polled_every(watcher.watch(http1(TokioIo::new(tls), svc, head_timeout)), tick).await.map_err(Into::into)
                            }
                        }
                        // Plain HTTP: HTTP/1.1 only (no h2c sniffing on the hot path).
                        None => polled_every(watcher.watch(http1(TokioIo::new(tcp), svc, head_timeout)), tick).await.map_err(Into::into),
                    };
                    if let Err(e) = result {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {},
        _ = tokio::time::sleep(Duration::from_secs(10)) => {
            tracing::warn!("connections still open after 10 s; closing");
        }
    }
    Ok(())
}
