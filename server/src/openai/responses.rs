//! OpenAI Responses (`POST /v1/responses`) wire types, and their translation into a chat
//! request: the Responses route runs the chat pipeline (guardrails, retrieval, tools, output
//! policy) on the translated request, so there is one pipeline and one set of checks. Every
//! Responses field is honoured or refused with a 400 naming it; errors the chat checks find
//! name the Responses field they came from (`input[2].content`, `max_output_tokens`, …).

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{ChatCompletionRequest, MedserveOptions};
use crate::error::ApiError;

/// Most input items in one request.
pub const MAX_INPUT_ITEMS: usize = 256;

/// `POST /v1/responses` body.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponsesRequest {
    /// Model name (see `GET /v1/models`).
    pub model: String,
    /// A string (one user message) or a list of items: messages (`role`, `content` as a
    /// string or `input_text`/`output_text` parts), `function_call` and
    /// `function_call_output`.
    pub input: Value,
    /// A system message put first.
    pub instructions: Option<String>,
    /// Continue the conversation of a stored response of this key.
    pub previous_response_id: Option<String>,
    /// Function tools: `{"type": "function", "name", "description", "parameters", "strict"}`.
    pub tools: Option<Vec<Value>>,
    /// `none`, `auto`, `required` or `{"type": "function", "name"}`.
    pub tool_choice: Option<Value>,
    /// Allow several calls in one turn (default true).
    pub parallel_tool_calls: Option<bool>,
    /// `{"format": {"type": "text" | "json_object" | "json_schema", ...}}`.
    pub text: Option<Value>,
    /// Completion budget.
    pub max_output_tokens: Option<u32>,
    /// Sampling temperature in [0, 2].
    pub temperature: Option<f32>,
    /// Nucleus sampling mass in [0, 1].
    pub top_p: Option<f32>,
    /// Alternatives per output token, 0-20 (needs `include: ["message.output_text.logprobs"]`).
    pub top_logprobs: Option<u32>,
    /// Extra output: only `message.output_text.logprobs`.
    pub include: Option<Vec<String>>,
    /// Keep the response for `GET /v1/responses/{id}` and `previous_response_id` (default
    /// true; kept only with the patient's consent, de-identified).
    pub store: Option<bool>,
    /// Stream events over SSE.
    pub stream: Option<bool>,
    /// Up to 16 string pairs, returned and stored with the response.
    pub metadata: Option<Map<String, Value>>,
    /// `disabled` only (a prompt over the context is a 400, never cut silently).
    pub truncation: Option<String>,
    /// `auto` or `default` only.
    pub service_tier: Option<String>,
    /// End-user id: accepted, kept only in trace-level logs.
    pub user: Option<String>,
    /// End-user id: accepted, kept only in trace-level logs.
    pub safety_identifier: Option<String>,
    /// Cache hint: accepted; prefix caching here is automatic.
    pub prompt_cache_key: Option<String>,
    /// `{"effort": "none" | null, "summary": ...}`: accepted (the model does not reason, so
    /// there are no reasoning items); any other effort is a 400.
    pub reasoning: Option<Value>,
    /// Background mode: not supported.
    pub background: Option<Value>,
    /// Conversations API: not supported.
    pub conversation: Option<Value>,
    /// Prompt templates: not supported.
    pub prompt: Option<Value>,
    /// Not supported.
    pub prompt_cache_retention: Option<Value>,
    /// Not supported.
    pub context_management: Option<Value>,
    /// Streaming options: not supported.
    pub stream_options: Option<Value>,
    /// medserve extensions (as in chat).
    pub medserve: Option<MedserveOptions>,
}

/// A chat request translated from a Responses request, with where each chat message came
/// from (for error names).
pub struct Translated {
    /// The chat request.
    pub chat: ChatCompletionRequest,
    /// For chat message `i`, the Responses field it came from.
    pub origin: Vec<String>,
    /// Stream the answer.
    pub stream: bool,
    /// Store the answer (if the exchange has consent).
    pub store: bool,
    /// Logprobs of output text were asked for.
    pub logprobs: bool,
    /// The chat messages as JSON (what a stored conversation keeps).
    pub messages: Vec<Value>,
}

