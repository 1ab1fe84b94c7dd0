//! Geohashes as Redis computes them (geohash.c, geohash_helper.c): a point
//! is stored in a sorted set with its 52-bit interleaved geohash as the
//! score, and a radius or box search scans the score ranges of the 3x3
//! geohash boxes around the centre. Every step and constant is Redis's, so
//! scores, distances and search results agree to the last bit.

use std::f64::consts::PI;

/// The latitudes Web Mercator covers (EPSG:900913); beyond them a point
/// cannot be indexed.
pub const LAT_MIN: f64 = -85.051_128_78;
pub const LAT_MAX: f64 = 85.051_128_78;
pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;
/// Bits per coordinate in a stored score (26 * 2 = 52).
pub const STEP_MAX: u8 = 26;
/// The earth's quadratic mean radius, Redis's choice for distances.
pub const EARTH_RADIUS_IN_METERS: f64 = 6_372_797.560_856;
const MERCATOR_MAX: f64 = 20_037_726.37;
const D_R: f64 = PI / 180.0;

fn deg_rad(angle: f64) -> f64 {
    angle * D_R
}

fn rad_deg(angle: f64) -> f64 {
    angle / D_R
}

/// A geohash of `step` bits per coordinate (longitude bits odd, latitude
/// bits even). `step == 0` with no bits is "no box".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HashBits {
    pub bits: u64,
    pub step: u8,
}

impl HashBits {
    fn is_zero(self) -> bool {
        self.bits == 0 && self.step == 0
    }
}

/// A span of degrees.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Span {
    pub min: f64,
    pub max: f64,
}

/// The box a geohash names.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Area {
    pub longitude: Span,
    pub latitude: Span,
}

const WGS84_LONG: Span = Span {
    min: LONG_MIN,
    max: LONG_MAX,
};
const WGS84_LAT: Span = Span {
    min: LAT_MIN,
    max: LAT_MAX,
};

fn interleave64(x: u32, y: u32) -> u64 {
    const B: [u64; 5] = [
        0x5555_5555_5555_5555,
        0x3333_3333_3333_3333,
        0x0F0F_0F0F_0F0F_0F0F,
        0x00FF_00FF_00FF_00FF,
        0x0000_FFFF_0000_FFFF,
    ];
    const S: [u32; 5] = [1, 2, 4, 8, 16];
    let (mut x, mut y) = (u64::from(x), u64::from(y));
    for i in (0..5).rev() {
        x = (x | (x << S[i])) & B[i];
        y = (y | (y << S[i])) & B[i];
    }
    x | (y << 1)
}

fn deinterleave64(interleaved: u64) -> u64 {
    const B: [u64; 6] = [
        0x5555_5555_5555_5555,
        0x3333_3333_3333_3333,
        0x0F0F_0F0F_0F0F_0F0F,
        0x00FF_00FF_00FF_00FF,
        0x0000_FFFF_0000_FFFF,
        0x0000_0000_FFFF_FFFF,
    ];
    const S: [u32; 6] = [0, 1, 2, 4, 8, 16];
    let mut x = interleaved;
    let mut y = interleaved >> 1;
    for i in 0..6 {
        x = (x | (x >> S[i])) & B[i];
        y = (y | (y >> S[i])) & B[i];
    }
    x | (y << 32)
}

