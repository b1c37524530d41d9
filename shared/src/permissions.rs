//! The permission model: permissions, built-in roles and the scopes they are granted at.
//! One place answers "may this principal do this, in this organization?".

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
    /// The people behind accounts (`/people`) and the correlation of accounts with them.
    PeopleRead,
    PeopleWrite,
    /// RFC 7662 introspection of any token (a service that verifies tokens offline asks whether
    /// one was revoked); global only.
    TokensIntrospect,
}

use Permission::*;

impl Permission {
    pub const ALL: [Permission; 14] = [
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
        PeopleRead,
        PeopleWrite,
        TokensIntrospect,
    ];

    /// Every permission's name, in [`Permission::ALL`]'s order.
    pub const NAMES: [&'static str; 14] = {
        let mut names = [""; 14];
        let mut i = 0;
        while i < names.len() {
            names[i] = Self::ALL[i].name();
            i += 1;
        }
        names
    };

    pub const fn name(self) -> &'static str {
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
            PeopleRead => "people:read",
            PeopleWrite => "people:write",
            TokensIntrospect => "tokens:introspect",
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
    /// A team, within the organization named second.
    Team(String, String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    Global,
    Organization,
    Team,
}

impl ScopeKind {
    pub const NAMES: &'static [&'static str] = &["global", "organization", "team"];

    pub fn name(self) -> &'static str {
        match self {
            ScopeKind::Global => "global",
            ScopeKind::Organization => "organization",
            ScopeKind::Team => "team",
        }
    }

    pub fn parse(name: &str) -> Option<ScopeKind> {
        [ScopeKind::Global, ScopeKind::Organization, ScopeKind::Team].into_iter().find(|k| k.name() == name)
    }

    /// The permissions a role of this scope may carry: catalog writes (`roles:write`) and
    /// organization creation only mean something globally; a team is only its own members.
    pub fn allows(self, permission: Permission) -> bool {
        match self {
            ScopeKind::Global => true,
            ScopeKind::Organization => !matches!(permission, RolesWrite | TokensIntrospect),
            ScopeKind::Team => matches!(permission, TeamsRead | TeamsWrite),
        }
    }
}

pub struct BuiltInRole {
    pub name: &'static str,
    /// Fixed ids, lower than any generated one, so built-in roles list first.
    pub id: &'static str,
    pub scope: ScopeKind,
    pub permissions: &'static [Permission],
    pub description: &'static str,
}

/// The built-in roles of API.md §4. What a member may do with its own account, sessions,
/// teams and password comes from being that account or in that team (see `policy`), not from
/// a permission, so `member` carries only the right to read its organization.
pub const BUILT_IN_ROLES: &[BuiltInRole] = &[
    BuiltInRole {
        name: "root_admin",
        id: "00000000-0000-7000-8000-000000000001",
        scope: ScopeKind::Global,
        permissions: &Permission::ALL,
        description: "everything, in every organization",
    },
    BuiltInRole {
        name: "org_admin",
        id: "00000000-0000-7000-8000-000000000002",
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
            PeopleRead,
            PeopleWrite,
        ],
        description: "manages the accounts, people, teams, role assignments and sessions of its organization",
    },
    BuiltInRole {
        name: "helpdesk",
        id: "00000000-0000-7000-8000-000000000003",
        scope: ScopeKind::Organization,
        permissions: &[AccountsRead, OrganizationsRead, SessionsRead, SessionsWrite, InvitationsWrite, PeopleRead],
        description: "reads accounts, people and sessions of its organization, resends invitations, ends sessions",
    },
    BuiltInRole {
        name: "member",
        id: "00000000-0000-7000-8000-000000000004",
        scope: ScopeKind::Organization,
        permissions: &[OrganizationsRead],
        description: "reads its own account, its organization, its teams and their members",
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
    /// Does this grant carry `permission` for an object of organization `org` and team `team`?
    pub fn covers(&self, permission: Permission, org: Option<&str>, team: Option<&str>) -> bool {
        self.permissions.contains(&permission)
            && match &self.scope {
                Scope::Global => true,
                Scope::Organization(o) => org == Some(o.as_str()),
                Scope::Team(t, _) => team == Some(t.as_str()),
            }
    }

    /// The organization the grant lies in (none for global grants).
    pub fn organization(&self) -> Option<&str> {
        match &self.scope {
            Scope::Global => None,
            Scope::Organization(o) | Scope::Team(_, o) => Some(o),
        }
    }
}

/// Permission names as stored on a role; unknown names grant nothing.
pub fn parse_all(names: &serde_json::Value) -> Vec<Permission> {
    names.as_array().into_iter().flatten().filter_map(|v| v.as_str().and_then(Permission::parse)).collect()
}
