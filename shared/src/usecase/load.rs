//! Loading an item to change it: the caller must see it (else 404, so nothing leaks), may
//! change it (else 403), and the client's `If-Match`, when sent, must name its current version
//! (else 412). Every update and delete starts here.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::app::AppState;
use crate::auth::{Permission, Principal};
use crate::error::{Error, Result};
use crate::jsonapi::request_attributes;
use crate::records::version_of;
use crate::resource::ResourceDef;
use crate::store::{Item, Store};

/// The ETag of a stored item: its version.
pub fn etag(item: &Item) -> String {
    format!("\"{}\"", version_of(item))
}

/// What the client's `If-Match` header asked for (RFC 9110 §13.1.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum IfMatch {
    /// No header: any version will do.
    #[default]
    Any,
    /// The header's value: `*` or a list of entity tags.
    Tags(String),
    /// A header that is not text matches nothing.
    Unreadable,
}

impl IfMatch {
    /// 412 unless the item's current ETag is one asked for (weak or strong), or any is.
    pub fn check(&self, item: &Item) -> Result<()> {
        let matched = match self {
            IfMatch::Any => true,
            IfMatch::Unreadable => false,
            IfMatch::Tags(value) => {
                let current = etag(item);
                value
                    .split(',')
                    .map(str::trim)
                    .any(|t| t == "*" || t == current || t.strip_prefix("W/") == Some(&current))
            }
        };
        if matched { Ok(()) } else { Err(Error::PreconditionFailed) }
    }
}

/// A request to change item `id`: the client's `If-Match` and the request document.
#[derive(Debug, Clone, Copy)]
pub struct Edit<'a> {
    pub id: &'a str,
    pub if_match: &'a IfMatch,
    pub body: &'a Value,
}

impl Edit<'_> {
    /// The item of `def` to change (404, 403 and 412 as [`for_write`]) and the attributes the
    /// document sets (checked once the caller is known to see the item).
    pub async fn load(&self, state: &AppState, principal: &Principal, def: &ResourceDef) -> Result<(Item, Attributes)> {
        let item = for_write(state.store.as_ref(), principal, def, self.id, self.if_match, state.now()).await?;
        Ok((item, self.attributes(def)?))
    }

    /// The attributes the document sets for item `id` of `def`.
    pub fn attributes(&self, def: &ResourceDef) -> Result<Attributes> {
        request_attributes(self.body, def, Some(self.id))
    }
}

/// The attributes of a request document.
pub type Attributes = Map<String, Value>;

/// The item of `def` with this id, for a change by `principal`: 404 unless readable, 403
/// unless writable, 412 unless `if_match` holds.
pub async fn for_write(
    store: &dyn Store,
    principal: &Principal,
    def: &ResourceDef,
    id: &str,
    if_match: &IfMatch,
    now: OffsetDateTime,
) -> Result<Item> {
    let item = principal.load_readable(store, def, id, now).await?;
    principal.check_write(def, &item)?;
    if_match.check(&item)?;
    Ok(item)
}

/// As [`for_write`], for a change only a global grant of `permission` may make (creating or
/// deleting an organization), whatever the item's guard says.
pub async fn for_global_write(
    store: &dyn Store,
    principal: &Principal,
    def: &ResourceDef,
    id: &str,
    if_match: &IfMatch,
    permission: Permission,
    now: OffsetDateTime,
) -> Result<Item> {
    let item = principal.load_readable(store, def, id, now).await?;
    principal.require_global(permission)?;
    if_match.check(&item)?;
    Ok(item)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn if_match_names_the_current_version_or_any() {
        let item = json!({"id": "1", "version": 3}).as_object().cloned().unwrap();
        for ok in [IfMatch::Any, IfMatch::Tags("*".into()), IfMatch::Tags("\"2\", W/\"3\"".into())] {
            assert!(ok.check(&item).is_ok(), "{ok:?}");
        }
        for refused in [IfMatch::Tags("\"2\"".into()), IfMatch::Tags("3".into()), IfMatch::Unreadable] {
            assert!(matches!(refused.check(&item), Err(Error::PreconditionFailed)), "{refused:?}");
        }
    }
}
