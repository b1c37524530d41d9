//! The cleanup function: run hourly by an EventBridge schedule (and by `iam cleanup`
//! locally), one sweep of expired sessions, tokens and throttle windows, and of lapsed
//! invitations. The event carries nothing it needs; the answer is what the sweep did.
//! It needs only the store and the clock: no signing key, no mailer.

use iam_shared::aws::Aws;
use iam_shared::cleanup::{Swept, sweep};
use iam_shared::clock::Clock;
use iam_shared::config::Config;
use iam_shared::store::Store;
use serde_json::Value;
use std::sync::Arc;

/// What a sweep needs, built once per cold start.
pub struct Cleanup {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
}

impl Cleanup {
    /// The store the configuration names, on the system clock.
    pub async fn from_config(config: &Config, aws: &Aws) -> anyhow::Result<Cleanup> {
        let store = iam_shared::app::open_store(config, aws).await?;
        Ok(Cleanup { store, clock: Arc::new(iam_shared::clock::SystemClock) })
    }

    /// Handles one scheduled event (its content is ignored: the clock says what has expired).
    pub async fn handle(&self, _event: Value) -> iam_shared::Result<Swept> {
        sweep(self.store.as_ref(), self.clock.now()).await
    }
}
