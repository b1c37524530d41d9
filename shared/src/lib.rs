//! iam-shared: everything the IAM functions have in common — models, the query engine, auth,
//! the storage port with its SQLite and DynamoDB adapters, HTTP plumbing and the route table.

pub mod app;
pub mod auth;
pub mod aws;
pub mod bootstrap;
pub mod cleanup;
pub mod clock;
pub mod config;
pub mod counters;
pub mod error;
pub mod http;
pub mod ids;
pub mod include;
pub mod jsonapi;
pub mod lambda;
pub mod links;
pub mod listing;
pub mod mail;
pub mod model;
pub mod openapi;
pub mod permissions;
pub mod query;
pub mod records;
pub mod request_id;
pub mod resource;
pub mod routes;
pub mod store;
pub mod usecase;

pub use app::AppState;
pub use error::{Error, Problem, Result};
