//! Password flows and brute-force defence: reset links (single use, 1 hour, hashed), password
//! change, and 429s for repeated failed logins and reset requests. Tests move the clock.

use http::{Method, StatusCode};
use iam_tests::TestApp;
use iam_tests::app::PASSWORD;
use serde_json::{Value, json};

const NEW_PASSWORD: &str = "N3w!Password";
const REQUEST_RESET: &str = "/api/v3/iam/account/passwords/request_reset";
const RESET: &str = "/api/v3/iam/account/passwords/reset";
const CHANGE: &str = "/api/v3/iam/account/passwords/change";
const RESET_PAGE: &str = "reset-password";

async fn request_reset(app: &TestApp, email: &str) -> StatusCode {
    app.action(Method::POST, REQUEST_RESET, None, json!({"email": email})).await.status
}

async fn token_valid(app: &TestApp, token: &str) -> Value {
    let reply =
        app.call(Method::GET, &format!("/api/v3/iam/account/passwords/token_valid?token={token}"), None, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    reply.body["valid"].clone()
}

fn password_login(email: &str, password: &str) -> Value {
    json!({"grant_type": "password", "email": email, "password": password})
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_and_ends_every_session() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    app.create_account("ann@acme.test", &org).await;
    let session = app.login("ann@acme.test", PASSWORD).await;
    let access = session["access_token"].as_str().unwrap().to_string();

    assert_eq!(request_reset(&app, "ANN@acme.test").await, StatusCode::NO_CONTENT);
    let mail = app.mail_to("ann@acme.test").await;
    assert_eq!(mail.len(), 1);
    assert!(mail[0].contains("Subject: Reset your password"));
    let token = app.mailed_token("ann@acme.test", RESET_PAGE).await.expect("a reset link");
    assert_eq!(token_valid(&app, &token).await, json!(true));
    assert_eq!(token_valid(&app, &token).await, json!(true), "checking does not use the link up");

    let weak = app.action(Method::POST, RESET, None, json!({"token": token, "password": "password"})).await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(weak.error_codes(), ["missing_uppercase", "missing_digit", "missing_special"]);

    let reset = app.action(Method::POST, RESET, None, json!({"token": token, "password": NEW_PASSWORD})).await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT, "{:?}", reset.body);
    let me = app.call(Method::GET, "/api/v3/iam/accounts/me", Some(&access), None).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "old sessions are dead at once");
    let refresh = app.token(json!({"grant_type": "refresh_token", "refresh_token": session["refresh_token"]})).await;
    assert_eq!(refresh.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.token(password_login("ann@acme.test", PASSWORD)).await.status, StatusCode::UNAUTHORIZED);
    app.login("ann@acme.test", NEW_PASSWORD).await;

    let again = app.action(Method::POST, RESET, None, json!({"token": token, "password": "Th1rd!Password"})).await;
    assert_eq!(again.error_codes(), ["invalid_token"], "a link works once");
    assert_eq!(token_valid(&app, &token).await, json!(false));
}

#[tokio::test]
async fn unknown_disabled_and_pending_accounts_get_the_same_204_and_no_email() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    let off = app
        .create(
            "accounts",
            json!({"email": "off@acme.test", "password": PASSWORD, "organization_id": org, "enabled": false}),
        )
        .await;
    assert!(!off.is_empty());
    app.create("accounts", json!({"email": "pending@acme.test", "organization_id": org})).await;
    let invitations = app.outbox().await.len();
    for email in ["nobody@acme.test", "off@acme.test", "pending@acme.test", "not an email"] {
        assert_eq!(request_reset(&app, email).await, StatusCode::NO_CONTENT, "{email}");
    }
    assert_eq!(app.outbox().await.len(), invitations, "no reset email was sent");
    let missing = app.action(Method::POST, REQUEST_RESET, None, json!({})).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(missing.body["errors"][0]["source"]["pointer"], "/email");
}

#[tokio::test]
async fn a_reset_link_lasts_an_hour_and_only_the_newest_works() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    app.create_account("ann@acme.test", &org).await;
    request_reset(&app, "ann@acme.test").await;
    let first = app.mailed_token("ann@acme.test", RESET_PAGE).await.unwrap();
    request_reset(&app, "ann@acme.test").await;
    let second = app.mailed_token("ann@acme.test", RESET_PAGE).await.unwrap();
    assert_eq!(token_valid(&app, &first).await, json!(false), "a newer link replaces it");
    assert_eq!(token_valid(&app, &second).await, json!(true));
    app.clock.advance(time::Duration::minutes(60));
    assert_eq!(token_valid(&app, &second).await, json!(false));
    let late = app.action(Method::POST, RESET, None, json!({"token": second, "password": NEW_PASSWORD})).await;
    assert_eq!(late.error_codes(), ["invalid_token"]);
    let bad = app.call(Method::GET, "/api/v3/iam/account/passwords/token_valid", None, None).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["errors"][0]["source"]["parameter"], "token");
}

