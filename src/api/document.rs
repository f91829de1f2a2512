//! The OpenAPI document, built from the route table: each route's `#[utoipa::path]`
//! entry, with the security its rule implies.

use actix_web::HttpResponse;
use actix_web::http::Method;
use actix_web::{FromRequest, Handler, Responder};
use utoipa::OpenApi;
use utoipa::openapi::path::{HttpMethod, Operation, Paths};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{OpenApi as Document, RefOr};

use super::routes::{Documented, PageRule, Register, Rule, declare_api};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "offerlab",
        description = "Pilot new value initiatives and test, honestly, whether customers really want them.",
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "segments", description = "Customer segments"),
        (name = "initiatives", description = "Initiatives and their lifecycle"),
        (name = "events", description = "Exposures, pre-orders, cancellations and responses"),
        (name = "reports", description = "Reports, verdicts, the portfolio and planning"),
        (name = "keys", description = "API keys (admins)"),
        (name = "health", description = "Liveness, readiness, metrics and this document"),
    )
)]
struct ApiDoc;

/// Declares the bearer-key scheme.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut Document) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An offerlab API key: olk_ followed by 64 hex digits"))
                    .build(),
            ),
        );
    }
}

/// The security requirement of a rule: none for public routes, the bearer key otherwise.
fn security(rule: Rule) -> Vec<SecurityRequirement> {
    match rule {
        Rule::Public | Rule::Page | Rule::OpenPage => Vec::new(),
        _ => vec![SecurityRequirement::new("bearer", Vec::<String>::new())],
    }
}

fn http_method(method: &Method) -> Option<HttpMethod> {
    Some(match method {
        m if m == Method::GET => HttpMethod::Get,
        m if m == Method::POST => HttpMethod::Post,
        m if m == Method::PATCH => HttpMethod::Patch,
        m if m == Method::PUT => HttpMethod::Put,
        m if m == Method::DELETE => HttpMethod::Delete,
        _ => return None,
    })
}

/// The document's side of the route table: each declared route's operation, under the
/// path and method its `#[utoipa::path]` states.
#[derive(Default)]
struct Builder {
    paths: Paths,
    schemas: Vec<(String, RefOr<Schema>)>,
    /// Routes whose declared method or path differs from their `#[utoipa::path]`.
    mismatches: Vec<String>,
}

impl Register for Builder {
    fn add<D, F, Args>(&mut self, method: Method, path: &'static str, rule: Rule, _handler: F)
    where
        D: Documented,
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let methods = D::methods();
        if D::path() != path || methods != http_method(&method).into_iter().collect::<Vec<_>>() {
            self.mismatches.push(format!(
                "{method} {path} is documented as {} at {}",
                serde_json::to_string(&methods).unwrap_or_default(),
                D::path()
            ));
        }
        let mut operation: Operation = D::operation();
        let tags = <D as utoipa::__dev::Tags>::tags();
        if !tags.is_empty() {
            operation.tags = Some(tags.into_iter().map(String::from).collect());
        }
        operation.security = Some(security(rule));
        self.paths.add_path_operation(D::path(), methods, operation);
        D::schemas(&mut self.schemas);
    }

    fn page<F, Args>(&mut self, _: Method, _: &'static str, _: PageRule, _: F)
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
    }
}

/// Builds the document from the route table; also the routes whose `#[utoipa::path]`
/// disagrees with their declaration (none, tested).
fn build() -> (Document, Vec<String>) {
    let mut builder = Builder::default();
    declare_api(&mut builder);
    let mut doc = ApiDoc::openapi();
    doc.paths = builder.paths;
    let components = doc.components.get_or_insert_with(Default::default);
    for (name, schema) in builder.schemas {
        components.schemas.entry(name).or_insert(schema);
    }
    (doc, builder.mismatches)
}

/// The OpenAPI document of the API.
pub fn document() -> Document {
    build().0
}

/// The OpenAPI document of this API.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "health",
    responses((status = 200, description = "OpenAPI 3.1 document"))
)]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(document())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declaration_matches_its_utoipa_path() {
        let (_, mismatches) = build();
        assert!(mismatches.is_empty(), "{mismatches:#?}");
    }
}
