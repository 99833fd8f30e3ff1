//! `external-secrets`: plaintext Secrets replaced, in place, by what makes them from a secret
//! manager.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::index::StreamSecret;
use crate::object;
use crate::pointer::Pointer;
use crate::record::RuleId;
use crate::workload::{Needs, containers};

use super::{Cx, Rule};

pub const DOC: &str = r#"Replaces each plaintext v1 Secret by an ExternalSecret or a SecretProviderClass that makes the same Secret, with the same name, type and keys, from a secret manager.

## What it does
Off until `provider` is set. Then every core `Secret` with values in `data` or `stringData` (except the types in `skipTypes`) is turned, in place, into:
- with `provider: external-secrets-operator`: an `ExternalSecret` (`external-secrets.io/v1`, served from External Secrets Operator 0.16.0 on, the only version served from 0.17.0 on) with `secretStoreRef` from the parameters, `target.name` the Secret's name, `target.template.type` its type (and its labels as `target.template.metadata.labels`), and one `data` entry per key, whose `remoteRef.key` (and `remoteRef.property`) come from the templates `remoteKey` (and `remoteProperty`);
- with `provider: csi`: a `SecretProviderClass` (`secrets-store.csi.x-k8s.io/v1`) for `csi.provider` (`azure`, `aws`, `gcp` or `vault`) with `csi.parameters`, the objects to fetch in that provider's format, and `secretObjects` that recreate the Secret. Every workload that reads the Secret (`env` `secretKeyRef`, `envFrom` `secretRef`, `secret` volumes, `imagePullSecrets`) gets a read-only CSI volume (`secrets-store.csi.k8s.io`, `volumeAttributes.secretProviderClass`) and a read-only mount at `csi.mountPath/<secret>` in the containers that read it (the first container when only the pod does): the driver creates the Secret only when a pod mounts the volume.

The document keeps its place in the stream, its name, namespace, labels and annotations; every field change is recorded (`apiVersion` and `kind` replaced, `data`, `stringData`, `type` and `immutable` removed, `spec` added). A removal is recorded with key names and byte lengths, never a value: no value reaches the output, the report, a diff or a log.
The report lists, per replaced Secret, what the operator must create in the secret manager (`todo` lines in the summary, `prerequisites` in the JSON report): remote names and keys, never values.
`plaintext-secrets`, which runs after this rule, then passes for the replaced Secrets.

Remote key templates take `{namespace}`, `{secret}` and `{key}`. `secrets` overrides them per Secret (by `name` or `namespace/name`), and `keys` in an override names the remote key of single keys.
With the Secrets Store CSI driver, the remote key is the object's name in the provider: the Azure Key Vault object name, the AWS Secrets Manager secret name or ARN, the full Google Secret Manager resource name (`projects/<project>/secrets/<name>/versions/<version>`), the Vault secret path (`remoteProperty`, else the Secret's key, is the field read there).

Image pull secrets and the CSI driver: the driver syncs only while a pod that mounts the volume runs, and deletes the Secret when the last of them is gone. A pull secret is read before the pod's containers start, so the pod whose mount creates it may first fail to pull (`ImagePullBackOff`) and succeed on a retry; a pull secret that no running pod mounts (one that only a ServiceAccount lists, or that only Jobs which have finished use) is never created, or disappears. Prefer `external-secrets-operator` for pull secrets.

## Why
A value rendered into a manifest lives on in the chart's values, the Helm release object, Git history and CI logs. The production guides sync credentials from the secret manager (Azure Key Vault, AWS Secrets Manager, Google Secret Manager, Vault) into the cluster through the Secrets Store CSI driver or an external secrets operator, so that manifests only name them.
Charts often ship their credentials as Secrets with no switch to turn them off; replacing them at render time keeps the chart as it is and the values out of everything temper writes.
External Secrets Operator writes the fetched keys into the Secret as they are when its template has no `data` (`pkg/controllers/externalsecret/externalsecret_controller_template.go`, v2.9.0), and the template's `metadata` replaces copying the ExternalSecret's own labels and annotations onto the Secret.

## Example
With `provider: external-secrets-operator, secretStoreRef: {kind: ClusterSecretStore, name: vault}`:
```yaml before
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
type: Opaque
stringData:
  password: hunter2
```
```yaml after
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: db
  namespace: shop
spec:
  refreshInterval: 1h
  secretStoreRef:
    kind: ClusterSecretStore
    name: vault
  target:
    name: db
    creationPolicy: Owner
    template:
      type: Opaque
  data:
  - secretKey: password
    remoteRef:
      key: shop/db/password
```
and the summary says `todo[external-secrets] Secret/shop/db: create in ClusterSecretStore vault: shop/db/password (key password)`.

