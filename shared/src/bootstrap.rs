//! What a fresh install needs: the built-in roles, and the first root admin when the store has
//! none. Idempotent: with both present it writes nothing, however often it runs.

use anyhow::{Context, bail};

use crate::auth::password::PasswordHasher;
use crate::auth::tokens::random_token;
use crate::counters::ALL_ACCOUNTS;
use crate::error::Error;
use crate::model::account::{self, Email};
use crate::model::password::policy_violations;
use crate::model::role_assignment::{self, Assignment};
use crate::model::{new_id, role};
use crate::permissions::built_in;
use crate::records;
use crate::store::Store;
use crate::store::schema::ACCOUNTS;

pub const DEFAULT_ADMIN_EMAIL: &str = "admin@iam.local";

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A root admin existed already; nothing was written.
    AlreadyPresent,
    /// A root admin was created; `generated_password` is set when none was configured and must
    /// be shown to the operator once.
    Created { email: String, generated_password: Option<String> },
}

/// A password that satisfies the policy: 256 random bits plus one of each required class.
fn generate_password() -> anyhow::Result<String> {
    Ok(format!("{}-Aa1", random_token()?))
}

/// Needs only the store and the hasher (no signing key), so that an operator can bootstrap a
/// cloud deployment from a workstation. `now` is the creation timestamp as stored.
pub async fn ensure_root_admin(
    store: &dyn Store,
    passwords: &PasswordHasher,
    now: &str,
    email: Option<&str>,
    password: Option<&str>,
) -> anyhow::Result<Outcome> {
    role::ensure_built_in(store, now).await.map_err(|e| anyhow::anyhow!("writing the built-in roles: {e}"))?;
    if role_assignment::anyone_holds(store, "root_admin").await? {
        return Ok(Outcome::AlreadyPresent);
    }
    let raw_email = email.unwrap_or(DEFAULT_ADMIN_EMAIL);
    let email =
        Email::accept(raw_email).with_context(|| format!("IAM_ADMIN_EMAIL={raw_email:?} is not an email address"))?;
    let (password, generated) = match password {
        Some(p) => (p.to_string(), false),
        None => (generate_password()?, true),
    };
    let broken = policy_violations(&password, Some(email.as_str()));
    if !broken.is_empty() {
        let rules: Vec<&str> = broken.iter().map(|(_, d)| *d).collect();
        bail!("IAM_ADMIN_PASSWORD is too weak: {}", rules.join("; "));
    }
    let account_id = new_id();
    let mut item = account::new_active(account_id, &email, passwords.hash(&password).await?, None, now);
    let root = built_in("root_admin").context("root_admin is built in")?;
    let mut writes = Assignment::of_built_in(new_id(), &item, root, None).on_new_account(&mut item, now);
    writes.push(ALL_ACCOUNTS.change(records::id_of(&item), 1));
    match records::insert(store, &ACCOUNTS, item, &[email.unique()], writes).await {
        Ok(_) => {}
        // Another process bootstrapped the same admin at the same moment.
        Err(Error::Conflict(_)) if role_assignment::anyone_holds(store, "root_admin").await? => {
            return Ok(Outcome::AlreadyPresent);
        }
        Err(Error::Conflict(_)) => bail!(
            "an account {} exists but no root admin does; grant it root_admin or choose another IAM_ADMIN_EMAIL",
            email.as_str()
        ),
        Err(e) => return Err(anyhow::anyhow!("{e}")),
    }
    Ok(Outcome::Created { email: email.as_str().to_string(), generated_password: generated.then_some(password) })
}
