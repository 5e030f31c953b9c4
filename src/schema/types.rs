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

/// The longest type name accepted, in bytes. A schema-qualified name of two quoted
/// 63-byte identifiers with modifiers and array bounds stays well below it.
pub const MAX_TYPE_NAME_BYTES: usize = 1024;
/// PostgreSQL's limit on array dimensions (`MAXDIM`).
pub const MAX_ARRAY_DIMS: usize = pgrx::pg_sys::MAXDIM as usize;
/// PostgreSQL caps fractional-second precision here (`TIMESTAMP(7)` becomes `TIMESTAMP(6)`).
const MAX_TIMESTAMP_PRECISION: u32 = pgrx::pg_sys::MAX_TIMESTAMP_PRECISION;
const MAX_TIME_PRECISION: u32 = pgrx::pg_sys::MAX_TIME_PRECISION;

/// A type name refused before it is looked at: too long, or too many array dimensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeNameError {
    TooLong { shown: String, bytes: usize },
    TooManyDimensions { shown: String, dims: usize },
}

impl TypeNameError {
    pub fn message(&self) -> String {
        match self {
            TypeNameError::TooLong { shown, bytes } => {
                format!("type name \"{shown}\" is {bytes} bytes long; the limit is {MAX_TYPE_NAME_BYTES}")
            }
            TypeNameError::TooManyDimensions { shown, dims } => {
                format!("type name \"{shown}\" has {dims} array dimensions; PostgreSQL allows at most {MAX_ARRAY_DIMS}")
            }
        }
    }
    pub fn hint(&self) -> &'static str {
        match self {
            TypeNameError::TooLong { .. } => "Write the type as format_type() shows it, such as varchar(20), numeric(10,2) or integer[].",
            TypeNameError::TooManyDimensions { .. } => "PostgreSQL does not enforce declared array sizes or dimensions: integer[] holds arrays of any shape.",
        }
    }
}

/// The first 40 characters of a name, for messages.
pub fn shorten(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((cut, _)) => format!("{}...", &s[..cut]),
        None => s.to_string(),
    }
}

