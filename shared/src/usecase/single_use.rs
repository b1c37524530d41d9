//! Single-use links: mailing one (the token and its letter in the outbox, written together)
//! and redeeming one (joining, resetting a password): in one transaction the token is used up,
//! the account's other tokens of its purpose end, and the account is written as the redemption
//! changes it, if nobody changed it meanwhile.

use time::OffsetDateTime;

use crate::app::AppState;
use crate::auth::single_use::{self, Purpose};
use crate::error::{Error, Result};
use crate::mail::outbox::Letter;
use crate::mail::templates::Kind;
use crate::model::account::{Account, Email};
use crate::records::{self, Change};
use crate::store::schema::ACCOUNTS;
use crate::store::{Item, Store, Write};

/// A link made for an account: when it expires, and the two writes (the token's hash, the
/// letter carrying the token sealed) that must commit with whatever the link is for.
pub struct MailedLink {
    pub expires_at: OffsetDateTime,
    pub writes: [Write; 2],
}

/// A new link of `purpose` for `account` as it will be stored, and its email. `None` when the
/// account's stored address is not one mailbox (stored before the strict rule): whatever it
/// says, it may reach a mailbox nobody meant, so it gets no mail until it is corrected.
pub fn mail_link(state: &AppState, purpose: Purpose, account: &Item) -> Result<Option<MailedLink>> {
    let known = Account::parse(account);
    let Some(to) = known.email.as_ref().and_then(Email::mailbox) else { return Ok(None) };
    let issued = single_use::issue(purpose, account, state.now())?;
    let kind = match purpose {
        Purpose::Invitation => Kind::Invitation,
        Purpose::PasswordReset => Kind::PasswordReset,
        // The second step of a login answers with its token; it is never mailed.
        Purpose::MfaChallenge | Purpose::MfaEnrollment => {
            return Err(Error::unexpected(anyhow::anyhow!("an mfa_token is never mailed")));
        }
    };
    let letter = Letter {
        kind,
        account_id: known.id.to_string(),
        to,
        language: known.language.clone(),
        name: known.name.clone(),
        expires_at: issued.expires_at,
        token_id: issued.write.key().1.to_string(),
    };
    let posted = letter.post(&state.sealer, &issued.token).map_err(Error::Unexpected)?;
    Ok(Some(MailedLink { expires_at: issued.expires_at, writes: [issued.write, posted] }))
}

/// Redeems `found` (a live token of `purpose`) for `old`, writing `new` in its place. The token
/// must still exist at commit, so that of two requests racing with one link, one wins; the
/// other, like any failed condition here, gets `invalid_token`.
pub async fn redeem(store: &dyn Store, purpose: Purpose, found: &Item, old: &Item, new: Item) -> Result<()> {
    let others = single_use::revoke_all(store, purpose, records::id_of(old), Some(records::id_of(found))).await?;
    let change = Change::replace(&ACCOUNTS, old, new, &[], &[]).with([single_use::consume(found)]).with(others);
    change.commit(store).await.map_err(|_| single_use::invalid_token(purpose))?;
    Ok(())
}
