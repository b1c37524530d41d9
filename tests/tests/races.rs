//! Defences fired at in parallel, dozens of requests at once, as an attacker would: the login
//! limits per email and per address (token endpoint and password change), and deletes racing
//! the creates that would leave orphans behind them. On DynamoDB these run against a moto that
//! serves one request at a time (`TestApp::for_races`), so every outcome is the code's.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use iam_shared::store::schema::{ACCOUNT_WORDS, ACCOUNTS, TEAM_WORDS, TEAMS, TableDef};
use iam_shared::store::words::{ITEM_ID, WORDS, WordIndex};
use iam_shared::store::{Query, query_all};
use iam_tests::app::{PASSWORD, Reply, TestApp, all_at_once, post_from, token_request_from};
use serde_json::{Value, json};

fn statuses(replies: &[Reply]) -> BTreeMap<u16, usize> {
    let mut counts = BTreeMap::new();
    for r in replies {
        *counts.entry(r.status.as_u16()).or_default() += 1;
    }
    counts
}

/// A password grant from client address `ip`.
fn login_from(ip: &str, email: &str, password: &str) -> Request<Body> {
    token_request_from(ip, json!({"grant_type": "password", "email": email, "password": password}))
}

fn change_password(token: &str, current: &str) -> Request<Body> {
    let body = json!({"current_password": current, "password": "An0ther!Passw0rd"});
    Request::post("/api/v3/iam/account/passwords/change")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(body.to_string()))
        .expect("request")
}

fn jsonapi(method: Method, path: &str, token: &str, body: Option<Value>) -> Request<Body> {
    let builder = Request::builder().method(method).uri(path).header(header::AUTHORIZATION, format!("Bearer {token}"));
    match body {
        Some(b) => builder
            .header(header::CONTENT_TYPE, "application/vnd.api+json")
            .body(Body::from(b.to_string()))
            .expect("request"),
        None => builder.body(Body::empty()).expect("request"),
    }
}

fn create(type_name: &str, token: &str, attributes: Value) -> Request<Body> {
    let body = json!({"data": {"type": type_name, "attributes": attributes}});
    jsonapi(Method::POST, &format!("/api/v3/iam/{type_name}"), token, Some(body))
}

