//! Computing a [`Diff`]: matching resources and list items, attributing, suppressing, redacting.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;
use serde_json::Value;

use crate::canon::same_meaning;
use crate::error::Result;
use crate::object::KeyRef;
use crate::pointer::Pointer;
use crate::record::{Change, Field as Kept, Json, Packed, PackedPieces, RuleId};

use std::borrow::Cow;

use super::attribution::{Changes, Made};
use super::redact::{Place, Redactor};
use super::{
    ChangeType, Counts, Diff, FieldChange, Key, Label, Op, Options, Resource, ResourceDiff, SCHEMA, Shown, Side, Sides,
};

/// Whether the value at `ptr` of a resource (`resource`, a core Secret if `secret_kind`) is a
/// secret as a whole: a Secret's data value, an env value under a credential name, the
/// argument after a credential flag.
fn whole_secret(redactor: &Redactor, ptr: &Pointer, secret_kind: bool, resource: Option<&Value>) -> bool {
    let tokens: Vec<String> = ptr.tokens().collect();
    let at = |p: &Pointer| resource.and_then(|r| r.pointer(p.as_str()));
    match tokens.as_slice() {
        [field, _] if secret_kind && (field == "data" || field == "stringData") => true,
        [.., env, _, value] if env == "env" && value == "value" => ptr
            .parent()
            .and_then(|entry| at(&entry.key("name")).and_then(Value::as_str).map(|n| redactor.credential_name(n)))
            .unwrap_or(false),
        [.., list, index] if list == "args" || list == "command" => {
            let (Some(list_ptr), Ok(i)) = (ptr.parent(), index.parse::<usize>()) else { return false };
            i.checked_sub(1)
                .and_then(|prev| at(&list_ptr.index(prev)))
                .and_then(Value::as_str)
                .is_some_and(crate::credential::is_credential_flag)
        }
        _ => false,
    }
}

