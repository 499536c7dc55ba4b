//! The built `plenary` binary as its own process, as an operator runs it (for exit codes and
//! kill -9).

use std::io::{BufRead, BufReader, Lines};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_plenary");

/// `plenary` with HTTP and media on free ports, `dir` as its data folder, quiet logs.
pub fn command(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env("PLENARY_LISTEN", "127.0.0.1:0")
        .env("PLENARY_MEDIA_PORT", "0")
        .env("PLENARY_DATA_DIR", dir)
        .env("PLENARY_LOG", "warn");
    c
}

/// Runs `command serve` until its ready line; returns the child, its HTTP address and its
/// stdout lines to come.
pub fn serve(mut command: Command) -> (Child, String, Lines<BufReader<ChildStdout>>) {
    let mut child = command.arg("serve").stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let http = loop {
        let line = lines
            .next()
            .expect("the server printed its ready line")
            .unwrap();
        if let Some(rest) = line.strip_prefix("PLENARY_READY http=") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    (child, http, lines)
}
