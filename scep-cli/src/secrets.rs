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

/// `url` with every password in it replaced by a placeholder, for `Debug` output. It is read
/// as the database driver reads it: a URL such as `postgres://` (the password in its user
/// information; any query parameter whose percent-decoded key names a password), else
/// libpq's `key=value` form (quotes and backslash escapes as the driver takes them).
/// It errs on the side of hiding too much: in a URL everything between the user name's `:`
/// and the last `@` goes, a value that itself holds a password (a connection URI inside
/// `dbname=`) goes whole, and so does whatever follows a `key=value` syntax error.
pub(crate) fn redact_password(url: &str) -> String {
    redact_nested(url, 0)
}

/// How deep connection strings inside values are looked into; a value nested deeper is
/// hidden whole (and the recursion stays bounded whatever the string).
const MAX_NESTING: usize = 3;

/// [`redact_password`] of a string found `depth` values deep.
fn redact_nested(url: &str, depth: usize) -> String {
    let mut out = String::with_capacity(url.len());
    match url_scheme_len(url) {
        Some(len) => redact_url(&url[..len], &url[len..], depth, &mut out),
        None => redact_key_values(url, depth, &mut out),
    }
    out
}

/// The length of `url`'s `scheme://` prefix (RFC 3986 scheme characters, any case): the
/// database driver's `postgres://` and `postgresql://`, a SCEP URL's `https://`; `None`
/// for libpq's `key=value` form, where a `://` can only come after an `=`.
fn url_scheme_len(url: &str) -> Option<usize> {
    let end = url.find("://")?;
    let scheme = &url[..end];
    let valid = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some(end + 3)
}

/// Whether `value` (already unquoted or decoded) carries a password of its own: it is a
/// connection URI or a `key=value` string that redaction changes.
fn holds_password(value: &str, depth: usize) -> bool {
    let looks_like_a_connection = value.contains("://") || value.contains('=');
    looks_like_a_connection && (depth >= MAX_NESTING || redact_nested(value, depth + 1) != value)
}

/// Whether a parameter key names a password (decoded, any case; `passfile` too).
fn is_password_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("password") || key.contains("passfile")
}

/// Appends the URL `scheme` + `rest` to `out`, redacted.
fn redact_url(scheme: &str, rest: &str, depth: usize, out: &mut String) {
    out.push_str(scheme);
    let mut rest = rest;
    if let Some(at) = rest.rfind('@')
        && let Some(colon) = rest[..at].find(':')
    {
        out.push_str(&rest[..=colon]);
        out.push_str(REDACTED);
        rest = &rest[at..];
    }
    // The driver's parameters are `&`-separated `key=value` pairs after the first `?`; a
    // segment is checked whatever precedes its key (a `?`, a path, an `@`), so a query
    // partly inside the redacted user information is still covered.
    for (i, segment) in rest.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        let Some((key, value)) = segment.split_once('=') else {
            out.push_str(segment);
            continue;
        };
        let decoded = percent_encoding::percent_decode_str(value).decode_utf8_lossy();
        out.push_str(key);
        out.push('=');
        let key = percent_encoding::percent_decode_str(key).decode_utf8_lossy();
        if is_password_key(&key) || holds_password(&decoded, depth) {
            out.push_str(REDACTED);
        } else {
            out.push_str(value);
        }
    }
}

/// Appends libpq's `key=value` string `text` to `out`, redacted: keys and values are split
/// as the driver splits them (white space around `=`, `'…'` quoting, `\` escaping the next
/// character in quoted and bare values alike).
fn redact_key_values(text: &str, depth: usize, out: &mut String) {
    let mut pos = 0;
    loop {
        let rest = &text[pos..];
        let trimmed = rest.trim_start();
        out.push_str(&rest[..rest.len() - trimmed.len()]);
        pos = text.len() - trimmed.len();
        if trimmed.is_empty() {
            return;
        }
        let key_len = trimmed
            .find(|c: char| c.is_whitespace() || c == '=')
            .unwrap_or(trimmed.len());
        let key = &trimmed[..key_len];
        let after_key = &trimmed[key_len..];
        let Some(value) = after_key.trim_start().strip_prefix('=') else {
            // Not what the driver accepts: hide the rest rather than guess.
            out.push_str(REDACTED);
            return;
        };
        let value = value.trim_start();
        let value_start = text.len() - value.len();
        out.push_str(&text[pos..value_start]);
        let Some((len, unescaped)) = key_value_len(value) else {
            out.push_str(REDACTED);
            return;
        };
        if key.is_empty() || is_password_key(key) || holds_password(&unescaped, depth) {
            out.push_str(REDACTED);
        } else {
            out.push_str(&value[..len]);
        }
        pos = value_start + len;
    }
}

/// The length of the `key=value` value `value` starts with and the value the driver reads
/// from it; `None` for an unterminated quote or an empty bare value.
fn key_value_len(value: &str) -> Option<(usize, String)> {
    let quoted = value.starts_with('\'');
    let mut unescaped = String::new();
    let mut chars = value.char_indices().skip(usize::from(quoted));
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, next)) = chars.next() {
                    unescaped.push(next);
                }
            }
            '\'' if quoted => return Some((i + 1, unescaped)),
            c if !quoted && c.is_whitespace() => {
                return (i > 0).then_some((i, unescaped));
            }
            c => unescaped.push(c),
        }
    }
    (!quoted && !value.is_empty()).then_some((value.len(), unescaped))
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
