//! SORT and SORT_RO: the elements of a list, set or sorted set, ordered by
//! themselves or by weights read from other keys (BY), optionally replaced
//! by values read from other keys (GET), and returned or stored as a list.
//!
//! Redis's order exactly: numbers compare as doubles, equal ones by their
//! bytes; ALPHA compares bytes (as `strcoll` in the C locale, so up to a
//! NUL, unless the result is stored); equal ALPHA weights keep the
//! elements' order (glibc's `qsort` is a stable merge sort).

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::VecDeque;

use super::errors::{self, Error};
use super::flags::*;
use super::{int_arg, is, Args, CmdResult, Command, Context, ONE_KEY};
use crate::notify::class::{GENERIC, LIST};
use crate::store::{Db, Value};
use crate::util::now_ms;

const NOT_DOUBLE: &str = "ERR One or more scores can't be converted into double";

pub static COMMANDS: &[Command] = &[
    Command::new("sort", -2, WRITE | DENYOOM, ONE_KEY, "generic", sort),
    Command::new("sort_ro", -2, READONLY, ONE_KEY, "generic", sort_ro),
];

// SORT key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]]
//      [ASC | DESC] [ALPHA] [STORE destination]
fn sort(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    sort_generic(cx, args, false)
}

// SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]]
//         [ASC | DESC] [ALPHA]
fn sort_ro(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    sort_generic(cx, args, true)
}

/// What the options asked for.
struct Options<'a> {
    desc: bool,
    alpha: bool,
    limit_start: i64,
    limit_count: i64,
    store: Option<&'a [u8]>,
    by: Option<&'a [u8]>,
    /// BY with a pattern that has no `*`: no sorting at all.
    dont_sort: bool,
    gets: Vec<&'a [u8]>,
}

