//! The OpenAPI 3 description of the whole API, generated from the endpoint declarations and the wire
//! types, served at `GET /api/docs/spec.json` (where Argilla serves its own).

use utoipa::openapi::path::{OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{
    ComponentsBuilder, Content, HttpMethod, InfoBuilder, OpenApi, OpenApiBuilder, PathItem,
    PathsBuilder, Ref, Required,
};

use super::endpoint::{Answer, Body, Endpoint, Param, ParamType};
use super::routes;
use super::schema::*;

fn json_ref(name: &str) -> Content {
    Content::new(Some(Ref::from_schema_name(name)))
}

fn error_description(status: u16) -> &'static str {
    match status {
        400 => "Bad request",
        401 => "Could not validate credentials",
        403 => "Operation not allowed",
        404 => "Entity not found",
        409 => "Entity already exists",
        422 => "Validation error",
        413 => "Request body too large",
        429 => "Too many failed logins for this username",
        _ => "Error",
    }
}

fn method(m: &str) -> HttpMethod {
    match m {
        "GET" => HttpMethod::Get,
        "POST" => HttpMethod::Post,
        "PUT" => HttpMethod::Put,
        "PATCH" => HttpMethod::Patch,
        "DELETE" => HttpMethod::Delete,
        _ => HttpMethod::Options,
    }
}

fn param_schema(kind: ParamType) -> utoipa::openapi::ObjectBuilder {
    use utoipa::openapi::schema::Type;
    use utoipa::openapi::{KnownFormat, ObjectBuilder, SchemaFormat};
    match kind {
        ParamType::Uuid => ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
        ParamType::String => ObjectBuilder::new().schema_type(Type::String),
        ParamType::Integer => ObjectBuilder::new().schema_type(Type::Integer),
        ParamType::Boolean => ObjectBuilder::new().schema_type(Type::Boolean),
    }
}

fn parameter(
    param: &Param,
    at: ParameterIn,
    required: Required,
) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(param.name)
        .description(Some(param.description))
        .parameter_in(at)
        .required(required)
        .schema(Some(param_schema(param.kind)))
        .build()
}

/// The operation of one endpoint.
fn operation(tag: &str, endpoint: &Endpoint) -> utoipa::openapi::path::Operation {
    let mut op = OperationBuilder::new()
        .tag(tag)
        .summary(Some(endpoint.summary))
        .operation_id(Some(format!(
            "{}_{}",
            endpoint.method.to_ascii_lowercase(),
            endpoint
                .path
                .trim_start_matches("/api/")
                .replace(['/', '{', '}', '.', '-', ':'], "_")
        )));
    for param in endpoint.path_params {
        op = op.parameter(parameter(param, ParameterIn::Path, Required::True));
    }
    for param in endpoint.query_params {
        op = op.parameter(parameter(param, ParameterIn::Query, Required::False));
    }
    let body = |content_type: &str, name: &str| {
        RequestBodyBuilder::new()
            .content(content_type, json_ref(name))
            .required(Some(Required::True))
            .build()
    };
    match endpoint.body {
        Some(Body::Form(name)) => {
            op = op.request_body(Some(body("application/x-www-form-urlencoded", name)))
        }
        Some(Body::Json(name)) => op = op.request_body(Some(body("application/json", name))),
        None => {}
    }
    let (ok_type, ok) = match endpoint.answer {
        Answer::Html => (
            "text/html",
            Content::new(Some(utoipa::openapi::ObjectBuilder::new().schema_type(
                utoipa::openapi::schema::SchemaType::Type(utoipa::openapi::Type::String),
            ))),
        ),
        Answer::Schema(name) => ("application/json", json_ref(name)),
        Answer::ListOf(name) => (
            "application/json",
            Content::new(Some(
                utoipa::openapi::schema::ArrayBuilder::new().items(Ref::from_schema_name(name)),
            )),
        ),
        Answer::AnyObject => (
            "application/json",
            Content::new(Some(utoipa::openapi::ObjectBuilder::new())),
        ),
    };
    op = op.response(
        "200",
        ResponseBuilder::new()
            .description("Success")
            .content(ok_type, ok)
            .build(),
    );
    let mut statuses: Vec<u16> = endpoint.errors.to_vec();
    if endpoint.handler.is_authenticated() {
        statuses.push(401);
        op = op.securities(Some([
            SecurityRequirement::new("api_key", Vec::<String>::new()),
            SecurityRequirement::new("bearer", Vec::<String>::new()),
        ]));
    }
    if endpoint.reads_input() {
        statuses.push(422);
    }
    statuses.push(413);
    statuses.sort_unstable();
    statuses.dedup();
    for status in statuses {
        op = op.response(
            status.to_string(),
            ResponseBuilder::new()
                .description(error_description(status))
                .content("application/json", json_ref("ErrorEnvelope"))
                .build(),
        );
    }
    op.build()
}

