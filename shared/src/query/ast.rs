//! The query AST: filters as And/Or/Not over comparisons, sort keys, paging, and the rest of a
//! collection request (count, include, sparse fieldsets).

use std::collections::BTreeMap;

use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    In,
    Nin,
    Gt,
    Gte,
    Lt,
    Lte,
    /// Case-insensitive substring.
    Match,
    /// Prefix.
    Sw,
}

impl Op {
    pub fn from_suffix(s: &str) -> Option<Op> {
        Some(match s {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "in" => Op::In,
            "nin" => Op::Nin,
            "gt" => Op::Gt,
            "gte" => Op::Gte,
            "lt" => Op::Lt,
            "lte" => Op::Lte,
            "match" => Op::Match,
            "sw" => Op::Sw,
            _ => return None,
        })
    }
}

/// A typed filter operand.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    Time(OffsetDateTime),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    True,
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    /// `field op value`; `In`/`Nin` carry their list in `values`, the others one value.
    Cmp {
        field: &'static str,
        op: Op,
        values: Vec<Scalar>,
    },
    /// `query=`: every term (folded, `store::words`) starts a word of the item's text fields.
    Words(Vec<String>),
}

impl Expr {
    pub fn cmp(field: &'static str, op: Op, value: Scalar) -> Expr {
        Expr::Cmp { field, op, values: vec![value] }
    }

    /// `self AND other`, flattened.
    pub fn and(self, other: Expr) -> Expr {
        match (self, other) {
            (Expr::True, e) | (e, Expr::True) => e,
            (Expr::And(mut a), Expr::And(b)) => {
                a.extend(b);
                Expr::And(a)
            }
            (Expr::And(mut a), e) | (e, Expr::And(mut a)) => {
                a.push(e);
                Expr::And(a)
            }
            (a, b) => Expr::And(vec![a, b]),
        }
    }

    /// How many comparisons (and free-text searches) the expression holds.
    pub fn comparisons(&self) -> usize {
        match self {
            Expr::True => 0,
            Expr::Cmp { .. } | Expr::Words(_) => 1,
            Expr::Not(e) => e.comparisons(),
            Expr::And(parts) | Expr::Or(parts) => parts.iter().map(Expr::comparisons).sum(),
        }
    }

    /// The top-level conjuncts: the comparisons every match must satisfy (what indexes serve).
    pub fn conjuncts(&self) -> Vec<&Expr> {
        match self {
            Expr::And(parts) => parts.iter().flat_map(|p| p.conjuncts()).collect(),
            Expr::True => vec![],
            e => vec![e],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    pub field: &'static str,
    pub descending: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paging {
    /// Skip `offset` matches, return up to `limit` (page numbers and `limit`/`offset`).
    Offset { offset: usize, limit: usize, by_number: bool },
    /// Continue after an opaque cursor (`page[after]`), `limit` at a time.
    After { cursor: String, limit: usize },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub filter: Expr,
    pub sort: Vec<SortKey>,
    pub paging: Paging,
    pub count: bool,
    pub include: Vec<String>,
    /// `fields[TYPE]` → the attributes to render for that type.
    pub fields: BTreeMap<String, Vec<String>>,
}

impl ListQuery {
    pub fn limit(&self) -> usize {
        match self.paging {
            Paging::Offset { limit, .. } | Paging::After { limit, .. } => limit,
        }
    }
}

pub const DEFAULT_PAGE_SIZE: usize = 1000;
pub const MAX_PAGE_SIZE: usize = 1000;
