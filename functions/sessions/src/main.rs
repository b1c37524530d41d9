//! The sessions Lambda: cold-start initialisation, then the sessions router under lambda_http.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    iam_shared::lambda::run(iam_sessions::router()).await
}
