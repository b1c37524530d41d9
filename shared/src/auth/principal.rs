//! The principal of a request: who the bearer token says, checked against a live session on
//! every request, with the grants read fresh so that role changes apply at once.

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use serde_json::Value;

use super::permissions::{Grant, Permission, Scope};
use crate::app::AppState;
use crate::error::{Error, Result};
use crate::model::role_assignment;
use crate::store::schema::{ACCOUNTS, SESSIONS};

#[derive(Debug, Clone)]
pub struct Principal {
    pub account_id: String,
    pub session_id: String,
    pub organization_id: Option<String>,
    pub grants: Vec<Grant>,
}

impl Principal {
    /// Holds `permission` everywhere.
    pub fn is_global(&self, permission: Permission) -> bool {
        self.grants.iter().any(|g| g.scope == Scope::Global && g.permissions.contains(&permission))
    }

    /// Holds `permission` for organization `org` (globally, or in that organization).
    pub fn may(&self, permission: Permission, org: &str) -> bool {
        self.grants.iter().any(|g| {
            g.permissions.contains(&permission)
                && match &g.scope {
                    Scope::Global => true,
                    Scope::Organization(o) => o == org,
                }
        })
    }

    /// The organizations where `permission` is held (meaningless when it is held globally).
    pub fn organizations_with(&self, permission: Permission) -> Vec<String> {
        let mut orgs: Vec<String> = self
            .grants
            .iter()
            .filter(|g| g.permissions.contains(&permission))
            .filter_map(|g| match &g.scope {
                Scope::Organization(o) => Some(o.clone()),
                Scope::Global => None,
            })
            .collect();
        orgs.sort();
        orgs.dedup();
        orgs
    }

    /// Authenticates an `Authorization: Bearer` header value.
    pub async fn authenticate(state: &AppState, authorization: Option<&str>) -> Result<Principal> {
        let token = authorization
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(Error::Unauthorized("a bearer token is required"))?;
        let now = state.clock.now();
        let claims = state.keys.verify(token, now)?;
        let dead = Error::Unauthorized("the session has ended");
        let session = state.store.get(&SESSIONS, &claims.sid).await?.ok_or(dead)?;
        if !super::session::is_live(&session, &claims.sub, now) {
            return Err(Error::Unauthorized("the session has ended"));
        }
        let account =
            state.store.get(&ACCOUNTS, &claims.sub).await?.ok_or(Error::Unauthorized("the account is gone"))?;
        if !crate::model::account::is_usable(&account, now) {
            return Err(Error::Unauthorized("the account is disabled or expired"));
        }
        let grants = role_assignment::of_account(state.store.as_ref(), &claims.sub)
            .await?
            .iter()
            .filter_map(Grant::from_assignment)
            .collect();
        Ok(Principal {
            account_id: claims.sub,
            session_id: claims.sid,
            organization_id: account.get("organization_id").and_then(Value::as_str).map(str::to_string),
            grants,
        })
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        Principal::authenticate(state, header).await
    }
}
