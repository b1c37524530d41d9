//! Sessions: the OAuth 2.0 token endpoint's grants (password, refresh token), revocation (of the
//! caller's session, or RFC 7009's of any token), RFC 7662 introspection, and an account
//! session ended by request.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::credentials;
use super::mfa::{self, Step};
use crate::app::AppState;
use crate::auth::session::{self, Origin};
use crate::auth::{Permission, Principal, jwt};
use crate::clock;
use crate::error::{Error, Result};
use crate::model::account::{self, Account};
use crate::model::account_session;
use crate::records::{self, Change};
use crate::store::Item;
use crate::store::schema::{ACCOUNTS, SESSIONS};

/// What a successful token request answers (RFC 6749 §5.1).
#[derive(Debug)]
pub struct Granted {
    pub access_token: String,
    pub refresh_token: String,
    pub session_id: String,
    pub expires_in: i64,
}

fn string_param<'a>(body: &'a Map<String, Value>, names: &[&str]) -> Result<&'a str> {
    names
        .iter()
        .find_map(|n| body.get(*n))
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::invalid_request(format!("{} is required", names[0])))
}

/// The grant type of the second step of a login (API.md §3): an `mfa_token` and a code.
pub const MFA_OTP_GRANT: &str = "urn:iam:params:oauth:grant-type:mfa-otp";

/// Every grant the token endpoint takes (the discovery documents list them).
pub const GRANT_TYPES: [&str; 3] = ["password", "refresh_token", MFA_OTP_GRANT];

/// What the token endpoint answers: tokens, or the second step a right password still owes.
#[derive(Debug)]
pub enum Outcome {
    Tokens(Granted),
    /// 403 with the OAuth error `step.error()` and the `mfa_token` for that step.
    SecondStep {
        step: Step,
        mfa_token: String,
    },
}

/// `POST /auth/token` (RFC 6749 §4.3 and §6): the grant `body` names, from `origin`.
pub async fn grant(state: &AppState, body: &Map<String, Value>, origin: Origin) -> Result<Outcome> {
    check_client(body)?;
    let (account_id, session, refresh_token) = match string_param(body, &["grant_type"])? {
        "password" => match password_grant(state, body, origin).await? {
            Ok(started) => started,
            Err(second) => return Ok(second),
        },
        "refresh_token" => refresh_grant(state, body, origin).await?,
        MFA_OTP_GRANT => mfa_grant(state, body, origin).await?,
        _ => {
            return Err(Error::OAuth {
                status: StatusCode::BAD_REQUEST,
                error: "unsupported_grant_type",
                description: Some(format!("grant_type must be one of {}", GRANT_TYPES.join(", "))),
                retry_after_secs: None,
            });
        }
    };
    let session_id = records::id_of(&session).to_string();
    let access_token = state.keys.issue(&account_id, &session_id, state.now())?;
    let granted = Granted { access_token, refresh_token, session_id, expires_in: state.keys.ttl.whole_seconds() };
    Ok(Outcome::Tokens(granted))
}

/// A public client may name itself (RFC 6749 §3.2.1); we serve one, and refuse any other name
/// rather than mint tokens whose `client_id` says what the caller wished.
fn check_client(body: &Map<String, Value>) -> Result<()> {
    match body.get("client_id") {
        None => Ok(()),
        Some(id) if id.as_str() == Some(jwt::CLIENT_ID) => Ok(()),
        Some(_) => Err(Error::OAuth {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: Some("client_id names no client of this service".into()),
            retry_after_secs: None,
        }),
    }
}

/// A session just started: the account's id, the session, its refresh token.
type Started = (String, Item, String);

/// Wrong password, unknown email, disabled, pending or expired account: one answer, after one
/// argon2 verification either way (`credentials::verify`, which counts the attempt first:
/// past either limit, 429 comes first, whatever the password). A wrong password of an account
/// with a second factor is that same answer: only a right one learns of the second step.
async fn password_grant(
    state: &AppState,
    body: &Map<String, Value>,
    origin: Origin,
) -> Result<std::result::Result<Started, Outcome>> {
    let email = string_param(body, &["email", "username"])?;
    let password = string_param(body, &["password"])?;
    let now = state.now();
    let store = state.store.as_ref();
    let find =
        async move { Ok(account::find_by_typed_email(store, email).await?.filter(|a| account::may_log_in(a, now))) };
    let opened = credentials::check(state, email, origin.ip.as_deref(), password, find).await?;
    let (account, passed) = opened.ok_or_else(Error::invalid_grant)?;
    let step = mfa::due(store, &account).await?;
    if step != Step::Done {
        passed.defer(store).await?;
        let mfa_token = mfa::issue_token(state, step, &account).await?;
        tracing::info!(account_id = %records::id_of(&account), error = step.error(), "password right: a second step is due");
        return Ok(Err(Outcome::SecondStep { step, mfa_token }));
    }
    passed.complete(store).await?;
    Ok(Ok(start(state, &account, origin).await?))
}

/// The `mfa-otp` grant: the `mfa_token` of a right password and a code of the account's second
/// factor (`otp`) or one of its recovery codes (`recovery_code`).
async fn mfa_grant(state: &AppState, body: &Map<String, Value>, origin: Origin) -> Result<Started> {
    let token = string_param(body, &["mfa_token"])?;
    let code = match (string_param(body, &["otp"]), string_param(body, &["recovery_code"])) {
        (Ok(otp), Err(_)) => mfa::Code::Otp(otp),
        (Err(_), Ok(code)) => mfa::Code::Recovery(code),
        _ => return Err(Error::invalid_request("exactly one of otp and recovery_code is required")),
    };
    let account = mfa::complete_login(state, token, code, origin.ip.as_deref()).await?;
    start(state, &account, origin).await
}

