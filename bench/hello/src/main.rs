//! The hello-world the cold-start benchmark measures the functions against: lambda_http
//! answering every request with a fixed body, built with the functions' release profile.

use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_request: Request| async {
        Ok::<_, Error>(Response::builder().status(200).body(Body::from("Hello, world!"))?)
    }))
    .await
}
