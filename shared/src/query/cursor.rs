//! Opaque `page[after]` cursors: base64url JSON of where the previous page ended — an index
//! position (`k`) when the index yields the order, the last item's sort values (`a`), or both
//! (`r`) when the index yields the first sort key's order and ties are sorted in memory.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Error;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Cursor {
    /// Resume an index query after this key (its `ExclusiveStartKey`).
    #[serde(rename = "k")]
    Key(Map<String, Value>),
    /// Resume a sorted-in-memory listing after the item with these sort values and id.
    #[serde(rename = "a")]
    After(Map<String, Value>),
    /// Resume an index query where the run of the last item's first sort key began (after
    /// `start`, or from the beginning), skipping what sorts up to `after`.
    #[serde(rename = "r")]
    Run { start: Option<Map<String, Value>>, after: Map<String, Value> },
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(raw: &str) -> Result<Cursor, Error> {
        URL_SAFE_NO_PAD
            .decode(raw.as_bytes())
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Cursor>(&bytes).ok())
            .filter(|c| {
                let flat = |m: &Map<String, Value>| m.values().all(|v| !v.is_object() && !v.is_array());
                match c {
                    Cursor::Key(m) | Cursor::After(m) => flat(m),
                    Cursor::Run { start, after } => start.as_ref().is_none_or(flat) && flat(after),
                }
            })
            .ok_or_else(Self::invalid)
    }

    pub fn invalid() -> Error {
        Error::bad_parameter("page[after]", "invalid_cursor", "page[after] is not a cursor this listing issued")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cursors_round_trip() {
        let c = Cursor::Key(json!({"id": "x", "name": "Acme"}).as_object().cloned().unwrap());
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
    }

    #[test]
    fn garbage_is_a_bad_parameter_not_a_crash() {
        for raw in ["", "!!", "e30", &URL_SAFE_NO_PAD.encode(br#"{"k":{"id":{"S":"x"}}}"#)] {
            assert!(matches!(Cursor::decode(raw), Err(Error::BadRequest(_))), "{raw}");
        }
    }
}
