//! Reading a report back: a JSON array (`--format json`) or one JSON value per line
//! (`--format jsonl`). The one reader of the baseline and of `keysweep remediate`; each
//! deserializes the records into what it needs of a finding.

use serde::de::DeserializeOwned;

/// A report that is not JSON of the expected shape.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The array is not what was expected.
    #[error("{0}")]
    Json(serde_json::Error),
    /// A line of a JSON Lines report (1-based) is not what was expected.
    #[error("line {line}: {source}")]
    Line {
        line: usize,
        source: serde_json::Error,
    },
}

/// The records of a report: a JSON array when the text starts with `[` (after a byte order
/// mark and white space), else one record per non-blank line.
pub fn records<T: DeserializeOwned>(text: &str) -> Result<Vec<T>, ReadError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('[') {
        return serde_json::from_str(trimmed).map_err(ReadError::Json);
    }
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|source| ReadError::Line {
                line: i + 1,
                source,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Rec {
        n: u32,
    }

    #[test]
    fn reads_arrays_and_lines() {
        let array: Vec<Rec> = records(" \n[{\"n\": 1}, {\"n\": 2, \"x\": true}]").unwrap();
        assert_eq!(array, [Rec { n: 1 }, Rec { n: 2 }]);
        let bom: Vec<Rec> = records("\u{feff}[{\"n\": 3}]").unwrap();
        assert_eq!(bom, [Rec { n: 3 }]);
        let lines: Vec<Rec> = records("{\"n\": 1}\n\n  \n{\"n\": 2}\n").unwrap();
        assert_eq!(lines, [Rec { n: 1 }, Rec { n: 2 }]);
        assert!(records::<Rec>("").unwrap().is_empty());
    }

    #[test]
    fn errors_name_the_line() {
        let err = records::<Rec>("{\"n\": 1}\n\n{\"n\": \"two\"}\n").unwrap_err();
        assert!(matches!(err, ReadError::Line { line: 3, .. }), "{err:?}");
        assert!(err.to_string().starts_with("line 3: invalid type"), "{err}");
        let err = records::<Rec>("[{\"n\": 1},").unwrap_err();
        assert!(matches!(err, ReadError::Json(_)), "{err:?}");
        assert!(!err.to_string().starts_with("line"), "{err}");
    }
}