fn refuse(param: &str, v: &Option<Value>, what: &str) -> Result<(), ApiError> {
    match v {
        None | Some(Value::Null) => Ok(()),
        Some(_) => Err(ApiError::unsupported(param, what)),
    }
}

/// Text of a message's `content`: a string or a list of text parts.
fn content_text(param: &str, content: &Value) -> Result<String, ApiError> {
    match content {
        Value::String(s) => Ok(s.clone()),
        Value::Array(parts) => {
            let mut out = String::new();
            for (j, p) in parts.iter().enumerate() {
                let pp = format!("{param}[{j}]");
                match p["type"].as_str() {
                    Some("input_text" | "output_text" | "text") => {
                        out.push_str(p["text"].as_str().ok_or_else(|| {
                            ApiError::invalid(format!("{pp}.text"), "a text part needs `text`")
                        })?)
                    }
                    Some("refusal") => out.push_str(p["refusal"].as_str().unwrap_or("")),
                    Some(t @ ("input_image" | "input_file" | "input_audio")) => {
                        return Err(ApiError::unsupported(
                            &format!("{pp}.type"),
                            &format!("`{t}` parts are not available: this model reads text only"),
                        ))
                    }
                    _ => {
                        return Err(ApiError::invalid(
                            format!("{pp}.type"),
                            "a content part must be `input_text` or `output_text`",
                        ))
                    }
                }
            }
            Ok(out)
        }
        _ => Err(ApiError::invalid(
            param,
            "`content` must be a string or a list of text parts",
        )),
    }
}

/// The chat messages of `input` (after any already in `messages`).
fn input_messages(
    input: &Value,
    messages: &mut Vec<Value>,
    origin: &mut Vec<String>,
) -> Result<(), ApiError> {
    let items = match input {
        Value::String(s) => {
            messages.push(json!({"role": "user", "content": s}));
            origin.push("input".into());
            return Ok(());
        }
        Value::Array(items) => items,
        _ => {
            return Err(ApiError::invalid(
                "input",
                "`input` must be a string or a list of items",
            ))
        }
    };
    if items.is_empty() {
        return Err(ApiError::invalid("input", "`input` must not be empty"));
    }
    if items.len() > MAX_INPUT_ITEMS {
        return Err(ApiError::invalid(
            "input",
            format!("at most {MAX_INPUT_ITEMS} input items, got {}", items.len()),
        ));
    }
    for (i, item) in items.iter().enumerate() {
        let p = format!("input[{i}]");
        let kind = item["type"].as_str().unwrap_or("message");
        match kind {
            "message" => {
                let role = item["role"].as_str().ok_or_else(|| {
                    ApiError::invalid(format!("{p}.role"), "a message needs `role`")
                })?;
                if !["user", "system", "developer", "assistant"].contains(&role) {
                    return Err(ApiError::invalid(
                        format!("{p}.role"),
                        "`role` must be user, system, developer or assistant",
                    ));
                }
                let text = content_text(&format!("{p}.content"), &item["content"])?;
                messages.push(json!({"role": role, "content": text}));
                origin.push(p);
            }
            "function_call" => {
                let field = |f: &str| {
                    item[f].as_str().map(str::to_string).ok_or_else(|| {
                        ApiError::invalid(format!("{p}.{f}"), format!("a function call needs `{f}`"))
                    })
                };
                let call = json!({"id": field("call_id")?, "type": "function",
                    "function": {"name": field("name")?, "arguments": field("arguments")?}});
                // Calls in a row are one assistant turn.
                let joined = messages.last_mut().filter(|m| {
                    m["role"] == "assistant" && m["tool_calls"].is_array() && m["content"].is_null()
                });
                match joined {
                    Some(m) => m["tool_calls"].as_array_mut().into_iter().for_each(|a| a.push(call.clone())),
                    None => {
                        messages.push(json!({"role": "assistant", "content": null, "tool_calls": [call]}));
                        origin.push(p);
                    }
                }
            }
            "function_call_output" => {
                let id = item["call_id"].as_str().ok_or_else(|| {
                    ApiError::invalid(format!("{p}.call_id"), "a function call output needs `call_id`")
                })?;
                let text = content_text(&format!("{p}.output"), &item["output"])?;
                messages.push(json!({"role": "tool", "tool_call_id": id, "content": text}));
                origin.push(p);
            }
            other => {
                return Err(ApiError::unsupported(
                    &format!("{p}.type"),
                    &format!("`{other}` items are not available (messages, function_call and function_call_output are)"),
                ))
            }
        }
    }
    Ok(())
}

