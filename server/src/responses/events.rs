//! A chat answer's SSE stream as Responses streaming events: `response.created`,
//! `response.in_progress`, then for the text `response.output_item.added`,
//! `response.content_part.added`, `response.output_text.delta`… `response.output_text.done`,
//! `response.content_part.done`, `response.output_item.done`; for each function call
//! `response.output_item.added`, `response.function_call_arguments.delta`, `.done`,
//! `response.output_item.done`; last `response.completed` (or `response.incomplete`), with
//! the stored response when it is kept. A failure is an `error` event then
//! `response.failed`. Every event has its `sequence_number`; there is no `[DONE]`.

use std::convert::Infallible;

use axum::response::sse::Event as SseEvent;
use axum::response::Response;
use futures::StreamExt;
use serde_json::{json, Value};

use super::shape::{self, Built, Ctx};
use super::{finish, Keep};
use crate::app::AppState;
use crate::openai::sse::DataLines as Lines;

/// The text item while it is open.
struct OpenText {
    id: String,
    index: usize,
    text: String,
    logprobs: Vec<Value>,
}

/// A function call being streamed.
struct OpenCall {
    id: String,
    index: usize,
    call_id: String,
    name: String,
    arguments: String,
}

/// The adapter's state: the events so far and the items being built.
struct Adapter {
    seq: u64,
    out: Vec<SseEvent>,
    output: Vec<Value>,
    text: Option<OpenText>,
    calls: Vec<OpenCall>,
    logprobs: bool,
}

impl Adapter {
    fn emit(&mut self, kind: &str, mut v: Value) {
        v["type"] = json!(kind);
        v["sequence_number"] = json!(self.seq);
        self.seq += 1;
        self.out
            .push(SseEvent::default().event(kind).data(v.to_string()));
    }

    fn text_delta(&mut self, delta: &str, logprobs: Vec<Value>) {
        if self.text.is_none() {
            let t = OpenText {
                id: shape::item_id("msg"),
                index: self.output.len() + self.calls.len(),
                text: String::new(),
                logprobs: Vec::new(),
            };
            self.emit(
                "response.output_item.added",
                json!({"output_index": t.index,
                "item": shape::message_item(&t.id, "in_progress", Vec::new())}),
            );
            self.emit(
                "response.content_part.added",
                json!({"item_id": t.id, "output_index": t.index,
                "content_index": 0, "part": shape::text_part("", Vec::new(), Vec::new())}),
            );
            self.text = Some(t);
        }
        let (id, index) = match self.text.as_mut() {
            Some(t) => {
                t.text.push_str(delta);
                t.logprobs.extend(logprobs.iter().cloned());
                (t.id.clone(), t.index)
            }
            None => return,
        };
        let lp = if self.logprobs { logprobs } else { Vec::new() };
        self.emit(
            "response.output_text.delta",
            json!({"item_id": id, "output_index": index,
            "content_index": 0, "delta": delta, "logprobs": lp}),
        );
    }

    fn close_text(&mut self, annotations: Vec<Value>) {
        let Some(t) = self.text.take() else { return };
        let lp = if self.logprobs {
            t.logprobs
        } else {
            Vec::new()
        };
        let part = shape::text_part(&t.text, annotations, lp.clone());
        self.emit(
            "response.output_text.done",
            json!({"item_id": t.id, "output_index": t.index,
            "content_index": 0, "text": t.text, "logprobs": lp}),
        );
        self.emit(
            "response.content_part.done",
            json!({"item_id": t.id, "output_index": t.index,
            "content_index": 0, "part": part}),
        );
        let item = shape::message_item(&t.id, "completed", vec![part]);
        self.emit(
            "response.output_item.done",
            json!({"output_index": t.index, "item": item}),
        );
        self.output.push(item);
    }

