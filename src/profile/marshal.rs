//! A reader for the subset of Python's `marshal` format that pstats files use (CPython 3.8-3.14 write
//! version 4 or 5; see the notes in docs/profile.md). Untrusted input: every length is checked against the
//! bytes left, nesting is bounded, and errors carry the byte offset.

use std::rc::Rc;

/// A decoded marshal value. Containers are reference-counted because back-references (`r`) share them.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    Tuple(Rc<[Value]>),
    List(Rc<[Value]>),
    Dict(Rc<[(Value, Value)]>),
}

impl Value {
    /// A short name for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::Tuple(_) => "tuple",
            Value::List(_) => "list",
            Value::Dict(_) => "dict",
        }
    }
}

/// A decoding error at a byte offset.
#[derive(Debug, Clone, PartialEq)]
pub struct MarshalError {
    pub offset: usize,
    pub message: String,
}

type R<T> = std::result::Result<T, MarshalError>;

const FLAG_REF: u8 = 0x80;
/// Deeper nesting than this is not something pstats writes; refusing it keeps the recursion bounded.
const MAX_DEPTH: usize = 64;

/// Decodes one marshal value from the start of `data`; returns it and the number of bytes used.
pub fn loads(data: &[u8]) -> R<(Value, usize)> {
    let mut d = Decoder {
        data,
        pos: 0,
        refs: Vec::new(),
    };
    let v = d.value(0)?;
    Ok((v, d.pos))
}

struct Decoder<'a> {
    data: &'a [u8],
    pos: usize,
    /// Objects flagged with FLAG_REF, by index; `None` while a container is still being read.
    refs: Vec<Option<Value>>,
}

