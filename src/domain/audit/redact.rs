//! What of a call's arguments reaches the audit event (`INTENTGATE_AUDIT_PERSIST_ARG_VALUES`).

use serde_json::{Map, Value};

/// How argument values are recorded. Keys are always recorded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ArgValuesMode {
    /// No values (keys only).
    #[default]
    Off,
    /// Numbers, booleans and nulls kept; every string becomes `null`, recursively.
    Scalars,
    /// A verbatim copy.
    Raw,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "INTENTGATE_AUDIT_PERSIST_ARG_VALUES={0:?} is not one of off, scalars, raw \
     (aliases: false, 0, none; scalar, numbers; all, values)"
)]
pub struct ArgValuesModeError(pub String);

impl ArgValuesMode {
    /// Case-insensitive, trimmed, with the reference's aliases.
    pub fn parse(text: &str) -> Result<Self, ArgValuesModeError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "off" | "false" | "0" | "none" => Ok(Self::Off),
            "scalars" | "scalar" | "numbers" => Ok(Self::Scalars),
            "raw" | "all" | "values" => Ok(Self::Raw),
            _ => Err(ArgValuesModeError(text.to_owned())),
        }
    }
}

/// The argument names, in the order the map holds them (sorted).
pub fn arg_keys(args: &Map<String, Value>) -> Vec<String> {
    args.keys().cloned().collect()
}

/// The `arg_values` field for `args` under `mode`; `None` when off or empty.
pub fn redact_args(mode: ArgValuesMode, args: &Map<String, Value>) -> Option<Value> {
    if args.is_empty() {
        return None;
    }
    match mode {
        ArgValuesMode::Off => None,
        ArgValuesMode::Raw => Some(Value::Object(args.clone())),
        ArgValuesMode::Scalars => Some(Value::Object(
            args.iter()
                .map(|(k, v)| (k.clone(), scalars_only(v)))
                .collect(),
        )),
    }
}

fn scalars_only(v: &Value) -> Value {
    match v {
        Value::String(_) => Value::Null,
        Value::Array(items) => Value::Array(items.iter().map(scalars_only).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), scalars_only(v)))
                .collect(),
        ),
        scalar => scalar.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::gojson::write_value;

    #[test]
    fn scalars_mode_matches_the_observed_reference_output() {
        let args: Map<String, Value> = serde_json::from_str(
            r#"{"amount":1500,"to":"Acme","tags":["a",1],"n":null,"o":{"s":"x","b":true}}"#,
        )
        .unwrap();
        let mut out = String::new();
        write_value(
            &mut out,
            &redact_args(ArgValuesMode::Scalars, &args).unwrap(),
        );
        assert_eq!(
            out,
            r#"{"amount":1500,"n":null,"o":{"b":true,"s":null},"tags":[null,1],"to":null}"#
        );
    }

    #[test]
    fn off_and_empty_record_nothing() {
        let args: Map<String, Value> = serde_json::from_str(r#"{"a":1}"#).unwrap();
        assert_eq!(redact_args(ArgValuesMode::Off, &args), None);
        assert_eq!(redact_args(ArgValuesMode::Raw, &Map::new()), None);
    }

    #[test]
    fn parses_aliases_and_rejects_unknown() {
        assert_eq!(
            ArgValuesMode::parse(" NUMBERS "),
            Ok(ArgValuesMode::Scalars)
        );
        assert_eq!(ArgValuesMode::parse("values"), Ok(ArgValuesMode::Raw));
        assert_eq!(ArgValuesMode::parse(""), Ok(ArgValuesMode::Off));
        assert!(ArgValuesMode::parse("everything").is_err());
    }
}
