//! The cleanup function: run hourly by an EventBridge schedule (and by `iam cleanup`
//! locally), one sweep of expired sessions, tokens and throttle windows, and of lapsed
//! invitations. The event carries nothing it needs; the answer is what the sweep did.

use iam_shared::AppState;
use iam_shared::cleanup::{Swept, sweep};
use serde_json::Value;

/// Handles one scheduled event (its content is ignored: the clock says what has expired).
pub async fn handle(state: &AppState, _event: Value) -> iam_shared::Result<Swept> {
    sweep(state.store.as_ref(), state.now()).await
}
