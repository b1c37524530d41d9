//! The people Lambda: cold-start initialisation, then the people router under lambda_http.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    iam_shared::lambda::run(iam_people::router()).await
}
