//! HyperLogLog, byte for byte as Redis 7.0 stores it in a string value, so
//! an HLL moves between respd and Redis (RDB, DUMP, replication) unchanged.
//!
//! The layout: a 16-byte header (`HYLL`, the encoding byte, three zero
//! bytes, the cached cardinality in 8 little-endian bytes whose top bit
//! marks it stale), then the 16384 registers, either
//! * dense: 6 bits each, packed from the least significant bit of each
//!   byte upwards (12288 bytes), or
//! * sparse: a run-length code of opcodes, `00xxxxxx` ZERO (1..64 zero
//!   registers), `01xxxxxx yyyyyyyy` XZERO (1..16384 zero registers) and
//!   `1vvvvvxx` VAL (1..4 registers holding 1..32).
//!
//! A sparse HLL turns dense when a register needs a value above 32 or the
//! string would grow past `hll-sparse-max-bytes`. The estimator is the one
//! of Redis 7.0 (Ertl's "new" estimator, with its sigma and tau series).

/// The header's length.
pub const HEADER_LEN: usize = 16;
/// Index bits of the hash: 2^14 registers.
const P: u32 = 14;
/// Hash bits left for the run of zeroes.
const Q: u32 = 64 - P;
/// How many registers an HLL has.
pub const REGISTERS: usize = 1 << P;
const REGISTER_MAX: u8 = 63;
/// A dense HLL's whole length.
pub const DENSE_LEN: usize = HEADER_LEN + (REGISTERS * 6).div_ceil(8);
const DENSE: u8 = 0;
const SPARSE: u8 = 1;
/// The highest value a sparse VAL opcode holds.
const SPARSE_VAL_MAX: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
const SPARSE_XZERO_MAX_LEN: usize = 16384;
/// 0.5 / ln(2), the estimator's constant for an infinite number of registers.
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;
/// The seed Redis hashes elements with.
const SEED: u64 = 0xadc8_3b19;

/// A sparse HLL whose opcodes do not add up to 16384 registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// The two encodings a stored HLL has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Dense,
    Sparse,
}

/// What Redis's `isHLLObjectOrReply` accepts: the magic, a known encoding,
/// and the exact length for a dense one. The opcodes are checked later.
pub fn is_hll(bytes: &[u8]) -> bool {
    bytes.len() >= HEADER_LEN
        && &bytes[..4] == b"HYLL"
        && bytes[4] <= SPARSE
        && (bytes[4] != DENSE || bytes.len() == DENSE_LEN)
}

/// The encoding of a string [`is_hll`] accepted.
pub fn encoding(hll: &[u8]) -> Encoding {
    if hll[4] == DENSE {
        Encoding::Dense
    } else {
        Encoding::Sparse
    }
}

/// An empty HLL: sparse, one XZERO covering every register, cached
/// cardinality 0.
pub fn new_sparse() -> Vec<u8> {
    let mut hll = vec![0u8; HEADER_LEN];
    hll[..4].copy_from_slice(b"HYLL");
    hll[4] = SPARSE;
    let mut left = REGISTERS;
    while left > 0 {
        let run = left.min(SPARSE_XZERO_MAX_LEN);
        push_xzero(&mut hll, run);
        left -= run;
    }
    hll
}

/// The cached cardinality, unless it is marked stale.
pub fn cached_count(hll: &[u8]) -> Option<u64> {
    let card: [u8; 8] = hll[8..16].try_into().ok()?;
    (card[7] & 0x80 == 0).then(|| u64::from_le_bytes(card))
}

/// Stores `count` as the cached cardinality (valid).
pub fn set_cached_count(hll: &mut [u8], count: u64) {
    hll[8..16].copy_from_slice(&count.to_le_bytes());
}

/// Marks the cached cardinality stale.
pub fn invalidate_cache(hll: &mut [u8]) {
    hll[15] |= 0x80;
}

