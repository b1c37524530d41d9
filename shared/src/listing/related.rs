//! Filters on fields of a to-one related resource (`filter[person.name__sw]=Ann`,
//! `filters=organization.name eq "Acme"`), which the catalog declares as fields with
//! [`crate::resource::Related`]. Two parts:
//!
//! - **Semi-join** ([`resolve`]): a top-level conjunct on a related field is answered first on
//!   the related table, through its own indexes and within what the caller may read; when at
//!   most [`MAX_RESOLVED`] related items match, the conjunct becomes `attr in (their ids)`
//!   (`person_id`, `organization_id`), which the planner serves from an index of the listed
//!   table like any other filter. None match: nothing is read.
//! - **Join** ([`attach`]): any other comparison on a related field (under `or` or `not`, or
//!   one matching too many related items) is evaluated on the items read, after their related
//!   items are fetched with one batch read per relationship and page, and their named fields
//!   copied onto the item under the dotted name. A related item the caller may not read counts
//!   as absent, so a filter cannot probe what the caller cannot see.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Reader, fetch};
use crate::auth::Principal;
use crate::error::Result;
use crate::query::plan::MAX_ID_BATCH;
use crate::query::{Expr, ListQuery, Op, Paging, Scalar};
use crate::records::id_of;
use crate::resource::{Field, ResourceDef, Source};
use crate::store::Item;

/// Most related items a semi-join turns into ids; past it, the conjunct is joined per page.
pub const MAX_RESOLVED: usize = 100;

/// The related fields `expr` compares, each once.
pub fn named(def: &ResourceDef, expr: &Expr) -> Vec<&'static Field> {
    let mut names = BTreeSet::new();
    collect(expr, &mut names);
    let catalog: &'static [Field] = def.fields;
    catalog.iter().filter(|f| f.related.is_some() && names.contains(f.name)).collect()
}

fn collect(expr: &Expr, names: &mut BTreeSet<&'static str>) {
    match expr {
        Expr::And(parts) | Expr::Or(parts) => parts.iter().for_each(|p| collect(p, names)),
        Expr::Not(inner) => collect(inner, names),
        Expr::Cmp { field, .. } => {
            names.insert(field);
        }
        Expr::True | Expr::Words(_) => {}
    }
}

/// The attribute of `def` holding the id a to-one relationship points to.
fn id_attr(def: &ResourceDef, relationship: &str) -> Option<&'static str> {
    match def.relationship(relationship)?.source {
        Source::Attr(attr) => Some(attr),
        _ => None,
    }
}

/// `q` with the top-level conjuncts on the fields of one relationship replaced, when few
/// related items match them all, by the ids of those items (see the module's description).
/// The conjuncts of one relationship are resolved together (`person.name sw "Zo" and
/// person.state eq "active"` asks the people for both at once).
pub async fn resolve(
    r: Reader<'_>,
    principal: &Principal,
    def: &'static ResourceDef,
    q: &ListQuery,
) -> Result<ListQuery> {
    let parts = match &q.filter {
        Expr::And(parts) => parts.clone(),
        other => vec![other.clone()],
    };
    let mut by_relationship: BTreeMap<&'static str, Vec<Expr>> = BTreeMap::new();
    let mut filter = Expr::True;
    for part in parts {
        match semi_joinable(def, &part) {
            Some(relationship) => by_relationship.entry(relationship).or_default().push(part),
            None => filter = filter.and(part),
        }
    }
    for (relationship, parts) in by_relationship {
        filter = filter.and(semi_join(r, principal, def, relationship, parts).await?);
    }
    Ok(ListQuery { filter, ..q.clone() })
}

/// The relationship a conjunct compares a field of, if the related items it matches are the
/// ones to look for: comparisons an absent related item satisfies (`ne`, `nin`, `= null`)
/// are not, and are joined instead.
fn semi_joinable(def: &ResourceDef, part: &Expr) -> Option<&'static str> {
    let Expr::Cmp { field, op, values } = part else { return None };
    let related = def.field(field)?.related?;
    let positive = matches!(op, Op::Eq | Op::In | Op::Sw | Op::Match | Op::Gt | Op::Gte | Op::Lt | Op::Lte)
        && !values.contains(&Scalar::Null);
    (positive && id_attr(def, related.relationship).is_some()).then_some(related.relationship)
}

