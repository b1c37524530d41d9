//! Runs a parsed listing against the store through its plan — streaming an ordered index page
//! by page, or reading the matching key range and sorting in memory — and renders the
//! collection document with `links` and `meta`.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::auth::Principal;
use crate::error::Result;
use crate::jsonapi::resource_object;
use crate::model::is_id;
use crate::query::cursor::Cursor;
use crate::query::eval::{compare_items, matches};
use crate::query::fields::MAX_VALUE_BYTES;
use crate::query::params::is_paging_param;
use crate::query::plan::{Access, Plan, effective_sort, plan};
use crate::query::{Expr, ListQuery, Paging};
use crate::resource::{ResourceDef, Via};
use crate::store::{IndexDef, Item, Query, SortCondition, StartKey, Store, query_all, start_key_of};

/// Items read a request when the whole matching range must be read.
const READ_ALL_BATCH: usize = 1000;

/// One page of a listing.
#[derive(Debug, Default)]
pub struct Page {
    pub items: Vec<Item>,
    /// Matches in total, when `count=true`.
    pub total: Option<usize>,
    /// The cursor `links.next` carries, when more matches follow.
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

/// What a listing reads through: the store, and the time derived attributes are computed at.
#[derive(Clone, Copy)]
pub struct Reader<'a> {
    pub store: &'a dyn Store,
    pub now: OffsetDateTime,
}

/// Lists `def` with `q`; `scope` is ANDed to the filter (what the caller may see).
pub async fn fetch(r: Reader<'_>, def: &'static ResourceDef, q: &ListQuery, scope: Expr) -> Result<Page> {
    let filter = q.filter.clone().and(scope);
    let q = ListQuery { filter, ..q.clone() };
    let plan = plan(def, &q);
    let mut page = match (&plan.access, plan.ordered) {
        (Access::Index { index, pk, sk }, Some(descending)) => {
            stream_ordered(r, def, &q, index, pk, sk, descending).await?
        }
        (Access::Via { via, pk, organizations }, Some(descending)) => {
            stream_via(r, def, &q, via, pk, organizations.as_deref(), descending).await?
        }
        _ => sort_in_memory(r, def, &q, &plan).await?,
    };
    if q.count && page.total.is_none() {
        page.total = Some(read_all(r, def, &q, &plan).await?.len());
    }
    Ok(page)
}

/// A cursor is where a page of ours ended: an item's id and index keys, none of them a value
/// the store would refuse as a key (empty, too long), so that a forged one is a 400 on every
/// store.
fn check_key_cursor(key: &StartKey, index: &IndexDef, pk: &str) -> Result<()> {
    let allowed = [Some("id"), Some(index.pk_attr()), index.sk];
    let key_value = |v: &Value| v.as_str().is_some_and(|s| !s.is_empty() && s.len() <= MAX_VALUE_BYTES);
    let well_formed = key.get("id").and_then(Value::as_str).is_some_and(is_id)
        && key.iter().all(|(k, v)| allowed.contains(&Some(k.as_str())) && key_value(v))
        && key.get(index.pk_attr()).and_then(Value::as_str).is_none_or(|v| v == pk);
    if well_formed { Ok(()) } else { Err(Cursor::invalid()) }
}

/// The index yields the requested order: read only as far as this page (plus one item to
/// know whether another page follows).
async fn stream_ordered(
    r: Reader<'_>,
    def: &'static ResourceDef,
    q: &ListQuery,
    index: &'static IndexDef,
    pk: &str,
    sk: &Option<SortCondition>,
    descending: bool,
) -> Result<Page> {
    let (skip, limit, mut start) = match &q.paging {
        Paging::Offset { offset, limit, .. } => (*offset, *limit, None),
        Paging::After { cursor, limit } if cursor.is_empty() => (0, *limit, None),
        Paging::After { cursor, limit } => match Cursor::decode(cursor)? {
            Cursor::Key(key) => {
                check_key_cursor(&key, index, pk)?;
                (0, *limit, Some(key))
            }
            Cursor::After(_) => return Err(Cursor::invalid()),
        },
    };
    let want = skip.saturating_add(limit).saturating_add(1);
    let mut found = Vec::new();
    loop {
        let need = want - found.len();
        let query = Query {
            table: def.table,
            index,
            pk: pk.to_string(),
            sk: sk.clone(),
            descending,
            limit: need.clamp(1, READ_ALL_BATCH),
            start: start.take(),
        };
        let read = r.store.query(query).await?;
        for item in read.items {
            let item = def.present(item, r.now);
            if matches(&q.filter, &item, def) {
                found.push(item);
                if found.len() == want {
                    break;
                }
            }
        }
        match read.last_key {
            Some(key) if found.len() < want => start = Some(key),
            _ => break,
        }
    }
    let has_more = found.len() > skip + limit;
    let items: Vec<Item> = found.into_iter().skip(skip).take(limit).collect();
    let next_cursor =
        has_more.then(|| items.last().map(|last| Cursor::Key(start_key_of(index, last)).encode())).flatten();
    Ok(Page { items, total: None, next_cursor, has_more })
}

