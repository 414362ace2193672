//! Named syscall groups with systemd's names and membership (`@mount`, `@privileged`, ...).
//! STUB: the confinement work fills in the full table.

/// One named group. Members are syscall names or other `@groups`.
#[derive(Debug)]
pub struct Group {
    pub name: &'static str,
    pub description: &'static str,
    pub members: &'static [&'static str],
}

/// Every group, sorted by name.
pub static GROUPS: &[Group] = &[Group {
    name: "@mount",
    description: "Mounting and unmounting of file systems",
    members: &[
        "chroot",
        "fsconfig",
        "fsmount",
        "fsopen",
        "fspick",
        "mount",
        "mount_setattr",
        "move_mount",
        "open_tree",
        "pivot_root",
        "umount",
        "umount2",
    ],
}];

/// Look a group up by name (with the leading `@`).
pub fn lookup(name: &str) -> Option<&'static Group> {
    GROUPS.iter().find(|g| g.name == name)
}

/// Expand a group to syscall names, recursively, sorted and without duplicates.
/// `None` when the group (or a group it includes) does not exist.
pub fn expand(name: &str) -> Option<Vec<&'static str>> {
    let mut out = Vec::new();
    expand_into(name, &mut out, 0)?;
    out.sort_unstable();
    out.dedup();
    Some(out)
}

fn expand_into(name: &str, out: &mut Vec<&'static str>, depth: u32) -> Option<()> {
    if depth > 8 {
        return None;
    }
    for m in lookup(name)?.members {
        if m.starts_with('@') {
            expand_into(m, out, depth + 1)?;
        } else {
            out.push(m);
        }
    }
    Some(())
}

/// The table printed by `stockade seccomp groups`.
pub fn render_groups() -> String {
    let mut out = String::new();
    for g in GROUPS {
        out.push_str(&format!(
            "{}\n    # {}\n    {}\n\n",
            g.name,
            g.description,
            g.members.join(" ")
        ));
    }
    out
}
