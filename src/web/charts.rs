//! Charts as inline SVG: pure functions from report data to an `<svg>` string.
//!
//! plotters lays out every chart (coordinates, axes, grid, ticks, marks and labels) and
//! its SVG backend renders it into a `String`. A chart is drawn in layers, each by its
//! own SVG backend over the same coordinate system; every layer becomes one
//! `<g class="...">`, so the marks of a kind can be styled, counted and tested
//! (`g.mark-interval > *` is one element per interval). The only markup written here
//! is that root `<svg>` (with a `viewBox`, `role="img"` and an escaped `aria-label`)
//! around the layers.
//!
//! Colours are the Okabe–Ito palette, safe for colour-blind readers, and no meaning is
//! carried by colour alone: core and other segments differ in shape (circle, triangle)
//! and in their label, the overall figure is a diamond, reference lines differ in dash
//! pattern and are labelled, bars carry their numbers. Every chart has its numbers in a
//! table beside it on the page.

use crate::stats::convert::{saturating_i32, saturating_usize};
use std::fmt::Write as _;
use std::ops::Range as Span;

use chrono::NaiveDate;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::analysis::report::{
    BySentiment, Enthusiasm, Range, SegmentReport, TimelinePoint, VariantReport,
};
use crate::analysis::words::{count, money, percent, percent_range};

/// The Okabe–Ito palette (and two greys).
pub mod palette {
    use plotters::style::RGBColor;

    pub const BLACK: RGBColor = RGBColor(0, 0, 0);
    pub const ORANGE: RGBColor = RGBColor(230, 159, 0);
    pub const SKY_BLUE: RGBColor = RGBColor(86, 180, 233);
    pub const BLUISH_GREEN: RGBColor = RGBColor(0, 158, 115);
    pub const YELLOW: RGBColor = RGBColor(240, 228, 66);
    pub const BLUE: RGBColor = RGBColor(0, 114, 178);
    pub const VERMILLION: RGBColor = RGBColor(213, 94, 0);
    pub const REDDISH_PURPLE: RGBColor = RGBColor(204, 121, 167);
    /// Text and axes.
    pub const INK: RGBColor = RGBColor(34, 34, 34);
    /// Secondary text.
    pub const MUTED: RGBColor = RGBColor(90, 90, 90);
    /// Grid lines.
    pub const GRID: RGBColor = RGBColor(222, 222, 222);
    /// Neutral responses.
    pub const NEUTRAL: RGBColor = RGBColor(190, 190, 190);
}

use palette::{BLACK, BLUE, GRID, INK, MUTED, NEUTRAL, ORANGE, SKY_BLUE, VERMILLION};

/// A chart could not be drawn (plotters reported an error).
#[derive(Debug, thiserror::Error)]
#[error("chart could not be drawn: {0}")]
pub struct ChartError(String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for ChartError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        ChartError(e.to_string())
    }
}

type Area<'b> = DrawingArea<SVGBackend<'b>, Shift>;
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Where the plot sits in the canvas, and its data ranges.
#[derive(Debug, Clone)]
struct Plot {
    size: (u32, u32),
    /// Top, right, bottom, left.
    margin: (u32, u32, u32, u32),
    x_label_area: u32,
    y_label_area: u32,
    x: Span<f64>,
    y: Span<f64>,
}

impl Plot {
    fn build<'a, 'b>(&self, area: &'a Area<'b>) -> Result<Chart<'a, 'b>, ChartError> {
        let (top, right, bottom, left) = self.margin;
        Ok(ChartBuilder::on(area)
            .margin_top(top)
            .margin_right(right)
            .margin_bottom(bottom)
            .margin_left(left)
            .x_label_area_size(self.x_label_area)
            .y_label_area_size(self.y_label_area)
            .build_cartesian_2d(self.x.clone(), self.y.clone())?)
    }
}

/// Which of a chart's two layouts: `Wide` (860 units, labels beside the rows) for a
/// laptop, `Narrow` (360 units, labels above the rows, larger type, fewer ticks) for a
/// phone. Pages render both and show the one that fits its box (a CSS container
/// query), so the text is drawn at a readable size on every screen instead of
/// shrinking with the whole chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Wide,
    Narrow,
}

impl Layout {
    pub const ALL: [Layout; 2] = [Layout::Wide, Layout::Narrow];

    /// The viewBox width.
    fn width(self) -> u32 {
        match self {
            Layout::Wide => WIDTH,
            Layout::Narrow => NARROW_WIDTH,
        }
    }

    /// Room above the plot for the reference lines' labels.
    fn top(self) -> u32 {
        match self {
            Layout::Wide => 34,
            Layout::Narrow => 42,
        }
    }

    /// The height of one row of a row chart.
    fn row(self, wide: u32) -> u32 {
        match self {
            Layout::Wide => wide,
            Layout::Narrow => NARROW_ROW,
        }
    }

    /// Left and right margins of a row chart: room for the labels and values beside
    /// the rows, or (narrow) only a little air, the labels being above the rows.
    fn sides(self, right: u32) -> (u32, u32) {
        match self {
            Layout::Wide => (LABEL_WIDTH, right),
            Layout::Narrow => (12, 26),
        }
    }

    /// A font size (plotters' units) for text drawn at `wide` in the wide layout.
    fn font(self, wide: u32) -> u32 {
        match self {
            Layout::Wide => wide,
            Layout::Narrow if wide >= 17 => 17,
            Layout::Narrow => 16,
        }
    }

    /// Axis ticks.
    fn ticks(self, wide: usize) -> usize {
        match self {
            Layout::Wide => wide,
            Layout::Narrow => wide.min(4),
        }
    }

    /// Half the thickness of a bar, in rows.
    fn bar(self, wide: f64) -> f64 {
        match self {
            Layout::Wide => wide,
            Layout::Narrow => 0.24,
        }
    }

    /// An axis description: the narrow layout keeps what comes before a parenthesis.
    fn desc(self, desc: &str) -> String {
        match self {
            Layout::Wide => desc.to_owned(),
            Layout::Narrow => desc.split(" (").next().unwrap_or(desc).to_owned(),
        }
    }

