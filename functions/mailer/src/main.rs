//! The mailer Lambda: the postman (store, SES, templates, private key) built once per cold
//! start, then one delivery per stream batch or scheduled event.

use iam_shared::aws::Aws;
use iam_shared::config::Config;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    iam_shared::lambda::init_logging();
    let config = Config::from_env()?;
    let postman = iam_shared::app::postman(&config, &Aws::new(config.tls_roots)).await?;
    let postman = &postman;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        postman.handle(event.payload).await.map_err(|e| {
            // Only the kind of failure leaves the function; the cause is logged.
            tracing::error!(error = %format!("{e:#}"), "delivery failed");
            lambda_runtime::Error::from("delivery failed")
        })
    }))
    .await
}