#[tokio::test]
async fn a_password_change_needs_the_current_one_and_ends_the_other_sessions() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    app.create_account("ann@acme.test", &org).await;
    let here = app.login("ann@acme.test", PASSWORD).await["access_token"].as_str().unwrap().to_string();
    let elsewhere = app.login("ann@acme.test", PASSWORD).await["access_token"].as_str().unwrap().to_string();

    let wrong = app
        .action(Method::POST, CHANGE, Some(&here), json!({"current_password": "Wr0ng!pass", "password": NEW_PASSWORD}))
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong.error_codes(), ["invalid_password"]);
    assert_eq!(wrong.body["errors"][0]["source"]["pointer"], "/current_password");
    let weak =
        app.action(Method::POST, CHANGE, Some(&here), json!({"current_password": PASSWORD, "password": "short"})).await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.error_codes().contains(&"too_short".to_string()));
    let anonymous =
        app.action(Method::POST, CHANGE, None, json!({"current_password": PASSWORD, "password": NEW_PASSWORD})).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    let changed = app
        .action(Method::POST, CHANGE, Some(&here), json!({"current_password": PASSWORD, "password": NEW_PASSWORD}))
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{:?}", changed.body);
    let me = |token: String| {
        let app = &app;
        async move { app.call(Method::GET, "/api/v3/iam/accounts/me", Some(&token), None).await.status }
    };
    assert_eq!(me(here).await, StatusCode::OK, "the caller's session goes on");
    assert_eq!(me(elsewhere).await, StatusCode::UNAUTHORIZED, "every other session ended");
    app.login("ann@acme.test", NEW_PASSWORD).await;
}

#[tokio::test]
async fn the_eleventh_failed_login_is_a_429_even_with_the_right_password() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    app.create_account("ann@acme.test", &org).await;
    for _ in 0..10 {
        let reply = app.token(password_login("ann@acme.test", "Wr0ng!pass")).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let blocked = app.token(password_login("ann@acme.test", PASSWORD)).await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(blocked.header("retry-after"), Some("900"));
    // The token endpoint answers OAuth error bodies, this one too (API.md §3).
    assert_eq!(blocked.body["error"], "too_many_attempts", "{}", blocked.body);
    assert_eq!(blocked.header("content-type"), Some("application/json"));

    // An unknown email is limited alike: a 429 says nothing about existence.
    for _ in 0..10 {
        app.token(password_login("ghost@acme.test", "Wr0ng!pass")).await;
    }
    let ghost = app.token(password_login("ghost@acme.test", PASSWORD)).await;
    assert_eq!(ghost.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(ghost.body, blocked.body);

    app.clock.advance(time::Duration::minutes(10));
    assert_eq!(app.token(password_login("ann@acme.test", PASSWORD)).await.header("retry-after"), Some("300"));
    app.clock.advance(time::Duration::minutes(5));
    app.login("ann@acme.test", PASSWORD).await;
}

#[tokio::test]
async fn a_successful_login_forgets_the_accounts_failures() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    app.create_account("ann@acme.test", &org).await;
    for round in 0..2 {
        for _ in 0..9 {
            let reply = app.token(password_login("ann@acme.test", "Wr0ng!pass")).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "round {round}");
        }
        app.login("ann@acme.test", PASSWORD).await;
    }
}

