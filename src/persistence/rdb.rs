//! The RDB file format of Redis: what respd writes and reads.
//!
//! A file is `REDIS` and a four-digit version, then opcodes: auxiliary
//! fields (`0xfa`), a database number (`0xfe`), size hints (`0xfb`), an
//! expiry time for the next key (`0xfc` milliseconds, `0xfd` seconds), and
//! keys, each a type byte, the key and the value; `0xff` ends it, followed
//! by a CRC-64 of everything before.
//!
//! respd writes version 9 with only the plain encodings (string, list,
//! set, zset2, hash), which every Redis from 5.0 to 7.4 loads. It reads
//! versions up to 10 (Redis 7.0) with their compact encodings too.
//!
//! Streams have no plain encoding: they are written as Redis 7.0 does,
//! type 19 (listpacks 2, which keeps consumer groups' `entries-read`), a
//! type Redis 7.0 to 7.4 load whatever the file's version; a file with a
//! stream does not load in Redis 6 (which knows only type 15).
//!
//! Function libraries (FUNCTION LOAD) are written as Redis 7.0 writes
//! them, each `0xf5` and its code before the first database; the readers
//! take those and the `0xf6` of 7.0's release candidates, and leave them to
//! the caller to compile.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::sync::Arc;

use super::{compact, crc64, lzf};
use crate::store::access::{self, AccessPolicy};
use crate::store::{
    Consumer, Db, Group, Hash, Nack, NodeImage, Set, Stream, StreamId, Value, ZSet,
};

/// The version respd writes.
pub const WRITE_VERSION: u32 = 9;
/// The newest version respd reads (Redis 7.0).
pub const MAX_READ_VERSION: u32 = 10;

// Opcodes.
const OP_FUNCTION2: u8 = 0xf5;
const OP_FUNCTION: u8 = 0xf6;
const OP_MODULE_AUX: u8 = 0xf7;
const OP_IDLE: u8 = 0xf8;
const OP_FREQ: u8 = 0xf9;
const OP_AUX: u8 = 0xfa;
const OP_RESIZEDB: u8 = 0xfb;
const OP_EXPIRETIME_MS: u8 = 0xfc;
const OP_EXPIRETIME: u8 = 0xfd;
const OP_SELECTDB: u8 = 0xfe;
const OP_EOF: u8 = 0xff;

// Value types.
const TYPE_STRING: u8 = 0;
const TYPE_LIST: u8 = 1;
const TYPE_SET: u8 = 2;
const TYPE_ZSET: u8 = 3;
const TYPE_HASH: u8 = 4;
const TYPE_ZSET_2: u8 = 5;
const TYPE_HASH_ZIPMAP: u8 = 9;
const TYPE_LIST_ZIPLIST: u8 = 10;
const TYPE_SET_INTSET: u8 = 11;
const TYPE_ZSET_ZIPLIST: u8 = 12;
const TYPE_HASH_ZIPLIST: u8 = 13;
const TYPE_LIST_QUICKLIST: u8 = 14;
const TYPE_HASH_LISTPACK: u8 = 16;
const TYPE_ZSET_LISTPACK: u8 = 17;
const TYPE_LIST_QUICKLIST_2: u8 = 18;
const TYPE_STREAM_LISTPACKS: u8 = 15;
const TYPE_STREAM_LISTPACKS_2: u8 = 19;
const TYPE_SET_LISTPACK: u8 = 20;
const TYPE_STREAM_LISTPACKS_3: u8 = 21;

// Special string encodings (a length whose top two bits are 11).
const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

/// A quicklist 2 node holding one element as it is (not a listpack).
const QUICKLIST_NODE_PLAIN: u64 = 1;

// ---------------------------------------------------------------- writing

/// A writer that keeps the CRC-64 of everything written through it.
pub(crate) struct Checksummed<W> {
    inner: W,
    crc: u64,
    /// LZF-compress strings over 20 bytes (`rdbcompression yes`).
    compress: bool,
}

impl<W: Write> Checksummed<W> {
    pub(crate) fn new(inner: W) -> Self {
        Checksummed {
            inner,
            crc: 0,
            compress: false,
        }
    }

    /// The key of a keyspace entry; DUMP payloads (`None`) carry none.
    fn key(&mut self, key: Option<&[u8]>) -> io::Result<()> {
        key.map_or(Ok(()), |key| self.string(key))
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.crc = crc64::update(self.crc, bytes);
        self.inner.write_all(bytes)
    }

    fn length(&mut self, len: u64) -> io::Result<()> {
        if len < 1 << 6 {
            self.put(&[len as u8])
        } else if len < 1 << 14 {
            self.put(&[0x40 | (len >> 8) as u8, len as u8])
        } else if len <= u64::from(u32::MAX) {
            self.put(&[0x80])?;
            self.put(&(len as u32).to_be_bytes())
        } else {
            self.put(&[0x81])?;
            self.put(&len.to_be_bytes())
        }
    }

    /// A string, as an integer when it is the canonical text of one that
    /// fits 32 bits (as Redis does: "123" takes 2 bytes instead of 4).
    fn string(&mut self, bytes: &[u8]) -> io::Result<()> {
        if let Some(n) = small_integer(bytes) {
            return if let Ok(n) = i8::try_from(n) {
                self.put(&[0xc0 | ENC_INT8, n as u8])
            } else if let Ok(n) = i16::try_from(n) {
                self.put(&[0xc0 | ENC_INT16])?;
                self.put(&n.to_le_bytes())
            } else {
                self.put(&[0xc0 | ENC_INT32])?;
                self.put(&n.to_le_bytes())
            };
        }
        self.raw_string(bytes)
    }

    /// A string as it is, LZF-compressed when that saves at least 4 bytes
    /// (Redis's `rdbSaveRawString`).
    fn raw_string(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.compress && bytes.len() > 20 {
            if let Some(packed) = lzf::compress(bytes, bytes.len() - 4) {
                self.put(&[0xc0 | ENC_LZF])?;
                self.length(packed.len() as u64)?;
                self.length(bytes.len() as u64)?;
                return self.put(&packed);
            }
        }
        self.length(bytes.len() as u64)?;
        self.put(bytes)
    }
}

