//! The local server drops a client that is too slow to send its request's headers (slowloris),
//! and keeps serving everyone else.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn server(header_timeout: Duration) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route("/health", get(|| async { "ok" }));
    tokio::spawn(iam_cli::server::serve(listener, app, header_timeout, std::future::pending()));
    addr
}

/// Reads until the server closes the connection; what it sent meanwhile.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    stream.read_to_end(&mut seen).await.unwrap_or_default();
    String::from_utf8_lossy(&seen).into_owned()
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let addr = server(Duration::from_millis(300)).await;
    let mut slow = TcpStream::connect(addr).await.unwrap();
    // A request line and one header, then a byte now and then: the head never ends.
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n").await.unwrap();
    let trickle = async {
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if slow.write_all(b"X").await.is_err() {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), trickle).await;
    let answer = tokio::time::timeout(Duration::from_secs(5), read_to_close(&mut slow))
        .await
        .expect("the server closed the connection of a client that never finished its headers");
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");

    // Everyone else is still served.
    let mut fine = TcpStream::connect(addr).await.unwrap();
    fine.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), read_to_close(&mut fine)).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("ok"), "{answer}");
}

#[tokio::test]
async fn the_client_address_reaches_the_routes() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route(
        "/peer",
        get(|axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>| async move {
            peer.ip().to_string()
        }),
    );
    tokio::spawn(iam_cli::server::serve(listener, app, Duration::from_secs(5), std::future::pending()));
    let mut client = TcpStream::connect(addr).await.unwrap();
    client.write_all(b"GET /peer HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), read_to_close(&mut client)).await.unwrap();
    assert!(answer.ends_with("127.0.0.1"), "{answer}");
}

#[tokio::test]
async fn thirty_slow_clients_at_once_are_all_cut_off_while_others_are_served() {
    let addr = server(Duration::from_millis(300)).await;
    let mut slow = Vec::new();
    for _ in 0..30 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n").await.unwrap();
        slow.push(stream);
    }
    // While they hold their connections, a normal client is answered at once.
    let mut fine = TcpStream::connect(addr).await.unwrap();
    fine.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), read_to_close(&mut fine)).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // One deadline for all: they are cut off together, not one after another.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    for (n, stream) in slow.iter_mut().enumerate() {
        let answer = tokio::time::timeout_at(deadline, read_to_close(stream))
            .await
            .unwrap_or_else(|_| panic!("slow client {n} still connected after 5 s"));
        assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{n}: {answer}");
    }
}
