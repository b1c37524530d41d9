//! Runs a parsed listing against the store through its plan: streaming an ordered index (or a
//! link index) page by page, or reading the matching key range and sorting in memory. What a
//! page shows is rendered by the HTTP layer (`http::render`); this module only finds it.

pub mod related;
mod runs;
mod words;

use std::collections::HashMap;

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::auth::Principal;
use crate::error::Result;
use crate::ids::is_id;
use crate::query::cursor::Cursor;
use crate::query::eval::{compare_items, matches};
use crate::query::fields::MAX_VALUE_BYTES;
use crate::query::plan::{Access, MAX_ID_BATCH, Plan, Plans, effective_sort, plans};
use crate::query::{Expr, ListQuery, Op, Paging, Scalar};
use crate::records::id_of;
use crate::resource::{Field, ResourceDef, Via};
use crate::store::schema::UNIQUES;
use crate::store::words::is_position_of;
use crate::store::{IndexDef, Item, Query, Reading, SortCondition, StartKey, Store, query_within, start_key_of};

/// The cursor field of a word bucket's position.
const POSITION: &str = "at";

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

/// What a listing reads through: the store, the time derived attributes are computed at, and
/// the related fields its filter compares (`related`), joined onto every item read on behalf
/// of `viewer`.
#[derive(Clone, Copy)]
pub struct Reader<'a> {
    pub store: &'a dyn Store,
    pub now: OffsetDateTime,
    pub related: &'a [&'static Field],
    pub viewer: Option<&'a Principal>,
}

