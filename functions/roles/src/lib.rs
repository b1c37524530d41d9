//! The roles function: the role catalog (`/roles`: built-in roles, read-only, and custom ones)
//! and role assignments (`/role_assignments`: who holds which role where). Who may grant what
//! is decided by `auth::policy`; an assignment is written together with its account (`links`).

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use iam_shared::auth::permissions::{Scope, ScopeKind, built_in};
use iam_shared::auth::{Permission, Principal};
use iam_shared::counters::Dependents;
use iam_shared::http::{JsonBody, ResourceId, check_if_match, resource_response, show_readable, show_response};
use iam_shared::jsonapi::request_attributes;
use iam_shared::model::role_assignment::{self, Assignment};
use iam_shared::model::{account, new_id, role, team};
use iam_shared::resource::ResourceDef;
use iam_shared::store::schema::{ACCOUNTS, ROLES, TEAMS};
use iam_shared::store::{Condition, Item, Write};
use iam_shared::{AppState, Error, Result, links, listing, records};
use serde_json::Value;

const ROLE: &ResourceDef = &role::RESOURCE;
const ASSIGNMENT: &ResourceDef = &role_assignment::RESOURCE;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v3/iam/roles", get(list_roles).post(create_role))
        .route("/api/v3/iam/roles/{id}", get(show_role).patch(update_role).delete(remove_role))
        .route("/api/v3/iam/role_assignments", get(list_assignments).post(create_assignment))
        .route("/api/v3/iam/role_assignments/{id}", get(show_assignment).delete(remove_assignment))
}

async fn list_roles(State(state): State<AppState>, principal: Principal, RawQuery(raw): RawQuery) -> Result<Response> {
    principal.require(Permission::RolesRead)?;
    listing::respond(&state, &principal, ROLE, raw.as_deref(), |_| Ok(())).await
}

async fn load_role(state: &AppState, principal: &Principal, id: &str) -> Result<Item> {
    principal.require(Permission::RolesRead)?;
    records::load(state.store.as_ref(), &ROLES, id).await
}

async fn show_role(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let item = load_role(&state, &principal, &id).await?;
    show_response(ROLE, &item, &state, &principal, raw.as_deref()).await
}

async fn create_role(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    principal.require_global(Permission::RolesWrite)?;
    let attributes = request_attributes(&body, ROLE, None)?;
    let item = role::create(attributes, new_id(), &state.timestamp())?;
    let uniques = role::uniques(&item);
    let item = records::insert(state.store.as_ref(), &ROLES, item, &uniques, vec![]).await?;
    Ok(resource_response(StatusCode::CREATED, ROLE, &item, &state))
}

/// 403 for built-in roles, which are part of the contract.
fn check_custom(item: &Item) -> Result<()> {
    if role::is_built_in(item) { Err(Error::Forbidden("built-in roles cannot be changed".into())) } else { Ok(()) }
}

fn role_assigned() -> Error {
    Error::conflict(None, "role_assigned", "the role is assigned; remove its assignments first")
}

async fn update_role(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    let old = load_role(&state, &principal, &id).await?;
    principal.check_write(ROLE, &old)?;
    check_custom(&old)?;
    check_if_match(&headers, &old)?;
    let attributes = request_attributes(&body, ROLE, Some(&id))?;
    let new = role::update(&old, attributes, &state.timestamp())?;
    // Assignments name the role and were checked against its scope: both stay while assigned.
    let renamed = role::name_of(&old) != role::name_of(&new) || role::scope_of(&old) != role::scope_of(&new);
    if renamed && role_assignment::anyone_holds(state.store.as_ref(), role::name_of(&old)).await? {
        return Err(role_assigned());
    }
    let (old_uniques, new_uniques) = (role::uniques(&old), role::uniques(&new));
    // An assignment created while the rename is under way makes the rename fail.
    let unassigned = if renamed { vec![Dependents::RoleHolders.none(&id)] } else { vec![] };
    let store = state.store.as_ref();
    let written = records::replace_with(store, &ROLES, &old, new, &old_uniques, &new_uniques, unassigned).await;
    let item = assigned_meanwhile(state.store.as_ref(), &id, written).await?;
    Ok(resource_response(StatusCode::OK, ROLE, &item, &state))
}