/// MurmurHash64A, as Redis has it (endian-neutral: words read little-endian).
pub fn murmur_hash64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let mut words = key.chunks_exact(8);
    for word in &mut words {
        let mut k = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        for (i, &byte) in tail.iter().enumerate() {
            h ^= u64::from(byte) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element falls in and the length of its hash's
/// `000..1` pattern (1..=51): Redis's `hllPatLen`.
pub fn pattern(element: &[u8]) -> (usize, u8) {
    let hash = murmur_hash64a(element, SEED);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    // The sentinel bit ends the run at Q + 1 at most.
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

// ---- Dense registers -----------------------------------------------------

/// Register `index` of packed 6-bit `registers`. The last register's
/// second byte lies past the end (Redis reads the string's terminating
/// zero there).
pub fn dense_get(registers: &[u8], index: usize) -> u8 {
    let byte = index * 6 / 8;
    let shift = (index * 6) & 7;
    let b0 = u16::from(registers[byte]);
    let b1 = u16::from(registers.get(byte + 1).copied().unwrap_or(0));
    (((b0 >> shift) | (b1 << (8 - shift))) & u16::from(REGISTER_MAX)) as u8
}

/// Sets register `index` to `value` (0..=63).
pub fn dense_put(registers: &mut [u8], index: usize, value: u8) {
    let byte = index * 6 / 8;
    let shift = (index * 6) & 7;
    let value = u16::from(value);
    let max = u16::from(REGISTER_MAX);
    registers[byte] = ((u16::from(registers[byte]) & !(max << shift)) | (value << shift)) as u8;
    if let Some(next) = registers.get_mut(byte + 1) {
        let spill = 8 - shift;
        *next = ((u16::from(*next) & !(max >> spill)) | (value >> spill)) as u8;
    }
}

/// Raises register `index` to `count` if it is lower; true if it was.
fn dense_raise(registers: &mut [u8], index: usize, count: u8) -> bool {
    if count > dense_get(registers, index) {
        dense_put(registers, index, count);
        true
    } else {
        false
    }
}

// ---- Sparse opcodes ------------------------------------------------------

/// One sparse opcode: its kind, the registers it covers, its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Zero(usize),
    XZero(usize),
    Val(u8, usize),
}

impl Op {
    /// The opcode at `at` (an XZERO cut short reads a zero second byte,
    /// as Redis reads the string's terminator).
    fn at(bytes: &[u8], at: usize) -> Op {
        let op = bytes[at];
        if op & 0xc0 == 0 {
            Op::Zero(usize::from(op & 0x3f) + 1)
        } else if op & 0x80 == 0 {
            let low = bytes.get(at + 1).copied().unwrap_or(0);
            Op::XZero(((usize::from(op & 0x3f) << 8) | usize::from(low)) + 1)
        } else {
            Op::Val(((op >> 2) & 0x1f) + 1, usize::from(op & 3) + 1)
        }
    }

    fn span(self) -> usize {
        match self {
            Op::Zero(n) | Op::XZero(n) | Op::Val(_, n) => n,
        }
    }

    fn len(self) -> usize {
        if matches!(self, Op::XZero(_)) {
            2
        } else {
            1
        }
    }
}

fn val_byte(value: u8, run: usize) -> u8 {
    0x80 | ((value - 1) << 2) | (run - 1) as u8
}

fn push_zero_run(out: &mut Vec<u8>, run: usize) {
    if run > SPARSE_ZERO_MAX_LEN {
        push_xzero(out, run);
    } else {
        out.push((run - 1) as u8);
    }
}

fn push_xzero(out: &mut Vec<u8>, run: usize) {
    let run = run - 1;
    out.push((run >> 8) as u8 | 0x40);
    out.push((run & 0xff) as u8);
}

/// Walks the sparse opcodes of `hll`, calling `visit(first register, op)`;
/// Corrupt if they overrun or do not cover every register.
fn walk_sparse(hll: &[u8], mut visit: impl FnMut(usize, Op)) -> Result<(), Corrupt> {
    let mut at = HEADER_LEN;
    let mut index = 0;
    while at < hll.len() {
        let op = Op::at(hll, at);
        if index + op.span() > REGISTERS {
            return Err(Corrupt);
        }
        visit(index, op);
        index += op.span();
        at += op.len();
    }
    if index == REGISTERS {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

/// Turns a sparse HLL dense (the header, cached cardinality included, is
/// kept); Ok(false) if it already was.
pub fn to_dense(hll: &mut Vec<u8>) -> Result<bool, Corrupt> {
    if hll[4] == DENSE {
        return Ok(false);
    }
    let mut dense = vec![0u8; DENSE_LEN];
    dense[..HEADER_LEN].copy_from_slice(&hll[..HEADER_LEN]);
    dense[4] = DENSE;
    let registers = &mut dense[HEADER_LEN..];
    walk_sparse(hll, |first, op| {
        if let Op::Val(value, run) = op {
            for index in first..first + run {
                dense_put(registers, index, value);
            }
        }
    })?;
    *hll = dense;
    Ok(true)
}

/// Raises register `index` of a sparse HLL to `count` if lower, splitting
/// and merging opcodes as Redis's `hllSparseSet` does, byte for byte; the
/// HLL turns dense if needed. Ok(true) if the register changed.
fn sparse_raise(
    hll: &mut Vec<u8>,
    index: usize,
    count: u8,
    max_bytes: usize,
) -> Result<bool, Corrupt> {
    if count > SPARSE_VAL_MAX {
        return promote(hll, index, count);
    }
    // Step 1: find the opcode covering `index`.
    let mut at = HEADER_LEN;
    let mut first = 0;
    let mut prev = None;
    let mut op = None;
    while at < hll.len() {
        let here = Op::at(hll, at);
        if index < first + here.span() {
            op = Some(here);
            break;
        }
        prev = Some(at);
        at += here.len();
        first += here.span();
    }
    let op = op.ok_or(Corrupt)?;
    let last = first + op.span() - 1;

    // Step 2: the cases that change the opcode in place.
    match op {
        Op::Val(old, _) if old >= count => return Ok(false),
        Op::Val(_, 1) | Op::Zero(1) => {
            hll[at] = val_byte(count, 1);
            merge_vals(hll, prev.unwrap_or(HEADER_LEN));
            invalidate_cache(hll);
            return Ok(true);
        }
        _ => {}
    }
    // Otherwise split it in up to three opcodes around `index`.
    let mut seq = Vec::with_capacity(5);
    match op {
        Op::Val(old, _) => {
            if index != first {
                seq.push(val_byte(old, index - first));
            }
            seq.push(val_byte(count, 1));
            if index != last {
                seq.push(val_byte(old, last - index));
            }
        }
        Op::Zero(_) | Op::XZero(_) => {
            if index != first {
                push_zero_run(&mut seq, index - first);
            }
            seq.push(val_byte(count, 1));
            if index != last {
                push_zero_run(&mut seq, last - index);
            }
        }
    }
    // Step 3: put the sequence in place of the opcode, unless the string
    // would grow too long.
    let grows = seq.len() > op.len();
    if grows && hll.len() + seq.len() - op.len() > max_bytes {
        return promote(hll, index, count);
    }
    // An XZERO cut short by the end of the string: Redis's length
    // arithmetic then drops the sequence's last byte; so does this.
    let new_len = hll.len() + seq.len() - op.len();
    let old_end = (at + op.len()).min(hll.len());
    hll.splice(at..old_end, seq);
    hll.truncate(new_len);
    merge_vals(hll, prev.unwrap_or(HEADER_LEN));
    invalidate_cache(hll);
    Ok(true)
}

/// Step 4 of Redis's sparse update: from `start`, over up to five opcodes,
/// merges adjacent VALs of equal value whose runs fit one opcode.
fn merge_vals(hll: &mut Vec<u8>, start: usize) {
    let mut at = start;
    let mut budget = 5;
    while at < hll.len() && budget > 0 {
        budget -= 1;
        match Op::at(hll, at) {
            Op::XZero(_) => at += 2,
            Op::Zero(_) => at += 1,
            Op::Val(value, run) => {
                if let Some(&next) = hll.get(at + 1) {
                    if let Op::Val(next_value, next_run) = Op::at(hll, at + 1) {
                        if next & 0x80 != 0
                            && next_value == value
                            && run + next_run <= SPARSE_VAL_MAX_LEN
                        {
                            hll[at + 1] = val_byte(value, run + next_run);
                            hll.remove(at);
                            // Try again from here: the merged opcode may
                            // merge with the next one.
                            continue;
                        }
                    }
                }
                at += 1;
            }
        }
    }
}

/// Turns the HLL dense and sets the register there (it always changes:
/// only an update promotes).
fn promote(hll: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    to_dense(hll)?;
    dense_raise(&mut hll[HEADER_LEN..], index, count);
    Ok(true)
}

/// Raises register `index` to `count` in either encoding; Ok(true) if the
/// register changed (the cached cardinality is then stale).
pub fn raise(
    hll: &mut Vec<u8>,
    index: usize,
    count: u8,
    max_bytes: usize,
) -> Result<bool, Corrupt> {
    if hll[4] == DENSE {
        Ok(dense_raise(&mut hll[HEADER_LEN..], index, count))
    } else {
        sparse_raise(hll, index, count, max_bytes)
    }
}

/// Adds an element (PFADD): Ok(true) if a register changed.
pub fn add(hll: &mut Vec<u8>, element: &[u8], max_bytes: usize) -> Result<bool, Corrupt> {
    let (index, count) = pattern(element);
    raise(hll, index, count, max_bytes)
}

/// Raises `max[i]` to register i of `hll` (PFMERGE, multi-key PFCOUNT).
pub fn merge_into(max: &mut [u8], hll: &[u8]) -> Result<(), Corrupt> {
    if hll[4] == DENSE {
        let registers = &hll[HEADER_LEN..];
        for (index, slot) in max.iter_mut().enumerate().take(REGISTERS) {
            *slot = (*slot).max(dense_get(registers, index));
        }
        return Ok(());
    }
    walk_sparse(hll, |first, op| {
        if let Op::Val(value, run) = op {
            for slot in &mut max[first..first + run] {
                *slot = (*slot).max(value);
            }
        }
    })
}

/// The estimated cardinality of an HLL (dense or sparse).
pub fn count(hll: &[u8]) -> Result<u64, Corrupt> {
    let mut histogram = [0u32; 64];
    if hll[4] == DENSE {
        let registers = &hll[HEADER_LEN..];
        for index in 0..REGISTERS {
            histogram[usize::from(dense_get(registers, index))] += 1;
        }
    } else {
        walk_sparse(hll, |_, op| match op {
            Op::Zero(run) | Op::XZero(run) => histogram[0] += run as u32,
            Op::Val(value, run) => histogram[usize::from(value)] += run as u32,
        })?;
    }
    Ok(estimate(&histogram))
}

/// The estimated cardinality of plain registers, one byte each.
pub fn count_registers(registers: &[u8]) -> u64 {
    let mut histogram = [0u32; 64];
    for &value in registers {
        histogram[usize::from(value & 63)] += 1;
    }
    estimate(&histogram)
}

/// Ertl's improved estimator over the histogram of register values, as
/// Redis 7.0's `hllCount`.
fn estimate(histogram: &[u32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - f64::from(histogram[Q as usize + 1])) / m);
    for j in (1..=Q as usize).rev() {
        z += f64::from(histogram[j]);
        z *= 0.5;
    }
    z += m * sigma(f64::from(histogram[0]) / m);
    (ALPHA_INF * m * m / z).round() as u64
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if before == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        // Redis's pow(1 - x, 2), which the compiler makes a product.
        z -= (1.0 - x) * (1.0 - x) * y;
        if before == z {
            return z / 3.0;
        }
    }
}

/// Every register of a dense HLL (PFDEBUG GETREG).
pub fn dense_registers(hll: &[u8]) -> Vec<u8> {
    let registers = &hll[HEADER_LEN..];
    (0..REGISTERS).map(|i| dense_get(registers, i)).collect()
}

/// The sparse opcodes in words (PFDEBUG DECODE): `z:len`, `Z:len`,
/// `v:value,len`.
pub fn decode_sparse(hll: &[u8]) -> String {
    let mut words = Vec::new();
    let mut at = HEADER_LEN;
    while at < hll.len() {
        let op = Op::at(hll, at);
        words.push(match op {
            Op::Zero(run) => format!("z:{run}"),
            Op::XZero(run) => format!("Z:{run}"),
            Op::Val(value, run) => format!("v:{value},{run}"),
        });
        at += op.len();
    }
    words.join(" ")
}

/// PFSELFTEST: register packing, and the estimate against known
/// cardinalities in both encodings; the error text is Redis's.
pub fn self_test(max_bytes: usize, seed: u64) -> Result<(), String> {
    let mut rng = seed | 1;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    // Test 1: every register keeps its value and leaves its neighbours be.
    let mut registers = vec![0u8; DENSE_LEN - HEADER_LEN];
    let mut expected = vec![0u8; REGISTERS];
    for _ in 0..1000 {
        for (index, slot) in expected.iter_mut().enumerate() {
            *slot = (next() & 63) as u8;
            dense_put(&mut registers, index, *slot);
        }
        for (index, &want) in expected.iter().enumerate() {
            let got = dense_get(&registers, index);
            if got != want {
                return Err(format!(
                    "TESTFAILED Register {index} should be {want} but is {got}"
                ));
            }
        }
    }
    // Test 2: the error stays within bounds, and sparse agrees with dense.
    let mut dense = new_sparse();
    to_dense(&mut dense).map_err(|_| "TESTFAILED dense/sparse disagree".to_string())?;
    let mut sparse = new_sparse();
    let relative_error = 1.04 / (REGISTERS as f64).sqrt();
    let mut checkpoint: u64 = 1;
    let seed = next();
    for j in 1..=10_000_000u64 {
        let element = (j ^ seed).to_le_bytes();
        let (index, run) = pattern(&element);
        dense_raise(&mut dense[HEADER_LEN..], index, run);
        let _ = raise(&mut sparse, index, run, max_bytes);
        if j != checkpoint {
            continue;
        }
        if (j as usize) < max_bytes / 2 && sparse[4] != SPARSE {
            return Err("TESTFAILED sparse encoding not used".into());
        }
        let estimate = count(&dense).unwrap_or(0);
        if count(&sparse).ok() != Some(estimate) {
            return Err("TESTFAILED dense/sparse disagree".into());
        }
        let error = checkpoint.abs_diff(estimate);
        let mut max_error = (relative_error * 6.0 * checkpoint as f64).ceil() as u64;
        if j == 10 {
            max_error = 1;
        }
        if error > max_error {
            return Err(format!(
                "TESTFAILED Too big error. card:{checkpoint} abserr:{error}"
            ));
        }
        checkpoint *= 10;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_hll_is_one_xzero() {
        let hll = new_sparse();
        assert_eq!(hll.len(), 18);
        assert_eq!(&hll[16..], &[0x7f, 0xff]);
        assert_eq!(count(&hll), Ok(0));
        assert_eq!(decode_sparse(&hll), "Z:16384");
    }

    #[test]
    fn dense_registers_round_trip() {
        let mut registers = vec![0u8; DENSE_LEN - HEADER_LEN];
        for index in 0..REGISTERS {
            dense_put(&mut registers, index, (index % 64) as u8);
        }
        for index in 0..REGISTERS {
            assert_eq!(dense_get(&registers, index), (index % 64) as u8);
        }
    }

    #[test]
    fn sparse_and_dense_agree() {
        let mut sparse = new_sparse();
        let mut dense = new_sparse();
        to_dense(&mut dense).unwrap();
        for n in 0..2000u32 {
            let element = n.to_string();
            add(&mut sparse, element.as_bytes(), 1 << 20).unwrap();
            add(&mut dense, element.as_bytes(), 1 << 20).unwrap();
        }
        assert_eq!(sparse[4], SPARSE);
        assert_eq!(count(&sparse), count(&dense));
        to_dense(&mut sparse).unwrap();
        assert_eq!(sparse[HEADER_LEN..], dense[HEADER_LEN..]);
    }

    #[test]
    fn corrupt_sparse_is_refused() {
        let mut hll = new_sparse();
        hll.truncate(17);
        assert_eq!(count(&hll), Err(Corrupt));
        let mut registers = [0u8; REGISTERS];
        assert_eq!(merge_into(&mut registers, &hll), Err(Corrupt));
    }
}
