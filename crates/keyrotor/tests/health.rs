//! Health probes for load balancers and orchestrators: `/healthz` and
//! `/readyz` answer without credentials and say nothing else; everything
//! else still needs a token.

mod common;

use common::{raw_http, Server};

#[test]
fn probes_answer_without_credentials() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start_with(&tmp.path().join("data"), 0, &["--no-tls"]);
    for path in ["/healthz", "/readyz"] {
        let (status, body) = raw_http(
            server.port,
            &format!("GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n"),
        );
        assert_eq!((status, body.as_str()), (200, "ok\n"), "{path}");
        let (status, body) = raw_http(
            server.port,
            &format!("HEAD {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n"),
        );
        assert_eq!((status, body.as_str()), (200, ""), "HEAD {path}");
    }
    // Not a way around authentication: other methods and paths are ARM's.
    let (status, _) = raw_http(
        server.port,
        "POST /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    );
    assert_eq!(status, 401);
    let (status, _) = raw_http(
        server.port,
        "GET /healthz/x HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n",
    );
    assert_eq!(status, 401);
}
