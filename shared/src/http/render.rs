//! JSON:API response documents: a single resource (with its ETag, and `Location` when
//! created), a single-resource `GET` and a collection, the last two through one
//! include-and-render path that honours `include` and `fields[TYPE]`.

use std::collections::BTreeMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value, json};

use super::JsonApi;
use crate::app::AppState;
use crate::auth::Principal;
use crate::error::Result;
use crate::include::included;
use crate::jsonapi::resource_object;
use crate::listing::{self, Page, Reader};
use crate::query::params::{decode_pairs, is_paging_param, parse, parse_document_options};
use crate::query::{ListQuery, Paging};
use crate::resource::ResourceDef;
use crate::store::Item;
use crate::usecase::load::etag;

/// A single-resource document with its ETag; 201 responses also carry `Location`.
pub fn resource_response(status: StatusCode, def: &ResourceDef, item: &Item, state: &AppState) -> Response {
    let shown = def.present(item.clone(), state.now());
    let object = resource_object(def, &shown, None, &state.base_url());
    finish(status, item, json!({"data": object}))
}

/// The resource objects of `items` (as presented) with the sparse fieldsets asked for, and the
/// `included` member when `include` asks for related resources the caller may read.
async fn render(
    state: &AppState,
    principal: &Principal,
    def: &ResourceDef,
    items: &[Item],
    include: &[String],
    fields: &BTreeMap<String, Vec<String>>,
) -> Result<(Vec<Value>, Option<Vec<Value>>)> {
    let base = state.base_url();
    let fieldset = fields.get(def.type_name).map(Vec::as_slice);
    let data = items.iter().map(|i| resource_object(def, i, fieldset, &base)).collect();
    if include.is_empty() {
        return Ok((data, None));
    }
    let reader = Reader::new(state.store.as_ref(), state.now());
    Ok((data, Some(included(reader, principal, def, items, include, fields, &base).await?)))
}

/// A single-resource `GET` honouring `include` and `fields[TYPE]` from the query string.
pub async fn show_response(
    def: &ResourceDef,
    item: &Item,
    state: &AppState,
    principal: &Principal,
    raw_query: Option<&str>,
) -> Result<Response> {
    let options = parse_document_options(def, &decode_pairs(raw_query))?;
    let shown = def.present(item.clone(), state.now());
    let (mut data, included) =
        render(state, principal, def, std::slice::from_ref(&shown), &options.include, &options.fields).await?;
    let mut doc = json!({"data": data.pop().unwrap_or(Value::Null)});
    if let Some(included) = included {
        doc["included"] = Value::Array(included);
    }
    Ok(finish(StatusCode::OK, item, doc))
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

/// The whole collection `GET` on behalf of `principal`: parse the query string, check it with
/// `check` (rules of one resource, e.g. a required filter), list the page within what the
/// caller may read, render it with the included resources the caller may read, and set
/// `X-Total-Count` when counted.
pub async fn list(
    state: &AppState,
    principal: &Principal,
    def: &'static ResourceDef,
    raw_query: Option<&str>,
    check: impl FnOnce(&ListQuery) -> Result<()>,
) -> Result<Response> {
    let pairs = decode_pairs(raw_query);
    let q = parse(def, &pairs)?;
    check(&q)?;
    let reader = Reader::new(state.store.as_ref(), state.now());
    let page = listing::list(reader, principal, def, &q).await?;
    let (data, included) = render(state, principal, def, &page.items, &q.include, &q.fields).await?;
    let doc = document(def, &q, &page, &state.base_url(), &pairs, data, included);
    let mut response = JsonApi(doc).into_response();
    if let Some(total) = page.total
        && let Ok(v) = HeaderValue::from_str(&total.to_string())
    {
        response.headers_mut().insert("x-total-count", v);
    }
    Ok(response)
}

const QUERY_VALUE: &AsciiSet =
    &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b',').remove(b'[').remove(b']');

fn url(base: &str, pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return base.to_string();
    }
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", utf8_percent_encode(k, QUERY_VALUE), utf8_percent_encode(v, QUERY_VALUE)))
        .collect();
    format!("{base}?{}", query.join("&"))
}

/// The collection document: data, links (self, first, prev, next, last) and meta.
fn document(
    def: &'static ResourceDef,
    q: &ListQuery,
    page: &Page,
    base_url: &str,
    request_pairs: &[(String, String)],
    data: Vec<Value>,
    included: Option<Vec<Value>>,
) -> Value {
    let collection = format!("{base_url}{}", def.path);
    let kept: Vec<(String, String)> = request_pairs.iter().filter(|(k, _)| !is_paging_param(k)).cloned().collect();
    let link = |extra: Vec<(&str, String)>| {
        let mut pairs = kept.clone();
        pairs.extend(extra.into_iter().map(|(k, v)| (k.to_string(), v)));
        Value::String(url(&collection, &pairs))
    };
    let limit = q.limit();
    let total_pages = page.total.map(|t| t.div_ceil(limit).max(1));
    let mut meta = Map::new();
    if let Some(total) = page.total {
        meta.insert("count".into(), json!(total));
    }
    let mut links = json!({"self": url(&collection, request_pairs)});
    match &q.paging {
        Paging::Offset { offset, limit, by_number: true } => {
            let number = offset / limit + 1;
            let at = |n: usize| link(vec![("page[number]", n.to_string()), ("page[size]", limit.to_string())]);
            links["first"] = at(1);
            links["prev"] = if number > 1 { at(number - 1) } else { Value::Null };
            links["next"] = if page.has_more { at(number + 1) } else { Value::Null };
            let mut pagination = json!({
                "current_page": number,
                "next_page": if page.has_more { json!(number + 1) } else { Value::Null },
                "prev_page": if number > 1 { json!(number - 1) } else { Value::Null },
            });
            if let (Some(pages), Some(total)) = (total_pages, page.total) {
                links["last"] = at(pages);
                pagination["total_pages"] = json!(pages);
                pagination["total_count"] = json!(total);
            }
            meta.insert("pagination".into(), pagination);
        }
        Paging::Offset { offset, limit, by_number: false } => {
            let at = |o: usize| link(vec![("limit", limit.to_string()), ("offset", o.to_string())]);
            links["first"] = at(0);
            links["prev"] = if *offset > 0 { at(offset.saturating_sub(*limit)) } else { Value::Null };
            links["next"] = if page.has_more { at(offset + limit) } else { Value::Null };
            if let Some(pages) = total_pages {
                links["last"] = at((pages - 1) * limit);
            }
        }
        Paging::After { limit, .. } => {
            links["first"] = link(vec![("page[size]", limit.to_string())]);
            links["next"] = match &page.next_cursor {
                Some(c) => link(vec![("page[after]", c.clone()), ("page[size]", limit.to_string())]),
                None => Value::Null,
            };
        }
    }
    let mut doc = json!({"data": data, "links": links});
    if let Some(included) = included {
        doc["included"] = Value::Array(included);
    }
    if !meta.is_empty() {
        doc["meta"] = Value::Object(meta);
    }
    doc
}
