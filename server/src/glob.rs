//! Glob patterns as Redis matches them (`KEYS`, `SCAN MATCH`, `CONFIG GET`).
//!
//! `*` any run of bytes, `?` one byte, `[abc]`, `[^abc]`, `[a-z]` classes, `\x` a literal `x`.
//! The pattern is compiled once and matched without recursion (one backtrack point for the
//! last `*`), so no pattern can make matching exponential.
//!
//! Two quirks of Redis's `stringmatchlen` are kept: an empty string matches only the empty
//! pattern (`KEYS *` still lists an empty key, because `*` alone means "everything" without
//! matching; `**` does not), and an escaped byte inside a class (`[\a]`) is compared exactly
//! even when matching ignores case.

#[derive(Debug, Clone)]
enum Token {
    Star,
    Any,
    Byte(u8),
    Class {
        negated: bool,
        items: Vec<ClassItem>,
    },
}

#[derive(Debug, Clone, Copy)]
enum ClassItem {
    Byte(u8),
    /// An escaped byte: compared exactly, whatever the case folding.
    Exact(u8),
    Range(u8, u8),
}

/// A compiled glob pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    tokens: Vec<Token>,
    nocase: bool,
    /// The pattern is exactly `*`: matches everything (the empty string too), so callers
    /// can skip matching.
    match_all: bool,
}

impl Pattern {
    /// Compiles `pattern`; with `nocase`, letters match either case.
    pub fn new(pattern: &[u8], nocase: bool) -> Pattern {
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < pattern.len() {
            match pattern[i] {
                b'*' => {
                    if !matches!(tokens.last(), Some(Token::Star)) {
                        tokens.push(Token::Star);
                    }
                }
                b'?' => tokens.push(Token::Any),
                b'\\' if i + 1 < pattern.len() => {
                    i += 1;
                    tokens.push(Token::Byte(pattern[i]));
                }
                b'[' => {
                    let (token, next) = parse_class(pattern, i + 1);
                    tokens.push(token);
                    i = next;
                    continue;
                }
                b => tokens.push(Token::Byte(b)),
            }
            i += 1;
        }
        let match_all = pattern == b"*";
        Pattern {
            tokens,
            nocase,
            match_all,
        }
    }

    /// Whether the pattern matches every string.
    pub fn matches_all(&self) -> bool {
        self.match_all
    }

    /// Whether `s` matches.
    pub fn matches(&self, s: &[u8]) -> bool {
        if self.match_all {
            return true;
        }
        if s.is_empty() {
            return self.tokens.is_empty();
        }
        let (mut p, mut i) = (0, 0);
        // Where to resume after the last `*`: (token after it, byte it must absorb next).
        let mut backtrack: Option<(usize, usize)> = None;
        loop {
            if p < self.tokens.len() {
                match &self.tokens[p] {
                    Token::Star => {
                        backtrack = Some((p + 1, i));
                        p += 1;
                        continue;
                    }
                    token if i < s.len() && self.one(token, s[i]) => {
                        p += 1;
                        i += 1;
                        continue;
                    }
                    _ => {}
                }
            } else if i == s.len() {
                return true;
            }
            match backtrack {
                Some((after_star, absorbed)) if absorbed < s.len() => {
                    backtrack = Some((after_star, absorbed + 1));
                    p = after_star;
                    i = absorbed + 1;
                }
                _ => return false,
            }
        }
    }

    fn one(&self, token: &Token, b: u8) -> bool {
        let fold = |x: u8| {
            if self.nocase {
                x.to_ascii_lowercase()
            } else {
                x
            }
        };
        match token {
            Token::Star => true,
            Token::Any => true,
            Token::Byte(c) => fold(*c) == fold(b),
            Token::Class { negated, items } => {
                let hit = items.iter().any(|item| match *item {
                    ClassItem::Byte(c) => fold(c) == fold(b),
                    ClassItem::Exact(c) => c == b,
                    ClassItem::Range(lo, hi) => (fold(lo)..=fold(hi)).contains(&fold(b)),
                });
                hit != *negated
            }
        }
    }
}

/// Parses a class body starting after `[`; returns the token and the index after `]` (or
/// the end of the pattern when unterminated, as Redis tolerates).
fn parse_class(pattern: &[u8], mut i: usize) -> (Token, usize) {
    let negated = pattern.get(i) == Some(&b'^');
    if negated {
        i += 1;
    }
    let mut items = Vec::new();
    while i < pattern.len() && pattern[i] != b']' {
        if pattern[i] == b'\\' && i + 1 < pattern.len() {
            items.push(ClassItem::Exact(pattern[i + 1]));
            i += 2;
        } else if i + 2 < pattern.len() && pattern[i + 1] == b'-' {
            let (a, b) = (pattern[i], pattern[i + 2]);
            items.push(ClassItem::Range(a.min(b), a.max(b)));
            i += 3;
        } else {
            items.push(ClassItem::Byte(pattern[i]));
            i += 1;
        }
    }
    (Token::Class { negated, items }, (i + 1).min(pattern.len()))
}

/// Matches `s` against `pattern` once (compile and match).
pub fn matches(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    Pattern::new(pattern, nocase).matches(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_like_redis_stringmatch() {
        let cases: &[(&str, &str, bool)] = &[
            ("*", "anything", true),
            ("h?llo", "hello", true),
            ("h?llo", "hllo", false),
            ("h*llo", "heeeello", true),
            ("h[ae]llo", "hallo", true),
            ("h[ae]llo", "hillo", false),
            ("h[^e]llo", "hallo", true),
            ("h[^e]llo", "hello", false),
            ("h[a-b]llo", "hbllo", true),
            ("h[b-a]llo", "hallo", true),
            ("h\\*llo", "h*llo", true),
            ("h\\*llo", "hello", false),
            ("*a*b*c", "xxaxxbxxc", true),
            ("*a*b*c", "xxaxxcxxb", false),
            ("a*", "", false),
            ("*", "", true),
            ("**", "", false),
            ("?*", "", false),
            ("", "", true),
            ("", "a", false),
            ("[]x", "x", false),
            ("user:*:name", "user:42:name", true),
            ("[abc", "b", true),
        ];
        for (pattern, s, expected) in cases {
            assert_eq!(
                matches(pattern.as_bytes(), s.as_bytes(), false),
                *expected,
                "{pattern} vs {s}"
            );
        }
    }

    #[test]
    fn nocase_folds_letters() {
        assert!(matches(b"MAX*", b"maxclients", true));
        assert!(!matches(b"MAX*", b"maxclients", false));
        assert!(matches(b"[A-Z]x", b"qx", true));
        assert!(matches(b"[a]", b"A", true));
        assert!(matches(b"[\\a]", b"a", true));
        assert!(!matches(b"[\\a]", b"A", true));
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        let pattern = "*a".repeat(30) + "b";
        let s = "a".repeat(200);
        assert!(!matches(pattern.as_bytes(), s.as_bytes(), false));
    }
}
