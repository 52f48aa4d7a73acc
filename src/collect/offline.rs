//! Offline collection: files, folders and stdin holding AWS CLI JSON or an evidence bundle.
//!
//! Each file is recognised by its content, never its name. Files named on the command line must be
//! recognised (else an error naming the file); files found inside a folder that are not JSON or of an unknown
//! shape are skipped with a warning. Malformed JSON is always an error: silently dropping a truncated
//! `describe-stack-events` file would hide evidence.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::cli_shapes::{CliDocument, SummaryKind};
use super::read::{read_path, read_stdin, special_kind, ReadLimits};
use super::text::decode;
use crate::error::{Error, Location};
use crate::evidence::*;

/// What offline collection gives: the evidence, and one warning per skipped file.
#[derive(Debug, Default)]
pub struct Loaded {
    pub evidence: Evidence,
    pub warnings: Vec<String>,
    pub files_read: usize,
}

/// Records whose stack set the content does not name wait for the folder name, resolved once all is read.
#[derive(Default)]
struct Pending {
    results: Vec<(OperationResult, Option<String>)>,
    operations: Vec<(Operation, Option<String>)>,
}

/// One input to read: where it comes from, and whether an unknown shape is an error (named on the command
/// line) or a warning (found inside a folder).
struct Input {
    name: String,
    folder: Option<String>,
    path: Option<PathBuf>,
    stdin: Option<Vec<u8>>,
    strict: bool,
}

/// [`load_paths_with`] the default limits.
pub fn load_paths(paths: &[PathBuf]) -> Result<Loaded, Error> {
    load_paths_with(paths, &ReadLimits::default())
}

/// Load every path: a file, a folder (recursively, in name order) or `-` for stdin. Files are parsed in
/// parallel and merged in input order, so the result does not depend on scheduling.
pub fn load_paths_with(paths: &[PathBuf], limits: &ReadLimits) -> Result<Loaded, Error> {
    use rayon::prelude::*;
    let mut inputs = Vec::new();
    let mut skipped = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            let bytes = read_stdin(limits)?;
            inputs.push(Input {
                name: "<stdin>".into(),
                folder: None,
                path: None,
                stdin: Some(bytes),
                strict: true,
            });
            continue;
        }
        let meta = std::fs::metadata(path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        if meta.is_dir() {
            list_dir(path, &mut inputs, &mut skipped)?;
        } else {
            inputs.push(Input {
                name: display(path),
                folder: folder_name(path),
                path: Some(path.clone()),
                stdin: None,
                strict: true,
            });
        }
    }
    let parts: Vec<Result<(Loaded, Pending), Error>> = inputs
        .into_par_iter()
        .map(|i| load_input(i, limits))
        .collect();
    let mut loaded = Loaded {
        warnings: skipped,
        ..Loaded::default()
    };
    let mut pending = Pending::default();
    for part in parts {
        let (l, p) = part?;
        loaded.evidence.extend(l.evidence);
        loaded.warnings.extend(l.warnings);
        loaded.files_read += l.files_read;
        pending.results.extend(p.results);
        pending.operations.extend(p.operations);
    }
    resolve_pending(&mut loaded.evidence, pending);
    loaded.evidence.normalize();
    Ok(loaded)
}

fn load_input(input: Input, limits: &ReadLimits) -> Result<(Loaded, Pending), Error> {
    let mut loaded = Loaded::default();
    let mut pending = Pending::default();
    let bytes = match (input.stdin, &input.path) {
        (Some(b), _) => b,
        (None, Some(p)) => read_path(p, limits)?,
        (None, None) => Vec::new(),
    };
    match load_bytes(&input.name, input.folder, &bytes, &mut loaded, &mut pending) {
        Ok(()) => {}
        Err(Error::UnknownShape { location, reason })
        | Err(Error::Encoding { location, reason })
            if !input.strict =>
        {
            loaded
                .warnings
                .push(format!("skipped {location}: {reason}"));
        }
        Err(e) => return Err(e),
    }
    Ok((loaded, pending))
}

