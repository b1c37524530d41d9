//! The planner: which table access serves a listing. It prefers, in order, reading ids directly
//! (`id` equality or `in`), an index partition chosen by an equality on its partition key, a
//! sort key range on a whole-table index, and an index whose order is the requested order.
//! Whatever the chosen access does not decide is evaluated in memory on what it reads.

use super::ast::{Expr, ListQuery, Op, Scalar, SortKey};
use crate::clock;
use crate::resource::ResourceDef;
use crate::store::{IndexDef, SortCondition, schema::PartitionKey};

/// Largest `id in (...)` list served by batch reads instead of an index.
pub const MAX_ID_BATCH: usize = 100;

#[derive(Debug, Clone, PartialEq)]
pub enum Access {
    /// Read these ids with batch gets.
    Ids(Vec<String>),
    /// Query one partition of an index, optionally narrowed on its sort key.
    Index { index: &'static IndexDef, pk: String, sk: Option<SortCondition> },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub access: Access,
    /// `Some(descending)` when the access yields items in exactly the requested order, so that
    /// a page costs about what it returns; `None` when matches are sorted in memory.
    pub ordered: Option<bool>,
}

/// The requested order, `id` ascending when none is given.
pub fn effective_sort(q: &ListQuery) -> Vec<SortKey> {
    if q.sort.is_empty() { vec![SortKey { field: "id", descending: false }] } else { q.sort.clone() }
}

fn key_string(v: &Scalar) -> Option<String> {
    match v {
        Scalar::Str(s) if !s.is_empty() => Some(s.clone()),
        // Stored timestamps are whole seconds, so only a whole-second bound compares as a string.
        Scalar::Time(t) if t.nanosecond() == 0 => Some(clock::format(*t)),
        _ => None,
    }
}

fn sort_condition(conjuncts: &[&Expr], attr: &str) -> Option<SortCondition> {
    conjuncts.iter().find_map(|c| match c {
        Expr::Cmp { field, op, values } if *field == attr => {
            let v = key_string(values.first()?)?;
            Some(match op {
                Op::Eq => SortCondition::Eq(v),
                Op::Gt => SortCondition::Gt(v),
                Op::Gte => SortCondition::Ge(v),
                Op::Lt => SortCondition::Lt(v),
                Op::Lte => SortCondition::Le(v),
                Op::Sw => SortCondition::BeginsWith(v),
                _ => return None,
            })
        }
        _ => None,
    })
}

fn id_list(conjuncts: &[&Expr]) -> Option<Vec<String>> {
    conjuncts.iter().find_map(|c| match c {
        Expr::Cmp { field: "id", op: Op::Eq | Op::In, values } if values.len() <= MAX_ID_BATCH => values
            .iter()
            .map(|v| match v {
                Scalar::Str(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => None,
    })
}

pub fn plan(def: &ResourceDef, q: &ListQuery) -> Plan {
    let conjuncts = q.filter.conjuncts();
    let sort = effective_sort(q);
    if let Some(ids) = id_list(&conjuncts) {
        return Plan { access: Access::Ids(ids), ordered: None };
    }
    // The order an index yields is the requested one when the sort is its sort key alone and
    // that key is present on every item and never repeats (so ties cannot reorder pages).
    let ordered_by = |index: &IndexDef| -> Option<bool> {
        let [key] = sort.as_slice() else { return None };
        let f = def.field(key.field)?;
        (index.sk == Some(f.name) && f.required && f.unique).then_some(key.descending)
    };
    let mut best: Option<(u32, Plan)> = None;
    for index in def.table.indexes {
        let pk = match index.pk {
            PartitionKey::Constant { value, .. } => Some((0, value.to_string())),
            PartitionKey::Attr(attr) => conjuncts.iter().find_map(|c| match c {
                Expr::Cmp { field, op: Op::Eq, values } if *field == attr => {
                    values.first().and_then(key_string).map(|v| (50, v))
                }
                _ => None,
            }),
        };
        let Some((score, pk)) = pk else { continue };
        let sk = index.sk.and_then(|attr| sort_condition(&conjuncts, attr));
        let ordered = ordered_by(index);
        let score = score + if sk.is_some() { 20 } else { 0 } + if ordered.is_some() { 5 } else { 0 };
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((score, Plan { access: Access::Index { index, pk, sk }, ordered }));
        }
    }
    best.map(|(_, p)| p).unwrap_or(Plan { access: Access::Ids(vec![]), ordered: None })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::organization::RESOURCE;
    use crate::query::params::{decode_pairs, parse};

    fn plan_for(q: &str) -> Plan {
        plan(&RESOURCE, &parse(&RESOURCE, &decode_pairs(Some(q))).unwrap())
    }

    fn index_of(p: &Plan) -> (&'static str, Option<SortCondition>) {
        match &p.access {
            Access::Index { index, sk, .. } => (index.name, sk.clone()),
            other => panic!("expected an index plan, got {other:?}"),
        }
    }

    #[test]
    fn an_unfiltered_listing_streams_the_id_index_in_order() {
        let p = plan_for("");
        assert_eq!(index_of(&p), ("by_id", None));
        assert_eq!(p.ordered, Some(false));
    }

    #[test]
    fn a_name_equality_is_a_key_condition_on_the_name_index() {
        let p = plan_for("filter[name]=Acme");
        assert_eq!(index_of(&p), ("by_name", Some(SortCondition::Eq("Acme".into()))));
    }

    #[test]
    fn a_name_prefix_is_begins_with_and_sorting_by_name_is_the_index_order() {
        let p = plan_for("filter[name__sw]=Ac&sort=-name");
        assert_eq!(index_of(&p), ("by_name", Some(SortCondition::BeginsWith("Ac".into()))));
        assert_eq!(p.ordered, Some(true));
    }

    #[test]
    fn sorting_on_an_unindexed_field_sorts_in_memory() {
        let p = plan_for("sort=created_at");
        assert_eq!(p.ordered, None);
    }

    #[test]
    fn ids_are_read_directly() {
        assert_eq!(plan_for("filter[id__in]=a,b").access, Access::Ids(vec!["a".into(), "b".into()]));
    }
}
