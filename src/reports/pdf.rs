//! The PDF report, made with `krilla`: A4 pages, the bundled fonts
//! embedded (subset) so that names in Latin, Arabic and CJK scripts render
//! and extract as the same text, new pages as the content needs.

use std::sync::OnceLock;

use ab_glyph::Font as _;
use image::RgbaImage;
use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Size, Transform};
use krilla::image::Image as PdfImage;
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};

use super::keyimage::KeyImage;
use super::{Report, SOFTWARE, caption, measurement_lines};
use crate::fonts;

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 50.0;
const BODY: f32 = 10.0;
const FOOTER_SPACE: f32 = 30.0;

fn pdf_fonts() -> &'static [Font] {
    static FONTS: OnceLock<Vec<Font>> = OnceLock::new();
    FONTS.get_or_init(|| {
        fonts::FALLBACK_ORDER
            .iter()
            .map(|bytes| Font::new((*bytes).into(), 0).expect("bundled fonts load"))
            .collect()
    })
}

/// Width of `text` at `size` points (glyph advances, no kerning).
fn text_width(text: &str, size: f32) -> f32 {
    let text = &*fonts::displayable(text);
    let parsed = fonts::parsed();
    fonts::runs(text)
        .iter()
        .map(|run| {
            let font = &parsed[run.font];
            let units = font.units_per_em().unwrap_or(1000.0);
            let advance: f32 = run
                .text
                .chars()
                .map(|c| font.h_advance_unscaled(font.glyph_id(c)))
                .sum();
            advance * size / units
        })
        .sum()
}

/// Draws one line of text with its baseline at (`x`, `y`), run by run.
fn draw_line(surface: &mut Surface<'_>, x: f32, y: f32, text: &str, size: f32) {
    let text = &*fonts::displayable(text);
    let fonts = pdf_fonts();
    let mut cursor = x;
    for run in fonts::runs(text) {
        // The Arabic font's runs are right-to-left; krilla shapes them.
        let direction = if run.font == 1 {
            TextDirection::RightToLeft
        } else {
            TextDirection::LeftToRight
        };
        surface.draw_text(
            Point::from_xy(cursor, y),
            fonts[run.font].clone(),
            size,
            run.text,
            false,
            direction,
        );
        cursor += text_width(run.text, size);
    }
}

/// Splits `text` into lines no wider than `width` points.
fn wrap(text: &str, size: f32, width: f32) -> Vec<String> {
    fonts::wrap(text, width, |t| text_width(t, size))
}

/// One thing on a page.
enum Block {
    /// Lines of text at a size, indented.
    Text {
        lines: Vec<String>,
        size: f32,
        indent: f32,
    },
    /// A table row: cells at x offsets.
    Row {
        cells: Vec<(f32, String)>,
        size: f32,
    },
    /// An image scaled to a width and height in points.
    Image {
        index: usize,
        width: f32,
        height: f32,
    },
    /// A horizontal rule.
    Rule,
    /// Vertical space.
    Gap(f32),
}

impl Block {
    fn height(&self) -> f32 {
        match self {
            Block::Text { lines, size, .. } => lines.len() as f32 * size * 1.35,
            Block::Row { size, .. } => size * 1.5,
            Block::Image { height, .. } => *height + 4.0,
            Block::Rule => 8.0,
            Block::Gap(h) => *h,
        }
    }
}

/// A report document under construction.
struct Builder {
    blocks: Vec<Block>,
    width: f32,
}

impl Builder {
    fn heading(&mut self, text: &str) {
        self.blocks.push(Block::Gap(8.0));
        self.text(text, 13.0, 0.0);
        self.blocks.push(Block::Rule);
    }

    fn text(&mut self, text: &str, size: f32, indent: f32) {
        let lines = wrap(text, size, self.width - indent);
        self.blocks.push(Block::Text {
            lines,
            size,
            indent,
        });
    }

    fn field(&mut self, name: &str, value: &str) {
        self.text(&format!("{name}: {value}"), BODY, 0.0);
    }
}

fn or_dash(v: &Option<String>) -> String {
    v.as_deref()
        .map(|s| s.trim().replace('^', " ").trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "—".into())
}

