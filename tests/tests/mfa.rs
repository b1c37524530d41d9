//! A second factor (API.md §3 "Multi-factor authentication"), end to end on both stores and a
//! manual clock: enrolment and confirmation, the second step of a login with codes and recovery
//! codes, replays and brute force (in parallel, as an attacker would), the organization
//! policy, removal by the user and reset by an admin.

use std::sync::Arc;

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use iam_shared::auth::throttle::login_by_email;
use iam_shared::auth::totp;
use iam_shared::store::schema::{FACTORS, THROTTLES};
use iam_shared::usecase::sessions::MFA_OTP_GRANT;
use iam_tests::app::{PASSWORD, Reply, TestApp, all_at_once, encode, token_request_from};
use serde_json::{Value, json};

const ENROL: &str = "/api/v3/iam/accounts/me/mfa/totp";
const CONFIRM: &str = "/api/v3/iam/accounts/me/mfa/totp/confirm";

/// An authenticator app: the secret it was given.
struct App {
    secret: Vec<u8>,
}

impl App {
    fn code(&self, test: &TestApp) -> String {
        totp::code_at(&self.secret, totp::step_at(test.state.now()))
    }

    fn code_at_step(&self, test: &TestApp, offset: i64) -> String {
        totp::code_at(&self.secret, totp::step_at(test.state.now()) + offset)
    }
}

/// Thirty seconds later: the next code.
fn next_step(app: &TestApp) {
    app.clock.advance(time::Duration::seconds(totp::STEP_SECS));
}

fn bearer(token: &Value) -> String {
    token["access_token"].as_str().expect("access token").to_string()
}

fn password_grant(email: &str, password: &str) -> Value {
    json!({"grant_type": "password", "email": email, "password": password})
}

fn otp_grant(mfa_token: &str, otp: &str) -> Value {
    json!({"grant_type": MFA_OTP_GRANT, "mfa_token": mfa_token, "otp": otp})
}

/// A request with `Authorization: MFA <mfa_token>`.
fn with_mfa_token(path: &str, mfa_token: &str, body: Value) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("MFA {mfa_token}"))
        .body(Body::from(body.to_string()))
        .expect("request")
}

/// Enrols and confirms TOTP for the account behind `token`: its app and recovery codes.
async fn enable(app: &TestApp, token: &str) -> (App, Vec<String>) {
    let begun = app.action(Method::POST, ENROL, Some(token), json!({"current_password": PASSWORD})).await;
    assert_eq!(begun.status, StatusCode::CREATED, "{:?}", begun.body);
    let secret = totp::from_base32(begun.body["secret"].as_str().expect("secret")).expect("base32");
    let authenticator = App { secret };
    let confirmed = app.action(Method::POST, CONFIRM, Some(token), json!({"code": authenticator.code(app)})).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{:?}", confirmed.body);
    let codes = confirmed.body["recovery_codes"].as_array().expect("codes");
    (authenticator, codes.iter().map(|c| c.as_str().expect("code").to_string()).collect())
}