/// Diffs `to` against `from`.
pub fn diff(from: &Side, to: &Side, options: &Options) -> Result<Diff> {
    // A resource's key is read from it whenever it is needed, never listed: both sides of a
    // promotion hold a resource per object of a render, and a list of their keys took as much
    // again (BENCHMARKS.md, "Fifteenth pass").
    let pairs = match_resources(&from.resources, &to.resources);
    // The redactor learns every Secret value of either side; a Secret kept as text (a sealed
    // document, one read again, or one a rule generated) is read back for it.
    let kept_secrets: Vec<Value> = from
        .resources
        .iter()
        .chain(&to.resources)
        .filter(|r| !matches!(r, Resource::Value(_)) && is_core_secret(r.key()))
        .map(|r| r.value().map(Cow::into_owned))
        .collect::<Result<_>>()?;
    let values = from.resources.iter().chain(&to.resources).filter_map(|r| match r {
        Resource::Value(v) => Some(&***v),
        Resource::Generated(_) | Resource::Sealed(..) | Resource::Reread(..) | Resource::Input(..) => None,
    });
    let redactor = Redactor::new(values.chain(&kept_secrets), &options.redaction_key);
    let from_changes = by_key(from.changes);
    let to_changes = by_key(to.changes);
    // The last generated object of a key is found first, as it would win in a map by key.
    let generated_key = |i: usize| to.generated[i].id().key_ref();
    let generated = KeyIndex::new(to.generated.len(), 0..to.generated.len(), generated_key);
    let (replaced, replaced_from) = replaced_in_place(to.changes.records());
    // Resources that did not change are counted, and kept only if the options ask for them.
    let (left_unchanged, left_suppressed) = (AtomicUsize::new(0), AtomicUsize::new(0));
    // Each pair is diffed on its own: in parallel, collected in order.
    let diff_pair = |pair: Pair| -> Result<Option<ResourceDiff>> {
        // Two objects kept as the same text are the same value: nothing to read back or
        // compare, unless the options keep what did not change.
        if let (Some(b), Some(a), None) = (pair.before, pair.after, pair.renamed_from)
            && !options.unchanged
            && from.resources[b].same_text(&to.resources[a])
        {
            left_unchanged.fetch_add(1, Ordering::Relaxed);
            return Ok(None);
        }
        let before_side = pair.before.map(|i| from.resources[i].value()).transpose()?;
        let after_side = pair.after.map(|i| to.resources[i].value()).transpose()?;
        let (before, after) = (before_side.as_deref(), after_side.as_deref());
        let key = Key::of(after.or(before).unwrap_or(&Value::Null));
        let secret_kind = is_core_secret(key.as_ref());
        let change_type = match (before, after, &pair.renamed_from) {
            (Some(_), Some(_), Some(_)) => ChangeType::Renamed,
            (Some(_), Some(_), None) => ChangeType::Changed,
            (None, Some(_), _) => ChangeType::Added,
            _ => ChangeType::Removed,
        };
        let mut changes = Vec::new();
        match (before, after) {
            (Some(b), Some(a)) => diff_values(b, a, &Pointer::root(), None, &mut changes),
            (None, Some(a)) => changes.push(change(Pointer::root(), Op::Add, None, Some(Cow::Borrowed(a)))),
            (Some(b), None) => changes.push(change(Pointer::root(), Op::Remove, Some(Cow::Borrowed(b)), None)),
            (None, None) => {}
        }
        let total = changes.len();
        changes.retain(|c| !suppressed(&c.pointer, options));
        let suppressed = total - changes.len();
        if change_type == ChangeType::Changed && changes.is_empty() && !options.unchanged {
            left_unchanged.fetch_add(1, Ordering::Relaxed);
            left_suppressed.fetch_add(suppressed, Ordering::Relaxed);
            return Ok(None);
        }
        let before_key = before.map(KeyRef::of);
        for c in &mut changes {
            c.rule = attribute(c, key.as_ref(), before_key, &to_changes, &from_changes);
        }
        // Only a resource that is shown needs its text, and its secrets hidden in it.
        let shown = change_type != ChangeType::Changed || !changes.is_empty();
        let rule = match change_type {
            ChangeType::Added => generated
                .first(key.as_ref(), generated_key)
                .map(|i| to.generated[i].rule)
                .or_else(|| replaced.get(&key).copied()),
            ChangeType::Removed => replaced_from.get(&key).copied(),
            _ => None,
        };
        // Each change's values are borrowed from the sides until it is kept as text, one
        // change at a time: a copy is made only to hide a secret in it, and dropped at once
        // (every field a rule added to a resource of thousands of containers, copied, took
        // as much again as the two sides).
        let mut kept = Vec::with_capacity(changes.len());
        for (i, mut c) in changes.into_iter().enumerate() {
            if !options.show_secrets {
                redact_field(&mut c, &redactor, secret_kind, after.or(before));
            }
            // A whole resource added or removed is shown by its text, which the line diff
            // reads; its one change's value (a copy of the resource) is not printed there.
            if matches!(options.sides, Sides::Lines | Sides::Text) && c.pointer.is_root() {
                (c.before, c.after) = (None, None);
            }
            if let (Some(rule), 0) = (&rule, i) {
                c.rule = Some(rule.to_string());
            }
            kept.push(c.kept());
        }
        // The sides shown are the values read for the diff, taken rather than copied where
        // they were read for it (a side read back or parsed again): a resource of a large
        // list is otherwise held four times over here. The side after is redacted while
        // the side before is still as it was, since a value is hidden where it differs.
        let (before, after) = (before_side.filter(|_| shown), after_side.filter(|_| shown));
        let mut shown_after = after.map(Cow::into_owned);
        let place = Place::at(&Pointer::root(), secret_kind);
        if let (Some(v), false) = (&mut shown_after, options.show_secrets) {
            redactor.redact(v, before.as_deref(), place, true);
        }
        let mut shown_before = before.map(Cow::into_owned);
        if let (Some(v), false) = (&mut shown_before, options.show_secrets) {
            redactor.redact(v, None, place, false);
        }
        let (shown_before, shown_after, lines) = match options.sides {
            // The sides are dropped once they are diffed: only the hunks are kept.
            Sides::Lines | Sides::Text => {
                let omitted = |side: &Option<Value>| side.as_ref().map(|_| Shown::Omitted);
                let (omitted_before, omitted_after) = (omitted(&shown_before), omitted(&shown_after));
                // Each value is dropped as soon as its text is made, before the lines are diffed.
                let text = |side: Option<Value>| side.map(|v| crate::yaml::display(&v)).unwrap_or_default();
                let (before, after) = (text(shown_before), text(shown_after));
                // Kept until the diff is written, for every resource shown, packed: hunks
                // are mostly the fields hardening adds, and a diff of a stream shows nearly
                // every resource. With Sides::Text they are read at once into the resource's
                // text, which is what is kept packed, so they are not packed first.
                let hunks = super::text_hunks(&before, &after);
                let hunks = if options.sides == Sides::Text { Packed::unpacked(hunks) } else { Packed::new(hunks) };
                (omitted_before, omitted_after, Some(hunks))
            }
            sides => (shown_before.map(|v| Shown::of(v, sides)), shown_after.map(|v| Shown::of(v, sides)), None),
        };
        Ok(Some(ResourceDiff {
            rule,
            renamed_from: pair.renamed_from.map(|i| Box::new(from.resources[i].key().to_key())),
            id: key,
            change_type,
            changes: kept,
            suppressed,
            before: shown_before,
            after: shown_after,
            lines,
        }))
    };
    let mut counts = Counts::default();
    let (resources, texts) = if options.sides == Sides::Text {
        // Each resource is written as the unified format shows it as soon as it is diffed, and
        // only its text is kept, with what the counts need of it. The pairs are diffed in
        // parallel a batch at a time, and the texts are packed together a piece at a time, as
        // a render's output is: similar resources pack far better side by side than alone.
        let (from_label, to_label) = (&from.label, &to.label);
        let mut texts = PackedPieces::default();
        for batch in pairs.chunks(BATCH) {
            let shown: Vec<(Tally, String)> = crate::par::collect_some(batch.par_iter().map(|&pair| {
                Ok(diff_pair(pair)?
                    .map(|r| (Tally::of(&r), super::format::resource_text(from_label, to_label, &r, options.color))))
            }))?;
            for (tally, text) in shown {
                tally.add_to(&mut counts);
                texts.push_str(&text);
            }
        }
        (Vec::new(), texts.finish())
    } else {
        let resources: Vec<ResourceDiff> = crate::par::collect_some(pairs.into_par_iter().map(diff_pair))?;
        for r in &resources {
            Tally::of(r).add_to(&mut counts);
        }
        (resources, Vec::new())
    };
    counts.unchanged += left_unchanged.into_inner();
    counts.suppressed += left_suppressed.into_inner();
    Ok(Diff {
        schema_version: SCHEMA,
        from: Label { label: from.label.clone(), compliance_hash: from.compliance_hash.clone() },
        to: Label { label: to.label.clone(), compliance_hash: to.compliance_hash.clone() },
        counts,
        resources,
        texts,
        blockers: Vec::new(),
        flows: super::compare_flows(from, to),
    })
}

/// How many pairs are diffed in parallel before their texts are kept: enough to keep every
/// thread busy, few enough that a batch's texts are small beside the whole diff's.
const BATCH: usize = 512;

/// What the counts read of a resource diffed.
struct Tally {
    change_type: ChangeType,
    changed: bool,
    suppressed: usize,
    secrets_changed: usize,
}

impl Tally {
    fn of(r: &ResourceDiff) -> Tally {
        Tally {
            change_type: r.change_type,
            changed: !r.changes.is_empty(),
            suppressed: r.suppressed,
            secrets_changed: r.changes.iter().filter(|c| c.redacted).count(),
        }
    }

