//! Pure, synchronous medical calculators exposed to the language model as callable tools.
//!
//! Each calculator lives in its own module with an `Args` type (deserialised from the
//! model's JSON arguments, unknown fields rejected), an `Output` type (serialised back to
//! JSON, always with a human-readable explanation of how the result was reached), a
//! `definition()` returning its JSON schema, and a `run()` function that validates ranges
//! and computes the result. [`catalogue`] lists every tool and [`call`] dispatches by name.
//!
//! These tools support, and never replace, clinical judgement.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{json, Value};

pub mod bmi;
pub mod centor;
pub mod cockcroft_gault;
pub mod curb65;
pub mod drug_interactions;
pub mod egfr_ckd_epi_2021;
pub mod gad7;
pub mod gcs;
pub mod heart;
pub mod news2;
pub mod phq9;
pub mod qsofa;
pub mod wells_dvt;
pub mod wells_pe;

/// Errors returned by the dispatcher and by the individual calculators.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The requested tool name is not in the catalogue.
    #[error("unknown tool `{0}`")]
    UnknownTool(String),
    /// The arguments could not be parsed or failed validation.
    #[error("invalid arguments for `{tool}`: {message}")]
    InvalidArguments {
        /// Name of the tool that rejected the arguments.
        tool: String,
        /// Reason, naming the offending field, e.g.
        /// `respiratory_rate: must be between 0 and 80 breaths/min, got 120`.
        message: String,
    },
    /// The tool's result could not be serialised (a bug in this crate).
    #[error("internal error in `{tool}`: {message}")]
    Internal {
        /// Name of the tool that failed.
        tool: String,
        /// Description of the failure.
        message: String,
    },
}

impl Error {
    /// Builds an [`Error::InvalidArguments`] for `tool` with the given message.
    pub fn invalid(tool: &str, message: impl Into<String>) -> Self {
        Error::InvalidArguments {
            tool: tool.to_string(),
            message: message.into(),
        }
    }
}

/// Result type used throughout this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Description of one tool; serialises to the OpenAI function-calling form
/// `{"type":"function","function":{"name","description","parameters"}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolDefinition {
    /// Tool name accepted by [`call`] (snake_case).
    pub name: String,
    /// What the tool computes, shown to the model.
    pub description: String,
    /// JSON Schema (`"type": "object"`) describing the arguments.
    pub parameters: Value,
}

impl ToolDefinition {
    /// Creates a definition from its parts.
    pub fn new(name: &str, description: &str, parameters: Value) -> Self {
        ToolDefinition {
            name: name.to_string(),
            description: description.to_string(),
            parameters,
        }
    }

    /// Renders the definition in the OpenAI tool form.
    pub fn to_openai(&self) -> Value {
        json!({
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            }
        })
    }
}

impl Serialize for ToolDefinition {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_openai().serialize(serializer)
    }
}

/// Biological sex as used by the renal-function equations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    /// Female.
    #[serde(alias = "f", alias = "F", alias = "Female")]
    Female,
    /// Male.
    #[serde(alias = "m", alias = "M", alias = "Male")]
    Male,
}

/// Micromoles per litre of creatinine in 1 mg/dL (molar mass 113.12 g/mol).
pub const CREATININE_UMOL_L_PER_MG_DL: f64 = 88.4;

/// Unit in which a serum creatinine value is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum CreatinineUnit {
    /// Milligrams per decilitre.
    #[serde(rename = "mg/dL", alias = "mg/dl")]
    MgPerDl,
    /// Micromoles per litre.
    #[serde(
        rename = "umol/L",
        alias = "umol/l",
        alias = "µmol/L",
        alias = "μmol/L"
    )]
    UmolPerL,
}

impl CreatinineUnit {
    /// Converts `value` in this unit to mg/dL.
    pub fn to_mg_dl(self, value: f64) -> f64 {
        match self {
            CreatinineUnit::MgPerDl => value,
            CreatinineUnit::UmolPerL => value / CREATININE_UMOL_L_PER_MG_DL,
        }
    }
}

