//! Reading the attributes of a create or update request: each accessor checks one attribute and
//! records what is wrong, so that one 422 lists every problem of the request.

use serde_json::{Map, Value};

use crate::clock;
use crate::error::{Error, Problem};
use crate::resource::ResourceDef;
use crate::store::Item;

/// An attribute as the request gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Given<T> {
    Absent,
    Null,
    Value(T),
}

impl<T> Given<T> {
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Given<U> {
        match self {
            Given::Absent => Given::Absent,
            Given::Null => Given::Null,
            Given::Value(v) => Given::Value(f(v)),
        }
    }
}

impl<T: Into<Value>> Given<T> {
    /// Applies the attribute to an item as a partial update does: a value is set, null
    /// removes the attribute, absence leaves it as it was.
    pub fn write_to(self, item: &mut Item, name: &str) {
        match self {
            Given::Value(v) => {
                item.insert(name.into(), v.into());
            }
            Given::Null => {
                item.remove(name);
            }
            Given::Absent => {}
        }
    }
}

pub use crate::resource::Text;

pub struct Attributes<'a> {
    map: Map<String, Value>,
    problems: Vec<Problem>,
    _def: &'a ResourceDef,
}

impl<'a> Attributes<'a> {
    /// Starts reading; unknown and read-only attributes are problems at once.
    pub fn new(def: &'a ResourceDef, map: Map<String, Value>) -> Self {
        let mut problems = Vec::new();
        for name in map.keys() {
            match def.fields.iter().find(|f| f.name == name && f.attribute && !f.secret && f.alias_of.is_none()) {
                Some(f) if f.read_only => {
                    problems.push(Problem::attribute(name, "read_only", format!("{name} is read-only")));
                }
                Some(_) => {}
                None if def.fields.iter().any(|f| f.name == name && !f.secret) => {
                    problems.push(Problem::attribute(name, "read_only", format!("{name} is read-only")));
                }
                None => problems.push(Problem::attribute(
                    name,
                    "unknown_attribute",
                    format!("{} has no attribute {name}", def.type_name),
                )),
            }
        }
        Attributes { map, problems, _def: def }
    }

    pub fn problem(&mut self, name: &str, code: &str, detail: impl Into<String>) {
        self.problems.push(Problem::attribute(name, code, detail));
    }

    /// Problems found by a value's own parser (a new password's policy, say).
    pub fn extend(&mut self, problems: Vec<Problem>) {
        self.problems.extend(problems);
    }

    /// A text attribute; `required` makes absence and null problems. Single-line text refuses
    /// control characters, bidirectional embedding, override and isolate controls among them.
    pub fn text(&mut self, name: &str, limits: Text, required: bool) -> Given<String> {
        let given = match self.map.get(name).cloned() {
            None => Given::Absent,
            Some(Value::Null) => Given::Null,
            Some(Value::String(s)) => {
                let s = s.trim();
                let n = s.chars().count();
                if limits.single_line && s.chars().any(|c| c.is_control() || is_bidi_control(c)) {
                    self.problem(
                        name,
                        "invalid_characters",
                        format!("{name} must be a single line without control characters"),
                    );
                } else if n < limits.min || n > limits.max {
                    let code = if n < limits.min { "too_short" } else { "too_long" };
                    self.problem(name, code, format!("{name} must be {} to {} characters", limits.min, limits.max));
                }
                Given::Value(s.to_string())
            }
            Some(_) => {
                self.problem(name, "invalid_type", format!("{name} must be a string"));
                return Given::Absent;
            }
        };
        if required && !matches!(given, Given::Value(_)) {
            self.problem(name, "required", format!("{name} is required"));
        }
        given
    }

    /// Takes an attribute out before the catalog checks see it (a create's write-only
    /// `password`, which the catalog lists as a secret).
    pub fn take(map: &mut Map<String, Value>, name: &str) -> Option<Value> {
        map.remove(name)
    }

