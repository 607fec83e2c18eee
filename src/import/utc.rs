//! UTC timestamps as the AWS tools print them, to and from Unix milliseconds.
//!
//! get-metric-data prints ISO 8601 with an offset (`2026-11-20T09:00:00+00:00`, or `Z`);
//! `aws logs` gives epoch milliseconds; a Logs Insights CSV export prints
//! `2026-11-20 09:00:00.123` (UTC, no offset). No time-zone database is needed: every form is
//! UTC or carries a fixed offset.

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// Parses `YYYY-MM-DD[T ]HH:MM:SS[.fff][Z|±HH:MM|±HHMM]` into Unix milliseconds (no offset: UTC).
pub fn parse_iso(text: &str) -> Option<i64> {
    let t = text.trim().trim_matches('"');
    let b = t.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = t.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut rest = &t[19..];
    let mut ms = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        let digits = &frac[..n];
        let padded: String = digits.chars().chain("000".chars()).take(3).collect();
        ms = padded.parse().ok()?;
        rest = &frac[n..];
    }
    let offset_s = match rest {
        "" | "Z" | "z" => 0,
        o if o.starts_with('+') || o.starts_with('-') => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let digits: String = o[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let oh: i64 = digits[..2].parse().ok()?;
            let om: i64 = digits[2..].parse().ok()?;
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset_s;
    Some(secs * 1000 + ms)
}

/// Unix milliseconds as `2026-11-20T09:00:00Z` (milliseconds shown only when not zero).
pub fn format_iso(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let frac = ms.rem_euclid(1000);
    let base = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
    if frac == 0 {
        format!("{base}Z")
    } else {
        format!("{base}.{frac:03}Z")
    }
}

/// Epoch milliseconds as `aws logs` prints them (a 12- or 13-digit integer).
pub fn parse_epoch_ms(text: &str) -> Option<i64> {
    let t = text.trim();
    ((12..=13).contains(&t.len()) && t.bytes().all(|c| c.is_ascii_digit()))
        .then(|| t.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_forms_agree_with_epoch() {
        // 2026-11-20T09:00:00Z is 1 795 165 200 s after the epoch (date -u -d ... +%s).
        let t = 1_795_165_200_000;
        assert_eq!(parse_iso("2026-11-20T09:00:00Z"), Some(t));
        assert_eq!(parse_iso("2026-11-20T09:00:00+00:00"), Some(t));
        assert_eq!(parse_iso("2026-11-20T10:30:00+01:30"), Some(t));
        assert_eq!(parse_iso("2026-11-20 09:00:00.250"), Some(t + 250));
        assert_eq!(format_iso(t), "2026-11-20T09:00:00Z");
        assert_eq!(format_iso(t + 5), "2026-11-20T09:00:00.005Z");
        assert_eq!(parse_iso("2026-13-20T09:00:00Z"), None);
        assert_eq!(parse_iso("2026-11-20T09:00:00 junk"), None);
        assert_eq!(parse_epoch_ms("1795165200000"), Some(t));
    }
}
