//! Roles (built-in, read-only; custom ones are the operators') and role assignments: who holds
//! which role where. Nobody grants more than it holds (`auth::policy`); an assignment is
//! written together with its account (`links`); the last root admin stays.

use serde_json::Value;

use super::load::{Edit, IfMatch};
use super::root_admins;
use crate::app::AppState;
use crate::auth::{Permission, Principal};
use crate::counters::Dependents;
use crate::error::{Error, Result};
use crate::jsonapi::request_attributes;
use crate::links;
use crate::model::account::{self, Account};
use crate::model::new_id;
use crate::model::role::{self, Role};
use crate::model::role_assignment::{self, Assignment};
use crate::model::team::{self, Team};
use crate::permissions::{Scope, ScopeKind, built_in};
use crate::records::{self, Change};
use crate::resource::ResourceDef;
use crate::store::schema::{ACCOUNTS, ROLES, TEAMS};
use crate::store::{Condition, Item, Store, Write};

const ROLE: &ResourceDef = &role::RESOURCE;
const ASSIGNMENT: &ResourceDef = &role_assignment::RESOURCE;

/// Role `id`: the catalog is readable with `roles:read` anywhere (403 without).
pub async fn load(state: &AppState, principal: &Principal, id: &str) -> Result<Item> {
    principal.require(Permission::RolesRead)?;
    records::load(state.store.as_ref(), &ROLES, id).await
}

/// Role `id` for a change: writable (403), custom (403 for built-in roles, which are part of
/// the contract), and as `If-Match` says (412).
async fn load_custom(state: &AppState, principal: &Principal, id: &str, if_match: &IfMatch) -> Result<Item> {
    let item = load(state, principal, id).await?;
    principal.check_write(ROLE, &item)?;
    if Role::parse(&item).built_in {
        return Err(Error::Forbidden("built-in roles cannot be changed".into()));
    }
    if_match.check(&item)?;
    Ok(item)
}

pub async fn create(state: &AppState, principal: &Principal, body: &Value) -> Result<Item> {
    principal.require_global(Permission::RolesWrite)?;
    let attributes = request_attributes(body, ROLE, None)?;
    let item = role::create(attributes, new_id(), &state.timestamp())?;
    let uniques = role::uniques(&item);
    Change::insert(&ROLES, item, uniques).commit(state.store.as_ref()).await
}

fn role_assigned() -> Error {
    Error::conflict(None, "role_assigned", "the role is assigned; remove its assignments first")
}

/// A conflict on a delete or rename that the holders' counter guarded is `role_assigned` when
/// the role was assigned meanwhile.
async fn assigned_meanwhile<T>(store: &dyn Store, role_id: &str, written: Result<T>) -> Result<T> {
    match written {
        Err(Error::Conflict(_)) if Dependents::RoleHolders.count(store, role_id).await? > 0 => Err(role_assigned()),
        other => other,
    }
}

pub async fn update(state: &AppState, principal: &Principal, edit: Edit<'_>) -> Result<Item> {
    let (store, id) = (state.store.as_ref(), edit.id);
    let old = load_custom(state, principal, id, edit.if_match).await?;
    let attributes = edit.attributes(ROLE)?;
    let new = role::update(&old, attributes, &state.timestamp())?;
    // Assignments name the role and were checked against its scope: both stay while assigned.
    let (before, after) = (Role::parse(&old), Role::parse(&new));
    let renamed = before.name != after.name || before.scope != after.scope;
    if renamed && role_assignment::anyone_holds(store, &before.name).await? {
        return Err(role_assigned());
    }
    // An assignment created while the rename is under way makes the rename fail.
    let unassigned = renamed.then(|| Dependents::RoleHolders.none(id));
    let change = Change::revise(&ROLES, &old, new, role::uniques).with(unassigned);
    assigned_meanwhile(store, id, change.commit(store).await).await
}

pub async fn remove(state: &AppState, principal: &Principal, id: &str, if_match: &IfMatch) -> Result<()> {
    let store = state.store.as_ref();
    let item = load_custom(state, principal, id, if_match).await?;
    if role_assignment::anyone_holds(store, &Role::parse(&item).name).await? {
        return Err(role_assigned());
    }
    let change = Change::remove(&ROLES, &item, &role::uniques(&item)).with([Dependents::RoleHolders.retire(id)]);
    assigned_meanwhile(store, id, change.commit(store).await).await.map(drop)
}

fn invalid(attribute: &str, code: &str, detail: &str) -> Error {
    Error::invalid_attribute(attribute, code, detail)
}

