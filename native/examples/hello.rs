//! A bare axum hello-world, the baseline `cargo xtask bench-native` compares workgate with:
//! same runtime, same axum, one route answering a small JSON body.
//!
//! `cargo run --release -p workgate --example hello -- [PORT]` (default 0 = any free port);
//! prints `hello listening on http://127.0.0.1:PORT`.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

async fn hello() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"hello":"world"}"#,
    )
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("hello listening on http://{}", listener.local_addr()?);
    let app = Router::new().fallback(get(hello));
    axum::serve(listener, app).await
}