impl Decoder<'_> {
    fn err<T>(&self, offset: usize, message: impl Into<String>) -> R<T> {
        Err(MarshalError {
            offset,
            message: message.into(),
        })
    }

    fn take(&mut self, n: usize, what: &str) -> R<&[u8]> {
        if self.data.len() - self.pos < n {
            return self.err(
                self.pos,
                format!(
                    "truncated: {what} needs {n} bytes, {} left",
                    self.data.len() - self.pos
                ),
            );
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self, what: &str) -> R<u8> {
        Ok(self.take(1, what)?[0])
    }

    fn i32(&mut self, what: &str) -> R<i32> {
        let b = self.take(4, what)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A u32 count or length, checked to be non-negative and at most the bytes left times `min_size`.
    fn count(&mut self, what: &str, min_size: usize) -> R<usize> {
        let at = self.pos;
        let n = self.i32(what)?;
        if n < 0 {
            return self.err(at, format!("negative {what} {n}"));
        }
        let n = n as usize;
        if n.saturating_mul(min_size) > self.data.len() - self.pos {
            return self.err(
                at,
                format!(
                    "truncated: {what} {n} exceeds the {} bytes left",
                    self.data.len() - self.pos
                ),
            );
        }
        Ok(n)
    }

    fn string(&mut self, n: usize, ascii: bool) -> R<Rc<str>> {
        let at = self.pos;
        let b = self.take(n, "string")?;
        if ascii {
            if !b.is_ascii() {
                return self.err(at, "non-ASCII byte in an ASCII string");
            }
            // ASCII is valid UTF-8.
            return Ok(Rc::from(std::str::from_utf8(b).unwrap_or_default()));
        }
        // CPython writes lone surrogates with `surrogatepass`; show them as U+FFFD rather than failing.
        Ok(Rc::from(String::from_utf8_lossy(b).as_ref()))
    }

    fn value(&mut self, depth: usize) -> R<Value> {
        let at = self.pos;
        if depth > MAX_DEPTH {
            return self.err(at, format!("nesting deeper than {MAX_DEPTH} levels"));
        }
        let byte = self.u8("type code")?;
        let code = byte & !FLAG_REF;
        // Pre-order numbering: a flagged object takes its index before its children are read.
        let slot = if byte & FLAG_REF != 0 && code != b'r' {
            self.refs.push(None);
            Some(self.refs.len() - 1)
        } else {
            None
        };
        let v = match code {
            b'0' => return self.err(at, "unexpected end-of-dict marker"),
            b'N' => Value::None,
            b'T' => Value::Bool(true),
            b'F' => Value::Bool(false),
            b'i' => Value::Int(self.i32("int32")? as i64),
            b'l' => self.long(at)?,
            b'g' => {
                let b = self.take(8, "float64")?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Value::Float(f64::from_le_bytes(a))
            }
            b'f' => {
                // Marshal version 0/1 text float: 1-byte length, then the repr.
                let n = self.u8("float length")? as usize;
                let s = self.string(n, true)?;
                match s.trim().parse::<f64>() {
                    Ok(f) => Value::Float(f),
                    Err(_) => return self.err(at, format!("bad float literal {s:?}")),
                }
            }
            b'z' | b'Z' => {
                let n = self.u8("string length")? as usize;
                Value::Str(self.string(n, true)?)
            }
            b'a' | b'A' => {
                let n = self.count("string length", 1)?;
                Value::Str(self.string(n, true)?)
            }
            b'u' | b't' => {
                let n = self.count("string length", 1)?;
                Value::Str(self.string(n, false)?)
            }
            b's' => {
                let n = self.count("bytes length", 1)?;
                Value::Bytes(Rc::from(self.take(n, "bytes")?))
            }
            b')' => {
                let n = self.u8("tuple size")? as usize;
                Value::Tuple(self.items(n, depth)?.into())
            }
            b'(' => {
                let n = self.count("tuple size", 1)?;
                Value::Tuple(self.items(n, depth)?.into())
            }
            b'[' => {
                let n = self.count("list size", 1)?;
                Value::List(self.items(n, depth)?.into())
            }
            b'{' => {
                let mut pairs = Vec::new();
                loop {
                    if self.pos < self.data.len() && self.data[self.pos] == b'0' {
                        self.pos += 1;
                        break;
                    }
                    let k = self.value(depth + 1)?;
                    let v = self.value(depth + 1)?;
                    pairs.push((k, v));
                }
                Value::Dict(pairs.into())
            }
            b'r' => {
                let n = self.i32("reference index")?;
                return match usize::try_from(n).ok().and_then(|i| self.refs.get(i)) {
                    Some(Some(v)) => Ok(v.clone()),
                    Some(None) => {
                        self.err(at, format!("reference {n} to an object still being read"))
                    }
                    None => self.err(
                        at,
                        format!(
                            "reference {n} out of range ({} objects so far)",
                            self.refs.len()
                        ),
                    ),
                };
            }
            b'c' => {
                return self.err(
                    at,
                    "a code object: this file was written by the pure-Python `profile` module \
                     (`python -m profile -o`), whose keys hold code objects; record with \
                     `python -m cProfile -o FILE` instead",
                )
            }
            _ => {
                return self.err(
                    at,
                    format!(
                        "unsupported marshal type code {:?} (0x{byte:02x})",
                        code as char
                    ),
                )
            }
        };
        if let Some(i) = slot {
            self.refs[i] = Some(v.clone());
        }
        Ok(v)
    }

    fn items(&mut self, n: usize, depth: usize) -> R<Vec<Value>> {
        let mut v = Vec::with_capacity(n.min(self.data.len() - self.pos));
        for _ in 0..n {
            v.push(self.value(depth + 1)?);
        }
        Ok(v)
    }

    /// `l`: a signed digit count, then that many 15-bit digits, least significant first.
    fn long(&mut self, at: usize) -> R<Value> {
        let n = self.i32("long size")?;
        let digits = n.unsigned_abs() as usize;
        if digits.saturating_mul(2) > self.data.len() - self.pos {
            return self.err(at, "truncated long");
        }
        let mut acc: i128 = 0;
        for i in 0..digits {
            let b = self.take(2, "long digit")?;
            let d = u16::from_le_bytes([b[0], b[1]]);
            if d >= 1 << 15 {
                return self.err(self.pos - 2, "long digit out of range");
            }
            if i >= 5 {
                // 5 digits = 75 bits already past i64; only zero digits may follow.
                if d != 0 {
                    return self.err(at, "integer too large");
                }
                continue;
            }
            acc |= (d as i128) << (15 * i);
        }
        if n < 0 {
            acc = -acc;
        }
        match i64::try_from(acc) {
            Ok(v) => Ok(Value::Int(v)),
            Err(_) => self.err(at, "integer too large"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_refs_in_pre_order() {
        // dict(ref 0) { tuple(ref 1)(str(ref 2)"ab", r2) : r1 }
        let data = b"\xfb\xa9\x02\xfa\x02abr\x02\x00\x00\x00r\x01\x00\x00\x000";
        let (v, used) = loads(data).unwrap();
        assert_eq!(used, data.len());
        let Value::Dict(pairs) = v else { panic!() };
        let ab: Rc<str> = Rc::from("ab");
        let t = Value::Tuple(vec![Value::Str(ab.clone()), Value::Str(ab)].into());
        assert_eq!(pairs[0], (t.clone(), t));
    }

    #[test]
    fn longs_and_floats() {
        // l with 3 digits: 1 + 2*2^15 + 3*2^30, negative.
        let mut d = b"l\xfd\xff\xff\xff".to_vec();
        for x in [1u16, 2, 3] {
            d.extend_from_slice(&x.to_le_bytes());
        }
        let expect = -(1i64 + 2 * (1 << 15) + 3 * (1 << 30));
        assert_eq!(loads(&d).unwrap().0, Value::Int(expect));
        let mut g = vec![b'g'];
        g.extend_from_slice(&1.5f64.to_le_bytes());
        assert_eq!(loads(&g).unwrap().0, Value::Float(1.5));
    }

    #[test]
    fn errors_have_offsets() {
        let e = loads(b")\x02i\x01\x00\x00\x00i\x01").unwrap_err();
        assert_eq!(
            e.offset, 8,
            "the int32 that runs past the end starts at byte 8"
        );
        assert!(e.message.contains("truncated"), "{}", e.message);
        let e = loads(b"r\x05\x00\x00\x00").unwrap_err();
        assert!(e.message.contains("out of range"));
        let e = loads(b"c\x00").unwrap_err();
        assert!(e.message.contains("python -m profile"));
        let deep = [b')', 1].repeat(200);
        assert!(loads(&deep).unwrap_err().message.contains("nesting"));
    }
}
