//! `codex-review serve`: the service. Settings come from the environment (README).

use std::process::ExitCode;

use codex_review::app::{self, Tuning};
use codex_review::repo_config;
use codex_review::settings::{Settings, SettingsError, Startup};

const USAGE: &str = "usage: codex-review serve | review (URL | -) | doctor | healthcheck | check-config [PATH] | config-schema | eval DATASET | check-dataset PATH | dataset-schema\n\n\
serve          runs the GitHub App: POST /webhook, GET /healthz, /readyz, /metrics (without\n\
               an App yet: the setup page that registers one)\n\
review         reviews a pull request by URL, or a diff on standard input (see `review --help`)\n\
doctor         checks the settings, the App, its webhook, the model and the database\n\
healthcheck    asks the local service's /healthz (for container health checks)\n\
check-config   validates a repository configuration (default .github/codex-review.yml)\n\
config-schema  prints the JSON Schema of that file\n\
eval           reviews a labelled dataset and scores what was found (see `eval --help`)\n\
check-dataset  validates an eval dataset (JSON Lines of labelled pull requests)\n\
dataset-schema prints the JSON Schema of a dataset line\n\n\
Settings are read from the environment; see the README.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") if args.len() == 1 => {}
        Some("healthcheck") if args.len() == 1 => return healthcheck(),
        Some("doctor") if args.len() == 1 => return doctor(),
        Some("check-config") if args.len() <= 2 => {
            return check_config(args.get(1).map_or(repo_config::CONFIG_PATH, String::as_str));
        }
        Some("review") => return review(&args[1..]),
        Some("eval") => return eval(&args[1..]),
        Some("config-schema") if args.len() == 1 => {
            print!("{}", repo_config::json_schema());
            return ExitCode::SUCCESS;
        }
        Some("check-dataset") if args.len() == 2 => return check_dataset(&args[1]),
        Some("dataset-schema") if args.len() == 1 => {
            print!("{}", codex_review::eval::dataset::json_schema());
            return ExitCode::SUCCESS;
        }
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some("-V" | "--version") => {
            println!("codex-review {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    }
    let startup = match Startup::from_env() {
        Ok(startup) => startup,
        Err(e) => {
            eprintln!("codex-review: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("codex-review: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match startup {
            Startup::Serve(settings) => {
                let running = app::start(&settings, Tuning::default()).await?;
                running.run_until_signal().await
            }
            Startup::Setup(setup) => {
                let setup = app::start_setup(setup, Settings::from_env, Tuning::default()).await?;
                // The one line a newcomer needs: where the setup page is.
                println!(
                    "codex-review: no GitHub App configured yet; open http://{}/setup?key={} to register one",
                    local_address(setup.addr),
                    setup.key
                );
                setup.run_until_signal().await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "codex-review stopped");
            eprintln!("codex-review: {e:#}");
            // A setting still missing after the setup page (OPENAI_API_KEY): as at start.
            if e.chain().any(|cause| cause.is::<SettingsError>()) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// `codex-review doctor`: one line per check; exit 1 when any fails.
fn doctor() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("codex-review: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (report, ok) = runtime.block_on(codex_review::doctor::run(|k| std::env::var(k).ok()));
    print!("{report}");
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `codex-review review ...`: exit 0 after printing the review, 1 on failure, 2 on bad usage.
fn eval(args: &[String]) -> ExitCode {
    use codex_review::cli::eval;
    subcommand("eval", eval::USAGE, args, eval::parse_args, |rt, parsed| {
        let report = rt.block_on(eval::main(&parsed, |name| std::env::var(name).ok()))?;
        print!("{report}");
        Ok(())
    })
}

fn review(args: &[String]) -> ExitCode {
    use codex_review::cli;
    subcommand("review", cli::USAGE, args, cli::parse_args, |rt, parsed| {
        let stdin = || std::io::read_to_string(std::io::stdin());
        let mut out = std::io::stdout().lock();
        let env = |name: &str| std::env::var(name).ok();
        rt.block_on(cli::review(&parsed, env, stdin, &mut out))
    })
}

/// A command with options of its own: `--help`, its usage with exit 2 for bad arguments, a
/// runtime, and exit 1 with the error when `run` fails.
fn subcommand<A, E: std::error::Error + 'static>(
    name: &str,
    usage: &str,
    args: &[String],
    parse: impl FnOnce(&[String]) -> Result<A, E>,
    run: impl FnOnce(&tokio::runtime::Runtime, A) -> anyhow::Result<()>,
) -> ExitCode {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{usage}");
        return ExitCode::SUCCESS;
    }
    let parsed = match parse(args) {
        Ok(parsed) => parsed,
        Err(e) => {
            let e = codex_review::error_chain::chain(&e);
            eprintln!("codex-review {name}: {e}\n\n{usage}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("codex-review: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match run(&runtime, parsed) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("codex-review {name}: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Validates a configuration file: exit 0, or 1 with `PATH:LINE:COLUMN: message`.
fn check_config(path: &str) -> ExitCode {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("{path}: cannot read the file: {e}");
            return ExitCode::from(1);
        }
    };
    match repo_config::parse(&text) {
        Ok(_) => {
            println!("{path}: ok");
            ExitCode::SUCCESS
        }
        Err(e) => {
            let key = if e.key.is_empty() { "(file)" } else { &e.key };
            eprintln!("{path}:{}:{}: `{key}`: {}", e.line, e.column, e.message);
            ExitCode::from(1)
        }
    }
}

/// Validates an eval dataset: the first bad line, with its number and why, or how many cases.
fn check_dataset(path: &str) -> ExitCode {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("{path}: cannot read the file: {e}");
            return ExitCode::from(1);
        }
    };
    match codex_review::eval::dataset::parse(&text) {
        Ok(cases) => {
            let clean = cases.iter().filter(|c| c.clean).count();
            println!("{path}: ok, {} cases ({clean} clean)", cases.len());
            ExitCode::SUCCESS
        }
        Err(e) if e.line == 0 => {
            eprintln!("{path}: {}", e.reason);
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("{path}:{}: {}", e.line, e.reason);
            ExitCode::from(1)
        }
    }
}

/// `GET /healthz` on the port of `LISTEN_ADDR`, without any HTTP client (the runtime image
/// has no curl). Exit 0 when the service answers 200.
fn healthcheck() -> ExitCode {
    use std::io::{Read, Write};
    use std::time::Duration;

    let port = std::env::var("LISTEN_ADDR")
        .ok()
        .and_then(|a| a.trim().parse::<std::net::SocketAddr>().ok())
        .map_or(3000, |a| a.port());
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let answer = (|| -> std::io::Result<String> {
        let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
        let mut head = [0u8; 64];
        let n = stream.read(&mut head)?;
        Ok(String::from_utf8_lossy(&head[..n]).into_owned())
    })();
    match answer {
        Ok(head) if head.starts_with("HTTP/1.1 200") => ExitCode::SUCCESS,
        Ok(head) => {
            eprintln!(
                "codex-review: unhealthy: {}",
                head.lines().next().unwrap_or("")
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("codex-review: unhealthy: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr: `RUST_LOG` filters (default `info`); `LOG_FORMAT=json` writes one JSON
/// object per line with the span fields (delivery, job, repo, PR).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init();
    } else {
        builder.init();
    }
}

/// An address a local browser can open (`0.0.0.0` means this machine).
fn local_address(addr: std::net::SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("localhost:{}", addr.port())
    } else {
        addr.to_string()
    }
}
