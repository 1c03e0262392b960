//! curl command lines → steps (one per command, all in one transaction).
//!
//! Every option that takes a value is known, so a value (`-o /dev/null`, `-w '%{http_code}'`,
//! `--max-time 5`) is never mistaken for the URL; combined short options (`-sSL`, `-XPOST`)
//! are split as curl does. What shapes the request is carried over: `-X`, `-H`, `-d` and its
//! variants, `--data-urlencode`, `--json`, `-F`/`--form-string`, `-G`, `-u`, `-b`, `-A`, `-e`,
//! `-I`, `--url`, `--oauth2-bearer`, `-m` (the plan's timeout). Output-only options (`-s`,
//! `-v`, `-o`, `-w`, `-i`, ...) carry nothing; everything else that changes what is sent or
//! how is noted (`--compressed`, `-k`, `-x`, `@file` data, file parts, ...).

use serde_json::{Value, json};

use super::build::{BodyOut, Notes, PlanOut, StepOut, TxnOut, raw_body};
use super::shell;
use super::text::{decode_component, encode_component, parse_query, split_url};
use super::{ImportError, Imported};

/// Short options that take a value.
const SHORT_VALUE: &str = "XHdFuAbeoOwmxUcTEKDrCyYzQPt";
/// Long options that take a value (curl 8); the ones that matter are handled by name.
const LONG_VALUE: &[&str] = &[
    "request",
    "header",
    "data",
    "data-raw",
    "data-binary",
    "data-ascii",
    "data-urlencode",
    "json",
    "form",
    "form-string",
    "user",
    "user-agent",
    "cookie",
    "referer",
    "url",
    "output",
    "write-out",
    "max-time",
    "proxy",
    "proxy-user",
    "cookie-jar",
    "upload-file",
    "cert",
    "key",
    "config",
    "dump-header",
    "range",
    "continue-at",
    "speed-limit",
    "speed-time",
    "time-cond",
    "quote",
    "telnet-option",
    "connect-timeout",
    "retry",
    "retry-delay",
    "retry-max-time",
    "cacert",
    "capath",
    "ciphers",
    "resolve",
    "connect-to",
    "limit-rate",
    "max-redirs",
    "max-filesize",
    "interface",
    "local-port",
    "dns-servers",
    "dns-interface",
    "dns-ipv4-addr",
    "dns-ipv6-addr",
    "oauth2-bearer",
    "proto",
    "proto-redir",
    "proto-default",
    "noproxy",
    "unix-socket",
    "abstract-unix-socket",
    "keepalive-time",
    "expect100-timeout",
    "happy-eyeballs-timeout-ms",
    "aws-sigv4",
    "variable",
    "netrc-file",
    "tls-max",
    "pinnedpubkey",
    "request-target",
    "service-name",
    "sasl-authzid",
    "socks4",
    "socks4a",
    "socks5",
    "socks5-hostname",
    "socks5-gssapi-service",
    "preproxy",
    "proxy-header",
    "stderr",
    "trace",
    "trace-ascii",
    "trace-config",
    "cert-type",
    "key-type",
    "pass",
    "egd-file",
    "random-file",
    "ftp-port",
    "mail-from",
    "mail-rcpt",
    "mail-auth",
    "login-options",
    "delegation",
    "krb",
    "hostpubmd5",
    "hostpubsha256",
    "pubkey",
    "crlfile",
    "cert-status",
    "output-dir",
    "create-file-mode",
    "etag-save",
    "etag-compare",
    "alt-svc",
    "hsts",
    "doh-url",
    "curves",
    "ech",
    "ip-tos",
    "vlan-priority",
    "mptcp",
    "parallel-max",
    "rate",
    "ftp-account",
    "ftp-alternative-to-user",
    "ftp-method",
    "ftp-ssl-ccc-mode",
    "tftp-blksize",
    "header-file",
];
/// Options that only change what curl prints or how it retries: nothing to carry over.
const QUIET: &[&str] = &[
    "o",
    "O",
    "w",
    "s",
    "S",
    "v",
    "i",
    "L",
    "f",
    "N",
    "#",
    "D",
    "output",
    "remote-name",
    "write-out",
    "silent",
    "show-error",
    "verbose",
    "include",
    "location",
    "fail",
    "fail-with-body",
    "no-buffer",
    "progress-bar",
    "dump-header",
    "stderr",
    "trace",
    "trace-ascii",
    "http1.1",
    "http2",
    "http2-prior-knowledge",
    "http1.0",
    "output-dir",
    "create-dirs",
    "no-progress-meter",
    "styled-output",
    "location-trusted",
    "tcp-nodelay",
    "remote-header-name",
    "J",
];

#[derive(Default)]
struct Cmd {
    method: Option<String>,
    url: Option<String>,
    headers: Vec<(String, String)>,
    data: Vec<String>,
    json: bool,
    form: Vec<(String, Value)>,
    get: bool,
    head: bool,
    timeout: Option<f64>,
    /// `-u` or `--oauth2-bearer`, as the plan's auth of the step.
    auth: Option<Value>,
}