/// The value of `bytes` if it is exactly how Redis prints an i32.
fn small_integer(bytes: &[u8]) -> Option<i32> {
    if bytes.is_empty() || bytes.len() > 11 {
        return None;
    }
    let n: i32 = std::str::from_utf8(bytes).ok()?.parse().ok()?;
    // "+1", "01" and "-0" parse but would not read back the same.
    let canonical =
        bytes[0] != b'+' && (bytes == b"0" || (bytes[0] != b'0' && !bytes.starts_with(b"-0")));
    canonical.then_some(n)
}

/// Writes `dbs` (database number, data) as an RDB file; keys whose time
/// has passed at `now` are left out. Returns the number of keys written.
pub fn write(out: impl Write, dbs: &[(usize, &Db)], now: u64) -> io::Result<u64> {
    write_with(out, dbs, &[], now, false)
}

/// [`write()`], with the code of each function library (written before
/// the databases, as Redis 7.0 does) and strings over 20 bytes
/// LZF-compressed when `compress` (`rdbcompression yes`, Redis's default).
pub fn write_with(
    out: impl Write,
    dbs: &[(usize, &Db)],
    libraries: &[Vec<u8>],
    now: u64,
    compress: bool,
) -> io::Result<u64> {
    write_for_replica(out, dbs, libraries, now, compress, None)
}

/// [`write_with()`] for a replica's full resync: with `stream_db`, the
/// `repl-stream-db` field names the database the stream that follows has
/// selected (a chained replica's stream is its master's, which may not
/// select one again).
pub fn write_for_replica(
    out: impl Write,
    dbs: &[(usize, &Db)],
    libraries: &[Vec<u8>],
    now: u64,
    compress: bool,
    stream_db: Option<usize>,
) -> io::Result<u64> {
    let mut w = Checksummed {
        inner: out,
        crc: 0,
        compress,
    };
    w.put(format!("REDIS{WRITE_VERSION:04}").as_bytes())?;
    let ctime = (now / 1000).to_string();
    for (name, value) in [
        ("redis-ver", crate::REDIS_VERSION),
        ("redis-bits", if usize::BITS == 64 { "64" } else { "32" }),
        ("ctime", ctime.as_str()),
        ("used-mem", "0"),
        ("aof-base", "0"),
    ] {
        w.put(&[OP_AUX])?;
        w.string(name.as_bytes())?;
        w.string(value.as_bytes())?;
    }
    if let Some(db) = stream_db {
        w.put(&[OP_AUX])?;
        w.string(b"repl-stream-db")?;
        w.string(db.to_string().as_bytes())?;
    }
    for code in libraries {
        write_library(&mut w, code)?;
    }
    let mut written = 0;
    for &(index, db) in dbs {
        if db.is_empty() {
            continue;
        }
        w.put(&[OP_SELECTDB])?;
        w.length(index as u64)?;
        w.put(&[OP_RESIZEDB])?;
        w.length(db.len() as u64)?;
        w.length(db.volatile_len() as u64)?;
        for (key, entry) in db.keys().iter() {
            let expire = db.expire_at(key);
            if expire.is_some_and(|at| at <= now) {
                continue;
            }
            if let Some(at) = expire {
                w.put(&[OP_EXPIRETIME_MS])?;
                w.put(&at.to_le_bytes())?;
            }
            // The access clock, as the policy counts it (none otherwise).
            let policy = db.access_policy();
            let clock = entry.clock.get();
            if policy.is_lru() {
                w.put(&[OP_IDLE])?;
                w.length(access::idle_ms(clock, now) / 1000)?;
            } else if policy.is_lfu() {
                w.put(&[OP_FREQ, policy.frequency(clock, now)])?;
            }
            write_value(&mut w, Some(key), &entry.value)?;
            written += 1;
        }
    }
    w.put(&[OP_EOF])?;
    let crc = w.crc;
    w.inner.write_all(&crc.to_le_bytes())?;
    Ok(written)
}

/// A function library: `RDB_OPCODE_FUNCTION2` and its code (Redis 7.0's
/// `rdbSaveFunctions`, also the body of a FUNCTION DUMP payload).
pub(crate) fn write_library<W: Write>(w: &mut Checksummed<W>, code: &[u8]) -> io::Result<()> {
    w.put(&[OP_FUNCTION2])?;
    w.raw_string(code)
}

/// A function library after its opcode: the code of `OP_FUNCTION2`, or,
/// for the `OP_FUNCTION` of Redis 7.0's release candidates (name, engine,
/// optional description, body), the code with its `#!` line rebuilt, as
/// Redis's `rdbFunctionLoad` does.
pub(crate) fn read_library(r: &mut Reader<'_>, opcode: u8) -> Result<Vec<u8>> {
    if opcode == OP_FUNCTION2 {
        return r.string();
    }
    let name = r.string()?;
    let engine = r.string()?;
    if r.length()? != 0 {
        r.string()?;
    }
    let body = r.string()?;
    let mut code = b"#!".to_vec();
    code.extend_from_slice(&engine);
    code.extend_from_slice(b" name=");
    code.extend_from_slice(&name);
    code.push(b'\n');
    code.extend_from_slice(&body);
    Ok(code)
}

/// True for the opcodes of a function library.
pub(crate) fn is_library(opcode: u8) -> bool {
    opcode == OP_FUNCTION2 || opcode == OP_FUNCTION
}

