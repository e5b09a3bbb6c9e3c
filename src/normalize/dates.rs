//! Publication dates as news sources write them, turned into UTC instants.
//!
//! The regional sources Vestnik polls write dates every way imaginable: RFC 822 with Russian
//! weekday and month abbreviations, ISO 8601 with or without an offset, "26 ноября 2026 г.",
//! "вчера в 18:05", "5 минут назад". [`parse_date`] accepts all of them and only parses:
//! whether a date in the future is acceptable is the caller's policy.
//!
//! How: the text is normalised (case, `ё`, every kind of space, trailing punctuation), split into
//! a few kinds of token (numbers, words, clock times, numeric dates, offsets, parenthesised
//! comments), and read by two small grammars: time elapsed before `now` ("2 часа назад") and
//! calendar dates (everything else), where each token fills one field of the date and a field
//! filled twice rejects the text. There is no regex: the scanner walks chars, never byte
//! offsets, so no input can make it cut a UTF-8 sequence, and every number it reads is capped
//! in length, so no arithmetic on it can overflow.

use chrono::{
    DateTime, Datelike, Days, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime,
    TimeDelta, TimeZone, Utc,
};
use chrono_tz::Tz;

/// Longest text, in chars, taken for a date. Real ones are well under 100 chars; anything
/// longer is a wrongly mapped field, and the cap bounds the work done on hostile input.
const MAX_CHARS: usize = 200;

/// Longest digit run read as a number: nine digits always fit a `u32`.
const MAX_DIGITS: usize = 9;

/// Longest run of fractional-second digits accepted; digits past the ninth are dropped.
const MAX_FRACTION_DIGITS: usize = 18;

/// How far after `now` a date written without a year may land. Sources stamp items in their
/// own zone and their clocks drift, so a date a day or two ahead is still this year's.
const YEAR_INFERENCE_SLACK_DAYS: i64 = 2;

/// Parses a date as written by a news source; `tz` is the source's time zone, applied when the text carries no offset;
/// `now` anchors relative forms ("сегодня", "вчера", "5 минут назад") and years left out ("26 ноября, 10:30").
pub fn parse_date(text: &str, tz: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    // chrono panics converting instants within a day of the ends of its range; a `now` that
    // far off is a caller's bug, not something to anchor dates on.
    if !(-100_000..=100_000).contains(&now.year()) {
        return None;
    }
    let text = normalize(text)?;
    let tokens = tokenize(&text)?;
    parse_elapsed(&tokens, now).or_else(|| parse_calendar(&tokens, tz, now))
}

/// Lowercases, folds `ё` into `е` (sources use both), turns every kind of space into a plain
/// one, and drops surrounding spaces and the trailing dot or comma a date cut out of a
/// sentence keeps. None for empty or overlong text.
fn normalize(text: &str) -> Option<String> {
    let text = text.trim();
    if text.chars().count() > MAX_CHARS {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            'ё' | 'Ё' => out.push('е'),
            // Decomposed letters (base letter + combining mark), as some CMSes emit them.
            '\u{308}' if out.ends_with('е') => {}
            '\u{306}' if out.ends_with('и') => {
                out.pop();
                out.push('й');
            }
            '\u{306}' if out.ends_with('у') => {
                out.pop();
                out.push('ў');
            }
            // Zero-width spaces and the BOM are not `char::is_whitespace`, yet feeds pad with them.
            '\u{200b}' | '\u{2060}' | '\u{feff}' => out.push(' '),
            c if c.is_whitespace() => out.push(' '),
            c => out.extend(c.to_lowercase()),
        }
    }
    let trimmed = out.trim().trim_end_matches(['.', ',', ' ']);
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

/// One meaningful piece of a normalised date text.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// A lone run of digits ("26", "2026"), an English ordinal suffix ("26th") dropped.
    Number(Num),
    /// A run of letters, abbreviation dots dropped ("янв." → "янв", "a.m." → "am").
    Word(String),
    /// "10:30", "10:30:15", "10:30:15.250".
    Clock(Clock),
    /// "26.11.2026", "26.11.26", "2026.11.26", "2026-11-26", or "26.11" without a year.
    Date(NumericDate),
    /// "+0300", "+03:00", "-5": an offset from UTC.
    Offset(Offset),
    /// The inside of a parenthesised comment, as RFC 822 allows after the zone ("(MSK)").
    Comment(String),
}

/// A run of digits; the count of digits tells a year ("2026") from a day ("26").
#[derive(Debug, Clone, Copy, PartialEq)]
struct Num {
    value: u32,
    digits: usize,
}

/// A time of day as written, not yet checked for range.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Clock {
    hour: u32,
    minute: u32,
    second: u32,
    nano: u32,
}

/// The parts of an all-digit date, already put in order; not yet checked for range.
#[derive(Debug, Clone, Copy, PartialEq)]
struct NumericDate {
    year: Option<Num>,
    month: Num,
    day: Num,
}

/// An offset from UTC; `glued` when it directly follows a letter, as in "GMT+3" or "МСК+2",
/// where it shifts that zone rather than standing on its own.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Offset {
    seconds: i32,
    glued: bool,
}

/// Splits normalised text into tokens; None at any char no date form uses.
fn tokenize(text: &str) -> Option<Vec<Token>> {
    let mut sc = Scanner {
        chars: text.chars().collect(),
        pos: 0,
    };
    let mut tokens = Vec::new();
    while let Some(c) = sc.peek() {
        let token = if c.is_ascii_digit() {
            sc.numeric()?
        } else if c.is_alphabetic() {
            Token::Word(sc.word())
        } else if matches!(c, '+' | '-' | '−') && sc.peek_at(1).is_some_and(|d| d.is_ascii_digit())
        {
            Token::Offset(sc.offset()?)
        } else if c == '(' {
            Token::Comment(sc.comment()?)
        } else if is_separator(c) {
            sc.bump();
            continue;
        } else {
            return None;
        };
        tokens.push(token);
    }
    Some(tokens)
}

/// Chars that only separate parts: spaces, the punctuation sources put between date and time
/// ("26.11.2026, 10:30", "26 ноября 2026 | 10:30", "— 10:30"), a stray dot ("26. ноября") and
/// a dash not followed by a digit (one that is starts an offset).
fn is_separator(c: char) -> bool {
    matches!(c, ' ' | ',' | ';' | '|' | '.' | '-' | '–' | '—')
}

/// Walks the normalised text by chars: indexing a `Vec<char>` cannot split a UTF-8 sequence,
/// and every lookahead goes through `get`, so it cannot run past the end either.
struct Scanner {
    chars: Vec<char>,
    pos: usize,
}

impl Scanner {
    fn peek(&self) -> Option<char> {
        self.peek_at(0)
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) {
        self.pos += 1;
    }

    /// True when the next char is `c` and the one after it a digit: the joint inside a
    /// clock time, numeric date or offset.
    fn sees_before_digit(&self, c: char) -> bool {
        self.peek() == Some(c) && self.peek_at(1).is_some_and(|d| d.is_ascii_digit())
    }

    /// Reads a run of ASCII digits; None if there is none or it is longer than any date part.
    fn number(&mut self) -> Option<Num> {
        let start = self.pos;
        let mut value: u32 = 0;
        while let Some(digit) = self.peek().and_then(|c| c.to_digit(10)) {
            if self.pos - start == MAX_DIGITS {
                return None;
            }
            value = value * 10 + digit;
            self.bump();
        }
        let digits = self.pos - start;
        (digits > 0).then_some(Num { value, digits })
    }

    /// Reads whatever starts with a digit: a clock time, a numeric date or a lone number.
    fn numeric(&mut self) -> Option<Token> {
        let first = self.number()?;
        if self.sees_before_digit(':') {
            self.clock(first).map(Token::Clock)
        } else if self.sees_before_digit('.') {
            self.dotted_date(first).map(Token::Date)
        } else if first.digits == 4 && self.sees_before_digit('-') {
            self.iso_date(first).map(Token::Date)
        } else {
            self.skip_ordinal_suffix();
            Some(Token::Number(first))
        }
    }