pub(crate) fn import(input: &str) -> Result<Imported, ImportError> {
    let commands = shell::split(input).map_err(ImportError::Curl)?;
    let commands: Vec<_> = commands
        .into_iter()
        .filter(|c| {
            c.first()
                .is_some_and(|w| w == "curl" || w.ends_with("/curl"))
        })
        .collect();
    if commands.is_empty() {
        return Err(ImportError::Curl("no curl command found".into()));
    }
    let mut notes = Notes::default();
    let mut plan = PlanOut {
        name: "curl".into(),
        ..Default::default()
    };
    let mut txn = TxnOut {
        name: "curl".into(),
        ..Default::default()
    };
    let mut timeout: Option<f64> = None;
    let many = commands.len() > 1;
    for (n, words) in commands.iter().enumerate() {
        let item = if many {
            format!("curl #{}", n + 1)
        } else {
            "curl".into()
        };
        let cmd = parse(&words[1..], &item, &mut notes)?;
        if let Some(t) = cmd.timeout {
            timeout = Some(timeout.map_or(t, |x: f64| x.max(t)));
        }
        txn.steps.push(step(cmd, &item, &mut notes)?);
    }
    if let Some(t) = timeout {
        plan.extra.insert(
            "timeout".into(),
            json!(format!("{}ms", (t * 1000.0).round() as u64)),
        );
    }
    plan.transactions.push(txn);
    let plan = plan.into_value(&mut notes);
    Ok(Imported {
        plan,
        environment: Default::default(),
        notes: notes.0,
    })
}

fn parse(args: &[String], item: &str, notes: &mut Notes) -> Result<Cmd, ImportError> {
    let mut cmd = Cmd::default();
    let mut i = 0;
    let mut rest_are_urls = false;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if rest_are_urls || !a.starts_with('-') || a == "-" {
            set_url(&mut cmd, a.clone(), item, notes);
            continue;
        }
        if a == "--" {
            rest_are_urls = true;
            continue;
        }
        let take = |name: &str, i: &mut usize| -> Result<String, ImportError> {
            let v = args
                .get(*i)
                .cloned()
                .ok_or_else(|| ImportError::Curl(format!("{name} needs a value")))?;
            *i += 1;
            Ok(v)
        };
        if let Some(long) = a.strip_prefix("--") {
            if LONG_VALUE.contains(&long) {
                let v = take(a, &mut i)?;
                option(&mut cmd, long, Some(v), item, notes);
            } else {
                option(&mut cmd, long, None, item, notes);
            }
            continue;
        }
        // Short options, possibly combined (`-sSL`, `-XPOST`, `-sX POST`).
        let flags: Vec<char> = a[1..].chars().collect();
        for (j, f) in flags.iter().enumerate() {
            let name = f.to_string();
            if SHORT_VALUE.contains(*f) {
                let attached: String = flags[j + 1..].iter().collect();
                let v = if attached.is_empty() {
                    take(a, &mut i)?
                } else {
                    attached
                };
                option(&mut cmd, &name, Some(v), item, notes);
                break;
            }
            option(&mut cmd, &name, None, item, notes);
        }
    }
    Ok(cmd)
}

fn set_url(cmd: &mut Cmd, url: String, item: &str, notes: &mut Notes) {
    if cmd.url.is_none() {
        cmd.url = Some(url);
    } else {
        notes.add(
            item,
            format!("second URL {url} not imported (one request per curl command)"),
        );
    }
}