/// One entry: the value's type byte, its key (if any), then the value.
pub(crate) fn write_value<W: Write>(
    w: &mut Checksummed<W>,
    key: Option<&[u8]>,
    value: &Value,
) -> io::Result<()> {
    match value {
        Value::Str(bytes) => {
            w.put(&[TYPE_STRING])?;
            w.key(key)?;
            w.string(bytes)
        }
        Value::List(list) => {
            w.put(&[TYPE_LIST])?;
            w.key(key)?;
            w.length(list.len() as u64)?;
            list.iter().try_for_each(|item| w.string(item))
        }
        Value::Set(set) => {
            w.put(&[TYPE_SET])?;
            w.key(key)?;
            w.length(set.len() as u64)?;
            set.iter().try_for_each(|member| w.string(member))
        }
        Value::ZSet(zset) => {
            w.put(&[TYPE_ZSET_2])?;
            w.key(key)?;
            w.length(zset.len() as u64)?;
            zset.iter().try_for_each(|(member, score)| {
                w.string(member)?;
                w.put(&score.to_le_bytes())
            })
        }
        Value::Hash(hash) => {
            w.put(&[TYPE_HASH])?;
            w.key(key)?;
            w.length(hash.len() as u64)?;
            hash.iter().try_for_each(|(field, value)| {
                w.string(field)?;
                w.string(value)
            })
        }
        Value::Stream(stream) => {
            w.put(&[TYPE_STREAM_LISTPACKS_2])?;
            w.key(key)?;
            write_stream(w, stream)
        }
    }
}

// ---------------------------------------------------------------- reading

/// Why a file could not be loaded, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// Byte offset in the file where the problem was found.
    pub offset: usize,
    pub message: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at offset {}: {}", self.offset, self.message)
    }
}

/// What a load produced.
#[derive(Debug, Default)]
pub struct Loaded {
    /// One database per index, as many as the caller asked for.
    pub dbs: Vec<Db>,
    pub keys_loaded: u64,
    /// Keys left out because their time had passed.
    pub keys_expired: u64,
    pub version: u32,
    /// The code of each function library, in file order.
    pub libraries: Vec<Vec<u8>>,
    /// `repl-stream-db`: the database the replication stream had selected
    /// at the snapshot (a replica starts applying the stream there).
    pub stream_db: Option<usize>,
}

type Result<T> = std::result::Result<T, LoadError>;

/// A cursor over the file's bytes; every read is bounds-checked.
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

/// A length, or the marker of a specially encoded string.
enum Length {
    Plain(u64),
    Special(u8),
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Reader { data, at: 0 }
    }

    fn fail<T>(&self, message: impl Into<String>) -> Result<T> {
        Err(LoadError {
            offset: self.at,
            message: message.into(),
        })
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        match self.at.checked_add(n).filter(|&end| end <= self.data.len()) {
            Some(end) => {
                let bytes = &self.data[self.at..end];
                self.at = end;
                Ok(bytes)
            }
            None => self.fail("unexpected end of file (truncated?)"),
        }
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.data.len() - self.at
    }

    pub(crate) fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn length_or_special(&mut self) -> Result<Length> {
        let first = self.byte()?;
        Ok(match first >> 6 {
            0 => Length::Plain(u64::from(first & 0x3f)),
            1 => Length::Plain((u64::from(first & 0x3f) << 8) | u64::from(self.byte()?)),
            2 => match first {
                0x80 => Length::Plain(u64::from(u32::from_be_bytes(self.array()?))),
                0x81 => Length::Plain(u64::from_be_bytes(self.array()?)),
                _ => return self.fail(format!("unknown length encoding 0x{first:02x}")),
            },
            _ => Length::Special(first & 0x3f),
        })
    }

    fn length(&mut self) -> Result<u64> {
        match self.length_or_special()? {
            Length::Plain(len) => Ok(len),
            Length::Special(_) => self.fail("expected a length, found an encoded string"),
        }
    }

    /// A count of elements to come; each takes at least one byte, so a
    /// count beyond the bytes left is corrupt (and must not be used to
    /// reserve memory).
    fn count(&mut self) -> Result<usize> {
        let count = self.length()?;
        if count > (self.data.len() - self.at) as u64 {
            return self.fail(format!(
                "element count {count} is more than the bytes left: unexpected end of file (truncated?)"
            ));
        }
        Ok(count as usize)
    }

    fn string(&mut self) -> Result<Vec<u8>> {
        match self.length_or_special()? {
            Length::Plain(len) => {
                let len = usize::try_from(len).or_else(|_| self.fail("string too long"))?;
                Ok(self.take(len)?.to_vec())
            }
            Length::Special(ENC_INT8) => Ok((self.byte()? as i8).to_string().into_bytes()),
            Length::Special(ENC_INT16) => {
                Ok(i16::from_le_bytes(self.array()?).to_string().into_bytes())
            }
            Length::Special(ENC_INT32) => {
                Ok(i32::from_le_bytes(self.array()?).to_string().into_bytes())
            }
            Length::Special(ENC_LZF) => {
                let compressed = self.length()? as usize;
                let len = self.length()? as usize;
                let start = self.at;
                let data = self.take(compressed)?;
                match lzf::decompress(data, len) {
                    Some(bytes) => Ok(bytes),
                    None => Err(LoadError {
                        offset: start,
                        message: "invalid LZF-compressed string".into(),
                    }),
                }
            }
            Length::Special(other) => self.fail(format!("unknown string encoding {other}")),
        }
    }

    /// A blob holding a compact encoding, decoded to its entries.
    fn compact(&mut self, decode: fn(&[u8]) -> compact::Entries) -> Result<Vec<Vec<u8>>> {
        let start = self.at;
        let blob = self.string()?;
        decode(&blob).map_err(|message| LoadError {
            offset: start,
            message,
        })
    }

    /// A stream ID as two lengths.
    fn stream_id(&mut self) -> Result<StreamId> {
        Ok(StreamId::new(self.length()?, self.length()?))
    }

    /// A time in milliseconds: 8 bytes, little-endian.
    fn millis(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn score_text(&mut self) -> Result<f64> {
        let len = self.byte()?;
        match len {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            _ => {
                let text = self.take(usize::from(len))?;
                match crate::util::parse_f64(text) {
                    Some(score) => Ok(score),
                    None => self.fail("invalid sorted set score"),
                }
            }
        }
    }
}

