//! Tokens and sessions end to end: the password and refresh grants, rotation and reuse
//! detection, revocation, expiry, forged tokens, discovery, and bootstrapping the first admin.

use axum::body::Body;
use http::{Method, Request, StatusCode};
use iam_shared::bootstrap::{Outcome, ensure_root_admin};
use iam_shared::model::role_assignment;
use iam_shared::records;
use iam_shared::store::schema::ACCOUNTS;
use iam_tests::app::{ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD};
use iam_tests::{Reply, TestApp};
use jsonwebtoken::{DecodingKey, Validation, jwk::Jwk};
use serde_json::{Value, json};

const ME: &str = "/api/v3/iam/organizations";

async fn can_read(app: &TestApp, access_token: &str) -> StatusCode {
    app.call(Method::GET, ME, Some(access_token), None).await.status
}

fn password_grant(email: &str, password: &str) -> Value {
    json!({"grant_type": "password", "email": email, "password": password})
}

fn refresh_grant(token: &Value) -> Value {
    json!({"grant_type": "refresh_token", "refresh_token": token["refresh_token"]})
}

#[tokio::test]
async fn the_password_grant_returns_a_bearer_token_and_a_refresh_token() {
    let app = TestApp::new().await;
    let reply = app.token(password_grant(ADMIN_EMAIL, ADMIN_PASSWORD)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = &reply.body;
    assert_eq!((body["token_type"].as_str(), body["expires_in"].as_i64()), (Some("Bearer"), Some(900)));
    assert!(body["refresh_token"].as_str().unwrap().len() > 40);
    assert_eq!(can_read(&app, body["access_token"].as_str().unwrap()).await, StatusCode::OK);
}

#[tokio::test]
async fn access_tokens_verify_with_the_published_jwks_alone() {
    let app = TestApp::new().await;
    let jwks = app.call(Method::GET, "/.well-known/jwks.json", None, None).await;
    assert_eq!(jwks.status, StatusCode::OK);
    let jwk: Jwk = serde_json::from_value(jwks.body["keys"][0].clone()).unwrap();
    let discovery = app.call(Method::GET, "/.well-known/openid-configuration", None, None).await;
    let metadata = app.call(Method::GET, "/.well-known/oauth-authorization-server", None, None).await;
    assert_eq!(metadata.body, discovery.body, "RFC 8414's document is the same");
    // It claims nothing the service does not do: no authorization endpoint (so no response
    // type), no ID tokens.
    assert_eq!(discovery.body["response_types_supported"], json!([]));
    assert_eq!(
        discovery.body["grant_types_supported"],
        json!(["password", "refresh_token", "urn:iam:params:oauth:grant-type:mfa-otp"])
    );
    assert_eq!(discovery.body["revocation_endpoint"], "http://iam.test/api/v3/iam/auth/revoke");
    assert_eq!(discovery.body["introspection_endpoint"], "http://iam.test/api/v3/iam/auth/introspect");
    for absent in ["id_token_signing_alg_values_supported", "authorization_endpoint"] {
        assert!(discovery.body.get(absent).is_none(), "{absent} is claimed: {}", discovery.body);
    }
    assert_eq!(discovery.body["jwks_uri"], "http://iam.test/.well-known/jwks.json");
    assert_eq!(discovery.body["token_endpoint"], "http://iam.test/api/v3/iam/auth/token");
    let issuer = discovery.body["issuer"].as_str().unwrap();
    let mut validation = Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&["iam"]);
    // The service's clock is a test clock fixed in the past; expiry is tested against it elsewhere.
    validation.validate_exp = false;
    let claims = jsonwebtoken::decode::<Value>(&app.admin_token, &DecodingKey::from_jwk(&jwk).unwrap(), &validation)
        .expect("verifies with the JWKS")
        .claims;
    for claim in ["iss", "aud", "sub", "sid", "jti", "client_id", "iat", "exp"] {
        assert!(claims.get(claim).is_some(), "{claim} missing from {claims}");
    }
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 900);
    assert_eq!(claims["client_id"], "iam");
    // RFC 9068: typed as an access token, and naming the published key by its thumbprint.
    let header = jsonwebtoken::decode_header(&app.admin_token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.kid, jwk.common.key_id);
    assert_eq!(header.kid.as_deref().map(str::len), Some(43), "a base64url SHA-256 (RFC 7638)");
}

