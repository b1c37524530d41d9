//! Evaluates a filter on an item and orders items by sort keys. Comparisons follow the field's
//! type from the catalog, so a timestamp compares as a time and an integer as a number.

use std::cmp::Ordering;

use serde_json::Value;

use super::ast::{Expr, Op, Scalar, SortKey};
use crate::clock;
use crate::resource::{Field, FieldType, ResourceDef};
use crate::store::{Item, words};

/// The item's value of a field as a typed scalar (absent and mistyped values are `Null`;
/// case-insensitive fields lower-cased, as their filter values are when parsed).
pub fn scalar_of(item: &Item, field: &Field) -> Scalar {
    match (field.ty, item.get(field.name)) {
        (FieldType::String, Some(Value::String(s))) if field.folded.is_some() => Scalar::Str(s.to_lowercase()),
        (FieldType::String, Some(Value::String(s))) => Scalar::Str(s.clone()),
        (FieldType::Integer, Some(Value::Number(n))) => n.as_i64().map_or(Scalar::Null, Scalar::Int),
        (FieldType::Boolean, Some(Value::Bool(b))) => Scalar::Bool(*b),
        (FieldType::Timestamp, Some(Value::String(s))) => clock::parse(s).map_or(Scalar::Null, Scalar::Time),
        _ => Scalar::Null,
    }
}

