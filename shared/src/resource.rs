//! The declarative catalog of each resource type: its fields (filterable, sortable, secret,
//! read-only, searchable), its table and its relationships. Query parsing, the planner, the
//! evaluator, sparse fieldsets and rendering all read this one description.

use time::OffsetDateTime;

use crate::clock;
use crate::counters::{Dependents, Tally};
use crate::permissions::Permission;
use crate::store::{IndexDef, Item, TableDef};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    String,
    Integer,
    Boolean,
    /// RFC 3339, stored as UTC whole seconds.
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub ty: FieldType,
    /// May appear in `filter[...]`.
    pub filter: bool,
    pub sort: bool,
    /// Never rendered, never filterable (password hashes, token hashes).
    pub secret: bool,
    /// Set by the service; sending it in a create or update is a 422.
    pub read_only: bool,
    /// Searched by `query=TEXT`.
    pub text: bool,
    /// Always present on every item (lets an index on it serve ordered listings).
    pub required: bool,
    /// No two items share a value (lets an index on it serve ordered listings without ties).
    pub unique: bool,
    /// Rendered under `attributes` (false only for `id`).
    pub attribute: bool,
    /// This name is another name for the field named here (`ou_accounts` → `organization_id`).
    pub alias_of: Option<&'static str>,
    /// Compared, searched and sorted case-insensitively; indexes use this lower-cased copy
    /// (the table's `folded` list makes the store write it).
    pub folded: Option<&'static str>,
    /// The item holds a list of values (derived at read time); a comparison holds when it
    /// holds for one of them (`ne` and `nin`: for none of them).
    pub many: bool,
    /// An index of another table that lists, by this field's value, the ids of the items
    /// having it (e.g. the holders of a role), so that an equality can be served by a key.
    pub via: Option<&'static Via>,
    /// Holds ids of ours (`model::is_id`): a filter value that cannot be one is a 400, never
    /// a key sent to the store.
    pub ids: bool,
    /// Its order is the id's: the creation time of an item whose id is time-ordered
    /// (`ids::new_id`, taken at the same moment), so that an index in id order lists by it.
    pub id_order: bool,
    /// How a create or update request gives it: the validators of `model` enforce it, the
    /// OpenAPI document states it, and `model`'s tests hold the two together.
    pub input: Input,
    /// A field of a to-one related resource, filtered as `relationship.field` (an account's
    /// `person.name`): see `listing::related`.
    pub related: Option<Related>,
}

/// The field `field` of the resource a to-one relationship points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Related {
    pub relationship: &'static str,
    pub field: &'static str,
}

/// Length limits of a text attribute, in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text {
    pub min: usize,
    pub max: usize,
    /// Refuse line breaks and other control characters (names, emails).
    pub single_line: bool,
}

/// What a create or update request may send for a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Input {
    /// A create without it is a 422.
    pub required: bool,
    /// Given at creation only: an update that changes it is a 422.
    pub fixed: bool,
    /// May be sent as null (which removes it); false: null is a 422.
    pub nullable: bool,
    /// Accepted on create although never rendered (an account's initial `password`).
    pub write_only: bool,
    /// Its length limits, for text.
    pub limits: Option<Text>,
    /// The only values it takes; empty: any value of its type.
    pub values: &'static [&'static str],
    /// A list of such values rather than one (a role's `permissions`).
    pub list: bool,
    /// The OpenAPI `format` of its values (`email`, `uri`).
    pub format: Option<&'static str>,
}

impl Input {
    const OPEN: Input = Input {
        required: false,
        fixed: false,
        nullable: true,
        write_only: false,
        limits: None,
        values: &[],
        list: false,
        format: None,
    };
}

/// A link table's index partitioned by a value and sorted by the linked resource's id.
#[derive(Debug, PartialEq, Eq)]
pub struct Via {
    pub table: &'static TableDef,
    pub index: &'static IndexDef,
    /// The link attribute holding the resource's id (the index's sort key).
    pub key: &'static str,
    /// The link attribute holding the linked resource's organization, when links carry it:
    /// links of organizations a listing excludes are skipped before the resources are read.
    pub organization: Option<&'static str>,
}

impl Field {
    pub const fn new(name: &'static str, ty: FieldType) -> Field {
        Field {
            name,
            ty,
            filter: false,
            sort: false,
            secret: false,
            read_only: false,
            text: false,
            required: false,
            unique: false,
            attribute: true,
            alias_of: None,
            folded: None,
            many: false,
            via: None,
            ids: false,
            id_order: false,
            input: Input::OPEN,
            related: None,
        }
    }

