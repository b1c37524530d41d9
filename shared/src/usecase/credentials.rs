//! The throttled password check, the one way a password is verified (the password grant, the
//! current password of a change or of a second factor's enrolment and removal): the attempt
//! first takes its slots under the limits of the email and the client address
//! (`auth::throttle`), before anything else is read; then one argon2 verification runs,
//! against the account's hash or, for an unknown or unusable account, a dummy one, so that
//! neither the answer nor its time tells them apart.

use crate::app::AppState;
use crate::auth::throttle::{LoginAttempt, Passed};
use crate::error::Result;
use crate::model::account::Account;
use crate::store::Item;

/// The account `find` yields (`None`: no usable account has `email`), if `password` opens it,
/// with the attempt's slots to settle (`Passed::complete`, or `defer` when a second factor is
/// due). `find` is a future not yet polled: it runs only once the attempt holds its slots.
/// 429 past either limit, whatever the password; 503 when no hashing slot came free.
pub async fn check(
    state: &AppState,
    email: &str,
    address: Option<&str>,
    password: &str,
    find: impl Future<Output = Result<Option<Item>>>,
) -> Result<Option<(Item, Passed)>> {
    let store = state.store.as_ref();
    let attempt = LoginAttempt::begin(store, &state.config, email, address, state.now()).await?;
    let account = find.await?;
    let hash = account.as_ref().and_then(|a| Account::parse(a).password_hash);
    let passed = attempt.verify(store, &state.passwords, password, hash.as_ref().map(|h| h.as_str())).await?;
    Ok(account.zip(passed))
}

/// [`check`] for a caller who is the account already (a bearer): the login is complete when
/// the password is right. Whether it is.
pub async fn confirm(state: &AppState, account: &Item, address: Option<&str>, password: &str) -> Result<bool> {
    let email = Account::parse(account).email.map(|e| e.as_str().to_string()).unwrap_or_default();
    let found = async { Ok(Some(account.clone())) };
    match check(state, &email, address, password, found).await? {
        Some((_, passed)) => {
            passed.complete(state.store.as_ref()).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}
