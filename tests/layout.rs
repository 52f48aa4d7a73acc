//! The report laid out for where it goes: the width (terminal, COLUMNS, --width, piped), colour, the verdict
//! first and the closing block last, commands that paste, and a Markdown attachment that stays compact at scale.

use stackset_doctor::report::{Format, Options};
use unicode_width::UnicodeWidthStr;

use crate::common::{diagnose, render_with, run_env};

use crate::common::scenarios as samples;

/// Lines that may be wider than the terminal: a command or an address, which break when wrapped, and a word
/// too long for any line (an ARN, a `!Sub` expression), which prose does not split.
fn may_overflow(line: &str, width: usize) -> bool {
    let t = line.trim_start();
    t.starts_with("aws ")
        || line.contains("https://")
        || (!line.starts_with(['│', '┌', '├', '└'])
            && line.split(' ').any(|w| w.width() > width / 2))
}

fn too_wide(text: &str, width: usize) -> Vec<String> {
    text.lines()
        .filter(|l| l.width() > width && !may_overflow(l, width))
        .map(|l| format!("{} columns: {l}", l.width()))
        .collect()
}

#[test]
fn every_line_fits_the_width_but_commands_and_addresses() {
    for name in samples() {
        let d = diagnose(&[&format!("samples/{name}")]);
        for width in [60, 80, 100, 120, 200] {
            let out = render_with(&d, Format::Table, Options::piped().with_width(width));
            let wide = too_wide(&out, width);
            assert!(wide.is_empty(), "{name} at {width}:\n{}", wide.join("\n"));
        }
    }
}

#[test]
fn the_verdict_comes_first_and_the_closing_block_last() {
    for name in samples() {
        let d = diagnose(&[&format!("samples/{name}")]);
        let out = render_with(&d, Format::Table, Options::piped().with_width(80));
        assert!(out.starts_with("stackset-doctor: "), "{name}");
        let tail: Vec<&str> = out.lines().rev().take(12).collect();
        assert!(
            tail.iter().any(|l| l.starts_with("R1")),
            "{name}: the closing block names the first root cause:\n{}",
            tail.join("\n")
        );
        assert!(
            tail[0].starts_with("more ") || tail[1].starts_with("more "),
            "{name}"
        );
    }
}

#[test]
fn piped_output_takes_columns_and_width_flag_wins() {
    let (_, out, _) = run_env(
        &["diagnose", "samples/quicksetup-scp-deny"],
        None,
        &[("COLUMNS", "80")],
    );
    let wide = too_wide(&out, 80);
    assert!(wide.is_empty(), "{}", wide.join("\n"));
    assert!(
        !too_wide(&out, 70).is_empty(),
        "COLUMNS=80 lays out for 80, not less"
    );
    let (_, out, _) = run_env(
        &["diagnose", "samples/quicksetup-scp-deny", "--width", "120"],
        None,
        &[("COLUMNS", "80")],
    );
    assert!(too_wide(&out, 120).is_empty());
    assert!(
        !too_wide(&out, 100).is_empty(),
        "--width 120 is used over COLUMNS"
    );
    // Without either, a pipe gets the default width.
    let (_, out, _) = run_env(&["diagnose", "samples/quicksetup-scp-deny"], None, &[]);
    assert!(too_wide(&out, Options::PIPED_WIDTH).is_empty());
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let path = "samples/quicksetup-scp-deny";
    let (_, piped, _) = run_env(&["diagnose", path], None, &[]);
    assert!(!piped.contains('\u{1b}'), "no escapes when piped");
    let (_, always, _) = run_env(&["diagnose", path, "--color", "always"], None, &[]);
    assert!(always.contains("\u{1b}[1m"), "--color always colours");
    let (_, never, _) = run_env(&["diagnose", path, "--color", "never"], None, &[]);
    assert_eq!(never, piped);
    // Colour is only escapes around the same text.
    let plain: String = {
        let re = regex::Regex::new("\u{1b}\\[[0-9;]*m").unwrap();
        re.replace_all(&always, "").into_owned()
    };
    assert_eq!(plain, piped);
    let (_, json, _) = run_env(
        &["diagnose", path, "-f", "json", "--color", "always"],
        None,
        &[],
    );
    assert!(
        !json.contains('\u{1b}'),
        "only the terminal report is coloured"
    );
}

