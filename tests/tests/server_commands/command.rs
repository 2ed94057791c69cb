//! COMMAND end to end: COUNT, INFO, DOCS (redis-cli builds its hints from them), LIST,
//! GETKEYS, and the HELP subcommands, shaped as Redis 7.2 shapes them.

use super::*;

#[test]
fn command_count_matches_the_commands_described() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let count = int(&call(&mut raw, &["COMMAND", "COUNT"]));
    let all = call(&mut raw, &["COMMAND"]).items();
    assert_eq!(all.len() as i64, count);
    assert_eq!(
        call(&mut raw, &["COMMAND", "INFO"]).items().len() as i64,
        count
    );
    let names: Vec<String> = all
        .iter()
        .map(|c| c.items()[0].text().to_string())
        .collect();
    for expected in ["get", "set", "client", "command", "config", "info", "ping"] {
        assert!(names.iter().any(|n| n == expected), "{expected} missing");
    }
    let listed = call(&mut raw, &["COMMAND", "LIST"]).items();
    let top_level = listed.iter().filter(|n| !n.text().contains('|')).count();
    assert_eq!(top_level as i64, count);
}

#[test]
fn command_info_describes_commands_in_redis_layout() {
    let node = Shoal::start();
    let mut raw = node.raw();
    assert_eq!(
        raw.call(&["COMMAND", "INFO", "get"]),
        "*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n\
         *3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n\
         +access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n\
         *2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n\
         $4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n"
    );
    // Unknown names are nulls, in place; subcommands are named container|sub.
    let reply = call(
        &mut raw,
        &["COMMAND", "INFO", "nosuch", "CLIENT|LIST", "ping"],
    )
    .items();
    assert_eq!(reply[0], Resp::Null);
    let list = reply[1].items();
    assert_eq!(list[0].text(), "client|list");
    assert_eq!(int(&list[1]), -2);
    assert_eq!(
        list[2].items(),
        ["admin", "noscript", "loading", "stale"].map(|f| Resp::Status(f.into()))
    );
    assert_eq!(
        list[6].items(),
        ["@admin", "@slow", "@dangerous", "@connection"].map(|f| Resp::Status(f.into()))
    );
    assert_eq!(reply[2].items()[0].text(), "ping");
    // A container lists its subcommands, each described the same way.
    let client = call(&mut raw, &["COMMAND", "INFO", "client"]).items()[0].items();
    let subs: Vec<String> = client[9]
        .items()
        .iter()
        .map(|s| s.items()[0].text().to_string())
        .collect();
    for sub in "client|id client|kill client|list client|no-touch client|setinfo".split(' ') {
        assert!(subs.iter().any(|s| s == sub), "{sub} missing: {subs:?}");
    }
}

#[test]
fn command_info_in_resp3_uses_sets_and_nulls_like_redis() {
    let node = Shoal::start();
    let mut raw = node.raw();
    raw.call(&["HELLO", "3"]);
    let reply = call(&mut raw, &["COMMAND", "INFO", "get", "nosuch"]).items();
    assert_eq!(reply[1], Resp::Null);
    let get = reply[0].items();
    assert!(matches!(get[2], Resp::Set(_)), "flags are a set");
    assert!(matches!(get[6], Resp::Set(_)), "categories are a set");
    assert!(matches!(get[7], Resp::Set(_)), "tips are a set");
    assert!(matches!(get[8], Resp::Set(_)), "key specs are a set");
    assert!(matches!(&get[8].items()[0], Resp::Map(_)), "key spec");
    assert_eq!(get[9], Resp::Set(vec![]), "no subcommands: an empty set");
    let client = call(&mut raw, &["COMMAND", "INFO", "client"]).items()[0].items();
    assert!(matches!(client[9], Resp::Array(_)), "subcommands");
}

#[test]
fn command_info_matches_the_reference_server() {
    let Some(redis) = RedisServer::start() else {
        eprintln!("note: redis-server is not installed; skipping the comparison");
        return;
    };
    let node = Shoal::start();
    let (mut ours, mut theirs) = (node.raw(), redis.raw());
    // Commands whose description (flags, categories, key specs) is the same in 7.0 and 7.2.
    let names = "get select hello quit echo reset client|id client|kill client|setname config|get";
    for name in names.split(' ') {
        for proto in ["2", "3"] {
            ours.call(&["HELLO", proto]);
            theirs.call(&["HELLO", proto]);
            assert_eq!(
                ours.call(&["COMMAND", "INFO", name]),
                theirs.call(&["COMMAND", "INFO", name]),
                "COMMAND INFO {name} in RESP{proto}"
            );
        }
    }
}

