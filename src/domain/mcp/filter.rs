//! Cutting what the tool server advertises down to what the caller may use. Results
//! are edited member by member with everything else kept byte for byte, in order, so
//! a filter never reorders or re-encodes what it does not change.

use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::metadata::RELAYED_CAPABILITIES;
use crate::domain::gojson::write_str;

/// A JSON object's members in wire order, values raw.
struct Members(Vec<(String, Box<RawValue>)>);

impl Members {
    fn parse(json: &str) -> Option<Self> {
        let mut de = serde_json::Deserializer::from_str(json);
        de.deserialize_map(MembersVisitor).ok()
    }

    fn get(&self, key: &str) -> Option<&RawValue> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_ref())
    }

    fn set(&mut self, key: &str, json: String) {
        let Ok(value) = RawValue::from_string(json) else {
            return;
        };
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some((_, slot)) => *slot = value,
            None => self.0.push((key.to_owned(), value)),
        }
    }

    fn write(&self) -> String {
        let mut out = String::from("{");
        for (i, (key, value)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_str(&mut out, key);
            out.push(':');
            out.push_str(value.get());
        }
        out.push('}');
        out
    }
}

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Members;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
        let mut members = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            members.push((key, map.next_value()?));
        }
        Ok(Members(members))
    }
}

/// An `initialize` or `server/discover` result with `capabilities` cut to the ones the
/// gateway relays (tools, resources, prompts, completions, logging). A result that is
/// not an object, or has no capabilities object, passes unchanged.
pub fn filter_capabilities(result: &str) -> String {
    let Some(mut members) = Members::parse(result) else {
        return result.to_owned();
    };
    let Some(capabilities) = members
        .get("capabilities")
        .and_then(|c| Members::parse(c.get()))
    else {
        return result.to_owned();
    };
    let kept: Vec<_> = capabilities
        .0
        .into_iter()
        .filter(|(k, _)| RELAYED_CAPABILITIES.contains(&k.as_str()))
        .collect();
    members.set("capabilities", Members(kept).write());
    members.write()
}

#[derive(serde::Deserialize)]
struct ToolName {
    #[serde(default)]
    name: String,
}

/// A `tools/list` result with only the tools `visible` accepts by name. When a tool
/// was removed, a `"public"` `cacheScope` becomes `"private"`: the list now depends on
/// who asked. A result of another shape passes unchanged.
pub fn filter_tools(result: &str, visible: impl Fn(&str) -> bool) -> String {
    let Some(mut members) = Members::parse(result) else {
        return result.to_owned();
    };
    let Some(tools) = members
        .get("tools")
        .and_then(|t| serde_json::from_str::<Vec<Box<RawValue>>>(t.get()).ok())
    else {
        return result.to_owned();
    };
    let count = tools.len();
    let kept: Vec<&RawValue> = tools
        .iter()
        .map(AsRef::as_ref)
        .filter(|tool| serde_json::from_str::<ToolName>(tool.get()).is_ok_and(|t| visible(&t.name)))
        .collect();
    if kept.len() == count {
        return result.to_owned();
    }
    let list: Vec<&str> = kept.iter().map(|t| t.get()).collect();
    members.set("tools", format!("[{}]", list.join(",")));
    if members.get("cacheScope").map(RawValue::get) == Some("\"public\"") {
        members.set("cacheScope", "\"private\"".to_owned());
    }
    members.write()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_visible_tools_stay_and_everything_else_is_untouched() {
        let result = r#"{"tools":[{"name":"read_invoice","inputSchema":{"z":1,"a":2}},{"name":"send_email"},{"name":"slow_count"}],"nextCursor":"c2","_meta":{"k":1}}"#;
        let filtered = filter_tools(result, |name| name != "send_email");
        assert_eq!(
            filtered,
            r#"{"tools":[{"name":"read_invoice","inputSchema":{"z":1,"a":2}},{"name":"slow_count"}],"nextCursor":"c2","_meta":{"k":1}}"#
        );
    }

    #[test]
    fn a_filtered_list_is_no_longer_public() {
        let result = r#"{"resultType":"complete","tools":[{"name":"a"},{"name":"b"}],"ttlMs":60000,"cacheScope":"public"}"#;
        assert_eq!(
            filter_tools(result, |n| n == "a"),
            r#"{"resultType":"complete","tools":[{"name":"a"}],"ttlMs":60000,"cacheScope":"private"}"#
        );
        assert_eq!(
            filter_tools(result, |_| true),
            result,
            "nothing removed, nothing changed"
        );
    }

    #[test]
    fn odd_shapes_pass_unchanged_or_lose_nameless_tools() {
        assert_eq!(filter_tools("null", |_| false), "null");
        assert_eq!(filter_tools(r#"{"tools":5}"#, |_| false), r#"{"tools":5}"#);
        assert_eq!(
            filter_tools(r#"{"tools":[7,{"x":1}]}"#, |n| n.is_empty()),
            r#"{"tools":[{"x":1}]}"#
        );
    }

    #[test]
    fn capabilities_keep_only_what_the_gateway_relays() {
        let result = r#"{"protocolVersion":"2025-11-25","capabilities":{"experimental":{},"logging":{},"prompts":{"listChanged":false},"resources":{"subscribe":false},"tools":{"listChanged":true},"tasks":{"list":{}}},"serverInfo":{"name":"up"}}"#;
        assert_eq!(
            filter_capabilities(result),
            r#"{"protocolVersion":"2025-11-25","capabilities":{"logging":{},"prompts":{"listChanged":false},"resources":{"subscribe":false},"tools":{"listChanged":true}},"serverInfo":{"name":"up"}}"#
        );
        assert_eq!(filter_capabilities("[1]"), "[1]");
    }
}
