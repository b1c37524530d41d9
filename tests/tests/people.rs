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

/// A small deterministic generator (the oracle's data must be the same on every run).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

/// Every dotted filter, in both dialects and combined with the account's own fields under
/// `and`, `or` and `not`, finds exactly what a plain evaluation of the seeded data finds.
#[tokio::test]
async fn relationship_filters_agree_with_a_plain_evaluation_of_random_data() {
    let app = TestApp::new().await;
    let mut rng = Lcg(23);
    let orgs = [app.create_org("Acme").await, app.create_org("Acorn").await, app.create_org("Zeta").await];
    let names = ["Ann Lee", "Anna Berg", "Bob Ray", "Annabel", "Carl Fox", "Dana"];
    // (id, organization index, name, state)
    let mut people = Vec::new();
    for i in 0..24 {
        let (o, name) = (rng.below(3), names[rng.below(names.len())]);
        let state = if rng.below(3) == 0 { "inactive" } else { "active" };
        let attributes =
            json!({"name": name, "state": state, "organization_id": orgs[o], "external_id": format!("E-{i}")});
        people.push((app.create("people", attributes).await, o, name, state));
    }
    // (id, organization index, person index, enabled)
    let mut accounts = Vec::new();
    for i in 0..72 {
        let o = rng.below(3);
        let candidates: Vec<usize> = (0..people.len()).filter(|p| people[*p].1 == o).collect();
        let person = (rng.below(4) != 0 && !candidates.is_empty()).then(|| candidates[rng.below(candidates.len())]);
        let enabled = rng.below(4) != 0;
        let mut attributes = json!({"email": format!("a{i}@x.test"), "password": iam_tests::app::PASSWORD, "organization_id": orgs[o], "enabled": enabled});
        if let Some(p) = person {
            attributes["person_id"] = json!(people[p].0);
        }
        accounts.push((app.create("accounts", attributes).await, o, person, enabled));
    }
    let expr = |e: &str| format!("filters={}", iam_tests::app::encode(e));
    let cases = [
        "filter[person.name__sw]=Ann".to_string(),
        "filter[person.name]=Dana".into(),
        "filter[organization.name]=Acme".into(),
        "filter[organization.name__sw]=Ac&filter[enabled]=false".into(),
        "filter[person.state]=inactive".into(),
        "filter[person.name__sw]=Zed".into(),
        expr(r#"person.state eq "active" and organization.name sw "Ac""#),
        expr(r#"person.name sw "Ann" or enabled eq false"#),
        expr(r#"not (person.name sw "Ann") and organization.name eq "Zeta""#),
        expr(r#"person.name ne "Bob Ray""#),
        "filter[person.external_id__in]=E-1,E-5,E-9,E-22".into(),
        expr(r#"person.external_id sw "E-1" or organization.name eq "Acorn""#),
    ];
    // What each case means, evaluated plainly over the seed.
    let name_of = |p: Option<usize>| p.map(|p| people[p].2);
    let state_of = |p: Option<usize>| p.map(|p| people[p].3);
    let expected = |case: usize, o: usize, p: Option<usize>, e: bool| -> bool {
        let sw = |prefix: &str| name_of(p).is_some_and(|n| n.starts_with(prefix));
        match case {
            0 => sw("Ann"),
            1 => name_of(p) == Some("Dana"),
            2 => o == 0,
            3 => o < 2 && !e,
            4 => state_of(p) == Some("inactive"),
            5 => sw("Zed"),
            6 => state_of(p) == Some("active") && o < 2,
            7 => sw("Ann") || !e,
            8 => !sw("Ann") && o == 2,
            // `ne` holds for an account without a person too (its person's name is null).
            9 => name_of(p) != Some("Bob Ray"),
            10 => p.is_some_and(|p| [1, 5, 9, 22].contains(&p)),
            11 => p.is_some_and(|p| format!("E-{p}").starts_with("E-1")) || o == 1,
            _ => unreachable!(),
        }
    };
    let mut telling = 0;
    for (i, query) in cases.iter().enumerate() {
        let mut want: Vec<String> =
            accounts.iter().filter(|(_, o, p, e)| expected(i, *o, *p, *e)).map(|(id, ..)| id.clone()).collect();
        want.sort();
        telling += usize::from(!want.is_empty() && want.len() < accounts.len());
        let got = app.get(&format!("{ACCOUNTS}?{query}&filter[email__sw]=a&page[size]=1000")).await;
        assert_eq!(got.status, StatusCode::OK, "{query}: {:?}", got.body);
        assert_eq!(sorted(got.ids()), want, "{query}");
        // The same through small pages of cursors, in the other direction.
        let pages = app
            .every_page(
                &format!("{ACCOUNTS}?{query}&filter[email__sw]=a&page[size]=5&sort=-id&page[after]="),
                &app.admin_token.clone(),
            )
            .await;
        assert_eq!(sorted(pages), want, "{query}, paged");
    }
    assert!(telling >= 8, "the seed leaves most cases some matches and some misses: {telling}");
}

/// A dotted field the catalog does not declare is a 400 naming the parameter; a person the
/// caller may not read is no match (its fields compare as absent), so a filter cannot probe it.
#[tokio::test]
async fn relationship_filters_name_only_declared_fields_and_see_only_what_the_caller_may_read() {
    let app = TestApp::new().await;
    let acme = app.create_org("Acme").await;
    for (query, parameter) in [
        ("filter[person.email]=a@b.c", "filter[person.email]"),
        ("filter[team.name]=Ops", "filter[team.name]"),
        ("filter[person.name__near]=x", "filter[person.name__near]"),
    ] {
        let reply = app.get(&format!("{ACCOUNTS}?{query}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}: {:?}", reply.body);
        assert_eq!(reply.body["errors"][0]["source"]["parameter"], parameter, "{query}");
    }
    let expression = app.get(&format!("{ACCOUNTS}?filters={}", iam_tests::app::encode(r#"person.email eq "x""#))).await;
    assert_eq!(
        (expression.status, &expression.body["errors"][0]["source"]["parameter"]),
        (StatusCode::BAD_REQUEST, &json!("filters"))
    );

    let ann = app.create("people", json!({"name": "Ann", "organization_id": acme})).await;
    let member = app.account_with_role("mem@acme.test", Some(&acme), Some(("member", Some(&acme)))).await;
    let helpdesk = app.account_with_role("help@acme.test", Some(&acme), Some(("helpdesk", Some(&acme)))).await;
    let me = app.call(Method::GET, &format!("{ACCOUNTS}/me"), Some(&member), None).await.body["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let root = app.admin_token.clone();
    assert_eq!(
        patch(&app, &root, ACCOUNTS, &me, json!({"type": "accounts", "attributes": {"person_id": ann}})).await.status,
        StatusCode::OK
    );
    // The helpdesk reads people: it finds the member by its person's name.
    let found = app.call(Method::GET, &format!("{ACCOUNTS}?filter[person.name]=Ann"), Some(&helpdesk), None).await;
    assert_eq!(found.ids(), vec![me.clone()]);
    // The member reads its own account but not people: no match by a person's name, either way.
    for query in ["filter[person.name]=Ann", "filter[person.name__sw]=A"] {
        let hidden = app.call(Method::GET, &format!("{ACCOUNTS}?{query}"), Some(&member), None).await;
        assert_eq!((hidden.status, hidden.ids()), (StatusCode::OK, vec![]), "{query}");
    }
    let or = iam_tests::app::encode(r#"person.name eq "Ann" or person.state eq "active""#);
    let hidden = app.call(Method::GET, &format!("{ACCOUNTS}?filters={or}"), Some(&member), None).await;
    assert_eq!((hidden.status, hidden.ids()), (StatusCode::OK, vec![]), "joined, the person is absent for the member");
    assert_eq!(
        app.call(Method::GET, ACCOUNTS, Some(&member), None).await.ids(),
        vec![me.clone()],
        "while its account is listed"
    );
}
