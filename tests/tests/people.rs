//! People end to end: validation, external ids unique, organization scoping and the people
//! permissions, correlation of accounts (as an attribute and as the JSON:API relationship),
//! `include=person` and `include=accounts`, `filter[person_id]` and `uncorrelated`, the
//! deletes a correlation forbids, and the organization an account and its person share.

use http::{Method, StatusCode};
use iam_tests::TestApp;
use serde_json::{Value, json};

const PEOPLE: &str = "/api/v3/iam/people";
const ACCOUNTS: &str = "/api/v3/iam/accounts";

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

async fn patch(app: &TestApp, token: &str, path: &str, id: &str, data: Value) -> iam_tests::app::Reply {
    let mut data = data;
    data["id"] = json!(id);
    app.call(Method::PATCH, &format!("{path}/{id}"), Some(token), Some(json!({ "data": data }))).await
}

#[tokio::test]
async fn a_person_is_created_validated_changed_and_deleted() {
    let app = TestApp::new().await;
    let acme = app.create_org("Acme").await;
    let root = app.admin_token.clone();
    let created = app
        .post(
            &root,
            "people",
            json!({"name": "Ann Lee", "email": "ann@acme.test", "external_id": "HR-1", "organization_id": acme}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let ann = created.body["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(created.header("location"), Some(&*format!("http://iam.test/api/v3/iam/people/{ann}")));
    let attributes = &created.body["data"]["attributes"];
    assert_eq!((attributes["state"].as_str(), attributes["organization_id"].as_str()), (Some("active"), Some(&*acme)));

    let invalid =
        app.post(&root, "people", json!({"email": "nope", "state": "retired", "organization_id": acme, "id": 1})).await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(sorted(invalid.error_codes()), ["invalid_email", "invalid_value", "read_only", "required"]);
    let unknown = app
        .post(&root, "people", json!({"name": "X", "organization_id": "0190a0b0-0000-7000-8000-0000000000ff"}))
        .await;
    assert_eq!(unknown.error_codes(), ["unknown_organization"]);
    let taken =
        app.post(&root, "people", json!({"name": "Other", "external_id": "hr-1", "organization_id": acme})).await;
    assert_eq!((taken.status, taken.error_codes()), (StatusCode::CONFLICT, vec!["taken".to_string()]));

    let changed =
        patch(&app, &root, PEOPLE, &ann, json!({"type": "people", "attributes": {"state": "inactive", "email": null}}))
            .await;
    assert_eq!(changed.status, StatusCode::OK, "{:?}", changed.body);
    assert_eq!(changed.body["data"]["attributes"]["state"], "inactive");
    assert_eq!(changed.body["data"]["attributes"]["email"], Value::Null);
    let other = app.create_org("Other").await;
    let moved =
        patch(&app, &root, PEOPLE, &ann, json!({"type": "people", "attributes": {"organization_id": other}})).await;
    assert_eq!(moved.error_codes(), ["not_updatable"]);

    let listed = app.get(&format!("{PEOPLE}?filter[name__sw]=Ann&filter[state]=inactive&sort=-name")).await;
    assert_eq!(listed.ids(), vec![ann.clone()]);
    assert_eq!(app.get(&format!("{PEOPLE}?filter[external_id]=HR-1")).await.ids(), vec![ann.clone()]);
    assert_eq!(app.get(&format!("{PEOPLE}?query=lee")).await.ids(), vec![ann.clone()]);
    let bad = app.get(&format!("{PEOPLE}?filter[password]=x")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    let gone = app.call(Method::DELETE, &format!("{PEOPLE}/{ann}"), Some(&root), None).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&format!("{PEOPLE}/{ann}")).await.status, StatusCode::NOT_FOUND);
    // The external id is free again.
    assert_eq!(
        app.post(&root, "people", json!({"name": "Ann", "external_id": "HR-1", "organization_id": acme})).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn accounts_are_correlated_as_an_attribute_or_a_relationship_and_found_by_their_person() {
    let app = TestApp::new().await;
    let acme = app.create_org("Acme").await;
    let root = app.admin_token.clone();
    let ann = app.create("people", json!({"name": "Ann Lee", "organization_id": acme})).await;
    let password = app
        .create("accounts", json!({"email": "ann@acme.test", "password": iam_tests::app::PASSWORD, "organization_id": acme, "person_id": ann}))
        .await;
    // Seed 000's create body: the person as a relationship.
    let body = json!({"data": {"type": "accounts", "attributes": {"email": "ann.sso@acme.test", "auth_type": "sso", "organization_id": acme},
        "relationships": {"person": {"data": {"type": "people", "id": ann}}}}});
    let sso = app.call(Method::POST, ACCOUNTS, Some(&root), Some(body)).await;
    assert_eq!(sso.status, StatusCode::CREATED, "{:?}", sso.body);
    let sso = sso.body["data"]["id"].as_str().unwrap().to_string();
    let loner = app.create_account("bob@acme.test", &acme).await;

    let shown = app.get(&format!("{ACCOUNTS}/{sso}?include=person")).await;
    assert_eq!(shown.body["data"]["attributes"]["person_id"], json!(ann));
    assert_eq!(shown.body["data"]["attributes"]["uncorrelated"], json!(false));
    assert_eq!(shown.body["data"]["relationships"]["person"]["data"], json!({"type": "people", "id": ann}));
    assert_eq!(shown.body["included"][0]["id"], json!(ann));
    assert_eq!(shown.body["included"][0]["type"], "people");

    assert_eq!(
        app.get(&format!("{ACCOUNTS}?filter[person_id]={ann}")).await.ids(),
        sorted(vec![password.clone(), sso.clone()])
    );
    let uncorrelated = app.get(&format!("{ACCOUNTS}?filter[uncorrelated]=true&filter[organization_id]={acme}")).await;
    assert_eq!(uncorrelated.ids(), vec![loner.clone()]);
    let expression =
        app.get(&format!("{ACCOUNTS}?filters=person_id%20isnull%20and%20organization_id%20eq%20%22{acme}%22")).await;
    assert_eq!(expression.ids(), vec![loner.clone()]);
    assert_eq!(
        app.get(&format!("{ACCOUNTS}?filter[person_id]=null&filter[organization_id]={acme}")).await.ids(),
        vec![loner.clone()]
    );
    let malformed = app.get(&format!("{ACCOUNTS}?filter[person_id]=not-an-id")).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);

    let person = app.get(&format!("{PEOPLE}/{ann}?include=accounts,organization")).await;
    let mut included: Vec<(String, String)> = person.body["included"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["type"].as_str().unwrap().to_string(), r["id"].as_str().unwrap().to_string()))
        .collect();
    included.sort();
    let mut want = vec![
        ("accounts".to_string(), password.clone()),
        ("accounts".to_string(), sso.clone()),
        ("organizations".to_string(), acme.clone()),
    ];
    want.sort();
    assert_eq!(included, want);

    // Uncorrelating through the relationship, then through the attribute.
    let cleared =
        patch(&app, &root, ACCOUNTS, &sso, json!({"type": "accounts", "relationships": {"person": {"data": null}}}))
            .await;
    assert_eq!(cleared.status, StatusCode::OK, "{:?}", cleared.body);
    assert_eq!(cleared.body["data"]["attributes"]["uncorrelated"], json!(true));
    assert_eq!(app.get(&format!("{ACCOUNTS}?filter[person_id]={ann}")).await.ids(), vec![password.clone()]);
    // A person with an account is not deleted; once none remains, it is.
    let refused = app.call(Method::DELETE, &format!("{PEOPLE}/{ann}"), Some(&root), None).await;
    assert_eq!((refused.status, refused.error_codes()), (StatusCode::CONFLICT, vec!["has_accounts".to_string()]));
    assert_eq!(
        patch(&app, &root, ACCOUNTS, &password, json!({"type": "accounts", "attributes": {"person_id": null}}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.call(Method::DELETE, &format!("{PEOPLE}/{ann}"), Some(&root), None).await.status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn a_correlation_names_a_visible_person_of_the_accounts_organization() {
    let app = TestApp::new().await;
    let acme = app.create_org("Acme").await;
    let other = app.create_org("Other").await;
    let root = app.admin_token.clone();
    let ann = app.create("people", json!({"name": "Ann", "organization_id": acme})).await;
    let eve = app.create("people", json!({"name": "Eve", "organization_id": other})).await;
    let account = app.create_account("ann@acme.test", &acme).await;

    let foreign =
        patch(&app, &root, ACCOUNTS, &account, json!({"type": "accounts", "attributes": {"person_id": eve}})).await;
    assert_eq!(
        (foreign.status, foreign.error_codes()),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["person_organization_mismatch".to_string()])
    );
    let missing = patch(
        &app,
        &root,
        ACCOUNTS,
        &account,
        json!({"type": "accounts", "attributes": {"person_id": "0190a0b0-0000-7000-8000-0000000000ff"}}),
    )
    .await;
    assert_eq!(missing.error_codes(), ["unknown_person"]);
    let garbage =
        patch(&app, &root, ACCOUNTS, &account, json!({"type": "accounts", "attributes": {"person_id": "x y"}})).await;
    assert_eq!(garbage.error_codes(), ["unknown_person"]);
    let wrong_type = patch(
        &app,
        &root,
        ACCOUNTS,
        &account,
        json!({"type": "accounts", "relationships": {"person": {"data": {"type": "teams", "id": ann}}}}),
    )
    .await;
    assert_eq!(wrong_type.error_codes(), ["invalid_linkage"]);
    assert_eq!(wrong_type.body["errors"][0]["source"]["pointer"], "/data/relationships/person/data");

    assert_eq!(
        patch(&app, &root, ACCOUNTS, &account, json!({"type": "accounts", "attributes": {"person_id": ann}}))
            .await
            .status,
        StatusCode::OK
    );
    // Moving a correlated account is refused until it is uncorrelated; moving it together
    // with a person of the new organization is one change.
    let moved =
        patch(&app, &root, ACCOUNTS, &account, json!({"type": "accounts", "attributes": {"organization_id": other}}))
            .await;
    assert_eq!(moved.error_codes(), ["person_organization_mismatch"]);
    let both = patch(
        &app,
        &root,
        ACCOUNTS,
        &account,
        json!({"type": "accounts", "attributes": {"organization_id": other, "person_id": eve}}),
    )
    .await;
    assert_eq!(both.status, StatusCode::OK, "{:?}", both.body);
    // Ann's count went down with the move: she can go; Eve's went up: she cannot.
    assert_eq!(
        app.call(Method::DELETE, &format!("{PEOPLE}/{ann}"), Some(&root), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.call(Method::DELETE, &format!("{PEOPLE}/{eve}"), Some(&root), None).await.error_codes(),
        ["has_accounts"]
    );
    // Deleting the account leaves its person, and frees it.
    assert_eq!(
        app.call(Method::DELETE, &format!("{ACCOUNTS}/{account}"), Some(&root), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get(&format!("{PEOPLE}/{eve}")).await.status, StatusCode::OK);
    assert_eq!(
        app.call(Method::DELETE, &format!("{PEOPLE}/{eve}"), Some(&root), None).await.status,
        StatusCode::NO_CONTENT
    );
    // An organization is not deleted from under its people.
    app.create("people", json!({"name": "Zed", "organization_id": acme})).await;
    let org_delete = app.call(Method::DELETE, &format!("/api/v3/iam/organizations/{acme}"), Some(&root), None).await;
    assert!(org_delete.error_codes().iter().any(|c| c == "has_accounts" || c == "has_people"), "{:?}", org_delete.body);
    let empty = app.create_org("Empty").await;
    app.create("people", json!({"name": "Solo", "organization_id": empty})).await;
    let org_delete = app.call(Method::DELETE, &format!("/api/v3/iam/organizations/{empty}"), Some(&root), None).await;
    assert_eq!((org_delete.status, org_delete.error_codes()), (StatusCode::CONFLICT, vec!["has_people".to_string()]));
}

#[tokio::test]
async fn people_are_seen_and_changed_only_within_the_callers_organization_and_rights() {
    let app = TestApp::new().await;
    let acme = app.create_org("Acme").await;
    let other = app.create_org("Other").await;
    let ann = app.create("people", json!({"name": "Ann", "organization_id": acme})).await;
    let eve = app.create("people", json!({"name": "Eve", "organization_id": other})).await;
    let admin = app.account_with_role("admin@acme.test", Some(&acme), Some(("org_admin", Some(&acme)))).await;
    let helpdesk = app.account_with_role("help@acme.test", Some(&acme), Some(("helpdesk", Some(&acme)))).await;
    let member = app.account_with_role("mem@acme.test", Some(&acme), Some(("member", Some(&acme)))).await;

    // The organization's admin: its own people only, and it creates in its organization.
    let listed = app.call(Method::GET, PEOPLE, Some(&admin), None).await;
    assert_eq!(listed.ids(), vec![ann.clone()]);
    assert_eq!(
        app.call(Method::GET, &format!("{PEOPLE}/{eve}"), Some(&admin), None).await.status,
        StatusCode::NOT_FOUND
    );
    let mine = app.post(&admin, "people", json!({"name": "Carl"})).await;
    assert_eq!(mine.body["data"]["attributes"]["organization_id"], json!(acme));
    let theirs = app.post(&admin, "people", json!({"name": "Carl", "organization_id": other})).await;
    assert!(matches!(theirs.status.as_u16(), 403 | 422), "{:?}", theirs.body);
    assert_eq!(
        app.call(Method::DELETE, &format!("{PEOPLE}/{eve}"), Some(&admin), None).await.status,
        StatusCode::NOT_FOUND
    );
    // An account of the admin's organization cannot be correlated with a person it cannot see.
    let account = app.create_account("x@acme.test", &acme).await;
    let hidden =
        patch(&app, &admin, ACCOUNTS, &account, json!({"type": "accounts", "attributes": {"person_id": eve}})).await;
    assert_eq!(hidden.error_codes(), ["unknown_person"], "no existence leak: the same answer as for no person");

    // Helpdesk reads people; it changes none.
    assert_eq!(app.call(Method::GET, PEOPLE, Some(&helpdesk), None).await.ids().len(), 2);
    assert_eq!(app.post(&helpdesk, "people", json!({"name": "Dan"})).await.status, StatusCode::FORBIDDEN);
    let edit = patch(&app, &helpdesk, PEOPLE, &ann, json!({"type": "people", "attributes": {"name": "Anne"}})).await;
    assert_eq!(edit.status, StatusCode::FORBIDDEN);
    // A member sees no people.
    let seen = app.call(Method::GET, PEOPLE, Some(&member), None).await;
    assert!(seen.status == StatusCode::FORBIDDEN || seen.ids().is_empty(), "{:?}", seen.body);
    assert_eq!(
        app.call(Method::GET, &format!("{PEOPLE}/{ann}"), Some(&member), None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.post(&member, "people", json!({"name": "Dan"})).await.status, StatusCode::FORBIDDEN);
    // No token: 401.
    assert_eq!(app.call(Method::GET, PEOPLE, None, None).await.status, StatusCode::UNAUTHORIZED);
}
