//! Accounts: creating one (with its first password, or an invitation), changing one (moving it
//! to another organization carries its global roles along and ends what it had in the old
//! one), deleting one with its links, and the lookups by the caller and by external id.

use serde_json::{Map, Value, json};

use super::invitations;
use super::load::{Edit, IfMatch, for_write};
use super::passwords::with_password;
use super::{people, root_admins};
use crate::app::AppState;
use crate::auth::single_use;
use crate::auth::{Permission, Principal, session};
use crate::counters::{ALL_ACCOUNTS, Dependents};
use crate::error::{Error, Result};
use crate::jsonapi::request_attributes;
use crate::links::{self, RoleEntry};
use crate::model::account::{self, Account};
use crate::model::{new_id, organization, role_assignment};
use crate::records::{self, Change, TOO_MANY_DEPENDENTS, put_if_unchanged};
use crate::resource::ResourceDef;
use crate::store::schema::{ACCOUNTS, ROLE_ASSIGNMENTS};
use crate::store::{Item, Write};

const DEF: &ResourceDef = &account::RESOURCE;

/// The caller's own account.
pub async fn me(state: &AppState, principal: &Principal) -> Result<Item> {
    records::load(state.store.as_ref(), &ACCOUNTS, &principal.account_id).await
}

/// The account with this external id, if the caller may see it (one key lookup).
pub async fn by_external_id(state: &AppState, principal: &Principal, external_id: &str) -> Result<Item> {
    let store = state.store.as_ref();
    let found = account::find_by_external_id(store, external_id).await?.ok_or(Error::NotFound)?;
    // The index is eventually consistent: answer from the item itself.
    principal.load_readable(store, DEF, records::id_of(&found), state.now()).await
}

/// The organization an account is written into must exist, now and when the write commits;
/// the account counts in it from then on (so that it cannot be deleted under the account).
async fn joining(state: &AppState, item: &Item) -> Result<Vec<Write>> {
    match organization_of(item) {
        Some(org) => Ok(vec![
            organization::must_exist(state.store.as_ref(), &org).await?,
            Dependents::OrganizationAccounts.change(&org, 1),
        ]),
        None => Ok(vec![]),
    }
}

/// The account no longer counts in the organization it leaves.
fn leaving(item: &Item) -> Option<Write> {
    organization_of(item).map(|org| Dependents::OrganizationAccounts.change(&org, -1))
}

fn organization_of(item: &Item) -> Option<String> {
    Account::parse(item).organization_id
}

/// Creates an account from a create request's document: active with its first password, or
/// pending with its invitation posted to the outbox in the same transaction.
pub async fn create(state: &AppState, principal: &Principal, body: &Value) -> Result<Item> {
    principal.require(Permission::AccountsWrite)?;
    let attributes = request_attributes(body, DEF, None)?;
    let new = account::create(attributes, new_id(), &state.timestamp(), principal.organization_id.as_deref())?;
    principal.check_create(DEF, &new.item)?;
    let mut writes = joining(state, &new.item).await?;
    writes.extend(people::correlation(state, principal, None, &new.item).await?);
    writes.push(ALL_ACCOUNTS.change(records::id_of(&new.item), 1));
    let mut item = match &new.password {
        Some(password) => with_password(state, new.item, password).await?,
        None => new.item,
    };
    if invitations::is_pending(&item) {
        writes.extend(invitations::prepare(state, &mut item)?);
    }
    let uniques = account::uniques(&item);
    let person = account::person_of(&item).map(str::to_string);
    let change = Change::insert(&ACCOUNTS, item, uniques).with(writes);
    people::gone_meanwhile(state, change.commit(state.store.as_ref()).await, person.as_deref()).await
}

