//! `cargo run --release -p drill [-- OPTIONS]`: the rollover drill (see `--help`).
// A command-line tool: printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    if std::env::args_os().nth(1).is_some_and(|a| a == "fuzz") {
        return fuzz();
    }
    let command = match drill::Command::from_args(std::env::args_os().skip(1)) {
        Ok(Some(c)) => c,
        Ok(None) => {
            print!("{}", drill::HELP);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("drill: {e}\n(see drill --help)");
            return ExitCode::from(2);
        }
    };
    let began = std::time::Instant::now();
    let mut progress = ProgressLine::default();
    let mut show = |p: &drill::Progress| progress.show(p);
    let mut options = drill::Options::default();
    options.trace = command.outputs.needs_trace();
    options.threads = command.outputs.threads;
    if std::io::stderr().is_terminal() {
        options.progress = Some(&mut show);
    }
    let run = drill::run_with(&command.scenario, options);
    progress.clear();
    let run = match run {
        Ok(r) => r,
        Err(e) => {
            eprintln!("drill: {e}");
            return ExitCode::from(2);
        }
    };
    eprintln!("drill: ran in {:.1} s", began.elapsed().as_secs_f64());
    if let Err(e) = drill::write_outputs(&command, &run) {
        eprintln!("drill: {e}");
        return ExitCode::from(2);
    }
    let report = &run.report;
    print!("{}", report.render(command.scenario.start));
    if report.exit_code() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `drill fuzz`: prints each disagreement with the command line that reproduces it, then the
/// summary line last.
fn fuzz() -> ExitCode {
    let (seed, budget) = match drill::fuzz::parse_args(std::env::args_os().skip(2)) {
        Ok(Some(a)) => a,
        Ok(None) => {
            print!("{}", drill::fuzz::FUZZ_HELP);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("drill fuzz: {e}\n(see drill fuzz --help)");
            return ExitCode::from(2);
        }
    };
    let summary = drill::fuzz::fuzz(seed, budget, &mut |d| {
        println!("disagreement:");
        for p in &d.problems {
            println!("  {p}");
        }
        println!("  reproduce: {}", d.command_line());
        let _ = std::io::stdout().flush();
    });
    println!("{}", summary.last_line());
    if summary.disagreements.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The progress line on a terminal's standard error, redrawn at most five times a second.
#[derive(Default)]
struct ProgressLine {
    last: Option<std::time::Instant>,
    shown: bool,
}

impl ProgressLine {
    fn show(&mut self, p: &drill::Progress) {
        let now = std::time::Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t).as_millis() < 200)
        {
            return;
        }
        self.last = Some(now);
        self.shown = true;
        let date = p.now.to_string();
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[Kdrill: {} {:5.1} % done, {} clients enrolled, {} gaps so far",
            date.get(..10).unwrap_or(&date),
            p.done * 100.0,
            p.enrolled,
            p.gaps
        );
        let _ = err.flush();
    }

    fn clear(&mut self) {
        if self.shown {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    }
}