#[tokio::test]
async fn a_token_request_naming_another_client_is_invalid_client() {
    let app = TestApp::new().await;
    let grant = |client: &str| json!({"grant_type": "password", "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "client_id": client});
    let reply = app.token(grant("someone-else")).await;
    assert_eq!((reply.status, reply.body["error"].clone()), (StatusCode::UNAUTHORIZED, json!("invalid_client")));
    assert_eq!(app.token(grant("iam")).await.status, StatusCode::OK, "our own client may name itself");
}

#[tokio::test]
async fn an_ipv6_client_is_limited_by_its_slash_64_whatever_address_it_picks() {
    let app =
        TestApp::with_env(&[("IAM_LOGIN_MAX_FAILURES_PER_ADDRESS", "3"), ("IAM_LOGIN_MAX_FAILURES", "100")]).await;
    let wrong = |n: usize| json!({"grant_type": "password", "email": format!("guess{n}@example.com"), "password": "x"});
    // Three guesses from three addresses of one /64 use up its limit ...
    for n in 0..3 {
        let reply = app.token_from(&format!("2001:db8:1:2::{:x}", n + 1), wrong(n)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let reply = app.token_from("2001:db8:1:2:ffff:ffff:ffff:ffff", wrong(3)).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS, "a fourth address of the same /64");
    // ... and the next /64 is another client.
    assert_eq!(app.token_from("2001:db8:1:3::1", wrong(4)).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn every_failed_login_looks_the_same() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    app.account_with_role("disabled@acme.test", Some(&org), None).await;
    app.account_with_role("expired@acme.test", Some(&org), None).await;
    for (email, change) in [
        ("disabled@acme.test", json!({"enabled": false})),
        ("expired@acme.test", json!({"expires_at": "2026-11-23T09:00:00Z"})),
    ] {
        let owner = records::owner_of(
            app.state.store.as_ref(),
            &iam_shared::model::account::Email::parse(email).unwrap().unique(),
        )
        .await
        .unwrap()
        .unwrap();
        let old = app.state.store.get(&ACCOUNTS, &owner).await.unwrap().unwrap();
        let mut new = old.clone();
        new.extend(change.as_object().unwrap().clone());
        records::replace(app.state.store.as_ref(), &ACCOUNTS, &old, new, &[], &[]).await.unwrap();
    }
    let attempts = [
        password_grant(ADMIN_EMAIL, "Wr0ng!Password"),
        password_grant("nobody@acme.test", PASSWORD),
        password_grant("not an email", PASSWORD),
        password_grant("disabled@acme.test", PASSWORD),
        password_grant("expired@acme.test", PASSWORD),
    ];
    for attempt in attempts {
        let reply = app.token(attempt.clone()).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{attempt}");
        assert_eq!(reply.body, json!({"error": "invalid_grant"}), "{attempt}");
    }
}

#[tokio::test]
async fn oauth_clients_may_send_a_form_with_username() {
    let app = TestApp::new().await;
    let form = format!(
        "grant_type=password&username={}&password={}",
        ADMIN_EMAIL.replace('@', "%40"),
        ADMIN_PASSWORD.replace('!', "%21")
    );
    let request = Request::post("/api/v3/iam/auth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
}

#[tokio::test]
async fn malformed_token_requests_are_oauth_errors() {
    let app = TestApp::new().await;
    let cases = [
        (json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}), "invalid_request"),
        (json!({"grant_type": "client_credentials"}), "unsupported_grant_type"),
        (json!({"grant_type": "password", "email": ADMIN_EMAIL}), "invalid_request"),
        (json!({"grant_type": "refresh_token"}), "invalid_request"),
        (json!({"grant_type": "password", "email": 5, "password": ADMIN_PASSWORD}), "invalid_request"),
    ];
    for (body, error) in cases {
        let reply = app.token(body.clone()).await;
        assert_eq!((reply.status, reply.body["error"].as_str()), (StatusCode::BAD_REQUEST, Some(error)), "{body}");
    }
    // Bodies it cannot read are OAuth errors too, in application/json, not JSON:API documents.
    let unreadable = [
        ("text/plain", "x".to_string(), StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("application/json", "{".to_string(), StatusCode::BAD_REQUEST),
        ("application/json", "[1]".to_string(), StatusCode::BAD_REQUEST),
        ("application/json", format!("\"{}\"", "x".repeat(1024 * 1024 + 1)), StatusCode::PAYLOAD_TOO_LARGE),
    ];
    for (media, body, status) in unreadable {
        let request =
            Request::post("/api/v3/iam/auth/token").header("content-type", media).body(Body::from(body)).unwrap();
        let reply = app.send(request).await;
        assert_eq!((reply.status, reply.body["error"].as_str()), (status, Some("invalid_request")), "{media}");
        assert_eq!(reply.header("content-type"), Some("application/json"), "{media}");
        assert!(reply.body.get("errors").is_none(), "{}", reply.body);
    }
}

#[tokio::test]
async fn a_refresh_rotates_the_refresh_token() {
    let app = TestApp::new().await;
    let first = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    app.clock.advance(time::Duration::minutes(10));
    let second = app.token(refresh_grant(&first)).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_ne!(second.body["refresh_token"], first["refresh_token"]);
    assert_eq!(second.body["session_id"], first["session_id"]);
    assert_eq!(can_read(&app, second.body["access_token"].as_str().unwrap()).await, StatusCode::OK);
    let third = app.token(refresh_grant(&second.body)).await;
    assert_eq!(third.status, StatusCode::OK, "the rotated token works once");
}

#[tokio::test]
async fn a_refresh_token_used_twice_kills_the_session() {
    let app = TestApp::new().await;
    let first = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let second: Reply = app.token(refresh_grant(&first)).await;
    assert_eq!(second.status, StatusCode::OK);
    let replay = app.token(refresh_grant(&first)).await;
    assert_eq!((replay.status, replay.body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_grant")));
    // The whole session is dead: the legitimate holder's newest tokens too.
    assert_eq!(app.token(refresh_grant(&second.body)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(can_read(&app, second.body["access_token"].as_str().unwrap()).await, StatusCode::UNAUTHORIZED);
    assert_eq!(can_read(&app, first["access_token"].as_str().unwrap()).await, StatusCode::UNAUTHORIZED);
    // Other sessions of the same account live on.
    assert_eq!(can_read(&app, &app.admin_token).await, StatusCode::OK);
}

#[tokio::test]
async fn a_guessed_refresh_token_is_refused_without_harming_the_session() {
    let app = TestApp::new().await;
    let first = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let sid = first["session_id"].as_str().unwrap();
    for guess in [format!("{sid}.guess"), "garbage".into(), sid.to_string()] {
        let reply = app.token(json!({"grant_type": "refresh_token", "refresh_token": guess})).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(app.token(refresh_grant(&first)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn revoke_ends_the_session_at_once() {
    let app = TestApp::new().await;
    let tokens = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let access = tokens["access_token"].as_str().unwrap();
    let reply = app.call(Method::POST, "/api/v3/iam/auth/revoke", Some(access), None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(can_read(&app, access).await, StatusCode::UNAUTHORIZED);
    let ended = app.call(Method::GET, "/api/v3/iam/accounts/me", Some(access), None).await;
    assert_eq!(ended.header("www-authenticate"), Some(r#"Bearer error="invalid_token""#));
    assert_eq!(app.token(refresh_grant(&tokens)).await.status, StatusCode::UNAUTHORIZED);
    let anonymous = app.call(Method::POST, "/api/v3/iam/auth/revoke", None, None).await;
    assert_eq!((anonymous.status, anonymous.header("www-authenticate")), (StatusCode::UNAUTHORIZED, Some("Bearer")));
}

#[tokio::test]
async fn access_tokens_expire_after_fifteen_minutes() {
    let app = TestApp::new().await;
    app.clock.advance(time::Duration::seconds(899));
    assert_eq!(can_read(&app, &app.admin_token).await, StatusCode::OK);
    app.clock.advance(time::Duration::seconds(1));
    assert_eq!(can_read(&app, &app.admin_token).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn forged_and_foreign_tokens_are_refused() {
    let app = TestApp::new().await;
    let parts: Vec<&str> = app.admin_token.split('.').collect();
    let mut claims: Value = serde_json::from_slice(&base64_decode(parts[1])).unwrap();
    claims["sub"] = json!("someone-else");
    let tampered = format!("{}.{}.{}", parts[0], base64_encode(&serde_json::to_vec(&claims).unwrap()), parts[2]);
    let unsigned = format!("{}.{}.", base64_encode(br#"{"alg":"none","typ":"JWT"}"#), parts[1]);
    let other_key = iam_shared::auth::jwt::TokenKeys::from_pem(
        &iam_shared::auth::jwt::TokenKeys::generate_pem().unwrap(),
        &app.state.keys.issuer,
        "iam",
        std::time::Duration::from_secs(900),
    )
    .unwrap();
    let foreign =
        other_key.issue(&claims["sub"].to_string(), claims["sid"].as_str().unwrap(), app.state.now()).unwrap();
    for token in [tampered, unsigned, foreign, "a.b.c".into()] {
        assert_eq!(can_read(&app, &token).await, StatusCode::UNAUTHORIZED, "{token}");
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

#[tokio::test]
async fn bootstrap_never_creates_a_second_root_admin() {
    let app = TestApp::new().await;
    let again = ensure_root_admin(
        app.state.store.as_ref(),
        &app.state.passwords,
        "2026-11-23T10:00:00Z",
        Some("other@example.com"),
        Some(ADMIN_PASSWORD),
    )
    .await
    .unwrap();
    assert!(matches!(again, Outcome::AlreadyPresent { .. }), "{again:?}");
    let index = &iam_shared::store::schema::ROLE_ASSIGNMENTS_BY_ROLE;
    let page = app
        .state
        .store
        .query(iam_shared::store::Query {
            table: &iam_shared::store::schema::ROLE_ASSIGNMENTS,
            index,
            pk: "root_admin".into(),
            sk: None,
            descending: false,
            limit: 10,
            start: None,
        })
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert!(role_assignment::anyone_holds(app.state.store.as_ref(), "root_admin").await.unwrap());
}

#[tokio::test]
async fn bootstrap_without_a_password_generates_a_strong_one_that_works() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(iam_shared::store::embedded::EmbeddedStore::open(&dir.path().join("db")).unwrap());
    let config = iam_shared::config::Config::from_lookup(|k| match k {
        "IAM_DATA_DIR" => Some(dir.path().to_string_lossy().to_string()),
        "IAM_PASSWORD_HASH_COST" => Some("fast-insecure-for-tests".into()),
        _ => None,
    })
    .unwrap();
    let clock = std::sync::Arc::new(iam_shared::clock::SystemClock);
    let state = iam_shared::AppState::assemble(config, store, clock).unwrap();
    let weak = ensure_root_admin(
        state.store.as_ref(),
        &state.passwords,
        "2026-11-23T10:00:00Z",
        Some("admin@example.com"),
        Some("password"),
    )
    .await;
    assert!(weak.unwrap_err().to_string().contains("IAM_ADMIN_PASSWORD"));
    let Outcome::Created { email, generated_password: Some(password) } =
        ensure_root_admin(state.store.as_ref(), &state.passwords, "2026-11-23T10:00:00Z", None, None).await.unwrap()
    else {
        panic!("expected a generated password");
    };
    assert_eq!(email, iam_shared::bootstrap::DEFAULT_ADMIN_EMAIL);
    assert!(iam_shared::model::password::policy_violations(&password, Some(&email)).is_empty());
    assert!(password.len() >= 40);
    let router = iam_cli::gateway(state.clone());
    let request = Request::post("/api/v3/iam/auth/token")
        .header("content-type", "application/json")
        .body(Body::from(password_grant(&email, &password).to_string()))
        .unwrap();
    let response = tower::ServiceExt::oneshot(router, request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_session_records_where_it_came_from() {
    let app = TestApp::new().await;
    let request = Request::post("/api/v3/iam/auth/token")
        .header("content-type", "application/json")
        .header("user-agent", "curl/8.0")
        .body(Body::from(password_grant(ADMIN_EMAIL, ADMIN_PASSWORD).to_string()))
        .unwrap();
    let reply = app.send(request).await;
    let sid = reply.body["session_id"].as_str().unwrap();
    let session = app.state.store.get(&iam_shared::store::schema::SESSIONS, sid).await.unwrap().unwrap();
    assert_eq!(session["user_agent"], "curl/8.0");
    assert_eq!(session["refresh_seq"], 0);
    assert!(session.get("refresh_token").is_none(), "only the hash is stored");
    assert_ne!(session["refresh_hash"], reply.body["refresh_token"]);
    app.token(refresh_grant(&reply.body)).await;
    let session = app.state.store.get(&iam_shared::store::schema::SESSIONS, sid).await.unwrap().unwrap();
    assert_eq!(session["refresh_seq"], 1);
}

/// A form POST to `path`, with a bearer when given (RFC 7009 and 7662 clients send forms).
fn form(path: &str, token: Option<&str>, body: &str) -> Request<Body> {
    let mut request = Request::post(path).header("content-type", "application/x-www-form-urlencoded");
    if let Some(t) = token {
        request = request.header("authorization", format!("Bearer {t}"));
    }
    request.body(Body::from(body.to_string())).unwrap()
}

const REVOKE: &str = "/api/v3/iam/auth/revoke";
const INTROSPECT: &str = "/api/v3/iam/auth/introspect";

#[tokio::test]
async fn rfc7009_revocation_ends_the_session_of_an_access_or_a_refresh_token() {
    let app = TestApp::new().await;
    let (one, two) = (app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await, app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await);
    // A refresh token, in a form, without a bearer: its session ends, the other lives on.
    let refresh = one["refresh_token"].as_str().unwrap();
    let reply = app.send(form(REVOKE, None, &format!("token={refresh}&token_type_hint=refresh_token"))).await;
    assert_eq!((reply.status, &reply.body), (StatusCode::OK, &Value::Null), "an empty 200");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(can_read(&app, one["access_token"].as_str().unwrap()).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.token(refresh_grant(&one)).await.status, StatusCode::UNAUTHORIZED);
    let access = two["access_token"].as_str().unwrap();
    assert_eq!(can_read(&app, access).await, StatusCode::OK);
    // An access token, as JSON: its session ends.
    let reply = app.action(Method::POST, REVOKE, None, json!({"token": access})).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(can_read(&app, access).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.token(refresh_grant(&two)).await.status, StatusCode::UNAUTHORIZED);
    // Anything else is the same empty 200; only a missing token is an (OAuth) error.
    for junk in ["nonsense", "0190a0b0-0000-7000-8000-000000000001.secret", refresh, ""] {
        let reply = app.send(form(REVOKE, None, &format!("token={junk}"))).await;
        let expected = if junk.is_empty() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
        assert_eq!(reply.status, expected, "{junk:?}: {}", reply.body);
    }
    let reply = app.send(form(REVOKE, None, "token_type_hint=access_token")).await;
    assert_eq!((reply.status, reply.body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    assert_eq!(reply.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn revoking_a_rotated_away_refresh_token_ends_its_session_too() {
    let app = TestApp::new().await;
    let session = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let rotated = app.token(refresh_grant(&session)).await;
    assert_eq!(rotated.status, StatusCode::OK);
    let access = rotated.body["access_token"].as_str().unwrap();
    assert_eq!(can_read(&app, access).await, StatusCode::OK);
    // Whoever holds the old token asks for the session to end: it does (as reuse would).
    let old = session["refresh_token"].as_str().unwrap();
    assert_eq!(app.send(form(REVOKE, None, &format!("token={old}"))).await.status, StatusCode::OK);
    assert_eq!(can_read(&app, access).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn introspection_needs_its_permission_and_tells_only_whether_a_token_works() {
    let app = TestApp::new().await;
    let me = app.call(Method::GET, "/api/v3/iam/accounts/me", Some(&app.admin_token), None).await;
    let admin_id = me.body["data"]["id"].as_str().unwrap().to_string();
    let session = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let access = session["access_token"].as_str().unwrap();
    let refresh = session["refresh_token"].as_str().unwrap();

    let reply = app.send(form(INTROSPECT, Some(&app.admin_token), &format!("token={access}"))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = &reply.body;
    assert_eq!((body["active"].as_bool(), body["token_type"].as_str()), (Some(true), Some("access_token")));
    assert_eq!((body["sub"].as_str(), body["sid"].as_str()), (Some(admin_id.as_str()), session["session_id"].as_str()));
    assert!(body["exp"].as_i64() > body["iat"].as_i64(), "{body}");
    let reply = app.send(form(INTROSPECT, Some(&app.admin_token), &format!("token={refresh}"))).await;
    assert_eq!(
        (reply.body["active"].as_bool(), reply.body["token_type"].as_str()),
        (Some(true), Some("refresh_token"))
    );

    // Revoked, rotated away or made up: exactly {"active": false}, nothing else said.
    let rotated = app.token(refresh_grant(&session)).await;
    assert_eq!(rotated.status, StatusCode::OK);
    let reply = app.send(form(INTROSPECT, Some(&app.admin_token), &format!("token={refresh}"))).await;
    assert_eq!(reply.body, json!({"active": false}), "a rotated refresh token");
    app.send(form(REVOKE, None, &format!("token={access}"))).await;
    for dead in [access, "made-up", rotated.body["refresh_token"].as_str().unwrap()] {
        let reply = app.send(form(INTROSPECT, Some(&app.admin_token), &format!("token={dead}"))).await;
        assert_eq!((reply.status, &reply.body), (StatusCode::OK, &json!({"active": false})), "{dead}");
    }

    // Only with tokens:introspect; every refusal is an OAuth body.
    let org = app.create_org("Acme").await;
    let member = app.account_with_role("ann@acme.test", Some(&org), Some(("org_admin", Some(&org)))).await;
    let reply = app.send(form(INTROSPECT, Some(&member), &format!("token={}", app.admin_token))).await;
    assert_eq!((reply.status, reply.body["error"].as_str()), (StatusCode::FORBIDDEN, Some("insufficient_scope")));
    let reply = app.send(form(INTROSPECT, None, &format!("token={}", app.admin_token))).await;
    assert_eq!((reply.status, reply.body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_token")));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let reply = app.send(form(INTROSPECT, Some(&app.admin_token), "token_type_hint=access_token")).await;
    assert_eq!((reply.status, reply.body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
}
