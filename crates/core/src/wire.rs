//! Reading the enums that JSON tells apart by a field (`type`, `kind`, `reason`, `outcome`).
//!
//! serde's internally tagged enums (`#[serde(tag = …)]`) and `#[serde(flatten)]` buffer every
//! object into an intermediate tree before they know the variant, and generate each field type's
//! deserializer once more for that tree; in the web app that was about a tenth of the
//! WebAssembly. So those enums still *serialize* through the derive (which costs little), but
//! *deserialize* through a flat `…Fields` struct (`#[serde(try_from = "…Fields")]`) that names the
//! tag and every variant's fields, each optional; the enum's `TryFrom` picks the variant by the tag
//! and requires that variant's fields. The accepted JSON is the same as the derive's (unknown
//! fields are ignored), except that a field belonging to another variant must have that field's
//! type when present.

use std::fmt;

/// Why a flat `…Fields` struct is not a valid variant.
#[derive(Debug)]
pub(crate) struct WireError(String);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A field the variant needs.
pub(crate) fn required<T>(value: Option<T>, name: &'static str) -> Result<T, WireError> {
    value.ok_or_else(|| WireError(format!("missing field `{name}`")))
}

/// A tag value that names no variant.
pub(crate) fn unknown(tag: &'static str, got: &str) -> WireError {
    WireError(format!("unknown {tag} `{got}`"))
}

/// A number too large for its field.
pub(crate) fn out_of_range(name: &'static str) -> WireError {
    WireError(format!("field `{name}` is out of range"))
}
