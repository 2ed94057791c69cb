//! `COMMAND INFO` and `COMMAND DOCS`, generated from the command table.
//!
//! Each command's arguments are written as one line of syntax, parsed here into Redis's
//! argument tree (what redis-cli turns into its interactive hints). The notation:
//!
//! - `name` is an argument (type `string`); `name:int`, `:double`, `:key`, `:pattern`,
//!   `:time` give its type; the name `key` alone is a key. `name=shown` gives the text
//!   clients display instead of the name (Redis 7.2's `display_text`: `addr=ip:port`).
//! - An all-capitals word (`NX`, `LIB-NAME`) is a token; a token directly followed by one
//!   argument is that argument's token (`EX seconds:int`); a token followed by several is a
//!   block with that token (`[LIMIT offset:int count:int]`).
//! - `[...]` is optional, `(...)` groups, `a | b` is one of, `...` after an item repeats it
//!   (after a group with a token, the token repeats too). `[name=...]` names a group.

use super::{Command, KeySpec, flag, table};
use crate::protocol::Reply;

/// A parsed argument, shaped like Redis's `redisCommandArg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    pub name: String,
    /// What clients show for the argument, when it is not its name.
    pub display: Option<String>,
    pub kind: &'static str,
    pub token: Option<String>,
    pub optional: bool,
    pub multiple: bool,
    pub multiple_token: bool,
    pub children: Vec<Arg>,
}

impl Arg {
    fn new(name: &str, kind: &'static str) -> Arg {
        Arg {
            name: name.to_string(),
            display: None,
            kind,
            token: None,
            optional: false,
            multiple: false,
            multiple_token: false,
            children: Vec::new(),
        }
    }
}

/// Lexical pieces of the syntax line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Lex {
    Open(char),
    Close(char),
    Pipe,
    Ellipsis,
    Word(String),
}

