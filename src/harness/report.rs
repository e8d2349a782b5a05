//! The comparison as a terminal table, JSON, and a self-contained HTML report (bar charts in inline SVG, each
//! solution's flamegraph embedded as an image; no scripts, nothing fetched).

use std::fmt::Write as _;
use std::path::Path;

use super::timing::Timing;
use super::{Comparison, Verdict};
use crate::{Error, Result};

/// The comparison table for a terminal.
pub fn table(c: &Comparison) -> String {
    let mut s = String::new();
    let repeated = c.rows.iter().any(|r| r.timing.is_some());
    let wall = if repeated { "median s ± sd" } else { "wall s" };
    let w = if repeated { 14 } else { 9 };
    let _ = writeln!(
        s,
        "{:<32} {:<10} {:>w$} {:>9} {:>9} {:>10} {:>9}",
        "solution", "verdict", wall, "CPU s", "MB/s", "peak MB", "x ref"
    );
    for r in &c.rows {
        let f = figures(r);
        let _ = writeln!(
            s,
            "{:<32} {:<10} {:>w$} {:>9} {:>9} {:>10} {:>9}",
            truncate(&r.name, 32),
            r.verdict.label(),
            f[0],
            f[1],
            f[2],
            f[3],
            f[4]
        );
    }
    for r in &c.rows {
        if let Some(t) = r.timing.as_ref().filter(|t| t.noisy()) {
            let _ = writeln!(
                s,
                "note: {}'s {} runs spread {:.0}% around the median: the machine is noisy, the order may not hold",
                r.name,
                t.runs.len(),
                100.0 * t.spread()
            );
        }
    }
    s
}

/// Wall s, CPU s, MB/s, peak MB and x reference as text; "-" where the row has no figure (a reference that
/// was given, not run; a ratio without a timed reference).
fn figures(r: &super::CompareRow) -> [String; 5] {
    if !r.timed {
        return std::array::from_fn(|_| "-".to_string());
    }
    [
        match &r.timing {
            Some(t) => format!("{:.2} ± {:.2}", t.median, t.sd),
            None => format!("{:.2}", r.wall_seconds),
        },
        format!("{:.2}", r.cpu_seconds),
        format!("{:.1}", r.mb_per_s),
        format!("{:.0}", r.peak_rss_bytes as f64 / 1e6),
        if r.ratio_to_reference > 0.0 {
            format!("{:.1}", r.ratio_to_reference)
        } else {
            "-".to_string()
        },
    ]
}

/// `s` cut to `n` characters, an ellipsis marking the cut.
pub(super) fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn colour(v: Verdict) -> &'static str {
    match v {
        Verdict::Correct => "#2e7d32",
        Verdict::Wrong => "#c62828",
        Verdict::Crashed => "#6a1b9a",
        Verdict::OverLimit => "#ef6c00",
    }
}

/// A horizontal bar chart in SVG: one bar per row, log scale when values span more than 20x.
fn bars(title: &str, unit: &str, rows: &[(String, f64, Verdict)]) -> String {
    let max = rows.iter().map(|r| r.1).fold(0.0f64, f64::max).max(1e-9);
    let min = rows
        .iter()
        .map(|r| r.1)
        .filter(|v| *v > 0.0)
        .fold(f64::MAX, f64::min);
    let log = max / min > 20.0;
    let scale = |v: f64| {
        if log {
            ((v.max(min) / min).ln() / (max / min).ln()).max(0.02)
        } else {
            v / max
        }
    };
    let (w, bar_h, label_w) = (720.0, 22.0, 230.0);
    let h = 30.0 + rows.len() as f64 * (bar_h + 8.0);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{}\">\n<text x=\"0\" y=\"16\" font-weight=\"bold\">{}{}</text>\n",
        esc(title),
        esc(title),
        if log { " (log scale)" } else { "" }
    );
    for (i, (name, v, verdict)) in rows.iter().enumerate() {
        let y = 28.0 + i as f64 * (bar_h + 8.0);
        let bw = (w - label_w - 110.0) * scale(*v);
        let _ = writeln!(
            s,
            "<text x=\"0\" y=\"{}\">{}</text><rect x=\"{label_w}\" y=\"{y}\" width=\"{bw:.1}\" height=\"{bar_h}\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{}\">{v:.2} {unit}</text>",
            y + 16.0,
            esc(&truncate(name, 30)),
            colour(*verdict),
            label_w + bw + 6.0,
            y + 16.0
        );
    }
    s.push_str("</svg>");
    s
}

