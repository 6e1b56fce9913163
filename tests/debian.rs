//! The Debian packages' /etc/default files (packaging/debian/*.default) list
//! every setting commented out with its default. Like the README table
//! (tests/readme.rs), they must agree with the code, the one source of truth.

use std::collections::BTreeMap;

use clap::{Args, CommandFactory};

/// Every setting the code reads from the environment, with its default
/// (`None`: no default, e.g. the required upstream URL or an optional seed).
fn settings(command: &clap::Command) -> BTreeMap<String, Option<String>> {
    command
        .get_arguments()
        .filter_map(|arg| {
            let env = arg.get_env()?.to_string_lossy().into_owned();
            let default = arg
                .get_default_values()
                .first()
                .map(|d| d.to_string_lossy().into_owned());
            Some((env, default))
        })
        .collect()
}

/// A `VAR=value` line of an environment file: commented out (`#VAR=value`,
/// documenting a default) or set.
struct Line {
    var: String,
    value: String,
    set: bool,
}

fn env_lines(text: &str) -> Vec<Line> {
    text.lines()
        .filter_map(|line| {
            let (set, assignment) = match line.strip_prefix('#') {
                Some(rest) => (false, rest),
                None => (true, line),
            };
            let (var, value) = assignment.split_once('=')?;
            let is_name = !var.is_empty()
                && var
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            is_name.then(|| Line {
                var: var.to_owned(),
                value: value.to_owned(),
                set,
            })
        })
        .collect()
}

/// Checks `file` against the code's settings: each appears once, commented out
/// with its default. `others` are the only variables the file may mention that
/// are not settings of the code, and the only ones it may set.
fn assert_lists_the_defaults(
    file: &str,
    settings: &BTreeMap<String, Option<String>>,
    others: &[&str],
) {
    let path = format!("{}/packaging/debian/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let lines = env_lines(&text);

    let missing: Vec<String> = settings
        .iter()
        .filter(|(var, _)| !lines.iter().any(|l| &l.var == *var))
        .map(|(var, default)| format!("#{var}={}", default.as_deref().unwrap_or("")))
        .collect();
    assert!(
        missing.is_empty(),
        "{file} lacks settings; add these lines:\n{}",
        missing.join("\n")
    );

    for (i, line) in lines.iter().enumerate() {
        let var = &line.var;
        assert!(
            !lines[..i].iter().any(|l| l.var == line.var),
            "{file}: {var} appears twice"
        );
        match settings.get(var) {
            _ if others.contains(&var.as_str()) => {}
            None => panic!("{file}: {var} is not a setting of the code"),
            Some(_) if line.set => {
                panic!("{file} sets {var}: the package must not change a default; comment it out")
            }
            // No default: the line is an example or empty.
            Some(None) => {}
            Some(Some(default)) => assert_eq!(
                &line.value, default,
                "{file}: {var} must show the code's default"
            ),
        }
    }
}

#[test]
fn docproxy_default_file_lists_every_setting_with_the_codes_default() {
    let settings = settings(&docproxy::config::Cli::command());
    assert!(settings.contains_key("DOCPROXY_UPSTREAM_URL"));
    // RUST_LOG is read by the tracing filter, not by clap.
    assert_lists_the_defaults("docproxy.default", &settings, &["RUST_LOG"]);
}

#[test]
fn dummy_default_file_lists_every_setting_with_the_codes_default() {
    let command = dummy_pdf_or_png::Config::augment_args(clap::Command::new("dummy-pdf-or-png"));
    let settings = settings(&command);
    assert!(settings.contains_key("DUMMY_ERROR_RATE"));
    // DUMMY_LISTEN belongs to the binary (src/main.rs); the package sets it to
    // the loopback interface on purpose, and says so in the file.
    assert_lists_the_defaults("dummy-pdf-or-png.default", &settings, &["DUMMY_LISTEN"]);
}

#[test]
fn env_lines_tell_set_from_commented_out_and_skip_prose() {
    let lines = env_lines("# Prose = not a setting\n#A_1=x\nB=\n#lower=no\n");
    let seen: Vec<_> = lines
        .iter()
        .map(|l| (l.var.as_str(), l.value.as_str(), l.set))
        .collect();
    assert_eq!(seen, [("A_1", "x", false), ("B", "", true)]);
}
