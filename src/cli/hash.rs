//! `temper hash` and `temper verify`: the compliance hash of a render, and checking one.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use temper::compliance::{self, SecretValues, Stamped};
use temper::read;
use temper::{Input, Outcome, Policy, Settings};

use super::{ConfigArgs, EXIT_OK, EXIT_VERIFY_FAILED, InputArgs, ProcessArgs, write_file, write_stdout};

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
    /// The settings of a render, with the compliance statement when `hash` is set.
    pub fn settings(&self, namespace: Option<String>, hash: bool) -> anyhow::Result<Settings> {
        let render = Settings::render(namespace);
        Ok(if hash { render.with_compliance(self.secrets()?) } else { render })
    }

    /// Renders `inputs` with the compliance statement computed; `strict` refuses keys set twice.
    pub fn render(
        &self,
        inputs: &mut [Input],
        policy: &Policy,
        namespace: Option<String>,
        strict: bool,
    ) -> anyhow::Result<Outcome> {
        // The manifests are read only for an attestation, whole, once: held packed until then.
        let settings = self.settings(namespace, true)?.with_strict(strict).packing_output();
        Ok(temper::run_packing_text(inputs, policy, &settings)?)
    }

    /// The settings of a review: hashed, and writing the manifests without keeping them.
    fn review_settings(&self, namespace: Option<String>, strict: bool) -> anyhow::Result<Settings> {
        Ok(self.settings(namespace, true)?.with_strict(strict).for_review())
    }

    /// [`HashArgs::render`] for a review (`diff`): the manifests are written, and not kept (the
    /// outcome's output is empty). The input text is held packed while the review renders and
    /// given back ([`temper::run_packing_text`]): the side before the render is the input.
    pub fn review(
        &self,
        inputs: &mut [Input],
        policy: &Policy,
        namespace: Option<String>,
        strict: bool,
    ) -> anyhow::Result<Outcome> {
        Ok(temper::run_packing_text(inputs, policy, &self.review_settings(namespace, strict)?)?)
    }

    /// [`HashArgs::review`] of documents already read from `inputs` (`promote`, `compare --env`).
    pub fn review_parsed(
        &self,
        inputs: &[Input],
        docs: Vec<temper::read::Document<temper::read::Sealed>>,
        policy: &Policy,
        namespace: Option<String>,
        strict: bool,
    ) -> anyhow::Result<Outcome> {
        Ok(temper::run_parsed(inputs, docs, policy, &self.review_settings(namespace, strict)?)?)
    }

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
    let (policy, mut inputs) = args.input.read_with_policy(&args.config)?;
    let outcome = args.hash.render(&mut inputs, &policy, args.input.namespace(), args.input.strict.strict)?;
    args.input.check_empty(&inputs, &outcome.report, &args.process)?;
    super::warn(&outcome.report, &args.process);
    let c = outcome.report.compliance.as_ref().ok_or_else(|| anyhow::anyhow!("no compliance statement"))?;
    if let Some(path) = &args.attestation {
        let statement = compliance::attestation("manifests.yaml", outcome.output_text()?.as_bytes(), c);
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
    let (policy, mut inputs) = args.input.read_with_policy(&args.config)?;
    let outcome = args.secrets.render(&mut inputs, &policy, args.input.namespace(), args.input.strict.strict)?;
    args.input.check_empty(&inputs, &outcome.report, &args.process)?;
    super::warn(&outcome.report, &args.process);
    let got = outcome.report.compliance.map(|c| c.compliance_hash).unwrap_or_default();
    if got == expected {
        write_stdout(format!("verified: {got} (environment {})\n", policy.environment).as_bytes())?;
        Ok(EXIT_OK)
    } else {
        eprintln!(
            "temper: verification failed: the input renders to {got} in environment `{}`, not {expected}",
            policy.environment
        );
        Ok(EXIT_VERIFY_FAILED)
    }
}

/// Checks a stamped stream against its own stamps.
fn verify_stamped(args: &VerifyCommand, file: &std::path::Path) -> anyhow::Result<u8> {
    match stamped_verdict(args, file)? {
        Ok(stamped) => {
            let (hash, environment, resources) = (&stamped.hash, &stamped.environment, stamped.outputs.len());
            write_stdout(format!("verified: {hash} (environment {environment}, {resources} resources)\n").as_bytes())?;
            Ok(EXIT_OK)
        }
        Err(why) => {
            eprintln!("temper: verification failed: {why}");
            Ok(EXIT_VERIFY_FAILED)
        }
    }
}

/// Every resource against its object digest, then a check of the stream under the stamped
/// environment against the stamped hash. `Ok(Err(why))`: the stream does not match its stamps;
/// `Err`: it could not be checked at all.
fn stamped_verdict(args: &VerifyCommand, file: &std::path::Path) -> anyhow::Result<Result<Stamped, String>> {
    let mut inputs = read::read_inputs(&[file.to_path_buf()])?;
    // Each document's stamps are read as it is read, and the document dropped: the stream is
    // never held whole as values. An input that does not read is the error before a missing
    // HMAC key, as it was when the stream was read first.
    let secrets = args.secrets.secrets();
    let by_length = SecretValues::Length;
    let progress = temper::progress::Progress::default();
    let read = read::parse_then(&inputs, &progress, |doc| {
        compliance::ResourceStamps::of_document(&doc, secrets.as_ref().unwrap_or(&by_length))
    })?;
    secrets?;
    let stamped = match compliance::read_stamps(read.into_iter().flatten()) {
        Ok(stamped) => stamped,
        Err(why) => return Ok(Err(why)),
    };
    let from = format!("the `temper.dev/environment` stamp of {}", file.display());
    let policy = args.config.load()?.resolve_from(&stamped.environment, &from)?;
    if let Some(why) = stamped.policy_changed(&policy) {
        return Ok(Err(why));
    }
    let settings = Settings::check(args.input.namespace()).with_strict(args.input.strict.strict);
    let check = temper::run_forgetting_text(&mut inputs, &policy, &settings)?;
    let report = &check.report;
    super::warn(report, &args.process);
    Ok(stamped.verify(&policy, &report.violations, &report.exemptions).map(|()| stamped))
}
