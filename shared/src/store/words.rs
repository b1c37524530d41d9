//! The word index behind `query=`: each item of a searchable table has one entry per word of
//! its text fields, in a table of entries of its own, written in the same transaction as the
//! item (`records::Change`) and rewritten when the words change. A search term reads the
//! entries whose word begins with it: a key range, whatever the table's size.
//!
//! Words are case- and accent-folded (`Åsa` is `asa`, `Straße` is `strasse`) and split at every
//! character that is not a letter or a digit, so an email's local part splits at `.`, `_`, `-`,
//! `+` and its domain into labels, exactly as a query's text is split into terms. One entry per
//! word, not per prefix, keeps an item within a transaction's 100 writes; a word that is a prefix
//! of another word of the same item is left out (every term that finds it finds the longer one).
//!
//! Two kinds of index serve a search. By word (`by_word`): a term's key range, read whole when
//! it is small (a rare term: a name, a number). By bucket (`by_bucket`, `by_bucket_name`, ...):
//! the entries of one bucket (the words sharing their first two characters) in item order
//! (creation, or one of the searched text columns: entries change exactly when those do),
//! streamed page by page with the terms checked on each entry, when every term is common: a
//! page costs the page divided by the share of the bucket that matches, whatever the table's
//! size.

use serde_json::{Value, json};
use unicode_normalization::char::{decompose_compatible, is_combining_mark};

pub use super::schema::{
    BUCKET, BUCKET_SHARDS, BY_BUCKET, BY_WORD, ITEM_ID, ITEM_KEY, MAX_WORD_BYTES, MAX_WORDS, ORGANIZATION_BY_BUCKET,
    ORGANIZATION_BY_WORD, SCOPED_BUCKET, WORD_KEY, WORDS, WordIndex,
};
use super::schema::{IndexDef, Sorted, TableDef, shard_of};
use super::{Item, Write};

/// Characters of a word that name its bucket.
const BUCKET_CHARS: usize = 2;
const SEPARATOR: char = '\u{1}';
/// Sorts after the separator and below any letter or digit.
const AFTER_SEPARATOR: char = '\u{2}';

/// Letters that decompose to nothing simpler but that people type without their mark.
fn special(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        'ø' => "o",
        'ł' => "l",
        'đ' | 'ð' => "d",
        'þ' => "th",
        'ı' => "i",
        _ => return None,
    })
}

/// The text lower-cased, compatibility-decomposed (`ﬁ` is `fi`, full-width letters are
/// plain) and without combining marks (`é` is `e`).
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        match special(c) {
            Some(s) => out.push_str(s),
            None => decompose_compatible(c, |d| {
                if !is_combining_mark(d) {
                    out.extend(d.to_lowercase());
                }
            }),
        }
    }
    out
}

fn cut(word: &str) -> &str {
    &word[..word.floor_char_boundary(MAX_WORD_BYTES)]
}

/// The folded words of a text, in order (repeats kept).
pub fn split(text: &str) -> Vec<String> {
    fold(text).split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(|w| cut(w).to_string()).collect()
}

/// The words of the texts, in order of first appearance, without repeats and without words
/// that start another of them; at most [`MAX_WORDS`].
pub fn distinct<'a>(texts: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    for word in texts.into_iter().flat_map(split) {
        if !all.contains(&word) {
            all.push(word);
        }
    }
    let longest: Vec<String> =
        all.iter().filter(|w| !all.iter().any(|o| o.len() > w.len() && o.starts_with(w.as_str()))).cloned().collect();
    longest.into_iter().take(MAX_WORDS).collect()
}

/// Does every term start one of the words?
pub fn all_found(terms: &[String], words: &[String]) -> bool {
    terms.iter().all(|t| words.iter().any(|w| w.starts_with(t.as_str())))
}

fn texts<'a>(item: &'a Item, sources: &[&str]) -> Vec<&'a str> {
    sources.iter().filter_map(|s| item.get(*s).and_then(Value::as_str)).collect()
}

fn first_chars(text: &str) -> &str {
    &text[..text.char_indices().nth(BUCKET_CHARS).map_or(text.len(), |(i, _)| i)]
}

/// The bucket of a word: its first characters (a shorter word is its own).
pub fn bucket_of_word(word: &str) -> &str {
    first_chars(word)
}

/// The one bucket holding every word a term starts: none for a term shorter than a bucket.
pub fn bucket_of_term(term: &str) -> Option<&str> {
    (term.chars().count() >= BUCKET_CHARS).then(|| first_chars(term))
}

/// A bucket partition key as a query names it (the store reads each shard of it).
pub fn bucket_key(organization: Option<&str>, bucket: &str) -> String {
    match organization {
        Some(org) => format!("{org}#{bucket}"),
        None => bucket.to_string(),
    }
}