    fn add_to(self, counts: &mut Counts) {
        counts.suppressed += self.suppressed;
        counts.secrets_changed += self.secrets_changed;
        match self.change_type {
            ChangeType::Added => counts.added += 1,
            ChangeType::Removed => counts.removed += 1,
            ChangeType::Renamed => counts.renamed += 1,
            ChangeType::Changed if !self.changed => counts.unchanged += 1,
            ChangeType::Changed => counts.changed += 1,
        }
    }
}

fn change<'a>(pointer: Pointer, op: Op, before: Option<Cow<'a, Value>>, after: Option<Cow<'a, Value>>) -> Field<'a> {
    Field { pointer, op, before, after, redacted: false, rule: None }
}

/// A [`FieldChange`] while its resource is diffed: its values, borrowed from the sides, are
/// matched, attributed and redacted as values, then kept as text.
struct Field<'a> {
    pointer: Pointer,
    op: Op,
    before: Option<Cow<'a, Value>>,
    after: Option<Cow<'a, Value>>,
    redacted: bool,
    rule: Option<String>,
}

impl Field<'_> {
    fn kept(self) -> FieldChange {
        let text = |side: Option<Cow<'_, Value>>| side.as_deref().map(Json::of);
        let Field { pointer, op, before, after, redacted, rule } = self;
        // Shared: a diff of a stream holds a field change per field its rules fixed, and they
        // repeat a few hundred pointers and rule names.
        let rule = rule.map(|r| crate::intern::text(&r));
        FieldChange { pointer: pointer.interned(), op, before: text(before), after: text(after), redacted, rule }
    }
}

/// Hides the secrets in one change's values (`resource` is the side it is read against): a
/// value that is a secret as a whole becomes a placeholder; any other is copied only to be
/// redacted, each side against the other as it was.
fn redact_field(c: &mut Field<'_>, redactor: &Redactor, secret_kind: bool, resource: Option<&Value>) {
    if whole_secret(redactor, &c.pointer, secret_kind, resource) {
        let changed = c.before.is_some() && c.before != c.after;
        c.before = c.before.as_deref().map(|v| Cow::Owned(redactor.placeholder(v, false)));
        c.after = c.after.as_deref().map(|v| Cow::Owned(redactor.placeholder(v, changed)));
        c.redacted = true;
        return;
    }
    let place = Place::at(&c.pointer, secret_kind);
    let (b, a) = (c.before.clone(), c.after.clone());
    let mut n = 0;
    if let Some(v) = &mut c.before {
        n += redact_side(redactor, v, a.as_deref(), place, false);
    }
    if let Some(v) = &mut c.after {
        n += redact_side(redactor, v, b.as_deref(), place, true);
    }
    c.redacted = n > 0;
}

/// [`Redactor::redact`] on a side that may be borrowed: it is copied to be redacted, and the
/// copy kept only if something in it was hidden.
fn redact_side(
    redactor: &Redactor,
    side: &mut Cow<'_, Value>,
    other: Option<&Value>,
    place: Place,
    after: bool,
) -> usize {
    let mut copy = side.as_ref().clone();
    let n = redactor.redact(&mut copy, other, place, after);
    if n > 0 {
        *side = Cow::Owned(copy);
    }
    n
}

#[derive(Clone, Copy)]
struct Pair {
    before: Option<usize>,
    after: Option<usize>,
    renamed_from: Option<usize>,
}

/// Pairs resources by key (the n-th occurrence of a key with the n-th), then pairs removed and
/// added ConfigMaps and Secrets whose names differ only by a generated hash suffix. Pairs
/// come in `to` order, then what only `from` has.
fn match_resources(from: &[Resource<'_>], to: &[Resource<'_>]) -> Vec<Pair> {
    let from_key = |i: usize| from[i].key();
    // The first occurrence of a key is found first.
    let mut by_key = KeyIndex::new(from.len(), (0..from.len()).rev(), from_key);
    let mut pairs: Vec<Pair> = (0..to.len())
        .map(|i| Pair { before: by_key.take(to[i].key(), from_key), after: Some(i), renamed_from: None })
        .collect();
    let mut removed: Vec<usize> = by_key.left();
    for pair in pairs.iter_mut().filter(|p| p.before.is_none()) {
        let added = to[pair.after.unwrap_or_default()].key();
        if !(added.group.is_empty() && (added.kind == "ConfigMap" || added.kind == "Secret")) {
            continue;
        }
        let found = removed.iter().position(|&r| {
            let old = from_key(r);
            old.kind == added.kind
                && old.namespace == added.namespace
                && hash_stem(old.name).is_some()
                && hash_stem(old.name) == hash_stem(added.name)
        });
        if let Some(pos) = found {
            let r = removed.remove(pos);
            pair.before = Some(r);
            pair.renamed_from = Some(r);
        }
    }
    pairs.extend(removed.into_iter().map(|r| Pair { before: Some(r), after: None, renamed_from: None }));
    pairs
}

fn is_core_secret(key: KeyRef<'_>) -> bool {
    key.group.is_empty() && key.kind == "Secret"
}

/// The items of a list by their keys, holding for each item only its index and a link to the
/// next item whose key has the same hash: a key is read again from its item (`key_of`)
/// whenever two are compared. A map holding each key took 64 bytes per resource of a side more.
struct KeyIndex {
    /// The hash of a key, and the item found first for it.
    heads: HashMap<u64, usize>,
    /// For each item, the next with the same hash ([`NONE`] for none); [`TAKEN`] once taken.
    next: Vec<usize>,
    hasher: RandomState,
}

const NONE: usize = usize::MAX;
const TAKEN: usize = usize::MAX - 1;

