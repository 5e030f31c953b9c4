//! Type names and the rules for changing a field from one type to another.
//!
//! Pure logic: no PostgreSQL needed. Spellings are normalised the way PostgreSQL
//! itself resolves them (`int4`, `character varying(10)`, `timestamp without time
//! zone`, ...), plus the JSON-document names used in entity schemas.

/// A parsed type name. Modifiers are kept where they decide compatibility.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ty {
    SmallInt,
    Integer,
    BigInt,
    /// `numeric(precision, scale)`; `None` is unconstrained.
    Numeric(Option<(u32, u32)>),
    Real,
    Double,
    /// `varchar(n)`; `None` is unbounded.
    Varchar(Option<u32>),
    /// `char(n)` (PostgreSQL's `bpchar`).
    Char(Option<u32>),
    Text,
    /// Fractional-second precision; `None` is the default (6).
    Timestamp(Option<u32>),
    TimestampTz(Option<u32>),
    Date,
    Time(Option<u32>),
    TimeTz(Option<u32>),
    Interval,
    Boolean,
    Uuid,
    Json,
    Jsonb,
    Bytea,
    /// JSON-document types of entity schemas.
    JString,
    JNumber,
    JObject,
    JArray,
    Array(Box<Ty>),
    /// Anything else: compatible only with itself (after normalising spaces and case).
    Other(String),
}

/// How `ALTER COLUMN ... TYPE` treats the stored rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rewrite {
    None,
    Rewrite,
    DependsOnTimezone,
}

impl Rewrite {
    pub fn as_str(self) -> &'static str {
        match self {
            Rewrite::None => "none",
            Rewrite::Rewrite => "rewrite",
            Rewrite::DependsOnTimezone => "depends_on_timezone",
        }
    }
}

/// The detail behind a type change, as `type_change_info` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeInfo {
    /// New readers can read old data: every old value fits the new type.
    pub backward: bool,
    /// Old readers can read new data: every new value fits the old type.
    pub forward: bool,
    pub rewrite: Rewrite,
}

impl ChangeInfo {
    pub fn compatible(&self) -> bool {
        self.backward
    }
    /// Some existing value cannot be carried over unchanged.
    pub fn lossy(&self) -> bool {
        !self.backward
    }
}

/// Lower-case, trim, and collapse runs of whitespace; drop spaces next to `(`, `)`, `,`, `[`.
fn canonical_spelling(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.trim().chars() {
        if c.is_whitespace() {
            pending_space = true;
            continue;
        }
        let glue = matches!(c, '(' | ')' | ',' | '[' | ']');
        if pending_space && !glue && !out.ends_with(['(', ',', '[']) {
            out.push(' ');
        }
        pending_space = false;
        out.extend(c.to_lowercase());
    }
    out
}

/// Split `name(args) [suffix]` into `name [suffix]` and its numeric modifiers.
fn split_modifiers(s: &str) -> Option<(String, Vec<u32>)> {
    let Some(open) = s.find('(') else {
        return Some((s.to_string(), Vec::new()));
    };
    let close = open + s[open..].find(')')?;
    let mods = s[open + 1..close].split(',').map(|a| a.parse::<u32>().ok()).collect::<Option<Vec<_>>>()?;
    // `timestamp(3) with time zone` carries its modifier in the middle.
    let rest = s[close + 1..].trim_start();
    let name = if rest.is_empty() { s[..open].to_string() } else { format!("{} {rest}", &s[..open]) };
    Some((name, mods))
}

