//! The route table: every route of the service, its handler and what it needs, declared
//! once.
//!
//! [`declare_api`] and [`crate::web`]'s page list are the only places a route is added.
//! The same declaration builds the actix resources ([`Resources`]) and the table the
//! tests generate their access matrices from ([`Table`]), so a route cannot exist
//! without its rule.
//!
//! Authorization runs *after* routing: each path is one actix resource whose middleware
//! reads the rules of that resource ([`RouteRules`], resource data) and the path
//! parameters actix matched and decoded, the very values the handler receives. Nothing
//! looks at the raw request path, so percent-encoding, doubled slashes or dot segments
//! cannot make a request look like another route (they match the route, with the same
//! decoded parameters, or match nothing and get a 404).
//!
//! Every resource also answers `HEAD` wherever it answers `GET`, `OPTIONS` with an
//! `Allow` list, and any other method with `405 Method Not Allowed` and `Allow`.

use actix_web::http::{Method, header};
use actix_web::{FromRequest, Handler, HttpRequest, HttpResponse, Responder, web};

use super::error::ApiError;

/// What a route needs from its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// No key needed.
    Public,
    /// Any valid key.
    Read,
    /// Writers and admins (shared reference data such as segments).
    Contribute,
    /// Admins only.
    Admin,
    /// The owner team of the initiative in the path (writers of that team, admins).
    OwnerTeam,
    /// The owner team named in the body (creating an initiative).
    BodyTeam,
    /// The initiative's owner team, and the owner team the body would set.
    OwnerAndBodyTeam,
    /// A leadership page: a signed-in session, unless the dashboard is public.
    Page,
    /// A page for admins only: a signed-in admin session, even when the dashboard is
    /// public.
    AdminPage,
    /// A page anyone may open (the sign-in form, the stylesheet). Form posts to it are
    /// still held to the same-origin check.
    OpenPage,
}

/// One route.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    /// The full path, `{name}` for a path parameter.
    pub path: &'static str,
    pub rule: Rule,
}

/// The rules of one resource (one path), keyed by method; stored as resource data, read
/// by the authorization middleware after routing.
#[derive(Debug, Clone)]
pub struct RouteRules {
    pub path: &'static str,
    pub methods: Vec<(Method, Rule)>,
}

impl RouteRules {
    /// The rule for `method`; `HEAD` follows `GET`. `None`: the resource does not
    /// serve this method (its default service answers 405, or `OPTIONS`).
    pub fn rule(&self, method: &Method) -> Option<Rule> {
        let wanted = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        self.methods
            .iter()
            .find(|(m, _)| m == wanted)
            .map(|(_, r)| *r)
    }

    /// The `Allow` header value: the methods served, with `HEAD` and `OPTIONS`.
    fn allow(&self) -> String {
        let mut allow: Vec<&str> = self.methods.iter().map(|(m, _)| m.as_str()).collect();
        if self.methods.iter().any(|(m, _)| m == Method::GET) {
            allow.push("HEAD");
        }
        allow.push("OPTIONS");
        allow.join(", ")
    }
}

/// The OpenAPI entry of one API route: the `__path_<handler>` type `#[utoipa::path]`
/// generates next to the handler (its operation, the schemas it references, its tags).
pub trait Documented:
    utoipa::Path + utoipa::__dev::SchemaReferences + for<'t> utoipa::__dev::Tags<'t>
{
}

impl<T> Documented for T where
    T: utoipa::Path + utoipa::__dev::SchemaReferences + for<'t> utoipa::__dev::Tags<'t>
{
}

/// Who may open a page (pages are HTML, outside the API document).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageRule {
    /// A signed-in session, unless the dashboard is public ([`Rule::Page`]).
    SignedIn,
    /// Anyone ([`Rule::OpenPage`]).
    Open,
    /// A signed-in admin, even when the dashboard is public ([`Rule::AdminPage`]).
    Admin,
}

impl From<PageRule> for Rule {
    fn from(rule: PageRule) -> Self {
        match rule {
            PageRule::SignedIn => Rule::Page,
            PageRule::Open => Rule::OpenPage,
            PageRule::Admin => Rule::AdminPage,
        }
    }
}

