//! Which route or resource a request path takes, as API Gateway ranks them: segment by segment,
//! a literal beats `{param}`, which beats `{proxy+}`; among equally specific paths an explicit
//! method beats `ANY`; HTTP APIs fall back to `$default` last. Pure: templates and a path in,
//! the winner and its path parameters out.

use std::collections::BTreeMap;

/// How specific a template is, segment by segment: compared lexicographically, greater wins.
type Rank = Vec<u8>;

const LITERAL: u8 = 2;
const PARAM: u8 = 1;
const GREEDY: u8 = 0;

/// Matches `path` against a resource path template (`/items/{id}`, `/{proxy+}`, `/`). Path
/// parameters are percent-decoded, as API Gateway hands them to the integration.
pub(crate) fn match_path(template: &str, path: &str) -> Option<(Rank, Params)> {
    let path = path.strip_suffix('/').filter(|p| !p.is_empty()).unwrap_or(path);
    let parts: Vec<&str> = template.trim_start_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let mut rank = Vec::with_capacity(parts.len());
    let mut params = BTreeMap::new();
    for (i, part) in parts.iter().enumerate() {
        if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix("+}")) {
            // A greedy variable takes one or more segments and must be the last part.
            if i + 1 != parts.len() || segments.len() <= i {
                return None;
            }
            let rest: Vec<String> = segments[i..].iter().map(|s| decode(s)).collect();
            params.insert(name.to_owned(), rest.join("/"));
            rank.push(GREEDY);
            return Some((rank, params));
        }
        let segment = segments.get(i)?;
        if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            params.insert(name.to_owned(), decode(segment));
            rank.push(PARAM);
        } else if decode(segment) == *part {
            rank.push(LITERAL);
        } else {
            return None;
        }
    }
    (segments.len() == parts.len()).then_some((rank, params))
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Path parameters by name.
pub(crate) type Params = BTreeMap<String, String>;

/// The candidate with the greatest score; the first one on a tie.
fn best<S: Ord, T>(candidates: impl Iterator<Item = (S, T, Params)>) -> Option<(T, Params)> {
    candidates
        .fold(None, |best: Option<(S, T, Params)>, c| match &best {
            Some((score, _, _)) if *score >= c.0 => best,
            _ => Some(c),
        })
        .map(|(_, value, params)| (value, params))
}

/// The best HTTP API route for `method` and `path` among `(route key, value)` pairs.
pub(crate) fn pick_route<'a, T>(
    routes: impl IntoIterator<Item = (&'a str, T)>,
    method: &str,
    path: &str,
) -> Option<(T, Params)> {
    let mut fallback = None;
    let winner = best(routes.into_iter().filter_map(|(key, value)| {
        if key == "$default" {
            fallback = Some(value);
            return None;
        }
        let (route_method, template) = key.split_once(' ')?;
        let exact = route_method == method;
        if !exact && route_method != "ANY" {
            return None;
        }
        let (rank, params) = match_path(template, path)?;
        Some(((rank, exact), value, params))
    }));
    winner.or_else(|| fallback.map(|v| (v, Params::new())))
}

/// The most specific REST API resource for `path` among `(resource path, value)` pairs. The
/// method is looked up afterwards on the winner only: REST APIs do not fall back to a less
/// specific resource when the method is missing.
pub(crate) fn pick_resource<'a, T>(
    resources: impl IntoIterator<Item = (&'a str, T)>,
    path: &str,
) -> Option<(T, Params)> {
    best(resources.into_iter().filter_map(|(template, value)| {
        let (rank, params) = match_path(template, path)?;
        Some((rank, value, params))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(
        keys: &[&'static str],
        method: &str,
        path: &str,
    ) -> Option<(&'static str, Vec<(String, String)>)> {
        pick_route(keys.iter().map(|k| (*k, *k)), method, path).map(|(k, p)| (k, p.into_iter().collect()))
    }

    #[test]
    fn literal_beats_param_beats_greedy() {
        let keys = ["ANY /{proxy+}", "GET /items/{id}", "GET /items/special", "$default"];
        assert_eq!(route(&keys, "GET", "/items/special").map(|r| r.0), Some("GET /items/special"));
        assert_eq!(
            route(&keys, "GET", "/items/42"),
            Some(("GET /items/{id}", vec![("id".into(), "42".into())]))
        );
        assert_eq!(
            route(&keys, "GET", "/items/42/more"),
            Some(("ANY /{proxy+}", vec![("proxy".into(), "items/42/more".into())]))
        );
        // No route for POST on /items/{id}: the greedy ANY route takes it.
        assert_eq!(route(&keys, "POST", "/items/42").map(|r| r.0), Some("ANY /{proxy+}"));
        // `{proxy+}` needs at least one segment; `/` falls to `$default`.
        assert_eq!(route(&keys, "GET", "/").map(|r| r.0), Some("$default"));
    }

    #[test]
    fn method_beats_any_and_misses_are_none() {
        let keys = ["ANY /pets", "POST /pets"];
        assert_eq!(route(&keys, "POST", "/pets").map(|r| r.0), Some("POST /pets"));
        assert_eq!(route(&keys, "GET", "/pets/").map(|r| r.0), Some("ANY /pets"));
        assert_eq!(route(&keys, "GET", "/cats"), None);
        assert_eq!(route(&["GET /pets"], "DELETE", "/pets"), None);
    }

    #[test]
    fn params_are_decoded_and_segments_must_be_whole() {
        assert_eq!(
            route(&["GET /files/{name}"], "GET", "/files/a%20b").map(|r| r.1),
            Some(vec![("name".into(), "a b".into())])
        );
        assert_eq!(route(&["GET /files/{name}"], "GET", "/files"), None);
        assert_eq!(route(&["GET /files/{name}"], "GET", "/files/a/b"), None);
        assert_eq!(route(&["GET /a/{p+}/b"], "GET", "/a/x/b"), None);
    }

    #[test]
    fn resources_rank_the_same_way() {
        let resources = [("/", 0), ("/users", 1), ("/products/{id}", 2), ("/{proxy+}", 3)];
        let pick = |p: &str| pick_resource(resources.iter().map(|(t, v)| (*t, *v)), p).map(|(v, _)| v);
        assert_eq!(pick("/"), Some(0));
        assert_eq!(pick("/users"), Some(1));
        assert_eq!(pick("/products/7"), Some(2));
        assert_eq!(pick("/products/7/x"), Some(3));
        assert_eq!(pick(""), Some(0));
    }
}
