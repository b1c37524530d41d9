//! The one invariant that keeps the service administrable: some account that can sign in now
//! (enabled, active, not expired) holds the global `root_admin` role. Every change that would
//! take a root admin away (deleting the account, revoking the role, disabling, expiring or
//! un-inviting it) commits only with the checks returned here, so that two admins taking each
//! other away at once cannot both succeed.

use serde_json::json;
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::model::account::Account;
use crate::model::role_assignment::{self, Held, ROOT_ADMIN};
use crate::permissions::Scope;
use crate::records::{id_of, version_of};
use crate::store::schema::{ACCOUNTS, ROLE_ASSIGNMENTS};
use crate::store::{Condition, Item, Store, Write};

/// Holders read to find another usable root admin; there are a handful in practice.
const HOLDERS_READ: usize = 100;

/// Is the account a root admin who can use the service at `now`?
pub fn is_usable_root_admin(account: &Item, now: OffsetDateTime) -> bool {
    role_assignment::is_root_admin(account) && Account::parse(account).is_usable(now)
}

/// The checks that another account than `account_id` holds `root_admin` globally and can use the
/// service, and still will when the change commits (its assignment exists, its account is
/// unchanged); or a 409 when there is none. A pending, disabled or expired holder does not count:
/// it cannot sign in to administer anything.
pub async fn another_remains(store: &dyn Store, account_id: &str, now: OffsetDateTime) -> Result<Vec<Write>> {
    let others: Vec<Held> = role_assignment::holders(store, ROOT_ADMIN, HOLDERS_READ)
        .await?
        .iter()
        .map(Held::parse)
        .filter(|h| h.role_name == ROOT_ADMIN && h.scope == Scope::Global && h.account_id != account_id)
        .collect();
    let ids: Vec<String> = others.iter().map(|h| h.account_id.clone()).collect();
    let accounts = store.batch_get(&ACCOUNTS, &ids).await?;
    for held in &others {
        let usable = accounts.iter().find(|a| id_of(a) == held.account_id).filter(|a| is_usable_root_admin(a, now));
        if let Some(account) = usable {
            return Ok(vec![
                Write::Check { table: &ROLE_ASSIGNMENTS, id: held.id.clone(), condition: Condition::Exists },
                Write::Check {
                    table: &ACCOUNTS,
                    id: held.account_id.clone(),
                    condition: Condition::AttrEquals("version", json!(version_of(account))),
                },
            ]);
        }
    }
    Err(Error::conflict(
        None,
        "last_root_admin",
        "the last root administrator who can sign in cannot be removed, disabled or expired",
    ))
}
