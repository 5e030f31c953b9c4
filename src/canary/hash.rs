//! Unleash's normalized hash: MurmurHash3 x86 32-bit, seed 0, over the UTF-8 bytes of
//! `salt || ':' || key`, then `% 100 + 1`. An application that already rolls out with
//! Unleash (groupId = salt) puts every user on the same side as pg_migrate does.

/// MurmurHash3_x86_32 (Austin Appleby's reference implementation).
pub fn murmur3_x86_32(data: &[u8], seed: u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut h = seed;
    let mut blocks = data.chunks_exact(4);
    for b in &mut blocks {
        let mut k = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = blocks.remainder();
    let mut k: u32 = 0;
    if tail.len() >= 3 {
        k ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        k ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        k ^= u32::from(tail[0]);
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
    }
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

/// The bucket 1..=100 of `key` under `salt` (Unleash's `normalizedValue(key, salt)`).
pub fn bucket(salt: &[u8], key: &[u8]) -> i32 {
    // Hash salt:key without allocating when it fits on the stack.
    let len = salt.len() + 1 + key.len();
    let h = if len <= 256 {
        let mut buf = [0u8; 256];
        buf[..salt.len()].copy_from_slice(salt);
        buf[salt.len()] = b':';
        buf[salt.len() + 1..len].copy_from_slice(key);
        murmur3_x86_32(&buf[..len], 0)
    } else {
        let mut v = Vec::with_capacity(len);
        v.extend_from_slice(salt);
        v.push(b':');
        v.extend_from_slice(key);
        murmur3_x86_32(&v, 0)
    };
    (h % 100) as i32 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors computed with Python's mmh3 5.x (mmh3.hash(data, 0, signed=False)), an
    // independent implementation; ("gr1", "123") -> 73 is also in Unleash's own tests.
    #[test]
    fn murmur_vectors() {
        assert_eq!(murmur3_x86_32(b"", 0), 0);
        assert_eq!(murmur3_x86_32(b"hello", 0), 613_153_351);
        assert_eq!(murmur3_x86_32(b"g:user-1", 0), 3_497_399_804);
        assert_eq!(murmur3_x86_32(b":", 0), 723_937_430);
    }

    #[test]
    fn bucket_vectors() {
        let cases: &[(&str, &str, i32)] = &[
            ("g", "user-1", 5),
            ("g", "user-2", 44),
            ("test", "123", 14),
            ("gr1", "123", 73),
            ("default", "someuser", 25),
            ("canary", "tenant-42", 75),
            ("ünïcode", "ключ", 16),
            ("", "", 31),
            ("a'b", "x y", 72),
        ];
        for (s, k, b) in cases {
            assert_eq!(bucket(s.as_bytes(), k.as_bytes()), *b, "{s}:{k}");
        }
    }

    #[test]
    fn long_keys_match_short_path() {
        let key = "k".repeat(300);
        let mut joined = b"s:".to_vec();
        joined.extend_from_slice(key.as_bytes());
        assert_eq!(bucket(b"s", key.as_bytes()), (murmur3_x86_32(&joined, 0) % 100) as i32 + 1);
        assert_eq!(bucket(b"s", key.as_bytes()), 64); // mmh3
    }
}
