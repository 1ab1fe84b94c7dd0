#!/usr/bin/env python3
"""Writes src/commands/meta/table.rs: every Redis 7.0 command's metadata
(arity, flags, ACL categories, tips, key specs, docs and arguments) from
Redis's own per-command JSON files.

    scripts/gen-command-meta.py [REDIS_SRC] > src/commands/meta/table.rs

REDIS_SRC defaults to /work/redis-src/redis-7.0.15. The output is
committed; run this again only when moving to another Redis version.

What Redis computes at startup rather than keeps in the JSON is computed
here the same way (server.c): the implicit ACL categories
(setImplicitACLCategories), the legacy first/last/step and the
`movablekeys` flag (populateCommandLegacyRangeSpec). Sentinel-only
commands are left out, as a non-sentinel server leaves them out.
"""

import glob
import json
import os
import sys

SRC = sys.argv[1] if len(sys.argv) > 1 else "/work/redis-src/redis-7.0.15"

GROUPS = {"sorted_set": "sorted-set"}


def rust_str(s):
    """A Rust string literal (the JSON has only printable text)."""
    return json.dumps(s or "", ensure_ascii=False)


def flags_expr(prefix, names):
    if not names:
        return "0"
    return " | ".join("%s::%s" % (prefix, n) for n in names)


def legacy_range(specs):
    """(first, last, step, movable) as populateCommandLegacyRangeSpec."""
    if not specs:
        return 0, 0, 0, False
    movable = False

    def is_range(s):
        return "index" in s["begin_search"] and "range" in s["find_keys"]

    if len(specs) == 1 and is_range(specs[0]):
        s = specs[0]
        first = s["begin_search"]["index"]["pos"]
        last = s["find_keys"]["range"]["lastkey"]
        step = s["find_keys"]["range"]["step"]
        movable = "INCOMPLETE" in s["flags"]
        return first, (last + first if last >= 0 else last), step, movable
    first, last, prev_last = None, 0, 0
    for s in specs:
        if not is_range(s):
            movable = True
            continue
        pos = s["begin_search"]["index"]["pos"]
        rng = s["find_keys"]["range"]
        if rng["step"] != 1 or (prev_last and prev_last != pos - 1):
            movable = True
            continue
        if "INCOMPLETE" in s["flags"]:
            movable = True
        first = pos if first is None else min(first, pos)
        abs_last = rng["lastkey"] + pos if rng["lastkey"] >= 0 else rng["lastkey"]
        # Redis compares as unsigned: a negative last key wins.
        last = max(last & 0xFFFFFFFF, abs_last & 0xFFFFFFFF)
        last = last - (1 << 32) if last >= (1 << 31) else last
        prev_last = last
    if first is None:
        return 0, 0, 0, True
    return first, last, 1, movable


def acl_categories(desc):
    cats = list(desc.get("acl_categories", []))
    flags = desc.get("command_flags", [])
    if "WRITE" in flags:
        cats.append("WRITE")
    if "READONLY" in flags and "SCRIPTING" not in cats:
        cats.append("READ")
    if "ADMIN" in flags:
        cats += ["ADMIN", "DANGEROUS"]
    if "PUBSUB" in flags:
        cats.append("PUBSUB")
    if "FAST" in flags:
        cats.append("FAST")
    if "BLOCKING" in flags:
        cats.append("BLOCKING")
    if "FAST" not in cats:
        cats.append("SLOW")
    return sorted(set(cats))


def key_spec(spec):
    bs = spec["begin_search"]
    if "index" in bs:
        begin = "Index(%d)" % bs["index"]["pos"]
    elif "keyword" in bs:
        begin = "Keyword(%s, %d)" % (rust_str(bs["keyword"]["keyword"]), bs["keyword"]["startfrom"])
    else:
        begin = "UnknownBegin"
    fk = spec["find_keys"]
    if "range" in fk:
        r = fk["range"]
        find = "Range { lastkey: %d, step: %d, limit: %d }" % (r["lastkey"], r["step"], r["limit"])
    elif "keynum" in fk:
        k = fk["keynum"]
        find = "Keynum { keynumidx: %d, firstkey: %d, step: %d }" % (k["keynumidx"], k["firstkey"], k["step"])
    else:
        find = "UnknownFind"
    return "KeySpec { notes: %s, flags: %s, begin: %s, find: %s }" % (
        rust_str(spec.get("notes")), flags_expr("key", spec["flags"]), begin, find)


ARG_FLAG_LETTERS = (("optional", "o"), ("multiple", "m"), ("multiple_token", "t"))


