//! Shell words as a POSIX shell (and bash, for Chrome's "Copy as cURL") splits them: `'...'`,
//! `"..."` with its backslash escapes, `$'...'` with C escapes, backslash-newline
//! continuations, and command separators (`;`, `&&`, `||`, `|`, newlines) between commands.
//! Windows "Copy as cURL (cmd)" uses `^` escapes and is not supported (an error says so).

/// One command's words.
pub(crate) type Command = Vec<String>;

/// Splits `line` into commands of words.
pub(crate) fn split(line: &str) -> Result<Vec<Command>, String> {
    let mut commands = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    let end_command = |words: &mut Vec<String>, commands: &mut Vec<Command>| {
        if !words.is_empty() {
            commands.push(std::mem::take(words));
        }
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                match chars.get(i + 1) {
                    Some('\n') => {}
                    Some('\r') if chars.get(i + 2) == Some(&'\n') => i += 1,
                    Some(&n) => {
                        cur.push(n);
                        in_word = true;
                    }
                    None => {}
                }
                i += 2;
                continue;
            }
            '\'' => {
                let close = chars[i + 1..]
                    .iter()
                    .position(|&c| c == '\'')
                    .ok_or("unclosed ' quote")?;
                cur.extend(&chars[i + 1..i + 1 + close]);
                in_word = true;
                i += close + 2;
                continue;
            }
            '$' if chars.get(i + 1) == Some(&'\'') => {
                i = ansi_c(&chars, i + 2, &mut cur)?;
                in_word = true;
                continue;
            }
            '"' => {
                i += 1;
                loop {
                    let Some(&c) = chars.get(i) else {
                        return Err("unclosed \" quote".into());
                    };
                    i += 1;
                    match c {
                        '"' => break,
                        '\\' => match chars.get(i) {
                            Some(&n @ ('"' | '\\' | '$' | '`')) => {
                                cur.push(n);
                                i += 1;
                            }
                            Some('\n') => i += 1,
                            _ => cur.push('\\'),
                        },
                        other => cur.push(other),
                    }
                }
                in_word = true;
                continue;
            }
            '^' if chars
                .get(i + 1)
                .is_some_and(|c| *c == '\n' || *c == '\r' || *c == '"') =>
            {
                return Err("Windows cmd quoting (^) is not supported: copy as cURL (bash)".into());
            }
            ' ' | '\t' | '\r' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\n' | ';' | '|' | '&' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
                end_command(&mut words, &mut commands);
            }
            '#' if !in_word => {
                // A comment runs to the end of the line.
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            other => {
                cur.push(other);
                in_word = true;
            }
        }
        i += 1;
    }
    if in_word {
        words.push(cur);
    }
    end_command(&mut words, &mut commands);
    Ok(commands)
}

/// Reads a `$'...'` body from `i` (after the quote); returns the index after the closing quote.
fn ansi_c(chars: &[char], mut i: usize, out: &mut String) -> Result<usize, String> {
    loop {
        let Some(&c) = chars.get(i) else {
            return Err("unclosed $' quote".into());
        };
        i += 1;
        match c {
            '\'' => return Ok(i),
            '\\' => {
                let Some(&e) = chars.get(i) else {
                    return Err("unclosed $' quote".into());
                };
                i += 1;
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'a' => out.push('\x07'),
                    'b' => out.push('\x08'),
                    'e' | 'E' => out.push('\x1b'),
                    'f' => out.push('\x0c'),
                    'v' => out.push('\x0b'),
                    '0'..='7' => {
                        let mut n = e.to_digit(8).unwrap_or(0);
                        for _ in 0..2 {
                            match chars.get(i).and_then(|c| c.to_digit(8)) {
                                Some(d) => {
                                    n = n * 8 + d;
                                    i += 1;
                                }
                                None => break,
                            }
                        }
                        out.push(char::from_u32(n).unwrap_or('\u{fffd}'));
                    }
                    'x' | 'u' | 'U' => {
                        let max = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let mut n = 0u32;
                        let mut len = 0;
                        while len < max {
                            match chars.get(i).and_then(|c| c.to_digit(16)) {
                                Some(d) => {
                                    n = n * 16 + d;
                                    i += 1;
                                    len += 1;
                                }
                                None => break,
                            }
                        }
                        out.push(char::from_u32(n).unwrap_or('\u{fffd}'));
                    }
                    other => out.push(other),
                }
            }
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        split(s).unwrap().concat()
    }

    #[test]
    fn quotes_escapes_and_continuations() {
        assert_eq!(
            words("curl 'http://h/a b' -H \"X: \\\"q\\\" $x\" \\\n  --data a\\ b"),
            vec!["curl", "http://h/a b", "-H", "X: \"q\" $x", "--data", "a b"]
        );
    }

    #[test]
    fn chrome_ansi_c_quoting() {
        assert_eq!(
            words(r#"curl $'{"a":"it\'s\\n\u00e9\x41"}\n'"#),
            vec!["curl", "{\"a\":\"it's\\n\u{e9}A\"}\n"]
        );
    }

    #[test]
    fn commands_are_separated() {
        let c = split("curl a ;\ncurl b && curl c # comment\n").unwrap();
        assert_eq!(
            c,
            vec![vec!["curl", "a"], vec!["curl", "b"], vec!["curl", "c"]]
        );
        assert!(split("curl 'open").is_err());
    }
}
