//! Redis's HyperLogLog string format, and estimating cardinalities from it.
//!
//! A 16-byte header: `HYLL`, the encoding (0 dense, 1 sparse), three unused bytes, then the
//! cached estimate as 8 little-endian bytes whose top bit set means "stale". Then 16384
//! registers, each holding the longest run of zeros (plus one) seen in the hashes of the
//! elements that fell in it:
//!
//! - dense: 6 bits per register, packed from the least significant bit of each byte up
//!   (12288 bytes);
//! - sparse: run-length opcodes, for HyperLogLogs with few elements. `00llllll`: 1 to 64
//!   zero registers; `01llllll llllllll`: 1 to 16384 zero registers; `1vvvvvll`: 1 to 4
//!   registers of value 1 to 32. A sparse string turns dense when a value above 32 is
//!   needed or when it would grow past `hll-sparse-max-bytes` (3000).
//!
//! Elements are hashed with MurmurHash64A (seed `0xadc83b19`): the low 14 bits choose the
//! register, the rest give the run of zeros. Estimates use Ertl's improved estimator
//! ("New cardinality estimation algorithms for HyperLogLog sketches", 2017), as Redis does.
//!
//! Functions taking a HyperLogLog string expect one that passed [`is_valid`]; register data
//! is never trusted, corrupted runs are reported as [`Corrupt`]. The commands working on
//! these strings (PFADD, PFCOUNT, PFMERGE) are in `command::hyperloglog`.

/// Header bytes before the registers.
pub const HEADER: usize = 16;
/// Number of registers.
pub const REGISTERS: usize = 1 << 14;
/// Length of a dense HyperLogLog string.
pub const DENSE_SIZE: usize = HEADER + REGISTERS * 6 / 8;
/// Longest a sparse string may grow before it turns dense (Redis's default).
pub const SPARSE_MAX_BYTES: usize = 3000;

const DENSE: u8 = 0;
const SPARSE: u8 = 1;
/// Largest register value a sparse opcode holds.
const SPARSE_VAL_MAX: u8 = 32;
/// Longest run a `VAL` opcode covers.
const SPARSE_VAL_MAX_LEN: usize = 4;
/// Longest run a one-byte `ZERO` opcode covers.
const SPARSE_ZERO_MAX_LEN: usize = 64;
const SEED: u64 = 0xadc8_3b19;
/// The estimator's constant 1 / (2 ln 2).
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// Register data that does not describe exactly 16384 registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// An empty HyperLogLog, sparse, as a new key starts.
pub fn new_sparse() -> Vec<u8> {
    let mut s = vec![0; HEADER];
    s[..4].copy_from_slice(b"HYLL");
    s[4] = SPARSE;
    push_zeros(&mut s, REGISTERS);
    s
}

/// Whether `s` has a HyperLogLog header, a known encoding and, if dense, the exact length.
pub fn is_valid(s: &[u8]) -> bool {
    s.len() >= HEADER
        && s.starts_with(b"HYLL")
        && s[4] <= SPARSE
        && (s[4] != DENSE || s.len() == DENSE_SIZE)
}

/// Whether a valid HyperLogLog is dense.
pub fn is_dense(s: &[u8]) -> bool {
    s[4] == DENSE
}

/// The cached estimate, unless stale.
pub fn cached_estimate(s: &[u8]) -> Option<i64> {
    let card: [u8; 8] = s[8..HEADER].try_into().ok()?;
    (card[7] & 0x80 == 0).then(|| u64::from_le_bytes(card) as i64)
}

/// Stores a freshly computed estimate in the header.
pub fn set_cache(s: &mut [u8], estimate: i64) {
    s[8..HEADER].copy_from_slice(&estimate.to_le_bytes());
}

/// Marks the cached estimate stale.
pub fn invalidate_cache(s: &mut [u8]) {
    s[15] |= 0x80;
}