    /// The stored attribute an index keys this field by.
    pub fn key(&self) -> &'static str {
        self.folded.unwrap_or(self.name)
    }

    /// The resource id: filterable, sortable, unique, present on every item.
    pub const fn id() -> Field {
        let mut f = Field::new("id", FieldType::String).filter().sort().required().unique().holds_ids();
        f.attribute = false;
        f
    }

    /// The creation time of an item with a time-ordered id (see [`Field::id_order`]).
    pub const fn in_id_order(mut self) -> Self {
        self.id_order = true;
        self
    }

    pub const fn holds_ids(mut self) -> Self {
        self.ids = true;
        self
    }

    pub const fn filter(mut self) -> Self {
        self.filter = true;
        self
    }
    pub const fn sort(mut self) -> Self {
        self.sort = true;
        self
    }
    pub const fn secret(mut self) -> Self {
        self.secret = true;
        self.attribute = false;
        self
    }
    pub const fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }
    pub const fn text(mut self) -> Self {
        self.text = true;
        self
    }
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub const fn unique(mut self) -> Self {
        self.unique = true;
        self
    }
    pub const fn folded(mut self, key: &'static str) -> Self {
        self.folded = Some(key);
        self
    }
    /// A list-valued field (not an attribute: it describes links, such as held roles).
    pub const fn many(mut self) -> Self {
        self.many = true;
        self.attribute = false;
        self
    }
    /// A filter on `field` of the resource `relationship` points to (not an attribute: it is
    /// the related item's, joined in when a filter names it).
    pub const fn related(mut self, relationship: &'static str, field: &'static str) -> Self {
        self.related = Some(Related { relationship, field });
        self.attribute = false;
        self.input.nullable = true;
        self
    }
    pub const fn via(mut self, via: &'static Via) -> Self {
        self.via = Some(via);
        self
    }
    pub const fn alias_of(mut self, target: &'static str) -> Self {
        self.alias_of = Some(target);
        self.attribute = false;
        self
    }

    /// A create must give it (and it is never null).
    pub const fn required_on_create(mut self) -> Self {
        self.input.required = true;
        self.input.nullable = false;
        self
    }
    /// Set at creation, never changed.
    pub const fn fixed(mut self) -> Self {
        self.input.fixed = true;
        self
    }
    /// Null is refused: it has a value once created.
    pub const fn not_null(mut self) -> Self {
        self.input.nullable = false;
        self
    }
    /// A secret a create may send (never rendered, never filtered).
    pub const fn write_only(mut self) -> Self {
        self.input.write_only = true;
        self
    }
    pub const fn limits(mut self, limits: Text) -> Self {
        self.input.limits = Some(limits);
        self
    }
    pub const fn one_of(mut self, values: &'static [&'static str]) -> Self {
        self.input.values = values;
        self
    }
    /// Holds a list of values (of `one_of`'s, when given).
    pub const fn list(mut self) -> Self {
        self.input.list = true;
        self
    }
    pub const fn format(mut self, format: &'static str) -> Self {
        self.input.format = Some(format);
        self
    }

    /// May a create or update request send it?
    pub fn writable(&self) -> bool {
        (self.attribute && !self.read_only && self.alias_of.is_none()) || self.input.write_only
    }
}

/// Where the ids of related resources are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// This attribute holds the related id (to-one).
    Attr(&'static str),
    /// Each entry of this embedded list holds a related id under `key` (to-many).
    Embedded { list: &'static str, key: &'static str },
    /// The link items of one index partition per item (keyed by the item's id) hold the
    /// related ids under `key` (to-many, unbounded: not rendered as linkage, only included).
    Linked { table: &'static TableDef, index: &'static IndexDef, key: &'static str },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relationship {
    pub name: &'static str,
    pub target: &'static str,
    pub source: Source,
    /// Relationships of the target included along (an account's `roles` are its role
    /// assignments together with their roles).
    pub along: &'static [&'static str],
}

impl Relationship {
    pub const fn to_one(name: &'static str, target: &'static str, attr: &'static str) -> Relationship {
        Relationship { name, target, source: Source::Attr(attr), along: &[] }
    }
}

/// Who may read and change items of a resource: the permissions, and where an item keeps the
/// organization, team and account it belongs to. `auth::policy` applies it.
#[derive(Debug, Clone, Copy)]
pub struct Guard {
    pub read: Permission,
    pub write: Permission,
    /// The attribute naming the item's organization (`id` for organizations); `None` for the
    /// shared catalog (roles), which no organization owns.
    pub organization: Option<&'static str>,
    /// The attribute naming the item's team (`id` for teams, `team_id` for memberships).
    pub team: Option<&'static str>,
    /// The attribute naming the account the item belongs to: that account may always read it.
    pub owner: Option<&'static str>,
    /// Items only a global grant may change (accounts that hold a global role), so that an
    /// organization's admin cannot lock out a root admin placed in its organization.
    pub global_only: Option<fn(&Item) -> bool>,
    /// The owner may change (delete) the item too: a member ends its own sessions.
    pub owner_writes: bool,
}

/// The counters of a resource (see `counters`).
#[derive(Debug)]
pub struct Counts {
    pub all: &'static Tally,
    pub organization: Dependents,
}