/// The conjuncts on one relationship's fields, as the ids of the related items matching them
/// all when those are few; else as they were.
async fn semi_join(
    r: Reader<'_>,
    principal: &Principal,
    def: &'static ResourceDef,
    relationship: &'static str,
    parts: Vec<Expr>,
) -> Result<Expr> {
    let unchanged = || parts.iter().cloned().fold(Expr::True, Expr::and);
    let (Some(attr), Some(target)) =
        (id_attr(def, relationship), def.relationship(relationship).and_then(|rel| def.sibling(rel.target)))
    else {
        return Ok(unchanged());
    };
    let mut inner = Expr::True;
    for part in &parts {
        let Expr::Cmp { field, op, values } = part else { return Ok(unchanged()) };
        let Some(target_field) = def.field(field).and_then(|f| f.related).and_then(|rel| target.field(rel.field))
        else {
            return Ok(unchanged());
        };
        inner = inner.and(Expr::Cmp { field: target_field.name, op: *op, values: values.clone() });
    }
    let inner = ListQuery {
        filter: inner,
        sort: vec![],
        paging: Paging::Offset { offset: 0, limit: MAX_RESOLVED + 1, by_number: false },
        count: false,
        include: vec![],
        fields: BTreeMap::new(),
    };
    let found = fetch(r, target, &inner, principal.read_scope(target)).await?;
    if found.items.len() > MAX_RESOLVED {
        return Ok(unchanged());
    }
    let ids: Vec<Scalar> = found.items.iter().map(|i| Scalar::Str(id_of(i).to_string())).collect();
    Ok(match ids.is_empty() {
        // Nothing matches: an empty list of ids, which reads nothing.
        true => Expr::Cmp { field: "id", op: Op::In, values: vec![] },
        false => Expr::Cmp { field: attr, op: Op::In, values: ids },
    })
}

/// Copies onto each item the related fields `fields` names, from its related items (one batch
/// read per relationship for up to [`MAX_ID_BATCH`] ids); fields of a related item that is
/// absent, or that `viewer` may not read, are left out (compared as null).
pub async fn attach(
    r: Reader<'_>,
    def: &ResourceDef,
    fields: &[&'static Field],
    viewer: Option<&Principal>,
    items: &mut [Item],
) -> Result<()> {
    let mut by_relationship: BTreeMap<&str, Vec<&Field>> = BTreeMap::new();
    for f in fields {
        if let Some(related) = f.related {
            by_relationship.entry(related.relationship).or_default().push(f);
        }
    }
    for (relationship, fields) in by_relationship {
        let (Some(attr), Some(target)) =
            (id_attr(def, relationship), def.relationship(relationship).and_then(|rel| def.sibling(rel.target)))
        else {
            continue;
        };
        let ids: BTreeSet<String> =
            items.iter().filter_map(|i| i.get(attr).and_then(Value::as_str)).map(str::to_string).collect();
        let ids: Vec<String> = ids.into_iter().collect();
        let mut related: BTreeMap<String, Item> = BTreeMap::new();
        for chunk in ids.chunks(MAX_ID_BATCH) {
            for item in r.store.batch_get(target.table, chunk).await? {
                let item = target.present(item, r.now);
                if viewer.is_none_or(|p| p.visible(target, &item)) {
                    related.insert(id_of(&item).to_string(), item);
                }
            }
        }
        for item in items.iter_mut() {
            let found = item.get(attr).and_then(Value::as_str).and_then(|id| related.get(id));
            for f in &fields {
                let value = f.related.and_then(|rel| found.and_then(|o| o.get(rel.field))).cloned();
                match value {
                    Some(v) => item.insert(f.name.to_string(), v),
                    None => item.remove(f.name),
                };
            }
        }
    }
    Ok(())
}
