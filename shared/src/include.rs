//! Compound documents: the related resources `include=` asks for, fetched in batches (one batch
//! read per relationship for up to 100 distinct ids, never one read per item), each rendered
//! once with its type's sparse fieldset.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::error::Result;
use crate::jsonapi::resource_object;
use crate::listing::Reader;
use crate::resource::{self, ResourceDef};
use crate::store::Item;

/// The `included` member for `items` of type `def`.
pub async fn included(
    r: Reader<'_>,
    def: &ResourceDef,
    items: &[Item],
    include: &[String],
    fields: &BTreeMap<String, Vec<String>>,
    base_url: &str,
) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut seen: BTreeSet<(&str, String)> = BTreeSet::new();
    for name in include {
        let Some(rel) = def.relationship(name) else { continue };
        let Some(target) = resource::by_type(rel.target) else { continue };
        let ids: BTreeSet<String> =
            items.iter().filter_map(|i| i.get(rel.foreign_key).and_then(Value::as_str)).map(str::to_string).collect();
        let ids: Vec<String> = ids.into_iter().filter(|id| !seen.contains(&(target.type_name, id.clone()))).collect();
        if ids.is_empty() {
            continue;
        }
        let mut related = r.store.batch_get(target.table, &ids).await?;
        // Batch reads come back in any order; a stable order keeps responses reproducible.
        related.sort_by(|a, b| crate::records::id_of(a).cmp(crate::records::id_of(b)));
        for item in related {
            let item = target.present(item, r.now);
            if seen.insert((target.type_name, crate::records::id_of(&item).to_string())) {
                out.push(resource_object(target, &item, fields.get(target.type_name).map(Vec::as_slice), base_url));
            }
        }
    }
    Ok(out)
}
