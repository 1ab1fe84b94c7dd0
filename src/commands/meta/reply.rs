//! COMMAND INFO's and COMMAND DOCS's entries, in RESP2 or RESP3.

use super::{cmd, flag_names, key, ArgDoc, BeginSearch, CommandMeta, FindKeys};
use crate::resp::Reply;

/// A set of status replies.
fn write_names(out: &mut Reply, names: &[&str]) {
    out.set(names.len());
    names.iter().for_each(|name| out.simple(name));
}

fn write_flags(out: &mut Reply, flags: u32, names: &'static [(u32, &'static str)]) {
    write_names(out, &flag_names(flags, names).collect::<Vec<_>>());
}

impl CommandMeta {
    /// Its 10-field COMMAND INFO entry, named `full_name`, listing the
    /// subcommands `subs` (those the server has).
    pub fn write_info(&self, out: &mut Reply, full_name: &str, subs: &[&CommandMeta]) {
        out.array(10);
        out.bulk(full_name.as_bytes());
        out.int(i64::from(self.arity));
        write_flags(out, self.flags, cmd::NAMES);
        out.int(i64::from(self.range.0));
        out.int(i64::from(self.range.1));
        out.int(i64::from(self.range.2));
        write_names(out, &self.categories());
        out.set(self.tips.len());
        self.tips.iter().for_each(|tip| out.bulk(tip.as_bytes()));
        self.write_key_specs(out);
        if self.subcommands.is_empty() {
            out.set(0);
        } else {
            out.array(subs.len());
            for sub in subs {
                sub.write_info(out, &format!("{full_name}|{}", sub.name), &[]);
            }
        }
    }

    fn write_key_specs(&self, out: &mut Reply) {
        out.set(self.key_specs.len());
        for spec in self.key_specs {
            out.map(if spec.notes.is_empty() { 3 } else { 4 });
            if !spec.notes.is_empty() {
                out.bulk(b"notes");
                out.bulk(spec.notes.as_bytes());
            }
            out.bulk(b"flags");
            write_flags(out, spec.flags, key::NAMES);
            out.bulk(b"begin_search");
            out.map(2);
            out.bulk(b"type");
            match spec.begin {
                BeginSearch::Index(index) => {
                    out.bulk(b"index");
                    out.bulk(b"spec");
                    out.map(1);
                    out.bulk(b"index");
                    out.int(i64::from(index));
                }
                BeginSearch::Keyword(keyword, startfrom) => {
                    out.bulk(b"keyword");
                    out.bulk(b"spec");
                    out.map(2);
                    out.bulk(b"keyword");
                    out.bulk(keyword.as_bytes());
                    out.bulk(b"startfrom");
                    out.int(i64::from(startfrom));
                }
                BeginSearch::UnknownBegin => {
                    out.bulk(b"unknown");
                    out.bulk(b"spec");
                    out.map(0);
                }
            }
            out.bulk(b"find_keys");
            out.map(2);
            out.bulk(b"type");
            let (kind, fields) = match spec.find {
                FindKeys::Range {
                    lastkey,
                    step,
                    limit,
                } => (
                    "range",
                    [("lastkey", lastkey), ("keystep", step), ("limit", limit)],
                ),
                FindKeys::Keynum {
                    keynumidx,
                    firstkey,
                    step,
                } => (
                    "keynum",
                    [
                        ("keynumidx", keynumidx),
                        ("firstkey", firstkey),
                        ("keystep", step),
                    ],
                ),
                FindKeys::UnknownFind => {
                    out.bulk(b"unknown");
                    out.bulk(b"spec");
                    out.map(0);
                    continue;
                }
            };
            out.bulk(kind.as_bytes());
            out.bulk(b"spec");
            out.map(3);
            for (name, value) in fields {
                out.bulk(name.as_bytes());
                out.int(i64::from(value));
            }
        }
    }

