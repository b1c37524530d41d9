//! Organizations: only a global role creates or deletes one; its admin may change it. A delete
//! is refused while accounts, teams or people are in it, including ones created while it runs.

use serde_json::Value;

use super::dependents;
use super::load::{Edit, IfMatch, for_global_write};
use crate::app::AppState;
use crate::auth::{Permission, Principal};
use crate::counters::Dependents;
use crate::error::{Error, Result};
use crate::jsonapi::request_attributes;
use crate::model::{new_id, organization};
use crate::records::Change;
use crate::resource::ResourceDef;
use crate::store::Item;
use crate::store::schema::{
    ACCOUNTS, ACCOUNTS_BY_ORGANIZATION, ORGANIZATIONS, PEOPLE, PEOPLE_BY_ORGANIZATION, TEAMS, TEAMS_BY_ORGANIZATION,
};

const DEF: &ResourceDef = &organization::RESOURCE;

pub async fn create(state: &AppState, principal: &Principal, body: &Value) -> Result<Item> {
    principal.require_global(Permission::OrganizationsWrite)?;
    let attributes = request_attributes(body, DEF, None)?;
    let item = organization::create(attributes, new_id(), &state.timestamp())?;
    let uniques = organization::uniques(&item);
    Change::insert(&ORGANIZATIONS, item, uniques).commit(state.store.as_ref()).await
}

pub async fn update(state: &AppState, principal: &Principal, edit: Edit<'_>) -> Result<Item> {
    let (old, attributes) = edit.load(state, principal, DEF).await?;
    let new = organization::update(&old, attributes, &state.timestamp())?;
    Change::revise(&ORGANIZATIONS, &old, new, organization::uniques).commit(state.store.as_ref()).await
}

fn has_accounts() -> Error {
    Error::conflict(None, "has_accounts", "the organization still has accounts; delete or move them first")
}

fn has_teams() -> Error {
    Error::conflict(None, "has_teams", "the organization still has teams; delete them first")
}

fn has_people() -> Error {
    Error::conflict(None, "has_people", "the organization still has people; delete them first")
}

pub async fn remove(state: &AppState, principal: &Principal, id: &str, if_match: &IfMatch) -> Result<()> {
    let store = state.store.as_ref();
    let permission = Permission::OrganizationsWrite;
    let item = for_global_write(store, principal, DEF, id, if_match, permission, state.now()).await?;
    if dependents::any(store, &ACCOUNTS, &ACCOUNTS_BY_ORGANIZATION, id).await? {
        return Err(has_accounts());
    }
    if dependents::any(store, &TEAMS, &TEAMS_BY_ORGANIZATION, id).await? {
        return Err(has_teams());
    }
    if dependents::any(store, &PEOPLE, &PEOPLE_BY_ORGANIZATION, id).await? {
        return Err(has_people());
    }
    // The queries above find what was written before counters existed; the counters' zero
    // conditions catch an account or team created while this delete is under way.
    let retire = [
        Dependents::OrganizationAccounts.retire(id),
        Dependents::OrganizationTeams.retire(id),
        Dependents::OrganizationPeople.retire(id),
    ];
    let change = Change::remove(&ORGANIZATIONS, &item, &organization::uniques(&item)).with(retire);
    match change.commit(store).await {
        Err(Error::Conflict(_)) if Dependents::OrganizationAccounts.count(store, id).await? > 0 => Err(has_accounts()),
        Err(Error::Conflict(_)) if Dependents::OrganizationTeams.count(store, id).await? > 0 => Err(has_teams()),
        Err(Error::Conflict(_)) if Dependents::OrganizationPeople.count(store, id).await? > 0 => Err(has_people()),
        other => other.map(drop),
    }
}

/// Creates `item` of `def` (teams, people) in the organization it names: the caller must be
/// allowed to create it there, the organization must exist when the write commits, and
/// `counter` counts the item in it, so that the organization's delete cannot race the create.
pub async fn insert_into(
    state: &AppState,
    principal: &Principal,
    def: &'static ResourceDef,
    item: Item,
    counter: Dependents,
    uniques: Vec<crate::records::Unique>,
) -> Result<Item> {
    principal.check_create(def, &item)?;
    let store = state.store.as_ref();
    let org = item.get("organization_id").and_then(serde_json::Value::as_str).unwrap_or_default().to_string();
    let checks = [organization::must_exist(store, &org).await?, counter.change(&org, 1)];
    Change::insert(def.table, item, uniques).with(checks).commit(store).await
}
