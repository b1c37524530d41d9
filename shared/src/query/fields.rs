//! What both filter dialects check about a comparison: the field exists, may be filtered, is not
//! a secret, takes the operator, and the value has the field's type. One set of rules and
//! messages, whichever dialect the comparison came from.

use super::ast::{Op, Scalar};
use crate::clock;
use crate::ids::is_id;
use crate::resource::{Field, FieldType, ResourceDef};

/// A problem with one comparison: an error code and a sentence for `detail`.
pub type Refusal = (&'static str, String);

/// The field `name` refers to, if `op` may be applied to it.
pub fn resolve(def: &ResourceDef, name: &str, op: Op) -> Result<Field, Refusal> {
    let unknown = || ("unknown_field", format!("{} cannot be filtered by {name:?}", def.type_name));
    let field = *def.field(name).ok_or_else(unknown)?;
    if field.secret {
        return Err(("secret_field", format!("{name:?} is secret and cannot be filtered")));
    }
    if !field.filter {
        return Err(unknown());
    }
    let textual = matches!(op, Op::Match | Op::Sw);
    let ordered = matches!(op, Op::Gt | Op::Gte | Op::Lt | Op::Lte);
    if textual && field.ty != FieldType::String || ordered && field.ty == FieldType::Boolean {
        return Err(("unknown_operator", format!("{name:?} does not take this operator")));
    }
    Ok(field)
}

fn expected(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Integer => "an integer",
        FieldType::Boolean => "true or false",
        FieldType::Timestamp => "an RFC 3339 timestamp",
        FieldType::String => "a string",
    }
}

/// May `op` compare with null? Only (in)equality and list membership may.
fn takes_null(op: Op) -> bool {
    matches!(op, Op::Eq | Op::Ne | Op::In | Op::Nin)
}

/// Longest text a filter may compare with: DynamoDB refuses a sort key value above 1024 bytes
/// (a partition key above 2048) with an error, and no stored value of ours is that long.
pub const MAX_VALUE_BYTES: usize = 1024;

/// Case-insensitive fields compare lower-cased, so their operands are lower-cased once here.
/// Values that no item can hold, and that could reach the store as a key, are refused here:
/// text over [`MAX_VALUE_BYTES`], anything but an id compared for equality (or membership) with
/// a field of ids, which becomes a key, and the empty text in any other comparison of ids (a
/// range or a prefix of ids is still a search).
fn normalise(field: &Field, op: Op, value: Scalar) -> Result<Scalar, Refusal> {
    match value {
        Scalar::Str(s) if s.len() > MAX_VALUE_BYTES => {
            Err(("value_too_long", format!("{} is compared with at most {MAX_VALUE_BYTES} bytes", field.name)))
        }
        Scalar::Str(s) if field.ids && matches!(op, Op::Eq | Op::In) && !is_id(&s) => {
            Err(("invalid_value", format!("{} must be an id, not {s:?}", field.name)))
        }
        Scalar::Str(s) if field.ids && s.is_empty() => {
            Err(("invalid_value", format!("{} is never compared with the empty text", field.name)))
        }
        Scalar::Str(s) if field.folded.is_some() => Ok(Scalar::Str(s.to_lowercase())),
        other => Ok(other),
    }
}

/// A value from the JSON:API dialect, where every value is text: typed by the field
/// (`null` is null for the operators that take it; textual operators take any text).
pub fn from_text(field: &Field, op: Op, raw: &str) -> Result<Scalar, Refusal> {
    if raw == "null" && takes_null(op) {
        return Ok(Scalar::Null);
    }
    let parsed = match (op, field.ty) {
        (Op::Match | Op::Sw, _) | (_, FieldType::String) => Some(Scalar::Str(raw.to_string())),
        (_, FieldType::Integer) => raw.parse().ok().map(Scalar::Int),
        (_, FieldType::Boolean) => match raw {
            "true" => Some(Scalar::Bool(true)),
            "false" => Some(Scalar::Bool(false)),
            _ => None,
        },
        (_, FieldType::Timestamp) => clock::parse(raw).map(Scalar::Time),
    };
    let parsed = parsed
        .ok_or_else(|| ("invalid_value", format!("{} must be {}, not {raw:?}", field.name, expected(field.ty))))?;
    normalise(field, op, parsed)
}

/// A literal of the expression dialect.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Int(i64),
    Bool(bool),
    Null,
}

