//! Second factors (API.md §3 "Multi-factor authentication"): TOTP enrolment, confirmed by a
//! first code, with ten single-use recovery codes; the second step of a login (`mfa_token` and
//! the `mfa-otp` grant); removal by the user, reset by an admin; and the organization policy
//! that makes accounts enrol before they log in.
//!
//! Every defence is a conditional write, never a check then a write: a code is accepted only
//! for a step later than the last accepted one (the factor's `last_step`, moved forward in the
//! same transaction that uses the `mfa_token` up), a recovery code is deleted on use, and each
//! code tried with an `mfa_token` first takes one of its five attempts and one slot under the
//! login limits.

use anyhow::anyhow;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::factor_key::FactorKey;
use crate::auth::single_use::{self, Purpose};
use crate::auth::throttle::LoginAttempt;
use crate::auth::tokens::hash_token;
use crate::auth::{Principal, totp};
use crate::error::{Error, Problem, Result};
use crate::jsonapi::ActionBody;
use crate::model::account::{self, Account};
use crate::model::organization;
use crate::records::{self, Change};
use crate::store::schema::{ACCOUNTS, FACTORS, FACTORS_BY_ACCOUNT, ORGANIZATIONS};
use crate::store::{Condition, Item, MAX_TRANSACTION_WRITES, Query, Store, StoreError, Update, Write, query_all};

/// Codes an `mfa_token` may be tried with (API.md: five wrong codes end it).
pub const MAX_CODE_ATTEMPTS: u32 = 5;
/// Recovery codes made at confirmation.
pub const RECOVERY_CODES: usize = 10;

fn totp_id(account_id: &str) -> String {
    format!("totp#{account_id}")
}

/// A recovery code's item: the hash of the account and the code as typed, without its dashes
/// or case (80 random bits, so a fast hash is enough, as for every token of ours).
fn recovery_id(account_id: &str, code: &str) -> String {
    let normalized: String = code.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect();
    hash_token(&format!("{account_id}:{normalized}"))
}

/// A new recovery code: 80 random bits as four groups of base32 (`ABCD-EFGH-IJKL-MNOP`).
fn new_recovery_code() -> Result<String> {
    let mut bytes = [0u8; 10];
    getrandom::fill(&mut bytes).map_err(|e| Error::unexpected(anyhow!("no randomness: {e}")))?;
    let text = totp::base32(&bytes);
    Ok(format!("{}-{}-{}-{}", &text[..4], &text[4..8], &text[8..12], &text[12..16]))
}

fn key(state: &AppState) -> Result<&FactorKey> {
    state.factor_key.as_deref().ok_or_else(|| Error::unexpected(anyhow!("this function holds no MFA key")))
}

/// The second step a login owes after the right password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// None: the login is complete.
    Done,
    /// A code of the account's second factor (`mfa_required`).
    Code,
    /// The account's organization requires a second factor it has not enrolled
    /// (`mfa_enrollment_required`).
    Enrollment,
}

impl Step {
    /// The OAuth error the token endpoint answers with.
    pub fn error(self) -> &'static str {
        match self {
            Step::Code | Step::Done => "mfa_required",
            Step::Enrollment => "mfa_enrollment_required",
        }
    }

    fn purpose(self) -> Purpose {
        match self {
            Step::Enrollment => Purpose::MfaEnrollment,
            Step::Code | Step::Done => Purpose::MfaChallenge,
        }
    }
}

/// Which step a login of `account` owes: a code when it has a second factor, an enrolment when
/// its organization requires one (global admins included: the policy is their organization's).
pub async fn due(store: &dyn Store, account: &Item) -> Result<Step> {
    if account::mfa_enabled(account) {
        return Ok(Step::Code);
    }
    let Some(org) = Account::parse(account).organization_id else { return Ok(Step::Done) };
    let required = store.get(&ORGANIZATIONS, &org).await?.is_some_and(|o| organization::mfa_required(&o));
    Ok(if required { Step::Enrollment } else { Step::Done })
}

