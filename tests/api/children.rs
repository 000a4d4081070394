//! Child processes the tests start: the `tessera` binary, the examples and chromedriver. Each
//! one listens on port 0 and reports the address it got in a line of its output, which the
//! test waits for. No test picks a "free" port and hands it to a child, so no other test can
//! take that port in between.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// How long a child may take to report its address before the test fails. Only a broken
/// child waits this long; a working one reports in well under a second.
const START_LIMIT: Duration = Duration::from_secs(60);

/// Which output of a child carries the line the test waits for.
#[derive(Debug, Clone, Copy)]
pub enum Output {
    /// Standard output (the examples, chromedriver).
    Stdout,
    /// Standard error (Tessera's logs).
    Stderr,
}

/// A running child process, killed when dropped.
pub struct Process {
    _child: Child,
}

/// Starts `command` and reads `output` line by line until `report` recognises a line;
/// returns the process and what `report` made of that line. The rest of that output is
/// read and thrown away so the child never blocks on a full pipe; the other output is
/// left to the test's own (shown when a test fails).
pub async fn start<T>(
    command: Command,
    name: &str,
    output: Output,
    report: impl Fn(&str) -> Option<T>,
) -> (Process, T) {
    try_start(command, name, output, report)
        .await
        .unwrap_or_else(|why| panic!("{why}"))
}

/// [`start`], with what went wrong as `Err` instead of a panic (for a caller that retries).
pub async fn try_start<T>(
    mut command: Command,
    name: &str,
    output: Output,
    report: impl Fn(&str) -> Option<T>,
) -> Result<(Process, T), String> {
    match output {
        Output::Stdout => command.stdout(Stdio::piped()),
        Output::Stderr => command.stderr(Stdio::piped()).stdout(Stdio::null()),
    };
    let mut child = command
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{name} did not start: {e}"))?;
    let found = match output {
        Output::Stdout => read_report(child.stdout.take(), name, &report).await,
        Output::Stderr => read_report(child.stderr.take(), name, &report).await,
    };
    match found {
        Ok(value) => Ok((Process { _child: child }, value)),
        Err(seen) => {
            let status = child.try_wait().ok().flatten();
            Err(format!(
                "{name} did not report its address (exit status {status:?}); it printed:\n{seen}"
            ))
        }
    }
}

/// Reads `stream` until `report` recognises a line, then drains the rest in the background.
/// `Err` holds what was read when the stream ended or the time ran out.
async fn read_report<T, S>(
    stream: Option<S>,
    name: &str,
    report: &impl Fn(&str) -> Option<T>,
) -> Result<T, String>
where
    S: AsyncRead + Unpin + Send + 'static,
{
    let stream = stream.unwrap_or_else(|| panic!("{name}'s output is piped"));
    let mut lines = BufReader::new(stream).lines();
    let mut seen = String::new();
    let search = async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(value) = report(&line) {
                return Some(value);
            }
            seen.push_str(&line);
            seen.push('\n');
        }
        None
    };
    let found = tokio::time::timeout(START_LIMIT, search)
        .await
        .ok()
        .flatten();
    match found {
        Some(value) => {
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            Ok(value)
        }
        None => Err(seen),
    }
}

/// The word in `line` after `marker`, up to the next space or the end of the line.
pub fn word_after(line: &str, marker: &str) -> Option<String> {
    let start = line.find(marker)? + marker.len();
    let rest = &line[start..];
    let end = rest.find(' ').unwrap_or(rest.len());
    Some(rest[..end].to_string())
}

/// The path of a built example binary (`cargo test` builds the examples).
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(|p| p.parent())
        .expect("target directory");
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: run the suite with `cargo test` (which builds the examples) or `cargo build --examples`",
        path.display()
    );
    path
}
