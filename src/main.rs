//! The `lambdasim` command line: parses arguments and calls the library (see `lambdasim::app`).

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use lambdasim::{app, Override};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "lambdasim",
    version,
    about = "Discrete-event simulator of AWS Lambda concurrency, scaling quotas and retries"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Format {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a scenario and write summary.json, timeseries.csv, charts and the resolved scenario.
    Run {
        scenario: PathBuf,
        /// Output folder (default: output/<scenario name>/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Random seed (overrides the scenario's).
        #[arg(long)]
        seed: Option<u64>,
        /// Override a scenario key, e.g. --set account.concurrency_limit=3000 (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<Override>,
        /// Skip the charts.
        #[arg(long)]
        no_charts: bool,
        /// Skip the cost what-ifs (each re-simulates the scenario with the same seed).
        #[arg(long)]
        no_whatif: bool,
        /// Summary on stdout as a table or JSON.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Also write the scaling diagram as an animation: scaling.gif and scaling.svg.
        #[arg(long)]
        animate: bool,
        /// Start of the animated window (and of --lanes), e.g. 30s or 2m.
        #[arg(long, value_parser = parse_time)]
        from: Option<lambdasim::Micros>,
        /// End of the animated window (and of --lanes), e.g. 5m.
        #[arg(long, value_parser = parse_time)]
        to: Option<lambdasim::Micros>,
        /// Draw the environments chart (environments.png/.svg) for the window --from..--to,
        /// whatever the run's size (the first 200 environments in the window).
        #[arg(long)]
        lanes: bool,
        /// With --lanes: only this function's environments.
        #[arg(long, requires = "lanes")]
        function: Option<String>,
        /// No progress on stderr (by default a bar on a terminal, else a plain line every
        /// 10 s of wall-clock time for runs that last longer).
        #[arg(long)]
        quiet: bool,
    },
    /// Validate a scenario and print it with every default filled in.
    Check {
        scenario: PathBuf,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<Override>,
    },
    /// Run a scenario and narrate, in plain words, what happened and why (for teaching).
    Explain {
        scenario: PathBuf,
        /// Only this function.
        #[arg(long)]
        function: Option<String>,
        /// Start of the window to narrate, e.g. 30s or 2m.
        #[arg(long, value_parser = parse_time)]
        from: Option<lambdasim::Micros>,
        /// End of the window to narrate, e.g. 5m.
        #[arg(long, value_parser = parse_time)]
        to: Option<lambdasim::Micros>,
        /// Random seed (overrides the scenario's).
        #[arg(long)]
        seed: Option<u64>,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<Override>,
    },
    /// Print the JSON Schema of the scenario format (for editors: taplo / Even Better TOML).
    Schema,
    /// List runtime INIT presets and regional burst quotas.
    Presets,
    /// Run a parameter sweep (or a [find] search): results.csv, results_summary.csv (mean, 95% CI), charts, report.html.
    Sweep {
        sweep: PathBuf,
        /// Output folder (default: output/<sweep file name>/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Worker threads (default: all cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Run only the K-th of N deterministic slices of the grid (combine with `merge`).
        #[arg(long, value_name = "K/N")]
        shard: Option<lambdasim::sweep::Shard>,
        /// Replications per point (overrides the sweep file's).
        #[arg(long)]
        replications: Option<u64>,
        /// Skip the charts.
        #[arg(long)]
        no_charts: bool,
    },
    /// Import CloudWatch metrics (get-metric-data JSON) and REPORT log lines into a scenario.
    Import(ImportArgs),
    /// Run a scenario and compare it with observed CloudWatch metrics: compare.csv, charts, report.html.
    Compare {
        scenario: PathBuf,
        /// The observed metrics: JSON output of `aws cloudwatch get-metric-data`.
        #[arg(long)]
        observed: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        seed: Option<u64>,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<Override>,
        #[arg(long)]
        no_charts: bool,
    },
    /// Serve a local page to play with a scenario: sliders rerun it and redraw charts and narration.
    Serve {
        /// Scenario file (default: the built-in spiky-api example).
        scenario: Option<PathBuf>,
        /// Port (0: any free port; the address is printed).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Address to listen on; the default keeps the page on this machine.
        #[arg(long, default_value = "127.0.0.1")]
        bind: std::net::IpAddr,
    },
    /// Combine the output folders of `sweep --shard 1/N ... N/N` into one sweep's files.
    Merge {
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        #[arg(long)]
        out: PathBuf,
        /// Skip the charts.
        #[arg(long)]
        no_charts: bool,
    },
    /// Print a shell completion script, e.g. `lambdasim completions bash > ~/.local/share/bash-completion/completions/lambdasim`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `lambdasim man > lambdasim.1`.
    Man,
}

