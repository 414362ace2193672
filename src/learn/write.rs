//! `stockade learn --write` and `--diff`: the learnt additions merged into the profile file
//! itself, its comments and layout kept (`toml_edit`), each new entry commented with what
//! used it; or shown as a unified diff of that file. Pure: text in, text out.

use super::generalise::{Entry, Learned};
use super::patch::{additions, comment_sections, users_of};
use crate::plan::Plan;
use toml_edit::{Array, DocumentMut, Item, Table, Value};

/// The profile's text with the additions merged in, and whether anything was added.
pub fn merge(text: &str, learned: &Learned, plan: &Plan) -> Result<(String, bool), String> {
    let mut doc: DocumentMut = text.parse().map_err(|e| format!("{e}"))?;
    let add = additions(learned, plan);
    let mut changed = false;
    if !add.calls.is_empty() || !add.abis.is_empty() {
        let t = table(&mut doc, "seccomp")?;
        if add.new_filter {
            // The learnt list replaces allow-by-default.
            t["default-action"] = toml_edit::value("errno:EPERM");
        }
        extend(t, "allow", &add.calls, false)?;
        extend(t, "architectures", &add.abis, false)?;
        changed = true;
    }
    let lists = [
        ("read", &add.read),
        ("write", &add.write),
        ("exec", &add.exec),
    ];
    let any_path = lists.iter().any(|(_, l)| !l.is_empty());
    let any_port = !add.connect.is_empty() || !add.bind.is_empty();
    if any_path || any_port || add.connect_unset || add.bind_unset {
        let t = table(&mut doc, "landlock")?;
        for (key, l) in lists {
            extend(t, key, l, false)?;
        }
        // A present list restricts, even empty: a run that connected nowhere gets `[]`.
        for (key, l, unset) in [
            ("connect-tcp", &add.connect, add.connect_unset),
            ("bind-tcp", &add.bind, add.bind_unset),
        ] {
            if !l.is_empty() {
                extend(t, key, l, true)?;
            } else if unset && !t.contains_key(key) {
                t[key] = toml_edit::value(Array::new());
            }
        }
        changed = true;
    }
    if !add.caps.is_empty() {
        extend(table(&mut doc, "capabilities")?, "keep", &add.caps, false)?;
        changed = true;
    }
    if !add.egress.is_empty() {
        extend(table(&mut doc, "network")?, "allow", &add.egress, false)?;
        changed = true;
    }
    // The notes come with additions only: writing again what was already merged changes
    // nothing (the file is left as it is).
    let mut notes = String::new();
    for (title, entries) in comment_sections(learned) {
        if changed && !entries.is_empty() {
            notes.push_str(&format!("\n# learnt, {title}:\n"));
            for e in entries {
                notes.push_str(&format!("#   {} — {}\n", e.value, users_of(e)));
            }
        }
    }
    let mut out = doc.to_string();
    out.push_str(&notes);
    Ok((out, changed))
}

/// The table `name` of the document, created when absent.
fn table<'a>(doc: &'a mut DocumentMut, name: &str) -> Result<&'a mut Table, String> {
    doc.entry(name)
        .or_insert(Item::Table(Table::new()))
        .as_table_mut()
        .ok_or_else(|| format!("`{name}` is not a table in the profile (an inline table cannot be merged into: use -o for an overlay)"))
}

/// Append `entries` to the array `key` of `t` (created when absent), one per line. The
/// comment naming an entry's users follows its comma: in toml_edit that is the next
/// value's prefix, and the array's trailing text after the last one.
fn extend(t: &mut Table, key: &str, entries: &[&Entry], ints: bool) -> Result<(), String> {
    if entries.is_empty() {
        return Ok(());
    }
    let item = t.entry(key).or_insert(toml_edit::value(Array::new()));
    let arr = item
        .as_array_mut()
        .ok_or_else(|| format!("`{key}` is not an array in the profile"))?;
    let before = arr.trailing().as_str().unwrap_or("").trim_end().to_owned();
    let mut comment: Option<String> = None;
    for e in entries {
        let mut v: Value = if ints {
            e.value
                .parse::<i64>()
                .map_err(|_| format!("`{key}`: {} is not a port", e.value))?
                .into()
        } else {
            e.value.as_str().into()
        };
        let prefix = match comment.take() {
            Some(c) => format!(" # {c}\n    "),
            None => format!("{before}\n    "),
        };
        v.decor_mut().set_prefix(prefix);
        v.decor_mut().set_suffix("");
        arr.push_formatted(v);
        comment = Some(format!("learnt: {}", users_of(e)));
    }
    arr.set_trailing_comma(true);
    arr.set_trailing(format!(" # {}\n", comment.unwrap_or_default()));
    Ok(())
}