/// Responses function tools as chat tools.
fn chat_tools(tools: &[Value]) -> Result<Vec<Value>, ApiError> {
    tools
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if t["type"] != "function" {
                return Err(ApiError::unsupported(
                    &format!("tools[{i}].type"),
                    "only `function` tools are available (built-in tools go in `medserve.tools`)",
                ));
            }
            let mut f = Map::new();
            for k in ["name", "description", "parameters", "strict"] {
                if let Some(v) = t.get(k).filter(|v| !v.is_null()) {
                    f.insert(k.into(), v.clone());
                }
            }
            Ok(json!({"type": "function", "function": f}))
        })
        .collect()
}

fn chat_tool_choice(c: &Value) -> Result<Value, ApiError> {
    match c {
        Value::String(_) => Ok(c.clone()),
        Value::Object(o) if o.get("type") == Some(&json!("function")) => {
            Ok(json!({"type": "function", "function": {"name": o.get("name").cloned().unwrap_or(Value::Null)}}))
        }
        _ => Err(ApiError::unsupported(
            "tool_choice",
            "only `none`, `auto`, `required` and `{\"type\": \"function\", \"name\"}` are available",
        )),
    }
}

fn chat_response_format(text: &Value) -> Result<Option<Value>, ApiError> {
    if let Some(v) = text.get("verbosity").filter(|v| !v.is_null()) {
        if v != "medium" {
            return Err(ApiError::unsupported(
                "text.verbosity",
                "only `medium` is available",
            ));
        }
    }
    let Some(format) = text.get("format").filter(|f| !f.is_null()) else {
        return Ok(None);
    };
    match format["type"].as_str() {
        Some("text") => Ok(None),
        Some("json_object") => Ok(Some(json!({"type": "json_object"}))),
        Some("json_schema") => {
            let mut s = Map::new();
            for k in ["name", "schema", "strict", "description"] {
                if let Some(v) = format.get(k).filter(|v| !v.is_null()) {
                    s.insert(k.into(), v.clone());
                }
            }
            Ok(Some(json!({"type": "json_schema", "json_schema": s})))
        }
        _ => Err(ApiError::invalid(
            "text.format.type",
            "`text.format.type` must be text, json_object or json_schema",
        )),
    }
}

