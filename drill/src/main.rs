//! `cargo run --release -p drill [-- OPTIONS]`: the rollover drill (see `--help`).
// A command-line tool: printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

fn main() -> ExitCode {
    let scenario = match drill::Scenario::from_args(std::env::args_os().skip(1)) {
        Ok(Some(s)) => s,
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
    let report = match drill::run(&scenario) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("drill: {e}");
            return ExitCode::from(2);
        }
    };
    eprintln!("drill: ran in {:.1} s", began.elapsed().as_secs_f64());
    print!("{}", report.render(scenario.start));
    if report.exit_code() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