fn lex(syntax: &str) -> Vec<Lex> {
    let mut out = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<Lex>| {
        if let Some(stem) = word.strip_suffix("...") {
            if !stem.is_empty() {
                out.push(Lex::Word(stem.to_string()));
            }
            out.push(Lex::Ellipsis);
        } else if !word.is_empty() {
            out.push(Lex::Word(word.clone()));
        }
        word.clear();
    };
    for c in syntax.chars() {
        match c {
            '[' | '(' => {
                flush(&mut word, &mut out);
                out.push(Lex::Open(c));
            }
            ']' | ')' => {
                flush(&mut word, &mut out);
                out.push(Lex::Close(c));
            }
            '|' => {
                flush(&mut word, &mut out);
                out.push(Lex::Pipe);
            }
            c if c.is_whitespace() => flush(&mut word, &mut out),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut out);
    out
}

/// One item of a sequence before tokens are attached to their arguments.
#[derive(Debug, Clone)]
enum Item {
    Token(String),
    Arg(Arg),
}

struct Parser {
    lexes: Vec<Lex>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Lex> {
        self.lexes.get(self.pos)
    }

    fn next(&mut self) -> Option<Lex> {
        let lex = self.lexes.get(self.pos).cloned();
        self.pos += 1;
        lex
    }

    /// Items until a `|` or a closing bracket.
    fn sequence(&mut self) -> Result<Vec<Item>, String> {
        let mut items = Vec::new();
        loop {
            match self.peek() {
                None | Some(Lex::Pipe) | Some(Lex::Close(_)) => return Ok(items),
                Some(Lex::Ellipsis) => return Err("'...' with nothing before it".into()),
                _ => {}
            }
            let mut item = match self.next() {
                Some(Lex::Word(word)) => word_item(&word),
                Some(Lex::Open(open)) => self.group(open)?,
                other => return Err(format!("unexpected {other:?}")),
            };
            if self.peek() == Some(&Lex::Ellipsis) {
                self.pos += 1;
                item = match item {
                    Item::Arg(mut arg) => {
                        arg.multiple = true;
                        arg.multiple_token = arg.token.is_some();
                        Item::Arg(arg)
                    }
                    Item::Token(t) => return Err(format!("token {t} cannot repeat alone")),
                };
            }
            items.push(item);
        }
    }

    /// A bracketed group, after its opening bracket.
    fn group(&mut self, open: char) -> Result<Item, String> {
        let mut name = None;
        if let Some(Lex::Word(word)) = self.peek().cloned()
            && let Some((group_name, rest)) = word.split_once('=')
        {
            name = Some(group_name.to_string());
            if rest.is_empty() {
                // `(name=[...] | ...)`: the name stood alone before a bracket.
                self.pos += 1;
            } else {
                self.lexes[self.pos] = Lex::Word(rest.to_string());
            }
        }
        let mut alternatives = vec![self.sequence()?];
        while self.peek() == Some(&Lex::Pipe) {
            self.pos += 1;
            alternatives.push(self.sequence()?);
        }
        let close = if open == '[' { ']' } else { ')' };
        if self.next() != Some(Lex::Close(close)) {
            return Err(format!("missing '{close}'"));
        }
        let mut arg = if alternatives.len() == 1 {
            let items = alternatives.pop().unwrap_or_default();
            group_arg(items, name.as_deref())?
        } else {
            let children = alternatives
                .into_iter()
                .map(|items| group_arg(items, None))
                .collect::<Result<Vec<_>, _>>()?;
            let mut oneof = Arg::new(name.as_deref().unwrap_or(&children[0].name), "oneof");
            oneof.children = children;
            oneof
        };
        arg.optional = open == '[';
        Ok(Item::Arg(arg))
    }
}

/// A word: a token (all capitals) or an argument with an optional `:type`.
fn word_item(word: &str) -> Item {
    let is_token = word.starts_with(|c: char| c.is_ascii_uppercase())
        && !word.chars().any(|c| c.is_ascii_lowercase());
    if is_token {
        return Item::Token(word.to_string());
    }
    let (typed, display) = match word.split_once('=') {
        Some((typed, display)) => (typed, Some(display.to_string())),
        None => (word, None),
    };
    let (name, kind) = match typed.split_once(':') {
        Some((name, "int")) => (name, "integer"),
        Some((name, "double")) => (name, "double"),
        Some((name, "key")) => (name, "key"),
        Some((name, "pattern")) => (name, "pattern"),
        Some((name, "time")) => (name, "unix-time"),
        Some((name, _)) => (name, "string"),
        None if typed == "key" => (typed, "key"),
        None => (typed, "string"),
    };
    let mut arg = Arg::new(name, kind);
    arg.display = display;
    Item::Arg(arg)
}

fn pure_token(token: &str) -> Arg {
    let mut arg = Arg::new(&token.to_ascii_lowercase(), "pure-token");
    arg.token = Some(token.to_string());
    arg
}

/// The single argument a group's sequence stands for.
fn group_arg(items: Vec<Item>, name: Option<&str>) -> Result<Arg, String> {
    match items.as_slice() {
        [] => Err("empty group".into()),
        [Item::Token(token), rest @ ..] if rest.len() >= 2 => {
            let mut block = Arg::new(name.unwrap_or(&token.to_ascii_lowercase()), "block");
            block.token = Some(token.clone());
            block.children = attach_tokens(rest.to_vec())?;
            Ok(block)
        }
        _ => {
            let mut args = attach_tokens(items)?;
            if args.len() == 1 {
                let mut arg = args.remove(0);
                if let Some(name) = name {
                    arg.name = name.to_string();
                }
                return Ok(arg);
            }
            let mut block = Arg::new(name.unwrap_or(&args[0].name), "block");
            block.children = args;
            Ok(block)
        }
    }
}

/// Turns a sequence into arguments: a token directly followed by an argument becomes that
/// argument's token; a token on its own is a pure token.
fn attach_tokens(items: Vec<Item>) -> Result<Vec<Arg>, String> {
    let mut out = Vec::new();
    let mut items = items.into_iter().peekable();
    while let Some(item) = items.next() {
        match item {
            Item::Arg(arg) => out.push(arg),
            Item::Token(token) => match items.peek() {
                Some(Item::Arg(_)) => {
                    if let Some(Item::Arg(mut arg)) = items.next() {
                        arg.multiple_token = arg.multiple && arg.multiple_token;
                        arg.token = Some(token);
                        out.push(arg);
                    }
                }
                _ => out.push(pure_token(&token)),
            },
        }
    }
    Ok(out)
}

/// Parses an argument syntax line into Redis's argument list.
pub fn parse_syntax(syntax: &str) -> Result<Vec<Arg>, String> {
    let mut parser = Parser {
        lexes: lex(syntax),
        pos: 0,
    };
    let items = parser.sequence()?;
    if parser.pos != parser.lexes.len() {
        return Err(format!("unexpected {:?}", parser.peek()));
    }
    attach_tokens(items)
}

fn bulk(text: &str) -> Reply {
    Reply::bulk(text.as_bytes())
}

fn arg_reply(arg: &Arg, key_spec: bool) -> Reply {
    let container = arg.kind == "oneof" || arg.kind == "block";
    let mut map = vec![
        (bulk("name"), bulk(&arg.name)),
        (bulk("type"), bulk(arg.kind)),
    ];
    // Redis 7.2 gives every argument but groups a display text, its name by default.
    if !container {
        let shown = arg.display.as_deref().unwrap_or(&arg.name);
        map.push((bulk("display_text"), bulk(shown)));
    }
    if arg.kind == "key" && key_spec {
        map.push((bulk("key_spec_index"), Reply::Int(0)));
    }
    if let Some(token) = &arg.token {
        map.push((bulk("token"), bulk(token)));
    }
    let flags: Vec<Reply> = [
        (arg.optional, "optional"),
        (arg.multiple, "multiple"),
        (arg.multiple_token, "multiple_token"),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, name)| Reply::status(name))
    .collect();
    if !flags.is_empty() {
        map.push((bulk("flags"), Reply::Set(flags)));
    }
    if container {
        let children = arg
            .children
            .iter()
            .map(|c| arg_reply(c, key_spec))
            .collect();
        map.push((bulk("arguments"), Reply::Array(children)));
    }
    Reply::Map(map)
}