/// Keeps the link items of the listed organizations (or of none: global role assignments).
fn link_wanted(via: &Via, organizations: Option<&[String]>, link: &Item) -> bool {
    let org = via.organization.and_then(|a| link.get(a)).and_then(Value::as_str);
    match (organizations, org) {
        (Some(orgs), Some(org)) => orgs.iter().any(|o| o == org),
        _ => true,
    }
}

/// The ids a run of link items points to, in order, each once (links of one id are adjacent,
/// the index being sorted by it); `last` carries the previous run's final id over.
fn linked_ids(via: &Via, organizations: Option<&[String]>, links: &[Item], last: &mut Option<String>) -> Vec<String> {
    let mut ids = Vec::new();
    for link in links.iter().filter(|l| link_wanted(via, organizations, l)) {
        let Some(id) = link.get(via.key).and_then(Value::as_str) else { continue };
        if last.as_deref() != Some(id) {
            ids.push(id.to_string());
            *last = Some(id.to_string());
        }
    }
    ids
}

/// The items with these ids, in this order (batch reads answer in any order).
async fn items_in_order(r: Reader<'_>, def: &'static ResourceDef, ids: &[String]) -> Result<Vec<Item>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let mut by_id: std::collections::HashMap<String, Item> = r
        .store
        .batch_get(def.table, ids)
        .await?
        .into_iter()
        .map(|i| (crate::records::id_of(&i).to_string(), i))
        .collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).map(|i| def.present(i, r.now)).collect())
}

/// Streams a link partition in id order: each page reads about as many links and items as it
/// returns. The cursor is the last id returned, resumed as a key condition on the link index.
async fn stream_via(
    r: Reader<'_>,
    def: &'static ResourceDef,
    q: &ListQuery,
    via: &'static Via,
    pk: &str,
    organizations: Option<&[String]>,
    descending: bool,
) -> Result<Page> {
    let (skip, limit, after) = match &q.paging {
        Paging::Offset { offset, limit, .. } => (*offset, *limit, None),
        Paging::After { cursor, limit } if cursor.is_empty() => (0, *limit, None),
        Paging::After { cursor, limit } => match Cursor::decode(cursor)? {
            Cursor::After(position) => match position.get("id").and_then(Value::as_str) {
                Some(id) if position.len() == 1 => (0, *limit, Some(id.to_string())),
                _ => return Err(Cursor::invalid()),
            },
            Cursor::Key(_) => return Err(Cursor::invalid()),
        },
    };
    let sk = after.clone().map(|id| if descending { SortCondition::Lt(id) } else { SortCondition::Gt(id) });
    let want = skip.saturating_add(limit).saturating_add(1);
    let mut found = Vec::new();
    let (mut start, mut last) = (None, after);
    loop {
        let need = want - found.len();
        let query = Query {
            table: via.table,
            index: via.index,
            pk: pk.to_string(),
            sk: sk.clone(),
            descending,
            limit: need.clamp(1, crate::query::plan::MAX_ID_BATCH),
            start: start.take(),
        };
        let read = r.store.query(query).await?;
        let ids = linked_ids(via, organizations, &read.items, &mut last);
        for item in items_in_order(r, def, &ids).await? {
            if matches(&q.filter, &item, def) {
                found.push(item);
                if found.len() == want {
                    break;
                }
            }
        }
        match read.last_key {
            Some(key) if found.len() < want => start = Some(key),
            _ => break,
        }
    }
    let has_more = found.len() > skip + limit;
    let items: Vec<Item> = found.into_iter().skip(skip).take(limit).collect();
    let next_cursor = has_more
        .then(|| {
            items.last().map(|last| {
                let id = Value::String(crate::records::id_of(last).to_string());
                Cursor::After([("id".to_string(), id)].into_iter().collect()).encode()
            })
        })
        .flatten();
    Ok(Page { items, total: None, next_cursor, has_more })
}

