//! Notification wording, and making hostile text safe to hand to a notification server.
//!
//! Message text is written by strangers. A notification shows one line, so control characters
//! and line breaks become spaces, and bidirectional overrides (which can make "gpj.exe" read as
//! "exe.jpg") are dropped. Markup escaping is the shell's job: only it knows whether the
//! notification server parses markup.

/// `text` made single-line and printable, cut to at most `max_chars` characters (an ellipsis
/// marks a cut). Empty when nothing printable is left.
pub(crate) fn clean_line(text: &str, max_chars: usize) -> String {
    let mut chars = printable(text);
    let mut out: String = chars.by_ref().take(max_chars).collect();
    if chars.next().is_some() {
        out.pop();
        out.truncate(out.trim_end().len());
        out.push('…');
    }
    out
}

/// The characters of `text` worth showing: blanks and controls collapse into single spaces
/// between words, and invisible overrides are gone.
fn printable(text: &str) -> impl Iterator<Item = char> + '_ {
    let mut chars = text.chars().filter(|c| !is_invisible_override(*c));
    let mut started = false;
    let mut held: Option<char> = None;
    std::iter::from_fn(move || {
        if let Some(c) = held.take() {
            return Some(c);
        }
        let mut gap = false;
        for c in chars.by_ref() {
            if c.is_whitespace() || c.is_control() {
                gap = started;
                continue;
            }
            started = true;
            if gap {
                held = Some(c);
                return Some(' ');
            }
            return Some(c);
        }
        None
    })
}

/// Characters that change how surrounding text is displayed without showing themselves.
fn is_invisible_override(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' // zero-width space/joiners, LRM, RLM
        | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
        | '\u{2066}'..='\u{2069}' // bidi isolates
        | '\u{FEFF}')
}

/// A name for a notification title, or `fallback` when the name has nothing printable.
pub(crate) fn name_or(name: &str, fallback: &str, max_chars: usize) -> String {
    let cleaned = clean_line(name, max_chars);
    if cleaned.is_empty() {
        fallback.to_owned()
    } else {
        cleaned
    }
}

/// The verb iMessage uses for a tapback, so "Liked “See you at 2”" reads as on a phone.
pub(crate) fn reaction_verb(reaction: &str) -> String {
    match reaction.to_ascii_lowercase().as_str() {
        "like" => "Liked".into(),
        "love" => "Loved".into(),
        "dislike" => "Disliked".into(),
        "laugh" => "Laughed at".into(),
        "emphasize" => "Emphasized".into(),
        "question" => "Questioned".into(),
        other => {
            let other = clean_line(other, 24);
            if other.is_empty() {
                "Reacted to".into()
            } else {
                format!("Reacted {other} to")
            }
        }
    }
}

/// "5:30" for 330 seconds; "1:02:03" past an hour.
pub(crate) fn duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// "1 message" / "4 messages".
pub(crate) fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// "1 more message" / "7 more messages".
pub(crate) fn more(n: usize, one: &str, many: &str) -> String {
    format!("{n} more {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_and_controls_become_single_spaces() {
        assert_eq!(
            clean_line("  Hi\n\n there\t\u{7}you  ", 100),
            "Hi there you",
            "a notification is one line; runs of blanks and controls collapse to one space"
        );
    }

    #[test]
    fn bidi_overrides_are_dropped() {
        assert_eq!(
            clean_line("invoice\u{202E}fdp.exe\u{2066}x\u{200B}", 100),
            "invoicefdp.exex",
            "an override could disguise a file name; it must not reach the notification"
        );
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis_at_the_limit() {
        let cut = clean_line(&"a".repeat(500), 10);
        assert_eq!(
            cut.chars().count(),
            10,
            "the cut text, ellipsis included, fits the limit"
        );
        assert!(
            cut.ends_with('…'),
            "a cut is marked so the rep knows there is more"
        );
        assert_eq!(
            clean_line("exactly10!", 10),
            "exactly10!",
            "text that fits is never cut"
        );
        assert_eq!(
            clean_line("héllo wörld ünïcode", 8).chars().count(),
            8,
            "cuts count characters, not bytes"
        );
    }

    #[test]
    fn empty_or_invisible_names_fall_back() {
        assert_eq!(
            name_or(" \u{202E}\n", "+15551234567", 40),
            "+15551234567",
            "a name with nothing visible falls back to the number"
        );
        assert_eq!(
            name_or("Ana López", "x", 40),
            "Ana López",
            "a printable name is kept"
        );
    }

    #[test]
    fn reactions_read_like_tapbacks() {
        assert_eq!(
            reaction_verb("like"),
            "Liked",
            "a like reads as the tapback Liked"
        );
        assert_eq!(
            reaction_verb("LAUGH"),
            "Laughed at",
            "reaction names are matched case-insensitively"
        );
        assert_eq!(
            reaction_verb("fire"),
            "Reacted fire to",
            "unknown names are kept"
        );
        assert_eq!(
            reaction_verb("\n"),
            "Reacted to",
            "an invisible reaction name reads as a plain reaction"
        );
    }

    #[test]
    fn durations_and_counts() {
        assert_eq!(
            duration(330),
            "5:30",
            "durations under an hour read as minutes and seconds"
        );
        assert_eq!(
            duration(3723),
            "1:02:03",
            "durations of an hour or more read with hours"
        );
        assert_eq!(
            count(1, "message", "messages"),
            "1 message",
            "one is singular"
        );
        assert_eq!(
            count(7, "message", "messages"),
            "7 messages",
            "more than one is plural"
        );
        assert_eq!(
            more(1, "message", "messages"),
            "1 more message",
            "one more is singular"
        );
        assert_eq!(
            more(7, "call", "calls"),
            "7 more calls",
            "more than one more is plural"
        );
    }
}
