//! Every answer an API test receives is checked against the committed OpenAPI
//! document: the operation and status must be documented, and a JSON body must match
//! the schema documented for that status. So a response that drifts from the document
//! fails `cargo test`, not only the generated clients in CI.

#![allow(dead_code)] // each including binary uses part of it

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use serde_json::{Value, json};

struct Contract {
    /// The document, with OpenAPI 3.0's `nullable` turned into JSON Schema types.
    doc: Value,
    validators: Mutex<HashMap<String, std::sync::Arc<jsonschema::Validator>>>,
}

fn contract() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
        let text = std::fs::read_to_string(path).expect("openapi/openapi.json");
        let mut doc: Value = serde_json::from_str(&text).expect("the document is JSON");
        nullable_to_types(&mut doc);
        Contract {
            doc,
            validators: Mutex::new(HashMap::new()),
        }
    })
}

/// `{"type": "string", "nullable": true}` → `{"type": ["string", "null"]}`.
fn nullable_to_types(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.remove("nullable") == Some(Value::Bool(true))
                && let Some(Value::String(ty)) = map.get("type").cloned()
            {
                map.insert("type".into(), json!([ty, "null"]));
            }
            map.values_mut().for_each(nullable_to_types);
        }
        Value::Array(items) => items.iter_mut().for_each(nullable_to_types),
        _ => {}
    }
}

/// The documented path template that `path` (no query) is an instance of.
fn template<'a>(doc: &'a Value, path: &str) -> Option<&'a str> {
    let segments: Vec<&str> = path.split('/').collect();
    doc["paths"]
        .as_object()?
        .keys()
        .map(String::as_str)
        .find(|t| {
            let parts: Vec<&str> = t.split('/').collect();
            parts.len() == segments.len()
                && parts
                    .iter()
                    .zip(&segments)
                    .all(|(p, s)| p.starts_with('{') || p == s)
        })
}

/// A JSON pointer token inside a URI fragment: `~` and `/` escaped, then the
/// characters a URI fragment cannot hold percent-encoded.
fn escape(part: &str) -> String {
    part.replace('~', "~0")
        .replace('/', "~1")
        .replace('{', "%7B")
        .replace('}', "%7D")
        .replace(' ', "%20")
        .replace(';', "%3B")
        .replace('=', "%3D")
}

/// Checks one answer; `Err` says how it departs from the document.
pub fn check(
    method: &str,
    url_path: &str,
    status: u16,
    content_type: &str,
    body: &str,
) -> Result<(), String> {
    let c = contract();
    let path = url_path.split('?').next().unwrap_or_default();
    // The router's own 404/405 (an unknown path, a method a path lacks, admin routes
    // switched off) are not operations' answers.
    if content_type.starts_with("text/plain")
        && matches!(status, 404 | 405)
        && body.contains("Method Not Allowed") | body.contains("404 page not found")
    {
        return Ok(());
    }
    let Some(template) = template(&c.doc, path) else {
        return Err(format!("{path} is not in the document"));
    };
    let method = method.to_ascii_lowercase();
    let op = &c.doc["paths"][template][&method];
    if op.is_null() {
        return Err(format!(
            "{} {template} is not in the document",
            method.to_uppercase()
        ));
    }
    let response = &op["responses"][status.to_string()];
    if response.is_null() {
        return Err(format!(
            "{} {template} does not document status {status}",
            method.to_uppercase()
        ));
    }
    let media = content_type.split(';').next().unwrap_or_default().trim();
    let content = &response["content"];
    if body.is_empty() && content.as_object().is_none_or(|c| c.is_empty()) {
        return Ok(());
    }
    let documented = content.as_object().and_then(|c| {
        c.keys()
            .find(|k| k.split(';').next().unwrap_or_default().trim() == media)
    });
    let Some(documented) = documented else {
        return Err(format!(
            "{} {template} {status}: {media} is not a documented body (documented: {})",
            method.to_uppercase(),
            content
                .as_object()
                .map(|c| c.keys().cloned().collect::<Vec<_>>().join(", "))
                .unwrap_or_default()
        ));
    };
    if media != "application/json" {
        return Ok(());
    }
    let pointer = format!(
        "#/paths/{}/{method}/responses/{status}/content/{}/schema",
        escape(template),
        escape(documented)
    );
    let validator = validator(c, &pointer)?;
    let value: Value = serde_json::from_str(body)
        .map_err(|e| format!("{pointer}: body is not JSON: {e}: {body}"))?;
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    match errors.is_empty() {
        true => Ok(()),
        false => Err(format!(
            "{} {template} {status} does not match its schema: {}\nbody: {body}",
            method.to_uppercase(),
            errors.join("; ")
        )),
    }
}

fn validator(c: &Contract, pointer: &str) -> Result<std::sync::Arc<jsonschema::Validator>, String> {
    let mut cache = c
        .validators
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(v) = cache.get(pointer) {
        return Ok(std::sync::Arc::clone(v));
    }
    let mut root = c.doc.clone();
    root["$ref"] = Value::String(pointer.to_owned());
    let compiled = jsonschema::draft7::new(&root).map_err(|e| format!("{pointer}: {e}"))?;
    let compiled = std::sync::Arc::new(compiled);
    cache.insert(pointer.to_owned(), std::sync::Arc::clone(&compiled));
    Ok(compiled)
}
