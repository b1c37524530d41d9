//! The id of the request being served: a slot the HTTP layer fills for the duration of each
//! request, so that anything below it (an error being logged, say) can name the request
//! without importing the HTTP layer.

use std::future::Future;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being served ("-" outside one).
pub fn current() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_else(|_| "-".into())
}

/// Runs `work` as the request `id`.
pub async fn scope<F: Future>(id: String, work: F) -> F::Output {
    REQUEST_ID.scope(id, work).await
}