async fn remove_role(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
) -> Result<StatusCode> {
    let item = load_role(&state, &principal, &id).await?;
    principal.check_write(ROLE, &item)?;
    check_custom(&item)?;
    check_if_match(&headers, &item)?;
    if role_assignment::anyone_holds(state.store.as_ref(), role::name_of(&item)).await? {
        return Err(role_assigned());
    }
    let retire = vec![Dependents::RoleHolders.retire(&id)];
    let removed = records::remove(state.store.as_ref(), &ROLES, &item, &role::uniques(&item), retire).await;
    assigned_meanwhile(state.store.as_ref(), &id, removed).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A conflict on a delete or rename that the holders' counter guarded is `role_assigned` when
/// the role was assigned meanwhile.
async fn assigned_meanwhile<T>(store: &dyn iam_shared::store::Store, role_id: &str, written: Result<T>) -> Result<T> {
    match written {
        Err(Error::Conflict(_)) if Dependents::RoleHolders.count(store, role_id).await? > 0 => Err(role_assigned()),
        other => other,
    }
}

async fn list_assignments(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    listing::respond(&state, &principal, ASSIGNMENT, raw.as_deref(), |_| Ok(())).await
}

async fn load_assignment(state: &AppState, principal: &Principal, id: &str) -> Result<Item> {
    principal.load_readable(state.store.as_ref(), ASSIGNMENT, id, state.now()).await
}

async fn show_assignment(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    show_readable(ASSIGNMENT, &id, &state, &principal, raw.as_deref()).await
}

fn invalid(attribute: &str, code: &str, detail: &str) -> Error {
    Error::invalid_attribute(attribute, code, detail)
}

fn text<'a>(item: &'a Item, key: &str) -> Option<&'a str> {
    item.get(key).and_then(Value::as_str)
}

/// Where a role of `kind` given to `account` applies: the scope, and the checks that what it
/// names still exists when the assignment commits.
async fn resolve_scope(
    state: &AppState,
    principal: &Principal,
    kind: ScopeKind,
    scope_id: Option<String>,
    account: &Item,
) -> Result<(Scope, Vec<Write>)> {
    let org = text(account, "organization_id");
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
            let team_org = team::organization_of(&team).unwrap_or_default().to_string();
            if Some(team_org.as_str()) != org {
                return Err(mismatch());
            }
            let check = Write::Check { table: &TEAMS, id: team_id.clone(), condition: Condition::Exists };
            Ok((Scope::Team(team_id, team_org), vec![check]))
        }
    }
}

async fn create_assignment(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    if !principal.holds_anywhere(Permission::AccountsWrite) && !principal.holds_anywhere(Permission::TeamsWrite) {
        return Err(Error::Forbidden("you may not grant roles".into()));
    }
    let request = role_assignment::parse_request(request_attributes(&body, ASSIGNMENT, None)?)?;
    let store = state.store.as_ref();
    let role = role::find_by_name(store, &request.role_name)
        .await?
        .ok_or_else(|| invalid("role_name", "unknown_role", "role_name names no role"))?;
    let account = store
        .get(&ACCOUNTS, &request.account_id)
        .await?
        .filter(|a| principal.may_read(&account::RESOURCE, a))
        .ok_or_else(|| invalid("account_id", "unknown_account", "account_id names no account you can see"))?;
    let kind = role::scope_of(&role).ok_or_else(|| Error::unexpected(anyhow::anyhow!("role without a scope")))?;
    let (scope, mut checks) = resolve_scope(&state, &principal, kind, request.scope_id, &account).await?;
    principal.check_grant(&role::permissions_of(&role), &scope)?;
    if role_assignment::holds_global_role(&account) && !principal.is_global(Permission::AccountsWrite) {
        return Err(Error::Forbidden("only a global administrator changes an account with a global role".into()));
    }
    let assignment = Assignment {
        id: new_id(),
        account_id: request.account_id,
        role_id: records::id_of(&role).to_string(),
        role_name: role::name_of(&role).to_string(),
        scope: kind,
        scope_id: match &scope {
            Scope::Global => None,
            Scope::Organization(id) | Scope::Team(id, _) => Some(id.clone()),
        },
        organization_id: text(&account, "organization_id").map(str::to_string),
    };
    checks.push(Write::Check { table: &ROLES, id: assignment.role_id.clone(), condition: Condition::Exists });
    let item = assignment.item(&state.timestamp());
    let item = links::create(store, &links::ROLES, &account, item, assignment.entry(), checks).await?;
    Ok(resource_response(StatusCode::CREATED, ASSIGNMENT, &item, &state))
}

/// Revoking needs the right to grant the same role there; the last root admin stays.
async fn remove_assignment(
    State(state): State<AppState>,
    principal: Principal,
    ResourceId(id): ResourceId,
) -> Result<StatusCode> {
    let item = load_assignment(&state, &principal, &id).await?;
    let store = state.store.as_ref();
    let role_name = text(&item, "role_name").unwrap_or_default();
    let permissions = match built_in(role_name) {
        Some(r) => r.permissions.to_vec(),
        None => store
            .get(&ROLES, text(&item, "role_id").unwrap_or_default())
            .await?
            .map_or_else(Vec::new, |r| role::permissions_of(&r)),
    };
    let org = text(&item, "organization_id").unwrap_or_default().to_string();
    let scope = match (text(&item, "scope"), text(&item, "scope_id")) {
        (Some("organization"), Some(o)) => Scope::Organization(o.to_string()),
        (Some("team"), Some(t)) => Scope::Team(t.to_string(), org),
        _ => Scope::Global,
    };
    principal.check_grant(&permissions, &scope)?;
    let mut extra = Vec::new();
    if role_name == "root_admin" && scope == Scope::Global {
        let account_id = text(&item, "account_id").unwrap_or_default();
        extra.push(role_assignment::another_root_admin_remains(store, account_id).await?);
    }
    links::delete(store, &links::ROLES, &item, extra).await?;
    Ok(StatusCode::NO_CONTENT)
}
