//! `GET /openapi.json`: an OpenAPI 3.1 document generated from the route table
//! ([`super::routes::table`]: every path, its operations and its access rule) and from the
//! request types the handlers deserialise (their JSON Schemas derived with `schemars`, so the
//! document says what the parser accepts: field names, types, `additionalProperties: false`).

use std::sync::LazyLock;

use axum::Json;
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

use crate::auth::{allowed, Access};
use crate::store::KeyRole;

/// A request body's schema, written into the generator's definitions.
pub(crate) type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// One operation of a route.
pub(crate) struct Op {
    /// `get`, `post` or `delete`.
    pub(crate) method: &'static str,
    /// One line for the document.
    pub(crate) summary: &'static str,
    /// The JSON body, when the operation takes one.
    pub(crate) body: Option<SchemaFn>,
    /// What a success answers with (`application/json`, `text/event-stream`, ...).
    pub(crate) produces: &'static [&'static str],
}

/// The schema of `T`.
pub(crate) fn body<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

const JSON: &[&str] = &["application/json"];

/// A `GET` answering JSON.
pub(crate) const fn op_get(summary: &'static str) -> Op {
    Op {
        method: "get",
        summary,
        body: None,
        produces: JSON,
    }
}

/// A `POST` taking `body` (if any) and answering JSON.
pub(crate) const fn op_post(summary: &'static str, body: Option<SchemaFn>) -> Op {
    Op {
        method: "post",
        summary,
        body,
        produces: JSON,
    }
}

/// A `DELETE` answering JSON.
pub(crate) const fn op_delete(summary: &'static str) -> Op {
    Op {
        method: "delete",
        summary,
        body: None,
        produces: JSON,
    }
}

impl Op {
    /// The same operation answering other media types.
    pub(crate) const fn producing(mut self, produces: &'static [&'static str]) -> Op {
        self.produces = produces;
        self
    }
}

/// The error body every failure has.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct ErrorBody {
    error: ErrorDetail,
}

/// OpenAI's error object.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct ErrorDetail {
    /// What went wrong, for a person.
    message: String,
    /// `invalid_request_error`, `authentication_error`, `permission_error`, `not_found_error`,
    /// `rate_limit_error`, `server_error`, ...
    #[schemars(rename = "type")]
    kind: String,
    /// The offending field, as a dotted path (`messages[0].content`), when there is one.
    param: Option<String>,
    /// Machine-readable code (`invalid_json`, `model_not_found`, `rate_limit_exceeded`, ...).
    code: Option<String>,
}

fn path_parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| {
            json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
        })
        .collect()
}

fn operation(path: &str, access: Access, op: &Op, g: &mut SchemaGenerator, error: &Value) -> Value {
    let id = format!(
        "{}_{}",
        op.method,
        path.trim_matches('/')
            .replace(['/', '{', '}', '.'], "_")
            .replace("__", "_")
    );
    let mut content = Map::new();
    for media in op.produces {
        content.insert((*media).to_string(), json!({}));
    }
    let mut o = json!({
        "operationId": id.trim_end_matches('_'),
        "summary": op.summary,
        "responses": {
            "200": {"description": "Success.", "content": content},
            "default": {
                "description": "An OpenAI-shaped error naming the field or limit.",
                "content": {"application/json": {"schema": error}},
            },
        },
    });
    let params = path_parameters(path);
    if !params.is_empty() {
        o["parameters"] = Value::Array(params);
    }
    if let Some(schema) = op.body {
        o["requestBody"] = json!({
            "required": true,
            "content": {"application/json": {"schema": schema(g).to_value()}},
        });
    }
    match access {
        Access::Public => o["security"] = json!([]),
        Access::Needs(action) => {
            o["security"] = json!([{"bearer": []}]);
            let roles: Vec<&str> = KeyRole::ALL
                .iter()
                .filter(|r| allowed(**r, action))
                .map(|r| r.as_str())
                .collect();
            o["x-medserve-roles"] = json!(roles);
        }
    }
    o
}

/// The document.
pub fn document() -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "#/components/schemas".into();
    settings.meta_schema = None;
    let mut g = settings.into_generator();
    let error = g.subschema_for::<ErrorBody>().to_value();
    let mut paths = Map::new();
    for route in super::routes::table() {
        let mut item = Map::new();
        for op in &route.ops {
            let o = operation(route.path, route.access, op, &mut g, &error);
            item.insert(op.method.to_string(), o);
        }
        paths.insert(route.path.to_string(), Value::Object(item));
    }
    let schemas = g.take_definitions(true);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "medserve",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "An OpenAI-compatible inference server for medical conversational AI. \
                Non-OpenAI fields live under one `medserve` object. With `--auth keys` every \
                route but the public ones needs `Authorization: Bearer <key>`; \
                `x-medserve-roles` lists the roles that may call an operation.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    })
}

static DOCUMENT: LazyLock<Value> = LazyLock::new(document);

/// `GET /openapi.json`.
pub async fn openapi() -> Json<Value> {
    Json(DOCUMENT.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_and_operation_is_documented_with_its_body_schema() {
        let doc = document();
        let paths = doc["paths"].as_object().unwrap();
        for route in super::super::routes::table() {
            let item = paths
                .get(route.path)
                .unwrap_or_else(|| panic!("{} missing", route.path));
            assert!(!route.ops.is_empty(), "{} has no operation", route.path);
            for op in &route.ops {
                assert!(
                    item.get(op.method).is_some(),
                    "{} {}",
                    op.method,
                    route.path
                );
            }
        }
        let chat = &paths["/v1/chat/completions"]["post"];
        let schema = &chat["requestBody"]["content"]["application/json"]["schema"];
        let name = schema["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
        let def = &doc["components"]["schemas"][name];
        assert_eq!(def["additionalProperties"], false, "{def}");
        assert!(def["properties"]["messages"].is_object(), "{def}");
        assert!(def["properties"]["medserve"].is_object(), "{def}");
        assert_eq!(chat["x-medserve-roles"], json!(["patient_app", "nurse"]));
        assert_eq!(paths["/health"]["get"]["security"], json!([]));
        // Every $ref resolves.
        let text = doc.to_string();
        for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = part.split('"').next().unwrap();
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "dangling $ref {name}"
            );
        }
    }
}
