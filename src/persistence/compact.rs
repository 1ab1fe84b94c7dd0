//! Readers for the compact encodings Redis keeps small values in, which
//! its RDB files store as one blob: ziplist (lists, hashes, sorted sets
//! before 7.0), listpack (7.0), intset (sets of integers) and zipmap
//! (hashes before 2.6). Each returns the entries in order, integers as
//! their decimal text, or a message saying what is wrong. respd only reads
//! these for the plain types; streams, which have no plain encoding, are
//! written as listpacks too ([`ListpackWriter`]).

/// The entries of a blob, or what is wrong with it.
pub type Entries = Result<Vec<Vec<u8>>, String>;

/// A cursor over a blob that never reads past its end.
struct Blob<'a> {
    data: &'a [u8],
    at: usize,
    what: &'static str,
}

impl<'a> Blob<'a> {
    fn new(data: &'a [u8], what: &'static str) -> Self {
        Blob { data, at: 0, what }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&end| end <= self.data.len());
        let Some(end) = end else {
            return Err(format!("{} entry runs past its end", self.what));
        };
        let bytes = &self.data[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    /// A little-endian signed integer of `n` bytes (1 to 8).
    fn int_le(&mut self, n: usize) -> Result<i64, String> {
        let bytes = self.take(n)?;
        let mut word = [0u8; 8];
        word[..n].copy_from_slice(bytes);
        // Shift up and back down to extend the sign.
        let shift = 64 - 8 * n as u32;
        Ok((i64::from_le_bytes(word) << shift) >> shift)
    }

    fn uint_le(&mut self, n: usize) -> Result<u64, String> {
        let bytes = self.take(n)?;
        let mut word = [0u8; 8];
        word[..n].copy_from_slice(bytes);
        Ok(u64::from_le_bytes(word))
    }

    fn bad(&self, why: &str) -> String {
        format!("{} {why} at byte {}", self.what, self.at)
    }
}

fn text(n: i64) -> Vec<u8> {
    n.to_string().into_bytes()
}

/// Ziplist: `zlbytes u32, zltail u32, zllen u16`, then entries of
/// `prevlen, encoding, data`, then 0xff.
pub fn ziplist(data: &[u8]) -> Entries {
    let mut blob = Blob::new(data, "ziplist");
    let total = blob.uint_le(4)? as usize;
    if total != data.len() {
        return Err(blob.bad("size header does not match the blob"));
    }
    blob.take(4 + 2)?;
    let mut entries = Vec::new();
    loop {
        let prevlen = blob.byte()?;
        if prevlen == 0xff {
            break;
        }
        if prevlen == 0xfe {
            blob.take(4)?;
        }
        let encoding = blob.byte()?;
        let entry = match encoding >> 6 {
            0 => blob.take(usize::from(encoding & 0x3f))?.to_vec(),
            1 => {
                let len = (usize::from(encoding & 0x3f) << 8) | usize::from(blob.byte()?);
                blob.take(len)?.to_vec()
            }
            2 => {
                let len =
                    u32::from_be_bytes([blob.byte()?, blob.byte()?, blob.byte()?, blob.byte()?]);
                blob.take(len as usize)?.to_vec()
            }
            _ => match encoding {
                0xc0 => text(blob.int_le(2)?),
                0xd0 => text(blob.int_le(4)?),
                0xe0 => text(blob.int_le(8)?),
                0xf0 => text(blob.int_le(3)?),
                0xfe => text(blob.int_le(1)?),
                0xf1..=0xfd => text(i64::from(encoding & 0x0f) - 1),
                _ => return Err(blob.bad("has an unknown encoding")),
            },
        };
        entries.push(entry);
    }
    if blob.at != data.len() {
        return Err(blob.bad("has bytes after its end marker"));
    }
    Ok(entries)
}

/// A listpack element: Redis stores integer-looking strings as integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Item<'_> {
    /// The element as text, as Redis gives it back.
    pub fn to_vec(self) -> Vec<u8> {
        match self {
            Item::Int(n) => text(n),
            Item::Str(bytes) => bytes.to_vec(),
        }
    }
}