/// The `mfa_token` of `step` for `account`: 256 random bits, stored only as a hash, valid five
/// minutes, bound to the account as it is now.
pub async fn issue_token(state: &AppState, step: Step, account: &Item) -> Result<String> {
    let issued = single_use::issue(step.purpose(), account, state.now())?;
    state.store.transact(vec![issued.write]).await?;
    Ok(issued.token)
}

/// How the caller proves who enrols: a bearer token (whose account also gives its password
/// again), or `Authorization: MFA <mfa_token>` of an enrolment its organization requires.
#[derive(Debug, Clone, Copy)]
pub enum Enrollee<'a> {
    Bearer(&'a Principal),
    Token(&'a str),
}

/// The enrolling account, and the `mfa_token` item when that is the proof.
async fn enrollee(state: &AppState, who: Enrollee<'_>) -> Result<(Item, Option<Item>)> {
    let store = state.store.as_ref();
    match who {
        Enrollee::Bearer(principal) => Ok((records::load(store, &ACCOUNTS, &principal.account_id).await?, None)),
        Enrollee::Token(token) => {
            let now = state.now();
            let usable = |a: &Item| account::may_log_in(a, now) && !account::mfa_enabled(a);
            let found = single_use::redeemable(store, Purpose::MfaEnrollment, token, now, usable).await?;
            let (token, account) = found.ok_or(Error::InvalidToken("the mfa_token is invalid, used or expired"))?;
            Ok((account, Some(token)))
        }
    }
}

/// A TOTP enrolment begun: the secret, once, for the user's authenticator app.
#[derive(Debug)]
pub struct Enrolment {
    /// Base32, as apps take it typed.
    pub secret: String,
    pub otpauth_uri: String,
}

fn invalid(body: &ActionBody, field: &str, code: &str, detail: &str) -> Error {
    Error::Validation(vec![Problem::pointer(body.pointer(field), code, detail)])
}

/// The body's string field `name`, or 422 naming it.
fn field<'a>(body: &'a ActionBody, name: &str) -> Result<&'a str> {
    body.string(name).map_err(|p| Error::Validation(vec![p]))
}

/// The caller's current password, checked as a login attempt: 422 on `current_password`
/// when it is wrong.
async fn check_password(state: &AppState, account: &Item, body: &ActionBody, address: Option<&str>) -> Result<()> {
    let password = field(body, "current_password")?;
    if super::credentials::confirm(state, account, address, password).await? {
        Ok(())
    } else {
        Err(invalid(body, "current_password", "invalid_password", "current_password is not the account's password"))
    }
}

fn already_enabled() -> Error {
    Error::conflict(None, "mfa_enabled", "a second factor is enabled already; remove it first")
}

/// `POST /accounts/me/mfa/totp`: a new secret, not yet enforced. A bearer gives its current
/// password (`current_password`; a wrong one counts as a failed login); an enrolment
/// `mfa_token` proves it by itself. 409 while a second factor is on. A pending enrolment is
/// replaced.
pub async fn enrol(state: &AppState, who: Enrollee<'_>, body: &ActionBody, address: Option<&str>) -> Result<Enrolment> {
    let key = key(state)?;
    let (account, _) = enrollee(state, who).await?;
    if let Enrollee::Bearer(_) = who {
        check_password(state, &account, body, address).await?;
    }
    if account::mfa_enabled(&account) {
        return Err(already_enabled());
    }
    let id = records::id_of(&account);
    let secret = totp::new_secret()?;
    let item = json!({
        "id": totp_id(id),
        "account_id": id,
        "kind": "totp",
        "secret": key.seal(&secret, id)?,
        "confirmed": false,
        "created_at": state.timestamp(),
    });
    let pending = Condition::Any(vec![Condition::NotExists, Condition::AttrEquals("confirmed", json!(false))]);
    let put =
        Write::Put { table: &FACTORS, item: item.as_object().cloned().unwrap_or_default(), condition: Some(pending) };
    match state.store.transact(vec![put]).await {
        Ok(()) => {}
        Err(StoreError::ConditionFailed(_)) => return Err(already_enabled()),
        Err(e) => return Err(e.into()),
    }
    let email = Account::parse(&account).email.map(|e| e.as_str().to_string()).unwrap_or_default();
    tracing::info!(account_id = id, "TOTP enrolment begun");
    Ok(Enrolment { secret: totp::base32(&secret), otpauth_uri: totp::uri(&state.config.mfa_issuer, &email, &secret) })
}

