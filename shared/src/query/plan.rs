//! The planner: which table access serves a listing. It prefers, in order, reading ids directly
//! (`id` equality or `in`), an index partition chosen by an equality on its partition key, a
//! sort key range on a whole-table index, and an index whose order is the requested order.
//! Whatever the chosen access does not decide is evaluated in memory on what it reads.

use super::ast::{Expr, ListQuery, Op, Scalar, SortKey};
use crate::clock;
use crate::resource::{Field, ResourceDef, Via};
use crate::store::schema::{PartitionKey, Sorted};
use crate::store::words::{self, WordIndex};
use crate::store::{IndexDef, SortCondition};

/// Largest `id in (...)` list served by batch reads instead of an index.
pub const MAX_ID_BATCH: usize = 100;

#[derive(Debug, Clone, PartialEq)]
pub enum Access {
    /// Read these ids with batch gets.
    Ids(Vec<String>),
    /// Read the owner of a uniqueness marker (`records::Unique`), then that item: equality on
    /// a unique field, strongly consistent, whatever the table's size or sharding.
    Marker(String),
    /// Query one partition of an index, optionally narrowed on its sort key.
    Index { index: &'static IndexDef, pk: String, sk: Option<SortCondition> },
    /// Query several partitions of one index (`organization_id in (...)`), each narrowed alike.
    Partitions { index: &'static IndexDef, pks: Vec<String>, sk: Option<SortCondition> },
    /// Read the ids of the matching items from one partition of a link table's index (the
    /// holders of a role, the members of a team), in id order, then the items in batches.
    /// Links of organizations outside `organizations` (when given) are skipped unread.
    Via { via: &'static Via, pk: String, organizations: Option<Vec<String>> },
    /// Read the word entries of the rarest term (`store::words`) from one partition of the
    /// table's word index, keep those holding every term (and, when given, one of
    /// `organizations`), then read their items by id.
    Words { index: &'static IndexDef, pk: String, terms: Vec<String>, organizations: Option<Vec<String>> },
    /// Stream one bucket of the word index in item order (`store::words`), keeping the entries
    /// that hold every term (and one of `organizations`, when given), then their items.
    /// `order` is the bucket's item order (`None`: creation order).
    WordBuckets {
        index: &'static IndexDef,
        pk: String,
        terms: Vec<String>,
        organizations: Option<Vec<String>>,
        order: Option<&'static Sorted>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub access: Access,
    /// `Some(descending)` when the access yields items in the requested order, so that a page
    /// costs about what it returns; `None` when matches are sorted in memory.
    pub ordered: Option<bool>,
    /// The access yields the order of the first sort key alone: each run of items equal in it
    /// is sorted by the other keys in memory (only with `ordered`).
    pub runs: bool,
}

impl Plan {
    fn unordered(access: Access) -> Plan {
        Plan { access, ordered: None, runs: false }
    }
}

/// The requested order, `id` ascending when none is given.
pub fn effective_sort(q: &ListQuery) -> Vec<SortKey> {
    if q.sort.is_empty() { vec![SortKey { field: "id", descending: false }] } else { q.sort.clone() }
}

fn key_string(v: &Scalar) -> Option<String> {
    match v {
        Scalar::Str(s) if !s.is_empty() => Some(s.clone()),
        // As a flag's sort key of its own spells it (`SortedForm::Flag`).
        Scalar::Bool(b) => Some(b.to_string()),
        // Stored timestamps are whole seconds, so only a whole-second bound compares as a string.
        Scalar::Time(t) if t.nanosecond() == 0 => Some(clock::format(*t)),
        _ => None,
    }
}

/// The field an index attribute keys (`email_lc` → `email`).
fn field_keyed_by<'a>(def: &'a ResourceDef, attr: &str) -> Option<&'a Field> {
    def.fields.iter().find(|f| f.alias_of.is_none() && f.key() == attr)
}

/// What an index's sort key holds: a field's value as stored, or a sort key of its own for a
/// field (`store::sort_key`: every item present, absent values last, ties in id order).
#[derive(Clone, Copy)]
enum SortAttr<'a> {
    Value(&'a Field),
    Sorted(&'a Field),
}

impl<'a> SortAttr<'a> {
    fn of(def: &'a ResourceDef, attr: &str) -> Option<SortAttr<'a>> {
        match def.table.sorted_by(attr) {
            Some(sorted) => def.field(sorted.source).map(SortAttr::Sorted),
            None => field_keyed_by(def, attr).map(SortAttr::Value),
        }
    }

    fn field(self) -> &'a Field {
        match self {
            SortAttr::Value(f) | SortAttr::Sorted(f) => f,
        }
    }

    /// Does every item of the partition appear in the index?
    fn complete(self) -> bool {
        match self {
            SortAttr::Value(f) => f.required,
            SortAttr::Sorted(_) => true,
        }
    }

    /// A key condition from the top-level conjuncts, with how narrow it is (see `narrowness`).
    fn condition(self, conjuncts: &[&Expr]) -> Option<(SortCondition, u32)> {
        let field = self.field();
        conjuncts.iter().find_map(|c| match c {
            Expr::Cmp { field: name, op, values } if *name == field.name => match self {
                SortAttr::Value(_) => value_condition(*op, values.first()?, field.unique),
                SortAttr::Sorted(_) => sorted_condition(*op, values.first()?, field.unique),
            },
            _ => None,
        })
    }

    /// Whether the index yields the requested order, and whether it yields only the first
    /// key's (ties then need sorting by the others: `Plan::runs`). `exact` says the key
    /// condition keeps one value of a sort key of its own, whose items are in id order.
    fn serves(self, def: &ResourceDef, sort: &[SortKey], exact: bool) -> Option<(bool, bool)> {
        let first = sort.first()?;
        let wanted = def.field(first.field)?;
        let more = sort.len() > 1;
        match self {
            SortAttr::Sorted(_) if exact && (wanted.name == "id" || wanted.id_order) => Some((first.descending, more)),
            // A unique value present on every item orders completely.
            SortAttr::Value(f) if f.name == wanted.name && f.required && f.unique => Some((first.descending, false)),
            // Creation times in id order: ties (one second) are in id order too.
            SortAttr::Value(f) if f.name == "id" && wanted.id_order => Some((first.descending, more)),
            SortAttr::Sorted(f) if f.name == wanted.name => Some((first.descending, more)),
            _ => None,
        }
    }
}

/// How much a key condition narrows a partition: to one item (equality on a unique field),
/// to the items of one value, or to a range.
fn narrowness(op: Op, unique: bool) -> u32 {
    match op {
        Op::Eq if unique => 100,
        Op::Eq => 30,
        _ => 20,
    }
}

fn value_condition(op: Op, value: &Scalar, unique: bool) -> Option<(SortCondition, u32)> {
    let v = key_string(value)?;
    let condition = match op {
        Op::Eq => SortCondition::Eq(v),
        Op::Gt => SortCondition::Gt(v),
        Op::Gte => SortCondition::Ge(v),
        Op::Lt => SortCondition::Lt(v),
        Op::Lte => SortCondition::Le(v),
        Op::Sw => SortCondition::BeginsWith(v),
        _ => return None,
    };
    Some((condition, narrowness(op, unique)))
}

/// A comparison as a range of sort keys of their own (`store::sort_key`).
fn sorted_condition(op: Op, value: &Scalar, unique: bool) -> Option<(SortCondition, u32)> {
    use crate::store::sort_key::{PRESENT_END, absent, after, exact, value_prefix};
    if *value == Scalar::Null {
        return (op == Op::Eq).then(|| (SortCondition::BeginsWith(absent()), narrowness(op, false)));
    }
    let v = key_string(value)?;
    let present = value_prefix("");
    let condition = match op {
        Op::Eq => SortCondition::BeginsWith(exact(&v)),
        Op::Sw => SortCondition::BeginsWith(value_prefix(&v)),
        Op::Gt => SortCondition::Between(after(&v), PRESENT_END.into()),
        Op::Gte => SortCondition::Between(value_prefix(&v), PRESENT_END.into()),
        Op::Lt => SortCondition::Between(present, value_prefix(&v)),
        Op::Lte => SortCondition::Between(present, after(&v)),
        _ => return None,
    };
    Some((condition, narrowness(op, unique)))
}

/// Does the key condition keep the sort keys of a single value (`store::sort_key`)?
fn one_value(condition: &SortCondition) -> bool {
    matches!(condition, SortCondition::BeginsWith(prefix) if crate::store::sort_key::is_one_value(prefix))
}

/// The partitions an equality or `in` on the index's partition attribute selects.
fn partitions(def: &ResourceDef, conjuncts: &[&Expr], attr: &str) -> Option<Vec<String>> {
    let field = field_keyed_by(def, attr)?;
    conjuncts.iter().find_map(|c| match c {
        Expr::Cmp { field: name, op: Op::Eq | Op::In, values } if *name == field.name => {
            // `in (a, null)` also wants items without the attribute, which no partition holds.
            values.iter().map(key_string).collect::<Option<Vec<_>>>().filter(|v| !v.is_empty())
        }
        _ => None,
    })
}

/// The marker an equality on a unique field names (`<type>.<field>#<value lower-cased>`, as
/// the models claim them).
fn unique_marker(def: &ResourceDef, conjuncts: &[&Expr]) -> Option<String> {
    conjuncts.iter().find_map(|c| match c {
        Expr::Cmp { field, op: Op::Eq, values } => {
            let f = def.field(field).filter(|f| f.unique && f.name != "id")?;
            match values.as_slice() {
                [Scalar::Str(v)] if !v.is_empty() => Some(format!("{}.{}#{}", def.type_name, f.name, v.to_lowercase())),
                _ => None,
            }
        }
        _ => None,
    })
}

/// The order a word bucket is listed in that is the requested one, with its direction:
/// creation order (`None`), or one of the searched text columns'.
fn bucket_order(def: &ResourceDef, search: &WordIndex, sort: &[SortKey]) -> Option<(Option<&'static Sorted>, bool)> {
    let [key] = sort else { return None };
    if key.field == "id" || def.field(key.field).is_some_and(|f| f.id_order) {
        return Some((None, key.descending));
    }
    search.order_of(key.field).map(|order| (Some(order), key.descending))
}

/// The terms of a `query=` (every term of several, ANDed).
fn search_terms(conjuncts: &[&Expr]) -> Option<Vec<String>> {
    let terms: Vec<String> = conjuncts
        .iter()
        .flat_map(|c| match c {
            Expr::Words(terms) => terms.clone(),
            _ => vec![],
        })
        .collect();
    (!terms.is_empty()).then_some(terms)
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

/// The narrowest access for a listing, and the narrowest of those yielding its order when
/// that is another (the listing chooses between them by probing: `listing::choose`).
#[derive(Debug, Clone, PartialEq)]
pub struct Plans {
    pub best: Plan,
    pub ordered: Option<Plan>,
}

/// Picks the access that reads the fewest items for `q`.
pub fn plan(def: &ResourceDef, q: &ListQuery) -> Plan {
    plans(def, q).best
}

/// Picks the access that reads the fewest items for `q`, and the one in its order. Scores rank
/// how narrow an access is: one item by a unique key, then one partition, then several, then a
/// key range of the whole table; serving the requested order breaks ties.
pub fn plans(def: &ResourceDef, q: &ListQuery) -> Plans {
    let conjuncts = q.filter.conjuncts();
    let sort = effective_sort(q);
    if let Some(ids) = id_list(&conjuncts) {
        return Plans { best: Plan::unordered(Access::Ids(ids)), ordered: None };
    }
    if let Some(marker) = unique_marker(def, &conjuncts) {
        return Plans { best: Plan::unordered(Access::Marker(marker)), ordered: None };
    }
    let mut best_ordered: Option<(u32, Plan)> = None;
    let mut best: Option<(u32, Plan)> = None;
    // A link partition costs two reads per item (link, then item): it ranks below a partition
    // of the table itself, above any whole-table access.
    for field in def.fields.iter().filter(|f| f.via.is_some()) {
        let value = conjuncts.iter().find_map(|c| match c {
            Expr::Cmp { field: name, op: Op::Eq, values } if *name == field.name => key_string(values.first()?),
            _ => None,
        });
        if let (Some(via), Some(pk)) = (field.via, value) {
            let organizations = partitions(def, &conjuncts, "organization_id");
            let ordered = match sort.as_slice() {
                [key] if key.field == "id" => Some(key.descending),
                _ => None,
            };
            if best.as_ref().is_none_or(|(s, _)| *s < 45) {
                best = Some((45, Plan { access: Access::Via { via, pk, organizations }, ordered, runs: false }));
            }
        }
    }
    // The word index reads the entries of one term: narrower than a partition of the table
    // itself, and than an organization's when it reads that organization's entries. In
    // creation order, the bucket of the longest term streams too (`store::words`).
    let mut word_stream = None;
    if let (Some(search), Some(terms)) = (def.table.words, search_terms(&conjuncts)) {
        let organizations = search.scope.and_then(|attr| partitions(def, &conjuncts, attr));
        let organization = match organizations.as_deref() {
            Some([org]) => Some(org.as_str()),
            _ => None,
        };
        let scoped = organization.is_some();
        if let Some(index) = search.by_word(scoped) {
            let pk = organization.or(index.whole_table()).unwrap_or_default().to_string();
            let access = Access::Words { index, pk, terms: terms.clone(), organizations: organizations.clone() };
            best = Some((if scoped { 75 } else { 60 }, Plan::unordered(access)));
        }
        let longest = terms.iter().max_by_key(|t| t.chars().count()).and_then(|t| words::bucket_of_term(t));
        let order = bucket_order(def, search, &sort);
        let index = order.and_then(|(order, _)| search.by_bucket(scoped, order));
        if let (Some(bucket), Some((order, descending)), Some(index)) = (longest, order, index) {
            let pk = words::bucket_key(organization, bucket);
            let access = Access::WordBuckets { index, pk, terms, organizations, order };
            word_stream = Some(Plan { access, ordered: Some(descending), runs: false });
        }
    }
    for index in def.table.indexes {
        let key = index.sk.and_then(|attr| SortAttr::of(def, attr));
        // A keys-only index serves listings only when it is a listing order (`sort_key`);
        // the others find ids for maintenance.
        if index.keys_only && !matches!(key, Some(SortAttr::Sorted(_))) {
            continue;
        }
        let sk = key.and_then(|k| k.condition(&conjuncts));
        // Items without the sort key are not in the index: without a condition on the key
        // (which such items fail anyway) a sparse index would silently miss matches.
        let complete = index.sk.is_none() || key.is_some_and(SortAttr::complete);
        if sk.is_none() && !complete {
            continue;
        }
        let (score, pks) = match index.pk {
            PartitionKey::Constant { value, .. } => (0, vec![value.to_string()]),
            PartitionKey::Attr(attr) => match partitions(def, &conjuncts, attr) {
                Some(pks) if pks.len() == 1 => (50, pks),
                Some(pks) => (30, pks),
                None => continue,
            },
            // Partitions of values their writers shard (word buckets): not a table's listing.
            PartitionKey::ShardedAttr { .. } => continue,
        };
        // A sort key of its own narrowed to one value lists that value's items in id order.
        let exact = matches!((key, &sk), (Some(SortAttr::Sorted(_)), Some((c, _))) if one_value(c));
        let served = if pks.len() == 1 { key.and_then(|k| k.serves(def, &sort, exact)) } else { None };
        let score = score + sk.as_ref().map_or(0, |(_, narrow)| *narrow) + if served.is_some() { 5 } else { 0 };
        let sk = sk.map(|(c, _)| c);
        let access = match <[String; 1]>::try_from(pks) {
            Ok([pk]) => Access::Index { index, pk, sk },
            Err(pks) => Access::Partitions { index, pks, sk },
        };
        let plan = Plan { access, ordered: served.map(|(d, _)| d), runs: served.is_some_and(|(_, r)| r) };
        if plan.ordered.is_some() && best_ordered.as_ref().is_none_or(|(s, _)| score > *s) {
            best_ordered = Some((score, plan.clone()));
        }
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((score, plan));
        }
    }
    let best = best.map(|(_, p)| p).unwrap_or(Plan::unordered(Access::Ids(vec![])));
    let ordered = word_stream.or(best_ordered.map(|(_, p)| p)).filter(|o| *o != best);
    Plans { best, ordered }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::organization::RESOURCE;
    use crate::query::params::{decode_pairs, parse};

    const A: &str = "00000000-0000-7000-8000-0000000000b1";
    const B: &str = "00000000-0000-7000-8000-0000000000b2";

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
    fn a_unique_name_equality_reads_its_uniqueness_marker() {
        assert_eq!(plan_for("filter[name]=Acme").access, Access::Marker("organizations.name#acme".into()));
        let p = plan_for("filter[name__gte]=Acme");
        assert_eq!(index_of(&p), ("by_name", Some(SortCondition::Ge("Acme".into()))));
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
        assert_eq!(plan_for(&format!("filter[id__in]={},{}", A, B)).access, Access::Ids(vec![A.into(), B.into()]));
    }

    #[test]
    fn a_keys_only_maintenance_index_never_serves_a_listing() {
        use crate::model::account_session::RESOURCE as SESSIONS;
        let q = parse(&SESSIONS, &decode_pairs(Some("filter[expires_at__gt]=2026-11-23T10:00:00Z&sort=expires_at")));
        let p = plan(&SESSIONS, &q.unwrap());
        assert_eq!(index_of(&p).0, "by_id", "by_expiry projects keys only: its items are not whole");
    }

    fn account_plan(q: &str) -> Plan {
        use crate::model::account::RESOURCE as ACCOUNTS;
        plan(&ACCOUNTS, &parse(&ACCOUNTS, &decode_pairs(Some(q))).unwrap())
    }

    #[test]
    fn an_email_equality_is_one_marker_lookup_even_within_an_organization() {
        let marker = Access::Marker("accounts.email#ann@x.io".into());
        assert_eq!(account_plan("filter[email]=Ann@X.io").access, marker);
        let p = account_plan("filter[email]=Ann@X.io&filter[organization_id]=00000000-0000-7000-8000-0000000000a1");
        assert_eq!(p.access, marker);
        let p = account_plan("filter[email__sw]=Ann&filter[organization_id]=00000000-0000-7000-8000-0000000000a1");
        assert_eq!(index_of(&p), ("by_organization_email", Some(SortCondition::BeginsWith("ann".into()))));
    }

    #[test]
    fn an_organization_sorted_by_email_streams_its_own_index() {
        let p = account_plan("filter[organization_id]=00000000-0000-7000-8000-0000000000a1&sort=-email");
        assert_eq!(index_of(&p), ("by_organization_email", None));
        assert_eq!(p.ordered, Some(true));
        let p = account_plan("filter[ou_accounts]=00000000-0000-7000-8000-0000000000a1");
        assert_eq!(index_of(&p), ("by_organization", None));
        assert_eq!(p.ordered, Some(false));
    }

    #[test]
    fn several_organizations_are_several_partitions() {
        let p = account_plan(
            "filter[organization_id__in]=00000000-0000-7000-8000-0000000000a1,00000000-0000-7000-8000-0000000000a2",
        );
        assert!(
            matches!(&p.access, Access::Partitions { pks, .. } if pks == &["00000000-0000-7000-8000-0000000000a1", "00000000-0000-7000-8000-0000000000a2"]),
            "{p:?}"
        );
        assert!(
            matches!(account_plan("filter[organization_id__in]=00000000-0000-7000-8000-0000000000a1,null").access, Access::Index { index, .. } if index.name == "by_id")
        );
    }

    #[test]
    fn role_and_team_equalities_read_their_link_partition_in_account_order() {
        let p = account_plan("filter[role_name]=helpdesk");
        assert!(
            matches!(&p.access, Access::Via { via, pk, organizations: None } if via.index.name == "by_role" && pk == "helpdesk"),
            "{p:?}"
        );
        assert_eq!(p.ordered, Some(false));
        let p = account_plan(
            "filter[team_id]=00000000-0000-7000-8000-0000000000c1&filter[organization_id__in]=00000000-0000-7000-8000-0000000000a1,00000000-0000-7000-8000-0000000000a2&sort=-id",
        );
        assert!(
            matches!(&p.access, Access::Via { pk, organizations: Some(o), .. } if pk == "00000000-0000-7000-8000-0000000000c1" && o == &["00000000-0000-7000-8000-0000000000a1", "00000000-0000-7000-8000-0000000000a2"]),
            "{p:?}"
        );
        assert_eq!(p.ordered, Some(true));
        // One organization's partition is narrower than a role held across all of them.
        let p = account_plan("filter[role_name]=member&filter[organization_id]=00000000-0000-7000-8000-0000000000a1");
        assert_eq!(index_of(&p).0, "by_organization");
        // The email's marker is narrower still.
        let p = account_plan("filter[role_name]=member&filter[email]=a@b.c");
        assert_eq!(p.access, Access::Marker("accounts.email#a@b.c".into()));
    }

    #[test]
    fn a_sparse_index_serves_only_conditions_on_its_key() {
        assert_eq!(
            index_of(&account_plan("filter[external_id__sw]=E-1")),
            ("by_external_id", Some(SortCondition::BeginsWith("E-1".into())))
        );
        // An unconditioned listing must include accounts without one: not from the sparse index.
        assert_eq!(index_of(&account_plan("filter[external_id__ne]=E-1")).0, "by_id");
    }

    #[test]
    fn conditions_on_a_sorted_field_are_ranges_of_its_own_sort_keys() {
        use crate::store::sort_key::{PRESENT_END, absent, after, exact, value_prefix};
        let cases = [
            ("filter[username__sw]=An", SortCondition::BeginsWith(value_prefix("an"))),
            ("filter[name]=Ann", SortCondition::BeginsWith(exact("Ann"))),
            ("filter[name]=null", SortCondition::BeginsWith(absent())),
            ("filter[name__gt]=M", SortCondition::Between(after("M"), PRESENT_END.into())),
            ("filter[name__gte]=M", SortCondition::Between(value_prefix("M"), PRESENT_END.into())),
            ("filter[name__lt]=M", SortCondition::Between(value_prefix(""), value_prefix("M"))),
            ("filter[name__lte]=M", SortCondition::Between(value_prefix(""), after("M"))),
        ];
        for (q, condition) in cases {
            let p = account_plan(q);
            let index = if q.contains("username") { "sort_username" } else { "sort_name" };
            assert_eq!(index_of(&p), (index, Some(condition)), "{q}");
        }
    }

    #[test]
    fn every_sortable_account_column_is_an_index_order_in_both_scopes() {
        const ORG: &str = "00000000-0000-7000-8000-0000000000a1";
        for field in ["name", "username", "updated_at", "last_login_at", "joined_at", "expires_at"] {
            for descending in [false, true] {
                let sort = format!("{}{field}", if descending { "-" } else { "" });
                let p = account_plan(&format!("sort={sort}"));
                assert_eq!(index_of(&p), (format!("sort_{field}").leak() as &str, None), "{sort}");
                assert_eq!((p.ordered, p.runs), (Some(descending), false), "{sort}");
                let p = account_plan(&format!("filter[organization_id]={ORG}&sort={sort}"));
                assert_eq!(index_of(&p).0, format!("organization_sort_{field}"), "{sort} in an organization");
                assert_eq!((p.ordered, p.runs), (Some(descending), false), "{sort} in an organization");
            }
        }
        for (q, index) in [
            ("sort=-created_at", "by_id"),
            (&format!("filter[organization_id]={ORG}&sort=-created_at"), "by_organization"),
        ] {
            let p = account_plan(q);
            assert_eq!((index_of(&p).0, p.ordered, p.runs), (index, Some(true), false), "{q}");
        }
        assert_eq!(index_of(&account_plan("sort=-email")).0, "by_email");
        assert_eq!(account_plan("sort=status").ordered, None, "derived at read time: sorted in memory");
    }

    #[test]
    fn one_organizations_accounts_with_or_without_mfa_stream_in_id_order_from_the_flags_index() {
        use crate::store::sort_key::exact;
        const ORG: &str = "00000000-0000-7000-8000-0000000000a1";
        for (q, value, descending) in [
            (format!("filter[organization_id]={ORG}&filter[mfa_enabled]=false"), "false", false),
            (format!("filter[organization_id]={ORG}&filter[mfa_enabled]=true&sort=-created_at"), "true", true),
            (
                format!("filters=organization_id%20eq%20%22{ORG}%22%20and%20mfa_enabled%20eq%20false&sort=-id"),
                "false",
                true,
            ),
        ] {
            let p = account_plan(&q);
            assert_eq!(
                index_of(&p),
                ("organization_sort_mfa_enabled", Some(SortCondition::BeginsWith(exact(value)))),
                "{q}"
            );
            assert_eq!((p.ordered, p.runs), (Some(descending), false), "{q}");
        }
        // Another order than the id's is not the flag index's: it is read, then sorted.
        let p = account_plan(&format!("filter[organization_id]={ORG}&filter[mfa_enabled]=false&sort=name"));
        assert_eq!((index_of(&p).0, p.ordered), ("organization_sort_mfa_enabled", None));
        // A range of a sort key of its own is in the value's order, not the id's.
        let p = account_plan(&format!("filter[organization_id]={ORG}&filter[name__sw]=An"));
        assert_eq!(index_of(&p).0, "organization_sort_name");
        assert_eq!(p.ordered, None);
        // Across every organization the flag is not indexed (most accounts match either value).
        assert_eq!(index_of(&account_plan("filter[mfa_enabled]=false")).0, "by_id");
    }

    #[test]
    fn sessions_assignments_and_memberships_list_in_their_usual_orders_from_an_index() {
        use crate::model::{account_session, role_assignment, team_membership};
        const X: &str = "00000000-0000-7000-8000-0000000000a1";
        let cases: [(&ResourceDef, String, &str); 6] = [
            (
                &account_session::RESOURCE,
                format!("filter[account_id]={X}&sort=-last_used_at"),
                "account_sort_last_used_at",
            ),
            (
                &account_session::RESOURCE,
                format!("filter[organization_id]={X}&sort=-last_used_at"),
                "organization_sort_last_used_at",
            ),
            (&account_session::RESOURCE, "sort=-last_used_at".into(), "sort_last_used_at"),
            (&role_assignment::RESOURCE, "filter[role_name]=helpdesk&sort=-created_at".into(), "by_role_created"),
            (&role_assignment::RESOURCE, format!("filter[organization_id]={X}&sort=created_at"), "by_organization"),
            (&team_membership::RESOURCE, format!("filter[team_id]={X}&sort=-created_at"), "by_team_created"),
        ];
        for (def, q, index) in cases {
            let p = plan(def, &parse(def, &decode_pairs(Some(&q))).unwrap());
            assert_eq!(index_of(&p).0, index, "{} {q}", def.type_name);
            assert!(p.ordered.is_some() && !p.runs, "{} {q}: {p:?}", def.type_name);
        }
    }

    #[test]
    fn a_multi_key_sort_reads_the_first_key_from_its_index_and_sorts_runs() {
        let p = account_plan("sort=name,-updated_at");
        assert_eq!((index_of(&p).0, p.ordered, p.runs), ("sort_name", Some(false), true));
        let p = account_plan("sort=-created_at,name");
        assert_eq!((index_of(&p).0, p.ordered, p.runs), ("by_id", Some(true), true));
        // A unique first key leaves no ties to sort.
        let p = account_plan("sort=email,name");
        assert_eq!((index_of(&p).0, p.ordered, p.runs), ("by_email", Some(false), false));
    }

    #[test]
    fn a_search_reads_the_word_index_of_the_organization_asked_for_or_of_all() {
        use crate::model::account::RESOURCE as ACCOUNTS;
        let plans_for = |q: &str| plans(&ACCOUNTS, &parse(&ACCOUNTS, &decode_pairs(Some(q))).unwrap());
        let p = plans_for("query=Annabel%20Lee");
        match &p.best.access {
            Access::Words { index, pk, terms, organizations } => {
                assert_eq!((index.name, pk.as_str(), organizations), ("by_word", "account_words", &None));
                assert_eq!(terms, &["annabel", "lee"]);
            }
            other => panic!("expected the word index, got {other:?}"),
        }
        match p.ordered.map(|o| (o.access, o.ordered)) {
            Some((Access::WordBuckets { index, pk, .. }, Some(false))) => {
                assert_eq!((index.name, pk.as_str()), ("by_bucket", "an"), "the longest term's bucket");
            }
            other => panic!("expected the bucket of a term in id order, got {other:?}"),
        }
        for (sort, index, descending) in [("-name", "by_bucket_name", true), ("email", "by_bucket_email", false)] {
            match plans_for(&format!("query=annabel&sort={sort}")).ordered.map(|o| (o.access, o.ordered)) {
                Some((Access::WordBuckets { index: i, order: Some(_), .. }, Some(d))) => {
                    assert_eq!((i.name, d), (index, descending))
                }
                other => panic!("sort={sort}: expected the bucket in that order, got {other:?}"),
            }
        }
        let p = plans_for("query=annabel&sort=-last_login_at");
        assert!(
            !matches!(p.ordered.map(|o| o.access), Some(Access::WordBuckets { .. })),
            "no bucket lists by last login"
        );
        let p = plans_for("query=a%20e&sort=-created_at");
        assert_eq!(
            p.ordered.map(|o| (o.access, o.ordered)).map(|(a, o)| (matches!(a, Access::Index { .. }), o)),
            Some((true, Some(true))),
            "one-letter terms have no bucket: the id index"
        );
        let p = plans_for(&format!("query=ann&filter[organization_id]={A}&sort=name"));
        match &p.best.access {
            Access::Words { index, pk, .. } => assert_eq!((index.name, pk.as_str()), ("organization_by_word", A)),
            other => panic!("expected the organization's word index, got {other:?}"),
        }
        let p = plans_for(&format!("query=ann&filter[id]={B}"));
        assert_eq!(p.best.access, Access::Ids(vec![B.into()]), "ids stay narrower");
    }
}
