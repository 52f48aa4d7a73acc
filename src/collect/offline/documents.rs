//! Parsing a file's text: JSON (one document, an array of documents or of bare records, or several documents
//! one after another) or the AWS CLI's YAML (`--output yaml`, `yaml-stream`); `--output text` and `table` are
//! refused with the output to use instead. A malformed document is an error naming the file, line and column
//! (docs/input-formats.md).

use super::super::cli_shapes::{CliDocument, Raw};
use super::super::text::decode;
use super::ingest::{bare_records, ingest, Ctx};
use super::{loc, Loaded, Pending};
use crate::error::{Error, Location};

/// What every file is matched against, for the error when it matches nothing.
const KNOWN: &str = "expected the output of describe-stack-events, describe-events, describe-stacks, \
                     list-stack-sets, describe-stack-set, list-stack-set-operations, \
                     describe-stack-set-operation, list-stack-set-operation-results, list-stack-instances, \
                     describe-stack-instance, organizations describe-policy or cloudtrail lookup-events (JSON or YAML, keyed or as the \
                     bare records of a --query), an IAM policy document, a CloudTrail log file, or a stackset-doctor evidence bundle";

/// Parse one file and append what it holds.
pub(super) fn load_bytes(
    file: &str,
    folder: Option<String>,
    bytes: &[u8],
    loaded: &mut Loaded,
    pending: &mut Pending,
) -> Result<(), Error> {
    let text = decode(file, bytes)?;
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(Error::NotEvidence {
            location: loc(file),
            reason: "empty file".into(),
        });
    }
    let recognised = if trimmed.starts_with('{') || trimmed.starts_with('[') {
        load_json(file, folder, &text, true, loaded, pending)?
    } else if let Some(output) = cli_text_output(trimmed) {
        return Err(Error::UnknownShape {
            location: loc(file),
            reason: format!(
                "this is the AWS CLI's --output {output}, which loses the records' structure; save the command's \
                 output with --output json (or yaml)"
            ),
        });
    } else if trimmed == "null" {
        return Err(Error::UnknownShape {
            location: loc(file),
            reason: "the file holds only null (a --query that matched nothing?)".into(),
        });
    } else {
        let json = yaml_as_json(file, &text)?;
        load_json(file, folder, &json, false, loaded, pending)?
    };
    if !recognised {
        let hint = if trimmed.starts_with('[') {
            "; its elements are not records with the CLI's member names (a --query that renames or drops them? \
             keep whole records: --query 'StackEvents[?ResourceStatus==`CREATE_FAILED`]')"
        } else if crate::collect::event::StackSetEvent::parse(file, text.as_bytes()).is_ok() {
            // Evidence is what AWS says of a deployment; an event only names one (docs/eventbridge.md).
            "; it is an EventBridge event from CloudFormation StackSets, which names what to collect: give it \
             with --event FILE"
        } else {
            ""
        };
        return Err(Error::UnknownShape {
            location: loc(file),
            reason: format!("of no known shape ({KNOWN}){hint}"),
        });
    }
    loaded.files_read += 1;
    Ok(())
}

/// Whether the text is the CLI's `--output table` (a box of dashes and bars) or `--output text` (tab-separated
/// rows, each led by an upper-case key such as `STACKEVENTS`).
fn cli_text_output(text: &str) -> Option<&'static str> {
    let first = text.lines().next().unwrap_or_default().trim();
    if first.starts_with("---") || first.starts_with("+-") || first.starts_with('|') {
        return Some("table");
    }
    let key = first.split('\t').next().unwrap_or_default();
    let keyed = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    (first.contains('\t') && keyed).then_some("text")
}

/// YAML (a mapping, a sequence of pages as `yaml-stream` prints, or documents separated by `---`) as JSON text,
/// with YAML's core schema: plain `42` is a number, quoted `'111122223333'` stays text, as the CLI meant.
fn yaml_as_json(file: &str, text: &str) -> Result<String, Error> {
    // Not JSON, and not YAML either: prose or a script beside the evidence (named on the command line, still an
    // error that says where YAML broke).
    let docs = crate::template::yaml::parse_all_typed(text).map_err(|(line, column, reason)| {
        Error::NotEvidence {
            location: Location {
                file: file.to_owned(),
                line: Some(line),
                column: Some(column),
            },
            reason: format!("neither JSON nor YAML ({reason})"),
        }
    })?;
    let value = match docs.len() {
        1 => docs.into_iter().next().unwrap_or_default(),
        _ => serde_json::Value::Array(docs),
    };
    if !value.is_object() && !value.is_array() {
        return Err(Error::NotEvidence {
            location: loc(file),
            reason: "not JSON, and as YAML not a mapping or a sequence (expected the output of an AWS CLI \
                     command with --output json or yaml)"
                .into(),
        });
    }
    Ok(value.to_string())
}

