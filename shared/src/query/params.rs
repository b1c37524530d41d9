//! Parses the query string of a collection `GET` into a [`ListQuery`]: the JSON:API dialect
//! (`filter[f__op]`, `sort`, `page[...]`, `count`, `include`, `fields[T]`, `query`), plus the
//! `page`/`per_page` and `limit`/`offset`/`sorters` paging dialects. Every problem is reported.

use std::collections::BTreeMap;

use percent_encoding::percent_decode_str;

use super::ast::{DEFAULT_PAGE_SIZE, Expr, ListQuery, MAX_PAGE_SIZE, Op, Paging, Scalar, SortKey};
use crate::clock;
use crate::error::{Error, Problem};
use crate::resource::{self, FieldType, ResourceDef};

/// Most values an `in`/`nin` list may hold.
pub const MAX_LIST_VALUES: usize = 100;
/// Longest free-text `query=`.
pub const MAX_QUERY_TEXT: usize = 256;

/// Splits a raw query string into decoded pairs (form encoding: `+` is a space).
pub fn decode_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    let decode = |s: &str| percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
    raw.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// The parameters that position a page; links rebuild them, and keep every other parameter.
pub fn is_paging_param(key: &str) -> bool {
    matches!(key, "page[number]" | "page[size]" | "page[after]" | "page" | "per_page" | "limit" | "offset")
}

struct Parser<'a> {
    def: &'a ResourceDef,
    problems: Vec<Problem>,
}

impl<'a> Parser<'a> {
    fn problem(&mut self, param: &str, code: &str, detail: impl Into<String>) {
        self.problems.push(Problem::parameter(param, code, detail));
    }

    fn number(&mut self, param: &str, v: &str, min: usize, max: usize) -> Option<usize> {
        match v.parse::<usize>() {
            Ok(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.problem(param, "invalid_number", format!("{param} must be an integer from {min} to {max}"));
                None
            }
        }
    }

    fn scalar(&mut self, param: &str, ty: FieldType, raw: &str, allow_null: bool) -> Option<Scalar> {
        if allow_null && raw == "null" {
            return Some(Scalar::Null);
        }
        let parsed = match ty {
            FieldType::String => Some(Scalar::Str(raw.to_string())),
            FieldType::Integer => raw.parse().ok().map(Scalar::Int),
            FieldType::Boolean => match raw {
                "true" => Some(Scalar::Bool(true)),
                "false" => Some(Scalar::Bool(false)),
                _ => None,
            },
            FieldType::Timestamp => clock::parse(raw).map(Scalar::Time),
        };
        if parsed.is_none() {
            let expected = match ty {
                FieldType::Integer => "an integer",
                FieldType::Boolean => "true or false",
                FieldType::Timestamp => "an RFC 3339 timestamp",
                FieldType::String => "a string",
            };
            self.problem(param, "invalid_value", format!("{param} must be {expected}, not {raw:?}"));
        }
        parsed
    }

    fn filter(&mut self, param: &str, spec: &str, raw: &str) -> Option<Expr> {
        let (name, op) = match spec.rsplit_once("__") {
            Some((name, op)) => match Op::from_suffix(op) {
                Some(op) => (name, op),
                None => {
                    self.problem(param, "unknown_operator", format!("{op:?} is not a filter operator"));
                    return None;
                }
            },
            None => (spec, Op::Eq),
        };
        let Some(field) = self.def.field(name).copied() else {
            self.problem(param, "unknown_field", format!("{} cannot be filtered by {name:?}", self.def.type_name));
            return None;
        };
        if field.secret {
            self.problem(param, "secret_field", format!("{name:?} is secret and cannot be filtered"));
            return None;
        }
        if !field.filter {
            self.problem(param, "unknown_field", format!("{} cannot be filtered by {name:?}", self.def.type_name));
            return None;
        }
        let textual = matches!(op, Op::Match | Op::Sw);
        if textual && field.ty != FieldType::String
            || matches!(op, Op::Gt | Op::Gte | Op::Lt | Op::Lte) && field.ty == FieldType::Boolean
        {
            self.problem(param, "unknown_operator", format!("{name:?} does not take this operator"));
            return None;
        }
        let values = match op {
            Op::In | Op::Nin => {
                let parts: Vec<&str> = raw.split(',').collect();
                if parts.len() > MAX_LIST_VALUES {
                    self.problem(param, "too_many_values", format!("at most {MAX_LIST_VALUES} values"));
                    return None;
                }
                let values: Vec<Option<Scalar>> = parts.iter().map(|p| self.scalar(param, field.ty, p, true)).collect();
                values.into_iter().collect::<Option<Vec<_>>>()?
            }
            Op::Match | Op::Sw => vec![Scalar::Str(raw.to_string())],
            Op::Eq | Op::Ne => vec![self.scalar(param, field.ty, raw, true)?],
            _ => vec![self.scalar(param, field.ty, raw, false)?],
        };
        Some(Expr::Cmp { field: field.name, op, values })
    }