/// Builds the description.
pub fn spec() -> OpenApi {
    let mut paths = PathsBuilder::new();
    for (tag, endpoints) in routes::MODULES {
        for endpoint in *endpoints {
            paths = paths.path(
                endpoint.path,
                PathItem::new(method(endpoint.method), operation(tag, endpoint)),
            );
        }
    }

    let components = ComponentsBuilder::new()
        .schema_from::<UserOut>()
        .schema_from::<WorkspaceOut>()
        .schema_from::<Workspaces>()
        .schema_from::<Token>()
        .schema_from::<Credentials>()
        .schema_from::<DatasetCreate>()
        .schema_from::<DatasetUpdate>()
        .schema_from::<DatasetCopy>()
        .schema_from::<Bulk>()
        .schema_from::<Scan>()
        .schema_from::<DatasetSettings>()
        .schema_from::<Info>()
        .schema_from::<StorageStatus>()
        .schema_from::<Status>()
        .schema_from::<AuditEntryOut>()
        .schema_from::<AuditLog>()
        .schema_from::<UserCreate>()
        .schema_from::<UserUpdate>()
        .schema_from::<WorkspaceCreate>()
        .schema_from::<PasswordChange>()
        .schema_from::<PasswordReset>()
        .schema_from::<Login>()
        .schema_from::<ErrorEnvelope>()
        .schema_from::<ErrorDetail>()
        .security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Argilla-Api-Key"))),
        )
        .security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        )
        .build();

    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("workgate")
                .version(crate::VERSION)
                .description(Some("Argilla-compatible users, workspaces and authentication (Argilla 1.6–1.8 wire format)."))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components))
        .build()
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn spec() -> Value {
        serde_json::to_value(super::spec()).unwrap()
    }

    #[test]
    fn every_endpoint_is_described() {
        let spec = spec();
        assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
        for endpoint in super::routes::endpoints() {
            let op = &spec["paths"][endpoint.path][endpoint.method.to_ascii_lowercase()];
            assert!(
                op.is_object(),
                "{} {} missing",
                endpoint.method,
                endpoint.path
            );
            assert!(op["responses"]["200"].is_object());
            let documented = op["parameters"].as_array().map_or(0, Vec::len);
            assert_eq!(
                documented,
                endpoint.path_params.len() + endpoint.query_params.len(),
                "{} {}",
                endpoint.method,
                endpoint.path
            );
        }
        assert!(spec["components"]["schemas"]["UserOut"]["properties"]["api_key"].is_object());
    }

    /// Every `$ref` anywhere in the description points at something it defines.
    #[test]
    fn every_ref_resolves() {
        fn walk(node: &Value, root: &Value, refs: &mut usize) {
            match node {
                Value::Object(map) => {
                    if let Some(Value::String(target)) = map.get("$ref") {
                        *refs += 1;
                        let pointer = target
                            .strip_prefix('#')
                            .unwrap_or_else(|| panic!("{target} is not a local reference"));
                        assert!(root.pointer(pointer).is_some(), "{target} does not resolve");
                    }
                    map.values().for_each(|v| walk(v, root, refs));
                }
                Value::Array(items) => items.iter().for_each(|v| walk(v, root, refs)),
                _ => {}
            }
        }
        let spec = spec();
        let mut refs = 0;
        walk(&spec, &spec, &mut refs);
        assert!(refs > 40, "only {refs} references");
    }
}