#[test]
fn command_docs_let_redis_cli_show_argument_hints() {
    let node = Shoal::start();
    let help = strip_ansi(&node.cli(&["help", "set"]));
    assert!(
        help.contains(
            "SET key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]"
        ),
        "{help}"
    );
    assert!(help.contains("group: string"), "{help}");
    let expected = "\
        client list => CLIENT LIST [TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id [client-id ...]]
        client setinfo => CLIENT SETINFO LIB-NAME libname|LIB-VER libver
        client reply => CLIENT REPLY ON|OFF|SKIP
        hello => HELLO [protover [AUTH username password] [SETNAME clientname]]
        ping => PING [message]
        select => SELECT index
        config set => CONFIG SET parameter value [parameter value ...]
        command getkeys => COMMAND GETKEYS command [arg [arg ...]]
        command list => COMMAND LIST [FILTERBY MODULE module-name|ACLCAT category|PATTERN pattern]";
    for (command, line) in expected.lines().filter_map(|l| l.trim().split_once(" => ")) {
        let args: Vec<&str> = std::iter::once("help").chain(command.split(' ')).collect();
        let help = strip_ansi(&node.cli(&args));
        assert!(help.contains(line), "help {command}: {help}");
    }
}

/// A docs reply with what legitimately differs between Redis 7.0 and 7.2 removed: texts,
/// history, versions of arguments, and 7.2's `display_text`.
fn docs_shape(reply: &Resp) -> Resp {
    match reply {
        Resp::Map(_) | Resp::Array(_) if is_map_like(reply) => {
            let kept: Vec<Resp> = reply
                .pairs()
                .into_iter()
                .filter(|(k, _)| {
                    !matches!(
                        k.as_str(),
                        "summary" | "complexity" | "history" | "since" | "display_text"
                    )
                })
                .flat_map(|(k, v)| [Resp::Bulk(k), docs_shape(&v)])
                .collect();
            Resp::Array(kept)
        }
        Resp::Array(items) | Resp::Set(items) => {
            Resp::Array(items.iter().map(docs_shape).collect())
        }
        other => other.clone(),
    }
}

/// Whether an aggregate is a flat key/value list whose keys are docs field names.
fn is_map_like(reply: &Resp) -> bool {
    let items = reply.items();
    items.len().is_multiple_of(2)
        && !items.is_empty()
        && matches!(&items[0], Resp::Bulk(k) if ["summary", "name"].contains(&k.as_str()))
}

#[test]
fn command_docs_match_the_reference_structure() {
    let Some(redis) = RedisServer::start() else {
        eprintln!("note: redis-server is not installed; skipping the comparison");
        return;
    };
    let node = Shoal::start();
    let (mut ours, mut theirs) = (node.raw(), redis.raw());
    // (HELLO and CONFIG GET are left out: 7.2 reshaped their arguments.)
    for name in "get set ping echo select client|setname client|no-evict".split(' ') {
        let a = call(&mut ours, &["COMMAND", "DOCS", name]);
        let b = call(&mut theirs, &["COMMAND", "DOCS", name]);
        assert_eq!(a.items()[0], b.items()[0], "{name}");
        assert_eq!(
            docs_shape(&a.items()[1]),
            docs_shape(&b.items()[1]),
            "COMMAND DOCS {name}"
        );
    }
}

#[test]
fn command_docs_follow_redis_7_2() {
    let node = Shoal::start();
    let mut raw = node.raw();
    assert_eq!(raw.call(&["COMMAND", "DOCS", "nosuch"]), "*0\r\n");
    let docs = call(&mut raw, &["COMMAND", "DOCS", "ping", "nosuch", "client"]).pairs();
    assert_eq!(
        docs.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["ping", "client"]
    );
    let ping = &docs[0].1;
    let keys: Vec<String> = ping.pairs().into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        ["summary", "since", "group", "complexity", "arguments"]
    );
    assert_eq!(ping.get("group"), Some(Resp::Bulk("connection".into())));
    let message = ping.get("arguments").expect("arguments").items()[0].clone();
    let bulk = |s: &str| Resp::Bulk(s.into());
    let optional = Resp::Array(vec![Resp::Status("optional".into())]);
    let fields = [("name", bulk("message")), ("type", bulk("string"))];
    let fields = fields
        .into_iter()
        .chain([("display_text", bulk("message")), ("flags", optional)]);
    assert_eq!(
        message.pairs(),
        fields.map(|(k, v)| (k.into(), v)).collect::<Vec<_>>()
    );
    // Subcommands are a map from full name to their own docs.
    let subs = docs[1].1.get("subcommands").expect("subcommands").pairs();
    assert!(subs.iter().any(|(k, _)| k == "client|kill"));
    // CLIENT KILL's filters, with Redis 7.2's names and display texts.
    let kill = subs
        .iter()
        .find(|(k, _)| k == "client|kill")
        .expect("kill")
        .1
        .clone();
    let filter = kill.get("arguments").expect("args").items()[0].clone();
    assert_eq!(filter.get("name"), Some(Resp::Bulk("filter".into())));
    let forms = filter.get("arguments").expect("forms").items();
    assert_eq!(forms[0].get("name"), Some(Resp::Bulk("old-format".into())));
    assert_eq!(
        forms[0].get("display_text"),
        Some(Resp::Bulk("ip:port".into()))
    );
    let names: Vec<String> = forms[1]
        .get("arguments")
        .expect("filters")
        .items()
        .iter()
        .map(|a| a.get("name").expect("name").text().to_string())
        .collect();
    let expected = "client-id client-type username addr laddr skipme maxage";
    assert_eq!(names, expected.split(' ').collect::<Vec<_>>());
    // RESP3: maps and sets.
    raw.call(&["HELLO", "3"]);
    assert_eq!(raw.call(&["COMMAND", "DOCS", "nosuch"]), "%0\r\n");
    let docs = call(&mut raw, &["COMMAND", "DOCS", "ping"]);
    let Resp::Map(entries) = &docs else {
        panic!("{docs:?}")
    };
    let arg = entries[0].1.get("arguments").expect("args").items()[0].clone();
    assert_eq!(
        arg.get("flags"),
        Some(Resp::Set(vec![Resp::Status("optional".into())]))
    );
}