/// Something routes are declared to: the actix resources, the table, or the OpenAPI
/// document.
///
/// An API route is declared with [`route!`](crate::route), which passes the handler's
/// OpenAPI entry (`D`) along with its rule: a route cannot be added without both.
pub trait Register {
    /// An API route: its method and path, its rule, its handler and its OpenAPI entry.
    fn add<D, F, Args>(&mut self, method: Method, path: &'static str, rule: Rule, handler: F)
    where
        D: Documented,
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static;

    /// A leadership page (HTML; not part of the API document).
    fn page<F, Args>(&mut self, method: Method, path: &'static str, rule: PageRule, handler: F)
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static;
}

/// Declares one API route with its rule and its OpenAPI entry, which `#[utoipa::path]`
/// generated as `__path_<handler>` beside the handler:
/// `route!(r, GET "/api/v1/segments", Rule::Read, segments::list_segments)`.
#[macro_export]
macro_rules! route {
    ($r:expr, $method:ident $path:literal, $rule:expr, $module:ident :: $handler:ident) => {
        $crate::__pastey::paste! {
            $r.add::<$module::[<__path_ $handler>], _, _>(
                ::actix_web::http::Method::$method,
                $path,
                $rule,
                $module::$handler,
            )
        }
    };
}

/// The method's name, as the table and the document spell it.
fn method_name(method: &Method) -> &'static str {
    match method {
        m if m == Method::GET => "GET",
        m if m == Method::POST => "POST",
        m if m == Method::PATCH => "PATCH",
        m if m == Method::PUT => "PUT",
        m if m == Method::DELETE => "DELETE",
        _ => "OTHER",
    }
}

/// The route table, for tests and documentation.
#[derive(Debug, Default)]
pub struct Table(pub Vec<Route>);

impl Register for Table {
    fn add<D, F, Args>(&mut self, method: Method, path: &'static str, rule: Rule, _handler: F)
    where
        D: Documented,
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.0.push(Route {
            method: method_name(&method),
            path,
            rule,
        });
    }

    fn page<F, Args>(&mut self, method: Method, path: &'static str, rule: PageRule, _handler: F)
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.0.push(Route {
            method: method_name(&method),
            path,
            rule: rule.into(),
        });
    }
}

/// Routes grouped into one actix resource per path.
#[derive(Default)]
pub struct Resources {
    paths: Vec<(RouteRules, Vec<actix_web::Route>)>,
}

impl Register for Resources {
    fn add<D, F, Args>(&mut self, method: Method, path: &'static str, rule: Rule, handler: F)
    where
        D: Documented,
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.push(method, path, rule, handler);
    }

    fn page<F, Args>(&mut self, method: Method, path: &'static str, rule: PageRule, handler: F)
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.push(method, path, rule.into(), handler);
    }
}

impl Resources {
    fn push<F, Args>(&mut self, method: Method, path: &'static str, rule: Rule, handler: F)
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let index = match self.paths.iter().position(|(r, _)| r.path == path) {
            Some(i) => i,
            None => {
                self.paths.push((
                    RouteRules {
                        path,
                        methods: Vec::new(),
                    },
                    Vec::new(),
                ));
                self.paths.len() - 1
            }
        };
        let Some((rules, routes)) = self.paths.get_mut(index) else {
            return;
        };
        if method == Method::GET {
            routes.push(web::route().method(Method::HEAD).to(handler.clone()));
        }
        routes.push(web::route().method(method.clone()).to(handler));
        rules.methods.push((method, rule));
    }

