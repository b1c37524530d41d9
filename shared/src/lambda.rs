//! Running a function's router under AWS Lambda: logging set up, state built once per cold
//! start, the client address taken from the API Gateway request context.

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;

use crate::app::AppState;
use crate::config::Config;
use crate::http::{ClientIp, service};

/// Logs go to stderr (CloudWatch captures it; the CLI keeps stdout for its output) without
/// colours; `RUST_LOG` filters, `info` by default.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .try_init();
}

async fn client_ip_from_context(mut request: Request, next: Next) -> Response {
    let ip = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        _ => None,
    };
    if let Some(ip) = ip {
        request.extensions_mut().insert(ClientIp(ip));
    }
    next.run(request).await
}

/// The service a Lambda runs: the function's routes with the shared plumbing.
pub fn lambda_service(routes: Router<AppState>, state: AppState) -> Router {
    service(routes, state).layer(middleware::from_fn(client_ip_from_context))
}

/// The whole `main` of a function: configuration and clients once, then requests.
pub async fn run(routes: Router<AppState>) -> Result<(), lambda_http::Error> {
    init_logging();
    let config = Config::from_env()?;
    let state = AppState::from_config(config).await?;
    lambda_http::run(lambda_service(routes, state)).await
}