#[test]
fn other_formats_do_not_depend_on_the_width() {
    for name in samples() {
        let d = diagnose(&[&format!("samples/{name}")]);
        for f in [Format::Json, Format::Markdown, Format::Mermaid, Format::Dot] {
            assert_eq!(
                render_with(&d, f, Options::piped().with_width(80)),
                render_with(&d, f, Options::piped().with_width(200)),
                "{name} {f:?}"
            );
        }
    }
}

/// GitHub's limit for an issue or pull-request comment (65,536 characters): the attachment of a 1,000-account
/// organisation fits one comment, with room to spare.
const MARKDOWN_LIMIT: usize = 60_000;

#[test]
fn markdown_of_a_thousand_accounts_stays_compact() {
    let d = crate::common::diagnose_organisation(1000);
    assert!(d.failures.len() > 100, "{}", d.failures.len());
    let md = render_with(&d, Format::Markdown, Options::default());
    assert!(
        md.chars().count() < MARKDOWN_LIMIT,
        "{} characters",
        md.chars().count()
    );
    assert!(
        md.contains("failures, by kind"),
        "alike failures are grouped"
    );
    assert!(md.contains("alike)"), "alike root causes are one block");
    let table = render_with(&d, Format::Table, Options::piped().with_width(80));
    let wide = too_wide(&table, 80);
    assert!(wide.is_empty(), "{}", wide.join("\n"));
}

#[test]
fn commands_are_in_code_blocks_and_backticks_are_code() {
    for name in samples() {
        let d = diagnose(&[&format!("samples/{name}")]);
        let md = render_with(&d, Format::Markdown, Options::default());
        let mut fenced = false;
        for l in md.lines() {
            if l.trim_start().starts_with("```") {
                fenced = !fenced;
                continue;
            }
            if !fenced {
                assert!(
                    !l.contains("aws cloudformation update-stack-instances")
                        && !l.contains("aws organizations update-policy"),
                    "{name}: a command outside a code block: {l}"
                );
                assert!(
                    !l.contains("\\`"),
                    "{name}: an escaped backtick shows literally: {l}"
                );
            }
        }
    }
}

#[test]
fn alike_root_causes_get_one_retry_covering_all_of_them() {
    let d = crate::common::diagnose_organisation(700);
    let json: serde_json::Value =
        serde_json::from_str(&render_with(&d, Format::Json, Options::default())).unwrap();
    let groups = json["root_cause_groups"].as_array().unwrap();
    let several: Vec<&serde_json::Value> = groups
        .iter()
        .filter(|g| g["root_causes"].as_array().unwrap().len() > 1)
        .collect();
    assert!(!several.is_empty());
    for g in several {
        let commands: Vec<&str> = g["commands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .filter(|c| c.contains("update-stack-instances"))
            .collect();
        assert!(!commands.is_empty(), "{g}");
        for a in g["accounts"].as_array().unwrap() {
            let a = a.as_str().unwrap();
            assert!(
                commands.iter().any(|c| c.contains(a)),
                "{a} is not retried: {commands:?}"
            );
        }
        for r in g["regions"].as_array().unwrap() {
            let r = r.as_str().unwrap();
            assert!(
                commands.iter().any(|c| c.contains(r)),
                "{r} is not retried: {commands:?}"
            );
        }
    }
}

#[test]
fn help_examples_do_not_wrap_at_80_columns() {
    for args in [
        &["--help"][..],
        &["diagnose", "--help"],
        &["collect", "--help"],
    ] {
        let (code, out, _) = run_env(args, None, &[("COLUMNS", "80")]);
        assert_eq!(code, 0);
        let wide: Vec<&str> = out.lines().filter(|l| l.width() > 80).collect();
        assert!(wide.is_empty(), "{args:?}: {wide:?}");
        // An example's command is whole on its lines: a continued line ends in a backslash.
        for l in out
            .lines()
            .filter(|l| l.starts_with("  stackset-doctor ") || l.starts_with("  aws "))
        {
            assert!(l.width() <= 78, "{l}");
        }
    }
}
