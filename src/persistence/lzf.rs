//! LZF decompression, for the compressed strings of an RDB file (Redis
//! compresses strings longer than 20 bytes when `rdbcompression` is on).
//!
//! The format is a sequence of runs, each opened by a control byte:
//! `000lllll` copies the next `l + 1` bytes as they are; `lllooooo`
//! (with `lll` > 0; `lll == 7` adds a length byte) copies `lll + 2` bytes
//! from `ooooo` and one more offset byte back in the output.

/// Decompresses `input` into exactly `expected_len` bytes; `None` if the
/// data is not valid LZF or does not have that length.
pub fn decompress(input: &[u8], expected_len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(expected_len);
    let mut at = 0;
    while at < input.len() {
        let control = usize::from(input[at]);
        at += 1;
        if control < 32 {
            let run = input.get(at..at + control + 1)?;
            out.extend_from_slice(run);
            at += control + 1;
        } else {
            let mut len = control >> 5;
            if len == 7 {
                len += usize::from(*input.get(at)?);
                at += 1;
            }
            let back = ((control & 0x1f) << 8) + usize::from(*input.get(at)?) + 1;
            at += 1;
            let start = out.len().checked_sub(back)?;
            // The source may overlap what is being written: byte by byte.
            for i in 0..len + 2 {
                let byte = out[start + i];
                out.push(byte);
            }
        }
        if out.len() > expected_len {
            return None;
        }
    }
    (out.len() == expected_len).then_some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn literal_and_back_reference_runs() {
        // "abc" literally, then 6 bytes from 3 back: "abcabcabc".
        let data = [2, b'a', b'b', b'c', (4 << 5), 2];
        assert_eq!(super::decompress(&data, 9).unwrap(), b"abcabcabc");
        assert_eq!(super::decompress(&data, 8), None);
        assert_eq!(super::decompress(&[(1 << 5), 9], 3), None);
        assert_eq!(super::decompress(&[5, b'a'], 6), None);
    }
}
