//! Float to integer, the one place that does it: a count or an amount computed in `f64`
//! (a ceiling, a rounding, a pixel) becomes an integer, saturating at the type's bounds
//! and with NaN as 0 (what `as` does since Rust 1.45). Round first; these truncate.
//! Everywhere else `as` between numeric types is refused by the crate's lints.

/// `x` as a `u64`: negative and NaN give 0, beyond `u64::MAX` gives `u64::MAX`.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "float to integer `as` saturates (NaN is 0): the conversion this names"
)]
pub fn saturating_u64(x: f64) -> u64 {
    x as u64
}

/// `x` as a `usize`, saturating (NaN is 0).
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "float to integer `as` saturates (NaN is 0): the conversion this names"
)]
pub fn saturating_usize(x: f64) -> usize {
    x as usize
}

/// `x` as an `i64`, saturating (NaN is 0).
#[allow(
    clippy::cast_possible_truncation,
    reason = "float to integer `as` saturates (NaN is 0): the conversion this names"
)]
pub fn saturating_i64(x: f64) -> i64 {
    x as i64
}

/// `x` as an `i32`, saturating (NaN is 0).
#[allow(
    clippy::cast_possible_truncation,
    reason = "float to integer `as` saturates (NaN is 0): the conversion this names"
)]
pub fn saturating_i32(x: f64) -> i32 {
    x as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_saturate() {
        assert_eq!(saturating_u64(-3.5), 0);
        assert_eq!(saturating_u64(f64::NAN), 0);
        assert_eq!(saturating_u64(1e300), u64::MAX);
        assert_eq!(saturating_u64(41.9), 41);
        assert_eq!(saturating_i64(-2.5), -2);
        assert_eq!(saturating_i64(-1e300), i64::MIN);
        assert_eq!(saturating_i32(3e10), i32::MAX);
        assert_eq!(saturating_usize(7.0), 7);
    }
}
