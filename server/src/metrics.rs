//! `GET /metrics`: Prometheus text exposition of what the server did.
//!
//! Counters and histograms live in one registry held by the state; handlers record into it
//! and a middleware counts every request by route and status. Labels are route templates,
//! class names and tool names, never request content.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

/// Upper bounds (seconds) of the latency histograms.
const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, v: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS.len()];
        }
        for (i, b) in BUCKETS.iter().enumerate() {
            if v <= *b {
                self.counts[i] += 1;
            }
        }
        self.sum += v;
        self.count += 1;
    }
}

/// Label set, rendered `{k="v",...}` in key order.
type Labels = Vec<(&'static str, String)>;

#[derive(Debug, Default)]
struct Inner {
    counters: BTreeMap<(&'static str, String), u64>,
    histograms: BTreeMap<&'static str, Histogram>,
}

/// The registry.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

fn render_labels(labels: &Labels) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let mut sorted: Vec<&(&str, String)> = labels.iter().collect();
    sorted.sort_by_key(|(k, _)| *k);
    let parts: Vec<String> = sorted
        .into_iter()
        .map(|(k, v)| {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{k}=\"{v}\"")
        })
        .collect();
    format!("{{{}}}", parts.join(","))
}

/// Help text of each metric family.
const FAMILIES: &[(&str, &str, &str)] = &[
    (
        "medserve_http_requests_total",
        "counter",
        "HTTP requests by route template and status.",
    ),
    (
        "medserve_tokens_total",
        "counter",
        "Tokens processed by the engine, by kind (prompt, completion).",
    ),
    (
        "medserve_guardrail_verdicts_total",
        "counter",
        "Guardrail verdicts by stage, class and action.",
    ),
    (
        "medserve_red_flag_escalations_total",
        "counter",
        "Answers replaced by the fixed emergency text, by category.",
    ),
    (
        "medserve_moderations_total",
        "counter",
        "Texts moderated (/v1/moderations), by flagged and the chat route's decision.",
    ),
    (
        "medserve_tool_calls_total",
        "counter",
        "Tool calls by tool and where they ran (client, server).",
    ),
    (
        "medserve_rejections_total",
        "counter",
        "Requests and connections turned away for capacity or rate limits, by reason.",
    ),
    (
        "medserve_no_vetted_information_total",
        "counter",
        "Verbatim-grounded requests answered with the fixed no-vetted-information text.",
    ),
    (
        "medserve_store_failures_total",
        "counter",
        "Care records (reports, training records) that could not be stored, by record.",
    ),
    (
        "medserve_time_to_first_token_seconds",
        "histogram",
        "Request arrival to the model's first token.",
    ),
    (
        "medserve_inter_token_latency_seconds",
        "histogram",
        "Time a stream waited for the engine's next delta (from the end of the previous \
         delta's delivery: a client that reads slowly does not count against the engine).",
    ),
];

impl Metrics {
    /// Adds `n` to a counter.
    pub fn add(&self, name: &'static str, labels: Labels, n: u64) {
        if n == 0 {
            return;
        }
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        *g.counters
            .entry((name, render_labels(&labels)))
            .or_default() += n;
    }

    /// Adds one to a counter.
    pub fn inc(&self, name: &'static str, labels: Labels) {
        self.add(name, labels, 1);
    }

    /// Records a latency in seconds.
    pub fn observe(&self, name: &'static str, seconds: f64) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.histograms.entry(name).or_default().observe(seconds);
    }

    /// The Prometheus text format (version 0.0.4).
    pub fn render(&self) -> String {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        for (name, kind, help) in FAMILIES {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            if *kind == "counter" {
                for ((n, labels), v) in g.counters.range((*name, String::new())..) {
                    if n != name {
                        break;
                    }
                    let _ = writeln!(out, "{name}{labels} {v}");
                }
            } else {
                let h = g.histograms.get(name).cloned().unwrap_or_default();
                for (i, b) in BUCKETS.iter().enumerate() {
                    let c = h.counts.get(i).copied().unwrap_or(0);
                    let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {c}");
                }
                let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", h.count);
                let _ = writeln!(out, "{name}_sum {}", h.sum);
                let _ = writeln!(out, "{name}_count {}", h.count);
            }
        }
        out
    }
}

/// Per-answer timing recorder: first token and the engine's gaps between deltas.
#[derive(Debug)]
pub struct TokenTimer {
    started: Instant,
    last: Option<Instant>,
}

impl TokenTimer {
    /// Starts at request arrival.
    pub fn new(started: Instant) -> Self {
        Self {
            started,
            last: None,
        }
    }

    /// The previous delta has been delivered: from now on the stream waits for the engine.
    pub fn waiting(&mut self) {
        if self.last.is_some() {
            self.last = Some(Instant::now());
        }
    }

    /// A model delta arrived.
    pub fn delta(&mut self, m: &Metrics) {
        let now = Instant::now();
        match self.last {
            None => m.observe(
                "medserve_time_to_first_token_seconds",
                (now - self.started).as_secs_f64(),
            ),
            Some(prev) => m.observe(
                "medserve_inter_token_latency_seconds",
                (now - prev).as_secs_f64(),
            ),
        }
        self.last = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms_in_prometheus_text() {
        let m = Metrics::default();
        m.inc(
            "medserve_http_requests_total",
            vec![
                ("route", "/v1/chat/completions".into()),
                ("status", "200".into()),
            ],
        );
        m.inc(
            "medserve_http_requests_total",
            vec![
                ("route", "/v1/chat/completions".into()),
                ("status", "200".into()),
            ],
        );
        m.add("medserve_tokens_total", vec![("kind", "prompt".into())], 12);
        m.observe("medserve_time_to_first_token_seconds", 0.07);
        m.observe("medserve_time_to_first_token_seconds", 3.0);
        let text = m.render();
        assert!(
            text.contains(
                "medserve_http_requests_total{route=\"/v1/chat/completions\",status=\"200\"} 2"
            ),
            "{text}"
        );
        assert!(text.contains("medserve_tokens_total{kind=\"prompt\"} 12"));
        assert!(text.contains("medserve_time_to_first_token_seconds_bucket{le=\"0.1\"} 1"));
        assert!(text.contains("medserve_time_to_first_token_seconds_bucket{le=\"5\"} 2"));
        assert!(text.contains("medserve_time_to_first_token_seconds_count 2"));
        assert!(text.contains("# TYPE medserve_inter_token_latency_seconds histogram"));
        // A label value cannot break the format.
        m.inc(
            "medserve_tool_calls_total",
            vec![("tool", "a\"b".into()), ("ran", "client".into())],
        );
        assert!(m.render().contains("ran=\"client\",tool=\"a\\\"b\""));
    }
}
