//! Recognises Helm template markup left in the input: a chart (or one of its templates) given
//! to temper instead of what `helm template` renders from it.
//!
//! Rendered manifests legitimately hold `{{` in string values: Grafana dashboards
//! (`{{instance}}`), Prometheus and Alertmanager rules (`{{ $labels.pod }}`,
//! `{{ template "slack.text" . }}`), ArgoCD notification templates and Istio's injection
//! templates (which even use `.Values`, inside block scalars). So only Helm's own forms count,
//! and only where a value or a line starts:
//! - in a document that parses, a string value (or key) whose first action starts with
//!   `.Values`, `.Release`, `.Chart`, `.Capabilities`, `.Files` or `include`: Helm's built-in
//!   objects and its own function. `{{ template ...` does not count there, because
//!   Alertmanager configurations use it in rendered values;
//! - in a document that does not parse, a line (after its indentation and `- `) or a value
//!   (after `key: ` and an optional quote) whose action starts with those forms or with
//!   `template`, or whose action is a control (`if`, `with`, `range`, ...) on `.Values`,
//!   `.Release` or `.Chart`. Such a document is broken anyway; the markup says why.

use serde_json::Value;

use crate::pointer::Pointer;

/// Where actions of these forms start, after `{{`, an optional `-` and spaces.
const HELM_FORMS: &[&str] =
    &[".Values", ".Release", ".Chart", ".Capabilities", ".Files", "$.Values", "$.Release", "include "];

/// Forms that count only in a document that does not parse.
const UNPARSED_FORMS: &[&str] = &["template ", "include\t", "template\t"];

/// Built-in objects whose mention inside any action of an unparsed document is Helm's.
const HELM_OBJECTS: &[&str] = &[".Values.", ".Release.", ".Chart.", ".Capabilities."];

/// Whether `text` starts with a Helm action (`{{ .Values...`, `{{- include ...`). `parsed`
/// says whether the document around it parsed, which narrows the forms (see the module docs).
fn starts_with_helm_action(text: &str, parsed: bool) -> bool {
    let Some(rest) = text.strip_prefix("{{") else { return false };
    let rest = rest.strip_prefix('-').unwrap_or(rest).trim_start();
    if HELM_FORMS.iter().any(|form| rest.starts_with(form)) {
        return true;
    }
    if parsed {
        return false;
    }
    let action = rest.split("}}").next().unwrap_or(rest);
    UNPARSED_FORMS.iter().any(|form| rest.starts_with(form))
        || HELM_OBJECTS.iter().any(|object| action.contains(object))
}

/// The first line of a document that does not parse holding Helm markup where a line or a
/// value starts: its 1-based number within `body` and its text, trimmed.
pub fn in_text(body: &str) -> Option<(usize, String)> {
    for (i, line) in body.lines().enumerate() {
        let mut rest = line.trim_start();
        if rest.starts_with('#') {
            continue;
        }
        while let Some(after) = rest.strip_prefix("- ") {
            rest = after.trim_start();
        }
        let rest = rest.trim_start_matches(['"', '\'']);
        let value = rest.find(": ").map(|at| rest[at + 2..].trim_start().trim_start_matches(['"', '\'']));
        if starts_with_helm_action(rest, false) || value.is_some_and(|v| starts_with_helm_action(v, false)) {
            return Some((i + 1, line.trim().to_string()));
        }
    }
    None
}

/// The first string (value or key) of a parsed document that starts with a Helm action, with
/// its pointer and text (the first line of it).
pub fn in_value(value: &Value) -> Option<(Pointer, String)> {
    let found = |s: &str| starts_with_helm_action(s.trim_start(), true);
    let mut stack = vec![(Pointer::root(), value)];
    while let Some((at, v)) = stack.pop() {
        match v {
            Value::String(s) if found(s) => return Some((at, first_line(s))),
            Value::Array(items) => stack.extend(items.iter().enumerate().rev().map(|(i, item)| (at.index(i), item))),
            Value::Object(map) => {
                if let Some(key) = map.keys().find(|k| found(k)) {
                    return Some((at.key(key), first_line(key)));
                }
                let entries: Vec<_> = map.iter().map(|(k, item)| (at.key(k), item)).collect();
                stack.extend(entries.into_iter().rev());
            }
            _ => {}
        }
    }
    None
}

fn first_line(text: &str) -> String {
    text.trim_start().lines().next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn helm_forms_where_a_line_or_value_starts() {
        let chart = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\n  labels:\n    {{- include \"x.labels\" . | nindent 4 }}\n";
        assert_eq!(in_text(chart), Some((4, "name: {{ .Release.Name }}-cm".into())));
        assert_eq!(in_text("a:\n  {{- if .Values.enabled }}\n  b: 1\n").map(|f| f.0), Some(2));
        assert_eq!(in_text("a:\n- '{{ template \"x.name\" . }}'\n").map(|f| f.0), Some(2));
        assert_eq!(in_text("spec:\n  {{- toYaml .Values.spec | nindent 2 }}\n").map(|f| f.0), Some(2));
        // Not Helm's: Go templates of other tools, and markup in the middle of a value.
        assert_eq!(in_text("a: '{{ $labels.pod }}'\nb: x {{ .Values.y }}\n# {{ .Values.z }}\n"), None);
        assert_eq!(in_text("{{ if eq .serviceType \"slack\" }}\n{{ end }}\n"), None);
    }

    #[test]
    fn rendered_values_that_only_look_like_templates_pass() {
        let rendered = json!({
            "data": {
                "rules": "{{ $labels.instance }} is down",
                "slack": "{{ template \"slack.default.text\" . }}",
                "inject": "defaultTemplates: [sidecar]\n{{- if .Values.global.meshID }}\n",
                "legend": "{{instance}}",
            }
        });
        assert_eq!(in_value(&rendered), None);
        let chart = json!({"metadata": {"name": "x"}, "spec": {"image": " {{ .Values.image }}", "a": ["{{- include \"y\" . }}"]}});
        let (at, text) = in_value(&chart).unwrap();
        assert_eq!(at.as_str(), "/spec/image");
        assert_eq!(text, "{{ .Values.image }}");
    }
}
