//! The audit page's chart: sign-ins and failed sign-ins per hour as an inline SVG drawn on
//! the server, so it needs no script and no outside service. Every piece of text in it is a
//! number or a date this module formats, so nothing needs escaping.

use std::fmt::Write;

use crate::services::audit::HourOfSignIns;

const BAR: f64 = 4.0;
const HEIGHT: f64 = 160.0;
const LEFT: f64 = 44.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// A round number at or above `n`, for the top of the scale (1, 2, 5 × 10ⁿ).
fn scale_top(n: i64) -> i64 {
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if m * step >= n.max(1) {
                return m * step;
            }
        }
        step *= 10;
    }
}

/// `Mon 07`: the label under the first hour of a day.
fn day_label(start: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(start)
        .map(|t| format!("{} {:02}", &t.weekday().to_string()[..3], t.day()))
        .unwrap_or_default()
}

/// Stacked bars, one per hour: successes below, failures above, with day marks.
pub fn sign_ins(hours: &[HourOfSignIns]) -> String {
    let width = LEFT + BAR * hours.len() as f64 + 8.0;
    let total = HEIGHT + TOP + BOTTOM;
    let top = scale_top(
        hours
            .iter()
            .map(|h| h.succeeded + h.failed)
            .max()
            .unwrap_or(0),
    );
    let y = |n: i64| TOP + HEIGHT - HEIGHT * n as f64 / top as f64;
    let (ok, failed): (i64, i64) = hours
        .iter()
        .fold((0, 0), |(a, b), h| (a + h.succeeded, b + h.failed));
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" role="img" viewBox="0 0 {width} {total}" width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg" aria-labelledby="chart-title"><title id="chart-title">Sign-ins per hour over the last {days} days: {ok} succeeded, {failed} failed</title>"#,
        days = hours.len() / 24,
    );
    for n in [0, top / 2, top] {
        let _ = write!(
            svg,
            r#"<line class="chart-grid" x1="{LEFT}" x2="{width}" y1="{y}" y2="{y}"/><text class="chart-label" x="{x}" y="{ty}" text-anchor="end">{n}</text>"#,
            y = y(n),
            x = LEFT - 6.0,
            ty = y(n) + 4.0,
        );
    }
    for (i, h) in hours.iter().enumerate() {
        let x = LEFT + BAR * i as f64;
        if h.start % 86_400 == 0 {
            let _ = write!(
                svg,
                r#"<line class="chart-day" x1="{x}" x2="{x}" y1="{TOP}" y2="{base}"/><text class="chart-label" x="{tx}" y="{ty}">{label}</text>"#,
                base = TOP + HEIGHT,
                tx = x + 2.0,
                ty = TOP + HEIGHT + 18.0,
                label = day_label(h.start),
            );
        }
        if h.succeeded > 0 {
            let _ = write!(
                svg,
                r#"<rect class="chart-ok" x="{x}" y="{y0}" width="{w}" height="{hgt}"><title>{n} sign-ins</title></rect>"#,
                y0 = y(h.succeeded),
                w = BAR - 1.0,
                hgt = TOP + HEIGHT - y(h.succeeded),
                n = h.succeeded,
            );
        }
        if h.failed > 0 {
            let _ = write!(
                svg,
                r#"<rect class="chart-failed" x="{x}" y="{y0}" width="{w}" height="{hgt}"><title>{n} failed sign-ins</title></rect>"#,
                y0 = y(h.succeeded + h.failed),
                w = BAR - 1.0,
                hgt = y(h.succeeded) - y(h.succeeded + h.failed),
                n = h.failed,
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hour(start: i64, succeeded: i64, failed: i64) -> HourOfSignIns {
        HourOfSignIns {
            start,
            succeeded,
            failed,
        }
    }

    #[test]
    fn the_scale_ends_on_a_round_number() {
        assert_eq!(scale_top(0), 1);
        assert_eq!(scale_top(3), 5);
        assert_eq!(scale_top(7), 10);
        assert_eq!(scale_top(180), 200);
        assert_eq!(scale_top(501), 1000);
    }

    #[test]
    fn failures_stack_on_successes_and_days_are_marked() {
        let svg = sign_ins(&[hour(86_400 * 3, 2, 0), hour(86_400 * 3 + 3600, 1, 3)]);
        assert_eq!(svg.matches("chart-ok").count(), 2);
        assert_eq!(svg.matches("chart-failed").count(), 1);
        assert!(svg.contains("3 failed sign-ins"), "{svg}");
        assert!(svg.contains(">Sun 04<"), "{svg}");
        assert!(svg.contains("3 succeeded, 3 failed"), "{svg}");
    }
}
