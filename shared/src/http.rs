//! HTTP plumbing shared by every function: request ids, the JSON:API fallbacks (404, 405),
//! request bodies (1 MiB, content types), ETags and the single-resource response.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::app::AppState;
use crate::error::{Error, Problem, Result};
use crate::jsonapi::{JsonApi, resource_object};
use crate::records::version_of;
use crate::resource::ResourceDef;
use crate::store::Item;

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 1024 * 1024;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being served ("-" outside one).
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_else(|_| "-".into())
}

async fn with_request_id(request: Request, next: Next) -> Response {
    let id = uuid::Uuid::now_v7().to_string();
    let mut response = REQUEST_ID.scope(id.clone(), next.run(request)).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

async fn not_found() -> Error {
    Error::NotFound
}

async fn method_not_allowed() -> Error {
    Error::MethodNotAllowed
}

/// Turns a function's routes (or every function's, merged) into the service that answers
/// requests: JSON:API 404/405 fallbacks and a request id on every response.
pub fn service(routes: Router<AppState>, state: AppState) -> Router {
    routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(no_store_when_authenticated))
        .layer(middleware::from_fn(with_request_id))
        .with_state(state)
}

/// A response to a request that carried credentials is the caller's alone: no shared cache or
/// browser may keep it (RFC 9111 `no-store`; OWASP ASVS 5.0 §14.3).
async fn no_store_when_authenticated(request: Request, next: Next) -> Response {
    let authenticated = request.headers().contains_key(header::AUTHORIZATION);
    let mut response = next.run(request).await;
    if authenticated {
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The `{id}` of a resource path, known to be an id of ours (`model::is_id`) before any
/// handler or store sees it: any other value names nothing, so it is the same 404 a missing
/// resource gets, on every store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceId(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ResourceId {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self> {
        let axum::extract::Path(id) =
            axum::extract::Path::<String>::from_request_parts(parts, state).await.map_err(|_| Error::NotFound)?;
        if crate::model::is_id(&id) { Ok(ResourceId(id)) } else { Err(Error::NotFound) }
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
        Error::BadRequest(vec![Problem::general(
            "malformed_json",
            "Malformed JSON",
            format!("the body is not valid JSON: {e}"),
        )])
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
                crate::query::params::decode_pairs(Some(&raw)).into_iter().map(|(k, v)| (k, Value::String(v))).collect()
            }
            _ => return Err(Error::UnsupportedMediaType),
        };
        Ok(FlatBody(map))
    }
}

/// The ETag of a stored item: its version.
pub fn etag(item: &Item) -> String {
    format!("\"{}\"", version_of(item))
}

/// 412 unless `If-Match` is absent, `*`, or lists the item's current ETag.
pub fn check_if_match(headers: &HeaderMap, item: &Item) -> Result<()> {
    let Some(value) = headers.get(header::IF_MATCH) else { return Ok(()) };
    let value = value.to_str().map_err(|_| Error::PreconditionFailed)?;
    let current = etag(item);
    let matched =
        value.split(',').map(str::trim).any(|t| t == "*" || t == current || t.strip_prefix("W/") == Some(&current));
    if matched { Ok(()) } else { Err(Error::PreconditionFailed) }
}

/// A single-resource document with its ETag; 201 responses also carry `Location`.
pub fn resource_response(status: StatusCode, def: &ResourceDef, item: &Item, state: &AppState) -> Response {
    let base = state.base_url();
    let shown = def.present(item.clone(), state.clock.now());
    let object = resource_object(def, &shown, None, &base);
    finish(status, item, json!({"data": object}))
}

