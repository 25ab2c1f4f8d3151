//! Query parameters documented with their real types (integer, boolean, date-time,
//! enumerations) but read as raw text, so the handler checks them and a bad value gets
//! the API's own JSON error, with its stable code, rather than the framework's text.

use std::borrow::Cow;
use std::marker::PhantomData;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseFromParameter, ParseResult, Type};

use crate::domain::discovery::RiskSignal;

/// What a parameter is documented as.
pub trait ParamSchema: Send + Sync {
    fn schema() -> MetaSchema;
}

/// A query parameter's raw text, documented as `S`: the same documented text as a
/// body field's.
pub type Param<S> = Text<S>;

/// The raw text of an optional parameter.
pub fn raw<S>(param: &Option<Param<S>>) -> Option<&str> {
    param.as_ref().map(|p| p.0.as_str())
}

/// An integer the server clamps into range (the reference's rule, pinned by its
/// scenarios), so every integer is valid; only text that is not one is refused.
fn clamped_integer(default: i64, description: &'static str) -> MetaSchema {
    MetaSchema {
        format: Some("int64"),
        default: Some(default.into()),
        description: Some(description),
        ..MetaSchema::new("integer")
    }
}

fn one_of(values: &[&'static str]) -> MetaSchema {
    MetaSchema {
        enum_items: values.iter().map(|v| serde_json::Value::from(*v)).collect(),
        ..MetaSchema::new("string")
    }
}

/// A filter: one of `values`, or empty for none (clients that build every filter
/// into the query send empty ones).
fn filter_of(values: &[&'static str]) -> MetaSchema {
    let mut schema = one_of(values);
    schema.enum_items.push(serde_json::Value::from(""));
    schema
}

/// Export formats.
pub const FORMATS: &[&str] = &["csv", "json"];
/// Approval statuses.
pub const STATUSES: &[&str] = &["pending", "approved", "rejected", "timeout"];
/// Audit decisions.
pub const DECISIONS: &[&str] = &["allow", "block", "escalate"];
/// The stages that decide a call.
pub const CHECKS: &[&str] = &["capability", "intent", "policy", "budget", "upstream"];

/// Export `format`.
pub struct ExportFormatParam;

impl ParamSchema for ExportFormatParam {
    fn schema() -> MetaSchema {
        MetaSchema {
            default: Some("csv".into()),
            ..filter_of(FORMATS)
        }
    }
}

/// Dry-run candidate decisions (`error`: the candidate policy failed).
pub const CANDIDATE_DECISIONS: &[&str] = &["allow", "block", "escalate", "error"];
/// Reviewer verdicts.
pub const VERDICTS: &[&str] = &["approve", "reject"];

/// Text documented as `S` (an integer, a date-time, an enumeration) but read and
/// written as the plain string it is, in a query parameter or a body field, so the
/// handler's own checks keep their messages and stable codes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text<S>(pub String, PhantomData<fn() -> S>);

impl<S> Default for Text<S> {
    fn default() -> Self {
        Self::new(String::new())
    }
}

impl<S> Text<S> {
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into(), PhantomData)
    }
}

impl<S> serde::Serialize for Text<S> {
    fn serialize<Se: serde::Serializer>(&self, s: Se) -> Result<Se::Ok, Se::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de, S> serde::Deserialize<'de> for Text<S> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::new)
    }
}

impl<S: ParamSchema> Type for Text<S> {
    const IS_REQUIRED: bool = true;
    type RawValueType = String;
    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        Cow::Owned(S::schema().ty.to_owned())
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(S::schema()))
    }

    fn as_raw_value(&self) -> Option<&String> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
        Box::new(std::iter::once(&self.0))
    }
}

impl<S: ParamSchema> ParseFromParameter for Text<S> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Self::new(value))
    }

    /// A required parameter that is missing reads as empty text, so the handler
    /// answers with its own error rather than the framework's.
    fn parse_from_parameters<I: IntoIterator<Item = A>, A: AsRef<str>>(
        iter: I,
    ) -> ParseResult<Self> {
        let first = iter.into_iter().next();
        Ok(Self::new(first.as_ref().map_or("", |v| v.as_ref())))
    }
}

impl<S: ParamSchema> poem_openapi::types::ToJSON for Text<S> {
    fn to_json(&self) -> Option<serde_json::Value> {
        Some(serde_json::Value::String(self.0.clone()))
    }
}

impl<S: ParamSchema> poem_openapi::types::ParseFromJSON for Text<S> {
    fn parse_from_json(value: Option<serde_json::Value>) -> ParseResult<Self> {
        match value {
            Some(serde_json::Value::String(s)) => Ok(Self::new(s)),
            other => Err(poem_openapi::types::ParseError::expected_type(
                other.unwrap_or_default(),
            )),
        }
    }
}

/// Declares schema markers: `/// doc  Name => schema expression;`.
macro_rules! schemas {
    ($($(#[$doc:meta])* $name:ident => $schema:expr;)*) => {
        $(
            $(#[$doc])*
            pub struct $name;

            impl ParamSchema for $name {
                fn schema() -> MetaSchema {
                    $schema
                }
            }
        )*
    };
}

schemas! {
    /// `limit`: default 100, clamped into 1..=1000.
    Limit => clamped_integer(100, "Page size; values outside 1..1000 are clamped into it.");
    /// `offset`: default 0; negative means 0.
    Offset => clamped_integer(0, "Rows to skip; a negative value means 0.");
    /// A record position or tree size in a chain's Merkle tree (from 1).
    TreePosition => MetaSchema {
        format: Some("int64"),
        minimum: Some(1.0),
        ..MetaSchema::new("integer")
    };
    /// `count`: add the unpaged total.
    Flag => MetaSchema::new("boolean");
    /// `from` / `to`: an RFC 3339 instant.
    Instant => MetaSchema::new_with_format("string", "date-time");
    /// Approval `status`.
    ApprovalStatusParam => filter_of(STATUSES);
    /// Audit `decision`.
    DecisionParam => filter_of(DECISIONS);
    /// Audit `check` (the stage that decided).
    CheckParam => filter_of(CHECKS);
    /// Audit decisions, as a closed vocabulary of a body field.
    Decisions => one_of(DECISIONS);
    /// Dry-run candidate decisions.
    CandidateDecisions => one_of(CANDIDATE_DECISIONS);
    /// Approval statuses.
    Statuses => one_of(STATUSES);
    /// Reviewer verdicts.
    Verdicts => one_of(VERDICTS);
    /// Risk signals of an observed agent.
    RiskSignals => MetaSchema {
        enum_items: RiskSignal::ALL.iter().map(|s| s.as_str().into()).collect(),
        ..MetaSchema::new("string")
    };
}