    /// The rest of "10:30", "10:30:15" or "10:30:15.123456", the hour being read already.
    fn clock(&mut self, hour: Num) -> Option<Clock> {
        if hour.digits > 2 {
            return None;
        }
        self.bump();
        let minute = self.number().filter(|n| n.digits == 2)?;
        let mut clock = Clock {
            hour: hour.value,
            minute: minute.value,
            second: 0,
            nano: 0,
        };
        if self.sees_before_digit(':') {
            self.bump();
            clock.second = self.number().filter(|n| n.digits == 2)?.value;
            if self.sees_before_digit('.') {
                self.bump();
                clock.nano = self.fraction()?;
            }
        }
        // A fourth colon group makes it something other than a time of day.
        if self.sees_before_digit(':') {
            return None;
        }
        Some(clock)
    }

    /// Fractional seconds as nanoseconds; digits past the ninth are dropped, not rounded.
    fn fraction(&mut self) -> Option<u32> {
        let mut nano = 0;
        let mut scale = 100_000_000;
        let mut digits = 0;
        while let Some(digit) = self.peek().and_then(|c| c.to_digit(10)) {
            digits += 1;
            if digits > MAX_FRACTION_DIGITS {
                return None;
            }
            nano += digit * scale;
            scale /= 10;
            self.bump();
        }
        Some(nano)
    }

    /// The rest of "26.11.2026", "26.11.26", "2026.11.26" or "26.11", the first part being read.
    fn dotted_date(&mut self, first: Num) -> Option<NumericDate> {
        self.bump();
        let second = self.number()?;
        if !self.sees_before_digit('.') {
            // Two parts are a day and month; "2026.11" names no day.
            return (first.digits <= 2).then_some(NumericDate {
                year: None,
                month: second,
                day: first,
            });
        }
        self.bump();
        let third = self.number()?;
        if self.sees_before_digit('.') {
            return None;
        }
        Some(if first.digits == 4 {
            NumericDate {
                year: Some(first),
                month: second,
                day: third,
            }
        } else {
            NumericDate {
                year: Some(third),
                month: second,
                day: first,
            }
        })
    }

    /// The rest of ISO 8601's "2026-11-26", the year being read, with the "T" that may glue
    /// the time on ("2026-11-26T10:15") skipped.
    fn iso_date(&mut self, year: Num) -> Option<NumericDate> {
        self.bump();
        let month = self.number()?;
        if !self.sees_before_digit('-') {
            return None;
        }
        self.bump();
        let day = self.number()?;
        if self.sees_before_digit('-') {
            return None;
        }
        if self.sees_before_digit('t') {
            self.bump();
        }
        Some(NumericDate {
            year: Some(year),
            month,
            day,
        })
    }

    /// "+0300", "+03:00", "+3", "-05", the sign being next.
    fn offset(&mut self) -> Option<Offset> {
        let glued = self
            .pos
            .checked_sub(1)
            .and_then(|before| self.chars.get(before))
            .is_some_and(|c| c.is_alphabetic());
        let sign = if self.peek() == Some('+') { 1 } else { -1 };
        self.bump();
        let lead = self.number()?;
        let (hours, minutes) = match lead.digits {
            4 => (lead.value / 100, lead.value % 100),
            1 | 2 if self.sees_before_digit(':') => {
                self.bump();
                (lead.value, self.number().filter(|n| n.digits == 2)?.value)
            }
            1 | 2 => (lead.value, 0),
            _ => return None,
        };
        if hours > 23 || minutes > 59 {
            return None;
        }
        let seconds = i32::try_from(hours * 3600 + minutes * 60).ok()?;
        Some(Offset {
            seconds: sign * seconds,
            glued,
        })
    }

    /// A run of letters; dots inside or after it ("янв.", "a.m.") only mark abbreviations.
    fn word(&mut self) -> String {
        let mut word = String::new();
        while let Some(c) = self.peek() {
            if c.is_alphabetic() {
                word.push(c);
            } else if c != '.' {
                break;
            }
            self.bump();
        }
        word
    }

    /// Skips an English ordinal suffix glued to a day number ("26th", "1st").
    fn skip_ordinal_suffix(&mut self) {
        let rest = self.chars.get(self.pos..).unwrap_or_default();
        let letters: String = rest.iter().take_while(|c| c.is_alphabetic()).collect();
        if matches!(letters.as_str(), "st" | "nd" | "rd" | "th") {
            self.pos += 2;
        }
    }

    /// The inside of a parenthesised comment, nesting allowed; None if it never closes.
    fn comment(&mut self) -> Option<String> {
        self.bump();
        let mut depth = 1usize;
        let mut inside = String::new();
        while let Some(c) = self.peek() {
            self.bump();
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(inside);
                    }
                }
                _ => {}
            }
            inside.push(c);
        }
        None
    }
}

// ---------------------------------------------------------------------------------------------
// Elapsed time: "5 минут назад", "час назад", "только что"
// ---------------------------------------------------------------------------------------------

/// An instant counted back from `now`: "[count] unit назад/таму/ago", or "только что".
fn parse_elapsed(tokens: &[Token], now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    use Token::{Number, Word};
    let (count, unit) = match tokens {
        [Word(first), Word(second)] if is_just_now(first, second) => return Some(now),
        [Word(unit), Word(ago)] if is_ago(ago) => (1, unit),
        [Number(n), Word(unit), Word(ago)] if is_ago(ago) => (i64::from(n.value), unit),
        [Word(n), Word(unit), Word(ago)] if is_ago(ago) => (count_word(n)?, unit),
        _ => return None,
    };
    let seconds = count.checked_mul(unit_seconds(unit)?)?;
    now.checked_sub_signed(TimeDelta::try_seconds(seconds)?)
}

fn is_just_now(first: &str, second: &str) -> bool {
    matches!(
        (first, second),
        ("только", "что") | ("толькі", "што") | ("just", "now")
    )
}

fn is_ago(word: &str) -> bool {
    matches!(word, "назад" | "таму" | "ago")
}

/// Counts spelled out in words, as in "две минуты назад" or "an hour ago".
fn count_word(word: &str) -> Option<i64> {
    const COUNTS: [&[&str]; 5] = [
        &["один", "одна", "одну", "адзін", "адна", "адну"],
        &["два", "две", "пару", "пара", "дзве"],
        &["три", "тры"],
        &["четыре", "чатыры"],
        &["пять", "пяць"],
    ];
    const ENGLISH: [&[&str]; 5] = [
        &["one", "a", "an"],
        &["two"],
        &["three"],
        &["four"],
        &["five"],
    ];
    let index = [COUNTS, ENGLISH]
        .iter()
        .find_map(|table| table.iter().position(|words| words.contains(&word)))?;
    i64::try_from(index + 1).ok()
}

/// Length in seconds of a unit named in the Russian, Belarusian or English forms sources use.
fn unit_seconds(word: &str) -> Option<i64> {
    const UNITS: &[(&[&str], i64)] = &[
        (&["секунду", "секунды", "секунд", "сек"], 1),
        (&["second", "seconds", "sec", "secs"], 1),
        (&["минуту", "минуты", "минут", "мин"], 60),
        (&["хвіліну", "хвіліны", "хвілін", "хв"], 60),
        (&["minute", "minutes", "min", "mins"], 60),
        (&["полчаса", "паўгадзіны"], 1_800),
        (&["час", "часа", "часов", "ч"], 3_600),
        (&["гадзіну", "гадзіны", "гадзін", "гадз"], 3_600),
        (&["hour", "hours", "hr", "hrs"], 3_600),
        (&["день", "дня", "дней", "дзень", "дні", "дзен"], 86_400),
        (&["day", "days"], 86_400),
        (&["неделю", "недели", "недель"], 604_800),
        (&["тыдзень", "тыдні", "тыдняў"], 604_800),
        (&["week", "weeks"], 604_800),
    ];
    UNITS
        .iter()
        .find(|(words, _)| words.contains(&word))
        .map(|(_, seconds)| *seconds)
}

// ---------------------------------------------------------------------------------------------
// Calendar dates: everything else
// ---------------------------------------------------------------------------------------------

