//! The router: every endpoint of every resource module ([`ENDPOINTS`]), matched against a
//! request's method and path. Dispatch, body limits and the OpenAPI description come from the
//! same declarations (see `endpoint`).

use super::endpoint::{DEFAULT_BODY_LIMIT, Endpoint};
use super::{auth, datasets, dump, service, users, workspaces};

/// The whole API (API.md sections 3, 5 and 9), module by module, each with the tag that groups
/// its operations in the OpenAPI description.
pub const MODULES: &[(&str, &[Endpoint])] = &[
    ("service", service::ENDPOINTS),
    ("security", auth::ENDPOINTS),
    ("users", users::ENDPOINTS),
    ("workspaces", workspaces::ENDPOINTS),
    ("datasets", datasets::ENDPOINTS),
    ("moving", dump::ENDPOINTS),
];

/// Every endpoint, in the order of [`MODULES`].
pub fn endpoints() -> impl Iterator<Item = &'static Endpoint> {
    MODULES.iter().flat_map(|(_, m)| m.iter())
}

/// A path's parameters: (name in the template, raw value).
pub type Params<'a> = Vec<(&'static str, &'a str)>;

/// The outcome of matching a request line against the endpoints.
#[derive(Debug)]
pub enum RouteMatch<'a> {
    Found {
        endpoint: &'static Endpoint,
        params: Params<'a>,
    },
    /// The path exists with other methods.
    WrongMethod {
        allow: Vec<&'static str>,
    },
    NotFound,
}

impl RouteMatch<'_> {
    /// The largest body this request may carry: its endpoint's limit, else the default.
    pub fn body_limit(&self) -> usize {
        match self {
            RouteMatch::Found { endpoint, .. } => endpoint.body_limit,
            _ => DEFAULT_BODY_LIMIT,
        }
    }
}

/// Matches `method` and `path` (one trailing slash ignored). When several templates match a
/// path with this method, the one with the most literal characters wins
/// (`/api/datasets/{name}:copy` over `/api/datasets/{name}`).
pub fn match_route<'a>(method: &str, path: &'a str) -> RouteMatch<'a> {
    let path = if path.len() > 1 {
        path.strip_suffix('/').unwrap_or(path)
    } else {
        path
    };
    let mut split = [""; MAX_SEGMENTS];
    let mut len = 0;
    for segment in path.split('/') {
        if len == MAX_SEGMENTS {
            return RouteMatch::NotFound;
        }
        split[len] = segment;
        len += 1;
    }
    let compiled = compiled_routes();
    // A template without placeholders that is the path itself has the most literal
    // characters of any that match it (a placeholder's value is never empty): it wins.
    if let Some(endpoint) = compiled
        .literal
        .get(path)
        .and_then(|endpoints| endpoints.iter().find(|e| e.method == method))
    {
        return RouteMatch::Found {
            endpoint,
            params: Vec::new(),
        };
    }
    let segments = &split[..len];
    let Some(candidates) = compiled.by_len.get(len) else {
        return RouteMatch::NotFound;
    };
    let mut allow = Vec::new();
    let mut best: Option<&CompiledRoute> = None;
    for compiled in candidates {
        if !compiled.matches(segments) {
            continue;
        }
        let endpoint = compiled.endpoint;
        if endpoint.method != method {
            if !allow.contains(&endpoint.method) {
                allow.push(endpoint.method);
            }
            continue;
        }
        if best.is_none_or(|b| compiled.literal > b.literal) {
            best = Some(compiled);
        }
    }
    match best {
        Some(compiled) => RouteMatch::Found {
            endpoint: compiled.endpoint,
            params: compiled.params(segments),
        },
        None if allow.is_empty() => RouteMatch::NotFound,
        None => RouteMatch::WrongMethod { allow },
    }
}

/// The most segments a path can have and still match (a template may have at most this
/// many; `every_template_fits_the_matcher` checks).
const MAX_SEGMENTS: usize = 16;