/// MurmurHash64A, reading 8-byte blocks little-endian as Redis does on every platform.
pub fn murmur64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let mut blocks = data.chunks_exact(8);
    for block in blocks.by_ref() {
        let mut k = u64::from_le_bytes(block.try_into().unwrap_or_default());
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element falls in, and the value it would raise that register to.
pub fn pattern(element: &[u8]) -> (usize, u8) {
    let hash = murmur64a(element, SEED);
    let index = (hash as usize) & (REGISTERS - 1);
    // Bit 50 set caps the run: at most 50 zeros, so values go from 1 to 51.
    let rest = (hash >> 14) | (1 << 50);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// Dense register `i` of the 12288 register bytes.
fn dense_get(registers: &[u8], i: usize) -> u8 {
    let (byte, shift) = (i * 6 / 8, (i * 6) & 7);
    let low = u16::from(registers[byte]) >> shift;
    let high = u16::from(registers.get(byte + 1).copied().unwrap_or(0)) << (8 - shift);
    ((low | high) & 63) as u8
}

fn dense_set(registers: &mut [u8], i: usize, value: u8) {
    let (byte, shift) = (i * 6 / 8, (i * 6) & 7);
    let value = u16::from(value);
    let low = (u16::from(registers[byte]) & !(63 << shift)) | (value << shift);
    registers[byte] = low as u8;
    if let Some(next) = registers.get_mut(byte + 1) {
        *next = ((u16::from(*next) & !(63 >> (8 - shift))) | (value >> (8 - shift))) as u8;
    }
}

/// Raises dense register `i` to `value`; whether it grew.
fn dense_raise(registers: &mut [u8], i: usize, value: u8) -> bool {
    let grows = dense_get(registers, i) < value;
    if grows {
        dense_set(registers, i, value);
    }
    grows
}

/// One decoded sparse opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// A run of zero registers, and whether it took two bytes (`XZERO`).
    Zero { len: usize, wide: bool },
    /// A run of registers holding `value`.
    Val { value: u8, len: usize },
}

impl Op {
    /// The opcode at `p`. A two-byte opcode cut short reads a zero second byte.
    fn at(s: &[u8], p: usize) -> Op {
        let b = s[p];
        if b & 0x80 != 0 {
            Op::Val {
                value: ((b >> 2) & 0x1f) + 1,
                len: usize::from(b & 3) + 1,
            }
        } else if b & 0x40 != 0 {
            let second = s.get(p + 1).copied().unwrap_or(0);
            Op::Zero {
                len: ((usize::from(b & 0x3f) << 8) | usize::from(second)) + 1,
                wide: true,
            }
        } else {
            Op::Zero {
                len: usize::from(b & 0x3f) + 1,
                wide: false,
            }
        }
    }

    fn len(self) -> usize {
        match self {
            Op::Zero { len, .. } | Op::Val { len, .. } => len,
        }
    }

    /// Bytes the opcode takes.
    fn size(self) -> usize {
        match self {
            Op::Zero { wide: true, .. } => 2,
            _ => 1,
        }
    }
}

fn val_byte(value: u8, len: usize) -> u8 {
    0x80 | ((value - 1) << 2) | (len - 1) as u8
}

/// Appends the opcode for a run of `len` (1 to 16384) zero registers.
fn push_zeros(out: &mut Vec<u8>, mut len: usize) {
    while len > 0 {
        let run = len.min(REGISTERS);
        if run > SPARSE_ZERO_MAX_LEN {
            out.push(0x40 | ((run - 1) >> 8) as u8);
            out.push(((run - 1) & 0xff) as u8);
        } else {
            out.push((run - 1) as u8);
        }
        len -= run;
    }
}

/// Calls `f(first register, opcode)` for each sparse opcode, in order.
fn for_each_op(s: &[u8], mut f: impl FnMut(usize, Op) -> bool) {
    let (mut p, mut first) = (HEADER, 0);
    while p < s.len() {
        let op = Op::at(s, p);
        if !f(first, op) {
            return;
        }
        first += op.len();
        p += op.size();
    }
}

/// Turns a sparse HyperLogLog dense, keeping its header (and so its cached estimate).
pub fn to_dense(s: &mut Vec<u8>) -> Result<(), Corrupt> {
    if s[4] == DENSE {
        return Ok(());
    }
    let mut dense = vec![0; DENSE_SIZE];
    dense[..HEADER].copy_from_slice(&s[..HEADER]);
    dense[4] = DENSE;
    let mut total = 0;
    for_each_op(s, |first, op| {
        total = first + op.len();
        if let Op::Val { value, len } = op {
            if first + len > REGISTERS {
                total = first;
                return false;
            }
            (first..first + len).for_each(|i| dense_set(&mut dense[HEADER..], i, value));
        }
        true
    });
    if total != REGISTERS {
        return Err(Corrupt);
    }
    *s = dense;
    Ok(())
}

/// The current value of register `index`.
fn register(s: &[u8], index: usize) -> Result<u8, Corrupt> {
    if s[4] == DENSE {
        return Ok(dense_get(&s[HEADER..], index));
    }
    let mut found = Err(Corrupt);
    for_each_op(s, |first, op| {
        if index < first + op.len() {
            found = Ok(match op {
                Op::Val { value, .. } => value,
                Op::Zero { .. } => 0,
            });
            return false;
        }
        true
    });
    found
}

/// Whether adding `element` would raise a register (errors: the data is corrupted).
pub fn would_grow(s: &[u8], element: &[u8]) -> Result<bool, Corrupt> {
    let (index, value) = pattern(element);
    Ok(register(s, index)? < value)
}

/// Adds an element; whether a register grew.
pub fn add(s: &mut Vec<u8>, element: &[u8]) -> Result<bool, Corrupt> {
    let (index, value) = pattern(element);
    raise(s, index, value)
}

/// Raises register `index` to `value` if it is lower; whether it grew.
fn raise(s: &mut Vec<u8>, index: usize, value: u8) -> Result<bool, Corrupt> {
    if s[4] == DENSE {
        return Ok(dense_raise(&mut s[HEADER..], index, value));
    }
    if value > SPARSE_VAL_MAX {
        return promote(s, index, value);
    }
    // Find the opcode covering the register.
    let (mut p, mut first, mut prev) = (HEADER, 0, None);
    let mut found = None;
    while p < s.len() {
        let op = Op::at(s, p);
        if index < first + op.len() {
            found = Some(op);
            break;
        }
        prev = Some(p);
        first += op.len();
        p += op.size();
    }
    let Some(op) = found else {
        return Err(Corrupt);
    };
    match op {
        Op::Val { value: old, .. } if old >= value => return Ok(false),
        Op::Val { len: 1, .. }
        | Op::Zero {
            len: 1,
            wide: false,
        } => {
            s[p] = val_byte(value, 1);
        }
        _ => {
            // Split the run into what comes before the register, the register, and
            // what comes after.
            let last = first + op.len() - 1;
            let mut run = Vec::with_capacity(5);
            let push_run = |run: &mut Vec<u8>, len: usize| match op {
                Op::Zero { .. } => push_zeros(run, len),
                Op::Val { value, .. } => run.push(val_byte(value, len)),
            };
            if index != first {
                push_run(&mut run, index - first);
            }
            run.push(val_byte(value, 1));
            if index != last {
                push_run(&mut run, last - index);
            }
            let new_len = s.len() + run.len() - op.size();
            if run.len() > op.size() && new_len > SPARSE_MAX_BYTES {
                return promote(s, index, value);
            }
            let old_end = (p + op.size()).min(s.len());
            s.splice(p..old_end, run);
            // An opcode cut short by the end of the string stays cut short.
            s.truncate(new_len);
        }
    }
    merge_runs(s, prev.unwrap_or(HEADER));
    invalidate_cache(s);
    Ok(true)
}

/// Joins neighbouring `VAL` runs of equal value, scanning a few opcodes from `p`.
fn merge_runs(s: &mut Vec<u8>, mut p: usize) {
    for _ in 0..5 {
        if p >= s.len() {
            return;
        }
        let op = Op::at(s, p);
        let Op::Val { value, len } = op else {
            p += op.size();
            continue;
        };
        if p + 1 < s.len()
            && let Op::Val {
                value: next_value,
                len: next_len,
            } = Op::at(s, p + 1)
            && next_value == value
            && len + next_len <= SPARSE_VAL_MAX_LEN
        {
            s[p + 1] = val_byte(value, len + next_len);
            s.remove(p);
            continue;
        }
        p += 1;
    }
}

/// Turns the string dense, then raises the register.
fn promote(s: &mut Vec<u8>, index: usize, value: u8) -> Result<bool, Corrupt> {
    to_dense(s)?;
    Ok(dense_raise(&mut s[HEADER..], index, value))
}

/// Counts of registers by value.
type Histogram = [u32; 64];

fn histogram(s: &[u8]) -> Result<Histogram, Corrupt> {
    let mut histogram = [0; 64];
    if s[4] == DENSE {
        let registers = &s[HEADER..];
        (0..REGISTERS).for_each(|i| histogram[usize::from(dense_get(registers, i))] += 1);
        return Ok(histogram);
    }
    let mut total = 0;
    for_each_op(s, |first, op| {
        let value = match op {
            Op::Val { value, .. } => usize::from(value),
            Op::Zero { .. } => 0,
        };
        histogram[value] += op.len() as u32;
        total = first + op.len();
        true
    });
    if total != REGISTERS {
        return Err(Corrupt);
    }
    Ok(histogram)
}

/// The estimate of a valid HyperLogLog (not using its cache).
pub fn estimate(s: &[u8]) -> Result<i64, Corrupt> {
    Ok(estimate_from(&histogram(s)?))
}

/// Ertl's estimator over the register histogram.
fn estimate_from(histogram: &Histogram) -> i64 {
    let m = REGISTERS as f64;
    // Values above 51 cannot come from the hash; like Redis, they are not counted.
    let mut z = m * tau((m - f64::from(histogram[51])) / m);
    for count in histogram[1..=50].iter().rev() {
        z += f64::from(*count);
        z *= 0.5;
    }
    z += m * sigma(f64::from(histogram[0]) / m);
    let estimate = (ALPHA_INF * m * m / z).round();
    if estimate.is_finite() && estimate < i64::MAX as f64 {
        estimate as i64
    } else {
        i64::MIN
    }
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let (mut y, mut z) = (1.0, x);
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if z == before {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let (mut y, mut z) = (1.0, 1.0 - x);
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
        if z == before {
            return z / 3.0;
        }
    }
}

/// 16384 plain registers: the union of several HyperLogLogs.
pub struct Registers(Box<[u8; REGISTERS]>);

impl Registers {
    pub fn new() -> Registers {
        Registers(Box::new([0; REGISTERS]))
    }

    /// Raises every register to the one of a valid HyperLogLog.
    pub fn merge(&mut self, s: &[u8]) -> Result<(), Corrupt> {
        let max = &mut self.0;
        if s[4] == DENSE {
            let registers = &s[HEADER..];
            for (i, slot) in max.iter_mut().enumerate() {
                *slot = (*slot).max(dense_get(registers, i));
            }
            return Ok(());
        }
        let mut total = 0;
        for_each_op(s, |first, op| {
            total = first + op.len();
            if let Op::Val { value, len } = op {
                if first + len > REGISTERS {
                    total = first;
                    return false;
                }
                max[first..first + len]
                    .iter_mut()
                    .for_each(|slot| *slot = (*slot).max(value));
            }
            true
        });
        if total == REGISTERS {
            Ok(())
        } else {
            Err(Corrupt)
        }
    }

    /// Raises the registers of the HyperLogLog `s` to these, register by register.
    pub fn store(&self, s: &mut Vec<u8>) {
        for (i, &value) in self.0.iter().enumerate() {
            // `s` was validated as a source already; nothing can be corrupted here.
            if value != 0 {
                let _ = raise(s, i, value);
            }
        }
    }

    /// The estimate of the union.
    pub fn estimate(&self) -> i64 {
        let mut histogram = [0; 64];
        self.0
            .iter()
            .for_each(|&v| histogram[usize::from(v & 63)] += 1);
        estimate_from(&histogram)
    }
}

impl Default for Registers {
    fn default() -> Registers {
        Registers::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_land_in_the_registers_redis_puts_them_in() {
        // As redis-server 7.0.15's PFDEBUG GETREG shows them.
        assert_eq!(pattern(b"a"), (12711, 2));
        assert_eq!(pattern(b"hello"), (9216, 1));
        assert_eq!(pattern(b"foo"), (7348, 5));
        assert_eq!(pattern(b"12345678"), (10579, 3));
        assert_eq!(pattern(b"123456789"), (9293, 2));
        let mut s = new_sparse();
        assert_eq!(add(&mut s, b"a"), Ok(true));
        assert_eq!(add(&mut s, b"a"), Ok(false));
        assert_eq!(&s[HEADER..], &[0x71, 0xa6, 0x84, 0x4e, 0x57]);
    }

    #[test]
    fn a_new_hyperloglog_is_two_wide_zero_runs() {
        let s = new_sparse();
        assert_eq!(s.len(), HEADER + 2);
        assert_eq!(&s[HEADER..], &[0x7f, 0xff]);
        assert!(is_valid(&s));
        assert_eq!(estimate(&s), Ok(0));
        assert_eq!(cached_estimate(&s), Some(0));
    }

    #[test]
    fn dense_registers_pack_six_bits() {
        let mut registers = vec![0u8; REGISTERS * 6 / 8];
        for i in [0, 1, 2, 3, 4, 5, 16382, 16383] {
            dense_set(&mut registers, i, (i % 63) as u8 + 1);
        }
        for i in [0, 1, 2, 3, 4, 5, 16382, 16383] {
            assert_eq!(dense_get(&registers, i), (i % 63) as u8 + 1, "{i}");
        }
        assert_eq!(registers[0], 0b1000_0001);
        assert_eq!(dense_get(&registers, 6), 0);
    }

    #[test]
    fn sparse_and_dense_agree() {
        let mut sparse = new_sparse();
        let mut dense = new_sparse();
        to_dense(&mut dense).expect("valid");
        for i in 0..2000u32 {
            let e = i.to_string();
            assert_eq!(
                add(&mut sparse, e.as_bytes()),
                add(&mut dense, e.as_bytes())
            );
        }
        assert!(is_valid(&sparse) && is_valid(&dense));
        assert_eq!(estimate(&sparse), estimate(&dense));
        let mut converted = sparse.clone();
        to_dense(&mut converted).expect("valid");
        assert_eq!(converted[HEADER..], dense[HEADER..]);
    }

    #[test]
    fn sparse_turns_dense_past_the_size_limit() {
        let mut s = new_sparse();
        let mut i = 0u32;
        while !is_dense(&s) {
            assert!(s.len() <= SPARSE_MAX_BYTES);
            add(&mut s, &i.to_le_bytes()).expect("valid");
            i += 1;
        }
        assert_eq!(s.len(), DENSE_SIZE);
        assert!(i > 1000, "turned dense after {i} elements");
    }

    #[test]
    fn corrupted_sparse_data_is_detected_without_panicking() {
        let mut s = new_sparse();
        add(&mut s, b"x").expect("valid");
        let mut long = s.clone();
        long.extend_from_slice(b"hello");
        assert_eq!(estimate(&long), Err(Corrupt));
        assert_eq!(Registers::new().merge(&long), Err(Corrupt));
        assert_eq!(to_dense(&mut long.clone()), Err(Corrupt));
        let mut short = s.clone();
        short.truncate(HEADER + 1);
        assert_eq!(estimate(&short), Err(Corrupt));
        for cut in HEADER..s.len() {
            for byte in [0x00, 0x40, 0x7f, 0x80, 0xff] {
                let mut bad = s[..cut].to_vec();
                bad.push(byte);
                let _ = add(&mut bad, b"y");
                let _ = estimate(&bad);
            }
        }
    }

    #[test]
    fn estimates_are_close_for_many_elements() {
        let mut s = new_sparse();
        for i in 0..100_000u32 {
            add(&mut s, format!("element:{i}").as_bytes()).expect("valid");
        }
        let estimate = estimate(&s).expect("valid") as f64;
        assert!(
            (estimate - 100_000.0).abs() / 100_000.0 < 0.03,
            "{estimate}"
        );
    }
}
