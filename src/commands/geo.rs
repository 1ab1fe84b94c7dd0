//! Geospatial commands: GEOADD, GEODIST, GEOHASH, GEOPOS, GEORADIUS,
//! GEORADIUSBYMEMBER (and their `_RO` forms), GEOSEARCH and GEOSEARCHSTORE.
//!
//! A geo set is an ordinary sorted set whose scores are 52-bit geohashes
//! (see `store::geohash`); searches scan the score ranges of the geohash
//! boxes around the centre, as Redis does, so results, their order and
//! every printed digit match Redis's.

use super::errors::{self, Error};
use super::flags::*;
use super::{int_arg, is, Args, CmdResult, Command, Context, KeySpec, ONE_KEY};
use crate::resp::Reply;
use crate::store::geohash::{self, Search, Shape, LAT_MAX, LAT_MIN, LONG_MAX, LONG_MIN};
use crate::store::{Db, ScoreBound, Value, ZSet};
use crate::util::now_ms;

const UNKNOWN_UNIT: &str = "ERR unsupported unit provided. please use M, KM, FT, MI";
const NEGATIVE_RADIUS: &str = "ERR radius cannot be negative";
const NEGATIVE_BOX: &str = "ERR height or width cannot be negative";
const BAD_MEMBER: &str = "ERR could not decode requested zset member";
const COUNT_NOT_POSITIVE: &str = "ERR COUNT must be > 0";
const ANY_WITHOUT_COUNT: &str = "ERR the ANY argument requires COUNT argument";

/// GEOSEARCHSTORE's keys: the destination, then the source.
const TWO_KEYS: KeySpec = KeySpec {
    first: 1,
    last: 2,
    step: 1,
};

pub static COMMANDS: &[Command] = &[
    Command::new("geoadd", -5, WRITE | DENYOOM, ONE_KEY, "geo", geoadd),
    Command::new("geodist", -4, READONLY, ONE_KEY, "geo", geodist),
    Command::new("geohash", -2, READONLY, ONE_KEY, "geo", geohash),
    Command::new("geopos", -2, READONLY, ONE_KEY, "geo", geopos),
    Command::new("georadius", -6, WRITE | DENYOOM, ONE_KEY, "geo", georadius),
    Command::new("georadius_ro", -6, READONLY, ONE_KEY, "geo", georadius_ro),
    Command::new(
        "georadiusbymember",
        -5,
        WRITE | DENYOOM,
        ONE_KEY,
        "geo",
        georadiusbymember,
    ),
    Command::new(
        "georadiusbymember_ro",
        -5,
        READONLY,
        ONE_KEY,
        "geo",
        georadiusbymember_ro,
    ),
    Command::new("geosearch", -7, READONLY, ONE_KEY, "geo", geosearch),
    Command::new(
        "geosearchstore",
        -8,
        WRITE | DENYOOM,
        TWO_KEYS,
        "geo",
        geosearchstore,
    ),
];

/// A double argument as Redis's `getDoubleFromObject` reads it: all of
/// it a number, no leading space, no NaN, no overflow or underflow.
fn parse_double(arg: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(arg).ok()?;
    if text.is_empty() || text.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let value: f64 = text.parse().ok()?;
    let digits = text.trim_start_matches(['+', '-']).to_ascii_lowercase();
    if value.is_nan() {
        return None;
    }
    // strtod reports a range error for a finite number too large (inf)
    // or too small (0) to represent.
    if value.is_infinite() && !digits.starts_with("inf") {
        return None;
    }
    if value == 0.0 {
        let mantissa = digits.split('e').next().unwrap_or("");
        if mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
            return None;
        }
    }
    Some(value)
}

fn double_arg(arg: &[u8], message: &'static str) -> Result<f64, Error> {
    parse_double(arg).ok_or(Error::from(message))
}