## Refuses
- A Secret whose remote key template uses `{namespace}` while its namespace is the release namespace and temper was not told it: pass `--namespace`.
- With `csi`: a Secret that no workload of the stream reads (nothing would mount the volume, so the driver would never create it), one that only hooks read (Helm 3 never post-renders hooks, so they would not mount it), and one read by a workload exempted from this rule (it would not mount the volume). Such Secrets stay as they are, and `plaintext-secrets` reports them.
- A Secret exempted from this rule stays as it is.

## Parameters
- `provider` (default `null`: the rule does nothing): `external-secrets-operator` or `csi`.
- `secretStoreRef`: `kind` (`SecretStore` or `ClusterSecretStore`, default `SecretStore`) and `name` (required with `external-secrets-operator`).
- `refreshInterval` (default `1h`): how often External Secrets Operator reads the secret manager again.
- `csi`: `provider` (`azure`, `aws`, `gcp` or `vault`, required with `csi`), `parameters` (string values, such as `keyvaultName` and `tenantId`, `region`, `roleName` and `vaultAddress`; temper writes `objects`, or `secrets` for `gcp`, itself), `mountPath` (default `/mnt/secrets-store`).
- `remoteKey` (default `{namespace}/{secret}/{key}`) and `remoteProperty` (default `null`; External Secrets Operator and Vault only): templates of `{namespace}`, `{secret}` and `{key}`.
- `secrets` (default `{}`): per Secret (`name` or `namespace/name`), `remoteKey`, `remoteProperty` and `keys` (Secret key to remote key).
- `skipTypes` (default `[kubernetes.io/service-account-token, bootstrap.kubernetes.io/token, helm.sh/release.v1]`): Secret types left alone.

## Not fixed
- Moving to this rule under Helm: Helm creates the ExternalSecret first and deletes the old Secret at the end of the upgrade, after External Secrets Operator may have adopted it; pods that start in the gap fail until it is written again. Annotate the live Secrets `helm.sh/resource-policy: keep` before the first upgrade.
- Turning the rule off later: Helm then fails on the Secret the operator or the driver made (`invalid ownership metadata`); delete it first.
- `checksum/secret` pod annotations no longer follow a change in the secret manager; a restarter (such as Reloader) does.
- Literal credentials in env values are not Secrets: `env-secret-literals` reports them.
"#;

/// Where the Secrets come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provider {
    ExternalSecretsOperator,
    Csi,
}

/// A provider of the Secrets Store CSI driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CsiProvider {
    Azure,
    Aws,
    Gcp,
    Vault,
}

impl CsiProvider {
    fn as_str(self) -> &'static str {
        match self {
            CsiProvider::Azure => "azure",
            CsiProvider::Aws => "aws",
            CsiProvider::Gcp => "gcp",
            CsiProvider::Vault => "vault",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct StoreRef {
    pub kind: String,
    pub name: String,
}

impl Default for StoreRef {
    fn default() -> StoreRef {
        StoreRef { kind: "SecretStore".into(), name: String::new() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Csi {
    pub provider: CsiProvider,
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
    #[serde(default = "mount_path")]
    pub mount_path: String,
}

fn mount_path() -> String {
    "/mnt/secrets-store".into()
}

/// Per-Secret overrides.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct SecretOverride {
    pub remote_key: Option<String>,
    pub remote_property: Option<String>,
    /// Secret key to remote key, verbatim.
    pub keys: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Params {
    pub provider: Option<Provider>,
    pub secret_store_ref: StoreRef,
    pub refresh_interval: String,
    pub csi: Option<Csi>,
    pub remote_key: String,
    pub remote_property: Option<String>,
    pub secrets: BTreeMap<String, SecretOverride>,
    pub skip_types: Vec<String>,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            provider: None,
            secret_store_ref: StoreRef::default(),
            refresh_interval: "1h".into(),
            csi: None,
            remote_key: "{namespace}/{secret}/{key}".into(),
            remote_property: None,
            secrets: BTreeMap::new(),
            skip_types: ["kubernetes.io/service-account-token", "bootstrap.kubernetes.io/token", "helm.sh/release.v1"]
                .map(String::from)
                .to_vec(),
        }
    }
}

const PLACEHOLDERS: [&str; 3] = ["namespace", "secret", "key"];

/// Checks a template: `{name}` placeholders of [`PLACEHOLDERS`] only, braces paired.
fn check_template(field: &str, template: &str) -> Result<(), String> {
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err(format!("{field}: `{template}` has a `}}` without its `{{`"));
        }
        let Some(close) = rest[open..].find('}') else {
            return Err(format!("{field}: `{template}` has a `{{` without its `}}`"));
        };
        let name = &rest[open + 1..open + close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!("{field}: `{template}` uses `{{{name}}}`; the placeholders are {{namespace}}, {{secret}} and {{key}}"));
        }
        rest = &rest[open + close + 1..];
    }
    if template.trim().is_empty() {
        return Err(format!("{field}: the template is empty"));
    }
    Ok(())
}

