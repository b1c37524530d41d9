//! Who may see and change which account. A caller sees the accounts of the organizations where
//! it holds `accounts:read` (every account with a global grant) and always its own; it changes
//! accounts where it holds `accounts:write`. Accounts that hold a global role are changed only
//! by a global administrator, so that an organization's admin cannot disable or delete a root.

use iam_shared::auth::permissions::{Grant, Scope};
use iam_shared::auth::{Permission, Principal};
use iam_shared::model::role_assignment;
use iam_shared::query::{Expr, Op, Scalar};
use iam_shared::store::schema::{ACCOUNTS, ORGANIZATIONS, ROLE_ASSIGNMENTS};
use iam_shared::store::{Condition, Item, Write};
use iam_shared::{AppState, Error, Problem, Result, records};
use serde_json::Value;

fn organization_of(item: &Item) -> Option<&str> {
    item.get("organization_id").and_then(Value::as_str)
}

/// The filter every listing of the caller is ANDed with.
pub fn visible_scope(principal: &Principal) -> Expr {
    if principal.is_global(Permission::AccountsRead) {
        return Expr::True;
    }
    let orgs: Vec<Scalar> =
        principal.organizations_with(Permission::AccountsRead).into_iter().map(Scalar::Str).collect();
    match orgs.len() {
        0 => Expr::cmp("id", Op::Eq, Scalar::Str(principal.account_id.clone())),
        1 => Expr::Cmp { field: "organization_id", op: Op::Eq, values: orgs },
        _ => Expr::Cmp { field: "organization_id", op: Op::In, values: orgs },
    }
}

fn may_see(principal: &Principal, item: &Item) -> bool {
    records::id_of(item) == principal.account_id
        || match organization_of(item) {
            Some(org) => principal.may(Permission::AccountsRead, org),
            None => principal.is_global(Permission::AccountsRead),
        }
}

/// The account, if the caller may see it; 404 otherwise, so that nothing leaks its existence.
pub async fn load_visible(state: &AppState, principal: &Principal, id: &str) -> Result<Item> {
    let item = records::load(state.store.as_ref(), &ACCOUNTS, id).await?;
    if may_see(principal, &item) { Ok(item) } else { Err(Error::NotFound) }
}

/// A caller without `accounts:write` anywhere is refused before its request is read.
pub fn may_create_any(principal: &Principal) -> Result<()> {
    let anywhere = principal.grants.iter().any(|g| g.permissions.contains(&Permission::AccountsWrite));
    if anywhere { Ok(()) } else { Err(Error::Forbidden("you may not create accounts".into())) }
}

fn unknown_organization() -> Error {
    Error::Validation(vec![Problem::attribute(
        "organization_id",
        "unknown_organization",
        "organization_id names no organization you can see",
    )])
}

/// Checks that the caller may place `item` in its organization and that the organization
/// exists; returns the organization id (checked again when the write commits).
pub async fn organization_for_write(state: &AppState, principal: &Principal, item: &Item) -> Result<Option<String>> {
    let Some(org) = organization_of(item) else {
        if principal.is_global(Permission::AccountsWrite) {
            return Ok(None);
        }
        return Err(Error::Validation(vec![Problem::attribute(
            "organization_id",
            "required",
            "only a global administrator manages accounts outside an organization",
        )]));
    };
    if !principal.may(Permission::AccountsWrite, org) {
        let visible = principal.grants.iter().any(|g| g.scope == Scope::Organization(org.to_string()));
        return Err(if visible {
            Error::Forbidden("you may not manage accounts of this organization".into())
        } else {
            unknown_organization()
        });
    }
    match state.store.get(&ORGANIZATIONS, org).await? {
        Some(_) => Ok(Some(org.to_string())),
        None => Err(unknown_organization()),
    }
}

/// 403 unless the caller may change this (visible) account.
pub async fn may_change(state: &AppState, principal: &Principal, item: &Item) -> Result<()> {
    if principal.is_global(Permission::AccountsWrite) {
        return Ok(());
    }
    let allowed = organization_of(item).is_some_and(|org| principal.may(Permission::AccountsWrite, org));
    if !allowed {
        return Err(Error::Forbidden("you may not change this account".into()));
    }
    let assignments = role_assignment::of_account(state.store.as_ref(), records::id_of(item)).await?;
    let global = assignments.iter().filter_map(Grant::from_assignment).any(|g| g.scope == Scope::Global);
    if global {
        return Err(Error::Forbidden("only a global administrator changes an account with a global role".into()));
    }
    Ok(())
}

fn is_global_root(assignment: &Item) -> bool {
    role_assignment::role_name(assignment) == "root_admin" && role_assignment::scope_id(assignment).is_none()
}

/// Deleting a root admin is allowed only while another remains: returns the check that keeps
/// that true at commit time (two admins deleting each other cannot both succeed), or 409.
pub async fn another_root_admin_remains(
    state: &AppState,
    account_id: &str,
    assignments: &[Item],
) -> Result<Option<Write>> {
    if !assignments.iter().any(is_global_root) {
        return Ok(None);
    }
    let holders = role_assignment::holders(state.store.as_ref(), "root_admin", 100).await?;
    let other =
        holders.iter().find(|a| is_global_root(a) && a.get("account_id").and_then(Value::as_str) != Some(account_id));
    match other {
        Some(a) => Ok(Some(Write::Check {
            table: &ROLE_ASSIGNMENTS,
            id: records::id_of(a).to_string(),
            condition: Condition::Exists,
        })),
        None => Err(Error::conflict(None, "last_root_admin", "the last root administrator cannot be deleted")),
    }
}
