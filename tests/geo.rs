//! Geo commands against a real redis-server 7.0: random points over the
//! whole globe, near the poles and around the antimeridian, searched with
//! every form, option and unit, in RESP2 and RESP3, compared byte for byte
//! (scores, distances, coordinates, order). Also ties under COUNT (Redis's
//! partial quicksort), STORE/STOREDIST results, and every error text.
//! Seeds are fixed, so a failure reproduces.

mod common;

use std::collections::BTreeMap;

use common::pipeline::{assert_same, command, tally, XorShift};
use common::RealRedis;

const LAT_LIMIT: f64 = 85.051_128_78;
const UNITS: [&str; 8] = ["m", "km", "mi", "ft", "M", "KM", "Mi", "fT"];

/// A point: somewhere on the globe, near a pole or near the antimeridian.
fn point(rng: &mut XorShift, region: u64) -> (f64, f64) {
    match region {
        0 => (
            rng.between(-180.0, 180.0),
            rng.between(-LAT_LIMIT, LAT_LIMIT),
        ),
        1 => {
            let lat = rng.between(78.0, LAT_LIMIT);
            let lat = if rng.below(2) == 0 { lat } else { -lat };
            (rng.between(-180.0, 180.0), lat)
        }
        _ => {
            let lon = rng.between(178.5, 180.0);
            let lon = if rng.below(2) == 0 { lon } else { -lon };
            (lon, rng.between(-70.0, 70.0))
        }
    }
}

fn coordinate(value: f64) -> String {
    format!("{value:.7}")
}

/// A radius spread from a meter to thousands of kilometers.
fn radius(rng: &mut XorShift) -> String {
    let meters = 10f64.powf(rng.between(0.0, 7.3));
    format!("{:.3}", meters / 1000.0)
}

struct Workload {
    rng: XorShift,
    commands: Vec<Vec<Vec<u8>>>,
    members: Vec<String>,
}

impl Workload {
    fn push(&mut self, args: &[String]) {
        self.commands
            .push(args.iter().map(|a| a.as_bytes().to_vec()).collect());
    }

    fn member(&mut self) -> String {
        if self.rng.below(20) == 0 {
            return "missing-member".into();
        }
        let i = self.rng.below(self.members.len() as u64) as usize;
        self.members[i].clone()
    }

    fn unit(&mut self) -> String {
        UNITS[self.rng.below(UNITS.len() as u64) as usize].into()
    }

    /// Random WITH.../COUNT/ANY/ASC/DESC options, shuffled.
    fn options(&mut self, allow_with: bool) -> Vec<String> {
        let mut groups: Vec<Vec<String>> = Vec::new();
        if allow_with {
            for with in ["WITHCOORD", "WITHDIST", "WITHHASH"] {
                if self.rng.below(2) == 0 {
                    groups.push(vec![with.into()]);
                }
            }
        }
        match self.rng.below(4) {
            0 => groups.push(vec!["ASC".into()]),
            1 => groups.push(vec!["DESC".into()]),
            _ => {}
        }
        if self.rng.below(2) == 0 {
            let widest = if self.rng.below(3) == 0 { 3 } else { 60 };
            let count = (1 + self.rng.below(widest)).to_string();
            let mut group = vec!["COUNT".into(), count];
            if self.rng.below(3) == 0 {
                group.push("ANY".into());
            }
            groups.push(group);
        }
        for i in (1..groups.len()).rev() {
            let j = self.rng.below(i as u64 + 1) as usize;
            groups.swap(i, j);
        }
        groups.concat()
    }

    /// A search centre: a random point, sometimes near the poles or the
    /// antimeridian.
    fn center(&mut self) -> (String, String) {
        let region = self.rng.below(3);
        let (lon, lat) = point(&mut self.rng, region);
        (coordinate(lon), coordinate(lat))
    }

