//! The `response` object and its output items, built from a chat answer.

use serde_json::{json, Value};

use crate::openai::responses::ResponsesRequest;

/// What a response object repeats of its request, with its id and time.
#[derive(Debug, Clone)]
pub struct Echo {
    /// `resp_...`.
    pub id: String,
    created_at: u64,
    model: String,
    instructions: Value,
    tools: Value,
    tool_choice: Value,
    text: Value,
    temperature: Value,
    top_p: Value,
    max_output_tokens: Value,
    parallel_tool_calls: bool,
    previous_response_id: Value,
    metadata: Value,
}

impl Echo {
    /// The request's echoed fields and a new id.
    pub fn of(r: &ResponsesRequest) -> Self {
        Self {
            id: format!("resp_{}", uuid::Uuid::new_v4().simple()),
            created_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            model: r.model.clone(),
            instructions: json!(r.instructions),
            tools: json!(r.tools.clone().unwrap_or_default()),
            tool_choice: r.tool_choice.clone().unwrap_or(json!("auto")),
            text: r
                .text
                .clone()
                .filter(|t| t.get("format").is_some_and(|f| !f.is_null()))
                .unwrap_or(json!({"format": {"type": "text"}})),
            temperature: json!(r.temperature.unwrap_or(1.0)),
            top_p: json!(r.top_p.unwrap_or(1.0)),
            max_output_tokens: json!(r.max_output_tokens),
            parallel_tool_calls: r.parallel_tool_calls.unwrap_or(true),
            previous_response_id: json!(r.previous_response_id),
            metadata: json!(r.metadata.clone().unwrap_or_default()),
        }
    }

    /// The response object with `status`, `output` and (when known) the chat `usage`.
    pub fn object(&self, status: &str, output: Vec<Value>, usage: Option<&Value>) -> Value {
        json!({
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "error": null,
            "incomplete_details": null,
            "instructions": self.instructions,
            "max_output_tokens": self.max_output_tokens,
            "model": self.model,
            "output": output,
            "parallel_tool_calls": self.parallel_tool_calls,
            "previous_response_id": self.previous_response_id,
            "reasoning": {"effort": null, "summary": null},
            "service_tier": "default",
            "store": false,
            "temperature": self.temperature,
            "text": self.text,
            "tool_choice": self.tool_choice,
            "tools": self.tools,
            "top_p": self.top_p,
            "truncation": "disabled",
            "usage": usage.map(usage_of),
            "user": null,
            "metadata": self.metadata,
        })
    }
}

/// What the handler keeps between the request and the answer.
pub struct Ctx {
    /// Echoed request fields.
    pub echo: Echo,
    /// Output text logprobs were asked for.
    pub logprobs: bool,
    /// The chat messages sent (for the stored conversation).
    pub messages: Vec<Value>,
    /// The key asking.
    pub owner: String,
}

/// A finished chat answer, re-shaped.
pub struct Built {
    /// Output items.
    pub output: Vec<Value>,
    /// The chat finish reason.
    pub finish_reason: String,
    /// The chat usage.
    pub usage: Value,
    /// The chat `medserve` object.
    pub medserve: Value,
}

/// Responses usage from chat usage.
fn usage_of(u: &Value) -> Value {
    let input = u["prompt_tokens"].as_u64().unwrap_or(0);
    let output = u["completion_tokens"].as_u64().unwrap_or(0);
    let cached = u["prompt_tokens_details"]["cached_tokens"]
        .as_u64()
        .unwrap_or(0);
    json!({
        "input_tokens": input,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input + output,
    })
}

/// `completed`, or `incomplete` with its reason, from the chat finish reason.
pub fn set_status(v: &mut Value, finish_reason: &str) {
    let reason = match finish_reason {
        "length" => "max_output_tokens",
        "content_filter" => "content_filter",
        _ => return,
    };
    v["status"] = json!("incomplete");
    v["incomplete_details"] = json!({"reason": reason});
}

/// A new item id with `prefix` (`msg`, `fc`).
pub fn item_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// Chat `url_citation` annotations in the Responses shape.
pub fn annotations(chat: &Value) -> Vec<Value> {
    chat.as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| {
            let c = a.get("url_citation")?;
            Some(json!({
                "type": "url_citation",
                "url": c["url"],
                "title": c["title"],
                "start_index": c["start_index"],
                "end_index": c["end_index"],
            }))
        })
        .collect()
}

/// The `output_text` part.
pub fn text_part(text: &str, annotations: Vec<Value>, logprobs: Vec<Value>) -> Value {
    json!({"type": "output_text", "text": text, "annotations": annotations, "logprobs": logprobs})
}

/// A message item.
pub fn message_item(id: &str, status: &str, content: Vec<Value>) -> Value {
    json!({"type": "message", "id": id, "status": status, "role": "assistant", "content": content})
}

/// A function call item.
pub fn call_item(id: &str, call_id: &str, name: &str, arguments: &str, status: &str) -> Value {
    json!({"type": "function_call", "id": id, "call_id": call_id, "name": name,
           "arguments": arguments, "status": status})
}

/// Output items of a whole chat message: its text (if any), then its tool calls.
pub fn output_items(message: &Value, logprobs: &Value, want_logprobs: bool) -> Vec<Value> {
    let mut out = Vec::new();
    let text = message["content"].as_str().unwrap_or("");
    if !text.is_empty() {
        let lp = if want_logprobs {
            logprobs["content"].as_array().cloned().unwrap_or_default()
        } else {
            Vec::new()
        };
        let part = text_part(text, annotations(&message["annotations"]), lp);
        out.push(message_item(&item_id("msg"), "completed", vec![part]));
    }
    for c in message["tool_calls"].as_array().into_iter().flatten() {
        out.push(call_item(
            &item_id("fc"),
            c["id"].as_str().unwrap_or(""),
            c["function"]["name"].as_str().unwrap_or(""),
            c["function"]["arguments"].as_str().unwrap_or(""),
            "completed",
        ));
    }
    out
}

/// The assistant turn as a chat message (for the stored conversation), from the response's
/// output items: the text of its message items, then its function calls.
pub fn assistant_message(output: &[Value]) -> Value {
    let text: String = output
        .iter()
        .filter(|i| i["type"] == "message")
        .flat_map(|i| i["content"].as_array().into_iter().flatten())
        .filter_map(|p| p["text"].as_str())
        .collect();
    let calls: Vec<Value> = output
        .iter()
        .filter(|i| i["type"] == "function_call")
        .map(|i| {
            json!({"id": i["call_id"], "type": "function",
                   "function": {"name": i["name"], "arguments": i["arguments"]}})
        })
        .collect();
    let mut out = json!({"role": "assistant", "content": (!text.is_empty()).then_some(text)});
    if !calls.is_empty() {
        out["tool_calls"] = Value::Array(calls);
    }
    out
}