/// The geohash of a point within the given spans (Redis's `geohashEncode`);
/// None outside them or outside the indexable area.
pub fn encode(
    long_range: Span,
    lat_range: Span,
    longitude: f64,
    latitude: f64,
    step: u8,
) -> Option<HashBits> {
    if step > 32 || step == 0 {
        return None;
    }
    if !(LONG_MIN..=LONG_MAX).contains(&longitude) || !(LAT_MIN..=LAT_MAX).contains(&latitude) {
        return None;
    }
    if latitude < lat_range.min
        || latitude > lat_range.max
        || longitude < long_range.min
        || longitude > long_range.max
    {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_offset = (latitude - lat_range.min) / (lat_range.max - lat_range.min) * scale;
    let long_offset = (longitude - long_range.min) / (long_range.max - long_range.min) * scale;
    Some(HashBits {
        bits: interleave64(lat_offset as u32, long_offset as u32),
        step,
    })
}

/// The geohash of a point in the indexable area.
pub fn encode_wgs84(longitude: f64, latitude: f64, step: u8) -> Option<HashBits> {
    encode(WGS84_LONG, WGS84_LAT, longitude, latitude, step)
}

/// The box a geohash names (Redis's `geohashDecode`).
pub fn decode(long_range: Span, lat_range: Span, hash: HashBits) -> Option<Area> {
    if hash.is_zero() {
        return None;
    }
    let separated = deinterleave64(hash.bits);
    let lat_scale = lat_range.max - lat_range.min;
    let long_scale = long_range.max - long_range.min;
    let ilato = separated as u32;
    let ilono = (separated >> 32) as u32;
    let cells = (1u64 << hash.step) as f64;
    Some(Area {
        latitude: Span {
            min: lat_range.min + (f64::from(ilato) * 1.0 / cells) * lat_scale,
            // C adds 1 in 32 bits (wrapping), then converts.
            max: lat_range.min + (f64::from(ilato.wrapping_add(1)) * 1.0 / cells) * lat_scale,
        },
        longitude: Span {
            min: long_range.min + (f64::from(ilono) * 1.0 / cells) * long_scale,
            max: long_range.min + (f64::from(ilono.wrapping_add(1)) * 1.0 / cells) * long_scale,
        },
    })
}

/// The centre of a geohash's box, clamped to the indexable area:
/// `[longitude, latitude]`.
pub fn decode_to_lonlat(hash: HashBits) -> Option<[f64; 2]> {
    let area = decode(WGS84_LONG, WGS84_LAT, hash)?;
    let longitude = ((area.longitude.min + area.longitude.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let latitude = ((area.latitude.min + area.latitude.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    Some([longitude, latitude])
}

/// C's `(uint64_t)` of a double as x86-64 code does it (a sorted set's
/// score may be anything a client ZADDed).
fn c_double_to_u64(value: f64) -> u64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    // cvttsd2si: truncation, or 0x8000000000000000 when out of range.
    let cvtt = |v: f64| -> u64 {
        if (-TWO_63..TWO_63).contains(&v) {
            v as i64 as u64
        } else {
            1 << 63
        }
    };
    if value.is_nan() || value < TWO_63 {
        cvtt(value)
    } else {
        cvtt(value - TWO_63) ^ (1 << 63)
    }
}

/// The point a sorted-set score stands for (Redis's `decodeGeohash`).
pub fn score_to_lonlat(score: f64) -> [f64; 2] {
    let hash = HashBits {
        bits: c_double_to_u64(score),
        step: STEP_MAX,
    };
    decode_to_lonlat(hash).unwrap_or_default()
}

/// The sorted-set score of a point: its 52-bit geohash.
pub fn lonlat_to_score(longitude: f64, latitude: f64) -> Option<u64> {
    encode_wgs84(longitude, latitude, STEP_MAX).map(align52)
}

/// A geohash's bits moved to the top of 52 bits.
pub fn align52(hash: HashBits) -> u64 {
    hash.bits << (52 - u32::from(hash.step) * 2)
}

/// GEOHASH's 11-character string: the point re-encoded over the standard
/// latitude span (-90..90), in base 32; the 11th character is always `0`.
pub fn standard_geohash(longitude: f64, latitude: f64) -> [u8; 11] {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let bits = encode(
        WGS84_LONG,
        Span {
            min: -90.0,
            max: 90.0,
        },
        longitude,
        latitude,
        26,
    )
    .map_or(0, |hash| hash.bits);
    let mut text = [b'0'; 11];
    for (i, slot) in text.iter_mut().enumerate().take(10) {
        *slot = ALPHABET[((bits >> (52 - (i + 1) * 5)) & 0x1f) as usize];
    }
    text
}

fn move_x(hash: &mut HashBits, direction: i8) {
    if direction == 0 {
        return;
    }
    let shift = 64 - u32::from(hash.step) * 2;
    let mut x = hash.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let y = hash.bits & 0x5555_5555_5555_5555;
    let zz = 0x5555_5555_5555_5555u64 >> shift;
    if direction > 0 {
        x = x.wrapping_add(zz + 1);
    } else {
        x |= zz;
        x = x.wrapping_sub(zz + 1);
    }
    x &= 0xaaaa_aaaa_aaaa_aaaau64 >> shift;
    hash.bits = x | y;
}

fn move_y(hash: &mut HashBits, direction: i8) {
    if direction == 0 {
        return;
    }
    let shift = 64 - u32::from(hash.step) * 2;
    let x = hash.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let mut y = hash.bits & 0x5555_5555_5555_5555;
    let zz = 0xaaaa_aaaa_aaaa_aaaau64 >> shift;
    if direction > 0 {
        y = y.wrapping_add(zz + 1);
    } else {
        y |= zz;
        y = y.wrapping_sub(zz + 1);
    }
    y &= 0x5555_5555_5555_5555u64 >> shift;
    hash.bits = x | y;
}

fn neighbour(hash: HashBits, dx: i8, dy: i8) -> HashBits {
    let mut moved = hash;
    move_x(&mut moved, dx);
    move_y(&mut moved, dy);
    moved
}

/// What a search covers: a circle or an axis-aligned box around a centre.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    Circle { radius: f64 },
    Box { width: f64, height: f64 },
}

/// A search: its centre, its shape (in the unit given) and the unit's
/// size in meters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Search {
    pub center: [f64; 2],
    pub shape: Shape,
    pub conversion: f64,
}

/// The geohash precision whose boxes cover a radius (Redis's
/// `geohashEstimateStepsByRadius`).
fn estimate_steps(mut range_meters: f64, latitude: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut step: i32 = 1;
    while range_meters < MERCATOR_MAX {
        range_meters *= 2.0;
        step += 1;
    }
    step -= 2;
    // Boxes are narrower towards the poles.
    if !(-66.0..=66.0).contains(&latitude) {
        step -= 1;
        if !(-80.0..=80.0).contains(&latitude) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

impl Search {
    /// The bounding box `[min lon, min lat, max lon, max lat]`.
    fn bounds(&self) -> [f64; 4] {
        let [longitude, latitude] = self.center;
        let (half_height, half_width) = match self.shape {
            Shape::Circle { radius } => (radius, radius),
            Shape::Box { width, height } => (height / 2.0, width / 2.0),
        };
        let height = self.conversion * half_height;
        let width = self.conversion * half_width;
        let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
        let long_delta_top =
            rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude + lat_delta).cos());
        let long_delta_bottom =
            rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude - lat_delta).cos());
        let long_delta = if latitude < 0.0 {
            long_delta_bottom
        } else {
            long_delta_top
        };
        [
            longitude - long_delta,
            latitude - lat_delta,
            longitude + long_delta,
            latitude + lat_delta,
        ]
    }

    /// The boxes to scan, in Redis's order (centre, N, S, E, W, NE, NW, SE,
    /// SW); a box found useless is `HashBits::default()`.
    pub fn boxes(&self) -> [HashBits; 9] {
        let [min_lon, min_lat, max_lon, max_lat] = self.bounds();
        let [longitude, latitude] = self.center;
        let radius_meters = self.conversion
            * match self.shape {
                Shape::Circle { radius } => radius,
                Shape::Box { width, height } => {
                    ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
                }
            };
        let mut steps = estimate_steps(radius_meters, latitude);
        let mut hash = encode_wgs84(longitude, latitude, steps).unwrap_or(HashBits {
            bits: 0,
            step: steps,
        });
        let area_of = |h: HashBits| decode(WGS84_LONG, WGS84_LAT, h).unwrap_or_default();
        // Near the edge of its box the centre may need one coarser step,
        // for the neighbours to cover the whole search area.
        let decrease_step = area_of(neighbour(hash, 0, 1)).latitude.max < max_lat
            || area_of(neighbour(hash, 0, -1)).latitude.min > min_lat
            || area_of(neighbour(hash, 1, 0)).longitude.max < max_lon
            || area_of(neighbour(hash, -1, 0)).longitude.min > min_lon;
        if steps > 1 && decrease_step {
            steps -= 1;
            hash = encode_wgs84(longitude, latitude, steps).unwrap_or(HashBits {
                bits: 0,
                step: steps,
            });
        }
        let area = area_of(hash);
        let mut boxes = [
            hash,
            neighbour(hash, 0, 1),
            neighbour(hash, 0, -1),
            neighbour(hash, 1, 0),
            neighbour(hash, -1, 0),
            neighbour(hash, 1, 1),
            neighbour(hash, -1, 1),
            neighbour(hash, 1, -1),
            neighbour(hash, -1, -1),
        ];
        const NORTH: usize = 1;
        const SOUTH: usize = 2;
        const EAST: usize = 3;
        const WEST: usize = 4;
        const NORTH_EAST: usize = 5;
        const NORTH_WEST: usize = 6;
        const SOUTH_EAST: usize = 7;
        const SOUTH_WEST: usize = 8;
        // Drop the neighbours that lie wholly outside the search area.
        if steps >= 2 {
            let mut drop =
                |which: [usize; 3]| which.iter().for_each(|&i| boxes[i] = HashBits::default());
            if area.latitude.min < min_lat {
                drop([SOUTH, SOUTH_WEST, SOUTH_EAST]);
            }
            if area.latitude.max > max_lat {
                drop([NORTH, NORTH_EAST, NORTH_WEST]);
            }
            if area.longitude.min < min_lon {
                drop([WEST, SOUTH_WEST, NORTH_WEST]);
            }
            if area.longitude.max > max_lon {
                drop([EAST, SOUTH_EAST, NORTH_EAST]);
            }
        }
        boxes
    }

    /// The distance in meters from the centre to a point inside the search
    /// area, None outside it.
    pub fn contains(&self, point: [f64; 2]) -> Option<f64> {
        let [x1, y1] = self.center;
        let [x2, y2] = point;
        match self.shape {
            Shape::Circle { radius } => {
                let distance = distance(x1, y1, x2, y2);
                (distance <= radius * self.conversion).then_some(distance)
            }
            Shape::Box { width, height } => {
                let (width, height) = (width * self.conversion, height * self.conversion);
                if lat_distance(y2, y1) > height / 2.0 {
                    return None;
                }
                if distance(x2, y2, x1, y2) > width / 2.0 {
                    return None;
                }
                Some(distance(x1, y1, x2, y2))
            }
        }
    }
}

