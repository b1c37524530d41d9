//! Redeeming a single-use link (joining, resetting a password): in one transaction the token
//! is used up, the account's other tokens of its purpose end, and the account is written as the
//! redemption changes it, if nobody changed it meanwhile.

use crate::auth::single_use::{self, Purpose};
use crate::error::Result;
use crate::records::{self, Change};
use crate::store::schema::ACCOUNTS;
use crate::store::{Item, Store};

/// Redeems `found` (a live token of `purpose`) for `old`, writing `new` in its place. The token
/// must still exist at commit, so that of two requests racing with one link, one wins; the
/// other, like any failed condition here, gets `invalid_token`.
pub async fn redeem(store: &dyn Store, purpose: Purpose, found: &Item, old: &Item, new: Item) -> Result<()> {
    let others = single_use::revoke_all(store, purpose, records::id_of(old), Some(records::id_of(found))).await?;
    let change = Change::replace(&ACCOUNTS, old, new, &[], &[]).with([single_use::consume(found)]).with(others);
    change.commit(store).await.map_err(|_| single_use::invalid_token(purpose))?;
    Ok(())
}