/// Orders two non-null scalars of the same type; `None` when they cannot be compared.
fn order(a: &Scalar, b: &Scalar) -> Option<Ordering> {
    match (a, b) {
        (Scalar::Str(a), Scalar::Str(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
        (Scalar::Int(a), Scalar::Int(b)) => Some(a.cmp(b)),
        (Scalar::Bool(a), Scalar::Bool(b)) => Some(a.cmp(b)),
        (Scalar::Time(a), Scalar::Time(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

fn lower(s: &Scalar) -> Option<String> {
    match s {
        Scalar::Str(s) => Some(s.to_lowercase()),
        _ => None,
    }
}

fn compare(op: Op, have: &Scalar, values: &[Scalar]) -> bool {
    let equals = |want: &Scalar| match (have, want) {
        (Scalar::Null, Scalar::Null) => true,
        (Scalar::Null, _) | (_, Scalar::Null) => false,
        _ => order(have, want) == Some(Ordering::Equal),
    };
    let first = values.first().unwrap_or(&Scalar::Null);
    let ordered = |accept: fn(Ordering) -> bool| order(have, first).is_some_and(accept);
    match op {
        Op::Eq => equals(first),
        Op::Ne => !equals(first),
        Op::In => values.iter().any(equals),
        Op::Nin => !values.iter().any(equals),
        Op::Gt => ordered(|o| o == Ordering::Greater),
        Op::Gte => ordered(|o| o != Ordering::Less),
        Op::Lt => ordered(|o| o == Ordering::Less),
        Op::Lte => ordered(|o| o != Ordering::Greater),
        Op::Match => match (lower(have), lower(first)) {
            (Some(h), Some(w)) => h.contains(&w),
            _ => false,
        },
        Op::Sw => match (have, first) {
            (Scalar::Str(h), Scalar::Str(w)) => h.starts_with(w.as_str()),
            _ => false,
        },
    }
}

/// The values of a list-valued field (absent: none).
fn many_of(item: &Item, field: &Field) -> Vec<Scalar> {
    let list = item.get(field.name).and_then(Value::as_array);
    list.into_iter()
        .flatten()
        .map(|v| {
            let single: Item = [(field.name.to_string(), v.clone())].into_iter().collect();
            scalar_of(&single, field)
        })
        .collect()
}

/// A list holds a comparison when one of its values does; `ne`/`nin` hold when none equals;
/// equality with null holds for an empty list.
fn compare_many(op: Op, have: &[Scalar], values: &[Scalar]) -> bool {
    match op {
        Op::Eq if values.first() == Some(&Scalar::Null) => have.is_empty(),
        Op::Ne if values.first() == Some(&Scalar::Null) => !have.is_empty(),
        Op::Ne => !have.iter().any(|h| compare(Op::Eq, h, values)),
        Op::Nin => !have.iter().any(|h| compare(Op::In, h, values)),
        _ => have.iter().any(|h| compare(op, h, values)),
    }
}

/// Does the item satisfy the filter?
pub fn matches(expr: &Expr, item: &Item, def: &ResourceDef) -> bool {
    match expr {
        Expr::True => true,
        Expr::And(parts) => parts.iter().all(|p| matches(p, item, def)),
        Expr::Or(parts) => parts.iter().any(|p| matches(p, item, def)),
        Expr::Not(inner) => !matches(inner, item, def),
        Expr::Cmp { field, op, values } => match def.field(field) {
            Some(f) if f.many => compare_many(*op, &many_of(item, f), values),
            Some(f) => compare(*op, &scalar_of(item, f), values),
            None => false,
        },
        Expr::Words(terms) => words::all_found(terms, &words_of(item, def)),
    }
}

/// The searchable words of an item: those its table's word index holds (so that a match never
/// depends on which way a listing was read), or the words of its text fields.
pub fn words_of(item: &Item, def: &ResourceDef) -> Vec<String> {
    match def.table.words {
        Some(index) => index.words_of(item),
        None => {
            let texts = def.fields.iter().filter(|f| f.text).filter_map(|f| item.get(f.name).and_then(Value::as_str));
            words::distinct(texts)
        }
    }
}

/// The sort order of a listing: the requested keys, then `id` in the direction of the first
/// key, so that the order is total (pages never overlap), `sort=-f` is exactly the reverse of
/// `sort=f`, and an index of a field's own sort keys (value, then id) yields it directly.
/// Nulls sort last ascending and first descending.
pub fn compare_items(a: &Item, b: &Item, sort: &[SortKey], def: &ResourceDef) -> Ordering {
    for key in sort {
        let Some(f) = def.field(key.field) else { continue };
        let (x, y) = (scalar_of(a, f), scalar_of(b, f));
        let o = match (&x, &y) {
            (Scalar::Null, Scalar::Null) => Ordering::Equal,
            (Scalar::Null, _) => Ordering::Greater,
            (_, Scalar::Null) => Ordering::Less,
            _ => order(&x, &y).unwrap_or(Ordering::Equal),
        };
        let o = if key.descending { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    let id = |i: &Item| i.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
    let ties = id(a).cmp(&id(b));
    if sort.first().is_some_and(|k| k.descending) { ties.reverse() } else { ties }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::organization::RESOURCE;
    use serde_json::json;

    fn item(v: Value) -> Item {
        v.as_object().cloned().unwrap()
    }

    fn s(v: &str) -> Scalar {
        Scalar::Str(v.into())
    }

    #[test]
    fn each_operator_means_what_the_api_says() {
        let org = item(json!({"id": "01", "name": "Acme Corp", "created_at": "2026-11-23T10:00:00Z"}));
        let yes = |e: Expr| assert!(matches(&e, &org, &RESOURCE), "{e:?}");
        let no = |e: Expr| assert!(!matches(&e, &org, &RESOURCE), "{e:?}");
        yes(Expr::cmp("name", Op::Eq, s("Acme Corp")));
        no(Expr::cmp("name", Op::Eq, s("acme corp")));
        yes(Expr::cmp("name", Op::Ne, s("Other")));
        yes(Expr::Cmp { field: "name", op: Op::In, values: vec![s("x"), s("Acme Corp")] });
        no(Expr::Cmp { field: "name", op: Op::Nin, values: vec![s("x"), s("Acme Corp")] });
        yes(Expr::cmp("name", Op::Match, s("ME co")));
        yes(Expr::cmp("name", Op::Sw, s("Acme")));
        no(Expr::cmp("name", Op::Sw, s("acme")));
        yes(Expr::cmp("name", Op::Gt, s("Acm")));
        no(Expr::cmp("name", Op::Lt, s("Acme Corp")));
        yes(Expr::cmp("name", Op::Lte, s("Acme Corp")));
        let t = |v: &str| Scalar::Time(clock::parse(v).unwrap());
        yes(Expr::cmp("created_at", Op::Gte, t("2026-11-23T11:00:00+01:00")));
        no(Expr::cmp("created_at", Op::Gt, t("2026-11-23T10:00:00.5Z")));
        yes(Expr::cmp("created_at", Op::Lt, t("2026-11-23T10:00:00.5Z")));
    }

    #[test]
    fn null_equality_matches_absent_values() {
        let org = item(json!({"id": "01", "name": "A"}));
        assert!(matches(&Expr::cmp("description", Op::Eq, Scalar::Null), &org, &RESOURCE));
        assert!(!matches(&Expr::cmp("name", Op::Eq, Scalar::Null), &org, &RESOURCE));
        assert!(matches(&Expr::cmp("name", Op::Ne, Scalar::Null), &org, &RESOURCE));
        assert!(!matches(&Expr::cmp("description", Op::Gt, s("a")), &org, &RESOURCE));
    }

    #[test]
    fn a_list_field_matches_when_one_value_does() {
        use crate::model::account::RESOURCE as ACCOUNTS;
        let holder = item(json!({"id": "1", "role_name": ["helpdesk", "member"]}));
        let none = item(json!({"id": "2", "role_name": []}));
        let yes = |e: Expr, i: &Item| assert!(matches(&e, i, &ACCOUNTS), "{e:?}");
        let no = |e: Expr, i: &Item| assert!(!matches(&e, i, &ACCOUNTS), "{e:?}");
        yes(Expr::cmp("role_name", Op::Eq, s("member")), &holder);
        no(Expr::cmp("role_name", Op::Eq, s("org_admin")), &holder);
        no(Expr::cmp("role_name", Op::Ne, s("member")), &holder);
        yes(Expr::cmp("role_name", Op::Ne, s("member")), &none);
        yes(Expr::Cmp { field: "role_name", op: Op::In, values: vec![s("x"), s("helpdesk")] }, &holder);
        no(Expr::Cmp { field: "role_name", op: Op::Nin, values: vec![s("x"), s("helpdesk")] }, &holder);
        yes(Expr::cmp("role_name", Op::Eq, Scalar::Null), &none);
        no(Expr::cmp("role_name", Op::Eq, Scalar::Null), &holder);
        yes(Expr::cmp("role_name", Op::Sw, s("help")), &holder);
    }

    #[test]
    fn sorting_breaks_ties_by_id_in_the_first_keys_direction_and_puts_nulls_last() {
        let mut items = [
            item(json!({"id": "3", "name": "b"})),
            item(json!({"id": "1", "name": "b", "description": "x"})),
            item(json!({"id": "2", "name": "a"})),
        ];
        let sort = [SortKey { field: "description", descending: false }];
        items.sort_by(|a, b| compare_items(a, b, &sort, &RESOURCE));
        let ids: Vec<_> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["1", "2", "3"]);
        let sort = [SortKey { field: "name", descending: true }];
        items.sort_by(|a, b| compare_items(a, b, &sort, &RESOURCE));
        let ids: Vec<_> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["3", "1", "2"], "descending: the reverse of ascending, ties included");
    }
}
