//! The OpenAPI 3 description of the whole API, generated from the route table and the wire
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

use super::routes::ROUTES;
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

/// Builds the description.
pub fn spec() -> OpenApi {
    let mut paths = PathsBuilder::new();
    for route in ROUTES {
        let mut op = OperationBuilder::new()
            .summary(Some(route.summary))
            .operation_id(Some(format!(
                "{}_{}",
                route.method.to_ascii_lowercase(),
                route
                    .path
                    .trim_start_matches("/api/")
                    .replace(['/', '{', '}', '.', '-'], "_")
            )));
        for segment in route.path.split('/') {
            if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                op = op.parameter(
                    ParameterBuilder::new()
                        .name(name)
                        .parameter_in(ParameterIn::Path)
                        .required(Required::True)
                        .schema(Some(
                            utoipa::openapi::ObjectBuilder::new()
                                .schema_type(utoipa::openapi::schema::Type::String)
                                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                                    utoipa::openapi::KnownFormat::Uuid,
                                ))),
                        )),
                );
            }
        }
        if route.path == "/api/audit" {
            for (name, desc) in [
                ("limit", "1 to 1000 entries (default 100)"),
                ("offset", "entries to skip (default 0)"),
            ] {
                op = op.parameter(
                    ParameterBuilder::new()
                        .name(name)
                        .description(Some(desc))
                        .parameter_in(ParameterIn::Query)
                        .required(Required::False)
                        .schema(Some(
                            utoipa::openapi::ObjectBuilder::new()
                                .schema_type(utoipa::openapi::schema::Type::Integer),
                        )),
                );
            }
        }
        match route.request {
            Some(form) if form.starts_with("form:") => {
                op = op.request_body(Some(
                    RequestBodyBuilder::new()
                        .content(
                            "application/x-www-form-urlencoded",
                            json_ref(&form["form:".len()..]),
                        )
                        .required(Some(Required::True))
                        .build(),
                ));
            }
            Some(name) => {
                op = op.request_body(Some(
                    RequestBodyBuilder::new()
                        .content("application/json", json_ref(name))
                        .required(Some(Required::True))
                        .build(),
                ));
            }
            None => {}
        }
        let ok = match route.response {
            "UserList" => Content::new(Some(
                utoipa::openapi::schema::ArrayBuilder::new()
                    .items(Ref::from_schema_name("UserOut")),
            )),
            "WorkspaceList" => Content::new(Some(
                utoipa::openapi::schema::ArrayBuilder::new()
                    .items(Ref::from_schema_name("WorkspaceOut")),
            )),
            "User" => json_ref("UserOut"),
            "Workspace" => json_ref("WorkspaceOut"),
            "OpenApi" => Content::new(Some(utoipa::openapi::ObjectBuilder::new())),
            other => json_ref(other),
        };
        op = op.response(
            "200",
            ResponseBuilder::new()
                .description("Success")
                .content("application/json", ok)
                .build(),
        );
        let mut statuses: Vec<u16> = route.errors.to_vec();
        if route.authenticated {
            statuses.push(401);
            op = op.securities(Some([
                SecurityRequirement::new("api_key", Vec::<String>::new()),
                SecurityRequirement::new("bearer", Vec::<String>::new()),
            ]));
        }
        if route.authenticated || route.request.is_some() {
            statuses.push(422);
        }
        statuses.sort_unstable();
        for status in statuses {
            op = op.response(
                status.to_string(),
                ResponseBuilder::new()
                    .description(error_description(status))
                    .content("application/json", json_ref("ErrorEnvelope"))
                    .build(),
            );
        }
        paths = paths.path(route.path, PathItem::new(method(route.method), op.build()));
    }

    let components = ComponentsBuilder::new()
        .schema_from::<UserOut>()
        .schema_from::<WorkspaceOut>()
        .schema_from::<Workspaces>()
        .schema_from::<Token>()
        .schema_from::<Credentials>()
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
    #[test]
    fn every_route_is_described() {
        let spec = serde_json::to_value(super::spec()).unwrap();
        assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
        for route in super::ROUTES {
            let op = &spec["paths"][route.path][route.method.to_ascii_lowercase()];
            assert!(op.is_object(), "{} {} missing", route.method, route.path);
            assert!(op["responses"]["200"].is_object());
        }
        assert!(spec["components"]["schemas"]["UserOut"]["properties"]["api_key"].is_object());
    }
}