fn list_dir(dir: &Path, inputs: &mut Vec<Input>, skipped: &mut Vec<String>) -> Result<(), Error> {
    let walker = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .follow_links(true);
    for entry in walker {
        let entry = entry.map_err(|e| Error::from_walk(e, dir))?;
        let t = entry.file_type();
        if t.is_dir() {
            continue;
        }
        if !t.is_file() {
            // A FIFO inside a folder would block the run; a socket or device is no saved output.
            skipped.push(format!(
                "skipped {}: {}, not a regular file",
                entry.path().display(),
                special_kind(t)
            ));
            continue;
        }
        let path = entry.path();
        inputs.push(Input {
            name: display(path),
            folder: folder_name(path),
            path: Some(path.to_path_buf()),
            stdin: None,
            strict: false,
        });
    }
    Ok(())
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

fn folder_name(path: &Path) -> Option<String> {
    path.parent()?.file_name()?.to_str().map(str::to_owned)
}

fn loc(file: &str) -> Location {
    Location::file(file)
}

/// Parse one document and append what it holds.
fn load_bytes(
    file: &str,
    folder: Option<String>,
    bytes: &[u8],
    loaded: &mut Loaded,
    pending: &mut Pending,
) -> Result<(), Error> {
    let text = decode(file, bytes)?;
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(Error::UnknownShape {
            location: loc(file),
            reason: "empty file".into(),
        });
    }
    if !trimmed.starts_with('{') && !trimmed.starts_with('[') {
        return Err(Error::UnknownShape {
            location: loc(file),
            reason:
                "not a JSON object (expected the output of an AWS CLI command with --output json)"
                    .into(),
        });
    }
    let mut recognised = false;
    for (slice, doc) in parse_documents(file, &text)? {
        recognised |= ingest(file, folder.clone(), slice, doc, loaded, pending)?;
    }
    if !recognised {
        return Err(Error::UnknownShape {
            location: loc(file),
            reason: "JSON of no known shape (expected describe-stack-events, describe-stacks, list-stack-sets, \
                     describe-stack-set, list-stack-set-operations, describe-stack-set-operation, \
                     list-stack-set-operation-results, list-stack-instances, describe-stack-instance, \
                     organizations describe-policy, or a stackset-doctor evidence bundle)"
                .into(),
        });
    }
    loaded.files_read += 1;
    Ok(())
}

/// One document, a JSON array of documents, or documents one after another (`cat *.json | stackset-doctor
/// diagnose -`); each with the text it came from.
fn parse_documents<'a>(
    file: &str,
    text: &'a str,
) -> Result<Vec<(&'a str, CliDocument<'a>)>, Error> {
    if text.trim_start().starts_with('[') {
        let mut de = serde_json::Deserializer::from_str(text);
        let docs: Vec<CliDocument<'a>> =
            serde_path_to_error::deserialize(&mut de).map_err(|e| path_error(file, e))?;
        de.end().map_err(|e| json_error(file, &e))?;
        return Ok(docs.into_iter().map(|d| (text, d)).collect());
    }
    match parse_document(file, text) {
        Ok(doc) => Ok(vec![(text, doc)]),
        Err(Error::Json { reason, .. }) if reason.starts_with("trailing characters") => {
            let mut out = Vec::new();
            let mut it = serde_json::Deserializer::from_str(text).into_iter::<CliDocument<'a>>();
            let mut start = 0;
            while let Some(doc) = it.next() {
                let doc = doc.map_err(|e| json_error(file, &e))?;
                let end = it.byte_offset();
                out.push((&text[start..end], doc));
                start = end;
            }
            Ok(out)
        }
        Err(e) => Err(e),
    }
}

fn path_error(file: &str, e: serde_path_to_error::Error<serde_json::Error>) -> Error {
    let path = e.path().to_string();
    let inner = e.into_inner();
    let mut err = json_error(file, &inner);
    if let Error::BadValue { reason, .. } = &mut err {
        if path != "." && !path.is_empty() {
            *reason = format!("{path}: {reason}");
        }
    }
    err
}

/// Parse with the path of the offending value kept, so a wrong type says where (`StackEvents[3].Timestamp`).
fn parse_document<'a>(file: &str, text: &'a str) -> Result<CliDocument<'a>, Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let doc: CliDocument =
        serde_path_to_error::deserialize(&mut de).map_err(|e| path_error(file, e))?;
    de.end().map_err(|e| json_error(file, &e))?;
    Ok(doc)
}