/// The account's TOTP factor, if it has one (`confirmed` or pending), with its secret opened.
struct Factor {
    confirmed: bool,
    last_step: Option<i64>,
    secret: Vec<u8>,
}

async fn factor(state: &AppState, account_id: &str) -> Result<Option<Factor>> {
    let Some(item) = state.store.get(&FACTORS, &totp_id(account_id)).await? else { return Ok(None) };
    let sealed = item.get("secret").and_then(Value::as_str).unwrap_or_default();
    let secret = key(state)?.open(sealed, account_id).map_err(Error::unexpected)?;
    Ok(Some(Factor {
        confirmed: item.get("confirmed").and_then(Value::as_bool) == Some(true),
        last_step: item.get("last_step").and_then(Value::as_i64),
        secret,
    }))
}

/// Every factor item of the account (its TOTP factor and its recovery codes).
async fn factor_items(store: &dyn Store, account_id: &str) -> Result<Vec<String>> {
    let items = query_all(store, Query::partition(&FACTORS, &FACTORS_BY_ACCOUNT, account_id)).await?;
    Ok(items.iter().map(|i| records::id_of(i).to_string()).collect())
}

/// The account with `mfa_enabled` set to `on`, written unless changed meanwhile, with `extra`.
async fn set_enabled(state: &AppState, account: &Item, on: bool, extra: Vec<Write>) -> Result<()> {
    let mut new = account.clone();
    new.insert("mfa_enabled".into(), json!(on));
    new.insert("updated_at".into(), json!(state.timestamp()));
    let uniques = account::uniques(account);
    Change::replace(&ACCOUNTS, account, new, &uniques, &uniques).with(extra).commit(state.store.as_ref()).await?;
    Ok(())
}

/// `POST /accounts/me/mfa/totp/confirm`: the first code proves the app holds the secret; the
/// factor is on from now, and ten recovery codes are made (shown this once). With an enrolment
/// `mfa_token`, the code is one of its five attempts and the token is used up.
pub async fn confirm(state: &AppState, who: Enrollee<'_>, body: &ActionBody) -> Result<Vec<String>> {
    let store = state.store.as_ref();
    let code = field(body, "code")?;
    let (account, token) = enrollee(state, who).await?;
    if let Some(token) = &token
        && !single_use::reserve_attempt(store, token, MAX_CODE_ATTEMPTS).await?
    {
        return Err(Error::InvalidToken("the mfa_token is invalid, used or expired"));
    }
    let id = records::id_of(&account).to_string();
    let factor = match factor(state, &id).await? {
        None => return Err(Error::conflict(None, "no_enrolment", "no TOTP enrolment is in progress; begin one first")),
        Some(f) if f.confirmed => return Err(already_enabled()),
        Some(f) => f,
    };
    let Some(step) = totp::matching_step(&factor.secret, code, state.now(), None) else {
        return Err(invalid(body, "code", "invalid_code", "code is not the current code of the authenticator"));
    };
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect::<Result<_>>()?;
    let mut writes = vec![Write::Update(
        Update::new(&FACTORS, totp_id(&id))
            .set("confirmed", true)
            .set("last_step", step)
            .set("confirmed_at", state.timestamp())
            .when(Condition::AttrEquals("confirmed", json!(false))),
    )];
    // Codes of an earlier enrolment that never finished would be valid beside the new ones.
    let stale = factor_items(store, &id).await?.into_iter().filter(|i| *i != totp_id(&id));
    writes.extend(stale.map(|i| Write::Delete { table: &FACTORS, id: i, condition: None }));
    writes.extend(codes.iter().map(|code| {
        let item = json!({"id": recovery_id(&id, code), "account_id": id, "kind": "recovery_code"});
        Write::Put { table: &FACTORS, item: item.as_object().cloned().unwrap_or_default(), condition: None }
    }));
    writes.extend(token.as_ref().map(single_use::consume));
    set_enabled(state, &account, true, writes).await?;
    tracing::info!(account_id = %id, "TOTP confirmed: a second factor guards the account's logins");
    Ok(codes)
}

