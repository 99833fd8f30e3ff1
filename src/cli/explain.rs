//! `temper explain`: the rule catalog and each rule's documentation.

use std::fmt::Write as _;

use clap::Args;
use serde_json::json;

use temper::Config;
use temper::record::RuleId;

use super::{EXIT_OK, write_stdout};

#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// Rule id; omit to list every rule
    pub rule: Option<String>,
}

pub fn run(args: &ExplainArgs) -> anyhow::Result<u8> {
    let config = Config::builtin()?;
    let envs = ["dev", "staging", "prod"];
    let policies = envs.iter().map(|e| config.resolve(e)).collect::<Result<Vec<_>, _>>()?;
    let mut out = String::new();
    match &args.rule {
        None => {
            let _ = writeln!(out, "{:<28} {:<8} {:<8} {:<8} summary", "rule", "dev", "staging", "prod");
            for &id in RuleId::ALL {
                let modes: Vec<String> = policies.iter().map(|p| p.mode(id).to_string()).collect();
                let _ = writeln!(
                    out,
                    "{:<28} {:<8} {:<8} {:<8} {}",
                    id.as_str(),
                    modes[0],
                    modes[1],
                    modes[2],
                    id.summary()
                );
            }
            let _ = writeln!(
                out,
                "\n`temper explain RULE` shows a rule's documentation; `temper explain overlay-patch` explains overlay patches."
            );
        }
        Some(name) => {
            let id = RuleId::parse_from(name, "the RULE argument").map_err(anyhow::Error::msg)?;
            let _ = writeln!(out, "# {}\n", id.as_str());
            out.push_str(id.doc());
            if RuleId::ALL.contains(&id) {
                let modes: Vec<String> =
                    envs.iter().zip(&policies).map(|(e, p)| format!("{e}: {}", p.mode(id))).collect();
                let _ = writeln!(out, "\n## Modes in the built-in environments\n{}", modes.join(", "));
                let (_, defaults) = id.build(&json!({})).map_err(anyhow::Error::msg)?;
                let _ = write!(
                    out,
                    "\n## Default parameters\n```yaml\n{}```\n",
                    temper::yaml::emit(&defaults).map_err(anyhow::Error::msg)?
                );
            }
        }
    }
    write_stdout(out.as_bytes())?;
    Ok(EXIT_OK)
}
