//! Secrets come from a file or an environment variable, never from the command line (where
//! every local user can read them in the process list).

use std::path::Path;

/// The secret in `file` (its first line, without the line end), else the value of the
/// environment variable `var`, else `None`. An empty secret is an error.
pub(crate) fn read_secret(file: Option<&Path>, var: &str) -> Result<Option<String>, String> {
    let secret = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("reading secret file {}: {e}", path.display()))?;
            text.lines().next().unwrap_or("").to_owned()
        }
        None => match std::env::var(var) {
            Ok(v) => v,
            Err(std::env::VarError::NotPresent) => return Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(format!("{var} is not valid UTF-8"));
            }
        },
    };
    if secret.is_empty() {
        let from = file.map_or_else(|| var.to_owned(), |p| p.display().to_string());
        return Err(format!("the secret in {from} is empty"));
    }
    Ok(Some(secret))
}

/// What a redacted secret is shown as.
const REDACTED: &str = "<redacted>";

/// `url` with every password in it replaced by a placeholder, for `Debug` output: the one in
/// a URL's user information (`postgres://user:password@host/db`) and the value of any
/// `password` parameter, in a URL's query or in libpq's `key=value` form (quoted or not).
/// It errs on the side of hiding too much: everything between the user name's `:` and the
/// last `@` goes.
pub(crate) fn redact_password(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    if let Some(i) = url.find("://") {
        let (scheme, after) = url.split_at(i + 3);
        out.push_str(scheme);
        rest = after;
        if let Some(at) = after.rfind('@')
            && let Some(colon) = after[..at].find(':')
        {
            out.push_str(&after[..=colon]);
            out.push_str(REDACTED);
            rest = &after[at..];
        }
    }
    redact_parameters(rest, &mut out);
    out
}

/// Appends `text` to `out` with the value of every `password` parameter (`password=v`,
/// `password = 'v w'`, `&password=v`; any case) replaced.
fn redact_parameters(text: &str, out: &mut String) {
    const KEY: &str = "password";
    let lower = text.to_ascii_lowercase();
    let mut done = 0;
    let mut from = 0;
    while let Some(found) = lower[from..].find(KEY) {
        let key_end = from + found + KEY.len();
        let after_key = text[key_end..].trim_start();
        let Some(value) = after_key.strip_prefix('=') else {
            from = key_end;
            continue;
        };
        let value = value.trim_start();
        let value_start = text.len() - value.len();
        let value_len = quoted_or_bare_len(value);
        out.push_str(&text[done..value_start]);
        out.push_str(REDACTED);
        done = value_start + value_len;
        from = done;
    }
    out.push_str(&text[done..]);
}

/// The length of the parameter value `value` starts with: up to the closing quote of a
/// single-quoted value (a backslash escapes the next character), else up to white space, `&`
/// or the end.
fn quoted_or_bare_len(value: &str) -> usize {
    let mut chars = value.char_indices();
    if value.starts_with('\'') {
        chars.next();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '\'' => return i + 1,
                _ => {}
            }
        }
        return value.len();
    }
    value
        .find(|c: char| c.is_whitespace() || c == '&')
        .unwrap_or(value.len())
}

/// Shows whether a secret is set, never the secret.
pub(crate) fn redacted(secret: Option<&String>) -> Option<&'static str> {
    secret.map(|_| REDACTED)
}

#[cfg(test)]
mod tests {
    use super::read_secret;

    #[test]
    fn first_line_of_the_file_and_empty_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cret\nignored\n").unwrap();
        assert_eq!(
            read_secret(Some(&file), "SCEP_TEST_UNSET_VARIABLE").unwrap(),
            Some("s3cret".to_owned())
        );
        std::fs::write(&file, "\n").unwrap();
        assert!(read_secret(Some(&file), "SCEP_TEST_UNSET_VARIABLE").is_err());
        assert_eq!(read_secret(None, "SCEP_TEST_UNSET_VARIABLE").unwrap(), None);
    }
}