    fn query(&mut self, key: &str) {
        let s = |x: &str| x.to_string();
        match self.rng.below(12) {
            0 => {
                let mut args = vec![s("GEOPOS"), s(key)];
                for _ in 0..1 + self.rng.below(4) {
                    args.push(self.member());
                }
                self.push(&args);
            }
            1 => {
                let mut args = vec![s("GEOHASH"), s(key)];
                for _ in 0..1 + self.rng.below(4) {
                    args.push(self.member());
                }
                self.push(&args);
            }
            2 => {
                let mut args = vec![s("GEODIST"), s(key), self.member(), self.member()];
                if self.rng.below(4) != 0 {
                    args.push(self.unit());
                }
                self.push(&args);
            }
            3 | 4 => {
                let name = if self.rng.below(2) == 0 {
                    "GEORADIUS"
                } else {
                    "GEORADIUS_RO"
                };
                let (lon, lat) = self.center();
                let mut args = vec![
                    s(name),
                    s(key),
                    lon,
                    lat,
                    radius(&mut self.rng),
                    self.unit(),
                ];
                args.extend(self.options(true));
                self.push(&args);
            }
            5 => {
                let name = if self.rng.below(2) == 0 {
                    "GEORADIUSBYMEMBER"
                } else {
                    "GEORADIUSBYMEMBER_RO"
                };
                let mut args = vec![
                    s(name),
                    s(key),
                    self.member(),
                    radius(&mut self.rng),
                    self.unit(),
                ];
                args.extend(self.options(true));
                self.push(&args);
            }
            6..=8 => {
                let mut args = vec![s("GEOSEARCH"), s(key)];
                args.extend(self.search_area());
                args.extend(self.options(true));
                self.push(&args);
            }
            9 => {
                let store = if self.rng.below(2) == 0 {
                    "STORE"
                } else {
                    "STOREDIST"
                };
                let (lon, lat) = self.center();
                let mut args = vec![
                    s("GEORADIUS"),
                    s(key),
                    lon,
                    lat,
                    radius(&mut self.rng),
                    self.unit(),
                ];
                args.extend(self.options(false));
                args.extend([s(store), s("dest")]);
                self.push(&args);
                self.push(&[s("ZRANGE"), s("dest"), s("0"), s("-1"), s("WITHSCORES")]);
            }
            10 => {
                let store = if self.rng.below(2) == 0 {
                    "STORE"
                } else {
                    "STOREDIST"
                };
                let mut args = vec![
                    s("GEORADIUSBYMEMBER"),
                    s(key),
                    self.member(),
                    radius(&mut self.rng),
                    self.unit(),
                ];
                args.extend(self.options(false));
                args.extend([s(store), s("dest")]);
                self.push(&args);
                self.push(&[s("ZRANGE"), s("dest"), s("0"), s("-1"), s("WITHSCORES")]);
            }
            _ => {
                let mut args = vec![s("GEOSEARCHSTORE"), s("dest"), s(key)];
                args.extend(self.search_area());
                args.extend(self.options(false));
                if self.rng.below(2) == 0 {
                    args.push(s("STOREDIST"));
                }
                self.push(&args);
                self.push(&[s("ZRANGE"), s("dest"), s("0"), s("-1"), s("WITHSCORES")]);
                self.push(&[s("EXISTS"), s("dest")]);
            }
        }
    }

    /// GEOSEARCH's FROM... and BY... parts, in either order.
    fn search_area(&mut self) -> Vec<String> {
        let from = if self.rng.below(2) == 0 {
            vec!["FROMMEMBER".into(), self.member()]
        } else {
            let (lon, lat) = self.center();
            vec!["FROMLONLAT".into(), lon, lat]
        };
        let by = if self.rng.below(2) == 0 {
            vec!["BYRADIUS".into(), radius(&mut self.rng), self.unit()]
        } else {
            vec![
                "BYBOX".into(),
                radius(&mut self.rng),
                radius(&mut self.rng),
                self.unit(),
            ]
        };
        if self.rng.below(2) == 0 {
            [from, by].concat()
        } else {
            [by, from].concat()
        }
    }
}

