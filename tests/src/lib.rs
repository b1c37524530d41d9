//! Test support: an in-process app on a real embedded store (or any store), requests through
//! the same router `iam serve` runs, and moto's DynamoDB server started and stopped for tests.

pub mod app;
pub mod conformance;
pub mod faults;
pub mod logs;
pub mod moto;
pub mod recording;
pub mod seed;
pub mod strategies;

pub use app::{Reply, TestApp};
