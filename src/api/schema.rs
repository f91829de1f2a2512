//! Documentation-only schemas: the shapes the API accepts where the Rust type that
//! parses them is a plain `String` (so each bad value is reported with its field).

use std::borrow::Cow;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// A key in a URL or a reference to one (segments, initiatives, teams, variants): a
/// slug of lowercase letters, digits, `-` and `_`, starting with a letter or digit,
/// 1 to 64 characters.
pub struct Slug;

impl utoipa::PartialSchema for Slug {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "A slug: lowercase letters, digits, `-` and `_`, starting with a letter or digit",
            ))
            .pattern(Some("^[a-z0-9][a-z0-9_-]*$"))
            .min_length(Some(1))
            .max_length(Some(64))
            .examples([serde_json::json!("smb")])
            .into()
    }
}

impl utoipa::ToSchema for Slug {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Slug")
    }
}