/// A code presented as the second factor.
#[derive(Debug, Clone, Copy)]
pub enum Code<'a> {
    Otp(&'a str),
    Recovery(&'a str),
}

/// The write that uses `code` up if it is right now: the factor's last accepted step moved
/// forward to the code's (conditional: a code is accepted once, and never one of an earlier
/// step than the last accepted), or the recovery code's item deleted (conditional: once).
/// `None`: the code is wrong.
async fn spend(state: &AppState, account_id: &str, code: Code<'_>) -> Result<Option<Write>> {
    match code {
        Code::Otp(code) => {
            let Some(factor) = factor(state, account_id).await?.filter(|f| f.confirmed) else { return Ok(None) };
            let Some(step) = totp::matching_step(&factor.secret, code, state.now(), factor.last_step) else {
                return Ok(None);
            };
            let later = Condition::All(vec![
                Condition::AttrEquals("confirmed", json!(true)),
                Condition::AttrLess("last_step", json!(step)),
            ]);
            Ok(Some(Write::Update(Update::new(&FACTORS, totp_id(account_id)).set("last_step", step).when(later))))
        }
        Code::Recovery(code) => {
            let id = recovery_id(account_id, code);
            let found = state.store.get(&FACTORS, &id).await?;
            let owned = found.is_some_and(|i| i.get("account_id").and_then(Value::as_str) == Some(account_id));
            Ok(owned.then_some(Write::Delete { table: &FACTORS, id, condition: Some(Condition::Exists) }))
        }
    }
}

/// Tries `code` for `account` as one login attempt (429 past the limits; a wrong code counts as
/// a failed login): true if it was right and used up, committed with `with` (the `mfa_token`
/// used up alike). A code that lost a race to its own replay is wrong.
async fn attempt(
    state: &AppState,
    account: &Item,
    code: Code<'_>,
    address: Option<&str>,
    with: Vec<Write>,
) -> Result<bool> {
    let store = state.store.as_ref();
    let email = Account::parse(account).email.map(|e| e.as_str().to_string()).unwrap_or_default();
    let login = LoginAttempt::begin(store, &state.config, &email, address, state.now()).await?;
    let right = match spend(state, records::id_of(account), code).await? {
        Some(write) => match store.transact(std::iter::once(write).chain(with).collect()).await {
            Ok(()) => true,
            Err(StoreError::ConditionFailed(_)) => false,
            Err(e) => return Err(e.into()),
        },
        None => false,
    };
    match login.settle(right) {
        Some(passed) => {
            passed.complete(store).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// The `mfa-otp` grant: the account whose `mfa_token` and code (or recovery code) are right.
/// Every failure is the same `invalid_grant`; the token's five attempts are taken before any
/// code is evaluated, and each wrong code is a failed login.
pub async fn complete_login(state: &AppState, token: &str, code: Code<'_>, address: Option<&str>) -> Result<Item> {
    let store = state.store.as_ref();
    let now = state.now();
    let usable = |a: &Item| account::may_log_in(a, now) && account::mfa_enabled(a);
    let found = single_use::redeemable(store, Purpose::MfaChallenge, token, now, usable).await?;
    let (token, account) = found.ok_or_else(Error::invalid_grant)?;
    if !single_use::reserve_attempt(store, &token, MAX_CODE_ATTEMPTS).await? {
        return Err(Error::invalid_grant());
    }
    if !attempt(state, &account, code, address, vec![single_use::consume(&token)]).await? {
        return Err(Error::invalid_grant());
    }
    Ok(account)
}

/// The write set that removes every factor of the account and turns `mfa_enabled` off.
async fn removal(state: &AppState, account_id: &str, except: Option<&str>) -> Result<Vec<Write>> {
    let items = factor_items(state.store.as_ref(), account_id).await?;
    Ok(items
        .into_iter()
        .filter(|i| Some(i.as_str()) != except)
        .map(|id| Write::Delete { table: &FACTORS, id, condition: None })
        .collect())
}

/// The code a body carries: `code` (from the authenticator) or `recovery_code`, exactly one.
pub fn code_of(body: &ActionBody) -> std::result::Result<Code<'_>, Problem> {
    match (body.string("code"), body.string("recovery_code")) {
        (Ok(code), Err(_)) => Ok(Code::Otp(code)),
        (Err(_), Ok(code)) => Ok(Code::Recovery(code)),
        (Ok(_), Ok(_)) => {
            Err(Problem::pointer(body.pointer("recovery_code"), "conflicting", "send code or recovery_code, not both"))
        }
        (Err(p), Err(_)) => Err(Problem { detail: "code or recovery_code is required".into(), ..p }),
    }
}

/// `DELETE /accounts/me/mfa/totp`: the current password and a code (or a recovery code) remove
/// the caller's second factor and its recovery codes. Each is checked as a login attempt.
pub async fn remove_own(
    state: &AppState,
    principal: &Principal,
    body: &ActionBody,
    address: Option<&str>,
) -> Result<()> {
    let (password, code) = (body.string("current_password"), code_of(body));
    if password.is_err() || code.is_err() {
        return Err(Error::Validation(password.err().into_iter().chain(code.err()).collect()));
    }
    let code = code.map_err(|p| Error::Validation(vec![p]))?;
    let account = records::load(state.store.as_ref(), &ACCOUNTS, &principal.account_id).await?;
    if !account::mfa_enabled(&account) {
        return Err(Error::conflict(None, "mfa_not_enabled", "the account has no second factor to remove"));
    }
    check_password(state, &account, body, address).await?;
    // The code's own write (a step moved, a recovery code deleted) commits first; the rest of
    // the factor goes with the account's change.
    if !attempt(state, &account, code, address, vec![]).await? {
        return Err(invalid(body, "code", "invalid_code", "the code is wrong or was used already"));
    }
    let id = records::id_of(&account);
    let writes = removal(state, id, None).await?;
    set_enabled(state, &account, false, writes).await?;
    tracing::info!(account_id = id, "second factor removed by its account");
    Ok(())
}

/// `DELETE /accounts/{id}/mfa` (`accounts:write` where the account is): the account's second
/// factor and recovery codes are gone, `mfa_enabled` is false, and every session ends. The
/// reset of an account without one changes nothing and is no error.
pub async fn reset(state: &AppState, principal: &Principal, id: &str) -> Result<()> {
    let store = state.store.as_ref();
    let account = principal.load_readable(store, &account::RESOURCE, id, state.now()).await?;
    principal.check_write(&account::RESOURCE, &account)?;
    let mut writes = removal(state, id, None).await?;
    writes.extend(single_use::revoke_all(store, Purpose::MfaChallenge, id, None).await?);
    if account::mfa_enabled(&account) || !writes.is_empty() {
        set_enabled(state, &account, false, writes).await?;
    }
    let ended = crate::auth::session::end_all(store, id, None).await?;
    tracing::info!(account_id = id, by = %principal.account_id, ended, "second factor reset by an admin");
    Ok(())
}

/// Deletes every factor of the account (the account is gone).
pub async fn delete_all(store: &dyn Store, account_id: &str) -> Result<usize> {
    let ids = factor_items(store, account_id).await?;
    for chunk in ids.chunks(MAX_TRANSACTION_WRITES) {
        let writes = chunk.iter().map(|id| Write::Delete { table: &FACTORS, id: id.clone(), condition: None });
        store.transact(writes.collect()).await?;
    }
    Ok(ids.len())
}
