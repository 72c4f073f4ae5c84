//! Tool-call validity over HTTP. Each case is a clinical request with the calculator a
//! clinician would use; the request offers that tool and three others from the built-in
//! catalogue (rotating, as OpenAI function tools, so any server can be asked) with
//! `tool_choice: "required"`, greedy. A call is *valid* when the first call names the
//! expected tool and its arguments are JSON that passes the tool's JSON Schema; *accepted*
//! when the calculator also runs on them (ranges and units checked).

use serde::Deserialize;
use serde_json::{json, Value};

use super::Ctx;
use crate::eval::run::client::ms;
use crate::eval::run::report::SuiteReport;
use crate::eval::run::stats::{Better, Figure};

/// Other tools offered beside the expected one.
const DISTRACTORS: usize = 3;

#[derive(Debug, Clone, Deserialize)]
struct Case {
    tool: String,
    message: String,
}

#[derive(Default, Clone, Copy)]
struct Outcome {
    called: bool,
    right_tool: bool,
    schema_valid: bool,
    accepted: bool,
}

/// The expected tool and `DISTRACTORS` others, as OpenAI function tools.
fn offered(expected: &str, index: usize) -> anyhow::Result<Vec<Value>> {
    let all = medserve_tools::catalogue();
    let at = all
        .iter()
        .position(|d| d.name == expected)
        .ok_or_else(|| anyhow::anyhow!("no built-in tool named {expected:?}"))?;
    let others: Vec<usize> = (0..all.len()).filter(|&i| i != at).collect();
    let mut keep: Vec<usize> = (0..DISTRACTORS)
        .map(|k| others[(index * DISTRACTORS + k) % others.len()])
        .collect();
    keep.push(at);
    keep.sort_unstable();
    Ok(keep.into_iter().map(|i| all[i].to_openai()).collect())
}

fn judge(expected: &str, body: &Value) -> Outcome {
    let call = &body["choices"][0]["message"]["tool_calls"][0]["function"];
    let Some(name) = call["name"].as_str() else {
        return Outcome::default();
    };
    let mut o = Outcome {
        called: true,
        right_tool: name == expected,
        ..Outcome::default()
    };
    let Some(def) = medserve_tools::catalogue()
        .into_iter()
        .find(|d| d.name == name)
    else {
        return o;
    };
    let Ok(args) = serde_json::from_str::<Value>(call["arguments"].as_str().unwrap_or("")) else {
        return o;
    };
    o.schema_valid = jsonschema::validator_for(&def.parameters)
        .map(|v| v.is_valid(&args))
        .unwrap_or(false);
    o.accepted = o.schema_valid && medserve_tools::call(name, &args).is_ok();
    o
}

/// Runs the suite.
pub async fn run(ctx: &Ctx) -> anyhow::Result<SuiteReport> {
    let mut r = SuiteReport::ran("tools");
    let mut cases: Vec<Case> = Vec::new();
    for spec in ctx.sets.of("tools") {
        let (rows, used) = ctx.sets.load::<Case>(&spec.name, ctx.limit, ctx.seed)?;
        cases.extend(rows);
        r.sets.push(used);
    }
    let mut requests = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let mut body = ctx.chat(None, &c.message, 256);
        body["tools"] = json!(offered(&c.tool, i)?);
        body["tool_choice"] = json!("required");
        requests.push((c.tool.clone(), body));
    }
    let answers = ctx
        .client
        .each("tools", requests, |(tool, body)| async move {
            ctx.complete(&body)
                .await
                .map(|a| (judge(&tool, &a.body), ms(a.elapsed)))
        })
        .await;
    r.requests = answers.len();
    let outcomes: Vec<(Outcome, f64)> = answers.into_iter().flatten().collect();
    r.errors = r.requests - outcomes.len();
    let n = outcomes.len();
    let count = |f: fn(&Outcome) -> bool| outcomes.iter().filter(|(o, _)| f(o)).count();
    let valid = count(|o| o.right_tool && o.schema_valid);
    let fig = |id: &str, label: &str, k: usize, b: Better| {
        Figure::proportion(&format!("tools.{id}"), label, "tool calls", k, n, b)
    };
    r.figures.push(fig(
        "valid",
        "right tool, schema-valid arguments",
        valid,
        Better::Higher,
    ));
    r.figures.push(fig(
        "accepted",
        "right tool, calculator accepted the arguments",
        count(|o| o.right_tool && o.accepted),
        Better::Higher,
    ));
    r.figures.push(fig(
        "schema_valid",
        "some tool, schema-valid arguments",
        count(|o| o.schema_valid),
        Better::Higher,
    ));
    r.figures.push(fig(
        "right_tool",
        "first call names the expected tool",
        count(|o| o.right_tool),
        Better::Higher,
    ));
    r.figures.push(fig(
        "no_call",
        "no tool call",
        count(|o| !o.called),
        Better::Lower,
    ));
    let times: Vec<f64> = outcomes.iter().map(|(_, t)| *t).collect();
    r.figures.push(Figure::percentile(
        "tools.request_ms.p50",
        "request time p50",
        "request time",
        &times,
        0.5,
        "ms",
        Better::Lower,
    ));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_the_expected_tool_among_others_and_judges_calls() {
        let tools = offered("bmi", 2).unwrap();
        assert_eq!(tools.len(), DISTRACTORS + 1);
        assert!(tools.iter().any(|t| t["function"]["name"] == "bmi"));
        let call = |name: &str, args: &str| json!({"choices": [{"message": {"tool_calls": [{"function": {"name": name, "arguments": args}}]}}]});
        let good = judge(
            "bmi",
            &call("bmi", r#"{"weight_kg": 70, "height_cm": 175}"#),
        );
        assert!(good.right_tool && good.schema_valid && good.accepted);
        let wrong = judge(
            "bmi",
            &call("gcs", r#"{"eye": 4, "verbal": 5, "motor": 6}"#),
        );
        assert!(!wrong.right_tool);
        let broken = judge("bmi", &call("bmi", "{weight"));
        assert!(broken.right_tool && !broken.schema_valid);
        assert!(!judge("bmi", &json!({"choices": [{"message": {"content": "hi"}}]})).called);
    }
}
