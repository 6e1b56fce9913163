//! Just enough of the Prometheus text format to read docproxy's /metrics:
//! sums of a metric's samples, optionally filtered by label values.

use std::collections::BTreeMap;

/// One scrape: every sample as (name, labels, value).
#[derive(Debug, Default, Clone)]
pub struct Scrape {
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
}

impl Scrape {
    pub fn parse(text: &str) -> Self {
        let samples = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(parse_line)
            .collect();
        Scrape { samples }
    }

    /// Sum of every sample of `name` whose labels include all of `filter`.
    pub fn sum(&self, name: &str, filter: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|(n, labels, _)| {
                n == name
                    && filter
                        .iter()
                        .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, _, v)| v)
            .sum()
    }

    /// `name`'s samples summed per value of `label`.
    pub fn by_label(&self, name: &str, label: &str) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        for (n, labels, v) in &self.samples {
            if n == name
                && let Some(value) = labels.get(label)
            {
                *out.entry(value.clone()).or_insert(0.0) += v;
            }
        }
        out
    }
}

/// `name{k="v",...} value [timestamp]`; label values may hold braces and
/// escaped quotes (docproxy's route label is `/{id}`).
fn parse_line(line: &str) -> Option<(String, BTreeMap<String, String>, f64)> {
    let name_end = line.find(['{', ' '])?;
    let name = line[..name_end].to_string();
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(body) = rest.strip_prefix('{') {
        let mut chars = body.char_indices();
        let mut key = String::new();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '}' => {
                    end = Some(i + 1);
                    break;
                }
                ',' | ' ' => {}
                '=' => {
                    // Expect a quoted value.
                    let (_, quote) = chars.next()?;
                    if quote != '"' {
                        return None;
                    }
                    let mut value = String::new();
                    loop {
                        let (_, c) = chars.next()?;
                        match c {
                            '\\' => value.push(chars.next()?.1),
                            '"' => break,
                            c => value.push(c),
                        }
                    }
                    labels.insert(std::mem::take(&mut key), value);
                }
                c => key.push(c),
            }
        }
        rest = &body[end?..];
    }
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    Some((name, labels, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_labels_with_braces_and_sums() {
        let text = "# HELP x y\n\
            docproxy_http_requests_total{route=\"/{id}\",method=\"GET\",status=\"200\"} 7\n\
            docproxy_http_requests_total{route=\"/{id}\",method=\"GET\",status=\"503\"} 3\n\
            docproxy_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 100\n\
            docproxy_build_info{version=\"0.1.0\"} 1\n\
            plain_metric 2.5\n";
        let s = Scrape::parse(text);
        assert_eq!(
            s.sum("docproxy_http_requests_total", &[("route", "/{id}")]),
            10.0
        );
        assert_eq!(s.sum("docproxy_http_requests_total", &[]), 110.0);
        assert_eq!(s.sum("plain_metric", &[]), 2.5);
        let by_status = s.by_label("docproxy_http_requests_total", "status");
        assert_eq!(by_status["503"], 3.0);
    }

    #[test]
    fn escaped_quotes_in_values() {
        let s = Scrape::parse("m{a=\"x\\\"}y\"} 4\n");
        assert_eq!(s.sum("m", &[("a", "x\"}y")]), 4.0);
    }
}
