//! Whether two fact statements say the same thing, say it with a changed
//! value, or say different things — decided over their words, because
//! embedding similarity cannot tell them apart ("locker code 4471" and
//! "locker code 4472" are closer by cosine than most true paraphrases).
//!
//! A statement's words fall in three groups:
//! - **values**: numbers and tokens with digits, number words, dates,
//!   weekdays, months, times, frequencies, colours, units, proper names
//!   (capitalized words), and the sentiment of "likes" / "dislikes";
//! - **polarity**: negation ("not", "never", "no longer", "n't", "dislikes"
//!   against "likes") and ended states ("used to", "formerly", "quit");
//! - **wording**: every other word but stopwords, compared by stem, synonym
//!   group and abbreviation ("async" / "asynchronous").
//!
//! Invariant: `Paraphrase` only when values and polarity agree exactly and
//! the wording differs at most in explained ways — so merging a paraphrase
//! never loses a value. Everything uncertain falls to `ValueChange` (the
//! extraction model decides) or `Different` (both facts are kept).

use std::collections::BTreeSet;

/// How a new statement relates to a known one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// The same statement in other words: safe to merge.
    Paraphrase,
    /// The same statement except for a value or its polarity: the new one
    /// may replace the old one or hold beside it.
    ValueChange,
    /// Different statements.
    Different,
}

/// Relates two statements; symmetric.
pub fn relate(a: &str, b: &str) -> Relation {
    let (a, b) = (Statement::parse(a), Statement::parse(b));
    if !a.wording_matches(&b) {
        return Relation::Different;
    }
    let values_agree = a.values_found_in(&b) && b.values_found_in(&a);
    let polarity = |s: &Statement| (s.negated, s.ended, s.future);
    if values_agree && polarity(&a) == polarity(&b) {
        Relation::Paraphrase
    } else {
        Relation::ValueChange
    }
}

/// A statement taken apart into the groups above.
#[derive(Debug, Default)]
struct Statement {
    /// Canonical value tokens.
    values: BTreeSet<String>,
    /// Every token in canonical form, to find the other side's values in.
    tokens: BTreeSet<String>,
    /// Stems of the wording, each mapped to its synonym group.
    wording: BTreeSet<String>,
    negated: bool,
    /// A state that ended or lies in the past ("used to", "was", "quit").
    ended: bool,
    /// A state still to come ("will", "soon").
    future: bool,
}

impl Statement {
    fn parse(text: &str) -> Statement {
        let mut statement = Statement::default();
        let raw: Vec<&str> = text.split_whitespace().collect();
        let mut previous = String::new();
        for (position, raw_token) in raw.iter().enumerate() {
            let cleaned = clean(raw_token);
            if cleaned.is_empty() {
                continue;
            }
            let lower = cleaned.to_lowercase();
            // "used to" marks an ended state; "used" alone is wording.
            if lower == "to" && previous == "used" {
                statement.ended = true;
                statement.wording.remove("used");
                previous = lower;
                continue;
            }
            // "no longer", "no more": the negation was counted.
            if matches!(lower.as_str(), "longer" | "more") && previous == "no" {
                continue;
            }
            previous.clone_from(&lower);
            if let Some(stripped) = lower.strip_suffix("n't") {
                statement.negated = true;
                statement.tokens.insert(stripped.to_string());
                continue;
            }
            if NEGATIONS.contains(&lower.as_str()) {
                statement.negated = true;
                continue;
            }
            if ENDED.contains(&lower.as_str()) {
                statement.ended = true;
                continue;
            }
            if FUTURE.contains(&lower.as_str()) {
                statement.future = true;
                continue;
            }
            let word = lower.strip_suffix("'s").unwrap_or(&lower).to_string();
            for canonical in canonical_values(&word) {
                statement.tokens.insert(canonical);
            }
            statement.tokens.insert(word.clone());
            let stemmed = stem(&word);
            statement.tokens.insert(synonym_group(&stemmed));
            statement.tokens.insert(stemmed.clone());

            if let Some(sentiment) = sentiment(&stemmed) {
                if sentiment == Sentiment::Negative {
                    // "dislikes" is "not likes": the value is the liking,
                    // its direction is polarity.
                    statement.negated = !statement.negated;
                }
                statement.values.insert("sentiment".into());
                statement.tokens.insert("sentiment".into());
                continue;
            }
            if let Some(base) = negated_prefix(&word) {
                // "unhappy", "dishonest": the base word is wording, the
                // prefix a negation.
                statement.negated = !statement.negated;
                statement.wording.insert(synonym_group(&stem(base)));
                statement.tokens.insert(base.to_string());
                continue;
            }
            let values = canonical_values(&word);
            if !values.is_empty() {
                statement.values.extend(values);
                continue;
            }
            if is_name(&cleaned, position) {
                statement.values.insert(word);
                continue;
            }
            if STOPWORDS.contains(&word.as_str()) {
                continue;
            }
            statement.wording.insert(synonym_group(&stemmed));
        }
        statement
    }

