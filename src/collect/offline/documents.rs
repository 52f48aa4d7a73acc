//! Parsing a file's text: one JSON document, an array of them, or several one after another; a malformed one is
//! an error naming the file, line and column (and the JSON path of a value of the wrong type).

use super::super::cli_shapes::CliDocument;
use super::super::text::decode;
use super::ingest::ingest;
use super::{loc, Loaded, Pending};
use crate::error::{Error, Location};

/// Parse one document and append what it holds.
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