/// Adds `count` points of `region` to `key` with GEOADD in batches, with
/// random NX/XX/CH options.
fn add_points(w: &mut Workload, key: &str, count: usize, region: u64) {
    let mut added = 0;
    while added < count {
        let mut args = vec!["GEOADD".to_string(), key.to_string()];
        match w.rng.below(6) {
            0 => args.push("CH".into()),
            1 => args.extend(["NX".into(), "CH".into()]),
            2 => args.push("XX".into()),
            _ => {}
        }
        for _ in 0..1 + w.rng.below(8) {
            let (lon, lat) = point(&mut w.rng, region);
            // Sometimes an existing member moves.
            let member = if !w.members.is_empty() && w.rng.below(10) == 0 {
                w.member()
            } else {
                format!("{key}:{}", w.rng.next() % 1_000_000)
            };
            args.extend([coordinate(lon), coordinate(lat), member.clone()]);
            w.members.push(member);
            added += 1;
        }
        w.push(&args);
    }
}

#[test]
fn random_points_and_searches_match_redis() {
    let Some(redis) = RealRedis::start() else {
        return;
    };
    let server = common::start();
    let mut w = Workload {
        rng: XorShift(0x2545_f491_4f6c_dd1d),
        commands: Vec::new(),
        members: Vec::new(),
    };
    add_points(&mut w, "world", 3000, 0);
    add_points(&mut w, "poles", 600, 1);
    add_points(&mut w, "antimeridian", 600, 2);
    for _ in 0..700 {
        w.query("world");
    }
    for _ in 0..350 {
        w.query("poles");
        w.query("antimeridian");
    }
    let mut counts = BTreeMap::new();
    tally(&w.commands, &mut counts);
    let mut cases = assert_same(server.local_addr(), redis.addr, &w.commands, false);
    // RESP3: coordinates come as doubles; fresh keys, the same workload.
    let mut resp3 = vec![command(&["FLUSHALL"])];
    resp3.extend(w.commands.iter().cloned());
    cases += assert_same(server.local_addr(), redis.addr, &resp3, true);
    tally(&w.commands, &mut counts);
    eprintln!("geo differential cases: {cases} ({counts:?})");
}

#[test]
fn ties_under_count_come_in_redis_order() {
    let Some(redis) = RealRedis::start() else {
        return;
    };
    let server = common::start();
    let mut commands = Vec::new();
    // Many members on a few spots: equal distances everywhere.
    for spot in 0..4 {
        let mut geoadd = command(&["GEOADD", "ties"]);
        for i in 0..45 {
            geoadd.extend(command(&[
                &format!("{}", 10.0 + f64::from(spot) * 0.01),
                "45.5",
                &format!("m{spot}:{i:02}"),
            ]));
        }
        commands.push(geoadd);
    }
    for count in [1, 2, 6, 7, 8, 40, 41, 44, 45, 46, 90, 179, 180, 181] {
        for order in ["ASC", "DESC"] {
            let count = count.to_string();
            commands.push(command(&[
                "GEOSEARCH",
                "ties",
                "FROMLONLAT",
                "10.015",
                "45.5",
                "BYRADIUS",
                "50",
                "km",
                "COUNT",
                &count,
                order,
                "WITHDIST",
            ]));
            commands.push(command(&[
                "GEORADIUS",
                "ties",
                "10",
                "45.5",
                "10",
                "km",
                "COUNT",
                &count,
                order,
            ]));
            commands.push(command(&[
                "GEOSEARCH",
                "ties",
                "FROMLONLAT",
                "10.01",
                "45.5",
                "BYBOX",
                "10",
                "10",
                "km",
                "COUNT",
                &count,
                "ANY",
                order,
            ]));
        }
    }
    let mut cases = assert_same(server.local_addr(), redis.addr, &commands, false);
    cases += assert_same(server.local_addr(), redis.addr, &commands[4..], true);
    eprintln!("geo ties: {cases} pipelined cases");
}

