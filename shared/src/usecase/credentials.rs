//! The throttled password check, the one way a password is verified (the password grant, and
//! the current password of a change): the attempt first takes its slots under the limits of
//! the email and the client address (`auth::throttle`), before anything else is read; then one
//! argon2 verification runs, against the account's hash or, for an unknown or unusable
//! account, a dummy one, so that neither the answer nor its time tells them apart.

use crate::app::AppState;
use crate::auth::throttle::PasswordAttempt;
use crate::error::Result;
use crate::model::account::Account;
use crate::store::Item;

/// The account `find` yields (`None`: no usable account has `email`), if `password` opens it.
/// `find` is a future not yet polled: it runs only once the attempt holds its slots. 429 past
/// either limit, whatever the password; 503 when no hashing slot came free.
pub async fn check(
    state: &AppState,
    email: &str,
    address: Option<&str>,
    password: &str,
    find: impl Future<Output = Result<Option<Item>>>,
) -> Result<Option<Item>> {
    let store = state.store.as_ref();
    let attempt = PasswordAttempt::begin(store, &state.config, email, address, state.now()).await?;
    let account = find.await?;
    let hash = account.as_ref().and_then(|a| Account::parse(a).password_hash);
    let opened = attempt.verify(store, &state.passwords, password, hash.as_ref().map(|h| h.as_str())).await?;
    Ok(account.filter(|_| opened))
}
