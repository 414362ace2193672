//! Scalar wire types that accept more than one TOML type (an integer or a string, ...).
//!
//! They are hand-written visitors rather than `#[serde(untagged)]` enums: untagged enums
//! lose the precise error ("expected an integer or a string") and the span behind it.

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;

/// A number written either as a TOML integer or as a string (which may hold a variable such
/// as `${UID}`, a size such as `512MiB`, or an octal mode such as `"0755"`). The compiler
/// resolves the string form.
#[derive(Debug, Clone, PartialEq)]
pub enum IntOrString {
    Int(i64),
    Str(String),
}

impl fmt::Display for IntOrString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntOrString::Int(i) => write!(f, "{i}"),
            IntOrString::Str(s) => write!(f, "{s:?}"),
        }
    }
}

impl<'de> Deserialize<'de> for IntOrString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = IntOrString;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer or a string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(IntOrString::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                i64::try_from(v)
                    .map(IntOrString::Int)
                    .map_err(|_| E::custom("integer too large"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(IntOrString::Str(v.to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for IntOrString {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            IntOrString::Int(i) => s.serialize_i64(*i),
            IntOrString::Str(v) => s.serialize_str(v),
        }
    }
}

impl JsonSchema for IntOrString {
    fn schema_name() -> Cow<'static, str> {
        "IntOrString".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["integer", "string"] })
    }
}

/// A number of CPU cores: `1.5`, `2`, or a string `"1.5"`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cores(pub f64);

impl<'de> Deserialize<'de> for Cores {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Cores;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number of CPU cores such as 1.5")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Cores(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Cores(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Cores(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                v.trim()
                    .parse::<f64>()
                    .map(Cores)
                    .map_err(|_| E::custom(format!("`{v}` is not a number of CPU cores")))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Cores {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0)
    }
}

impl JsonSchema for Cores {
    fn schema_name() -> Cow<'static, str> {
        "Cores".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["number", "string"], "description": "CPU cores, e.g. 0.5 or 1.5" })
    }
}

/// One resource limit: an integer (soft = hard), `"unlimited"`, or `{ soft = .., hard = .. }`.
#[derive(Debug, Clone, PartialEq)]
pub enum RlimitValue {
    Both(IntOrString),
    Split {
        soft: IntOrString,
        hard: IntOrString,
    },
}

impl<'de> Deserialize<'de> for RlimitValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RlimitValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer, \"unlimited\", or a table { soft = .., hard = .. }")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(RlimitValue::Both(IntOrString::Int(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                IntOrString::deserialize(de::value::U64Deserializer::<E>::new(v))
                    .map(RlimitValue::Both)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(RlimitValue::Both(IntOrString::Str(v.to_owned())))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let (mut soft, mut hard) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "soft" => soft = Some(map.next_value::<IntOrString>()?),
                        "hard" => hard = Some(map.next_value::<IntOrString>()?),
                        other => {
                            return Err(de::Error::unknown_field(other, &["soft", "hard"]));
                        }
                    }
                }
                match (soft, hard) {
                    (Some(soft), Some(hard)) => Ok(RlimitValue::Split { soft, hard }),
                    (None, _) => Err(de::Error::missing_field("soft")),
                    (_, None) => Err(de::Error::missing_field("hard")),
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for RlimitValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            RlimitValue::Both(v) => v.serialize(s),
            RlimitValue::Split { soft, hard } => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("soft", soft)?;
                m.serialize_entry("hard", hard)?;
                m.end()
            }
        }
    }
}

impl JsonSchema for RlimitValue {
    fn schema_name() -> Cow<'static, str> {
        "RlimitValue".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An integer (soft = hard), \"unlimited\", \"host\" (the caller's hard limit), or { soft, hard }",
            "anyOf": [
                { "type": ["integer", "string"] },
                {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["soft", "hard"],
                    "properties": {
                        "soft": { "type": ["integer", "string"] },
                        "hard": { "type": ["integer", "string"] }
                    }
                }
            ]
        })
    }
}

/// `process.terminal`: `"auto"`, `true` or `false`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerminalSetting {
    Auto,
    Always,
    Never,
}

impl<'de> Deserialize<'de> for TerminalSetting {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TerminalSetting;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("\"auto\", true or false")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(if v {
                    TerminalSetting::Always
                } else {
                    TerminalSetting::Never
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                match v {
                    "auto" => Ok(TerminalSetting::Auto),
                    _ => Err(E::custom(format!(
                        "`{v}` is not a terminal setting: write \"auto\", true or false"
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for TerminalSetting {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            TerminalSetting::Auto => s.serialize_str("auto"),
            TerminalSetting::Always => s.serialize_bool(true),
            TerminalSetting::Never => s.serialize_bool(false),
        }
    }
}

impl JsonSchema for TerminalSetting {
    fn schema_name() -> Cow<'static, str> {
        "TerminalSetting".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "oneOf": [ { "type": "boolean" }, { "const": "auto" } ] })
    }
}