#[tokio::test]
async fn one_client_address_is_limited_across_accounts() {
    let app = TestApp::with_env(&[("IAM_LOGIN_MAX_FAILURES_PER_ADDRESS", "3")]).await;
    let org = app.create_org("Acme").await;
    app.create_account("ann@acme.test", &org).await;
    for n in 0..3 {
        let reply = app.token_from("203.0.113.9", password_login(&format!("user{n}@acme.test"), "Wr0ng!pass")).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let blocked = app.token_from("203.0.113.9", password_login("ann@acme.test", PASSWORD)).await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    let elsewhere = app.token_from("198.51.100.7", password_login("ann@acme.test", PASSWORD)).await;
    assert_eq!(elsewhere.status, StatusCode::OK, "other addresses are not affected");
}

#[tokio::test]
async fn reset_requests_are_limited_per_email() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    app.create_account("ann@acme.test", &org).await;
    for email in ["ann@acme.test", "ghost@acme.test"] {
        for _ in 0..5 {
            assert_eq!(request_reset(&app, email).await, StatusCode::NO_CONTENT);
        }
        let reply = app.action(Method::POST, REQUEST_RESET, None, json!({"email": email})).await;
        assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS, "{email}");
        assert_eq!(reply.header("retry-after"), Some("3600"));
    }
    // Each of the five links ended the one before; delivered afterwards, only the live one goes.
    assert_eq!(app.mail_to("ann@acme.test").await.len(), 1);
    app.clock.advance(time::Duration::hours(1));
    assert_eq!(request_reset(&app, "ann@acme.test").await, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn reset_requests_are_limited_per_client_address_whatever_the_email() {
    let app =
        TestApp::with_env(&[("IAM_RESET_MAX_REQUESTS_PER_ADDRESS", "3"), ("IAM_RESET_MIN_RESPONSE_MS", "0")]).await;
    let org = app.create_org("Acme").await;
    app.create_account("ann@acme.test", &org).await;
    let from = |ip: &str, email: &str| iam_tests::app::post_from(ip, REQUEST_RESET, json!({"email": email}));
    for email in ["a@acme.test", "b@acme.test", "c@acme.test"] {
        assert_eq!(app.send(from("2001:db8::1", email)).await.status, StatusCode::NO_CONTENT);
    }
    // The same /64 is the same client (it may take a new address for every request).
    let blocked = app.send(from("2001:db8::2", "ann@acme.test")).await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(blocked.header("retry-after"), Some("3600"));
    assert_eq!(blocked.body["errors"][0]["code"], "too_many_requests", "{:?}", blocked.body);
    assert!(app.mail_to("ann@acme.test").await.is_empty(), "a refused request sends nothing");
    assert_eq!(app.send(from("2001:db9::1", "ann@acme.test")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.mail_to("ann@acme.test").await.len(), 1);
    app.clock.advance(time::Duration::hours(1));
    assert_eq!(app.send(from("2001:db8::1", "d@acme.test")).await.status, StatusCode::NO_CONTENT);
}

/// Virtual time (the runtime's clock is paused and jumps to each timer): both answers take at
/// least the configured floor, so timing does not tell a known email from an unknown one.
#[tokio::test(start_paused = true)]
async fn reset_requests_take_the_same_minimum_time_for_known_and_unknown_emails() {
    if iam_tests::app::on_dynamodb() {
        return; // network waits under a paused clock would fire the SDK's timeouts
    }
    let app = TestApp::with_env(&[("IAM_RESET_MIN_RESPONSE_MS", "400")]).await;
    let org = app.create_org("Acme").await;
    app.create_account("ann@acme.test", &org).await;
    for email in ["ann@acme.test", "ghost@acme.test"] {
        let started = tokio::time::Instant::now();
        assert_eq!(request_reset(&app, email).await, StatusCode::NO_CONTENT);
        let took = started.elapsed();
        assert!(took >= std::time::Duration::from_millis(400), "{email} answered after {took:?}");
    }
    assert_eq!(app.mail_to("ann@acme.test").await.len(), 1);
}

/// `iam admin reset-password`: an operator gives an account a new password; its sessions end,
/// earlier reset links die, and accounts without a password of their own are refused.
#[tokio::test]
async fn an_operator_replaces_a_lost_password_and_earlier_links_and_sessions_die() {
    use iam_shared::bootstrap::set_password;
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    app.create_account("ann@acme.test", &org).await;
    let session = app.login("ann@acme.test", PASSWORD).await;
    assert_eq!(request_reset(&app, "ann@acme.test").await, StatusCode::NO_CONTENT);
    let link = app.mailed_token("ann@acme.test", RESET_PAGE).await.expect("a reset link");

    let store = app.state.store.as_ref();
    let set = set_password(store, &app.state.passwords, app.state.now(), "Ann@Acme.test", None).await.unwrap();
    assert_eq!((set.email.as_str(), set.sessions_ended, set.may_log_in), ("ann@acme.test", 1, true));
    let generated = set.generated_password.expect("a generated password");
    app.logs.remember(&generated);
    app.login("ann@acme.test", &generated).await;
    let old = app.token(password_login("ann@acme.test", PASSWORD)).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let me = app.call(Method::GET, "/api/v3/iam/accounts/me", session["access_token"].as_str(), None).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "the session from before ended");
    let reset = app.action(Method::POST, RESET, None, json!({"token": link, "password": NEW_PASSWORD})).await;
    assert_eq!(reset.status, StatusCode::UNPROCESSABLE_ENTITY, "a link mailed before is dead");

    app.create("accounts", json!({"email": "bob@acme.test", "organization_id": org})).await;
    let now = app.state.now();
    let pending = set_password(store, &app.state.passwords, now, "bob@acme.test", Some(NEW_PASSWORD)).await;
    assert!(pending.unwrap_err().to_string().contains("has not joined"), "an invited account joins instead");
    let weak = set_password(store, &app.state.passwords, now, "ann@acme.test", Some("password")).await;
    assert!(weak.unwrap_err().to_string().contains("too weak"));
    app.login("ann@acme.test", &generated).await;
}
