//! Read-only accessors for Kubernetes objects held as `serde_json::Value`, and the identity
//! (group, kind, namespace, name) that reports, matching and ordering use.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

/// The annotation Helm 4 puts on every document it sends to a post-renderer.
pub const HELM4_FILENAME: &str = "postrenderer.helm.sh/postrender-filename";

/// Who a resource is: its place in the stream and its Kubernetes identity.
///
/// Every change, violation and flow about a resource carries its identity, so it is shared
/// rather than copied: a clone is a reference count, not four strings (a stream of many small
/// objects records tens of thousands of findings).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceId(Arc<Identity>);

/// The fields of a [`ResourceId`], which reads them through `Deref`.
///
/// A stream of small objects keeps an identity per object, and one per object temper
/// generates: the version and kind, which a stream repeats, are one shared [`Type`], the
/// namespace is shared text, the document's number and the item's place are 32 bits each, and
/// an identity takes 48 bytes (it took 96 with the version and kind apart and the name's room,
/// and 64 with the numbers in 64 bits).
#[derive(PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identity {
    /// 1-based document number; 0 for resources temper generated ([`Identity::document`]).
    document: u32,
    /// Index in the `items` of a List document, plus one; 0 for none ([`Identity::item`]), so
    /// that identities order as with `None` before every index.
    item: u32,
    of_type: Arc<Type>,
    /// This thread's shared copy ([`crate::intern`]); `None`: the release namespace, or a
    /// cluster-scoped object.
    namespace: Option<Arc<str>>,
    pub name: Box<str>,
}

/// The API version and kind of identities: this thread's shared copy ([`Type::shared`]),
/// ordered as those fields are.
#[derive(PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Type {
    api_version: Arc<str>,
    kind: Arc<str>,
}

thread_local! {
    /// The types this thread made, kept as [`crate::intern`] keeps texts.
    static TYPES: std::cell::RefCell<std::collections::HashSet<Arc<Type>>> = Default::default();
}

impl Type {
    /// The type of `api_version` and `kind`: the copy this thread kept, if any.
    fn shared(api_version: &str, kind: &str) -> Arc<Type> {
        let of_type = Type { api_version: crate::intern::text(api_version), kind: crate::intern::text(kind) };
        TYPES.with_borrow_mut(|kept| crate::intern::shared(kept, of_type))
    }
}

impl Identity {
    /// 1-based document number; 0 for resources temper generated.
    pub fn document(&self) -> usize {
        self.document as usize
    }

    /// Index in the `items` of a List document.
    pub fn item(&self) -> Option<usize> {
        (self.item as usize).checked_sub(1)
    }

    /// Numbered as [`Identity::document`] and [`Identity::item`] read them. A stream's count of
    /// documents, or a List's of items, past 32 bits (a stream of hundreds of gigabytes) would
    /// share the last number.
    fn numbered(
        document: usize,
        item: Option<usize>,
        of_type: Arc<Type>,
        namespace: Option<Arc<str>>,
        name: Box<str>,
    ) -> Identity {
        let document = u32::try_from(document).unwrap_or(u32::MAX);
        let item = item.map_or(0, |i| u32::try_from(i).map_or(u32::MAX, |i| i.saturating_add(1)));
        Identity { document, item, of_type, namespace, name }
    }

    pub fn api_version(&self) -> &str {
        &self.of_type.api_version
    }

    pub fn kind(&self) -> &str {
        &self.of_type.kind
    }

    /// The kind as this thread's shared copy, for a record that keeps it.
    pub fn shared_kind(&self) -> Arc<str> {
        Arc::clone(&self.of_type.kind)
    }

    /// `None`: the release namespace, or a cluster-scoped object.
    pub fn namespace(&self) -> &Option<Arc<str>> {
        &self.namespace
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("document", &self.document())
            .field("item", &self.item())
            .field("api_version", &self.api_version())
            .field("kind", &self.kind())
            .field("namespace", self.namespace())
            .field("name", &self.name)
            .finish()
    }
}

