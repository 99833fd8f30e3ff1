//! Container image references: `[registry/]repository[:tag][@digest]`, read the way the
//! container runtime does (no registry means Docker Hub).

/// A parsed image reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef<'a> {
    pub registry: &'a str,
    pub repository: &'a str,
    pub tag: Option<&'a str>,
    pub digest: Option<&'a str>,
}

impl<'a> ImageRef<'a> {
    pub fn parse(image: &'a str) -> ImageRef<'a> {
        let (rest, digest) = match image.split_once('@') {
            Some((r, d)) => (r, Some(d)),
            None => (image, None),
        };
        // A ':' after the last '/' separates the tag; before it, it is a registry port.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        let (registry, repository) = match name.split_once('/') {
            Some((first, repo)) if first.contains(['.', ':']) || first == "localhost" => (first, repo),
            _ => ("docker.io", name),
        };
        ImageRef { registry, repository, tag, digest }
    }

    /// The reference without its registry host: `docker.io/library/nginx:1.27` is
    /// `library/nginx:1.27`, `nginx:1.27` stays `nginx:1.27`.
    pub fn without_registry(&self) -> String {
        let mut out = self.repository.to_string();
        if let Some(tag) = self.tag {
            out.push(':');
            out.push_str(tag);
        }
        if let Some(digest) = self.digest {
            out.push('@');
            out.push_str(digest);
        }
        out
    }

    /// Pinned: a digest, or a tag other than `latest`.
    pub fn is_pinned(&self) -> bool {
        self.digest.is_some() || self.tag.is_some_and(|t| t != "latest")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        let r = ImageRef::parse("registry.example.com:5000/team/app:1.2@sha256:abc");
        assert_eq!(
            (r.registry, r.repository, r.tag, r.digest),
            ("registry.example.com:5000", "team/app", Some("1.2"), Some("sha256:abc"))
        );
        let r = ImageRef::parse("nginx");
        assert_eq!((r.registry, r.repository, r.tag), ("docker.io", "nginx", None));
        assert!(!r.is_pinned());
        assert!(!ImageRef::parse("redis:latest").is_pinned());
        assert!(ImageRef::parse("redis:7").is_pinned());
        assert_eq!(ImageRef::parse("localhost:5000/app").registry, "localhost:5000");
        assert_eq!(ImageRef::parse("docker.io/library/nginx:1.27").without_registry(), "library/nginx:1.27");
        assert_eq!(
            ImageRef::parse("registry.k8s.io/ingress-nginx/controller:v1@sha256:ab").without_registry(),
            "ingress-nginx/controller:v1@sha256:ab"
        );
    }
}