    /// The raw value, with `invalid_type` recorded when `accept` refuses it.
    fn typed<T>(&mut self, name: &str, expected: &str, accept: impl Fn(&Value) -> Option<T>) -> Given<T> {
        match self.map.get(name) {
            None => Given::Absent,
            Some(Value::Null) => Given::Null,
            Some(v) => match accept(v) {
                Some(t) => Given::Value(t),
                None => {
                    self.problem(name, "invalid_type", format!("{name} must be {expected}"));
                    Given::Absent
                }
            },
        }
    }

    pub fn boolean(&mut self, name: &str) -> Given<bool> {
        self.typed(name, "true or false", Value::as_bool)
    }

    /// One of a fixed set of strings.
    pub fn one_of(&mut self, name: &str, allowed: &[&str]) -> Given<String> {
        let given = self.typed(name, "a string", |v| v.as_str().map(str::to_string));
        if let Given::Value(v) = &given
            && !allowed.contains(&v.as_str())
        {
            self.problem(name, "invalid_value", format!("{name} must be one of {}", allowed.join(", ")));
        }
        given
    }

    /// An RFC 3339 timestamp, returned in the stored form (UTC, whole seconds).
    pub fn timestamp(&mut self, name: &str) -> Given<String> {
        match self.typed(name, "an RFC 3339 timestamp", |v| v.as_str().map(str::to_string)) {
            Given::Value(raw) => match clock::parse(&raw) {
                Some(t) => Given::Value(clock::format(t)),
                None => {
                    self.problem(name, "invalid_timestamp", format!("{name} must be an RFC 3339 timestamp"));
                    Given::Absent
                }
            },
            other => other,
        }
    }

    /// An absolute `http` or `https` URL.
    pub fn url(&mut self, name: &str, max: usize) -> Given<String> {
        let given = self.text(name, Text { min: 1, max, single_line: true }, false);
        if let Given::Value(v) = &given
            && !is_web_url(v)
        {
            self.problem(name, "invalid_url", format!("{name} must be an absolute http(s) URL"));
        }
        given
    }

    /// The organization a new item goes into (teams, people): the one given, else the caller's
    /// (`default`); a problem when there is neither.
    pub fn organization_on_create(&mut self, limits: Text, default: Option<&str>) -> Option<String> {
        let org = match self.text("organization_id", limits, false) {
            Given::Value(o) => Some(o),
            _ => default.map(str::to_string),
        };
        if org.is_none() {
            self.problem("organization_id", "required", "organization_id is required");
        }
        org
    }

    /// An item that stays in its organization (`current`): an update naming another is a
    /// problem.
    pub fn organization_kept(&mut self, limits: Text, current: Option<&str>, what: &str) {
        let moving = self.map.get("organization_id").is_some_and(|v| v.as_str() != current);
        let _ = self.text("organization_id", limits, false);
        if moving {
            self.problem("organization_id", "not_updatable", format!("{what} cannot move to another organization"));
        }
    }

    /// Ends reading: every problem recorded, or nothing.
    pub fn finish(self) -> Result<(), Error> {
        if self.problems.is_empty() { Ok(()) } else { Err(Error::Validation(self.problems)) }
    }
}

/// `http(s)://host[...]` without spaces: what a browser can load as a picture.
fn is_web_url(v: &str) -> bool {
    let rest = v.strip_prefix("https://").or_else(|| v.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty() && !host.starts_with(':') && !r.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}

/// The bidirectional embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069):
/// they reorder how the text around them is shown ("Trojan Source"), so that a name could read
/// as another in an admin console or an email. Unicode counts them as format characters, not as
/// controls, so `char::is_control` lets them through.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_urls_need_a_scheme_and_a_host() {
        for ok in ["https://cdn.example.com/a.png", "http://x.io", "https://h:8443/p?q=1"] {
            assert!(is_web_url(ok), "{ok}");
        }
        for bad in
            ["", "cdn.example.com/a.png", "ftp://x", "https://", "https:///p", "https://a b", "javascript:alert(1)"]
        {
            assert!(!is_web_url(bad), "{bad}");
        }
    }
}
