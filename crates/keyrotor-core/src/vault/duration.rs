//! ISO 8601 durations of Key Vault rotation policies, with calendar
//! arithmetic that never panics (out of range is `None`).

use time::OffsetDateTime;

/// An ISO 8601 duration of the forms Key Vault policies use:
/// `P[nY][nM][nW][nD][T[nH][nM][nS]]`. Years and months are calendar units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsoDuration {
    pub years: u32,
    pub months: u32,
    pub days: u32,
    pub seconds: u32,
}

impl IsoDuration {
    pub fn parse(s: &str) -> Option<Self> {
        let rest = s.strip_prefix('P')?;
        let (date, time) = match rest.split_once('T') {
            Some((d, t)) => (d, Some(t)),
            None => (rest, None),
        };
        let mut d = IsoDuration {
            years: 0,
            months: 0,
            days: 0,
            seconds: 0,
        };
        let mut any = false;
        let mut num = String::new();
        for c in date.chars() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            let n: u32 = num.parse().ok()?;
            num.clear();
            any = true;
            match c {
                'Y' => d.years = d.years.checked_add(n)?,
                'M' => d.months = d.months.checked_add(n)?,
                'W' => d.days = d.days.checked_add(n.checked_mul(7)?)?,
                'D' => d.days = d.days.checked_add(n)?,
                _ => return None,
            }
        }
        if !num.is_empty() {
            return None;
        }
        if let Some(t) = time {
            if t.is_empty() {
                return None;
            }
            for c in t.chars() {
                if c.is_ascii_digit() {
                    num.push(c);
                    continue;
                }
                let n: u32 = num.parse().ok()?;
                num.clear();
                any = true;
                let mult = match c {
                    'H' => 3600,
                    'M' => 60,
                    'S' => 1,
                    _ => return None,
                };
                d.seconds = d.seconds.checked_add(n.checked_mul(mult)?)?;
            }
            if !num.is_empty() {
                return None;
            }
        }
        (any && d.years <= 100 && d.months <= 1200 && d.days <= 36_500).then_some(d)
    }

    fn months_total(self) -> i64 {
        i64::from(self.months) + 12 * i64::from(self.years)
    }

    /// `t` plus this duration (calendar years and months; the day of the
    /// month is clamped, as 31 January + P1M is 28/29 February). `None` when
    /// the result is outside the calendar `time` represents (a client can
    /// set an expiry near year -9999 or 9999).
    pub fn after(self, t: OffsetDateTime) -> Option<OffsetDateTime> {
        add_months(t, self.months_total())?
            .checked_add(time::Duration::days(i64::from(self.days)))?
            .checked_add(time::Duration::seconds(i64::from(self.seconds)))
    }

    /// `t` minus this duration; `None` out of range, as for [`Self::after`].
    pub fn before(self, t: OffsetDateTime) -> Option<OffsetDateTime> {
        add_months(t, -self.months_total())?
            .checked_sub(time::Duration::days(i64::from(self.days)))?
            .checked_sub(time::Duration::seconds(i64::from(self.seconds)))
    }

    /// Whether the duration is at least `days` long (from the Unix epoch,
    /// where every duration keyrotor accepts is in range).
    pub(crate) fn at_least_days(self, days: i64) -> bool {
        let epoch = OffsetDateTime::UNIX_EPOCH;
        self.after(epoch)
            .is_some_and(|t| t - epoch >= time::Duration::days(days))
    }
}

fn add_months(t: OffsetDateTime, delta: i64) -> Option<OffsetDateTime> {
    let total = i64::from(t.month() as u8) - 1 + delta;
    let year = i64::from(t.year()).checked_add(total.div_euclid(12))?;
    let year = i32::try_from(year).ok()?;
    let month = time::Month::try_from(u8::try_from(total.rem_euclid(12) + 1).ok()?).ok()?;
    let day = t.day().min(month.length(year));
    time::Date::from_calendar_date(year, month, day)
        .ok()
        .map(|d| t.replace_date(d))
}

impl std::fmt::Display for IsoDuration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("P")?;
        if self.years > 0 {
            write!(f, "{}Y", self.years)?;
        }
        if self.months > 0 {
            write!(f, "{}M", self.months)?;
        }
        if self.days > 0 || (self.years == 0 && self.months == 0 && self.seconds == 0) {
            write!(f, "{}D", self.days)?;
        }
        if self.seconds > 0 {
            write!(f, "T{}S", self.seconds)?;
        }
        Ok(())
    }
}