impl ResponsesRequest {
    /// The chat request, with `history` (a stored conversation) before the input.
    pub fn translate(self, history: Vec<Value>) -> Result<Translated, ApiError> {
        // The model does not reason: a request that only asks for summaries or encrypted
        // reasoning (what clients send for models they do not know) gets no reasoning items;
        // one that asks for reasoning effort is refused.
        if let Some(r) = self.reasoning.as_ref().filter(|r| !r.is_null()) {
            let effort = r.get("effort").filter(|e| !e.is_null());
            if effort.is_some_and(|e| e != "none") {
                return Err(ApiError::unsupported(
                    "reasoning.effort",
                    "the model has no reasoning mode (effort `none` only)",
                ));
            }
        }
        refuse(
            "background",
            &self.background,
            "background responses are not available",
        )?;
        refuse(
            "conversation",
            &self.conversation,
            "the Conversations API is not available; use `previous_response_id`",
        )?;
        refuse("prompt", &self.prompt, "prompt templates are not available")?;
        refuse(
            "prompt_cache_retention",
            &self.prompt_cache_retention,
            "not available",
        )?;
        refuse(
            "context_management",
            &self.context_management,
            "not available",
        )?;
        refuse(
            "stream_options",
            &self.stream_options,
            "not available for responses",
        )?;
        if let Some(t) = self.truncation.as_deref().filter(|t| *t != "disabled") {
            return Err(ApiError::unsupported(
                "truncation",
                &format!("only `disabled` is available (got `{t}`): a conversation over the context is a 400, never cut"),
            ));
        }
        let mut logprobs = false;
        for (i, inc) in self.include.iter().flatten().enumerate() {
            match inc.as_str() {
                "message.output_text.logprobs" => logprobs = true,
                // Nothing to include: the model does not reason.
                "reasoning.encrypted_content" => {}
                other => {
                    return Err(ApiError::unsupported(
                        &format!("include[{i}]"),
                        &format!("`{other}` is not available (only `message.output_text.logprobs` and `reasoning.encrypted_content`)"),
                    ))
                }
            }
        }
        if let Some(m) = &self.metadata {
            if m.len() > 16 || m.values().any(|v| !v.is_string()) {
                return Err(ApiError::invalid(
                    "metadata",
                    "`metadata` holds at most 16 string values",
                ));
            }
        }
        let mut messages = Vec::new();
        let mut origin = Vec::new();
        if let Some(ins) = &self.instructions {
            messages.push(json!({"role": "system", "content": ins}));
            origin.push("instructions".into());
        }
        for m in history {
            messages.push(m);
            origin.push("previous_response_id".into());
        }
        input_messages(&self.input, &mut messages, &mut origin)?;
        let stream = self.stream.unwrap_or(false);
        let mut chat = json!({
            "model": self.model,
            "messages": messages.clone(),
            "stream": stream,
        });
        let c = chat.as_object_mut().expect("an object");
        if stream {
            c.insert("stream_options".into(), json!({"include_usage": true}));
        }
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v.filter(|v| !v.is_null()) {
                c.insert(k.into(), v);
            }
        };
        put("temperature", self.temperature.map(Value::from));
        put("top_p", self.top_p.map(Value::from));
        put(
            "max_completion_tokens",
            self.max_output_tokens.map(Value::from),
        );
        put(
            "parallel_tool_calls",
            self.parallel_tool_calls.map(Value::from),
        );
        put("user", self.user.map(Value::from));
        put("safety_identifier", self.safety_identifier.map(Value::from));
        put("prompt_cache_key", self.prompt_cache_key.map(Value::from));
        put("service_tier", self.service_tier.map(Value::from));
        if let Some(tools) = &self.tools {
            if !tools.is_empty() {
                put("tools", Some(Value::Array(chat_tools(tools)?)));
            }
        }
        if let Some(tc) = &self.tool_choice {
            put("tool_choice", Some(chat_tool_choice(tc)?));
        }
        if let Some(text) = &self.text {
            put("response_format", chat_response_format(text)?);
        }
        if logprobs || self.top_logprobs.is_some() {
            put("logprobs", Some(json!(true)));
            put("top_logprobs", self.top_logprobs.map(Value::from));
        }
        let mut chat: ChatCompletionRequest = serde_json::from_value(chat)
            .map_err(|e| ApiError::Internal(format!("responses translation: {e}")))?;
        chat.medserve = self.medserve;
        Ok(Translated {
            chat,
            origin,
            stream,
            store: self.store.unwrap_or(true),
            logprobs,
            messages,
        })
    }
}

