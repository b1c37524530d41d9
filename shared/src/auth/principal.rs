//! The principal of a request: who the bearer token says, checked against a live session on
//! every request, with the grants read fresh so that role changes apply at once.

use serde_json::Value;
use time::OffsetDateTime;

use super::jwt::TokenKeys;
use crate::error::{Error, Result};
use crate::links;
use crate::permissions::{self, Grant, Scope, ScopeKind};
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
        let dead = Error::Unauthorized("the session has ended");
        let session = store.get(&SESSIONS, &claims.sid).await?.ok_or(dead)?;
        if !super::session::is_live(&session, &claims.sub, now) {
            return Err(Error::Unauthorized("the session has ended"));
        }
        let account = store.get(&ACCOUNTS, &claims.sub).await?.ok_or(Error::Unauthorized("the account is gone"))?;
        if !crate::model::account::is_usable(&account, now) {
            return Err(Error::Unauthorized("the account is disabled or expired"));
        }
        let organization_id = account.get("organization_id").and_then(Value::as_str).map(str::to_string);
        let grants = grants_of(store, &account, organization_id.as_deref()).await?;
        let teams = links::entries(&account, &links::TEAMS)
            .filter_map(|e| e.get("team_id").and_then(Value::as_str).map(str::to_string))
            .collect();
        Ok(Principal { account_id: claims.sub, session_id: claims.sid, organization_id, grants, teams })
    }
}

/// The grants of an account's embedded role assignments. Built-in roles are known by name;
/// custom roles are read (one batch), so that a change to their permissions applies at once.
pub async fn grants_of(store: &dyn Store, account: &Item, organization: Option<&str>) -> Result<Vec<Grant>> {
    let entries: Vec<_> = links::entries(account, &links::ROLES).collect();
    let text = |e: &serde_json::Map<String, Value>, k: &str| e.get(k).and_then(Value::as_str).map(str::to_string);
    let custom: Vec<String> = entries
        .iter()
        .filter(|e| permissions::built_in(&text(e, "role_name").unwrap_or_default()).is_none())
        .filter_map(|e| text(e, "role_id"))
        .collect();
    let roles = if custom.is_empty() { vec![] } else { store.batch_get(&ROLES, &custom).await? };
    let mut grants = Vec::new();
    for e in entries {
        let name = text(e, "role_name").unwrap_or_default();
        let (kind, permissions) = match permissions::built_in(&name) {
            Some(role) => (role.scope, role.permissions.to_vec()),
            None => {
                let Some(role) =
                    roles.iter().find(|r| r.get("id").and_then(Value::as_str) == text(e, "role_id").as_deref())
                else {
                    continue;
                };
                let kind = role.get("scope").and_then(Value::as_str).and_then(ScopeKind::parse);
                let Some(kind) = kind else { continue };
                let perms = permissions::parse_all(role.get("permissions").unwrap_or(&Value::Null));
                (kind, perms.into_iter().filter(|p| kind.allows(*p)).collect())
            }
        };
        let scope = match (kind, text(e, "scope_id"), organization) {
            (ScopeKind::Global, None, _) => Scope::Global,
            (ScopeKind::Organization, Some(org), _) => Scope::Organization(org),
            (ScopeKind::Team, Some(team), Some(org)) => Scope::Team(team, org.to_string()),
            // A misplaced assignment grants nothing.
            _ => continue,
        };
        grants.push(Grant { role: name, scope, permissions });
    }
    Ok(grants)
}
