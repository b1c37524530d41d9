//! The cleanup Lambda: the store built once per cold start, then one sweep per scheduled event.

use iam_cleanup::Cleanup;
use iam_shared::aws::Aws;
use iam_shared::config::Config;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    iam_shared::lambda::init_logging();
    let config = Config::from_env()?;
    let cleanup = Cleanup::from_config(&config, &Aws::new(config.tls_roots)).await?;
    let cleanup = &cleanup;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        cleanup.handle(event.payload).await.map_err(|e| {
            // Only the kind of failure leaves the function; the cause is logged.
            tracing::error!(error = %e, "cleanup failed");
            lambda_runtime::Error::from("cleanup failed")
        })
    }))
    .await
}
