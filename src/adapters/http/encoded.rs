//! `Encoded<T>`: JSON encoded by a domain writer (byte-exact with the reference), embedded
//! verbatim in a response and documented with the schema of `T`.

use std::borrow::Cow;
use std::marker::PhantomData;

use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use serde::{Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

pub struct Encoded<T> {
    json: Box<RawValue>,
    schema: PhantomData<fn() -> T>,
}

impl<T> Encoded<T> {
    /// Wraps JSON produced by a domain writer. Invalid JSON (a writer bug) becomes
    /// `null` rather than a broken response.
    pub fn new(json: String) -> Self {
        let json = RawValue::from_string(json).unwrap_or_else(|_| null());
        Self {
            json,
            schema: PhantomData,
        }
    }
}

fn null() -> Box<RawValue> {
    RawValue::from_string("null".to_owned()).unwrap_or_default()
}

impl<T> Serialize for Encoded<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.json.serialize(s)
    }
}

impl<T: Type> Type for Encoded<T> {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        T::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(std::iter::once(self))
    }
}

impl<T: Type> ToJSON for Encoded<T> {
    fn to_json(&self) -> Option<Value> {
        serde_json::from_str(self.json.get()).ok()
    }
}

impl<T: Type> ParseFromJSON for Encoded<T> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        let value = value.unwrap_or_default();
        serde_json::to_string(&value)
            .map(Self::new)
            .map_err(ParseError::custom)
    }
}
