//! Parsers that cannot panic: property tests over everything a client's bytes reach before a
//! handler runs — the `filters=` expression parser, the collection parameters (`filter[...]`,
//! `sort`, `page[...]`, `fields[...]`, `include`, `count`, `query`), `page[after]` cursors,
//! JSON:API request documents and bearer tokens. Arbitrary input never panics (a release
//! build aborts on panic: one request would take its whole function down), what is accepted is
//! bounded (nesting, comparisons, list lengths, problems listed), and every refusal names the
//! parameter or the pointer it is about. A few thousand cases in all: seconds in `make test`.

use iam_shared::Error;
use iam_shared::auth::jwt::TokenKeys;
use iam_shared::error::Source;
use iam_shared::jsonapi::request_attributes;
use iam_shared::model::{account, organization};
use iam_shared::query::ast::{Expr, ListQuery};
use iam_shared::query::cursor::Cursor;
use iam_shared::query::expression::{self, MAX_COMPARISONS, MAX_DEPTH};
use iam_shared::query::params::{self, MAX_LIST_VALUES, MAX_PROBLEMS};
use iam_shared::resource::ResourceDef;
use iam_tests::strategies::{config, expression_text, json_value, parameters, token_like};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Nesting depth of parentheses and `not`s in a parsed expression.
fn depth(e: &Expr) -> usize {
    match e {
        Expr::And(parts) | Expr::Or(parts) => 1 + parts.iter().map(depth).max().unwrap_or(0),
        Expr::Not(e) => 1 + depth(e),
        _ => 0,
    }
}

/// Every `in`/`nin` list in the expression is at most this long.
fn longest_list(e: &Expr) -> usize {
    match e {
        Expr::And(parts) | Expr::Or(parts) => parts.iter().map(longest_list).max().unwrap_or(0),
        Expr::Not(e) => longest_list(e),
        Expr::Cmp { values, .. } => values.len(),
        _ => 0,
    }
}

fn is_bounded(e: &Expr) -> bool {
    e.comparisons() <= MAX_COMPARISONS && longest_list(e) <= MAX_LIST_VALUES && depth(e) <= 2 * MAX_DEPTH + 2
}

proptest! {
    #![proptest_config(config(1500))]

    #[test]
    fn filters_expressions_never_panic_and_point_at_a_column(text in expression_text()) {
        for def in [&account::RESOURCE, &organization::RESOURCE] {
            match expression::parse(def, &text) {
                Ok(e) => prop_assert!(is_bounded(&e), "{text:?} parsed into an unbounded {e:?}"),
                Err(e) => {
                    prop_assert!(!e.code.is_empty());
                    prop_assert!(e.column >= 1 && e.column <= text.chars().count() + 1, "{text:?}: {e:?}");
                }
            }
        }
    }

    #[test]
    fn arbitrary_text_is_refused_or_parsed_never_panics(text in any::<String>()) {
        let _ = expression::parse(&account::RESOURCE, &text);
    }
}

#[test]
fn nesting_past_the_bound_is_refused_not_recursed_into() {
    for depth in [MAX_DEPTH - 1, MAX_DEPTH + 1, 1_000, 100_000] {
        let text = format!("{}email eq \"a\"{}", "(".repeat(depth), ")".repeat(depth));
        let parsed = expression::parse(&account::RESOURCE, &text);
        assert_eq!(parsed.is_ok(), depth < MAX_DEPTH, "depth {depth}: {parsed:?}");
        let nots = format!("{}email eq \"a\"", "not ".repeat(depth));
        assert_eq!(expression::parse(&account::RESOURCE, &nots).is_ok(), depth < MAX_DEPTH, "{depth} nots");
    }
    let many = vec!["email eq \"a\""; MAX_COMPARISONS + 1].join(" or ");
    assert_eq!(expression::parse(&account::RESOURCE, &many).unwrap_err().code, "too_many_comparisons");
}

