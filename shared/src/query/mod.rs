//! The query model of every collection `GET`: one AST that the dialects parse into, the planner
//! that picks the index serving it, the evaluator and comparator that finish the job in memory,
//! and opaque cursors.

pub mod ast;
pub mod cursor;
pub mod eval;
pub mod expression;
pub mod fields;
pub mod params;
pub mod plan;

pub use ast::{Expr, ListQuery, Op, Paging, Scalar, SortKey};