#[derive(clap::Args)]
struct ImportArgs {
    /// get-metric-data JSON, REPORT log lines, or a Logs Insights CSV export (format read from the content).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The scenario to write; its trace and distribution files go next to it.
    #[arg(long)]
    out: PathBuf,
    /// Which function, when the metrics hold several.
    #[arg(long)]
    function: Option<String>,
    #[arg(long)]
    region: Option<String>,
    #[arg(long)]
    concurrency_limit: Option<u32>,
    #[arg(long)]
    reserved_concurrency: Option<u32>,
    #[arg(long)]
    provisioned_concurrency: Option<u32>,
    /// Runtime (for the INIT preset when the logs hold no Init Duration).
    #[arg(long)]
    runtime: Option<String>,
    /// Memory, MB (default: from REPORT lines, else 128).
    #[arg(long)]
    memory_mb: Option<u32>,
}

fn parse_time(s: &str) -> Result<lambdasim::Micros, String> {
    lambdasim::time::parse_duration(s)
}

/// A flag error as one short line: clap's first line (the error itself, without its usage and
/// tips), with any quoted argument cut to a bounded length, and a pointer to `--help`.
fn one_line(text: &str) -> String {
    const MAX: usize = 200;
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut first = lines.next().unwrap_or("error").to_string();
    // "the following required arguments were not provided:" names them on the next lines.
    if first.ends_with(':') {
        let rest: Vec<&str> = lines.take_while(|l| !l.starts_with("Usage")).collect();
        first = format!("{first} {}", rest.join(" "));
    }
    let first = first.as_str();
    let mut line: String = first
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX)
        .collect();
    if first.chars().count() > MAX {
        line.push_str("...");
    }
    if !line.starts_with("error") {
        line = format!("error: {line}");
    }
    format!("{line} (see lambdasim --help)")
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => {
            // --help and --version: clap's full text on stdout.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{}", one_line(&e.render().to_string()));
            return ExitCode::from(2);
        }
    };
    match dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

fn dispatch(cmd: Command) -> Result<(), lambdasim::Error> {
    match cmd {
        Command::Run {
            scenario,
            out,
            seed,
            set,
            no_charts,
            no_whatif,
            format,
            animate,
            from,
            to,
            lanes,
            function,
            quiet,
        } => {
            let opts = app::RunOptions {
                scenario,
                out,
                seed,
                overrides: set,
                charts: !no_charts,
                progress: !quiet,
                no_whatif,
                animate,
                from,
                to,
                lanes,
                function,
            };
            let report = app::run(&opts)?;
            match format {
                Format::Text => {
                    print!(
                        "{}",
                        lambdasim::output::summary::to_table(&report.output.summary)
                    );
                    print!(
                        "{}",
                        lambdasim::output::summary::whatif_text(&report.whatif)
                    );
                    println!("outputs in {}", report.out_dir.display());
                }
                Format::Json => print!(
                    "{}",
                    lambdasim::output::summary::to_json_with_whatif(
                        &report.output.summary,
                        &report.whatif
                    )
                ),
            }
        }
        Command::Check { scenario, set } => print!("{}", app::check(&scenario, &set)?),
        Command::Explain {
            scenario,
            function,
            from,
            to,
            seed,
            set,
        } => {
            let opts = lambdasim::explain::ExplainOptions { function, from, to };
            print!("{}", app::explain(&scenario, &set, seed, &opts)?);
        }
        Command::Schema => print!("{}", lambdasim::schema::schema_text()),
        Command::Presets => print!("{}", app::presets_text()),
        Command::Sweep {
            sweep,
            out,
            jobs,
            shard,
            replications,
            no_charts,
        } => {
            let opts = lambdasim::sweep::SweepOptions {
                sweep,
                out,
                jobs,
                shard,
                replications,
                progress: std::io::stderr().is_terminal(),
                charts: !no_charts,
            };
            let report = lambdasim::sweep::run(&opts)?;
            print!("{}", lambdasim::sweep::report_text(&report));
        }
        Command::Import(a) => {
            let opts = lambdasim::import::ImportOptions {
                files: a.files,
                out: a.out,
                function: a.function,
                region: a.region,
                concurrency_limit: a.concurrency_limit,
                reserved_concurrency: a.reserved_concurrency,
                provisioned_concurrency: a.provisioned_concurrency,
                runtime: a.runtime,
                memory_mb: a.memory_mb,
            };
            print!("{}", lambdasim::import::import(&opts)?.text());
        }
        Command::Compare {
            scenario,
            observed,
            out,
            seed,
            set,
            no_charts,
        } => {
            let opts = lambdasim::compare::CompareOptions {
                scenario,
                observed,
                out,
                overrides: set,
                seed,
                charts: !no_charts,
            };
            print!(
                "{}",
                lambdasim::compare::table(&lambdasim::compare::compare(&opts)?)
            );
        }
        Command::Serve {
            scenario,
            port,
            bind,
        } => lambdasim::serve::serve(&lambdasim::serve::ServeOptions {
            scenario,
            bind,
            port,
        })?,
        Command::Merge {
            dirs,
            out,
            no_charts,
        } => {
            let report = lambdasim::sweep::merge(&dirs, &out, !no_charts)?;
            print!("{}", lambdasim::sweep::report_text(&report));
        }
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "lambdasim",
                &mut std::io::stdout(),
            );
        }
        Command::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .map_err(|e| lambdasim::Error::runtime(format!("man page: {e}")))?;
            print!("{}", String::from_utf8_lossy(&page));
        }
    }
    Ok(())
}
