//! `temper explain`: the rule catalog and each rule's documentation, with each rule's mode in
//! every environment, the user's own (`--config`) included.

use std::fmt::Write as _;

use clap::Args;
use serde_json::json;

use temper::Policy;
use temper::record::RuleId;

use super::{ConfigDir, EXIT_OK, write_stdout};

#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// Rule id; omit to list every rule
    pub rule: Option<String>,
    #[command(flatten)]
    pub config: ConfigDir,
}

pub fn run(args: &ExplainArgs) -> anyhow::Result<u8> {
    let config = args.config.load()?;
    // Every environment, roots first: the built-in ones read dev, staging, prod.
    let mut policies: Vec<Policy> =
        config.environments().map(|(name, _, _)| config.resolve(name)).collect::<Result<_, _>>()?;
    policies.sort_by(|a, b| (a.chain.len(), &a.environment).cmp(&(b.chain.len(), &b.environment)));
    let widths: Vec<usize> = policies.iter().map(|p| p.environment.len().max(8)).collect();
    let mut out = String::new();
    match &args.rule {
        None => {
            let _ = write!(out, "{:<28} ", "rule");
            for (p, w) in policies.iter().zip(&widths) {
                let _ = write!(out, "{:<w$} ", p.environment);
            }
            let _ = writeln!(out, "summary");
            for &id in RuleId::ALL {
                let _ = write!(out, "{:<28} ", id.as_str());
                for (p, w) in policies.iter().zip(&widths) {
                    let _ = write!(out, "{:<w$} ", p.mode(id).as_str());
                }
                let _ = writeln!(out, "{}", id.summary());
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
                    policies.iter().map(|p| format!("{}: {}", p.environment, p.mode(id))).collect();
                let whose = if args.config.config.is_some() { "" } else { " built-in" };
                let _ = writeln!(out, "\n## Modes in the{whose} environments\n{}", modes.join(", "));
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
