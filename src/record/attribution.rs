//! Changes reduced to who changed what ([`Attribution`]): what a review's render keeps of
//! them, since a diff reads the values it shows from the two sides, and of a render's records
//! only which rule (or overlay patch) changed which field.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::object::ResourceId;
use crate::pointer::Pointer;
use crate::record::{Change, RuleId};

/// The changes of a render reduced to who changed what: by resource, each field changed and
/// the rule that did, without the values or an identity per change. A review's render keeps
/// its changes this way, document by document, and `promote` keeps its first render's while
/// the second runs: on a stream of small workloads a render records 16 changes per Deployment
/// and Service pair, and a change kept whole takes about three times as much (48 bytes and
/// its value's text, against 16).
///
/// Only the changes a diff reads the value of are kept whole ([`Attribution::records`]).
#[derive(Clone, Debug, Default)]
pub struct Attribution {
    /// Each resource with the fields changed, resources in the order recorded: a run per
    /// resource for each stage that changed it (an overlay patch, then the rules), its fields
    /// sorted by pointer (`close`). A run is
    /// shared with the runs alike that this thread kept (`shared_run`): the workloads of one
    /// template get the same fixes, and a stream of small workloads kept 16 fields for each.
    resources: Vec<(ResourceId, Arc<[Field]>)>,
    /// What few attributions hold, boxed apart: a render keeps one attribution per document
    /// until every document is checked.
    rare: Option<Box<Rare>>,
}

/// What an [`Attribution`] holds only where an overlay patch or a change of kind was made.
#[derive(Clone, Debug, Default)]
struct Rare {
    /// The overlays named by changes that overlay patches made, each once.
    overlays: Vec<Box<str>>,
    /// The place of each of `overlays`, plus one.
    overlay_places: HashMap<Box<str>, u32>,
    /// The changes of an object's kind or version, whole: a diff reads from their values
    /// which resources a rule turned into another kind in place (a Secret into an
    /// ExternalSecret).
    records: Vec<Change>,
}

thread_local! {
    /// The runs of fields this thread kept, to share ([`shared_run`]).
    static RUNS: RefCell<HashSet<Run>> = RefCell::new(HashSet::new());
}

/// `fields` as a run, sharing the copy this thread kept of a run alike if it kept one.
fn shared_run(fields: Vec<Field>) -> Arc<[Field]> {
    RUNS.with_borrow_mut(|kept| {
        let run = Run(Arc::from(fields));
        if let Some(known) = kept.get(&run) {
            return Arc::clone(&known.0);
        }
        crate::intern::remember(kept, &run);
        run.0
    })
}

/// A run of fields in a thread's set, alike another if its fields name the same rules and
/// overlays and their pointers are the same copies: the pointers of records are this thread's
/// shared copies (`Pointer::interned`), so runs alike share them, and comparing the copies
/// reads no text. (Two runs of one text in different copies are kept apart: sharing changes
/// nothing a run says.)
#[derive(Clone)]
struct Run(Arc<[Field]>);

impl PartialEq for Run {
    fn eq(&self, other: &Run) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(other.0.iter())
                .all(|(a, b)| a.rule == b.rule && a.overlay == b.overlay && a.pointer.is_copy_of(&b.pointer))
    }
}

impl Eq for Run {}

impl Hash for Run {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_usize(self.0.len());
        for field in self.0.iter() {
            field.pointer.hash_copy(state);
            field.rule.hash(state);
            state.write_u32(field.overlay);
        }
    }
}

/// A field changed: its pointer, the rule, and (for an overlay patch) its overlay's place in
/// [`Attribution::overlays`], plus one; 0 for none.
#[derive(Clone, Debug)]
pub struct Field {
    pointer: Pointer,
    rule: RuleId,
    overlay: u32,
}

impl Field {
    pub fn pointer(&self) -> &Pointer {
        &self.pointer
    }

    pub fn rule(&self) -> RuleId {
        self.rule
    }

    /// The overlay whose patch made it, if one did (`overlays`: those of the [`Attribution`]
    /// it was kept in).
    pub fn overlay<'a>(&self, overlays: &'a [Box<str>]) -> Option<&'a str> {
        (self.overlay as usize).checked_sub(1).and_then(|i| overlays.get(i)).map(|o| &**o)
    }
}

