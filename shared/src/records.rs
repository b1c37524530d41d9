//! Writing items together with their uniqueness markers in one transaction ([`Change`]), with
//! optimistic concurrency on `version`, and turning failed conditions into the right 409.

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::store::schema::UNIQUES;
use crate::store::{Condition, Item, MAX_TRANSACTION_WRITES, Store, StoreError, TableDef, Write};

/// A value that must be unique, e.g. an organization's name (compared lower-cased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unique {
    /// The namespace of the value, e.g. `organizations.name`.
    pub scope: &'static str,
    /// The attribute a conflict is reported on.
    pub attribute: &'static str,
    /// The normalised value.
    pub value: String,
}

impl Unique {
    pub fn new(scope: &'static str, attribute: &'static str, value: &str) -> Unique {
        Unique { scope, attribute, value: value.to_lowercase() }
    }

    pub fn marker_id(&self) -> String {
        format!("{}#{}", self.scope, self.value)
    }

    /// The marker item saying `owner` holds the value.
    pub fn marker(&self, owner: &str) -> Item {
        json!({"id": self.marker_id(), "owner_id": owner}).as_object().cloned().unwrap_or_default()
    }

    /// The write that takes the value for `owner` (fails if anyone holds it).
    pub fn claim(&self, owner: &str) -> Write {
        Write::Put { table: &UNIQUES, item: self.marker(owner), condition: Some(Condition::NotExists) }
    }

    /// The write that gives the value up (only if `owner` holds it).
    pub fn release(&self, owner: &str) -> Write {
        Write::Delete {
            table: &UNIQUES,
            id: self.marker_id(),
            condition: Some(Condition::AttrEquals("owner_id", Value::String(owner.into()))),
        }
    }
}

/// Who holds a unique value, if anyone.
pub async fn owner_of(store: &dyn Store, unique: &Unique) -> Result<Option<String>> {
    Ok(store
        .get(&UNIQUES, &unique.marker_id())
        .await?
        .and_then(|m| m.get("owner_id").and_then(Value::as_str).map(str::to_string)))
}

pub fn id_of(item: &Item) -> &str {
    item.get("id").and_then(Value::as_str).unwrap_or_default()
}

pub fn version_of(item: &Item) -> i64 {
    item.get("version").and_then(Value::as_i64).unwrap_or(0)
}

