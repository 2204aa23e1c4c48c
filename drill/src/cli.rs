//! The `drill` command line: a scenario, and where to put what the run produced.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::scenario::{Scenario, UsageError};

/// Where the binary writes what a run produced, and how many threads it uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Outputs {
    /// `--html`: the picture.
    pub html: Option<PathBuf>,
    /// `--events`: every event, as JSON lines.
    pub events: Option<PathBuf>,
    /// `--json`: the report as JSON.
    pub json: Option<PathBuf>,
    /// `--threads`: threads running clients, 0 for one per core.
    pub threads: usize,
}

impl Outputs {
    /// Whether the run must record a [`Trace`](crate::Trace).
    #[must_use]
    pub fn needs_trace(&self) -> bool {
        self.html.is_some() || self.events.is_some()
    }
}

/// Everything the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Command {
    /// The drill to run.
    pub scenario: Scenario,
    /// What to write besides the report.
    pub outputs: Outputs,
}

impl Command {
    /// The command the flags describe (`drill --help` lists them); `Ok(None)` for `--help`.
    /// `args` excludes the program name.
    ///
    /// # Errors
    /// [`UsageError`] naming the offending flag or value.
    pub fn from_args<I>(args: I) -> Result<Option<Self>, UsageError>
    where
        I: IntoIterator,
        I::Item: Into<OsString>,
    {
        use lexopt::ValueExt as _;
        let mut outputs = Outputs::default();
        let scenario = Scenario::parse_with(args, &mut |name, parser| {
            let file = |parser: &mut lexopt::Parser| -> Result<PathBuf, UsageError> {
                Ok(PathBuf::from(parser.value()?))
            };
            match name {
                "html" => outputs.html = Some(file(parser)?),
                "events" => outputs.events = Some(file(parser)?),
                "json" => outputs.json = Some(file(parser)?),
                "threads" => outputs.threads = parser.value()?.parse()?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(scenario.map(|scenario| Self { scenario, outputs }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_and_scenario_flags_mix() {
        let c = Command::from_args([
            "--clients",
            "7",
            "--html",
            "a.html",
            "--events",
            "e.jsonl",
            "--threads",
            "3",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(c.scenario.clients(), 7);
        assert_eq!(c.outputs.html, Some(PathBuf::from("a.html")));
        assert_eq!(c.outputs.json, None);
        assert_eq!(c.outputs.threads, 3);
        assert!(c.outputs.needs_trace());
        assert!(Command::from_args(["--events"]).is_err());
        assert!(Command::from_args(["--html"]).is_err());
        assert!(Command::from_args(["--threads", "many"]).is_err());
        assert!(Scenario::from_args(["--json", "a.json"]).is_err());
    }
}
