//! A fix step as renderers show it: its prose, and the commands in it on lines of their own.
//!
//! Remediation steps are sentences with code in backticks (`ArnNotLike`, or a whole `aws cloudformation ...`
//! command). A command pasted from a wrapped paragraph breaks, so every renderer takes the commands out of the
//! sentence and prints each whole, on its own line or in a code block (docs/report-layout.md#commands).

/// A piece of a step's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'s> {
    Text(&'s str),
    /// Code that is not a command (a key, an operator, a flag): stays in the sentence.
    Code(&'s str),
}

/// A step split for display: the sentence (with short code inline) and the commands it holds, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step<'s> {
    pub prose: Vec<Piece<'s>>,
    pub commands: Vec<&'s str>,
}

/// Whether backticked code is a command to run: it starts with a program the user runs.
pub fn is_command(code: &str) -> bool {
    const PROGRAMS: [&str; 3] = ["aws ", "stackset-doctor ", "cfn-lint "];
    PROGRAMS.iter().any(|p| code.starts_with(p))
}

/// Split `text` at its backticks. Commands leave the sentence when what stands between and after them is only
/// joining words and punctuation (`: `cmd`; then `cmd`.`): the sentence keeps what precedes them. A command in the
/// middle of a sentence stays there as code, and is listed as well.
pub fn split(text: &str) -> Step<'_> {
    let mut pieces = Vec::new();
    let parts = text.split('`').count();
    let mut at = 0;
    for (i, part) in text.split('`').enumerate() {
        let start = at;
        at += part.len() + 1;
        if i % 2 == 1 && i + 1 == parts {
            // An odd number of backticks leaves the last one unpaired: it and what follows are text.
            pieces.push(Piece::Text(&text[start - 1..]));
            continue;
        }
        if part.is_empty() {
            continue;
        }
        pieces.push(if i % 2 == 1 {
            Piece::Code(part)
        } else {
            Piece::Text(part)
        });
    }
    let commands: Vec<&str> = pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Code(c) if is_command(c) => Some(*c),
            _ => None,
        })
        .collect();
    let Some(first) = pieces
        .iter()
        .position(|p| matches!(p, Piece::Code(c) if is_command(c)))
    else {
        return Step {
            prose: pieces,
            commands,
        };
    };
    let tail_is_joining = pieces[first..].iter().all(|p| match p {
        Piece::Code(c) => is_command(c),
        Piece::Text(t) => joining(t),
    });
    let prose = if tail_is_joining {
        let mut head = pieces[..first].to_vec();
        // "… instances: " reads as a lead-in to the commands below.
        if let Some(Piece::Text(t)) = head.last_mut() {
            *t = t.trim_end();
        }
        head
    } else {
        pieces
    };
    Step { prose, commands }
}

/// Text that only joins commands: punctuation, spaces, "then", "and", "or".
fn joining(t: &str) -> bool {
    t.split(|c: char| c.is_whitespace() || matches!(c, ';' | ',' | '.' | ':'))
        .all(|w| matches!(w, "" | "then" | "and" | "or"))
}

/// The prose as plain text, code in backticks (for a terminal).
pub fn plain(prose: &[Piece<'_>]) -> String {
    prose
        .iter()
        .map(|p| match p {
            Piece::Text(t) => (*t).to_owned(),
            Piece::Code(c) => format!("`{c}`"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_commands_leave_the_sentence() {
        let s = split("Then re-run (from a delegated administrator, add `--call-as DELEGATED_ADMIN`): `aws cloudformation update-stack-instances --stack-set-name a`; then `aws cloudformation update-stack-instances --stack-set-name b`.");
        assert_eq!(
            plain(&s.prose),
            "Then re-run (from a delegated administrator, add `--call-as DELEGATED_ADMIN`):"
        );
        assert_eq!(
            s.commands,
            [
                "aws cloudformation update-stack-instances --stack-set-name a",
                "aws cloudformation update-stack-instances --stack-set-name b"
            ]
        );
    }

    #[test]
    fn a_command_mid_sentence_stays_and_is_listed() {
        let s = split("Run `aws sts get-caller-identity` to see who you are, then retry.");
        assert_eq!(
            plain(&s.prose),
            "Run `aws sts get-caller-identity` to see who you are, then retry."
        );
        assert_eq!(s.commands, ["aws sts get-caller-identity"]);
    }

    #[test]
    fn short_code_is_not_a_command_and_an_unpaired_backtick_is_text() {
        let s = split("add to the `ArnNotLike` list; it's `odd");
        assert!(s.commands.is_empty());
        assert_eq!(
            s.prose,
            [
                Piece::Text("add to the "),
                Piece::Code("ArnNotLike"),
                Piece::Text(" list; it's "),
                Piece::Text("`odd")
            ]
        );
    }
}