/// `COMMAND DOCS` for one table entry.
pub fn docs_reply(entry: &'static table::Entry) -> Reply {
    let cmd = entry.command;
    let mut map = vec![
        (bulk("summary"), bulk(cmd.doc.summary)),
        (bulk("since"), bulk(cmd.doc.since)),
        (bulk("group"), bulk(cmd.doc.group)),
        (bulk("complexity"), bulk(cmd.doc.complexity)),
    ];
    let args = parse_syntax(cmd.doc.args).unwrap_or_default();
    if !args.is_empty() {
        let has_keys = cmd.keys.has_keys();
        let args = args.iter().map(|a| arg_reply(a, has_keys)).collect();
        map.push((bulk("arguments"), Reply::Array(args)));
    }
    if !cmd.subcommands.is_empty() {
        let subs = table::subcommands(entry)
            .into_iter()
            .map(|sub| (bulk(&sub.full_name), docs_reply(sub)))
            .collect();
        map.push((bulk("subcommands"), Reply::Map(subs)));
    }
    Reply::Map(map)
}

/// ACL categories in the order Redis lists them (`COMMAND INFO`, `ACL CAT`).
const CATEGORY_ORDER: &[&str] = &[
    "@keyspace",
    "@read",
    "@write",
    "@set",
    "@sortedset",
    "@list",
    "@hash",
    "@string",
    "@bitmap",
    "@hyperloglog",
    "@geo",
    "@stream",
    "@pubsub",
    "@admin",
    "@fast",
    "@slow",
    "@blocking",
    "@dangerous",
    "@connection",
    "@transaction",
    "@scripting",
];

/// ACL categories Redis would give a command of this group and these flags, in Redis's
/// order.
pub fn categories(cmd: &Command) -> Vec<&'static str> {
    let mut cats = Vec::new();
    match cmd.doc.group {
        "generic" => cats.push("@keyspace"),
        "string" => cats.push("@string"),
        "connection" => cats.push("@connection"),
        "list" => cats.push("@list"),
        "hash" => cats.push("@hash"),
        "set" => cats.push("@set"),
        "sorted-set" => cats.push("@sortedset"),
        "bitmap" => cats.push("@bitmap"),
        "hyperloglog" => cats.push("@hyperloglog"),
        "stream" => cats.push("@stream"),
        "pubsub" => cats.push("@pubsub"),
        "transactions" => cats.push("@transaction"),
        "scripting" => cats.push("@scripting"),
        _ => {}
    }
    if cmd.has(flag::WRITE) {
        cats.push("@write");
    }
    if cmd.has(flag::READONLY) {
        cats.push("@read");
    }
    if cmd.has(flag::ADMIN) {
        cats.extend(["@admin", "@dangerous"]);
    }
    if cmd.has(flag::BLOCKING) {
        cats.push("@blocking");
    }
    cats.push(if cmd.has(flag::FAST) {
        "@fast"
    } else {
        "@slow"
    });
    cats.sort_by_key(|cat| {
        CATEGORY_ORDER
            .iter()
            .position(|known| known == cat)
            .unwrap_or(CATEGORY_ORDER.len())
    });
    cats
}

