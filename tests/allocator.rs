//! The binary's allocator options (src/main.rs, `allocator::tune`) are set by
//! number, from mimalloc's header. This asks the real binary's mimalloc,
//! which prints every option by name when verbose, that the numbers name the
//! options meant and that they hold from the first allocation.

#![cfg(all(target_os = "linux", target_env = "gnu"))]

use std::process::Command;

#[test]
fn freed_memory_is_returned_at_once_and_arenas_commit_on_demand() {
    let output = Command::new(env!("CARGO_BIN_EXE_docproxy"))
        .arg("--version")
        .env("MIMALLOC_VERBOSE", "1")
        .output()
        .expect("run docproxy --version");
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    for option in ["option 'arena_eager_commit': 0", "option 'purge_delay': 0"] {
        assert!(
            stderr.lines().any(|line| line.trim_end() == option),
            "mimalloc did not report {option:?}; it printed:\n{stderr}"
        );
    }
}