/// Where a role of `kind` given to `account` applies: the scope, and the checks that what it
/// names still exists when the assignment commits.
async fn resolve_scope(
    state: &AppState,
    principal: &Principal,
    kind: ScopeKind,
    scope_id: Option<String>,
    account: &Account,
) -> Result<(Scope, Vec<Write>)> {
    let org = account.organization_id.as_deref();
    let mismatch = || invalid("scope_id", "scope_mismatch", "scope_id must be in the account's organization");
    match (kind, scope_id) {
        (ScopeKind::Global, None) => Ok((Scope::Global, vec![])),
        (ScopeKind::Global, Some(_)) => Err(invalid("scope_id", "not_scoped", "a global role takes no scope_id")),
        (ScopeKind::Organization, given) => {
            let Some(org) = org else {
                return Err(invalid("account_id", "no_organization", "the account belongs to no organization"));
            };
            if given.as_deref().is_some_and(|g| g != org) {
                return Err(mismatch());
            }
            Ok((Scope::Organization(org.to_string()), vec![]))
        }
        (ScopeKind::Team, None) => Err(invalid("scope_id", "required", "a team role needs the team's id as scope_id")),
        (ScopeKind::Team, Some(team_id)) => {
            let team = state.store.get(&TEAMS, &team_id).await?;
            let team = team
                .filter(|t| principal.may_read(&team::RESOURCE, t))
                .ok_or_else(|| invalid("scope_id", "unknown_team", "scope_id names no team you can see"))?;
            let team_org = Team::parse(&team).organization_id.unwrap_or_default();
            if Some(team_org.as_str()) != org {
                return Err(mismatch());
            }
            let check = Write::Check { table: &TEAMS, id: team_id.clone(), condition: Condition::Exists };
            Ok((Scope::Team(team_id, team_org), vec![check]))
        }
    }
}

/// Gives an account a role at a scope, if the caller may grant it there.
pub async fn assign(state: &AppState, principal: &Principal, body: &Value) -> Result<Item> {
    if !principal.holds_anywhere(Permission::AccountsWrite) && !principal.holds_anywhere(Permission::TeamsWrite) {
        return Err(Error::Forbidden("you may not grant roles".into()));
    }
    let request = role_assignment::parse_request(request_attributes(body, ASSIGNMENT, None)?)?;
    let store = state.store.as_ref();
    let role = role::find_by_name(store, &request.role_name)
        .await?
        .ok_or_else(|| invalid("role_name", "unknown_role", "role_name names no role"))?;
    let account = store
        .get(&ACCOUNTS, &request.account_id)
        .await?
        .filter(|a| principal.may_read(&account::RESOURCE, a))
        .ok_or_else(|| invalid("account_id", "unknown_account", "account_id names no account you can see"))?;
    let holder = Account::parse(&account);
    let role = Role::parse(&role);
    let kind = role.scope.ok_or_else(|| Error::unexpected(anyhow::anyhow!("role without a scope")))?;
    let (scope, mut checks) = resolve_scope(state, principal, kind, request.scope_id, &holder).await?;
    principal.check_grant(&role.permissions, &scope)?;
    if role_assignment::holds_global_role(&account) && !principal.is_global(Permission::AccountsWrite) {
        return Err(Error::Forbidden("only a global administrator changes an account with a global role".into()));
    }
    let assignment = Assignment {
        id: new_id(),
        account_id: request.account_id,
        role_id: role.id,
        role_name: role.name,
        scope: kind,
        scope_id: match &scope {
            Scope::Global => None,
            Scope::Organization(id) | Scope::Team(id, _) => Some(id.clone()),
        },
        organization_id: holder.organization_id,
    };
    checks.push(Write::Check { table: &ROLES, id: assignment.role_id.clone(), condition: Condition::Exists });
    let item = assignment.item(&state.timestamp());
    links::create(store, &links::ROLES, &account, item, assignment.entry(), checks).await
}

/// Revokes assignment `id`: that needs the right to grant the same role there; the last root
/// admin stays.
pub async fn revoke(state: &AppState, principal: &Principal, id: &str) -> Result<()> {
    let store = state.store.as_ref();
    let item = principal.load_readable(store, ASSIGNMENT, id, state.now()).await?;
    let held = role_assignment::Held::parse(&item);
    let permissions = match built_in(&held.role_name) {
        Some(r) => r.permissions.to_vec(),
        None => store.get(&ROLES, &held.role_id).await?.map_or_else(Vec::new, |r| Role::parse(&r).permissions),
    };
    principal.check_grant(&permissions, &held.scope)?;
    let mut extra = Vec::new();
    if held.role_name == role_assignment::ROOT_ADMIN && held.scope == Scope::Global {
        extra.extend(root_admins::another_remains(store, &held.account_id, state.now()).await?);
    }
    links::delete(store, &links::ROLES, &item, extra).await
}