/// Listpack: `total bytes u32, count u16`, then entries of `encoding,
/// data, backlen`, then 0xff.
pub fn listpack(data: &[u8]) -> Entries {
    Ok(listpack_items(data)?
        .into_iter()
        .map(Item::to_vec)
        .collect())
}

/// The elements of a listpack, integers kept as integers.
pub fn listpack_items(data: &[u8]) -> Result<Vec<Item<'_>>, String> {
    let mut blob = Blob::new(data, "listpack");
    let total = blob.uint_le(4)? as usize;
    if total != data.len() {
        return Err(blob.bad("size header does not match the blob"));
    }
    blob.take(2)?;
    let mut items = Vec::new();
    loop {
        let start = blob.at;
        let encoding = blob.byte()?;
        let item = if encoding == 0xff {
            break;
        } else if encoding < 0x80 {
            Item::Int(i64::from(encoding))
        } else if encoding >> 6 == 0b10 {
            Item::Str(blob.take(usize::from(encoding & 0x3f))?)
        } else if encoding >> 5 == 0b110 {
            let raw = (i64::from(encoding & 0x1f) << 8) | i64::from(blob.byte()?);
            // 13-bit two's complement.
            Item::Int(if raw >= 1 << 12 { raw - (1 << 13) } else { raw })
        } else if encoding >> 4 == 0b1110 {
            let len = (usize::from(encoding & 0x0f) << 8) | usize::from(blob.byte()?);
            Item::Str(blob.take(len)?)
        } else {
            match encoding {
                0xf0 => {
                    let len = blob.uint_le(4)? as usize;
                    Item::Str(blob.take(len)?)
                }
                0xf1 => Item::Int(blob.int_le(2)?),
                0xf2 => Item::Int(blob.int_le(3)?),
                0xf3 => Item::Int(blob.int_le(4)?),
                0xf4 => Item::Int(blob.int_le(8)?),
                _ => return Err(blob.bad("has an unknown encoding")),
            }
        };
        blob.take(backlen_size(blob.at - start))?;
        items.push(item);
    }
    if blob.at != data.len() {
        return Err(blob.bad("has bytes after its end marker"));
    }
    Ok(items)
}

/// Bytes of the back-length after an entry of `size` bytes: the size, 7
/// bits per byte (Redis's `lpEncodeBacklen`).
fn backlen_size(size: usize) -> usize {
    match size {
        0..=127 => 1,
        128..=16_382 => 2,
        16_383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    }
}

/// A listpack being built the way Redis's `lpAppend` lays one out.
pub struct ListpackWriter {
    bytes: Vec<u8>,
    count: usize,
}

impl Default for ListpackWriter {
    fn default() -> Self {
        ListpackWriter {
            bytes: vec![0; 6],
            count: 0,
        }
    }
}

impl ListpackWriter {
    /// An integer, in the smallest encoding that holds it.
    pub fn int(&mut self, n: i64) {
        let start = self.bytes.len();
        match n {
            0..=127 => self.bytes.push(n as u8),
            -4096..=4095 => {
                let raw = if n < 0 { (1 << 13) + n } else { n } as u16;
                self.bytes.extend([0xc0 | (raw >> 8) as u8, raw as u8]);
            }
            _ => {
                let (marker, width) = match n {
                    -32_768..=32_767 => (0xf1, 2),
                    -8_388_608..=8_388_607 => (0xf2, 3),
                    -2_147_483_648..=2_147_483_647 => (0xf3, 4),
                    _ => (0xf4, 8),
                };
                self.bytes.push(marker);
                self.bytes.extend_from_slice(&n.to_le_bytes()[..width]);
            }
        }
        self.end_entry(start);
    }

    /// A string; the canonical text of an i64 is stored as the integer,
    /// as Redis does.
    pub fn string(&mut self, s: &[u8]) {
        if let Some(n) = crate::util::parse_i64(s) {
            return self.int(n);
        }
        let start = self.bytes.len();
        let len = s.len();
        if len < 64 {
            self.bytes.push(0x80 | len as u8);
        } else if len < 4096 {
            self.bytes.extend([0xe0 | (len >> 8) as u8, len as u8]);
        } else {
            self.bytes.push(0xf0);
            self.bytes.extend_from_slice(&(len as u32).to_le_bytes());
        }
        self.bytes.extend_from_slice(s);
        self.end_entry(start);
    }

