//! `host-isolation`: the Pod Security Standards "baseline" controls, audited.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::object;
use crate::pointer::Pointer;
use crate::workload::containers;

use super::{Cx, Rule};

pub const DOC: &str = r#"Reports pods that reach into the node: host namespaces, hostPath, host ports, privileged containers and the other PSS "baseline" controls.

## What it does
Audits every pod template against the Pod Security Standards "baseline" profile:
`hostNetwork`, `hostPID`, `hostIPC`; `hostPath` volumes; `hostPort` on container ports; `privileged` containers;
capabilities added beyond the baseline set; `procMount` other than `Default`; sysctls outside the safe set;
SELinux `type` outside the container types and any SELinux `user` or `role`; an AppArmor profile other than the runtime's default or one loaded on the node (`RuntimeDefault`/`Localhost` in the field, `runtime/default`/`localhost/*` in the annotation);
Windows `hostProcess`; and the `host` field of probes and lifecycle handlers.
Containers, init containers and ephemeral containers are all checked.

## Why
Each of these lets a container see or change the node it runs on; a compromised pod with any of them is a compromised node.
They are explicit requests an application usually depends on (CNI agents, log shippers), so temper never removes them: it reports them, and an environment can enforce the rule, with exemptions for the workloads that need host access.

## Example
```yaml
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  template:
    spec:
      hostNetwork: true        # reported: /spec/template/spec/hostNetwork
      containers:
      - name: agent
        image: example/agent:1.0
```

## Parameters
- `extraSafeSysctls` (default `[]`): sysctls to accept beyond the Pod Security Standards safe set.
"#;

/// Capabilities the baseline profile allows containers to add.
const BASELINE_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// The safe sysctls of Pod Security Admission, as of Kubernetes 1.37.
const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
    "net.ipv4.tcp_slow_start_after_idle",
    "net.ipv4.tcp_notsent_lowat",
];

const SELINUX_TYPES: &[&str] = &["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"];

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Params {
    pub extra_safe_sysctls: Vec<String>,
}

impl Rule for Params {
    fn check(&self, cx: &mut Cx<'_>, obj: &mut Value) {
        let Some(w) = cx.workload else { return };
        let (spec_ptr, meta_ptr) = (w.spec.clone(), w.meta.clone());
        let Some(spec) = obj.pointer(spec_ptr.as_str()) else { return };
        for field in ["hostNetwork", "hostPID", "hostIPC"] {
            if spec.get(field) == Some(&json!(true)) {
                cx.violation(spec_ptr.key(field), format!("pod uses the host's {} namespace", &field[4..]));
            }
        }
        if let Some(volumes) = spec.get("volumes").and_then(Value::as_array) {
            for (i, v) in volumes.iter().enumerate() {
                if object::get(v, &["hostPath"]).is_some() {
                    let name = object::str_at(v, &["name"]).unwrap_or_default();
                    cx.violation(
                        spec_ptr.key("volumes").index(i).key("hostPath"),
                        format!("volume `{name}` mounts a host path"),
                    );
                }
            }
        }
        let psc = spec_ptr.key("securityContext");
        if let Some(sysctls) = object::get(spec, &["securityContext", "sysctls"]).and_then(Value::as_array) {
            for (i, s) in sysctls.iter().enumerate() {
                let name = object::str_at(s, &["name"]).unwrap_or_default();
                if !SAFE_SYSCTLS.contains(&name) && !self.extra_safe_sysctls.iter().any(|x| x == name) {
                    cx.violation(psc.key("sysctls").index(i), format!("unsafe sysctl {name}"));
                }
            }
        }
        let pod_sc = object::get(spec, &["securityContext"]).cloned();
        check_context(cx, pod_sc.as_ref(), &psc, "pod");
        let annotations = obj.pointer(meta_ptr.key("annotations").as_str()).and_then(Value::as_object);
        for (k, v) in annotations.into_iter().flatten() {
            // Baseline allows the runtime's default profile and profiles loaded on the node.
            let allowed = |p: &str| p.is_empty() || p == "runtime/default" || p.starts_with("localhost/");
            if k.starts_with("container.apparmor.security.beta.kubernetes.io/") && !v.as_str().is_some_and(allowed) {
                let message = match v.as_str().unwrap_or_default() {
                    "unconfined" => "AppArmor is unconfined".to_string(),
                    other => format!("AppArmor profile `{other}` is not allowed (only runtime/default and localhost/*)"),
                };
                cx.violation(meta_ptr.key("annotations").key(k), message);
            }
        }
        for slot in containers(obj, &spec_ptr, true) {
            // Read where it is: a container may hold a long list (its env), and nothing here
            // changes the object.
            let Some(c) = slot.get(obj) else { continue };
            let who = format!("container `{}`", slot.name);
            let sc_ptr = slot.ptr.key("securityContext");
            let sc = object::get(c, &["securityContext"]);
            if sc.and_then(|s| s.get("privileged")) == Some(&json!(true)) {
                cx.violation(sc_ptr.key("privileged"), format!("{who} is privileged"));
            }
            if let Some(added) = sc.and_then(|s| object::get(s, &["capabilities", "add"])).and_then(Value::as_array) {
                for (i, cap) in added.iter().enumerate() {
                    let name = cap.as_str().unwrap_or_default().to_ascii_uppercase();
                    if !BASELINE_CAPABILITIES.contains(&name.trim_start_matches("CAP_")) {
                        cx.violation(
                            sc_ptr.key("capabilities").key("add").index(i),
                            format!("{who} adds capability {name}"),
                        );
                    }
                }
            }
            if let Some(pm) = sc.and_then(|s| object::str_at(s, &["procMount"]))
                && pm != "Default"
            {
                cx.violation(sc_ptr.key("procMount"), format!("{who} uses procMount {pm}"));
            }
            check_context(cx, sc, &sc_ptr, &who);
            if let Some(ports) = c.get("ports").and_then(Value::as_array) {
                for (i, p) in ports.iter().enumerate() {
                    if p.get("hostPort").and_then(Value::as_i64).is_some_and(|h| h != 0) {
                        cx.violation(
                            slot.ptr.key("ports").index(i).key("hostPort"),
                            format!("{who} binds a host port"),
                        );
                    }
                }
            }
            for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
                host_field(cx, c, &slot.ptr, &[probe], &who);
            }
            for hook in ["postStart", "preStop"] {
                host_field(cx, c, &slot.ptr, &["lifecycle", hook], &who);
            }
        }
    }
}