fn delete(path: &str, token: &str) -> Request<Body> {
    jsonapi(Method::DELETE, path, token, None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_parallel_wrong_guesses_get_exactly_ten_evaluations() {
    let app = Arc::new(TestApp::for_races(&[]).await);
    let org = app.create_org("Acme").await;
    app.create_account("ann@acme.test", &org).await;
    let guesses = (0..60).map(|i| login_from("198.51.100.7", "ann@acme.test", &format!("Wrong!{i}aA"))).collect();
    let replies = all_at_once(&app, guesses).await;
    assert_eq!(statuses(&replies), BTreeMap::from([(401, 10), (429, 50)]), "the limit is 10 per email");
    let throttled = replies.iter().find(|r| r.status == StatusCode::TOO_MANY_REQUESTS).unwrap();
    let wait: u64 = throttled.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&wait), "Retry-After within the window: {wait}");

    // The right password, in a burst after the limit, gets 429 like any guess.
    let burst = (0..20).map(|_| login_from("198.51.100.8", "ann@acme.test", PASSWORD)).collect();
    let replies = all_at_once(&app, burst).await;
    assert_eq!(statuses(&replies), BTreeMap::from([(429, 20)]));
    assert!(replies.iter().all(|r| r.body.get("access_token").is_none()));

    // When the window has closed the account logs in again.
    app.clock.advance(time::Duration::minutes(16));
    let replies = all_at_once(&app, vec![login_from("198.51.100.8", "ann@acme.test", PASSWORD)]).await;
    assert_eq!(replies[0].status, StatusCode::OK, "{:?}", replies[0].body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_limit_per_address_holds_in_parallel_and_successes_give_their_slot_back() {
    let vars = [("IAM_LOGIN_MAX_FAILURES_PER_ADDRESS", "10"), ("IAM_LOGIN_MAX_FAILURES", "100")];
    let app = Arc::new(TestApp::for_races(&vars).await);
    let org = app.create_org("Acme").await;
    app.create_account("ann@acme.test", &org).await;

    // Many people behind one address log in successfully: their own logins give their slots
    // back, so they never throttle it (only attempts in flight at once hold slots).
    for _ in 0..6 {
        let logins = (0..5).map(|_| login_from("203.0.113.9", "ann@acme.test", PASSWORD)).collect();
        assert_eq!(statuses(&all_at_once(&app, logins).await), BTreeMap::from([(200, 5)]));
    }

    let guesses = (0..60).map(|i| login_from("203.0.113.9", &format!("nobody{i}@acme.test"), "Wrong!Pass1")).collect();
    let replies = all_at_once(&app, guesses).await;
    assert_eq!(statuses(&replies), BTreeMap::from([(401, 10), (429, 50)]), "the limit is 10 per address");

    // The address is blocked even for the right password; another address is not.
    let mixed = vec![
        login_from("203.0.113.9", "ann@acme.test", PASSWORD),
        login_from("203.0.113.10", "ann@acme.test", PASSWORD),
    ];
    let replies = all_at_once(&app, mixed).await;
    assert_eq!((replies[0].status, replies[1].status), (StatusCode::TOO_MANY_REQUESTS, StatusCode::OK));
}

/// One client sending reset requests for forty different emails at once (mail bombing, or
/// spending the sender's reputation): the address's limit holds in parallel, only the known
/// emails among the accepted requests are mailed, and the refused requests used up none of
/// their emails' own counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_parallel_reset_requests_from_one_address_get_exactly_its_limit() {
    const REQUEST_RESET: &str = "/api/v3/iam/account/passwords/request_reset";
    let vars = [("IAM_RESET_MAX_REQUESTS_PER_ADDRESS", "10"), ("IAM_RESET_MIN_RESPONSE_MS", "0")];
    let app = Arc::new(TestApp::for_races(&vars).await);
    let org = app.create_org("Acme").await;
    let emails: Vec<String> = (0..40).map(|i| format!("user{i}@acme.test")).collect();
    for email in emails.iter().step_by(4) {
        app.create_account(email, &org).await;
    }
    let requests = emails.iter().map(|e| post_from("203.0.113.9", REQUEST_RESET, json!({"email": e}))).collect();
    let replies = all_at_once(&app, requests).await;
    assert_eq!(statuses(&replies), BTreeMap::from([(204, 10), (429, 30)]), "the limit is 10 per address");
    let throttled = replies.iter().find(|r| r.status == StatusCode::TOO_MANY_REQUESTS).unwrap();
    let wait: u64 = throttled.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&wait), "Retry-After within the window: {wait}");
    for (email, reply) in emails.iter().zip(&replies) {
        let known = emails.iter().step_by(4).any(|k| k == email);
        let mailed = app.mail_to(email).await.len();
        let expected = usize::from(known && reply.status == StatusCode::NO_CONTENT);
        assert_eq!(mailed, expected, "{email}: {}", reply.status);
    }

    // Another address is not affected, and a refused email still has its own five.
    let refused = emails.iter().zip(&replies).find(|(_, r)| r.status == StatusCode::TOO_MANY_REQUESTS).unwrap().0;
    let again = (0..6).map(|_| post_from("198.51.100.7", REQUEST_RESET, json!({"email": refused}))).collect();
    assert_eq!(statuses(&all_at_once(&app, again).await), BTreeMap::from([(204, 5), (429, 1)]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_parallel_wrong_current_passwords_get_exactly_ten_evaluations() {
    let app = Arc::new(TestApp::for_races(&[]).await);
    let org = app.create_org("Acme").await;
    app.create_account("ann@acme.test", &org).await;
    let token = app.login("ann@acme.test", PASSWORD).await["access_token"].as_str().unwrap().to_string();
    let guesses = (0..60).map(|i| change_password(&token, &format!("Wrong!{i}aA"))).collect();
    let replies = all_at_once(&app, guesses).await;
    assert_eq!(statuses(&replies), BTreeMap::from([(422, 10), (429, 50)]));
    // They counted as failed logins of the email: the token endpoint is closed too.
    let replies = all_at_once(&app, vec![login_from("198.51.100.1", "ann@acme.test", PASSWORD)]).await;
    assert_eq!(replies[0].status, StatusCode::TOO_MANY_REQUESTS);
    let replies = all_at_once(&app, vec![change_password(&token, PASSWORD)]).await;
    assert_eq!(replies[0].status, StatusCode::TOO_MANY_REQUESTS, "the right current password waits too");
}

/// How many trials each delete race runs: each is a fresh parent and a burst at it.
const TRIALS: usize = 6;

/// `count=true` for the whole table and for one organization reads counters changed in the
/// transaction of every create, move and delete: dozens of them at once, duplicates and moves
/// among them, leave the counts equal to what a listing finds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn counts_stay_exact_under_parallel_creates_moves_and_deletes() {
    let app = Arc::new(TestApp::for_races(&[]).await);
    let admin = app.admin_token.clone();
    let (here, there) = (app.create_org("Here").await, app.create_org("There").await);
    // 30 creates of 20 distinct emails: 10 lose on uniqueness and must count nothing.
    let creates = (0..30)
        .map(|i| {
            let email = format!("c{}@acme.test", i % 20);
            create("accounts", &admin, json!({"email": email, "password": PASSWORD, "organization_id": here}))
        })
        .collect();
    let replies = all_at_once(&app, creates).await;
    let ids: Vec<String> = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .map(|r| r.body["data"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 20, "{:?}", statuses(&replies));
    // Delete 8 (each twice at once) and move 6 to the other organization, all at the same time.
    let mut burst: Vec<_> = ids[..8]
        .iter()
        .flat_map(|id| {
            [
                delete(&format!("/api/v3/iam/accounts/{id}"), &admin),
                delete(&format!("/api/v3/iam/accounts/{id}"), &admin),
            ]
        })
        .collect();
    burst.extend(ids[8..14].iter().map(|id| {
        let body = json!({"data": {"type": "accounts", "id": id, "attributes": {"organization_id": there}}});
        jsonapi(Method::PATCH, &format!("/api/v3/iam/accounts/{id}"), &admin, Some(body))
    }));
    let replies = all_at_once(&app, burst).await;
    assert_eq!(replies.iter().filter(|r| r.status == StatusCode::NO_CONTENT).count(), 8, "{:?}", statuses(&replies));
    assert!(replies[16..].iter().all(|r| r.status == StatusCode::OK), "{:?}", statuses(&replies));
    for (filter, expected) in [
        ("", 12 + 1),
        (&*format!("filter[organization_id]={here}&"), 6),
        (&*format!("filter[organization_id]={there}&"), 6),
    ] {
        let listed = app.get(&format!("/api/v3/iam/accounts?{filter}page[size]=1000")).await.ids().len();
        let counted = app.get(&format!("/api/v3/iam/accounts?{filter}page[size]=1&count=true")).await;
        assert_eq!(listed, expected, "{filter}: listed (the root admin counts in the whole table)");
        assert_eq!(counted.body["meta"]["count"], json!(expected), "{filter}: counted");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn accounts_created_while_their_organization_is_deleted_end_with_both_or_neither() {
    let app = Arc::new(TestApp::for_races(&[]).await);
    let admin = app.admin_token.clone();
    for trial in 0..TRIALS {
        let org = app.create_org(&format!("Doomed {trial}")).await;
        let mut burst: Vec<_> = (0..8)
            .map(|i| {
                let attributes =
                    json!({"email": format!("a{trial}x{i}@acme.test"), "password": PASSWORD, "organization_id": org});
                create("accounts", &admin, attributes)
            })
            .collect();
        burst.insert(0, delete(&format!("/api/v3/iam/organizations/{org}"), &admin));
        let replies = all_at_once(&app, burst).await;
        let deleted = replies[0].status == StatusCode::NO_CONTENT;
        let created: Vec<String> = replies
            .iter()
            .filter(|r| r.status == StatusCode::CREATED)
            .map(|r| r.body["data"]["id"].as_str().unwrap().to_string())
            .collect();
        assert!(
            !deleted || created.is_empty(),
            "trial {trial}: an organization was deleted under its accounts: {replies:?}"
        );
        if deleted {
            assert_eq!(app.get(&format!("/api/v3/iam/organizations/{org}")).await.status, StatusCode::NOT_FOUND);
        } else {
            assert_eq!(replies[0].error_codes(), ["has_accounts"], "trial {trial}");
            for id in &created {
                let account = app.get(&format!("/api/v3/iam/accounts/{id}")).await;
                assert_eq!(account.body["data"]["attributes"]["organization_id"], json!(org));
            }
        }
        for r in replies.iter().filter(|r| r.status != StatusCode::CREATED && r.status != StatusCode::NO_CONTENT) {
            assert!(matches!(r.status.as_u16(), 409 | 422), "a loser is refused cleanly: {r:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn teams_created_while_their_organization_is_deleted_end_with_both_or_neither() {
    let app = Arc::new(TestApp::for_races(&[]).await);
    let admin = app.admin_token.clone();
    for trial in 0..TRIALS {
        let org = app.create_org(&format!("Doomed {trial}")).await;
        let mut burst: Vec<_> =
            (0..8).map(|i| create("teams", &admin, json!({"name": format!("T{i}"), "organization_id": org}))).collect();
        burst.insert(0, delete(&format!("/api/v3/iam/organizations/{org}"), &admin));
        let replies = all_at_once(&app, burst).await;
        let deleted = replies[0].status == StatusCode::NO_CONTENT;
        let created = replies.iter().filter(|r| r.status == StatusCode::CREATED).count();
        assert!(!deleted || created == 0, "trial {trial}: an organization was deleted under its teams: {replies:?}");
        if !deleted {
            assert_eq!(replies[0].error_codes(), ["has_teams"], "trial {trial}: {:?}", replies[0]);
            assert!(created > 0);
        }
        let listed = app.get(&format!("/api/v3/iam/teams?filter[organization_id]={org}")).await;
        assert_eq!(listed.ids().len(), created, "trial {trial}: every 201 is a team, and only those");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn assignments_created_while_their_role_is_deleted_end_with_both_or_neither() {
    let app = Arc::new(TestApp::for_races(&[]).await);
    let admin = app.admin_token.clone();
    let org = app.create_org("Acme").await;
    let mut accounts = Vec::new();
    for i in 0..8 {
        accounts.push(app.create_account(&format!("holder{i}@acme.test"), &org).await);
    }
    for trial in 0..TRIALS {
        let name = format!("auditor{trial}");
        let role =
            app.create("roles", json!({"name": name, "scope": "organization", "permissions": ["accounts:read"]})).await;
        let mut burst: Vec<_> = accounts
            .iter()
            .map(|account| {
                create("role_assignments", &admin, json!({"account_id": account, "role_name": name, "scope_id": org}))
            })
            .collect();
        burst.insert(0, delete(&format!("/api/v3/iam/roles/{role}"), &admin));
        let replies = all_at_once(&app, burst).await;
        let deleted = replies[0].status == StatusCode::NO_CONTENT;
        let created = replies.iter().filter(|r| r.status == StatusCode::CREATED).count();
        assert!(!deleted || created == 0, "trial {trial}: a role was deleted under its holders: {replies:?}");
        if !deleted {
            assert_eq!(replies[0].error_codes(), ["role_assigned"], "trial {trial}: {:?}", replies[0]);
        }
        let holders = app.get(&format!("/api/v3/iam/role_assignments?filter[role_name]={name}")).await;
        assert_eq!(holders.ids().len(), created, "trial {trial}");
    }
}

/// A person deleted while accounts are correlated with it: either the delete wins (every
/// correlation is refused, 422 `unknown_person`) or the correlations that won keep their person
/// (the delete is 409 `has_accounts`), never an account pointing at no one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn accounts_correlated_while_their_person_is_deleted_end_with_both_or_neither() {
    let app = Arc::new(TestApp::for_races(&[]).await);
    let admin = app.admin_token.clone();
    let org = app.create_org("Acme").await;
    let mut accounts = Vec::new();
    for i in 0..8 {
        accounts.push(app.create_account(&format!("p{i}@acme.test"), &org).await);
    }
    for trial in 0..TRIALS {
        let person = app.create("people", json!({"name": format!("Doomed {trial}"), "organization_id": org})).await;
        let mut burst: Vec<_> = accounts
            .iter()
            .map(|id| {
                let body = json!({"data": {"type": "accounts", "id": id, "attributes": {"person_id": person}}});
                jsonapi(Method::PATCH, &format!("/api/v3/iam/accounts/{id}"), &admin, Some(body))
            })
            .collect();
        burst.insert(0, delete(&format!("/api/v3/iam/people/{person}"), &admin));
        let replies = all_at_once(&app, burst).await;
        let deleted = replies[0].status == StatusCode::NO_CONTENT;
        let correlated = replies[1..].iter().filter(|r| r.status == StatusCode::OK).count();
        assert!(
            !deleted || correlated == 0,
            "trial {trial}: a person was deleted under its accounts: {:?}",
            statuses(&replies)
        );
        if !deleted {
            assert_eq!(replies[0].error_codes(), ["has_accounts"], "trial {trial}: {:?}", replies[0]);
        }
        for r in replies[1..].iter().filter(|r| r.status != StatusCode::OK) {
            assert!(matches!(r.status.as_u16(), 409 | 422), "trial {trial}: a loser is refused cleanly: {r:?}");
        }
        let pointing = app.get(&format!("/api/v3/iam/accounts?filter[person_id]={person}")).await.ids();
        assert_eq!(pointing.len(), correlated, "trial {trial}: every 200 is a correlation, and only those");
        // Free the accounts for the next trial.
        for id in &pointing {
            let body = json!({"data": {"type": "accounts", "id": id, "attributes": {"person_id": null}}});
            let reply =
                app.send(jsonapi(Method::PATCH, &format!("/api/v3/iam/accounts/{id}"), &admin, Some(body))).await;
            assert_eq!(reply.status, StatusCode::OK);
        }
        if !deleted {
            let reply = app.send(delete(&format!("/api/v3/iam/people/{person}"), &admin)).await;
            assert_eq!(reply.status, StatusCode::NO_CONTENT, "trial {trial}: its count is back to zero: {reply:?}");
        }
    }
}

/// People created while their organization is deleted, and twenty creates of ten external
/// ids at once: the organization is deleted only without them, and each id is one person's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn people_created_at_once_keep_their_organization_and_their_external_ids_unique() {
    let app = Arc::new(TestApp::for_races(&[]).await);
    let admin = app.admin_token.clone();
    for trial in 0..TRIALS {
        let org = app.create_org(&format!("Doomed {trial}")).await;
        let mut burst: Vec<_> = (0..8)
            .map(|i| create("people", &admin, json!({"name": format!("P{i}"), "organization_id": org})))
            .collect();
        burst.insert(0, delete(&format!("/api/v3/iam/organizations/{org}"), &admin));
        let replies = all_at_once(&app, burst).await;
        let deleted = replies[0].status == StatusCode::NO_CONTENT;
        let created = replies.iter().filter(|r| r.status == StatusCode::CREATED).count();
        assert!(
            !deleted || created == 0,
            "trial {trial}: an organization was deleted under its people: {:?}",
            statuses(&replies)
        );
        if !deleted {
            assert_eq!(replies[0].error_codes(), ["has_people"], "trial {trial}: {:?}", replies[0]);
        }
    }
    let org = app.create_org("Acme").await;
    let creates = (0..20)
        .map(|i| {
            create(
                "people",
                &admin,
                json!({"name": "P", "external_id": format!("HR-{}", i % 10), "organization_id": org}),
            )
        })
        .collect();
    let replies = all_at_once(&app, creates).await;
    assert_eq!(statuses(&replies), BTreeMap::from([(201, 10), (409, 10)]));
    assert!(replies.iter().filter(|r| r.status == StatusCode::CONFLICT).all(|r| r.error_codes() == ["taken"]));
    let listed = app.get(&format!("/api/v3/iam/people?filter[organization_id]={org}")).await;
    assert_eq!(listed.ids().len(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_role_whose_holders_all_left_can_be_deleted() {
    let app = Arc::new(TestApp::for_races(&[]).await);
    let admin = app.admin_token.clone();
    let org = app.create_org("Acme").await;
    let role = app.create("roles", json!({"name": "lead", "scope": "team", "permissions": []})).await;
    let account = app.create_account("holder@acme.test", &org).await;
    let mut teams = Vec::new();
    for name in ["Ops", "Dev"] {
        let team = app.create("teams", json!({"name": name, "organization_id": org})).await;
        app.create("team_memberships", json!({"team_id": team, "account_id": account})).await;
        app.create("role_assignments", json!({"account_id": account, "role_name": "lead", "scope_id": team})).await;
        teams.push(team);
    }
    let one = |request| {
        let app = app.clone();
        async move { all_at_once(&app, vec![request]).await.remove(0) }
    };
    assert_eq!(one(delete(&format!("/api/v3/iam/roles/{role}"), &admin)).await.error_codes(), ["role_assigned"]);
    // The account goes with both its assignments of the role (one counter, changed by two in
    // the account's transaction): then the role may go, and the organization after its teams.
    assert_eq!(one(delete(&format!("/api/v3/iam/accounts/{account}"), &admin)).await.status, StatusCode::NO_CONTENT);
    let reply = one(delete(&format!("/api/v3/iam/roles/{role}"), &admin)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{:?}", reply.body);
    assert_eq!(one(delete(&format!("/api/v3/iam/organizations/{org}"), &admin)).await.error_codes(), ["has_teams"]);
    for team in &teams {
        assert_eq!(one(delete(&format!("/api/v3/iam/teams/{team}"), &admin)).await.status, StatusCode::NO_CONTENT);
    }
    let reply = one(delete(&format!("/api/v3/iam/organizations/{org}"), &admin)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{:?}", reply.body);
}

fn refresh(token: &str) -> Request<Body> {
    token_request_from("192.0.2.50", json!({"grant_type": "refresh_token", "refresh_token": token}))
}

/// `parallel` refreshes of one refresh token, `trials` times over: one of them rotates it, and
/// the rest present a token that was rotated under them, which is reuse (RFC 9700 §4.14.2).
/// Every trial ends the same way, whoever the store let through first: exactly one new token
/// pair was handed out, and the session is over, so that pair is dead too.
async fn refresh_races(trials: usize, parallel: usize) {
    let app = Arc::new(TestApp::for_races(&[]).await);
    let org = app.create_org("Acme").await;
    app.create_account("ann@acme.test", &org).await;
    let admin = app.admin_token.clone();
    for trial in 0..trials {
        let login = app.login("ann@acme.test", PASSWORD).await;
        let (token, session) = (login["refresh_token"].as_str().unwrap(), login["session_id"].as_str().unwrap());
        let replies = all_at_once(&app, (0..parallel).map(|_| refresh(token)).collect()).await;
        assert_eq!(statuses(&replies), BTreeMap::from([(200, 1), (401, parallel - 1)]), "trial {trial}");
        let winner = replies.iter().find(|r| r.status == StatusCode::OK).unwrap();
        let seen = app.call(Method::GET, &format!("/api/v3/iam/account_sessions/{session}"), Some(&admin), None).await;
        assert_eq!(seen.status, StatusCode::NOT_FOUND, "trial {trial}: the session was ended");
        let next = app.send(refresh(winner.body["refresh_token"].as_str().unwrap())).await;
        assert_eq!(next.status, StatusCode::UNAUTHORIZED, "trial {trial}: the winner's new refresh token is dead");
        let access = winner.body["access_token"].as_str().unwrap();
        let me = app.call(Method::GET, "/api/v3/iam/accounts/me", Some(access), None).await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED, "trial {trial}: and so is its access token");
    }
}

#[tokio::test]
async fn two_parallel_refreshes_of_one_token_end_the_session_every_time() {
    refresh_races(50, 2).await;
}

#[tokio::test]
async fn twenty_parallel_refreshes_of_one_token_end_the_session_every_time() {
    refresh_races(50, 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_parallel_guesses_from_forty_addresses_of_one_ipv6_64_get_exactly_ten_evaluations() {
    let vars = [("IAM_LOGIN_MAX_FAILURES_PER_ADDRESS", "10"), ("IAM_LOGIN_MAX_FAILURES", "100")];
    let app = Arc::new(TestApp::for_races(&vars).await);
    let guesses = (0..40)
        .map(|i| login_from(&format!("2001:db8:7:9::{:x}", i + 1), &format!("nobody{i}@acme.test"), "Wrong!Pass1"))
        .collect();
    let replies = all_at_once(&app, guesses).await;
    assert_eq!(statuses(&replies), BTreeMap::from([(401, 10), (429, 30)]), "one /64 is one client");
}

/// Twenty joins with an invitation link race the admin's change of the address it was sent to:
/// a join may win only if it committed before the change read the account (then the change
/// saw an active account); a change that saw the account still pending must leave every join
/// with the old link refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn joins_with_an_old_link_racing_the_address_change_never_both_win() {
    let app = Arc::new(TestApp::for_races(&[]).await);
    let org = app.create_org("Acme").await;
    let admin = app.admin_token.clone();
    for trial in 0..10 {
        let (old, new) = (format!("pend{trial}.x@acme.test"), format!("pend{trial}.y@acme.test"));
        let id = app.create("accounts", json!({"email": old, "organization_id": org})).await;
        let link = app.mailed_token(&old, "join").await.expect("an invitation");
        let mut requests: Vec<Request<Body>> = (0..20)
            .map(|_| {
                Request::patch(format!("/api/v3/iam/accounts/{link}/join"))
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(json!({"password": PASSWORD}).to_string()))
                    .expect("request")
            })
            .collect();
        let change = json!({"data": {"type": "accounts", "id": id, "attributes": {"email": new}}});
        requests.insert(10, jsonapi(Method::PATCH, &format!("/api/v3/iam/accounts/{id}"), &admin, Some(change)));
        let mut replies = all_at_once(&app, requests).await;
        let changed = replies.remove(10);
        let joins = statuses(&replies);
        let joined = joins.get(&204).copied().unwrap_or(0);
        assert!(joined <= 1, "trial {trial}: a link works once: {joins:?}");
        assert_eq!(joins.get(&422).copied().unwrap_or(0) + joined, 20, "trial {trial}: {joins:?}");
        if changed.status == StatusCode::OK && changed.body["data"]["attributes"]["status"] == "pending" {
            assert_eq!(joined, 0, "trial {trial}: the change of a pending account's address killed the old link");
            assert!(app.mailed_token(&new, "join").await.is_some(), "trial {trial}: and invited the new address");
        } else if changed.status != StatusCode::OK {
            assert_eq!(changed.status, StatusCode::CONFLICT, "trial {trial}: {:?}", changed.body);
            assert_eq!(joined, 1, "trial {trial}: the change lost only to a join that committed first");
        }
    }
}

/// Twenty resets with one reset link at once: the link works once, and the account ends with
/// the winner's password, no other.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_resets_with_one_link_succeed_once() {
    let app = Arc::new(TestApp::for_races(&[]).await);
    let org = app.create_org("Acme").await;
    for trial in 0..5 {
        let email = format!("reset{trial}@acme.test");
        app.create("accounts", json!({"email": email, "organization_id": org, "password": PASSWORD})).await;
        let path = "/api/v3/iam/account/passwords/request_reset";
        assert_eq!(app.action(Method::POST, path, None, json!({"email": email})).await.status, StatusCode::NO_CONTENT);
        let link = app.mailed_token(&email, "reset-password").await.expect("a reset link");
        let chosen = |i: usize| format!("N3w!Passw0rd-{i}");
        let requests = (0..20)
            .map(|i| {
                Request::post("/api/v3/iam/account/passwords/reset")
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(json!({"token": link, "password": chosen(i)}).to_string()))
                    .expect("request")
            })
            .collect();
        let replies = all_at_once(&app, requests).await;
        assert_eq!(statuses(&replies), BTreeMap::from([(204, 1), (422, 19)]), "trial {trial}");
        let winner = replies.iter().position(|r| r.status == StatusCode::NO_CONTENT).expect("one reset won");
        let login = |password: String| json!({"grant_type": "password", "email": email, "password": password});
        assert_eq!(app.token(login(chosen(winner))).await.status, StatusCode::OK, "trial {trial}: the winner's");
        let loser = (winner + 1) % 20;
        assert_eq!(
            app.token(login(chosen(loser))).await.status,
            StatusCode::UNAUTHORIZED,
            "trial {trial}: not a loser's"
        );
    }
}

/// The word entries an organization's index holds for one item: `(entry id, word list)`.
async fn word_entries(app: &TestApp, table: &'static TableDef, organization: &str, item: &str) -> Vec<(String, Value)> {
    let index = table.index("organization_by_word").expect("an organization's entries");
    let query = Query::partition(table, index, organization);
    let entries = query_all(app.state.store.as_ref(), query).await.expect("entries");
    let mut mine: Vec<(String, Value)> = entries
        .into_iter()
        .filter(|e| e.get(ITEM_ID).and_then(Value::as_str) == Some(item))
        .map(|e| (e["id"].as_str().unwrap_or_default().to_string(), e[WORDS].clone()))
        .collect();
    mine.sort_by(|a, b| a.0.cmp(&b.0));
    mine
}

/// What the word index must hold for an item as stored (nothing once it is gone).
fn wanted_entries(index: &WordIndex, stored: Option<Value>) -> Vec<(String, Value)> {
    let Some(Value::Object(item)) = stored else { return vec![] };
    let mut wanted: Vec<_> = index
        .entries(&item)
        .into_iter()
        .map(|e| (e["id"].as_str().unwrap_or_default().to_string(), e[WORDS].clone()))
        .collect();
    wanted.sort_by(|a, b| a.0.cmp(&b.0));
    wanted
}

/// Dozens of renames of one account (and of one team) at once, with deletes among them in
/// later trials: whichever wins, the word index holds exactly the words of what is stored, no
/// entry of a name that lost or of an item that is gone, and a search finds it by them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_renames_and_deletes_leave_exactly_the_stored_words_indexed() {
    let app = Arc::new(TestApp::for_races(&[]).await);
    let admin = app.admin_token.clone();
    let org = app.create_org("Acme").await;
    for trial in 0..TRIALS {
        let account = app.create_account(&format!("renamed{trial}@acme.test"), &org).await;
        let team = app.create("teams", json!({"name": format!("Team {trial}"), "organization_id": org})).await;
        let mut burst = Vec::new();
        for i in 0..24 {
            let attributes = json!({"name": format!("Alpha{i} Beta{trial}x{i}")});
            let body = json!({"data": {"type": "accounts", "id": account, "attributes": attributes}});
            burst.push(jsonapi(Method::PATCH, &format!("/api/v3/iam/accounts/{account}"), &admin, Some(body)));
            let body =
                json!({"data": {"type": "teams", "id": team, "attributes": {"name": format!("Crew{trial}x{i}")}}});
            burst.push(jsonapi(Method::PATCH, &format!("/api/v3/iam/teams/{team}"), &admin, Some(body)));
        }
        if trial % 2 == 1 {
            burst.insert(10, delete(&format!("/api/v3/iam/accounts/{account}"), &admin));
            burst.insert(20, delete(&format!("/api/v3/iam/teams/{team}"), &admin));
        }
        let replies = all_at_once(&app, burst).await;
        for reply in &replies {
            assert!([200, 204, 404, 409, 412].contains(&reply.status.as_u16()), "trial {trial}: {reply:?}");
        }
        for (table, path, id) in [(&ACCOUNT_WORDS, "accounts", &account), (&TEAM_WORDS, "teams", &team)] {
            let shown = app.get(&format!("/api/v3/iam/{path}/{id}")).await;
            let stored = (shown.status == StatusCode::OK).then(|| app.state.store.as_ref());
            let stored = match stored {
                Some(store) => {
                    store.get(if path == "accounts" { &ACCOUNTS } else { &TEAMS }, id).await.unwrap().map(Value::Object)
                }
                None => None,
            };
            let index = if path == "accounts" { ACCOUNTS.words } else { TEAMS.words }.unwrap();
            let name = stored.as_ref().map(|s| s["name"].as_str().unwrap_or_default().to_string());
            assert_eq!(
                word_entries(&app, table, &org, id).await,
                wanted_entries(index, stored),
                "trial {trial}: {path}"
            );
            if let Some(name) = name {
                let found = app.get(&format!("/api/v3/iam/{path}?query={}", name.replace(' ', "%20"))).await;
                assert_eq!(found.ids(), std::slice::from_ref(id), "trial {trial}: {path} found by its name");
            }
        }
    }
}

/// Twelve root admins each take themselves away at once (half disable, half delete their
/// account): each sees eleven others when it checks, yet one who can sign in remains, whatever
/// order the transactions land in.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn root_admins_taking_themselves_away_at_once_leave_one_who_can_sign_in() {
    let app = Arc::new(TestApp::for_races(&[]).await);
    let mut tokens = vec![app.admin_token.clone()];
    for i in 1..12 {
        tokens.push(app.account_with_role(&format!("root{i}@example.com"), None, Some(("root_admin", None))).await);
    }
    let mut ids = Vec::new();
    for token in &tokens {
        let me = app.call(Method::GET, "/api/v3/iam/accounts/me", Some(token), None).await;
        ids.push(me.body["data"]["id"].as_str().expect("an id").to_string());
    }
    let requests = (0..tokens.len())
        .map(|i| {
            let target = &ids[i];
            let request = Request::builder()
                .uri(format!("/api/v3/iam/accounts/{target}"))
                .header(header::AUTHORIZATION, format!("Bearer {}", tokens[i]))
                .header(header::CONTENT_TYPE, "application/vnd.api+json");
            let disable = json!({"data": {"type": "accounts", "id": target, "attributes": {"enabled": false}}});
            match i % 2 {
                0 => request.method(Method::PATCH).body(Body::from(disable.to_string())),
                _ => request.method(Method::DELETE).body(Body::empty()),
            }
            .unwrap()
        })
        .collect();
    let replies = all_at_once(&app, requests).await;
    for r in &replies {
        assert!(matches!(r.status.as_u16(), 200 | 204 | 409), "{:?}: {:?}", r.status, r.body);
    }
    assert!(replies.iter().any(|r| r.status.is_success()), "{:?}", statuses(&replies));
    let mut usable = 0;
    for token in &tokens {
        if app.call(Method::GET, "/api/v3/iam/accounts/me", Some(token), None).await.status == StatusCode::OK {
            usable += 1;
        }
    }
    assert!(usable >= 1, "no root admin can sign in: {:?}", statuses(&replies));
}

/// Twenty refreshes and twenty RFC 7009 revocations of one refresh token, all at once: whatever
/// the order, every revocation is an empty 200 and the session ends, so no token any refresh
/// handed out works afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revoking_a_refresh_token_while_it_is_refreshed_ends_the_session() {
    let app = Arc::new(TestApp::for_races(&[]).await);
    let session = app.login(iam_tests::app::ADMIN_EMAIL, iam_tests::app::ADMIN_PASSWORD).await;
    let refresh = session["refresh_token"].as_str().expect("a refresh token").to_string();
    let requests = (0..40)
        .map(|i| {
            let (path, body) = match i % 2 {
                0 => ("/api/v3/iam/auth/token", format!("grant_type=refresh_token&refresh_token={refresh}")),
                _ => ("/api/v3/iam/auth/revoke", format!("token={refresh}")),
            };
            Request::post(path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap()
        })
        .collect();
    let replies = all_at_once(&app, requests).await;
    let mut handed_out = vec![session["access_token"].as_str().unwrap().to_string()];
    for (i, r) in replies.iter().enumerate() {
        if i % 2 == 1 {
            assert_eq!(r.status, StatusCode::OK, "a revocation: {:?}", r.body);
        } else if r.status == StatusCode::OK {
            handed_out.push(r.body["access_token"].as_str().expect("an access token").to_string());
        } else {
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a refresh: {:?}", r.body);
        }
    }
    for token in handed_out {
        let reply = app.call(Method::GET, "/api/v3/iam/accounts/me", Some(&token), None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "a token of the revoked session still works");
    }
}