impl KeyIndex {
    /// Indexes the `len` items in the order `order` lists them: the item listed last is found
    /// first.
    fn new<'a>(len: usize, order: impl Iterator<Item = usize>, key_of: impl Fn(usize) -> KeyRef<'a>) -> KeyIndex {
        let hasher = RandomState::new();
        let (mut heads, mut next) = (HashMap::new(), vec![NONE; len]);
        for i in order {
            next[i] = heads.insert(hasher.hash_one(key_of(i)), i).unwrap_or(NONE);
        }
        KeyIndex { heads, next, hasher }
    }

    /// The first item left with `key`, with the item before it in its hash's chain (`None` at
    /// the head), and the key's hash.
    fn find<'a>(&self, key: KeyRef<'_>, key_of: impl Fn(usize) -> KeyRef<'a>) -> (Option<(Option<usize>, usize)>, u64) {
        let hash = self.hasher.hash_one(key);
        let (mut before, mut at) = (None, self.heads.get(&hash).copied().unwrap_or(NONE));
        while at != NONE && key_of(at) != key {
            (before, at) = (Some(at), self.next[at]);
        }
        ((at != NONE).then_some((before, at)), hash)
    }

    /// The first item left with `key`.
    fn first<'a>(&self, key: KeyRef<'_>, key_of: impl Fn(usize) -> KeyRef<'a>) -> Option<usize> {
        self.find(key, key_of).0.map(|(_, at)| at)
    }

    /// [`KeyIndex::first`], which is then no longer found.
    fn take<'a>(&mut self, key: KeyRef<'_>, key_of: impl Fn(usize) -> KeyRef<'a>) -> Option<usize> {
        let (Some((before, at)), hash) = self.find(key, key_of) else { return None };
        let after = std::mem::replace(&mut self.next[at], TAKEN);
        match before {
            Some(b) => self.next[b] = after,
            None if after == NONE => {
                self.heads.remove(&hash);
            }
            None => {
                self.heads.insert(hash, after);
            }
        }
        Some(at)
    }

    /// The items never taken, in order.
    fn left(&self) -> Vec<usize> {
        (0..self.next.len()).filter(|&i| self.next[i] != TAKEN).collect()
    }
}

/// The name without a generated hash suffix (`-` and 10 lowercase letters or digits, as
/// kustomize's generators append), if it has one.
fn hash_stem(name: &str) -> Option<&str> {
    let (stem, suffix) = name.rsplit_once('-')?;
    (suffix.len() == 10 && suffix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) && !stem.is_empty())
        .then_some(stem)
}

/// Diffs two values at `at`; `parent` is the key holding them (it picks list merge keys).
fn diff_values<'a>(before: &'a Value, after: &'a Value, at: &Pointer, parent: Option<&str>, out: &mut Vec<Field<'a>>) {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            for (k, bv) in b {
                match a.get(k) {
                    Some(av) => diff_values(bv, av, &at.key(k), Some(k), out),
                    None => out.push(change(at.key(k), Op::Remove, Some(Cow::Borrowed(bv)), None)),
                }
            }
            for (k, av) in a {
                if !b.contains_key(k) {
                    out.push(change(at.key(k), Op::Add, None, Some(Cow::Borrowed(av))));
                }
            }
        }
        (Value::Array(b), Value::Array(a)) => diff_lists(b, a, at, parent, out),
        _ if same_meaning(before, after) => {}
        _ => out.push(change(at.clone(), Op::Replace, Some(Cow::Borrowed(before)), Some(Cow::Borrowed(after)))),
    }
}

/// The merge key of one list item, given the field that holds the list: borrowed from the
/// item where it is its name.
fn item_key<'a>(parent: Option<&str>, item: &'a Value) -> Option<Cow<'a, str>> {
    let obj = item.as_object()?;
    if parent == Some("ports") {
        let proto = obj.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
        let port = obj.get("containerPort").or_else(|| obj.get("port"))?;
        return Some(Cow::Owned(format!("{port}/{proto}")));
    }
    obj.get("name").and_then(Value::as_str).map(Cow::Borrowed)
}

/// Diffs two lists: item by item by merge key when every item of both has its own and no two
/// items of one list share one, else by position.
///
/// Only the earlier list's keys are kept in a table; each later item keeps the place of its
/// match: a list of 40,000 env entries held both lists' keys twice over (5 MB).
fn diff_lists<'a>(
    before: &'a [Value],
    after: &'a [Value],
    at: &Pointer,
    parent: Option<&str>,
    out: &mut Vec<Field<'a>>,
) {
    let Some(matches) = match_items(before, after, parent) else {
        return diff_by_position(before, after, at, out);
    };
    let mut kept = vec![false; before.len()];
    for &j in matches.iter().flatten() {
        kept[j as usize] = true;
    }
    for (i, item) in before.iter().enumerate().rev() {
        if !kept[i] {
            out.push(change(at.index(i), Op::Remove, Some(Cow::Borrowed(item)), None));
        }
    }
    // The keys both lists hold, in each one's order, listed only if the orders differ: the
    // earlier list holds them in the order of its places, so they differ unless the later
    // list's matches come in that order too.
    if !matches.iter().flatten().is_sorted() {
        let listed = |items: &mut dyn Iterator<Item = &'a Value>| {
            Cow::Owned(items.filter_map(|item| item_key(parent, item)).map(|k| Value::from(k.as_ref())).collect())
        };
        let mut common_before = before.iter().zip(&kept).filter(|(_, kept)| **kept).map(|(item, _)| item);
        let mut common_after = after.iter().zip(&matches).filter(|(_, j)| j.is_some()).map(|(item, _)| item);
        out.push(change(at.clone(), Op::Reorder, Some(listed(&mut common_before)), Some(listed(&mut common_after))));
    }
    for (i, (item, j)) in after.iter().zip(&matches).enumerate() {
        match j {
            Some(j) => diff_values(&before[*j as usize], item, &at.index(i), None, out),
            None => out.push(change(at.index(i), Op::Add, None, Some(Cow::Borrowed(item)))),
        }
    }
}