impl<'a> Reader<'a> {
    pub fn new(store: &'a dyn Store, now: OffsetDateTime) -> Reader<'a> {
        Reader { store, now, related: &[], viewer: None }
    }

    /// The items as the API shows them, with the related fields the filter compares.
    async fn presented(&self, def: &ResourceDef, items: Vec<Item>) -> Result<Vec<Item>> {
        let mut items: Vec<Item> = items.into_iter().map(|i| def.present(i, self.now)).collect();
        if !self.related.is_empty() {
            related::attach(*self, def, self.related, self.viewer, &mut items).await?;
        }
        Ok(items)
    }
}

/// The listing of `def` that `q` asks for, within what `principal` may read (and, for items
/// that lapse, only the live ones). Filters on related fields are answered through the
/// related table first where they can be (`related`).
pub async fn list(r: Reader<'_>, principal: &Principal, def: &'static ResourceDef, q: &ListQuery) -> Result<Page> {
    let scope = match live_filter(def, r.now) {
        Expr::True => principal.read_scope(def),
        live => Expr::And(vec![principal.read_scope(def), live]),
    };
    if related::named(def, &q.filter).is_empty() {
        return fetch(r, def, q, scope).await;
    }
    let q = related::resolve(r, principal, def, q).await?;
    let joined = related::named(def, &q.filter);
    let r = Reader { related: &joined, viewer: Some(principal), ..r };
    fetch(r, def, &q, scope).await
}

/// The condition a listing is ANDed with so that lapsed items never show.
fn live_filter(def: &ResourceDef, now: OffsetDateTime) -> Expr {
    match def.lapses_at {
        Some(attr) => Expr::Cmp { field: attr, op: Op::Gt, values: vec![Scalar::Time(now)] },
        None => Expr::True,
    }
}

/// Lists `def` with `q`; `scope` is ANDed to the filter (what the caller may see).
pub async fn fetch(r: Reader<'_>, def: &'static ResourceDef, q: &ListQuery, scope: Expr) -> Result<Page> {
    let filter = q.filter.clone().and(scope);
    let q = ListQuery { filter, ..q.clone() };
    let Plans { best, ordered } = plans(def, &q);
    let window = Window::of(&q.paging)?;
    let plan = match ordered {
        Some(ordered) if best.ordered.is_none() => match choose(r, def, &q, &window, &best).await? {
            Choice::Filtering(Some(matches)) => return sort_in_memory(def, &q, window, matches),
            Choice::Filtering(None) => best.clone(),
            Choice::Ordering => ordered,
        },
        _ => best.clone(),
    };
    let mut page = match (&plan.access, plan.ordered) {
        (Access::Index { index, pk, sk }, Some(_)) if plan.runs => {
            let query = Query {
                table: def.table,
                index,
                pk: pk.clone(),
                sk: sk.clone(),
                descending: false,
                limit: 1,
                start: None,
            };
            runs::stream(r, def, &q, window, query).await?
        }
        (Access::Index { index, pk, sk }, Some(descending)) => {
            stream_ordered(r, def, &q, window, index, pk, sk, descending).await?
        }
        (Access::Via { via, pk, organizations }, Some(descending)) => {
            stream_via(r, def, &q, window, via, pk, organizations.as_deref(), descending).await?
        }
        (Access::WordBuckets { index, pk, terms, organizations, order }, Some(descending)) => match def.table.words {
            Some(search) => {
                let terms = words::Terms { search, terms, organizations: organizations.as_deref() };
                let bucket = words::Bucket { index, pk, order: *order, descending };
                words::stream(r, def, &q, window, bucket, terms).await?
            }
            None => Page::default(),
        },
        _ => sort_in_memory(def, &q, window, read_all(r, def, &q, &plan).await?)?,
    };
    if q.count && page.total.is_none() {
        page.total = Some(match counted(r, def, &q.filter).await? {
            Some(count) => count,
            // The narrowest access counts, whichever served the page.
            None => read_all(r, def, &q, &best).await?.len(),
        });
    }
    Ok(page)
}

/// Entries of the filtering access read to decide between sorting its matches in memory and
/// streaming the ordering index with the filter applied.
const PROBE: usize = 1000;

/// How a page is read when the narrowest access is not the one in the requested order.
enum Choice {
    /// Sort the filtering access's matches in memory: here they are, when the probe read all.
    Filtering(Option<Vec<Item>>),
    /// Stream the ordering index, applying the filter to what it reads.
    Ordering,
}

/// Chooses by cost: the filtering access is probed with a bounded read; if it holds at most
/// [`PROBE`] entries, its matches are sorted in memory (a page costs at most that); otherwise
/// the matches are many, and streaming the ordering index finds a page after reading about
/// the page divided by the share of items that match (the whole table has at least `PROBE`
/// matches in it). A cursor names the way its first page took, so later pages follow it
/// without probing again.
async fn choose(
    r: Reader<'_>,
    def: &'static ResourceDef,
    q: &ListQuery,
    window: &Window,
    best: &Plan,
) -> Result<Choice> {
    if matches!(best.access, Access::Ids(_) | Access::Marker(_)) {
        return Ok(Choice::Filtering(None));
    }
    Ok(match &window.cursor {
        Some(Cursor::After(_)) => Choice::Filtering(None),
        Some(_) => Choice::Ordering,
        None => match read_within(r, def, q, best, PROBE).await? {
            Some(matches) => Choice::Filtering(Some(matches)),
            None => Choice::Ordering,
        },
    })
}

/// The number of matches from the resource's counters, when the filter (with the caller's
/// scope) asks for the whole collection or one organization's part of it: O(1) reads instead
/// of reading every match. Any other filter is counted by reading what it matches.
async fn counted(r: Reader<'_>, def: &ResourceDef, filter: &Expr) -> Result<Option<usize>> {
    let Some(counts) = &def.counts else { return Ok(None) };
    let organization = def.guard.organization;
    let mut organizations = filter.conjuncts().into_iter().map(|c| match c {
        Expr::Cmp { field, op: Op::Eq | Op::In, values } if Some(*field) == organization && values.len() == 1 => {
            match &values[0] {
                Scalar::Str(org) => Some(org.as_str()),
                _ => None,
            }
        }
        _ => None,
    });
    let count = match organizations.next() {
        None => counts.all.count(r.store).await?,
        Some(Some(org)) if organizations.all(|o| o == Some(org)) => counts.organization.count(r.store, org).await?,
        Some(_) => return Ok(None),
    };
    // Items written before the counters existed were never counted in: a count below zero
    // says so, and is never shown.
    Ok(usize::try_from(count).ok())
}

/// Where a page starts and how long it is: decoded once from the request's paging. Each way
/// of reading accepts its own kind of cursor; any other is a 400.
struct Window {
    skip: usize,
    limit: usize,
    cursor: Option<Cursor>,
}

impl Window {
    fn of(paging: &Paging) -> Result<Window> {
        Ok(match paging {
            Paging::Offset { offset, limit, .. } => Window { skip: *offset, limit: *limit, cursor: None },
            Paging::After { cursor, limit } if cursor.is_empty() => Window { skip: 0, limit: *limit, cursor: None },
            Paging::After { cursor, limit } => Window { skip: 0, limit: *limit, cursor: Some(Cursor::decode(cursor)?) },
        })
    }