/// Reads a whole RDB file into `databases` databases. Keys whose expiry
/// time is at or before `now` are left out, as a Redis master does.
///
/// Keys get their access clocks under `access`, from the file's idle times
/// or counters where it has the kind the policy uses.
pub fn read(data: &[u8], databases: usize, now: u64, access: Arc<AccessPolicy>) -> Result<Loaded> {
    let mut r = Reader { data, at: 0 };
    let header = r
        .take(9)
        .or_else(|_| r.fail("file too short for an RDB header"))?;
    if &header[..5] != b"REDIS" {
        return Err(LoadError {
            offset: 0,
            message: "not an RDB file (no REDIS signature)".into(),
        });
    }
    let version = std::str::from_utf8(&header[5..])
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|&v| v >= 1);
    let Some(version) = version else {
        return Err(LoadError {
            offset: 5,
            message: "invalid RDB version number".into(),
        });
    };
    if version > MAX_READ_VERSION {
        return Err(LoadError {
            offset: 5,
            message: format!(
                "can't handle RDB format version {version} (respd reads versions up to {MAX_READ_VERSION}, Redis 7.0)"
            ),
        });
    }
    let mut loaded = Loaded {
        dbs: (0..databases)
            .map(|_| Db::with_access(access.clone()))
            .collect(),
        version,
        ..Loaded::default()
    };
    let mut db = 0;
    let mut expire: Option<u64> = None;
    // The next key's idle seconds or LFU counter.
    let (mut idle, mut frequency): (Option<u64>, Option<u8>) = (None, None);
    loop {
        let opcode_at = r.at;
        let opcode = r.byte()?;
        match opcode {
            OP_EOF => break,
            OP_AUX => {
                let name = r.string()?;
                let value = r.string()?;
                if name == b"repl-stream-db" {
                    loaded.stream_db = std::str::from_utf8(&value)
                        .ok()
                        .and_then(|v| v.parse().ok())
                        .filter(|&db: &usize| db < databases);
                }
            }
            OP_SELECTDB => {
                let index = r.length()?;
                if index >= databases as u64 {
                    return Err(LoadError {
                        offset: opcode_at,
                        message: format!(
                            "the file uses database {index}, but this server has {databases} databases (raise `databases`)"
                        ),
                    });
                }
                db = index as usize;
            }
            OP_RESIZEDB => {
                r.length()?;
                r.length()?;
            }
            OP_EXPIRETIME_MS => expire = Some(i64::from_le_bytes(r.array()?).max(0) as u64),
            OP_EXPIRETIME => {
                expire = Some(i64::from(i32::from_le_bytes(r.array()?)).max(0) as u64 * 1000)
            }
            OP_IDLE => idle = Some(r.length()?),
            OP_FREQ => frequency = Some(r.byte()?),
            OP_MODULE_AUX => return r.fail("module data is not supported"),
            OP_FUNCTION2 | OP_FUNCTION => {
                let code = read_library(&mut r, opcode)?;
                loaded.libraries.push(code);
            }
            kind => {
                let key = r.string()?;
                let value = read_value(&mut r, kind, opcode_at)?;
                let target = &mut loaded.dbs[db];
                if target.keys().contains_key(&key[..]) {
                    return Err(LoadError {
                        offset: opcode_at,
                        message: format!("duplicate key '{}'", key.escape_ascii()),
                    });
                }
                match value {
                    // An empty aggregate (old files) is skipped, as Redis does.
                    None => {}
                    Some(_) if expire.is_some_and(|at| at <= now) => loaded.keys_expired += 1,
                    Some(value) => {
                        target.put(key.as_slice().into(), value, expire);
                        if let Some(clock) = access.restored(idle, frequency, now) {
                            target.set_clock(&key, clock);
                        }
                        loaded.keys_loaded += 1;
                    }
                }
                expire = None;
                (idle, frequency) = (None, None);
            }
        }
    }
    if version >= 5 {
        let content_end = r.at;
        let stored = u64::from_le_bytes(r.array()?);
        // A checksum of 0 means the writer had `rdbchecksum no`.
        let actual = crc64::update(0, &data[..content_end]);
        if stored != 0 && stored != actual {
            return Err(LoadError {
                offset: content_end,
                message: format!(
                    "wrong RDB checksum: expected {stored:016x}, computed {actual:016x}"
                ),
            });
        }
    }
    if r.at != data.len() {
        return r.fail("bytes after the end of the file");
    }
    Ok(loaded)
}

