//! The minutes as a PDF: their Markdown laid out on A4 pages in Helvetica (a font every PDF
//! reader has, so none is embedded). Headings (`#`, `##`, `###`), list items (`-`, `*`),
//! quotes (`>`) and paragraphs; `**` and `__` emphasis marks are dropped. Text is written in
//! WinAnsiEncoding: the four languages' letters are all in it; a character outside it
//! (an emoji, Cyrillic, CJK) shows as `?` — the Markdown export keeps everything.

use pdf_writer::{Content, Name, Pdf, Rect, Ref, Str, TextStr};

use crate::pdf_metrics::{HELVETICA, HELVETICA_BOLD, WIN_ANSI_80};

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 56.0;
const BODY: f32 = 11.0;
const INDENT: f32 = 16.0;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Font {
    Regular,
    Bold,
}

impl Font {
    fn name(self) -> Name<'static> {
        match self {
            Self::Regular => Name(b"F1"),
            Self::Bold => Name(b"F2"),
        }
    }

    /// The width of `text` (WinAnsi bytes) at `size`.
    fn width(self, text: &[u8], size: f32) -> f32 {
        let table = match self {
            Self::Regular => &HELVETICA,
            Self::Bold => &HELVETICA_BOLD,
        };
        let units: u32 = text
            .iter()
            .map(|b| {
                u32::from(
                    table
                        .get(usize::from(*b).wrapping_sub(32))
                        .copied()
                        .unwrap_or(0),
                )
            })
            .sum();
        units as f32 * size / 1000.0
    }
}

/// One laid-out line.
#[derive(Debug)]
struct Line {
    font: Font,
    size: f32,
    /// Where its text starts, from the left margin.
    x: f32,
    text: Vec<u8>,
    /// Space above it beyond its own height (a new paragraph, a heading).
    gap: f32,
}

/// `c` in WinAnsiEncoding (`?` where it has none).
fn win_ansi(c: char) -> u8 {
    match c {
        '\t' => b' ',
        ' '..='~' | '\u{a0}'..='\u{ff}' => c as u32 as u8,
        _ => WIN_ANSI_80
            .iter()
            .find(|(ch, _)| *ch == c)
            .map_or(b'?', |(_, b)| *b),
    }
}

fn encode(s: &str) -> Vec<u8> {
    s.replace("**", "")
        .replace("__", "")
        .chars()
        .map(win_ansi)
        .collect()
}

/// Breaks `text` into lines no wider than `width`, at spaces (a word wider than a line is cut).
fn wrap(text: &[u8], font: Font, size: f32, width: f32) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    let mut line: Vec<u8> = Vec::new();
    for word in text.split(|b| *b == b' ').filter(|w| !w.is_empty()) {
        let mut candidate = line.clone();
        if !candidate.is_empty() {
            candidate.push(b' ');
        }
        candidate.extend_from_slice(word);
        if font.width(&candidate, size) <= width {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        // A word too long for a line alone: as much as fits on each (measured as it goes).
        let mut piece = Vec::new();
        let mut w = 0.0;
        for b in word {
            let bw = font.width(std::slice::from_ref(b), size);
            if w + bw > width && !piece.is_empty() {
                lines.push(std::mem::take(&mut piece));
                w = 0.0;
            }
            piece.push(*b);
            w += bw;
        }
        line = piece;
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Lays out the Markdown `text` under `title` and `subtitle`.
fn lay_out(title: &str, subtitle: &str, text: &str) -> Vec<Line> {
    let width = PAGE_W - 2.0 * MARGIN;
    let mut out = Vec::new();
    let mut push = |font: Font, size: f32, x: f32, first_x: Option<f32>, s: &[u8], gap: f32| {
        for (i, l) in wrap(s, font, size, width - x).into_iter().enumerate() {
            let x0 = match (i, first_x) {
                (0, Some(fx)) => fx,
                _ => x,
            };
            out.push(Line {
                font,
                size,
                x: x0,
                text: l,
                gap: if i == 0 { gap } else { 0.0 },
            });
        }
    };
    push(Font::Bold, 20.0, 0.0, None, &encode(title), 0.0);
    push(Font::Regular, 10.0, 0.0, None, &encode(subtitle), 2.0);
    let mut gap = BODY;
    for raw in text.lines() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() {
            gap = BODY * 0.6;
            continue;
        }
        let heading = trimmed.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&heading) && trimmed[heading..].starts_with(' ') {
            let size = match heading {
                1 => 17.0,
                2 => 14.5,
                _ => 12.5,
            };
            push(
                Font::Bold,
                size,
                0.0,
                None,
                &encode(trimmed[heading..].trim()),
                gap + 6.0,
            );
        } else if let Some(item) = trimmed
            .strip_prefix("- ")
            .or_else(|| trimmed.strip_prefix("* "))
        {
            // Nested items by their leading spaces, two per level.
            let level = ((line.len() - trimmed.len()) / 2).min(4) as f32;
            let mut s = vec![0x95, b' ']; // a bullet
            s.extend(encode(item.trim()));
            let x = INDENT * (level + 1.0);
            push(Font::Regular, BODY, x, Some(x - 9.0), &s, gap);
        } else if let Some(quote) = trimmed.strip_prefix('>') {
            push(
                Font::Regular,
                BODY,
                INDENT,
                None,
                &encode(quote.trim()),
                gap,
            );
        } else {
            push(Font::Regular, BODY, 0.0, None, &encode(trimmed), gap);
        }
        gap = 0.0;
    }
    out
}