    /// Items to find before the page is known to be full and whether another follows.
    fn wanted(&self) -> usize {
        self.skip.saturating_add(self.limit).saturating_add(1)
    }

    /// An ordered index resumes at a key of the index.
    fn start_key(&mut self, index: &IndexDef, pk: &str) -> Result<Option<StartKey>> {
        match self.cursor.take() {
            None => Ok(None),
            Some(Cursor::Key(key)) => checked_key(key, index, pk).map(Some),
            Some(_) => Err(Cursor::invalid()),
        }
    }

    /// A link index resumes after the last id returned.
    fn after_id(&mut self) -> Result<Option<String>> {
        match self.cursor.take() {
            None => Ok(None),
            Some(Cursor::After(position)) => match position.get("id").and_then(Value::as_str) {
                Some(id) if position.len() == 1 => Ok(Some(id.to_string())),
                _ => Err(Cursor::invalid()),
            },
            Some(_) => Err(Cursor::invalid()),
        }
    }

    /// A word bucket resumes after the last item's position in it (`store::words`).
    fn after_bucket_position(&mut self) -> Result<Option<String>> {
        match self.cursor.take() {
            None => Ok(None),
            Some(Cursor::Key(key)) => match (key.get("id").and_then(Value::as_str), key.get(POSITION)) {
                (Some(id), Some(Value::String(at)))
                    if key.len() == 2 && is_id(id) && at.len() <= MAX_VALUE_BYTES && is_position_of(at, id) =>
                {
                    Ok(Some(at.clone()))
                }
                _ => Err(Cursor::invalid()),
            },
            Some(_) => Err(Cursor::invalid()),
        }
    }

    /// A sorted read resumes after the last item's sort values.
    fn after_position(&mut self) -> Result<Option<Item>> {
        match self.cursor.take() {
            None => Ok(None),
            Some(Cursor::After(position)) => Ok(Some(position)),
            Some(_) => Err(Cursor::invalid()),
        }
    }

    /// The page out of `found` (every match from the window's start, in order, at least one
    /// more than the page when another follows), with the cursor of its last item.
    fn page(&self, found: Vec<Item>, total: Option<usize>, cursor_of: impl Fn(&Item) -> Cursor) -> Page {
        let has_more = found.len() > self.skip.saturating_add(self.limit);
        let items: Vec<Item> = found.into_iter().skip(self.skip).take(self.limit).collect();
        let next_cursor = has_more.then(|| items.last().map(|last| cursor_of(last).encode())).flatten();
        Page { items, total, next_cursor, has_more }
    }
}

/// A key of the index where a page of ours ended: none of its values one the store would
/// refuse as a key (empty, too long), so that a forged cursor is a 400 on every store.
fn checked_key(key: StartKey, index: &IndexDef, pk: &str) -> Result<StartKey> {
    let allowed = [Some("id"), Some(index.pk_attr()), index.sk];
    let key_value = |v: &Value| v.as_str().is_some_and(|s| !s.is_empty() && s.len() <= MAX_VALUE_BYTES);
    let well_formed = key.get("id").and_then(Value::as_str).is_some_and(is_id)
        && key.iter().all(|(k, v)| allowed.contains(&Some(k.as_str())) && key_value(v))
        && key.get(index.pk_attr()).and_then(Value::as_str).is_none_or(|v| index.holds_partition(pk, v));
    if well_formed { Ok(key) } else { Err(Cursor::invalid()) }
}

/// A source of items in the listing's order, read a batch at a time.
trait Batches {
    /// About `need` more items (as presented), or `None` once the source is exhausted.
    async fn next(&mut self, need: usize) -> Result<Option<Vec<Item>>>;
}

/// The one page-filling loop: takes batches (each asked for about as many items as are still
/// missing) and keeps those matching the filter, until `want` are found.
async fn fill(def: &ResourceDef, q: &ListQuery, want: usize, source: &mut impl Batches) -> Result<Vec<Item>> {
    let mut found = Vec::new();
    while found.len() < want {
        let Some(batch) = source.next(want - found.len()).await? else { break };
        found.extend(batch.into_iter().filter(|item| matches(&q.filter, item, def)).take(want - found.len()));
    }
    Ok(found)
}

/// The pages of one index partition, in its order, each read as far as asked.
struct IndexPages<'a> {
    r: Reader<'a>,
    index: &'static IndexDef,
    reading: Reading,
}