/// One value of type `kind`; `None` for an empty aggregate.
pub(crate) fn read_value(r: &mut Reader<'_>, kind: u8, at: usize) -> Result<Option<Value>> {
    let value = match kind {
        TYPE_STRING => Value::Str(r.string()?.into()),
        TYPE_LIST => {
            let count = r.count()?;
            list((0..count).map(|_| r.string()).collect::<Result<_>>()?)
        }
        TYPE_SET => {
            let count = r.count()?;
            let mut set = Set::new();
            for _ in 0..count {
                set.insert(&r.string()?);
            }
            Value::Set(Box::new(set))
        }
        TYPE_ZSET | TYPE_ZSET_2 => {
            let count = r.count()?;
            let mut zset = ZSet::new();
            for _ in 0..count {
                let member = r.string()?;
                let score = if kind == TYPE_ZSET_2 {
                    f64::from_le_bytes(r.array()?)
                } else {
                    r.score_text()?
                };
                if score.is_nan() {
                    return r.fail("sorted set score is NaN");
                }
                zset.insert(&member, score);
            }
            Value::ZSet(Box::new(zset))
        }
        TYPE_HASH => {
            let count = r.count()?;
            let mut hash = Hash::new();
            for _ in 0..count {
                let field = r.string()?;
                hash.insert(&field, r.string()?);
            }
            Value::Hash(Box::new(hash))
        }
        TYPE_LIST_ZIPLIST => list(r.compact(compact::ziplist)?),
        TYPE_LIST_QUICKLIST | TYPE_LIST_QUICKLIST_2 => {
            let nodes = r.count()?;
            let mut items = Vec::new();
            for _ in 0..nodes {
                if kind == TYPE_LIST_QUICKLIST {
                    items.extend(r.compact(compact::ziplist)?);
                } else if r.length()? == QUICKLIST_NODE_PLAIN {
                    items.push(r.string()?);
                } else {
                    items.extend(r.compact(compact::listpack)?);
                }
            }
            list(items)
        }
        TYPE_SET_INTSET | TYPE_SET_LISTPACK => {
            let decode = if kind == TYPE_SET_INTSET {
                compact::intset
            } else {
                compact::listpack
            };
            let members = r.compact(decode)?;
            Value::Set(Box::new(members.iter().map(|m| &m[..]).collect()))
        }
        TYPE_HASH_ZIPMAP | TYPE_HASH_ZIPLIST | TYPE_HASH_LISTPACK => {
            let decode = match kind {
                TYPE_HASH_ZIPMAP => compact::zipmap,
                TYPE_HASH_ZIPLIST => compact::ziplist,
                _ => compact::listpack,
            };
            let start = r.at;
            let entries = r.compact(decode)?;
            if entries.len() % 2 != 0 {
                return Err(odd_entries(start));
            }
            let mut hash = Hash::new();
            for pair in entries.chunks_exact(2) {
                hash.insert(&pair[0], pair[1].clone());
            }
            Value::Hash(Box::new(hash))
        }
        TYPE_ZSET_ZIPLIST | TYPE_ZSET_LISTPACK => {
            let decode = if kind == TYPE_ZSET_ZIPLIST {
                compact::ziplist
            } else {
                compact::listpack
            };
            let start = r.at;
            let entries = r.compact(decode)?;
            if entries.len() % 2 != 0 {
                return Err(odd_entries(start));
            }
            let mut zset = ZSet::new();
            for pair in entries.chunks_exact(2) {
                match crate::util::parse_f64(&pair[1]).filter(|s| !s.is_nan()) {
                    Some(score) => zset.insert(&pair[0], score),
                    None => {
                        return Err(LoadError {
                            offset: start,
                            message: "invalid sorted set score".into(),
                        })
                    }
                };
            }
            Value::ZSet(Box::new(zset))
        }
        TYPE_STREAM_LISTPACKS | TYPE_STREAM_LISTPACKS_2 | TYPE_STREAM_LISTPACKS_3 => {
            Value::Stream(Box::new(read_stream(r, kind)?))
        }
        6 | 7 => {
            return Err(LoadError {
                offset: at,
                message: "the file holds a module value, which respd does not support".into(),
            })
        }
        other => {
            return Err(LoadError {
                offset: at,
                message: format!("unknown value type {other}"),
            })
        }
    };
    let empty = match &value {
        Value::Str(_) => false,
        Value::List(list) => list.is_empty(),
        Value::Set(set) => set.is_empty(),
        Value::ZSet(zset) => zset.is_empty(),
        Value::Hash(hash) => hash.is_empty(),
        Value::Stream(_) => false,
    };
    Ok((!empty).then_some(value))
}

fn list(items: Vec<Vec<u8>>) -> Value {
    Value::List(Box::new(items.into()))
}

fn odd_entries(offset: usize) -> LoadError {
    LoadError {
        offset,
        message: "a hash or sorted set blob has an odd number of entries".into(),
    }
}

// ---------------------------------------------------------------- streams

// Entry flags in a stream listpack.
const STREAM_ITEM_DELETED: i64 = 1;
const STREAM_ITEM_SAME_FIELDS: i64 = 2;

/// A stream ID as Redis's radix tree keys it: big-endian ms, then seq.
fn raw_id(id: StreamId) -> [u8; 16] {
    let mut raw = [0u8; 16];
    raw[..8].copy_from_slice(&id.ms.to_be_bytes());
    raw[8..].copy_from_slice(&id.seq.to_be_bytes());
    raw
}

/// A stream value (type 19), after its key: each listpack node keyed by
/// its master ID, the stream's counters, then the consumer groups with
/// their pending entries and consumers.
fn write_stream<W: Write>(w: &mut Checksummed<W>, stream: &Stream) -> io::Result<()> {
    w.length(stream.node_count() as u64)?;
    for node in stream.node_images() {
        let blob = stream_listpack(&node)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "stream node over 4 GB"))?;
        w.raw_string(&raw_id(node.master))?;
        w.raw_string(&blob)?;
    }
    w.length(stream.len() as u64)?;
    for id in [stream.last_id, stream.first_id, stream.max_deleted_id] {
        w.length(id.ms)?;
        w.length(id.seq)?;
    }
    w.length(stream.entries_added)?;
    w.length(stream.groups.len() as u64)?;
    for (name, group) in &stream.groups {
        w.string(name)?;
        w.length(group.last_id.ms)?;
        w.length(group.last_id.seq)?;
        // Redis keeps an unknown count as -1.
        w.length(group.entries_read.unwrap_or(u64::MAX))?;
        w.length(group.pel.len() as u64)?;
        for (id, nack) in &group.pel {
            w.put(&raw_id(*id))?;
            w.put(&nack.delivery_time.to_le_bytes())?;
            w.length(nack.delivery_count)?;
        }
        w.length(group.consumers.len() as u64)?;
        for (name, consumer) in &group.consumers {
            w.string(name)?;
            w.put(&consumer.seen_time.to_le_bytes())?;
            w.length(consumer.pending.len() as u64)?;
            for id in &consumer.pending {
                w.put(&raw_id(*id))?;
            }
        }
    }
    Ok(())
}