    fn end_entry(&mut self, start: usize) {
        let size = (self.bytes.len() - start) as u64;
        let groups = backlen_size(size as usize);
        // Most significant group first; every byte but the first has the
        // high bit set.
        for i in (0..groups).rev() {
            let group = ((size >> (7 * i)) & 127) as u8;
            self.bytes
                .push(if i == groups - 1 { group } else { group | 128 });
        }
        self.count += 1;
    }

    /// The finished listpack, or None past the format's 4 GB.
    pub fn finish(mut self) -> Option<Vec<u8>> {
        self.bytes.push(0xff);
        let total = u32::try_from(self.bytes.len()).ok()?;
        self.bytes[..4].copy_from_slice(&total.to_le_bytes());
        let count = u16::try_from(self.count).unwrap_or(u16::MAX);
        self.bytes[4..6].copy_from_slice(&count.to_le_bytes());
        Some(self.bytes)
    }
}

/// Intset: `encoding u32` (2, 4 or 8 bytes per member), `length u32`,
/// then the members, little-endian and sorted.
pub fn intset(data: &[u8]) -> Entries {
    let mut blob = Blob::new(data, "intset");
    let width = blob.uint_le(4)? as usize;
    if !matches!(width, 2 | 4 | 8) {
        return Err(blob.bad("has an unknown encoding"));
    }
    let count = blob.uint_le(4)? as usize;
    if count.checked_mul(width) != Some(data.len() - 8) {
        return Err(blob.bad("length does not match the blob"));
    }
    (0..count).map(|_| Ok(text(blob.int_le(width)?))).collect()
}

/// Zipmap: a count byte, then `len key len free value [free bytes]`
/// pairs, then 0xff. Lengths are one byte, or 254 and four more.
pub fn zipmap(data: &[u8]) -> Entries {
    let mut blob = Blob::new(data, "zipmap");
    blob.byte()?;
    let mut entries = Vec::new();
    loop {
        let len = match blob.byte()? {
            0xff => break,
            254 => blob.uint_le(4)? as usize,
            n => usize::from(n),
        };
        entries.push(blob.take(len)?.to_vec());
        if entries.len() % 2 == 0 {
            continue;
        }
        let len = match blob.byte()? {
            0xff => return Err(blob.bad("ends after a key")),
            254 => blob.uint_le(4)? as usize,
            n => usize::from(n),
        };
        let free = usize::from(blob.byte()?);
        entries.push(blob.take(len)?.to_vec());
        blob.take(free)?;
    }
    if blob.at != data.len() {
        return Err(blob.bad("has bytes after its end marker"));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(entries: &[&str]) -> Vec<Vec<u8>> {
        entries.iter().map(|e| e.as_bytes().to_vec()).collect()
    }

    #[test]
    fn listpack_strings_and_integers() {
        // "a", 5 (7-bit), -2 (13-bit), 300 (int16).
        let mut body = vec![0x81, b'a', 2, 5, 1];
        body.extend_from_slice(&[0xdf, 0xfe, 2]);
        body.extend_from_slice(&[0xf1, 0x2c, 0x01, 3]);
        body.push(0xff);
        let mut data = ((body.len() + 6) as u32).to_le_bytes().to_vec();
        data.extend_from_slice(&4u16.to_le_bytes());
        data.extend_from_slice(&body);
        assert_eq!(listpack(&data).unwrap(), strings(&["a", "5", "-2", "300"]));
        assert!(listpack(&data[..data.len() - 1]).is_err());
    }

    #[test]
    fn intset_and_bad_lengths() {
        let mut data = 2u32.to_le_bytes().to_vec();
        data.extend_from_slice(&2u32.to_le_bytes());
        data.extend_from_slice(&(-5i16).to_le_bytes());
        data.extend_from_slice(&7i16.to_le_bytes());
        assert_eq!(intset(&data).unwrap(), strings(&["-5", "7"]));
        assert!(intset(&data[..10]).is_err());
        assert!(ziplist(&[1, 2, 3]).is_err());
        assert!(zipmap(&[1, 3, b'a']).is_err());
    }
}
