//! What a `query=` finds through the word index (`store::words`): the entries of its rarest
//! term read whole, or one bucket's entries streamed in item order; either way checked for
//! every term (and the organizations asked for) on the entries themselves, then the ids of
//! their items, each once.

use std::collections::HashSet;

use serde_json::Value;

use super::{Batches, IndexPages, Page, READ_ALL_BATCH, Reader, Window, fill, items_in_order};
use crate::error::Result;
use crate::query::ListQuery;
use crate::query::cursor::Cursor;
use crate::records::id_of;
use crate::resource::ResourceDef;
use crate::store::schema::Sorted;
use crate::store::words::{ITEM_ID, WordIndex, after_position, all_found, position_of};
use crate::store::{IndexDef, Item, Query, SortCondition, query_within};

/// What a search keeps of the entries it reads.
#[derive(Clone, Copy)]
pub(super) struct Terms<'a> {
    pub search: &'static WordIndex,
    pub terms: &'a [String],
    pub organizations: Option<&'a [String]>,
}

impl Terms<'_> {
    /// Does the entry's item hold every term (in one of the organizations, when given)?
    fn keeps(&self, entry: &Item) -> bool {
        let in_scope = match (self.organizations, self.search.scope) {
            (Some(orgs), Some(attr)) => {
                entry.get(attr).and_then(Value::as_str).is_some_and(|org| orgs.iter().any(|o| o == org))
            }
            _ => true,
        };
        in_scope && all_found(self.terms, &WordIndex::words_on(entry))
    }

    /// The items of the kept entries, in the entries' order, each once: an item's entries
    /// are adjacent in a bucket, and `last` carries the previous batch's last item over.
    fn item_ids(&self, entries: &[Item], last: &mut Option<String>) -> Vec<String> {
        let mut ids = Vec::new();
        for entry in entries.iter().filter(|e| self.keeps(e)) {
            let Some(id) = entry.get(ITEM_ID).and_then(Value::as_str) else { continue };
            if last.as_deref() != Some(id) {
                ids.push(id.to_string());
                *last = Some(id.to_string());
            }
        }
        ids
    }
}

/// The terms that may be the rarest: the longest first (usually the rarest), without a term
/// that starts another (its range holds the other's).
fn candidates(terms: &[String]) -> Vec<&String> {
    let mut kept: Vec<&String> =
        terms.iter().filter(|t| !terms.iter().any(|o| o.len() > t.len() && o.starts_with(t.as_str()))).collect();
    kept.sort_by_key(|t| std::cmp::Reverse(t.len()));
    kept.dedup();
    kept
}

/// The entries of the rarest term in partition `pk` of `index`, if that term has at most
/// `budget`, else `None`. Each term after the first is read only while it stays below the
/// rarest so far, so the reads stay within the number of terms times the smallest range.
async fn rarest(
    r: Reader<'_>,
    search: &WordIndex,
    index: &'static IndexDef,
    pk: &str,
    terms: &[String],
    budget: usize,
) -> Result<Option<Vec<Item>>> {
    let mut rarest: Option<Vec<Item>> = None;
    for term in candidates(terms) {
        let within = match &rarest {
            Some(found) if found.is_empty() => break,
            Some(found) => found.len() - 1,
            None => budget,
        };
        let range = SortCondition::BeginsWith(WordIndex::range_of(term));
        let query = Query::partition(search.table, index, pk).with_sk(Some(range));
        if let Some(found) = query_within(r.store, query, within).await? {
            rarest = Some(found);
        }
    }
    Ok(rarest)
}

/// The ids of the items whose entries hold every term, if the rarest term has at most
/// `budget` entries in partition `pk` of `index` (by word).
pub(super) async fn ids_within(
    r: Reader<'_>,
    index: &'static IndexDef,
    pk: &str,
    terms: Terms<'_>,
    budget: usize,
) -> Result<Option<Vec<String>>> {
    let Some(entries) = rarest(r, terms.search, index, pk, terms.terms, budget).await? else { return Ok(None) };
    let mut seen = HashSet::new();
    let ids = terms.item_ids(&entries, &mut None).into_iter().filter(|id| seen.insert(id.clone())).collect();
    Ok(Some(ids))
}

/// The ids of the items a bucket's entries keep, if the bucket has at most `budget` entries.
pub(super) async fn bucket_within(
    r: Reader<'_>,
    index: &'static IndexDef,
    pk: &str,
    terms: Terms<'_>,
    budget: usize,
) -> Result<Option<Vec<String>>> {
    let query = Query::partition(terms.search.table, index, pk);
    let Some(mut entries) = query_within(r.store, query, budget).await? else { return Ok(None) };
    // Shards are read one after another: put each item's entries together again.
    entries.sort_by(|a, b| a.get(ITEM_ID).and_then(Value::as_str).cmp(&b.get(ITEM_ID).and_then(Value::as_str)));
    Ok(Some(terms.item_ids(&entries, &mut None)))
}

/// The entries of one bucket in item order, as the items they keep.
struct EntryBatches<'a> {
    pages: IndexPages<'a>,
    def: &'static ResourceDef,
    terms: Terms<'a>,
    last: Option<String>,
}

impl Batches for EntryBatches<'_> {
    async fn next(&mut self, need: usize) -> Result<Option<Vec<Item>>> {
        // Entries are small and many are not kept: read several per item still missing.
        let Some(entries) = self.pages.next_page(need.saturating_mul(4).clamp(1, READ_ALL_BATCH)).await? else {
            return Ok(None);
        };
        let ids = self.terms.item_ids(&entries, &mut self.last);
        Ok(Some(items_in_order(self.pages.r, self.def, &ids).await?))
    }
}

/// One bucket of the word index, read in an item order (creation, or `order`'s).
pub(super) struct Bucket<'a> {
    pub index: &'static IndexDef,
    pub pk: &'a str,
    pub order: Option<&'static Sorted>,
    pub descending: bool,
}

/// Streams a bucket of the word index in its item order: a page reads about the page divided
/// by the share of the bucket's entries that hold every term, then the page's items. The
/// cursor is the last item's position in the bucket, resumed as a key condition.
pub(super) async fn stream(
    r: Reader<'_>,
    def: &'static ResourceDef,
    q: &ListQuery,
    mut window: Window,
    bucket: Bucket<'_>,
    terms: Terms<'_>,
) -> Result<Page> {
    let Bucket { index, pk, order, descending } = bucket;
    let sk = window
        .after_bucket_position()?
        .map(|at| if descending { SortCondition::Lt(at) } else { SortCondition::Gt(after_position(&at)) });
    let query = Query { table: terms.search.table, index, pk: pk.to_string(), sk, descending, limit: 1, start: None };
    let mut source = EntryBatches { pages: IndexPages::new(r, query), def, terms, last: None };
    let found = fill(def, q, window.wanted(), &mut source).await?;
    Ok(window.page(found, None, |last| {
        let position = [("id", id_of(last).to_string()), (super::POSITION, position_of(last, order))];
        Cursor::Key(position.into_iter().map(|(k, v)| (k.to_string(), Value::String(v))).collect())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_terms_are_tried_first_and_prefixes_of_others_never() {
        let terms: Vec<String> = ["ann", "lee", "annabel", "lee"].iter().map(|t| t.to_string()).collect();
        assert_eq!(candidates(&terms), ["annabel", "lee"]);
    }
}