def arg_lines(args, depth):
    """One line per documented argument, nested ones after their parent
    with a greater depth (see `meta::Docs`)."""
    lines = []
    for a in args or []:
        token = a.get("token")
        if token is not None:
            # Redis pastes the JSON text into C source, where MIGRATE's
            # `""` reads as two adjacent literals: an empty token.
            token = "=" + ("" if token == '""' else token.upper())
        flags = "".join(letter for name, letter in ARG_FLAG_LETTERS if a.get(name))
        lines.append("\t".join([
            "A", str(depth), a["name"].lower(), a["type"], str(a.get("key_spec_index", -1)),
            flags, token or "", a.get("since", ""), a.get("deprecated_since", "")]))
        if a["type"] in ("oneof", "block"):
            lines += arg_lines(a.get("arguments"), depth + 1)
    return lines


def docs_expr(desc, group, indent):
    """COMMAND DOCS's fields as lines of one string: compact in the binary
    (no pointer per field), read back by `meta::Docs`."""
    lines = [
        desc.get("summary", ""),
        desc.get("since", ""),
        group,
        desc.get("complexity", ""),
        " ".join(f.lower() for f in desc.get("doc_flags", [])),
        desc.get("deprecated_since", ""),
        desc.get("replaced_by", ""),
    ]
    lines += ["H\t%s\t%s" % (since, change) for since, change in desc.get("history", [])]
    lines += arg_lines(desc.get("arguments"), 0)
    pad = " " * indent
    body = "\\n\\\n".join(pad + json.dumps(line, ensure_ascii=False)[1:-1] for line in lines)
    return '"\\\n%s"' % body


def command_expr(name, desc, subs, indent):
    pad = " " * indent
    specs = desc.get("key_specs", [])
    first, last, step, movable = legacy_range(specs)
    flags = [f for f in desc.get("command_flags", [])]
    if movable:
        flags.append("MOVABLE_KEYS")
    group = GROUPS.get(desc["group"], desc["group"])
    tips = "&[%s]" % ", ".join(rust_str(t.lower()) for t in desc.get("command_tips", []))
    getkeys = desc.get("get_keys_function")
    out = [
        pad + "CommandMeta {",
        pad + "    name: %s," % rust_str(name),
        pad + "    arity: %d," % desc["arity"],
        pad + "    flags: %s," % flags_expr("cmd", flags),
        pad + "    acl: %s," % flags_expr("acl", acl_categories(desc)),
        pad + "    range: (%d, %d, %d)," % (first, last, step),
        pad + "    tips: %s," % tips,
        pad + "    key_specs: &[%s]," % ", ".join(key_spec(s) for s in specs),
        pad + "    getkeys: %s," % ("Some(GetKeys::%s)" % getkeys_variant(getkeys) if getkeys else "None"),
        pad + "    docs: %s," % docs_expr(desc, group, indent + 8),
    ]
    if subs:
        out.append(pad + "    subcommands: &[")
        for sub_name in sorted(subs):
            out.append(command_expr(sub_name, subs[sub_name], None, indent + 8) + ",")
        out.append(pad + "    ],")
    else:
        out.append(pad + "    subcommands: &[],")
    out.append(pad + "}")
    return "\n".join(out)


def getkeys_variant(function):
    # zunionInterDiffStoreGetKeys -> ZunionInterDiffStore
    base = function[:-len("GetKeys")]
    return base[0].upper() + base[1:]


def main():
    top, subs = {}, {}
    for path in sorted(glob.glob(os.path.join(SRC, "src/commands/*.json"))):
        with open(path) as f:
            for name, desc in json.load(f).items():
                if "ONLY_SENTINEL" in desc.get("command_flags", []):
                    continue
                if "container" in desc:
                    subs.setdefault(desc["container"].lower(), {})[name.lower()] = desc
                else:
                    top[name.lower()] = desc
    for container, children in subs.items():
        for desc in children.values():
            desc["group"] = top[container]["group"]
    print("// @generated by scripts/gen-command-meta.py from Redis 7.0.15's")
    print("// src/commands/*.json: do not edit by hand. %d commands, sorted by name;" % len(top))
    print("// subcommands sorted by name under their container.")
    print()
    print("use super::{acl, cmd, key, BeginSearch::*, CommandMeta, FindKeys::*, GetKeys, KeySpec};")
    print()
    print("pub(super) static COMMANDS: &[CommandMeta] = &[")
    for name in sorted(top):
        print(command_expr(name, top[name], subs.get(name), 4) + ",")
    print("];")


main()
