//! Compound documents: the related resources `include=` asks for, fetched in batches (one batch
//! read per relationship for up to 100 distinct ids, never one read per item), each rendered
//! once with its type's sparse fieldset, and only if the caller may read it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::auth::Principal;
use crate::error::Result;
use crate::jsonapi::resource_object;
use crate::listing::Reader;
use crate::query::plan::MAX_ID_BATCH;
use crate::records::id_of;
use crate::resource::{Relationship, ResourceDef, Source};
use crate::store::{Item, Query, query_all};

/// The ids `rel` points to from `items`, in first-seen order, each once.
async fn related_ids(r: Reader<'_>, rel: &Relationship, items: &[Item]) -> Result<Vec<String>> {
    let mut ids: Vec<String> = Vec::new();
    let mut push = |id: Option<&str>| {
        if let Some(id) = id.filter(|id| !ids.iter().any(|i| i == id)) {
            ids.push(id.to_string());
        }
    };
    match rel.source {
        Source::Attr(attr) => items.iter().for_each(|i| push(i.get(attr).and_then(Value::as_str))),
        Source::Embedded { list, key } => items
            .iter()
            .flat_map(|i| i.get(list).and_then(Value::as_array).into_iter().flatten())
            .for_each(|e| push(e.get(key).and_then(Value::as_str))),
        Source::Linked { table, index, key } => {
            // No store can batch queries: one per item, all at once.
            let queries = items.iter().map(|i| query_all(r.store, Query::partition(table, index, id_of(i))));
            for links in futures_util::future::try_join_all(queries).await? {
                links.iter().for_each(|l| push(l.get(key).and_then(Value::as_str)));
            }
        }
    }
    Ok(ids)
}

/// The `included` member for `items` of type `def`, as `principal` may see it.
pub async fn included(
    r: Reader<'_>,
    principal: &Principal,
    def: &ResourceDef,
    items: &[Item],
    include: &[String],
    fields: &BTreeMap<String, Vec<String>>,
    base_url: &str,
) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut seen: BTreeSet<(&str, String)> = BTreeSet::new();
    // (relationship, the items it starts from, their type); `along` relationships follow.
    let mut work: Vec<(&Relationship, Vec<Item>)> =
        include.iter().filter_map(|n| def.relationship(n)).map(|rel| (rel, items.to_vec())).collect();
    while let Some((rel, from)) = work.pop() {
        let Some(target) = def.sibling(rel.target) else { continue };
        let ids = related_ids(r, rel, &from).await?;
        let ids: Vec<String> = ids.into_iter().filter(|id| !seen.contains(&(target.type_name, id.clone()))).collect();
        if ids.is_empty() {
            continue;
        }
        let mut related = Vec::new();
        for chunk in ids.chunks(MAX_ID_BATCH) {
            related.extend(r.store.batch_get(target.table, chunk).await?);
        }
        // Batch reads come back in any order; a stable order keeps responses reproducible.
        related.sort_by(|a, b| id_of(a).cmp(id_of(b)));
        let related: Vec<Item> =
            related.into_iter().map(|i| target.present(i, r.now)).filter(|i| principal.visible(target, i)).collect();
        for item in &related {
            if seen.insert((target.type_name, id_of(item).to_string())) {
                out.push(resource_object(target, item, fields.get(target.type_name).map(Vec::as_slice), base_url));
            }
        }
        for name in rel.along {
            if let Some(next) = target.relationship(name) {
                work.push((next, related.clone()));
            }
        }
    }
    Ok(out)
}