/// Commits writes whose first `claims.len()` writes claim `claims`; a failed claim becomes a
/// 409 on that attribute. Backends that cannot say which write failed are asked who holds
/// each claimed value.
async fn commit(store: &dyn Store, writes: Vec<Write>, claims: &[&Unique], owner: &str) -> Result<()> {
    match store.transact(writes).await {
        Ok(()) => Ok(()),
        Err(StoreError::ConditionFailed(which)) => {
            let mut taken = Vec::new();
            match which {
                Some(i) if i < claims.len() => taken.push(claims[i]),
                Some(_) => {}
                None => {
                    for u in claims {
                        if owner_of(store, u).await?.is_some_and(|o| o != owner) {
                            taken.push(u);
                        }
                    }
                }
            }
            match taken.first() {
                Some(u) => Err(Error::conflict(
                    Some(&format!("/data/attributes/{}", u.attribute)),
                    "taken",
                    format!("{} is already taken", u.attribute),
                )),
                None => Err(StoreError::ConditionFailed(which).into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Everything one change writes, committed as one transaction: the item (created; replaced or
/// deleted if unchanged since read), the uniqueness claims and releases its values call for,
/// and whatever must commit with it (counters, links, checks that what it names exists,
/// revoked tokens). Use-cases assemble it; this is the one place that knows DynamoDB's limit on
/// a transaction, and a change over it is refused before anything is sent.
#[must_use = "a change is written by commit"]
pub struct Change {
    table: &'static TableDef,
    target: Target,
    claims: Vec<Unique>,
    releases: Vec<Unique>,
    /// The item's word index entries that change with it (`store::words`).
    words: Vec<Write>,
    extra: Vec<Write>,
}

/// The writes that move an item's word entries from `old` to `new`, when its table has them.
fn word_changes(table: &'static TableDef, old: Option<&Item>, new: Option<&Item>) -> Vec<Write> {
    table.words.map(|index| index.changes(old, new)).unwrap_or_default()
}

enum Target {
    Insert(Item),
    Replace { version: i64, new: Item },
    Remove { id: String, version: i64 },
}

/// The code of the 409 a change over the transaction limit gets.
pub const TOO_MANY_DEPENDENTS: &str = "too_many_dependents";

impl Change {
    /// Creates `item` (which must not exist), claiming its unique values.
    pub fn insert(table: &'static TableDef, mut item: Item, uniques: Vec<Unique>) -> Change {
        item.insert("version".into(), json!(1));
        let words = word_changes(table, None, Some(&item));
        Change { table, target: Target::Insert(item), claims: uniques, releases: vec![], words, extra: vec![] }
    }

    /// Replaces `old` by `new` if nobody changed `old` meanwhile, moving the claims whose
    /// values changed.
    pub fn replace(
        table: &'static TableDef,
        old: &Item,
        new: Item,
        old_uniques: &[Unique],
        new_uniques: &[Unique],
    ) -> Change {
        Change {
            table,
            words: word_changes(table, Some(old), Some(&new)),
            target: Target::Replace { version: version_of(old), new },
            claims: new_uniques.iter().filter(|u| !old_uniques.contains(u)).cloned().collect(),
            releases: old_uniques.iter().filter(|u| !new_uniques.contains(u)).cloned().collect(),
            extra: vec![],
        }
    }

    /// [`Change::replace`] with the unique values `uniques` finds in each version.
    pub fn revise(table: &'static TableDef, old: &Item, new: Item, uniques: fn(&Item) -> Vec<Unique>) -> Change {
        let (before, after) = (uniques(old), uniques(&new));
        Change::replace(table, old, new, &before, &after)
    }

    /// Deletes `item` if unchanged since read, releasing its claims.
    pub fn remove(table: &'static TableDef, item: &Item, uniques: &[Unique]) -> Change {
        Change {
            table,
            target: Target::Remove { id: id_of(item).to_string(), version: version_of(item) },
            claims: vec![],
            releases: uniques.to_vec(),
            words: word_changes(table, Some(item), None),
            extra: vec![],
        }
    }

    /// Adds writes that must commit with the change.
    pub fn with(mut self, writes: impl IntoIterator<Item = Write>) -> Change {
        self.extra.extend(writes);
        self
    }

    /// How many writes the transaction holds.
    pub fn writes(&self) -> usize {
        1 + self.claims.len() + self.releases.len() + self.words.len() + self.extra.len()
    }

    /// Commits the change: the item as written (as it was, for a delete). A claim someone
    /// else holds is a 409 on its attribute; a change over the transaction limit is a 409
    /// [`TOO_MANY_DEPENDENTS`] and writes nothing.
    pub async fn commit(self, store: &dyn Store) -> Result<Item> {
        if self.writes() > MAX_TRANSACTION_WRITES {
            return Err(Error::conflict(
                None,
                TOO_MANY_DEPENDENTS,
                format!(
                    "this change would write {} items at once, over the limit of {MAX_TRANSACTION_WRITES}; \
                     remove some of what depends on it first",
                    self.writes()
                ),
            ));
        }
        let Change { table, target, claims, releases, words, extra } = self;
        let (owner, written, main) = match target {
            Target::Insert(item) => {
                let write = Write::Put { table, item: item.clone(), condition: Some(Condition::NotExists) };
                (id_of(&item).to_string(), item, write)
            }
            Target::Replace { version, mut new } => {
                new.insert("version".into(), json!(version + 1));
                let condition = Some(Condition::AttrEquals("version", json!(version)));
                (id_of(&new).to_string(), new.clone(), Write::Put { table, item: new, condition })
            }
            Target::Remove { id, version } => {
                let condition = Some(Condition::AttrEquals("version", json!(version)));
                (id.clone(), Item::new(), Write::Delete { table, id, condition })
            }
        };
        // Claims come first, so that a failed condition's index names the value taken.
        let mut writes: Vec<Write> = claims.iter().map(|u| u.claim(&owner)).collect();
        writes.extend(releases.iter().map(|u| u.release(&owner)));
        writes.push(main);
        writes.extend(words);
        writes.extend(extra);
        commit(store, writes, &claims.iter().collect::<Vec<_>>(), &owner).await?;
        Ok(written)
    }
}

/// Creates `item` (which must not exist) and claims its unique values; `extra` writes join the
/// same transaction.
pub async fn insert(
    store: &dyn Store,
    table: &'static TableDef,
    item: Item,
    uniques: &[Unique],
    extra: Vec<Write>,
) -> Result<Item> {
    Change::insert(table, item, uniques.to_vec()).with(extra).commit(store).await
}

/// Replaces `old` by `new` if nobody changed it meanwhile, moving the claims whose values changed.
pub async fn replace(
    store: &dyn Store,
    table: &'static TableDef,
    old: &Item,
    new: Item,
    old_uniques: &[Unique],
    new_uniques: &[Unique],
) -> Result<Item> {
    Change::replace(table, old, new, old_uniques, new_uniques).commit(store).await
}

/// The write replacing `old` by `new` unless someone changed `old` meanwhile (`version`
/// bumped), for items that change as a side effect of another write.
pub fn put_if_unchanged(table: &'static TableDef, old: &Item, mut new: Item) -> Write {
    let version = version_of(old);
    new.insert("version".into(), json!(version + 1));
    Write::Put { table, item: new, condition: Some(Condition::AttrEquals("version", json!(version))) }
}

/// The item with this id, or 404.
pub async fn load(store: &dyn Store, table: &'static TableDef, id: &str) -> Result<Item> {
    store.get(table, id).await?.ok_or(Error::NotFound)
}

#[cfg(all(test, feature = "embedded"))]
mod tests {
    use super::*;
    use crate::store::Update;
    use crate::store::embedded::EmbeddedStore;
    use crate::store::schema::{COUNTERS, ORGANIZATIONS};

    fn organization(id: &str, name: &str) -> Item {
        json!({"id": id, "name": name}).as_object().cloned().unwrap()
    }

    #[tokio::test]
    async fn a_change_over_the_transaction_limit_is_refused_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(&dir.path().join("db")).unwrap();
        let counters =
            |n: usize| (0..n).map(|i| Write::Update(Update::new(&COUNTERS, format!("c{i}")).add("count", 1)));
        let unique = vec![Unique::new("organizations.name", "name", "Acme")];
        let change = Change::insert(&ORGANIZATIONS, organization("1", "Acme"), unique.clone()).with(counters(98));
        assert_eq!(change.writes(), 101, "the item, its claim, its word entry and 98 more");
        match change.commit(&store).await {
            Err(Error::Conflict(p)) => assert_eq!(p.code, TOO_MANY_DEPENDENTS),
            other => panic!("expected 409, got {other:?}"),
        }
        assert!(store.get(&ORGANIZATIONS, "1").await.unwrap().is_none());
        assert!(store.get(&COUNTERS, "c0").await.unwrap().is_none());
        assert!(owner_of(&store, &unique[0]).await.unwrap().is_none(), "no claim was left behind");

        let change = Change::insert(&ORGANIZATIONS, organization("1", "Acme"), unique.clone()).with(counters(97));
        assert_eq!(change.writes(), 100);
        let written = change.commit(&store).await.expect("exactly at the limit");
        assert_eq!(written["version"], 1);
        assert_eq!(owner_of(&store, &unique[0]).await.unwrap().as_deref(), Some("1"));
    }

    #[tokio::test]
    async fn a_revision_moves_only_the_unique_values_that_changed() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(&dir.path().join("db")).unwrap();
        let uniques = |i: &Item| vec![Unique::new("organizations.name", "name", i["name"].as_str().unwrap())];
        let old = insert(&store, &ORGANIZATIONS, organization("1", "Old"), &uniques(&organization("1", "Old")), vec![])
            .await
            .unwrap();
        let change = Change::revise(&ORGANIZATIONS, &old, organization("1", "New"), |i| {
            vec![Unique::new("organizations.name", "name", i["name"].as_str().unwrap())]
        });
        assert_eq!(change.writes(), 5, "claim the new name, release the old one, write the item, move its word");
        let new = change.commit(&store).await.unwrap();
        assert_eq!(new["version"], 2);
        let words = &crate::store::schema::ORGANIZATION_WORDS;
        assert!(store.get(words, "1\u{1}old").await.unwrap().is_none(), "the old word's entry went with it");
        assert!(store.get(words, "1\u{1}new").await.unwrap().is_some());
        let stale = Change::revise(&ORGANIZATIONS, &old, organization("1", "Other"), |_| vec![]).commit(&store).await;
        assert!(matches!(stale, Err(Error::Conflict(_))), "a change to a version no longer stored fails");
    }
}
