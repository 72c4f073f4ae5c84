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
            ApiError::Overloaded => StatusCode::TOO_MANY_REQUESTS,
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
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
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