impl<'a> IndexPages<'a> {
    fn new(r: Reader<'a>, query: Query) -> Self {
        IndexPages { r, index: query.index, reading: Reading::new(query) }
    }

    async fn next_page(&mut self, limit: usize) -> Result<Option<Vec<Item>>> {
        Ok(self.reading.next(self.r.store, limit).await?)
    }
}

/// The items of an ordered index of their own table.
struct IndexBatches<'a> {
    pages: IndexPages<'a>,
    def: &'static ResourceDef,
}

impl Batches for IndexBatches<'_> {
    async fn next(&mut self, need: usize) -> Result<Option<Vec<Item>>> {
        let Some(items) = self.pages.next_page(need.clamp(1, READ_ALL_BATCH)).await? else { return Ok(None) };
        let r = self.pages.r;
        Ok(Some(if self.pages.index.keys_only {
            // A listing order of keys only: the items themselves, by id, in its order.
            let ids: Vec<String> = items.iter().map(|k| id_of(k).to_string()).collect();
            items_in_order(r, self.def, &ids).await?
        } else {
            r.presented(self.def, items).await?
        }))
    }
}

/// The items a link partition points to, in the link index's order, each once.
struct LinkBatches<'a> {
    pages: IndexPages<'a>,
    def: &'static ResourceDef,
    via: &'static Via,
    organizations: Option<&'a [String]>,
    /// The last id returned, so that the links of one id, adjacent in the index, yield it once.
    last: Option<String>,
}

impl Batches for LinkBatches<'_> {
    async fn next(&mut self, need: usize) -> Result<Option<Vec<Item>>> {
        let Some(links) = self.pages.next_page(need.clamp(1, MAX_ID_BATCH)).await? else { return Ok(None) };
        let ids = linked_ids(self.via, self.organizations, &links, &mut self.last);
        Ok(Some(items_in_order(self.pages.r, self.def, &ids).await?))
    }
}

/// The index yields the requested order: read only as far as this page (plus one item to
/// know whether another page follows).
#[allow(clippy::too_many_arguments)]
async fn stream_ordered(
    r: Reader<'_>,
    def: &'static ResourceDef,
    q: &ListQuery,
    mut window: Window,
    index: &'static IndexDef,
    pk: &str,
    sk: &Option<SortCondition>,
    descending: bool,
) -> Result<Page> {
    let start = window.start_key(index, pk)?;
    let query = Query { table: def.table, index, pk: pk.to_string(), sk: sk.clone(), descending, limit: 1, start };
    let mut source = IndexBatches { pages: IndexPages::new(r, query), def };
    let found = fill(def, q, window.wanted(), &mut source).await?;
    Ok(window.page(found, None, |last| Cursor::Key(start_key_of(index, last))))
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
    let mut by_id: HashMap<String, Item> =
        r.store.batch_get(def.table, ids).await?.into_iter().map(|i| (id_of(&i).to_string(), i)).collect();
    r.presented(def, ids.iter().filter_map(|id| by_id.remove(id)).collect()).await
}

/// Streams a link partition in id order: each page reads about as many links and items as it
/// returns. The cursor is the last id returned, resumed as a key condition on the link index.
#[allow(clippy::too_many_arguments)]
async fn stream_via(
    r: Reader<'_>,
    def: &'static ResourceDef,
    q: &ListQuery,
    mut window: Window,
    via: &'static Via,
    pk: &str,
    organizations: Option<&[String]>,
    descending: bool,
) -> Result<Page> {
    let last = window.after_id()?;
    let sk = last.clone().map(|id| if descending { SortCondition::Lt(id) } else { SortCondition::Gt(id) });
    let query = Query { table: via.table, index: via.index, pk: pk.to_string(), sk, descending, limit: 1, start: None };
    let pages = IndexPages::new(r, query);
    let found = fill(def, q, window.wanted(), &mut LinkBatches { pages, def, via, organizations, last }).await?;
    Ok(window.page(found, None, |last| {
        Cursor::After([("id".to_string(), Value::String(id_of(last).to_string()))].into_iter().collect())
    }))
}