    /// A chat tool-call fragment: the first of a call names it, the next carries arguments.
    fn call_fragment(&mut self, f: &Value) {
        let i = f["index"].as_u64().unwrap_or(0) as usize;
        if let Some(name) = f["function"]["name"].as_str() {
            self.close_text(Vec::new());
            let c = OpenCall {
                id: shape::item_id("fc"),
                index: self.output.len() + self.calls.len(),
                call_id: f["id"].as_str().unwrap_or("").to_string(),
                name: name.to_string(),
                arguments: String::new(),
            };
            self.emit(
                "response.output_item.added",
                json!({"output_index": c.index,
                "item": shape::call_item(&c.id, &c.call_id, &c.name, "", "in_progress")}),
            );
            self.calls.push(c);
        }
        let args = f["function"]["arguments"].as_str().unwrap_or("");
        if args.is_empty() {
            return;
        }
        if let Some(c) = self.calls.get_mut(i) {
            c.arguments.push_str(args);
            let (id, index) = (c.id.clone(), c.index);
            self.emit(
                "response.function_call_arguments.delta",
                json!({"item_id": id, "output_index": index, "delta": args}),
            );
        }
    }

    fn close_calls(&mut self) {
        for c in std::mem::take(&mut self.calls) {
            self.emit(
                "response.function_call_arguments.done",
                json!({"item_id": c.id,
                "output_index": c.index, "arguments": c.arguments}),
            );
            let item = shape::call_item(&c.id, &c.call_id, &c.name, &c.arguments, "completed");
            self.emit(
                "response.output_item.done",
                json!({"output_index": c.index, "item": item}),
            );
            self.output.push(item);
        }
    }
}

/// The chat answer `answer` (an SSE response) as a Responses event stream.
pub(super) fn stream(state: AppState, answer: Response, ctx: Ctx, keep: Keep) -> Response {
    let keep_alive = state.settings().keep_alive;
    let body = async_stream::stream! {
        let mut a = Adapter { seq: 0, out: Vec::new(), output: Vec::new(), text: None,
            calls: Vec::new(), logprobs: ctx.logprobs };
        let start = ctx.echo.object("in_progress", Vec::new(), None);
        a.emit("response.created", json!({"response": start}));
        a.emit("response.in_progress", json!({"response": start}));
        for e in a.out.drain(..) {
            yield Ok::<_, Infallible>(e);
        }
        let mut lines = Lines::default();
        let mut chunks = answer.into_body().into_data_stream();
        let mut finish_reason = String::from("stop");
        let mut usage = Value::Null;
        let mut medserve = Value::Null;
        let mut annotations = Vec::new();
        let mut failed: Option<Value> = None;
        'read: while let Some(bytes) = chunks.next().await {
            let Ok(bytes) = bytes else {
                failed = Some(json!({"code": "server_error", "message": "the answer stream broke"}));
                break;
            };
            for data in lines.push(&bytes) {
                if data == "[DONE]" {
                    break 'read;
                }
                let Ok(v) = serde_json::from_str::<Value>(&data) else { continue };
                if let Some(err) = v.get("error") {
                    failed = Some(json!({"code": err["code"], "message": err["message"], "param": err["param"]}));
                    break 'read;
                }
                if v["usage"].is_object() {
                    usage = v["usage"].clone();
                }
                if v.get("medserve").is_some() {
                    medserve = v["medserve"].clone();
                }
                let Some(c) = v["choices"].get(0) else { continue };
                let d = &c["delta"];
                if let Some(t) = d["content"].as_str().filter(|t| !t.is_empty()) {
                    let lp = c["logprobs"]["content"].as_array().cloned().unwrap_or_default();
                    a.text_delta(t, lp);
                }
                for f in d["tool_calls"].as_array().into_iter().flatten() {
                    a.call_fragment(f);
                }
                if let Some(an) = d.get("annotations") {
                    annotations = shape::annotations(an);
                }
                if let Some(r) = c["finish_reason"].as_str() {
                    finish_reason = r.to_string();
                }
            }
            for e in a.out.drain(..) {
                yield Ok(e);
            }
        }
        if let Some(err) = failed {
            a.emit("error", err.clone());
            let mut v = ctx.echo.object("failed", a.output.clone(), None);
            v["error"] = json!({"code": err["code"], "message": err["message"]});
            a.emit("response.failed", json!({"response": v}));
        } else {
            a.close_text(annotations);
            a.close_calls();
            let built = Built { output: a.output.clone(), finish_reason, usage, medserve };
            let v = finish(&state, &ctx, built, keep).await;
            let kind = if v["status"] == "incomplete" { "response.incomplete" } else { "response.completed" };
            a.emit(kind, json!({"response": v}));
        }
        for e in a.out.drain(..) {
            yield Ok(e);
        }
    };
    crate::openai::sse::response(body, keep_alive)
}
