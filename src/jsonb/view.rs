//! A read-only view of a JSON value, so document logic can run on PostgreSQL's
//! binary jsonb in the server and on plain Rust values in unit tests.

use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Object,
    Array,
    String,
    Number,
    Boolean,
    Null,
}

impl Kind {
    /// The name `jsonb_typeof` gives this kind.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Object => "object",
            Kind::Array => "array",
            Kind::String => "string",
            Kind::Number => "number",
            Kind::Boolean => "boolean",
            Kind::Null => "null",
        }
    }
}

pub trait JsonView<'a>: Copy {
    fn kind(&self) -> Kind;
    /// The value under `key` when this is an object.
    fn get(&self, key: &str) -> Option<Self>;
    /// An object's entries in jsonb key order (`key_order`): shorter keys first, then bytewise.
    fn entries(&self) -> Vec<(&'a str, Self)>;
    /// An array's elements in order; empty for anything else.
    fn elements(&self) -> Vec<Self>;
    /// Number of pairs of an object or elements of an array; 0 for scalars.
    fn len(&self) -> usize;
    /// The `->>` text of this value: strings unquoted, JSON null as `None`.
    fn text(&self) -> Option<Cow<'a, str>>;

    /// No pairs or elements (also true for scalars).
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn is_object(&self) -> bool {
        self.kind() == Kind::Object
    }
}

/// jsonb's key order: shorter first, then bytewise.
pub fn key_order(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// PostgreSQL's `text::boolean` rules (`boolin`): trimmed, case-insensitive, unique
/// prefixes of true/false/yes/no, on/off, 1/0.
pub fn parse_pg_bool(s: &str) -> Option<bool> {
    let v = s.trim_matches(|c: char| c.is_ascii_whitespace()).as_bytes();
    let prefix_of = |word: &str| !v.is_empty() && v.len() <= word.len() && v.eq_ignore_ascii_case(&word.as_bytes()[..v.len()]);
    match v.first()?.to_ascii_lowercase() {
        b't' if prefix_of("true") => Some(true),
        b'f' if prefix_of("false") => Some(false),
        b'y' if prefix_of("yes") => Some(true),
        b'n' if prefix_of("no") => Some(false),
        b'o' if v.eq_ignore_ascii_case(b"on") => Some(true),
        b'o' if v.len() >= 2 && prefix_of("off") => Some(false),
        b'1' if v.len() == 1 => Some(true),
        b'0' if v.len() == 1 => Some(false),
        _ => None,
    }
}

#[cfg(test)]
pub mod test_value {
    //! A tiny JSON tree for unit tests; objects keep PostgreSQL's jsonb key order.
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    pub enum V {
        Obj(Vec<(String, V)>),
        Arr(Vec<V>),
        Str(String),
        Num(String),
        Bool(bool),
        Null,
    }

    /// jsonb orders keys by length, then bytewise.
    pub fn obj(pairs: Vec<(&str, V)>) -> V {
        let mut p: Vec<(String, V)> = pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        p.sort_by(|a, b| (a.0.len(), a.0.as_bytes()).cmp(&(b.0.len(), b.0.as_bytes())));
        V::Obj(p)
    }

    pub fn s(x: &str) -> V {
        V::Str(x.to_string())
    }

    impl<'a> JsonView<'a> for &'a V {
        fn kind(&self) -> Kind {
            match self {
                V::Obj(_) => Kind::Object,
                V::Arr(_) => Kind::Array,
                V::Str(_) => Kind::String,
                V::Num(_) => Kind::Number,
                V::Bool(_) => Kind::Boolean,
                V::Null => Kind::Null,
            }
        }
        fn get(&self, key: &str) -> Option<Self> {
            match self {
                V::Obj(p) => p.iter().find(|(k, _)| k == key).map(|(_, v)| v),
                _ => None,
            }
        }
        fn entries(&self) -> Vec<(&'a str, Self)> {
            match self {
                V::Obj(p) => p.iter().map(|(k, v)| (k.as_str(), v)).collect(),
                _ => Vec::new(),
            }
        }
        fn elements(&self) -> Vec<Self> {
            match self {
                V::Arr(items) => items.iter().collect(),
                _ => Vec::new(),
            }
        }
        fn len(&self) -> usize {
            match self {
                V::Arr(items) => items.len(),
                V::Obj(pairs) => pairs.len(),
                _ => 0,
            }
        }
        fn text(&self) -> Option<Cow<'a, str>> {
            match self {
                V::Str(s) | V::Num(s) => Some(Cow::Borrowed(s.as_str())),
                V::Bool(b) => Some(Cow::Owned(b.to_string())),
                V::Null => None,
                V::Obj(_) | V::Arr(_) => Some(Cow::Owned(format!("{self:?}"))),
            }
        }
    }

    #[test]
    fn pg_bool_rules() {
        for t in ["t", "TRUE", " yes ", "y", "on", "1", "tr"] {
            assert_eq!(parse_pg_bool(t), Some(true), "{t}");
        }
        for f in ["f", "False", "no", "n", "off", "of", "0"] {
            assert_eq!(parse_pg_bool(f), Some(false), "{f}");
        }
        for bad in ["", "o", "2", "truee", "10", "nope", "1.0", "{}"] {
            assert_eq!(parse_pg_bool(bad), None, "{bad}");
        }
    }
}