    /// The class the chart's `<svg>` carries besides its own.
    fn class(self) -> &'static str {
        match self {
            Layout::Wide => "",
            Layout::Narrow => " narrow",
        }
    }
}

/// A row's label and its value: beside the row (wide: label right-aligned on the
/// left, value on the right) or above it (narrow: label left, value right).
#[allow(clippy::too_many_arguments)]
fn row_text(
    area: &Area<'_>,
    layout: Layout,
    (left, right, py): (i32, i32, i32),
    label: &str,
    label_bold: bool,
    value: &str,
    above: i32,
) -> Result<(), ChartError> {
    let label_style = |h, v| {
        let size = layout.font(17);
        if label_bold {
            bold(size, INK, h, v)
        } else {
            text(size, INK, h, v)
        }
    };
    match layout {
        Layout::Wide => {
            area.draw(&Text::new(
                label.to_owned(),
                (left - 12, py),
                label_style(HPos::Right, VPos::Center),
            ))?;
            area.draw(&Text::new(
                value.to_owned(),
                (right + 12, py),
                text(16, MUTED, HPos::Left, VPos::Center),
            ))?;
        }
        Layout::Narrow => {
            // The label gives way to the value when both would not fit on one line.
            // (An average character is narrower than `text_width`'s generous estimate.)
            let em = |size: u32| f64::from(size) / 1.24;
            let value_width = value.chars().count() as f64 * em(layout.font(16)) * 0.55;
            let room = f64::from(right - left) - value_width - 8.0;
            let fits = saturating_usize(room.max(0.0) / (em(layout.font(17)) * 0.56));
            area.draw(&Text::new(
                clip(label, NARROW_LABEL.min(fits.max(8))),
                (left, py - above),
                label_style(HPos::Left, VPos::Bottom),
            ))?;
            area.draw(&Text::new(
                value.to_owned(),
                (right, py - above),
                text(layout.font(16), MUTED, HPos::Right, VPos::Bottom),
            ))?;
        }
    }
    Ok(())
}

/// A chart being drawn: layers over one coordinate system.
struct Canvas {
    class: &'static str,
    label: String,
    plot: Plot,
    layers: String,
}

impl Canvas {
    fn new(class: &'static str, label: impl Into<String>, plot: Plot) -> Self {
        Canvas {
            class,
            label: label.into(),
            plot,
            layers: String::new(),
        }
    }