/// The `mfa_token` of a right password, which must be answered with 403 `error`.
async fn second_step(app: &TestApp, email: &str, error: &str) -> String {
    let reply = app.token(password_grant(email, PASSWORD)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{:?}", reply.body);
    assert_eq!(reply.body["error"], error);
    assert!(reply.body.get("access_token").is_none() && reply.body.get("session_id").is_none());
    reply.body["mfa_token"].as_str().expect("mfa_token").to_string()
}

async fn sessions_of(app: &TestApp, account: &str) -> usize {
    let admin = app.admin_now().await;
    let reply = app
        .call(Method::GET, &format!("/api/v3/iam/account_sessions?filter[account_id]={account}"), Some(&admin), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.ids().len()
}

async fn me(app: &TestApp, token: &str) -> Reply {
    app.call(Method::GET, "/api/v3/iam/accounts/me", Some(token), None).await
}

#[tokio::test]
async fn enrol_confirm_and_log_in_with_a_code_then_a_recovery_code_each_once() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    let id = app.create_account("ann@acme.test", &org).await;
    let token = bearer(&app.login("ann@acme.test", PASSWORD).await);

    // Enrolment asks for the current password, and a wrong one counts as a failed login.
    let missing = app.action(Method::POST, ENROL, Some(&token), json!({})).await;
    assert_eq!((missing.status, missing.error_codes()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["required".into()]));
    let wrong = app.action(Method::POST, ENROL, Some(&token), json!({"current_password": "Wr0ng!Password"})).await;
    assert_eq!(wrong.error_codes(), ["invalid_password"]);
    let begun = app.action(Method::POST, ENROL, Some(&token), json!({"current_password": PASSWORD})).await;
    assert_eq!(begun.status, StatusCode::CREATED, "{:?}", begun.body);
    let uri = begun.body["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/IAM:ann%40acme%2Etest?secret="), "{uri}");
    assert!(uri.contains("&issuer=IAM&algorithm=SHA1&digits=6&period=30"), "{uri}");
    let secret_text = begun.body["secret"].as_str().unwrap().to_string();
    let authenticator = App { secret: totp::from_base32(&secret_text).unwrap() };
    assert_eq!(authenticator.secret.len(), 20, "160 bits");

    // Stored sealed, never shown again, not yet enforced.
    let stored = app.state.store.get(&FACTORS, &format!("totp#{id}")).await.unwrap().expect("the factor");
    assert!(!stored.values().any(|v| v.as_str().is_some_and(|s| s.contains(&secret_text))), "{stored:?}");
    let shown = me(&app, &token).await;
    assert_eq!(shown.body["data"]["attributes"]["mfa_enabled"], false);
    assert!(!shown.body.to_string().contains(&secret_text));
    app.login("ann@acme.test", PASSWORD).await;

    // Confirmation: a wrong code is refused, the right one turns MFA on with ten codes.
    let bad = app.action(Method::POST, CONFIRM, Some(&token), json!({"code": "12345"})).await;
    assert_eq!((bad.status, bad.error_codes()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["invalid_code".into()]));
    let confirm_code = authenticator.code(&app);
    let confirmed = app.action(Method::POST, CONFIRM, Some(&token), json!({"code": confirm_code})).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{:?}", confirmed.body);
    let codes: Vec<String> =
        confirmed.body["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().into()).collect();
    assert_eq!(codes.len(), 10);
    assert_eq!(codes.iter().collect::<std::collections::BTreeSet<_>>().len(), 10, "distinct");
    assert!(codes.iter().all(|c| c.len() == 19 && c.chars().filter(|c| *c == '-').count() == 3), "{codes:?}");
    assert_eq!(me(&app, &token).await.body["data"]["attributes"]["mfa_enabled"], true);
    let again = app.action(Method::POST, ENROL, Some(&token), json!({"current_password": PASSWORD})).await;
    assert_eq!((again.status, again.error_codes()), (StatusCode::CONFLICT, vec!["mfa_enabled".into()]));

    // A wrong password says nothing of the second factor.
    let refused = app.token(password_grant("ann@acme.test", "Wr0ng!Password")).await;
    assert_eq!((refused.status, &refused.body), (StatusCode::UNAUTHORIZED, &json!({"error": "invalid_grant"})));

    // The right password: 403 and no session.
    let before = sessions_of(&app, &id).await;
    let mfa_token = second_step(&app, "ann@acme.test", "mfa_required").await;
    assert_eq!(sessions_of(&app, &id).await, before, "no session before the second factor");

    // The confirmation's code is used: within its step it does not work again.
    let replay = app.token(otp_grant(&mfa_token, &confirm_code)).await;
    assert_eq!((replay.status, &replay.body), (StatusCode::UNAUTHORIZED, &json!({"error": "invalid_grant"})));
    next_step(&app);
    let code = authenticator.code(&app);
    let tokens = app.token(otp_grant(&mfa_token, &code)).await;
    assert_eq!(tokens.status, StatusCode::OK, "{:?}", tokens.body);
    assert_eq!(me(&app, &bearer(&tokens.body)).await.status, StatusCode::OK);
    let used = app.token(otp_grant(&mfa_token, &code)).await;
    assert_eq!(used.status, StatusCode::UNAUTHORIZED, "an mfa_token is single use");

    // The same code with a new mfa_token: a replay. An earlier step's code: refused too.
    let mfa_token = second_step(&app, "ann@acme.test", "mfa_required").await;
    assert_eq!(app.token(otp_grant(&mfa_token, &code)).await.status, StatusCode::UNAUTHORIZED, "replayed");
    let earlier = authenticator.code_at_step(&app, -1);
    assert_eq!(app.token(otp_grant(&mfa_token, &earlier)).await.status, StatusCode::UNAUTHORIZED, "an earlier step");
    // One step of skew ahead is accepted.
    let ahead = authenticator.code_at_step(&app, 1);
    assert_eq!(app.token(otp_grant(&mfa_token, &ahead)).await.status, StatusCode::OK, "{ahead}");

    // A recovery code works once, typed in any case and without its dashes.
    let mfa_token = second_step(&app, "ann@acme.test", "mfa_required").await;
    let typed = codes[3].to_lowercase().replace('-', "");
    let grant = json!({"grant_type": MFA_OTP_GRANT, "mfa_token": mfa_token, "recovery_code": typed});
    assert_eq!(app.token(grant).await.status, StatusCode::OK);
    let mfa_token = second_step(&app, "ann@acme.test", "mfa_required").await;
    let grant = json!({"grant_type": MFA_OTP_GRANT, "mfa_token": mfa_token, "recovery_code": codes[3]});
    assert_eq!(app.token(grant).await.status, StatusCode::UNAUTHORIZED, "used up");
    let grant = json!({"grant_type": MFA_OTP_GRANT, "mfa_token": mfa_token, "recovery_code": codes[4]});
    assert_eq!(app.token(grant).await.status, StatusCode::OK, "another one works");

    // Bad requests are OAuth errors naming what is wrong.
    let neither = app.token(json!({"grant_type": MFA_OTP_GRANT, "mfa_token": "x"})).await;
    assert_eq!((neither.status, neither.body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    let made_up = app.token(otp_grant("made-up-token", "123456")).await;
    assert_eq!(made_up.status, StatusCode::UNAUTHORIZED);

    // An mfa_token expires after five minutes.
    let mfa_token = second_step(&app, "ann@acme.test", "mfa_required").await;
    app.clock.advance(time::Duration::minutes(5));
    assert_eq!(app.token(otp_grant(&mfa_token, &authenticator.code(&app))).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn wrong_codes_are_failed_logins_and_five_end_an_mfa_token() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    app.create_account("bob@acme.test", &org).await;
    let (authenticator, _) = enable(&app, &bearer(&app.login("bob@acme.test", PASSWORD).await)).await;
    next_step(&app);

    let mfa_token = second_step(&app, "bob@acme.test", "mfa_required").await;
    for _ in 0..5 {
        assert_eq!(app.token(otp_grant(&mfa_token, "000000")).await.status, StatusCode::UNAUTHORIZED);
    }
    let right = authenticator.code(&app);
    assert_eq!(app.token(otp_grant(&mfa_token, &right)).await.status, StatusCode::UNAUTHORIZED, "the token ended");

    // The five wrong codes counted as failed logins, and a right password clears none of them:
    // with the default limit of ten, five more wrong codes and every attempt is a 429.
    let mfa_token = second_step(&app, "bob@acme.test", "mfa_required").await;
    for _ in 0..4 {
        assert_eq!(app.token(otp_grant(&mfa_token, "000000")).await.status, StatusCode::UNAUTHORIZED);
    }
    let mfa_token = second_step(&app, "bob@acme.test", "mfa_required").await;
    assert_eq!(app.token(otp_grant(&mfa_token, "000000")).await.status, StatusCode::UNAUTHORIZED);
    let limited = app.token(otp_grant(&mfa_token, &right)).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", limited.body);
    assert_eq!(limited.body["error"], "too_many_attempts");
    assert!(limited.header("retry-after").is_some());
    assert_eq!(app.token(password_grant("bob@acme.test", PASSWORD)).await.status, StatusCode::TOO_MANY_REQUESTS);

    // After the window, a complete login clears the count.
    app.clock.advance(time::Duration::minutes(15));
    let mfa_token = second_step(&app, "bob@acme.test", "mfa_required").await;
    assert_eq!(app.token(otp_grant(&mfa_token, &authenticator.code(&app))).await.status, StatusCode::OK);
    let counted = app.state.store.get(&THROTTLES, &login_by_email("bob@acme.test")).await.unwrap();
    assert!(counted.is_none(), "{counted:?}");
}

fn count(replies: &[Reply], status: StatusCode) -> usize {
    replies.iter().filter(|r| r.status == status).count()
}

#[tokio::test]
async fn twenty_concurrent_wrong_codes_on_one_mfa_token_get_at_most_five_evaluated() {
    // The login limits are out of the way: only the token's five attempts bound the codes.
    let app = Arc::new(TestApp::for_races(&[("IAM_LOGIN_MAX_FAILURES", "1000")]).await);
    let org = app.create_org("Acme").await;
    app.create_account("cy@acme.test", &org).await;
    let (authenticator, _) = enable(&app, &bearer(&app.login("cy@acme.test", PASSWORD).await)).await;
    next_step(&app);
    let mfa_token = second_step(&app, "cy@acme.test", "mfa_required").await;

    let wrong: Vec<_> = (0..20).map(|_| token_request_from("192.0.2.7", otp_grant(&mfa_token, "000000"))).collect();
    let replies = all_at_once(&app, wrong).await;
    assert_eq!(
        count(&replies, StatusCode::UNAUTHORIZED),
        20,
        "{:?}",
        replies.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    let failures = app.state.store.get(&THROTTLES, &login_by_email("cy@acme.test")).await.unwrap();
    let evaluated = failures.and_then(|f| f.get("count").and_then(Value::as_u64)).unwrap_or(0);
    assert!(evaluated <= 5, "{evaluated} codes were evaluated");
    assert!(evaluated >= 1);
    let right = app.token(otp_grant(&mfa_token, &authenticator.code(&app))).await;
    assert_eq!(right.status, StatusCode::UNAUTHORIZED, "the token ended with its attempts");
}

#[tokio::test]
async fn one_code_sent_with_a_dozen_mfa_tokens_at_once_gives_one_session() {
    let app = Arc::new(TestApp::for_races(&[("IAM_LOGIN_MAX_FAILURES", "1000")]).await);
    let org = app.create_org("Acme").await;
    let id = app.create_account("dee@acme.test", &org).await;
    let (authenticator, _) = enable(&app, &bearer(&app.login("dee@acme.test", PASSWORD).await)).await;
    next_step(&app);
    let mut tokens = Vec::new();
    for _ in 0..12 {
        tokens.push(second_step(&app, "dee@acme.test", "mfa_required").await);
    }
    // One wrong code first opens the failure windows of the email and the address, so that the
    // racing requests below each take their slot with one conditional increment, side by side.
    let opening = app.send(token_request_from("192.0.2.8", otp_grant(&tokens[0], "000000"))).await;
    assert_eq!(opening.status, StatusCode::UNAUTHORIZED);
    let code = authenticator.code(&app);
    let before = sessions_of(&app, &id).await;
    // Each token twice: two grants with one token and one code, and one code over many tokens.
    let requests = tokens.iter().chain(&tokens).map(|t| token_request_from("192.0.2.8", otp_grant(t, &code))).collect();
    let replies = all_at_once(&app, requests).await;
    assert_eq!(count(&replies, StatusCode::OK), 1, "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    assert_eq!(count(&replies, StatusCode::UNAUTHORIZED), 23);
    assert_eq!(sessions_of(&app, &id).await, before + 1);
}

#[tokio::test]
async fn an_organization_that_requires_mfa_makes_its_accounts_enrol_first() {
    let app = TestApp::new().await;
    let org = app.create_org("Strict").await;
    app.create_account("eve@strict.test", &org).await;
    app.account_with_role("root@strict.test", Some(&org), Some(("root_admin", None))).await;
    let admin = app.admin_token.clone();
    let body = json!({"data": {"type": "organizations", "id": org, "attributes": {"mfa_required": true}}});
    let patched = app.call(Method::PATCH, &format!("/api/v3/iam/organizations/{org}"), Some(&admin), Some(body)).await;
    assert_eq!(patched.status, StatusCode::OK, "{:?}", patched.body);
    assert_eq!(patched.body["data"]["attributes"]["mfa_required"], true);
    let filtered = app.get("/api/v3/iam/organizations?filter[mfa_required]=true").await;
    assert_eq!(filtered.ids(), std::slice::from_ref(&org));

    // Global admins of the organization are not exempt.
    second_step(&app, "root@strict.test", "mfa_enrollment_required").await;
    let mfa_token = second_step(&app, "eve@strict.test", "mfa_enrollment_required").await;
    // The enrolment token opens nothing else.
    assert_eq!(me(&app, &mfa_token).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.token(otp_grant(&mfa_token, "000000")).await.status, StatusCode::UNAUTHORIZED);
    let forged = app.send(with_mfa_token(ENROL, "made-up-token", json!({}))).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);

    let begun = app.send(with_mfa_token(ENROL, &mfa_token, json!({}))).await;
    assert_eq!(begun.status, StatusCode::CREATED, "no password again: the token proves it {:?}", begun.body);
    let authenticator = App { secret: totp::from_base32(begun.body["secret"].as_str().unwrap()).unwrap() };
    let confirmed = app.send(with_mfa_token(CONFIRM, &mfa_token, json!({"code": authenticator.code(&app)}))).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{:?}", confirmed.body);
    let used = app.send(with_mfa_token(ENROL, &mfa_token, json!({}))).await;
    assert_eq!(used.status, StatusCode::UNAUTHORIZED, "the enrolment token is used up");

    next_step(&app);
    let mfa_token = second_step(&app, "eve@strict.test", "mfa_required").await;
    let tokens = app.token(otp_grant(&mfa_token, &authenticator.code(&app))).await;
    assert_eq!(tokens.status, StatusCode::OK, "{:?}", tokens.body);
}

#[tokio::test]
async fn the_user_removes_the_second_factor_with_password_and_code() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    app.create_account("fay@acme.test", &org).await;
    let token = bearer(&app.login("fay@acme.test", PASSWORD).await);
    let (authenticator, codes) = enable(&app, &token).await;
    next_step(&app);

    let empty = app.action(Method::DELETE, ENROL, Some(&token), json!({})).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let pointers: Vec<_> =
        empty.body["errors"].as_array().unwrap().iter().map(|e| e["source"]["pointer"].clone()).collect();
    assert_eq!(pointers, [json!("/current_password"), json!("/code")], "{:?}", empty.body);
    let wrong_password = json!({"current_password": "Wr0ng!Password", "code": authenticator.code(&app)});
    assert_eq!(
        app.action(Method::DELETE, ENROL, Some(&token), wrong_password).await.error_codes(),
        ["invalid_password"]
    );
    let wrong_code = json!({"current_password": PASSWORD, "code": "000000"});
    assert_eq!(app.action(Method::DELETE, ENROL, Some(&token), wrong_code).await.error_codes(), ["invalid_code"]);
    let right = json!({"current_password": PASSWORD, "recovery_code": codes[0]});
    assert_eq!(app.action(Method::DELETE, ENROL, Some(&token), right).await.status, StatusCode::NO_CONTENT);

    assert_eq!(me(&app, &token).await.body["data"]["attributes"]["mfa_enabled"], false);
    app.login("fay@acme.test", PASSWORD).await;
    let gone =
        app.action(Method::DELETE, ENROL, Some(&token), json!({"current_password": PASSWORD, "code": "1"})).await;
    assert_eq!(gone.error_codes(), ["mfa_not_enabled"]);
}

#[tokio::test]
async fn an_admin_resets_a_second_factor_and_the_accounts_sessions_end() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    let other = app.create_org("Other").await;
    let id = app.create_account("gus@acme.test", &org).await;
    let token = bearer(&app.login("gus@acme.test", PASSWORD).await);
    enable(&app, &token).await;
    let helpdesk = app.account_with_role("help@acme.test", Some(&org), Some(("helpdesk", Some(&org)))).await;
    let outsider = app.account_with_role("admin@other.test", Some(&other), Some(("org_admin", Some(&other)))).await;
    let org_admin = app.account_with_role("admin@acme.test", Some(&org), Some(("org_admin", Some(&org)))).await;
    let path = format!("/api/v3/iam/accounts/{id}/mfa");

    assert_eq!(app.call(Method::DELETE, &path, Some(&helpdesk), None).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.call(Method::DELETE, &path, Some(&outsider), None).await.status, StatusCode::NOT_FOUND);
    let missing = format!("/api/v3/iam/accounts/{}/mfa", iam_shared::ids::new_id());
    assert_eq!(app.call(Method::DELETE, &missing, Some(&org_admin), None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.call(Method::DELETE, &path, Some(&org_admin), None).await.status, StatusCode::NO_CONTENT);

    assert_eq!(me(&app, &token).await.status, StatusCode::UNAUTHORIZED, "its sessions ended");
    let fresh = bearer(&app.login("gus@acme.test", PASSWORD).await);
    assert_eq!(me(&app, &fresh).await.body["data"]["attributes"]["mfa_enabled"], false);
    let factors = app.state.store.get(&FACTORS, &format!("totp#{id}")).await.unwrap();
    assert!(factors.is_none(), "the secret is gone");
    assert_eq!(app.call(Method::DELETE, &path, Some(&org_admin), None).await.status, StatusCode::NO_CONTENT, "again");
    // It may enrol again.
    enable(&app, &bearer(&app.login("gus@acme.test", PASSWORD).await)).await;
}

#[tokio::test]
async fn a_password_reset_keeps_the_second_factor_and_admins_filter_on_it() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    let with = app.create_account("hal@acme.test", &org).await;
    let without = app.create_account("ida@acme.test", &org).await;
    enable(&app, &bearer(&app.login("hal@acme.test", PASSWORD).await)).await;

    let requested = app
        .action(Method::POST, "/api/v3/iam/account/passwords/request_reset", None, json!({"email": "hal@acme.test"}))
        .await;
    assert_eq!(requested.status, StatusCode::NO_CONTENT);
    let link = app.mailed_token("hal@acme.test", "reset-password").await.expect("a reset link");
    let new_password = "N3w!Passw0rd-long";
    let reset = app
        .action(
            Method::POST,
            "/api/v3/iam/account/passwords/reset",
            None,
            json!({"token": link, "password": new_password}),
        )
        .await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT, "{:?}", reset.body);
    let after = app.token(password_grant("hal@acme.test", new_password)).await;
    assert_eq!((after.status, after.body["error"].as_str()), (StatusCode::FORBIDDEN, Some("mfa_required")));

    let on = app.get(&format!("/api/v3/iam/accounts?filter[organization_id]={org}&filter[mfa_enabled]=true")).await;
    assert_eq!(on.ids(), [with]);
    let expression = encode(&format!("organization_id eq \"{org}\" and mfa_enabled eq false"));
    let off = app.get(&format!("/api/v3/iam/accounts?filters={expression}")).await;
    assert_eq!(off.ids(), std::slice::from_ref(&without));
    let sent = json!({"data": {"type": "accounts", "id": without, "attributes": {"mfa_enabled": true}}});
    let refused =
        app.call(Method::PATCH, &format!("/api/v3/iam/accounts/{without}"), Some(&app.admin_token), Some(sent)).await;
    assert_eq!(refused.error_codes(), ["read_only"], "{:?}", refused.body);
}