#[test]
fn errors_and_edge_cases_match_redis() {
    let Some(redis) = RealRedis::start() else {
        return;
    };
    let server = common::start();
    let cases: &[&[&str]] = &[
        &[
            "GEOADD",
            "Sicily",
            "13.361389",
            "38.115556",
            "Palermo",
            "15.087269",
            "37.502669",
            "Catania",
        ],
        &[
            "GEOADD",
            "Sicily",
            "-180",
            "85.05112878",
            "np",
            "180",
            "-85.05112878",
            "sp",
        ],
        &["GEOPOS", "Sicily", "np", "sp", "Palermo"],
        &["GEOHASH", "Sicily", "np", "sp", "Palermo"],
        &["GEOADD", "x", "200", "100", "m"],
        &["GEOADD", "x", "180.0000001", "0", "m"],
        &["GEOADD", "x", "0", "85.06", "m"],
        &["GEOADD", "x", "inf", "0", "m"],
        &["GEOADD", "x", "nan", "0", "m"],
        &["GEOADD", "x", "1e400", "0", "m"],
        &["GEOADD", "x", " 1", "0", "m"],
        &["GEOADD", "x", "1 ", "0", "m"],
        &["GEOADD", "x", "", "0", "m"],
        &["GEOADD", "x", "1", "2"],
        &["GEOADD", "x", "nx", "xx", "1", "2", "m"],
        &["GEOADD", "x", "gt", "1", "2", "m"],
        &["GEOADD", "x", "ch", "ch", "ch"],
        &["GEOADD", "x", "nx", "ch", "nx"],
        &["GEOADD", "x", "abc", "2", "m"],
        &["GEOADD", "x", "ch", "1", "2", "m"],
        &["GEOADD", "x", "ch", "1.5", "2", "m", "1", "1", "n"],
        &["GEOADD", "x", "xx", "ch", "3", "3", "m", "1", "1", "q"],
        &["GEOADD", "x", "nx", "3", "3", "m", "1", "1", "q"],
        &["GEOADD", "x", "1", "2", "m", "500", "0", "z"],
        &["ZRANGE", "x", "0", "-1", "WITHSCORES"],
        &["GEOADD", "x"],
        &["GEOADD", "x", "1", "2"],
        &["GEODIST", "Sicily", "Palermo", "Catania", "km", "x"],
        &["GEODIST", "Sicily", "Palermo", "Catania", "xx"],
        &["GEODIST", "nokey", "a", "b"],
        &["GEODIST", "nokey", "a", "b", "bad"],
        &["GEODIST", "Sicily", "Palermo", "nope"],
        &["GEODIST", "Sicily", "Palermo", "Palermo"],
        &["GEODIST", "Sicily"],
        &["GEOPOS", "nokey", "a", "b"],
        &["GEOPOS", "Sicily"],
        &["GEOHASH", "nokey", "a"],
        &["GEOHASH", "Sicily"],
        &["GEORADIUS", "Sicily", "15", "37", "-1", "km"],
        &["GEORADIUS", "Sicily", "15", "37", "abc", "km"],
        &["GEORADIUS", "Sicily", "15", "37", "1", "kmx"],
        &["GEORADIUS", "Sicily", "15", "37", "1", "km", "count"],
        &["GEORADIUS", "Sicily", "15", "37", "1", "km", "count", "0"],
        &["GEORADIUS", "Sicily", "15", "37", "1", "km", "count", "-3"],
        &["GEORADIUS", "Sicily", "15", "37", "1", "km", "count", "x"],
        &["GEORADIUS", "Sicily", "15", "37", "1", "km", "any"],
        &["GEORADIUS", "Sicily", "15", "37", "1", "km", "foo"],
        &["GEORADIUS", "Sicily", "15", "37", "1", "km", "store"],
        &["GEORADIUS", "Sicily", "200", "37", "1", "km"],
        &["GEORADIUS", "nokey", "200", "37", "1", "km"],
        &["GEORADIUS", "nokey", "15", "37", "1", "km"],
        &[
            "GEORADIUS",
            "Sicily",
            "15",
            "37",
            "200",
            "km",
            "store",
            "d",
            "withdist",
        ],
        &[
            "GEORADIUS",
            "Sicily",
            "15",
            "37",
            "200",
            "km",
            "withhash",
            "storedist",
            "d",
        ],
        &[
            "GEORADIUS_RO",
            "Sicily",
            "15",
            "37",
            "200",
            "km",
            "store",
            "d",
        ],
        &[
            "GEORADIUS",
            "Sicily",
            "15",
            "37",
            "200",
            "km",
            "store",
            "d",
            "storedist",
            "d2",
        ],
        &["ZRANGE", "d2", "0", "-1", "WITHSCORES"],
        &["EXISTS", "d"],
        &["GEORADIUS", "nokey", "15", "37", "200", "km", "store", "d2"],
        &["EXISTS", "d2"],
        &[
            "GEORADIUS",
            "Sicily",
            "0",
            "0",
            "1",
            "km",
            "store",
            "Sicily2",
        ],
        &["GEORADIUSBYMEMBER", "Sicily", "nope", "200", "km"],
        &["GEORADIUSBYMEMBER", "nokey", "nope", "abc", "km"],
        &[
            "GEORADIUSBYMEMBER",
            "nokey",
            "nope",
            "abc",
            "km",
            "bad-option",
        ],
        &["GEORADIUSBYMEMBER", "Sicily", "Palermo", "abc", "km"],
        &[
            "GEORADIUSBYMEMBER",
            "Sicily",
            "Palermo",
            "0",
            "km",
            "withdist",
            "withcoord",
            "withhash",
        ],
        &[
            "GEORADIUSBYMEMBER_RO",
            "Sicily",
            "Palermo",
            "200",
            "km",
            "storedist",
            "d",
        ],
        &["GEOSEARCH", "Sicily", "fromlonlat", "15", "37"],
        &["GEOSEARCH", "Sicily", "byradius", "1", "m"],
        &["geosearch", "Sicily", "fromlonlat", "15", "37", "foo"],
        &["GeoSearch", "Sicily", "byradius", "1", "m", "x"],
        &[
            "GEOSEARCH",
            "Sicily",
            "fromlonlat",
            "15",
            "37",
            "byradius",
            "1",
            "m",
            "any",
        ],
        &[
            "GEOSEARCH",
            "Sicily",
            "fromlonlat",
            "15",
            "37",
            "bybox",
            "-1",
            "2",
            "km",
        ],
        &[
            "GEOSEARCH",
            "Sicily",
            "fromlonlat",
            "15",
            "37",
            "bybox",
            "a",
            "2",
            "km",
        ],
        &[
            "GEOSEARCH",
            "Sicily",
            "fromlonlat",
            "15",
            "37",
            "bybox",
            "1",
            "b",
            "km",
        ],
        &[
            "GEOSEARCH",
            "Sicily",
            "fromlonlat",
            "15",
            "37",
            "bybox",
            "1",
            "1",
            "parsec",
        ],
        &[
            "GEOSEARCH",
            "Sicily",
            "frommember",
            "zz",
            "bybox",
            "1",
            "1",
            "km",
        ],
        &[
            "GEOSEARCH",
            "Sicily",
            "fromlonlat",
            "15",
            "37",
            "frommember",
            "Palermo",
            "bybox",
            "1",
            "1",
            "km",
        ],
        &[
            "GEOSEARCH",
            "Sicily",
            "frommember",
            "Palermo",
            "fromlonlat",
            "15",
            "37",
            "bybox",
            "1",
            "1",
            "km",
        ],
        &[
            "GEOSEARCH",
            "Sicily",
            "frommember",
            "Palermo",
            "frommember",
            "Catania",
            "byradius",
            "200",
            "km",
            "withdist",
        ],
        &[
            "GEOSEARCH",
            "Sicily",
            "fromlonlat",
            "15",
            "37",
            "byradius",
            "1",
            "km",
            "bybox",
            "1",
            "1",
            "km",
        ],
        &[
            "GEOSEARCH",
            "Sicily",
            "fromlonlat",
            "15",
            "37",
            "byradius",
            "1",
            "km",
            "store",
            "x",
        ],
        &[
            "GEOSEARCH",
            "Sicily",
            "fromlonlat",
            "15",
            "37",
            "byradius",
            "1",
            "km",
            "storedist",
        ],
        &[
            "GEOSEARCH",
            "Sicily",
            "fromlonlat",
            "15",
            "37",
            "byradius",
            "1",
        ],
        &[
            "GEOSEARCH",
            "Sicily",
            "fromlonlat",
            "15",
            "byradius",
            "1",
            "km",
        ],
        &[
            "GEOSEARCH",
            "nokey",
            "frommember",
            "x",
            "byradius",
            "1",
            "km",
        ],
        &["GEOSEARCH", "nokey", "frommember", "x"],
        &[
            "GEOSEARCH",
            "Sicily",
            "fromlonlat",
            "15",
            "37",
            "byradius",
            "0",
            "km",
        ],
        &[
            "GEOSEARCH",
            "Sicily",
            "frommember",
            "Palermo",
            "bybox",
            "0",
            "0",
            "km",
            "withcoord",
        ],
        &[
            "GEOSEARCHSTORE",
            "dst",
            "Sicily",
            "fromlonlat",
            "15",
            "37",
            "byradius",
            "200",
            "km",
            "withdist",
        ],
        &[
            "GEOSEARCHSTORE",
            "dst",
            "nokey",
            "fromlonlat",
            "15",
            "37",
            "byradius",
            "200",
            "km",
        ],
        &[
            "GEOSEARCHSTORE",
            "dst",
            "Sicily",
            "fromlonlat",
            "15",
            "37",
            "byradius",
            "200",
            "km",
            "storedist",
            "count",
            "1",
        ],
        &["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        &[
            "GEOSEARCHSTORE",
            "dst",
            "Sicily",
            "fromlonlat",
            "15",
            "37",
            "byradius",
            "200",
            "km",
            "store",
            "x",
        ],
        &[
            "GEOSEARCHSTORE",
            "dst",
            "nokey",
            "fromlonlat",
            "15",
            "37",
            "byradius",
            "200",
            "km",
        ],
        &["EXISTS", "dst"],
        &["GEOSEARCHSTORE", "dst", "Sicily"],
        &["SET", "str", "x"],
        &["GEOADD", "str", "1", "1", "a"],
        &["GEOPOS", "str", "a"],
        &["GEOHASH", "str", "a"],
        &[
            "GEOSEARCH",
            "str",
            "fromlonlat",
            "1",
            "1",
            "byradius",
            "1",
            "km",
        ],
        &["GEORADIUSBYMEMBER", "str", "a", "1", "km"],
        &["GEODIST", "str", "a", "b"],
        &["GEODIST", "str", "a", "b", "foo"],
        &[
            "GEOSEARCHSTORE",
            "str",
            "Sicily",
            "frommember",
            "Palermo",
            "byradius",
            "1",
            "km",
        ],
        &["TYPE", "str"],
        &[
            "ZADD",
            "odd",
            "-5",
            "neg",
            "1e300",
            "big",
            "inf",
            "pinf",
            "-inf",
            "ninf",
            "4503599627370496",
            "edge",
        ],
        &["GEOPOS", "odd", "neg", "big", "pinf", "ninf", "edge"],
        &["GEOHASH", "odd", "neg", "big", "pinf", "ninf", "edge"],
        &["GEODIST", "odd", "neg", "big"],
        &["MULTI"],
        &["GEOADD", "tx", "1", "1", "a"],
        &[
            "GEOSEARCH",
            "tx",
            "fromlonlat",
            "1",
            "1",
            "byradius",
            "1",
            "km",
            "withcoord",
        ],
        &["EXEC"],
    ];
    let commands: Vec<_> = cases.iter().map(|args| command(args)).collect();
    let mut total = assert_same(server.local_addr(), redis.addr, &commands, false);
    let mut resp3 = vec![command(&["FLUSHALL"])];
    resp3.extend(commands.iter().cloned());
    total += assert_same(server.local_addr(), redis.addr, &resp3, true);
    eprintln!("geo errors and edges: {total} pipelined cases");
}