/// A longitude and a latitude, checked against the indexable area.
fn lonlat_arg(args: &[Vec<u8>]) -> Result<[f64; 2], Error> {
    let longitude = double_arg(&args[0], errors::NOT_FLOAT)?;
    let latitude = double_arg(&args[1], errors::NOT_FLOAT)?;
    if !(LONG_MIN..=LONG_MAX).contains(&longitude) || !(LAT_MIN..=LAT_MAX).contains(&latitude) {
        return Err(Error::new(format!(
            "ERR invalid longitude,latitude pair {longitude:.6},{latitude:.6}"
        )));
    }
    Ok([longitude, latitude])
}

/// A unit's size in meters.
fn unit_arg(arg: &[u8]) -> Result<f64, Error> {
    match arg.to_ascii_lowercase().as_slice() {
        b"m" => Ok(1.0),
        b"km" => Ok(1000.0),
        b"ft" => Ok(0.3048),
        b"mi" => Ok(1609.34),
        _ => Err(UNKNOWN_UNIT.into()),
    }
}

/// `radius unit`: the radius and the unit's size in meters.
fn radius_arg(args: &[Vec<u8>]) -> Result<(f64, f64), Error> {
    let radius = double_arg(&args[0], "ERR need numeric radius")?;
    if radius < 0.0 {
        return Err(NEGATIVE_RADIUS.into());
    }
    Ok((radius, unit_arg(&args[1])?))
}

/// `width height unit`.
fn box_arg(args: &[Vec<u8>]) -> Result<(f64, f64, f64), Error> {
    let width = double_arg(&args[0], "ERR need numeric width")?;
    let height = double_arg(&args[1], "ERR need numeric height")?;
    if height < 0.0 || width < 0.0 {
        return Err(NEGATIVE_BOX.into());
    }
    Ok((width, height, unit_arg(&args[2])?))
}

/// The sorted set under `key` (None when missing), counting the lookup.
fn read_zset<'d>(
    cx: &Context<'_>,
    db: &'d Db,
    key: &[u8],
    now: u64,
) -> Result<Option<&'d ZSet>, Error> {
    let value = db.get(key, now);
    cx.count_lookup(key, value.is_some());
    match value {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z)),
        Some(_) => Err(errors::WRONGTYPE.into()),
    }
}

/// A distance with four decimals, as Redis's `fixedpoint_d2string`.
fn format_distance(distance: f64) -> String {
    if distance == 0.0 {
        return "0.0000".into();
    }
    let scaled = (distance * 10000.0).round_ties_even();
    // llrint: out of range (or NaN) is LLONG_MIN.
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    let scaled = if (-TWO_63..TWO_63).contains(&scaled) {
        scaled as i64
    } else {
        i64::MIN
    };
    let sign = if scaled < 0 { "-" } else { "" };
    let magnitude = scaled.unsigned_abs();
    format!("{sign}{}.{:04}", magnitude / 10000, magnitude % 10000)
}

/// A coordinate as Redis prints it (`%.17Lf`, trailing zeros removed): a
/// bulk string in RESP2, a double in RESP3.
fn reply_coordinate(out: &mut Reply, value: f64) {
    let mut text = if value.is_infinite() {
        if value > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        format!("{value:.17}")
    };
    if text.contains('.') {
        let trimmed = text.trim_end_matches('0').trim_end_matches('.').len();
        text.truncate(trimmed);
    }
    if text == "-0" {
        text = "0".into();
    }
    if out.resp3 {
        out.buf.push(b',');
        out.buf.extend_from_slice(text.as_bytes());
        out.buf.extend_from_slice(b"\r\n");
    } else {
        out.bulk(text.as_bytes());
    }
}