    /// Draws one layer with its own SVG backend; `class` names the `<g>` it becomes.
    fn layer(
        &mut self,
        class: &'static str,
        draw: impl FnOnce(&mut Chart<'_, '_>, &Area<'_>) -> Result<(), ChartError>,
    ) -> Result<(), ChartError> {
        let mut svg = String::new();
        {
            let area = SVGBackend::with_string(&mut svg, self.plot.size).into_drawing_area();
            let mut chart = self.plot.build(&area)?;
            draw(&mut chart, &area)?;
            area.present()?;
        }
        let inner = inner_svg(&svg)?;
        let _ = write!(self.layers, "<g class=\"{class}\">{inner}</g>");
        Ok(())
    }

    fn finish(self, layout: Layout) -> String {
        let (w, h) = self.plot.size;
        let mut label = String::new();
        let _ = write!(maud::Escaper::new(&mut label), "{}", self.label);
        format!(
            "<svg class=\"chart {class}{layout}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{label}\"><title>{label}</title>{layers}</svg>",
            class = self.class,
            layout = layout.class(),
            layers = self.layers
        )
    }
}

/// The drawing inside plotters' root `<svg ...>` element.
fn inner_svg(svg: &str) -> Result<&str, ChartError> {
    // Attribute values are escaped by the backend, so the first '>' ends the root tag.
    let start = svg
        .find('>')
        .ok_or_else(|| ChartError("no <svg> root".into()))?
        + 1;
    let end = svg
        .rfind("</svg>")
        .ok_or_else(|| ChartError("unterminated <svg>".into()))?;
    Ok(svg.get(start..end).unwrap_or_default().trim())
}

const FONT: &str = "sans-serif";

/// plotters writes `size / 1.24` as the SVG font size: these are in its units.
fn text(size: u32, color: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    TextStyle {
        font: (FONT, size).into_font(),
        color: color.to_backend_color(),
        pos: Pos::new(h, v),
    }
}

fn bold(size: u32, color: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    TextStyle {
        font: (FONT, size, FontStyle::Bold).into_font(),
        color: color.to_backend_color(),
        pos: Pos::new(h, v),
    }
}

/// A percentage for an axis tick: "0%", "2.5%", "10%".
fn tick_percent(v: f64) -> String {
    let p = v * 100.0;
    if (p - p.round()).abs() < 1e-6 {
        format!("{:.0}%", p.round())
    } else {
        format!("{p:.1}%")
    }
}

/// A round upper end for a rate axis a little above `max` (at most 100%).
pub fn rate_axis_max(max: f64) -> f64 {
    let max = if max.is_finite() && max > 0.0 {
        (max * 1.08).min(1.0)
    } else {
        0.01
    };
    let raw_step = max / 5.0;
    let magnitude = 10f64.powf(raw_step.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw_step * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude);
    ((max / step - 1e-9).ceil() * step).min(1.0)
}

/// A generous estimate of the width of `s` in bold sans-serif at `size` (plotters'
/// units, drawn at `size / 1.24`), to keep labels inside the canvas.
fn text_width(s: &str, size: u32) -> i32 {
    saturating_i32((s.chars().count() as f64 * f64::from(size) / 1.24 * 0.62).ceil())
}

/// Cuts a label to `max` characters with an ellipsis.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

fn interval_text(rate: Option<f64>, ci: Option<Range>) -> String {
    match (rate, ci) {
        (Some(r), Some(c)) => format!("{}  ({})", percent(r), percent_range(c.low, c.high)),
        (Some(r), None) => percent(r),
        _ => "no exposures yet".into(),
    }
}

/// Draws the percent x axis with a light vertical grid.
fn percent_axis(
    chart: &mut Chart<'_, '_>,
    layout: Layout,
    desc: &str,
    ticks: usize,
) -> Result<(), ChartError> {
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_labels(layout.ticks(ticks))
        .x_label_formatter(&|v| tick_percent(*v))
        .x_desc(layout.desc(desc))
        .label_style(text(layout.font(15), MUTED, HPos::Center, VPos::Top))
        .axis_desc_style(text(layout.font(16), INK, HPos::Center, VPos::Top))
        .bold_line_style(GRID.stroke_width(1))
        .light_line_style(TRANSPARENT)
        .axis_style(MUTED.stroke_width(1))
        .draw()?;
    Ok(())
}

/// A labelled vertical reference line across the plot (dash and gap in pixels).
#[allow(clippy::too_many_arguments)]
fn reference_line(
    chart: &mut Chart<'_, '_>,
    area: &Area<'_>,
    x: f64,
    color: RGBColor,
    dash: (u32, u32),
    label: &str,
    anchor: HPos,
    label_y: Option<i32>,
    size: u32,
) -> Result<(), ChartError> {
    let y = chart.y_range();
    let style = color.stroke_width(2);
    chart.draw_series(std::iter::once(DashedPathElement::new(
        vec![(x, y.start), (x, y.end)],
        dash.0,
        dash.1,
        style,
    )))?;
    let (px, top) = chart.backend_coord(&(x, y.end));
    let dx = match anchor {
        HPos::Left => 4,
        HPos::Right => -4,
        HPos::Center => 0,
    };
    // Kept inside the canvas: a line near an edge gets its label on the inner side.
    let width = i32::try_from(area.dim_in_pixel().0).unwrap_or(i32::MAX);
    let half = text_width(label, size) / 2 + 2;
    let x = match anchor {
        HPos::Center => (px).clamp(half, (width - half).max(half)),
        HPos::Left => (px + dx).min(width - 2 * half),
        HPos::Right => (px + dx).max(2 * half),
    };
    area.draw(&Text::new(
        label.to_owned(),
        (x, label_y.unwrap_or(top - 4)),
        bold(size, color, anchor, VPos::Bottom),
    ))?;
    Ok(())
}

/// Two reference lines whose labels must not overlap: the lower one's label runs left
/// of its line, the higher one's right.
fn anchors(a: f64, b: f64) -> (HPos, HPos) {
    if a <= b {
        (HPos::Right, HPos::Left)
    } else {
        (HPos::Left, HPos::Right)
    }
}

/// One row of an interval chart (forest plot).
struct IntervalRow {
    label: String,
    value: String,
    rate: Option<f64>,
    ci: Option<Range>,
    marker: Marker,
    highlight: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    /// Core segment: filled circle.
    Circle,
    /// Other segment: filled triangle.
    Triangle,
    /// All customers: diamond.
    Diamond,
}

impl Marker {
    fn color(self, highlight: bool) -> RGBColor {
        match self {
            Marker::Diamond => BLACK,
            Marker::Circle => BLUE,
            Marker::Triangle if highlight => VERMILLION,
            Marker::Triangle => ORANGE,
        }
    }
}

const ROW: u32 = 34;
const LABEL_WIDTH: u32 = 210;
const VALUE_WIDTH: u32 = 170;
const WIDTH: u32 = 860;
/// The narrow layout: a phone's width in CSS pixels, so its text is drawn near its size.
const NARROW_WIDTH: u32 = 360;
/// A narrow row holds its label line above the marks.
const NARROW_ROW: u32 = 56;
/// The longest label of the narrow layout (the value shares its line).
const NARROW_LABEL: usize = 26;

/// Interval rows against a target: the shared drawing of the forest plot and the
/// variants chart. Layers: `band-highlight`, `target`, `mark-overall` (the diamond
/// row), `mark-interval` and `mark-point` (one element per row with an interval),
/// `labels`.
fn interval_chart(
    class: &'static str,
    aria: String,
    rows: &[IntervalRow],
    target: f64,
    x_desc: &str,
    layout: Layout,
) -> Result<String, ChartError> {
    let n = rows.len().max(1);
    let top = layout.top();
    let x_label_area = 56;
    let height = top + layout.row(ROW).saturating_mul(rows_u32(n)) + x_label_area + 8;
    let (left, right) = layout.sides(VALUE_WIDTH);
    let max = rows
        .iter()
        .filter_map(|r| r.ci.map(|c| c.high).or(r.rate))
        .fold(target, f64::max);
    let plot = Plot {
        size: (layout.width(), height),
        margin: (top, right, 8, left),
        x_label_area,
        y_label_area: 0,
        x: 0.0..rate_axis_max(max),
        y: -0.5..(n as f64 - 0.5),
    };
    let y_of = |i: usize| (n - 1 - i) as f64;
    let x_end = plot.x.end;
    let mut canvas = Canvas::new(class, aria, plot);

    canvas.layer("axes", |chart, _| percent_axis(chart, layout, x_desc, 8))?;
    canvas.layer("band-highlight", |chart, _| {
        chart.draw_series(
            rows.iter()
                .enumerate()
                .filter(|(_, r)| r.highlight)
                .map(|(i, _)| {
                    let y = y_of(i);
                    Rectangle::new(
                        [(0.0, y - 0.48), (x_end, y + 0.48)],
                        VERMILLION.mix(0.12).filled(),
                    )
                }),
        )?;
        Ok(())
    })?;
    canvas.layer("target", |chart, area| {
        reference_line(
            chart,
            area,
            target,
            BLACK,
            (7, 5),
            &format!("Target {}", percent(target)),
            HPos::Center,
            None,
            layout.font(15),
        )
    })?;
    let with_ci = |marker_is_overall: bool| {
        rows.iter()
            .enumerate()
            .filter(move |(_, r)| (r.marker == Marker::Diamond) == marker_is_overall)
            .filter_map(move |(i, r)| r.ci.zip(r.rate).map(|(ci, rate)| (y_of(i), r, ci, rate)))
    };
    canvas.layer("mark-overall", |chart, area| {
        for (y, _, ci, rate) in with_ci(true) {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(ci.low, y), (ci.high, y)],
                BLACK.stroke_width(2),
            )))?;
            let (px, py) = chart.backend_coord(&(rate, y));
            area.draw(&Polygon::new(
                vec![(px, py - 9), (px + 9, py), (px, py + 9), (px - 9, py)],
                BLACK.filled(),
            ))?;
        }
        Ok(())
    })?;
    canvas.layer("mark-interval", |chart, _| {
        chart.draw_series(with_ci(false).map(|(y, r, ci, _)| {
            PathElement::new(
                vec![(ci.low, y), (ci.high, y)],
                r.marker.color(r.highlight).stroke_width(4),
            )
        }))?;
        Ok(())
    })?;
    canvas.layer("mark-point", |chart, area| {
        for (y, r, _, rate) in with_ci(false) {
            let color = r.marker.color(r.highlight);
            let (px, py) = chart.backend_coord(&(rate, y));
            match r.marker {
                Marker::Triangle => area.draw(&Polygon::new(
                    vec![(px, py - 9), (px + 8, py + 6), (px - 8, py + 6)],
                    color.filled(),
                ))?,
                _ => area.draw(&Circle::new((px, py), 7, color.filled()))?,
            }
        }
        Ok(())
    })?;
    canvas.layer("labels", |chart, area| {
        for (i, r) in rows.iter().enumerate() {
            let (left, py) = chart.backend_coord(&(0.0, y_of(i)));
            let (right, _) = chart.backend_coord(&(x_end, y_of(i)));
            row_text(
                area,
                layout,
                (left, right, py),
                &r.label,
                r.highlight || r.marker == Marker::Diamond,
                &r.value,
                13,
            )?;
        }
        Ok(())
    })?;
    Ok(canvas.finish(layout))
}

