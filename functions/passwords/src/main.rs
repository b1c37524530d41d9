//! The passwords Lambda: cold-start initialisation, then the passwords router under lambda_http.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    iam_shared::lambda::run(iam_passwords::router()).await
}
