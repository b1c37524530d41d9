//! The one error type of the service: every way a request can fail, with its status and the
//! problems its body lists. The floor of the module stack: it imports nothing of ours; the HTTP
//! layer renders it (`http::errors`).

use axum::http::StatusCode;
use serde::Serialize;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where in the request a problem was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Source {
    #[serde(rename = "pointer")]
    Pointer(String),
    #[serde(rename = "parameter")]
    Parameter(String),
}

/// One problem found in a request; a request may carry several.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: String,
    pub title: String,
    pub detail: String,
    pub source: Option<Source>,
}

impl Problem {
    /// A problem with a request body attribute, e.g. `attribute("name", "required", "...")`.
    pub fn attribute(name: &str, code: &str, detail: impl Into<String>) -> Self {
        Self::pointer(format!("/data/attributes/{name}"), code, detail)
    }

    pub fn pointer(pointer: impl Into<String>, code: &str, detail: impl Into<String>) -> Self {
        Problem {
            code: code.into(),
            title: "Invalid attribute".into(),
            detail: detail.into(),
            source: Some(Source::Pointer(pointer.into())),
        }
    }

    /// A problem with a query parameter, e.g. `parameter("filter[x]", "unknown_field", "...")`.
    pub fn parameter(name: impl Into<String>, code: &str, detail: impl Into<String>) -> Self {
        Problem {
            code: code.into(),
            title: "Invalid query parameter".into(),
            detail: detail.into(),
            source: Some(Source::Parameter(name.into())),
        }
    }

    /// A problem that belongs to no single field.
    pub fn general(code: &str, title: &str, detail: impl Into<String>) -> Self {
        Problem { code: code.into(), title: title.into(), detail: detail.into(), source: None }
    }
}

/// Every way a request can fail. Handlers return it with `?`; nothing else builds error bodies.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: malformed JSON, bad query parameters.
    #[error("bad request")]
    BadRequest(Vec<Problem>),
    /// 422: attribute validation; every problem of the request at once.
    #[error("validation failed")]
    Validation(Vec<Problem>),
    /// 401 for a request without a bearer token.
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// 401 for a bearer token that is malformed, expired or revoked, or whose account can no
    /// longer use the service (RFC 6750 §3.1 `invalid_token`).
    #[error("invalid token: {0}")]
    InvalidToken(&'static str),
    /// 403: authenticated, but the caller may not do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: uniqueness, dependents, state conflicts.
    #[error("conflict: {}", .0.detail)]
    Conflict(Problem),
    #[error("precondition failed")]
    PreconditionFailed,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    /// 503: a bounded resource (the password hashing slots) stayed busy; retry after a moment.
    #[error("service unavailable")]
    Unavailable { retry_after_secs: u64 },
    /// OAuth 2.0 token endpoint errors (RFC 6749 §5.2): `{"error":"invalid_grant"}`.
    #[error("oauth error: {error}")]
    /// `retry_after_secs`: the `Retry-After` of a 429.
    OAuth { status: StatusCode, error: &'static str, description: Option<String>, retry_after_secs: Option<u64> },
    /// Anything we did not design for: logged with its cause, answered opaquely.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl Error {
    pub fn bad_parameter(name: impl Into<String>, code: &str, detail: impl Into<String>) -> Self {
        Error::BadRequest(vec![Problem::parameter(name, code, detail)])
    }

    pub fn invalid_attribute(name: &str, code: &str, detail: impl Into<String>) -> Self {
        Error::Validation(vec![Problem::attribute(name, code, detail)])
    }

    pub fn conflict(pointer: Option<&str>, code: &str, detail: impl Into<String>) -> Self {
        let mut p = Problem::general(code, "Conflict", detail);
        p.source = pointer.map(|p| Source::Pointer(p.into()));
        Error::Conflict(p)
    }

    pub fn invalid_grant() -> Self {
        Error::OAuth {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_grant",
            description: None,
            retry_after_secs: None,
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Error::OAuth {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_request",
            description: Some(description.into()),
            retry_after_secs: None,
        }
    }

    /// The error as the OAuth endpoints answer it (RFC 6749 §5.2): a request they cannot read
    /// is `invalid_request` with its own status, too many attempts `too_many_attempts`; OAuth
    /// errors, and failures of ours (5xx), stay as they are.
    pub fn into_oauth(self) -> Self {
        let status = self.status();
        let (error, description) = match &self {
            Error::BadRequest(p) | Error::Validation(p) => {
                ("invalid_request", p.first().map(|p| p.detail.clone()).unwrap_or_default())
            }
            Error::PayloadTooLarge => ("invalid_request", "the body is larger than 1 MiB".into()),
            Error::UnsupportedMediaType => {
                ("invalid_request", "send application/x-www-form-urlencoded or application/json".into())
            }
            Error::TooManyRequests { .. } => ("too_many_attempts", "too many attempts; try again later".into()),
            // RFC 6750 §3.1, for the endpoints a bearer calls (introspection).
            Error::Unauthorized(why) | Error::InvalidToken(why) => ("invalid_token", why.to_string()),
            Error::Forbidden(why) => ("insufficient_scope", why.to_string()),
            _ => return self,
        };
        let retry_after_secs = match self {
            Error::TooManyRequests { retry_after_secs } => Some(retry_after_secs),
            _ => None,
        };
        Error::OAuth { status, error, description: Some(description), retry_after_secs }
    }

    pub fn unexpected(cause: impl Into<anyhow::Error>) -> Self {
        Error::Unexpected(cause.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Unauthorized(_) | Error::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Error::OAuth { status, .. } => *status,
            Error::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the error body lists (none for OAuth and unexpected errors, which have their own).
    pub fn problems(&self) -> Vec<Problem> {
        let one = |code: &str, title: &str, detail: &str| vec![Problem::general(code, title, detail)];
        match self {
            Error::BadRequest(p) | Error::Validation(p) => p.clone(),
            Error::Unauthorized(why) | Error::InvalidToken(why) => one("unauthorized", "Unauthorized", why),
            Error::Forbidden(why) => one("forbidden", "Forbidden", why),
            Error::NotFound => one("not_found", "Not found", "no such resource"),
            Error::MethodNotAllowed => {
                one("method_not_allowed", "Method not allowed", "this path does not accept that method")
            }
            Error::Conflict(p) => vec![p.clone()],
            Error::PreconditionFailed => {
                one("precondition_failed", "Precondition failed", "If-Match does not match the resource's current ETag")
            }
            Error::PayloadTooLarge => {
                one("payload_too_large", "Payload too large", "request bodies are limited to 1 MiB")
            }
            Error::UnsupportedMediaType => one(
                "unsupported_media_type",
                "Unsupported media type",
                "send application/vnd.api+json or application/json",
            ),
            Error::TooManyRequests { .. } => one("too_many_requests", "Too many requests", "try again later"),
            Error::Unavailable { .. } => {
                one("service_unavailable", "Service unavailable", "the service is busy; try again shortly")
            }
            Error::OAuth { .. } | Error::Unexpected(_) => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_problem_is_reported_with_its_source() {
        let e = Error::Validation(vec![
            Problem::attribute("name", "required", "name is required"),
            Problem::attribute("description", "too_long", "at most 1000 characters"),
        ]);
        let problems = e.problems();
        assert_eq!(problems.len(), 2);
        assert_eq!(problems[1].source, Some(Source::Pointer("/data/attributes/description".into())));
        assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[test]
    fn source_serializes_as_json_api_wants() {
        let v = serde_json::to_value(Source::Parameter("sort".into())).unwrap();
        assert_eq!(v, json!({"parameter": "sort"}));
    }
}
