//! Reading the attributes of a create or update request: each accessor checks one attribute and
//! records what is wrong, so that one 422 lists every problem of the request.

use serde_json::{Map, Value};

use crate::error::{Error, Problem};
use crate::resource::ResourceDef;

/// An attribute as the request gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Given<T> {
    Absent,
    Null,
    Value(T),
}

/// Length limits of a text attribute, in characters.
#[derive(Debug, Clone, Copy)]
pub struct Text {
    pub min: usize,
    pub max: usize,
    /// Refuse line breaks and other control characters (names, emails).
    pub single_line: bool,
}

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

    /// A text attribute; `required` makes absence and null problems.
    pub fn text(&mut self, name: &str, limits: Text, required: bool) -> Given<String> {
        let given = match self.map.get(name).cloned() {
            None => Given::Absent,
            Some(Value::Null) => Given::Null,
            Some(Value::String(s)) => {
                let s = s.trim();
                let n = s.chars().count();
                if limits.single_line && s.chars().any(char::is_control) {
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

    /// Ends reading: every problem recorded, or nothing.
    pub fn finish(self) -> Result<(), Error> {
        if self.problems.is_empty() { Ok(()) } else { Err(Error::Validation(self.problems)) }
    }
}
