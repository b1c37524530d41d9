//! Multi-key sorts from an index that yields the first key's order (`sort=name,-updated_at`
//! read through the name order): items are read in the index's order and grouped into runs of
//! equal first keys; a page ends only at the end of a run, and each run is sorted by the other
//! keys in memory. A page costs what it returns plus the runs it starts and ends in, whatever
//! its depth: the cursor holds where the last item's run began in the index and the item's sort
//! values, and the next page reads that run again from its start, skipping what was shown.
//!
//! Runs of one value are short for the fields listed this way (names, timestamps), but a sort
//! whose first key is absent on many items (`sort=last_login_at,name` over accounts that never
//! logged in) reads that whole run of absent values at the page where it begins.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{Batches, IndexBatches, IndexPages, Page, Reader, Window, checked_key};
use crate::error::Result;
use crate::query::ListQuery;
use crate::query::Scalar;
use crate::query::cursor::Cursor;
use crate::query::eval::{compare_items, matches, scalar_of};
use crate::query::plan::effective_sort;
use crate::records::id_of;
use crate::resource::ResourceDef;
use crate::store::{Item, Query, StartKey, start_key_of};

/// Items read a request once the page is full and only its last run is being completed.
const RUN_BATCH: usize = 50;

/// Items equal in the first sort key, adjacent in the index.
struct Run {
    /// The index key just before the run (where a query resumes to read it again).
    start: Option<StartKey>,
    value: Scalar,
    items: Vec<Item>,
}

/// A page of `q` read from `query`'s index, whose order is the first sort key's (its
/// direction is the first key's; `query.start` is set here from the cursor).
pub(super) async fn stream(
    r: Reader<'_>,
    def: &'static ResourceDef,
    q: &ListQuery,
    mut window: Window,
    mut query: Query,
) -> Result<Page> {
    let sort = effective_sort(q);
    let first = def.field(sort[0].field).ok_or_else(Cursor::invalid)?;
    query.descending = sort[0].descending;
    let (start, after) = match window.cursor.take() {
        None => (None, None),
        Some(Cursor::Run { start, after }) => {
            (start.map(|k| checked_key(k, query.index, &query.pk)).transpose()?, Some(after))
        }
        Some(_) => return Err(Cursor::invalid()),
    };
    query.start = start.clone();
    let index = query.index;
    let mut source = IndexBatches { pages: IndexPages::new(r, query), def };
    let want = window.wanted();
    let (mut runs, mut matched, mut previous) = (Vec::<Run>::new(), 0, start);
    'reading: while let Some(batch) = source.next(want.saturating_sub(matched).max(RUN_BATCH)).await? {
        for item in batch {
            let value = scalar_of(&item, first);
            if runs.last().is_none_or(|run| run.value != value) {
                if matched >= want {
                    break 'reading;
                }
                runs.push(Run { start: previous.clone(), value, items: vec![] });
            }
            previous = Some(start_key_of(index, &item));
            let shown = after.as_ref().is_some_and(|a| compare_items(&item, a, &sort, def) != Ordering::Greater);
            // (The run was opened above for this item's value, so `last_mut` is always some.)
            if let Some(run) = runs.last_mut().filter(|_| !shown && matches(&q.filter, &item, def)) {
                matched += 1;
                run.items.push(item);
            }
        }
    }
    let mut run_starts: HashMap<String, Option<StartKey>> = HashMap::new();
    let mut found = Vec::with_capacity(matched);
    for mut run in runs {
        run.items.sort_by(|a, b| compare_items(a, b, &sort, def));
        run_starts.extend(run.items.iter().map(|i| (id_of(i).to_string(), run.start.clone())));
        found.extend(run.items);
    }
    Ok(window.page(found, None, |last| {
        let mut position = Map::new();
        for field in sort.iter().map(|k| k.field).chain(["id"]) {
            position.insert(field.into(), last.get(field).cloned().unwrap_or(Value::Null));
        }
        Cursor::Run { start: run_starts.get(id_of(last)).cloned().flatten(), after: position }
    }))
}
