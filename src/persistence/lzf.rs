//! LZF, for the compressed strings of an RDB file (Redis compresses
//! strings longer than 20 bytes when `rdbcompression` is on; so does
//! respd).
//!
//! The format is a sequence of runs, each opened by a control byte:
//! `000lllll` copies the next `l + 1` bytes as they are; `lllooooo`
//! (with `lll` > 0; `lll == 7` adds a length byte) copies `lll + 2` bytes
//! from `ooooo` and one more offset byte back in the output.

/// Decompresses `input` into exactly `expected_len` bytes; `None` if the
/// data is not valid LZF or does not have that length.
pub fn decompress(input: &[u8], expected_len: usize) -> Option<Vec<u8>> {
    // One 3-byte back reference copies at most 264 bytes: a length beyond
    // that ratio is a lie (and must not be allocated up front).
    if expected_len > input.len().saturating_mul(88) {
        return None;
    }
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

/// Compresses `input` (liblzf's scheme: a hash of the next three bytes
/// finds an earlier occurrence within 8 KB); `None` unless the result is
/// shorter than `limit` bytes.
pub fn compress(input: &[u8], limit: usize) -> Option<Vec<u8>> {
    const HASH_BITS: u32 = 14;
    const MAX_LITERAL: usize = 32;
    const MAX_OFFSET: usize = 1 << 13;
    const MAX_MATCH: usize = (1 << 8) + (1 << 3);
    let hash = |at: usize| {
        let word =
            u32::from(input[at]) << 16 | u32::from(input[at + 1]) << 8 | u32::from(input[at + 2]);
        (word.wrapping_mul(2_654_435_761) >> (32 - HASH_BITS)) as usize
    };
    let mut out = Vec::with_capacity(limit);
    // Where each hash was last seen, plus one (0: never).
    let mut seen = vec![0usize; 1 << HASH_BITS];
    let mut literal_from = 0;
    let mut at = 0;
    while at + 2 < input.len() {
        let slot = hash(at);
        let candidate = seen[slot].checked_sub(1);
        seen[slot] = at + 1;
        let Some(from) = candidate
            .filter(|&from| at - from <= MAX_OFFSET && input[from..from + 3] == input[at..at + 3])
        else {
            at += 1;
            continue;
        };
        let longest = (input.len() - at).min(MAX_MATCH);
        let mut len = 3;
        while len < longest && input[from + len] == input[at + len] {
            len += 1;
        }
        push_literals(&mut out, &input[literal_from..at], MAX_LITERAL);
        let offset = at - from - 1;
        let short_len = len - 2;
        if short_len < 7 {
            out.push((short_len << 5 | offset >> 8) as u8);
        } else {
            out.push((7 << 5 | offset >> 8) as u8);
            out.push((short_len - 7) as u8);
        }
        out.push(offset as u8);
        if out.len() >= limit {
            return None;
        }
        at += len;
        literal_from = at;
    }
    push_literals(&mut out, &input[literal_from..], MAX_LITERAL);
    (out.len() < limit).then_some(out)
}

/// Literal runs of at most `max` bytes, each after its length byte.
fn push_literals(out: &mut Vec<u8>, bytes: &[u8], max: usize) {
    for run in bytes.chunks(max) {
        out.push((run.len() - 1) as u8);
        out.extend_from_slice(run);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn compressed_data_decompresses_to_the_input() {
        let mut samples: Vec<Vec<u8>> = vec![
            b"abcabcabcabcabcabcabcabcabcabc".to_vec(),
            vec![b'x'; 10_000],
            (0..20_000u32).map(|i| (i % 251) as u8).collect(),
            (0..5_000u32)
                .flat_map(|i| (i * 7919 % 1000).to_string().into_bytes())
                .collect(),
        ];
        samples.push(samples[3].repeat(3));
        for sample in &samples {
            let packed = super::compress(sample, sample.len()).unwrap();
            assert!(packed.len() < sample.len());
            assert_eq!(super::decompress(&packed, sample.len()).unwrap(), *sample);
        }
        // Incompressible: no result.
        let noise: Vec<u8> = (0..64u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert_eq!(super::compress(&noise, noise.len() - 4), None);
    }

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
