//! What browsers on the origins of `IAM_CORS_ORIGINS` may do (API.md §8): one description, which
//! `iam serve` enforces and the template's HTTP API CORS configuration must equal (the infra
//! test holds them together; in the cloud API Gateway answers preflights itself).

use crate::routes::ROUTES;

/// Request headers a cross-origin script may send beyond the CORS-safelisted ones.
pub const ALLOWED_HEADERS: &[&str] = &["authorization", "content-type", "if-match", "x-request-id"];

/// Response headers a cross-origin script may read beyond the CORS-safelisted ones.
pub const EXPOSED_HEADERS: &[&str] = &["etag", "location", "retry-after", "x-request-id", "x-total-count"];

/// How long a browser may keep a preflight's answer (Chromium caps it at two hours).
pub const MAX_AGE_SECS: u64 = 600;

/// The methods of the route table, sorted.
pub fn allowed_methods() -> Vec<&'static str> {
    let mut methods: Vec<&'static str> = ROUTES.iter().map(|r| r.method).collect();
    methods.sort_unstable();
    methods.dedup();
    methods
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_method_of_the_api_is_allowed() {
        assert_eq!(super::allowed_methods(), ["DELETE", "GET", "PATCH", "POST"]);
    }
}