fn parse(args: &Args, read_only: bool) -> Result<Options<'_>, Error> {
    let mut options = Options {
        desc: false,
        alpha: false,
        limit_start: 0,
        limit_count: -1,
        store: None,
        by: None,
        dont_sort: false,
        gets: Vec::new(),
    };
    let mut i = 2;
    while i < args.len() {
        let left = args.len() - i - 1;
        let arg = &args[i];
        if is(arg, "asc") {
            options.desc = false;
        } else if is(arg, "desc") {
            options.desc = true;
        } else if is(arg, "alpha") {
            options.alpha = true;
        } else if is(arg, "limit") && left >= 2 {
            options.limit_start = int_arg(&args[i + 1])?;
            options.limit_count = int_arg(&args[i + 2])?;
            i += 2;
        } else if !read_only && is(arg, "store") && left >= 1 {
            options.store = Some(&args[i + 1]);
            i += 1;
        } else if is(arg, "by") && left >= 1 {
            options.by = Some(&args[i + 1]);
            // Redis looks for the `*` as C does, up to a NUL.
            options.dont_sort = !c_str(&args[i + 1]).contains(&b'*');
            i += 1;
        } else if is(arg, "get") && left >= 1 {
            options.gets.push(&args[i + 1]);
            i += 1;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    Ok(options)
}

/// An element to sort, with its weight.
struct Item {
    element: Vec<u8>,
    score: f64,
    /// ALPHA BY's weight; None when the weight key is missing.
    weight: Option<Vec<u8>>,
}

fn sort_generic(cx: &mut Context<'_>, args: &Args, read_only: bool) -> CmdResult {
    let mut options = parse(args, read_only)?;
    let now = now_ms();
    // One lock for the whole command: the write side only when storing.
    let mut db_write = options.store.map(|_| cx.db_mut());
    let db_read = if db_write.is_none() {
        Some(cx.db())
    } else {
        None
    };
    let db: &Db = match (&db_write, &db_read) {
        (Some(db), _) => db,
        (None, Some(db)) => db,
        (None, None) => unreachable!("one of the guards is taken"),
    };
    let value = db.get(&args[1], now);
    cx.count_lookup(&args[1], value.is_some());
    let value = match value {
        None => None,
        Some(value @ (Value::List(_) | Value::Set(_) | Value::ZSet(_))) => Some(value),
        Some(_) => return Err(errors::WRONGTYPE.into()),
    };
    // An unsorted set would come out in an order of the server's own, so a
    // stored result (replayed elsewhere) and a script's are sorted ALPHA.
    if options.dont_sort
        && matches!(value, Some(Value::Set(_)))
        && (options.store.is_some() || cx.session.in_script)
    {
        options.dont_sort = false;
        options.alpha = true;
        options.by = None;
    }
    let total = match value {
        Some(Value::List(list)) => list.len(),
        Some(Value::Set(set)) => set.len(),
        Some(Value::ZSet(zset)) => zset.len(),
        _ => 0,
    } as i64;
    // LIMIT as Redis bounds it.
    let mut start = options.limit_start.clamp(0, total);
    let count = options.limit_count.max(-1).min(total);
    let mut end = if count < 0 {
        total - 1
    } else {
        start + count - 1
    };
    if start >= total {
        start = total - 1;
        end = total - 2;
    }
    if end >= total {
        end = total - 1;
    }

    // The elements: a list or sorted set left unsorted gives just the range.
    let mut items: Vec<Item> = Vec::new();
    let item = |element: &[u8]| Item {
        element: element.to_vec(),
        score: 0.0,
        weight: None,
    };
    match value {
        Some(Value::List(list)) if options.dont_sort && end >= start => {
            let range = start as usize..=end as usize;
            if options.desc {
                let reversed = list.iter().rev();
                let picked = reversed.take(*range.end() + 1).skip(*range.start());
                items.extend(picked.map(|e| item(e)));
            } else {
                items.extend(list.range(range).map(|e| item(e)));
            }
            end -= start;
            start = 0;
        }
        // An empty range of an unsorted list: nothing to load.
        Some(Value::List(_)) if options.dont_sort => {}
        Some(Value::List(list)) => items.extend(list.iter().map(|e| item(e))),
        Some(Value::Set(set)) => items.extend(set.iter().map(item)),
        Some(Value::ZSet(zset)) if options.dont_sort => {
            let wanted = (end - start + 1).max(0) as usize;
            if options.desc {
                let from = (total - 1 - start).max(0) as usize;
                items.extend(zset.iter_rev_from(from).take(wanted).map(|(m, _)| item(m)));
            } else {
                items.extend(
                    zset.iter_from(start.max(0) as usize)
                        .take(wanted)
                        .map(|(m, _)| item(m)),
                );
            }
            end -= start;
            start = 0;
        }
        Some(Value::ZSet(zset)) => items.extend(zset.iter().map(|(m, _)| item(m))),
        _ => {}
    }

    // The weights, then the sort.
    let mut not_double = false;
    if !options.dont_sort {
        for item in &mut items {
            let weight = match options.by {
                Some(pattern) => match lookup_by_pattern(cx, db, now, pattern, &item.element) {
                    Some(weight) => weight,
                    None => continue,
                },
                None => Cow::Borrowed(&item.element[..]),
            };
            if options.alpha {
                if options.by.is_some() {
                    item.weight = Some(weight.into_owned());
                }
            } else {
                match strtod(&weight) {
                    Some(score) => item.score = score,
                    None => not_double = true,
                }
            }
        }
        let collate = options.store.is_none();
        let by = options.by.is_some();
        let compare = |a: &Item, b: &Item| -> Ordering {
            let order = if !options.alpha {
                a.score
                    .partial_cmp(&b.score)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| a.element.cmp(&b.element))
            } else if by {
                match (&a.weight, &b.weight) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (Some(x), Some(y)) if collate => c_str(x).cmp(c_str(y)),
                    (Some(x), Some(y)) => x.cmp(y),
                }
            } else if collate {
                c_str(&a.element).cmp(c_str(&b.element))
            } else {
                a.element.cmp(&b.element)
            };
            if options.desc {
                order.reverse()
            } else {
                order
            }
        };
        if not_double {
            // No order to compute: the reply is an error.
        } else if by && (start != 0 || end != items.len() as i64 - 1) && !items.is_empty() {
            // Redis sorts only what LIMIT keeps when weights come from
            // other keys, with a quicksort of its own: equal weights come
            // out in that sort's order, so it is followed step by step.
            crate::util::partial_quicksort(
                &mut items,
                start as usize,
                end.max(0) as usize,
                &compare,
            );
        } else {
            items.sort_by(compare);
        }
    }
    if not_double {
        return Err(NOT_DOUBLE.into());
    }

    // The output: each element, or what each GET pattern finds for it.
    let range = if end >= start {
        &items[start as usize..=end as usize]
    } else {
        &[][..]
    };
    let output_len = range.len() * options.gets.len().max(1);
    let mut rows: Vec<Option<Vec<u8>>> = Vec::with_capacity(output_len);
    for item in range {
        if options.gets.is_empty() {
            rows.push(Some(item.element.clone()));
        }
        for pattern in &options.gets {
            rows.push(lookup_by_pattern(cx, db, now, pattern, &item.element).map(Cow::into_owned));
        }
    }
    drop(db_read);
    let Some(destination) = options.store else {
        cx.out.array(rows.len());
        for row in rows {
            match row {
                Some(bytes) => cx.out.bulk(&bytes),
                None => cx.out.null(),
            }
        }
        return Ok(());
    };
    let Some(db) = db_write.as_mut() else {
        return Ok(());
    };
    if rows.is_empty() {
        if db.remove(destination, now).is_some() {
            cx.notify(GENERIC, "del", destination);
        }
    } else {
        let list: VecDeque<Vec<u8>> = rows.into_iter().map(Option::unwrap_or_default).collect();
        db.set(destination.into(), Value::List(Box::new(list)));
        cx.notify(LIST, "sortstore", destination);
        let index = cx.session.db;
        cx.key_ready(index, destination);
    }
    drop(db_write);
    cx.out.int(output_len as i64);
    Ok(())
}