/// A node as Redis's `streamAppendItem` lays it out: the master entry
/// (live count, deleted count, the master fields, 0), then per entry its
/// flags, ID deltas from the master ID, the field count and fields unless
/// they are the master's, the values, and the entry's element count.
/// Deleted entries keep only their IDs in respd: they are written with
/// the master's fields and empty values (their contents are never read).
fn stream_listpack(node: &NodeImage<'_>) -> Option<Vec<u8>> {
    let mut lp = compact::ListpackWriter::default();
    let deleted = node.entries.iter().filter(|(_, f)| f.is_none()).count();
    lp.int((node.entries.len() - deleted) as i64);
    lp.int(deleted as i64);
    lp.int(node.master_fields.len() as i64);
    node.master_fields.iter().for_each(|field| lp.string(field));
    lp.int(0);
    let no_values: Vec<Vec<u8>> = node
        .master_fields
        .iter()
        .flat_map(|field| [field.clone(), Vec::new()])
        .collect();
    for (id, fields) in &node.entries {
        let deleted = fields.is_none();
        let fields = fields.unwrap_or(&no_values);
        let pairs = fields.len() / 2;
        let same_fields = pairs == node.master_fields.len()
            && fields.iter().step_by(2).eq(node.master_fields.iter());
        let mut flags = if same_fields {
            STREAM_ITEM_SAME_FIELDS
        } else {
            0
        };
        if deleted {
            flags |= STREAM_ITEM_DELETED;
        }
        lp.int(flags);
        lp.int(id.ms.wrapping_sub(node.master.ms) as i64);
        lp.int(id.seq.wrapping_sub(node.master.seq) as i64);
        if same_fields {
            fields.iter().skip(1).step_by(2).for_each(|v| lp.string(v));
            lp.int(pairs as i64 + 3);
        } else {
            lp.int(pairs as i64);
            fields.iter().for_each(|f| lp.string(f));
            lp.int(2 * pairs as i64 + 4);
        }
    }
    lp.finish()
}

/// Reads a stream of type 15, 19 or 21 (after its key).
fn read_stream(r: &mut Reader<'_>, kind: u8) -> Result<Stream> {
    let mut stream = Stream::new();
    let nodes = r.count()?;
    for _ in 0..nodes {
        let key_at = r.at;
        let key = r.string()?;
        let Ok(key) = <[u8; 16]>::try_from(&key[..]) else {
            return Err(LoadError {
                offset: key_at,
                message: "stream node key is not the size of a stream ID".into(),
            });
        };
        let master = id_from_raw(key);
        let blob_at = r.at;
        let blob = r.string()?;
        let fail = |message: String| LoadError {
            offset: blob_at,
            message,
        };
        let (master_fields, entries) = parse_stream_listpack(&blob, master).map_err(fail)?;
        stream
            .push_node(master, master_fields, entries, blob.len() as u64)
            .map_err(|message| fail(message.into()))?;
    }
    let length_at = r.at;
    let length = r.length()?;
    if length != stream.len() as u64 {
        return Err(LoadError {
            offset: length_at,
            message: format!(
                "stream length {length} but its nodes hold {} entries",
                stream.len()
            ),
        });
    }
    let last_at = r.at;
    stream.last_id = r.stream_id()?;
    // XADD * must never make an ID the stream already holds.
    if stream
        .last()
        .is_some_and(|(newest, _)| newest > stream.last_id)
    {
        return Err(LoadError {
            offset: last_at,
            message: "stream's last ID is below its newest entry".into(),
        });
    }
    if kind == TYPE_STREAM_LISTPACKS {
        // Before 7.0: what the counters would be, as Redis works them out
        // (an empty stream's first ID is the largest one).
        stream.first_id = stream.first().map_or(StreamId::MAX, |(id, _)| id);
        stream.entries_added = length;
    } else {
        stream.first_id = r.stream_id()?;
        stream.max_deleted_id = r.stream_id()?;
        stream.entries_added = r.length()?;
    }
    let groups = r.count()?;
    for _ in 0..groups {
        let name_at = r.at;
        let name = r.string()?;
        let last_id = r.stream_id()?;
        let entries_read = if kind == TYPE_STREAM_LISTPACKS {
            stream.entries_before(last_id)
        } else {
            // -1 (unknown) arrives as the largest length.
            Some(r.length()?).filter(|&n| n <= i64::MAX as u64)
        };
        let group = read_group(r, kind, last_id, entries_read)?;
        if stream.groups.insert(name, group).is_some() {
            return Err(LoadError {
                offset: name_at,
                message: "duplicate consumer group name".into(),
            });
        }
    }
    Ok(stream)
}

/// A group's pending entries and consumers.
fn read_group(
    r: &mut Reader<'_>,
    kind: u8,
    last_id: StreamId,
    entries_read: Option<u64>,
) -> Result<Group> {
    let corrupt = |offset, message: &str| LoadError {
        offset,
        message: message.into(),
    };
    // Delivery time and count by ID; the owner comes with the consumers.
    let mut unowned = BTreeMap::new();
    let pending = r.count()?;
    for _ in 0..pending {
        let at = r.at;
        let id = id_from_raw(r.array()?);
        let delivery_time = r.millis()?;
        let delivery_count = r.length()?;
        if unowned
            .insert(id, (delivery_time, delivery_count))
            .is_some()
        {
            return Err(corrupt(at, "duplicate entry in a group's pending list"));
        }
    }
    let mut group = Group {
        last_id,
        entries_read,
        pel: BTreeMap::new(),
        consumers: BTreeMap::new(),
    };
    let consumers = r.count()?;
    for _ in 0..consumers {
        let name_at = r.at;
        let name = r.string()?;
        let seen_time = r.millis()?;
        if kind == TYPE_STREAM_LISTPACKS_3 {
            // Redis 7.2's active time: respd does not keep it.
            r.millis()?;
        }
        let mut consumer = Consumer {
            seen_time,
            pending: BTreeSet::new(),
        };
        let owned = r.count()?;
        for _ in 0..owned {
            let at = r.at;
            let id = id_from_raw(r.array()?);
            let Some((delivery_time, delivery_count)) = unowned.remove(&id) else {
                return Err(corrupt(
                    at,
                    "consumer entry not found in the group's pending list",
                ));
            };
            consumer.pending.insert(id);
            let nack = Nack {
                consumer: name.clone(),
                delivery_time,
                delivery_count,
            };
            group.pel.insert(id, nack);
        }
        if group.consumers.insert(name, consumer).is_some() {
            return Err(corrupt(name_at, "duplicate stream consumer"));
        }
    }
    if !unowned.is_empty() {
        return Err(corrupt(r.at, "a pending entry of a group has no consumer"));
    }
    Ok(group)
}

