//! Teams and who is in them. A membership is written together with its account (`links`);
//! deleting a team removes its memberships and the roles held in it, then the team.

use serde_json::Value;

use super::load::{Edit, IfMatch, for_write};
use super::organizations;
use crate::app::AppState;
use crate::auth::{Permission, Principal};
use crate::counters::Dependents;
use crate::error::{Error, Result};
use crate::jsonapi::request_attributes;
use crate::links;
use crate::model::account::{self, Account};
use crate::model::team::{self, Team};
use crate::model::{new_id, team_membership};
use crate::records::Change;
use crate::resource::ResourceDef;
use crate::store::schema::{
    ACCOUNTS, ROLE_ASSIGNMENTS, ROLE_ASSIGNMENTS_BY_SCOPE, TEAM_MEMBERSHIPS, TEAM_MEMBERSHIPS_BY_TEAM, TEAMS,
};
use crate::store::{Condition, Item, Query, Write, query_all};

const TEAM: &ResourceDef = &team::RESOURCE;
const MEMBERSHIP: &ResourceDef = &team_membership::RESOURCE;

pub async fn create(state: &AppState, principal: &Principal, body: &Value) -> Result<Item> {
    principal.require(Permission::TeamsWrite)?;
    let attributes = request_attributes(body, TEAM, None)?;
    let item = team::create(attributes, new_id(), &state.timestamp(), principal.organization_id.as_deref())?;
    let uniques = team::uniques(&item);
    organizations::insert_into(state, principal, TEAM, item, Dependents::OrganizationTeams, uniques).await
}

pub async fn update(state: &AppState, principal: &Principal, edit: Edit<'_>) -> Result<Item> {
    let (old, attributes) = edit.load(state, principal, TEAM).await?;
    let new = team::update(&old, attributes, &state.timestamp())?;
    Change::revise(&TEAMS, &old, new, team::uniques).commit(state.store.as_ref()).await
}

/// Removes the team's memberships and the role assignments scoped to it, each with its
/// account, then the team. Interrupted, it leaves a smaller team, and a retry finishes it.
pub async fn remove(state: &AppState, principal: &Principal, id: &str, if_match: &IfMatch) -> Result<()> {
    let store = state.store.as_ref();
    let item = for_write(store, principal, TEAM, id, if_match, state.now()).await?;
    let members = query_all(store, Query::partition(&TEAM_MEMBERSHIPS, &TEAM_MEMBERSHIPS_BY_TEAM, id)).await?;
    for membership in &members {
        unlink_if_present(links::delete(store, &links::TEAMS, membership, vec![]).await)?;
    }
    let roles = query_all(store, Query::partition(&ROLE_ASSIGNMENTS, &ROLE_ASSIGNMENTS_BY_SCOPE, id)).await?;
    for assignment in &roles {
        unlink_if_present(links::delete(store, &links::ROLES, assignment, vec![]).await)?;
    }
    let leaving = Team::parse(&item).organization_id.map(|org| Dependents::OrganizationTeams.change(&org, -1));
    Change::remove(&TEAMS, &item, &team::uniques(&item)).with(leaving).commit(store).await?;
    tracing::info!(team_id = %id, memberships = members.len(), role_assignments = roles.len(), "team deleted");
    Ok(())
}

/// A link another request removed meanwhile is as good as removed.
fn unlink_if_present(result: Result<()>) -> Result<()> {
    match result {
        Err(Error::NotFound) => Ok(()),
        other => other,
    }
}

/// Puts an account the caller can see in a team of its organization the caller can see.
pub async fn add_member(state: &AppState, principal: &Principal, body: &Value) -> Result<Item> {
    principal.require(Permission::TeamsWrite)?;
    let (team_id, account_id) = team_membership::parse_request(request_attributes(body, MEMBERSHIP, None)?)?;
    let store = state.store.as_ref();
    let unknown = |name: &str, what: &str| {
        Error::invalid_attribute(name, &format!("unknown_{what}"), format!("{name} names no {what} you can see"))
    };
    let team = store.get(&TEAMS, &team_id).await?.filter(|t| principal.may_read(TEAM, t));
    let team = team.ok_or_else(|| unknown("team_id", "team"))?;
    let account = store.get(&ACCOUNTS, &account_id).await?.filter(|a| principal.may_read(&account::RESOURCE, a));
    let account = account.ok_or_else(|| unknown("account_id", "account"))?;
    let org = Team::parse(&team).organization_id.unwrap_or_default();
    if Account::parse(&account).organization_id.as_deref() != Some(org.as_str()) {
        return Err(Error::invalid_attribute(
            "account_id",
            "organization_mismatch",
            "the account and the team are in different organizations",
        ));
    }
    let id = new_id();
    let item = team_membership::item(&id, &team_id, &account_id, &org, &state.timestamp());
    principal.check_create(MEMBERSHIP, &item)?;
    let check = Write::Check { table: &TEAMS, id: team_id.clone(), condition: Condition::Exists };
    let entry = team_membership::entry(&id, &team_id);
    links::create(store, &links::TEAMS, &account, item, entry, vec![check]).await
}

/// Takes an account out of a team (the caller may see the membership and change the team).
pub async fn remove_member(state: &AppState, principal: &Principal, id: &str) -> Result<()> {
    let store = state.store.as_ref();
    let item = principal.load_readable(store, MEMBERSHIP, id, state.now()).await?;
    principal.check_write(MEMBERSHIP, &item)?;
    links::delete(store, &links::TEAMS, &item, vec![]).await
}
