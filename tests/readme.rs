//! The README's configuration table is documentation users copy from: it must
//! list every setting with the same environment variable and default as the
//! code, which is the one source of truth.

use clap::CommandFactory;
use docproxy::config::Cli;

#[test]
fn readme_configuration_table_matches_the_code() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let rows: Vec<Vec<String>> = readme
        .lines()
        .skip_while(|l| !l.starts_with("## Configuration"))
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter(|l| l.starts_with("| `--"))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().trim_matches('`').to_owned())
                .collect()
        })
        .collect();

    let command = Cli::command();
    let settings: Vec<_> = command
        .get_arguments()
        .filter(|a| {
            a.get_long()
                .is_some_and(|l| !matches!(l, "help" | "version"))
        })
        .collect();
    assert_eq!(rows.len(), settings.len(), "one README row per setting");

    for arg in settings {
        let flag = format!("--{}", arg.get_long().unwrap());
        let row = rows
            .iter()
            .find(|r| r[0] == flag)
            .unwrap_or_else(|| panic!("README lacks {flag}"));
        let env = arg
            .get_env()
            .map(|e| e.to_string_lossy().into_owned())
            .unwrap_or_else(|| "—".into());
        assert_eq!(row[1], env, "{flag}: environment variable");
        let default = arg
            .get_default_values()
            .first()
            .map(|d| d.to_string_lossy().into_owned());
        // Switches default to false; the upstream URL has no default (required
        // unless --demo), and other values without one are optional (unset).
        let expected = match default {
            Some(default) => default,
            None if !arg.get_action().takes_values() => "false".into(),
            None if flag == "--upstream-url" => "required".into(),
            None => "—".into(),
        };
        assert_eq!(row[2], expected, "{flag}: default");
    }
}