/// What `pattern` names for `element` (Redis's `lookupKeyByPattern`): `#`
/// is the element itself; otherwise the first `*` becomes the element and
/// the result is that string key's value, or with `->field` at the end that
/// hash key's field. None for a pattern without `*`, a missing key or
/// field, or a key of another type. Each key read is a lookup.
fn lookup_by_pattern<'d>(
    cx: &Context<'_>,
    db: &'d Db,
    now: u64,
    pattern: &[u8],
    element: &'d [u8],
) -> Option<Cow<'d, [u8]>> {
    let text = c_str(pattern);
    if text == b"#" {
        return Some(Cow::Borrowed(element));
    }
    let star = text.iter().position(|&b| b == b'*')?;
    // `->` after the `*`, with something after it, names a hash field.
    let arrow = text[star + 1..]
        .windows(2)
        .position(|w| w == b"->")
        .map(|at| star + 1 + at)
        .filter(|&at| at + 2 < text.len());
    let (postfix, field) = match arrow {
        Some(at) => (&pattern[star + 1..at], Some(&pattern[at + 2..])),
        None => (&pattern[star + 1..], None),
    };
    let mut key = Vec::with_capacity(pattern.len() + element.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(element);
    key.extend_from_slice(postfix);
    let value = db.get(&key, now);
    cx.count_lookup(&key, value.is_some());
    match (value?, field) {
        (Value::Str(bytes), None) => Some(Cow::Borrowed(&bytes[..])),
        (Value::Hash(hash), Some(field)) => hash.get(field).map(Cow::Borrowed),
        _ => None,
    }
}

/// The bytes before the first NUL: what C's string functions see.
fn c_str(bytes: &[u8]) -> &[u8] {
    bytes
        .iter()
        .position(|&b| b == 0)
        .map_or(bytes, |nul| &bytes[..nul])
}

/// A weight as SORT reads it with C's `strtod`: leading white space, the
/// whole rest (up to a NUL) a number, decimal or hexadecimal, `inf`
/// allowed; NaN, overflow and underflow refused. An empty string is 0.
fn strtod(bytes: &[u8]) -> Option<f64> {
    let text = c_str(bytes);
    if text.is_empty() {
        return Some(0.0);
    }
    match crate::util::strtod(text)? {
        (value, false) if !value.is_nan() => Some(value),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::strtod;

    #[test]
    fn weights_read_as_strtod_reads_them() {
        assert_eq!(strtod(b""), Some(0.0));
        assert_eq!(strtod(b" 1.5"), Some(1.5));
        assert_eq!(strtod(b"1.5 "), None);
        assert_eq!(strtod(b"  "), None);
        assert_eq!(strtod(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(strtod(b"nan"), None);
        assert_eq!(strtod(b"1e400"), None);
        assert_eq!(strtod(b"1e-400"), None);
        assert_eq!(strtod(b"0x10"), Some(16.0));
        assert_eq!(strtod(b"3\0junk"), Some(3.0));
        assert_eq!(strtod(b"abc"), None);
        assert_eq!(strtod(b"0e5"), Some(0.0));
    }
}