/// An endpoint's template parsed once into its segments, with its literal length, so a
/// request is matched without re-reading every template or allocating.
struct CompiledRoute {
    endpoint: &'static Endpoint,
    segments: Vec<Segment>,
    literal: usize,
}

impl CompiledRoute {
    fn matches(&self, segments: &[&str]) -> bool {
        self.segments.len() == segments.len()
            && self
                .segments
                .iter()
                .zip(segments)
                .all(|(template, segment)| template.matches(segment).is_some())
    }

    /// The path parameters of `segments`, which [`CompiledRoute::matches`].
    fn params<'a>(&self, segments: &[&'a str]) -> Params<'a> {
        self.segments
            .iter()
            .zip(segments)
            .filter_map(|(template, segment)| template.matches(segment).flatten())
            .collect()
    }
}

/// One template segment: literal text, or literal text around one `{param}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment {
    Literal(&'static str),
    Param {
        prefix: &'static str,
        name: &'static str,
        suffix: &'static str,
    },
}

impl Segment {
    fn parse(template: &'static str) -> Segment {
        let Some(open) = template.find('{') else {
            return Segment::Literal(template);
        };
        match template[open..].find('}') {
            Some(close) => Segment::Param {
                prefix: &template[..open],
                name: &template[open + 1..open + close],
                suffix: &template[open + close + 1..],
            },
            // Not a placeholder: matched as written.
            None => Segment::Literal(template),
        }
    }

    /// Whether `segment` matches: `Some(None)` a literal, `Some(Some((name, value)))` a
    /// placeholder with its (non-empty) value.
    fn matches<'a>(&self, segment: &'a str) -> Option<Option<(&'static str, &'a str)>> {
        match *self {
            Segment::Literal(text) => (text == segment).then_some(None),
            Segment::Param {
                prefix,
                name,
                suffix,
            } => {
                let value = segment.strip_prefix(prefix)?.strip_suffix(suffix)?;
                (!value.is_empty()).then_some(Some((name, value)))
            }
        }
    }
}

/// The endpoints, compiled for matching.
struct Compiled {
    /// Every endpoint's [`CompiledRoute`], by number of segments (in the order of [`MODULES`]
    /// within one number).
    by_len: Vec<Vec<CompiledRoute>>,
    /// The endpoints of each template without placeholders, by that template.
    literal: std::collections::HashMap<&'static str, Vec<&'static Endpoint>>,
}

/// The [`Compiled`] endpoints, made on first use.
fn compiled_routes() -> &'static Compiled {
    static COMPILED: std::sync::OnceLock<Compiled> = std::sync::OnceLock::new();
    COMPILED.get_or_init(|| {
        let mut compiled = Compiled {
            by_len: Vec::new(),
            literal: std::collections::HashMap::new(),
        };
        for endpoint in endpoints() {
            let segments: Vec<Segment> = endpoint.path.split('/').map(Segment::parse).collect();
            if segments.iter().all(|s| matches!(s, Segment::Literal(_))) {
                compiled
                    .literal
                    .entry(endpoint.path)
                    .or_default()
                    .push(endpoint);
            }
            let by_len = &mut compiled.by_len;
            if by_len.len() <= segments.len() {
                by_len.resize_with(segments.len() + 1, Vec::new);
            }
            by_len[segments.len()].push(CompiledRoute {
                endpoint,
                segments,
                literal: literal_len(endpoint.path),
            });
        }
        compiled
    })
}

/// The number of literal characters of a template (placeholders excluded).
fn literal_len(template: &str) -> usize {
    let mut len = 0;
    let mut in_param = false;
    for c in template.chars() {
        match c {
            '{' => in_param = true,
            '}' => in_param = false,
            _ if !in_param => len += 1,
            _ => {}
        }
    }
    len
}

#[cfg(test)]
fn match_segment<'a>(
    template: &'static str,
    segment: &'a str,
) -> Option<Option<(&'static str, &'a str)>> {
    Segment::parse(template).matches(segment)
}