/// Segments as the pages list them: core segments first, then the others, each group
/// in the report's order.
pub fn segment_order(segments: &[SegmentReport]) -> Vec<&SegmentReport> {
    let mut ordered: Vec<&SegmentReport> = segments.iter().collect();
    ordered.sort_by_key(|s| !s.core);
    ordered
}

/// The forest plot: pre-order rate per segment with its interval, against the target.
/// Core segments are blue circles, other segments orange triangles, breakout segments
/// (another segment whose interval clears the target) vermillion on a shaded row, and
/// the overall rate (`overall`: the interval the verdict reads) a black diamond on top.
pub fn segment_forest(
    segments: &[SegmentReport],
    overall: Option<(f64, Range)>,
    target: f64,
    layout: Layout,
) -> Result<String, ChartError> {
    let mut rows = Vec::with_capacity(segments.len() + 1);
    if let Some((rate, ci)) = overall {
        rows.push(IntervalRow {
            label: "All customers".into(),
            value: interval_text(Some(rate), Some(ci)),
            rate: Some(rate),
            ci: Some(ci),
            marker: Marker::Diamond,
            highlight: false,
        });
    }
    for s in segment_order(segments) {
        let name = clip(&s.segment, 22);
        rows.push(IntervalRow {
            // Narrow: the star alone says breakout (the legend explains it).
            label: if s.breakout && layout == Layout::Narrow {
                format!("★ {name}")
            } else if s.breakout {
                format!("★ {name} · breakout")
            } else if s.core {
                format!("{name} · core")
            } else {
                name
            },
            value: interval_text(s.rate, s.ci),
            rate: s.rate,
            ci: s.ci,
            marker: if s.core {
                Marker::Circle
            } else {
                Marker::Triangle
            },
            highlight: s.breakout,
        });
    }
    let aria = format!(
        "Forest plot: pre-order rate with its interval for {} segments against the {} target",
        segments.len(),
        percent(target)
    );
    interval_chart(
        "chart-forest",
        aria,
        &rows,
        target,
        "Pre-order rate (share of exposed customers who pre-ordered)",
        layout,
    )
}

/// Pre-order rate per variant with its interval, against the target.
pub fn variant_rates(
    variants: &[VariantReport],
    target: f64,
    currency: &str,
    layout: Layout,
) -> Result<String, ChartError> {
    let rows: Vec<IntervalRow> = variants
        .iter()
        .map(|v| IntervalRow {
            label: format!(
                "{} · {}",
                clip(&v.variant, 14),
                money(v.price_cents, currency)
            ),
            value: interval_text(v.rate, v.ci),
            rate: v.rate,
            ci: v.ci,
            marker: Marker::Circle,
            highlight: false,
        })
        .collect();
    let aria = format!(
        "Pre-order rate with its interval for {} variants against the {} target",
        variants.len(),
        percent(target)
    );
    interval_chart(
        "chart-variants",
        aria,
        &rows,
        target,
        "Pre-order rate by variant",
        layout,
    )
}

/// The four stated sentiments, in reading order, with their colours.
pub const SENTIMENTS: [(&str, &str, RGBColor); 4] = [
    ("love", "Love", BLUE),
    ("like", "Like", SKY_BLUE),
    ("neutral", "Neutral", NEUTRAL),
    ("dislike", "Dislike", ORANGE),
];