/// Every item the plan's access yields that matches the filter.
async fn read_all(r: Reader<'_>, def: &'static ResourceDef, q: &ListQuery, plan: &Plan) -> Result<Vec<Item>> {
    let items = match &plan.access {
        Access::Ids(ids) if ids.is_empty() => vec![],
        Access::Ids(ids) => r.store.batch_get(def.table, ids).await?,
        Access::Index { index, pk, sk } => {
            query_all(r.store, Query::partition(def.table, index, pk).with_sk(sk.clone())).await?
        }
        Access::Partitions { index, pks, sk } => {
            let mut items = Vec::new();
            for pk in pks {
                items.extend(query_all(r.store, Query::partition(def.table, index, pk).with_sk(sk.clone())).await?);
            }
            items
        }
        Access::Via { via, pk, organizations } => {
            let links = query_all(r.store, Query::partition(via.table, via.index, pk)).await?;
            let ids = linked_ids(via, organizations.as_deref(), &links, &mut None);
            let mut items = Vec::new();
            for chunk in ids.chunks(crate::query::plan::MAX_ID_BATCH) {
                items.extend(items_in_order(r, def, chunk).await?);
            }
            return Ok(items.into_iter().filter(|item| matches(&q.filter, item, def)).collect());
        }
    };
    Ok(items.into_iter().map(|i| def.present(i, r.now)).filter(|item| matches(&q.filter, item, def)).collect())
}

async fn sort_in_memory(r: Reader<'_>, def: &'static ResourceDef, q: &ListQuery, plan: &Plan) -> Result<Page> {
    let sort = effective_sort(q);
    let mut items = read_all(r, def, q, plan).await?;
    items.sort_by(|a, b| compare_items(a, b, &sort, def));
    let total = items.len();
    let (skip, limit) = match &q.paging {
        Paging::Offset { offset, limit, .. } => (*offset, *limit),
        Paging::After { cursor, limit } if cursor.is_empty() => (0, *limit),
        Paging::After { cursor, limit } => match Cursor::decode(cursor)? {
            Cursor::After(last) => {
                let last: Item = last;
                let skip =
                    items.partition_point(|i| compare_items(i, &last, &sort, def) != std::cmp::Ordering::Greater);
                (skip, *limit)
            }
            Cursor::Key(_) => return Err(Cursor::invalid()),
        },
    };
    let has_more = total > skip.saturating_add(limit);
    let page: Vec<Item> = items.into_iter().skip(skip).take(limit).collect();
    let next_cursor = has_more
        .then(|| {
            page.last().map(|last| {
                let mut position = Map::new();
                for field in sort.iter().map(|k| k.field).chain(["id"]) {
                    position.insert(field.into(), last.get(field).cloned().unwrap_or(Value::Null));
                }
                Cursor::After(position).encode()
            })
        })
        .flatten();
    Ok(Page { items: page, total: q.count.then_some(total), next_cursor, has_more })
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
pub fn document(
    def: &'static ResourceDef,
    q: &ListQuery,
    page: &Page,
    base_url: &str,
    request_pairs: &[(String, String)],
    included: Option<Vec<Value>>,
) -> Value {
    let data: Vec<Value> = page
        .items
        .iter()
        .map(|i| resource_object(def, i, q.fields.get(def.type_name).map(Vec::as_slice), base_url))
        .collect();
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

/// The whole collection `GET` on behalf of `principal`: parse the query string, check it with
/// `check` (rules of one resource, e.g. a required filter), fetch the page within what the
/// caller may read, render it with the included resources the caller may read, and set
/// `X-Total-Count` when counted.
pub async fn respond(
    state: &crate::AppState,
    principal: &Principal,
    def: &'static ResourceDef,
    raw_query: Option<&str>,
    check: impl FnOnce(&ListQuery) -> Result<()>,
) -> Result<axum::response::Response> {
    use axum::response::IntoResponse;
    let pairs = crate::query::params::decode_pairs(raw_query);
    let q = crate::query::params::parse(def, &pairs)?;
    check(&q)?;
    let reader = Reader { store: state.store.as_ref(), now: state.clock.now() };
    let scope = match def.live_filter(reader.now) {
        crate::query::Expr::True => principal.read_scope(def),
        live => crate::query::Expr::And(vec![principal.read_scope(def), live]),
    };
    let page = fetch(reader, def, &q, scope).await?;
    let base = state.base_url();
    let included = if q.include.is_empty() {
        None
    } else {
        Some(crate::include::included(reader, principal, def, &page.items, &q.include, &q.fields, &base).await?)
    };
    let doc = document(def, &q, &page, &base, &pairs, included);
    let mut response = crate::jsonapi::JsonApi(doc).into_response();
    if let Some(total) = page.total
        && let Ok(v) = axum::http::HeaderValue::from_str(&total.to_string())
    {
        response.headers_mut().insert("x-total-count", v);
    }
    Ok(response)
}