fn json_error(file: &str, e: &serde_json::Error) -> Error {
    let location = Location {
        file: file.to_owned(),
        line: (e.line() > 0).then_some(e.line()),
        column: (e.line() > 0).then_some(e.column()),
    };
    // serde_json appends " at line L column C"; the location already says it.
    let full = e.to_string();
    let reason = match full.rfind(" at line ") {
        Some(i) => full[..i].to_owned(),
        None => full,
    };
    match e.classify() {
        // Well-formed JSON with a value of the wrong type or form.
        serde_json::error::Category::Data => Error::BadValue { location, reason },
        _ => Error::Json { location, reason },
    }
}

fn src(file: &str, pointer: String) -> Option<SourceRef> {
    Some(SourceRef {
        file: file.to_owned(),
        pointer,
    })
}

/// Turn one parsed document into evidence records. Returns whether any known shape was present.
fn ingest(
    file: &str,
    folder: Option<String>,
    text: &str,
    doc: CliDocument<'_>,
    loaded: &mut Loaded,
    pending: &mut Pending,
) -> Result<bool, Error> {
    let ev = &mut loaded.evidence;
    let mut recognised = false;

    let doc = match doc.split_bundle() {
        Err(doc) => *doc,
        Ok(bundle) => {
            if !bundle.schema.starts_with("stackset-doctor/evidence/") {
                return Err(Error::UnknownShape {
                    location: loc(file),
                    reason: format!(
                        "schema {:?} is not a stackset-doctor evidence bundle",
                        bundle.schema
                    ),
                });
            }
            if bundle.schema != BUNDLE_SCHEMA {
                return Err(Error::BadValue {
                location: loc(file),
                reason: format!(
                    "evidence bundle schema {:?} is not supported by this version (it reads {BUNDLE_SCHEMA})",
                    bundle.schema
                ),
            });
            }
            ev.extend(bundle.evidence);
            return Ok(true);
        }
    };

    if let Some(events) = doc.stack_events {
        recognised = true;
        let own = |c: Option<std::borrow::Cow<'_, str>>| c.map(|c| c.into_owned());
        for (i, e) in events.into_iter().enumerate() {
            let is_stack = e.resource_type.as_deref() == Some("AWS::CloudFormation::Stack")
                && e.logical_resource_id.as_deref() == Some(&*e.stack_name);
            if !crate::vocabulary::status::event_is_failure(
                &e.resource_status,
                e.resource_status_reason.as_deref(),
                is_stack,
            ) {
                continue;
            }
            let parts = crate::ids::Arn::parse(&e.stack_id);
            ev.stack_events.push(StackEvent {
                stack_set: stack_set_from_stack_name(&e.stack_name).map(str::to_owned),
                account: parts.map(|p| p.account.to_owned()),
                region: parts.map(|p| p.region.to_owned()),
                stack_id: e.stack_id.into_owned(),
                stack_name: e.stack_name.into_owned(),
                event_id: own(e.event_id),
                logical_id: own(e.logical_resource_id),
                physical_id: own(e.physical_resource_id),
                resource_type: own(e.resource_type),
                timestamp: e.timestamp,
                status: e.resource_status.into_owned(),
                status_reason: own(e.resource_status_reason),
                stack_operation_id: own(e.operation_id),
                source: src(file, format!("/StackEvents/{i}")),
            });
        }
    }

    if let Some(stacks) = doc.stacks {
        recognised = true;
        for (i, s) in stacks.into_iter().enumerate() {
            let parts = crate::ids::Arn::parse(&s.stack_id);
            ev.stacks.push(Stack {
                stack_set: stack_set_from_stack_name(&s.stack_name).map(str::to_owned),
                account: parts.map(|p| p.account.to_owned()),
                region: parts.map(|p| p.region.to_owned()),
                stack_id: s.stack_id,
                stack_name: s.stack_name,
                status: s.stack_status,
                status_reason: s.stack_status_reason,
                created: s.creation_time,
                parent_id: s.parent_id,
                source: src(file, format!("/Stacks/{i}")),
            });
        }
    }

    if let Some(summaries) = doc.summaries {
        // An empty listing is a recognised (if uninformative) document.
        recognised = true;
        let mut unknown = 0usize;
        for (i, s) in summaries.into_iter().enumerate() {
            let pointer = format!("/Summaries/{i}");
            match s.kind() {
                SummaryKind::StackSet => ev.stack_sets.push(StackSet {
                    name: s.stack_set_name.unwrap_or_default(),
                    id: s.stack_set_id,
                    status: s.status,
                    permission_model: s.permission_model,
                    description: s.description,
                    source: src(file, pointer),
                    ..StackSet::default()
                }),
                SummaryKind::Operation => pending.operations.push((
                    Operation {
                        stack_set: None,
                        operation_id: s.operation_id.unwrap_or_default(),
                        action: s.action,
                        status: s.status.unwrap_or_default(),
                        status_reason: s.status_reason,
                        created: s.creation_timestamp,
                        ended: s.end_timestamp,
                        failed_instances: s
                            .status_details
                            .and_then(|d| d.failed_stack_instances_count),
                        source: src(file, pointer),
                    },
                    folder.clone(),
                )),
                SummaryKind::OperationResult => {
                    let gate = s.account_gate_result.unwrap_or_default();
                    pending.results.push((
                        OperationResult {
                            stack_set: None,
                            operation_id: None,
                            account: s.account.unwrap_or_default(),
                            region: s.region.unwrap_or_default(),
                            status: s.status.unwrap_or_default(),
                            status_reason: s.status_reason,
                            account_gate_status: gate.status,
                            account_gate_reason: gate.status_reason,
                            organizational_unit: s.organizational_unit_id,
                            source: src(file, pointer),
                        },
                        folder.clone(),
                    ))
                }
                SummaryKind::StackInstance => ev.stack_instances.push(StackInstance {
                    stack_set: s
                        .stack_set_id
                        .as_deref()
                        .map(|id| stack_set_name_from_id(id).to_owned()),
                    account: s.account.unwrap_or_default(),
                    region: s.region.unwrap_or_default(),
                    stack_id: s.stack_id,
                    status: s.status.unwrap_or_default(),
                    detailed_status: s.stack_instance_status.and_then(|d| d.detailed_status),
                    status_reason: s.status_reason,
                    last_operation_id: s.last_operation_id,
                    organizational_unit: s.organizational_unit_id,
                    source: src(file, pointer),
                }),
                SummaryKind::Unknown => unknown += 1,
            }
        }
        if unknown > 0 {
            loaded.warnings.push(format!(
                "{file}: {unknown} element(s) of Summaries of no known shape were ignored"
            ));
        }
    }

    if let Some(s) = doc.stack_set {
        recognised = true;
        ev.stack_sets.push(StackSet {
            name: s.stack_set_name,
            id: s.stack_set_id,
            status: s.status,
            permission_model: s.permission_model,
            description: s.description,
            administration_role_arn: s.administration_role_arn,
            execution_role_name: s.execution_role_name,
            template_body: s.template_body,
            parameters: s
                .parameters
                .into_iter()
                .map(|p| Parameter {
                    key: p.parameter_key,
                    value: p.parameter_value,
                })
                .collect(),
            source: src(file, "/StackSet".into()),
        });
    }

    if let Some(op) = doc.stack_set_operation {
        recognised = true;
        let stack_set = op
            .stack_set_id
            .as_deref()
            .map(|id| stack_set_name_from_id(id).to_owned());
        let record = Operation {
            stack_set: stack_set.clone(),
            operation_id: op.operation_id,
            action: op.action,
            status: op.status,
            status_reason: op.status_reason,
            created: op.creation_timestamp,
            ended: op.end_timestamp,
            failed_instances: op
                .status_details
                .and_then(|d| d.failed_stack_instances_count),
            source: src(file, "/StackSetOperation".into()),
        };
        if stack_set.is_some() {
            ev.operations.push(record);
        } else {
            pending.operations.push((record, folder.clone()));
        }
    }

    if let Some(i) = doc.stack_instance {
        recognised = true;
        ev.stack_instances.push(StackInstance {
            stack_set: i
                .stack_set_id
                .as_deref()
                .map(|id| stack_set_name_from_id(id).to_owned()),
            account: i.account,
            region: i.region,
            stack_id: i.stack_id,
            status: i.status,
            detailed_status: i.stack_instance_status.and_then(|d| d.detailed_status),
            status_reason: i.status_reason,
            last_operation_id: i.last_operation_id,
            organizational_unit: i.organizational_unit_id,
            source: src(file, "/StackInstance".into()),
        });
    }

    if let Some(p) = doc.policy {
        recognised = true;
        ev.policies.push(OrgPolicy {
            id: p.policy_summary.id,
            arn: p.policy_summary.arn,
            name: p.policy_summary.name,
            policy_type: p
                .policy_summary
                .policy_type
                .unwrap_or_else(|| "SERVICE_CONTROL_POLICY".into()),
            content: p.content,
            targets: Vec::new(),
            source: src(file, "/Policy".into()),
        });
    } else if doc.statement.is_some() {
        recognised = true;
        // A bare policy document: keep its text; its type is unknown, SCP is the common case.
        let content = text.to_owned();
        ev.policies.push(OrgPolicy {
            id: None,
            arn: None,
            name: Path::new(file)
                .file_stem()
                .and_then(|s| s.to_str())
                .map(str::to_owned),
            policy_type: "SERVICE_CONTROL_POLICY".into(),
            content,
            targets: Vec::new(),
            source: src(file, String::new()),
        });
    }

    Ok(recognised)
}