    /// One resource per path, carrying its rules as resource data, answering `OPTIONS`
    /// and `405`. The caller wraps each in its authorization middleware.
    pub fn into_resources(self) -> Vec<actix_web::Resource> {
        self.paths
            .into_iter()
            .map(|(rules, routes)| {
                let mut resource = web::resource(rules.path);
                for route in routes {
                    resource = resource.route(route);
                }
                let allow = rules.allow();
                resource
                    .app_data(rules)
                    .default_service(web::to(move |req: HttpRequest| {
                        let allow = allow.clone();
                        async move { other_method(&req, allow) }
                    }))
            })
            .collect()
    }
}

/// `OPTIONS`: 204 with `Allow`; any other unserved method: 405 with `Allow`.
fn other_method(req: &HttpRequest, allow: String) -> Result<HttpResponse, ApiError> {
    if req.method() == Method::OPTIONS {
        Ok(HttpResponse::NoContent()
            .insert_header((header::ALLOW, allow))
            .finish())
    } else {
        Err(ApiError::MethodNotAllowed {
            method: req.method().to_string(),
            allow,
        })
    }
}

/// Every route under `/api/v1` and the health and metrics endpoints: method, path, rule
/// and handler, whose `#[utoipa::path]` entry goes into the document with them.
pub fn declare_api(r: &mut impl Register) {
    use super::{
        audit, decisions, document, events, health, hooks, initiatives, keys, metrics, reports,
        segments, users, webhooks,
    };
    use Rule::*;

    // Ingest first: the router tries resources in the order declared, each path with a
    // `{key}` by a regular expression, and nearly every request is an ingest request (the
    // seven patterns tried before it were an eighth of a worker's time on single events).
    route!(r, POST "/api/v1/initiatives/{key}/events", OwnerTeam, events::post_events);
    route!(r, GET "/api/v1/initiatives/{key}/events", Read, events::list_events);

    // Provider webhooks: no key, the provider's signature over the raw body instead.
    route!(r, POST "/hooks/stripe", Public, hooks::stripe_hook);
    route!(r, POST "/hooks/typeform", Public, hooks::typeform_hook);
    route!(r, POST "/hooks/form", Public, hooks::form_hook);
    route!(r, GET "/api/v1/inbox", Admin, hooks::list_inbox);
    route!(r, POST "/api/v1/inbox/{id}/replay", Admin, hooks::replay_inbox);
    route!(r, PUT "/api/v1/initiatives/{key}/survey-mapping", OwnerTeam, hooks::put_survey_mapping);
    route!(r, GET "/api/v1/initiatives/{key}/survey-mapping", Read, hooks::get_survey_mapping);

    route!(r, GET "/healthz", Public, health::healthz);
    route!(r, GET "/readyz", Public, health::readyz);
    route!(r, GET "/metrics", Public, metrics::metrics);
    route!(r, GET "/api/v1/openapi.json", Public, document::openapi_json);

    route!(r, POST "/api/v1/segments", Contribute, segments::create_segment);
    route!(r, GET "/api/v1/segments", Read, segments::list_segments);

    route!(r, POST "/api/v1/initiatives", BodyTeam, initiatives::create_initiative);
    route!(r, GET "/api/v1/initiatives", Read, initiatives::list_initiatives);
    route!(r, GET "/api/v1/initiatives/{key}", Read, initiatives::get_initiative);
    route!(r, PATCH "/api/v1/initiatives/{key}", OwnerAndBodyTeam, initiatives::update_initiative);
    route!(r, POST "/api/v1/initiatives/{key}/launch", OwnerTeam, initiatives::launch_initiative);
    route!(r, POST "/api/v1/initiatives/{key}/conclude", OwnerTeam, initiatives::conclude_initiative);
    route!(r, GET "/api/v1/initiatives/{key}/decisions", Read, decisions::list_decisions);
    route!(r, POST "/api/v1/initiatives/{key}/assignments", OwnerTeam, events::assign);
    route!(r, GET "/api/v1/initiatives/{key}/summary", Read, events::summary);
    route!(r, GET "/api/v1/initiatives/{key}/report", Read, reports::get_report);
    route!(r, GET "/api/v1/initiatives/{key}/report.csv", Read, reports::report_csv_export);
    route!(r, GET "/api/v1/portfolio", Read, reports::get_portfolio);
    route!(r, POST "/api/v1/plan", Read, reports::post_plan);

    route!(r, POST "/api/v1/keys", Admin, keys::create_key);
    route!(r, GET "/api/v1/keys", Admin, keys::list_keys);
    route!(r, DELETE "/api/v1/keys/{id}", Admin, keys::revoke_key);
    route!(r, GET "/api/v1/audit", Admin, audit::list_audit);

    route!(r, POST "/api/v1/users/invites", Admin, users::invite_user);
    route!(r, GET "/api/v1/users", Admin, users::list_users);
    route!(r, POST "/api/v1/users/{id}/disable", Admin, users::disable_user);

    route!(r, POST "/api/v1/webhooks", Admin, webhooks::create_webhook);
    route!(r, GET "/api/v1/webhooks", Admin, webhooks::list_webhooks);
    route!(r, DELETE "/api/v1/webhooks/{id}", Admin, webhooks::delete_webhook);
    route!(r, GET "/api/v1/webhooks/{id}/deliveries", Admin, webhooks::list_deliveries);
    route!(r, POST "/api/v1/webhooks/{id}/deliveries/{delivery_id}/replay", Admin, webhooks::replay_delivery);
}

/// Every route of the service (API, health and pages), as declared.
pub fn table() -> Vec<Route> {
    let mut table = Table::default();
    declare_api(&mut table);
    crate::web::declare_pages(&mut table);
    table.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_is_declared_once_per_method() {
        let table = table();
        for (i, a) in table.iter().enumerate() {
            assert!(
                !table
                    .iter()
                    .skip(i + 1)
                    .any(|b| a.path == b.path && a.method == b.method),
                "{} {} declared twice",
                a.method,
                a.path
            );
            assert_ne!(a.method, "OTHER");
        }
    }

    #[test]
    fn head_follows_get_and_allow_lists_options() {
        let rules = RouteRules {
            path: "/x",
            methods: vec![(Method::GET, Rule::Read), (Method::PATCH, Rule::OwnerTeam)],
        };
        assert_eq!(rules.rule(&Method::HEAD), Some(Rule::Read));
        assert_eq!(rules.rule(&Method::PATCH), Some(Rule::OwnerTeam));
        assert_eq!(rules.rule(&Method::DELETE), None);
        assert_eq!(rules.allow(), "GET, PATCH, HEAD, OPTIONS");
    }
}
