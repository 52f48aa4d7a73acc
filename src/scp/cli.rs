//! `stackset-doctor scp check|fix`: arguments and runners. Exit codes: check 0 allowed, 3 denied, 1 bad input
//! or cannot evaluate; fix 0 proven patch printed (or nothing to fix), 3 no provable patch, 1 bad input.

use std::io::Write;

use crate::collect::read;
use std::path::{Path, PathBuf};

use super::{evaluate, fix, load_path, render_check, render_fix, Request, ScpError};
use crate::ids::is_account_id;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

/// What `check` and `fix` share: the policies and the request.
#[derive(Debug, Clone, clap::Args)]
pub struct RequestArgs {
    /// Policy files, root first, one level each: policy documents or `aws organizations describe-policy`
    /// output (FullAWSAccess is then assumed at each level); or one levels file
    /// ({"levels": [{"name": ..., "policies": [...]}, ...]}). - reads stdin.
    #[arg(long = "policy", required = true, num_args = 1.., value_name = "FILE")]
    pub policies: Vec<PathBuf>,
    /// The principal as the error message shows it (STS session ARN) or as an IAM ARN.
    #[arg(long, value_name = "ARN")]
    pub principal: String,
    /// The action, e.g. s3:PutBucketPublicAccessBlock.
    #[arg(long, value_name = "ACTION")]
    pub action: String,
    /// The resource ARN (needed when a statement names resources).
    #[arg(long, value_name = "ARN")]
    pub resource: Option<String>,
    /// The account the OU path leads to (default: the principal's account).
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
    /// The organization's management account, which SCPs and RCPs do not affect.
    #[arg(long, value_name = "ID")]
    pub management_account: Option<String>,
    /// A condition context value, repeatable (repeat a key for a multi-valued key), e.g. aws:SourceIp=10.0.0.1.
    #[arg(long = "context", value_name = "KEY=VALUE")]
    pub context: Vec<String>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub request: RequestArgs,
}

#[derive(Debug, Clone, clap::Args)]
pub struct FixArgs {
    #[command(flatten)]
    pub request: RequestArgs,
    /// Write the patched policy document to FILE (FILE.2.json, ... when several policies are patched).
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,
}

/// `scp check` / `scp fix`, for `#[command(subcommand)]`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ScpCommand {
    /// Evaluate a request against SCPs/RCPs and say why it is allowed or denied.
    Check(CheckArgs),
    /// Propose an exemption for an explicit deny, as a diff and a whole document, with its proof.
    Fix(FixArgs),
}

pub fn run(cmd: ScpCommand, out: &mut dyn Write) -> Result<i32, ScpError> {
    match cmd {
        ScpCommand::Check(a) => run_check(a, out),
        ScpCommand::Fix(a) => run_fix(a, out),
    }
}

fn io_err(path: &str) -> impl FnOnce(std::io::Error) -> ScpError + '_ {
    move |source| ScpError::Io {
        path: path.to_owned(),
        source,
    }
}

fn invalid(label: &str, reason: String) -> ScpError {
    ScpError::Invalid {
        label: label.to_owned(),
        reason,
    }
}

fn prepare(a: &RequestArgs) -> Result<(super::OrgPath, Request), ScpError> {
    let mut files = Vec::new();
    let mut stdin_used = false;
    for p in &a.policies {
        let label = p.display().to_string();
        let text = if p == Path::new("-") {
            if stdin_used {
                return Err(invalid("-", "stdin can be read only once".into()));
            }
            stdin_used = true;
            let bytes = read::read_stdin(&read::ReadLimits::default())?;
            crate::collect::text::decode("<stdin>", &bytes)?
        } else {
            let bytes = read::read_path(p, &read::ReadLimits::default())?;
            // The same decoding as every other input: UTF-8 with or without a BOM, UTF-16.
            crate::collect::text::decode(&label, &bytes)?
        };
        files.push((
            if label == "-" {
                "<stdin>".to_owned()
            } else {
                label
            },
            text,
        ));
    }
    let mut path = load_path(&files)?;
    for (flag, v) in [
        ("--account", &a.account),
        ("--management-account", &a.management_account),
    ] {
        if let Some(v) = v {
            if !is_account_id(v.trim()) {
                return Err(invalid(flag, format!("{v:?} is not a 12-digit account id")));
            }
        }
    }
    if let Some(m) = &a.management_account {
        path.management_account = Some(m.trim().to_owned());
    }
    if a.action
        .split_once(':')
        .is_none_or(|(s, n)| s.is_empty() || n.is_empty())
    {
        return Err(invalid(
            "--action",
            format!("{:?} is not service:Action", a.action),
        ));
    }
    let view = super::principal_arn_from_message(&a.principal);
    if view.kind == super::PrincipalKind::Unknown || !is_account_id(&view.account) {
        return Err(invalid(
            "--principal",
            format!(
                "{:?} is not a principal ARN: give the IAM ARN (arn:aws:iam::111122223333:role/Name) or the STS \
                 session ARN from the error message (arn:aws:sts::111122223333:assumed-role/Name/session)",
                a.principal
            ),
        ));
    }
    let mut req = Request::new(&a.principal, &a.action);
    if let Some(r) = &a.resource {
        req = req.with_resource(r);
    }
    if let Some(acct) = &a.account {
        req = req.with_account(acct);
    }
    for kv in &a.context {
        let Some((k, v)) = kv.split_once('=').filter(|(k, _)| !k.trim().is_empty()) else {
            return Err(invalid("--context", format!("{kv:?} is not KEY=VALUE")));
        };
        if k.trim().eq_ignore_ascii_case("aws:PrincipalArn") && v != req.principal_arn {
            return Err(invalid(
                "--context",
                format!(
                    "aws:PrincipalArn comes from --principal ({}); {v:?} contradicts it",
                    req.principal_arn
                ),
            ));
        }
        req = req.with_context(k.trim(), v);
    }
    Ok((path, req))
}