    fn sort(&mut self, param: &str, raw: &str) -> Vec<SortKey> {
        let mut keys: Vec<SortKey> = Vec::new();
        for part in raw.split(',') {
            let (descending, name) = match part.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, part.strip_prefix('+').unwrap_or(part)),
            };
            match self.def.field(name) {
                Some(f) if f.sort && !f.secret => {
                    if keys.iter().any(|k| k.field == f.name) {
                        self.problem(param, "duplicate_sort", format!("{name:?} is sorted on twice"));
                    }
                    keys.push(SortKey { field: f.name, descending });
                }
                _ => {
                    self.problem(param, "unknown_field", format!("{} cannot be sorted by {name:?}", self.def.type_name))
                }
            }
        }
        keys
    }

    fn fieldset(&mut self, param: &str, type_name: &str, raw: &str) -> Option<Vec<String>> {
        let Some(def) = resource::by_type(type_name) else {
            self.problem(param, "unknown_type", format!("there is no resource type {type_name:?}"));
            return None;
        };
        let mut fields = Vec::new();
        for name in raw.split(',').filter(|n| !n.is_empty()) {
            if def.attributes().any(|f| f.name == name) || def.relationship(name).is_some() {
                fields.push(name.to_string());
            } else {
                self.problem(param, "unknown_field", format!("{type_name} has no field {name:?}"));
            }
        }
        Some(fields)
    }
}