/// Moving an account to another organization ends what it had in the old one (its roles
/// there and its teams) and carries its global role assignments along: the writes, and the
/// account with its links updated.
async fn move_writes(state: &AppState, new: Item) -> Result<(Item, Vec<Write>)> {
    let scoped = |e: &Map<String, Value>| e.get("scope").and_then(Value::as_str) != Some("global");
    let mut writes = links::removals(&new, &links::ROLES, scoped);
    writes.extend(links::removals(&new, &links::TEAMS, |_| true));
    let global: Vec<String> = links::roles_of(&new).into_iter().filter(RoleEntry::is_global).map(|e| e.id).collect();
    let assignments =
        if global.is_empty() { vec![] } else { state.store.batch_get(&ROLE_ASSIGNMENTS, &global).await? };
    let org = organization_of(&new);
    for old in assignments {
        let mut moved = old.clone();
        match &org {
            Some(org) => moved.insert("organization_id".into(), json!(org)),
            None => moved.remove("organization_id"),
        };
        writes.push(put_if_unchanged(&ROLE_ASSIGNMENTS, &old, moved));
    }
    let new = links::without(&links::without(&new, &links::ROLES, scoped), &links::TEAMS, |_| true);
    Ok((new, writes))
}

/// Changes account `id` as the request document says. A move, a disable, another address or a switch
/// to SSO end what they must in the same transaction (links elsewhere, mailed links); a pending
/// account at a new address is invited there; a disabled or moved account's sessions end.
pub async fn update(state: &AppState, principal: &Principal, edit: Edit<'_>) -> Result<Item> {
    let id = edit.id;
    let (old, attributes) = edit.load(state, principal, DEF).await?;
    let mut new = account::update(&old, attributes, &state.timestamp())?;
    let mut writes = people::correlation(state, principal, Some(&old), &new).await?;
    let moved = organization_of(&old) != organization_of(&new);
    if moved {
        principal.check_create(DEF, &new)?;
        writes.extend(joining(state, &new).await?);
        writes.extend(leaving(&old));
        let (relinked, unlinked) = move_writes(state, new).await?;
        new = relinked;
        writes.extend(unlinked);
    }
    if root_admins::is_usable_root_admin(&old, state.now()) && !root_admins::is_usable_root_admin(&new, state.now()) {
        writes.extend(root_admins::another_remains(state.store.as_ref(), id, state.now()).await?);
    }
    if invitations::ends_links(&old, &new) {
        writes.extend(single_use::revoke_every(state.store.as_ref(), id).await?);
        if invitations::reinvites(&old, &new) {
            writes.extend(invitations::prepare(state, &mut new)?);
        }
    }
    let person = account::person_of(&new).filter(|p| account::person_of(&old) != Some(*p)).map(str::to_string);
    let change = Change::revise(&ACCOUNTS, &old, new, account::uniques).with(writes);
    let item = people::gone_meanwhile(state, change.commit(state.store.as_ref()).await, person.as_deref()).await?;
    let disabled_flag = |i: &Item| i.get("enabled") == Some(&Value::Bool(false));
    let disabled = !disabled_flag(&old) && disabled_flag(&item);
    if disabled || moved {
        // A moved account's sessions belong to its old organization's admins: they end too.
        let ended = session::end_all(state.store.as_ref(), id, None).await?;
        tracing::info!(account_id = %id, ended, disabled, moved, "the account's sessions ended");
    }
    Ok(item)
}

/// Deletes account `id` with its role assignments and team memberships in one transaction
/// (refused if it would remove the last root admin), then ends its sessions and links.
pub async fn remove(state: &AppState, principal: &Principal, id: &str, if_match: &IfMatch) -> Result<()> {
    let store = state.store.as_ref();
    let item = for_write(store, principal, DEF, id, if_match, state.now()).await?;
    let mut writes = links::removals(&item, &links::ROLES, |_| true);
    writes.extend(links::removals(&item, &links::TEAMS, |_| true));
    writes.extend(leaving(&item));
    writes.extend(people::uncorrelating(&item));
    writes.push(ALL_ACCOUNTS.change(id, -1));
    if role_assignment::is_root_admin(&item) {
        writes.extend(root_admins::another_remains(store, id, state.now()).await?);
    }
    let change = Change::remove(&ACCOUNTS, &item, &account::uniques(&item)).with(writes);
    change.commit(store).await.map_err(|e| match e {
        Error::Conflict(p) if p.code != TOO_MANY_DEPENDENTS => Error::conflict(
            None,
            "concurrent_modification",
            "the account or the root administrators changed meanwhile; retry",
        ),
        other => other,
    })?;
    let ended = session::end_all(store, id, None).await?;
    let tokens = single_use::delete_all(store, id).await?;
    let factors = super::mfa::delete_all(store, id).await?;
    tracing::info!(account_id = %id, ended, tokens, factors, "account deleted");
    Ok(())
}
