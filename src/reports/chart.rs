//! The score chart: the score as a step line over a time axis, each step as wide as the
//! time the score held (the current one up to the chart's `as_of`), the two thresholds
//! drawn and labelled, dates on the axis in the town's calendar, in SVG with a CJK font
//! stack. [`layout`] does the geometry (tested on its own), [`svg`] only draws it.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::ScoreHistory;
use crate::scores::points::HalfPoints;

/// The picture's size and the plot area inside it, in SVG units.
pub const WIDTH: f64 = 720.0;
/// The picture's height, in SVG units.
pub const HEIGHT: f64 = 360.0;
/// The plot's left edge (room for the score axis).
pub const LEFT: f64 = 48.0;
/// The plot's right edge (room for the threshold labels).
pub const RIGHT: f64 = WIDTH - 24.0;
/// The plot's top edge (room for the title above).
pub const TOP: f64 = 40.0;
/// The plot's bottom (room for the date axis).
pub const BOTTOM: f64 = HEIGHT - 48.0;

/// Fonts that have the Chinese glyphs, on Linux, macOS and Windows, then any sans-serif.
pub const FONTS: &str = "'Noto Sans CJK SC', 'Source Han Sans SC', 'PingFang SC', \
    'Hiragino Sans GB', 'Microsoft YaHei', 'WenQuanYi Micro Hei', sans-serif";

/// One step of the line: the score from `from` until `to`.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The score held during this step, in half-points.
    pub score: HalfPoints,
    /// When it became this.
    pub from: DateTime<Utc>,
    /// Until when it held: the next change, or the chart's `as_of` for the last step.
    pub to: DateTime<Utc>,
    /// Where the step starts.
    pub x0: f64,
    /// Where it ends.
    pub x1: f64,
    /// The step's y coordinate, from the score's place on the axis.
    pub y: f64,
}

/// A labelled mark on an axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    /// Its position (x on the time axis, y on the score axis).
    pub at: f64,
    /// The text drawn at the mark: a date or time, or a whole score.
    pub label: String,
}

/// Everything [`svg`] draws, with its coordinates.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The steps, oldest first.
    pub steps: Vec<Step>,
    /// The low threshold's height.
    pub low_y: f64,
    /// The evaluation threshold's height.
    pub evaluation_y: f64,
    /// Dates along the bottom.
    pub time_ticks: Vec<Tick>,
    /// Scores along the left.
    pub score_ticks: Vec<Tick>,
}

/// The geometry of the chart of `h` as of `as_of`, dates in `tz`.
pub fn layout(h: &ScoreHistory, as_of: DateTime<Utc>, tz: Tz) -> Layout {
    let start = h.points.first().map_or(as_of, |p| p.at);
    let last = h.points.last().map_or(as_of, |p| p.at);
    let mut end = as_of.max(last);
    if end <= start {
        end = start + Duration::days(1);
    }
    let span = (end - start).num_milliseconds() as f64;
    let x = |t: DateTime<Utc>| LEFT + (t - start).num_milliseconds() as f64 / span * (RIGHT - LEFT);

    let values = h.points.iter().map(|p| p.score.0);
    let lo = values
        .clone()
        .chain([h.low_threshold.0, 0])
        .min()
        .unwrap_or(0);
    let hi = values.chain([h.evaluation_threshold.0]).max().unwrap_or(30);
    // Whole points on the axis, with a point of room above and below.
    let lo = (lo - 2).div_euclid(2) * 2;
    let hi = (hi + 3).div_euclid(2) * 2;
    let y = |half: i32| BOTTOM - f64::from(half - lo) / f64::from(hi - lo) * (BOTTOM - TOP);

    let steps = h
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let to = h.points.get(i + 1).map_or(end, |next| next.at);
            Step {
                score: p.score,
                from: p.at,
                to,
                x0: x(p.at),
                x1: x(to),
                y: y(p.score.0),
            }
        })
        .collect();

    let points_step = [1, 2, 5, 10, 20]
        .into_iter()
        .find(|s| (hi - lo) / (2 * s) <= 8)
        .unwrap_or(50);
    let score_ticks = (lo.div_euclid(2)..=hi.div_euclid(2))
        .filter(|p| p % points_step == 0)
        .map(|p| Tick {
            at: y(p * 2),
            label: p.to_string(),
        })
        .collect();

    Layout {
        steps,
        low_y: y(h.low_threshold.0),
        evaluation_y: y(h.evaluation_threshold.0),
        time_ticks: time_ticks(start, end, tz, &x),
        score_ticks,
    }
}