/// Stacked 100% bars of stated sentiment: all responders, then each segment with
/// responses. Each part carries its share as text when it is wide enough; the love
/// target is a dashed line. Layers `mark-love`, `mark-like`, `mark-neutral`,
/// `mark-dislike` hold one bar part per row.
pub fn sentiment_bars(
    total: &Enthusiasm,
    segments: &[SegmentReport],
    love_target: Option<f64>,
    layout: Layout,
) -> Result<String, ChartError> {
    let mut rows: Vec<(String, [u64; 4])> = vec![(
        "All responders".into(),
        [total.love, total.like, total.neutral, total.dislike],
    )];
    rows.extend(
        segment_order(segments)
            .into_iter()
            .filter(|s| s.love + s.like + s.neutral + s.dislike > 0)
            .map(|s| (clip(&s.segment, 24), [s.love, s.like, s.neutral, s.dislike])),
    );
    let n = rows.len();
    let top = layout.top();
    let x_label_area = 56;
    let (left, right) = layout.sides(110);
    let plot = Plot {
        size: (
            layout.width(),
            top + layout.row(ROW).saturating_mul(rows_u32(n)) + x_label_area + 8,
        ),
        margin: (top, right, 8, left),
        x_label_area,
        y_label_area: 0,
        x: 0.0..1.0,
        y: -0.5..(n as f64 - 0.5),
    };
    let y_of = |i: usize| (n - 1 - i) as f64;
    let aria = format!(
        "Stacked bars: share of responders who said love, like, neutral or dislike, for all responders and {} segments",
        n - 1
    );
    let mut canvas = Canvas::new("chart-sentiment", aria, plot);
    canvas.layer("axes", |chart, _| {
        percent_axis(chart, layout, "Share of responders", 6)
    })?;
    // Cumulative shares per row: [start of love, like, neutral, dislike, end].
    let bounds: Vec<[f64; 5]> = rows
        .iter()
        .map(|(_, c)| {
            let total: u64 = c.iter().sum();
            let mut b = [0.0; 5];
            let mut acc = 0u64;
            for (slot, v) in b.iter_mut().skip(1).zip(c.iter()) {
                acc += v;
                *slot = if total > 0 {
                    acc as f64 / total as f64
                } else {
                    0.0
                };
            }
            b
        })
        .collect();
    let layer_names = ["mark-love", "mark-like", "mark-neutral", "mark-dislike"];
    for (k, ((_, _, color), layer_name)) in SENTIMENTS.iter().zip(layer_names).enumerate() {
        let color = *color;
        canvas.layer(layer_name, |chart, area| {
            for (i, b) in bounds.iter().enumerate() {
                let (Some(&x0), Some(&x1)) = (b.get(k), b.get(k + 1)) else {
                    continue;
                };
                let y = y_of(i);
                if x1 <= x0 {
                    continue;
                }
                let half = layout.bar(0.36);
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x0, y - half), (x1, y + half)],
                    color.filled(),
                )))?;
                let wide_enough = match layout {
                    Layout::Wide => 0.06,
                    Layout::Narrow => 0.12,
                };
                if x1 - x0 >= wide_enough {
                    let (px, py) = chart.backend_coord(&((x0 + x1) / 2.0, y));
                    let ink = if k == 0 { RGBColor(255, 255, 255) } else { INK };
                    area.draw(&Text::new(
                        percent(x1 - x0),
                        (px, py),
                        bold(layout.font(15), ink, HPos::Center, VPos::Center),
                    ))?;
                }
            }
            Ok(())
        })?;
    }
    if let Some(t) = love_target {
        canvas.layer("target", |chart, area| {
            reference_line(
                chart,
                area,
                t,
                BLACK,
                (7, 5),
                &format!("Love target {}", percent(t)),
                HPos::Center,
                None,
                layout.font(15),
            )
        })?;
    }
    canvas.layer("labels", |chart, area| {
        for (i, (label, c)) in rows.iter().enumerate() {
            let (left, py) = chart.backend_coord(&(0.0, y_of(i)));
            let (right, _) = chart.backend_coord(&(1.0, y_of(i)));
            row_text(
                area,
                layout,
                (left, right, py),
                label,
                i == 0,
                &format!("n = {}", count(c.iter().sum())),
                16,
            )?;
        }
        Ok(())
    })?;
    Ok(canvas.finish(layout))
}

/// Say versus do: pre-order rate among responders by what they said, against the
/// overall pre-order rate of everyone exposed and the target. Layer `mark-bar` holds one
/// bar per sentiment with responders.
pub fn say_do(
    by: &BySentiment,
    overall: Option<f64>,
    target: f64,
    layout: Layout,
) -> Result<String, ChartError> {
    let rows = [
        ("Said love", by.love),
        ("Said like", by.like),
        ("Said neutral", by.neutral),
        ("Said dislike", by.dislike),
    ];
    let n = rows.len();
    let max = rows
        .iter()
        .filter_map(|(_, c)| c.rate)
        .chain(overall)
        .fold(target, f64::max);
    let top = layout.top();
    let x_label_area = 56;
    let (left, right) = layout.sides(VALUE_WIDTH);
    let plot = Plot {
        size: (
            layout.width(),
            top + layout.row(38).saturating_mul(rows_u32(n)) + x_label_area + 8,
        ),
        margin: (top, right, 8, left),
        x_label_area,
        y_label_area: 0,
        x: 0.0..rate_axis_max(max),
        y: -0.5..(n as f64 - 0.5),
    };
    let y_of = |i: usize| (n - 1 - i) as f64;
    let aria = format!(
        "Bars: pre-order rate of responders who said love, like, neutral or dislike, against the {} target",
        percent(target)
    );
    let mut canvas = Canvas::new("chart-say-do", aria, plot);
    canvas.layer("axes", |chart, _| {
        percent_axis(chart, layout, "Pre-order rate among responders", 8)
    })?;
    canvas.layer("mark-bar", |chart, _| {
        chart.draw_series(rows.iter().enumerate().filter_map(|(i, (_, c))| {
            let y = y_of(i);
            c.rate.zip(SENTIMENTS.get(i)).map(|(r, (_, _, color))| {
                let half = layout.bar(0.34);
                Rectangle::new([(0.0, y - half), (r, y + half)], color.filled())
            })
        }))?;
        Ok(())
    })?;
    let (target_anchor, overall_anchor) = anchors(target, overall.unwrap_or(target));
    canvas.layer("target", |chart, area| {
        reference_line(
            chart,
            area,
            target,
            BLACK,
            (7, 5),
            &format!("Target {}", percent(target)),
            target_anchor,
            None,
            layout.font(15),
        )
    })?;
    if let Some(all) = overall {
        canvas.layer("reference", |chart, area| {
            reference_line(
                chart,
                area,
                all,
                VERMILLION,
                (2, 4),
                &format!("All exposed {}", percent(all)),
                overall_anchor,
                // Narrow: a line of its own above the target's label, as the two lines
                // are often close together.
                match layout {
                    Layout::Wide => None,
                    Layout::Narrow => Some(chart.backend_coord(&(all, chart.y_range().end)).1 - 22),
                },
                layout.font(15),
            )
        })?;
    }
    canvas.layer("labels", |chart, area| {
        for (i, (label, c)) in rows.iter().enumerate() {
            let (left, py) = chart.backend_coord(&(0.0, y_of(i)));
            let (right, _) = chart.backend_coord(&(chart.x_range().end, y_of(i)));
            let value = match c.rate {
                Some(r) => format!("{} of {}", percent(r), count(c.responders)),
                None => "no responders".into(),
            };
            row_text(area, layout, (left, right, py), label, false, &value, 16)?;
        }
        Ok(())
    })?;
    Ok(canvas.finish(layout))
}

