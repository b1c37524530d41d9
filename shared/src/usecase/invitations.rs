//! Invitations: a password-less account gets a 7-day single-use link by email; following it
//! sets the password and activates the account; an admin may send a new link, which ends the
//! old ones. An update that changes what a link was mailed for ends it too.

use serde_json::{Map, json};

use super::passwords::{new_password, with_password};
use super::single_use::{mail_link, redeem};
use crate::app::AppState;
use crate::auth::single_use::{self, Purpose};
use crate::auth::{Permission, Principal};
use crate::clock;
use crate::error::{Error, Result};
use crate::jsonapi::ActionBody;
use crate::model::account::{self, Account, AccountStatus};
use crate::records::Change;
use crate::store::schema::ACCOUNTS;
use crate::store::{Item, Write};

/// Does a new account wait for an invitation to be accepted?
pub fn is_pending(item: &Item) -> bool {
    Account::parse(item).status == AccountStatus::Pending
}

/// What of an update ends the links mailed before it: another address (case-folded), a disabled
/// account, or a switch to single sign-on. The tokens end in the update's own transaction.
pub fn ends_links(old: &Item, new: &Item) -> bool {
    let (old, new) = (Account::parse(old), Account::parse(new));
    old.folded_email() != new.folded_email() || old.enabled && !new.enabled || !old.sso && new.sso
}

/// Is this update one that mails a new invitation: a pending account got another address, and
/// the old link ended with it.
pub fn reinvites(old: &Item, new: &Item) -> bool {
    let (old, new) = (Account::parse(old), Account::parse(new));
    new.may_join() && old.folded_email() != new.folded_email()
}

/// A new invitation for `account`: its invitation fields are set on the item, and the token's
/// and the letter's writes are returned, to commit with it.
pub fn prepare(state: &AppState, account: &mut Item) -> Result<[Write; 2]> {
    // The fields first: the token is bound to the account as it will be stored.
    let expires_at = state.now() + Purpose::Invitation.lifetime();
    account::invite(account, &clock::format(expires_at));
    let link = mail_link(state, Purpose::Invitation, account)?.ok_or_else(|| {
        Error::invalid_attribute(
            "email",
            "invalid_email",
            "the account's email is not one address like ann@example.com: correct it to send an invitation",
        )
    })?;
    Ok(link.writes)
}

/// Accepts the invitation `token` stands for: the body's password (and name, if given) are
/// set, the account becomes active, and every link of the invitation ends.
pub async fn join(state: &AppState, token: &str, body: &ActionBody) -> Result<()> {
    let store = state.store.as_ref();
    let may_join = |a: &Item| Account::parse(a).may_join();
    let invalid = || single_use::invalid_token(Purpose::Invitation);
    let (found, old) =
        single_use::redeemable(store, Purpose::Invitation, token, state.now(), may_join).await?.ok_or_else(invalid)?;
    let password = new_password(body, &old);
    let mut changes = Map::new();
    if let Some(name) = body.fields.get("name") {
        changes.insert("name".into(), name.clone());
    }
    let named = account::update(&old, changes, &state.timestamp()).map_err(|e| body.repoint(e));
    // Every problem of the body at once: the password's and the name's.
    let (password, mut new) = match (password, named) {
        (Ok(password), Ok(new)) => (password, new),
        (password, named) => {
            let mut problems = password.err().unwrap_or_default();
            match named {
                Err(Error::Validation(more)) => problems.extend(more),
                Err(other) => return Err(other),
                Ok(_) => {}
            }
            return Err(Error::Validation(problems));
        }
    };
    account::join(&mut new, &state.timestamp());
    let new = with_password(state, new, &password).await?;
    redeem(store, Purpose::Invitation, &found, &old, new).await?;
    tracing::info!(account_id = %Account::parse(&old).id, "invitation accepted");
    Ok(())
}

/// A new link by email for account `id`; the old ones stop working. 409 once it has joined.
pub async fn resend(state: &AppState, principal: &Principal, id: &str) -> Result<()> {
    let store = state.store.as_ref();
    let old = principal.load_readable(store, &account::RESOURCE, id, state.now()).await?;
    let known = Account::parse(&old);
    if !principal.holds(Permission::InvitationsWrite, known.organization_id.as_deref(), None) {
        return Err(Error::Forbidden("invitations:write is required for this account".into()));
    }
    if known.status == AccountStatus::Active {
        return Err(Error::conflict(None, "already_joined", "the account has accepted its invitation already"));
    }
    let mut new = old.clone();
    new.insert("updated_at".into(), json!(state.timestamp()));
    let link = prepare(state, &mut new)?;
    let others = single_use::revoke_all(store, Purpose::Invitation, id, None).await?;
    Change::replace(&ACCOUNTS, &old, new, &[], &[]).with(link).with(others).commit(store).await?;
    Ok(())
}