fn fill(template: &str, namespace: &str, secret: &str, key: &str) -> String {
    template.replace("{namespace}", namespace).replace("{secret}", secret).replace("{key}", key)
}

/// Where one key of a Secret comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Remote {
    key: String,
    remote: String,
    property: Option<String>,
}

/// What replacing one Secret takes: its keys' remote objects.
#[derive(Clone, Debug)]
struct Plan {
    remotes: Vec<Remote>,
}

impl Rule for Params {
    fn validate(&self) -> Result<(), String> {
        let mut templates = vec![("remoteKey".to_string(), self.remote_key.clone())];
        templates.extend(self.remote_property.iter().map(|p| ("remoteProperty".to_string(), p.clone())));
        for (name, o) in &self.secrets {
            templates.extend(o.remote_key.iter().map(|t| (format!("secrets.{name}.remoteKey"), t.clone())));
            templates.extend(o.remote_property.iter().map(|t| (format!("secrets.{name}.remoteProperty"), t.clone())));
        }
        for (field, template) in &templates {
            check_template(field, template)?;
        }
        match self.provider {
            None => {}
            Some(Provider::ExternalSecretsOperator) => {
                if self.secret_store_ref.name.trim().is_empty() {
                    return Err("secretStoreRef.name: `provider: external-secrets-operator` reads from a SecretStore or ClusterSecretStore; name it".into());
                }
                if !matches!(self.secret_store_ref.kind.as_str(), "SecretStore" | "ClusterSecretStore") {
                    return Err(format!(
                        "secretStoreRef.kind: `{}` is neither SecretStore nor ClusterSecretStore",
                        self.secret_store_ref.kind
                    ));
                }
            }
            Some(Provider::Csi) => {
                let Some(csi) = &self.csi else {
                    return Err("csi: `provider: csi` needs `csi.provider` (azure, aws, gcp or vault) and its `parameters`".into());
                };
                let own = if csi.provider == CsiProvider::Gcp { "secrets" } else { "objects" };
                if csi.parameters.contains_key(own) {
                    return Err(format!("csi.parameters.{own}: temper writes `{own}` from the Secrets it replaces; leave it out"));
                }
                let properties = self.remote_property.is_some() || self.secrets.values().any(|o| o.remote_property.is_some());
                if properties && csi.provider != CsiProvider::Vault {
                    return Err(format!("remoteProperty: the {} provider of the CSI driver reads whole objects; remoteProperty is for external-secrets-operator and vault", csi.provider.as_str()));
                }
                if csi.provider == CsiProvider::Gcp {
                    let mut keys = vec![("remoteKey".to_string(), self.remote_key.clone())];
                    for (name, o) in &self.secrets {
                        keys.extend(o.remote_key.iter().map(|t| (format!("secrets.{name}.remoteKey"), t.clone())));
                        keys.extend(o.keys.iter().map(|(k, t)| (format!("secrets.{name}.keys.{k}"), t.clone())));
                    }
                    if let Some((field, key)) = keys.iter().find(|(_, k)| !k.starts_with("projects/")) {
                        return Err(format!("{field}: `{key}` is not a Google Secret Manager resource name; the gcp provider needs `projects/<project>/secrets/<name>/versions/<version>`"));
                    }
                }
            }
        }
        Ok(())
    }

    fn check(&self, cx: &mut Cx<'_>, obj: &mut Value) {
        if self.provider.is_none() {
            return;
        }
        if *cx.id.kind() == *"Secret" && *cx.id.api_version() == *"v1" {
            self.replace_secret(cx, obj);
        } else if self.provider == Some(Provider::Csi) && cx.workload.is_some() && cx.fixes() {
            self.mount(cx, obj);
        }
    }
}

