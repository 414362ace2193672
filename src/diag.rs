//! Diagnostics: one shape for TOML syntax errors, type errors and the compiler's semantic
//! errors. Each carries the file, a byte span (or the profile key whose origin is looked up),
//! a message and an optional `help:` line. Rendering shows `path:line:col`, the source line
//! and a caret under the span.

use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};
use serde::Serialize;
use std::fmt;
use std::ops::Range;

/// Index of a file in [`Sources`].
pub type FileId = usize;

/// A span in a source file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Span {
    pub file: FileId,
    pub range: Range<usize>,
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    /// The profile key it is about (`mount[2].target`), when known.
    pub key: Option<String>,
    #[serde(skip)]
    pub span: Option<Span>,
    pub help: Option<String>,
    /// About the presence of a key rather than its value: located at the whole
    /// `key = value` entry instead of at the value.
    #[serde(skip)]
    pub on_key: bool,
}

impl Diagnostic {
    /// An error about a profile key; its location is filled in from the key's origin.
    pub fn error(key: impl Into<String>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            key: Some(key.into()).filter(|k: &String| !k.is_empty()),
            span: None,
            help: None,
            on_key: false,
        }
    }

    /// A warning about a profile key.
    pub fn warning(key: impl Into<String>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(key, message)
        }
    }

    /// Add a `help:` line.
    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Locate it at the whole `key = value` entry (see [`Diagnostic::on_key`]).
    pub fn on_key(mut self) -> Diagnostic {
        self.on_key = true;
        self
    }

    /// Attach a span.
    pub fn at(mut self, span: Span) -> Diagnostic {
        self.span = Some(span);
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// A list of diagnostics, returned when loading or compiling fails.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }
    pub fn error_count(&self) -> usize {
        self.0.iter().filter(|d| d.is_error()).count()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{}", d.message)?;
        }
        Ok(())
    }
}

/// One source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// As shown to the user: the path as given, or `builtin:NAME`.
    pub name: String,
    pub text: String,
}

/// Every file read while loading a profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sources {
    pub files: Vec<SourceFile>,
}

impl Sources {
    pub fn add(&mut self, name: String, text: String) -> FileId {
        self.files.push(SourceFile { name, text });
        self.files.len() - 1
    }

    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id)
    }

    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, span: &Span) -> (usize, usize) {
        let Some(file) = self.get(span.file) else {
            return (1, 1);
        };
        let upto = &file.text[..floor_char_boundary(&file.text, span.range.start)];
        let line = upto.matches('\n').count() + 1;
        let col = upto.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    /// `path:line:col` of a span.
    pub fn location(&self, span: &Span) -> String {
        let (line, col) = self.line_col(span);
        let name = self.get(span.file).map_or("?", |f| f.name.as_str());
        format!("{name}:{line}:{col}")
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Render diagnostics for a terminal (or a plain log with `color = false`).
pub fn render(diags: &[Diagnostic], sources: &Sources, color: bool) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    for d in diags {
        let level = match d.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let file = d
            .span
            .as_ref()
            .and_then(|s| sources.get(s.file).map(|f| (s, f)));
        let mut group =
            annotate_snippets::Group::with_title(level.primary_title(d.message.as_str()));
        if let Some((span, f)) = file {
            let start = floor_char_boundary(&f.text, span.range.start);
            let end = floor_char_boundary(&f.text, span.range.end.max(start));
            // Hand the renderer only the lines the span covers (it scans all it is given),
            // numbered from where they are in the file.
            let first = f.text[..start].rfind('\n').map_or(0, |i| i + 1);
            let last = f.text[end..].find('\n').map_or(f.text.len(), |i| end + i);
            let line = f.text[..first].matches('\n').count() + 1;
            group = group.element(
                Snippet::source(&f.text[first..last])
                    .line_start(line)
                    .path(f.name.as_str())
                    .annotation(AnnotationKind::Primary.span(start - first..end - first)),
            );
        } else if let Some(key) = &d.key {
            group = group.element(Level::NOTE.message(format!("key: {key}")));
        }
        if let Some(help) = &d.help {
            group = group.element(Level::HELP.message(help.as_str()));
        }
        out.push_str(&renderer.render(&[group]));
        out.push('\n');
    }
    out
}

/// A machine-readable diagnostic for `--format json`.
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic<'a> {
    pub severity: Severity,
    pub message: &'a str,
    pub file: Option<&'a str>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub key: Option<&'a str>,
    pub help: Option<&'a str>,
}

/// Convert for JSON output.
pub fn to_json<'a>(d: &'a Diagnostic, sources: &'a Sources) -> JsonDiagnostic<'a> {
    let (file, line, column) = match &d.span {
        Some(s) => {
            let (l, c) = sources.line_col(s);
            (
                sources.get(s.file).map(|f| f.name.as_str()),
                Some(l),
                Some(c),
            )
        }
        None => (None, None, None),
    };
    JsonDiagnostic {
        severity: d.severity,
        message: &d.message,
        file,
        line,
        column,
        key: d.key.as_deref(),
        help: d.help.as_deref(),
    }
}

/// The closest candidate to `word` (edit distance ≤ a third of its length), for
/// "did you mean" hints; failing that, the only candidate that `word` (3 letters or more)
/// abbreviates, as `exec` abbreviates `execute`.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let len = word.chars().count();
    // No key or name is this long: a suggestion would be noise (and cost quadratic time).
    if len > 64 {
        return None;
    }
    let limit = (len / 3).max(1);
    let candidates: Vec<&str> = candidates.into_iter().collect();
    let close = candidates
        .iter()
        .filter(|c| c.chars().count().abs_diff(len) <= limit)
        .map(|c| (levenshtein(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c);
    close.or_else(|| {
        let mut longer = candidates
            .iter()
            .filter(|c| word.chars().count() >= 3 && c.len() > word.len() && c.starts_with(word));
        match (longer.next(), longer.next()) {
            (Some(only), None) => Some(*only),
            _ => None,
        }
    })
}

/// Edit distance counting an adjacent transposition as one edit (optimal string
/// alignment), so `HOEM` is one edit from `HOME`. Three rolling rows, no matrix.
fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(before[j - 2] + 1);
            }
            cur[j] = v;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let mut s = Sources::default();
        let id = s.add("p.toml".into(), "a = 1\nbb = 2\n".into());
        let span = Span {
            file: id,
            range: 7..9,
        };
        assert_eq!(s.line_col(&span), (2, 2));
        assert_eq!(s.location(&span), "p.toml:2:2");
    }

    #[test]
    fn suggests_close_words_only() {
        let c = ["read-only", "recursive", "optional"];
        assert_eq!(did_you_mean("read-onyl", c), Some("read-only"));
        assert_eq!(did_you_mean("banana", c), None);
        assert_eq!(levenshtein("HOEM", "HOME"), 1);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("abc", ""), 3);
        assert_eq!(levenshtein("ca", "abc"), 3);
        assert_eq!(did_you_mean("recur", c), Some("recursive"));
        // Ambiguous abbreviations suggest nothing.
        assert_eq!(did_you_mean("re", ["read", "recursive"]), None);
        assert_eq!(did_you_mean("rea", ["read-file", "read-dir"]), None);
    }
}
