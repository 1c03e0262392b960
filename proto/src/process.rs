//! Process plumbing both binaries' `main` share: flags parsed into one line of error, logging
//! set-up, SIGINT/SIGTERM turned into the root cancellation, and the exit code of a result.
//! Nothing here knows what the process does.

use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

/// Parses the command line. `--help`/`--version` print and exit 0; a bad flag prints ONE line
/// (the first paragraph of clap's message, which names the wrong or missing flags) and exits 2.
pub fn parse_flags<C: clap::Parser>() -> Result<C, ExitCode> {
    parse_flags_from::<C, _, _>(std::env::args_os())
}

/// [`parse_flags`] over given arguments (for tests).
pub fn parse_flags_from<C, I, T>(args: I) -> Result<C, ExitCode>
where
    C: clap::Parser,
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    match C::try_parse_from(args) {
        Ok(cli) => Ok(cli),
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            Err(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{}", one_line(&e.render().to_string()));
            Err(ExitCode::from(2))
        }
    }
}

/// The first paragraph of a multi-line message, on one line.
/// One warning line for each environment variable in `renamed` (`(old, new)`) that is still
/// set: old names are no longer read, and `main` prints these before starting.
pub fn renamed_env_warnings(renamed: &[(&str, &str)]) -> Vec<String> {
    renamed
        .iter()
        .filter(|(old, _)| std::env::var_os(old).is_some())
        .map(|(old, new)| format!("warning: {old} is no longer read; set {new} instead"))
        .collect()
}

/// Every flag of `cmd` and its subcommands (help, version and positionals aside) whose
/// environment variable is missing or does not start with `prefix`, as `"path --flag"`.
pub fn flags_without_env(cmd: &clap::Command, prefix: &str) -> (usize, Vec<String>) {
    fn walk(
        cmd: &clap::Command,
        path: &str,
        prefix: &str,
        seen: &mut usize,
        out: &mut Vec<String>,
    ) {
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if arg.is_positional() || id == "help" || id == "version" {
                continue;
            }
            *seen += 1;
            let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
            if !env.as_deref().is_some_and(|e| e.starts_with(prefix)) {
                out.push(format!("{path} --{id}"));
            }
        }
        for sub in cmd.get_subcommands() {
            walk(
                sub,
                &format!("{path} {}", sub.get_name()),
                prefix,
                seen,
                out,
            );
        }
    }
    let (mut seen, mut out) = (0, Vec::new());
    walk(cmd, cmd.get_name(), prefix, &mut seen, &mut out);
    (seen, out)
}

pub fn one_line(text: &str) -> String {
    text.lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}

/// How log lines are written: `text` for people, `json` (one object per line: `timestamp`,
/// `level`, `target`, `fields`, `spans`) for log collectors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The `--log-format` flag both binaries share (environment `LOCUST_HTTP_LOG_FORMAT`).
#[derive(Debug, Clone, clap::Args)]
pub struct LogFormatArg {
    /// Log line format: `text` or `json` (one JSON object per line).
    #[arg(
        long = "log-format",
        global = true,
        env = "LOCUST_HTTP_LOG_FORMAT",
        default_value = "text",
        value_name = "FORMAT"
    )]
    pub log_format: LogFormat,
}

/// Logs to stderr as text with an `EnvFilter` directive (`info`, `worker=debug`, ...).
pub fn init_logging(filter: &str) {
    init_logging_as(filter, LogFormat::Text);
}

/// Logs to stderr with an `EnvFilter` directive, as text (colours only on a terminal without
/// `NO_COLOR`) or as JSON lines. An invalid directive falls back to `info`.
pub fn init_logging_as(filter: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder
            .with_ansi(
                std::io::IsTerminal::is_terminal(&std::io::stderr())
                    && std::env::var_os("NO_COLOR").is_none(),
            )
            .init(),
        LogFormat::Json => builder
            .json()
            .with_ansi(false)
            .with_current_span(false)
            .init(),
    }
}

/// Cancels `token` on the first SIGINT or SIGTERM. Spawn it on the runtime at start.
pub async fn cancel_on_signal(token: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
            _ = token.cancelled() => return,
        }
    }
    #[cfg(not(unix))]
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = token.cancelled() => return,
    }
    tracing::info!("signal received, shutting down");
    token.cancel();
}

/// The exit code of a command's result: `Ok(true)` 0, `Ok(false)` 1, an error printed as one
/// `error: ...` line (with its causes) and 1.
pub fn exit_code(result: anyhow::Result<bool>) -> ExitCode {
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, clap::Parser)]
    struct Flags {
        #[arg(long)]
        port: u16,
    }

    #[derive(Debug, clap::Parser)]
    struct Logged {
        #[command(flatten)]
        log: LogFormatArg,
    }

    #[test]
    fn the_log_format_is_text_or_json() {
        let parsed = |args: &[&str]| parse_flags_from::<Logged, _, _>(args.iter().copied());
        assert_eq!(parsed(&["x"]).unwrap().log.log_format, LogFormat::Text);
        assert_eq!(
            parsed(&["x", "--log-format", "json"])
                .unwrap()
                .log
                .log_format,
            LogFormat::Json
        );
        assert!(parsed(&["x", "--log-format", "xml"]).is_err());
    }

    #[test]
    fn bad_flags_are_one_line_and_exit_2() {
        assert_eq!(one_line("error: a\n  b\n\nUsage: x\n"), "error: a b");
        assert_eq!(
            parse_flags_from::<Flags, _, _>(["x", "--port", "nope"]).unwrap_err(),
            ExitCode::from(2)
        );
        assert_eq!(
            parse_flags_from::<Flags, _, _>(["x", "--port", "7"])
                .unwrap()
                .port,
            7
        );
    }
}