/// A date named by day, month and maybe year, or by "сегодня"/"вчера", with maybe a time of day
/// and a zone; the order of the parts is free, so one reading covers RFC 822, ISO 8601, the
/// Russian and the English forms alike.
fn parse_calendar(tokens: &[Token], tz: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let fields = read_fields(tokens)?;
    let time = fields.time_of_day()?;
    if let Some(days_back) = fields.days_back {
        if fields.day.is_some() || fields.month.is_some() || fields.year.is_some() {
            return None;
        }
        let today = now.with_timezone(&tz).date_naive();
        let date = today.checked_sub_days(Days::new(days_back))?;
        return to_instant(date.and_time(time), fields.offset, tz);
    }
    let (month, day) = (fields.month?, fields.day?);
    // "26.11" alone could as well be a time ("10.30"); next to a real time it is a date.
    if fields.bare_day_month && fields.clock.is_none() {
        return None;
    }
    match fields.year {
        Some(year) => {
            let date = NaiveDate::from_ymd_opt(year, month, day)?;
            to_instant(date.and_time(time), fields.offset, tz)
        }
        None => infer_year(month, day, time, fields.offset, tz, now),
    }
}

/// What the tokens of a calendar date say; each field is filled at most once.
#[derive(Debug, Default)]
struct Fields {
    day: Option<u32>,
    month: Option<u32>,
    year: Option<i32>,
    clock: Option<Clock>,
    meridiem: Option<Meridiem>,
    /// Seconds east of UTC, when the text names a zone or an offset.
    offset: Option<i32>,
    /// Days before today named by "сегодня" (0), "вчера" (1), "позавчера" (2).
    days_back: Option<u64>,
    /// A weekday name was read; a second one makes the text garbage.
    weekday: Option<()>,
    /// The date came as "26.11", a day and month without a year.
    bare_day_month: bool,
}

#[derive(Debug, Clone, Copy)]
enum Meridiem {
    Am,
    Pm,
}

/// Fills `slot` unless it is filled already: a text naming two months or two times is garbage.
fn fill<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

/// Reads every token into [`Fields`]; None at a token that fits nowhere.
fn read_fields(tokens: &[Token]) -> Option<Fields> {
    let mut fields = Fields::default();
    let mut i = 0;
    while let Some(token) = tokens.get(i) {
        i += 1;
        match token {
            Token::Number(n) => fields.number(*n)?,
            Token::Date(date) => fields.numeric_date(*date)?,
            Token::Clock(clock) => fill(&mut fields.clock, *clock)?,
            Token::Offset(offset) => fields.zone(offset.seconds)?,
            Token::Comment(text) => fields.comment(text),
            Token::Word(word) => match (shiftable_zone(word), tokens.get(i)) {
                (Some(base), Some(Token::Offset(shift))) if shift.glued => {
                    i += 1;
                    fields.zone(base + shift.seconds)?;
                }
                // "в 10:30": a preposition left dangling ("26 ноября в") marks a cut text.
                (_, next) if is_time_preposition(word) => {
                    if !matches!(next, Some(Token::Clock(_))) {
                        return None;
                    }
                }
                _ => fields.word(word)?,
            },
        }
    }
    Some(fields)
}

impl Fields {
    /// A lone number is the day, a four-digit year, or, once a named month and the day are
    /// read, RFC 822's two-digit year ("12 May 24").
    fn number(&mut self, n: Num) -> Option<()> {
        match n.digits {
            4 => fill(&mut self.year, year_from(n)?),
            1 | 2 if self.day.is_none() => fill(&mut self.day, n.value),
            2 if self.month.is_some() => fill(&mut self.year, two_digit_year(n.value)),
            _ => None,
        }
    }

    fn numeric_date(&mut self, date: NumericDate) -> Option<()> {
        if date.day.digits > 2 || date.month.digits > 2 {
            return None;
        }
        fill(&mut self.day, date.day.value)?;
        fill(&mut self.month, date.month.value)?;
        match date.year {
            Some(year) => fill(&mut self.year, year_from(year)?),
            None => {
                self.bare_day_month = true;
                Some(())
            }
        }
    }

    /// A zone or offset qualifies a time of day; one before any time ("26 -11") is no zone.
    fn zone(&mut self, seconds: i32) -> Option<()> {
        self.clock?;
        fill(&mut self.offset, seconds)
    }

    /// RFC 822 comments are ignored, except that "10:30 (мск)" or "+0300 (MSK)" may name the
    /// zone when nothing else did.
    fn comment(&mut self, text: &str) {
        if self.offset.is_none() && self.clock.is_some() {
            if let Some(seconds) = zone_offset(text.trim()) {
                self.offset = Some(seconds);
            }
        }
    }

    fn word(&mut self, word: &str) -> Option<()> {
        if let Some(month) = month_number(word) {
            fill(&mut self.month, month)
        } else if let Some(days) = days_back(word) {
            fill(&mut self.days_back, days)
        } else if let Some(seconds) = zone_offset(word) {
            self.zone(seconds)
        } else if let Some(meridiem) = meridiem(word) {
            fill(&mut self.meridiem, meridiem)
        } else if is_weekday(word) {
            // Read and ignored, not checked: feeds often get the weekday wrong, the date right.
            fill(&mut self.weekday, ())
        } else if is_year_word(word) {
            Some(())
        } else {
            None
        }
    }

    /// The time of day the fields name (midnight when none); None if it does not exist.
    fn time_of_day(&self) -> Option<NaiveTime> {
        let Some(clock) = self.clock else {
            return self.meridiem.is_none().then_some(NaiveTime::MIN);
        };
        let hour = match self.meridiem {
            None => clock.hour,
            Some(_) if clock.hour == 0 || clock.hour > 12 => return None,
            Some(Meridiem::Am) => clock.hour % 12,
            Some(Meridiem::Pm) => clock.hour % 12 + 12,
        };
        // RFC 822 allows a leap second, ":60"; chrono spells it 59 s plus a whole second of nanos.
        let (second, nano) = if clock.second == 60 {
            (59, clock.nano + 1_000_000_000)
        } else {
            (clock.second, clock.nano)
        };
        NaiveTime::from_hms_nano_opt(hour, clock.minute, second, nano)
    }
}

/// A year written in full ("2026") or, as RFC 822 and "26.11.26" do, in two digits.
fn year_from(n: Num) -> Option<i32> {
    match n.digits {
        4 => i32::try_from(n.value).ok(),
        2 => Some(two_digit_year(n.value)),
        _ => None,
    }
}

/// RFC 5322's reading of two-digit years: 00–49 are 2000–2049, 50–99 are 1950–1999.
fn two_digit_year(value: u32) -> i32 {
    let value = i32::try_from(value % 100).unwrap_or_default();
    if value < 50 {
        2000 + value
    } else {
        1900 + value
    }
}

/// Month names in the forms sources write them: Russian genitive ("ноября"), nominative
/// ("ноябрь") and abbreviated ("ноя", "нояб"); the same for Belarusian; English full and short.
fn month_number(word: &str) -> Option<u32> {
    const RUSSIAN: [&[&str]; 12] = [
        &["января", "январь", "янв"],
        &["февраля", "февраль", "фев", "февр"],
        &["марта", "март", "мар"],
        &["апреля", "апрель", "апр"],
        &["мая", "май"],
        &["июня", "июнь", "июн"],
        &["июля", "июль", "июл"],
        &["августа", "август", "авг"],
        &["сентября", "сентябрь", "сен", "сент"],
        &["октября", "октябрь", "окт"],
        &["ноября", "ноябрь", "ноя", "нояб"],
        &["декабря", "декабрь", "дек"],
    ];
    const BELARUSIAN: [&[&str]; 12] = [
        &["студзеня", "студзень", "студз"],
        &["лютага", "люты", "лют"],
        &["сакавіка", "сакавік", "сак"],
        &["красавіка", "красавік", "крас"],
        &["мая", "май"],
        &["чэрвеня", "чэрвень", "чэрв"],
        &["ліпеня", "ліпень", "ліп"],
        &["жніўня", "жнівень", "жнів"],
        &["верасня", "верасень", "вер"],
        &["кастрычніка", "кастрычнік", "кастр"],
        &["лістапада", "лістапад", "ліст"],
        &["снежня", "снежань", "снеж"],
    ];
    const ENGLISH: [&[&str]; 12] = [
        &["january", "jan"],
        &["february", "feb"],
        &["march", "mar"],
        &["april", "apr"],
        &["may"],
        &["june", "jun"],
        &["july", "jul"],
        &["august", "aug"],
        &["september", "sep", "sept"],
        &["october", "oct"],
        &["november", "nov"],
        &["december", "dec"],
    ];
    let index = [RUSSIAN, BELARUSIAN, ENGLISH]
        .iter()
        .find_map(|names| names.iter().position(|forms| forms.contains(&word)))?;
    u32::try_from(index + 1).ok()
}

