//! Command-line flags of the bench subcommands: `--name value` pairs, value-less switches,
//! `-h`/`--help`, and the value parsers the subcommands share.

use anyhow::{Context, bail};

/// One flag of a command line, with its value unless it is a switch.
pub(crate) struct Flag<'a> {
    pub(crate) name: &'a str,
    value: Option<&'a str>,
}

impl<'a> Flag<'a> {
    /// The flag's value.
    pub(crate) fn value(&self) -> anyhow::Result<&'a str> {
        self.value
            .with_context(|| format!("{} needs a value (see --help)", self.name))
    }

    /// The value as a whole number (zero allowed).
    pub(crate) fn number(&self) -> anyhow::Result<u64> {
        let value = self.value()?;
        value
            .parse()
            .with_context(|| format!("{} wants a whole number, got {value:?}", self.name))
    }

    /// The value as a number greater than zero.
    pub(crate) fn positive<T: std::str::FromStr + PartialOrd + Default>(
        &self,
    ) -> anyhow::Result<T> {
        positive(self.name, self.value()?)
    }
}

/// Calls `each` on every flag of `args` in order; the names in `switches` take no value.
/// Returns `false` when `-h` or `--help` was given (nothing after it is looked at).
pub(crate) fn each_flag<'a>(
    args: &'a [String],
    switches: &[&str],
    mut each: impl FnMut(Flag<'a>) -> anyhow::Result<()>,
) -> anyhow::Result<bool> {
    let mut args = args.iter();
    while let Some(name) = args.next() {
        if name == "-h" || name == "--help" {
            return Ok(false);
        }
        let value = if switches.contains(&name.as_str()) {
            None
        } else {
            args.next().map(String::as_str)
        };
        each(Flag { name, value })?;
    }
    Ok(true)
}

/// A number greater than zero.
pub(crate) fn positive<T: std::str::FromStr + PartialOrd + Default>(
    flag: &str,
    value: &str,
) -> anyhow::Result<T> {
    match value.parse::<T>() {
        Ok(n) if n > T::default() => Ok(n),
        _ => bail!("{flag} wants a positive whole number, got {value:?}"),
    }
}

/// A non-empty comma-separated list.
pub(crate) fn list<T>(
    flag: &str,
    value: &str,
    item: impl Fn(&str) -> anyhow::Result<T>,
) -> anyhow::Result<Vec<T>> {
    let items = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(item)
        .collect::<anyhow::Result<Vec<T>>>()?;
    if items.is_empty() {
        bail!("{flag} wants a comma-separated list, got {value:?}");
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn flags_switches_and_help() -> anyhow::Result<()> {
        let args = strings("--keys 5 --quiet --shoal /bin/x");
        let mut seen = Vec::new();
        let finished = each_flag(&args, &["--quiet"], |flag| {
            seen.push((flag.name.to_string(), flag.value.map(String::from)));
            Ok(())
        })?;
        assert!(finished);
        assert_eq!(
            seen,
            [
                ("--keys".to_string(), Some("5".to_string())),
                ("--quiet".to_string(), None),
                ("--shoal".to_string(), Some("/bin/x".to_string())),
            ]
        );
        assert!(!each_flag(&strings("--keys 5 -h --bad"), &[], |_| Ok(()))?);
        let missing = each_flag(&strings("--keys"), &[], |flag| flag.number().map(|_| ()));
        assert!(missing.is_err());
        assert!(positive::<u64>("--n", "0").is_err());
        assert_eq!(list("--t", "a, b", |s| Ok(s.to_string()))?, ["a", "b"]);
        Ok(())
    }
}
