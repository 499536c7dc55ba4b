//! Charts drawn on the server as SVG (no script, no build): a bar chart of labelled values.
//! Each chart is an image with a title for screen readers; the numbers themselves are always
//! in a table beside it (the chart only draws what the table says).

/// Escapes text for SVG, HTML and XML (the Atom feed).
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 36.0;
const TOP: f64 = 12.0;

/// A bar per value, labelled below (every few when there are many), the largest value on the
/// axis. `title` names the chart for assistive technology; `table_id` is the table with its
/// numbers.
pub fn bars(title: &str, table_id: &str, bars: &[(String, f64)]) -> String {
    let max = bars.iter().map(|(_, v)| *v).fold(0.0, f64::max);
    let top = nice(max);
    let n = bars.len().max(1) as f64;
    let plot_w = WIDTH - LEFT - 8.0;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / n;
    let every = (bars.len() / 10).max(1);
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-labelledby=\"{id}-title\" \
         aria-describedby=\"{table}\" xmlns=\"http://www.w3.org/2000/svg\"><title id=\"{id}-title\">{t}</title>",
        id = esc(table_id),
        table = esc(table_id),
        t = esc(title),
    );
    // The axis: zero and the top value.
    svg.push_str(&format!(
        "<line x1=\"{LEFT}\" y1=\"{y0}\" x2=\"{x1}\" y2=\"{y0}\" class=\"axis\"/>\
         <text x=\"{lx}\" y=\"{y0}\" class=\"tick\" text-anchor=\"end\">0</text>\
         <text x=\"{lx}\" y=\"{yt}\" class=\"tick\" text-anchor=\"end\">{top}</text>\
         <line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{x1}\" y2=\"{TOP}\" class=\"grid\"/>",
        y0 = TOP + plot_h,
        x1 = WIDTH - 8.0,
        lx = LEFT - 6.0,
        yt = TOP + 10.0,
        top = fmt(top),
    ));
    for (i, (label, v)) in bars.iter().enumerate() {
        let h = if top > 0.0 { plot_h * v / top } else { 0.0 };
        let x = LEFT + slot * i as f64 + slot * 0.15;
        let w = (slot * 0.7).max(1.0);
        svg.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" class=\"bar\"><title>{l}: {v}</title></rect>",
            y = TOP + plot_h - h,
            l = esc(label),
            v = fmt(*v),
        ));
        if i % every == 0 {
            svg.push_str(&format!(
                "<text x=\"{cx:.1}\" y=\"{ly}\" class=\"tick\" text-anchor=\"middle\">{l}</text>",
                cx = x + w / 2.0,
                ly = HEIGHT - BOTTOM + 16.0,
                l = esc(short(label)),
            ));
        }
    }
    svg.push_str("</svg>");
    svg
}

/// A strip of cells in time order, each coloured by its state (`good`, `fair`, `poor`) and
/// titled with its label: one participant's connection over a meeting. `table_id` is the table
/// with its numbers.
pub fn strip(title: &str, table_id: &str, cells: &[(String, &str)]) -> String {
    const W: f64 = 720.0;
    const H: f64 = 18.0;
    let n = cells.len().max(1) as f64;
    let w = W / n;
    let mut svg = format!(
        "<svg class=\"strip\" viewBox=\"0 0 {W} {H}\" preserveAspectRatio=\"none\" role=\"img\" \
         aria-label=\"{t}\" aria-describedby=\"{table}\" xmlns=\"http://www.w3.org/2000/svg\">",
        t = esc(title),
        table = esc(table_id),
    );
    for (i, (label, state)) in cells.iter().enumerate() {
        let fill = match *state {
            "good" => "#2e7d32",
            "fair" => "#f9a825",
            _ => "#c62828",
        };
        svg.push_str(&format!(
            "<rect x=\"{x:.2}\" y=\"0\" width=\"{w:.2}\" height=\"{H}\" fill=\"{fill}\" data-state=\"{s}\"><title>{l}</title></rect>",
            x = w * i as f64,
            s = esc(state),
            l = esc(label),
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// A day label's day (`2026-11-05` → `05`); other labels as they are.
fn short(label: &str) -> &str {
    match label.rsplit_once('-') {
        Some((_, d)) if label.len() == 10 => d,
        _ => label,
    }
}

/// A round number at or above `v` for the axis (1, 2 or 5 × a power of ten).
fn nice(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if v <= m * p {
            return m * p;
        }
    }
    10.0 * p
}

fn fmt(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_drawn_to_scale_and_escaped() {
        let svg = bars(
            "Participant-minutes <per day>",
            "t1",
            &[
                ("2026-11-01".into(), 50.0),
                ("2026-11-02".into(), 100.0),
                ("x".into(), 0.0),
            ],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("<title id=\"t1-title\">Participant-minutes &lt;per day&gt;</title>"));
        assert!(svg.contains("aria-describedby=\"t1\""));
        assert_eq!(svg.matches("<rect").count(), 3);
        // 100 is the top of the axis: its bar fills the plot, 50's half of it.
        let plot_h = HEIGHT - TOP - BOTTOM;
        assert!(svg.contains(&format!("height=\"{plot_h:.1}\"")));
        assert!(svg.contains(&format!("height=\"{:.1}\"", plot_h / 2.0)));
        assert!(svg.contains(">01</text>"), "days labelled by their day");
        assert_eq!(nice(0.0), 1.0);
        assert_eq!(nice(7.0), 10.0);
        assert_eq!(nice(120.0), 200.0);
        assert_eq!(nice(100.0), 100.0);
    }
}
