//! The bundled fonts (`assets/fonts/`, open licences), shared by the
//! burned-in annotations and the PDF reports so that names in any script
//! render the same everywhere.
//!
//! No single small font covers Latin, Arabic and CJK, so text is split into
//! runs, each set in the first font of [`FALLBACK_ORDER`] that has a glyph
//! for its characters.

use std::sync::OnceLock;

use ab_glyph::{Font as _, FontRef};

/// Noto Sans: Latin, Greek, Cyrillic (SIL OFL 1.1).
pub static NOTO_SANS: &[u8] = include_bytes!("../assets/fonts/NotoSans-Regular.ttf");
/// Noto Sans Arabic (SIL OFL 1.1).
pub static NOTO_SANS_ARABIC: &[u8] = include_bytes!("../assets/fonts/NotoSansArabic-Regular.ttf");
/// Droid Sans Fallback: CJK (Apache 2.0).
pub static DROID_SANS_FALLBACK: &[u8] = include_bytes!("../assets/fonts/DroidSansFallbackFull.ttf");

/// The bundled fonts in the order a character is looked up.
pub const FALLBACK_ORDER: [&[u8]; 3] = [NOTO_SANS, NOTO_SANS_ARABIC, DROID_SANS_FALLBACK];

/// The bundled fonts parsed once for glyph lookup and rasterising.
pub fn parsed() -> &'static [FontRef<'static>] {
    static FONTS: OnceLock<Vec<FontRef<'static>>> = OnceLock::new();
    FONTS.get_or_init(|| {
        FALLBACK_ORDER
            .iter()
            .map(|bytes| FontRef::try_from_slice(bytes).expect("bundled fonts parse"))
            .collect()
    })
}

/// A stretch of text set in one font.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run<'a> {
    /// Index into [`FALLBACK_ORDER`].
    pub font: usize,
    /// The characters.
    pub text: &'a str,
}

/// The font index for `c`: the first font with a glyph for it. Characters
/// no font has (and spaces and marks, which every font can carry) stay in
/// the surrounding run.
fn font_for(c: char) -> Option<usize> {
    if c.is_whitespace() || c.is_ascii_punctuation() || is_combining(c) {
        return None;
    }
    parsed().iter().position(|f| f.glyph_id(c).0 != 0)
}

fn is_combining(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x064B..=0x065F | 0x0670 | 0x200C..=0x200F)
}

/// `text` with every character that no bundled font can draw replaced by
/// a stand-in, so nothing vanishes silently from a report: typographic
/// minus and comparison signs by their ASCII forms, anything else by `?`.
/// Spaces, marks and ASCII pass through as they are.
pub fn displayable(text: &str) -> std::borrow::Cow<'_, str> {
    let missing =
        |c: char| !(c.is_whitespace() || c.is_ascii() || is_combining(c)) && font_for(c).is_none();
    if !text.chars().any(missing) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if !missing(c) {
            out.push(c);
            continue;
        }
        out.push_str(match c {
            '\u{2212}' | '\u{2012}' | '\u{2010}' | '\u{2011}' => "-",
            '\u{2264}' => "<=",
            '\u{2265}' => ">=",
            '\u{2260}' => "!=",
            '\u{2248}' => "~",
            _ => "?",
        });
    }
    std::borrow::Cow::Owned(out)
}

/// Splits `text` into runs of one font each.
pub fn runs(text: &str) -> Vec<Run<'_>> {
    let mut out: Vec<Run<'_>> = Vec::new();
    let mut start = 0;
    let mut current: Option<usize> = None;
    for (i, c) in text.char_indices() {
        let Some(font) = font_for(c) else { continue };
        match current {
            Some(f) if f == font => {}
            Some(f) => {
                out.push(Run {
                    font: f,
                    text: &text[start..i],
                });
                start = i;
                current = Some(font);
            }
            None => current = Some(font),
        }
    }
    if start < text.len() {
        out.push(Run {
            font: current.unwrap_or(0),
            text: &text[start..],
        });
    }
    out
}

/// Greedy word wrap: lines of `text` no wider than `width` by `measure`
/// (a long word stands alone on its line). Line breaks in `text` are kept.
pub fn wrap(text: &str, width: f32, measure: impl Fn(&str) -> f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if !line.is_empty() && measure(&candidate) > width {
                lines.push(std::mem::replace(&mut line, word.to_string()));
            } else {
                line = candidate;
            }
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_no_font_has_get_visible_stand_ins() {
        // Noto Sans as bundled has no U+2212 MINUS SIGN or U+2264: they
        // used to disappear from reports.
        assert!(font_for('\u{2212}').is_none());
        assert_eq!(displayable("\u{2212}0.063 \u{2264} 1"), "-0.063 <= 1");
        assert_eq!(displayable("\u{1F600}"), "?");
        // What the fonts have is untouched (Latin, Arabic, CJK, ±, °).
        for text in ["Müller ± 2.0°", "محمد", "王小明", "a\tb"] {
            assert!(
                matches!(displayable(text), std::borrow::Cow::Borrowed(_)),
                "{text}"
            );
        }
    }

    #[test]
    fn mixed_scripts_split_into_runs() {
        let r = runs("Name: 王小明 / محمد");
        let fonts: Vec<usize> = r.iter().map(|r| r.font).collect();
        assert_eq!(fonts, vec![0, 2, 1], "{r:?}");
        assert_eq!(
            r.iter().map(|r| r.text).collect::<String>(),
            "Name: 王小明 / محمد"
        );
    }
}