/// For each item of `after`, the place in `before` of the item with its merge key, if any:
/// `None` unless every item of both lists has a merge key and no two items of one list share
/// one.
fn match_items(before: &[Value], after: &[Value], parent: Option<&str>) -> Option<Vec<Option<u32>>> {
    u32::try_from(before.len()).ok()?;
    let mut places: HashMap<Cow<'_, str>, u32> = HashMap::with_capacity(before.len());
    for (j, item) in (0u32..).zip(before) {
        if places.insert(item_key(parent, item)?, j).is_some() {
            return None;
        }
    }
    let mut taken = vec![false; before.len()];
    // The keys of items only the later list holds: few, unless the list was replaced.
    let mut added: HashSet<Cow<'_, str>> = HashSet::new();
    let mut matches = Vec::with_capacity(after.len());
    for item in after {
        let key = item_key(parent, item)?;
        match places.get(key.as_ref()) {
            Some(&j) if std::mem::replace(&mut taken[j as usize], true) => return None,
            Some(&j) => matches.push(Some(j)),
            None if !added.insert(key) => return None,
            None => matches.push(None),
        }
    }
    Some(matches)
}

/// Diffs two lists item by item by position.
fn diff_by_position<'a>(before: &'a [Value], after: &'a [Value], at: &Pointer, out: &mut Vec<Field<'a>>) {
    for i in 0..before.len().min(after.len()) {
        diff_values(&before[i], &after[i], &at.index(i), None, out);
    }
    for (i, item) in before.iter().enumerate().skip(after.len()).rev() {
        out.push(change(at.index(i), Op::Remove, Some(Cow::Borrowed(item)), None));
    }
    for (i, item) in after.iter().enumerate().skip(before.len()) {
        out.push(change(at.index(i), Op::Add, None, Some(Cow::Borrowed(item))));
    }
}

/// Chart and version labels and `checksum/*` annotations change on every release without
/// changing anything that matters; `--ignore` adds pointers of your own.
fn suppressed(ptr: &Pointer, options: &Options) -> bool {
    if options.ignore.iter().any(|i| ptr.starts_with(i)) {
        return true;
    }
    if !options.default_ignores {
        return false;
    }
    let tokens: Vec<String> = ptr.tokens().collect();
    match tokens.as_slice() {
        [.., field, key] if field == "labels" => key == "helm.sh/chart" || key == "app.kubernetes.io/version",
        [.., field, key] if field == "annotations" => key.starts_with("checksum/"),
        _ => false,
    }
}

/// Resources a rule turned into another kind in place (`external-secrets`: a Secret into an
/// ExternalSecret): the rule by their new key and by their old key. A diff shows the old one
/// removed and the new one added, both attributed to that rule.
fn replaced_in_place(changes: &[Change]) -> (HashMap<Key, RuleId>, HashMap<Key, RuleId>) {
    let (mut by_new, mut by_old) = (HashMap::new(), HashMap::new());
    let api_versions: HashMap<_, _> = changes
        .iter()
        .filter(|c| c.pointer.as_str() == "/apiVersion")
        .map(|c| (&c.resource, c.value.string()))
        .collect();
    for c in changes.iter().filter(|c| c.pointer.as_str() == "/kind" && c.op == crate::record::Op::Replace) {
        let api_version = api_versions.get(&c.resource).and_then(|v| v.as_deref()).unwrap_or(c.resource.api_version());
        let old = c.resource.key();
        let new = Key {
            group: crate::intern::text(crate::object::group_of(api_version)),
            kind: c.value.string().unwrap_or_default().into(),
            ..old.clone()
        };
        by_new.insert(new, c.rule);
        by_old.insert(old, c.rule);
    }
    (by_new, by_old)
}

/// A side's changes by resource, each resource's sorted by pointer.
fn by_key(changes: Changes<'_>) -> ByKey<'_> {
    let mut map: HashMap<KeyRef<'_>, Sorted<'_>> = HashMap::new();
    let overlays = match changes {
        Changes::Records(records) => {
            for c in records {
                map.entry(c.resource.key_ref()).or_insert_with(|| Sorted::Made(Vec::new())).extend([Made::Record(c)]);
            }
            &[][..]
        }
        Changes::Attributed(kept) => {
            for (id, fields) in kept.resources() {
                map.entry(id.key_ref())
                    .and_modify(|sorted| sorted.extend(fields.iter().map(Made::Kept)))
                    .or_insert(Sorted::Run(fields));
            }
            kept.overlays()
        }
    };
    for sorted in map.values_mut() {
        if let Sorted::Made(made) = sorted {
            made.sort_by(|a, b| a.pointer().as_str().cmp(b.pointer().as_str()));
        }
    }
    ByKey { map, overlays }
}

/// The changes a render recorded, by resource ([`by_key`]).
struct ByKey<'a> {
    map: HashMap<KeyRef<'a>, Sorted<'a>>,
    /// The overlays of the attribution they were kept in, if they were.
    overlays: &'a [Box<str>],
}

/// The changes a render recorded on one resource, sorted by pointer, so that those at, above
/// or below a field are found by search rather than by a pass over all of them (a resource
/// with thousands of fixed fields would otherwise cost their square).
///
/// A resource changed at one stage is the run its attribution kept, sorted, and read where it
/// is: both sides of a promotion copied every resource's fields, 4 MB of a stream of 8,000
/// Deployment and Service pairs (BENCHMARKS.md, "Twenty-third pass").
enum Sorted<'a> {
    Run(&'a [Kept]),
    /// Records, or the runs of a resource changed at more than one stage, gathered and sorted.
    Made(Vec<Made<'a>>),
}

impl<'a> Sorted<'a> {
    /// Adds `more`, gathering the changes in a list (copied from the run if they were one).
    fn extend(&mut self, more: impl IntoIterator<Item = Made<'a>>) {
        match self {
            Sorted::Made(made) => made.extend(more),
            Sorted::Run(run) => {
                let run: &'a [Kept] = run;
                *self = Sorted::Made(run.iter().map(Made::Kept).chain(more).collect());
            }
        }
    }

    /// The changes at `at`, below it, or above it.
    fn touching(&self, at: &Pointer) -> Vec<Made<'a>> {
        match self {
            Sorted::Run(run) => touching(run, at, Kept::pointer, Made::Kept),
            Sorted::Made(made) => touching(made, at, |m| m.pointer(), |m| *m),
        }
    }
}

