//! The strict JSON check every frame and every body passes before it is read (PROTOCOL.md §2.4
//! steps 2 and 9): the text is one JSON **object**, no object anywhere in it repeats a key, and
//! it nests at most 127 levels (serde_json's recursion limit of 128 refuses the 128th). serde's derived readers would
//! otherwise take an array as a struct (fields in declaration order) and let the last of two
//! equal keys win; refusing both here, once for every message type, keeps the decoder from
//! depending on how each type is declared.

use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Checks that `text` is a JSON object with no repeated key at any depth.
pub(crate) fn check_object(text: &str) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    de.deserialize_map(Value { top: true })?;
    de.end()
}

/// Walks one JSON value; `top` accepts only an object.
#[derive(Clone, Copy)]
struct Value {
    top: bool,
}

impl<'de> DeserializeSeed<'de> for Value {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Value {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(if self.top {
            "a JSON object"
        } else {
            "a JSON value"
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut keys = BTreeSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if keys.contains(&key) {
                return Err(de::Error::custom(format_args!("repeated key {key:?}")));
            }
            keys.insert(key);
            map.next_value_seed(Value { top: false })?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.top {
            return Err(de::Error::invalid_type(de::Unexpected::Seq, &self));
        }
        while seq.next_element_seed(Value { top: false })?.is_some() {}
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.scalar(de::Unexpected::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.scalar(de::Unexpected::Signed(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.scalar(de::Unexpected::Unsigned(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.scalar(de::Unexpected::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.scalar(de::Unexpected::Str(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar(de::Unexpected::Unit)
    }
}

impl Value {
    fn scalar<E: de::Error>(self, got: de::Unexpected<'_>) -> Result<(), E> {
        if self.top {
            Err(E::invalid_type(got, &self))
        } else {
            Ok(())
        }
    }
}