/// Lower-case, trim, and collapse runs of whitespace; drop spaces next to `(`, `)`, `,`, `[`.
/// Double-quoted identifiers keep their spelling.
fn canonical_spelling(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    let mut quoted = false;
    for c in s.trim().chars() {
        if quoted {
            out.push(c);
            quoted = c != '"';
            continue;
        }
        if c.is_whitespace() {
            pending_space = true;
            continue;
        }
        let glue = matches!(c, '(' | ')' | ',' | '[' | ']');
        if pending_space && !glue && !out.ends_with(['(', ',', '[']) {
            out.push(' ');
        }
        pending_space = false;
        if c == '"' {
            quoted = true;
            out.push(c);
        } else {
            out.extend(c.to_lowercase());
        }
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
    let name = if rest.is_empty() {
        s[..open].to_string()
    } else {
        format!("{} {rest}", &s[..open])
    };
    Some((name, mods))
}

/// Strip array decoration: `[]`, `[3]`, `[3][4]`, `ARRAY`, `ARRAY[3]`. PostgreSQL
/// ignores declared sizes and dimensions (`int[3][4]` is `int[]`), so only the count is
/// returned. Iterative: a name with any number of brackets is read in linear time.
fn strip_array_bounds(canon: &str) -> (&str, usize) {
    let mut rest = canon;
    let mut dims = 0;
    while let Some(inner) = rest.strip_suffix(']') {
        let Some(open) = inner.rfind('[') else { break };
        if !inner[open + 1..].bytes().all(|b| b.is_ascii_digit()) {
            break;
        }
        rest = &inner[..open];
        dims += 1;
    }
    if dims <= 1 {
        if let Some(elem) = rest.strip_suffix(" array") {
            return (elem, 1);
        }
    }
    (rest, dims)
}

/// Parse a type name as written in a schema or by `format_type`.
pub fn parse(s: &str) -> Result<Ty, TypeNameError> {
    if s.len() > MAX_TYPE_NAME_BYTES {
        return Err(TypeNameError::TooLong {
            shown: shorten(s),
            bytes: s.len(),
        });
    }
    let canon = canonical_spelling(s);
    let (elem, dims) = strip_array_bounds(&canon);
    if dims > MAX_ARRAY_DIMS {
        return Err(TypeNameError::TooManyDimensions {
            shown: shorten(s.trim()),
            dims,
        });
    }
    let base = parse_scalar(elem);
    Ok(if dims == 0 { base } else { Ty::Array(Box::new(base)) })
}

/// Fractional-second precision as PostgreSQL stores it: above the maximum means the maximum,
/// and the maximum is the default.
fn cap_precision(p: Option<u32>, max: u32) -> Option<u32> {
    p.filter(|p| *p < max)
}

fn parse_scalar(canon: &str) -> Ty {
    let other = || Ty::Other(canon.to_string());
    let Some((name, mods)) = split_modifiers(canon) else {
        return other();
    };
    let one = |mods: &[u32]| -> Option<Option<u32>> {
        match mods {
            [] => Some(None),
            [n] => Some(Some(*n)),
            _ => None,
        }
    };
    let ts = |mods: &[u32]| one(mods).map(|p| cap_precision(p, MAX_TIMESTAMP_PRECISION));
    let time = |mods: &[u32]| one(mods).map(|p| cap_precision(p, MAX_TIME_PRECISION));
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
        "timestamp" | "timestamp without time zone" => ts(&mods).map(Ty::Timestamp),
        "timestamptz" | "timestamp with time zone" => ts(&mods).map(Ty::TimestampTz),
        "date" => (mods.is_empty()).then_some(Ty::Date),
        "time" | "time without time zone" => time(&mods).map(Ty::Time),
        "timetz" | "time with time zone" => time(&mods).map(Ty::TimeTz),
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
        (SmallInt | Integer | BigInt, Numeric(Some((p, s)))) => integer_digits(old).is_some_and(|d| p - s.min(p) >= d),
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
        (Timestamp(p), Timestamp(q)) | (TimestampTz(p), TimestampTz(q)) => precision(*q) >= precision(*p),
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
pub fn is_compatible(old: &str, new: &str) -> Result<bool, TypeNameError> {
    Ok(widens(&parse(old)?, &parse(new)?))
}

/// `type_change_info(old, new)`.
pub fn change_info(old: &str, new: &str) -> Result<ChangeInfo, TypeNameError> {
    let (o, n) = (parse(old)?, parse(new)?);
    Ok(ChangeInfo {
        backward: widens(&o, &n),
        forward: widens(&n, &o),
        rewrite: rewrite(&o, &n),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // The rules below are about well-formed names; refusals have their own tests.
    fn parse(s: &str) -> Ty {
        super::parse(s).unwrap()
    }
    fn is_compatible(o: &str, n: &str) -> bool {
        super::is_compatible(o, n).unwrap()
    }
    fn change_info(o: &str, n: &str) -> ChangeInfo {
        super::change_info(o, n).unwrap()
    }

    #[test]
    fn array_bounds_are_decoration() {
        let ints = Ty::Array(Box::new(Ty::Integer));
        for s in [
            "int[]",
            "int[3]",
            "int[3][4]",
            "int[][]",
            "integer [ 3 ] [ ]",
            "int ARRAY",
            "int array[5]",
            "int4[][][][][][]",
        ] {
            assert_eq!(parse(s), ints, "{s}");
        }
        assert!(is_compatible("int[3]", "int[]"));
        assert!(is_compatible("int[]", "int[3]"));
        assert!(is_compatible("int[3][4]", "int[][]"));
        assert!(is_compatible("int[3][4]", "bigint[]"));
        assert!(!is_compatible("bigint[2]", "int[]"));
        assert_eq!(change_info("int[3]", "int[]").rewrite, Rewrite::None);
        // Not array bounds: left as an unknown type.
        assert_eq!(parse("int[x]"), Ty::Other("int[x]".into()));
        assert_eq!(parse("\"MyType\"[]"), Ty::Array(Box::new(Ty::Other("\"MyType\"".into()))));
        assert!(!is_compatible("\"MyType\"", "\"mytype\""));
    }

    #[test]
    fn hostile_names_are_refused_without_recursion() {
        let deep = format!("int{}", "[]".repeat(60_000));
        let e = super::parse(&deep).unwrap_err();
        assert!(matches!(e, TypeNameError::TooLong { bytes: 120_003, .. }), "{e:?}");
        assert!(e.message().starts_with("type name \"int[][][]"), "{}", e.message());
        assert!(e.message().len() < 120, "the name is shortened: {}", e.message());
        let seven = format!("int{}", "[]".repeat(7));
        let e = super::parse(&seven).unwrap_err();
        assert_eq!(e, TypeNameError::TooManyDimensions { shown: seven.clone(), dims: 7 });
        assert!(super::is_compatible(&seven, "int").is_err());
        assert!(super::change_info("int", &seven).is_err());
        // Exactly at the limits is fine.
        assert!(super::parse(&format!("int{}", "[]".repeat(MAX_ARRAY_DIMS))).is_ok());
        assert!(super::parse(&"x".repeat(MAX_TYPE_NAME_BYTES)).is_ok());
        assert!(super::parse(&"x".repeat(MAX_TYPE_NAME_BYTES + 1)).is_err());
        // Within the length limit, any bracket pattern is read in one pass.
        let brackets = "[1]".repeat(MAX_TYPE_NAME_BYTES / 3 - 1);
        assert!(matches!(super::parse(&format!("i{brackets}")), Err(TypeNameError::TooManyDimensions { .. })));
        assert!(matches!(super::parse(&"(".repeat(MAX_TYPE_NAME_BYTES)), Ok(Ty::Other(_))));
    }

    #[test]
    fn fractional_precision_caps_at_six() {
        assert_eq!(parse("timestamp(7)"), parse("timestamp"));
        assert_eq!(parse("timestamp(6)"), parse("timestamp"));
        assert_eq!(parse("timestamptz(12)"), Ty::TimestampTz(None));
        assert_eq!(parse("time(9) with time zone"), Ty::TimeTz(None));
        assert!(is_compatible("timestamp(7)", "timestamp"));
        assert!(is_compatible("timestamp", "timestamp(7)"));
        assert!(!change_info("timestamp(7)", "timestamp").lossy());
        assert_eq!(change_info("timestamp(7)", "timestamp(6)").rewrite, Rewrite::None);
        assert!(!is_compatible("timestamp(7)", "timestamp(5)"));
    }

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