/// Midnights (or hours, for a chart shorter than two days) in `tz` between `start` and
/// `end`, at most seven, each labelled.
fn time_ticks(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    tz: Tz,
    x: &impl Fn(DateTime<Utc>) -> f64,
) -> Vec<Tick> {
    let local = |t: DateTime<Utc>| t.with_timezone(&tz);
    let span = end - start;
    if span < Duration::days(2) {
        let hours = span.num_hours().max(1);
        let every = [1, 2, 3, 6, 12]
            .into_iter()
            .find(|h| hours / h <= 6)
            .unwrap_or(24);
        let first = local(start);
        let mut t = tz
            .from_local_datetime(&first.date_naive().and_time(NaiveTime::MIN))
            .earliest()
            .map_or(start, |t| t.with_timezone(&Utc));
        let mut ticks = Vec::new();
        while t <= end {
            if t >= start {
                ticks.push(Tick {
                    at: x(t),
                    label: local(t).format("%m-%d %H:%M").to_string(),
                });
            }
            t += Duration::hours(every);
        }
        return ticks;
    }
    let days = span.num_days();
    let every = [1, 2, 7, 14, 30, 61, 91, 182, 365]
        .into_iter()
        .find(|d| days / d <= 6)
        .unwrap_or(730);
    let years_differ = local(start).year() != local(end).year();
    let mut day: NaiveDate = local(start).date_naive();
    let mut ticks = Vec::new();
    while let Some(t) = tz
        .from_local_datetime(&day.and_time(NaiveTime::MIN))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
    {
        if t > end {
            break;
        }
        if t >= start {
            let format = if years_differ { "%Y-%m-%d" } else { "%m-%d" };
            ticks.push(Tick {
                at: x(t),
                label: day.format(format).to_string(),
            });
        }
        match day.checked_add_days(chrono::Days::new(every as u64)) {
            Some(next) => day = next,
            None => break,
        }
    }
    ticks
}

/// How long a step held, in words: 3天5小时, 40分钟.
fn duration_zh(d: Duration) -> String {
    let (days, hours, minutes) = (d.num_days(), d.num_hours() % 24, d.num_minutes() % 60);
    match (days, hours) {
        (0, 0) => format!("{}分钟", minutes.max(0)),
        (0, h) => format!("{h}小时"),
        (d, 0) => format!("{d}天"),
        (d, h) => format!("{d}天{h}小时"),
    }
}

