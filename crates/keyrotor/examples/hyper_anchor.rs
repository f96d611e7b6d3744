//! A second HTTP anchor for `bench/http.sh`: the smallest hyper server that
//! does what ../shared/bench calls "minimal hyper server, api-key check"
//! (204 when the `api-key` header matches a fixed key, else 401), built with
//! the same runtime layout as `keyrotor serve` (one current-thread runtime
//! and SO_REUSEPORT listener per core, HTTP/1.1 only).
//!
//! It tells how much of the distance to nginx is hyper and tokio themselves
//! and how much is keyrotor's own work per request.
//!
//!   cargo run --release --example hyper_anchor -- 127.0.0.1:18070

use std::convert::Infallible;
use std::net::SocketAddr;

use hyper_util::rt::TokioIo;

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

fn main() -> std::io::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18070".into())
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let workers = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let mut threads = Vec::new();
    for _ in 0..workers {
        let sock = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM,
            None,
        )?;
        sock.set_reuse_address(true)?;
        sock.set_reuse_port(true)?;
        sock.set_nonblocking(true)?;
        sock.bind(&addr.into())?;
        sock.listen(1024)?;
        let std_listener: std::net::TcpListener = sock.into();
        threads.push(std::thread::spawn(move || -> std::io::Result<()> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener)?;
                loop {
                    let (tcp, _) = listener.accept().await?;
                    let _ = tcp.set_nodelay(true);
                    tokio::spawn(async move {
                        let svc = hyper::service::service_fn(
                            |req: http::Request<hyper::body::Incoming>| async move {
                                let ok = req
                                    .headers()
                                    .get("api-key")
                                    .is_some_and(|v| v.as_bytes() == KEY);
                                let mut r = http::Response::new(http_body_empty());
                                *r.status_mut() = if ok {
                                    http::StatusCode::NO_CONTENT
                                } else {
                                    http::StatusCode::UNAUTHORIZED
                                };
                                Ok::<_, Infallible>(r)
                            },
                        );
                        let _ = hyper::server::conn::http1::Builder::new()
                            .writev(false)
                            .serve_connection(TokioIo::new(tcp), svc)
                            .await;
                    });
                }
            })
        }));
    }
    for t in threads {
        t.join()
            .map_err(|_| std::io::Error::other("worker panicked"))??;
    }
    Ok(())
}

fn http_body_empty() -> axum::body::Body {
    axum::body::Body::empty()
}