/// The checks shared by pod and container security contexts.
fn check_context(cx: &mut Cx<'_>, sc: Option<&Value>, at: &Pointer, who: &str) {
    let Some(sc) = sc else { return };
    if let Some(se) = object::get(sc, &["seLinuxOptions"]) {
        let se_at = at.key("seLinuxOptions");
        if let Some(t) = object::str_at(se, &["type"])
            && !SELINUX_TYPES.contains(&t)
        {
            cx.violation(se_at.key("type"), format!("{who} uses SELinux type {t}"));
        }
        for field in ["user", "role"] {
            if object::str_at(se, &[field]).is_some_and(|v| !v.is_empty()) {
                cx.violation(se_at.key(field), format!("{who} sets an SELinux {field}"));
            }
        }
    }
    if let Some(profile) = object::str_at(sc, &["appArmorProfile", "type"])
        && !matches!(profile, "RuntimeDefault" | "Localhost")
    {
        let message = match profile {
            "Unconfined" => format!("{who} runs AppArmor unconfined"),
            other => format!("{who} uses AppArmor profile type {other} (only RuntimeDefault and Localhost)"),
        };
        cx.violation(at.key("appArmorProfile").key("type"), message);
    }
    if object::get(sc, &["windowsOptions", "hostProcess"]) == Some(&json!(true)) {
        cx.violation(at.key("windowsOptions").key("hostProcess"), format!("{who} is a Windows host process"));
    }
}

/// Probes and lifecycle handlers must not address another host.
fn host_field(cx: &mut Cx<'_>, container: &Value, at: &Pointer, path: &[&str], who: &str) {
    let Some(handler) = object::get(container, path) else { return };
    for kind in ["httpGet", "tcpSocket"] {
        if object::str_at(handler, &[kind, "host"]).is_some_and(|h| !h.is_empty()) {
            let ptr = path.iter().fold(at.clone(), |p, k| p.key(k)).key(kind).key("host");
            cx.violation(ptr, format!("{who} probes or hooks another host"));
        }
    }
}
