//! Parses the query string of a collection `GET` into a [`ListQuery`]: the JSON:API dialect
//! (`filter[f__op]`, `sort`, `page[...]`, `count`, `include`, `fields[T]`, `query`), the
//! expression dialect (`filters=`, `sorters`, `limit`/`offset`) and the `page`/`per_page`
//! dialect, all into one AST. Every problem of a request is reported at once.

use std::collections::BTreeMap;

use percent_encoding::percent_decode_str;

use super::ast::{DEFAULT_PAGE_SIZE, Expr, ListQuery, MAX_PAGE_SIZE, Op, Paging, SortKey};
use super::{expression, fields};
use crate::error::{Error, Problem};
use crate::resource::ResourceDef;
use crate::store::words;

/// Most values an `in`/`nin` list may hold.
pub const MAX_LIST_VALUES: usize = 100;
/// Longest free-text `query=`.
pub const MAX_QUERY_TEXT: usize = 256;
/// Most problems one answer lists: a query string of ten thousand bad parameters gets an
/// answer of bounded size, not ten thousand problems.
pub const MAX_PROBLEMS: usize = 20;

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
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(Problem::parameter(param, code, detail));
        }
    }

    /// ANDs `e` into the filter, unless that would take the filter, over every parameter and
    /// dialect together, past [`expression::MAX_COMPARISONS`] (once past, `key` is the problem).
    fn and_filter(&mut self, filter: &mut Filter, key: &str, e: Expr) {
        filter.comparisons += e.comparisons();
        if filter.comparisons <= expression::MAX_COMPARISONS {
            filter.expr = std::mem::replace(&mut filter.expr, Expr::True).and(e);
        } else if !filter.refused {
            filter.refused = true;
            let detail = format!("a listing's filters hold at most {} comparisons in all", expression::MAX_COMPARISONS);
            self.problem(key, "too_many_comparisons", detail);
        }
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
        let field = match fields::resolve(self.def, name, op) {
            Ok(f) => f,
            Err((code, detail)) => {
                self.problem(param, code, detail);
                return None;
            }
        };
        let raw_values: Vec<&str> = match op {
            Op::In | Op::Nin => raw.split(',').collect(),
            _ => vec![raw],
        };
        if raw_values.len() > MAX_LIST_VALUES {
            self.problem(param, "too_many_values", format!("at most {MAX_LIST_VALUES} values"));
            return None;
        }
        let mut values = Vec::with_capacity(raw_values.len());
        for v in raw_values {
            match fields::from_text(&field, op, v) {
                Ok(v) => values.push(v),
                Err((code, detail)) => {
                    self.problem(param, code, detail);
                    return None;
                }
            }
        }
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

    fn include(&mut self, param: &str, raw: &str) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for name in raw.split(',').filter(|n| !n.is_empty()) {
            if self.def.relationship(name).is_none() {
                let detail = format!("{} has no relationship {name:?}", self.def.type_name);
                self.problem(param, "unknown_relationship", detail);
            } else if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
        names
    }

    fn fieldset(&mut self, param: &str, type_name: &str, raw: &str) -> Option<Vec<String>> {
        let Some(def) = self.def.sibling(type_name) else {
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

/// A filter being built from the parameters, and how many comparisons it holds.
struct Filter {
    expr: Expr,
    comparisons: usize,
    refused: bool,
}

/// What a single-resource `GET` may ask for: related resources and sparse fieldsets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocumentOptions {
    pub include: Vec<String>,
    pub fields: BTreeMap<String, Vec<String>>,
}

/// Parses a single-resource `GET`'s parameters (`include`, `fields[TYPE]`; anything else is 400).
pub fn parse_document_options(def: &ResourceDef, pairs: &[(String, String)]) -> Result<DocumentOptions, Error> {
    let mut p = Parser { def, problems: Vec::new() };
    let mut options = DocumentOptions::default();
    for (key, value) in pairs {
        if let Some(t) = key.strip_prefix("fields[").and_then(|k| k.strip_suffix(']')) {
            if let Some(f) = p.fieldset(key, t, value) {
                options.fields.insert(t.to_string(), f);
            }
        } else if key == "include" || key == "included" {
            let names = p.include(key, value);
            options.include.extend(names);
        } else {
            p.problem(key, "unknown_parameter", format!("{key:?} is not a query parameter here"));
        }
    }
    if p.problems.is_empty() { Ok(options) } else { Err(Error::BadRequest(p.problems)) }
}

/// Parses a collection request's parameters for resource `def`.
pub fn parse(def: &ResourceDef, pairs: &[(String, String)]) -> Result<ListQuery, Error> {
    let mut p = Parser { def, problems: Vec::new() };
    let mut filter = Filter { expr: Expr::True, comparisons: 0, refused: false };
    let mut sort = Vec::new();
    let mut seen_sort = false;
    let mut seen_filters = false;
    let (mut number, mut size, mut after, mut offset) = (None, None, None, None);
    let mut page_style = false;
    let mut count = false;
    let mut include = Vec::new();
    let mut fields = BTreeMap::new();
    for (key, value) in pairs {
        let key = key.as_str();
        if let Some(spec) = key.strip_prefix("filter[").and_then(|k| k.strip_suffix(']')) {
            if let Some(e) = p.filter(key, spec, value) {
                p.and_filter(&mut filter, key, e);
            }
        } else if let Some(t) = key.strip_prefix("fields[").and_then(|k| k.strip_suffix(']')) {
            if let Some(f) = p.fieldset(key, t, value) {
                fields.insert(t.to_string(), f);
            }
        } else {
            match key {
                "filters" => {
                    if seen_filters {
                        p.problem(key, "duplicate_parameter", "filters is given more than once; join with and");
                    }
                    seen_filters = true;
                    match expression::parse(def, value) {
                        Ok(e) => p.and_filter(&mut filter, key, e),
                        Err(e) => p.problem(key, e.code, e.detail()),
                    }
                }
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
                // An empty cursor starts a cursor walk at the beginning of the list.
                "page[after]" => after = Some(value.clone()),
                "count" => match value.as_str() {
                    "true" => count = true,
                    "false" => count = false,
                    _ => p.problem(key, "invalid_value", "count must be true or false"),
                },
                "include" | "included" => include.extend(p.include(key, value)),
                "query" => {
                    let terms = words::split(value);
                    if value.trim().is_empty() || value.chars().count() > MAX_QUERY_TEXT {
                        p.problem(key, "invalid_value", format!("query must be 1 to {MAX_QUERY_TEXT} characters"));
                    } else if terms.is_empty() {
                        p.problem(key, "invalid_value", "query must hold a letter or a digit to search for");
                    } else {
                        p.and_filter(&mut filter, key, Expr::Words(terms));
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
    Ok(ListQuery { filter: filter.expr, sort, paging, count, include, fields })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Source;
    use crate::model::organization::RESOURCE;
    use crate::query::Scalar;

    #[test]
    fn query_text_becomes_folded_terms_and_text_without_words_is_refused() {
        let q = parse(&RESOURCE, &decode_pairs(Some("query=%C3%81cme%20co-op"))).unwrap();
        assert_eq!(q.filter, Expr::Words(vec!["acme".into(), "co".into(), "op".into()]));
        for bad in ["query=", "query=%20%20", "query=%40%2D%2B"] {
            let found = problems(bad);
            assert!(matches!(&found[0].source, Some(Source::Parameter(p)) if p == "query"), "{bad}: {found:?}");
        }
    }

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
        let (a, b) = ("00000000-0000-7000-8000-0000000000b1", "00000000-0000-7000-8000-0000000000b2");
        let q = parse(
            &RESOURCE,
            &pairs(&format!(
                "filter[name]=Acme&filter[name__sw]=Ac&filter[id__in]={a},{b}&filter[created_at__gte]=2026-01-01T00:00:00Z"
            )),
        )
        .unwrap();
        assert_eq!(q.filter.conjuncts().len(), 4);
        assert_eq!(q.filter.conjuncts()[0], &Expr::cmp("name", Op::Eq, Scalar::Str("Acme".into())));
        assert_eq!(
            q.filter.conjuncts()[2],
            &Expr::Cmp { field: "id", op: Op::In, values: vec![Scalar::Str(a.into()), Scalar::Str(b.into())] }
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