impl Params {
    fn override_for(&self, ns: Option<&str>, name: &str) -> Option<&SecretOverride> {
        ns.and_then(|ns| self.secrets.get(&format!("{ns}/{name}"))).or_else(|| self.secrets.get(name))
    }

    /// What replacing the Secret `name` in `ns` takes, or why it is refused; `None` when the
    /// rule leaves it alone. `others` also refuses what the Secret's own exemption and its
    /// readers' decide (asked from a reader, which cannot see the Secret's exemption itself).
    fn plan(&self, rule: RuleId, ns: &Option<String>, secret: &StreamSecret, others: bool) -> Option<Result<Plan, String>> {
        if self.skip_types.contains(&secret.secret_type) || others && secret.waivers.get(rule).is_some() {
            return None;
        }
        let name = &*secret.id.name;
        let o = self.override_for(ns.as_deref(), name);
        let key_template = o.and_then(|o| o.remote_key.as_deref()).unwrap_or(&self.remote_key);
        let property_template = o.and_then(|o| o.remote_property.as_deref()).or(self.remote_property.as_deref());
        let needs_namespace = secret.keys.iter().any(|k| o.is_none_or(|o| !o.keys.contains_key(k)))
            && (key_template.contains("{namespace}") || property_template.is_some_and(|p| p.contains("{namespace}")));
        let namespace = match ns {
            Some(ns) => ns.as_str(),
            None if needs_namespace => {
                return Some(Err("not replaced: the remote key template uses {namespace}, and this Secret goes to the release namespace, which temper was not told: pass the release namespace with --namespace (Helm: --post-renderer-args --namespace=NAMESPACE)".into()));
            }
            None => "",
        };
        if self.provider == Some(Provider::Csi) {
            let pods: Vec<_> = secret.readers.iter().filter(|r| !r.hook).collect();
            if secret.readers.is_empty() {
                return Some(Err("not replaced: no workload in this stream reads it, and the CSI driver creates a Secret only when a pod mounts its volume; use provider external-secrets-operator for it, or exempt it".into()));
            }
            if pods.is_empty() {
                return Some(Err("not replaced: only hooks read it, which Helm 3 never post-renders, so no pod would mount the CSI volume that creates it; use provider external-secrets-operator for it".into()));
            }
            if let Some(r) = secret.readers.iter().find(|r| r.waivers.get(rule).is_some()) {
                return Some(Err(format!("not replaced: {} reads it and is exempted from external-secrets, so it would not mount the CSI volume that creates it", r.id)));
            }
        }
        // A Vault secret is a set of fields: without a property template, the field is the key.
        let vault = self.csi.as_ref().is_some_and(|c| c.provider == CsiProvider::Vault) && self.provider == Some(Provider::Csi);
        let remotes = secret
            .keys
            .iter()
            .map(|key| {
                let exact = o.and_then(|o| o.keys.get(key)).cloned();
                let property = property_template.map(|p| fill(p, namespace, name, key));
                Remote {
                    key: key.clone(),
                    remote: exact.unwrap_or_else(|| fill(key_template, namespace, name, key)),
                    property: property.or_else(|| vault.then(|| key.clone())),
                }
            })
            .collect();
        Some(Ok(Plan { remotes }))
    }

    /// The Secret itself: replaced in place, refused, or reported.
    fn replace_secret(&self, cx: &mut Cx<'_>, obj: &mut Value) {
        let ns = cx.index.namespace_of(obj);
        let Some(secret) = cx.index.stream_secret(&ns, object::name(obj)).filter(|s| s.id == *cx.id) else { return };
        let plan = match self.plan(cx.rule, &ns, secret, false) {
            None => return,
            Some(Err(reason)) => {
                cx.refuse(Pointer::root(), reason);
                return;
            }
            Some(Ok(plan)) => plan,
        };
        let (kind, place) = match &self.csi {
            Some(csi) if self.provider == Some(Provider::Csi) => {
                let parameters: Vec<String> = csi.parameters.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                let provider = format!("the {} provider of the Secrets Store CSI driver", csi.provider.as_str());
                let place = if parameters.is_empty() { provider } else { format!("{provider} ({})", parameters.join(", ")) };
                ("a SecretProviderClass", place)
            }
            _ => ("an ExternalSecret", format!("{} {}", self.secret_store_ref.kind, self.secret_store_ref.name)),
        };
        let message = format!(
            "Secret carries plaintext values; the fix replaces it by {kind} reading {} from {place}",
            describe(&plan.remotes)
        );
        if !cx.fixes() {
            cx.violation(Pointer::root(), message);
            return;
        }
        let secret_type = secret.secret_type.clone();
        let immutable = obj.get("immutable") == Some(&Value::Bool(true));
        let labels = object::labels(obj).clone();
        let name = object::name(obj).to_string();
        let kind = kind.trim_start_matches("an ").trim_start_matches("a ");
        let (api_version, spec) = match self.provider {
            Some(Provider::Csi) => ("secrets-store.csi.x-k8s.io/v1", self.provider_class(&name, &secret_type, &labels, &plan)),
            _ => ("external-secrets.io/v1", self.external_secret(&name, &secret_type, &labels, immutable, &plan)),
        };
        cx.replace(obj, &Pointer::root().key("apiVersion"), json!(api_version), &message);
        cx.replace(obj, &Pointer::root().key("kind"), json!(kind), &message);
        for field in ["data", "stringData", "type", "immutable"] {
            cx.remove(obj, &Pointer::root().key(field), &message);
        }
        cx.replace(obj, &Pointer::root().key("spec"), spec, &message);
        cx.require(place, checklist(&plan.remotes));
    }