// GEOADD key [NX|XX] [CH] longitude latitude member [longitude latitude member ...]
fn geoadd(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let mut first = 2;
    let (mut nx, mut xx) = (false, false);
    while let Some(arg) = args.get(first) {
        if is(arg, "nx") {
            nx = true;
        } else if is(arg, "xx") {
            xx = true;
        } else if !is(arg, "ch") {
            break;
        }
        first += 1;
    }
    let triples = &args[first..];
    if triples.len() % 3 != 0 || (xx && nx) {
        return Err(errors::SYNTAX.into());
    }
    // Redis runs ZADD with the options and each point's score, and logs
    // that ZADD.
    let mut zadd: Vec<Vec<u8>> = Vec::with_capacity(first + triples.len() / 3 * 2);
    zadd.push(b"zadd".to_vec());
    zadd.extend(args[1..first].iter().cloned());
    for triple in triples.chunks(3) {
        let [longitude, latitude] = lonlat_arg(&triple[..2])?;
        let score = geohash::lonlat_to_score(longitude, latitude).unwrap_or(0);
        zadd.push(score.to_string().into_bytes());
        zadd.push(triple[2].clone());
    }
    let result = super::zsets::zadd(cx, &zadd);
    crate::persistence::aof::replace_args(cx, zadd);
    result
}

// GEODIST key member1 member2 [M|KM|FT|MI]
fn geodist(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let to_meters = match args.len() {
        4 => 1.0,
        5 => unit_arg(&args[4])?,
        _ => return Err(errors::SYNTAX.into()),
    };
    let db = cx.db();
    let Some(z) = read_zset(cx, &db, &args[1], now_ms())? else {
        drop(db);
        cx.out.null();
        return Ok(());
    };
    let (Some(score1), Some(score2)) = (z.score(&args[2]), z.score(&args[3])) else {
        drop(db);
        cx.out.null();
        return Ok(());
    };
    drop(db);
    let [lon1, lat1] = geohash::score_to_lonlat(score1);
    let [lon2, lat2] = geohash::score_to_lonlat(score2);
    let distance = geohash::distance(lon1, lat1, lon2, lat2) / to_meters;
    cx.out.bulk(format_distance(distance).as_bytes());
    Ok(())
}

// GEOHASH key [member [member ...]]
fn geohash(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let db = cx.db();
    let z = read_zset(cx, &db, &args[1], now_ms())?;
    let hashes: Vec<Option<[u8; 11]>> = args[2..]
        .iter()
        .map(|member| {
            let score = z?.score(member)?;
            let [longitude, latitude] = geohash::score_to_lonlat(score);
            Some(geohash::standard_geohash(longitude, latitude))
        })
        .collect();
    drop(db);
    cx.out.array(hashes.len());
    for hash in hashes {
        match hash {
            Some(text) => cx.out.bulk(&text),
            None => cx.out.null(),
        }
    }
    Ok(())
}

// GEOPOS key [member [member ...]]
fn geopos(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let db = cx.db();
    let z = read_zset(cx, &db, &args[1], now_ms())?;
    let points: Vec<Option<[f64; 2]>> = args[2..]
        .iter()
        .map(|member| Some(geohash::score_to_lonlat(z?.score(member)?)))
        .collect();
    drop(db);
    cx.out.array(points.len());
    for point in points {
        match point {
            Some([longitude, latitude]) => {
                cx.out.array(2);
                reply_coordinate(cx.out, longitude);
                reply_coordinate(cx.out, latitude);
            }
            None => cx.out.null_array(),
        }
    }
    Ok(())
}

/// Which form of search a command is (Redis's flags to `georadiusGeneric`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// GEORADIUS[_RO] key longitude latitude radius unit ...
    Coords { read_only: bool },
    /// GEORADIUSBYMEMBER[_RO] key member radius unit ...
    Member { read_only: bool },
    /// GEOSEARCH key ...
    Search,
    /// GEOSEARCHSTORE destination source ...
    SearchStore,
}

impl Form {
    fn source(self) -> usize {
        if self == Form::SearchStore {
            2
        } else {
            1
        }
    }

    fn is_search(self) -> bool {
        matches!(self, Form::Search | Form::SearchStore)
    }

