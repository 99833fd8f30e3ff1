//! Finds the source line of a JSON pointer inside a YAML document, for reports that point
//! reviewers at the text (SARIF regions). Only called for findings, never in the hot path.

use serde_saphyr::granit_parser::{Event, Parser};

use crate::pointer::Pointer;

enum Level {
    Seq { next: usize },
    Map { key: Option<String>, in_value: bool },
}

impl Level {
    fn token(&self) -> Option<String> {
        match self {
            Level::Seq { next } => next.checked_sub(1).map(|i| i.to_string()),
            Level::Map { key, in_value: true } => key.clone(),
            Level::Map { .. } => None,
        }
    }
}

/// The 1-based line of the node at `pointer` in `text`, or of its deepest ancestor present.
pub fn locate(text: &str, pointer: &Pointer) -> Option<usize> {
    let want: Vec<String> = pointer.tokens().collect();
    let mut options = serde_saphyr::granit_parser::Options::default();
    options.set_emit_comments(false);
    let mut stack: Vec<Level> = Vec::new();
    let mut best = None;
    let matches = |stack: &[Level]| {
        stack.len() <= want.len() && stack.iter().zip(&want).all(|(level, token)| level.token().as_ref() == Some(token))
    };
    for event in Parser::new_from_str_with_options(text, options) {
        let (event, span) = event.ok()?;
        let line = span.start.line();
        let is_collection = matches!(event, Event::SequenceStart(..) | Event::MappingStart(..));
        let is_node = is_collection || matches!(event, Event::Scalar(..) | Event::Alias(_));
        if is_node {
            match stack.last_mut() {
                Some(Level::Seq { next }) => *next += 1,
                Some(Level::Map { key, in_value }) if !*in_value => {
                    *key = match &event {
                        Event::Scalar(text, ..) => Some(text.to_string()),
                        _ => None,
                    };
                    *in_value = true;
                    if matches(&stack) {
                        if stack.len() == want.len() {
                            return Some(line);
                        }
                        best = Some(line);
                    }
                    if is_collection {
                        // A complex key: walk through it without matching anything inside.
                        stack.push(Level::Map { key: None, in_value: false });
                    }
                    continue;
                }
                _ => {}
            }
            if matches(&stack) {
                if stack.len() == want.len() {
                    return Some(line);
                }
                best = Some(line);
            }
        }
        match event {
            Event::SequenceStart(..) => stack.push(Level::Seq { next: 0 }),
            Event::MappingStart(..) => stack.push(Level::Map { key: None, in_value: false }),
            Event::SequenceEnd | Event::MappingEnd => {
                stack.pop();
                value_done(&mut stack);
            }
            Event::Scalar(..) | Event::Alias(_) => value_done(&mut stack),
            _ => {}
        }
    }
    best
}

fn value_done(stack: &mut [Level]) {
    if let Some(Level::Map { in_value, .. }) = stack.last_mut() {
        *in_value = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_and_items() {
        let text = "a: 1\nspec:\n  containers:\n  - name: x\n    image: y\n  - name: z\n";
        let p = Pointer::root().key("spec").key("containers");
        assert_eq!(locate(text, &p.index(1).key("name")), Some(6));
        assert_eq!(locate(text, &p.index(0).key("image")), Some(5));
        assert_eq!(locate(text, &Pointer::root().key("a")), Some(1));
        // Absent: the deepest ancestor that exists.
        assert_eq!(locate(text, &p.index(0).key("securityContext")), Some(4));
    }
}