    fn external_secret(&self, name: &str, secret_type: &str, labels: &Map<String, Value>, immutable: bool, plan: &Plan) -> Value {
        let mut template = json!({"type": secret_type});
        if !labels.is_empty() {
            template["metadata"] = json!({"labels": labels});
        }
        let mut target = json!({"name": name, "creationPolicy": "Owner", "template": template});
        if immutable {
            target["immutable"] = json!(true);
        }
        let data: Vec<Value> = plan
            .remotes
            .iter()
            .map(|r| {
                let mut remote = json!({"key": r.remote});
                if let Some(p) = &r.property {
                    remote["property"] = json!(p);
                }
                json!({"secretKey": r.key, "remoteRef": remote})
            })
            .collect();
        json!({
            "refreshInterval": self.refresh_interval,
            "secretStoreRef": {"kind": self.secret_store_ref.kind, "name": self.secret_store_ref.name},
            "target": target,
            "data": data,
        })
    }

    fn provider_class(&self, name: &str, secret_type: &str, labels: &Map<String, Value>, plan: &Plan) -> Value {
        let Some(csi) = &self.csi else { return json!({}) };
        let quoted = |s: &str| Value::String(s.to_string()).to_string();
        let mut objects = String::new();
        for r in &plan.remotes {
            let (remote, alias) = (quoted(&r.remote), quoted(&r.key));
            let entry = match csi.provider {
                CsiProvider::Azure => format!("  - |\n    objectName: {remote}\n    objectType: secret\n    objectAlias: {alias}\n"),
                CsiProvider::Aws => format!("- objectName: {remote}\n  objectType: \"secretsmanager\"\n  objectAlias: {alias}\n"),
                CsiProvider::Gcp => format!("- resourceName: {remote}\n  path: {alias}\n"),
                CsiProvider::Vault => {
                    let field = quoted(r.property.as_deref().unwrap_or(&r.key));
                    format!("- objectName: {alias}\n  secretPath: {remote}\n  secretKey: {field}\n")
                }
            };
            objects.push_str(&entry);
        }
        if csi.provider == CsiProvider::Azure {
            objects = format!("array:\n{objects}");
        }
        let mut parameters: Map<String, Value> = csi.parameters.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        let own = if csi.provider == CsiProvider::Gcp { "secrets" } else { "objects" };
        parameters.insert(own.into(), json!(objects));
        let data: Vec<Value> = plan.remotes.iter().map(|r| json!({"key": r.key, "objectName": r.key})).collect();
        let mut object = json!({"secretName": name, "type": secret_type, "data": data});
        if !labels.is_empty() {
            object["labels"] = json!(labels);
        }
        json!({"provider": csi.provider.as_str(), "parameters": parameters, "secretObjects": [object]})
    }

