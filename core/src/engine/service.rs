//! The service endpoints: `/api/_info`, `/api/_status`, the OpenAPI description and the
//! interactive API reference rendered from it. None needs credentials.

use super::error::ApiResult;
use super::{Engine, ok, openapi, schema};
use crate::http::Response;

impl Engine {
    pub(crate) async fn info(&self) -> ApiResult<Response> {
        ok(&schema::Info {
            version: crate::API_LEVEL,
            workgate: crate::VERSION,
        })
    }

    pub(crate) async fn status(&self) -> ApiResult<Response> {
        let ok_ = self.stores.directory.ping().await.is_ok();
        ok(&schema::Status {
            version: crate::API_LEVEL,
            storage: schema::StorageStatus {
                kind: self.stores.kind(),
                ok: ok_,
            },
        })
    }

    pub(crate) async fn openapi(&self) -> ApiResult<Response> {
        Ok(Response::json(
            200,
            &serde_json::to_value(openapi::spec()).unwrap_or_default(),
        ))
    }

    /// The API reference: Swagger UI (npm's `swagger-ui-dist`, vendored into the web app's
    /// `vendor/` by `cargo xtask build-web`) over [`OPEN_API`]'s description, loaded from this
    /// origin only; the page itself is a constant with nothing inline, so the web app's strict
    /// policy holds.
    pub(crate) async fn api_reference(&self) -> ApiResult<Response> {
        Ok(Response::html(200, API_REFERENCE_PAGE))
    }
}

const API_REFERENCE_PAGE: &str = include_str!("api_reference.html");
// ---------------------------------------------------------------------------------------------
// The service endpoints, declared once (see `endpoint`).

use super::endpoint::{Answer, Endpoint, Handler};

/// Every endpoint of this module, in the order the OpenAPI description lists them.
pub(super) const ENDPOINTS: &[Endpoint] = &[INFO, STATUS, OPEN_API, API_REFERENCE];

pub(super) const INFO: Endpoint = Endpoint::new(
    "GET",
    "/api/_info",
    "Server version",
    Handler::Public(|e, _| Box::pin(e.info())),
    Answer::Schema("Info"),
);

pub(super) const STATUS: Endpoint = Endpoint::new(
    "GET",
    "/api/_status",
    "Server version and storage health",
    Handler::Public(|e, _| Box::pin(e.status())),
    Answer::Schema("Status"),
);

pub(super) const OPEN_API: Endpoint = Endpoint::new(
    "GET",
    "/api/docs/spec.json",
    "This OpenAPI description",
    Handler::Public(|e, _| Box::pin(e.openapi())),
    Answer::AnyObject,
);

pub(super) const API_REFERENCE: Endpoint = Endpoint::new(
    "GET",
    "/api/docs",
    "This API reference, interactive (Swagger UI over the OpenAPI description)",
    Handler::Public(|e, _| Box::pin(e.api_reference())),
    Answer::Html,
);
