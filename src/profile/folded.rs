//! Folded stacks: `frame;frame;... COUNT` per line, root first (py-spy `--format raw`, inferno and
//! flamegraph.pl collapsed output). py-spy frames look like `func (file:line)`; other tools' frames are
//! kept as opaque names.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use super::{
    bad_input, Format, Frame, FrameId, FrameTable, LineKind, Meta, Profile, Reader, Stack, Unit,
};
use crate::Result;

/// Reads folded stacks.
pub struct FoldedReader;

impl Reader for FoldedReader {
    fn format(&self) -> Format {
        Format::Folded
    }

    /// Text whose first non-empty line ends in a space and a number.
    fn sniff(&self, data: &[u8]) -> bool {
        let head = &data[..data.len().min(64 * 1024)];
        let text = match std::str::from_utf8(head) {
            Ok(t) => t,
            // The 64 KiB cut may split a character.
            Err(e) if e.valid_up_to() > 0 && head.len() == 64 * 1024 => {
                std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default()
            }
            Err(_) => return false,
        };
        text.lines()
            .find(|l| !l.trim().is_empty())
            .and_then(|l| l.trim_end().rsplit_once([' ', '\t']))
            .is_some_and(|(_, n)| parse_count(n).is_some())
    }

    fn read(&self, data: &[u8], path: &Path) -> Result<Profile> {
        let text = std::str::from_utf8(data).map_err(|e| {
            bad_input(
                path,
                data,
                e.valid_up_to(),
                "invalid UTF-8 in a folded-stacks file",
            )
        })?;
        let mut frames = FrameTable::default();
        let mut seen: HashMap<&str, FrameId> = HashMap::new();
        let mut stacks = Vec::new();
        let mut any_line = false;
        let mut all_py_spy = true;
        let mut offset = 0;
        for raw in text.split_inclusive('\n') {
            let start = offset;
            offset += raw.len();
            let line = raw.trim_end_matches(['\n', '\r']);
            if line.trim().is_empty() {
                continue;
            }
            // Split on the LAST space: frame names may contain spaces, the count never does.
            let Some((stack, count)) = line.rsplit_once([' ', '\t']) else {
                return Err(bad_input(
                    path,
                    data,
                    start,
                    "expected `frame;frame;... COUNT` (no space before a sample count)",
                ));
            };
            let Some(weight) = parse_count(count) else {
                return Err(bad_input(
                    path,
                    data,
                    start + stack.len() + 1,
                    format!("sample count {count:?} is not a non-negative number"),
                ));
            };
            let mut ids = Vec::new();
            if !stack.is_empty() {
                for name in stack.split(';') {
                    // Big files repeat the same few thousand frames millions of times: parse each once.
                    let id = match seen.get(name) {
                        Some(&id) => id,
                        None => {
                            let frame = parse_frame(name);
                            any_line |= frame.line.is_some();
                            all_py_spy &=
                                !frame.file.is_empty() || frame.kind != super::FrameKind::Python;
                            let id = frames.intern(frame);
                            seen.insert(name, id);
                            id
                        }
                    };
                    ids.push(id);
                }
            }
            stacks.push(Stack {
                frames: ids,
                weight,
            });
        }
        let frames = frames.into_frames();
        let tool = if all_py_spy && !frames.is_empty() {
            "py-spy"
        } else {
            "folded stacks"
        };
        Ok(Profile {
            meta: Meta {
                format: Format::Folded,
                tool: tool.into(),
                unit: Unit::Samples,
                line_kind: if any_line {
                    LineKind::Executing
                } else {
                    LineKind::None
                },
                notes: Vec::new(),
            },
            frames,
            stacks,
            timings: Vec::new(),
        })
    }
}

/// A count: an integer, or a finite non-negative decimal (some tools write fractional weights).
fn parse_count(s: &str) -> Option<f64> {
    if let Ok(n) = s.parse::<u64>() {
        return Some(n as f64);
    }
    let f: f64 = s.parse().ok()?;
    // `parse` accepts "inf" and "NaN"; those are not counts.
    (f.is_finite() && f >= 0.0 && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')).then_some(f)
}

/// Parses py-spy's `func (file:line)` / `func (file)`; anything whose re-rendering would differ is kept
/// whole as the function name, so writing the profile back gives the same text.
pub fn parse_frame(name: &str) -> Frame {
    // Thread and process roots (`thread (0x7F…)`) look like `func (file)` but are names.
    if super::classify(name) != super::FrameKind::Python {
        return Frame::new(name, "", None);
    }
    if let Some(inner) = name.strip_suffix(')') {
        if let Some(open) = inner.find(" (") {
            let func = &inner[..open];
            let loc = &inner[open + 2..];
            let (file, line) = match loc.rsplit_once(':') {
                Some((f, l)) if !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()) => {
                    (f, l.parse::<u32>().ok())
                }
                _ => (loc, None),
            };
            let frame = Frame::new(func, file, line);
            if !func.is_empty() && !file.is_empty() && frame.label() == name {
                return frame;
            }
        }
    }
    Frame::new(name, "", None)
}

/// Writes stacks as folded lines (integers when the weights are whole numbers). Stacks are written in the
/// profile's order, so a folded file read and written back is byte-identical (line endings normalised to
/// `\n`).
pub fn write(profile: &Profile, out: &mut dyn Write) -> std::io::Result<()> {
    let labels: Vec<String> = profile.frames.iter().map(Frame::label).collect();
    let mut line = String::new();
    for stack in &profile.stacks {
        line.clear();
        for (i, &f) in stack.frames.iter().enumerate() {
            if i > 0 {
                line.push(';');
            }
            line.push_str(&labels[f as usize]);
        }
        line.push(' ');
        line.push_str(&format_weight(stack.weight));
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// Whole numbers without a fraction, others with the shortest exact representation.
pub fn format_weight(w: f64) -> String {
    if w.fract() == 0.0 && w.abs() < 1e15 {
        format!("{}", w as i64)
    } else {
        format!("{w}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_parse_and_render_back() {
        for s in [
            "inner (nested.py:6)",
            "<module> (<frozen importlib._bootstrap>:1176)",
            "func (file.py)",
            "thread (0x7F35F9F6F740): MainThread",
            "thread (9049)",
            "process 123:\"python x.py\"",
            "0x7f3a (libc.so.6)",
            "main",
            "perl`foo (bar",
            "a (b:c:12)",
            " (x:1)",
        ] {
            assert_eq!(parse_frame(s).label(), s);
        }
        let f = parse_frame("inner (dir (x)/nested.py:6)");
        assert_eq!(
            (f.function.as_str(), f.file.as_str(), f.line),
            ("inner", "dir (x)/nested.py", Some(6))
        );
        assert_eq!(
            parse_frame("thread (0x7F): Main").kind,
            super::super::FrameKind::Thread
        );
        assert_eq!(
            parse_frame("thread (9049)").kind,
            super::super::FrameKind::Thread
        );
        assert_eq!(
            parse_frame("process 12:\"py\"").kind,
            super::super::FrameKind::Process
        );
    }

    #[test]
    fn counts() {
        assert_eq!(parse_count("12"), Some(12.0));
        assert_eq!(parse_count("0.5"), Some(0.5));
        assert_eq!(parse_count("-1"), None);
        assert_eq!(parse_count("inf"), None);
        assert_eq!(parse_count("x"), None);
    }
}