fn id_from_raw(raw: [u8; 16]) -> StreamId {
    let (ms, seq) = raw.split_at(8);
    let word = |bytes: &[u8]| {
        let mut word = [0u8; 8];
        word.copy_from_slice(bytes);
        u64::from_be_bytes(word)
    };
    StreamId::new(word(ms), word(seq))
}

/// The master fields and entries of a node's listpack.
type NodeContents = (Vec<Vec<u8>>, Vec<(StreamId, Option<Vec<Vec<u8>>>)>);

fn parse_stream_listpack(
    blob: &[u8],
    master: StreamId,
) -> std::result::Result<NodeContents, String> {
    let mut items = StreamItems(compact::listpack_items(blob)?.into_iter());
    let live = items.int()?;
    let deleted = items.int()?;
    let master_count = items.count(blob.len())?;
    let mut master_fields = Vec::with_capacity(master_count);
    for _ in 0..master_count {
        master_fields.push(items.text()?);
    }
    if items.int()? != 0 {
        return Err("stream listpack master entry does not end with 0".into());
    }
    let total = usize::try_from(live.saturating_add(deleted))
        .ok()
        // Each entry takes at least three items (flags, ms, seq).
        .filter(|&n| n <= items.0.len() / 3)
        .ok_or("stream listpack has an impossible entry count")?;
    let mut entries = Vec::with_capacity(total);
    for _ in 0..total {
        let flags = items.int()?;
        let ms = master.ms.wrapping_add(items.int()? as u64);
        let seq = master.seq.wrapping_add(items.int()? as u64);
        let same_fields = flags & STREAM_ITEM_SAME_FIELDS != 0;
        let pairs = if same_fields {
            master_count
        } else {
            items.count(blob.len())?
        };
        let mut fields = Vec::with_capacity(pairs.min(items.0.len()) * 2);
        for index in 0..pairs {
            // With the same fields, `pairs` is the master fields' count.
            let field = match master_fields.get(index) {
                Some(field) if same_fields => field.clone(),
                _ => items.text()?,
            };
            fields.push(field);
            fields.push(items.text()?);
        }
        let expected = if same_fields {
            pairs + 3
        } else {
            2 * pairs + 4
        };
        if items.int()? != expected as i64 {
            return Err("stream listpack entry has a wrong element count".into());
        }
        let deleted = flags & STREAM_ITEM_DELETED != 0;
        entries.push((StreamId::new(ms, seq), (!deleted).then_some(fields)));
    }
    let live_found = entries.iter().filter(|(_, f)| f.is_some()).count();
    if items.0.next().is_some() || live_found as i64 != live {
        return Err("stream listpack entries do not match its counts".into());
    }
    Ok((master_fields, entries))
}

/// The elements of a stream node's listpack, read in order.
struct StreamItems<'a>(std::vec::IntoIter<compact::Item<'a>>);