/// Cumulative pre-order rate by day with its anytime-valid band and the target. The
/// rate axis is sized for the days with at least `min_exposures` exposures (the band
/// of the first few days is cut at the top). Layers: `mark-band` (one polygon),
/// `mark-rate-line` (one line), `mark-rate` (one dot per day).
pub fn timeline(
    points: &[TimelinePoint],
    target: f64,
    min_exposures: u64,
    layout: Layout,
) -> Result<String, ChartError> {
    let n = points.len().max(1);
    let settled: Vec<&TimelinePoint> = points
        .iter()
        .filter(|p| p.exposures >= min_exposures.max(1))
        .collect();
    let basis: Vec<&TimelinePoint> = if settled.is_empty() {
        points.iter().collect()
    } else {
        settled
    };
    let max = basis
        .iter()
        .filter_map(|p| p.rate)
        .chain(points.last().and_then(|p| p.ci.map(|c| c.high)))
        .fold(target, f64::max);
    let y_max = rate_axis_max(max * 1.1);
    let plot = Plot {
        size: match layout {
            Layout::Wide => (WIDTH, 380),
            Layout::Narrow => (NARROW_WIDTH, 320),
        },
        margin: match layout {
            Layout::Wide => (34, 40, 8, 8),
            Layout::Narrow => (34, 16, 8, 4),
        },
        x_label_area: 56,
        y_label_area: match layout {
            Layout::Wide => 86,
            Layout::Narrow => 76,
        },
        x: -0.5..(n as f64 - 0.5),
        y: 0.0..y_max,
    };
    let days: Vec<NaiveDate> = points.iter().map(|p| p.day).collect();
    let aria = format!(
        "Line chart: cumulative pre-order rate over {} days with its anytime-valid band, against the {} target",
        points.len(),
        percent(target)
    );
    let clamp = |v: f64| v.clamp(0.0, y_max);
    let mut canvas = Canvas::new("chart-timeline", aria, plot);
    canvas.layer("axes", |chart, _| {
        let day_label = |v: &f64| {
            let i = v.round();
            if (v - i).abs() > 1e-6 || i < 0.0 {
                return String::new();
            }
            days.get(saturating_usize(i))
                .map(|d| d.format("%b %-d").to_string())
                .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .x_labels(layout.ticks(n.min(8)))
            .y_labels(layout.ticks(7) + 1)
            .x_label_formatter(&day_label)
            .y_label_formatter(&|v| tick_percent(*v))
            .x_desc(layout.desc("Day (cumulative since launch)"))
            .y_desc("Pre-order rate")
            .label_style(text(layout.font(15), MUTED, HPos::Center, VPos::Top))
            .axis_desc_style(text(layout.font(16), INK, HPos::Center, VPos::Top))
            .bold_line_style(GRID.stroke_width(1))
            .light_line_style(TRANSPARENT)
            .axis_style(MUTED.stroke_width(1))
            .draw()?;
        Ok(())
    })?;
    let band: Vec<(f64, Range)> = points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.ci.map(|c| (i as f64, c)))
        .collect();
    canvas.layer("mark-band", |chart, _| {
        if band.is_empty() {
            return Ok(());
        }
        let outline: Vec<(f64, f64)> = band
            .iter()
            .map(|(x, c)| (*x, clamp(c.high)))
            .chain(band.iter().rev().map(|(x, c)| (*x, clamp(c.low))))
            .collect();
        chart.draw_series(std::iter::once(Polygon::new(
            outline,
            SKY_BLUE.mix(0.35).filled(),
        )))?;
        Ok(())
    })?;
    canvas.layer("target", |chart, area| {
        let x = chart.x_range();
        let style = BLACK.stroke_width(2);
        chart.draw_series(std::iter::once(DashedPathElement::new(
            vec![(x.start, target), (x.end, target)],
            7,
            5,
            style,
        )))?;
        let (px, py) = chart.backend_coord(&(x.end, target));
        area.draw(&Text::new(
            format!("Target {}", percent(target)),
            (px - 4, py - 4),
            bold(layout.font(15), BLACK, HPos::Right, VPos::Bottom),
        ))?;
        Ok(())
    })?;
    let rate: Vec<(f64, f64)> = points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.rate.map(|r| (i as f64, clamp(r))))
        .collect();
    canvas.layer("mark-rate-line", |chart, _| {
        if rate.len() > 1 {
            chart.draw_series(std::iter::once(PathElement::new(
                rate.clone(),
                BLUE.stroke_width(3),
            )))?;
        }
        Ok(())
    })?;
    canvas.layer("mark-rate", |chart, _| {
        chart.draw_series(
            rate.iter()
                .map(|(x, y)| Circle::new((*x, *y), 4, BLUE.filled())),
        )?;
        Ok(())
    })?;
    Ok(canvas.finish(layout))
}