/// "сегодня", "вчера", "позавчера" and their Belarusian and English counterparts.
fn days_back(word: &str) -> Option<u64> {
    Some(match word {
        "сегодня" | "сення" | "today" => 0,
        "вчера" | "учора" | "ўчора" | "yesterday" => 1,
        "позавчера" | "пазаўчора" | "заўчора" => 2,
        _ => return None,
    })
}

/// Seconds east of UTC of the zone names RFC 822 and Russian sources use.
fn zone_offset(word: &str) -> Option<i32> {
    const HOUR: i32 = 3_600;
    Some(match word {
        "gmt" | "ut" | "utc" | "z" => 0,
        "est" => -5 * HOUR,
        "edt" => -4 * HOUR,
        "cst" => -6 * HOUR,
        "cdt" => -5 * HOUR,
        "mst" => -7 * HOUR,
        "mdt" => -6 * HOUR,
        "pst" => -8 * HOUR,
        "pdt" => -7 * HOUR,
        "cet" => HOUR,
        "cest" | "eet" => 2 * HOUR,
        "eest" | "msk" | "мск" => 3 * HOUR,
        "msd" => 4 * HOUR,
        _ => return None,
    })
}

/// Zones a glued offset shifts: "UTC+3", "GMT+03:00", and "МСК+2" as Russian sources in other
/// zones write their local time.
fn shiftable_zone(word: &str) -> Option<i32> {
    match word {
        "gmt" | "ut" | "utc" | "msk" | "мск" => zone_offset(word),
        _ => None,
    }
}

fn meridiem(word: &str) -> Option<Meridiem> {
    match word {
        "am" => Some(Meridiem::Am),
        "pm" => Some(Meridiem::Pm),
        _ => None,
    }
}

/// Weekday names, full and abbreviated, in Russian, Belarusian and English.
fn is_weekday(word: &str) -> bool {
    const WEEKDAYS: [&[&str]; 7] = [
        &["понедельник", "пн", "панядзелак", "monday", "mon"],
        &["вторник", "вт", "аўторак", "аў", "tuesday", "tue", "tues"],
        &["среда", "ср", "серада", "wednesday", "wed"],
        &["четверг", "чт", "чацвер", "чц", "thursday", "thu", "thurs"],
        &["пятница", "пт", "пятніца", "friday", "fri"],
        &["суббота", "сб", "субота", "saturday", "sat"],
        &["воскресенье", "вс", "нядзеля", "нд", "sunday", "sun"],
    ];
    WEEKDAYS.iter().any(|names| names.contains(&word))
}

/// "г."/"года" after the year: they only mark it.
fn is_year_word(word: &str) -> bool {
    matches!(word, "г" | "год" | "года")
}

/// "в"/"у"/"at" before the time of day.
fn is_time_preposition(word: &str) -> bool {
    matches!(word, "в" | "во" | "у" | "ў" | "at")
}

/// A year left out ("26 ноября") is the one that puts the date closest to `now` without
/// landing more than [`YEAR_INFERENCE_SLACK_DAYS`] after it: feeds list recent items, so
/// "31 декабря" read on 1 January is last year's, while "1 января" read late on 31 December
/// is tomorrow's, as sources ahead of the reader in time zone or clock stamp it.
fn infer_year(
    month: u32,
    day: u32,
    time: NaiveTime,
    offset: Option<i32>,
    tz: Tz,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let latest = now.checked_add_signed(TimeDelta::try_days(YEAR_INFERENCE_SLACK_DAYS)?)?;
    let this_year = now.with_timezone(&tz).year();
    // Eight years back always reaches the last 29 February.
    (this_year - 8..=this_year + 1)
        .filter_map(|year| NaiveDate::from_ymd_opt(year, month, day))
        .filter_map(|date| to_instant(date.and_time(time), offset, tz))
        .filter(|instant| *instant <= latest)
        .min_by_key(|instant| (*instant - now).abs())
}

/// The instant of a local date and time: at the offset the text named, else in the source's zone.
fn to_instant(local: NaiveDateTime, offset: Option<i32>, tz: Tz) -> Option<DateTime<Utc>> {
    match offset {
        Some(seconds) => FixedOffset::east_opt(seconds)?
            .from_local_datetime(&local)
            .single()
            .map(|instant| instant.with_timezone(&Utc)),
        None => resolve_in_zone(local, tz),
    }
}

/// A local time in `tz`. One that a DST fall-back repeats takes its earlier instant; one that
/// a spring-forward gap skips takes the first instant after the gap (02:30 in a 02:00→03:00
/// gap becomes 03:00), the earliest instant whose local time is not before the one written.
fn resolve_in_zone(local: NaiveDateTime, tz: Tz) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(instant) => Some(instant.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, second) => Some(first.min(second).with_timezone(&Utc)),
        LocalResult::None => first_instant_not_before(local, tz),
    }
}

