//! The cleanup function: run hourly by an EventBridge schedule (and by `iam cleanup`
//! locally), one sweep of expired sessions, tokens and throttle windows, and of lapsed
//! invitations (`iam_shared::cleanup`). The event carries nothing it needs; the answer is what
//! the sweep did.

pub use iam_shared::cleanup::Cleanup;