/// Parse a type name as written in a schema or by `format_type`.
pub fn parse(s: &str) -> Ty {
    let canon = canonical_spelling(s);
    if let Some(elem) = canon.strip_suffix("[]") {
        return Ty::Array(Box::new(parse(elem)));
    }
    let other = || Ty::Other(canon.clone());
    let Some((name, mods)) = split_modifiers(&canon) else {
        return other();
    };
    let one = |mods: &[u32]| -> Option<Option<u32>> {
        match mods {
            [] => Some(None),
            [n] => Some(Some(*n)),
            _ => None,
        }
    };
    let ty = match name.as_str() {
        "smallint" | "int2" => (mods.is_empty()).then_some(Ty::SmallInt),
        "integer" | "int" | "int4" => (mods.is_empty()).then_some(Ty::Integer),
        "bigint" | "int8" => (mods.is_empty()).then_some(Ty::BigInt),
        "numeric" | "decimal" => match mods.as_slice() {
            [] => Some(Ty::Numeric(None)),
            [p] => Some(Ty::Numeric(Some((*p, 0)))),
            [p, s] => Some(Ty::Numeric(Some((*p, *s)))),
            _ => None,
        },
        "real" | "float4" => (mods.is_empty()).then_some(Ty::Real),
        "double precision" | "float8" => (mods.is_empty()).then_some(Ty::Double),
        // SQL's float(p): 1..24 is real, 25..53 double precision.
        "float" => match mods.as_slice() {
            [] => Some(Ty::Double),
            [p] if (1..=24).contains(p) => Some(Ty::Real),
            [p] if (25..=53).contains(p) => Some(Ty::Double),
            _ => None,
        },
        "varchar" | "character varying" => one(&mods).map(Ty::Varchar),
        // Bare char/character means char(1); bare bpchar is unbounded.
        "char" | "character" => one(&mods).map(|n| Ty::Char(n.or(Some(1)))),
        "bpchar" => one(&mods).map(Ty::Char),
        "text" => (mods.is_empty()).then_some(Ty::Text),
        "timestamp" | "timestamp without time zone" => one(&mods).map(Ty::Timestamp),
        "timestamptz" | "timestamp with time zone" => one(&mods).map(Ty::TimestampTz),
        "date" => (mods.is_empty()).then_some(Ty::Date),
        "time" | "time without time zone" => one(&mods).map(Ty::Time),
        "timetz" | "time with time zone" => one(&mods).map(Ty::TimeTz),
        "interval" => (mods.is_empty()).then_some(Ty::Interval),
        "boolean" | "bool" => (mods.is_empty()).then_some(Ty::Boolean),
        "uuid" => (mods.is_empty()).then_some(Ty::Uuid),
        "json" => (mods.is_empty()).then_some(Ty::Json),
        "jsonb" => (mods.is_empty()).then_some(Ty::Jsonb),
        "bytea" => (mods.is_empty()).then_some(Ty::Bytea),
        "string" => (mods.is_empty()).then_some(Ty::JString),
        "number" => (mods.is_empty()).then_some(Ty::JNumber),
        "object" => (mods.is_empty()).then_some(Ty::JObject),
        "array" => (mods.is_empty()).then_some(Ty::JArray),
        _ => None,
    };
    ty.unwrap_or_else(other)
}

fn precision(p: Option<u32>) -> u32 {
    p.unwrap_or(6)
}

/// Decimal digits left of the point that an integer type needs.
fn integer_digits(t: &Ty) -> Option<u32> {
    match t {
        Ty::SmallInt => Some(5),
        Ty::Integer => Some(10),
        Ty::BigInt => Some(19),
        _ => None,
    }
}

/// Can every value of `old` be held by `new` without loss?
pub fn widens(old: &Ty, new: &Ty) -> bool {
    use Ty::*;
    if old == new {
        return true;
    }
    match (old, new) {
        (SmallInt, Integer | BigInt | Real | Double | JNumber) => true,
        (Integer, BigInt | Double | JNumber) => true,
        (BigInt, JNumber) => true,
        (SmallInt | Integer | BigInt, Numeric(None)) => true,
        (SmallInt | Integer | BigInt, Numeric(Some((p, s)))) => {
            integer_digits(old).is_some_and(|d| p - s.min(p) >= d)
        }
        (Numeric(_), Numeric(None) | JNumber) => true,
        (Numeric(Some((p, s))), Numeric(Some((p2, s2)))) => s2 >= s && p2 - s2.min(p2) >= p - s.min(p),
        (Real, Double) => true,
        (Varchar(Some(n)), Varchar(Some(m))) => m >= n,
        (Varchar(_), Varchar(None) | Text | JString) => true,
        (Text, Varchar(None) | JString) => true,
        (JString, Text | Varchar(None)) => true,
        (Char(Some(n)), Char(Some(m))) => m >= n,
        (Char(_), Char(None)) => true,
        (Timestamp(p), Timestamp(q) | TimestampTz(q)) => precision(*q) >= precision(*p),
        (TimestampTz(p), TimestampTz(q)) => precision(*q) >= precision(*p),
        (Date, Timestamp(_) | TimestampTz(_)) => true,
        (Time(p), Time(q)) => precision(*q) >= precision(*p),
        (TimeTz(p), TimeTz(q)) => precision(*q) >= precision(*p),
        (Jsonb, Json) => true,
        (Array(a), Array(b)) => widens(a, b),
        (Array(_), JArray) => true,
        (Json | Jsonb, _) | (_, Json | Jsonb) => false,
        _ => false,
    }
}

