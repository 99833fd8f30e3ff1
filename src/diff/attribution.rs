//! What a diff reads of the changes a render recorded: which rule (or overlay patch) changed
//! which field of which resource. A side holds its render's records, or only this much of
//! them ([`Attribution`]), as a review's render keeps them.

use crate::pointer::Pointer;
use crate::record::{Attribution, Change, Field, RuleId};
use crate::report::Report;

/// The changes of a side's render, as a diff reads them.
#[derive(Debug, Clone, Copy)]
pub enum Changes<'a> {
    /// The render's own records (empty for a stream no render produced).
    Records(&'a [Change]),
    /// Who changed what, and nothing more: what a review's render keeps.
    Attributed(&'a Attribution),
}

impl Default for Changes<'_> {
    fn default() -> Self {
        Changes::Records(&[])
    }
}

impl<'a> Changes<'a> {
    /// The changes `report`'s run recorded, as it kept them.
    pub fn of_report(report: &'a Report) -> Changes<'a> {
        match &report.attribution {
            Some(kept) => Changes::Attributed(kept),
            None => Changes::Records(&report.changes),
        }
    }

    /// The document and the pointer of each field changed.
    pub fn fields(self) -> Box<dyn Iterator<Item = (usize, &'a Pointer)> + 'a> {
        match self {
            Changes::Records(records) => Box::new(records.iter().map(|c| (c.resource.document(), &c.pointer))),
            Changes::Attributed(kept) => {
                Box::new(kept.resources().flat_map(|(id, fields)| fields.iter().map(|f| (id.document(), f.pointer()))))
            }
        }
    }

    /// The records a diff reads the values of: all of them, or those an [`Attribution`]
    /// keeps whole (the changes of a kind or version, which tell the resources a rule turned
    /// into another kind).
    pub fn records(self) -> &'a [Change] {
        match self {
            Changes::Records(changes) => changes,
            Changes::Attributed(kept) => kept.records(),
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
            Made::Kept(f) => f.pointer(),
        }
    }

    /// The rule that made it, and the overlay for a change an overlay patch made (`overlays`:
    /// those of the [`Attribution`] it was kept in).
    pub fn author(self, overlays: &'a [Box<str>]) -> (RuleId, Option<&'a str>) {
        match self {
            Made::Record(c) => (c.rule, c.overlay()),
            Made::Kept(f) => (f.rule(), f.overlay(overlays)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::ResourceId;
    use crate::record::{Json, Op};
    use serde_json::json;

    fn change(rule: RuleId, name: &str, pointer: &str) -> Change {
        let obj = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}});
        let pointer = Pointer::parse(pointer).unwrap_or_else(Pointer::root).interned();
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
    fn resources_given_the_same_fixes_share_one_run() {
        let fixes = |rule, name| vec![change(rule, name, "/spec/a"), change(rule, name, "/spec/b")];
        let mut kept = Attribution::of(fixes(RuleId::ExternalSecrets, "a"));
        kept.append(Attribution::of(fixes(RuleId::ExternalSecrets, "b")));
        kept.add(fixes(RuleId::OverlayPatch, "c"));
        let runs: Vec<&[Field]> = kept.resources().map(|(_, fields)| fields).collect();
        assert!(std::ptr::eq(runs[0], runs[1]), "runs alike are one copy");
        assert!(!std::ptr::eq(runs[0], runs[2]), "a run of other rules is apart");
        let rules: Vec<(String, RuleId)> =
            listed(Changes::Attributed(&kept)).into_iter().map(|(name, _, rule, _)| (name, rule)).collect();
        let expected = [("a", RuleId::ExternalSecrets), ("b", RuleId::ExternalSecrets), ("c", RuleId::OverlayPatch)];
        let expected: Vec<(String, RuleId)> =
            expected.iter().flat_map(|&(name, rule)| [(name.to_string(), rule), (name.to_string(), rule)]).collect();
        assert_eq!(rules, expected);
    }

    #[test]
    fn an_attribution_lists_what_the_records_list_and_keeps_whole_only_changes_of_kind() {
        let records = vec![
            change(RuleId::OverlayPatch, "a", "/spec/x").by_overlay("ops#0".into()),
            change(RuleId::OverlayPatch, "b", "/spec/y").by_overlay("ops#1".into()),
            change(RuleId::OverlayPatch, "b", "/spec/z").by_overlay("ops#0".into()),
            change(RuleId::ExternalSecrets, "a", "/kind"),
            change(RuleId::ExternalSecrets, "a", "/spec/data"),
        ];
        let expected = listed(Changes::Records(&records));
        let whole = Attribution::of(records.clone());
        assert_eq!(listed(Changes::Attributed(&whole)), expected);
        assert_eq!(whole.overlays().len(), 2, "each overlay is kept once");
        assert_eq!(whole.len(), 5);
        // Kept in parts, as a render keeps each document's, and joined: the second part names
        // its overlays in another order.
        let mut joined = Attribution::of(records[..2].to_vec());
        joined.append(Attribution::of(records[2..].to_vec()));
        assert_eq!(listed(Changes::Attributed(&joined)), expected);
        assert_eq!(joined.overlays().len(), 2, "each overlay is kept once");
        let whole_records: Vec<&str> =
            Changes::Attributed(&joined).records().iter().map(|c| c.pointer.as_str()).collect();
        assert_eq!(whole_records, ["/kind"]);
    }
}
