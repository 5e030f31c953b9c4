//! Canary judgement: the design sketch's scoring kept exactly, plus what Flagger, Argo
//! Rollouts and Kayenta add (baseline comparison over the same window, minimum samples ->
//! INCONCLUSIVE, critical metrics, marginal threshold, failed-check limit, progress
//! deadline). Pure: the pg layer gathers the observation, this decides.

use serde::{Deserialize, Serialize};

use super::options::CanaryOptions;

/// What one side (canary or baseline) reported in the current window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Side {
    pub requests: u64,
    pub errors: u64,
    pub duration_ms_sum: f64,
}

/// Everything measured for one evaluation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Observation {
    pub percentage: u32,
    pub canary: Side,
    pub baseline: Side,
    /// Share of sampled canary keys whose rows agree between the colors; None: not measured.
    pub data_consistency: Option<f64>,
    /// Sampled keys behind data_consistency.
    pub consistency_keys: u64,
    /// Value of each custom metric (None: the query returned no number).
    pub custom: Vec<(String, Option<f64>)>,
}

/// The sketch's evaluators, kept exactly.
pub fn sketch_score(metric: &str, value: f64) -> Option<f64> {
    Some(match metric {
        "error_rate" => {
            if value < 0.01 {
                1.0
            } else if value < 0.05 {
                0.7
            } else {
                0.0
            }
        }
        "response_time" => {
            if value < 100.0 {
                1.0
            } else if value < 500.0 {
                0.8
            } else if value < 1000.0 {
                0.5
            } else {
                0.0
            }
        }
        "throughput" => {
            if value > 0.95 {
                1.0
            } else if value > 0.8 {
                0.8
            } else {
                0.0
            }
        }
        "data_consistency" => {
            if value > 0.99 {
                1.0
            } else {
                0.0
            }
        }
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    Pass,
    Marginal,
    Fail,
    Inconclusive,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricResult {
    pub name: String,
    pub value: f64,
    pub baseline: Option<f64>,
    pub score: f64,
    pub weight: f64,
    pub critical: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub verdict: Verdict,
    pub score: Option<f64>,
    pub metrics: Vec<MetricResult>,
    pub reasons: Vec<String>,
}

fn rate(s: &Side) -> f64 {
    if s.requests == 0 {
        0.0
    } else {
        s.errors as f64 / s.requests as f64
    }
}

fn mean(s: &Side) -> f64 {
    if s.requests == 0 {
        0.0
    } else {
        s.duration_ms_sum / s.requests as f64
    }
}

/// Judge one window.
pub fn evaluate(o: &CanaryOptions, obs: &Observation) -> Evaluation {
    let mut reasons = vec![];
    let mut metrics = vec![];
    if obs.canary.requests < o.min_samples {
        reasons.push(format!("{} canary samples of the {} required", obs.canary.requests, o.min_samples));
        return Evaluation {
            verdict: Verdict::Inconclusive,
            score: None,
            metrics,
            reasons,
        };
    }
    let baseline_ok = obs.baseline.requests >= o.min_samples;
    let mut critical_failed = false;
    let mut missing = false;
    let tol = o.baseline_tolerance;
    for m in &o.metrics {
        let (weight, value, baseline, slack) = match m.as_str() {
            "error_rate" => (o.weights.error_rate, rate(&obs.canary), baseline_ok.then(|| rate(&obs.baseline)), 0.005),
            "response_time" => (o.weights.response_time, mean(&obs.canary), baseline_ok.then(|| mean(&obs.baseline)), 5.0),
            "throughput" => {
                // Canary versus baseline requests per routed key (shares of the key space).
                let p = f64::from(obs.percentage.min(100));
                if p <= 0.0 || p >= 100.0 || obs.baseline.requests == 0 {
                    reasons.push("throughput not judged: no baseline side at this percentage".into());
                    continue;
                }
                let c = obs.canary.requests as f64 / p;
                let b = obs.baseline.requests as f64 / (100.0 - p);
                (o.weights.throughput, c / b, None, 0.0)
            }
            "data_consistency" => match obs.data_consistency {
                Some(v) => (o.weights.data_consistency, v, None, 0.0),
                None => {
                    reasons.push("data_consistency not measured (no canary keys sampled)".into());
                    continue;
                }
            },
            _ => continue,
        };
        let mut score = sketch_score(m, value).unwrap_or(0.0);
        let mut note = None;
        // Kayenta: the canary against the baseline over the same window.
        if let Some(b) = baseline {
            if value > b * (1.0 + tol) + slack && score > 0.0 {
                score = 0.0;
                note = Some(format!("worse than baseline ({value:.4} vs {b:.4})"));
            }
        }
        let mut critical = false;
        if m == "error_rate" && value > o.max_error_rate {
            critical = true;
            reasons.push(format!("critical: error_rate {value:.4} above maxErrorRate {}", o.max_error_rate));
        }
        if m == "data_consistency" && score == 0.0 {
            critical = true;
            reasons.push(format!("critical: data_consistency {value:.4} is not above 0.99"));
        }
        critical_failed |= critical;
        metrics.push(MetricResult {
            name: m.clone(),
            value,
            baseline,
            score,
            weight,
            critical,
            note,
        });
    }
    for c in &o.custom_metrics {
        let value = obs.custom.iter().find(|(n, _)| *n == c.name).and_then(|(_, v)| *v);
        let Some(value) = value else {
            reasons.push(format!("custom metric {} returned no number", c.name));
            missing = true;
            continue;
        };
        let inside = c.min.is_none_or(|lo| value >= lo) && c.max.is_none_or(|hi| value <= hi);
        let score = if inside { 1.0 } else { 0.0 };
        let critical = c.critical && !inside;
        if critical {
            reasons.push(format!("critical: custom metric {} = {value} outside its range", c.name));
        }
        critical_failed |= critical;
        metrics.push(MetricResult {
            name: c.name.clone(),
            value,
            baseline: None,
            score,
            weight: c.weight,
            critical,
            note: None,
        });
    }
    let (total, weights) = metrics.iter().fold((0.0, 0.0), |(t, w), m| (t + m.score * m.weight, w + m.weight));
    let score = if weights > 0.0 { total / weights } else { 0.0 };
    let verdict = if critical_failed {
        Verdict::Fail
    } else if missing {
        Verdict::Inconclusive
    } else if weights == 0.0 {
        reasons.push("no metric could be judged".into());
        Verdict::Inconclusive
    } else if score >= o.success_threshold {
        Verdict::Pass
    } else if score <= o.marginal_threshold {
        reasons.push(format!("score {score:.4} at or below marginalThreshold {}", o.marginal_threshold));
        Verdict::Fail
    } else {
        reasons.push(format!("score {score:.4} below successThreshold {}", o.success_threshold));
        Verdict::Marginal
    };
    Evaluation {
        verdict,
        score: Some(score),
        metrics,
        reasons,
    }
}

/// Where the canary stands in time, from the database's clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Progress {
    /// Seconds since the current check window opened.
    pub window_age: f64,
    /// Seconds since the current step began (progress deadline).
    pub step_age: f64,
    /// Seconds left before maxDuration (negative: past it).
    pub remaining: f64,
    pub failed_checks: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Go to `percentage` (a new step and window).
    StepUp,
    /// Last step passed: promote (the blue-green switch).
    Promote,
    /// Stay; `new_window` restarts the check window (after a failed check).
    Hold,
    Rollback,
    Pause,
    /// Past maxDuration: TIMED_OUT (rolled back when rollbackOnFailure).
    TimeOut,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub action: Action,
    pub percentage: u32,
    pub failed_checks: u32,
    pub new_window: bool,
    pub reason: String,
}

/// One tick's decision from the evaluation and the clock.
pub fn decide(o: &CanaryOptions, current: u32, ev: &Evaluation, p: &Progress) -> Decision {
    let d = |action, percentage, failed_checks, new_window, reason: String| Decision {
        action,
        percentage,
        failed_checks,
        new_window,
        reason,
    };
    let fail = |reason: String, checks| {
        if o.rollback_on_failure {
            d(Action::Rollback, 0, checks, false, reason)
        } else {
            d(Action::Pause, current, checks, false, reason)
        }
    };
    if p.remaining < 0.0 {
        let pct = if o.rollback_on_failure { 0 } else { current };
        return d(Action::TimeOut, pct, p.failed_checks, false, "maxDuration exceeded".into());
    }
    let why = ev.reasons.join("; ");
    match ev.verdict {
        Verdict::Fail => fail(if why.is_empty() { "canary failed".into() } else { why }, p.failed_checks + 1),
        Verdict::Inconclusive => {
            if p.step_age >= o.progress_deadline.0 && p.window_age >= o.interval.0 {
                fail(
                    format!("progress deadline: no verdict after {:.0} s at {current}% ({why})", p.step_age),
                    p.failed_checks,
                )
            } else {
                d(Action::Hold, current, p.failed_checks, false, format!("inconclusive: {why}"))
            }
        }
        _ if p.window_age < o.interval.0 => d(
            Action::Hold,
            current,
            p.failed_checks,
            false,
            format!("interval: {:.0} of {} s", p.window_age, o.interval.0),
        ),
        Verdict::Marginal => {
            let checks = p.failed_checks + 1;
            if checks >= o.failed_check_limit {
                fail(
                    format!("{checks} failed checks reach failedCheckLimit {} ({why})", o.failed_check_limit),
                    checks,
                )
            } else {
                d(
                    Action::Hold,
                    current,
                    checks,
                    true,
                    format!("failed check {checks} of {}: {why}", o.failed_check_limit),
                )
            }
        }
        Verdict::Pass => match o.step_list().into_iter().find(|s| *s > current) {
            _ if current >= 100 => d(Action::Promote, 100, p.failed_checks, false, "passed at 100%".into()),
            Some(next) => d(Action::StepUp, next, p.failed_checks, true, format!("passed at {current}%")),
            None => d(Action::Promote, 100, p.failed_checks, false, format!("passed at {current}%")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn opts(v: serde_json::Value) -> CanaryOptions {
        CanaryOptions::parse(&v).unwrap()
    }

    fn side(requests: u64, errors: u64, ms: f64) -> Side {
        Side {
            requests,
            errors,
            duration_ms_sum: ms * requests as f64,
        }
    }

    #[test]
    fn sketch_scoring_exact() {
        assert_eq!(sketch_score("error_rate", 0.0099), Some(1.0));
        assert_eq!(sketch_score("error_rate", 0.01), Some(0.7));
        assert_eq!(sketch_score("error_rate", 0.05), Some(0.0));
        assert_eq!(sketch_score("response_time", 99.9), Some(1.0));
        assert_eq!(sketch_score("response_time", 100.0), Some(0.8));
        assert_eq!(sketch_score("response_time", 500.0), Some(0.5));
        assert_eq!(sketch_score("response_time", 1000.0), Some(0.0));
        assert_eq!(sketch_score("throughput", 0.95), Some(0.8));
        assert_eq!(sketch_score("throughput", 0.951), Some(1.0));
        assert_eq!(sketch_score("throughput", 0.8), Some(0.0));
        assert_eq!(sketch_score("data_consistency", 0.99), Some(0.0));
        assert_eq!(sketch_score("data_consistency", 0.991), Some(1.0));
    }

    #[test]
    fn weighted_score_like_the_sketch() {
        // error 2% (0.7*0.4), 200 ms (0.8*0.3), throughput 1 (1*0.2), consistency 1 (0.1): 0.82
        let o = opts(json!({"baselineTolerance": 100}));
        let obs = Observation {
            percentage: 50,
            canary: side(100, 2, 200.0),
            baseline: side(100, 2, 200.0),
            data_consistency: Some(1.0),
            ..Default::default()
        };
        let ev = evaluate(&o, &obs);
        assert!((ev.score.unwrap() - 0.82).abs() < 1e-9, "{ev:?}");
        assert_eq!(ev.verdict, Verdict::Marginal);
        // Only metrics present count (weightSum of the present ones).
        let o = opts(json!({"metrics": ["response_time"]}));
        let ev = evaluate(&o, &obs);
        assert!((ev.score.unwrap() - 0.8).abs() < 1e-9);
    }

    #[test]
    fn too_few_samples_is_inconclusive_and_holds() {
        let o = opts(json!({"minSamples": 100, "interval": 0}));
        let obs = Observation {
            percentage: 10,
            canary: side(99, 0, 1.0),
            baseline: side(900, 0, 1.0),
            ..Default::default()
        };
        let ev = evaluate(&o, &obs);
        assert_eq!(ev.verdict, Verdict::Inconclusive);
        let dec = decide(
            &o,
            10,
            &ev,
            &Progress {
                remaining: 100.0,
                step_age: 1.0,
                ..Default::default()
            },
        );
        assert_eq!(dec.action, Action::Hold);
        // ... until the progress deadline.
        let dec = decide(
            &o,
            10,
            &ev,
            &Progress {
                remaining: 100.0,
                step_age: 601.0,
                window_age: 601.0,
                ..Default::default()
            },
        );
        assert_eq!(dec.action, Action::Rollback);
        assert!(dec.reason.contains("progress deadline"));
    }

    #[test]
    fn critical_metric_fails_a_high_score() {
        // Error rate 6% scores 0 on 0.4 weight: 0.6 — with consistency critical too.
        let o = opts(json!({"metrics": ["response_time", "throughput", "data_consistency"], "marginalThreshold": 0.0, "successThreshold": 0.5}));
        let obs = Observation {
            percentage: 50,
            canary: side(100, 0, 10.0),
            baseline: side(100, 0, 10.0),
            data_consistency: Some(0.9),
            ..Default::default()
        };
        let ev = evaluate(&o, &obs);
        // score = (0.3 + 0.2 + 0) / 0.6 = 0.833 >= 0.5, yet data consistency fails it
        assert!(ev.score.unwrap() > 0.8);
        assert_eq!(ev.verdict, Verdict::Fail);
        let o = opts(
            json!({"maxErrorRate": 0.02, "metrics": ["error_rate", "response_time"], "weights": {"error_rate": 0.01}, "successThreshold": 0.5, "marginalThreshold": 0.1}),
        );
        let obs = Observation {
            percentage: 50,
            canary: side(100, 3, 10.0),
            baseline: side(100, 3, 10.0),
            ..Default::default()
        };
        let ev = evaluate(&o, &obs);
        assert!(ev.score.unwrap() > 0.9);
        assert_eq!(ev.verdict, Verdict::Fail);
    }

    #[test]
    fn baseline_comparison() {
        let o = opts(json!({"metrics": ["response_time"]}));
        // 90 ms scores 1 on its own, but the baseline does 20 ms.
        let obs = Observation {
            percentage: 50,
            canary: side(100, 0, 90.0),
            baseline: side(100, 0, 20.0),
            ..Default::default()
        };
        let ev = evaluate(&o, &obs);
        assert_eq!(ev.metrics[0].score, 0.0);
        assert_eq!(ev.verdict, Verdict::Fail);
        // Baseline with too few samples: no comparison.
        let obs = Observation {
            baseline: side(10, 0, 20.0),
            ..obs
        };
        assert_eq!(evaluate(&o, &obs).verdict, Verdict::Pass);
    }

    #[test]
    fn throughput_is_per_routed_key() {
        let o = opts(json!({"metrics": ["throughput"]}));
        // 20% of keys, 200 requests; 80% of keys, 800 requests: ratio 1.
        let obs = Observation {
            percentage: 20,
            canary: side(200, 0, 1.0),
            baseline: side(800, 0, 1.0),
            ..Default::default()
        };
        let ev = evaluate(&o, &obs);
        assert!((ev.metrics[0].value - 1.0).abs() < 1e-9);
        let obs = Observation {
            canary: side(100, 0, 1.0),
            ..obs
        };
        assert_eq!(evaluate(&o, &obs).metrics[0].score, 0.0);
    }

    #[test]
    fn steps_promote_and_fail() {
        let o = opts(json!({"interval": 30, "steps": [5, 50, 100]}));
        let pass = Evaluation {
            verdict: Verdict::Pass,
            score: Some(1.0),
            metrics: vec![],
            reasons: vec![],
        };
        let p = Progress {
            window_age: 31.0,
            step_age: 31.0,
            remaining: 10.0,
            failed_checks: 0,
        };
        assert_eq!(decide(&o, 5, &pass, &p).percentage, 50);
        assert_eq!(decide(&o, 50, &pass, &p).percentage, 100);
        assert_eq!(decide(&o, 100, &pass, &p).action, Action::Promote);
        // Manual percentage between steps: the next step above it.
        assert_eq!(decide(&o, 7, &pass, &p).percentage, 50);
        // The interval holds a pass...
        let early = Progress { window_age: 5.0, ..p };
        assert_eq!(decide(&o, 5, &pass, &early).action, Action::Hold);
        // ...but not a failure.
        let failed = Evaluation {
            verdict: Verdict::Fail,
            ..pass.clone()
        };
        assert_eq!(decide(&o, 5, &failed, &early).action, Action::Rollback);
        let o2 = opts(json!({"rollbackOnFailure": false}));
        let dec = decide(&o2, 5, &failed, &early);
        assert_eq!((dec.action, dec.percentage), (Action::Pause, 5));
        // Timeout first.
        let late = Progress { remaining: -1.0, ..p };
        assert_eq!(decide(&o, 50, &pass, &late).action, Action::TimeOut);
        assert_eq!(decide(&o, 50, &pass, &late).percentage, 0);
        assert_eq!(decide(&o2, 50, &pass, &late).percentage, 50);
    }

    #[test]
    fn failed_checks_add_up() {
        let o = opts(json!({"interval": 0, "failedCheckLimit": 2}));
        let marginal = Evaluation {
            verdict: Verdict::Marginal,
            score: Some(0.8),
            metrics: vec![],
            reasons: vec![],
        };
        let p = Progress {
            remaining: 10.0,
            ..Default::default()
        };
        let d1 = decide(&o, 10, &marginal, &p);
        assert_eq!((d1.action, d1.failed_checks, d1.new_window), (Action::Hold, 1, true));
        let d2 = decide(&o, 10, &marginal, &Progress { failed_checks: 1, ..p });
        assert_eq!(d2.action, Action::Rollback);
    }
}
