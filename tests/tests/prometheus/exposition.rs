//! The Prometheus text exposition format, as the tests read it: a strict parser of a
//! `/metrics` page into metric families, and the naming and histogram conventions every
//! family must follow (with a test that the checks catch broken pages).

use std::collections::{BTreeMap, BTreeSet};

/// One sample line: `name{label="value",…} value`.
#[derive(Clone, Debug)]
pub(crate) struct Sample {
    pub(crate) name: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) value: f64,
}

/// A metric family: its `# HELP`, its `# TYPE` and its samples, in page order.
#[derive(Debug, Default)]
pub(crate) struct Family {
    pub(crate) help: Option<String>,
    pub(crate) kind: Option<String>,
    pub(crate) samples: Vec<Sample>,
}

/// The value of the sample `selector` names: `name` or `name{label="value",…}`, the labels a
/// subset of the sample's.
pub(crate) fn lookup(families: &BTreeMap<String, Family>, selector: &str) -> Option<f64> {
    let (name, labels) = match selector.find('{') {
        Some(brace) => {
            let (labels, _) = parse_labels(&selector[brace..]).expect("a valid selector");
            (&selector[..brace], labels)
        }
        None => (selector, BTreeMap::new()),
    };
    families
        .values()
        .flat_map(|family| &family.samples)
        .find(|s| s.name == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(v)))
        .map(|s| s.value)
}

pub(crate) fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

pub(crate) fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses `{name="value",…}` at the start of `text`; returns the labels and what follows.
pub(crate) fn parse_labels(text: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    let mut rest = text.strip_prefix('{').ok_or("labels must start with '{'")?;
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        let (name, after) = rest.split_once('=').ok_or("a label without '='")?;
        let name = name.trim();
        if !is_label_name(name) {
            return Err(format!("bad label name {name:?}"));
        }
        let mut chars = after
            .strip_prefix('"')
            .ok_or("a label value must be quoted")?
            .char_indices();
        let mut value = String::new();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    other => return Err(format!("bad escape {other:?}")),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => return Err("an unterminated label value".into()),
            }
        };
        if labels.insert(name.to_string(), value).is_some() {
            return Err(format!("label {name} twice"));
        }
        rest = after[1 + end + 1..].trim_start();
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else if !rest.starts_with('}') {
            return Err(format!("expected ',' or '}}' at {rest:?}"));
        }
    }
}

/// The family a sample belongs to: itself, or for a histogram or summary sample the family
/// it is the `_bucket`, `_sum` or `_count` of.
pub(crate) fn family_of<'a>(sample: &'a str, current: Option<(&'a str, &str)>) -> &'a str {
    if let Some((family, kind)) = current {
        if sample == family {
            return family;
        }
        let suffixes: &[&str] = match kind {
            "histogram" => &["_bucket", "_sum", "_count"],
            "summary" => &["_sum", "_count"],
            _ => &[],
        };
        if suffixes
            .iter()
            .any(|s| sample.strip_suffix(s) == Some(family))
        {
            return family;
        }
    }
    sample
}

/// Parses a page in the Prometheus text format (0.0.4): every family by name. Errors name
/// the offending line.
pub(crate) fn parse(page: &str) -> Result<BTreeMap<String, Family>, String> {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut finished: BTreeSet<String> = BTreeSet::new();
    let mut series: BTreeSet<(String, BTreeMap<String, String>)> = BTreeSet::new();
    for (number, line) in page.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}: {line:?}", number + 1);
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.trim_start().splitn(3, ' ');
            let (keyword, name, rest) = (words.next(), words.next(), words.next());
            let (Some(keyword @ ("HELP" | "TYPE")), Some(name)) = (keyword, name) else {
                continue; // Any other comment.
            };
            if !is_metric_name(name) {
                return Err(at(format!("bad metric name {name:?}")));
            }
            if current.as_deref() != Some(name) {
                if let Some(previous) = current.take() {
                    finished.insert(previous);
                }
                if finished.contains(name) {
                    return Err(at(format!("{name} described again after other families")));
                }
            }
            current = Some(name.to_string());
            let family = families.entry(name.to_string()).or_default();
            let rest = rest.unwrap_or("").to_string();
            if keyword == "HELP" {
                if family.help.replace(rest).is_some() {
                    return Err(at("a second HELP".into()));
                }
            } else {
                if !family.samples.is_empty() {
                    return Err(at("TYPE after samples".into()));
                }
                if !matches!(
                    rest.as_str(),
                    "counter" | "gauge" | "histogram" | "summary" | "untyped"
                ) {
                    return Err(at(format!("unknown type {rest:?}")));
                }
                if family.kind.replace(rest).is_some() {
                    return Err(at("a second TYPE".into()));
                }
            }
            continue;
        }
        let name_end = line.find(['{', ' ']).ok_or_else(|| at("no value".into()))?;
        let name = &line[..name_end];
        if !is_metric_name(name) {
            return Err(at(format!("bad metric name {name:?}")));
        }
        let (labels, rest) = if line[name_end..].starts_with('{') {
            parse_labels(&line[name_end..]).map_err(at)?
        } else {
            (BTreeMap::new(), &line[name_end..])
        };
        let mut fields = rest.split_whitespace();
        let value: f64 = fields
            .next()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| at("no numeric value".into()))?;
        if let Some(timestamp) = fields.next() {
            timestamp
                .parse::<i64>()
                .map_err(|_| at("bad timestamp".into()))?;
        }
        if fields.next().is_some() {
            return Err(at("trailing text".into()));
        }
        let current_kind = current.as_deref().map(|family| {
            let kind = families
                .get(family)
                .and_then(|f| f.kind.as_deref())
                .unwrap_or("untyped");
            (family, kind)
        });
        let family = family_of(name, current_kind).to_string();
        if current.as_deref() != Some(family.as_str()) {
            if let Some(previous) = current.take() {
                finished.insert(previous);
            }
            if finished.contains(&family) {
                return Err(at(format!("samples of {family} are not together")));
            }
            current = Some(family.clone());
        }
        if !series.insert((name.to_string(), labels.clone())) {
            return Err(at("the same series twice".into()));
        }
        families.entry(family).or_default().samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    Ok(families)
}