/// Parses a collection request's parameters for resource `def`.
pub fn parse(def: &ResourceDef, pairs: &[(String, String)]) -> Result<ListQuery, Error> {
    let mut p = Parser { def, problems: Vec::new() };
    let mut filter = Expr::True;
    let mut sort = Vec::new();
    let mut seen_sort = false;
    let (mut number, mut size, mut after, mut offset) = (None, None, None, None);
    let mut page_style = false;
    let mut count = false;
    let mut include = Vec::new();
    let mut fields = BTreeMap::new();
    for (key, value) in pairs {
        let key = key.as_str();
        if let Some(spec) = key.strip_prefix("filter[").and_then(|k| k.strip_suffix(']')) {
            if let Some(e) = p.filter(key, spec, value) {
                filter = filter.and(e);
            }
        } else if let Some(t) = key.strip_prefix("fields[").and_then(|k| k.strip_suffix(']')) {
            if let Some(f) = p.fieldset(key, t, value) {
                fields.insert(t.to_string(), f);
            }
        } else {
            match key {
                "sort" | "sorters" => {
                    if seen_sort {
                        p.problem(key, "duplicate_parameter", "sort is given more than once");
                    }
                    seen_sort = true;
                    sort = p.sort(key, value);
                }
                "page[number]" => number = p.number(key, value, 1, usize::MAX / MAX_PAGE_SIZE),
                "page" => {
                    page_style = true;
                    number = p.number(key, value, 1, usize::MAX / MAX_PAGE_SIZE);
                }
                "page[size]" | "per_page" | "limit" => size = p.number(key, value, 1, MAX_PAGE_SIZE),
                "offset" => offset = p.number(key, value, 0, usize::MAX / 2),
                "page[after]" => {
                    if value.is_empty() {
                        p.problem(key, "invalid_cursor", "page[after] must be a cursor from links.next");
                    }
                    after = Some(value.clone());
                }
                "count" => match value.as_str() {
                    "true" => count = true,
                    "false" => count = false,
                    _ => p.problem(key, "invalid_value", "count must be true or false"),
                },
                "include" | "included" => {
                    for name in value.split(',').filter(|n| !n.is_empty()) {
                        if def.relationship(name).is_some() {
                            include.push(name.to_string());
                        } else {
                            p.problem(
                                key,
                                "unknown_relationship",
                                format!("{} has no relationship {name:?}", def.type_name),
                            );
                        }
                    }
                }
                "query" => {
                    let text = value.trim();
                    if text.is_empty() || text.chars().count() > MAX_QUERY_TEXT {
                        p.problem(key, "invalid_value", format!("query must be 1 to {MAX_QUERY_TEXT} characters"));
                    } else {
                        let searched: Vec<Expr> = def
                            .fields
                            .iter()
                            .filter(|f| f.text)
                            .map(|f| Expr::cmp(f.name, Op::Match, Scalar::Str(text.to_string())))
                            .collect();
                        filter = filter.and(Expr::Or(searched));
                    }
                }
                _ => p.problem(key, "unknown_parameter", format!("{key:?} is not a query parameter here")),
            }
        }
    }
    if after.is_some() && (number.is_some() || offset.is_some()) {
        p.problem(
            "page[after]",
            "conflicting_parameters",
            "page[after] cannot be combined with a page number or offset",
        );
    }
    if number.is_some() && offset.is_some() {
        p.problem("offset", "conflicting_parameters", "offset cannot be combined with a page number");
    }
    if !p.problems.is_empty() {
        return Err(Error::BadRequest(p.problems));
    }
    let limit = size.unwrap_or(DEFAULT_PAGE_SIZE);
    let paging = match (after, offset) {
        (Some(cursor), _) => Paging::After { cursor, limit },
        (None, Some(offset)) => Paging::Offset { offset, limit, by_number: false },
        (None, None) => {
            let number = number.unwrap_or(1);
            let _ = page_style;
            Paging::Offset { offset: (number - 1) * limit, limit, by_number: true }
        }
    };
    Ok(ListQuery { filter, sort, paging, count, include, fields })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::organization::RESOURCE;

    fn pairs(q: &str) -> Vec<(String, String)> {
        decode_pairs(Some(q))
    }

    fn problems(q: &str) -> Vec<Problem> {
        match parse(&RESOURCE, &pairs(q)) {
            Err(Error::BadRequest(p)) => p,
            other => panic!("expected 400 for {q}, got {other:?}"),
        }
    }

    #[test]
    fn filters_of_every_operator_parse_into_one_conjunction() {
        let q = parse(
            &RESOURCE,
            &pairs(
                "filter[name]=Acme&filter[name__sw]=Ac&filter[id__in]=a,b&filter[created_at__gte]=2026-01-01T00:00:00Z",
            ),
        )
        .unwrap();
        assert_eq!(q.filter.conjuncts().len(), 4);
        assert_eq!(q.filter.conjuncts()[0], &Expr::cmp("name", Op::Eq, Scalar::Str("Acme".into())));
        assert_eq!(
            q.filter.conjuncts()[2],
            &Expr::Cmp { field: "id", op: Op::In, values: vec![Scalar::Str("a".into()), Scalar::Str("b".into())] }
        );
    }

    #[test]
    fn values_are_percent_and_plus_decoded() {
        let q = parse(&RESOURCE, &pairs("filter%5Bname%5D=Acme+Corp%26Co")).unwrap();
        assert_eq!(q.filter, Expr::cmp("name", Op::Eq, Scalar::Str("Acme Corp&Co".into())));
    }

    #[test]
    fn null_means_absent_for_equality() {
        let q = parse(&RESOURCE, &pairs("filter[name]=null")).unwrap();
        assert_eq!(q.filter, Expr::cmp("name", Op::Eq, Scalar::Null));
    }

    #[test]
    fn every_bad_parameter_is_reported_at_once() {
        let p = problems(
            "filter[nope]=1&filter[name__almost]=x&sort=-bogus&page[size]=0&page[number]=x&count=maybe&include=owner&fields[nothing]=a&frobnicate=1",
        );
        let params: Vec<_> = p.iter().map(|p| p.source.clone().unwrap()).collect();
        assert_eq!(p.len(), 9, "{params:?}");
    }

    #[test]
    fn bad_typed_values_name_their_parameter() {
        let p = problems("filter[created_at__gt]=yesterday");
        assert_eq!(p[0].source, Some(crate::error::Source::Parameter("filter[created_at__gt]".into())));
        assert_eq!(p[0].code, "invalid_value");
    }

    #[test]
    fn textual_operators_are_refused_on_timestamps() {
        assert_eq!(problems("filter[created_at__sw]=2026")[0].code, "unknown_operator");
    }

    #[test]
    fn page_size_is_bounded_and_numbers_become_offsets() {
        assert_eq!(problems("page[size]=1001")[0].code, "invalid_number");
        let q = parse(&RESOURCE, &pairs("page[number]=3&page[size]=20")).unwrap();
        assert_eq!(q.paging, Paging::Offset { offset: 40, limit: 20, by_number: true });
        let q = parse(&RESOURCE, &pairs("page=2&per_page=5")).unwrap();
        assert_eq!(q.paging, Paging::Offset { offset: 5, limit: 5, by_number: true });
        let q = parse(&RESOURCE, &pairs("")).unwrap();
        assert_eq!(q.paging, Paging::Offset { offset: 0, limit: 1000, by_number: true });
    }

    #[test]
    fn a_cursor_cannot_be_mixed_with_a_page_number() {
        assert_eq!(problems("page[after]=abc&page[number]=2")[0].code, "conflicting_parameters");
    }

    #[test]
    fn sort_takes_directions_and_refuses_repeats() {
        let q = parse(&RESOURCE, &pairs("sort=-name,created_at")).unwrap();
        assert_eq!(
            q.sort,
            vec![SortKey { field: "name", descending: true }, SortKey { field: "created_at", descending: false }]
        );
        assert_eq!(problems("sort=name,-name")[0].code, "duplicate_sort");
    }
}