/// A session for `account`, which has just logged in.
async fn start(state: &AppState, account: &Item, origin: Origin) -> Result<Started> {
    record_login(state, account).await;
    let ttl = state.config.session_ttl;
    let (session, refresh) = session::start(state.store.as_ref(), account, origin, ttl, state.now()).await?;
    Ok((records::id_of(account).to_string(), session, refresh))
}

/// Keeps `last_login_at` true; losing a race with an admin's edit must not fail the login.
async fn record_login(state: &AppState, account: &Item) {
    let mut updated = account.clone();
    updated.insert("last_login_at".into(), json!(state.timestamp()));
    let uniques = account::uniques(account);
    if let Err(e) = Change::replace(&ACCOUNTS, account, updated, &uniques, &uniques).commit(state.store.as_ref()).await
    {
        tracing::warn!(error = %e, "could not record last_login_at");
    }
}

async fn refresh_grant(state: &AppState, body: &Map<String, Value>, origin: Origin) -> Result<(String, Item, String)> {
    let presented = string_param(body, &["refresh_token"])?;
    let store = state.store.as_ref();
    let (session, refresh) = session::refresh(store, presented, origin, state.now()).await?;
    let account_id = session.get("account_id").and_then(Value::as_str).unwrap_or_default().to_string();
    let account = store.get(&ACCOUNTS, &account_id).await?;
    if !account.as_ref().is_some_and(|a| account::may_log_in(a, state.now())) {
        session::end(store, records::id_of(&session)).await?;
        return Err(Error::invalid_grant());
    }
    Ok((account_id, session, refresh))
}

/// Which kind of our tokens a presented one is (RFC 7662 `token_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

/// A token of ours that works now: its kind, its session, and the account it acts for.
struct Working {
    kind: TokenKind,
    session: Item,
    account: Item,
    /// When the token was issued and when it stops working (Unix seconds).
    iat: i64,
    exp: i64,
}

/// What `token` is, if it is an access or refresh token of ours that works now: a live session
/// and an account that may use the service. Anything else is `None`, whatever the reason.
async fn working(state: &AppState, token: &str) -> Result<Option<Working>> {
    let store = state.store.as_ref();
    let now = state.now();
    let found = match state.keys.verify(token, now) {
        Ok(claims) => match store.get(&SESSIONS, &claims.sid).await? {
            Some(s) if session::is_live(&s, &claims.sub, now) => Some((TokenKind::Access, s, claims.iat, claims.exp)),
            _ => None,
        },
        Err(_) => session::of_refresh_token(store, token, now).await?.map(|s| {
            let time = |k: &str| s.get(k).and_then(Value::as_str).and_then(clock::parse).map(|t| t.unix_timestamp());
            let (iat, exp) = (time("last_used_at").unwrap_or_default(), time("expires_at").unwrap_or_default());
            (TokenKind::Refresh, s, iat, exp)
        }),
    };
    let Some((kind, session, iat, exp)) = found else { return Ok(None) };
    let account_id = session.get("account_id").and_then(Value::as_str).unwrap_or_default();
    let account = store.get(&ACCOUNTS, account_id).await?.filter(|a| Account::parse(a).is_usable(now));
    Ok(account.map(|account| Working { kind, session, account, iat, exp }))
}

/// `POST /auth/revoke` with a `token` (RFC 7009): ends the session an access token of ours, or a
/// refresh token it issued (current or rotated away), belongs to. Says nothing either way: an
/// unknown, expired or foreign token is no error.
pub async fn revoke_token(state: &AppState, body: &Map<String, Value>) -> Result<()> {
    let token = string_param(body, &["token"])?;
    let store = state.store.as_ref();
    let session_id = match state.keys.verify(token, state.now()) {
        Ok(claims) => Some(claims.sid),
        Err(_) => session::issuer_of_refresh_token(store, token).await?,
    };
    if let Some(id) = session_id {
        session::end(store, &id).await?;
        tracing::info!(session_id = %id, "session ended by token revocation");
    }
    Ok(())
}

/// `POST /auth/introspect` (RFC 7662), for a caller holding `tokens:introspect`: the token's
/// claims while it works, else exactly `{"active": false}`.
pub async fn introspect(state: &AppState, principal: &Principal, body: &Map<String, Value>) -> Result<Value> {
    principal.require(Permission::TokensIntrospect)?;
    let token = string_param(body, &["token"])?;
    let Some(found) = working(state, token).await? else { return Ok(json!({"active": false})) };
    Ok(json!({
        "active": true,
        "sub": records::id_of(&found.account),
        "sid": records::id_of(&found.session),
        "iss": state.keys.issuer,
        "aud": state.keys.audience,
        "iat": found.iat,
        "exp": found.exp,
        "client_id": jwt::CLIENT_ID,
        "token_type": match found.kind { TokenKind::Access => "access_token", TokenKind::Refresh => "refresh_token" },
        "organization_id": found.account.get("organization_id").cloned().unwrap_or(Value::Null),
    }))
}

/// `POST /auth/revoke`: ends the caller's session.
pub async fn revoke(state: &AppState, principal: &Principal) -> Result<()> {
    session::end(state.store.as_ref(), &principal.session_id).await
}

/// Ends session `id` at once (its access and refresh tokens stop working on their next use),
/// if the caller may: its own, or with `sessions:write` where the account is.
pub async fn end(state: &AppState, principal: &Principal, id: &str) -> Result<()> {
    let store = state.store.as_ref();
    let item = principal.load_readable(store, &account_session::RESOURCE, id, state.now()).await?;
    principal.check_end_session(store, &item).await?;
    session::end(store, id).await?;
    tracing::info!(session_id = %id, by = %principal.account_id, "session ended by request");
    Ok(())
}