/// Lists every tool definition, in a stable order.
pub fn catalogue() -> Vec<ToolDefinition> {
    vec![
        news2::definition(),
        qsofa::definition(),
        curb65::definition(),
        gcs::definition(),
        bmi::definition(),
        egfr_ckd_epi_2021::definition(),
        cockcroft_gault::definition(),
        centor::definition(),
        wells_pe::definition(),
        wells_dvt::definition(),
        heart::definition(),
        phq9::definition(),
        gad7::definition(),
        drug_interactions::definition(),
    ]
}

/// Runs the tool `name` with JSON `args` and returns its JSON result.
///
/// Unknown names give [`Error::UnknownTool`]; arguments that do not parse (unknown or
/// missing fields, wrong types) or fail range validation give [`Error::InvalidArguments`].
/// A JSON `null` is treated as an empty argument object.
pub fn call(name: &str, args: &Value) -> Result<Value> {
    match name {
        news2::NAME => invoke(name, args, news2::run),
        qsofa::NAME => invoke(name, args, qsofa::run),
        curb65::NAME => invoke(name, args, curb65::run),
        gcs::NAME => invoke(name, args, gcs::run),
        bmi::NAME => invoke(name, args, bmi::run),
        egfr_ckd_epi_2021::NAME => invoke(name, args, egfr_ckd_epi_2021::run),
        cockcroft_gault::NAME => invoke(name, args, cockcroft_gault::run),
        centor::NAME => invoke(name, args, centor::run),
        wells_pe::NAME => invoke(name, args, wells_pe::run),
        wells_dvt::NAME => invoke(name, args, wells_dvt::run),
        heart::NAME => invoke(name, args, heart::run),
        phq9::NAME => invoke(name, args, phq9::run),
        gad7::NAME => invoke(name, args, gad7::run),
        drug_interactions::NAME => invoke(name, args, drug_interactions::run),
        other => Err(Error::UnknownTool(other.to_string())),
    }
}

/// Deserialises `args`, runs the tool and serialises its output.
fn invoke<A, O, F>(tool: &str, args: &Value, run: F) -> Result<Value>
where
    A: DeserializeOwned,
    O: Serialize,
    F: FnOnce(A) -> Result<O>,
{
    let args = if args.is_null() {
        Value::Object(serde_json::Map::new())
    } else {
        args.clone()
    };
    let parsed: A = serde_path_to_error::deserialize(args).map_err(|e| {
        // Name the field: "respiratory_rate: invalid type: string \"fast\", expected f64".
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        if path.is_empty() || path == "." {
            Error::invalid(tool, inner)
        } else {
            Error::invalid(tool, format!("{path}: {inner}"))
        }
    })?;
    let output = run(parsed)?;
    serde_json::to_value(output).map_err(|e| Error::Internal {
        tool: tool.to_string(),
        message: e.to_string(),
    })
}

/// Checks `min <= value <= max` (and finiteness), naming `field` and `unit` on failure.
pub(crate) fn check_range(
    tool: &str,
    field: &str,
    value: f64,
    min: f64,
    max: f64,
    unit: &str,
) -> Result<()> {
    if value.is_finite() && (min..=max).contains(&value) {
        return Ok(());
    }
    let unit = if unit.is_empty() {
        String::new()
    } else {
        format!(" {unit}")
    };
    Err(Error::invalid(
        tool,
        format!("{field}: must be between {min} and {max}{unit}, got {value}"),
    ))
}

/// Validates a questionnaire: exactly `expected` items each in `0..=max`; returns the sum.
/// One explanation line per questionnaire item: `Item 3 (label): 2`.
pub(crate) fn itemised(labels: &[&str], items: &[u8]) -> Vec<String> {
    labels
        .iter()
        .zip(items)
        .enumerate()
        .map(|(i, (label, score))| format!("Item {} ({label}): {score}", i + 1))
        .collect()
}

