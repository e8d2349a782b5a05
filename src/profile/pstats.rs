//! cProfile / pstats files: a marshal dump of
//! `{(file, firstlineno, funcname): (cc, nc, tt, ct, {caller_key: (nc, cc, tt, ct)})}`.
//! Read natively; no Python at run time.

use std::collections::HashMap;
use std::fmt::Display;
use std::path::Path;

use super::marshal::{self, Value};
use super::{
    format_error, CallerEdge, Format, Frame, FrameId, FrameTable, FunctionTiming, LineKind, Meta,
    Profile, Reader, Unit, CPROFILE_NOTE,
};
use crate::{Error, Result};

/// Reads pstats marshal dumps.
pub struct PstatsReader;

impl Reader for PstatsReader {
    fn format(&self) -> Format {
        Format::Pstats
    }

    /// A marshal dict (`{`, with or without the ref flag) whose first key is a tuple, or an empty dict.
    fn sniff(&self, data: &[u8]) -> bool {
        matches!(
            data,
            [b'{' | 0xfb, b')' | b'(' | 0xa9 | 0xa8 | b'r' | b'0', ..]
        )
    }

    fn read(&self, data: &[u8], path: &Path) -> Result<Profile> {
        let err = |offset: usize, message: String| Error::Format {
            path: path.to_path_buf(),
            message: format!("byte {offset}: {message}"),
        };
        let (value, used) = marshal::loads(data).map_err(|e| err(e.offset, e.message))?;
        if used != data.len() {
            return Err(err(
                used,
                format!(
                    "{} bytes of trailing data after the pstats dict",
                    data.len() - used
                ),
            ));
        }
        from_value(&value, path)
    }
}

/// Builds the profile from the decoded dict, checking every shape.
fn from_value(value: &Value, path: &Path) -> Result<Profile> {
    let Value::Dict(entries) = value else {
        return Err(format_error(
            path,
            format!(
                "expected a pstats dict at the top, found a {}",
                value.kind()
            ),
        ));
    };
    let mut frames = FrameTable::default();
    // marshal shares repeated key tuples through back-references: resolve each shared tuple once.
    let mut by_ptr: HashMap<*const Value, FrameId> = HashMap::new();
    let mut intern = |v: &Value, what: &dyn Display| -> Result<FrameId> {
        let ptr = match v {
            Value::Tuple(t) => t.as_ptr(),
            _ => std::ptr::null(),
        };
        if let Some(&id) = by_ptr.get(&ptr) {
            return Ok(id);
        }
        let id = frames.intern(key(v, path, what)?);
        if !ptr.is_null() {
            by_ptr.insert(ptr, id);
        }
        Ok(id)
    };
    let mut timings = Vec::with_capacity(entries.len());
    let mut unknown_cc = false;
    for (i, (k, v)) in entries.iter().enumerate() {
        let frame = intern(k, &Ctx(i, "key"))?;
        let t = tuple(v, 5, path, &Ctx(i, "value"))?;
        let cc = int(&t[0], path, &Ctx(i, "cc"))?;
        let nc = int(&t[1], path, &Ctx(i, "nc"))?;
        let tt = float(&t[2], path, &Ctx(i, "tt"))?;
        let ct = float(&t[3], path, &Ctx(i, "ct"))?;
        let Value::Dict(callers) = &t[4] else {
            return Err(format_error(
                path,
                format!(
                    "{}: expected a dict, found a {}",
                    Ctx(i, "callers"),
                    t[4].kind()
                ),
            ));
        };
        let mut edges = Vec::with_capacity(callers.len());
        for (ck, cv) in callers.iter() {
            let caller = intern(ck, &Ctx(i, "caller key"))?;
            edges.push(caller_edge(caller, cv, path, &Ctx(i, "caller value"))?);
        }
        unknown_cc |= cc < 0;
        timings.push(FunctionTiming {
            frame,
            cc: (cc >= 0).then_some(cc),
            // yappi/pyinstrument write -1 for both counts: there is no call count at all.
            nc: nc.max(0),
            tt,
            ct,
            callers: edges,
        });
    }
    let mut notes = vec![CPROFILE_NOTE.to_string()];
    let tool = if unknown_cc {
        notes = vec![
            "call counts are -1 (written by pyinstrument or yappi, not cProfile): calls are unknown; \
             pyinstrument's times are sampled estimates"
                .to_string(),
        ];
        "pyinstrument/yappi"
    } else {
        "cProfile"
    };
    Ok(Profile {
        meta: Meta {
            format: Format::Pstats,
            tool: tool.into(),
            unit: Unit::Seconds,
            line_kind: LineKind::Definition,
            notes,
        },
        frames: frames.into_frames(),
        stacks: Vec::new(),
        timings,
    })
}

/// Where in the file a value sits, formatted only when an error needs it.
struct Ctx(usize, &'static str);

impl Display for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "entry {}: {}", self.0, self.1)
    }
}

fn tuple<'a>(v: &'a Value, n: usize, path: &Path, what: &dyn Display) -> Result<&'a [Value]> {
    match v {
        Value::Tuple(items) if items.len() == n => Ok(items),
        Value::Tuple(items) => Err(format_error(
            path,
            format!("{what}: expected a {n}-tuple, found {} items", items.len()),
        )),
        other => Err(format_error(
            path,
            format!("{what}: expected a {n}-tuple, found a {}", other.kind()),
        )),
    }
}

/// `(filename, firstlineno, funcname)`.
fn key(v: &Value, path: &Path, what: &dyn Display) -> Result<Frame> {
    let t = tuple(v, 3, path, what)?;
    let (Value::Str(file), Value::Str(name)) = (&t[0], &t[2]) else {
        return Err(format_error(
            path,
            format!(
                "{what}: expected (str, int, str), found ({}, {}, {})",
                t[0].kind(),
                t[1].kind(),
                t[2].kind()
            ),
        ));
    };
    let line = int(&t[1], path, what)?;
    let line = u32::try_from(line)
        .map_err(|_| format_error(path, format!("{what}: line number {line} out of range")))?;
    // Builtins have line 0: no line.
    Ok(Frame::new(
        name.as_ref(),
        file.as_ref(),
        (line > 0).then_some(line),
    ))
}

/// `(nc, cc, tt, ct)`, or a bare call count (the pure-Python `profile` module's shape).
fn caller_edge(caller: FrameId, v: &Value, path: &Path, what: &dyn Display) -> Result<CallerEdge> {
    if let Value::Int(n) = v {
        return Ok(CallerEdge {
            caller,
            nc: *n,
            cc: Some(*n),
            tt: 0.0,
            ct: 0.0,
        });
    }
    let t = tuple(v, 4, path, what)?;
    let cc = int(&t[1], path, what)?;
    Ok(CallerEdge {
        caller,
        nc: int(&t[0], path, what)?.max(0),
        cc: (cc >= 0).then_some(cc),
        tt: float(&t[2], path, what)?,
        ct: float(&t[3], path, what)?,
    })
}

fn int(v: &Value, path: &Path, what: &dyn Display) -> Result<i64> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Bool(b) => Ok(*b as i64),
        other => Err(format_error(
            path,
            format!("{what}: expected an int, found a {}", other.kind()),
        )),
    }
}

fn float(v: &Value, path: &Path, what: &dyn Display) -> Result<f64> {
    match v {
        Value::Float(f) => Ok(*f),
        // Some writers store whole-second times as ints.
        Value::Int(i) => Ok(*i as f64),
        other => Err(format_error(
            path,
            format!("{what}: expected a float, found a {}", other.kind()),
        )),
    }
}
