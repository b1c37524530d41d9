//! The resources as the HTTP layer's generic handlers serve them (`http::handlers`): each one's
//! catalog, who may list it, how one is loaded for a `GET`, and which use-cases create, change
//! and delete it. A function's router names a resource and the routes it offers; what each
//! route does is here, once.

use std::future::Future;

use serde_json::Value;

use super::load::{Edit, IfMatch};
use super::{accounts, organizations, people, roles, sessions, teams};
use crate::app::AppState;
use crate::auth::{Permission, Principal};
use crate::error::{Error, Result};
use crate::model::{account, account_session, organization, person, role, role_assignment, team, team_membership};
use crate::query::{Expr, ListQuery, Op};
use crate::resource::ResourceDef;
use crate::store::Item;

/// A resource that is listed and shown.
pub trait Resource: 'static {
    const DEF: &'static ResourceDef;

    /// Checked before the query string is read, so that a caller who may not list gets 403
    /// whatever it asked.
    fn may_list(_principal: &Principal) -> Result<()> {
        Ok(())
    }

    /// A listing compares one of the catalog's `listed_by` fields for equality, when it names any.
    fn check_query(q: &ListQuery) -> Result<()> {
        let needed = Self::DEF.listed_by;
        let keyed = q.filter.conjuncts().iter().any(|c| {
            matches!(c, Expr::Cmp { field, op: Op::Eq | Op::In, values } if needed.contains(field) && !values.is_empty())
        });
        if needed.is_empty() || keyed {
            return Ok(());
        }
        let named: Vec<String> = needed.iter().map(|f| format!("filter[{f}]")).collect();
        Err(Error::bad_parameter("filter", "filter_required", format!("{} is required", named.join(" or "))))
    }

    /// What `GET /TYPE/{id}` shows: the item if the caller may read it, else 404 (a lapsed one
    /// included).
    fn load(state: &AppState, principal: &Principal, id: &str) -> impl Future<Output = Result<Item>> + Send {
        async move { principal.load_readable(state.store.as_ref(), Self::DEF, id, state.now()).await }
    }
}

/// A resource created from a request document.
pub trait Creates: Resource {
    fn create(state: &AppState, principal: &Principal, body: &Value) -> impl Future<Output = Result<Item>> + Send;
}

/// A resource changed by a request document, under `If-Match`.
pub trait Updates: Resource {
    fn update(state: &AppState, principal: &Principal, edit: Edit<'_>) -> impl Future<Output = Result<Item>> + Send;
}

/// A resource deleted by id (under `If-Match` where the resource has versions to match).
pub trait Removes: Resource {
    fn remove(
        state: &AppState,
        principal: &Principal,
        id: &str,
        if_match: &IfMatch,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// `$resource` is created by the use-case `$create(state, principal, body)`.
macro_rules! creates {
    ($resource:ty, $create:path) => {
        impl Creates for $resource {
            fn create(
                state: &AppState,
                principal: &Principal,
                body: &Value,
            ) -> impl Future<Output = Result<Item>> + Send {
                $create(state, principal, body)
            }
        }
    };
}

/// `$resource` is changed by the use-case `$update(state, principal, edit)`.
macro_rules! updates {
    ($resource:ty, $update:path) => {
        impl Updates for $resource {
            fn update(
                state: &AppState,
                principal: &Principal,
                edit: Edit<'_>,
            ) -> impl Future<Output = Result<Item>> + Send {
                $update(state, principal, edit)
            }
        }
    };
}

/// `$resource` is deleted by the use-case `$remove(state, principal, id, if_match)`; with
/// `unversioned`, by `$remove(state, principal, id)`, `If-Match` not consulted (the item has no
/// version a client could match).
macro_rules! removes {
    ($resource:ty, $remove:path) => {
        impl Removes for $resource {
            fn remove(
                state: &AppState,
                principal: &Principal,
                id: &str,
                if_match: &IfMatch,
            ) -> impl Future<Output = Result<()>> + Send {
                $remove(state, principal, id, if_match)
            }
        }
    };
    ($resource:ty, unversioned $remove:path) => {
        impl Removes for $resource {
            fn remove(
                state: &AppState,
                principal: &Principal,
                id: &str,
                _: &IfMatch,
            ) -> impl Future<Output = Result<()>> + Send {
                $remove(state, principal, id)
            }
        }
    };
}

pub struct Accounts;
pub struct Organizations;
pub struct Teams;
pub struct TeamMemberships;
pub struct Roles;
pub struct RoleAssignments;
pub struct AccountSessions;
pub struct People;

impl Resource for Accounts {
    const DEF: &'static ResourceDef = &account::RESOURCE;
}
creates!(Accounts, accounts::create);
updates!(Accounts, accounts::update);
removes!(Accounts, accounts::remove);

impl Resource for Organizations {
    const DEF: &'static ResourceDef = &organization::RESOURCE;
}
creates!(Organizations, organizations::create);
updates!(Organizations, organizations::update);
removes!(Organizations, organizations::remove);

impl Resource for Teams {
    const DEF: &'static ResourceDef = &team::RESOURCE;
}
creates!(Teams, teams::create);
updates!(Teams, teams::update);
removes!(Teams, teams::remove);

impl Resource for TeamMemberships {
    const DEF: &'static ResourceDef = &team_membership::RESOURCE;
}
creates!(TeamMemberships, teams::add_member);
removes!(TeamMemberships, unversioned teams::remove_member);

impl Resource for Roles {
    const DEF: &'static ResourceDef = &role::RESOURCE;

    /// The catalog is readable with `roles:read` anywhere; without it, 403.
    fn may_list(principal: &Principal) -> Result<()> {
        principal.require(Permission::RolesRead)
    }

    fn load(state: &AppState, principal: &Principal, id: &str) -> impl Future<Output = Result<Item>> + Send {
        roles::load(state, principal, id)
    }
}
creates!(Roles, roles::create);
updates!(Roles, roles::update);
removes!(Roles, roles::remove);

impl Resource for RoleAssignments {
    const DEF: &'static ResourceDef = &role_assignment::RESOURCE;
}
creates!(RoleAssignments, roles::assign);
removes!(RoleAssignments, unversioned roles::revoke);

impl Resource for AccountSessions {
    const DEF: &'static ResourceDef = &account_session::RESOURCE;
}
removes!(AccountSessions, unversioned sessions::end);

impl Resource for People {
    const DEF: &'static ResourceDef = &person::RESOURCE;
}
creates!(People, people::create);
updates!(People, people::update);
removes!(People, people::remove);
