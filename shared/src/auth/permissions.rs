//! The permission model: permissions, built-in roles and the scopes they are granted at.
//! One place answers "may this principal do this, in this organization?".

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    AccountsRead,
    AccountsWrite,
    OrganizationsRead,
    OrganizationsWrite,
    RolesRead,
    RolesWrite,
    TeamsRead,
    TeamsWrite,
    SessionsRead,
    SessionsWrite,
    InvitationsWrite,
}

use Permission::*;

impl Permission {
    pub const ALL: [Permission; 11] = [
        AccountsRead,
        AccountsWrite,
        OrganizationsRead,
        OrganizationsWrite,
        RolesRead,
        RolesWrite,
        TeamsRead,
        TeamsWrite,
        SessionsRead,
        SessionsWrite,
        InvitationsWrite,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AccountsRead => "accounts:read",
            AccountsWrite => "accounts:write",
            OrganizationsRead => "organizations:read",
            OrganizationsWrite => "organizations:write",
            RolesRead => "roles:read",
            RolesWrite => "roles:write",
            TeamsRead => "teams:read",
            TeamsWrite => "teams:write",
            SessionsRead => "sessions:read",
            SessionsWrite => "sessions:write",
            InvitationsWrite => "invitations:write",
        }
    }

    pub fn parse(name: &str) -> Option<Permission> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// Where a role assignment applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Global,
    Organization(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    Global,
    Organization,
}

pub struct BuiltInRole {
    pub name: &'static str,
    pub scope: ScopeKind,
    pub permissions: &'static [Permission],
    pub description: &'static str,
}

/// The built-in roles of API.md §4. `member`'s rights on its own account and sessions are
/// checked by the handlers that own those resources (they are about "self", not a scope).
pub const BUILT_IN_ROLES: &[BuiltInRole] = &[
    BuiltInRole {
        name: "root_admin",
        scope: ScopeKind::Global,
        permissions: &Permission::ALL,
        description: "everything, in every organization",
    },
    BuiltInRole {
        name: "org_admin",
        scope: ScopeKind::Organization,
        permissions: &[
            AccountsRead,
            AccountsWrite,
            OrganizationsRead,
            OrganizationsWrite,
            TeamsRead,
            TeamsWrite,
            RolesRead,
            SessionsRead,
            SessionsWrite,
            InvitationsWrite,
        ],
        description: "manages the accounts, teams, role assignments and sessions of its organization",
    },
    BuiltInRole {
        name: "helpdesk",
        scope: ScopeKind::Organization,
        permissions: &[AccountsRead, OrganizationsRead, SessionsRead, SessionsWrite, InvitationsWrite],
        description: "reads accounts and sessions of its organization, resends invitations, ends sessions",
    },
    BuiltInRole {
        name: "member",
        scope: ScopeKind::Organization,
        permissions: &[OrganizationsRead, TeamsRead],
        description: "reads its own account, its organization and its teams",
    },
];

pub fn built_in(name: &str) -> Option<&'static BuiltInRole> {
    BUILT_IN_ROLES.iter().find(|r| r.name == name)
}

/// One role held at one scope, with the permissions it brings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub role: String,
    pub scope: Scope,
    pub permissions: Vec<Permission>,
}

impl Grant {
    /// The grant a role assignment item confers; unknown roles and misplaced scopes grant nothing.
    pub fn from_assignment(item: &crate::store::Item) -> Option<Grant> {
        let role = built_in(item.get("role_name").and_then(Value::as_str)?)?;
        let scope_id = item.get("scope_id").and_then(Value::as_str);
        let scope = match (role.scope, scope_id) {
            (ScopeKind::Global, None) => Scope::Global,
            (ScopeKind::Organization, Some(org)) => Scope::Organization(org.into()),
            _ => return None,
        };
        Some(Grant { role: role.name.into(), scope, permissions: role.permissions.to_vec() })
    }
}
