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

/// Something routes are declared to: the actix resources, or the table.
pub trait Register {
    fn add<F, Args>(&mut self, method: Method, path: &'static str, rule: Rule, handler: F)
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static;
}

/// The route table, for tests and documentation.
#[derive(Debug, Default)]
pub struct Table(pub Vec<Route>);

impl Register for Table {
    fn add<F, Args>(&mut self, method: Method, path: &'static str, rule: Rule, _handler: F)
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let method = match method {
            m if m == Method::GET => "GET",
            m if m == Method::POST => "POST",
            m if m == Method::PATCH => "PATCH",
            m if m == Method::PUT => "PUT",
            m if m == Method::DELETE => "DELETE",
            _ => "OTHER",
        };
        self.0.push(Route { method, path, rule });
    }
}

/// Routes grouped into one actix resource per path.
#[derive(Default)]
pub struct Resources {
    paths: Vec<(RouteRules, Vec<actix_web::Route>)>,
}

impl Register for Resources {
    fn add<F, Args>(&mut self, method: Method, path: &'static str, rule: Rule, handler: F)
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
}

impl Resources {
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

/// Every route under `/api/v1` and the health and metrics endpoints.
pub fn declare_api(r: &mut impl Register) {
    use super::{
        decisions, events, health, initiatives, keys, metrics, reports, segments, webhooks,
    };
    use Rule::*;
    let (get, post, patch, delete) = (Method::GET, Method::POST, Method::PATCH, Method::DELETE);

    r.add(get.clone(), "/healthz", Public, health::healthz);
    r.add(get.clone(), "/readyz", Public, health::readyz);
    r.add(get.clone(), "/metrics", Public, metrics::metrics);
    r.add(
        get.clone(),
        "/api/v1/openapi.json",
        Public,
        super::openapi_json,
    );

    r.add(
        post.clone(),
        "/api/v1/segments",
        Contribute,
        segments::create_segment,
    );
    r.add(
        get.clone(),
        "/api/v1/segments",
        Read,
        segments::list_segments,
    );

    r.add(
        post.clone(),
        "/api/v1/initiatives",
        BodyTeam,
        initiatives::create_initiative,
    );
    r.add(
        get.clone(),
        "/api/v1/initiatives",
        Read,
        initiatives::list_initiatives,
    );
    let one = "/api/v1/initiatives/{key}";
    r.add(get.clone(), one, Read, initiatives::get_initiative);
    r.add(patch, one, OwnerAndBodyTeam, initiatives::update_initiative);
    r.add(
        post.clone(),
        "/api/v1/initiatives/{key}/launch",
        OwnerTeam,
        initiatives::launch_initiative,
    );
    r.add(
        post.clone(),
        "/api/v1/initiatives/{key}/conclude",
        OwnerTeam,
        initiatives::conclude_initiative,
    );
    r.add(
        get.clone(),
        "/api/v1/initiatives/{key}/decisions",
        Read,
        decisions::list_decisions,
    );
    let events_path = "/api/v1/initiatives/{key}/events";
    r.add(post.clone(), events_path, OwnerTeam, events::post_events);
    r.add(get.clone(), events_path, Read, events::list_events);
    r.add(
        post.clone(),
        "/api/v1/initiatives/{key}/assignments",
        OwnerTeam,
        events::assign,
    );
    r.add(
        get.clone(),
        "/api/v1/initiatives/{key}/summary",
        Read,
        events::summary,
    );
    r.add(
        get.clone(),
        "/api/v1/initiatives/{key}/report",
        Read,
        reports::get_report,
    );
    r.add(
        get.clone(),
        "/api/v1/initiatives/{key}/report.csv",
        Read,
        reports::report_csv_export,
    );
    r.add(
        get.clone(),
        "/api/v1/portfolio",
        Read,
        reports::get_portfolio,
    );
    r.add(post.clone(), "/api/v1/plan", Read, reports::post_plan);

    r.add(post.clone(), "/api/v1/keys", Admin, keys::create_key);
    r.add(get.clone(), "/api/v1/keys", Admin, keys::list_keys);
    r.add(delete.clone(), "/api/v1/keys/{id}", Admin, keys::revoke_key);

    r.add(
        post.clone(),
        "/api/v1/webhooks",
        Admin,
        webhooks::create_webhook,
    );
    r.add(
        get.clone(),
        "/api/v1/webhooks",
        Admin,
        webhooks::list_webhooks,
    );
    r.add(
        delete,
        "/api/v1/webhooks/{id}",
        Admin,
        webhooks::delete_webhook,
    );
    r.add(
        get,
        "/api/v1/webhooks/{id}/deliveries",
        Admin,
        webhooks::list_deliveries,
    );
    r.add(
        post,
        "/api/v1/webhooks/{id}/deliveries/{delivery_id}/replay",
        Admin,
        webhooks::replay_delivery,
    );
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