fn header(b: &mut Builder, key: &KeyImage<'_>, deidentified: bool) {
    let m = &key.image.metadata;
    b.heading("Patient and study");
    if deidentified {
        b.field("Patient", "de-identified (name, ID, birth date, sex, study dates, accession number and institution omitted)");
        b.field("Modality", &or_dash(&m.modality));
        return;
    }
    b.field("Patient name", &or_dash(&m.patient_name));
    b.field("Patient ID", &or_dash(&m.patient_id));
    b.field("Birth date", &or_dash(&m.patient_birth_date));
    b.field("Sex", &or_dash(&m.patient_sex));
    b.field("Study date", &or_dash(&m.study_date));
    b.field("Study description", &or_dash(&m.study_description));
    b.field("Accession number", &or_dash(&m.accession_number));
    b.field("Modality", &or_dash(&m.modality));
    b.field("Institution", &or_dash(&m.institution_name));
}

fn ai_section(b: &mut Builder, report: &Report<'_>) {
    b.heading("AI findings");
    let Some(ai) = &report.ai else {
        b.text("No AI model was run for this report.", BODY, 0.0);
        return;
    };
    let columns = [0.0, 120.0, 200.0, 290.0];
    let row = |cells: [String; 4]| Block::Row {
        cells: columns.iter().copied().zip(cells).collect(),
        size: BODY,
    };
    b.blocks.push(row([
        "Label".into(),
        "Probability".into(),
        "Operating point".into(),
        "Call".into(),
    ]));
    for f in &ai.classification.findings {
        let call = if f.outside_scope {
            "not interpretable".to_string()
        } else if f.is_finding {
            match f.positive {
                Some(true) => "above".to_string(),
                Some(false) => "below".to_string(),
                None => "—".to_string(),
            }
        } else {
            "context only".to_string()
        };
        b.blocks.push(row([
            f.label.clone(),
            format!("{:.3}", f.probability),
            f.threshold.map_or("—".into(), |t| format!("{t:.2}")),
            call,
        ]));
    }
    b.blocks.push(Block::Gap(4.0));
    b.field("Model", &ai.model_line());
    b.field("Engine", &ai.engine_line());
    if ai.classification.in_scope == Some(false) {
        b.field("Scope", crate::ai::classify::OUTSIDE_SCOPE);
    }
    for w in &ai.classification.out_of_scope_warnings {
        b.field("Out of scope", w);
    }
    b.text(
        "Results are worded against the model's operating point; AI assistance for research and demonstration, not a diagnosis.",
        9.0,
        0.0,
    );
    b.heading("Model card");
    b.field("Intended use", &ai.intended_use);
    b.field("Limitations", &ai.limitations);
}

/// Renders the report as PDF bytes; `images` are the composed key images
/// in the order of `report.key_images`. With `deidentified`, no patient or
/// study identifier appears.
pub fn render(
    report: &Report<'_>,
    images: &[RgbaImage],
    deidentified: bool,
) -> Result<Vec<u8>, String> {
    let width = PAGE_W - 2.0 * MARGIN;
    let mut b = Builder {
        blocks: Vec::new(),
        width,
    };
    b.text("Hilum reading report", 18.0, 0.0);
    let key = report
        .key_images
        .first()
        .ok_or("a report needs at least one key image")?;
    header(&mut b, key, deidentified);
    for (i, (k, img)) in report.key_images.iter().zip(images).enumerate() {
        b.heading(&format!("Key image {}", i + 1));
        let max_h = 380.0;
        let aspect = img.height() as f32 / img.width().max(1) as f32;
        let (mut w, mut h) = (width, width * aspect);
        if h > max_h {
            (w, h) = (max_h / aspect, max_h);
        }
        b.blocks.push(Block::Image {
            index: i,
            width: w,
            height: h,
        });
        let frame_note = if k.image.pixels.frames > 1 {
            format!(", frame {} of {}", k.frame + 1, k.image.pixels.frames)
        } else {
            String::new()
        };
        b.text(
            &format!("Displayed as in the viewer{frame_note}."),
            9.0,
            0.0,
        );
        for line in caption(report, k) {
            b.text(&line, 9.0, 0.0);
        }
        let measurements = measurement_lines(k);
        if !measurements.is_empty() {
            b.text("Measurements:", BODY, 0.0);
            for m in measurements {
                b.text(&m, BODY, 12.0);
            }
        }
        if let Some(h) = k.heatmap {
            // The heatmap's own caption: method, target, settings, model and
            // faithfulness, worded as everywhere else.
            b.field("Saliency method", h.method.display_name());
            b.field("Saliency verdict", &h.verdict_line());
            if k.drawn_heatmap().is_none() {
                b.field("Saliency map drawn", "no: not faithful, and not asked for");
            }
            b.field("Saliency map", &h.caption());
        }
    }
    ai_section(&mut b, report);
    b.heading("Impression");
    let impression = report.impression.trim();
    b.text(
        if impression.is_empty() {
            "—"
        } else {
            impression
        },
        BODY,
        0.0,
    );
    let reader = report.reader.trim();
    b.field("Reader", if reader.is_empty() { "—" } else { reader });
    let generated = chrono::Local::now().format("%Y-%m-%d %H:%M %Z").to_string();
    b.blocks.push(Block::Gap(6.0));
    b.text(&format!("Generated {generated} by {SOFTWARE}."), 9.0, 0.0);
    layout(b.blocks, images, &generated)
}