    /// Each of this statement's values appears among `other`'s tokens (so
    /// "Python" and "python" agree, and a name only one side mentions does
    /// not).
    fn values_found_in(&self, other: &Statement) -> bool {
        self.values.iter().all(|value| other.tokens.contains(value))
    }

    /// The wording of both sides is the same up to what explains a
    /// difference: a shared synonym group (already folded in) or one word
    /// abbreviating the other. A value token on one side may stand for
    /// wording on the other ("Python" / "python") and is checked as a value.
    fn wording_matches(&self, other: &Statement) -> bool {
        let only_here: Vec<&String> = self
            .wording
            .iter()
            .filter(|w| !other.wording.contains(*w) && !other.tokens.contains(*w))
            .collect();
        let only_there: Vec<&String> = other
            .wording
            .iter()
            .filter(|w| !self.wording.contains(*w) && !self.tokens.contains(*w))
            .collect();
        let explained = |word: &String, candidates: &[&String]| {
            candidates.iter().any(|other| abbreviates(word, other))
        };
        only_here.iter().all(|w| explained(w, &only_there))
            && only_there.iter().all(|w| explained(w, &only_here))
    }
}

/// The token without surrounding punctuation; curly apostrophes made
/// straight. Inner punctuation stays ("3:30", "2024-05-01", "o'clock").
fn clean(token: &str) -> String {
    let straight = token.replace(['\u{2019}', '\u{2018}'], "'");
    straight
        .trim_matches(|c: char| !c.is_alphanumeric() && !"$€£%'".contains(c))
        .trim_matches('\'')
        .to_string()
}

/// A capitalized word that is not a sentence's first word, or a first
/// word that is no common way to start a statement.
fn is_name(original: &str, position: usize) -> bool {
    let mut chars = original.chars();
    let capitalized = chars.next().is_some_and(char::is_uppercase);
    if !capitalized {
        return false;
    }
    let lower = original.to_lowercase();
    let lower = lower.strip_suffix("'s").unwrap_or(&lower);
    if STOPWORDS.contains(&lower) {
        return false;
    }
    position > 0 || !STARTERS.contains(&stem(lower).as_str())
}

/// A crude English stemmer: enough to equate inflections ("hikes",
/// "hiking", "hiked" → "hik"), never used to equate different words.
fn stem(word: &str) -> String {
    let word = word.strip_suffix("'s").unwrap_or(word);
    for (suffix, replacement) in [
        ("ies", "y"),
        ("ing", ""),
        ("ed", ""),
        ("es", ""),
        ("s", ""),
        ("ly", ""),
    ] {
        if let Some(base) = word.strip_suffix(suffix)
            && base.chars().count() >= 3
        {
            let stemmed = format!("{base}{replacement}");
            return stemmed.strip_suffix('e').unwrap_or(&stemmed).to_string();
        }
    }
    word.strip_suffix('e')
        .filter(|b| b.chars().count() >= 3)
        .unwrap_or(word)
        .to_string()
}

/// One word abbreviates the other: a shared prefix of at least four
/// letters that is all of the shorter one ("async" / "asynchronous").
fn abbreviates(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    short.chars().count() >= 4 && long.starts_with(short)
}

/// The canonical value(s) a word stands for: digits, number words, dates,
/// times, frequencies, colours, units. Empty for any other word.
fn canonical_values(word: &str) -> Vec<String> {
    if word.chars().any(|c| c.is_ascii_digit()) {
        let mut values = Vec::new();
        let mut digits: String = word.chars().filter(|c| *c != ',').collect();
        for (symbol, unit) in [('$', "usd"), ('€', "eur"), ('£', "gbp")] {
            if digits.contains(symbol) {
                digits = digits.replace(symbol, "");
                values.push(unit.to_string());
            }
        }
        if let Some(number) = digits.strip_suffix('%') {
            values.push("percent".into());
            digits = number.to_string();
        }
        // "27th" and "27" are the same day; "3pm" is 3 and pm.
        let digit_end = digits
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_ascii_digit())
            .map(|(i, c)| i + c.len_utf8())
            .unwrap_or(0);
        let (number, suffix) = digits.split_at(digit_end);
        match suffix {
            "st" | "nd" | "rd" | "th" | "" => values.push(number.to_string()),
            "am" | "pm" | "h" | "k" | "m" | "kg" | "km" | "cm" | "mm" | "lb" | "lbs" => {
                values.push(number.to_string());
                values.push(unit(suffix).to_string());
            }
            _ => values.push(digits.clone()),
        }
        return values;
    }
    if let Some(n) = NUMBER_WORDS.iter().position(|w| *w == word) {
        return vec![n.to_string()];
    }
    if let Some((_, n)) = LARGE_NUMBERS.iter().find(|(w, _)| *w == word) {
        return vec![(*n).to_string()];
    }
    if let Some(n) = ORDINALS.iter().position(|w| *w == word) {
        return vec![(n + 1).to_string()];
    }
    let singular = word.strip_suffix('s').unwrap_or(word);
    for list in [
        WEEKDAYS,
        MONTHS,
        TIMES,
        FREQUENCIES,
        COLOURS,
        DIRECTIONS,
        UNITS,
    ] {
        if list.contains(&word) || list.contains(&singular) {
            let canonical = if list.contains(&word) { word } else { singular };
            return vec![unit(canonical).to_string()];
        }
    }
    Vec::new()
}