/// Would `ALTER COLUMN ... TYPE new` rewrite a table whose column is `old`?
/// Follows PostgreSQL's binary coercions and length-coercion support functions.
pub fn rewrite(old: &Ty, new: &Ty) -> Rewrite {
    use Ty::*;
    let json_only = |t: &Ty| matches!(t, JString | JNumber | JObject | JArray);
    if old == new || json_only(old) || json_only(new) {
        return Rewrite::None;
    }
    let none = match (old, new) {
        (Varchar(Some(n)), Varchar(Some(m))) => m >= n,
        (Varchar(_), Varchar(None) | Text) => true,
        (Text, Varchar(None)) => true,
        (Numeric(_), Numeric(None)) => true,
        (Numeric(Some((p, s))), Numeric(Some((p2, s2)))) => s2 == s && p2 >= p,
        (Timestamp(p), Timestamp(q)) | (TimestampTz(p), TimestampTz(q)) => {
            precision(*q) >= precision(*p)
        }
        (Time(p), Time(q)) | (TimeTz(p), TimeTz(q)) => precision(*q) >= precision(*p),
        (Timestamp(_), TimestampTz(_)) | (TimestampTz(_), Timestamp(_)) => {
            return Rewrite::DependsOnTimezone;
        }
        _ => false,
    };
    if none {
        Rewrite::None
    } else {
        Rewrite::Rewrite
    }
}

/// `is_type_compatible(old, new)`.
pub fn is_compatible(old: &str, new: &str) -> bool {
    widens(&parse(old), &parse(new))
}

