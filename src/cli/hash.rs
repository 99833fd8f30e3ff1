//! `temper hash` and `temper verify`: the compliance hash of a render, and checking one.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use temper::compliance::{self, Entry, SecretValues};
use temper::read;
use temper::{Config, Settings};

use super::{ConfigArgs, EXIT_OK, EXIT_VIOLATION, InputArgs, ProcessArgs, write_file, write_stdout};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HashSecrets {
    /// Secret values enter the hash as their length only
    Length,
    /// Secret values enter the hash as HMAC-SHA256, keyed with $TEMPER_HMAC_KEY
    Hmac,
}

#[derive(Debug, Clone, Args)]
pub struct HashArgs {
    /// How Secret values enter the compliance hash
    #[arg(long, value_enum, default_value = "length", value_name = "MODE")]
    pub hash_secrets: HashSecrets,
}

impl HashArgs {
    pub fn secrets(&self) -> anyhow::Result<SecretValues> {
        match self.hash_secrets {
            HashSecrets::Length => Ok(SecretValues::Length),
            HashSecrets::Hmac => {
                let key = std::env::var("TEMPER_HMAC_KEY").unwrap_or_default();
                anyhow::ensure!(!key.is_empty(), "--hash-secrets hmac needs the key in $TEMPER_HMAC_KEY");
                Ok(SecretValues::Hmac(key.into_bytes()))
            }
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct HashCommand {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub hash: HashArgs,
    /// Also write an in-toto attestation of the rendered output to FILE
    #[arg(long, value_name = "FILE")]
    pub attestation: Option<PathBuf>,
    #[command(flatten)]
    pub process: ProcessArgs,
}

pub fn hash(args: &HashCommand) -> anyhow::Result<u8> {
    args.process.apply()?;
    let policy = args.config.policy()?;
    let inputs = args.input.read()?;
    let settings = Settings {
        release_namespace: args.input.namespace.clone(),
        fix: true,
        compliance: Some(args.hash.secrets()?),
        stamp: false,
    };
    let outcome = temper::run(&inputs, &policy, &settings)?;
    let c = outcome.report.compliance.as_ref().ok_or_else(|| anyhow::anyhow!("no compliance statement"))?;
    if let Some(path) = &args.attestation {
        let statement = compliance::attestation("manifests.yaml", outcome.output.as_bytes(), c);
        write_file(path, &(serde_json::to_string_pretty(&statement)? + "\n"))?;
    }
    write_stdout(format!("{}\n", c.compliance_hash).as_bytes())?;
    Ok(EXIT_OK)
}

#[derive(Debug, Clone, Args)]
pub struct VerifyCommand {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub input: InputArgs,
    /// The compliance hash the input must render to in the environment
    #[arg(long, value_name = "HASH", conflicts_with = "stamped", required_unless_present = "stamped")]
    pub hash: Option<String>,
    /// A stamped rendered stream to check against its own stamps
    #[arg(long, value_name = "FILE")]
    pub stamped: Option<PathBuf>,
    #[command(flatten)]
    pub secrets: HashArgs,
    #[command(flatten)]
    pub process: ProcessArgs,
}

pub fn verify(args: &VerifyCommand) -> anyhow::Result<u8> {
    args.process.apply()?;
    match (&args.hash, &args.stamped) {
        (Some(expected), _) => verify_hash(args, expected),
        (None, Some(file)) => verify_stamped(args, file),
        (None, None) => anyhow::bail!("give --hash HASH or --stamped FILE"),
    }
}

fn verify_hash(args: &VerifyCommand, expected: &str) -> anyhow::Result<u8> {
    let policy = args.config.policy()?;
    let inputs = args.input.read()?;
    let settings = Settings {
        release_namespace: args.input.namespace.clone(),
        fix: true,
        compliance: Some(args.secrets.secrets()?),
        stamp: false,
    };
    let outcome = temper::run(&inputs, &policy, &settings)?;
    let got = outcome.report.compliance.map(|c| c.compliance_hash).unwrap_or_default();
    if got == expected {
        write_stdout(format!("verified: {got} (environment {})\n", policy.environment).as_bytes())?;
        Ok(EXIT_OK)
    } else {
        eprintln!(
            "temper: verification failed: the input renders to {got} in environment `{}`, not {expected}",
            policy.environment
        );
        Ok(EXIT_VIOLATION)
    }
}

/// Checks a stamped stream: every resource carries consistent stamps, none was modified after
/// stamping, the environment's policy is unchanged, and re-evaluating its rules on the stream
/// gives the stamped compliance hash.
fn verify_stamped(args: &VerifyCommand, file: &std::path::Path) -> anyhow::Result<u8> {
    let secrets = args.secrets.secrets()?;
    let inputs = read::read_inputs(&[file.to_path_buf()])?;
    let docs = read::parse(&inputs)?;
    let fail = |message: String| -> anyhow::Result<u8> {
        eprintln!("temper: verification failed: {message}");
        Ok(EXIT_VIOLATION)
    };
    let mut stamps: Option<[String; 4]> = None;
    let mut outputs = Vec::new();
    for doc in &docs {
        for (_, obj) in doc.resources() {
            let id = temper::diff::Key::of(obj);
            let annotations = temper::object::annotations(obj);
            let get = |k: &str| annotations.get(k).and_then(|v| v.as_str()).map(str::to_string);
            let [Some(env), Some(hash), Some(policy), Some(input), Some(object)] = compliance::STAMPS.map(get) else {
                return fail(format!("{id} is not stamped"));
            };
            let these = [env, hash, policy, input];
            match &stamps {
                None => stamps = Some(these),
                Some(first) if *first != these => return fail(format!("{id} carries stamps of another render")),
                Some(_) => {}
            }
            let entry = Entry::of(obj, &secrets);
            if entry.digest != object {
                return fail(format!(
                    "{id} was modified after stamping (its object digest is {}, stamped {object})",
                    entry.digest
                ));
            }
            outputs.push(entry);
        }
    }
    let Some([env, hash, policy_digest, input_digest]) = stamps else {
        return fail("the stream holds no resources".into());
    };
    let config = Config::load(args.config.config.as_deref())?;
    let policy = config.resolve(&env)?;
    let current = compliance::policy_digest(&policy);
    if current != policy_digest {
        return fail(format!(
            "the policy of environment `{env}` changed since stamping (stamped {policy_digest}, now {current})"
        ));
    }
    let settings = Settings { release_namespace: args.input.namespace.clone(), fix: false, ..Settings::default() };
    let checked = temper::run(&inputs, &policy, &settings)?;
    let recomputed = compliance::statement(&policy, &input_digest, &compliance::set_digest(&outputs), &checked.report);
    if recomputed.compliance_hash != hash {
        return fail(format!(
            "re-evaluating environment `{env}` gives {} instead of the stamped {hash}; rule results: {}",
            recomputed.compliance_hash, recomputed.statement["rules"]
        ));
    }
    write_stdout(format!("verified: {hash} (environment {env}, {} resources)\n", outputs.len()).as_bytes())?;
    Ok(EXIT_OK)
}
