//! Organizations end to end through the local gateway: CRUD, validation, uniqueness,
//! listing (filters, sort, pages, counts, cursors), and who may do what.

use http::{Method, StatusCode};
use iam_tests::TestApp;
use serde_json::{Value, json};

const ORGS: &str = "/api/v3/iam/organizations";

fn org_doc(attributes: Value) -> Value {
    json!({"data": {"type": "organizations", "attributes": attributes}})
}

fn org_patch(id: &str, attributes: Value) -> Value {
    json!({"data": {"type": "organizations", "id": id, "attributes": attributes}})
}

#[tokio::test]
async fn a_root_admin_creates_an_organization_with_location_and_etag() {
    let app = TestApp::new().await;
    let reply = app
        .call(
            Method::POST,
            ORGS,
            Some(&app.admin_token),
            Some(org_doc(json!({"name": "Acme", "description": "Rockets"}))),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let id = reply.body["data"]["id"].as_str().unwrap();
    assert_eq!(reply.header("location").unwrap(), format!("http://iam.test{ORGS}/{id}"));
    assert_eq!(reply.header("etag"), Some("\"1\""));
    assert_eq!(reply.header("content-type"), Some("application/vnd.api+json"));
    let attributes = &reply.body["data"]["attributes"];
    assert_eq!((attributes["name"].as_str(), attributes["description"].as_str()), (Some("Acme"), Some("Rockets")));
    assert_eq!(attributes["created_at"], "2026-11-23T10:00:00Z");
    let shown = app.get(&format!("{ORGS}/{id}")).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(shown.body["data"]["attributes"], *attributes);
}

#[tokio::test]
async fn every_problem_in_a_create_is_reported_together() {
    let app = TestApp::new().await;
    let body = org_doc(json!({"description": 7, "created_at": "2020-01-01T00:00:00Z", "owner": "me"}));
    let reply = app.call(Method::POST, ORGS, Some(&app.admin_token), Some(body)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let pointers: Vec<&str> =
        reply.body["errors"].as_array().unwrap().iter().map(|e| e["source"]["pointer"].as_str().unwrap()).collect();
    for p in [
        "/data/attributes/name",
        "/data/attributes/description",
        "/data/attributes/created_at",
        "/data/attributes/owner",
    ] {
        assert!(pointers.contains(&p), "{p} missing from {pointers:?}");
    }
    assert!(app.get(ORGS).await.ids().is_empty(), "nothing was written");
}

#[tokio::test]
async fn a_duplicate_name_is_a_conflict_whatever_its_case() {
    let app = TestApp::new().await;
    app.create_org("Acme").await;
    let reply = app.call(Method::POST, ORGS, Some(&app.admin_token), Some(org_doc(json!({"name": "ACME"})))).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.body["errors"][0]["source"]["pointer"], "/data/attributes/name");
    assert_eq!(app.get(ORGS).await.ids().len(), 1);
}

#[tokio::test]
async fn names_with_bidirectional_controls_are_refused_like_other_control_characters() {
    let app = TestApp::new().await;
    for name in ["Acme\u{202E}nimda", "\u{2066}Acme\u{2069}", "Ac\u{202A}me"] {
        let reply = app.call(Method::POST, ORGS, Some(&app.admin_token), Some(org_doc(json!({"name": name})))).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{name:?}");
        assert_eq!(reply.error_codes(), ["invalid_characters"]);
        assert_eq!(reply.body["errors"][0]["source"]["pointer"], "/data/attributes/name");
    }
    assert!(app.get(ORGS).await.ids().is_empty(), "nothing was written");
}

#[tokio::test]
async fn malformed_or_mistyped_bodies_are_refused_without_writing() {
    let app = TestApp::new().await;
    let request = |content_type: &str, body: String| {
        http::Request::post(ORGS)
            .header("authorization", format!("Bearer {}", app.admin_token))
            .header("content-type", content_type)
            .body(axum::body::Body::from(body))
            .unwrap()
    };
    let r = app.send(request("application/vnd.api+json", "{not json".into())).await;
    assert_eq!((r.status, r.error_codes()), (StatusCode::BAD_REQUEST, vec!["malformed_json".to_string()]));
    let r = app.send(request("text/plain", org_doc(json!({"name": "A"})).to_string())).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = org_doc(json!({"name": "A", "description": "x".repeat(1024 * 1024)})).to_string();
    let r = app.send(request("application/json", huge)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    let r = app
        .call(
            Method::POST,
            ORGS,
            Some(&app.admin_token),
            Some(json!({"data": {"type": "accounts", "attributes": {"name": "A"}}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = app.call(Method::POST, ORGS, Some(&app.admin_token), Some(json!({"name": "A"}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(app.get(ORGS).await.ids().is_empty());
}

#[tokio::test]
async fn an_update_changes_only_what_it_names_and_moves_the_etag() {
    let app = TestApp::new().await;
    let id = app.create_org("Acme").await;
    app.clock.advance(time::Duration::minutes(5));
    let path = format!("{ORGS}/{id}");
    let reply = app
        .call(Method::PATCH, &path, Some(&app.admin_token), Some(org_patch(&id, json!({"description": "New"}))))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.header("etag"), Some("\"2\""));
    let attributes = &reply.body["data"]["attributes"];
    assert_eq!((attributes["name"].as_str(), attributes["description"].as_str()), (Some("Acme"), Some("New")));
    assert_eq!(attributes["updated_at"], "2026-11-23T10:05:00Z");
    assert_eq!(attributes["created_at"], "2026-11-23T10:00:00Z");
}

#[tokio::test]
async fn a_stale_if_match_is_a_failed_precondition() {
    let app = TestApp::new().await;
    let id = app.create_org("Acme").await;
    let path = format!("{ORGS}/{id}");
    let patch = |etag: &str| {
        http::Request::patch(&path)
            .header("authorization", format!("Bearer {}", app.admin_token))
            .header("content-type", "application/vnd.api+json")
            .header("if-match", etag)
            .body(axum::body::Body::from(org_patch(&id, json!({"name": format!("Acme {etag}")})).to_string()))
            .unwrap()
    };
    assert_eq!(app.send(patch("\"1\"")).await.status, StatusCode::OK);
    assert_eq!(app.send(patch("\"1\"")).await.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(app.get(&path).await.body["data"]["attributes"]["name"], "Acme \"1\"");
}

#[tokio::test]
async fn renaming_frees_the_old_name_and_cannot_take_a_used_one() {
    let app = TestApp::new().await;
    let a = app.create_org("Alpha").await;
    app.create_org("Beta").await;
    let path = format!("{ORGS}/{a}");
    let clash =
        app.call(Method::PATCH, &path, Some(&app.admin_token), Some(org_patch(&a, json!({"name": "beta"})))).await;
    assert_eq!(clash.status, StatusCode::CONFLICT);
    let renamed =
        app.call(Method::PATCH, &path, Some(&app.admin_token), Some(org_patch(&a, json!({"name": "Gamma"})))).await;
    assert_eq!(renamed.status, StatusCode::OK);
    app.create_org("Alpha").await;
    let mismatched =
        app.call(Method::PATCH, &path, Some(&app.admin_token), Some(org_patch("other", json!({"name": "X"})))).await;
    assert_eq!(mismatched.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn delete_removes_the_organization_and_frees_its_name() {
    let app = TestApp::new().await;
    let id = app.create_org("Acme").await;
    let path = format!("{ORGS}/{id}");
    let reply = app.call(Method::DELETE, &path, Some(&app.admin_token), None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.call(Method::DELETE, &path, Some(&app.admin_token), None).await.status, StatusCode::NOT_FOUND);
    app.create_org("Acme").await;
}

#[tokio::test]
async fn an_organization_with_accounts_cannot_be_deleted() {
    let app = TestApp::new().await;
    let id = app.create_org("Acme").await;
    app.account_with_role("ann@acme.test", Some(&id), None).await;
    let reply = app.call(Method::DELETE, &format!("{ORGS}/{id}"), Some(&app.admin_token), None).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.error_codes(), ["has_accounts"]);
    assert_eq!(app.get(&format!("{ORGS}/{id}")).await.status, StatusCode::OK);
}

async fn twelve_orgs(app: &TestApp) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(app.create_org(&format!("Org {:02}", (i * 7) % 12)).await);
        app.clock.advance(time::Duration::minutes(1));
    }
    ids
}

fn names(reply: &iam_tests::Reply) -> Vec<String> {
    reply.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["attributes"]["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn listing_filters_sorts_pages_and_counts() {
    let app = TestApp::new().await;
    twelve_orgs(&app).await;
    let reply =
        app.get(&format!("{ORGS}?filter[name__sw]=Org%200&sort=-name&page[size]=3&page[number]=2&count=true")).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(names(&reply), ["Org 06", "Org 05", "Org 04"]);
    assert_eq!(reply.header("x-total-count"), Some("10"));
    let pagination = &reply.body["meta"]["pagination"];
    assert_eq!(
        pagination,
        &json!({"current_page": 2, "next_page": 3, "prev_page": 1, "total_pages": 4, "total_count": 10})
    );
    assert_eq!(reply.body["meta"]["count"], 10);
    let links = &reply.body["links"];
    assert_eq!(
        links["next"],
        "http://iam.test/api/v3/iam/organizations?filter[name__sw]=Org%200&sort=-name&count=true&page[number]=3&page[size]=3"
    );
    assert_eq!(
        links["last"],
        "http://iam.test/api/v3/iam/organizations?filter[name__sw]=Org%200&sort=-name&count=true&page[number]=4&page[size]=3"
    );
    let last = app.get(&format!("{ORGS}?filter[name__sw]=Org%200&sort=-name&page[size]=3&page[number]=4")).await;
    assert_eq!(names(&last), ["Org 00"]);
    assert_eq!(last.body["links"]["next"], Value::Null);
    assert_eq!(last.body["meta"]["pagination"]["next_page"], Value::Null);
}

#[tokio::test]
async fn the_default_order_is_creation_order() {
    let app = TestApp::new().await;
    let ids = twelve_orgs(&app).await;
    assert_eq!(app.get(ORGS).await.ids(), ids);
}

#[tokio::test]
async fn each_filter_operator_selects_exactly_its_matches() {
    let app = TestApp::new().await;
    let ids = twelve_orgs(&app).await;
    let by_id = format!("filter[id]={}", ids[1]);
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("filter[name]=Org%2003", vec!["Org 03"]),
        ("filter[name__ne]=Org%2003&filter[name__lt]=Org%2003", vec!["Org 00", "Org 01", "Org 02"]),
        ("filter[name__in]=Org%2001,Org%2011,Nope", vec!["Org 01", "Org 11"]),
        ("filter[name__nin]=Org%2001,Org%2011&filter[name__gte]=Org%2009", vec!["Org 09", "Org 10"]),
        ("filter[name__match]=RG%201", vec!["Org 10", "Org 11"]),
        ("filter[name__gt]=Org%2010", vec!["Org 11"]),
        ("filter[name__lte]=Org%2001", vec!["Org 00", "Org 01"]),
        ("filter[created_at__gte]=2026-11-23T10:10:00Z", vec!["Org 05", "Org 10"]),
        ("filter[created_at__lt]=2026-11-23T11:01:00%2B01:00", vec!["Org 00"]),
        ("filter[updated_at]=2026-11-23T10:01:00Z", vec!["Org 07"]),
        ("query=org%2004", vec!["Org 04"]),
        (&by_id, vec!["Org 07"]),
        ("filter[name]=null", vec![]),
    ];
    for (q, mut want) in cases {
        let reply = app.get(&format!("{ORGS}?{q}&sort=name")).await;
        assert_eq!(reply.status, StatusCode::OK, "{q}: {:?}", reply.body);
        want.sort();
        assert_eq!(names(&reply), want, "{q}");
    }
}

#[tokio::test]
async fn cursor_pages_walk_the_whole_list_once() {
    let app = TestApp::new().await;
    twelve_orgs(&app).await;
    for sort in ["name", "-created_at", "id"] {
        let made_up = app.get(&format!("{ORGS}?sort={sort}&page[size]=5&page[after]=start")).await;
        assert_eq!(made_up.status, StatusCode::BAD_REQUEST, "a made-up cursor is refused");
        // Start with an empty cursor-less page, then follow links.next to the end.
        let mut reply = app.get(&format!("{ORGS}?sort={sort}&page[size]=5")).await;
        let expected_first = reply.ids();
        let mut seen = Vec::new();
        loop {
            seen.extend(reply.ids());
            let Some(link) = reply.body["links"]["next"].as_str().map(String::from) else { break };
            reply = app.get(&link.replace("http://iam.test", "")).await;
            assert_eq!(reply.status, StatusCode::OK, "{link}");
        }
        assert_eq!(seen.len(), 12, "{sort}");
        assert_eq!(&seen[..5], &expected_first[..], "{sort}");
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 12, "{sort}: no item twice");
    }
}

#[tokio::test]
async fn sparse_fieldsets_return_only_the_named_attributes() {
    let app = TestApp::new().await;
    app.create_org("Acme").await;
    let reply = app.get(&format!("{ORGS}?fields[organizations]=name")).await;
    assert_eq!(reply.body["data"][0]["attributes"], json!({"name": "Acme"}));
}

#[tokio::test]
async fn bad_query_parameters_are_400_naming_each_parameter() {
    let app = TestApp::new().await;
    let reply = app.get(&format!("{ORGS}?filter[colour]=red&filter[name__near]=x&sort=colour&page[size]=5000&include=accounts&fields[organizations]=colour&bogus=1&filter[created_at__gt]=noon")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let params: Vec<&str> =
        reply.body["errors"].as_array().unwrap().iter().map(|e| e["source"]["parameter"].as_str().unwrap()).collect();
    assert_eq!(
        params,
        [
            "filter[colour]",
            "filter[name__near]",
            "sort",
            "page[size]",
            "include",
            "fields[organizations]",
            "bogus",
            "filter[created_at__gt]"
        ]
    );
}

#[tokio::test]
async fn secrets_of_any_resource_cannot_be_filtered() {
    let app = TestApp::new().await;
    let reply = app.get(&format!("{ORGS}?filter[password_hash]=x")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn every_organization_route_needs_a_token() {
    let app = TestApp::new().await;
    let id = app.create_org("Acme").await;
    let path = format!("{ORGS}/{id}");
    for (method, path) in [
        (Method::GET, ORGS),
        (Method::POST, ORGS),
        (Method::GET, &path),
        (Method::PATCH, &path),
        (Method::DELETE, &path),
    ] {
        let reply = app.call(method.clone(), path, None, Some(org_doc(json!({"name": "X"})))).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
        let reply = app.call(method.clone(), path, Some("not-a-token"), None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{method} {path} with a bad token");
        // RFC 6750 §3.1: a token that does not work is named as the reason.
        assert_eq!(reply.header("www-authenticate"), Some(r#"Bearer error="invalid_token""#));
    }
    assert_eq!(app.get(&path).await.body["data"]["attributes"]["name"], "Acme");
}

/// Who may do what: the expected status of each caller on each route, written out.
#[tokio::test]
async fn callers_see_and_change_only_what_their_roles_allow() {
    let app = TestApp::new().await;
    let a = app.create_org("A").await;
    let b = app.create_org("B").await;
    let member = app.account_with_role("member@a.test", Some(&a), Some(("member", Some(&a)))).await;
    let helpdesk = app.account_with_role("help@a.test", Some(&a), Some(("helpdesk", Some(&a)))).await;
    let admin_a = app.account_with_role("admin@a.test", Some(&a), Some(("org_admin", Some(&a)))).await;
    let nobody = app.account_with_role("nobody@a.test", Some(&a), None).await;
    let root = app.admin_token.clone();
    let (in_a, in_b) = (format!("{ORGS}/{a}"), format!("{ORGS}/{b}"));
    use StatusCode as S;
    #[rustfmt::skip]
    let table: Vec<(&str, Method, &str, [S; 5])> = vec![
        //                                      member       helpdesk     org_admin A  no role      root
        ("show A",   Method::GET,    &in_a,  [S::OK,        S::OK,        S::OK,        S::NOT_FOUND, S::OK]),
        ("show B",   Method::GET,    &in_b,  [S::NOT_FOUND, S::NOT_FOUND, S::NOT_FOUND, S::NOT_FOUND, S::OK]),
        ("create",   Method::POST,   ORGS,   [S::FORBIDDEN, S::FORBIDDEN, S::FORBIDDEN, S::FORBIDDEN, S::CREATED]),
        ("patch A",  Method::PATCH,  &in_a,  [S::FORBIDDEN, S::FORBIDDEN, S::OK,        S::NOT_FOUND, S::OK]),
        ("patch B",  Method::PATCH,  &in_b,  [S::NOT_FOUND, S::NOT_FOUND, S::NOT_FOUND, S::NOT_FOUND, S::OK]),
        ("delete B", Method::DELETE, &in_b,  [S::NOT_FOUND, S::NOT_FOUND, S::NOT_FOUND, S::NOT_FOUND, S::NO_CONTENT]),
        ("delete A", Method::DELETE, &in_a,  [S::FORBIDDEN, S::FORBIDDEN, S::FORBIDDEN, S::NOT_FOUND, S::CONFLICT]),
    ];
    let callers = [&member, &helpdesk, &admin_a, &nobody, &root];
    for (name, method, path, expected) in table {
        for (i, token) in callers.iter().enumerate() {
            let id = path.rsplit('/').next().unwrap();
            let body = match method {
                Method::POST => Some(org_doc(json!({"name": format!("New {i}")}))),
                Method::PATCH => Some(org_patch(id, json!({"description": format!("by {i}")}))),
                _ => None,
            };
            let reply = app.call(method.clone(), path, Some(token), body).await;
            assert_eq!(reply.status, expected[i], "{name} by caller {i}: {:?}", reply.body);
        }
    }
    let listed = |token: &str| {
        let token = token.to_string();
        let app = &app;
        async move { app.call(Method::GET, ORGS, Some(&token), None).await.ids() }
    };
    assert_eq!(listed(&member).await, vec![a.to_string()]);
    assert_eq!(listed(&admin_a).await, vec![a.to_string()]);
    assert!(listed(&nobody).await.is_empty());
    assert!(listed(&root).await.len() >= 2);
}

#[tokio::test]
async fn concurrent_creates_of_one_name_have_exactly_one_winner() {
    let app = TestApp::new().await;
    let attempts = (0..16).map(|i| {
        let name = if i % 2 == 0 { "Race" } else { "RACE" };
        app.call(Method::POST, ORGS, Some(&app.admin_token), Some(org_doc(json!({"name": name}))))
    });
    let statuses: Vec<StatusCode> = futures_join_all(attempts).await.into_iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT), "{statuses:?}");
    assert_eq!(app.get(&format!("{ORGS}?filter[name__match]=race")).await.ids().len(), 1);
}

/// Runs the futures at once on this task (no extra crate needed for a join).
async fn futures_join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *output = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    outputs.into_iter().flatten().collect()
}