    /// True when STORE and STOREDIST key are options.
    fn takes_store_key(self) -> bool {
        matches!(
            self,
            Form::Coords { read_only: false } | Form::Member { read_only: false }
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// A point found by a search.
#[derive(Debug, Clone)]
struct Point {
    longitude: f64,
    latitude: f64,
    /// Meters from the centre, then in the query's unit.
    distance: f64,
    score: f64,
    member: Vec<u8>,
}

/// What a search found and how to answer.
struct Found {
    points: Vec<Point>,
    with_dist: bool,
    with_hash: bool,
    with_coord: bool,
    /// The key to store into, and whether distances are the scores.
    store: Option<(Vec<u8>, bool)>,
    /// The source key was missing.
    no_source: bool,
    event: &'static str,
}

fn georadius(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    search_generic(cx, args, Form::Coords { read_only: false })
}

fn georadius_ro(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    search_generic(cx, args, Form::Coords { read_only: true })
}

fn georadiusbymember(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    search_generic(cx, args, Form::Member { read_only: false })
}

fn georadiusbymember_ro(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    search_generic(cx, args, Form::Member { read_only: true })
}

fn geosearch(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    search_generic(cx, args, Form::Search)
}

fn geosearchstore(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    search_generic(cx, args, Form::SearchStore)
}

// GEORADIUS key longitude latitude radius M|KM|FT|MI [WITHCOORD] [WITHDIST]
//   [WITHHASH] [COUNT count [ANY]] [ASC|DESC] [STORE key] [STOREDIST key]
// GEORADIUSBYMEMBER key member radius M|KM|FT|MI ...the same options...
// GEOSEARCH key FROMMEMBER member|FROMLONLAT longitude latitude
//   BYRADIUS radius M|KM|FT|MI|BYBOX width height M|KM|FT|MI [ASC|DESC]
//   [COUNT count [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]
// GEOSEARCHSTORE destination source ...as GEOSEARCH... [STOREDIST]
fn search_generic(cx: &mut Context<'_>, args: &Args, form: Form) -> CmdResult {
    let now = now_ms();
    // Only a search that may store takes the write lock.
    let may_store = form == Form::SearchStore
        || (form.takes_store_key()
            && args
                .iter()
                .skip(2)
                .any(|a| is(a, "store") || is(a, "storedist")));
    if !may_store {
        let db = cx.db();
        let found = search(cx, &db, args, form, now)?;
        drop(db);
        reply_points(cx.out, found);
        return Ok(());
    }
    let mut db = cx.db_mut();
    let found = search(cx, &db, args, form, now)?;
    let Some((key, store_dist)) = found.store else {
        drop(db);
        reply_points(cx.out, found);
        return Ok(());
    };
    let mut z = ZSet::new();
    for point in &found.points {
        let score = if store_dist {
            point.distance
        } else {
            point.score
        };
        z.insert(&point.member, score);
    }
    let stored = if found.no_source {
        // Nothing to search: the destination is deleted.
        if db.remove(&key, now).is_some() {
            db.notify(crate::notify::class::GENERIC, "del", &key);
        }
        0
    } else {
        let existed = db.contains(&key, now);
        let stored = super::zsets::store_result(&mut db, &key, z, now, found.event);
        if stored > 0 && !existed {
            drop(db);
            cx.key_ready(cx.session.db, &key);
        }
        stored
    };
    cx.out.int(stored as i64);
    Ok(())
}

/// Parses a search's options (in Redis's order, with its errors) and runs
/// it against the source sorted set.
fn search(cx: &Context<'_>, db: &Db, args: &Args, form: Form, now: u64) -> Result<Found, Error> {
    let z = read_zset(cx, db, &args[form.source()], now)?;
    let mut center = [0.0, 0.0];
    let mut shape = None;
    let mut conversion = 0.0;
    let mut store = None;
    let base = match form {
        Form::Coords { .. } => {
            center = lonlat_arg(&args[2..4])?;
            let (radius, unit) = radius_arg(&args[4..6])?;
            shape = Some(Shape::Circle { radius });
            conversion = unit;
            6
        }
        Form::Member { .. } => {
            // Without a source there is nothing to decode; options are
            // still parsed, to know the reply's form.
            if let Some(z) = z {
                let score = z.score(&args[2]).ok_or(Error::from(BAD_MEMBER))?;
                center = geohash::score_to_lonlat(score);
                let (radius, unit) = radius_arg(&args[3..5])?;
                shape = Some(Shape::Circle { radius });
                conversion = unit;
            }
            5
        }
        Form::Search => 2,
        Form::SearchStore => {
            store = Some((args[1].clone(), false));
            3
        }
    };
    let (mut with_dist, mut with_hash, mut with_coord) = (false, false, false);
    let (mut from_member, mut from_lonlat, mut by_radius, mut by_box) =
        (false, false, false, false);
    let mut sort = Sort::None;
    let mut any = false;
    let mut count: i64 = 0;
    let options = &args[base..];
    let mut i = 0;
    while i < options.len() {
        let arg = &options[i];
        let left = options.len() - i - 1;
        if is(arg, "withdist") {
            with_dist = true;
        } else if is(arg, "withhash") {
            with_hash = true;
        } else if is(arg, "withcoord") {
            with_coord = true;
        } else if is(arg, "any") {
            any = true;
        } else if is(arg, "asc") {
            sort = Sort::Asc;
        } else if is(arg, "desc") {
            sort = Sort::Desc;
        } else if is(arg, "count") && left >= 1 {
            count = int_arg(&options[i + 1])?;
            if count <= 0 {
                return Err(COUNT_NOT_POSITIVE.into());
            }
            i += 1;
        } else if (is(arg, "store") || is(arg, "storedist")) && left >= 1 && form.takes_store_key()
        {
            store = Some((options[i + 1].clone(), is(arg, "storedist")));
            i += 1;
        } else if is(arg, "storedist") && form == Form::SearchStore {
            if let Some((_, dist)) = store.as_mut() {
                *dist = true;
            }
        } else if is(arg, "frommember") && left >= 1 && form.is_search() && !from_lonlat {
            if let Some(z) = z {
                let score = z.score(&options[i + 1]).ok_or(Error::from(BAD_MEMBER))?;
                center = geohash::score_to_lonlat(score);
            }
            from_member = true;
            i += 1;
        } else if is(arg, "fromlonlat") && left >= 2 && form.is_search() && !from_member {
            center = lonlat_arg(&options[i + 1..i + 3])?;
            from_lonlat = true;
            i += 2;
        } else if is(arg, "byradius") && left >= 2 && form.is_search() && !by_box {
            let (radius, unit) = radius_arg(&options[i + 1..i + 3])?;
            shape = Some(Shape::Circle { radius });
            conversion = unit;
            by_radius = true;
            i += 2;
        } else if is(arg, "bybox") && left >= 3 && form.is_search() && !by_radius {
            let (width, height, unit) = box_arg(&options[i + 1..i + 4])?;
            shape = Some(Shape::Box { width, height });
            conversion = unit;
            by_box = true;
            i += 3;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    if store.is_some() && (with_dist || with_hash || with_coord) {
        let what = if form == Form::SearchStore {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        };
        return Err(Error::new(format!(
            "ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        )));
    }
    let name = String::from_utf8_lossy(&args[0]);
    if form.is_search() && !(from_member || from_lonlat) {
        return Err(Error::new(format!(
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        )));
    }
    if form.is_search() && !(by_radius || by_box) {
        return Err(Error::new(format!(
            "ERR exactly one of BYRADIUS and BYBOX can be specified for {name}"
        )));
    }
    if any && count == 0 {
        return Err(ANY_WITHOUT_COUNT.into());
    }
    let event = if form.is_search() {
        "geosearchstore"
    } else {
        "georadiusstore"
    };
    let mut found = Found {
        points: Vec::new(),
        with_dist,
        with_hash,
        with_coord,
        store,
        no_source: z.is_none(),
        event,
    };
    let (Some(z), Some(shape)) = (z, shape) else {
        return Ok(found);
    };
    // COUNT means the nearest ones, unless ANY asked for any.
    if count != 0 && sort == Sort::None && !any {
        sort = Sort::Asc;
    }
    let query = Search {
        center,
        shape,
        conversion,
    };
    let limit = if any { count as usize } else { 0 };
    found.points = points_in_boxes(z, &query, limit);
    let total = found.points.len();
    let returned = if count == 0 || (total as i64) < count {
        total
    } else {
        count as usize
    };
    let compare = match sort {
        Sort::None => None,
        Sort::Asc => Some(ascending as fn(&Point, &Point) -> i32),
        Sort::Desc => Some(descending as fn(&Point, &Point) -> i32),
    };
    if let Some(compare) = compare {
        if returned == total {
            // glibc's qsort is a merge sort: stable.
            found.points.sort_by(|a, b| compare(a, b).cmp(&0));
        } else if returned > 0 {
            crate::util::partial_quicksort(&mut found.points, 0, returned - 1, &|a, b| {
                compare(a, b).cmp(&0)
            });
        }
    }
    found.points.truncate(returned);
    for point in &mut found.points {
        point.distance /= conversion;
    }
    Ok(found)
}

fn ascending(a: &Point, b: &Point) -> i32 {
    if a.distance > b.distance {
        1
    } else if a.distance == b.distance {
        0
    } else {
        -1
    }
}

fn descending(a: &Point, b: &Point) -> i32 {
    -ascending(a, b)
}

/// The points inside the search area, box by box in Redis's order; with a
/// `limit` (ANY), stops once that many are found.
fn points_in_boxes(z: &ZSet, query: &Search, limit: usize) -> Vec<Point> {
    let mut points = Vec::new();
    let boxes = query.boxes();
    let mut last_processed: Option<usize> = None;
    for (i, hash) in boxes.iter().enumerate() {
        if hash.bits == 0 && hash.step == 0 {
            continue;
        }
        // Around a huge radius neighbours can coincide: skip a repeat of
        // the box just scanned.
        if last_processed.is_some_and(|last| last > 0 && boxes[last] == *hash) {
            continue;
        }
        if !points.is_empty() && limit > 0 && points.len() >= limit {
            break;
        }
        let (min, max) = geohash::score_range(*hash);
        let ranks = z.score_ranks(
            ScoreBound {
                value: min,
                exclusive: false,
            },
            ScoreBound {
                value: max,
                exclusive: true,
            },
        );
        for (member, score) in z.iter_from(ranks.start).take(ranks.len()) {
            let [longitude, latitude] = geohash::score_to_lonlat(score);
            if let Some(distance) = query.contains([longitude, latitude]) {
                points.push(Point {
                    longitude,
                    latitude,
                    distance,
                    score,
                    member: member.to_vec(),
                });
            }
            if !points.is_empty() && limit > 0 && points.len() >= limit {
                break;
            }
        }
        last_processed = Some(i);
    }
    points
}

/// Writes a search's answer: members, each with what WITH... asked for.
fn reply_points(out: &mut Reply, found: Found) {
    let extras =
        usize::from(found.with_dist) + usize::from(found.with_hash) + usize::from(found.with_coord);
    out.array(found.points.len());
    for point in found.points {
        if extras > 0 {
            out.array(extras + 1);
        }
        out.bulk(&point.member);
        if found.with_dist {
            out.bulk(format_distance(point.distance).as_bytes());
        }
        if found.with_hash {
            out.int(point.score as i64);
        }
        if found.with_coord {
            out.array(2);
            reply_coordinate(out, point.longitude);
            reply_coordinate(out, point.latitude);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_print_with_four_decimals() {
        assert_eq!(format_distance(0.0), "0.0000");
        assert_eq!(format_distance(166274.1516), "166274.1516");
        assert_eq!(format_distance(0.00004), "0.0000");
        assert_eq!(format_distance(0.00005), "0.0000");
        assert_eq!(format_distance(12.3), "12.3000");
    }
}