/// `type_change_info(old, new)`.
pub fn change_info(old: &str, new: &str) -> ChangeInfo {
    let (o, n) = (parse(old), parse(new));
    ChangeInfo { backward: widens(&o, &n), forward: widens(&n, &o), rewrite: rewrite(&o, &n) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_normalise() {
        assert_eq!(parse("INT4"), Ty::Integer);
        assert_eq!(parse("  Integer "), Ty::Integer);
        assert_eq!(parse("character   varying ( 10 )"), Ty::Varchar(Some(10)));
        assert_eq!(parse("varchar(10)"), Ty::Varchar(Some(10)));
        assert_eq!(parse("timestamp without time zone"), Ty::Timestamp(None));
        assert_eq!(parse("timestamp(3) with time zone"), Ty::TimestampTz(Some(3)));
        assert_eq!(parse("double precision"), Ty::Double);
        assert_eq!(parse("float"), Ty::Double);
        assert_eq!(parse("float(10)"), Ty::Real);
        assert_eq!(parse("decimal(10,2)"), Ty::Numeric(Some((10, 2))));
        assert_eq!(parse("numeric(10)"), Ty::Numeric(Some((10, 0))));
        assert_eq!(parse("int[]"), Ty::Array(Box::new(Ty::Integer)));
        assert_eq!(parse("character"), Ty::Char(Some(1)));
        assert_eq!(parse("My_Type"), Ty::Other("my_type".into()));
        assert_eq!(parse("varchar(x)"), Ty::Other("varchar(x)".into()));
        assert_eq!(parse("integer(4)"), Ty::Other("integer(4)".into()));
    }

    #[test]
    fn sketch_rules_hold() {
        assert!(is_compatible("integer", "bigint"));
        assert!(is_compatible("varchar", "text"));
        assert!(is_compatible("timestamp", "timestamptz"));
        assert!(is_compatible("text", "text"));
        assert!(!is_compatible("bigint", "integer"));
        assert!(!is_compatible("text", "varchar(10)"));
    }

    #[test]
    fn integer_ladder_and_lossy_floats() {
        for (o, n) in [("smallint", "integer"), ("int2", "int8"), ("int", "numeric"), ("bigint", "numeric")] {
            assert!(is_compatible(o, n), "{o} -> {n}");
        }
        assert!(is_compatible("real", "double precision"));
        assert!(is_compatible("integer", "double precision"));
        assert!(!is_compatible("bigint", "real"));
        assert!(!is_compatible("bigint", "double precision"));
        assert!(!is_compatible("double precision", "real"));
        assert!(!is_compatible("numeric", "bigint"));
        assert!(is_compatible("integer", "numeric(10,0)"));
        assert!(!is_compatible("integer", "numeric(9,0)"));
        assert!(!is_compatible("bigint", "numeric(20,2)"));
        assert!(is_compatible("bigint", "numeric(21,2)"));
    }

    #[test]
    fn lengths_and_precisions() {
        assert!(is_compatible("varchar(10)", "varchar(20)"));
        assert!(is_compatible("varchar(10)", "varchar(10)"));
        assert!(!is_compatible("varchar(20)", "varchar(10)"));
        assert!(is_compatible("varchar(20)", "character varying"));
        assert!(!is_compatible("varchar", "varchar(20)"));
        assert!(is_compatible("numeric(10,2)", "numeric(12,2)"));
        assert!(is_compatible("numeric(10,2)", "numeric"));
        assert!(!is_compatible("numeric(12,2)", "numeric(10,2)"));
        assert!(!is_compatible("numeric(10,2)", "numeric(10,1)"));
        assert!(!is_compatible("numeric", "numeric(10,2)"));
        assert!(is_compatible("timestamp(3)", "timestamptz"));
        assert!(!is_compatible("timestamptz", "timestamp"));
        assert!(!is_compatible("timestamp(6)", "timestamp(3)"));
    }

    #[test]
    fn json_document_types() {
        assert!(is_compatible("integer", "number"));
        assert!(!is_compatible("number", "integer"));
        assert!(is_compatible("string", "string"));
        assert!(!is_compatible("string", "number"));
        assert!(!is_compatible("object", "array"));
        assert!(is_compatible("boolean", "bool"));
    }

    #[test]
    fn unknown_types_only_match_themselves() {
        assert!(is_compatible("geometry", "GEOMETRY"));
        assert!(!is_compatible("geometry", "text"));
        assert!(!is_compatible("uuid", "text"));
        assert!(!is_compatible("", "text"));
        assert!(is_compatible("", ""));
    }

    #[test]
    fn rewrite_rules_follow_postgres() {
        let r = |o, n| change_info(o, n).rewrite;
        assert_eq!(r("varchar(10)", "varchar(20)"), Rewrite::None);
        assert_eq!(r("varchar(20)", "varchar(10)"), Rewrite::Rewrite);
        assert_eq!(r("varchar(10)", "text"), Rewrite::None);
        assert_eq!(r("text", "varchar(10)"), Rewrite::Rewrite);
        assert_eq!(r("integer", "bigint"), Rewrite::Rewrite);
        assert_eq!(r("numeric(10,2)", "numeric(12,2)"), Rewrite::None);
        assert_eq!(r("numeric(10,2)", "numeric(12,3)"), Rewrite::Rewrite);
        assert_eq!(r("timestamp", "timestamptz"), Rewrite::DependsOnTimezone);
        assert_eq!(r("int4", "integer"), Rewrite::None);
    }

    #[test]
    fn change_info_directions() {
        let i = change_info("integer", "bigint");
        assert!(i.backward && !i.forward && i.compatible() && !i.lossy());
        let i = change_info("bigint", "integer");
        assert!(!i.backward && i.forward && i.lossy());
        let i = change_info("uuid", "integer");
        assert!(!i.backward && !i.forward);
    }
}
