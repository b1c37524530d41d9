//! The principal of a request: who the bearer token says, checked against a live session on
//! every request, with the grants read fresh so that role changes apply at once.

use time::OffsetDateTime;

use super::jwt::TokenKeys;
use crate::error::{Error, Result};
use crate::links;
use crate::model::account::Account;
use crate::model::role::Role;
use crate::permissions::{self, Grant, Scope, ScopeKind};
use crate::records;
use crate::store::schema::{ACCOUNTS, ROLES, SESSIONS};
use crate::store::{Item, Store};

#[derive(Debug, Clone)]
pub struct Principal {
    pub account_id: String,
    pub session_id: String,
    pub organization_id: Option<String>,
    pub grants: Vec<Grant>,
    /// The teams the account is in.
    pub teams: Vec<String>,
}

impl Principal {
    /// Authenticates an `Authorization: Bearer` header value.
    pub async fn authenticate(
        store: &dyn Store,
        keys: &TokenKeys,
        authorization: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Principal> {
        let token = authorization
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(Error::Unauthorized("a bearer token is required"))?;
        let claims = keys.verify(token, now)?;
        let dead = Error::InvalidToken("the session has ended");
        let session = store.get(&SESSIONS, &claims.sid).await?.ok_or(dead)?;
        if !super::session::is_live(&session, &claims.sub, now) {
            return Err(Error::InvalidToken("the session has ended"));
        }
        let account = store.get(&ACCOUNTS, &claims.sub).await?.ok_or(Error::InvalidToken("the account is gone"))?;
        let known = Account::parse(&account);
        if !known.is_usable(now) {
            return Err(Error::InvalidToken("the account is disabled or expired"));
        }
        let organization_id = known.organization_id;
        let grants = grants_of(store, &account, organization_id.as_deref()).await?;
        let teams = links::teams_of(&account);
        Ok(Principal { account_id: claims.sub, session_id: claims.sid, organization_id, grants, teams })
    }
}

/// The grants of an account's embedded role assignments. Built-in roles are known by name;
/// custom roles are read (one batch), so that a change to their permissions applies at once.
pub async fn grants_of(store: &dyn Store, account: &Item, organization: Option<&str>) -> Result<Vec<Grant>> {
    let held = links::roles_of(account);
    let custom: Vec<String> = held
        .iter()
        .filter(|e| permissions::built_in(&e.role_name).is_none() && !e.role_id.is_empty())
        .map(|e| e.role_id.clone())
        .collect();
    let roles = if custom.is_empty() { vec![] } else { store.batch_get(&ROLES, &custom).await? };
    let mut grants = Vec::new();
    for e in held {
        let (kind, permissions) = match permissions::built_in(&e.role_name) {
            Some(role) => (role.scope, role.permissions.to_vec()),
            None => {
                let Some(role) = roles.iter().find(|r| !e.role_id.is_empty() && records::id_of(r) == e.role_id) else {
                    continue;
                };
                let role = Role::parse(role);
                let Some(kind) = role.scope else { continue };
                (kind, role.permissions.into_iter().filter(|p| kind.allows(*p)).collect())
            }
        };
        let scope = match (kind, e.scope_id, organization) {
            (ScopeKind::Global, None, _) => Scope::Global,
            (ScopeKind::Organization, Some(org), _) => Scope::Organization(org),
            (ScopeKind::Team, Some(team), Some(org)) => Scope::Team(team, org.to_string()),
            // A misplaced assignment grants nothing.
            _ => continue,
        };
        grants.push(Grant { role: e.role_name, scope, permissions });
    }
    Ok(grants)
}