/// Read JSON text: documents and bare records. `lines` says whether offsets are the user's lines.
fn load_json(
    file: &str,
    folder: Option<String>,
    text: &str,
    lines: bool,
    loaded: &mut Loaded,
    pending: &mut Pending,
) -> Result<bool, Error> {
    let mut cx = Ctx {
        file,
        folder,
        text,
        lines,
        loaded,
        pending,
        trail: Default::default(),
    };
    let mut documents = Vec::new();
    let recognised = if text.trim_start().starts_with('[') {
        let mut de = serde_json::Deserializer::from_str(text);
        let elements: Vec<Raw<'_>> =
            serde::Deserialize::deserialize(&mut de).map_err(|e| json_error(file, &e))?;
        de.end().map_err(|e| json_error(file, &e))?;
        let records = elements
            .into_iter()
            .enumerate()
            .map(|(i, raw)| (raw, format!("/{i}")))
            .collect();
        bare_records(&mut cx, records, &mut documents)?
    } else {
        // One document, parsed once (its records are parsed on their own later); more than one follow each
        // other as a stream; an object of no known key may be a bare record.
        match parse_document(&cx, text)? {
            (doc, true) if doc_is_known(&doc) => {
                documents.push(doc);
                true
            }
            (_, true) => {
                let whole: Raw<'_> =
                    serde_json::from_str(text).map_err(|e| json_error(file, &e))?;
                bare_records(&mut cx, vec![(whole, String::new())], &mut documents)?
            }
            (_, false) => load_stream(&mut cx, &mut documents)?,
        }
    };
    let recognised = ingest_all(&mut cx, documents)? | recognised;
    let lookups = std::mem::take(&mut cx.trail).lookups();
    cx.loaded.evidence.trail_lookups.extend(lookups);
    Ok(recognised)
}

/// Several documents one after another (`cat *.json | stackset-doctor diagnose -`).
fn load_stream<'t>(
    cx: &mut Ctx<'t, '_>,
    documents: &mut Vec<CliDocument<'t>>,
) -> Result<bool, Error> {
    let mut recognised = false;
    let text = cx.text;
    let stream = serde_json::Deserializer::from_str(text).into_iter::<Raw<'t>>();
    for (n, raw) in stream.enumerate() {
        let raw = raw.map_err(|e| json_error(cx.file, &e))?;
        recognised |= one(cx, raw, format!("(document {})", n + 1), documents)?;
    }
    Ok(recognised)
}

/// One top-level value: a document of a known shape (kept for [`ingest`]), or a bare record.
fn one<'t>(
    cx: &mut Ctx<'t, '_>,
    raw: Raw<'t>,
    pointer: String,
    documents: &mut Vec<CliDocument<'t>>,
) -> Result<bool, Error> {
    if raw.get().trim_start().starts_with('{') {
        let (doc, _) = parse_document(cx, raw.get())?;
        if doc_is_known(&doc) {
            documents.push(doc);
            return Ok(true);
        }
    }
    // A bare record (`--query 'Stacks[0]'`) or no known shape.
    bare_records(cx, vec![(raw, pointer)], documents)
}

fn ingest_all<'t>(cx: &mut Ctx<'t, '_>, documents: Vec<CliDocument<'t>>) -> Result<bool, Error> {
    let mut recognised = false;
    for doc in documents {
        recognised |= ingest(cx, doc)?;
    }
    Ok(recognised)
}

/// Whether the document has a key of a known shape.
fn doc_is_known(d: &CliDocument<'_>) -> bool {
    d.stack_events.is_some()
        || d.operation_events.is_some()
        || d.stacks.is_some()
        || d.summaries.is_some()
        || d.stack_set.is_some()
        || d.stack_set_operation.is_some()
        || d.stack_instance.is_some()
        || d.policy.is_some()
        || d.statement.is_some()
        || d.events.is_some()
        || d.records.is_some()
        || d.schema.is_some()
}

/// Parse a document (`text`: a slice of the file's) with the path of an offending value kept, so a wrong type
/// says where (`StackEvents: invalid type…`); record-level problems are the records' own warnings. Also says
/// whether the document ends the text (else more documents follow).
fn parse_document<'t>(cx: &Ctx<'t, '_>, text: &'t str) -> Result<(CliDocument<'t>, bool), Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let doc = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let offset = (text.as_ptr() as usize).wrapping_sub(cx.text.as_ptr() as usize);
        let mut err = json_error(cx.file, &inner);
        if let Error::BadValue { reason, location } | Error::Json { reason, location } = &mut err {
            if cx.lines && offset <= cx.text.len() {
                // The error's line is within the document; the document may not start the file.
                let start = Location::at(cx.file, cx.text.as_bytes(), offset);
                if let (Some(l), Some(s)) = (location.line, start.line) {
                    location.line = Some(l + s - 1);
                }
            } else {
                location.line = None;
                location.column = None;
            }
            if path != "." && !path.is_empty() {
                *reason = format!("{path}: {reason}");
            }
        }
        err
    })?;
    let ends = de.end().is_ok();
    Ok((doc, ends))
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
