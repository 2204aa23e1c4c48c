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