/// The Responses field a chat check's `param` came from.
pub fn responses_param(param: &str, origin: &[String]) -> String {
    if let Some(rest) = param.strip_prefix("messages[") {
        if let Some((i, tail)) = rest.split_once(']') {
            if let Some(o) = i.parse::<usize>().ok().and_then(|i| origin.get(i)) {
                return if o.starts_with("input[") {
                    format!("{o}{tail}")
                } else {
                    o.clone()
                };
            }
        }
        return "input".into();
    }
    match param {
        "messages" => "input".into(),
        "max_completion_tokens" | "max_tokens" => "max_output_tokens".into(),
        "response_format" => "text.format".into(),
        p if p.starts_with("response_format.json_schema") => {
            p.replacen("response_format.json_schema", "text.format", 1)
        }
        p if p.starts_with("tools[") => p.replacen(".function", "", 1),
        "logprobs" => "include".into(),
        p => p.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(v: Value) -> ResponsesRequest {
        let mut body = json!({"model": "m"});
        body.as_object_mut()
            .unwrap()
            .extend(v.as_object().unwrap().clone());
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn items_become_chat_messages_in_order() {
        let t = req(json!({"instructions": "Be brief.", "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "Weight 70 kg, height 1.75 m?"}]},
            {"type": "function_call", "call_id": "c1", "name": "bmi", "arguments": "{}", "id": "fc_1", "status": "completed"},
            {"type": "function_call", "call_id": "c2", "name": "bmi", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "22.9"},
            {"type": "function_call_output", "call_id": "c2", "output": "22.9"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "BMI 22.9", "annotations": []}]},
        ], "tools": [{"type": "function", "name": "bmi", "parameters": {"type": "object"}, "strict": true}],
           "tool_choice": {"type": "function", "name": "bmi"}, "max_output_tokens": 50,
           "text": {"format": {"type": "json_schema", "name": "x", "schema": {"type": "object"}}}}))
        .translate(vec![json!({"role": "user", "content": "earlier"})]);
        let t = match t {
            Ok(t) => t,
            Err(e) => panic!("{:?}", e.body().error.message),
        };
        assert_eq!(t.chat.messages.len(), 7);
        assert_eq!(
            t.origin,
            [
                "instructions",
                "previous_response_id",
                "input[0]",
                "input[1]",
                "input[3]",
                "input[4]",
                "input[5]"
            ]
        );
        assert_eq!(t.chat.max_completion_tokens, Some(50));
        assert!(t.store && !t.stream);
        assert_eq!(
            t.chat.tool_choice,
            Some(json!({"type": "function", "function": {"name": "bmi"}}))
        );
        assert_eq!(
            t.chat.response_format.as_ref().unwrap()["json_schema"]["name"],
            "x"
        );
    }

    #[test]
    fn unsupported_fields_and_items_are_named() {
        let cases = [
            (
                json!({"input": "hi", "reasoning": {"effort": "low"}}),
                "reasoning.effort",
            ),
            (json!({"input": "hi", "truncation": "auto"}), "truncation"),
            (
                json!({"input": "hi", "include": ["file_search_call.results"]}),
                "include[0]",
            ),
            (
                json!({"input": [{"type": "web_search_call"}]}),
                "input[0].type",
            ),
            (
                json!({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]}),
                "input[0].content[0].type",
            ),
            (
                json!({"input": "hi", "tools": [{"type": "web_search"}]}),
                "tools[0].type",
            ),
            (json!({"input": []}), "input"),
            (
                json!({"input": [{"role": "tool", "content": "x"}]}),
                "input[0].role",
            ),
            (
                json!({"input": "hi", "text": {"format": {"type": "xml"}}}),
                "text.format.type",
            ),
        ];
        for (body, want) in cases {
            let e = req(body.clone())
                .translate(Vec::new())
                .err()
                .unwrap_or_else(|| panic!("accepted {body}"));
            assert_eq!(e.body().error.param.as_deref(), Some(want), "{body}");
        }
    }

    #[test]
    fn chat_params_map_back_to_responses_fields() {
        let origin: Vec<String> = ["instructions", "input[0]", "input[2]"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            responses_param("messages[2].content", &origin),
            "input[2].content"
        );
        assert_eq!(
            responses_param("messages[0].content", &origin),
            "instructions"
        );
        assert_eq!(
            responses_param("max_completion_tokens", &origin),
            "max_output_tokens"
        );
        assert_eq!(
            responses_param("tools[1].function.parameters", &origin),
            "tools[1].parameters"
        );
        assert_eq!(responses_param("response_format", &origin), "text.format");
    }
}