/// The changes of `sorted` (sorted by pointer) at `at`, below it, or above it.
fn touching<'s, 'a, T>(
    sorted: &'s [T],
    at: &Pointer,
    pointer: impl Fn(&T) -> &Pointer,
    made: impl Fn(&'s T) -> Made<'a>,
) -> Vec<Made<'a>> {
    let from = |p: &str| sorted.partition_point(|c| pointer(c).as_str() < p);
    // At or below: a contiguous run of pointers that start with `at`'s text.
    let mut out: Vec<Made<'a>> = sorted[from(at.as_str())..]
        .iter()
        .take_while(|c| pointer(c).as_str().starts_with(at.as_str()))
        .filter(|c| pointer(c).starts_with(at))
        .map(&made)
        .collect();
    // Above: each ancestor's own run.
    let mut up = at.parent();
    while let Some(p) = up {
        out.extend(sorted[from(p.as_str())..].iter().take_while(|c| *pointer(c) == p).map(&made));
        up = p.parent();
    }
    out
}

/// The rules that recorded a change at, above or below this field: on the new side for
/// additions and replacements, on the old side for removals (and as a fallback).
fn attribute(
    c: &Field<'_>,
    key: KeyRef<'_>,
    before_key: Option<KeyRef<'_>>,
    to: &ByKey<'_>,
    from: &ByKey<'_>,
) -> Option<String> {
    let related = |side: &ByKey<'_>, key: KeyRef<'_>| -> Vec<String> {
        let mut rules: Vec<String> = side
            .map
            .get(&key)
            .map(|r| r.touching(&c.pointer))
            .unwrap_or_default()
            .into_iter()
            .map(|made| match made.author(side.overlays) {
                (RuleId::OverlayPatch, Some(o)) => format!("overlay-patch ({o})"),
                (rule, _) => rule.to_string(),
            })
            .collect();
        rules.sort();
        rules.dedup();
        rules
    };
    let mut rules = if c.op == Op::Remove { Vec::new() } else { related(to, key) };
    if rules.is_empty()
        && let Some(before_key) = before_key
    {
        rules = related(from, before_key);
    }
    (!rules.is_empty()).then(|| rules.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::diff::Format;

    fn side(label: &str, resources: Vec<Value>) -> Side<'static> {
        Side { label: label.into(), resources: resources.into_iter().map(Resource::from).collect(), ..Side::default() }
    }

    fn pod(containers: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": containers}})
    }

    #[test]
    fn resources_pair_by_key_in_order_then_by_hash_suffix() {
        let object = |kind: &str, name: &str| json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": name}});
        let from = side(
            "a",
            vec![
                object("ConfigMap", "a"),
                object("ConfigMap", "a"),
                object("Secret", "s-abcdefghij"),
                object("Pod", "p"),
            ],
        );
        let to = side(
            "b",
            vec![
                object("ConfigMap", "a"),
                object("Pod", "p"),
                object("ConfigMap", "a"),
                object("Secret", "s-0123456789"),
                object("ConfigMap", "a"),
                object("Pod", "gone-0123456789"),
            ],
        );
        let pairs: Vec<_> = match_resources(&from.resources, &to.resources)
            .into_iter()
            .map(|p| (p.before, p.after, p.renamed_from))
            .collect();
        // The n-th occurrence of a key pairs with the n-th; a third has none. Only a ConfigMap
        // or a Secret is paired by its name without the hash suffix.
        assert_eq!(
            pairs,
            [
                (Some(0), Some(0), None),
                (Some(3), Some(1), None),
                (Some(1), Some(2), None),
                (Some(2), Some(3), Some(2)),
                (None, Some(4), None),
                (None, Some(5), None),
            ]
        );
        let removed = side("a", vec![object("Pod", "x"), object("Pod", "y"), object("Pod", "x")]);
        let pairs: Vec<_> =
            match_resources(&removed.resources, &to.resources[1..2]).into_iter().map(|p| (p.before, p.after)).collect();
        assert_eq!(pairs, [(None, Some(0)), (Some(0), None), (Some(1), None), (Some(2), None)], "removed, in order");
    }

    /// Two streams as `compare` reads them: every document kept as text, read back only when
    /// the diff comes to it.
    fn sealed(text: &str) -> Vec<crate::read::Document<crate::read::Sealed>> {
        let docs = crate::read::parse(&[crate::read::Input::new("in", text)]).unwrap();
        docs.into_iter().map(|d| d.seal(true)).collect()
    }

    #[test]
    fn streams_kept_as_text_diff_as_their_values_do() {
        // "aHVudGVyMi1wYXNzd29yZA==" is "hunter2-password": learned from the Secret (kept as
        // text, or in a List kept as a value), it is hidden wherever else it appears.
        let from = "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\ndata: {password: aHVudGVyMi1wYXNzd29yZA==}\n---\n\
                    apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: in-list}, data: {k: '1'}}\n---\n\
                    apiVersion: v1\nkind: ConfigMap\nmetadata: {name: same}\ndata: {mode: '0755'}\n---\n\
                    apiVersion: v1\nkind: ConfigMap\nmetadata: {name: conf-abcdefghij}\ndata: {k: v}\n---\n\
                    apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n\
                    \x20     - {name: app, image: 'app:1', env: [{name: PLAIN, value: a}, {name: DSN, value: hunter2-password}]}\n";
        let to = "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\ndata: {password: aHVudGVyMi1wYXNzd29yZA==}\n---\n\
                  apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: in-list}, data: {k: '2'}}\n---\n\
                  apiVersion: v1\nkind: ConfigMap\nmetadata: {name: same}\ndata: {mode: '0755'}\n---\n\
                  apiVersion: v1\nkind: ConfigMap\nmetadata: {name: conf-0123456789}\ndata: {k: v}\n---\n\
                  apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n\
                  \x20     - {name: app, image: 'app:2', env: [{name: PLAIN, value: hunter2-password}, {name: DSN, value: b}]}\n";
        let values = |text: &str| -> Vec<Value> {
            let docs = crate::read::parse(&[crate::read::Input::new("in", text)]).unwrap();
            docs.into_iter().flat_map(crate::read::Document::into_resources).collect()
        };
        let (from_docs, to_docs) = (sealed(from), sealed(to));
        let (kept_from, kept_to) = (Side::of_sealed("a", &from_docs), Side::of_sealed("b", &to_docs));
        assert_eq!(kept_from.resources.iter().filter(|r| matches!(r, Resource::Sealed(..))).count(), 4);
        let (read_from, read_to) = (side("a", values(from)), side("b", values(to)));
        let style = crate::diff::Style { color: false, budget: 60_000, full_command: String::new() };
        for format in Format::ALL {
            let options = Options::default().for_format(format, false);
            let kept = diff(&kept_from, &kept_to, &options).unwrap();
            let read = diff(&read_from, &read_to, &options).unwrap();
            let text = crate::diff::render(&kept, format, &style);
            assert_eq!(text, crate::diff::render(&read, format, &style), "{format:?}");
            assert!(!text.contains("hunter2") && !text.contains("aHVudGVy"), "{format:?}: {text}");
            // The Secret and `same` did not change; the ConfigMap renamed by its hash suffix did.
            assert_eq!(kept.counts.unchanged, 2, "{format:?}");
            assert_eq!((kept.counts.changed, kept.counts.renamed), (2, 1), "{format:?}");
        }
    }

    #[test]
    fn only_the_json_format_keeps_resources_that_did_not_change() {
        let config = |name: &str, chart: &str, value: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"helm.sh/chart": chart}}, "data": {"k": value}});
        let from =
            side("a", vec![config("same", "x-1", "1"), config("noisy", "x-1", "1"), config("changed", "x-1", "1")]);
        let to =
            side("b", vec![config("same", "x-1", "1"), config("noisy", "x-2", "1"), config("changed", "x-1", "2")]);
        let json = diff(&from, &to, &Options::default().for_format(Format::Json, false)).unwrap();
        assert_eq!(json.resources.len(), 3, "the JSON format lists every resource");
        for format in [Format::Unified, Format::Markdown, Format::Brief, Format::JsonPatch] {
            let d = diff(&from, &to, &Options::default().for_format(format, false)).unwrap();
            let kept: Vec<String> = d.resources.iter().map(|r| r.id.to_string()).collect();
            // The unified format keeps each resource shown as its text, and no record of it.
            let texts: Vec<String> = d.texts.iter().map(|t| t.text().unwrap().into_owned()).collect();
            if format == Format::Unified {
                assert!(kept.is_empty());
                assert_eq!(texts.len(), 1);
                assert!(
                    texts[0].starts_with("diff --temper a/a/ConfigMap/changed b/b/ConfigMap/changed\n"),
                    "{texts:?}"
                );
            } else {
                assert_eq!(kept, ["ConfigMap/changed"], "{format:?}");
                assert!(texts.is_empty());
            }
            assert_eq!(
                serde_json::to_value(&d.counts).unwrap(),
                serde_json::to_value(&json.counts).unwrap(),
                "{format:?}"
            );
        }
        assert_eq!((json.counts.unchanged, json.counts.suppressed, json.counts.changed), (2, 1, 1));
    }

    #[test]
    fn inserting_a_container_is_one_addition() {
        let before = pod(json!([{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:1"}]));
        let after = pod(
            json!([{"name": "init", "image": "z:1"}, {"name": "a", "image": "x:1"}, {"name": "b", "image": "y:2"}]),
        );
        let d = diff(&side("a", vec![before]), &side("b", vec![after]), &Options::default()).unwrap();
        let ops: Vec<(String, Op)> = d.resources[0].changes.iter().map(|c| (c.pointer.to_string(), c.op)).collect();
        assert_eq!(ops, [("/spec/containers/0".into(), Op::Add), ("/spec/containers/2/image".into(), Op::Replace)]);
    }

    /// One change a diff should find: pointer, op, and the values before and after.
    type Expected = (String, Op, Option<Value>, Option<Value>);

    fn expected(pointer: &str, op: Op, before: Option<Value>, after: Option<Value>) -> Expected {
        (pointer.to_string(), op, before, after)
    }

    /// Diffs a Pod whose containers go from `before` to `after` (a container's `ports`, when
    /// the items have no name), and checks every change it finds, in order.
    fn check_list(before: Value, after: Value, expect: &[Expected]) {
        let wrap = |items: Value| match items[0].get("name") {
            Some(_) => pod(items),
            None => pod(json!([{"name": "c", "ports": items}])),
        };
        let d = diff(&side("a", vec![wrap(before)]), &side("b", vec![wrap(after)]), &Options::default()).unwrap();
        let value = |v: &Option<Json>| v.as_ref().map(|v| v.value().unwrap());
        let got: Vec<Expected> = d.resources[0]
            .changes
            .iter()
            .map(|c| (c.pointer.to_string(), c.op, value(&c.before), value(&c.after)))
            .collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn list_items_pair_by_merge_key_when_every_item_has_its_own() {
        let at = |p: &str| format!("/spec/containers{p}");
        let named = |names: &[&str]| Value::from(names.iter().map(|n| json!({"name": n})).collect::<Vec<_>>());
        // Removed (highest place first), reordered, then each later item in its order.
        check_list(
            named(&["a", "b", "c"]),
            named(&["c", "a", "d"]),
            &[
                expected(&at("/1"), Op::Remove, Some(json!({"name": "b"})), None),
                expected(&at(""), Op::Reorder, Some(json!(["a", "c"])), Some(json!(["c", "a"]))),
                expected(&at("/2"), Op::Add, None, Some(json!({"name": "d"}))),
            ],
        );
        check_list(
            named(&["a", "b"]),
            named(&["a", "x", "b"]),
            &[expected(&at("/1"), Op::Add, None, Some(json!({"name": "x"})))],
        );
        // By position when a key repeats in either list, even among the added items, or an
        // item has none (the same lists without a repeat pair by key).
        let renamed = |i: usize, b: &str, a: &str| {
            expected(&at(&format!("/{i}/name")), Op::Replace, Some(json!(b)), Some(json!(a)))
        };
        let by_position = [renamed(0, "a", "b"), renamed(1, "b", "x")];
        let added = expected(&at("/2"), Op::Add, None, Some(json!({"name": "x"})));
        check_list(
            named(&["a", "b"]),
            named(&["b", "x", "x"]),
            &[by_position[0].clone(), by_position[1].clone(), added],
        );
        check_list(named(&["a", "b", "a"]), named(&["b", "x", "a"]), &by_position);
        check_list(
            named(&["a", "b"]),
            named(&["b", "x"]),
            &[
                expected(&at("/0"), Op::Remove, Some(json!({"name": "a"})), None),
                expected(&at("/1"), Op::Add, None, Some(json!({"name": "x"}))),
            ],
        );
        check_list(
            named(&["a", "b"]),
            json!([{"name": "b"}, {"image": "x"}]),
            &[
                renamed(0, "a", "b"),
                expected(&at("/1/name"), Op::Remove, Some(json!("b")), None),
                expected(&at("/1/image"), Op::Add, None, Some(json!("x"))),
            ],
        );
        // Ports pair by port and protocol.
        let ports = |protocols: &[&str]| {
            Value::from(protocols.iter().map(|p| json!({"containerPort": 80, "protocol": p})).collect::<Vec<_>>())
        };
        check_list(
            ports(&["TCP", "UDP"]),
            ports(&["UDP", "TCP"]),
            &[expected(
                "/spec/containers/0/ports",
                Op::Reorder,
                Some(json!(["80/TCP", "80/UDP"])),
                Some(json!(["80/UDP", "80/TCP"])),
            )],
        );
    }

    #[test]
    fn api_version_bumps_are_changes_and_hash_suffixes_are_renames() {
        let old = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"}});
        let new = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"}});
        let cm1 = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg-5f7h9kb8mt"}, "data": {"a": "1"}});
        let cm2 = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg-2g9c4mtf6k"}, "data": {"a": "2"}});
        let d = diff(&side("a", vec![old, cm1]), &side("b", vec![new, cm2]), &Options::default()).unwrap();
        assert_eq!(d.resources[0].change_type, ChangeType::Changed);
        assert_eq!(d.resources[1].change_type, ChangeType::Renamed);
        assert_eq!(d.counts.renamed, 1);
        assert_eq!(d.counts.removed + d.counts.added, 0);
    }

    #[test]
    fn secrets_are_redacted_and_noise_suppressed() {
        let before = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "labels": {"helm.sh/chart": "x-1"}}, "data": {"k": "c2VjcmV0"}});
        let after = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "labels": {"helm.sh/chart": "x-2"}}, "data": {"k": "b3RoZXI="}});
        let d = diff(&side("a", vec![before]), &side("b", vec![after]), &Options::default()).unwrap();
        let r = &d.resources[0];
        assert_eq!(r.suppressed, 1);
        assert_eq!(r.changes.len(), 1);
        assert!(r.changes[0].redacted);
        let text = serde_json::to_string(&d).unwrap();
        assert!(!text.contains("c2VjcmV0") && !text.contains("b3RoZXI="), "{text}");
    }

    /// The rules `by_key` finds touching `at` on the resource named `name`, sorted.
    fn rules_touching(changes: Changes<'_>, name: &str, at: &str) -> Vec<String> {
        let side = by_key(changes);
        let key = KeyRef { group: "", kind: "Service", namespace: "", name };
        let at = Pointer::parse(at).unwrap();
        let mut rules: Vec<String> = side
            .map
            .get(&key)
            .map(|r| r.touching(&at))
            .unwrap_or_default()
            .into_iter()
            .map(|made| match made.author(side.overlays) {
                (rule, Some(overlay)) => format!("{rule} ({overlay})"),
                (rule, None) => rule.to_string(),
            })
            .collect();
        rules.sort();
        rules
    }

    #[test]
    fn changes_at_above_and_below_a_field_are_found_whether_recorded_or_attributed() {
        use crate::object::ResourceId;
        use crate::record::{Attribution, Op};
        let change = |rule, name: &str, pointer: &str| {
            let obj = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}});
            let pointer = Pointer::parse(pointer).unwrap().interned();
            Change::new(rule, ResourceId::of(1, None, &obj), pointer, Op::Add, None, Json::of(&json!(1)))
        };
        // Recorded out of pointer order: "a" at two stages (an overlay patch, then the rules),
        // "b" at one, as one run.
        let records = vec![
            change(RuleId::OverlayPatch, "a", "/spec/z").by_overlay("ops#0".into()),
            change(RuleId::PodSecurityContext, "b", "/spec/y/c"),
            change(RuleId::ResourceRequirements, "b", "/spec/y"),
            change(RuleId::PodSecurityContext, "a", "/spec/x/b"),
            change(RuleId::ResourceRequirements, "a", "/spec"),
            change(RuleId::PodSecurityContext, "a", "/spec/x"),
        ];
        let kept = Attribution::of(records.clone());
        let expect = [
            ("a", "/spec/x", vec!["pod-security-context", "pod-security-context", "resource-requirements"]),
            ("a", "/spec/z/w", vec!["overlay-patch (ops#0)", "resource-requirements"]),
            ("a", "/metadata", vec![]),
            ("b", "/spec/y", vec!["pod-security-context", "resource-requirements"]),
            ("b", "/spec/y/c", vec!["pod-security-context", "resource-requirements"]),
            ("b", "/spec/x", vec![]),
        ];
        for (name, at, rules) in expect {
            assert_eq!(rules_touching(Changes::Records(&records), name, at), rules, "records: {name} {at}");
            assert_eq!(rules_touching(Changes::Attributed(&kept), name, at), rules, "attributed: {name} {at}");
        }
    }
}