impl Serialize for Identity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = s.serialize_struct("Identity", 6)?;
        out.serialize_field("document", &self.document())?;
        match self.item() {
            Some(item) => out.serialize_field("item", &item)?,
            None => out.skip_field("item")?,
        }
        out.serialize_field("apiVersion", self.api_version())?;
        out.serialize_field("kind", self.kind())?;
        match self.namespace() {
            Some(ns) => out.serialize_field("namespace", &**ns)?,
            None => out.skip_field("namespace")?,
        }
        out.serialize_field("name", &*self.name)?;
        out.end()
    }
}

impl std::ops::Deref for ResourceId {
    type Target = Identity;

    fn deref(&self) -> &Identity {
        &self.0
    }
}

impl fmt::Debug for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for ResourceId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl ResourceId {
    fn new(identity: Identity) -> ResourceId {
        ResourceId(Arc::new(identity))
    }

    pub fn of(document: usize, item: Option<usize>, obj: &Value) -> ResourceId {
        ResourceId::new(Identity::numbered(
            document,
            item,
            Type::shared(str_at(obj, &["apiVersion"]).unwrap_or_default(), kind(obj)),
            namespace(obj).map(crate::intern::text),
            name(obj).into(),
        ))
    }

    /// The identity of `obj` at `document` and `item`: `like` itself (shared, not copied) when
    /// it is that identity, as it is for a resource whose identity a stage already took and
    /// no rule changed; a new one otherwise. A stream of small objects keeps an identity per
    /// record about them, and each stage that takes its own copy adds four strings per resource.
    pub fn of_like(like: Option<&ResourceId>, document: usize, item: Option<usize>, obj: &Value) -> ResourceId {
        match like {
            Some(id)
                if id.document() == document
                    && id.item() == item
                    && id.api_version() == str_at(obj, &["apiVersion"]).unwrap_or_default()
                    && id.kind() == kind(obj)
                    && id.namespace().as_deref() == namespace(obj)
                    && *id.name == *name(obj) =>
            {
                id.clone()
            }
            _ => ResourceId::of(document, item, obj),
        }
    }

    /// The API group: empty for the core group.
    pub fn group(&self) -> &str {
        group_of(self.api_version())
    }

    /// The identity reports use for a namespace, which the stream may not define; `None` is
    /// the release namespace.
    pub fn of_namespace(ns: &Option<String>) -> ResourceId {
        ResourceId::new(Identity::numbered(
            0,
            None,
            Type::shared("v1", "Namespace"),
            None,
            ns.as_deref().unwrap_or("(release namespace)").into(),
        ))
    }

    /// The key of this resource across streams.
    pub fn key(&self) -> Key {
        self.key_ref().to_key()
    }

    /// [`ResourceId::key`], borrowed.
    pub fn key_ref(&self) -> KeyRef<'_> {
        KeyRef {
            group: self.group(),
            kind: self.kind(),
            namespace: self.namespace().as_deref().unwrap_or_default(),
            name: &self.name,
        }
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.namespace() {
            Some(ns) => write!(f, "{}/{}/{}", self.kind(), ns, self.name),
            None => write!(f, "{}/{}", self.kind(), self.name),
        }
    }
}

/// Who a resource is across streams: group, kind, namespace and name (not the version, and
/// not its place in a stream). Diffs match resources by it and the compliance hash names
/// them by it.
///
/// Its group, kind and namespace are this thread's shared copies ([`crate::intern`]): a diff of
/// a stream keeps a key per resource it shows, and they repeat a few kinds and namespaces.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub group: Arc<str>,
    pub kind: Arc<str>,
    pub namespace: Arc<str>,
    pub name: Box<str>,
}

impl Key {
    pub fn of(obj: &Value) -> Key {
        KeyRef::of(obj).to_key()
    }

