//! Ids of ours: time-ordered UUIDs, made and recognised here, below everything that stores
//! or filters by them.

/// A new time-ordered id (UUIDv7): ids sort in creation order, which is the default order.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Could `s` be an id of ours (a UUID in its hyphenated form, as `new_id` and the built-in
/// roles write them)? Checked before any store call, so that a value no item can have is
/// answered as absent on every store (DynamoDB refuses an empty or oversized key with an error
/// where SQLite finds nothing).
pub fn is_id(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::try_parse(s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hyphenated_uuids_are_ids() {
        assert!(is_id(&new_id()));
        assert!(is_id("00000000-0000-7000-8000-000000000001"));
        for not in ["", "x", "00000000000070008000000000000001", "{00000000-0000-7000-8000-000000000001}", "é"] {
            assert!(!is_id(not), "{not}");
        }
    }
}
