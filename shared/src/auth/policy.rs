//! The one place that decides who may do what to which object. Every handler asks it, through
//! the resource's `Guard`: whether an item may be read (else 404, so nothing leaks), changed
//! (else 403), or created; and which filter a listing is ANDed with. Callers without a global
//! grant never see or touch another organization's data.

use serde_json::Value;

use super::principal::Principal;
use crate::error::{Error, Result};
use crate::model::organization::unknown_organization;
use crate::model::{account_session, role_assignment};
use crate::permissions::{Permission, Scope};
use crate::query::{Expr, Op, Scalar};
use crate::records;
use crate::resource::ResourceDef;
use crate::store::schema::ACCOUNTS;
use crate::store::{Item, Store};

fn attr<'a>(item: &'a Item, name: Option<&str>) -> Option<&'a str> {
    name.and_then(|n| item.get(n)).and_then(Value::as_str)
}

impl Principal {
    /// Holds `permission` everywhere.
    pub fn is_global(&self, permission: Permission) -> bool {
        self.grants.iter().any(|g| g.scope == Scope::Global && g.permissions.contains(&permission))
    }

    /// Holds `permission` for objects of organization `org` (and team `team`, if any).
    pub fn holds(&self, permission: Permission, org: Option<&str>, team: Option<&str>) -> bool {
        self.grants.iter().any(|g| g.covers(permission, org, team))
    }

    /// Holds `permission` at some scope (function-level checks, before any object is read).
    pub fn holds_anywhere(&self, permission: Permission) -> bool {
        self.grants.iter().any(|g| g.permissions.contains(&permission))
    }