    /// The key, borrowed.
    pub fn as_ref(&self) -> KeyRef<'_> {
        KeyRef { group: &self.group, kind: &self.kind, namespace: &self.namespace, name: &self.name }
    }
}

/// A [`Key`] borrowed from what it was read from (an object, an identity): a diff of two
/// streams matches every resource of both by key, and files every recorded change by it, and
/// owned keys took four strings each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyRef<'a> {
    pub group: &'a str,
    pub kind: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
}

impl<'a> KeyRef<'a> {
    pub fn of(obj: &'a Value) -> KeyRef<'a> {
        KeyRef { group: group(obj), kind: kind(obj), namespace: namespace(obj).unwrap_or_default(), name: name(obj) }
    }

    pub fn to_key(self) -> Key {
        Key {
            group: crate::intern::text(self.group),
            kind: crate::intern::text(self.kind),
            namespace: crate::intern::text(self.namespace),
            name: self.name.into(),
        }
    }
}

/// `Kind[.group]/[namespace/]name`, as kubectl writes resource names.
impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_ref().fmt(f)
    }
}

/// As the [`Key`] it borrows is written, without making one.
impl fmt::Display for KeyRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind)?;
        if !self.group.is_empty() {
            write!(f, ".{}", self.group)?;
        }
        if !self.namespace.is_empty() {
            write!(f, "/{}", self.namespace)?;
        }
        write!(f, "/{}", self.name)
    }
}

impl Serialize for Key {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The API group of an `apiVersion`: empty for the core group.
pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// The API group of an object: empty for the core group.
pub fn group(obj: &Value) -> &str {
    group_of(str_at(obj, &["apiVersion"]).unwrap_or_default())
}

pub fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    get(value, path)?.as_str()
}

pub fn get<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(key)).filter(|v| !v.is_null())
}

pub fn kind(obj: &Value) -> &str {
    str_at(obj, &["kind"]).unwrap_or_default()
}

pub fn name(obj: &Value) -> &str {
    str_at(obj, &["metadata", "name"]).or_else(|| str_at(obj, &["metadata", "generateName"])).unwrap_or_default()
}

pub fn namespace(obj: &Value) -> Option<&str> {
    str_at(obj, &["metadata", "namespace"]).filter(|ns| !ns.is_empty())
}

/// `metadata.labels`, or an empty map.
pub fn labels(obj: &Value) -> &Map<String, Value> {
    string_map(get(obj, &["metadata", "labels"]))
}

/// A copy of `map` with room for its entries only. A clone keeps the room the original grew
/// into (a mapping of one label takes 372 bytes of heap cloned, 165 copied so): this is for
/// copies kept per workload and per flow until the run is over.
pub fn sized_copy(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// `metadata.annotations`, or an empty map.
pub fn annotations(obj: &Value) -> &Map<String, Value> {
    string_map(get(obj, &["metadata", "annotations"]))
}

fn string_map(value: Option<&Value>) -> &Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    value.and_then(Value::as_object).unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

/// Whether `kind` is a list kind (`List`, `ConfigMapList`, ...) holding items to harden. A
/// list whose `items` is null holds none (ArgoCD drops such a document).
pub fn is_list(obj: &Value) -> bool {
    kind(obj).ends_with("List") && obj.get("items").is_some_and(|i| i.is_array() || i.is_null())
}

/// Checks what Kubernetes requires of every object before anything reads it: a kind and an
/// apiVersion, and string-valued labels and annotations. Returns the problem, if any.
pub fn validate(obj: &Value) -> Result<(), String> {
    let Some(map) = obj.as_object() else {
        return Err(format!("a Kubernetes object must be a mapping, not {}", type_name(obj)));
    };
    for field in ["apiVersion", "kind"] {
        match map.get(field) {
            Some(Value::String(s)) if !s.is_empty() => {}
            None | Some(Value::Null) => return Err(format!("`{field}` is missing")),
            Some(other) => return Err(format!("`{field}` must be a string, not {}", type_name(other))),
        }
    }
    let Some(meta) = map.get("metadata").filter(|m| !m.is_null()) else {
        return Ok(());
    };
    let Some(meta) = meta.as_object() else {
        return Err(format!("`metadata` must be a mapping, not {}", type_name(meta)));
    };
    for field in ["name", "namespace", "generateName"] {
        if let Some(v) = meta.get(field).filter(|v| !v.is_null() && !v.is_string()) {
            return Err(format!("`metadata.{field}` must be a string, not {}", type_name(v)));
        }
    }
    for field in ["labels", "annotations"] {
        match meta.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Object(entries)) => {
                if let Some((k, v)) = entries.iter().find(|(_, v)| !v.is_string()) {
                    return Err(format!("`metadata.{field}.{k}` must be a string, not {} (quote it)", type_name(v)));
                }
            }
            Some(other) => {
                return Err(format!("`metadata.{field}` must be a mapping, not {}", type_name(other)));
            }
        }
    }
    Ok(())
}

pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a sequence",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validation_names_the_field() {
        assert!(validate(&json!({"apiVersion": "v1", "kind": "ConfigMap"})).is_ok());
        assert_eq!(validate(&json!({"invalid": null})).unwrap_err(), "`apiVersion` is missing");
        assert_eq!(
            validate(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"labels": {"a": true}}}))
                .unwrap_err(),
            "`metadata.labels.a` must be a string, not a boolean (quote it)"
        );
    }

    #[test]
    fn identity() {
        let obj =
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}});
        let id = ResourceId::of(3, None, &obj);
        assert_eq!(id.to_string(), "Deployment/shop/web");
        assert_eq!(id.group(), "apps");
    }

    #[test]
    fn an_identity_keeps_its_numbers_in_48_bytes_and_orders_by_them() {
        assert!(std::mem::size_of::<Identity>() <= 48, "{} bytes", std::mem::size_of::<Identity>());
        let obj = json!({"apiVersion": "v1", "kind": "List", "metadata": {"name": "l"}});
        let (whole, first, tenth) =
            (ResourceId::of(7, None, &obj), ResourceId::of(7, Some(0), &obj), ResourceId::of(7, Some(9), &obj));
        assert_eq!((whole.document(), whole.item(), first.item(), tenth.item()), (7, None, Some(0), Some(9)));
        assert!(whole < first && first < tenth && tenth < ResourceId::of(8, None, &obj));
        let json = serde_json::to_value(&first).unwrap();
        assert_eq!((json["document"].clone(), json["item"].clone()), (json!(7), json!(0)));
        assert!(serde_json::to_value(&whole).unwrap().get("item").is_none());
    }

    #[test]
    fn an_identity_is_shared_only_while_it_is_the_objects() {
        let obj =
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}});
        let id = ResourceId::of(3, None, &obj);
        let shared = ResourceId::of_like(Some(&id), 3, None, &obj);
        assert!(Arc::ptr_eq(&id.0, &shared.0));
        let mut renamed = obj.clone();
        renamed["metadata"]["name"] = json!("api");
        let other = [
            (ResourceId::of_like(Some(&id), 3, None, &renamed), "Deployment/shop/api"),
            (ResourceId::of_like(Some(&id), 4, None, &obj), "Deployment/shop/web"),
            (ResourceId::of_like(Some(&id), 3, Some(0), &obj), "Deployment/shop/web"),
            (ResourceId::of_like(None, 3, None, &obj), "Deployment/shop/web"),
        ];
        for (made, shown) in other {
            assert!(!Arc::ptr_eq(&id.0, &made.0), "{made:?}");
            assert_eq!(made.to_string(), shown);
        }
        assert_eq!(ResourceId::of_like(Some(&id), 4, None, &obj).document(), 4);
        let mut moved = obj.clone();
        moved["metadata"]["namespace"] = json!("web");
        assert_eq!(ResourceId::of_like(Some(&id), 3, None, &moved).to_string(), "Deployment/web/web");
    }
}
