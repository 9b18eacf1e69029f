//! `--since DURATION`, parsed the same way for every command that takes
//! it: a number with a unit (s, m, h, d), or several from largest to
//! smallest (`1d12h`), at most [`microbot_proto::MAX_SINCE_SECONDS`].

/// `24h` → seconds.
pub fn parse_since(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let bad = || format!("{s:?}: use a number with s, m, h or d (e.g. 24h or 1d12h)");
    if s.is_empty() {
        return Err(bad());
    }
    let units = [("d", 86_400i64), ("h", 3600), ("m", 60), ("s", 1)];
    let mut rest = s;
    let mut total: i64 = 0;
    let mut last = None;
    while !rest.is_empty() {
        let split = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (digits, tail) = rest.split_at(split);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let idx = units.iter().position(|(u, _)| *u == unit).ok_or_else(bad)?;
        if digits.is_empty() || last.is_some_and(|l| idx <= l) {
            return Err(bad());
        }
        last = Some(idx);
        // Too many digits for any number is too far back as well.
        let n: i64 = digits
            .parse()
            .map_err(|_| microbot_proto::SINCE_TOO_FAR.to_string())?;
        total = n
            .checked_mul(units[idx].1)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| microbot_proto::SINCE_TOO_FAR.to_string())?;
        rest = tail;
    }
    if total <= 0 {
        return Err("must be positive".into());
    }
    if total > microbot_proto::MAX_SINCE_SECONDS {
        return Err(microbot_proto::SINCE_TOO_FAR.into());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::parse_since;

    #[test]
    fn since_parses_humane_durations() {
        assert_eq!(parse_since("24h"), Ok(86_400));
        assert_eq!(parse_since("15m"), Ok(900));
        assert_eq!(parse_since("1d12h"), Ok(129_600));
        assert!(parse_since("24x").is_err());
        assert!(parse_since("h").is_err());
        assert!(parse_since("12h1d").is_err());
        assert!(parse_since("0s").is_err());
        assert_eq!(parse_since("3650d"), Ok(3650 * 86_400));
        let far = Err("must be at most 3650d (ten years)".to_string());
        assert_eq!(parse_since("3651d"), far);
        assert_eq!(parse_since("999999999999d"), far);
        assert_eq!(parse_since("99999999999999999999999s"), far);
    }
}