#[test]
fn geo_keyspace_events_match_redis() {
    let Some(redis) = RealRedis::start() else {
        return;
    };
    let server = common::start();
    let script: Vec<_> = [
        &[
            "GEOADD",
            "g",
            "13.361389",
            "38.115556",
            "Palermo",
            "15.087269",
            "37.502669",
            "Catania",
        ][..],
        &["GEOADD", "g", "NX", "13.361389", "38.115556", "Palermo"],
        &["GEOADD", "g", "XX", "CH", "13.5", "38.1", "Palermo"],
        &["GEORADIUS", "g", "15", "37", "200", "km", "STORE", "near"],
        &[
            "GEORADIUS",
            "g",
            "15",
            "37",
            "200",
            "km",
            "STOREDIST",
            "near",
        ],
        &[
            "GEORADIUSBYMEMBER",
            "g",
            "Palermo",
            "1",
            "km",
            "STORE",
            "near",
        ],
        &[
            "GEORADIUS",
            "missing",
            "15",
            "37",
            "200",
            "km",
            "STORE",
            "g2",
        ],
        &[
            "GEOSEARCHSTORE",
            "s",
            "g",
            "FROMLONLAT",
            "15",
            "37",
            "BYBOX",
            "400",
            "400",
            "km",
        ],
        &[
            "GEOSEARCHSTORE",
            "s",
            "g",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "1",
            "m",
        ],
        &[
            "GEOSEARCHSTORE",
            "s",
            "missing",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "1",
            "m",
        ],
        &["SET", "s", "x"],
        &[
            "GEOSEARCHSTORE",
            "s",
            "missing",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "1",
            "m",
        ],
    ]
    .iter()
    .map(|args| command(args))
    .collect();
    let ours = common::pipeline::events(server.local_addr(), &script);
    let theirs = common::pipeline::events(redis.addr, &script);
    let show = |events: &[Vec<u8>]| {
        events
            .iter()
            .map(|e| String::from_utf8_lossy(e).into_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(show(&ours), show(&theirs));
}

/// COMMAND INFO's name, arity, flags and key positions for a row.
fn command_row(con: &mut redis::Connection, name: &str) -> (String, i64, Vec<String>, [i64; 3]) {
    let info: Vec<redis::Value> = redis::cmd("COMMAND")
        .arg("INFO")
        .arg(name)
        .query(con)
        .unwrap();
    let redis::Value::Array(row) = &info[0] else {
        panic!("no row for {name}: {info:?}");
    };
    let text = |v: &redis::Value| -> String { redis::from_redis_value_ref(v).unwrap() };
    let int = |v: &redis::Value| -> i64 { redis::from_redis_value_ref(v).unwrap() };
    let flags: Vec<String> = redis::from_redis_value_ref(&row[2]).unwrap();
    (
        text(&row[0]),
        int(&row[1]),
        flags,
        [int(&row[3]), int(&row[4]), int(&row[5])],
    )
}

#[test]
fn command_rows_match_redis() {
    let Some(redis) = RealRedis::start() else {
        return;
    };
    let server = common::start();
    let mut ours = common::redis(server.local_addr());
    let mut theirs = common::redis(redis.addr);
    for name in [
        "geoadd",
        "geodist",
        "geohash",
        "geopos",
        "georadius",
        "georadius_ro",
        "georadiusbymember",
        "georadiusbymember_ro",
        "geosearch",
        "geosearchstore",
        "pfadd",
        "pfcount",
        "pfmerge",
        "pfdebug",
        "pfselftest",
    ] {
        assert_eq!(command_row(&mut ours, name), command_row(&mut theirs, name));
    }
}
