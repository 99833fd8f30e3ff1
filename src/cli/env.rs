//! `temper env`: the environments, and one of them fully resolved.

use std::fmt::Write as _;

use clap::Args;

use super::{ConfigArgs, EXIT_OK, write_stdout};

#[derive(Debug, Clone, Args)]
pub struct EnvArgs {
    /// Environment to print resolved (after `extends`); omit to list them
    pub name: Option<String>,
    #[command(flatten)]
    pub config: ConfigArgs,
}

pub fn run(args: &EnvArgs) -> anyhow::Result<u8> {
    let config = args.config.load()?;
    let mut out = String::new();
    let named = args.name.as_ref().map(|n| (n, "the ENV argument")).or(args.config.env.as_ref().map(|n| (n, "--env")));
    match named {
        Some((name, from)) => {
            let policy = config.resolve_from(name, from)?;
            out = temper::yaml::emit(&policy.resolved).map_err(anyhow::Error::msg)?;
        }
        None => {
            let default = config.default_environment().ok();
            for (name, extends, description) in config.environments() {
                let marker = if default.as_deref() == Some(name) { " (default)" } else { "" };
                let parent = extends.map(|e| format!(" extends {e}")).unwrap_or_default();
                let _ = writeln!(out, "{name}{parent}{marker}: {}", description.unwrap_or_default());
            }
        }
    }
    write_stdout(out.as_bytes())?;
    Ok(EXIT_OK)
}
