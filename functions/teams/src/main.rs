//! The teams Lambda: cold-start initialisation, then the teams router under lambda_http.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    iam_shared::lambda::run(iam_teams::router()).await
}