/// A value from the expression dialect: literals keep their own type, except that a quoted
/// string is how a timestamp is written.
pub fn from_literal(field: &Field, op: Op, literal: &Literal) -> Result<Scalar, Refusal> {
    let parsed = match (literal, field.ty) {
        (Literal::Null, _) if takes_null(op) => Some(Scalar::Null),
        (Literal::Str(s), FieldType::String) => Some(Scalar::Str(s.clone())),
        (Literal::Str(s), FieldType::Timestamp) => clock::parse(s).map(Scalar::Time),
        (Literal::Int(i), FieldType::Integer) => Some(Scalar::Int(*i)),
        (Literal::Bool(b), FieldType::Boolean) => Some(Scalar::Bool(*b)),
        _ => None,
    };
    let parsed = parsed.ok_or_else(|| {
        let given = match literal {
            Literal::Str(s) => format!("{s:?}"),
            Literal::Int(i) => i.to_string(),
            Literal::Bool(b) => b.to_string(),
            Literal::Null => "null".into(),
        };
        ("invalid_value", format!("{} must be compared with {}, not {given}", field.name, expected(field.ty)))
    })?;
    normalise(field, op, parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::account::RESOURCE;

    #[test]
    fn values_no_item_can_hold_are_refused_in_both_dialects() {
        let org = RESOURCE.field("organization_id").copied().unwrap();
        let email = RESOURCE.field("email").copied().unwrap();
        let id = crate::ids::new_id();
        assert_eq!(from_text(&org, Op::Eq, &id).unwrap(), Scalar::Str(id.clone()));
        assert_eq!(from_text(&org, Op::Eq, "null").unwrap(), Scalar::Null);
        for not_an_id in ["", "x", ".x"] {
            assert_eq!(from_text(&org, Op::Eq, not_an_id).unwrap_err().0, "invalid_value", "{not_an_id:?}");
            assert_eq!(from_text(&org, Op::In, not_an_id).unwrap_err().0, "invalid_value");
            assert_eq!(from_literal(&org, Op::Eq, &Literal::Str(not_an_id.into())).unwrap_err().0, "invalid_value");
        }
        assert!(from_text(&org, Op::Sw, "0192").is_ok(), "a prefix of an id is a search, not a key");
        assert!(from_text(&org, Op::Lte, "M").is_ok(), "and so is a range");
        assert_eq!(from_text(&org, Op::Gt, "").unwrap_err().0, "invalid_value");
        let long = "a".repeat(MAX_VALUE_BYTES + 1);
        assert_eq!(from_text(&email, Op::Eq, &long).unwrap_err().0, "value_too_long");
        assert_eq!(from_literal(&email, Op::Sw, &Literal::Str(long)).unwrap_err().0, "value_too_long");
        assert!(from_text(&email, Op::Eq, &"a".repeat(MAX_VALUE_BYTES)).is_ok());
    }

    #[test]
    fn secrets_and_unfilterable_fields_are_refused() {
        assert_eq!(resolve(&RESOURCE, "password_hash", Op::Eq).unwrap_err().0, "secret_field");
        assert_eq!(resolve(&RESOURCE, "first_name", Op::Eq).unwrap_err().0, "unknown_field");
        assert_eq!(resolve(&RESOURCE, "enabled", Op::Gt).unwrap_err().0, "unknown_operator");
        assert_eq!(resolve(&RESOURCE, "ou_accounts", Op::Eq).unwrap().name, "organization_id");
    }

    #[test]
    fn case_insensitive_fields_are_lower_cased_once() {
        let email = resolve(&RESOURCE, "email", Op::Eq).unwrap();
        assert_eq!(from_text(&email, Op::Eq, "Ann@X.io").unwrap(), Scalar::Str("ann@x.io".into()));
        let name = resolve(&RESOURCE, "name", Op::Eq).unwrap();
        assert_eq!(from_text(&name, Op::Eq, "Ann").unwrap(), Scalar::Str("Ann".into()));
    }

    #[test]
    fn literals_must_have_the_fields_type() {
        let enabled = resolve(&RESOURCE, "enabled", Op::Eq).unwrap();
        assert_eq!(from_literal(&enabled, Op::Eq, &Literal::Bool(true)).unwrap(), Scalar::Bool(true));
        assert!(from_literal(&enabled, Op::Eq, &Literal::Str("true".into())).is_err());
        let created = resolve(&RESOURCE, "created_at", Op::Gt).unwrap();
        assert!(from_literal(&created, Op::Gt, &Literal::Str("2026-01-01T00:00:00Z".into())).is_ok());
        assert!(from_literal(&created, Op::Gt, &Literal::Null).is_err());
    }
}
