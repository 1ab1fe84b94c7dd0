//! Readers for the compact encodings Redis keeps small values in, which
//! its RDB files store as one blob: ziplist (lists, hashes, sorted sets
//! before 7.0), listpack (7.0), intset (sets of integers) and zipmap
//! (hashes before 2.6). Each returns the entries in order, integers as
//! their decimal text, or a message saying what is wrong. respd only reads
//! these; it writes the plain encodings.

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

/// Listpack: `total bytes u32, count u16`, then entries of `encoding,
/// data, backlen`, then 0xff.
pub fn listpack(data: &[u8]) -> Entries {
    let mut blob = Blob::new(data, "listpack");
    let total = blob.uint_le(4)? as usize;
    if total != data.len() {
        return Err(blob.bad("size header does not match the blob"));
    }
    blob.take(2)?;
    let mut entries = Vec::new();
    loop {
        let start = blob.at;
        let encoding = blob.byte()?;
        let entry = if encoding == 0xff {
            break;
        } else if encoding < 0x80 {
            text(i64::from(encoding))
        } else if encoding >> 6 == 0b10 {
            blob.take(usize::from(encoding & 0x3f))?.to_vec()
        } else if encoding >> 5 == 0b110 {
            let raw = (i64::from(encoding & 0x1f) << 8) | i64::from(blob.byte()?);
            // 13-bit two's complement.
            text(if raw >= 1 << 12 { raw - (1 << 13) } else { raw })
        } else if encoding >> 4 == 0b1110 {
            let len = (usize::from(encoding & 0x0f) << 8) | usize::from(blob.byte()?);
            blob.take(len)?.to_vec()
        } else {
            match encoding {
                0xf0 => {
                    let len = blob.uint_le(4)? as usize;
                    blob.take(len)?.to_vec()
                }
                0xf1 => text(blob.int_le(2)?),
                0xf2 => text(blob.int_le(3)?),
                0xf3 => text(blob.int_le(4)?),
                0xf4 => text(blob.int_le(8)?),
                _ => return Err(blob.bad("has an unknown encoding")),
            }
        };
        // The back-length: the entry's size, 7 bits per byte.
        let size = blob.at - start;
        let backlen_bytes = match size {
            0..=127 => 1,
            128..=16_383 => 2,
            16_384..=2_097_151 => 3,
            2_097_152..=268_435_455 => 4,
            _ => 5,
        };
        blob.take(backlen_bytes)?;
        entries.push(entry);
    }
    if blob.at != data.len() {
        return Err(blob.bad("has bytes after its end marker"));
    }
    Ok(entries)
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
