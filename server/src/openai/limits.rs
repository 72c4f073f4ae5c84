//! Size limits on what a request may carry, checked before any work that grows with the
//! input (guardrails, schema compiles, tokenisation). Over a limit: 400 naming the field and
//! the limit. The body itself is bounded by axum's default body limit (2 MB).

use serde_json::Value;

use crate::error::ApiError;

/// Messages in one request.
pub const MAX_MESSAGES: usize = 256;
/// Characters in one message's content.
pub const MAX_MESSAGE_CHARS: usize = 32_768;
/// Characters in all messages of a request.
pub const MAX_REQUEST_CHARS: usize = 131_072;
/// Characters in one stop sequence.
pub const MAX_STOP_CHARS: usize = 256;
/// Bytes of one tool's JSON (name, description and parameter schema).
pub const MAX_TOOL_BYTES: usize = 16_384;
/// Bytes of all tools together.
pub const MAX_TOOLS_BYTES: usize = 131_072;

/// Message count and tool sizes.
pub fn check_counts(messages: usize, tools: Option<&Value>) -> Result<(), ApiError> {
    if messages > MAX_MESSAGES {
        return Err(ApiError::invalid(
            "messages",
            format!("at most {MAX_MESSAGES} messages per request, got {messages}"),
        ));
    }
    let Some(Value::Array(tools)) = tools else {
        return Ok(());
    };
    if tools.len() > crate::toolcall::MAX_TOOLS {
        return Err(ApiError::invalid(
            "tools",
            format!(
                "at most {} tools, got {}",
                crate::toolcall::MAX_TOOLS,
                tools.len()
            ),
        ));
    }
    let mut total = 0usize;
    for (i, t) in tools.iter().enumerate() {
        let n = serde_json::to_vec(t).map_or(0, |b| b.len());
        if n > MAX_TOOL_BYTES {
            return Err(ApiError::invalid(
                format!("tools[{i}]"),
                format!("a tool definition may be at most {MAX_TOOL_BYTES} bytes of JSON, got {n}"),
            ));
        }
        total += n;
    }
    if total > MAX_TOOLS_BYTES {
        return Err(ApiError::invalid(
            "tools",
            format!("all tool definitions together may be at most {MAX_TOOLS_BYTES} bytes of JSON, got {total}"),
        ));
    }
    Ok(())
}

/// The texts of one field (`messages`, `input`) against the per-text and total limits;
/// `param(i)` names text i in the error (`messages[3].content`, `input[3]`).
pub fn check_texts<'a>(
    field: &str,
    texts: impl IntoIterator<Item = &'a str>,
    param: impl Fn(usize) -> String,
) -> Result<(), ApiError> {
    let mut total = 0;
    for (i, t) in texts.into_iter().enumerate() {
        let n = t.chars().count();
        if n > MAX_MESSAGE_CHARS {
            return Err(ApiError::invalid(
                param(i),
                format!("a text may be at most {MAX_MESSAGE_CHARS} characters, got {n}"),
            ));
        }
        total += n;
    }
    if total > MAX_REQUEST_CHARS {
        return Err(ApiError::invalid(
            field,
            format!("`{field}` may total at most {MAX_REQUEST_CHARS} characters, got {total}"),
        ));
    }
    Ok(())
}

/// One message's content against the per-message and per-request limits; returns its
/// character count.
pub fn check_message(i: usize, content: &str, so_far: usize) -> Result<usize, ApiError> {
    let n = content.chars().count();
    if n > MAX_MESSAGE_CHARS {
        return Err(ApiError::invalid(
            format!("messages[{i}].content"),
            format!("a message may be at most {MAX_MESSAGE_CHARS} characters, got {n}"),
        ));
    }
    if so_far + n > MAX_REQUEST_CHARS {
        return Err(ApiError::invalid(
            "messages",
            format!("all messages together may be at most {MAX_REQUEST_CHARS} characters"),
        ));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn limits_name_the_field() {
        let e = check_counts(MAX_MESSAGES + 1, None).unwrap_err();
        assert!(e.to_string().contains("256 messages"), "{e}");
        let big = json!([{"type": "function", "function": {"name": "f", "description": "x".repeat(MAX_TOOL_BYTES)}}]);
        assert!(check_counts(1, Some(&big))
            .unwrap_err()
            .to_string()
            .contains("bytes"));
        assert!(check_message(3, &"a".repeat(MAX_MESSAGE_CHARS + 1), 0).is_err());
        assert!(check_message(0, "ab", MAX_REQUEST_CHARS - 1).is_err());
        assert_eq!(check_message(0, "héllo", 0).unwrap(), 5);
    }
}