/// Parses a page that must be well formed.
pub(crate) fn parse_page(page: &str) -> BTreeMap<String, Family> {
    parse(page).unwrap_or_else(|e| panic!("/metrics is not valid Prometheus text: {e}\n{page}"))
}

/// What in `families` breaks Prometheus's naming and histogram conventions, one line each.
pub(crate) fn convention_violations(families: &BTreeMap<String, Family>) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, family) in families {
        let mut problem = |text: String| problems.push(format!("{name}: {text}"));
        if !name.starts_with("shoal_") {
            problem("does not start with shoal_".into());
        }
        match &family.help {
            Some(help) if !help.trim().is_empty() => {}
            _ => problem("no # HELP".into()),
        }
        let kind = family.kind.as_deref().unwrap_or("");
        if kind.is_empty() {
            problem("no # TYPE".into());
        }
        if kind == "counter" && !name.ends_with("_total") {
            problem("a counter whose name does not end in _total".into());
        }
        if kind != "counter" && name.ends_with("_total") {
            problem(format!("a {kind} whose name ends in _total"));
        }
        for sample in &family.samples {
            if sample.labels.keys().any(|l| l.starts_with("__")) {
                problem(format!("reserved label name in {:?}", sample.labels));
            }
            if sample
                .labels
                .keys()
                .any(|l| l.chars().any(|c| c.is_uppercase()))
            {
                problem(format!(
                    "a label name not in snake case: {:?}",
                    sample.labels
                ));
            }
            if sample.value.is_nan() {
                problem(format!("NaN in {sample:?}"));
            }
            if kind == "counter" && (sample.value < 0.0 || !sample.value.is_finite()) {
                problem(format!("a counter at {}", sample.value));
            }
            if kind != "histogram" && sample.name != *name {
                problem(format!("sample {} in a {kind}", sample.name));
            }
            if kind != "histogram" && sample.labels.contains_key("le") {
                problem("an le label outside a histogram".into());
            }
        }
        if kind == "histogram" {
            for violation in histogram_violations(name, family) {
                problem(violation);
            }
        }
        // Units: base units only, as the last word of the name (before `_total`).
        let base = name.strip_suffix("_total").unwrap_or(name);
        let help = family.help.as_deref().unwrap_or("").to_lowercase();
        let words: Vec<&str> = base.split('_').collect();
        for unit in ["bytes", "seconds"] {
            if words.contains(&unit) && words.last() != Some(&unit) {
                problem(format!("_{unit} is not the last word of the name"));
            }
        }
        let byte_valued = help.contains("byte") || words.contains(&"memory");
        if byte_valued && !base.ends_with("_bytes") {
            problem("a byte value whose name does not end in _bytes".into());
        }
        let time_valued = ["second", "duration", "latency", "time to", "how long"]
            .iter()
            .any(|w| help.contains(w));
        if time_valued && !base.ends_with("_seconds") {
            problem("a time value whose name does not end in _seconds".into());
        }
        const NOT_BASE_UNITS: &str = "ms us usec msec millis milliseconds microseconds \
                                      nanoseconds minutes hours kb mb kilobytes megabytes percent";
        for word in words
            .iter()
            .filter(|w| NOT_BASE_UNITS.split(' ').any(|u| u == **w))
        {
            problem(format!("unit {word} instead of a base unit"));
        }
    }
    problems
}