/// A single-resource `GET` honouring `include` and `fields[TYPE]` from the query string.
pub async fn show_response(
    def: &ResourceDef,
    item: &Item,
    state: &AppState,
    principal: &crate::auth::Principal,
    raw_query: Option<&str>,
) -> Result<Response> {
    let options = crate::query::params::parse_document_options(def, &crate::query::params::decode_pairs(raw_query))?;
    let base = state.base_url();
    let reader = crate::listing::Reader { store: state.store.as_ref(), now: state.clock.now() };
    let shown = def.present(item.clone(), reader.now);
    let object = resource_object(def, &shown, options.fields.get(def.type_name).map(Vec::as_slice), &base);
    let mut doc = json!({"data": object});
    if !options.include.is_empty() {
        let included = crate::include::included(
            reader,
            principal,
            def,
            std::slice::from_ref(&shown),
            &options.include,
            &options.fields,
            &base,
        )
        .await?;
        doc["included"] = Value::Array(included);
    }
    Ok(finish(StatusCode::OK, item, doc))
}

/// `GET /TYPE/{id}`: the item if the caller may read it (404 otherwise, a lapsed one
/// included), as [`show_response`] renders it.
pub async fn show_readable(
    def: &ResourceDef,
    id: &str,
    state: &AppState,
    principal: &crate::auth::Principal,
    raw_query: Option<&str>,
) -> Result<Response> {
    let item = principal.load_readable(state.store.as_ref(), def, id, state.now()).await?;
    show_response(def, &item, state, principal, raw_query).await
}

/// Adds `links.self`, the ETag and (for 201) `Location` to a single-resource document.
fn finish(status: StatusCode, item: &Item, mut doc: Value) -> Response {
    let location = doc["data"]["links"]["self"].as_str().unwrap_or_default().to_string();
    doc["links"] = json!({"self": location});
    let mut response = (status, JsonApi(doc)).into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag(item)) {
        headers.insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED
        && let Ok(v) = HeaderValue::from_str(&location)
    {
        headers.insert(header::LOCATION, v);
    }
    response
}

/// The body of an action endpoint (join, the password flows): a flat JSON object or form, or
/// a JSON:API document whose attributes are used. Problems point into whichever was sent.
pub struct ActionBody {
    pub fields: Map<String, Value>,
    /// `/data/attributes` for a JSON:API document, empty for a flat body.
    prefix: &'static str,
}

impl ActionBody {
    /// The JSON pointer of a field as the client sent it.
    pub fn pointer(&self, name: &str) -> String {
        format!("{}/{name}", self.prefix)
    }

    /// A string field, or the problem with it (missing, empty or not a string).
    pub fn string(&self, name: &str) -> std::result::Result<&str, Problem> {
        match self.fields.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s),
            None | Some(Value::Null) | Some(Value::String(_)) => {
                Err(Problem::pointer(self.pointer(name), "required", format!("{name} is required")))
            }
            Some(_) => Err(Problem::pointer(self.pointer(name), "invalid_type", format!("{name} must be a string"))),
        }
    }

    /// Re-points problems found by the JSON:API attribute validators at a flat body's fields.
    pub fn repoint(&self, error: Error) -> Error {
        let fix = |mut p: Problem| {
            if let Some(crate::error::Source::Pointer(ptr)) = &p.source
                && let Some(name) = ptr.strip_prefix("/data/attributes/")
            {
                p.source = Some(crate::error::Source::Pointer(self.pointer(name)));
            }
            p
        };
        match error {
            Error::Validation(problems) => Error::Validation(problems.into_iter().map(fix).collect()),
            other => other,
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for ActionBody {
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self> {
        let FlatBody(mut map) = FlatBody::from_request(request, state).await?;
        match map.remove("data") {
            Some(Value::Object(mut data)) => match data.remove("attributes") {
                Some(Value::Object(fields)) => Ok(ActionBody { fields, prefix: "/data/attributes" }),
                _ => Err(Error::BadRequest(vec![Problem::pointer(
                    "/data/attributes",
                    "malformed_document",
                    "a JSON:API body needs data.attributes",
                )])),
            },
            Some(other) => {
                map.insert("data".into(), other);
                Ok(ActionBody { fields: map, prefix: "" })
            }
            None => Ok(ActionBody { fields: map, prefix: "" }),
        }
    }
}
