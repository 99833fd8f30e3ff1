//! What a diff reads of the changes a render recorded: which rule (or overlay patch) changed
//! which field of which resource. A side holds its render's records, or only this much of
//! them ([`Attribution`]) when it waits for another render.

use std::collections::HashMap;

use crate::object::ResourceId;
use crate::pointer::Pointer;
use crate::record::{Change, RuleId};

/// The changes of a side's render, as a diff reads them.
#[derive(Debug, Clone, Copy)]
pub enum Changes<'a> {
    /// The render's own records (empty for a stream no render produced).
    Records(&'a [Change]),
    /// Who changed what, and nothing more: what a side keeps that waits for another render.
    Attributed(&'a Attribution),
}

impl Default for Changes<'_> {
    fn default() -> Self {
        Changes::Records(&[])
    }
}

impl<'a> Changes<'a> {
    /// The records, where the side kept them: a diff reads the values of the changes that
    /// turned a resource into another kind from the side it goes to, which keeps them all.
    pub fn records(self) -> &'a [Change] {
        match self {
            Changes::Records(changes) => changes,
            Changes::Attributed(_) => &[],
        }
    }
}

/// One field a render changed, as either kind of side holds it.
#[derive(Debug, Clone, Copy)]
pub enum Made<'a> {
    Record(&'a Change),
    Kept(&'a Field),
}

impl<'a> Made<'a> {
    pub fn pointer(self) -> &'a Pointer {
        match self {
            Made::Record(c) => &c.pointer,
            Made::Kept(f) => &f.pointer,
        }
    }

    /// The rule that made it, and the overlay for a change an overlay patch made (`overlays`:
    /// those of the [`Attribution`] it was kept in).
    pub fn author(self, overlays: &'a [Box<str>]) -> (RuleId, Option<&'a str>) {
        match self {
            Made::Record(c) => (c.rule, c.overlay()),
            Made::Kept(f) => {
                let overlay = (f.overlay as usize).checked_sub(1).and_then(|i| overlays.get(i)).map(|o| &**o);
                (f.rule, overlay)
            }
        }
    }
}

/// The changes of a render reduced to who changed what: by resource, each field changed and
/// the rule that did, without the values or an identity per change. `promote` keeps its first
/// render's changes this way while the second runs: on a stream of small workloads that
/// render records 16 changes per Deployment and Service pair, and a change kept whole takes
/// about three times as much (56 bytes, its value apart, against 24).
#[derive(Debug, Default)]
pub struct Attribution {
    resources: Vec<(ResourceId, Vec<Field>)>,
    /// The overlays named by changes that overlay patches made, each once.
    overlays: Vec<Box<str>>,
}

/// A field changed: its pointer, the rule, and (for an overlay patch) its overlay's place in
/// [`Attribution::overlays`], plus one; 0 for none.
#[derive(Debug)]
pub struct Field {
    pointer: Pointer,
    rule: RuleId,
    overlay: u32,
}

impl Attribution {
    /// Who made `changes`, by resource in the order each first appears.
    pub fn of(changes: Vec<Change>) -> Attribution {
        let mut kept = Attribution::default();
        let mut at: HashMap<ResourceId, usize> = HashMap::new();
        let mut overlay_at: HashMap<Box<str>, u32> = HashMap::new();
        for c in changes {
            let overlay = match c.overlay() {
                None => 0,
                Some(o) => *overlay_at.entry(o.into()).or_insert_with(|| {
                    kept.overlays.push(o.into());
                    u32::try_from(kept.overlays.len()).unwrap_or(u32::MAX)
                }),
            };
            let i = *at.entry(c.resource.clone()).or_insert_with(|| {
                kept.resources.push((c.resource.clone(), Vec::new()));
                kept.resources.len() - 1
            });
            kept.resources[i].1.push(Field { pointer: c.pointer, rule: c.rule, overlay });
        }
        for (_, fields) in &mut kept.resources {
            fields.shrink_to_fit();
        }
        kept
    }

    /// Each resource with the fields its render changed.
    pub fn resources(&self) -> impl Iterator<Item = (&ResourceId, &[Field])> {
        self.resources.iter().map(|(id, fields)| (id, fields.as_slice()))
    }

    /// The overlays [`Made::author`] names.
    pub fn overlays(&self) -> &[Box<str>] {
        &self.overlays
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Json, Op};
    use serde_json::json;

    fn change(rule: RuleId, name: &str, pointer: &str) -> Change {
        let obj = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}});
        let pointer = Pointer::parse(pointer).unwrap_or_else(Pointer::root);
        Change::new(rule, ResourceId::of(1, None, &obj), pointer, Op::Add, None, Json::of(&json!(true)))
    }

    /// (resource name, pointer, rule, overlay) of every change, by resource.
    fn listed(changes: Changes<'_>) -> Vec<(String, String, RuleId, Option<String>)> {
        let row = |name: &str, made: Made<'_>, overlays| {
            let (rule, overlay) = made.author(overlays);
            (name.to_string(), made.pointer().to_string(), rule, overlay.map(str::to_string))
        };
        match changes {
            Changes::Records(records) => records.iter().map(|c| row(&c.resource.name, Made::Record(c), &[])).collect(),
            Changes::Attributed(kept) => kept
                .resources()
                .flat_map(|(id, fields)| fields.iter().map(|f| row(&id.name, Made::Kept(f), kept.overlays())))
                .collect(),
        }
    }

    #[test]
    fn an_attribution_lists_what_the_records_list_by_resource() {
        let records = vec![
            change(RuleId::OverlayPatch, "a", "/spec/x").by_overlay("ops#0".into()),
            change(RuleId::OverlayPatch, "b", "/spec/y").by_overlay("ops#1".into()),
            change(RuleId::OverlayPatch, "a", "/spec/z").by_overlay("ops#0".into()),
        ];
        let from_records = listed(Changes::Records(&records));
        let kept = Attribution::of(records);
        let mut expected = from_records.clone();
        // By resource: the second change of `a` comes before the change of `b`.
        expected.swap(1, 2);
        assert_eq!(listed(Changes::Attributed(&kept)), expected);
        assert_eq!(kept.overlays.len(), 2, "each overlay is kept once");
        assert!(Changes::Attributed(&kept).records().is_empty());
    }
}
