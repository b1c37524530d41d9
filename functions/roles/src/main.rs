//! The roles Lambda: cold-start initialisation, then the roles router under lambda_http.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    iam_shared::lambda::run(iam_roles::router()).await
}
