//! Human byte sizes: `10GB`, `512MiB`, `1.5G`, `300000` (bytes).

use crate::{Error, Result};

/// Parses a byte size. Decimal units (`KB`, `MB`, `GB`, `TB`, also `K`, `M`, `G`, `T`) are powers of 1000,
/// binary units (`KiB`, `MiB`, `GiB`, `TiB`) powers of 1024; a bare number is bytes. Case-insensitive.
pub fn parse_size(input: &str) -> Result<u64> {
    let err = || Error::InvalidArgument {
        what: "size",
        value: input.to_string(),
        expected:
            "a number with an optional unit B, KB, MB, GB, TB, KiB, MiB, GiB or TiB (e.g. 10GB)"
                .to_string(),
    };
    let s = input.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let num: f64 = num.parse().map_err(|_| err())?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return Err(err()),
    };
    let bytes = num * mult as f64;
    if !bytes.is_finite() || bytes < 1.0 || bytes > u64::MAX as f64 {
        return Err(err());
    }
    Ok(bytes as u64)
}

/// Formats a byte count for people: `1.50 GB`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.2} {}", UNITS[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse_size("10GB").unwrap(), 10_000_000_000);
        assert_eq!(parse_size("10gb").unwrap(), 10_000_000_000);
        assert_eq!(parse_size("1.5G").unwrap(), 1_500_000_000);
        assert_eq!(parse_size("512MiB").unwrap(), 512 << 20);
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("300000").unwrap(), 300_000);
        assert_eq!(parse_size("100 MB").unwrap(), 100_000_000);
    }

    #[test]
    fn rejects_bad_sizes() {
        for bad in ["10XB", "", "GB", "-5MB", "0", "1.2.3GB", "abc"] {
            let e = parse_size(bad).unwrap_err();
            assert!(e.is_usage(), "{bad}");
            assert!(e.to_string().contains("invalid size"), "{e}");
        }
    }

    #[test]
    fn formats() {
        assert_eq!(format_size(999), "999 B");
        assert_eq!(format_size(1_500_000_000), "1.50 GB");
    }
}