/// `lines` on pages: each line with its baseline on its page.
fn paginate(lines: &[Line]) -> Vec<Vec<(f32, &Line)>> {
    let mut pages: Vec<Vec<(f32, &Line)>> = vec![Vec::new()];
    let mut y = PAGE_H - MARGIN;
    for l in lines {
        let step = l.gap + l.size * 1.3;
        if y - step < MARGIN && pages.last().is_some_and(|p| !p.is_empty()) {
            pages.push(Vec::new());
            y = PAGE_H - MARGIN;
        }
        y -= step;
        if let Some(p) = pages.last_mut() {
            p.push((y, l));
        }
    }
    pages
}

/// The minutes `text` (Markdown) as a PDF document.
pub(crate) fn minutes_pdf(title: &str, subtitle: &str, text: &str) -> Vec<u8> {
    let lines = lay_out(title, subtitle, text);
    let pages = paginate(&lines);
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let info = Ref::new(5);
    let first = 6;
    let page_ids: Vec<Ref> = (0..pages.len())
        .map(|i| Ref::new(first + 2 * i as i32))
        .collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(pages.len() as i32);
    pdf.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.document_info(info)
        .title(TextStr(title))
        .producer(TextStr("Plenary"));
    for (page, id) in pages.iter().zip(&page_ids) {
        let contents = Ref::new(id.get() + 1);
        let mut p = pdf.page(*id);
        p.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
            .parent(tree)
            .contents(contents);
        p.resources()
            .fonts()
            .pair(Font::Regular.name(), regular)
            .pair(Font::Bold.name(), bold);
        drop(p);
        let mut c = Content::new();
        for (y, l) in page {
            c.begin_text();
            c.set_font(l.font.name(), l.size);
            c.next_line(MARGIN + l.x, *y);
            c.show(Str(&l.text));
            c.end_text();
        }
        pdf.stream(contents, &c.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_wraps_within_the_page_and_onto_more_pages() {
        let word = "consensus ";
        let para = word.repeat(400);
        let lines = lay_out("Minutes", "2026-12-08", &para);
        let width = PAGE_W - 2.0 * MARGIN;
        assert!(lines.len() > 20);
        for l in &lines {
            assert!(l.font.width(&l.text, l.size) <= width + 0.01);
        }
        let pages = paginate(&lines);
        assert!(pages.len() >= 2, "{} pages", pages.len());
        assert!(pages.iter().flatten().all(|(y, _)| *y >= MARGIN));
        let pdf = minutes_pdf(
            "Minutes",
            "today",
            &format!("# Budget\n\n{}", "x".repeat(2000)),
        );
        assert!(pdf.starts_with(b"%PDF-"));
    }

    #[test]
    fn a_very_long_word_is_cut_in_linear_time() {
        // 2 MB without a space (the largest minutes): cut into lines, each within the page.
        let lines = wrap(&vec![b'w'; 2_000_000], Font::Regular, BODY, 480.0);
        assert!(lines.len() > 10_000);
        assert!(lines.iter().all(|l| Font::Regular.width(l, BODY) <= 480.0));
        assert_eq!(lines.iter().map(Vec::len).sum::<usize>(), 2_000_000);
    }

    #[test]
    fn characters_outside_win_ansi_become_question_marks() {
        assert_eq!(
            encode("Grüße €5 — **ok** ✓"),
            b"Gr\xfc\xdfe \x805 \x97 ok ?".to_vec()
        );
    }
}