/// Places the blocks on as many pages as they need and writes the PDF.
fn layout(blocks: Vec<Block>, images: &[RgbaImage], generated: &str) -> Result<Vec<u8>, String> {
    let bottom = PAGE_H - MARGIN - FOOTER_SPACE;
    let mut pages: Vec<Vec<(f32, Block)>> = vec![Vec::new()];
    let mut y = MARGIN;
    for block in blocks {
        let h = block.height();
        if y + h > bottom && !pages.last().is_some_and(Vec::is_empty) {
            pages.push(Vec::new());
            y = MARGIN;
        }
        pages.last_mut().expect("a page").push((y, block));
        y += h;
    }
    let mut pdf_images: Vec<Option<PdfImage>> = vec![None; images.len()];
    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title("Hilum reading report".into())
            .creator(SOFTWARE.into()),
    );
    let count = pages.len();
    for (n, page_blocks) in pages.into_iter().enumerate() {
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or("invalid page size")?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        for (y, block) in page_blocks {
            draw_block(&mut surface, y, block, images, &mut pdf_images);
        }
        draw_line(
            &mut surface,
            MARGIN,
            PAGE_H - MARGIN,
            &format!("{SOFTWARE} · {generated} · page {} of {count}", n + 1),
            8.0,
        );
        surface.finish();
        page.finish();
    }
    document.finish().map_err(|e| format!("{e:?}"))
}

fn draw_block(
    surface: &mut Surface<'_>,
    y: f32,
    block: Block,
    images: &[RgbaImage],
    cache: &mut [Option<PdfImage>],
) {
    match block {
        Block::Text {
            lines,
            size,
            indent,
        } => {
            for (i, line) in lines.iter().enumerate() {
                let baseline = y + size * (1.0 + 1.35 * i as f32);
                draw_line(surface, MARGIN + indent, baseline, line, size);
            }
        }
        Block::Row { cells, size } => {
            for (x, text) in cells {
                draw_line(surface, MARGIN + x, y + size * 1.1, &text, size);
            }
        }
        Block::Image {
            index,
            width,
            height,
        } => {
            let img = cache[index].get_or_insert_with(|| {
                let src = &images[index];
                PdfImage::from_rgba8(src.as_raw().clone(), src.width(), src.height())
            });
            surface.push_transform(&Transform::from_translate(MARGIN, y));
            if let Some(size) = Size::from_wh(width, height) {
                surface.draw_image(img.clone(), size);
            }
            surface.pop();
        }
        Block::Rule => {
            let mut path = PathBuilder::new();
            path.move_to(MARGIN, y + 3.0);
            path.line_to(PAGE_W - MARGIN, y + 3.0);
            if let Some(path) = path.finish() {
                surface.set_fill(None);
                surface.set_stroke(Some(Stroke {
                    paint: rgb::Color::new(150, 150, 150).into(),
                    width: 0.5,
                    ..Default::default()
                }));
                surface.draw_path(&path);
                surface.set_stroke(None);
                surface.set_fill(Some(Fill::default()));
            }
        }
        Block::Gap(_) => {}
    }
}