pub(crate) fn check_items(tool: &str, items: &[u8], expected: usize, max: u8) -> Result<u32> {
    if items.len() != expected {
        return Err(Error::invalid(
            tool,
            format!(
                "items: expected exactly {expected} item scores, got {}",
                items.len()
            ),
        ));
    }
    for (i, &v) in items.iter().enumerate() {
        if v > max {
            return Err(Error::invalid(
                tool,
                format!(
                    "items[{i}] (item {}): must be between 0 and {max}, got {v}",
                    i + 1
                ),
            ));
        }
    }
    Ok(items.iter().map(|&v| u32::from(v)).sum())
}

/// Validates a creatinine value in its unit and returns it in mg/dL.
pub(crate) fn creatinine_mg_dl(tool: &str, value: f64, unit: CreatinineUnit) -> Result<f64> {
    match unit {
        CreatinineUnit::MgPerDl => check_range(tool, "creatinine", value, 0.1, 30.0, "mg/dL")?,
        CreatinineUnit::UmolPerL => check_range(tool, "creatinine", value, 9.0, 2650.0, "umol/L")?,
    }
    Ok(unit.to_mg_dl(value))
}

/// Rounds to `decimals` decimal places.
pub(crate) fn round_to(value: f64, decimals: i32) -> f64 {
    let factor = 10f64.powi(decimals);
    (value * factor).round() / factor
}

/// `"s"` unless `n == 1`, for "1 point" / "2 points".
pub(crate) fn plural(n: i64) -> &'static str {
    if n == 1 || n == -1 {
        ""
    } else {
        "s"
    }
}

/// JSON schema for a number property with inclusive bounds.
pub(crate) fn num_prop(description: &str, minimum: f64, maximum: f64) -> Value {
    json!({
        "type": "number",
        "description": description,
        "minimum": minimum,
        "maximum": maximum,
    })
}

/// JSON schema for a boolean property.
pub(crate) fn bool_prop(description: &str) -> Value {
    json!({ "type": "boolean", "description": description })
}

/// JSON schema for a string property restricted to `values`.
pub(crate) fn enum_prop(description: &str, values: &[&str]) -> Value {
    json!({ "type": "string", "description": description, "enum": values })
}

/// JSON schema for the creatinine unit property.
pub(crate) fn creatinine_unit_prop() -> Value {
    enum_prop(
        "Unit of the creatinine value: mg/dL or umol/L (µmol/L; 88.4 µmol/L = 1 mg/dL).",
        &["mg/dL", "umol/L"],
    )
}

/// JSON schema for the sex property.
pub(crate) fn sex_prop() -> Value {
    enum_prop(
        "Sex used by the equation: female or male.",
        &["female", "male"],
    )
}

