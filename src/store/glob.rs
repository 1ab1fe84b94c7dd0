//! Redis's glob matcher (`stringmatchlen`), used by KEYS, SCAN MATCH,
//! CONFIG GET and Pub/Sub patterns: `*`, `?`, `[abc]`, `[^a-z]`, `\x`.
//!
//! It is iterative with one backtracking point per `*`, so a hostile
//! pattern such as `a*a*a*a*b` costs O(pattern × string), not exponential
//! time.
//!
//! Two of Redis's edges are kept: the empty string matches only the empty
//! pattern (`*` and `**` do not match it; KEYS and SCAN treat a lone `*`
//! as "everything" before matching), and a pattern whose match needs more
//! than 1000 `*` with text left (Redis's recursion limit) matches nothing.

/// Redis's matcher recurses once per `*` and gives up past this depth.
const MAX_STAR_NESTING: usize = 1000;

/// True when `string` matches `pattern`; `nocase` folds ASCII case.
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let fold = |b: u8| if nocase { b.to_ascii_lowercase() } else { b };
    if string.is_empty() {
        return pattern.is_empty();
    }
    let (mut p, mut s) = (0, 0);
    // Where to resume after the last `*`: (pattern index after it, string index).
    let mut star: Option<(usize, usize)> = None;
    let mut stars = 0;
    while s < string.len() {
        let step = match pattern.get(p) {
            Some(b'*') => {
                while pattern.get(p) == Some(&b'*') {
                    p += 1;
                }
                if p == pattern.len() {
                    return true;
                }
                stars += 1;
                if stars > MAX_STAR_NESTING {
                    return false;
                }
                star = Some((p, s));
                continue;
            }
            Some(b'?') => Some(1),
            Some(b'[') => match_class(pattern, p, string[s], nocase),
            Some(b'\\') if p + 1 < pattern.len() => {
                (fold(pattern[p + 1]) == fold(string[s])).then_some(2)
            }
            Some(&c) => (fold(c) == fold(string[s])).then_some(1),
            None => None,
        };
        match step {
            Some(width) => {
                p += width;
                s += 1;
            }
            None => match star {
                // Let the last `*` swallow one more byte and try again.
                Some((star_p, star_s)) => {
                    p = star_p;
                    s = star_s + 1;
                    star = Some((star_p, star_s + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

/// Matches one byte against the class starting at `pattern[start] == '['`.
/// Returns how many pattern bytes the class spans when it matches.
fn match_class(pattern: &[u8], start: usize, byte: u8, nocase: bool) -> Option<usize> {
    let fold = |b: u8| if nocase { b.to_ascii_lowercase() } else { b };
    let byte = fold(byte);
    let mut p = start + 1;
    let negate = pattern.get(p) == Some(&b'^');
    if negate {
        p += 1;
    }
    let mut matched = false;
    loop {
        match pattern.get(p) {
            // An unterminated class ends at the end of the pattern, as in Redis.
            None => {
                p -= 1;
                break;
            }
            Some(b']') => break,
            Some(b'\\') if p + 1 < pattern.len() => {
                p += 1;
                matched |= fold(pattern[p]) == byte;
            }
            Some(&low) if pattern.get(p + 1) == Some(&b'-') && p + 2 < pattern.len() => {
                let high = pattern[p + 2];
                let (low, high) = if low <= high {
                    (low, high)
                } else {
                    (high, low)
                };
                matched |= (fold(low)..=fold(high)).contains(&byte);
                p += 2;
            }
            Some(&c) => matched |= fold(c) == byte,
        }
        p += 1;
    }
    (matched != negate).then_some(p - start + 1)
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn redis_glob_cases() {
        let yes =
            |p: &str, s: &str| assert!(glob_match(p.as_bytes(), s.as_bytes(), false), "{p} ~ {s}");
        let no = |p: &str, s: &str| {
            assert!(!glob_match(p.as_bytes(), s.as_bytes(), false), "{p} !~ {s}")
        };
        no("*", "");
        no("**", "");
        yes("", "");
        no("?", "");
        yes("h?llo", "hello");
        yes("h*llo", "heeeello");
        yes("h[ae]llo", "hallo");
        no("h[ae]llo", "hillo");
        yes("h[^e]llo", "hallo");
        no("h[^e]llo", "hello");
        yes("h[a-b]llo", "hbllo");
        yes("h[b-a]llo", "hallo");
        yes("h\\*llo", "h*llo");
        no("h\\*llo", "hello");
        yes("user:*:name", "user:42:name");
        no(
            "a*a*a*a*a*a*a*a*b",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        );
        yes("*a", "ba");
        no("a", "ab");
        assert!(glob_match(b"MAXCLIENTS", b"maxclients", true));
        // Past 1000 nested `*` Redis gives up; a final `*` needs no nesting.
        let text = "a".repeat(2000);
        no(&"*?".repeat(1001), &text);
        yes(&"*?".repeat(1000), &text);
        yes(&("*a".repeat(1000) + "*"), &text);
    }
}