impl Attribution {
    /// Who made `changes`.
    pub fn of(changes: Vec<Change>) -> Attribution {
        let mut kept = Attribution::default();
        kept.add(changes);
        kept
    }

    /// Adds who made `changes`, after what is kept: a change of the resource the last run
    /// names joins that run.
    pub fn add(&mut self, changes: Vec<Change>) {
        let mut open: Option<(ResourceId, Vec<Field>)> = None;
        for c in changes {
            let overlay = c.overlay().map_or(0, |o| self.overlay_place(o));
            let field = Field { pointer: c.pointer.clone(), rule: c.rule, overlay };
            match &mut open {
                Some((id, fields)) if *id == c.resource => fields.push(field),
                _ => {
                    self.close(open.take());
                    let reopened = self.resources.pop_if(|(id, _)| *id == c.resource);
                    let mut fields = reopened.map_or_else(Vec::new, |(_, run)| run.to_vec());
                    fields.push(field);
                    open = Some((c.resource.clone(), fields));
                }
            }
            if matches!(c.pointer.as_str(), "/kind" | "/apiVersion") {
                self.rare().records.push(c);
            }
        }
        self.close(open);
    }

    /// Keeps a run of fields once it is complete, sorted by pointer: a diff searches the
    /// fields of a resource by pointer, and reads a run kept sorted where it is, rather than a
    /// sorted copy of it for every resource.
    fn close(&mut self, run: Option<(ResourceId, Vec<Field>)>) {
        if let Some((id, mut fields)) = run {
            // Stable: fields of one pointer stay in the order they were recorded.
            fields.sort_by(|a, b| a.pointer.as_str().cmp(b.pointer.as_str()));
            self.resources.push((id, shared_run(fields)));
        }
    }

    /// Appends what `other` kept, after what this keeps.
    pub fn append(&mut self, other: Attribution) {
        let other_rare = other.rare.map(|rare| *rare).unwrap_or_default();
        let places: Vec<u32> = other_rare.overlays.iter().map(|o| self.overlay_place(o)).collect();
        let mut resources = other.resources;
        if !places.is_empty() {
            let moved = |field: &Field| {
                let place = (field.overlay as usize).checked_sub(1).and_then(|i| places.get(i));
                Field { overlay: place.copied().unwrap_or(field.overlay), ..field.clone() }
            };
            for (_, fields) in &mut resources {
                if fields.iter().any(|f| f.overlay > 0) {
                    *fields = fields.iter().map(moved).collect();
                }
            }
        }
        self.resources.extend(resources);
        if !other_rare.records.is_empty() {
            self.rare().records.extend(other_rare.records);
        }
    }

    /// Makes room for the runs of `parts`, which will be appended.
    pub fn reserve_for<'a>(&mut self, parts: impl Iterator<Item = &'a Attribution>) {
        self.resources.reserve_exact(parts.map(|p| p.resources.len()).sum());
    }

    fn rare(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }

    /// The place of `overlay` in [`Attribution::overlays`], plus one, added if it is not there.
    fn overlay_place(&mut self, overlay: &str) -> u32 {
        let rare = self.rare();
        if let Some(&place) = rare.overlay_places.get(overlay) {
            return place;
        }
        rare.overlays.push(overlay.into());
        let place = u32::try_from(rare.overlays.len()).unwrap_or(u32::MAX);
        rare.overlay_places.insert(overlay.into(), place);
        place
    }

    /// Each resource with fields its render changed, sorted by pointer (fields of one pointer
    /// in the order they were recorded): a resource changed at two stages is listed once for
    /// each.
    pub fn resources(&self) -> impl Iterator<Item = (&ResourceId, &[Field])> {
        self.resources.iter().map(|(id, fields)| (id, &**fields))
    }

    /// The overlays [`Field::overlay`] names.
    pub fn overlays(&self) -> &[Box<str>] {
        self.rare.as_ref().map_or(&[], |rare| &rare.overlays)
    }

    /// The changes kept whole: those of an object's kind or version.
    pub fn records(&self) -> &[Change] {
        self.rare.as_ref().map_or(&[], |rare| &rare.records)
    }

    /// How many changes were kept.
    pub fn len(&self) -> usize {
        self.resources.iter().map(|(_, fields)| fields.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// The number of the document of each run, in the order kept.
    pub fn documents(&self) -> impl Iterator<Item = usize> + '_ {
        self.resources.iter().map(|(id, _)| id.document())
    }
}
