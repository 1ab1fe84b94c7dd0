#!/usr/bin/env python3
"""Writes src/commands/meta_table.rs: every Redis 7.0 command's metadata
(arity, flags, ACL categories, tips, key specs, docs and arguments) from
Redis's own per-command JSON files.

    scripts/gen-command-meta.py [REDIS_SRC] > src/commands/meta_table.rs

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


def arg_flags(arg):
    names = [n.upper() for n in ("optional", "multiple", "multiple_token") if arg.get(n)]
    return flags_expr("arg", names)


ARG_TYPES = {
    "string": "Str", "integer": "Integer", "double": "Double", "key": "Key",
    "pattern": "Pattern", "unix-time": "UnixTime", "pure-token": "PureToken",
    "oneof": "OneOf", "block": "Block",
}


def token_expr(arg):
    token = arg.get("token")
    if not token:
        return "None"
    # Redis pastes the JSON text into C source, where MIGRATE's `""` reads
    # as two adjacent literals: an empty token.
    if token == '""':
        token = ""
    return "Some(%s)" % rust_str(token.upper())


def args_expr(args, indent):
    if not args:
        return "&[]"
    pad = " " * indent
    lines = ["&["]
    for a in args:
        sub = args_expr(a.get("arguments") if a["type"] in ("oneof", "block") else None, indent + 4)
        lines.append("%s    Arg { name: %s, kind: %s, key_spec: %d, token: %s, since: %s, deprecated_since: %s, flags: %s, args: %s }," % (
            pad, rust_str(a["name"].lower()), ARG_TYPES[a["type"]], a.get("key_spec_index", -1),
            token_expr(a), rust_str(a.get("since")),
            rust_str(a.get("deprecated_since")), arg_flags(a), sub))
    lines.append(pad + "]")
    return "\n".join(lines)


def command_expr(name, desc, subs, indent):
    pad = " " * indent
    specs = desc.get("key_specs", [])
    first, last, step, movable = legacy_range(specs)
    flags = [f for f in desc.get("command_flags", [])]
    if movable:
        flags.append("MOVABLE_KEYS")
    group = GROUPS.get(desc["group"], desc["group"])
    tips = "&[%s]" % ", ".join(rust_str(t.lower()) for t in desc.get("command_tips", []))
    history = "&[%s]" % ", ".join("(%s, %s)" % (rust_str(s), rust_str(c)) for s, c in desc.get("history", []))
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
        pad + "    summary: %s," % rust_str(desc.get("summary")),
        pad + "    since: %s," % rust_str(desc.get("since")),
        pad + "    group: %s," % rust_str(group),
        pad + "    complexity: %s," % rust_str(desc.get("complexity")),
        pad + "    doc_flags: %s," % flags_expr("doc", desc.get("doc_flags", [])),
        pad + "    deprecated_since: %s," % rust_str(desc.get("deprecated_since")),
        pad + "    replaced_by: %s," % rust_str(desc.get("replaced_by")),
        pad + "    history: %s," % history,
        pad + "    args: %s," % args_expr(desc.get("arguments"), indent + 4),
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
    print("use super::{acl, arg, cmd, doc, key, Arg, ArgType::*, BeginSearch::*, CommandMeta, FindKeys::*, GetKeys, KeySpec};")
    print()
    print("pub(super) static COMMANDS: &[CommandMeta] = &[")
    for name in sorted(top):
        print(command_expr(name, top[name], subs.get(name), 4) + ",")
    print("];")


main()
