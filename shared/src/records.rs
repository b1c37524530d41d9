//! Writing items together with their uniqueness markers in one transaction, with optimistic
//! concurrency on `version`, and turning failed conditions into the right 409.

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::store::schema::UNIQUES;
use crate::store::{Condition, Item, Store, StoreError, TableDef, Write};

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

    /// The write that takes the value for `owner` (fails if anyone holds it).
    pub fn claim(&self, owner: &str) -> Write {
        Write::Put {
            table: &UNIQUES,
            item: json!({"id": self.marker_id(), "owner_id": owner}).as_object().cloned().unwrap_or_default(),
            condition: Some(Condition::NotExists),
        }
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

/// Creates `item` (which must not exist) and claims its unique values; `extra` writes join the
/// same transaction.
pub async fn insert(
    store: &dyn Store,
    table: &'static TableDef,
    mut item: Item,
    uniques: &[Unique],
    extra: Vec<Write>,
) -> Result<Item> {
    item.insert("version".into(), json!(1));
    let owner = id_of(&item).to_string();
    let mut writes: Vec<Write> = uniques.iter().map(|u| u.claim(&owner)).collect();
    writes.push(Write::Put { table, item: item.clone(), condition: Some(Condition::NotExists) });
    writes.extend(extra);
    commit(store, writes, &uniques.iter().collect::<Vec<_>>(), &owner).await?;
    Ok(item)
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
    replace_with(store, table, old, new, old_uniques, new_uniques, vec![]).await
}

/// [`replace`], with `extra` writes (checks on related items) in the same transaction.
pub async fn replace_with(
    store: &dyn Store,
    table: &'static TableDef,
    old: &Item,
    mut new: Item,
    old_uniques: &[Unique],
    new_uniques: &[Unique],
    extra: Vec<Write>,
) -> Result<Item> {
    let owner = id_of(old).to_string();
    let version = version_of(old);
    new.insert("version".into(), json!(version + 1));
    let claims: Vec<&Unique> = new_uniques.iter().filter(|u| !old_uniques.contains(u)).collect();
    let mut writes: Vec<Write> = claims.iter().map(|u| u.claim(&owner)).collect();
    writes.extend(old_uniques.iter().filter(|u| !new_uniques.contains(u)).map(|u| u.release(&owner)));
    writes.push(Write::Put {
        table,
        item: new.clone(),
        condition: Some(Condition::AttrEquals("version", json!(version))),
    });
    writes.extend(extra);
    commit(store, writes, &claims, &owner).await?;
    Ok(new)
}

/// Deletes `item` if unchanged since read, releasing its claims; `extra` writes join the
/// same transaction.
pub async fn remove(
    store: &dyn Store,
    table: &'static TableDef,
    item: &Item,
    uniques: &[Unique],
    extra: Vec<Write>,
) -> Result<()> {
    let owner = id_of(item).to_string();
    let mut writes = vec![Write::Delete {
        table,
        id: owner.clone(),
        condition: Some(Condition::AttrEquals("version", json!(version_of(item)))),
    }];
    writes.extend(uniques.iter().map(|u| u.release(&owner)));
    writes.extend(extra);
    store.transact(writes).await.map_err(Into::into)
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
