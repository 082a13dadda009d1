//! `--set KEY=VALUE`: repository configuration keys replaced for a whole eval, on top of each
//! configuration (a file given with `--config`, or each case's own). The value is read as
//! YAML (`0`, `true`, `[a, b]`, a word), and the result is checked as a configuration file
//! is, so a key that does not exist or a value out of range is refused with its name.

use serde_json::Value;

use crate::repo_config::{self, ConfigError, RepoConfig};

/// A `--set` argument that is no `KEY=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--set takes KEY=VALUE, such as review.min_priority=0 ({0})")]
pub struct NotKeyValue(pub String);

/// Keys to replace, in the order given (a later one wins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides(pub Vec<(String, String)>);

impl Overrides {
    /// Reads one `KEY=VALUE`.
    pub fn push(&mut self, arg: &str) -> Result<(), NotKeyValue> {
        let (key, value) = arg
            .split_once('=')
            .filter(|(k, _)| !k.trim().is_empty() && !k.split('.').any(str::is_empty))
            .ok_or_else(|| NotKeyValue(arg.to_owned()))?;
        self.0
            .push((key.trim().to_owned(), value.trim().to_owned()));
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The keys as given, one `KEY=VALUE` a line (what the configuration's hash covers).
    pub fn text(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
    }

    /// The configuration of `text` (a configuration file; empty: the defaults) with the keys
    /// replaced.
    pub fn apply(&self, text: &str) -> Result<RepoConfig, ConfigError> {
        if self.is_empty() {
            return repo_config::parse(text);
        }
        let refused = |key: &str, message: String| ConfigError {
            key: key.to_owned(),
            line: 1,
            column: 1,
            message,
        };
        // Checked first, so that its errors name its lines.
        repo_config::parse(text)?;
        let mut tree: Value = if text.trim().is_empty() {
            Value::Object(Default::default())
        } else {
            serde_saphyr::from_str(text).map_err(|e| refused("", e.to_string()))?
        };
        if tree.is_null() {
            tree = Value::Object(Default::default());
        }
        for (key, value) in &self.0 {
            let value: Value =
                serde_saphyr::from_str(value).unwrap_or_else(|_| Value::String(value.clone()));
            let mut at = &mut tree;
            for part in key.split('.') {
                if !at.is_object() {
                    *at = Value::Object(Default::default());
                }
                at = at
                    .as_object_mut()
                    .expect("made an object")
                    .entry(part.to_owned())
                    .or_insert(Value::Null);
            }
            *at = value;
        }
        // JSON is YAML: the file's own checks apply, and name the key.
        let json = serde_json::to_string_pretty(&tree).expect("a tree serializes");
        repo_config::parse(&json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overrides(args: &[&str]) -> Overrides {
        let mut o = Overrides::default();
        for a in args {
            o.push(a).unwrap();
        }
        o
    }

    #[test]
    fn keys_replace_the_file_and_the_defaults() {
        let o = overrides(&["review.min_priority=0", "review.max_inline_comments=3"]);
        let c = o.apply("review:\n  verify: false\n").unwrap();
        assert_eq!(c.review.min_priority, 0);
        assert_eq!(c.review.max_inline_comments, 3);
        assert!(!c.review.verify);
        let c = o.apply("").unwrap();
        assert_eq!((c.review.min_priority, c.review.verify), (0, true));
        assert_eq!(
            o.text(),
            "review.min_priority=0\nreview.max_inline_comments=3\n"
        );
    }

    #[test]
    fn a_key_that_does_not_exist_or_a_bad_value_is_refused() {
        let err = overrides(&["review.no_such_key=1"]).apply("").unwrap_err();
        assert!(err.to_string().contains("no_such_key"), "{err}");
        let err = overrides(&["review.min_priority=9"]).apply("").unwrap_err();
        assert!(err.to_string().contains("min_priority"), "{err}");
        let mut o = Overrides::default();
        assert!(o.push("review.min_priority").is_err());
        assert!(o.push("=1").is_err());
        assert!(o.push("review..x=1").is_err());
    }
}
