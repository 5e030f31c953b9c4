//! `canary_start` options: parsed with serde into typed structs, unknown fields denied.
//! An unknown or mistyped option is an error naming it (the pg layer raises 22023).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The metrics the database knows how to measure and score (the sketch's four).
pub const BUILTIN_METRICS: [&str; 4] = ["error_rate", "response_time", "throughput", "data_consistency"];

/// A duration: seconds as a number, or a string "<number><unit>" with unit ms, s, min/m, h.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Seconds(pub f64);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(f64),
            S(String),
        }
        let secs =
            match Raw::deserialize(d).map_err(|_| serde::de::Error::custom("expected seconds (a number) or a duration like \"30s\", \"5min\", \"2h\""))? {
                Raw::N(n) => n,
                Raw::S(s) => parse_duration(&s).map_err(serde::de::Error::custom)?,
            };
        if !secs.is_finite() || secs < 0.0 {
            return Err(serde::de::Error::custom("expected a duration of zero or more seconds"));
        }
        Ok(Seconds(secs))
    }
}

fn parse_duration(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("\"{s}\" is not a duration like \"30s\", \"5min\", \"2h\""))?;
    let mult = match unit.trim() {
        "ms" => 0.001,
        "" | "s" | "sec" | "seconds" => 1.0,
        "m" | "min" | "minutes" => 60.0,
        "h" | "hours" => 3600.0,
        other => return Err(format!("unknown duration unit \"{other}\" (use ms, s, min or h)")),
    };
    Ok(n * mult)
}

/// Weights of the built-in metrics (the sketch's 0.4 / 0.3 / 0.2 / 0.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Weights {
    pub error_rate: f64,
    pub response_time: f64,
    pub throughput: f64,
    pub data_consistency: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            error_rate: 0.4,
            response_time: 0.3,
            throughput: 0.2,
            data_consistency: 0.1,
        }
    }
}

/// A custom metric: a SQL query returning one number, scored 1 inside [min, max], else 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CustomMetric {
    pub name: String,
    pub query: String,
    #[serde(default = "one")]
    pub weight: f64,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    #[serde(default)]
    pub critical: bool,
}

fn one() -> f64 {
    1.0
}

/// Everything `canary_start` accepts (camelCase, as in the design sketch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "camelCase")]
pub struct CanaryOptions {
    /// Percentage points per step (10 gives 10, 20, ..., 100); exclusive with `steps`.
    pub step: Option<u32>,
    /// Explicit step weights, strictly increasing, ending at 100.
    pub steps: Option<Vec<u32>>,
    /// Time each step (and each check window) lasts before it is judged.
    pub interval: Seconds,
    /// Weighted score needed to step up and to promote.
    pub success_threshold: f64,
    /// A score at or below this fails at once (Kayenta).
    pub marginal_threshold: f64,
    /// The whole canary's time budget; past it the canary times out.
    pub max_duration: Seconds,
    /// On failure: roll back (true) or pause for manual review (false).
    pub rollback_on_failure: bool,
    /// Canary-side reports needed in a window before any verdict.
    pub min_samples: u64,
    /// Failed (marginal) checks allowed over the run before the canary fails (Flagger).
    pub failed_check_limit: u32,
    /// A step with no verdict for this long fails (Flagger's progress deadline).
    pub progress_deadline: Seconds,
    /// Critical: a canary error rate above this fails on its own.
    pub max_error_rate: f64,
    /// Canary worse than baseline by more than this share (plus a small absolute slack) scores 0.
    pub baseline_tolerance: f64,
    /// Built-in metrics judged (default all four).
    pub metrics: Vec<String>,
    pub weights: Weights,
    pub custom_metrics: Vec<CustomMetric>,
    /// Canary rows sampled for data_consistency.
    pub consistency_sample: u32,
    /// The column of the deployed tables that holds the routing key (tenant, user,
    /// account): data_consistency samples rows whose key routes to the canary.
    pub key_column: Option<String>,
    /// Routing salt (Unleash groupId); default the canary's name.
    pub salt: Option<String>,
}

impl Default for CanaryOptions {
    fn default() -> Self {
        CanaryOptions {
            step: None,
            steps: None,
            interval: Seconds(30.0),
            success_threshold: 0.9,
            marginal_threshold: 0.75,
            max_duration: Seconds(3600.0),
            rollback_on_failure: true,
            min_samples: 50,
            failed_check_limit: 3,
            progress_deadline: Seconds(600.0),
            max_error_rate: 0.05,
            baseline_tolerance: 0.5,
            metrics: BUILTIN_METRICS.iter().map(|s| s.to_string()).collect(),
            weights: Weights::default(),
            custom_metrics: vec![],
            consistency_sample: 100,
            key_column: None,
            salt: None,
        }
    }
}

/// An option that was refused: its JSON path and why.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionError {
    pub option: String,
    pub problem: String,
}

fn err(option: impl Into<String>, problem: impl Into<String>) -> OptionError {
    OptionError {
        option: option.into(),
        problem: problem.into(),
    }
}