#[cfg(test)]
fn match_template<'a>(template: &'static str, path: &'a str) -> Option<Params<'a>> {
    let mut params = Vec::new();
    let mut t = template.split('/');
    let mut p = path.split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(params),
            (Some(ts), Some(ps)) => params.extend(match_segment(ts, ps)?),
            _ => return None,
        }
    }
}

/// The names of a template's placeholders, in order.
pub fn template_params(template: &'static str) -> Vec<&'static str> {
    template
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found<'a>(m: RouteMatch<'a>) -> (&'static Endpoint, Vec<(&'static str, &'a str)>) {
        match m {
            RouteMatch::Found { endpoint, params } => (endpoint, params),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn matches_templates_params_and_methods() {
        let (endpoint, params) = found(match_route("POST", "/api/workspaces/abc/users/def/"));
        assert_eq!(
            endpoint.path,
            "/api/workspaces/{workspace_id}/users/{user_id}"
        );
        assert_eq!(params, vec![("workspace_id", "abc"), ("user_id", "def")]);
        match match_route("GET", "/api/security/token") {
            RouteMatch::WrongMethod { allow } => assert_eq!(allow, vec!["POST"]),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            match_route("GET", "/api/nope"),
            RouteMatch::NotFound
        ));
        assert!(matches!(
            match_route("GET", "/api/users//users"),
            RouteMatch::NotFound
        ));
        assert!(matches!(
            match_route("GET", "/api/users/x/extra/deep"),
            RouteMatch::NotFound
        ));
    }

    #[test]
    fn segments_with_literal_colons() {
        let seg = |t, s| match_segment(t, s);
        assert_eq!(
            seg("{name}:copy", "reviews:copy"),
            Some(Some(("name", "reviews")))
        );
        assert_eq!(seg("{name}:copy", ":copy"), None);
        assert_eq!(seg("{name}:copy", "reviews"), None);
        assert_eq!(seg(":search", ":search"), Some(None));
        assert_eq!(seg(":search", "search"), None);
        assert_eq!(seg("{name}", "a:b"), Some(Some(("name", "a:b"))));
        let t = "/api/datasets/{name}/TextClassification:bulk";
        assert_eq!(
            match_template(t, "/api/datasets/reviews/TextClassification:bulk"),
            Some(vec![("name", "reviews")])
        );
        assert_eq!(
            match_template(t, "/api/datasets/reviews/Text2Text:bulk"),
            None
        );
        assert_eq!(
            match_template(
                "/api/datasets/{name}/records/:search",
                "/api/datasets/x/records/:search"
            ),
            Some(vec![("name", "x")])
        );
        assert!(literal_len("/api/datasets/{name}:copy") > literal_len("/api/datasets/{name}"));
    }

    #[test]
    fn every_endpoint_is_unique_and_declares_its_path_params() {
        let all: Vec<_> = endpoints().collect();
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{} {} declared twice",
                    a.method,
                    a.path
                );
            }
            let declared: Vec<_> = a.path_params.iter().map(|p| p.name).collect();
            assert_eq!(declared, template_params(a.path), "{} {}", a.method, a.path);
            assert!(a.body_limit > 0);
        }
    }

    #[test]
    fn every_template_fits_the_matcher() {
        for endpoint in endpoints() {
            assert!(
                endpoint.path.split('/').count() <= MAX_SEGMENTS,
                "{} has more than {MAX_SEGMENTS} segments",
                endpoint.path
            );
        }
        let deep = "/x".repeat(MAX_SEGMENTS + 4);
        assert!(matches!(match_route("GET", &deep), RouteMatch::NotFound));
        assert!(matches!(match_route("GET", ""), RouteMatch::NotFound));
        assert!(matches!(match_route("GET", "/"), RouteMatch::NotFound));
    }

    #[test]
    fn every_endpoint_is_reachable_by_its_own_path() {
        for endpoint in endpoints() {
            let path = endpoint.path.replace('{', "x").replace('}', "");
            let (got, _) = found(match_route(endpoint.method, &path));
            assert!(
                std::ptr::eq(got, endpoint),
                "{} {} is shadowed by {}",
                endpoint.method,
                endpoint.path,
                got.path
            );
        }
    }
}
