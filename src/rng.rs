//! The portable, seeded random number streams of a run.
//!
//! Every consumer of randomness (a traffic source's arrivals, a function's durations, ...) gets
//! its own stream derived from the run seed, its *name* and a purpose number, so adding a
//! function or a traffic entry never reshuffles the draws of the others. The generator is
//! Xoshiro256++, documented by rand as portable and reproducible across versions and platforms.

/// The random generator of every stream of a run.
pub type Rng = rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

/// FNV-1a, a stable 64-bit hash of a name (std's hasher is not stable across releases).
pub fn fnv1a(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// SplitMix64 finaliser: spreads a 64-bit value over all bits.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The independent stream for (`seed`, `name`, `purpose`).
pub fn stream(seed: u64, name: &str, purpose: u64) -> Rng {
    let s = mix(mix(seed) ^ fnv1a(name) ^ mix(purpose.wrapping_add(0x5851_f42d_4c95_7f2d)));
    Rng::seed_from_u64(s)
}

/// Seed of replication `r` of a sweep whose base seed is `seed` (common random numbers).
pub fn replication_seed(seed: u64, r: u64) -> u64 {
    if r == 0 {
        seed
    } else {
        mix(seed ^ mix(r))
    }
}