/// Where an item's entries begin in a bucket listed in creation order (`None`) or in `order`:
/// every entry of the item starts with it and no other item's does.
pub fn position_of(item: &Item, order: Option<&Sorted>) -> String {
    match order {
        Some(order) => order.key_of(item),
        None => item.get("id").and_then(Value::as_str).unwrap_or_default().to_string(),
    }
}

/// A bucket position after every entry of the item at `position` (ascending); before them is
/// `position` itself.
pub fn after_position(position: &str) -> String {
    format!("{position}{AFTER_SEPARATOR}")
}

/// Is `position` one [`position_of`] gives for the item `id` (a cursor is checked with it)?
pub fn is_position_of(position: &str, id: &str) -> bool {
    position == id || position.strip_suffix(id).is_some_and(|rest| rest.ends_with(SEPARATOR))
}

impl WordIndex {
    fn named(&self, name: &str) -> Option<&'static IndexDef> {
        let table: &'static TableDef = self.table;
        table.index(name)
    }

    /// The entries by word: of every item, or of one organization's when `scoped`.
    pub fn by_word(&self, scoped: bool) -> Option<&'static IndexDef> {
        self.named(if scoped { ORGANIZATION_BY_WORD } else { BY_WORD })
    }

    /// The entries of a bucket in item order (creation order, or `order`'s): of every item,
    /// or of one organization's.
    pub fn by_bucket(&self, scoped: bool, order: Option<&Sorted>) -> Option<&'static IndexDef> {
        let table: &'static TableDef = self.table;
        let pk = if scoped { SCOPED_BUCKET } else { BUCKET };
        let sk = order.map_or(ITEM_KEY, |o| o.attr);
        table.indexes.iter().find(|i| i.pk_attr() == pk && i.sk == Some(sk))
    }

    /// The order among `orders` listing the field `field`.
    pub fn order_of(&self, field: &str) -> Option<&'static Sorted> {
        let orders: &'static [Sorted] = self.orders;
        orders.iter().find(|o| o.source == field)
    }

    /// The indexed words of an item.
    pub fn words_of(&self, item: &Item) -> Vec<String> {
        distinct(texts(item, self.sources))
    }

    /// The entries of an item: one per word.
    pub fn entries(&self, item: &Item) -> Vec<Item> {
        let id = item.get("id").and_then(Value::as_str).unwrap_or_default();
        let words = self.words_of(item);
        let scope = self.scope.and_then(|s| item.get(s).filter(|v| v.as_str().is_some_and(|v| !v.is_empty())));
        words
            .iter()
            .map(|word| {
                let entry_id = format!("{id}{SEPARATOR}{word}");
                let shard = shard_of(&entry_id, BUCKET_SHARDS);
                let bucket = bucket_of_word(word);
                let mut entry = json!({
                    "id": entry_id,
                    ITEM_ID: id,
                    WORD_KEY: format!("{word}{SEPARATOR}{id}"),
                    ITEM_KEY: format!("{id}{SEPARATOR}{word}"),
                    BUCKET: format!("{}#{shard}", bucket_key(None, bucket)),
                    WORDS: words,
                });
                for order in self.orders {
                    entry[order.attr] = json!(format!("{}{SEPARATOR}{word}", order.key_of(item)));
                }
                if let (Some(attr), Some(Value::String(org))) = (self.scope, scope) {
                    entry[attr] = json!(org);
                    entry[SCOPED_BUCKET] = json!(format!("{}#{shard}", bucket_key(Some(org), bucket)));
                }
                entry.as_object().cloned().unwrap_or_default()
            })
            .collect()
    }

    /// The writes that take the item's entries from `old` to `new` (either absent for a
    /// creation or a deletion): none when its words and scope are unchanged; otherwise the
    /// entries of words it lost are deleted and every current one is written (each carries
    /// the whole word list and the scope).
    pub fn changes(&'static self, old: Option<&Item>, new: Option<&Item>) -> Vec<Write> {
        let before = old.map(|i| self.entries(i)).unwrap_or_default();
        let after = new.map(|i| self.entries(i)).unwrap_or_default();
        if before == after {
            return vec![];
        }
        let id_of = |e: &Item| e.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
        let kept: Vec<String> = after.iter().map(id_of).collect();
        let gone = before.iter().map(id_of).filter(|id| !kept.contains(id));
        let deletes = gone.map(|id| Write::Delete { table: self.table, id, condition: None });
        let puts = after.into_iter().map(|item| Write::Put { table: self.table, item, condition: None });
        deletes.chain(puts).collect()
    }

    /// The entry key range of a term: every word starting with it.
    pub fn range_of(term: &str) -> String {
        cut(term).to_string()
    }

    /// The indexed words an entry carries.
    pub fn words_on(entry: &Item) -> Vec<String> {
        let list = entry.get(WORDS).and_then(Value::as_array);
        list.into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema::ACCOUNTS;

    fn item(v: Value) -> Item {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn folding_drops_case_and_accents_as_people_type_them() {
        assert_eq!(fold("Ångström"), "angstrom");
        assert_eq!(fold("José ÉMILE"), "jose emile");
        assert_eq!(fold("Straße Øre Łódź"), "strasse ore lodz");
        assert_eq!(fold("ﬁnn Ｊｏｈｎ"), "finn john");
        assert_eq!(fold("Ελένη"), "ελενη", "other scripts fold too");
    }

    #[test]
    fn emails_split_into_local_parts_and_domain_labels() {
        assert_eq!(split("Ann.Lee+news@Acme-Corp.test"), ["ann", "lee", "news", "acme", "corp", "test"]);
        assert_eq!(split("jean_luc-o'neil"), ["jean", "luc", "o", "neil"]);
        assert_eq!(split("  -- "), Vec::<String>::new());
        assert_eq!(split(&"x".repeat(100))[0].len(), MAX_WORD_BYTES);
    }

    #[test]
    fn an_items_words_are_distinct_and_omit_prefixes_of_longer_ones() {
        let words = distinct(["Ann Annabel", "ann", "ann.annabel@acme.test"]);
        assert_eq!(words, ["annabel", "acme", "test"]);
        let many = (0..100).map(|n| format!("w{n:03}")).collect::<Vec<_>>().join(" ");
        assert_eq!(distinct([many.as_str()]).len(), MAX_WORDS);
    }

    #[test]
    fn a_bucket_is_a_words_first_two_characters() {
        assert_eq!(bucket_of_word("annabel"), "an");
        assert_eq!(bucket_of_word("a"), "a", "a word of one character is its own bucket");
        assert_eq!(bucket_of_term("ørjan"), Some("ør"));
        assert_eq!(bucket_of_term("a"), None, "a one-character term spans buckets");
        assert!(after_position("a1").as_str() > "a1\u{1}zzz" && "a1" < "a1\u{1}");
        assert!(is_position_of("a1", "a1") && is_position_of("1Ann\u{1}a1", "a1") && !is_position_of("xa1", "a1"));
    }

    #[test]
    fn terms_match_words_by_prefix_only() {
        let words = distinct(["Acme Corp", "ann@acme.test"]);
        assert!(all_found(&split("acm"), &words));
        assert!(all_found(&split("ACME ann"), &words));
        assert!(!all_found(&split("cme"), &words), "a term matches the start of a word, not its middle");
        assert!(!all_found(&split("acme bob"), &words), "terms are ANDed");
    }

    #[test]
    fn entries_carry_the_scope_and_every_word_and_move_when_the_words_change() {
        let index = ACCOUNTS.words.expect("accounts are searchable");
        let old = item(json!({"id": "a1", "name": "Ann Lee", "email": "ann@x.test", "organization_id": "o1"}));
        let entries = index.entries(&old);
        assert_eq!(entries.len(), 4, "ann, lee, x, test: {entries:?}");
        assert_eq!(entries[0][WORD_KEY], "ann\u{1}a1");
        assert_eq!(entries[0][ITEM_KEY], "a1\u{1}ann");
        assert_eq!(entries[0]["_i_name"], "1Ann Lee\u{1}a1\u{1}ann", "the name's sort key, then the word");
        assert_eq!(entries[0]["_i_email"], "1ann@x.test\u{1}a1\u{1}ann");
        assert_eq!(entries[0]["_i_username"], "2\u{1}a1\u{1}ann", "absent: after every name");
        assert!(entries[0][BUCKET].as_str().unwrap().starts_with("an#"));
        assert!(entries[0][SCOPED_BUCKET].as_str().unwrap().starts_with("o1#an#"));
        assert!(entries[2][BUCKET].as_str().unwrap().starts_with("x#"), "a word shorter than a bucket is its own");
        assert_eq!(entries[0]["organization_id"], "o1");
        assert_eq!(entries[0][WORDS], json!(["ann", "lee", "x", "test"]));
        assert!(index.changes(Some(&old), Some(&old.clone())).is_empty(), "unchanged words write nothing");
        let mut renamed = old.clone();
        renamed.insert("name".into(), json!("Ann Smith"));
        let writes = index.changes(Some(&old), Some(&renamed));
        let deleted: Vec<_> = writes
            .iter()
            .filter_map(|w| match w {
                Write::Delete { id, .. } => Some(id.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(deleted, ["a1\u{1}lee"]);
        assert_eq!(writes.len(), 5, "one delete, four puts");
        let removed = index.changes(Some(&old), None);
        assert!(removed.iter().all(|w| matches!(w, Write::Delete { .. })) && removed.len() == 4);
    }
}