/// The portfolio's small chart: one rate, its interval and the target on a scale
/// `0..scale_max` shared by every row. Layers `target`, `mark-interval`, `mark-point`.
pub fn rate_strip(
    rate: Option<f64>,
    ci: Option<Range>,
    target: f64,
    scale_max: f64,
    with_axis: bool,
) -> Result<String, ChartError> {
    let plot = Plot {
        size: if with_axis { (320, 62) } else { (220, 36) },
        margin: (6, 14, 2, 14),
        x_label_area: if with_axis { 24 } else { 0 },
        y_label_area: 0,
        x: 0.0..scale_max.max(target).max(1e-6),
        y: -1.0..1.0,
    };
    let aria = match (rate, ci) {
        (Some(r), Some(c)) => format!(
            "Pre-order rate {} (interval {}) against the {} target",
            percent(r),
            percent_range(c.low, c.high),
            percent(target)
        ),
        _ => format!("No pre-order rate yet; target {}", percent(target)),
    };
    let mut canvas = Canvas::new("chart-strip", aria, plot);
    canvas.layer("axes", |chart, _| {
        if with_axis {
            chart
                .configure_mesh()
                .disable_x_mesh()
                .disable_y_mesh()
                .y_labels(0)
                .x_labels(5)
                .x_label_formatter(&|v| tick_percent(*v))
                .label_style(text(15, MUTED, HPos::Center, VPos::Top))
                .axis_style(MUTED.stroke_width(1))
                .draw()?;
        }
        let x = chart.x_range();
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(x.start, 0.0), (x.end, 0.0)],
            GRID.stroke_width(2),
        )))?;
        Ok(())
    })?;
    canvas.layer("target", |chart, _| {
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(target, -1.0), (target, 1.0)],
            BLACK.stroke_width(2),
        )))?;
        Ok(())
    })?;
    canvas.layer("mark-interval", |chart, _| {
        if let Some(c) = ci {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(c.low, 0.0), (c.high.min(scale_max.max(target)), 0.0)],
                BLUE.stroke_width(5),
            )))?;
        }
        Ok(())
    })?;
    canvas.layer("mark-point", |chart, _| {
        if let Some(r) = rate {
            chart.draw_series(std::iter::once(Circle::new(
                (r, 0.0),
                6,
                ShapeStyle::from(&BLUE).filled(),
            )))?;
            chart.draw_series(std::iter::once(Circle::new(
                (r, 0.0),
                6,
                RGBColor(255, 255, 255).stroke_width(2),
            )))?;
        }
        Ok(())
    })?;
    Ok(canvas.finish(Layout::Wide))
}

