//! Strategies for property tests: what a client can send where a parser reads it — the
//! expression dialect's words and symbols, collection parameters, JSON of any shape, and
//! strings shaped like bearer tokens — mixing the well-formed with the arbitrary, so that
//! cases reach past the first check of each parser.

use proptest::prelude::*;
use serde_json::Value;

/// The configuration of the suites: `cases` cases, nothing written to disk (a failure prints
/// its minimal input, which a test then keeps as an example).
pub fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// The words and symbols of the expression dialect, with field names real and unknown.
pub fn expression_token() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "(",
            ")",
            ",",
            "and",
            "or",
            "not",
            "AND",
            "Or",
            "eq",
            "ne",
            "in",
            "nin",
            "gt",
            "gte",
            "lt",
            "lte",
            "match",
            "sw",
            "isnull",
            "true",
            "false",
            "null",
            "email",
            "name",
            "status",
            "enabled",
            "created_at",
            "id",
            "organization_id",
            "organization.name",
            "password",
            "nope",
            "\"",
            "\\",
            "-",
            "--1",
        ])
        .prop_map(str::to_string),
        "\"[^\"\\\\]{0,12}\"",
        "-?[0-9]{1,25}",
        any::<String>(),
    ]
}

pub fn expression_text() -> impl Strategy<Value = String> {
    prop::collection::vec(expression_token(), 0..60).prop_map(|t| t.join(" "))
}

/// Parameter names: the dialects' own, filters on real and unknown fields and operators,
/// fieldsets of real and unknown types, and anything.
pub fn parameter_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "filters",
            "sort",
            "sorters",
            "page[number]",
            "page[size]",
            "page[after]",
            "page",
            "per_page",
            "limit",
            "offset",
            "count",
            "include",
            "included",
            "query",
            "filter[email]",
            "filter[email__in]",
            "filter[name__sw]",
            "filter[created_at__gte]",
            "filter[enabled]",
            "filter[id__in]",
            "filter[organization.name]",
            "filter[password]",
            "filter[email__bogus]",
            "filter[]",
            "filter[",
            "fields[accounts]",
            "fields[organizations]",
            "fields[nope]",
            "fields[]",
        ])
        .prop_map(str::to_string),
        any::<String>(),
    ]
}

pub fn parameter_value() -> impl Strategy<Value = String> {
    prop_oneof![
        expression_text(),
        "[a-z_.,+-]{0,40}",
        "-?[0-9]{0,22}",
        prop::collection::vec("[a-z0-9@.]{0,6}", 0..150).prop_map(|v| v.join(",")),
        any::<String>(),
    ]
}

pub fn parameters() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((parameter_name(), parameter_value()), 0..80)
}

/// JSON values of any shape, nested a few levels.
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(vec!["accounts", "organizations", "data", "attributes", "type", "id", ""])
            .prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    prop::sample::select(vec!["data", "type", "id", "attributes", "email", "name", "password"])
                        .prop_map(str::to_string),
                    any::<String>(),
                ],
                inner,
                0..8,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Strings shaped like JWTs (three dot-separated base64url parts of arbitrary JSON or bytes).
pub fn token_like() -> impl Strategy<Value = String> {
    use base64::Engine;
    let part = prop_oneof![
        json_value().prop_map(|v| v.to_string().into_bytes()),
        Just(br#"{"alg":"EdDSA","typ":"JWT","kid":"x"}"#.to_vec()),
        Just(br#"{"alg":"none"}"#.to_vec()),
        Just(br#"{"alg":"HS256"}"#.to_vec()),
        prop::collection::vec(any::<u8>(), 0..80),
    ];
    (part.clone(), part.clone(), part).prop_map(|(h, p, s)| {
        let b = |x: Vec<u8>| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(x);
        format!("{}.{}.{}", b(h), b(p), b(s))
    })
}