    /// A workload: the CSI volume of every replaced Secret it reads, mounted read-only.
    fn mount(&self, cx: &mut Cx<'_>, obj: &mut Value) {
        let Some(w) = cx.workload else { return };
        let Some(csi) = &self.csi else { return };
        let spec = w.spec.clone();
        let ns = cx.index.namespace_of(obj);
        let needs = Needs::of(obj, w);
        let mut done: Vec<&str> = Vec::new();
        for (name, _) in &needs.secrets {
            if done.contains(&name.as_str()) {
                continue;
            }
            done.push(name);
            let Some(secret) = cx.index.stream_secret(&ns, name) else { continue };
            if !matches!(self.plan(cx.rule, &ns, secret, true), Some(Ok(_))) {
                continue;
            }
            let volume = volume_name(name);
            let volumes = spec.key("volumes");
            let present = obj
                .pointer(volumes.as_str())
                .and_then(Value::as_array)
                .is_some_and(|v| v.iter().any(|v| object::str_at(v, &["name"]) == Some(volume.as_str())));
            if present {
                continue;
            }
            let message = format!("pod does not mount the CSI volume that creates Secret {name}");
            let item = json!({
                "name": volume,
                "csi": {"driver": "secrets-store.csi.k8s.io", "readOnly": true, "volumeAttributes": {"secretProviderClass": name}},
            });
            if !cx.append(obj, &volumes, item, &message) {
                continue;
            }
            let slots = containers(obj, &spec, false);
            let mut readers: Vec<Pointer> = slots
                .iter()
                .filter(|slot| slot.get(obj).is_some_and(|c| container_reads(c, name, &secret_volumes(obj, &spec, name))))
                .map(|slot| slot.ptr.clone())
                .collect();
            if readers.is_empty() {
                readers.extend(slots.iter().find(|s| s.list == "containers").map(|s| s.ptr.clone()));
            }
            let mount = json!({"name": volume, "mountPath": format!("{}/{name}", csi.mount_path.trim_end_matches('/')), "readOnly": true});
            for ptr in readers {
                cx.append(obj, &ptr.key("volumeMounts"), mount.clone(), &message);
            }
        }
    }
}

/// The names of the pod's volumes that carry the Secret `name`.
fn secret_volumes(obj: &Value, spec: &Pointer, name: &str) -> Vec<String> {
    let volumes = obj.pointer(spec.key("volumes").as_str()).and_then(Value::as_array);
    volumes
        .into_iter()
        .flatten()
        .filter(|v| {
            let mut sources = vec![*v];
            sources.extend(object::get(v, &["projected", "sources"]).and_then(Value::as_array).into_iter().flatten());
            sources.iter().any(|s| {
                object::str_at(s, &["secret", "secretName"]).or_else(|| object::str_at(s, &["secret", "name"])) == Some(name)
            })
        })
        .filter_map(|v| object::str_at(v, &["name"]).map(str::to_string))
        .collect()
}

/// Whether container `c` reads the Secret `name`: through env, envFrom, or a mount of one of
/// `volumes`.
fn container_reads(c: &Value, name: &str, volumes: &[String]) -> bool {
    let list = |field: &str| c.get(field).and_then(Value::as_array).into_iter().flatten();
    list("env").any(|e| object::str_at(e, &["valueFrom", "secretKeyRef", "name"]) == Some(name))
        || list("envFrom").any(|e| object::str_at(e, &["secretRef", "name"]) == Some(name))
        || list("volumeMounts").any(|m| object::str_at(m, &["name"]).is_some_and(|n| volumes.iter().any(|v| v == n)))
}

/// The CSI volume's name for the Secret `name`: a DNS label of at most 63 characters.
fn volume_name(name: &str) -> String {
    let full = format!("secrets-store-{name}");
    if full.len() <= 63 {
        return full;
    }
    let digest = Sha256::digest(name.as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{}-{hash}", full[..54].trim_end_matches(['-', '.']))
}

/// The remote objects, grouped: `a/b (properties x, y)` or `a/b/x`.
fn checklist(remotes: &[Remote]) -> Vec<String> {
    let mut grouped: Vec<(String, Vec<&Remote>)> = Vec::new();
    for r in remotes {
        match grouped.iter_mut().find(|(name, _)| *name == r.remote) {
            Some((_, list)) => list.push(r),
            None => grouped.push((r.remote.clone(), vec![r])),
        }
    }
    grouped
        .into_iter()
        .map(|(name, list)| {
            let parts: Vec<String> = list
                .iter()
                .map(|r| match &r.property {
                    Some(p) if p == &r.key => p.clone(),
                    Some(p) => format!("{p} (key {})", r.key),
                    None => format!("key {}", r.key),
                })
                .collect();
            if list.iter().all(|r| r.property.is_some()) {
                format!("{name} with properties {}", parts.join(", "))
            } else {
                format!("{name} ({})", parts.join(", "))
            }
        })
        .collect()
}

fn describe(remotes: &[Remote]) -> String {
    checklist(remotes).join(", ")
}
