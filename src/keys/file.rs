//! The keys file (`auth.keys_file`, e.g. a mounted Kubernetes Secret): one
//! key a line, `namespace:sha256:<64 hex digits>`, or the deprecated
//! `namespace:<key>` with the key itself. Blank lines and `#` comments are
//! skipped; any other line that does not parse is an error naming its line
//! (the key itself is never part of an error).

use super::secret::{KeyHash, parse_sha256};

/// One key of the file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileKey {
    pub namespace: String,
    pub hash: KeyHash,
    /// The line's number, which names the key in logs.
    pub line: usize,
    /// Whether the line holds the key itself rather than its hash.
    pub plain_text: bool,
}

/// Parses a whole file.
pub fn parse(text: &str) -> Result<Vec<FileKey>, String> {
    let mut keys = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((namespace, rest)) = line.split_once(':') else {
            return Err(format!(
                "line {number}: expected namespace:sha256:<hex> (or namespace:key)"
            ));
        };
        let (namespace, rest) = (namespace.trim(), rest.trim());
        if namespace.is_empty() || rest.is_empty() {
            return Err(format!(
                "line {number}: the namespace and the key must be non-empty"
            ));
        }
        let key = match rest.strip_prefix("sha256:") {
            Some(hex) => FileKey {
                namespace: namespace.to_string(),
                hash: parse_sha256(hex).ok_or_else(|| {
                    format!("line {number}: sha256: must be followed by 64 hex digits")
                })?,
                line: number,
                plain_text: false,
            },
            None => FileKey {
                namespace: namespace.to_string(),
                hash: KeyHash::of(rest),
                line: number,
                plain_text: true,
            },
        };
        keys.push(key);
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_and_plain_lines_parse() {
        let hash = KeyHash::of("k1");
        let text = format!("# keys\n\nacme:sha256:{}\n beta : k2 \n", hash.hex());
        let keys = parse(&text).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].namespace, "acme");
        assert_eq!(keys[0].hash, hash);
        assert_eq!(keys[0].line, 3);
        assert!(!keys[0].plain_text);
        assert_eq!(keys[1].hash, KeyHash::of("k2"));
        assert!(keys[1].plain_text);
    }

    #[test]
    fn bad_lines_are_named_without_their_key() {
        let error = parse("acme:sha256:xyz-secret\n").unwrap_err();
        assert!(error.starts_with("line 1:"), "{error}");
        assert!(!error.contains("xyz-secret"));
        assert!(parse("no-colon-secret").unwrap_err().starts_with("line 1:"));
        assert!(parse("\n:key").unwrap_err().starts_with("line 2:"));
    }
}

#[cfg(test)]
mod fuzz_tests {
    use proptest::prelude::*;

    use super::*;
    use crate::fuzz::config;

    proptest! {
        #![proptest_config(config())]

        /// Any text: keys or an error that names a line and quotes none of
        /// the file.
        #[test]
        fn any_keys_file_parses_or_names_a_line(lines in prop::collection::vec(any::<String>(), 0..6)) {
            let text = lines.join("\n");
            match parse(&text) {
                Ok(keys) => {
                    for key in keys {
                        prop_assert!(!key.namespace.is_empty());
                        prop_assert!(key.line >= 1 && key.line <= text.lines().count());
                    }
                }
                Err(error) => {
                    prop_assert!(error.starts_with("line "), "{}", error);
                    let secret_part = |l: &str| l.split_once(':').map(|(_, k)| k.trim().to_string()).filter(|k| k.len() >= 8);
                    for secret in text.lines().filter_map(secret_part) {
                        prop_assert!(!error.contains(&secret), "{} quotes {}", error, secret);
                    }
                }
            }
        }
    }
}
