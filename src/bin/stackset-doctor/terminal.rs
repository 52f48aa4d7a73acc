//! Where the report goes: the width to lay it out for and whether to colour it (docs/report-layout.md#width).

use std::io::IsTerminal;

use stackset_doctor::report::Options;

/// `--color`, as ripgrep and bat take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// The layout for standard output: `--width`, else the terminal's width, else `COLUMNS`, else
/// [`Options::PIPED_WIDTH`]; colour by `--color`, where auto means a terminal without `NO_COLOR` or `TERM=dumb`.
pub fn options(color: ColorChoice, width: Option<u16>) -> Options {
    let tty = std::io::stdout().is_terminal();
    let width = width
        .map(usize::from)
        .or_else(|| {
            tty.then(|| terminal_size::terminal_size().map(|(w, _)| usize::from(w.0)))
                .flatten()
        })
        .or_else(|| columns(std::env::var("COLUMNS").ok().as_deref()))
        .unwrap_or(Options::PIPED_WIDTH);
    let color = match color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
        }
    };
    Options::piped().with_width(width).with_color(color)
}

/// `COLUMNS` as a width, when it is a positive number.
fn columns(v: Option<&str>) -> Option<usize> {
    v?.trim().parse::<usize>().ok().filter(|&w| w > 0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_is_read_only_when_it_is_a_width() {
        assert_eq!(super::columns(Some("132")), Some(132));
        assert_eq!(super::columns(Some("0")), None);
        assert_eq!(super::columns(Some("wide")), None);
        assert_eq!(super::columns(None), None);
    }
}
