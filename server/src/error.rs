//! The one place where failures become HTTP statuses and OpenAI-shaped error bodies.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Every error the HTTP API can return.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON, or not the right JSON.
    #[error("{message}")]
    InvalidRequest {
        /// Human-readable explanation.
        message: String,
        /// The offending field, dotted path (`messages[0].content`).
        param: Option<String>,
        /// Machine-readable code.
        code: Option<&'static str>,
    },
    /// The `model` names no served model.
    #[error("the model `{0}` does not exist")]
    ModelNotFound(String),
    /// Unknown route or resource.
    #[error("{0}")]
    NotFound(String),
    /// Prompt and completion budget exceed the context window.
    #[error("{message}")]
    ContextLength {
        /// Explanation with the token counts.
        message: String,
    },
    /// All generation slots and the queue are taken.
    #[error("the server is at capacity; retry shortly")]
    Overloaded,
    /// The model is still loading or the server is shutting down.
    #[error("{0}")]
    Unavailable(&'static str),
    /// No API key, or one that is unknown or revoked.
    #[error("{message}")]
    Unauthorized {
        /// Explanation (never echoes the key).
        message: String,
        /// `missing_api_key` or `invalid_api_key`.
        code: &'static str,
    },
    /// The key's role may not do this.
    #[error("{message}")]
    Forbidden {
        /// Explanation naming the role and the action.
        message: String,
        /// The request field that asked for it, if any.
        param: Option<String>,
    },
    /// The key exceeded its request rate or its concurrent generations.
    #[error("{message}")]
    RateLimited {
        /// Explanation.
        message: String,
        /// `rate_limit_exceeded` or `concurrency_limit_exceeded`.
        code: &'static str,
        /// Seconds until a retry can succeed.
        retry_after: u64,
    },
    /// The change conflicts with the record's current state (version, claim, status).
    #[error("{0}")]
    Conflict(String),
    /// A bug or an engine failure. The detail goes to the log, not to the client.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 400 naming the offending field.
    pub fn invalid(param: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::InvalidRequest {
            message: message.into(),
            param: Some(param.into()),
            code: None,
        }
    }

    /// A 400 for a field this server does not support.
    pub fn unsupported(param: &str, what: &str) -> Self {
        ApiError::InvalidRequest {
            message: format!("`{param}` is not supported by this server: {what}"),
            param: Some(param.to_string()),
            code: Some("unsupported_parameter"),
        }
    }

    /// HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidRequest { .. } | ApiError::ContextLength { .. } => {
                StatusCode::BAD_REQUEST
            }
            ApiError::ModelNotFound(_) | ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Overloaded | ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The OpenAI error body: `{"error":{"message","type","param","code"}}`.
    pub fn body(&self) -> ErrorBody {
        let (kind, param, code, message) = match self {
            ApiError::InvalidRequest {
                message,
                param,
                code,
            } => (
                "invalid_request_error",
                param.clone(),
                code.map(str::to_string),
                message.clone(),
            ),
            ApiError::ModelNotFound(_) => (
                "invalid_request_error",
                Some("model".into()),
                Some("model_not_found".into()),
                self.to_string(),
            ),
            ApiError::NotFound(_) => (
                "invalid_request_error",
                None,
                Some("not_found".into()),
                self.to_string(),
            ),
            ApiError::ContextLength { message } => (
                "invalid_request_error",
                Some("messages".into()),
                Some("context_length_exceeded".into()),
                message.clone(),
            ),
            ApiError::Overloaded => (
                "rate_limit_error",
                None,
                Some("server_overloaded".into()),
                self.to_string(),
            ),
            ApiError::Unauthorized { message, code } => (
                "invalid_request_error",
                None,
                Some(code.to_string()),
                message.clone(),
            ),
            ApiError::Forbidden { message, param } => (
                "permission_error",
                param.clone(),
                Some("insufficient_role".into()),
                message.clone(),
            ),
            ApiError::RateLimited { message, code, .. } => {
                ("requests", None, Some(code.to_string()), message.clone())
            }
            ApiError::Conflict(message) => (
                "invalid_request_error",
                None,
                Some("conflict".into()),
                message.clone(),
            ),
            ApiError::Unavailable(_) => (
                "server_error",
                None,
                Some("unavailable".into()),
                self.to_string(),
            ),
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                (
                    "server_error",
                    None,
                    Some("internal_error".into()),
                    "The server had an error while processing your request.".into(),
                )
            }
        };
        ErrorBody {
            error: ErrorDetail {
                message,
                kind,
                param,
                code,
            },
        }
    }
}

/// Wire form of an error.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Inner error object.
#[derive(Debug, Serialize)]
pub struct ErrorDetail {
    /// Human-readable explanation.
    pub message: String,
    /// OpenAI error type.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Offending request field, if any.
    pub param: Option<String>,
    /// Machine-readable code, if any.
    pub code: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut resp = (status, axum::Json(self.body())).into_response();
        if let ApiError::RateLimited { retry_after, .. } = &self {
            if let Ok(v) = HeaderValue::from_str(&retry_after.max(&1).to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        } else if status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::SERVICE_UNAVAILABLE
        {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}

impl From<medserve_models::Error> for ApiError {
    fn from(e: medserve_models::Error) -> Self {
        match e {
            medserve_models::Error::Invalid(m) => ApiError::InvalidRequest {
                message: m,
                param: None,
                code: None,
            },
            e @ medserve_models::Error::ContextLength { .. } => ApiError::ContextLength {
                message: e.to_string(),
            },
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// Result alias for handlers.
pub type Result<T> = std::result::Result<T, ApiError>;
