//! What handlers take from a request: the caller ([`Principal`]), a resource id known to be one
//! of ours, the client's address, `If-Match`, and bodies (1 MiB at most; JSON:API documents,
//! flat JSON or forms, as each endpoint accepts).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde_json::{Map, Value};

use super::BODY_LIMIT;
use crate::app::AppState;
use crate::auth::Principal;
use crate::error::{Error, Problem, Result};
use crate::ids::is_id;
use crate::jsonapi::ActionBody;
use crate::query::params::decode_pairs;
use crate::usecase::load::IfMatch;

impl FromRequestParts<AppState> for Principal {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        Principal::authenticate(state.store.as_ref(), &state.keys, header, state.now()).await
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self> {
        Ok(match parts.headers.get(header::IF_MATCH) {
            None => IfMatch::Any,
            Some(value) => value.to_str().map_or(IfMatch::Unreadable, |v| IfMatch::Tags(v.to_string())),
        })
    }
}

/// The `{id}` of a resource path, known to be an id of ours (`model::is_id`) before any
/// handler or store sees it: any other value names nothing, so it is the same 404 a missing
/// resource gets, on every store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ResourceId {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        let axum::extract::Path(id) =
            axum::extract::Path::<String>::from_request_parts(parts, state).await.map_err(|_| Error::NotFound)?;
        if is_id(&id) { Ok(ResourceId(id)) } else { Err(Error::NotFound) }
    }
}

/// Where the client is, as far as the platform tells: set by the local gateway from the
/// socket, and in Lambda from the API Gateway request context.
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

fn media_type(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
}

async fn read_body(request: Request) -> Result<Bytes> {
    let too_long = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .is_some_and(|n| n > BODY_LIMIT);
    if too_long {
        return Err(Error::PayloadTooLarge);
    }
    axum::body::to_bytes(request.into_body(), BODY_LIMIT).await.map_err(|_| Error::PayloadTooLarge)
}

fn parse_json(bytes: &[u8]) -> Result<Value> {
    serde_json::from_slice(bytes).map_err(|e| {
        // The empty pointer is the whole document (RFC 6901): the body is what failed.
        let mut problem = Problem::pointer("", "malformed_json", format!("the body is not valid JSON: {e}"));
        problem.title = "Malformed JSON".into();
        Error::BadRequest(vec![problem])
    })
}

/// A JSON:API request document (`application/vnd.api+json` or `application/json`).
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = Error;

    async fn from_request(request: Request, _: &S) -> Result<Self> {
        match media_type(request.headers()).as_deref() {
            Some("application/vnd.api+json" | "application/json") => {}
            _ => return Err(Error::UnsupportedMediaType),
        }
        Ok(JsonBody(parse_json(&read_body(request).await?)?))
    }
}

/// A flat action body: a JSON object, or `application/x-www-form-urlencoded` as OAuth 2.0
/// clients send it. Values are kept as JSON so that wrong types can be reported.
pub struct FlatBody(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for FlatBody {
    type Rejection = Error;

    async fn from_request(request: Request, _: &S) -> Result<Self> {
        let media = media_type(request.headers());
        let bytes = read_body(request).await?;
        let map = match media.as_deref() {
            Some("application/vnd.api+json" | "application/json") => match parse_json(&bytes)? {
                Value::Object(m) => m,
                _ => {
                    return Err(Error::BadRequest(vec![Problem::general(
                        "malformed_json",
                        "Malformed JSON",
                        "the body must be a JSON object",
                    )]));
                }
            },
            Some("application/x-www-form-urlencoded") => {
                let raw = String::from_utf8_lossy(&bytes);
                decode_pairs(Some(&raw)).into_iter().map(|(k, v)| (k, Value::String(v))).collect()
            }
            _ => return Err(Error::UnsupportedMediaType),
        };
        Ok(FlatBody(map))
    }
}

impl<S: Send + Sync> FromRequest<S> for ActionBody {
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self> {
        let FlatBody(mut map) = FlatBody::from_request(request, state).await?;
        match map.remove("data") {
            Some(Value::Object(mut data)) => match data.remove("attributes") {
                Some(Value::Object(fields)) => Ok(ActionBody::document(fields)),
                _ => Err(Error::BadRequest(vec![Problem::pointer(
                    "/data/attributes",
                    "malformed_document",
                    "a JSON:API body needs data.attributes",
                )])),
            },
            Some(other) => {
                map.insert("data".into(), other);
                Ok(ActionBody::flat(map))
            }
            None => Ok(ActionBody::flat(map)),
        }
    }
}