/// Problems with one histogram family: per label set, `_bucket` series with increasing `le`
/// and non-decreasing counts ending in `le="+Inf"`, which equals `_count`; `_sum` present.
pub(crate) fn histogram_violations(name: &str, family: &Family) -> Vec<String> {
    let mut problems = Vec::new();
    #[derive(Default)]
    struct Series {
        buckets: Vec<(f64, f64)>,
        sum: Option<f64>,
        count: Option<f64>,
    }
    let mut by_labels: BTreeMap<BTreeMap<String, String>, Series> = BTreeMap::new();
    for sample in &family.samples {
        let mut labels = sample.labels.clone();
        let le = labels.remove("le");
        let series = by_labels.entry(labels).or_default();
        let suffix = sample.name.strip_prefix(name).unwrap_or("");
        match (suffix, le) {
            ("_bucket", Some(le)) => match le.parse::<f64>() {
                Ok(bound) => series.buckets.push((bound, sample.value)),
                Err(_) => problems.push(format!("le={le:?} is not a number")),
            },
            ("_bucket", None) => problems.push(format!("a bucket without le: {sample:?}")),
            (_, Some(_)) => problems.push(format!("le on {}", sample.name)),
            ("_sum", None) => series.sum = Some(sample.value),
            ("_count", None) => series.count = Some(sample.value),
            _ => problems.push(format!("sample {} in a histogram", sample.name)),
        }
    }
    if by_labels.is_empty() {
        problems.push("a histogram without samples".into());
    }
    for (labels, series) in &by_labels {
        let at = format!("{labels:?}");
        if series.buckets.is_empty() {
            problems.push(format!("{at}: no _bucket series"));
            continue;
        }
        for pair in series.buckets.windows(2) {
            let ((le_a, n_a), (le_b, n_b)) = (pair[0], pair[1]);
            if le_b <= le_a {
                problems.push(format!("{at}: le {le_b} after {le_a}"));
            }
            if n_b < n_a {
                problems.push(format!(
                    "{at}: buckets not cumulative ({n_a} at le={le_a}, {n_b} at le={le_b})"
                ));
            }
        }
        let (last_le, last_count) = series.buckets[series.buckets.len() - 1];
        if last_le != f64::INFINITY {
            problems.push(format!("{at}: the last bucket is le={last_le}, not +Inf"));
        }
        match series.count {
            Some(count) if count == last_count => {}
            Some(count) => {
                problems.push(format!("{at}: _count {count} != +Inf bucket {last_count}"))
            }
            None => problems.push(format!("{at}: no _count")),
        }
        match series.sum {
            Some(sum) if sum.is_finite() && sum >= 0.0 => {}
            other => problems.push(format!("{at}: _sum {other:?}")),
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_convention_checks_catch_broken_pages() {
        let broken = [
            // No HELP, and a counter without _total.
            ("# TYPE shoal_a counter\nshoal_a 1\n", "no # HELP"),
            (
                "# HELP shoal_a A.\n# TYPE shoal_a counter\nshoal_a 1\n",
                "does not end in _total",
            ),
            (
                "# HELP other_total A.\n# TYPE other_total counter\nother_total 1\n",
                "shoal_",
            ),
            (
                "# HELP shoal_mem Memory in bytes.\n# TYPE shoal_mem gauge\nshoal_mem 1\n",
                "_bytes",
            ),
            (
                "# HELP shoal_latency_ms Latency.\n# TYPE shoal_latency_ms gauge\nshoal_latency_ms 1\n",
                "base unit",
            ),
            (
                "# HELP shoal_h_seconds Time to run.\n# TYPE shoal_h_seconds histogram\n\
                 shoal_h_seconds_bucket{le=\"0.1\"} 2\nshoal_h_seconds_bucket{le=\"1\"} 1\n\
                 shoal_h_seconds_bucket{le=\"+Inf\"} 3\nshoal_h_seconds_sum 1\nshoal_h_seconds_count 3\n",
                "not cumulative",
            ),
            (
                "# HELP shoal_h_seconds Time to run.\n# TYPE shoal_h_seconds histogram\n\
                 shoal_h_seconds_bucket{le=\"1\"} 1\nshoal_h_seconds_bucket{le=\"+Inf\"} 2\n\
                 shoal_h_seconds_sum 1\nshoal_h_seconds_count 3\n",
                "_count 3 != +Inf bucket 2",
            ),
            (
                "# HELP shoal_h_seconds Time to run.\n# TYPE shoal_h_seconds histogram\n\
                 shoal_h_seconds_bucket{le=\"1\"} 1\nshoal_h_seconds_sum 1\nshoal_h_seconds_count 1\n",
                "not +Inf",
            ),
        ];
        for (page, expected) in broken {
            let problems = convention_violations(&parse_page(page));
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "{page:?}: expected a problem mentioning {expected:?}, got {problems:?}"
            );
        }
        for page in [
            "shoal_a{x=\"1\" 1\n",
            "shoal_a one\n",
            "# HELP a A.\n# HELP a A.\n",
            "shoal_a 1\nshoal_a 2\n",
            "shoal_a 1\nshoal_b 1\nshoal_a{x=\"1\"} 2\n",
        ] {
            assert!(parse(page).is_err(), "{page:?} should not parse");
        }
        let good = parse_page(
            "# HELP shoal_x_total X.\n# TYPE shoal_x_total counter\n\
             shoal_x_total{a=\"q\\\"uote\",b=\"back\\\\slash\",} 1 1700000000000\n",
        );
        let sample = &good["shoal_x_total"].samples[0];
        assert_eq!(sample.labels["a"], "q\"uote");
        assert_eq!(sample.labels["b"], "back\\slash");
        assert!(convention_violations(&good).is_empty());
    }
}