/// The sorted-set score range `[min, max)` holding every point of a box.
pub fn score_range(hash: HashBits) -> (f64, f64) {
    let min = align52(hash);
    let max = align52(HashBits {
        bits: hash.bits.wrapping_add(1),
        step: hash.step,
    });
    (min as f64, max as f64)
}

/// The distance along a meridian.
fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_IN_METERS * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// The haversine great-circle distance in meters between two points.
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let lon1r = deg_rad(lon1);
    let lon2r = deg_rad(lon2);
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let lat1r = deg_rad(lat1);
    let lat2r = deg_rad(lat2);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_round_trips() {
        let bits = interleave64(0x0123_4567, 0x89ab_cdef);
        assert_eq!(deinterleave64(bits), 0x89ab_cdef_0123_4567);
    }

    #[test]
    fn palermo_scores_as_redis() {
        // GEOADD Sicily 13.361389 38.115556 "Palermo" stores this score.
        assert_eq!(
            lonlat_to_score(13.361389, 38.115556),
            Some(3479099956230698)
        );
        let [lon, lat] = score_to_lonlat(3479099956230698.0);
        assert!((lon - 13.361389).abs() < 1e-5 && (lat - 38.115556).abs() < 1e-5);
        assert_eq!(&standard_geohash(lon, lat), b"sqc8b49rny0");
    }
}