impl StreamItems<'_> {
    fn next(&mut self) -> std::result::Result<compact::Item<'_>, String> {
        self.0
            .next()
            .ok_or_else(|| "stream listpack ends early".into())
    }

    fn text(&mut self) -> std::result::Result<Vec<u8>, String> {
        Ok(self.next()?.to_vec())
    }

    fn int(&mut self) -> std::result::Result<i64, String> {
        match self.next()? {
            compact::Item::Int(n) => Ok(n),
            compact::Item::Str(_) => {
                Err("stream listpack has a string where a number belongs".into())
            }
        }
    }

    /// A count of elements, which cannot exceed the blob's size.
    fn count(&mut self, limit: usize) -> std::result::Result<usize, String> {
        let n = self.int()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= limit)
            .ok_or_else(|| format!("stream listpack has an impossible count {n}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Db {
        let mut db = Db::default();
        db.put(b"s".into(), Value::Str(b"hello".into()), None);
        db.put(
            b"n".into(),
            Value::Str(b"-1234567".into()),
            Some(u64::MAX / 2),
        );
        db.put(b"z".into(), Value::Str(b"007".into()), None);
        let mut zset = ZSet::new();
        zset.insert(b"a", 1.5);
        zset.insert(b"b", f64::NEG_INFINITY);
        db.put(b"zs".into(), Value::ZSet(Box::new(zset)), None);
        db.put(
            b"l".into(),
            Value::List(Box::new(vec![b"x".to_vec(), vec![b'y'; 20000]].into())),
            None,
        );
        db
    }

    #[test]
    fn what_is_written_reads_back() {
        let db = sample();
        let mut file = Vec::new();
        assert_eq!(write(&mut file, &[(3, &db)], 1000).unwrap(), 5);
        assert!(file.starts_with(b"REDIS0009"));
        let loaded = read(&file, 16, 1000, Default::default()).unwrap();
        let back = &loaded.dbs[3];
        assert_eq!(back.len(), 5);
        let get = |k: &[u8]| back.get(k, 1000).cloned();
        assert!(matches!(get(b"n"), Some(Value::Str(s)) if &s[..] == b"-1234567"));
        assert!(matches!(get(b"z"), Some(Value::Str(s)) if &s[..] == b"007"));
        assert_eq!(back.expire_at(b"n"), Some(u64::MAX / 2));
        let Some(Value::ZSet(z)) = get(b"zs") else {
            panic!()
        };
        assert_eq!(z.score(b"b"), Some(f64::NEG_INFINITY));
        // Any damage is found: every truncation and a flipped byte.
        let near_end = file.len().saturating_sub(12)..file.len();
        for cut in (0..file.len()).step_by(97).chain(near_end) {
            assert!(
                read(&file[..cut], 16, 1000, Default::default()).is_err(),
                "cut at {cut}"
            );
        }
        let mut flipped = file.clone();
        flipped[40] ^= 1;
        assert!(read(&flipped, 16, 1000, Default::default()).is_err());
        // Compressed (rdbcompression yes): smaller, and reads back the same.
        let mut compressed = Vec::new();
        let libraries = [b"#!lua name=l\nredis.register_function('f', function() end)".to_vec()];
        write_with(&mut compressed, &[(3, &db)], &libraries, 1000, true).unwrap();
        assert!(compressed.len() + 19_000 < file.len());
        let again = read(&compressed, 16, 1000, Default::default()).unwrap();
        assert_eq!(again.libraries, libraries);
        assert!(loaded.libraries.is_empty());
        let list = |loaded: &Loaded| match loaded.dbs[3].get(b"l", 1000) {
            Some(Value::List(list)) => list.clone(),
            _ => panic!("no list"),
        };
        assert_eq!(list(&again), list(&loaded));
        // Too few databases, too new a version.
        assert!(read(&file, 2, 1000, Default::default())
            .unwrap_err()
            .message
            .contains("database 3"));
        let mut newer = file.clone();
        newer[5..9].copy_from_slice(b"0011");
        assert!(read(&newer, 16, 1000, Default::default())
            .unwrap_err()
            .message
            .contains("version 11"));
    }

    #[test]
    fn streams_round_trip_with_tombstones_and_groups() {
        use crate::store::{NodeLimits, Trim};
        let limits = NodeLimits {
            max_entries: 3,
            max_bytes: 4096,
        };
        let mut stream = Stream::new();
        for i in 1..=8u64 {
            let fields = if i == 5 {
                vec![b"other".to_vec(), vec![b'x'; 70]]
            } else {
                vec![b"f".to_vec(), i.to_string().into_bytes()]
            };
            stream.append(StreamId::new(100, i), fields, limits);
        }
        stream.delete(StreamId::new(100, 5));
        stream.trim(Trim::MaxLen(6), false, 0);
        let mut group = Group {
            last_id: StreamId::new(100, 4),
            entries_read: None,
            pel: BTreeMap::new(),
            consumers: BTreeMap::new(),
        };
        group.consumer(b"c", 77);
        group.pel.insert(
            StreamId::new(100, 4),
            Nack {
                consumer: b"c".to_vec(),
                delivery_time: 99,
                delivery_count: 2,
            },
        );
        group.reassign(StreamId::new(100, 4), b"c");
        stream.groups.insert(b"g".to_vec(), group);

        // Through the paths files and DUMP take: the type byte, then the value.
        let stream_bytes = |stream: &Stream| {
            let mut bytes = Vec::new();
            let value = Value::Stream(Box::new(stream.clone()));
            write_value(&mut Checksummed::new(&mut bytes), None, &value).unwrap();
            bytes
        };
        let read_stream_bytes = |bytes: &[u8]| -> Result<(Stream, usize)> {
            let Some((&kind, data)) = bytes.split_first() else {
                return Reader::new(bytes).fail("empty");
            };
            let mut r = Reader::new(data);
            match read_value(&mut r, kind, 0)? {
                Some(Value::Stream(stream)) => Ok((*stream, 1 + r.at)),
                _ => r.fail("not a stream"),
            }
        };
        let bytes = stream_bytes(&stream);
        assert_eq!(bytes[0], TYPE_STREAM_LISTPACKS_2);
        let (back, used) = read_stream_bytes(&bytes).unwrap();
        assert_eq!(used, bytes.len());
        let ids = |s: &Stream| {
            s.range(StreamId::ZERO, StreamId::MAX, false)
                .map(|(id, f)| (id, f.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&back), ids(&stream));
        assert_eq!(back.node_count(), stream.node_count());
        let tombstones = |s: &Stream| {
            s.node_images()
                .flat_map(|n| n.entries.into_iter().filter(|e| e.1.is_none()).map(|e| e.0))
                .collect::<Vec<_>>()
        };
        assert_eq!(tombstones(&back), tombstones(&stream));
        assert_eq!(tombstones(&back).len(), 2);
        assert_eq!(
            (
                back.last_id,
                back.first_id,
                back.max_deleted_id,
                back.entries_added
            ),
            (stream.last_id, stream.first_id, stream.max_deleted_id, 8)
        );
        let group = &back.groups[&b"g"[..]];
        assert_eq!(group.entries_read, None);
        assert_eq!(group.pel[&StreamId::new(100, 4)].delivery_count, 2);
        assert_eq!(group.consumers[&b"c"[..]].seen_time, 77);
        // A last ID below the newest entry is refused (XADD * would reuse
        // IDs).
        let mut behind = stream.clone();
        behind.last_id = StreamId::new(100, 7);
        let refused = read_stream_bytes(&stream_bytes(&behind));
        assert!(refused.is_err_and(|e| e.message.contains("last ID")));
        // Damage anywhere is an error, never a panic.
        for cut in 0..bytes.len() {
            assert!(read_stream_bytes(&bytes[..cut]).is_err());
        }
        for at in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x41;
            let _ = read_stream_bytes(&flipped);
        }
    }

    #[test]
    fn integer_strings_only_when_canonical() {
        assert_eq!(small_integer(b"123"), Some(123));
        assert_eq!(small_integer(b"-2147483648"), Some(i32::MIN));
        for text in [&b"0123"[..], b"+1", b"-0", b"", b"2147483648", b" 1", b"1 "] {
            assert_eq!(small_integer(text), None, "{text:?}");
        }
        assert_eq!(small_integer(b"0"), Some(0));
    }
}
