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
    // Referenced by hand (initiatives' `variant_list`), so listed here.
    components(schemas(super::initiatives::VariantInput)),
    modifiers(&BearerAuth),
    tags(
        (name = "segments", description = "Customer segments"),
        (name = "initiatives", description = "Initiatives and their lifecycle"),
        (name = "events", description = "Exposures, pre-orders, cancellations and responses"),
        (name = "reports", description = "Reports, verdicts, the portfolio and planning"),
        (name = "keys", description = "API keys (admins)"),
        (name = "audit", description = "The audit log of changes (admins)"),
        (name = "users", description = "People who sign in to the pages (admins)"),
        (name = "hooks", description = "Provider webhooks (Stripe, Typeform, signed forms), the inbox of what could not be placed, survey mappings"),
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
        complete_responses(&mut operation, &method, path, rule);
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

/// Every error a route can answer, derived in this one place from its rule and its kind
/// (a body or not, path parameters or not, query parameters or not); a handler declares
/// only its own answers (success, and what a 409 or 422 means for it).
fn errors_of(operation: &Operation, method: &Method, path: &str, rule: Rule) -> Vec<Status> {
    use utoipa::openapi::path::ParameterIn;
    let body = operation.request_body.is_some();
    let query = operation
        .parameters
        .iter()
        .flatten()
        .any(|p| p.parameter_in == ParameterIn::Query);
    let keyed = !matches!(rule, Rule::Public | Rule::Page | Rule::OpenPage);
    let restricted = keyed && rule != Rule::Read;
    let writes = keyed && method != Method::GET;
    let mut statuses = Vec::new();
    if body || query {
        statuses.push(Status::BadRequest);
    }
    if keyed {
        statuses.push(Status::Unauthorized);
    }
    if restricted {
        statuses.push(Status::Forbidden);
    }
    if path.contains('{') {
        statuses.push(Status::NotFound);
    }
    if body {
        statuses.extend([
            Status::PayloadTooLarge,
            Status::UnsupportedMediaType,
            Status::Invalid,
        ]);
    }
    if keyed {
        statuses.extend([Status::TooManyRequests, Status::Unavailable]);
    }
    if writes {
        statuses.push(Status::StorageFull);
    }
    statuses
}

/// An error status the document states.
#[derive(Debug, Clone, Copy)]
enum Status {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    Invalid,
    TooManyRequests,
    Unavailable,
    StorageFull,
}

impl Status {
    fn code(self) -> &'static str {
        match self {
            Status::BadRequest => "400",
            Status::Unauthorized => "401",
            Status::Forbidden => "403",
            Status::NotFound => "404",
            Status::PayloadTooLarge => "413",
            Status::UnsupportedMediaType => "415",
            Status::Invalid => "422",
            Status::TooManyRequests => "429",
            Status::Unavailable => "503",
            Status::StorageFull => "507",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Status::BadRequest => {
                "Malformed request: the body is not JSON of the documented shape, or a query parameter is malformed (`bad-request`)"
            }
            Status::Unauthorized => {
                "No API key, a malformed key, or a key that is unknown or revoked (`unauthorized`)"
            }
            Status::Forbidden => "The key's role or team may not do this (`forbidden`)",
            Status::NotFound => "Nothing by that key or id (`not-found`)",
            Status::PayloadTooLarge => {
                "The body is larger than the configured limit (`payload-too-large`)"
            }
            Status::UnsupportedMediaType => {
                "The body is not sent as `application/json` (`unsupported-media-type`)"
            }
            Status::Invalid => {
                "Well-formed but invalid: `errors` names every field and why (`validation`)"
            }
            Status::TooManyRequests => {
                "The key sent more requests than its rate allows; retry after `Retry-After` seconds (`rate-limited`)"
            }
            Status::Unavailable => {
                "The database or the ingest writer is not available; nothing was changed; retry after `Retry-After` seconds (`unavailable`)"
            }
            Status::StorageFull => {
                "The database has no space left; nothing was stored; retry after `Retry-After` seconds (`storage-full`)"
            }
        }
    }

    fn retry_after(self) -> bool {
        matches!(
            self,
            Status::TooManyRequests | Status::Unavailable | Status::StorageFull
        )
    }
}

/// A problem+json response.
fn problem_response(description: &str, retry_after: bool) -> utoipa::openapi::Response {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, ResponseBuilder};
    let mut response = ResponseBuilder::new().description(description).content(
        "application/problem+json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build(),
    );
    if retry_after {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(0)),
                )
                .description(Some("Seconds to wait before trying again"))
                .build(),
        );
    }
    response.build()
}

/// Adds every error the route can answer to its responses, as problem+json; keeps what
/// the handler says about a status (its description) and fills in what it left out.
fn complete_responses(operation: &mut Operation, method: &Method, path: &str, rule: Rule) {
    use utoipa::openapi::RefOr;
    let statuses = errors_of(operation, method, path, rule);
    let responses = &mut operation.responses.responses;
    for (code, response) in responses.iter_mut() {
        // Successes only: an error status the handler declared without words gets the
        // standard description below, never "OK".
        if let RefOr::T(r) = response
            && r.description.is_empty()
            && code.starts_with('2')
        {
            r.description = match code.as_str() {
                "201" => "Created",
                "204" => "Done; no content",
                _ => "OK",
            }
            .to_owned();
        }
    }
    for status in statuses {
        let own = match responses.get(status.code()) {
            Some(RefOr::T(r)) if !r.description.is_empty() => Some(r.description.clone()),
            _ => None,
        };
        let description = own.as_deref().unwrap_or(status.description());
        responses.insert(
            status.code().to_owned(),
            RefOr::T(problem_response(description, status.retry_after())),
        );
    }
    // Problems the handler declares itself (409, or 503 from /readyz) get the standard
    // shape and, for 503, the `Retry-After` header.
    for (code, retry_after, fallback) in [
        (
            "409",
            false,
            "Conflicts with the current state (`conflict`)",
        ),
        ("503", true, Status::Unavailable.description()),
    ] {
        if let Some(RefOr::T(r)) = responses.get(code) {
            let description = if r.description.is_empty() {
                fallback.to_owned()
            } else {
                r.description.clone()
            };
            responses.insert(
                code.to_owned(),
                RefOr::T(problem_response(&description, retry_after)),
            );
        }
    }
}

/// Builds the document from the route table; also the routes whose `#[utoipa::path]`
/// disagrees with their declaration (none, tested).
fn build() -> (Document, Vec<String>) {
    let mut builder = Builder::default();
    declare_api(&mut builder);
    let mut doc = ApiDoc::openapi();
    doc.paths = builder.paths;
    doc.servers = Some(vec![
        utoipa::openapi::server::ServerBuilder::new()
            .url("/")
            .description(Some(
                "This offerlab instance (paths are absolute from its root)",
            ))
            .build(),
    ]);
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
///
/// This document (OpenAPI 3.1): every operation, its access rule (`security`), every answer it
/// can give, and the schemas. Public: no key needed.
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