fn check_listing(def: &ResourceDef, pairs: &[(String, String)]) -> Result<(), TestCaseError> {
    match params::parse(def, pairs) {
        Ok(ListQuery { filter, .. }) => prop_assert!(is_bounded(&filter), "{pairs:?} gave {filter:?}"),
        Err(Error::BadRequest(problems)) => {
            prop_assert!(!problems.is_empty() && problems.len() <= MAX_PROBLEMS, "{} problems", problems.len());
            for problem in problems {
                let named = match &problem.source {
                    Some(Source::Parameter(p)) => pairs.iter().any(|(k, _)| k == p),
                    _ => false,
                };
                prop_assert!(named, "{problem:?} names no parameter of {pairs:?}");
            }
        }
        Err(other) => prop_assert!(false, "a listing's parameters answered {other:?}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(1500))]

    #[test]
    fn collection_parameters_never_panic_and_every_problem_names_its_parameter(pairs in parameters()) {
        check_listing(&account::RESOURCE, &pairs)?;
        check_listing(&organization::RESOURCE, &pairs)?;
        let _ = params::parse_document_options(&account::RESOURCE, &pairs);
    }

    #[test]
    fn raw_query_strings_decode_without_panic(raw in any::<String>(), bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = params::decode_pairs(Some(&raw));
        let escaped: String = bytes.iter().map(|b| format!("%{b:02X}")).collect();
        check_listing(&account::RESOURCE, &params::decode_pairs(Some(&format!("filter[email]={escaped}&{escaped}={raw}"))))?;
    }
}

#[test]
fn comparisons_are_bounded_over_every_parameter_together() {
    let mut pairs: Vec<(String, String)> =
        (0..MAX_COMPARISONS).map(|i| ("filter[name__ne]".to_string(), format!("n{i}"))).collect();
    assert!(params::parse(&account::RESOURCE, &pairs).is_ok(), "exactly the bound is accepted");
    pairs.push(("filters".into(), "email eq \"a\"".into()));
    match params::parse(&account::RESOURCE, &pairs) {
        Err(Error::BadRequest(p)) => {
            assert_eq!(p.len(), 1);
            assert_eq!(p[0].code, "too_many_comparisons");
            assert_eq!(p[0].source, Some(Source::Parameter("filters".into())));
        }
        other => panic!("{other:?}"),
    }
    let flood: Vec<(String, String)> = (0..10_000).map(|i| (format!("bogus{i}"), String::new())).collect();
    match params::parse(&account::RESOURCE, &flood) {
        Err(Error::BadRequest(p)) => assert_eq!(p.len(), MAX_PROBLEMS),
        other => panic!("{other:?}"),
    }
}

/// A request document with arbitrary parts where a well-formed one has fixed ones.
fn document() -> impl Strategy<Value = Value> {
    prop_oneof![
        json_value(),
        (json_value(), json_value(), json_value())
            .prop_map(|(t, id, a)| json!({"data": {"type": t, "id": id, "attributes": a}})),
        (json_value(), json_value())
            .prop_map(|(id, a)| json!({"data": {"type": "accounts", "id": id, "attributes": a}})),
        json_value().prop_map(|a| json!({"data": {"type": "accounts", "attributes": a}})),
    ]
}

proptest! {
    #![proptest_config(config(1500))]

    #[test]
    fn request_documents_never_panic_and_every_problem_points_into_the_document(body in document()) {
        for id in [None, Some("acc-1")] {
            match request_attributes(&body, &account::RESOURCE, id) {
                Ok(attributes) => {
                    let sent = body.pointer("/data/attributes").cloned().unwrap_or_else(|| json!({}));
                    prop_assert_eq!(Value::Object(attributes), sent);
                }
                Err(Error::Validation(problems)) | Err(Error::BadRequest(problems)) => {
                    for p in problems {
                        prop_assert!(matches!(&p.source, Some(Source::Pointer(ptr)) if ptr.starts_with("/data")), "{p:?}");
                    }
                }
                Err(Error::Conflict(p)) => prop_assert!(matches!(&p.source, Some(Source::Pointer(ptr)) if ptr.starts_with("/data/")), "{p:?}"),
                Err(other) => prop_assert!(false, "a document answered {other:?}"),
            }
        }
    }

    #[test]
    fn cursors_of_any_bytes_never_panic_and_are_refused_on_page_after(
        raw in prop_oneof![any::<String>(), "[A-Za-z0-9_-]{0,200}"],
        value in json_value(),
    ) {
        use base64::Engine;
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string());
        for candidate in [raw, encoded] {
            match Cursor::decode(&candidate) {
                Ok(cursor) => prop_assert_eq!(Cursor::decode(&cursor.encode()).ok(), Some(cursor)),
                Err(Error::BadRequest(p)) => prop_assert_eq!(&p[0].source, &Some(Source::Parameter("page[after]".into()))),
                Err(other) => prop_assert!(false, "a cursor answered {other:?}"),
            }
        }
    }
}

fn keys() -> &'static TokenKeys {
    static KEYS: std::sync::OnceLock<TokenKeys> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let pem = TokenKeys::generate_pem().expect("a key");
        TokenKeys::from_pem(&pem, "https://iam.test", "iam", std::time::Duration::from_secs(900)).expect("keys")
    })
}

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn bearer_tokens_of_any_shape_are_refused_without_panic(
        token in prop_oneof![any::<String>(), token_like()],
        flip in any::<prop::sample::Index>(),
    ) {
        let now = time::OffsetDateTime::now_utc();
        prop_assert!(matches!(keys().verify(&token, now), Err(Error::InvalidToken(_))));
        // A real token with one character changed is refused too.
        let real = keys().issue("acc-1", "ses-1", now).expect("a token");
        let mut chars: Vec<char> = real.chars().collect();
        let at = flip.index(chars.len());
        chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
        let forged: String = chars.into_iter().collect();
        if forged != real {
            prop_assert!(keys().verify(&forged, now).is_err(), "a changed token was accepted");
        }
    }
}
