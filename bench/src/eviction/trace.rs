//! The hit-rate trace: key numbers drawn from Zipf(s) by a deterministic generator, so the
//! same options give the same trace in every run (see the module doc of `eviction`).

use super::Options;

/// splitmix64: a small, fast, deterministic generator (Steele, Lea and Flood).
pub(super) struct SplitMix64(u64);

impl SplitMix64 {
    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), from the top 53 bits.
    pub(super) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Zipf(s) over ranks `0..n`: rank k is drawn with probability ∝ 1/(k+1)^s.
pub(super) struct Zipf {
    /// `cdf[k]` = P(rank ≤ k); the last entry is 1.
    pub(super) cdf: Vec<f64>,
}

impl Zipf {
    pub(super) fn new(n: u64, s: f64) -> Zipf {
        let mut cdf = Vec::with_capacity(n as usize);
        let mut total = 0.0;
        for k in 1..=n {
            total += (k as f64).powf(-s);
            cdf.push(total);
        }
        for c in &mut cdf {
            *c /= total;
        }
        Zipf { cdf }
    }

    /// The rank whose CDF step contains a uniform draw.
    pub(super) fn sample(&self, rng: &mut SplitMix64) -> u64 {
        let u = rng.next_f64();
        let rank = self.cdf.partition_point(|&c| c <= u);
        rank.min(self.cdf.len().saturating_sub(1)) as u64
    }
}

/// The key numbers of the whole trace (warm-up first).
pub(super) fn trace(options: &Options) -> Vec<u32> {
    let zipf = Zipf::new(options.keys, options.zipf);
    let mut rng = SplitMix64(options.seed);
    // Any prime not dividing `keys` makes rank × prime mod keys a bijection.
    let prime = [1_000_000_007u64, 998_244_353, 1_000_000_009]
        .into_iter()
        .find(|&p| !options.keys.is_multiple_of(p))
        .unwrap_or(1);
    let length = options.warmup + options.ops;
    (0..length)
        .map(|_| {
            let rank = zipf.sample(&mut rng);
            ((u128::from(rank) * u128::from(prime)) % u128::from(options.keys)) as u32
        })
        .collect()
}

pub(super) fn key(id: u32) -> String {
    format!("key:{id:012}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn zipf_is_skewed_and_deterministic() {
        let zipf = Zipf::new(1000, 0.99);
        let draw = |seed| {
            let mut rng = SplitMix64(seed);
            (0..10_000)
                .map(|_| zipf.sample(&mut rng))
                .collect::<Vec<_>>()
        };
        let a = draw(7);
        assert_eq!(a, draw(7));
        assert!(a.iter().all(|&r| r < 1000));
        // P(rank 0) = 1/H(1000, 0.99) ≈ 0.13; rank 0 is by far the most drawn.
        let zeros = a.iter().filter(|&&r| r == 0).count();
        assert!((1000..1700).contains(&zeros), "{zeros}");
        let tail = a.iter().filter(|&&r| r >= 500).count();
        assert!(
            tail < zeros,
            "{tail} draws in the upper half vs {zeros} of rank 0"
        );
    }
}
