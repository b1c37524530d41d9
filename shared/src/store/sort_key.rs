//! Sort keys of their own (`_s_name`, `_s_updated_at`, ...): one string per item that orders
//! it by a field's value, with items lacking the value after every item that has one, and
//! ties in id order, so that an index on it lists a whole collection in the field's order page
//! by page, in both directions, without ever reading a tie twice.
//!
//! The key is `1<value>\u{1}<id>` when the item has the value and `2\u{1}<id>` when it has
//! none. Strings compare by UTF-8 bytes in DynamoDB, SQLite and Rust alike, so:
//! - the tag puts absent values last ascending and first descending, as the in-memory order does;
//! - the separator `\u{1}` sorts below every character a value may hold (names, usernames and
//!   timestamps refuse control characters), so a value sorts before its extensions
//!   (`Ann` < `Anna`) exactly as the values themselves do;
//! - the id makes every key unique, so a page boundary needs no tie-breaking by a second read.

/// Sorts before any character a value holds.
pub const SEPARATOR: char = '\u{1}';
/// Sorts after the separator and below any other character a value holds.
const AFTER_SEPARATOR: char = '\u{2}';
const PRESENT: char = '1';
const ABSENT: char = '2';
/// Above every key of a present value (no value starts with U+10FFFF, a noncharacter).
pub const PRESENT_END: &str = "1\u{10FFFF}";
/// Longest part of a value a key holds: DynamoDB's sort keys are at most 1024 bytes, and the
/// tag, separator and id take 38. Values sharing their first 900 bytes order by id.
const MAX_VALUE_BYTES: usize = 900;

fn truncated(value: &str) -> &str {
    &value[..value.floor_char_boundary(MAX_VALUE_BYTES)]
}

/// The sort key of an item with this value (or none) and id.
pub fn of(value: Option<&str>, id: &str) -> String {
    match value.filter(|v| !v.is_empty()) {
        Some(v) => format!("{PRESENT}{}{SEPARATOR}{id}", truncated(v)),
        None => format!("{ABSENT}{SEPARATOR}{id}"),
    }
}

/// Every key of items whose value starts with `prefix` starts with this.
pub fn value_prefix(prefix: &str) -> String {
    format!("{PRESENT}{}", truncated(prefix))
}

/// Every key of items with exactly this value starts with this.
pub fn exact(value: &str) -> String {
    format!("{PRESENT}{}{SEPARATOR}", truncated(value))
}

/// Every key of items without the value starts with this.
pub fn absent() -> String {
    ABSENT.to_string()
}

/// Above every key of items with exactly this value, and below those of every greater value.
pub fn after(value: &str) -> String {
    format!("{PRESENT}{}{AFTER_SEPARATOR}", truncated(value))
}

/// Do the keys starting with `prefix` all hold one value (or none), so that they are in id
/// order: `exact` and `absent` prefixes.
pub fn is_one_value(prefix: &str) -> bool {
    prefix.ends_with(SEPARATOR) && prefix.starts_with(PRESENT) || prefix == absent()
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "00000000-0000-7000-8000-000000000001";
    const B: &str = "00000000-0000-7000-8000-000000000002";

    #[test]
    fn keys_order_by_value_then_id_with_absent_values_last() {
        let mut keys = vec![
            of(None, A),
            of(Some("Anna"), A),
            of(Some("Ann"), B),
            of(Some("Ann"), A),
            of(Some("Bo"), A),
            of(Some("Ann Lee"), A),
            of(Some(""), B),
        ];
        keys.sort();
        let expected = [
            of(Some("Ann"), A),
            of(Some("Ann"), B),
            of(Some("Ann Lee"), A),
            of(Some("Anna"), A),
            of(Some("Bo"), A),
            of(None, A),
            of(None, B),
        ];
        assert_eq!(keys, expected);
    }

    #[test]
    fn bounds_separate_a_value_from_its_neighbours() {
        let ann = of(Some("Ann"), B);
        assert!(ann.starts_with(&exact("Ann")) && !of(Some("Anna"), A).starts_with(&exact("Ann")));
        assert!(ann.starts_with(&value_prefix("An")) && of(Some("Anna"), A).starts_with(&value_prefix("An")));
        assert!(value_prefix("Ann") <= ann && ann < after("Ann") && after("Ann") < of(Some("Ann Lee"), A));
        assert!(ann.as_str() < PRESENT_END && of(None, A).as_str() > PRESENT_END);
        assert!(of(None, A).starts_with(&absent()));
    }

    #[test]
    fn long_values_are_cut_at_a_character_boundary() {
        let long = "é".repeat(800);
        let key = of(Some(&long), A);
        assert!(key.len() <= 1024, "{}", key.len());
        assert!(key.ends_with(A));
    }
}