/// Give records that do not name their stack set one: the name of their folder when that names a known
/// stack set; else the stack set whose instances match them (same account, region and status reason for an
/// operation result; same `LastOperationId` for an operation) — so a flat folder of files works too; else the
/// only stack set known; else the folder name.
fn resolve_pending(ev: &mut Evidence, pending: Pending) {
    use std::collections::HashMap;
    let mut known: BTreeSet<String> = BTreeSet::new();
    known.extend(ev.stack_sets.iter().map(|s| s.name.clone()));
    known.extend(ev.stack_instances.iter().filter_map(|i| {
        i.stack_set
            .as_deref()
            .map(|s| stack_set_name_from_id(s).to_owned())
    }));
    known.extend(ev.stack_events.iter().filter_map(|e| e.stack_set.clone()));
    known.extend(ev.operations.iter().filter_map(|o| o.stack_set.clone()));
    let only = if known.len() == 1 {
        known.iter().next().cloned()
    } else {
        None
    };

    let mut by_reason: HashMap<(&str, &str, &str), BTreeSet<&str>> = HashMap::new();
    let mut by_place: HashMap<(&str, &str), BTreeSet<&str>> = HashMap::new();
    let mut by_op: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for i in &ev.stack_instances {
        let Some(ss) = i.stack_set.as_deref().map(stack_set_name_from_id) else {
            continue;
        };
        by_place
            .entry((&i.account, &i.region))
            .or_default()
            .insert(ss);
        if let Some(r) = i.status_reason.as_deref() {
            by_reason
                .entry((&i.account, &i.region, r))
                .or_default()
                .insert(ss);
        }
        if let Some(op) = i.last_operation_id.as_deref() {
            by_op.entry(op).or_default().insert(ss);
        }
    }
    let unique = |set: Option<&BTreeSet<&str>>| -> Option<String> {
        set.filter(|s| s.len() == 1)
            .and_then(|s| s.iter().next())
            .map(|s| s.to_string())
    };
    let pick = |folder: Option<String>, matched: Option<String>| -> Option<String> {
        match folder {
            Some(f) if known.contains(&f) => Some(f),
            f => matched.or_else(|| only.clone()).or(f),
        }
    };
    let mut results = Vec::with_capacity(pending.results.len());
    for (mut r, folder) in pending.results {
        let matched = r
            .status_reason
            .as_deref()
            .and_then(|reason| {
                unique(by_reason.get(&(r.account.as_str(), r.region.as_str(), reason)))
            })
            .or_else(|| unique(by_place.get(&(r.account.as_str(), r.region.as_str()))));
        r.stack_set = pick(folder, matched);
        results.push(r);
    }
    let mut operations = Vec::with_capacity(pending.operations.len());
    for (mut o, folder) in pending.operations {
        let matched = unique(by_op.get(o.operation_id.as_str()));
        o.stack_set = pick(folder, matched);
        operations.push(o);
    }
    ev.operation_results.extend(results);
    ev.operations.extend(operations);
}
