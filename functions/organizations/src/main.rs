//! The organizations Lambda: cold-start initialisation, then the organizations router under lambda_http.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    iam_shared::lambda::run(iam_organizations::router()).await
}