fn json(out: &mut dyn Write, v: &impl serde::Serialize) -> Result<(), ScpError> {
    crate::report::json::write(&mut *out, v, true)
        .and_then(|_| writeln!(out))
        .map_err(io_err("<output>"))
}

pub fn run_check(args: CheckArgs, out: &mut dyn Write) -> Result<i32, ScpError> {
    let (path, req) = prepare(&args.request)?;
    let ev = evaluate(&path, &req);
    match args.request.format {
        OutputFormat::Text => write!(out, "{}", render_check(&ev)).map_err(io_err("<output>"))?,
        OutputFormat::Json => json(out, &ev)?,
    }
    Ok(ev.verdict.exit_code())
}

fn write_targets(base: &Path, n: usize) -> Vec<PathBuf> {
    (0..n)
        .map(|i| {
            if i == 0 {
                return base.to_path_buf();
            }
            let stem = base
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let ext = base
                .extension()
                .map(|e| format!(".{}", e.to_string_lossy()))
                .unwrap_or_default();
            base.with_file_name(format!("{stem}.{}{ext}", i + 1))
        })
        .collect()
}

pub fn run_fix(args: FixArgs, out: &mut dyn Write) -> Result<i32, ScpError> {
    if args.write.as_deref() == Some(Path::new("-")) {
        return Err(invalid(
            "--write",
            "- would mix the patched document with the fix on standard output: give a file (the fix prints the \
             whole patched document too)"
                .into(),
        ));
    }
    let (path, req) = prepare(&args.request)?;
    let format = args.request.format;
    let mut f = match fix(&path, &req) {
        Ok(f) => f,
        Err(ScpError::Unproven { fix, .. }) => {
            match format {
                OutputFormat::Text => {
                    write!(out, "{}", render_fix(&fix)).map_err(io_err("<output>"))?
                }
                OutputFormat::Json => json(out, &fix)?,
            }
            return Ok(3);
        }
        Err(e @ (ScpError::NothingToFix(_) | ScpError::NoPatch(_))) => {
            let code = e.exit_code();
            match format {
                OutputFormat::Text => writeln!(out, "{e}").map_err(io_err("<output>"))?,
                OutputFormat::Json => json(
                    out,
                    &serde_json::json!({"fix": null, "reason": e.to_string()}),
                )?,
            }
            return Ok(code);
        }
        Err(e) => return Err(e),
    };
    let mut written = Vec::new();
    if let Some(base) = &args.write {
        let targets = write_targets(base, f.patches.len());
        for (p, target) in f.patches.iter_mut().zip(targets) {
            crate::output::write_file(&target, p.patched_text.as_bytes())?;
            let shown = target.display().to_string();
            if let Some(cmd) = &mut p.apply_command {
                *cmd = cmd.replace("PATCHED.json", &shown);
            }
            written.push(format!("{} written to {shown}", p.policy.display));
        }
    }
    match format {
        OutputFormat::Text => {
            write!(out, "{}", render_fix(&f)).map_err(io_err("<output>"))?;
            for w in &written {
                writeln!(out, "{w}").map_err(io_err("<output>"))?;
            }
        }
        OutputFormat::Json => json(out, &f)?,
    }
    // Proven, but too large for AWS to store: there is no patch to apply as it stands.
    Ok(if f.patches.iter().all(|p| p.size.fits) {
        0
    } else {
        3
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_targets_number_extra_files() {
        let t = write_targets(Path::new("/x/p.json"), 3);
        assert_eq!(
            t,
            [
                PathBuf::from("/x/p.json"),
                PathBuf::from("/x/p.2.json"),
                PathBuf::from("/x/p.3.json")
            ]
        );
    }

    #[test]
    fn args_parse() {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct T {
            #[command(subcommand)]
            c: ScpCommand,
        }
        let t = T::try_parse_from([
            "t",
            "fix",
            "--policy",
            "a",
            "b",
            "--principal",
            "p",
            "--action",
            "s3:X",
            "--context",
            "k=v",
            "--write",
            "o",
        ])
        .unwrap();
        let ScpCommand::Fix(f) = t.c else { panic!() };
        assert_eq!(f.request.policies.len(), 2);
        assert_eq!(f.write, Some(PathBuf::from("o")));
    }
}