/// Every item the plan's access yields that matches the filter.
async fn read_all(r: Reader<'_>, def: &'static ResourceDef, q: &ListQuery, plan: &Plan) -> Result<Vec<Item>> {
    Ok(read_within(r, def, q, plan, usize::MAX).await?.unwrap_or_default())
}

/// Every item the plan's access yields that matches the filter, if the access yields at most
/// `budget` entries (index items or links), else `None` (having read at most one more).
async fn read_within(
    r: Reader<'_>,
    def: &'static ResourceDef,
    q: &ListQuery,
    plan: &Plan,
    budget: usize,
) -> Result<Option<Vec<Item>>> {
    let items = match &plan.access {
        Access::Ids(ids) if ids.is_empty() => vec![],
        Access::Ids(ids) => r.store.batch_get(def.table, ids).await?,
        Access::Marker(marker) => match r.store.get(&UNIQUES, marker).await? {
            Some(m) => match m.get("owner_id").and_then(Value::as_str) {
                Some(owner) => r.store.get(def.table, owner).await?.into_iter().collect(),
                None => vec![],
            },
            None => vec![],
        },
        Access::Index { index, pk, sk } => {
            let query = Query::partition(def.table, index, pk).with_sk(sk.clone());
            let Some(found) = query_within(r.store, query, budget).await? else { return Ok(None) };
            whole(r, def, index, found).await?
        }
        Access::Partitions { index, pks, sk } => {
            let mut items = Vec::new();
            for pk in pks {
                let query = Query::partition(def.table, index, pk).with_sk(sk.clone());
                let left = budget.saturating_sub(items.len());
                let Some(found) = query_within(r.store, query, left).await? else { return Ok(None) };
                items.extend(whole(r, def, index, found).await?);
            }
            items
        }
        Access::Via { via, pk, organizations } => {
            let query = Query::partition(via.table, via.index, pk);
            let Some(links) = query_within(r.store, query, budget).await? else { return Ok(None) };
            let ids = linked_ids(via, organizations.as_deref(), &links, &mut None);
            let mut items = Vec::new();
            for chunk in ids.chunks(MAX_ID_BATCH) {
                items.extend(items_in_order(r, def, chunk).await?);
            }
            return Ok(Some(items.into_iter().filter(|item| matches(&q.filter, item, def)).collect()));
        }
        Access::Words { index, pk, terms, organizations }
        | Access::WordBuckets { index, pk, terms, organizations, .. } => {
            let Some(search) = def.table.words else { return Ok(Some(vec![])) };
            let terms = words::Terms { search, terms, organizations: organizations.as_deref() };
            let found = match &plan.access {
                Access::Words { .. } => words::ids_within(r, index, pk, terms, budget).await?,
                _ => words::bucket_within(r, index, pk, terms, budget).await?,
            };
            let Some(ids) = found else { return Ok(None) };
            if ids.is_empty() { vec![] } else { r.store.batch_get(def.table, &ids).await? }
        }
    };
    let presented = r.presented(def, items).await?;
    Ok(Some(presented.into_iter().filter(|item| matches(&q.filter, item, def)).collect()))
}

/// The items an index query found: themselves, or read by id from a keys-only index (the
/// store batches the reads as its backend allows).
async fn whole(r: Reader<'_>, def: &'static ResourceDef, index: &IndexDef, found: Vec<Item>) -> Result<Vec<Item>> {
    if !index.keys_only {
        return Ok(found);
    }
    let ids: Vec<String> = found.iter().map(|k| id_of(k).to_string()).collect();
    Ok(r.store.batch_get(def.table, &ids).await?)
}

/// The page out of every match (`items`), sorted here, with their count when asked.
fn sort_in_memory(def: &'static ResourceDef, q: &ListQuery, mut window: Window, mut items: Vec<Item>) -> Result<Page> {
    let sort = effective_sort(q);
    let after = window.after_position()?;
    items.sort_by(|a, b| compare_items(a, b, &sort, def));
    let total = items.len();
    if let Some(last) = after {
        window.skip = items.partition_point(|i| compare_items(i, &last, &sort, def) != std::cmp::Ordering::Greater);
    }
    Ok(window.page(items, q.count.then_some(total), |last| {
        let mut position = Map::new();
        for field in sort.iter().map(|k| k.field).chain(["id"]) {
            position.insert(field.into(), last.get(field).cloned().unwrap_or(Value::Null));
        }
        Cursor::After(position)
    }))
}