impl CanaryOptions {
    /// The step weights in effect.
    pub fn step_list(&self) -> Vec<u32> {
        if let Some(s) = &self.steps {
            return s.clone();
        }
        let step = self.step.unwrap_or(10).max(1);
        let mut v: Vec<u32> = (1..).map(|i| i * step).take_while(|p| *p < 100).collect();
        v.push(100);
        v
    }

    /// Parse `options` (a JSON object). Every problem names the option it is about.
    pub fn parse(options: &Value) -> Result<CanaryOptions, OptionError> {
        let obj = match options {
            Value::Object(o) => o,
            Value::Null => return Ok(CanaryOptions::default()),
            _ => return Err(err("$", "options must be a JSON object")),
        };
        let parsed: CanaryOptions = match serde_json::from_value(options.clone()) {
            Ok(p) => p,
            // Find the option at fault: parse each one alone.
            Err(e) => {
                for (k, v) in obj {
                    if let Some(e) = nested_error(k, v) {
                        return Err(e);
                    }
                    let mut one = Map::new();
                    one.insert(k.clone(), v.clone());
                    if let Err(e1) = serde_json::from_value::<CanaryOptions>(Value::Object(one)) {
                        let msg = strip_position(&e1.to_string());
                        return Err(if msg.starts_with("unknown field") {
                            err(k, "unknown option")
                        } else {
                            err(k, msg)
                        });
                    }
                }
                return Err(err("$", strip_position(&e.to_string())));
            }
        };
        parsed.check()?;
        Ok(parsed)
    }

    fn check(&self) -> Result<(), OptionError> {
        if self.step.is_some() && self.steps.is_some() {
            return Err(err("steps", "give either step or steps, not both"));
        }
        if let Some(s) = self.step {
            if !(1..=100).contains(&s) {
                return Err(err("step", format!("{s} is not in 1..100")));
            }
        }
        if let Some(steps) = &self.steps {
            if steps.is_empty() {
                return Err(err("steps", "must not be empty"));
            }
            for (i, p) in steps.iter().enumerate() {
                if !(1..=100).contains(p) || (i > 0 && *p <= steps[i - 1]) {
                    return Err(err(
                        format!("steps[{i}]"),
                        format!("{p}: steps must be strictly increasing percentages in 1..100"),
                    ));
                }
            }
            if *steps.last().unwrap_or(&0) != 100 {
                return Err(err("steps", "the last step must be 100 (promotion)"));
            }
        }
        for (name, v) in [
            ("successThreshold", self.success_threshold),
            ("marginalThreshold", self.marginal_threshold),
            ("maxErrorRate", self.max_error_rate),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(err(name, format!("{v} is not in 0..1")));
            }
        }
        if self.marginal_threshold > self.success_threshold {
            return Err(err("marginalThreshold", "must not exceed successThreshold"));
        }
        if !(self.baseline_tolerance >= 0.0 && self.baseline_tolerance.is_finite()) {
            return Err(err("baselineTolerance", "must be zero or more"));
        }
        if self.failed_check_limit == 0 {
            return Err(err("failedCheckLimit", "must be at least 1"));
        }
        for (i, m) in self.metrics.iter().enumerate() {
            if !BUILTIN_METRICS.contains(&m.as_str()) {
                return Err(err(
                    format!("metrics[{i}]"),
                    format!("unknown metric \"{m}\" (built-in: error_rate, response_time, throughput, data_consistency; others go in customMetrics)"),
                ));
            }
        }
        for (name, w) in [
            ("weights.error_rate", self.weights.error_rate),
            ("weights.response_time", self.weights.response_time),
            ("weights.throughput", self.weights.throughput),
            ("weights.data_consistency", self.weights.data_consistency),
        ] {
            if !(w >= 0.0 && w.is_finite()) {
                return Err(err(name, "a weight must be zero or more"));
            }
        }
        let mut seen: Vec<&str> = vec![];
        for (i, c) in self.custom_metrics.iter().enumerate() {
            let at = |f: &str| format!("customMetrics[{i}].{f}");
            if c.name.is_empty() || BUILTIN_METRICS.contains(&c.name.as_str()) || seen.contains(&c.name.as_str()) {
                return Err(err(at("name"), format!("\"{}\" is empty, built-in or repeated", c.name)));
            }
            seen.push(&c.name);
            if c.query.trim().is_empty() {
                return Err(err(at("query"), "must be a SQL query returning one number"));
            }
            if !(c.weight >= 0.0 && c.weight.is_finite()) {
                return Err(err(at("weight"), "a weight must be zero or more"));
            }
            if c.min.is_none() && c.max.is_none() {
                return Err(err(at("min"), "give min, max or both: the range a good value lies in"));
            }
        }
        if self.key_column.as_deref() == Some("") {
            return Err(err("keyColumn", "must name a column"));
        }
        if self.consistency_sample == 0 || self.consistency_sample > 100_000 {
            return Err(err("consistencySample", format!("{} is not in 1..100000", self.consistency_sample)));
        }
        if let Some(s) = &self.salt {
            if s.is_empty() {
                return Err(err("salt", "must not be empty"));
            }
        }
        Ok(())
    }
}