    /// 403 unless `permission` is held somewhere.
    pub fn require(&self, permission: Permission) -> Result<()> {
        if self.holds_anywhere(permission) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!("{} is required", permission.name())))
        }
    }

    /// 403 unless `permission` is held globally.
    pub fn require_global(&self, permission: Permission) -> Result<()> {
        if self.is_global(permission) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!("{} is required globally", permission.name())))
        }
    }

    /// Is `org` an organization the caller belongs to or holds a grant in? (Naming another one
    /// is answered as if it did not exist.)
    pub fn knows_organization(&self, org: &str) -> bool {
        self.organization_id.as_deref() == Some(org)
            || self.grants.iter().any(|g| g.scope == Scope::Global || g.organization() == Some(org))
    }

    /// The organizations where `permission` is held (meaningless when it is held globally).
    pub fn organizations_with(&self, permission: Permission) -> Vec<String> {
        let mut orgs: Vec<String> = self
            .grants
            .iter()
            .filter(|g| g.permissions.contains(&permission))
            .filter_map(|g| match &g.scope {
                Scope::Organization(o) => Some(o.clone()),
                _ => None,
            })
            .collect();
        orgs.sort();
        orgs.dedup();
        orgs
    }

    /// The teams whose objects `permission` (or, for reads, membership) lets the caller see.
    fn teams_with(&self, permission: Permission, as_member: bool) -> Vec<String> {
        let mut teams: Vec<String> = self
            .grants
            .iter()
            .filter(|g| g.permissions.contains(&permission))
            .filter_map(|g| match &g.scope {
                Scope::Team(t, _) => Some(t.clone()),
                _ => None,
            })
            .collect();
        if as_member {
            teams.extend(self.teams.iter().cloned());
        }
        teams.sort();
        teams.dedup();
        teams
    }

    pub fn may_read(&self, def: &ResourceDef, item: &Item) -> bool {
        let g = &def.guard;
        if attr(item, g.owner) == Some(self.account_id.as_str()) {
            return true;
        }
        if g.organization.is_none() {
            return self.holds_anywhere(g.read);
        }
        let team = attr(item, g.team);
        // A member reads the teams it is in and their memberships.
        self.holds(g.read, attr(item, g.organization), team) || team.is_some_and(|t| self.teams.iter().any(|m| m == t))
    }

    pub fn may_write(&self, def: &ResourceDef, item: &Item) -> bool {
        let g = &def.guard;
        if g.owner_writes && attr(item, g.owner) == Some(self.account_id.as_str()) {
            return true;
        }
        if g.organization.is_none() || g.global_only.is_some_and(|only| only(item)) {
            return self.is_global(g.write);
        }
        self.holds(g.write, attr(item, g.organization), attr(item, g.team))
    }

    /// The item of `def` with this id, if the caller may read it; 404 otherwise, whether it
    /// is missing or hidden, so that nothing leaks its existence.
    pub async fn load_readable(
        &self,
        store: &dyn Store,
        def: &ResourceDef,
        id: &str,
        now: time::OffsetDateTime,
    ) -> Result<Item> {
        let item = records::load(store, def.table, id).await?;
        if !def.is_live(&item, now) {
            return Err(Error::NotFound);
        }
        self.check_read(def, &item)?;
        Ok(item)
    }

    /// 404 unless the caller may read the item.
    pub fn check_read(&self, def: &ResourceDef, item: &Item) -> Result<()> {
        if self.may_read(def, item) { Ok(()) } else { Err(Error::NotFound) }
    }

    /// 404 unless the caller may read the item, 403 unless it may change it.
    pub fn check_write(&self, def: &ResourceDef, item: &Item) -> Result<()> {
        self.check_read(def, item)?;
        if self.may_write(def, item) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!("you may not change this {}", singular(def))))
        }
    }

    /// Ending someone else's session acts on their account: an account holding a global role
    /// (a root admin, say) is changed only by a caller with a global grant, and so are its
    /// sessions, which an organization admin may see but not end. 404/403 as `check_write`.
    pub async fn check_end_session(&self, store: &dyn Store, session: &Item) -> Result<()> {
        let def = &account_session::RESOURCE;
        self.check_write(def, session)?;
        let owner = attr(session, Some("account_id")).unwrap_or_default();
        if owner == self.account_id || self.is_global(def.guard.write) {
            return Ok(());
        }
        let account = store.get(&ACCOUNTS, owner).await?;
        if account.as_ref().is_some_and(role_assignment::holds_global_role) {
            return Err(Error::Forbidden("only a global administrator may end the sessions of this account".into()));
        }
        Ok(())
    }

    /// May the caller create `item`? 403 if not; naming an organization the caller does not
    /// know is a 422 on that attribute instead, as if it did not exist.
    pub fn check_create(&self, def: &ResourceDef, item: &Item) -> Result<()> {
        if self.may_write(def, item) {
            return Ok(());
        }
        match attr(item, def.guard.organization) {
            Some(org) if !self.knows_organization(org) => Err(unknown_organization()),
            _ => Err(Error::Forbidden(format!("you may not create this {}", singular(def)))),
        }
    }

    /// May the caller grant (or revoke) a role carrying `permissions` at `scope`? Only where it
    /// manages accounts (teams, for a team scope), and only with permissions it holds there
    /// itself, so that nobody hands out more than it has.
    pub fn check_grant(&self, permissions: &[Permission], scope: &Scope) -> Result<()> {
        let holds_there = |p: Permission| match scope {
            Scope::Global => self.is_global(p),
            Scope::Organization(org) => self.holds(p, Some(org), None),
            Scope::Team(team, org) => self.holds(p, Some(org), Some(team)),
        };
        let manage = if matches!(scope, Scope::Team(..)) { Permission::TeamsWrite } else { Permission::AccountsWrite };
        if !holds_there(manage) {
            return Err(Error::Forbidden(format!("granting roles there needs {}", manage.name())));
        }
        match permissions.iter().find(|p| !holds_there(**p)) {
            Some(p) => Err(Error::Forbidden(format!("you cannot grant {}, which you do not hold there", p.name()))),
            None => Ok(()),
        }
    }

    /// The filter a listing of `def` is ANDed with: what the caller may read.
    pub fn read_scope(&self, def: &ResourceDef) -> Expr {
        let g = &def.guard;
        if self.is_global(g.read) || (g.organization.is_none() && self.holds_anywhere(g.read)) {
            return Expr::True;
        }
        let mut arms = Vec::new();
        let orgs = self.organizations_with(g.read);
        if let Some(field) = g.organization.filter(|_| !orgs.is_empty()) {
            arms.push(one_of(field, &orgs));
        }
        if let Some(field) = g.team {
            let teams = self.teams_with(g.read, true);
            if !teams.is_empty() {
                arms.push(one_of(field, &teams));
            }
        }
        // What the caller owns lies in its own organization: covered when that one is listed.
        let own_org_listed = self.organization_id.as_ref().is_some_and(|o| orgs.contains(o));
        if let Some(field) = g.owner.filter(|_| !own_org_listed) {
            arms.push(Expr::cmp(field, Op::Eq, Scalar::Str(self.account_id.clone())));
        }
        match arms.len() {
            0 => nothing(),
            1 => arms.remove(0),
            _ => Expr::Or(arms),
        }
    }

    /// Keeps the items the caller may read (related resources of a compound document).
    pub fn visible(&self, def: &ResourceDef, item: &Item) -> bool {
        // The shared catalog (a role) is visible through the object that refers to it.
        def.guard.organization.is_none() || self.may_read(def, item)
    }
}

fn singular(def: &ResourceDef) -> &str {
    def.type_name.strip_suffix('s').unwrap_or(def.type_name)
}

fn one_of(field: &'static str, values: &[String]) -> Expr {
    let values: Vec<Scalar> = values.iter().cloned().map(Scalar::Str).collect();
    if values.len() == 1 { Expr::Cmp { field, op: Op::Eq, values } } else { Expr::Cmp { field, op: Op::In, values } }
}

/// A filter nothing matches, which the planner serves without reading anything.
fn nothing() -> Expr {
    Expr::Cmp { field: "id", op: Op::In, values: vec![] }
}
