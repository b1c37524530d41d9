//! Values that cannot be keys of ours never reach the store: a path id that is not one is 404,
//! a refresh token that is not one of ours is 401, a filter on ids or a cursor that cannot
//! match is 400 naming the parameter. The same answers on SQLite and on DynamoDB (moto), where
//! an empty or oversized key is an error of the backend, never a 5xx.

use http::{Method, StatusCode};
use iam_tests::TestApp;
use serde_json::json;

const COLLECTIONS: [&str; 7] =
    ["accounts", "organizations", "roles", "role_assignments", "teams", "team_memberships", "account_sessions"];

fn not_ids() -> Vec<String> {
    // Percent-encoded as a client would put them in a path: a space, one letter, a NUL, an
    // accented letter, a UUID without hyphens, and 3000 bytes.
    ["%20", "x", "%00", "%C3%A9", "0192f0c1e0e07000800000000000000a"]
        .into_iter()
        .map(String::from)
        .chain(std::iter::once("a".repeat(3000)))
        .collect()
}

/// The store requests one call makes (authenticating its caller included).
async fn requests_of(app: &TestApp, method: Method, path: &str, body: Option<serde_json::Value>) -> (StatusCode, u64) {
    let token = app.admin_token.clone();
    app.state.metrics.reset();
    let reply = app.call(method, path, Some(&token), body).await;
    (reply.status, app.state.metrics.requests())
}

#[tokio::test]
async fn a_path_id_that_cannot_be_ours_is_404_on_every_resource_before_the_store_is_asked() {
    let app = TestApp::new().await;
    let mut wrong = Vec::new();
    for collection in COLLECTIONS {
        for method in [Method::GET, Method::PATCH, Method::DELETE] {
            let body = |id: &str| (method == Method::PATCH).then(|| json!({"data": {"type": collection, "id": id}}));
            // A well-formed id of nothing: the caller is authenticated, then the item is looked up.
            let missing = iam_shared::model::new_id();
            let (status, looked_up) =
                requests_of(&app, method.clone(), &format!("/api/v3/iam/{collection}/{missing}"), body(&missing)).await;
            if status == StatusCode::METHOD_NOT_ALLOWED {
                continue; // this resource takes no PATCH, whatever the id
            }
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {collection}/{missing}");
            for id in not_ids() {
                let path = format!("/api/v3/iam/{collection}/{id}");
                let (status, requests) = requests_of(&app, method.clone(), &path, body(&id)).await;
                // Only authentication reached the store: fewer requests than the lookup took.
                if status != StatusCode::NOT_FOUND || requests >= looked_up {
                    let shown = &id[..id.len().min(12)];
                    wrong.push(format!("{method} {collection}/{shown}: {status}, {requests} of {looked_up} requests"));
                }
            }
        }
    }
    let token = app.admin_token.clone();
    let reply = app.call(Method::POST, "/api/v3/iam/accounts/x/resend_invitation", Some(&token), None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let long_external = format!("/api/v3/iam/accounts/external/{}", "e".repeat(3000));
    let (status, requests) = requests_of(&app, Method::GET, &long_external, None).await;
    let (_, looked_up) = requests_of(&app, Method::GET, "/api/v3/iam/accounts/external/e", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an external id longer than any account holds");
    assert!(requests < looked_up, "{requests} of {looked_up}: the index is not asked");
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[tokio::test]
async fn a_refresh_token_that_cannot_be_ours_is_invalid_grant() {
    let app = TestApp::new().await;
    let session = app.login(iam_tests::app::ADMIN_EMAIL, iam_tests::app::ADMIN_PASSWORD).await["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    let long = "a".repeat(3000);
    for token in
        [".x", "x.", ".", "no-dot", &format!("{long}.x"), "\u{0}.x", &format!("{session}."), &format!("{session}.x")]
    {
        let reply = app.token(json!({"grant_type": "refresh_token", "refresh_token": token})).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{token:?}: {:?}", reply.body);
        assert_eq!(reply.body["error"], "invalid_grant");
    }
}

#[tokio::test]
async fn a_filter_on_ids_with_something_else_is_400_naming_the_parameter() {
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    let cases = [
        ("accounts", "filter[organization_id]="),
        ("accounts", "filter[organization_id]=nope"),
        ("accounts", "filter[id__in]=nope,also"),
        ("accounts", "filter[team_id]=%00"),
        ("role_assignments", "filter[account_id]="),
        ("team_memberships", "filter[team_id]=x"),
        ("account_sessions", "filter[account_id]=.x"),
        ("teams", "filters=organization_id%20eq%20%22x%22"),
    ];
    for (collection, query) in cases {
        let reply = app.get(&format!("/api/v3/iam/{collection}?{query}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{collection}?{query}: {:?}", reply.body);
        assert_eq!(reply.error_codes(), ["invalid_value"], "{collection}?{query}");
        let parameter = reply.body["errors"][0]["source"]["parameter"].as_str().unwrap_or_default();
        assert!(parameter.starts_with("filter"), "{collection}?{query} names {parameter:?}");
    }
    let long = app.get(&format!("/api/v3/iam/accounts?filter[email]={}", "a".repeat(1025))).await;
    assert_eq!((long.status, long.error_codes()), (StatusCode::BAD_REQUEST, vec!["value_too_long".to_string()]));
    // Real ids, null and prefixes of ids are still fine.
    for query in
        [format!("filter[organization_id]={org}"), "filter[organization_id]=null".into(), "filter[id__sw]=0".into()]
    {
        assert_eq!(app.get(&format!("/api/v3/iam/accounts?{query}")).await.status, StatusCode::OK, "{query}");
    }
}

#[tokio::test]
async fn a_forged_cursor_with_keys_no_item_has_is_400() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let app = TestApp::new().await;
    let org = app.create_org("Acme").await;
    for n in 0..2 {
        app.create_account(&format!("a{n}@acme.test"), &org).await;
    }
    let listing = format!("/api/v3/iam/accounts?filter[organization_id]={org}&page[size]=1");
    let first = app.get(&format!("{listing}&page[after]=")).await;
    let next = first.body["links"]["next"].as_str().expect("a next link").to_string();
    let issued = next.split("page%5Bafter%5D=").nth(1).or_else(|| next.split("page[after]=").nth(1)).unwrap();
    let issued = issued.split('&').next().unwrap();
    let mut cursor: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(issued).unwrap()).unwrap();
    assert_eq!(
        app.get(&format!("{listing}&page[after]={issued}")).await.status,
        StatusCode::OK,
        "the cursor as issued"
    );
    for id in [String::new(), "x".into(), "a".repeat(3000)] {
        cursor["k"]["id"] = json!(id);
        let forged = URL_SAFE_NO_PAD.encode(cursor.to_string());
        let reply = app.get(&format!("{listing}&page[after]={forged}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{:?}", reply.body);
        assert_eq!(reply.error_codes(), ["invalid_cursor"]);
    }
}
