//! People, and the correlation of accounts with them. A person counts in its organization (so
//! that the organization cannot be deleted under it) and counts its accounts (so that it cannot
//! be deleted while one points at it): each count changes in the transaction that adds or
//! removes what it counts, and each delete is conditional on its count being zero.

use serde_json::Value;

use super::load::{Edit, IfMatch, for_write};
use super::{dependents, organizations};
use crate::app::AppState;
use crate::auth::{Permission, Principal};
use crate::counters::Dependents;
use crate::error::{Error, Result};
use crate::jsonapi::request_attributes;
use crate::model::account;
use crate::model::person::{self, Person};
use crate::model::{is_id, new_id};
use crate::records::Change;
use crate::resource::ResourceDef;
use crate::store::schema::{ACCOUNTS, ACCOUNTS_BY_PERSON, PEOPLE};
use crate::store::{Item, Write};

const DEF: &ResourceDef = &person::RESOURCE;

pub async fn create(state: &AppState, principal: &Principal, body: &Value) -> Result<Item> {
    principal.require(Permission::PeopleWrite)?;
    let attributes = request_attributes(body, DEF, None)?;
    let item = person::create(attributes, new_id(), &state.timestamp(), principal.organization_id.as_deref())?;
    let uniques = person::uniques(&item);
    organizations::insert_into(state, principal, DEF, item, Dependents::OrganizationPeople, uniques).await
}

pub async fn update(state: &AppState, principal: &Principal, edit: Edit<'_>) -> Result<Item> {
    let (old, attributes) = edit.load(state, principal, DEF).await?;
    let new = person::update(&old, attributes, &state.timestamp())?;
    Change::revise(&PEOPLE, &old, new, person::uniques).commit(state.store.as_ref()).await
}

fn has_accounts() -> Error {
    Error::conflict(
        None,
        "has_accounts",
        "accounts are still correlated with this person; uncorrelate or delete them first",
    )
}

/// Deletes a person no account points at. An account correlated while the delete runs is
/// caught by the counter's zero condition in the delete's own transaction.
pub async fn remove(state: &AppState, principal: &Principal, id: &str, if_match: &IfMatch) -> Result<()> {
    let store = state.store.as_ref();
    let item = for_write(store, principal, DEF, id, if_match, state.now()).await?;
    if dependents::any(store, &ACCOUNTS, &ACCOUNTS_BY_PERSON, id).await? {
        return Err(has_accounts());
    }
    let mut writes = vec![Dependents::PersonAccounts.retire(id)];
    writes.extend(Person::parse(&item).organization_id.map(|org| Dependents::OrganizationPeople.change(&org, -1)));
    let change = Change::remove(&PEOPLE, &item, &person::uniques(&item)).with(writes);
    match change.commit(store).await {
        Err(Error::Conflict(_)) if Dependents::PersonAccounts.count(store, id).await? > 0 => Err(has_accounts()),
        other => other.map(drop),
    }
}

/// The writes that keep an account's correlation true when it is written as `new` (after
/// `old`, `None` for a create): the person it names must be one the caller can see, in the
/// account's organization, and still there when the write commits; the persons it leaves and
/// joins count it out and in. Nothing when neither the person nor the organization changes.
pub async fn correlation(
    state: &AppState,
    principal: &Principal,
    old: Option<&Item>,
    new: &Item,
) -> Result<Vec<Write>> {
    let before = old.and_then(account::person_of);
    let after = account::person_of(new);
    let org = |i: &Item| i.get("organization_id").and_then(Value::as_str).map(str::to_string);
    let moved = old.is_some_and(|o| org(o) != org(new));
    if before == after && !moved {
        return Ok(vec![]);
    }
    let mut writes = Vec::new();
    if let Some(person_id) = after {
        let store = state.store.as_ref();
        let found = match is_id(person_id) {
            true => person::find(store, person_id).await?,
            false => None,
        };
        let item = found.filter(|p| principal.may_read(DEF, p)).ok_or_else(person::unknown_person)?;
        if Person::parse(&item).organization_id != org(new) {
            return Err(person::organization_mismatch());
        }
        if before != after {
            writes.push(person::still_exists(person_id));
            writes.push(Dependents::PersonAccounts.change(person_id, 1));
        }
    }
    if let Some(left) = before.filter(|b| Some(*b) != after) {
        writes.push(Dependents::PersonAccounts.change(left, -1));
    }
    Ok(writes)
}

/// The account no longer counts with its person (it is deleted).
pub fn uncorrelating(account: &Item) -> Option<Write> {
    account::person_of(account).map(|p| Dependents::PersonAccounts.change(p, -1))
}

/// A write of a correlated account that failed a condition because its person was deleted
/// meanwhile is a 422 on `person_id`, as if the person had been gone at the start; any other
/// result stands.
pub async fn gone_meanwhile(state: &AppState, result: Result<Item>, new_person: Option<&str>) -> Result<Item> {
    match (result, new_person) {
        (Err(Error::Conflict(problem)), Some(id)) if problem.code == "concurrent_modification" => {
            match person::find(state.store.as_ref(), id).await? {
                None => Err(person::unknown_person()),
                Some(_) => Err(Error::Conflict(problem)),
            }
        }
        (other, _) => other,
    }
}