fn option(cmd: &mut Cmd, name: &str, value: Option<String>, item: &str, notes: &mut Notes) {
    let v = value.unwrap_or_default();
    match name {
        "X" | "request" => cmd.method = Some(v.to_ascii_uppercase()),
        "H" | "header" => header(cmd, &v, item, notes),
        "d" | "data" | "data-ascii" | "data-binary" => {
            if let Some(file) = v.strip_prefix('@') {
                notes.add(item, format!("{name} @{file}: the file's content is not in the command; not sent"));
            } else {
                cmd.data.push(v);
            }
        }
        "data-raw" => cmd.data.push(v),
        "json" => {
            cmd.json = true;
            cmd.data.push(v);
        }
        "data-urlencode" => {
            let (eq, at) = (v.find('='), v.find('@'));
            match (eq, at) {
                (Some(e), a) if a.is_none_or(|a| a > e) => {
                    let (n, content) = (&v[..e], &v[e + 1..]);
                    if n.is_empty() {
                        cmd.data.push(encode_component(content));
                    } else {
                        cmd.data.push(format!("{n}={}", encode_component(content)));
                    }
                }
                (_, Some(_)) => notes.add(
                    item,
                    format!("--data-urlencode {v}: a file's content is not in the command; not sent"),
                ),
                _ => cmd.data.push(encode_component(&v)),
            }
        }
        "F" | "form" | "form-string" => {
            let (k, val) = v.split_once('=').unwrap_or((&v, ""));
            if name != "form-string" && (val.starts_with('@') || val.starts_with('<')) {
                notes.add(item, format!("-F {k}={val}: file part not carried over (the file's content is not in the command)"));
            } else {
                cmd.form.push((k.to_string(), json!(val)));
            }
        }
        "G" | "get" => cmd.get = true,
        "I" | "head" => cmd.head = true,
        "u" | "user" => match v.split_once(':') {
            Some((user, password)) => {
                cmd.auth = Some(json!({"type": "basic", "username": user, "password": password}));
            }
            None => notes.add(item, format!("-u {v} without a password (curl would prompt): not sent")),
        },
        "oauth2-bearer" => cmd.auth = Some(json!({"type": "bearer", "token": v})),
        "A" | "user-agent" => cmd.headers.push(("User-Agent".into(), v)),
        "e" | "referer" => {
            cmd.headers.push(("Referer".into(), v.trim_end_matches(";auto").to_string()))
        }
        "b" | "cookie" => {
            if v.contains('=') {
                cmd.headers.push(("Cookie".into(), v));
            } else {
                notes.add(item, format!("-b {v}: a cookie file is not read; not sent"));
            }
        }
        "url" => set_url(cmd, v, item, notes),
        "m" | "max-time" => match v.parse::<f64>() {
            Ok(t) if t.is_finite() && t > 0.0 => cmd.timeout = Some(t),
            _ => notes.add(item, format!("--max-time {v} is not a number of seconds")),
        },
        "compressed" => notes.add(
            item,
            "--compressed not carried over: workers do not decompress responses, so no Accept-Encoding is sent",
        ),
        "k" | "insecure" => notes.add(item, "-k/--insecure not carried over: workers verify TLS certificates"),
        n if QUIET.contains(&n) => {}
        n => {
            let dash = if n.len() == 1 { "-" } else { "--" };
            let shown = if v.is_empty() { String::new() } else { format!(" {v}") };
            notes.add(item, format!("option {dash}{n}{shown} not carried over"));
        }
    }
}

fn header(cmd: &mut Cmd, h: &str, item: &str, notes: &mut Notes) {
    if h.starts_with('@') {
        notes.add(item, format!("-H {h}: a header file is not read"));
        return;
    }
    if let Some(name) = h.strip_suffix(';')
        && !name.contains(':')
    {
        cmd.headers.push((name.trim().to_string(), String::new()));
        return;
    }
    match h.split_once(':') {
        Some((k, v)) if !v.trim().is_empty() => cmd
            .headers
            .push((k.trim().to_string(), v.trim().to_string())),
        // `-H 'Name:'` removes a header curl would send.
        Some(_) => {}
        None => notes.add(item, format!("-H {h:?} is not `Name: value`: not sent")),
    }
}

fn step(cmd: Cmd, item: &str, notes: &mut Notes) -> Result<StepOut, ImportError> {
    let raw_url = cmd
        .url
        .ok_or_else(|| ImportError::Curl(format!("{item}: no URL")))?;
    let raw_url = if raw_url.contains("://") {
        raw_url
    } else {
        format!("http://{raw_url}")
    };
    let (base, qs) = split_url(&raw_url.replace(' ', "%20"));
    let name = url::Url::parse(&base)
        .ok()
        .map(|u| u.path().to_string())
        .filter(|p| p != "/")
        .unwrap_or_else(|| base.clone());
    let mut step = StepOut {
        item: item.to_string(),
        name,
        url: base,
        headers: cmd.headers,
        query: parse_query(qs.as_deref().unwrap_or("")),
        auth: cmd.auth,
        ..Default::default()
    };
    let has_data = !cmd.data.is_empty();
    let data = cmd.data.join("&");
    let default_method = if cmd.head {
        "HEAD"
    } else if (has_data && !cmd.get) || !cmd.form.is_empty() {
        "POST"
    } else {
        "GET"
    };
    step.method = cmd.method.unwrap_or_else(|| default_method.into());
    if has_data && !cmd.form.is_empty() {
        notes.add(
            item,
            "both -d and -F given (curl refuses this): the -d data is not sent",
        );
    }
    if !cmd.form.is_empty() {
        step.remove_header("content-type");
        step.body = BodyOut::Multipart(cmd.form);
    } else if has_data && cmd.get {
        step.query.extend(parse_query(&data));
    } else if has_data {
        if cmd.json {
            if step.header("content-type").is_none() {
                step.headers
                    .push(("Content-Type".into(), "application/json".into()));
            }
            if step.header("accept").is_none() {
                step.headers
                    .push(("Accept".into(), "application/json".into()));
            }
        }
        let ct = step
            .header("content-type")
            .unwrap_or("application/x-www-form-urlencoded")
            .to_string();
        if ct.starts_with("application/x-www-form-urlencoded") && data.contains('=') {
            step.remove_header("content-type");
            step.body = BodyOut::Form(
                data.split('&')
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        let (k, v) = p.split_once('=').unwrap_or((p, ""));
                        (decode_component(k, true), decode_component(v, true))
                    })
                    .collect(),
            );
        } else {
            if step.header("content-type").is_none() {
                step.headers.push(("Content-Type".into(), ct));
            }
            raw_body(&mut step, data, "");
        }
    }
    Ok(step)
}

#[cfg(test)]
mod tests;