#[derive(Debug)]
pub struct ResourceDef {
    /// The JSON:API type, e.g. `organizations`.
    pub type_name: &'static str,
    /// The collection path below the base path, e.g. `/organizations`.
    pub path: &'static str,
    pub table: &'static TableDef,
    pub fields: &'static [Field],
    pub relationships: &'static [Relationship],
    pub guard: Guard,
    /// Sets the attributes computed at read time (an account's `status` depends on the clock)
    /// on an item before it is filtered, sorted or rendered.
    pub derive: Option<fn(&mut Item, OffsetDateTime)>,
    /// The timestamp attribute after which an item is gone for every read, even while it is
    /// still stored (DynamoDB's TTL deletes late; cleanup runs hourly).
    pub lapses_at: Option<&'static str>,
    /// Counters kept with every create, move and delete that answer `count=true` for the whole
    /// collection and for one organization without reading the items.
    pub counts: Option<Counts>,
    /// A listing must compare one of these fields for equality (`eq` or `in`): the keys its
    /// indexes serve (a team's or an account's memberships). Empty: any listing.
    pub listed_by: &'static [&'static str],
    /// Every resource type the API serves (`model::all`), for `fields[TYPE]` and `include`:
    /// the catalogs are defined above this module, so each carries the way to its siblings.
    pub catalog: fn() -> &'static [&'static ResourceDef],
}

impl ResourceDef {
    /// The field a name refers to, aliases resolved.
    pub fn field(&self, name: &str) -> Option<&Field> {
        let f = self.fields.iter().find(|f| f.name == name)?;
        match f.alias_of {
            Some(target) => self.fields.iter().find(|t| t.name == target),
            None => Some(f),
        }
    }

    pub fn relationship(&self, name: &str) -> Option<&Relationship> {
        self.relationships.iter().find(|r| r.name == name)
    }

    pub fn attributes(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| f.attribute && !f.secret)
    }

    /// Does the item still exist for readers at `now`?
    pub fn is_live(&self, item: &Item, now: OffsetDateTime) -> bool {
        self.lapses_at.is_none_or(|attr| {
            item.get(attr).and_then(serde_json::Value::as_str).and_then(clock::parse).is_some_and(|at| at > now)
        })
    }

    /// The resource type named `type_name`, this one or another.
    pub fn sibling(&self, type_name: &str) -> Option<&'static ResourceDef> {
        (self.catalog)().iter().copied().find(|d| d.type_name == type_name)
    }

    /// The item as the API shows it at `now`.
    pub fn present(&self, mut item: Item, now: OffsetDateTime) -> Item {
        if let Some(derive) = self.derive {
            derive(&mut item, now);
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use crate::model::all;

    #[test]
    fn every_folded_field_is_written_by_its_table() {
        for def in all() {
            for f in def.fields.iter().filter(|f| f.folded.is_some()) {
                assert!(
                    def.table.folded.contains(&(f.name, f.key())),
                    "{}.{} is not folded by its table",
                    def.type_name,
                    f.name
                );
            }
        }
    }

    #[test]
    fn every_index_key_is_a_field_of_its_resource() {
        for def in all() {
            for index in def.table.indexes {
                for attr in [Some(index.pk_attr()), index.sk].into_iter().flatten() {
                    // `_`-attributes are internal keys of maintenance indexes (cleanup's).
                    let known = attr.starts_with('_') || def.fields.iter().any(|f| f.key() == attr);
                    assert!(known, "{}.{} keys on {attr}, which no field maps to", def.type_name, index.name);
                }
            }
        }
    }

    #[test]
    fn a_word_index_holds_exactly_its_resources_text_fields() {
        for def in all() {
            let Some(index) = def.table.words else { continue };
            let mut text: Vec<&str> = def.fields.iter().filter(|f| f.text).map(|f| f.name).collect();
            let mut sources = index.sources.to_vec();
            text.sort();
            sources.sort();
            assert_eq!(text, sources, "{}: query= must mean the same read either way", def.type_name);
            let orders = std::iter::once(None).chain(index.orders.iter().map(Some));
            for order in orders {
                assert!(index.by_bucket(false, order).is_some(), "{}: a bucket in {order:?}", def.type_name);
                let scoped = index.by_bucket(true, order).is_some();
                assert_eq!(scoped, index.scope.is_some(), "{}: scoped buckets iff a scope", def.type_name);
                // A bucket order must be one the listing sorts by, of a searched column (its
                // entries change exactly when the column does).
                if let Some(order) = order {
                    let field = def.field(order.source).expect("a field");
                    assert!(field.sort && field.text, "{}.{}", def.type_name, field.name);
                    assert_eq!(
                        order.form == crate::store::schema::SortedForm::Folded,
                        field.folded.is_some(),
                        "{}.{}: compared as sorted",
                        def.type_name,
                        field.name
                    );
                }
            }
            assert!(index.by_word(false).is_some(), "{}", def.type_name);
            assert_eq!(index.by_word(true).is_some(), index.scope.is_some(), "{}", def.type_name);
            if let Some(scope) = index.scope {
                assert_eq!(Some(scope), def.guard.organization, "{}: scoped by its organization", def.type_name);
            }
        }
    }
}