/// Name the field at fault inside `weights` and `customMetrics[i]`.
fn nested_error(key: &str, v: &Value) -> Option<OptionError> {
    let check = |at: String, obj: &Map<String, Value>, fields: &[(&str, &str)], required: &[&str]| -> Option<OptionError> {
        for (k, v) in obj {
            let Some((_, kind)) = fields.iter().find(|(f, _)| f == k) else {
                return Some(err(format!("{at}.{k}"), "unknown option"));
            };
            let ok = match *kind {
                "string" => v.is_string(),
                "number" => v.is_number(),
                "number?" => v.is_number() || v.is_null(),
                _ => v.is_boolean(),
            };
            if !ok {
                return Some(err(format!("{at}.{k}"), format!("expected a {}, got {v}", kind.trim_end_matches('?'))));
            }
        }
        required.iter().find(|r| !obj.contains_key(**r)).map(|r| err(format!("{at}.{r}"), "missing"))
    };
    match (key, v) {
        ("weights", Value::Object(o)) => check(
            "weights".into(),
            o,
            &[
                ("error_rate", "number"),
                ("response_time", "number"),
                ("throughput", "number"),
                ("data_consistency", "number"),
            ],
            &[],
        ),
        ("customMetrics", Value::Array(a)) => a.iter().enumerate().find_map(|(i, m)| match m {
            Value::Object(o) => check(
                format!("customMetrics[{i}]"),
                o,
                &[
                    ("name", "string"),
                    ("query", "string"),
                    ("weight", "number"),
                    ("min", "number?"),
                    ("max", "number?"),
                    ("critical", "boolean"),
                ],
                &["name", "query"],
            ),
            _ => Some(err(
                format!("customMetrics[{i}]"),
                "expected an object {name, query, weight, min, max, critical}",
            )),
        }),
        _ => None,
    }
}

/// serde_json appends " at line L column C" (the option name is more useful) and names
/// Rust types; say what a user would.
fn strip_position(msg: &str) -> String {
    let msg = match msg.rfind(" at line ") {
        Some(i) => &msg[..i],
        None => msg,
    };
    msg.replace("expected u32", "expected a whole number")
        .replace("expected u64", "expected a whole number")
        .replace("expected f64", "expected a number")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults() {
        let o = CanaryOptions::parse(&json!({})).unwrap();
        assert_eq!(o.step_list(), vec![10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
        assert_eq!(o.interval, Seconds(30.0));
        assert!(o.rollback_on_failure);
        assert_eq!(o.weights, Weights::default());
    }

    #[test]
    fn steps_and_durations() {
        let o = CanaryOptions::parse(&json!({"step": 30, "interval": "2min", "maxDuration": 90})).unwrap();
        assert_eq!(o.step_list(), vec![30, 60, 90, 100]);
        assert_eq!(o.interval, Seconds(120.0));
        assert_eq!(o.max_duration, Seconds(90.0));
        let o = CanaryOptions::parse(&json!({"steps": [1, 5, 25, 100], "progressDeadline": "500ms"})).unwrap();
        assert_eq!(o.step_list(), vec![1, 5, 25, 100]);
        assert_eq!(o.progress_deadline, Seconds(0.5));
    }

    fn fails(v: Value) -> OptionError {
        CanaryOptions::parse(&v).unwrap_err()
    }

    #[test]
    fn unknown_and_mistyped_options_are_named() {
        assert_eq!(fails(json!({"stepp": 10})).option, "stepp");
        assert_eq!(fails(json!({"step": "ten"})).option, "step");
        assert_eq!(fails(json!({"step": "ten"})).problem, "invalid type: string \"ten\", expected a whole number");
        assert_eq!(fails(json!({"rollbackOnFailure": "yes"})).option, "rollbackOnFailure");
        assert_eq!(fails(json!({"interval": "3 fortnights"})).option, "interval");
        assert_eq!(fails(json!({"interval": -1})).option, "interval");
        assert_eq!(fails(json!({"weights": {"latency": 1}})).option, "weights.latency");
        assert_eq!(fails(json!({"steps": [10, 5, 100]})).option, "steps[1]");
        assert_eq!(fails(json!({"steps": [10, 50]})).option, "steps");
        assert_eq!(fails(json!({"step": 0})).option, "step");
        assert_eq!(fails(json!({"successThreshold": 2})).option, "successThreshold");
        assert_eq!(fails(json!({"metrics": ["latency"]})).option, "metrics[0]");
        assert_eq!(
            fails(json!({"customMetrics": [{"name": "x", "query": "select 1"}]})).option,
            "customMetrics[0].min"
        );
        assert_eq!(
            fails(json!({"customMetrics": [{"name": "x", "query": "select 1", "max": 1, "foo": 1}]})).option,
            "customMetrics[0].foo"
        );
        assert_eq!(
            fails(json!({"customMetrics": [{"name": "x", "query": "select 1", "max": "a"}]})).option,
            "customMetrics[0].max"
        );
        assert_eq!(fails(json!({"customMetrics": [{"name": "x", "max": 1}]})).option, "customMetrics[0].query");
        assert_eq!(fails(json!([1])).option, "$");
    }
}
