//! What a `query=` finds through the word index (`store::words`): the entries of its rarest
//! term, checked for the other terms (and the organizations asked for) on the entries
//! themselves, then the ids of their items, each once.

use std::collections::HashSet;

use serde_json::Value;

use super::Reader;
use crate::error::Result;
use crate::store::words::{ITEM_ID, WordIndex, all_found};
use crate::store::{IndexDef, Item, Query, SortCondition, query_within};

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

/// The ids of the items whose entries hold every term (in one of `organizations`, when
/// given), if the rarest term has at most `budget` entries in the partition.
pub(super) async fn ids_within(
    r: Reader<'_>,
    search: &WordIndex,
    index: &'static IndexDef,
    pk: &str,
    terms: &[String],
    organizations: Option<&[String]>,
    budget: usize,
) -> Result<Option<Vec<String>>> {
    let Some(entries) = rarest(r, search, index, pk, terms, budget).await? else { return Ok(None) };
    let in_scope = |entry: &Item| match (organizations, search.scope) {
        (Some(orgs), Some(attr)) => {
            entry.get(attr).and_then(Value::as_str).is_some_and(|org| orgs.iter().any(|o| o == org))
        }
        _ => true,
    };
    let mut seen = HashSet::new();
    let ids = entries
        .iter()
        .filter(|e| in_scope(e) && all_found(terms, &WordIndex::words_on(e)))
        .filter_map(|e| e.get(ITEM_ID).and_then(Value::as_str))
        .filter(|id| seen.insert(id.to_string()))
        .map(str::to_string)
        .collect();
    Ok(Some(ids))
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
