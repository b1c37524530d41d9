//! What an operator does to the store directly: a fresh install's built-in roles and first root
//! admin (idempotent: with both present it writes nothing, however often it runs), and a new
//! password for an account whose password is lost (`iam admin reset-password`).

use anyhow::{Context, bail};

use crate::auth::password::PasswordHasher;
use crate::auth::session;
use crate::auth::single_use::{self, Purpose};
use crate::auth::tokens::random_token;
use crate::clock;
use crate::counters::ALL_ACCOUNTS;
use crate::error::Error;
use crate::model::account::{self, Account, Email};
use crate::model::password::policy_violations;
use crate::model::role_assignment::{self, Assignment, ROOT_ADMIN};
use crate::model::{new_id, role};
use crate::permissions::built_in;
use crate::records;
use crate::store::Store;
use crate::store::schema::ACCOUNTS;

pub const DEFAULT_ADMIN_EMAIL: &str = "admin@iam.local";

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A root admin existed already; nothing was written. `holders`: the emails of (the first
    /// few) accounts holding the role, so that the operator knows whom to sign in as.
    AlreadyPresent { holders: Vec<String> },
    /// A root admin was created; `generated_password` is set when none was configured and must
    /// be shown to the operator once.
    Created { email: String, generated_password: Option<String> },
}

/// An operator's password (`what` names where it came from) must meet the policy a user's
/// does: every broken rule is named.
fn require_strong(password: &str, email: &str, what: &str) -> anyhow::Result<()> {
    let broken = policy_violations(password, Some(email));
    if !broken.is_empty() {
        let rules: Vec<&str> = broken.iter().map(|(_, d)| *d).collect();
        bail!("{what} is too weak: {}", rules.join("; "));
    }
    Ok(())
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
    if role_assignment::anyone_holds(store, ROOT_ADMIN).await? {
        return Ok(Outcome::AlreadyPresent { holders: root_admin_emails(store).await? });
    }
    let raw_email = email.unwrap_or(DEFAULT_ADMIN_EMAIL);
    let email =
        Email::accept(raw_email).with_context(|| format!("IAM_ADMIN_EMAIL={raw_email:?} is not an email address"))?;
    let (password, generated) = match password {
        Some(p) => (p.to_string(), false),
        None => (generate_password()?, true),
    };
    require_strong(&password, email.as_str(), "IAM_ADMIN_PASSWORD")?;
    let account_id = new_id();
    let mut item = account::new_active(account_id, &email, passwords.hash(&password).await?, None, now);
    let root = built_in("root_admin").context("root_admin is built in")?;
    let mut writes = Assignment::of_built_in(new_id(), &item, root, None).on_new_account(&mut item, now);
    writes.push(ALL_ACCOUNTS.change(records::id_of(&item), 1));
    match records::insert(store, &ACCOUNTS, item, &[email.unique()], writes).await {
        Ok(_) => {}
        // Another process bootstrapped the same admin at the same moment.
        Err(Error::Conflict(_)) if role_assignment::anyone_holds(store, ROOT_ADMIN).await? => {
            return Ok(Outcome::AlreadyPresent { holders: root_admin_emails(store).await? });
        }
        Err(Error::Conflict(_)) => bail!(
            "an account {} exists but no root admin does; grant it root_admin or choose another IAM_ADMIN_EMAIL",
            email.as_str()
        ),
        Err(e) => return Err(anyhow::anyhow!("{e}")),
    }
    Ok(Outcome::Created { email: email.as_str().to_string(), generated_password: generated.then_some(password) })
}

/// The emails of up to five accounts holding `root_admin` (one index query, one read each).
async fn root_admin_emails(store: &dyn Store) -> anyhow::Result<Vec<String>> {
    let mut emails = vec![];
    for assignment in role_assignment::holders(store, ROOT_ADMIN, 5).await? {
        let Some(id) = assignment.get("account_id").and_then(serde_json::Value::as_str) else { continue };
        if let Some(account) = store.get(&ACCOUNTS, id).await? {
            emails.extend(Account::parse(&account).email.map(|e| e.as_str().to_string()));
        }
    }
    Ok(emails)
}

/// What [`set_password`] did.
#[derive(Debug, PartialEq, Eq)]
pub struct PasswordSet {
    pub email: String,
    /// Set when no password was given: shown to the operator once, stored only as a hash.
    pub generated_password: Option<String>,
    /// Sessions of the account that ended (its tokens stop working).
    pub sessions_ended: usize,
    /// Can the account sign in with it now (active, enabled, not expired)?
    pub may_log_in: bool,
}

/// Gives the password account holding `email` a new password (`password`, or a generated one),
/// as a reset link would: every session of the account ends and every reset link dies, in the
/// account's own conditional write. For an operator who lost the generated admin password;
/// nothing else changes (status, roles, data).
pub async fn set_password(
    store: &dyn Store,
    passwords: &PasswordHasher,
    now: time::OffsetDateTime,
    email: &str,
    password: Option<&str>,
) -> anyhow::Result<PasswordSet> {
    let Some(old) = account::find_by_typed_email(store, email).await? else {
        bail!("no account has the email {email:?}");
    };
    let found = Account::parse(&old);
    if found.sso {
        bail!("{email} signs in with SSO: it has no password to set");
    }
    if found.password_hash.is_none() {
        bail!("{email} has not joined yet: resend its invitation instead (POST /accounts/{{id}}/resend_invitation)");
    }
    let address = found.email.as_ref().map(|e| e.as_str().to_string()).unwrap_or_else(|| email.to_string());
    let (password, generated) = match password {
        Some(p) => (p.to_string(), false),
        None => (generate_password()?, true),
    };
    require_strong(&password, &address, "the new password")?;
    let mut new = old.clone();
    new.insert("password_hash".into(), serde_json::json!(passwords.hash(&password).await?));
    new.insert("updated_at".into(), serde_json::json!(clock::format(now)));
    let id = records::id_of(&old).to_string();
    let resets = single_use::revoke_all(store, Purpose::PasswordReset, &id, None).await?;
    let uniques = account::uniques(&old);
    records::Change::replace(&ACCOUNTS, &old, new, &uniques, &uniques).with(resets).commit(store).await?;
    let sessions_ended = session::end_all(store, &id, None).await?;
    Ok(PasswordSet {
        email: address,
        generated_password: generated.then_some(password),
        sessions_ended,
        may_log_in: found.is_usable(now),
    })
}