/// Binary search, by whole seconds, for the first instant whose local time in `tz` is not
/// before `local`. Offsets stay within a day, so `local` read as UTC minus a day is surely
/// before it and plus a day surely after; zone transitions fall on whole seconds.
fn first_instant_not_before(local: NaiveDateTime, tz: Tz) -> Option<DateTime<Utc>> {
    let day = TimeDelta::try_days(1)?;
    let as_utc = local.and_utc();
    let mut before = as_utc.checked_sub_signed(day)?.timestamp();
    let mut after = as_utc.checked_add_signed(day)?.timestamp();
    while after - before > 1 {
        let middle = before + (after - before) / 2;
        let instant = DateTime::from_timestamp(middle, 0)?;
        if instant.with_timezone(&tz).naive_local() >= local {
            after = middle;
        } else {
            before = middle;
        }
    }
    DateTime::from_timestamp(after, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::{Minsk, Moscow};
    use chrono_tz::UTC;

    /// The reference "now": Thursday 26 November 2026, 12:00 UTC, 15:00 in Moscow and Minsk.
    fn now() -> DateTime<Utc> {
        utc(2026, 11, 26, 12, 0, 0)
    }

    fn utc(year: i32, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(year, month, day, hour, minute, second)
            .single()
            .expect("valid test instant")
    }

    fn parse(text: &str, tz: Tz) -> Option<DateTime<Utc>> {
        parse_date(text, tz, now())
    }

    /// Asserts that each text parses, in `tz` at [`now`], to `expected`.
    fn assert_all(tz: Tz, expected: DateTime<Utc>, texts: &[&str]) {
        for text in texts {
            assert_eq!(parse(text, tz), Some(expected), "{text:?} in {tz}");
        }
    }

    // --- RFC 2822 / RFC 822 ---

    #[test]
    fn rfc2822_full() {
        assert_all(
            UTC,
            utc(2026, 11, 24, 7, 15, 0),
            &[
                "Tue, 24 Nov 2026 10:15:00 +0300",
                "tue, 24 nov 2026 10:15:00 +0300",
            ],
        );
    }

    #[test]
    fn rfc2822_same_instant_whatever_the_source_zone() {
        for tz in [UTC, Moscow, Minsk, chrono_tz::America::New_York] {
            assert_eq!(
                parse("Tue, 24 Nov 2026 10:15:00 +0300", tz),
                Some(utc(2026, 11, 24, 7, 15, 0))
            );
        }
    }

    #[test]
    fn rfc2822_two_digit_years() {
        assert_all(
            UTC,
            utc(2024, 5, 12, 11, 0, 0),
            &["Sun, 12 May 24 14:00:00 +0300"],
        );
        assert_all(
            UTC,
            utc(1999, 1, 1, 0, 0, 0),
            &["Fri, 01 Jan 99 00:00:00 GMT"],
        );
        assert_all(UTC, utc(2049, 1, 1, 0, 0, 0), &["01 Jan 49 00:00:00 GMT"]);
        assert_all(UTC, utc(1950, 1, 1, 0, 0, 0), &["01 Jan 50 00:00:00 GMT"]);
    }

    #[test]
    fn rfc2822_missing_seconds_and_weekday() {
        assert_all(
            UTC,
            utc(2026, 11, 24, 7, 15, 0),
            &[
                "Tue, 24 Nov 2026 10:15 +0300",
                "24 Nov 2026 10:15:00 +0300",
                "24 Nov 2026 10:15 +0300",
                "Tue 24 Nov 2026 10:15 +03:00",
            ],
        );
    }

    #[test]
    fn rfc2822_named_zones() {
        let cases = [
            ("GMT", 0),
            ("UT", 0),
            ("UTC", 0),
            ("Z", 0),
            ("EST", -5),
            ("EDT", -4),
            ("CST", -6),
            ("CDT", -5),
            ("MST", -7),
            ("MDT", -6),
            ("PST", -8),
            ("PDT", -7),
            ("MSK", 3),
            ("MSD", 4),
            ("EET", 2),
            ("EEST", 3),
            ("CET", 1),
            ("CEST", 2),
            ("мск", 3),
        ];
        for (zone, hours) in cases {
            let text = format!("Tue, 24 Nov 2026 12:00:00 {zone}");
            let expected = utc(2026, 11, 24, 12, 0, 0) - TimeDelta::hours(hours);
            for tz in [UTC, Moscow] {
                assert_eq!(parse(&text, tz), Some(expected), "{text}");
            }
        }
    }

    #[test]
    fn rfc2822_numeric_offsets() {
        let cases = [
            ("+0300", 3 * 60),
            ("+03:00", 3 * 60),
            ("-0500", -5 * 60),
            ("-05:00", -5 * 60),
            ("+0530", 5 * 60 + 30),
            ("-0000", 0),
            ("+0000", 0),
        ];
        for (offset, minutes) in cases {
            let text = format!("Tue, 24 Nov 2026 12:00:00 {offset}");
            let expected = utc(2026, 11, 24, 12, 0, 0) - TimeDelta::minutes(minutes);
            assert_eq!(parse(&text, Moscow), Some(expected), "{text}");
        }
    }

    #[test]
    fn rfc2822_russian_names() {
        assert_all(
            UTC,
            utc(2024, 5, 12, 11, 0, 0),
            &["Вс, 12 мая 2024 14:00:00 +0300"],
        );
        assert_all(
            UTC,
            utc(2026, 11, 24, 7, 15, 0),
            &["Пн, 24 ноя 2026 10:15:00 MSK"],
        );
        assert_all(
            UTC,
            utc(2026, 1, 5, 6, 0, 0),
            &["Пн, 05 янв. 2026 09:00:00 +0300"],
        );
    }

    #[test]
    fn rfc2822_without_zone_uses_source_zone() {
        assert_all(
            Moscow,
            utc(2026, 11, 24, 7, 15, 0),
            &["Tue, 24 Nov 2026 10:15:00"],
        );
        assert_all(
            UTC,
            utc(2026, 11, 24, 10, 15, 0),
            &["Tue, 24 Nov 2026 10:15:00"],
        );
    }

    #[test]
    fn rfc2822_comments_and_glued_offsets() {
        // A numeric offset wins over the zone in the comment.
        assert_all(
            UTC,
            utc(2003, 7, 1, 8, 52, 37),
            &["Tue, 1 Jul 2003 10:52:37 +0200 (CEST)"],
        );
        // A comment naming the zone is used when nothing else did.
        assert_all(
            UTC,
            utc(2026, 11, 26, 7, 30, 0),
            &["26 ноября 2026, 10:30 (мск)"],
        );
        // Other comments are ignored.
        assert_all(
            UTC,
            utc(2026, 11, 26, 10, 30, 0),
            &["26 ноября 2026 10:30 (обновлено)"],
        );
        assert_all(
            UTC,
            utc(2026, 11, 26, 7, 30, 0),
            &[
                "26 Nov 2026 10:30 GMT+3",
                "26 Nov 2026 10:30 UTC+03:00",
                "26.11.2026 09:30 МСК-1",
            ],
        );
        // МСК+2 is Yekaterinburg time, five hours east of UTC.
        assert_all(
            UTC,
            utc(2026, 11, 26, 5, 30, 0),
            &["26.11.2026 10:30 мск+2"],
        );
    }

    #[test]
    fn rfc2822_weekday_is_not_checked() {
        // 24 Nov 2026 is a Tuesday; sources often get the weekday wrong and the date right.
        assert_all(
            UTC,
            utc(2026, 11, 24, 10, 15, 0),
            &["Fri, 24 Nov 2026 10:15:00 GMT"],
        );
    }

    #[test]
    fn rfc2822_leap_second() {
        let parsed = parse("Sat, 31 Dec 2016 23:59:60 +0000", UTC).expect("leap second");
        assert_eq!(
            parsed.timestamp(),
            utc(2016, 12, 31, 23, 59, 59).timestamp()
        );
    }

    // --- RFC 3339 / ISO 8601 ---

    #[test]
    fn iso_with_offset() {
        assert_all(
            Moscow,
            utc(2026, 11, 24, 7, 15, 0),
            &[
                "2026-11-24T10:15:00+03:00",
                "2026-11-24t10:15:00+03:00",
                "2026-11-24T10:15:00+0300",
                "2026-11-24T07:15:00Z",
                "2026-11-24T07:15:00z",
                "2026-11-24 07:15:00Z",
                "2026-11-24T02:15:00-05:00",
                "2026-11-24T10:15+03:00",
            ],
        );
    }

    #[test]
    fn iso_fractional_seconds() {
        let expected = utc(2026, 11, 24, 7, 15, 0) + TimeDelta::milliseconds(123);
        assert_eq!(parse("2026-11-24T10:15:00.123+03:00", UTC), Some(expected));
        let nanos = utc(2026, 11, 24, 7, 15, 0) + TimeDelta::nanoseconds(123_456_789);
        assert_eq!(parse("2026-11-24T07:15:00.123456789Z", UTC), Some(nanos));
        // Digits past nanoseconds are dropped.
        assert_eq!(
            parse("2026-11-24T07:15:00.1234567891234Z", UTC),
            Some(nanos)
        );
    }

    #[test]
    fn iso_without_offset_uses_source_zone() {
        for text in [
            "2026-11-24 10:15:00",
            "2026-11-24T10:15:00",
            "2026-11-24T10:15",
        ] {
            assert_eq!(
                parse(text, Moscow),
                Some(utc(2026, 11, 24, 7, 15, 0)),
                "{text}"
            );
            assert_eq!(
                parse(text, Minsk),
                Some(utc(2026, 11, 24, 7, 15, 0)),
                "{text}"
            );
            assert_eq!(
                parse(text, UTC),
                Some(utc(2026, 11, 24, 10, 15, 0)),
                "{text}"
            );
        }
    }

    #[test]
    fn iso_date_alone_is_local_midnight() {
        assert_eq!(
            parse("2026-11-24", Minsk),
            Some(utc(2026, 11, 23, 21, 0, 0))
        );
        assert_eq!(
            parse("2026-11-24", Moscow),
            Some(utc(2026, 11, 23, 21, 0, 0))
        );
        assert_eq!(parse("2026-11-24", UTC), Some(utc(2026, 11, 24, 0, 0, 0)));
    }

    // --- Russian forms ---

    #[test]
    fn russian_month_name_with_year() {
        assert_all(
            Moscow,
            utc(2026, 11, 25, 21, 0, 0),
            &[
                "26 ноября 2026",
                "26 ноября 2026 г.",
                "26 ноября 2026 г",
                "26 ноября 2026 года",
                "26 ноябрь 2026",
                "26 ноя 2026",
                "26 нояб. 2026",
                "26 НОЯБРЯ 2026",
                "Четверг, 26 ноября 2026",
                "26 ноября 2026, четверг",
            ],
        );
    }

    #[test]
    fn russian_month_name_with_time() {
        let texts = [
            "26 ноября 2026 года, 10:30",
            "26 ноября 2026 в 10:30",
            "26 ноября 2026 г. в 10:30",
            "26 ноября 2026, 10:30",
            "26 ноя 2026 10:30",
            "10:30, 26 ноября 2026",
            "26 ноября 2026 — 10:30",
            "26 ноября 2026 | 10:30",
        ];
        for text in texts {
            assert_eq!(
                parse(text, Moscow),
                Some(utc(2026, 11, 26, 7, 30, 0)),
                "{text}"
            );
            assert_eq!(
                parse(text, Minsk),
                Some(utc(2026, 11, 26, 7, 30, 0)),
                "{text}"
            );
            assert_eq!(
                parse(text, UTC),
                Some(utc(2026, 11, 26, 10, 30, 0)),
                "{text}"
            );
        }
    }

    #[test]
    fn russian_month_name_without_year() {
        assert_all(
            Moscow,
            utc(2026, 11, 26, 7, 30, 0),
            &["26 ноября, 10:30", "26 ноября в 10:30"],
        );
        assert_all(Moscow, utc(2026, 11, 25, 21, 0, 0), &["26 ноября"]);
        // Earlier this year, and later in the year (so last year's).
        assert_all(Minsk, utc(2026, 3, 8, 6, 0, 0), &["8 марта, 09:00"]);
        assert_all(UTC, utc(2025, 12, 25, 0, 0, 0), &["25 декабря"]);
        // Up to two days ahead is still this year's.
        assert_all(UTC, utc(2026, 11, 28, 0, 0, 0), &["28 ноября"]);
        assert_all(UTC, utc(2025, 11, 29, 0, 0, 0), &["29 ноября"]);
    }

    #[test]
    fn all_month_names() {
        let months: [&[&str]; 12] = [
            &[
                "января",
                "январь",
                "янв",
                "янв.",
                "jan",
                "january",
                "студзеня",
            ],
            &[
                "февраля",
                "февраль",
                "фев",
                "февр.",
                "feb",
                "february",
                "лютага",
            ],
            &["марта", "март", "мар", "mar", "march", "сакавіка"],
            &["апреля", "апрель", "апр", "apr", "april", "красавіка"],
            &["мая", "май", "may"],
            &["июня", "июнь", "июн", "jun", "june", "чэрвеня"],
            &["июля", "июль", "июл", "jul", "july", "ліпеня"],
            &["августа", "август", "авг", "aug", "august", "жніўня"],
            &[
                "сентября",
                "сентябрь",
                "сент",
                "сент.",
                "сен",
                "sep",
                "sept",
                "верасня",
            ],
            &["октября", "октябрь", "окт", "oct", "october", "кастрычніка"],
            &["ноября", "ноябрь", "ноя", "nov", "november", "лістапада"],
            &["декабря", "декабрь", "дек", "dec", "december", "снежня"],
        ];
        for (index, names) in months.iter().enumerate() {
            let month = u32::try_from(index + 1).expect("small");
            for name in *names {
                let text = format!("5 {name} 2026 12:00");
                assert_eq!(
                    parse(&text, UTC),
                    Some(utc(2026, month, 5, 12, 0, 0)),
                    "{text}"
                );
                let upper = text.to_uppercase();
                assert_eq!(
                    parse(&upper, UTC),
                    Some(utc(2026, month, 5, 12, 0, 0)),
                    "{upper}"
                );
            }
        }
    }

    #[test]
    fn numeric_dates() {
        assert_all(
            Moscow,
            utc(2026, 11, 25, 21, 0, 0),
            &["26.11.2026", "26.11.26", "2026.11.26", "26.11.2026 г."],
        );
        assert_all(
            Moscow,
            utc(2026, 11, 26, 7, 30, 0),
            &[
                "26.11.2026 10:30",
                "26.11.2026, 10:30",
                "26.11.26 10:30",
                "10:30 26.11.2026",
                "10:30, 26.11.2026",
                "26.11.2026 в 10:30",
                "2026.11.26 10:30",
                "26.11, 10:30",
            ],
        );
        assert_all(
            Moscow,
            utc(2026, 11, 26, 7, 30, 15),
            &["26.11.2026, 10:30:15"],
        );
        assert_all(
            Minsk,
            utc(2026, 1, 5, 6, 0, 0),
            &["5.1.2026 9:00", "05.01.2026 09:00"],
        );
    }

    #[test]
    fn today_and_yesterday() {
        // now is 15:00 on 26 November in Moscow and Minsk.
        for tz in [Moscow, Minsk] {
            assert_eq!(
                parse("сегодня, 10:30", tz),
                Some(utc(2026, 11, 26, 7, 30, 0))
            );
            assert_eq!(
                parse("Сегодня в 10:30", tz),
                Some(utc(2026, 11, 26, 7, 30, 0))
            );
            assert_eq!(
                parse("вчера в 18:05", tz),
                Some(utc(2026, 11, 25, 15, 5, 0))
            );
            assert_eq!(
                parse("позавчера 09:00", tz),
                Some(utc(2026, 11, 24, 6, 0, 0))
            );
            assert_eq!(parse("вчера", tz), Some(utc(2026, 11, 24, 21, 0, 0)));
        }
        assert_eq!(
            parse("вчера в 18:05", UTC),
            Some(utc(2026, 11, 25, 18, 5, 0))
        );
        assert_eq!(
            parse("today at 10:30", UTC),
            Some(utc(2026, 11, 26, 10, 30, 0))
        );
        assert_eq!(
            parse("yesterday, 10:30 am", UTC),
            Some(utc(2026, 11, 25, 10, 30, 0))
        );
        assert_eq!(
            parse("сегодня 10:30 мск", UTC),
            Some(utc(2026, 11, 26, 7, 30, 0))
        );
    }

    #[test]
    fn today_is_the_source_zones_today() {
        // 22:30 UTC on 26 November is already 01:30 on the 27th in Moscow.
        let late = utc(2026, 11, 26, 22, 30, 0);
        assert_eq!(
            parse_date("вчера в 23:00", Moscow, late),
            Some(utc(2026, 11, 26, 20, 0, 0))
        );
        assert_eq!(
            parse_date("вчера в 23:00", UTC, late),
            Some(utc(2026, 11, 25, 23, 0, 0))
        );
        assert_eq!(
            parse_date("сегодня, 00:15", Minsk, late),
            Some(utc(2026, 11, 26, 21, 15, 0))
        );
    }

    #[test]
    fn elapsed_time() {
        let cases = [
            ("5 минут назад", TimeDelta::minutes(5)),
            ("1 минуту назад", TimeDelta::minutes(1)),
            ("минуту назад", TimeDelta::minutes(1)),
            ("2 минуты назад", TimeDelta::minutes(2)),
            ("две минуты назад", TimeDelta::minutes(2)),
            ("30 секунд назад", TimeDelta::seconds(30)),
            ("2 часа назад", TimeDelta::hours(2)),
            ("час назад", TimeDelta::hours(1)),
            ("Час назад", TimeDelta::hours(1)),
            ("11 часов назад", TimeDelta::hours(11)),
            ("полчаса назад", TimeDelta::minutes(30)),
            ("3 дня назад", TimeDelta::days(3)),
            ("неделю назад", TimeDelta::days(7)),
            ("только что", TimeDelta::zero()),
            ("Только что", TimeDelta::zero()),
            ("5 мин назад", TimeDelta::minutes(5)),
            ("5 хвілін таму", TimeDelta::minutes(5)),
            ("гадзіну таму", TimeDelta::hours(1)),
            ("3 дзён таму", TimeDelta::days(3)),
            ("толькі што", TimeDelta::zero()),
            ("5 minutes ago", TimeDelta::minutes(5)),
            ("an hour ago", TimeDelta::hours(1)),
            ("just now", TimeDelta::zero()),
        ];
        for (text, delta) in cases {
            for tz in [UTC, Moscow] {
                assert_eq!(parse(text, tz), Some(now() - delta), "{text}");
            }
        }
    }

    #[test]
    fn english_forms() {
        assert_all(
            UTC,
            utc(2026, 11, 26, 0, 0, 0),
            &["November 26, 2026", "Nov 26 2026", "Nov. 26th, 2026"],
        );
        assert_all(
            UTC,
            utc(2026, 11, 26, 10, 30, 0),
            &[
                "26 November 2026 10:30",
                "Nov 26, 2026 10:30 AM",
                "Nov 26, 2026 10:30 a.m.",
            ],
        );
        assert_all(
            Moscow,
            utc(2026, 11, 26, 19, 30, 0),
            &["Nov 26, 2026 10:30 PM"],
        );
        assert_all(UTC, utc(2026, 11, 26, 0, 5, 0), &["Nov 26, 2026 12:05 AM"]);
        assert_all(UTC, utc(2026, 11, 26, 12, 5, 0), &["Nov 26, 2026 12:05 pm"]);
        assert_all(
            UTC,
            utc(2026, 11, 26, 10, 30, 0),
            &["Thursday, November 26, 2026 at 10:30"],
        );
    }

    #[test]
    fn case_whitespace_and_trailing_punctuation() {
        assert_all(
            Moscow,
            utc(2026, 11, 26, 7, 30, 0),
            &[
                "  26 ноября 2026, 10:30  ",
                "\u{a0}26\u{a0}ноября\u{a0}2026\u{a0}г.,\u{a0}10:30\u{a0}",
                "26\u{202f}НОЯБРЯ\u{2009}2026 В 10:30.",
                "\u{feff}26.11.2026 10:30,",
                "\t26.11.2026\n10:30\r\n",
                "26.11.2026 10:30.,",
            ],
        );
    }

    #[test]
    fn yo_and_decomposed_letters() {
        let expected = Some(utc(2026, 11, 26, 7, 30, 0));
        assert_eq!(parse("сёння ў 10:30", Minsk), expected);
        assert_eq!(parse("СЁННЯ у 10:30", Minsk), expected);
        assert_eq!(parse("сення у 10:30", Minsk), expected);
        // "сёння" with the diaeresis as a combining mark.
        assert_eq!(parse("се\u{308}ння у 10:30", Minsk), expected);
        // "май" with the breve as a combining mark.
        assert_eq!(
            parse("1 маи\u{306} 2026", UTC),
            Some(utc(2026, 5, 1, 0, 0, 0))
        );
    }

    #[test]
    fn belarusian_forms() {
        assert_all(
            Minsk,
            utc(2026, 11, 26, 7, 30, 0),
            &["26 лістапада 2026, 10:30", "26 лістапада 2026 г. у 10:30"],
        );
        assert_all(
            Minsk,
            utc(2026, 8, 1, 9, 0, 0),
            &["Сб, 1 жніўня 2026 12:00"],
        );
        assert_all(Minsk, utc(2026, 11, 25, 15, 5, 0), &["учора ў 18:05"]);
    }

    // --- Year inference around New Year ---

    #[test]
    fn year_inference_after_new_year() {
        let now = utc(2027, 1, 1, 7, 0, 0); // 10:00 on 1 January 2027 in Moscow
        assert_eq!(
            parse_date("31 декабря, 23:50", Moscow, now),
            Some(utc(2026, 12, 31, 20, 50, 0))
        );
        assert_eq!(
            parse_date("31.12, 23:50", Moscow, now),
            Some(utc(2026, 12, 31, 20, 50, 0))
        );
        assert_eq!(
            parse_date("1 января, 09:00", Moscow, now),
            Some(utc(2027, 1, 1, 6, 0, 0))
        );
        assert_eq!(
            parse_date("2 января", Moscow, now),
            Some(utc(2027, 1, 1, 21, 0, 0))
        );
        // Three days ahead is too far: it is last January's.
        assert_eq!(
            parse_date("4 января", UTC, now),
            Some(utc(2026, 1, 4, 0, 0, 0))
        );
    }

    #[test]
    fn year_inference_before_new_year() {
        let now = utc(2026, 12, 31, 20, 0, 0); // 23:00 on 31 December 2026 in Minsk
        assert_eq!(
            parse_date("1 января, 00:10", Minsk, now),
            Some(utc(2026, 12, 31, 21, 10, 0))
        );
        assert_eq!(
            parse_date("2 января", Minsk, now),
            Some(utc(2027, 1, 1, 21, 0, 0))
        );
        assert_eq!(
            parse_date("3 января", UTC, now),
            Some(utc(2026, 1, 3, 0, 0, 0))
        );
        assert_eq!(
            parse_date("31 декабря, 22:59", Minsk, now),
            Some(utc(2026, 12, 31, 19, 59, 0))
        );
    }

    #[test]
    fn year_inference_for_leap_day() {
        assert_eq!(parse("29 февраля", UTC), Some(utc(2024, 2, 29, 0, 0, 0)));
        let now = utc(2028, 3, 1, 0, 0, 0);
        assert_eq!(
            parse_date("29 февраля", UTC, now),
            Some(utc(2028, 2, 29, 0, 0, 0))
        );
    }

    // --- DST gaps and overlaps (Moscow and Minsk kept DST until 2011) ---

    #[test]
    fn dst_gap_resolves_to_end_of_gap() {
        // Moscow, 28 March 2010: 02:00 MSK jumped to 03:00 MSD.
        assert_eq!(
            parse("28.03.2010 02:30", Moscow),
            Some(utc(2010, 3, 27, 23, 0, 0))
        );
        assert_eq!(
            parse("2010-03-28T02:00:00", Moscow),
            Some(utc(2010, 3, 27, 23, 0, 0))
        );
        assert_eq!(
            parse("28.03.2010 03:00", Moscow),
            Some(utc(2010, 3, 27, 23, 0, 0))
        );
        assert_eq!(
            parse("28.03.2010 01:59", Moscow),
            Some(utc(2010, 3, 27, 22, 59, 0))
        );
        // Minsk, same night.
        assert_eq!(
            parse("28 марта 2010 в 02:15", Minsk),
            Some(utc(2010, 3, 28, 0, 0, 0))
        );
        // New York, 8 March 2026: 02:00 EST jumped to 03:00 EDT.
        let new_york = chrono_tz::America::New_York;
        assert_eq!(
            parse("Mar 8, 2026 2:30 AM", new_york),
            Some(utc(2026, 3, 8, 7, 0, 0))
        );
    }

    #[test]
    fn dst_overlap_resolves_to_earliest() {
        // Moscow, 31 October 2010: 03:00 MSD fell back to 02:00 MSK, so 02:30 happened twice.
        assert_eq!(
            parse("31.10.2010 02:30", Moscow),
            Some(utc(2010, 10, 30, 22, 30, 0))
        );
        assert_eq!(
            parse("31.10.2010 02:30", Minsk),
            Some(utc(2010, 10, 30, 23, 30, 0))
        );
        // Moscow, 26 October 2014: 02:00 +04 fell back to 01:00 +03 for good.
        assert_eq!(
            parse("26.10.2014 01:30", Moscow),
            Some(utc(2014, 10, 25, 21, 30, 0))
        );
    }

    // --- Rejections ---

    #[test]
    fn garbage_is_rejected() {
        let texts = [
            "",
            "   ",
            "\u{a0}",
            ".",
            ",",
            "abc",
            "hello world",
            "не дата",
            "2026",
            "26",
            "10:30",
            "ноябрь",
            "ноября 2026",
            "пн",
            "г.",
            "26/11/2026",
            "26-11-2026",
            "+0300",
            "GMT",
            "5 минут",
            "назад",
            "5 назад",
            "минут назад 5",
            "26.11",
            "26.11.2026.12",
            "2026.11",
            "2026-11",
            "2026-11-26-12",
            "20261126",
            "1 2 3",
            "26 ноября 2026 10:30 11:30",
            "26 ноября декабря 2026",
            "26 ноября 2026 2027",
            "вчера 26 ноября",
            "вчера сегодня",
            "26 ноября 2026 13:00 pm",
            "26 ноября 2026 pm",
            "26 ноября 2026 00:30 am",
            "26 ноября 2026 +0300",
            "26 ноября 2026 10:30 +0300 GMT",
            "2026-11-24T10:15:00+25:00",
            "2026-11-24T10:15:00+03:75",
            "2026-11-24T10:15:00+030",
            "26 ноября 2026 10:30 (мск",
            "26 ноября 2026 10:30 мск+23",
            "26 ноября 2026 10:30:15:20",
            "26 ноября 2026 10:3",
            "26 ноября 2026 100:30",
            "26 ноября 2026 в",
            "26 ноября в",
            "today at",
            "в 10:30",
            "26.11.202611",
            "26.11.2026 в",
            "26.11.026",
            "026.11.2026",
            "26 ноября 2026 @ 10:30",
            "26 ноябряя 2026",
            "Tue, 24 Nov 2026 10:15:00 XYZ",
            "Tue, 24 Nov 2026 10:15:00 +0300 extra",
            "1234567890 минут назад",
            "999999999 недель назад",
        ];
        for text in texts {
            assert_eq!(parse(text, Moscow), None, "{text:?}");
            assert_eq!(parse(text, UTC), None, "{text:?}");
        }
    }

    #[test]
    fn impossible_dates_are_rejected() {
        let texts = [
            "31.02.2026",
            "29.02.2026",
            "31 апреля 2026",
            "32 ноября 2026",
            "0 ноября 2026",
            "00.11.2026",
            "26.13.2026",
            "26.00.2026",
            "2026-02-30",
            "2026-13-01",
            "26.11.2026 24:00",
            "26.11.2026 23:60",
            "26.11.2026 23:59:61",
            "31 февраля",
            "31.06, 10:30",
        ];
        for text in texts {
            assert_eq!(parse(text, Minsk), None, "{text:?}");
        }
        // 29 February exists in leap years only.
        assert_eq!(parse("29.02.2028", UTC), Some(utc(2028, 2, 29, 0, 0, 0)));
    }

    #[test]
    fn overlong_text_is_rejected() {
        let padded = format!("26 ноября 2026{}", " г.".repeat(100));
        assert_eq!(parse(&padded, UTC), None);
        let spaced = format!("{}26.11.2026{}", " ".repeat(1000), " ".repeat(1000));
        assert_eq!(parse(&spaced, UTC), Some(utc(2026, 11, 26, 0, 0, 0)));
    }

    #[test]
    fn extreme_now_does_not_panic() {
        for now in [DateTime::<Utc>::MAX_UTC, DateTime::<Utc>::MIN_UTC] {
            for text in [
                "сегодня, 10:30",
                "26 ноября",
                "5 минут назад",
                "26.11.2026",
                "только что",
            ] {
                for tz in [
                    UTC,
                    Moscow,
                    chrono_tz::Pacific::Kiritimati,
                    chrono_tz::Etc::GMTPlus12,
                ] {
                    let _ = parse_date(text, tz, now);
                }
            }
        }
    }

    // --- Robustness ---

    /// Texts of every supported form, whose pieces feed the no-panic tests.
    const SAMPLES: &[&str] = &[
        "Tue, 24 Nov 2026 10:15:00 +0300",
        "Sun, 12 May 24 14:00:00 GMT",
        "Пн, 24 ноя 2026 10:15:00 MSK",
        "Tue, 1 Jul 2003 10:52:37 +0200 (CEST)",
        "Sat, 31 Dec 2016 23:59:60 +0000",
        "2026-11-24T10:15:00.123456789+03:00",
        "2026-11-24T10:15:00Z",
        "2026-11-24 10:15:00",
        "2026-11-24",
        "26 ноября 2026 года, 10:30",
        "26 ноября 2026 г. в 10:30",
        "26 ноябрь 2026",
        "26 ноября, 10:30",
        "26.11.2026, 10:30:15",
        "26.11.26 10:30",
        "2026.11.26",
        "10:30 26.11.2026",
        "26.11, 10:30",
        "Сегодня в 10:30",
        "позавчера 09:00",
        "5 минут назад",
        "полчаса назад",
        "только что",
        "сёння ў 10:30",
        "Nov 26th, 2026 10:30 a.m.",
        "26 Nov 2026 10:30 GMT+03:00",
        "26.11.2026 10:30 мск+2",
        "\u{a0}29 февраля\u{a0}",
    ];

    /// Tiny deterministic generator (xorshift64*), so the fuzz-like tests need no extra crate
    /// and fail reproducibly.
    struct Rng(u64);

    impl Rng {
        fn next_u64(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, bound: usize) -> usize {
            usize::try_from(self.next_u64() % u64::try_from(bound).expect("fits")).expect("fits")
        }

        fn pick<T: Copy>(&mut self, items: &[T]) -> T {
            items[self.below(items.len())]
        }
    }

    /// Chars that date texts are made of, plus some that trip naive parsers.
    const ALPHABET: &[char] = &[
        '0', '1', '2', '3', '4', '5', '6', '9', ':', '.', ',', '-', '+', '−', ' ', '\u{a0}', '(',
        ')', 't', 'z', 'g', 'm', 'a', 'p', 'н', 'о', 'я', 'в', 'г', 'ё', 'ў', 'і', '\u{306}',
        '\u{308}', '😀', 'ß', 'İ', '\0', '|', '—', '/', '@',
    ];

    fn exercise(text: &str) {
        for tz in [UTC, Moscow, Minsk, chrono_tz::America::New_York] {
            for now in [now(), utc(2027, 1, 1, 0, 30, 0)] {
                if let Some(parsed) = parse_date(text, tz, now) {
                    // Whatever parses lands in a sane range.
                    assert!(
                        (-1..=10_000).contains(&parsed.year()),
                        "{text:?} gave {parsed}"
                    );
                }
            }
        }
    }

    #[test]
    fn no_panic_on_truncations_and_edits() {
        for sample in SAMPLES {
            let chars: Vec<char> = sample.chars().collect();
            for cut in 0..=chars.len() {
                exercise(&chars[..cut].iter().collect::<String>());
                exercise(&chars[cut..].iter().collect::<String>());
            }
            for skip in 0..chars.len() {
                let without: String = chars
                    .iter()
                    .enumerate()
                    .filter(|(index, _)| *index != skip)
                    .map(|(_, c)| *c)
                    .collect();
                exercise(&without);
                for replacement in ['9', ':', '.', '-', '+', ' ', '(', 'я', '\u{306}'] {
                    let mut edited = chars.clone();
                    edited[skip] = replacement;
                    exercise(&edited.iter().collect::<String>());
                }
            }
        }
    }

    #[test]
    fn no_panic_on_random_inputs() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..4_000 {
            let len = rng.below(40);
            let text: String = (0..len).map(|_| rng.pick(ALPHABET)).collect();
            exercise(&text);
        }
        for _ in 0..2_000 {
            let len = rng.below(40);
            let bytes: Vec<u8> = (0..len).map(|_| rng.next_u64().to_le_bytes()[0]).collect();
            exercise(&String::from_utf8_lossy(&bytes));
        }
        // Splices of valid samples: plausible-looking texts in unusual orders.
        for _ in 0..4_000 {
            let (a, b) = (rng.pick(SAMPLES), rng.pick(SAMPLES));
            let a: Vec<char> = a.chars().collect();
            let b: Vec<char> = b.chars().collect();
            let (cut_a, cut_b) = (rng.below(a.len() + 1), rng.below(b.len() + 1));
            let text: String = a[..cut_a].iter().chain(&b[cut_b..]).collect();
            exercise(&text);
        }
    }

    #[test]
    fn no_panic_on_long_digit_runs_and_big_numbers() {
        for text in [
            "99999999999999999999",
            "26.11.99999999999",
            "9999999999:99",
            "10:30:15.99999999999999999999999",
            "+99999999999",
            "4294967295 минут назад",
            "999999999 недель назад",
            "31.12.9999 23:59:59 -2359",
            "01.01.0000 00:00 +2359",
            "31 декабря 9999 23:59",
            "1 января 1000",
        ] {
            exercise(text);
        }
    }
}