/// The chart as an SVG document.
pub fn svg(h: &ScoreHistory, as_of: DateTime<Utc>, tz: Tz) -> String {
    let l = layout(h, as_of, tz);
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="积分变化 score history" font-family="{FONTS}"><rect width="100%" height="100%" fill="#fff"/>"##
    );
    for t in &l.score_ticks {
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{RIGHT}" y2="{y:.1}" stroke="#e5e7eb"/><text x="{tx:.1}" y="{ty:.1}" text-anchor="end" font-size="11" fill="#6b7280">{label}</text>"##,
            y = t.at,
            tx = LEFT - 6.0,
            ty = t.at + 4.0,
            label = t.label,
        );
    }
    let _ = write!(
        out,
        r##"<line x1="{LEFT}" y1="{BOTTOM}" x2="{RIGHT}" y2="{BOTTOM}" stroke="#9ca3af"/>"##
    );
    for t in &l.time_ticks {
        let _ = write!(
            out,
            r##"<line x1="{x:.1}" y1="{BOTTOM}" x2="{x:.1}" y2="{b:.1}" stroke="#9ca3af"/><text x="{x:.1}" y="{ty:.1}" text-anchor="middle" font-size="11" fill="#6b7280">{label}</text>"##,
            x = t.at,
            b = BOTTOM + 5.0,
            ty = BOTTOM + 18.0,
            label = t.label,
        );
    }
    let threshold = |y: f64, color: &str, label: &str, half: HalfPoints| {
        format!(
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{RIGHT}" y2="{y:.1}" stroke="{color}" stroke-dasharray="6 4"/><text x="{RIGHT}" y="{ty:.1}" text-anchor="end" font-size="12" fill="{color}">{label} {half}</text>"##,
            ty = y - 4.0,
        )
    };
    out.push_str(&threshold(
        l.low_y,
        "#d97706",
        "低分线 low",
        h.low_threshold,
    ));
    out.push_str(&threshold(
        l.evaluation_y,
        "#2563eb",
        "评议线 evaluation",
        h.evaluation_threshold,
    ));
    // The line: each step horizontal for as long as the score held, joined by risers.
    let mut path = String::new();
    for (i, s) in l.steps.iter().enumerate() {
        let verb = if i == 0 { 'M' } else { 'V' };
        if i == 0 {
            let _ = write!(path, "{verb}{:.1},{:.1}", s.x0, s.y);
        } else {
            let _ = write!(path, " {verb}{:.1}", s.y);
        }
        let _ = write!(path, " H{:.1}", s.x1);
    }
    let _ = write!(
        out,
        r##"<path d="{path}" fill="none" stroke="#c00" stroke-width="2"/>"##
    );
    // Each step once more, invisible and wide, carrying what it means: a tooltip in a
    // viewer, a description for a screen reader; and its duration under it when it fits.
    for s in &l.steps {
        let held = duration_zh(s.to - s.from);
        let from = s.from.with_timezone(&tz).format("%Y-%m-%d %H:%M");
        let to = s.to.with_timezone(&tz).format("%Y-%m-%d %H:%M");
        let _ = write!(
            out,
            r##"<g><title>积分 {score}：{from} 至 {to}，持续{held}</title><rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="12" fill="transparent"/>"##,
            score = s.score,
            x = s.x0,
            y = s.y - 6.0,
            w = (s.x1 - s.x0).max(1.0),
        );
        if s.x1 - s.x0 >= 56.0 {
            let _ = write!(
                out,
                r##"<text x="{x:.1}" y="{y:.1}" text-anchor="middle" font-size="10" fill="#991b1b">{held}</text>"##,
                x = (s.x0 + s.x1) / 2.0,
                y = s.y + 14.0,
            );
        }
        out.push_str("</g>");
    }
    let now = l.steps.last().map_or(HalfPoints(0), |s| s.score);
    let _ = write!(
        out,
        r##"<text x="{LEFT}" y="24" font-size="14">积分 score: {now}（截至 {as_of}）</text></svg>"##,
        as_of = as_of.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::ScorePoint;
    use uuid::Uuid;

    const SHANGHAI: Tz = chrono_tz::Asia::Shanghai;

    fn history(points: &[(DateTime<Utc>, i32)]) -> ScoreHistory {
        ScoreHistory {
            case_id: Uuid::nil(),
            low_threshold: HalfPoints(6),
            evaluation_threshold: HalfPoints(30),
            points: points
                .iter()
                .map(|(at, s)| ScorePoint {
                    at: *at,
                    score: HalfPoints(*s),
                })
                .collect(),
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn each_step_is_as_wide_as_the_time_its_score_held() {
        let h = history(&[
            (at("2026-03-01T00:00:00Z"), 10),
            (at("2026-03-02T00:00:00Z"), 11),
            (at("2026-03-04T00:00:00Z"), 9),
        ]);
        let l = layout(&h, at("2026-03-05T00:00:00Z"), SHANGHAI);
        let widths: Vec<f64> = l.steps.iter().map(|s| s.x1 - s.x0).collect();
        let day = (RIGHT - LEFT) / 4.0;
        for (w, days) in widths.iter().zip([1.0, 2.0, 1.0]) {
            assert!((w - days * day).abs() < 1e-6, "{widths:?}");
        }
        // The line starts at the left edge, runs without gaps, and the current score
        // holds up to the right edge (as of the chart's time), not as a zero-width step.
        assert_eq!(l.steps[0].x0, LEFT);
        assert!(l.steps.windows(2).all(|w| w[0].x1 == w[1].x0));
        assert!((l.steps[2].x1 - RIGHT).abs() < 1e-9);
        assert_eq!(l.steps[2].to, at("2026-03-05T00:00:00Z"));
    }

    #[test]
    fn thresholds_and_scores_share_one_vertical_scale() {
        let h = history(&[
            (at("2026-03-01T00:00:00Z"), 6),
            (at("2026-03-03T00:00:00Z"), 30),
        ]);
        let l = layout(&h, at("2026-03-04T00:00:00Z"), SHANGHAI);
        assert_eq!(
            l.steps[0].y, l.low_y,
            "a score at the low threshold sits on its line"
        );
        assert_eq!(l.steps[1].y, l.evaluation_y);
        assert!(l.evaluation_y < l.low_y, "higher scores are higher up");
        assert!(
            l.low_y < BOTTOM && l.evaluation_y > TOP,
            "room above and below"
        );
        assert!(l.score_ticks.windows(2).all(|w| w[0].at > w[1].at));
        assert!(l.score_ticks.iter().any(|t| t.label == "0"));
    }

    #[test]
    fn the_time_axis_is_labelled_with_dates_in_the_towns_calendar() {
        let h = history(&[(at("2026-02-28T16:00:00Z"), 10)]); // 03-01 00:00 in Shanghai
        let l = layout(&h, at("2026-04-30T16:00:00Z"), SHANGHAI);
        let labels: Vec<&str> = l.time_ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels.first(), Some(&"03-01"), "{labels:?}");
        assert!((2..=7).contains(&labels.len()), "{labels:?}");
        assert!(l.time_ticks.windows(2).all(|w| w[0].at < w[1].at));
        assert!(l.time_ticks.iter().all(|t| (LEFT..=RIGHT).contains(&t.at)));
        // Across a new year the labels carry the year.
        let l = layout(&h, at("2027-02-01T00:00:00Z"), SHANGHAI);
        assert!(
            l.time_ticks[0].label.starts_with("2026-"),
            "{:?}",
            l.time_ticks
        );
        // A chart of a few hours is labelled by the hour.
        let h = history(&[(at("2026-03-01T01:00:00Z"), 10)]);
        let l = layout(&h, at("2026-03-01T07:30:00Z"), SHANGHAI);
        assert!(!l.time_ticks.is_empty() && l.time_ticks[0].label.contains(':'));
    }

    #[test]
    fn a_single_point_at_the_charts_time_is_still_a_visible_step() {
        let t = at("2026-03-01T00:00:00Z");
        let l = layout(&history(&[(t, 10)]), t, SHANGHAI);
        assert_eq!((l.steps[0].x0, l.steps[0].x1), (LEFT, RIGHT));
    }

    #[test]
    fn the_svg_names_its_fonts_labels_thresholds_and_durations_in_chinese() {
        let h = history(&[
            (at("2026-03-01T00:00:00Z"), 10),
            (at("2026-03-04T05:00:00Z"), 5),
        ]);
        let svg = svg(&h, at("2026-03-10T00:00:00Z"), SHANGHAI);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("Noto Sans CJK SC") && svg.contains("Microsoft YaHei"));
        assert!(svg.contains("低分线 low 3"));
        assert!(svg.contains("评议线 evaluation 15"));
        assert!(svg.contains("score: 2.5"));
        assert!(svg.contains("持续3天5小时"), "{svg}");
        assert_eq!(svg.matches("<title>").count(), 2, "one per step");
        assert_eq!(svg.matches(" V").count(), 1, "one riser per change");
        assert!(
            svg.contains(">03-03<"),
            "the first midnight after the start: {svg}"
        );
    }

    #[test]
    fn durations_read_in_days_hours_or_minutes() {
        assert_eq!(duration_zh(Duration::minutes(40)), "40分钟");
        assert_eq!(duration_zh(Duration::hours(5)), "5小时");
        assert_eq!(duration_zh(Duration::days(2)), "2天");
        assert_eq!(duration_zh(Duration::hours(53)), "2天5小时");
    }
}