#[test]
fn command_list_filters_by_pattern_category_and_module() {
    let node = Shoal::start();
    let mut raw = node.raw();
    let names = |reply: Resp| {
        let mut v: Vec<String> = reply.items().iter().map(|n| n.text().to_string()).collect();
        v.sort();
        v
    };
    let all = names(call(&mut raw, &["COMMAND", "LIST"]));
    assert!(all.contains(&"client|list".to_string()) && all.contains(&"get".to_string()));
    assert_eq!(
        names(call(
            &mut raw,
            &["COMMAND", "LIST", "FILTERBY", "PATTERN", "config*"]
        )),
        "config config|get config|help config|resetstat config|set"
            .split(' ')
            .collect::<Vec<_>>()
    );
    assert_eq!(
        names(call(
            &mut raw,
            &["command", "list", "filterby", "pattern", "CLIENT|?D"]
        )),
        ["client|id"]
    );
    let connection = names(call(
        &mut raw,
        &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "connection"],
    ));
    for name in ["ping", "echo", "hello", "select", "client|list"] {
        assert!(
            connection.contains(&name.to_string()),
            "{name}: {connection:?}"
        );
    }
    assert!(!connection.contains(&"get".to_string()));
    assert_eq!(
        raw.call(&["COMMAND", "LIST", "FILTERBY", "MODULE", "x"]),
        "*0\r\n"
    );
    for bad in [
        &["COMMAND", "LIST", "x"][..],
        &["COMMAND", "LIST", "FILTERBY", "NAME", "x"],
        &["COMMAND", "LIST", "FILTERBY", "PATTERN"],
    ] {
        assert_eq!(raw.call(bad), "-ERR syntax error\r\n", "{bad:?}");
    }
}

#[test]
fn command_getkeys_finds_keys_and_explains_failures() {
    let node = Shoal::start();
    let mut raw = node.raw();
    assert_eq!(
        raw.call(&["COMMAND", "GETKEYS", "get", "k"]),
        "*1\r\n$1\r\nk\r\n"
    );
    assert_eq!(
        raw.call(&["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"]),
        "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    );
    assert_eq!(
        raw.call(&["COMMAND", "GETKEYS", "del", "x", "y", "z"]),
        "*3\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\nz\r\n"
    );
    let errors: [(&[&str], &str); 6] = [
        (&["nosuch", "a"], "-ERR Invalid command specified\r\n"),
        (&["client", "nosuch"], "-ERR Invalid command specified\r\n"),
        (&["ping"], "-ERR The command has no key arguments\r\n"),
        (
            &["client", "list"],
            "-ERR The command has no key arguments\r\n",
        ),
        (
            &["get"],
            "-ERR Invalid number of arguments specified for command\r\n",
        ),
        (
            &["get", "a", "b"],
            "-ERR Invalid number of arguments specified for command\r\n",
        ),
    ];
    for (target, expected) in errors {
        let mut args = vec!["COMMAND", "GETKEYS"];
        args.extend_from_slice(target);
        assert_eq!(raw.call(&args), expected, "{target:?}");
    }
    assert_eq!(
        raw.call(&["COMMAND", "GETKEYS"]),
        "-ERR wrong number of arguments for 'command|getkeys' command\r\n"
    );
}

#[test]
fn help_subcommands_answer_in_redis_help_format() {
    let node = Shoal::start();
    let mut raw = node.raw();
    for (command, subs) in [
        ("COMMAND", &["COUNT", "DOCS", "GETKEYS", "INFO", "LIST"][..]),
        ("CONFIG", &["GET", "SET", "RESETSTAT"]),
        ("DEBUG", &["SLEEP"]),
    ] {
        let lines: Vec<String> = call(&mut raw, &[command, "HELP"])
            .items()
            .iter()
            .map(|l| match l {
                Resp::Status(s) => s.clone(),
                other => panic!("HELP lines are status strings: {other:?}"),
            })
            .collect();
        assert_eq!(
            lines[0],
            format!("{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
        );
        assert_eq!(lines[lines.len() - 2..], ["HELP", "    Prints this help."]);
        for sub in subs {
            assert!(
                lines.iter().any(|l| l.starts_with(sub)),
                "{command} HELP lacks {sub}"
            );
        }
    }
}
