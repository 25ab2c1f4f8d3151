//! HTTP request metrics, labelled by route template (bounded), method and status class.

use std::time::Instant;

use metrics::{counter, histogram};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};

use crate::instruments::{HTTP_DURATION, HTTP_REQUESTS};

/// The reference's `route` label: known paths verbatim, ids folded, the rest `other`.
pub fn route_label(path: &str) -> &'static str {
    const KNOWN: [&str; 16] = [
        "/healthz",
        "/v1/tool-call",
        "/v1/mcp",
        "/metrics",
        "/v1/admin/revoke",
        "/v1/admin/revocations",
        "/v1/admin/mint",
        "/v1/admin/audit",
        "/v1/admin/agents",
        "/v1/admin/integrations",
        "/v1/admin/approvals",
        "/v1/admin/tenants",
        "/v1/admin/policies/dry-run",
        "/v1/admin/policies/drafts",
        "/v1/admin/policies/active",
        "/v1/admin/policies/rollback",
    ];
    if let Some(known) = KNOWN.iter().find(|k| **k == path) {
        return known;
    }
    let decide = path
        .strip_prefix("/v1/admin/approvals/")
        .is_some_and(|rest| rest.ends_with("/decide") && rest.matches('/').count() == 1);
    if decide {
        return "/v1/admin/approvals/decide";
    }
    let draft = path
        .strip_prefix("/v1/admin/policies/drafts/")
        .is_some_and(|id| !id.is_empty() && !id.contains('/'));
    if draft {
        return "/v1/admin/policies/drafts/{id}";
    }
    "other"
}

/// The standard methods by name; any other token (clients may send anything) is
/// `other`, so the label stays bounded.
fn method_label(method: &poem::http::Method) -> &'static str {
    use poem::http::Method;
    let known = [
        (Method::GET, "GET"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::PATCH, "PATCH"),
        (Method::DELETE, "DELETE"),
        (Method::HEAD, "HEAD"),
        (Method::OPTIONS, "OPTIONS"),
    ];
    known
        .iter()
        .find(|(m, _)| m == method)
        .map_or("other", |(_, name)| name)
}

fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "unknown",
    }
}

/// Middleware recording every request.
pub struct RecordHttp;

impl<E: Endpoint> Middleware<E> for RecordHttp {
    type Output = RecordHttpEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        RecordHttpEndpoint(ep)
    }
}

pub struct RecordHttpEndpoint<E>(E);

impl<E: Endpoint> Endpoint for RecordHttpEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let started = Instant::now();
        let route = route_label(req.uri().path());
        let method = method_label(req.method()).to_owned();
        let result = self.0.call(req).await.map(IntoResponse::into_response);
        let status = match &result {
            Ok(r) => r.status().as_u16(),
            Err(e) => e.status().as_u16(),
        };
        let labels = [("method", method), ("route", route.to_owned())];
        counter!(
            HTTP_REQUESTS,
            &[
                labels[0].clone(),
                labels[1].clone(),
                ("status", status_class(status).to_owned())
            ]
        )
        .increment(1);
        histogram!(HTTP_DURATION, &labels).record(started.elapsed().as_secs_f64());
        result
    }
}

#[cfg(test)]
mod tests {
    use super::route_label;

    #[test]
    fn routes_fold_ids_and_unknown_paths() {
        assert_eq!(route_label("/v1/mcp"), "/v1/mcp");
        assert_eq!(
            route_label("/v1/admin/approvals/abc/decide"),
            "/v1/admin/approvals/decide"
        );
        assert_eq!(
            route_label("/v1/admin/policies/drafts/0123"),
            "/v1/admin/policies/drafts/{id}"
        );
        assert_eq!(route_label("/v1/admin/audit/verify"), "other");
        assert_eq!(route_label("/v1/nope/123"), "other");
    }
}