/// The timed runs of each solution as dots on one time axis (a strip plot), its median as a vertical tick: how
/// far apart two solutions are against how much each one's runs scatter.
fn strips(title: &str, rows: &[(String, &Timing, Verdict)]) -> String {
    let max = rows
        .iter()
        .flat_map(|r| r.1.runs.iter().copied())
        .fold(0.0f64, f64::max)
        .max(1e-9)
        * 1.05;
    let (w, row_h, label_w, right) = (720.0, 26.0, 230.0, 20.0);
    let plot_w = w - label_w - right;
    let x = |v: f64| label_w + plot_w * v / max;
    let h = 50.0 + rows.len() as f64 * row_h;
    let mut s = format!(
        "<svg class=\"runs\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{}\">\n<text x=\"0\" y=\"16\" font-weight=\"bold\">{}</text>\n",
        esc(title),
        esc(title)
    );
    for (i, (name, t, verdict)) in rows.iter().enumerate() {
        let y = 34.0 + i as f64 * row_h;
        let _ = writeln!(
            s,
            "<text x=\"0\" y=\"{}\">{}</text><line x1=\"{label_w}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\" stroke=\"#eee\"/>",
            y + 4.0,
            esc(&truncate(name, 30)),
            w - right
        );
        for &r in &t.runs {
            let _ = writeln!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{y}\" r=\"4\" fill=\"{}\" fill-opacity=\"0.6\"><title>{r:.3} s</title></circle>",
                x(r),
                colour(*verdict)
            );
        }
        let _ = writeln!(
            s,
            "<line class=\"median\" x1=\"{m:.1}\" x2=\"{m:.1}\" y1=\"{}\" y2=\"{}\" stroke=\"#222\" stroke-width=\"2\"><title>median {:.3} s ± {:.3}</title></line>",
            y - 9.0,
            y + 9.0,
            t.median,
            t.sd,
            m = x(t.median)
        );
    }
    // The axis: 0, half and the top, in seconds.
    let base = 34.0 + rows.len() as f64 * row_h;
    for v in [0.0, max / 2.0, max] {
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{base}\" text-anchor=\"middle\" font-size=\"12\">{v:.2} s</text>",
            x(v)
        );
    }
    s.push_str("</svg>");
    s
}

/// Writes `report.html` (and copies the flamegraphs beside it) into `dir`; returns the HTML path.
pub fn write_html(c: &Comparison, dir: &Path) -> Result<std::path::PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut h = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>etlkit compare</title>\n<style>\
body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right}\
td:first-child,th:first-child{text-align:left}.v{font-weight:bold;color:#fff;padding:2px 6px;border-radius:3px}\
details{margin:1em 0}pre{background:#f6f6f6;padding:8px;overflow:auto}img{max-width:100%;border:1px solid #ddd}\
</style></head><body>\n<h1>etlkit compare</h1>\n",
    );
    let _ = writeln!(
        h,
        "<p>Dataset <code>{}</code>: {:.1} MB of orders. Every solution ran with the same limits; verdicts compare its outputs with the Rust reference's.</p>",
        esc(&c.data.display().to_string()),
        c.input_bytes as f64 / 1e6
    );
    let repeated = c.rows.iter().any(|r| r.timing.is_some());
    let _ = write!(
        h,
        "<table id=\"results\"><thead><tr><th>solution</th><th>verdict</th><th>{}</th>",
        if repeated { "median s ± sd" } else { "wall s" }
    );
    h.push_str(
        "<th>CPU s</th><th>MB/s</th><th>peak RSS MB</th><th>x reference</th></tr></thead><tbody>\n",
    );
    for r in &c.rows {
        let f = figures(r);
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td><span class=\"v\" style=\"background:{}\">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.name),
            colour(r.verdict),
            r.verdict.label(),
            f[0],
            f[1],
            f[2],
            f[3],
            f[4]
        );
    }
    h.push_str("</tbody></table>\n");
    let wall: Vec<_> = c
        .rows
        .iter()
        .filter(|r| r.timed)
        .map(|r| (r.name.clone(), r.wall_seconds, r.verdict))
        .collect();
    let rss: Vec<_> = c
        .rows
        .iter()
        .filter(|r| r.timed)
        .map(|r| (r.name.clone(), r.peak_rss_bytes as f64 / 1e6, r.verdict))
        .collect();
    h.push_str(&bars("Wall time", "s", &wall));
    h.push('\n');
    h.push_str(&bars("Peak memory (whole process tree)", "MB", &rss));
    let timed: Vec<_> = c
        .rows
        .iter()
        .filter_map(|r| r.timing.as_ref().map(|t| (r.name.clone(), t, r.verdict)))
        .collect();
    if !timed.is_empty() {
        h.push('\n');
        h.push_str(&strips(
            "Timed runs (dots) and medians (ticks), in the order of the ranking",
            &timed,
        ));
    }
    h.push_str("\n<h2>Solutions</h2>\n");
    for (i, r) in c.results.iter().enumerate() {
        let _ = writeln!(
            h,
            "<section><h3>{} — {}</h3><pre>{}</pre>",
            esc(&r.name),
            r.verdict.label(),
            esc(&r.render())
        );
        // Its runs beside its flamegraph.
        if let Some(row) = c.rows.iter().find(|row| row.name == r.name) {
            if let Some(t) = &row.timing {
                h.push_str(&strips(
                    &format!("Timed runs of {}", r.name),
                    &[(r.name.clone(), t, row.verdict)],
                ));
                h.push('\n');
            }
        }
        if let Some(svg) = r.profile.as_ref().and_then(|p| p.flamegraph.as_ref()) {
            let name = format!("flamegraph-{:02}.svg", i + 1);
            let dest = dir.join(&name);
            std::fs::copy(svg, &dest).map_err(|e| Error::io(&dest, e))?;
            let _ = writeln!(h, "<details open><summary>Flamegraph (py-spy)</summary><a href=\"{name}\"><img src=\"{name}\" alt=\"flamegraph of {}\"></a></details>", esc(&r.name));
        }
        h.push_str("</section>\n");
    }
    h.push_str("</body></html>\n");
    let path = dir.join("report.html");
    std::fs::write(&path, h).map_err(|e| Error::io(&path, e))?;
    let json = dir.join("report.json");
    let text = serde_json::to_string_pretty(c).expect("comparison serialises");
    std::fs::write(&json, text).map_err(|e| Error::io(&json, e))?;
    Ok(path)
}
