//! The single mapping of an [`Error`] to its response: a JSON:API error document (or an OAuth
//! error body at the token endpoint), the status, and the headers the status calls for. The
//! cause of an unexpected error goes to the log, never to the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::JsonApi;
use crate::error::Error;
use crate::request_id;

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let request_id = request_id::current();
        let mut response = match &self {
            Error::Unexpected(cause) => {
                // The cause goes to the log only; the body is opaque (API.md §1).
                tracing::error!(request_id = %request_id, error = ?cause, "unexpected error");
                let body = json!({"errors": [{"status": "500", "code": "internal", "id": request_id}]});
                (status, JsonApi(body)).into_response()
            }
            Error::OAuth { error, description, .. } => {
                let mut body = json!({ "error": error });
                if let Some(d) = description {
                    body["error_description"] = json!(d);
                }
                let mut r = (status, axum::Json(body)).into_response();
                r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                r
            }
            _ => {
                let errors: Vec<_> = self
                    .problems()
                    .into_iter()
                    .map(|p| {
                        let mut e = json!({
                            "status": status.as_u16().to_string(),
                            "code": p.code,
                            "title": p.title,
                            "detail": p.detail,
                        });
                        if let Some(source) = p.source {
                            e["source"] = serde_json::to_value(source).unwrap_or_default();
                        }
                        e
                    })
                    .collect();
                (status, JsonApi(json!({ "errors": errors }))).into_response()
            }
        };
        let headers = response.headers_mut();
        // RFC 6750 §3: a request without a token is told the scheme; one with a token that does
        // not work is told why it was refused.
        if let Error::InvalidToken(_) = self {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(r#"Bearer error="invalid_token""#));
        } else if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        let retry_after = match self {
            Error::TooManyRequests { retry_after_secs } | Error::Unavailable { retry_after_secs } => {
                Some(retry_after_secs)
            }
            Error::OAuth { retry_after_secs, .. } => retry_after_secs,
            _ => None,
        };
        if let Some(secs) = retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            headers.insert(header::RETRY_AFTER, v);
        }
        response
    }
}
