//! The ceiling of the load benchmark's simple GET: hyper's HTTP/1.1 server answering
//! `Hello, world!` on the same runtime and connection builder `iam serve` uses (tokio, hyper
//! 1, `http1::Builder`), without routing, authentication or a store. Listens on the address
//! given as its one argument.

use std::convert::Infallible;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:3999".into());
    let listener = TcpListener::bind(&addr).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let hello = service_fn(|_| async {
                Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(b"Hello, world!"))))
            });
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), hello).await;
        });
    }
}