/// Top-level object schema with the given properties and required keys.
pub(crate) fn object_schema(properties: Value, required: &[&str]) -> Value {
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_tool_is_rejected() {
        let err = call("no_such_tool", &json!({})).unwrap_err();
        assert_eq!(err, Error::UnknownTool("no_such_tool".to_string()));
    }

    #[test]
    fn unknown_field_is_rejected() {
        let args = json!({
            "respiratory_rate": 20,
            "systolic_bp_mmhg": 120,
            "altered_mentation": false,
            "heart_rate": 80
        });
        match call("qsofa", &args).unwrap_err() {
            Error::InvalidArguments { tool, message } => {
                assert_eq!(tool, "qsofa");
                assert!(message.contains("unknown field `heart_rate`"), "{message}");
            }
            other => panic!("unexpected error {other:?}"),
        }
    }

    #[test]
    fn missing_required_field_is_named() {
        let args = json!({ "respiratory_rate": 20, "systolic_bp_mmhg": 120 });
        match call("qsofa", &args).unwrap_err() {
            Error::InvalidArguments { message, .. } => {
                assert!(message.contains("altered_mentation"), "{message}");
            }
            other => panic!("unexpected error {other:?}"),
        }
    }

    #[test]
    fn out_of_range_message_names_field() {
        let err = call("news2", &json!({ "respiratory_rate": 120 })).unwrap_err();
        assert_eq!(
            err,
            Error::invalid(
                "news2",
                "respiratory_rate: must be between 0 and 80 breaths/min, got 120"
            )
        );
        assert_eq!(
            err.to_string(),
            "invalid arguments for `news2`: respiratory_rate: must be between 0 and 80 breaths/min, got 120"
        );
    }

    #[test]
    fn dispatch_runs_tool_and_serialises_output() {
        // All-normal observations score 0 on every NEWS2 parameter.
        let args = json!({
            "respiratory_rate": 16, "spo2_percent": 98, "supplemental_oxygen": false,
            "systolic_bp_mmhg": 120, "pulse_bpm": 70, "consciousness": "alert",
            "temperature_c": 37.0
        });
        let out = call("news2", &args).unwrap();
        assert_eq!(out["total"], 0);
        assert_eq!(out["complete"], true);
        assert_eq!(out["risk"], "low");

        // E3 V(NT) M5: total withheld.
        let out = call("gcs", &json!({ "eye": 3, "verbal": "NT", "motor": 5 })).unwrap();
        assert_eq!(out["notation"], "E3 V(NT) M5");
        assert!(out["total"].is_null());
    }

    #[test]
    fn null_arguments_are_treated_as_empty_object() {
        // NEWS2 with no observations is valid but incomplete.
        let out = call("news2", &Value::Null).unwrap();
        assert_eq!(out["complete"], false);
        assert!(out["total"].is_null());
    }

    #[test]
    fn catalogue_schemas_look_valid() {
        let defs = catalogue();
        assert_eq!(defs.len(), 14);
        let mut names: Vec<&str> = defs.iter().map(|d| d.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), defs.len(), "duplicate tool names");
        for def in &defs {
            assert!(!def.description.is_empty(), "{}", def.name);
            let schema = &def.parameters;
            assert_eq!(schema["type"], "object", "{}", def.name);
            assert_eq!(schema["additionalProperties"], false, "{}", def.name);
            let props = schema["properties"].as_object().expect("properties object");
            assert!(!props.is_empty(), "{}", def.name);
            for (key, prop) in props {
                assert!(
                    prop["description"].is_string(),
                    "{}.{key} lacks a description",
                    def.name
                );
            }
            for req in schema["required"].as_array().expect("required array") {
                let key = req.as_str().expect("required entries are strings");
                assert!(
                    props.contains_key(key),
                    "{}: required {key} not in properties",
                    def.name
                );
            }
            let openai = def.to_openai();
            assert_eq!(openai["type"], "function");
            assert_eq!(openai["function"]["name"], def.name.as_str());
            assert_eq!(openai["function"]["parameters"], def.parameters);
            assert_eq!(serde_json::to_value(def).unwrap(), openai);
            assert!(
                !matches!(call(&def.name, &json!({})), Err(Error::UnknownTool(_))),
                "{} is not dispatchable",
                def.name
            );
        }
    }

    #[test]
    fn creatinine_units_parse_and_convert() {
        let unit: CreatinineUnit = serde_json::from_value(json!("µmol/L")).unwrap();
        assert_eq!(unit, CreatinineUnit::UmolPerL);
        // 88.4 µmol/L = 1.0 mg/dL exactly by definition of the factor.
        assert_eq!(unit.to_mg_dl(88.4), 1.0);
        let err = creatinine_mg_dl("t", 5000.0, CreatinineUnit::UmolPerL).unwrap_err();
        assert_eq!(
            err,
            Error::invalid(
                "t",
                "creatinine: must be between 9 and 2650 umol/L, got 5000"
            )
        );
    }

    #[test]
    fn questionnaire_item_checks() {
        assert_eq!(check_items("t", &[0, 1, 2, 3], 4, 3).unwrap(), 6);
        assert_eq!(
            check_items("t", &[0, 1], 4, 3).unwrap_err(),
            Error::invalid("t", "items: expected exactly 4 item scores, got 2")
        );
        assert_eq!(
            check_items("t", &[0, 4, 0, 0], 4, 3).unwrap_err(),
            Error::invalid("t", "items[1] (item 2): must be between 0 and 3, got 4")
        );
    }
}