/// A unified diff of two texts (`---`/`+++` named `name`), 3 lines of context; empty when
/// they are equal.
pub fn unified_diff(name: &str, old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // Longest common subsequence table, from the end (profiles are small).
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    // The edit script: (' ' | '-' | '+', old index, new index, line).
    let mut ops: Vec<(char, usize, usize, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', i, j, a[i]));
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            ops.push(('+', i, j, b[j]));
            j += 1;
        } else {
            ops.push(('-', i, j, a[i]));
            i += 1;
        }
    }
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k].0 != ' ').collect();
    if changed.is_empty() {
        return String::new();
    }
    let mut out = format!("--- {name}\n+++ {name}\n");
    let mut k = 0;
    while k < changed.len() {
        // A hunk: changes closer than 2*3 lines of context share one.
        let start = changed[k].saturating_sub(3);
        let mut end = changed[k];
        while k < changed.len() && changed[k] <= end + 6 {
            end = changed[k];
            k += 1;
        }
        let end = (end + 3).min(ops.len() - 1);
        let hunk = &ops[start..=end];
        let old_len = hunk.iter().filter(|o| o.0 != '+').count();
        let new_len = hunk.iter().filter(|o| o.0 != '-').count();
        let (o0, n0) = (hunk[0].1, hunk[0].2);
        out.push_str(&format!(
            "@@ -{},{old_len} +{},{new_len} @@\n",
            o0 + usize::from(old_len > 0),
            n0 + usize::from(new_len > 0)
        ));
        for (op, _, _, line) in hunk {
            out.push_str(&format!("{op}{line}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(v: &str, user: &str) -> Entry {
        Entry {
            value: v.into(),
            raw: v.into(),
            users: [user.to_owned()].into(),
            count: 1,
        }
    }

    #[test]
    fn arrays_grow_with_comments_and_the_rest_is_kept() {
        let text = "# my profile\nversion = 1\n\n[landlock]\n# reads\nread = [\n    \"/usr\", # system\n]\n";
        let mut doc: DocumentMut = text.parse().expect("toml");
        let t = doc["landlock"].as_table_mut().expect("table");
        extend(
            t,
            "read",
            &[&entry("/etc/hosts", "curl"), &entry("${PWD}", "make")],
            false,
        )
        .expect("extend");
        extend(t, "connect-tcp", &[&entry("443", "curl")], true).expect("ints");
        let out = doc.to_string();
        assert!(
            out.starts_with("# my profile\nversion = 1\n\n[landlock]\n# reads\n"),
            "{out}"
        );
        assert!(
            out.contains("    \"/usr\", # system\n    \"/etc/hosts\", # learnt: curl (1x)\n    \"${PWD}\", # learnt: make (1x)\n]"),
            "{out}"
        );
        assert!(
            out.contains("connect-tcp = [\n    443, # learnt: curl (1x)\n]"),
            "{out}"
        );
        let back: toml::Value = toml::from_str(&out).expect("still TOML");
        assert_eq!(back["landlock"]["read"].as_array().map(Vec::len), Some(3));
    }

    #[test]
    fn diffs_are_unified() {
        assert_eq!(unified_diff("p", "a\nb\n", "a\nb\n"), "");
        let d = unified_diff("p.toml", "a\nb\nc\n", "a\nb\nx\nc\n");
        assert_eq!(
            d,
            "--- p.toml\n+++ p.toml\n@@ -1,3 +1,4 @@\n a\n b\n+x\n c\n"
        );
    }
}
