//! Running a function's router under AWS Lambda: logging set up (JSON lines when Lambda asks),
//! state built once per cold start, the client address and request id taken from the API
//! Gateway request context.

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;

use tracing::Dispatch;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;

use crate::app::AppState;
use crate::config::Config;
use crate::http::{ClientIp, GatewayRequestId, service};

/// Logs go to stderr (CloudWatch captures it; the CLI keeps stdout for its output) without
/// colours. Under Lambda's JSON log format (`AWS_LAMBDA_LOG_FORMAT=JSON`, the template's
/// `LoggingConfig`), one JSON object per line, carrying the request's span (its id); otherwise
/// text. `RUST_LOG` filters, else Lambda's `AWS_LAMBDA_LOG_LEVEL`, else `info`.
pub fn init_logging() {
    let lookup = |k: &str| std::env::var(k).ok();
    let filter = log_filter(lookup("RUST_LOG").as_deref(), lookup("AWS_LAMBDA_LOG_LEVEL").as_deref());
    let json = json_logs(lookup("AWS_LAMBDA_LOG_FORMAT").as_deref());
    let _ = tracing::dispatcher::set_global_default(subscriber(json, filter, BoxMakeWriter::new(std::io::stderr)));
}

/// `RUST_LOG` as a list of `target=level` directives and a default level (`warn`,
/// `info,iam_shared=debug`), else the level Lambda asks for. `Targets` rather than `EnvFilter`:
/// span and field directives are all it lacks, and `EnvFilter`'s regex engine was the largest
/// thing in every function (measured in bench/README.md) for a feature no deployment uses.
fn log_filter(rust_log: Option<&str>, lambda_level: Option<&str>) -> Targets {
    // `default_level` answers one of five level names, which always parse: no input reaches this.
    let default = || default_level(lambda_level).parse().expect("a plain level parses");
    match rust_log.map(str::trim).filter(|d| !d.is_empty()) {
        Some(directives) => directives.parse().unwrap_or_else(|e| {
            eprintln!("RUST_LOG={directives:?} is not a list of target=level directives ({e}); using the default");
            default()
        }),
        None => default(),
    }
}

/// The log subscriber: JSON lines (the event's fields flattened, the request span's id as
/// `span.request_id`) or text without time (the CLI's, and Lambda's text format).
pub fn subscriber(json: bool, filter: Targets, writer: BoxMakeWriter) -> Dispatch {
    // The builder's own level (INFO unless told) would cap the filter's: `filter` alone decides.
    let lines = tracing_subscriber::fmt().with_max_level(LevelFilter::TRACE).with_writer(writer).with_ansi(false);
    match json {
        true => Dispatch::new(
            lines.json().flatten_event(true).with_current_span(true).with_span_list(false).finish().with(filter),
        ),
        false => Dispatch::new(lines.without_time().finish().with(filter)),
    }
}

/// Does Lambda ask for JSON lines?
fn json_logs(format: Option<&str>) -> bool {
    format.is_some_and(|f| f.eq_ignore_ascii_case("json"))
}

/// The filter from Lambda's application log level (`TRACE` … `FATAL`), `info` without one.
fn default_level(lambda_level: Option<&str>) -> &'static str {
    match lambda_level.map(str::to_ascii_lowercase).as_deref() {
        Some("trace") => "trace",
        Some("debug") => "debug",
        Some("warn") => "warn",
        Some("error" | "fatal") => "error",
        _ => "info",
    }
}

async fn from_gateway_context(mut request: Request, next: Next) -> Response {
    if let Some(RequestContext::ApiGatewayV2(ctx)) = request.request_context_ref() {
        let ip = ctx.http.source_ip.clone();
        let id = ctx.request_id.clone();
        if let Some(ip) = ip {
            request.extensions_mut().insert(ClientIp(ip));
        }
        if let Some(id) = id {
            request.extensions_mut().insert(GatewayRequestId(id));
        }
    }
    next.run(request).await
}

/// The service a Lambda runs: the function's routes with the shared plumbing.
pub fn lambda_service(routes: Router<AppState>, state: AppState) -> Router {
    service(routes, state).layer(middleware::from_fn(from_gateway_context))
}

/// The whole `main` of a function: configuration and clients once, then requests.
pub async fn run(routes: Router<AppState>) -> Result<(), lambda_http::Error> {
    init_logging();
    let config = Config::from_env()?;
    let state = AppState::from_config(config).await?;
    lambda_http::run(lambda_service(routes, state)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_chooses_the_format_and_level_of_logs() {
        assert!(json_logs(Some("JSON")) && !json_logs(Some("Text")) && !json_logs(None));
        assert_eq!(default_level(None), "info");
        assert_eq!(default_level(Some("DEBUG")), "debug");
        assert_eq!(default_level(Some("FATAL")), "error");
        assert_eq!(default_level(Some("WARN")), "warn");
    }

    #[test]
    fn rust_log_overrides_lambdas_level_and_a_bad_one_falls_back_to_it() {
        use tracing::Level;
        let debug_ours = log_filter(Some("warn,iam_shared=debug"), Some("ERROR"));
        assert!(debug_ours.would_enable("iam_shared::auth", &Level::DEBUG));
        assert!(!debug_ours.would_enable("aws_smithy_runtime", &Level::INFO));
        assert!(debug_ours.would_enable("aws_smithy_runtime", &Level::WARN));
        let lambdas = log_filter(Some("iam=[span{x=1}]"), Some("ERROR"));
        assert_eq!(lambdas.default_level(), Some(LevelFilter::ERROR), "span directives are not ours: Lambda's level");
        assert_eq!(log_filter(None, None).default_level(), Some(LevelFilter::INFO));
        assert_eq!(log_filter(Some(" "), Some("DEBUG")).default_level(), Some(LevelFilter::DEBUG));
    }

    #[test]
    fn a_json_line_carries_the_event_and_its_requests_id() {
        let buffer = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
        let sink = buffer.clone();
        let writer = BoxMakeWriter::new(move || Sink(sink.clone()));
        let dispatch = subscriber(true, log_filter(None, None), writer);
        tracing::dispatcher::with_default(&dispatch, || {
            let span = tracing::info_span!("request", request_id = "r-42");
            span.in_scope(|| tracing::info!(target: "iam::access", method = "GET", status = 200_u16));
        });
        let text = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.trim()).expect("one JSON object");
        assert_eq!(line["level"], "INFO");
        assert_eq!((line["method"].as_str(), line["status"].as_u64()), (Some("GET"), Some(200)));
        assert_eq!(line["span"]["request_id"], "r-42");
        assert_eq!(line["target"], "iam::access");
    }

    #[test]
    fn the_filter_alone_decides_which_levels_are_written() {
        let buffer = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
        let sink = buffer.clone();
        let writer = BoxMakeWriter::new(move || Sink(sink.clone()));
        let dispatch = subscriber(false, log_filter(Some("warn,iam_shared=trace"), None), writer);
        tracing::dispatcher::with_default(&dispatch, || {
            tracing::trace!(target: "iam_shared::auth", "ours in detail");
            tracing::info!(target: "aws_smithy_runtime", "theirs below warn");
            tracing::warn!(target: "aws_smithy_runtime", "theirs at warn");
        });
        let text = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
        assert!(text.contains("ours in detail") && text.contains("theirs at warn"), "{text}");
        assert!(!text.contains("theirs below warn"), "{text}");
    }

    struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