fn map(pairs: Vec<(&'static str, Reply)>) -> Reply {
    Reply::Map(pairs.into_iter().map(|(k, v)| (bulk(k), v)).collect())
}

/// One key spec: its flags, how to find where its keys begin, and how to find them.
fn key_spec(flags: &[&'static str], begin: Reply, find: Reply) -> Reply {
    map(vec![
        (
            "flags",
            Reply::Set(flags.iter().map(|f| Reply::status(f)).collect()),
        ),
        ("begin_search", begin),
        ("find_keys", find),
    ])
}

fn begin_at(index: usize) -> Reply {
    map(vec![
        ("type", bulk("index")),
        ("spec", map(vec![("index", Reply::Int(index as i64))])),
    ])
}

fn find_range(lastkey: isize, keystep: usize, limit: i64) -> Reply {
    map(vec![
        ("type", bulk("range")),
        (
            "spec",
            map(vec![
                ("lastkey", Reply::Int(lastkey as i64)),
                ("keystep", Reply::Int(keystep as i64)),
                ("limit", Reply::Int(limit)),
            ]),
        ),
    ])
}

fn key_specs(cmd: &Command) -> Reply {
    let spec = cmd.keys;
    let flags: &[&'static str] = if cmd.has(flag::WRITE) {
        &["RW", "update"]
    } else {
        &["RO", "access"]
    };
    let mut specs = Vec::new();
    if spec.step != 0 {
        let lastkey = if spec.last < 0 {
            spec.last
        } else {
            spec.last - spec.first as isize
        };
        specs.push(key_spec(
            flags,
            begin_at(spec.first),
            find_range(lastkey, spec.step, 0),
        ));
    }
    if let Some(at) = spec.numkeys_at {
        let find = map(vec![
            ("type", bulk("keynum")),
            (
                "spec",
                map(vec![
                    ("keynumidx", Reply::Int(0)),
                    ("firstkey", Reply::Int(1)),
                    ("keystep", Reply::Int(1)),
                ]),
            ),
        ]);
        specs.push(key_spec(flags, begin_at(at), find));
    }
    if let Some(keyword) = spec.keyword {
        let begin = map(vec![
            ("type", bulk("keyword")),
            (
                "spec",
                map(vec![
                    ("keyword", bulk(keyword)),
                    ("startfrom", Reply::Int(1)),
                ]),
            ),
        ]);
        specs.push(key_spec(flags, begin, find_range(-1, 1, 2)));
    }
    Reply::Set(specs)
}

/// `COMMAND INFO` for one table entry: Redis 7's ten fields.
pub fn info_reply(entry: &'static table::Entry) -> Reply {
    let cmd = entry.command;
    let mut flags: Vec<Reply> = flag::NAMES
        .iter()
        .filter(|(bit, _)| cmd.has(*bit))
        .map(|(_, name)| Reply::status(name))
        .collect();
    if cmd.keys.is_movable() {
        // Redis lists it just before `allow_busy`.
        let at = flags.len() - usize::from(cmd.has(flag::ALLOW_BUSY));
        flags.insert(at, Reply::status("movablekeys"));
    }
    let KeySpec {
        first, last, step, ..
    } = cmd.keys;
    Reply::Array(vec![
        bulk(&entry.full_name),
        Reply::Int(i64::from(cmd.arity)),
        Reply::Set(flags),
        Reply::Int(first as i64),
        Reply::Int(last as i64),
        Reply::Int(step as i64),
        Reply::Set(categories(cmd).into_iter().map(Reply::status).collect()),
        Reply::Set(cmd.tips.iter().map(|tip| Reply::status(tip)).collect()),
        key_specs(cmd),
        subcommands_info(entry),
    ])
}

/// The tenth `COMMAND INFO` field: an array of the subcommands' descriptions, or an empty
/// set for a command without subcommands (RESP3 shows the difference), as in Redis.
fn subcommands_info(entry: &'static table::Entry) -> Reply {
    let subs = table::subcommands(entry);
    if subs.is_empty() {
        return Reply::Set(vec![]);
    }
    Reply::Array(subs.into_iter().map(info_reply).collect())
}

/// How redis-cli 7.2 renders an argument list (its `cliAddArgument`, which shows the display
/// text), for tests and `HELP`.
pub fn render(args: &[Arg]) -> String {
    args.iter().map(render_one).collect::<Vec<_>>().join(" ")
}

fn render_one(arg: &Arg) -> String {
    let token = match (&arg.token, arg.kind) {
        (Some(token), "pure-token") => token.clone(),
        (Some(token), _) => format!("{token} "),
        (None, _) => String::new(),
    };
    let repeat = match arg.kind {
        "oneof" => arg
            .children
            .iter()
            .map(render_one)
            .collect::<Vec<_>>()
            .join("|"),
        "block" => render(&arg.children),
        "pure-token" => String::new(),
        _ => arg.display.clone().unwrap_or_else(|| arg.name.clone()),
    };
    let mut out = format!("{token}{repeat}");
    if arg.multiple {
        let again = if arg.multiple_token {
            format!("{token}{repeat}")
        } else {
            repeat
        };
        out = format!("{out} [{again} ...]");
    }
    if arg.optional {
        out = format!("[{out}]");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(syntax: &str) -> String {
        render(&parse_syntax(syntax).expect("valid syntax"))
    }

    #[test]
    fn renders_as_redis_cli_hints() {
        assert_eq!(
            shown("key value [NX | XX] [GET] [EX seconds:int | PX milliseconds:int | KEEPTTL]"),
            "key value [NX|XX] [GET] [EX seconds|PX milliseconds|KEEPTTL]"
        );
        assert_eq!(shown("key..."), "key [key ...]");
        assert_eq!(shown("(key value)..."), "key value [key value ...]");
        assert_eq!(
            shown("[LIMIT offset:int count:int]"),
            "[LIMIT offset count]"
        );
        assert_eq!(shown("[GET pattern]..."), "[GET pattern [GET pattern ...]]");
        assert_eq!(
            shown("[ID client-id:int...]"),
            "[ID client-id [client-id ...]]"
        );
        assert_eq!(
            shown("[TYPE (NORMAL | MASTER | REPLICA | PUBSUB)]"),
            "[TYPE NORMAL|MASTER|REPLICA|PUBSUB]"
        );
    }

    #[test]
    fn arguments_carry_redis_types_and_tokens() {
        let args = parse_syntax("key [condition=NX | XX] [EX seconds:int]").expect("valid");
        assert_eq!(args[0].kind, "key");
        assert_eq!(args[1].name, "condition");
        assert_eq!(args[1].kind, "oneof");
        assert_eq!(args[1].children[0].kind, "pure-token");
        assert_eq!(args[1].children[0].name, "nx");
        assert_eq!(args[2].kind, "integer");
        assert_eq!(args[2].token.as_deref(), Some("EX"));
        assert!(args[2].optional);
    }

    #[test]
    fn an_argument_may_carry_a_display_text() {
        let args = parse_syntax("[ADDR addr=ip:port] [COUNT count:int=n]").expect("valid");
        assert_eq!(args[0].name, "addr");
        assert_eq!(args[0].display.as_deref(), Some("ip:port"));
        assert_eq!(args[0].kind, "string");
        assert_eq!(args[1].name, "count");
        assert_eq!(args[1].kind, "integer");
        assert_eq!(shown("[ADDR addr=ip:port]"), "[ADDR ip:port]");
    }

    #[test]
    fn a_group_name_may_stand_before_a_bracket() {
        let syntax = "(filter=old=ip:port | (new-format=[ID id:int] | [SKIPME (YES | NO)])...)";
        let args = parse_syntax(syntax).expect("valid");
        assert_eq!(args[0].name, "filter");
        assert_eq!(args[0].children[0].name, "old");
        assert_eq!(args[0].children[1].name, "new-format");
        assert_eq!(args[0].children[1].kind, "oneof");
        assert!(args[0].children[1].multiple);
        assert_eq!(
            shown(syntax),
            "ip:port|[ID id]|[SKIPME YES|NO] [[ID id]|[SKIPME YES|NO] ...]"
        );
    }

    #[test]
    fn categories_follow_redis_order() {
        let get = table::find(b"get").expect("get");
        assert_eq!(categories(get.command), vec!["@read", "@string", "@fast"]);
    }

    #[test]
    fn malformed_syntax_is_rejected() {
        assert!(parse_syntax("[a").is_err());
        assert!(parse_syntax("a]").is_err());
        assert!(parse_syntax("...").is_err());
    }
}