/// A number of chart rows as pixels' multiplier (saturating: a chart never has 2³² rows).
fn rows_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::report::SentimentConversion;
    use chrono::Days;

    /// The children of `<g class="{class}">`.
    fn marks(svg: &str, class: &str) -> usize {
        let open = format!("<g class=\"{class}\">");
        let Some(start) = svg.find(&open) else {
            return 0;
        };
        let rest = &svg[start + open.len()..];
        let body = &rest[..rest.find("</g>").expect("closed layer")];
        ["<polyline", "<line", "<rect", "<circle", "<polygon"]
            .iter()
            .map(|t| body.matches(t).count())
            .sum()
    }

    fn segment(key: &str, core: bool, k: u64, n: u64, breakout: bool) -> SegmentReport {
        let rate = (n > 0).then(|| k as f64 / n as f64);
        SegmentReport {
            segment: key.into(),
            core,
            exposures: n,
            preorders: k,
            rate,
            ci: rate.map(|r| Range {
                low: (r - 0.02).max(0.0),
                high: r + 0.02,
            }),
            responses: 10,
            love: 4,
            like: 3,
            neutral: 2,
            dislike: 1,
            love_share: Some(0.4),
            committed_revenue_cents: 0,
            vs_core: None,
            breakout,
            breakout_ci: None,
        }
    }

    fn assert_well_formed(svg: &str) {
        assert!(svg.starts_with("<svg class=\"chart "), "{svg}");
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains("viewBox=\"0 0 "));
        assert!(svg.contains("role=\"img\""));
        assert_eq!(svg.matches("<svg").count(), 1, "one root: {svg}");
        assert!(!svg.contains("http://") && !svg.contains("https://"));
        assert!(!svg.contains("<script"));
        assert_eq!(svg.matches("<g ").count(), svg.matches("</g>").count());
    }

    #[test]
    fn forest_has_one_interval_and_one_point_per_segment_with_data() {
        let segments = vec![
            segment("smb", true, 90, 1000, false),
            segment("freelancers", false, 130, 1000, true),
            segment("students", false, 2, 100, false),
            segment("enterprise", true, 0, 0, false),
        ];
        let overall = Some((
            0.08,
            Range {
                low: 0.07,
                high: 0.09,
            },
        ));
        for layout in Layout::ALL {
            let svg = segment_forest(&segments, overall, 0.05, layout).expect("chart");
            assert_well_formed(&svg);
            assert_eq!(marks(&svg, "mark-interval"), 3, "no mark without data");
            assert_eq!(marks(&svg, "mark-point"), 3);
            assert_eq!(marks(&svg, "band-highlight"), 1, "one breakout row");
            assert_eq!(marks(&svg, "mark-overall"), 2, "line and diamond");
            let breakout = if layout == Layout::Wide {
                "★ freelancers · breakout"
            } else {
                "★ freelancers\n"
            };
            assert!(svg.contains(breakout), "{svg}");
            assert!(svg.contains("smb · core"));
            assert!(svg.contains("no exposures yet"));
            assert!(svg.contains("Target 5%"));
            assert!(svg.contains("\n0%\n"), "axis in %");
            let width = if layout == Layout::Wide { "860" } else { "360" };
            assert!(svg.contains(&format!("viewBox=\"0 0 {width} ")), "{svg}");
            assert_eq!(
                svg.contains("class=\"chart chart-forest narrow\""),
                layout == Layout::Narrow
            );
        }
    }

    #[test]
    fn svg_text_is_escaped() {
        let nasty = "<script>alert(\"x\")</script>";
        let segments = vec![segment(nasty, false, 1, 10, false)];
        for layout in Layout::ALL {
            let svg = segment_forest(&segments, None, 0.05, layout).expect("chart");
            assert_well_formed(&svg);
            assert!(svg.contains("&lt;script&gt;"), "{svg}");
        }
        let variants = vec![VariantReport {
            variant: nasty.into(),
            weight: 1.0,
            price_cents: 100,
            exposures: 10,
            preorders: 1,
            rate: Some(0.1),
            ci: None,
            revenue_per_exposure: crate::analysis::report::MeanRevenue {
                mean: None,
                ci: None,
            },
            vs_first: None,
        }];
        for layout in Layout::ALL {
            let svg = variant_rates(&variants, 0.05, "<b>", layout).expect("chart");
            assert_well_formed(&svg);
            assert!(!svg.contains("<b>"));
        }
    }

    #[test]
    fn sentiment_bars_have_one_part_per_row_and_sentiment() {
        let segments = vec![
            segment("smb", true, 1, 10, false),
            SegmentReport {
                love: 0,
                like: 0,
                neutral: 0,
                dislike: 0,
                responses: 0,
                ..segment("silent", false, 1, 10, false)
            },
        ];
        let total = Enthusiasm {
            responses: 10,
            love: 4,
            like: 3,
            neutral: 2,
            dislike: 1,
            love_share: Some(0.4),
            ci: None,
            evidence_ratio: None,
            p_value: None,
            love_share_weighted: None,
        };
        for layout in Layout::ALL {
            let svg = sentiment_bars(&total, &segments, Some(0.25), layout).expect("chart");
            assert_well_formed(&svg);
            // All responders and smb; the segment without responses is left out.
            for layer in ["mark-love", "mark-like", "mark-neutral", "mark-dislike"] {
                assert_eq!(marks(&svg, layer), 2, "{layer}");
            }
            assert!(svg.contains("Love target 25%"));
            assert!(svg.contains("40%"));
        }
    }

    #[test]
    fn say_do_has_a_bar_per_sentiment_with_responders() {
        let c = |responders: u64, preorders: u64| SentimentConversion {
            responders,
            preorders,
            rate: (responders > 0).then(|| preorders as f64 / responders as f64),
        };
        let by = BySentiment {
            love: c(50, 10),
            like: c(100, 5),
            neutral: c(40, 0),
            dislike: c(0, 0),
        };
        for layout in Layout::ALL {
            let svg = say_do(&by, Some(0.04), 0.05, layout).expect("chart");
            assert_well_formed(&svg);
            assert_eq!(
                marks(&svg, "mark-bar"),
                3,
                "one per sentiment with responders"
            );
            assert!(svg.contains("no responders"));
            assert!(svg.contains("All exposed 4%"));
            assert!(svg.contains("20% of 50"));
        }
    }

    #[test]
    fn timeline_has_a_band_a_line_and_a_dot_per_day() {
        let start = NaiveDate::from_ymd_opt(2026, 3, 1).expect("date");
        let points: Vec<TimelinePoint> = (0..10u64)
            .map(|i| TimelinePoint {
                day: start + Days::new(i),
                exposures: (i + 1) * 100,
                preorders: (i + 1) * 7,
                rate: Some(0.07),
                ci: Some(Range {
                    low: 0.07 - 0.3 / (i + 1) as f64,
                    high: 0.07 + 0.3 / (i + 1) as f64,
                }),
            })
            .collect();
        for layout in Layout::ALL {
            let svg = timeline(&points, 0.05, 100, layout).expect("chart");
            assert_well_formed(&svg);
            assert_eq!(marks(&svg, "mark-band"), 1);
            assert_eq!(marks(&svg, "mark-rate-line"), 1);
            assert_eq!(marks(&svg, "mark-rate"), 10);
            assert!(svg.contains("Mar 1"));
            assert!(svg.contains("Pre-order rate"));
            // A single day still draws.
            let svg = timeline(&points[..1], 0.05, 100, layout).expect("chart");
            assert_eq!(marks(&svg, "mark-rate"), 1);
            assert_eq!(marks(&svg, "mark-rate-line"), 0);
        }
    }

    #[test]
    fn strip_draws_interval_point_and_target() {
        let svg = rate_strip(
            Some(0.08),
            Some(Range {
                low: 0.06,
                high: 0.1,
            }),
            0.05,
            0.15,
            true,
        )
        .expect("chart");
        assert_well_formed(&svg);
        assert_eq!(marks(&svg, "mark-interval"), 1);
        assert_eq!(marks(&svg, "target"), 1);
        assert!(marks(&svg, "mark-point") >= 1);
        assert!(svg.contains("\n15%\n"), "axis labels");
        let empty = rate_strip(None, None, 0.05, 0.15, false).expect("chart");
        assert_eq!(marks(&empty, "mark-interval"), 0);
        assert_eq!(marks(&empty, "mark-point"), 0);
        assert!(empty.contains("No pre-order rate yet"));
    }

    #[test]
    fn axis_ends_are_round() {
        assert!(
            (rate_axis_max(0.104) - 0.125).abs() < 1e-9,
            "{}",
            rate_axis_max(0.104)
        );
        assert!(
            (rate_axis_max(0.053) - 0.06).abs() < 1e-9,
            "{}",
            rate_axis_max(0.053)
        );
        assert!((rate_axis_max(0.9) - 1.0).abs() < 1e-9);
        assert!((rate_axis_max(0.0) - 0.01).abs() < 1e-9);
        assert_eq!(tick_percent(0.025), "2.5%");
        assert_eq!(tick_percent(0.1), "10%");
        assert_eq!(clip("abcdef", 4), "abc…");
    }

    /// The `x` and anchor of every `<text>` whose content is `label`.
    fn label_positions(svg: &str, label: &str) -> Vec<(f64, String)> {
        svg.split("<text")
            .skip(1)
            .filter(|t| {
                t.split('>')
                    .nth(1)
                    .is_some_and(|c| c.trim().starts_with(label))
            })
            .map(|t| {
                let attr = |name: &str| {
                    t.split(&format!(" {name}=\""))
                        .nth(1)
                        .and_then(|r| r.split('"').next())
                        .unwrap_or_default()
                        .to_owned()
                };
                (attr("x").parse().unwrap_or(f64::NAN), attr("text-anchor"))
            })
            .collect()
    }

    #[test]
    fn reference_labels_stay_inside_the_canvas() {
        // A target near the right end: its centred label would run past the edge.
        let segments = vec![segment("smb", true, 5, 100, false)];
        for layout in Layout::ALL {
            let svg = segment_forest(&segments, None, 0.97, layout).expect("chart");
            let width = f64::from(layout.width());
            let found = label_positions(&svg, "Target 97%");
            assert_eq!(found.len(), 1, "{svg}");
            let (x, anchor) = &found[0];
            let half = f64::from(text_width("Target 97%", layout.font(15))) / 2.0;
            let (start, end) = match anchor.as_str() {
                "end" => (x - 2.0 * half, *x),
                "start" => (*x, x + 2.0 * half),
                _ => (x - half, x + half),
            };
            assert!(
                start >= 0.0 && end <= width,
                "{layout:?}: {start}..{end} of {width}"
            );
        }
    }
}