    /// Its COMMAND DOCS map, listing the subcommands `subs` (those the
    /// server has) under their full names, `full_name|sub`.
    pub fn write_docs(&self, out: &mut Reply, full_name: &str, subs: &[&CommandMeta]) {
        let docs = self.docs();
        let texts = [
            ("summary", docs.summary),
            ("since", docs.since),
            ("group", docs.group),
            ("complexity", docs.complexity),
        ];
        let later = [
            ("deprecated_since", docs.deprecated_since),
            ("replaced_by", docs.replaced_by),
        ];
        let has_subcommands = !self.subcommands.is_empty();
        let len = texts
            .iter()
            .chain(&later)
            .filter(|(_, v)| !v.is_empty())
            .count()
            + usize::from(!docs.doc_flags.is_empty())
            + usize::from(!docs.history.is_empty())
            + usize::from(!docs.args.is_empty())
            + usize::from(has_subcommands);
        out.map(len);
        for (name, value) in texts.iter().filter(|(_, v)| !v.is_empty()) {
            out.bulk(name.as_bytes());
            out.bulk(value.as_bytes());
        }
        if !docs.doc_flags.is_empty() {
            out.bulk(b"doc_flags");
            write_names(out, &docs.doc_flags);
        }
        for (name, value) in later.iter().filter(|(_, v)| !v.is_empty()) {
            out.bulk(name.as_bytes());
            out.bulk(value.as_bytes());
        }
        if !docs.history.is_empty() {
            out.bulk(b"history");
            out.set(docs.history.len());
            for (since, change) in &docs.history {
                out.array(2);
                out.bulk(since.as_bytes());
                out.bulk(change.as_bytes());
            }
        }
        if !docs.args.is_empty() {
            out.bulk(b"arguments");
            write_args(out, &docs.args);
        }
        if has_subcommands {
            out.bulk(b"subcommands");
            out.map(subs.len());
            for sub in subs {
                let name = format!("{full_name}|{}", sub.name);
                out.bulk(name.as_bytes());
                sub.write_docs(out, &name, &[]);
            }
        }
    }
}

/// Arguments at one depth: `args[0]` and its siblings, each followed by
/// its nested arguments.
fn write_args(out: &mut Reply, args: &[ArgDoc]) {
    let Some(depth) = args.first().map(|a| a.depth) else {
        out.array(0);
        return;
    };
    let siblings: Vec<usize> = (0..args.len())
        .filter(|&i| args[i].depth == depth)
        .collect();
    out.array(siblings.len());
    for (n, &i) in siblings.iter().enumerate() {
        let arg = &args[i];
        let children = &args[i + 1..siblings.get(n + 1).copied().unwrap_or(args.len())];
        let nested = matches!(arg.kind, "oneof" | "block");
        let texts = [
            ("since", arg.since),
            ("deprecated_since", arg.deprecated_since),
        ];
        let len = 2
            + usize::from(arg.key_spec >= 0)
            + usize::from(arg.token.is_some())
            + texts.iter().filter(|(_, v)| !v.is_empty()).count()
            + usize::from(!arg.flags.is_empty())
            + usize::from(nested);
        out.map(len);
        out.bulk(b"name");
        out.bulk(arg.name.as_bytes());
        out.bulk(b"type");
        out.bulk(arg.kind.as_bytes());
        if arg.key_spec >= 0 {
            out.bulk(b"key_spec_index");
            out.int(arg.key_spec);
        }
        if let Some(token) = arg.token {
            out.bulk(b"token");
            out.bulk(token.as_bytes());
        }
        for (name, value) in texts.iter().filter(|(_, v)| !v.is_empty()) {
            out.bulk(name.as_bytes());
            out.bulk(value.as_bytes());
        }
        if !arg.flags.is_empty() {
            out.bulk(b"flags");
            write_names(out, &arg.flags);
        }
        if nested {
            out.bulk(b"arguments");
            write_args(out, children);
        }
    }
}