/// One name per unit, so "km" and "kilometers" are one value.
fn unit(word: &str) -> &str {
    match word {
        "kilometer" | "kilometre" | "kilometers" | "kilometres" | "km" => "km",
        "mile" | "mi" => "mile",
        "kilogram" | "kilo" | "kg" => "kg",
        "pound" | "lb" | "lbs" => "lb",
        "meter" | "metre" | "m" => "m",
        "centimeter" | "centimetre" | "cm" => "cm",
        "millimeter" | "millimetre" | "mm" => "mm",
        "hour" | "hr" | "h" => "hour",
        "minute" | "min" => "minute",
        "thousand" | "k" => "1000",
        "dollar" | "usd" => "usd",
        "euro" | "eur" => "eur",
        "percent" | "%" => "percent",
        other => other,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sentiment {
    Positive,
    Negative,
}

/// Whether a stem says the user likes or dislikes something.
fn sentiment(stemmed: &str) -> Option<Sentiment> {
    if LIKING.contains(&stemmed) {
        Some(Sentiment::Positive)
    } else if DISLIKING.contains(&stemmed) {
        Some(Sentiment::Negative)
    } else {
        None
    }
}

/// The base of a word negated by a prefix, if that base is a word on its
/// own ("unhappy" → "happy"); only the prefixes that almost always negate.
fn negated_prefix(word: &str) -> Option<&str> {
    ["un", "non", "dis"].iter().find_map(|prefix| {
        let base = word.strip_prefix(prefix)?.trim_start_matches('-');
        NEGATABLE.contains(&base).then_some(base)
    })
}

/// Folds a stem into its synonym group's first member.
fn synonym_group(stemmed: &str) -> String {
    SYNONYMS
        .iter()
        .find(|group| group.contains(&stemmed))
        .map(|group| group[0])
        .unwrap_or(stemmed)
        .to_string()
}

const NEGATIONS: &[&str] = &[
    "not", "never", "no", "none", "nobody", "nothing", "nowhere", "neither", "nor", "cannot",
    "without", "non",
];

/// Markers of a state that ended ("used to" is found as a pair).
const ENDED: &[&str] = &[
    "formerly",
    "former",
    "previously",
    "ex",
    "anymore",
    "quit",
    "stopped",
    "stop",
    "ended",
    "retired",
    "was",
    "were",
    "had",
];

/// Markers of a state still to come.
const FUTURE: &[&str] = &["will", "soon", "upcoming", "gonna", "shall"];

const STOPWORDS: &[&str] = &[
    "the",
    "a",
    "an",
    "user",
    "users",
    "i",
    "is",
    "are",
    "be",
    "been",
    "being",
    "am",
    "has",
    "have",
    "having",
    "does",
    "do",
    "did",
    "of",
    "to",
    "in",
    "on",
    "at",
    "for",
    "with",
    "by",
    "from",
    "and",
    "or",
    "but",
    "that",
    "this",
    "these",
    "those",
    "it",
    "its",
    "he",
    "she",
    "they",
    "them",
    "his",
    "her",
    "hers",
    "their",
    "theirs",
    "my",
    "who",
    "whom",
    "which",
    "as",
    "very",
    "really",
    "also",
    "too",
    "quite",
    "so",
    "just",
    "currently",
    "now",
    "named",
    "called",
    "go",
    "goes",
    "going",
    "into",
    "about",
    "there",
    "here",
    "some",
    "any",
    "s",
    "than",
    "then",
    "would",
    "should",
    "can",
    "could",
    "may",
    "might",
    "must",
];

/// Stems a statement commonly starts with that are not names.
const STARTERS: &[&str] = &[
    "lik",
    "enjoy",
    "lov",
    "prefer",
    "hat",
    "dislik",
    "liv",
    "work",
    "own",
    "want",
    "need",
    "us",
    "play",
    "speak",
    "know",
    "study",
    "driv",
    "fli",
    "fly",
    "travel",
    "visit",
    "follow",
    "eat",
    "drink",
    "read",
    "writ",
    "run",
    "go",
    "goe",
    "mov",
    "plan",
    "tri",
    "try",
    "learn",
    "teach",
    "build",
    "collect",
    "cook",
    "walk",
    "swim",
    "watch",
    "listen",
    "believ",
    "think",
    "feel",
    "wish",
    "hop",
    "com",
    "grew",
    "born",
    "marri",
    "allergic",
    "vegetarian",
    "vegan",
    "recent",
    "usual",
    "often",
    "sometim",
    "always",
    "rare",
    "never",
    "once",
    "twice",
    "their",
    "her",
    "his",
    "my",
    "our",
    "user",
    "not",
];

/// Stems that say the user likes something.
const LIKING: &[&str] = &[
    "lik", "enjoy", "lov", "ador", "fond", "prefer", "favor", "favour",
];
/// Stems that say the user dislikes something.
const DISLIKING: &[&str] = &["dislik", "hat", "detest", "loath", "despis"];

/// Words that a negating prefix turns into their opposite.
const NEGATABLE: &[&str] = &[
    "happy",
    "able",
    "honest",
    "available",
    "married",
    "employed",
    "allergic",
    "comfortable",
    "healthy",
    "sure",
    "certain",
    "satisfied",
    "interested",
    "organized",
    "smoker",
    "drinker",
    "vegetarian",
    "vegan",
    "like",
    "likes",
    "liked",
    "agree",
    "agrees",
    "trust",
    "trusts",
];

/// Groups of stems with one meaning in a fact; the first names the group.
const SYNONYMS: &[&[&str]] = &[
    &["work", "job", "employ", "occupation"],
    &["liv", "resid", "reside"],
    &["big", "larg", "large"],
    &["small", "littl", "little", "tiny"],
    &["buy", "purchas", "bought"],
    &["car", "vehicl", "automobil"],
    &["kid", "child", "children"],
    &["mom", "mother", "mum"],
    &["dad", "father"],
    &["start", "begin", "began", "begun"],
    &["talk", "speak", "spok"],
    &["want", "wish", "desir"],
    &["program", "cod", "code"],
    &["fast", "quick"],
];

const NUMBER_WORDS: &[&str] = &[
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
];

const LARGE_NUMBERS: &[(&str, &str)] = &[
    ("thirty", "30"),
    ("forty", "40"),
    ("fifty", "50"),
    ("sixty", "60"),
    ("seventy", "70"),
    ("eighty", "80"),
    ("ninety", "90"),
    ("hundred", "100"),
    ("thousand", "1000"),
    ("million", "1000000"),
    ("billion", "1000000000"),
    ("dozen", "12"),
    ("half", "0.5"),
    ("once", "1"),
    ("twice", "2"),
];

const ORDINALS: &[&str] = &[
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
];

const WEEKDAYS: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "weekend",
    "weekday",
];

/// Months; "may" and "march" count only when capitalized (as names).
const MONTHS: &[&str] = &[
    "january",
    "february",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

const TIMES: &[&str] = &[
    "am",
    "pm",
    "noon",
    "midnight",
    "morning",
    "afternoon",
    "evening",
    "night",
    "tonight",
    "today",
    "tomorrow",
    "yesterday",
    "spring",
    "summer",
    "autumn",
    "fall",
    "winter",
    "last",
    "next",
    "ago",
    "early",
    "late",
    "earlier",
    "later",
    "before",
    "after",
    "o'clock",
];

const FREQUENCIES: &[&str] = &[
    "always",
    "usually",
    "often",
    "sometimes",
    "rarely",
    "seldom",
    "occasionally",
    "daily",
    "weekly",
    "monthly",
    "yearly",
    "annually",
    "every",
];

const COLOURS: &[&str] = &[
    "red", "orange", "yellow", "green", "blue", "purple", "violet", "pink", "brown", "black",
    "white", "gray", "grey", "silver", "gold", "beige", "teal", "navy",
];

const DIRECTIONS: &[&str] = &[
    "north",
    "south",
    "east",
    "west",
    "left",
    "right",
    "up",
    "down",
    "upstairs",
    "downstairs",
];

const UNITS: &[&str] = &[
    "kilometer",
    "kilometre",
    "km",
    "mile",
    "mi",
    "kilogram",
    "kilo",
    "kg",
    "pound",
    "lb",
    "meter",
    "metre",
    "centimeter",
    "centimetre",
    "cm",
    "millimeter",
    "millimetre",
    "mm",
    "feet",
    "foot",
    "inch",
    "inches",
    "hour",
    "hr",
    "minute",
    "min",
    "day",
    "week",
    "month",
    "year",
    "decade",
    "dollar",
    "usd",
    "euro",
    "eur",
    "percent",
    "celsius",
    "fahrenheit",
    "liter",
    "litre",
    "gallon",
];

#[cfg(test)]
mod tests;
