//! Set encodings as Redis 7.2 reports them (intset, listpack, hashtable: thresholds, conversions,
//! stored results, packing after SPOP) and SSCAN over each.

use super::*;

#[test]
fn integers_stay_an_intset_until_512_members_or_a_string_arrives() {
    let node = Shoal::start();
    let mut raw = node.raw();
    sadd_all(&mut raw, "ints", names("", 0..512));
    assert_eq!(encoding(&mut raw, "ints"), "$6\r\nintset\r\n");
    expect(&mut raw, "SADD ints 512", ":1\r\n");
    assert_eq!(encoding(&mut raw, "ints"), "$9\r\nhashtable\r\n");
    // Wide and negative integers are integers too; `012` and `-0` are not.
    expect(
        &mut raw,
        "SADD wide -9223372036854775808 9223372036854775807 0",
        ":3\r\n",
    );
    assert_eq!(encoding(&mut raw, "wide"), "$6\r\nintset\r\n");
    expect(
        &mut raw,
        "SMEMBERS wide",
        "*3\r\n$20\r\n-9223372036854775808\r\n$1\r\n0\r\n$19\r\n9223372036854775807\r\n",
    );
    expect(&mut raw, "SADD wide 012", ":1\r\n");
    assert_eq!(encoding(&mut raw, "wide"), "$8\r\nlistpack\r\n");
    expect(&mut raw, "SADD z -0", ":1\r\n");
    assert_eq!(encoding(&mut raw, "z"), "$8\r\nlistpack\r\n");
    // An intset of 128 or more members takes a string as a hash table.
    sadd_all(&mut raw, "many", names("", 0..128));
    expect(&mut raw, "SADD many x", ":1\r\n");
    assert_eq!(encoding(&mut raw, "many"), "$9\r\nhashtable\r\n");
    sadd_all(&mut raw, "fewer", names("", 0..127));
    expect(&mut raw, "SADD fewer x", ":1\r\n");
    assert_eq!(encoding(&mut raw, "fewer"), "$8\r\nlistpack\r\n");
}

#[test]
fn strings_stay_a_listpack_until_128_members_or_a_long_one() {
    let node = Shoal::start();
    let mut raw = node.raw();
    sadd_all(&mut raw, "s", names("m", 0..128));
    assert_eq!(encoding(&mut raw, "s"), "$8\r\nlistpack\r\n");
    expect(&mut raw, "SADD s m0", ":0\r\n");
    assert_eq!(encoding(&mut raw, "s"), "$8\r\nlistpack\r\n");
    expect(&mut raw, "SADD s m128", ":1\r\n");
    assert_eq!(encoding(&mut raw, "s"), "$9\r\nhashtable\r\n");
    // Members removed later do not bring a listpack back.
    sadd_all(&mut raw, "s", Vec::new());
    for i in 0..120 {
        raw.call(&["SREM", "s", &format!("m{i}")]);
    }
    assert_eq!(encoding(&mut raw, "s"), "$9\r\nhashtable\r\n");
    let long = "x".repeat(64);
    assert_eq!(raw.call(&["SADD", "l", "a", &long]), ":2\r\n");
    assert_eq!(encoding(&mut raw, "l"), "$8\r\nlistpack\r\n");
    let longer = "y".repeat(65);
    assert_eq!(raw.call(&["SADD", "l", &longer]), ":1\r\n");
    assert_eq!(encoding(&mut raw, "l"), "$9\r\nhashtable\r\n");
    assert_eq!(raw.call(&["SADD", "l2", &longer]), ":1\r\n");
    assert_eq!(encoding(&mut raw, "l2"), "$9\r\nhashtable\r\n");
}

#[test]
fn sadd_with_many_members_at_once_starts_as_a_hash_table() {
    let node = Shoal::start();
    let mut raw = node.raw();
    // More members than the packed limits in one call: the table is made at once, even
    // when they repeat.
    sadd_all(&mut raw, "s", std::iter::repeat_n("a".to_string(), 129));
    assert_eq!(encoding(&mut raw, "s"), "$9\r\nhashtable\r\n");
    expect(&mut raw, "SADD p a", ":1\r\n");
    sadd_all(&mut raw, "p", std::iter::repeat_n("a".to_string(), 129));
    assert_eq!(encoding(&mut raw, "p"), "$9\r\nhashtable\r\n");
    sadd_all(&mut raw, "i", names("", 0..513));
    assert_eq!(encoding(&mut raw, "i"), "$9\r\nhashtable\r\n");
    sadd_all(&mut raw, "j", names("", 0..200));
    assert_eq!(encoding(&mut raw, "j"), "$6\r\nintset\r\n");
}

#[test]
fn stored_results_take_the_encoding_redis_gives_them() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("SADD a a b c 1 3 6 x y z", ":9\r\n"),
            ("SADD b e f g 1 2 3 u v w", ":9\r\n"),
            ("SINTERSTORE r a b", ":2\r\n"),
            ("OBJECT ENCODING r", "$6\r\nintset\r\n"),
            ("SUNIONSTORE u r", ":2\r\n"),
            ("OBJECT ENCODING u", "$6\r\nintset\r\n"),
            ("SUNIONSTORE u a", ":9\r\n"),
            ("OBJECT ENCODING u", "$8\r\nlistpack\r\n"),
            ("SDIFFSTORE d a b", ":7\r\n"),
            ("OBJECT ENCODING d", "$8\r\nlistpack\r\n"),
        ],
    );
    // A hash-table source whose common members are few integers gives an intset.
    let common = || ["1".to_string(), "2".to_string()];
    sadd_all(
        &mut raw,
        "h1",
        names("m", 0..300).into_iter().chain(common()),
    );
    sadd_all(
        &mut raw,
        "h2",
        names("n", 0..300).into_iter().chain(common()),
    );
    assert_eq!(encoding(&mut raw, "h1"), "$9\r\nhashtable\r\n");
    expect(&mut raw, "SINTERSTORE r h1 h2", ":2\r\n");
    assert_eq!(encoding(&mut raw, "r"), "$6\r\nintset\r\n");
    // Common integers past the listpack limit make a hash table on the way, an intset at
    // the end.
    sadd_all(&mut raw, "h1", names("", 0..200));
    sadd_all(&mut raw, "h2", names("", 0..200));
    expect(&mut raw, "SINTERSTORE r h1 h2", ":200\r\n");
    assert_eq!(encoding(&mut raw, "r"), "$6\r\nintset\r\n");
    expect(&mut raw, "SDIFFSTORE d h1 h2", ":300\r\n");
    assert_eq!(encoding(&mut raw, "d"), "$9\r\nhashtable\r\n");
}

#[test]
fn spop_leaving_few_members_of_a_hash_table_packs_them() {
    let node = Shoal::start();
    let mut raw = node.raw();
    sadd_all(&mut raw, "s", names("m", 0..1000));
    assert_eq!(members(&mut raw, "SPOP s 990").len(), 990);
    assert_eq!(encoding(&mut raw, "s"), "$8\r\nlistpack\r\n");
    sadd_all(&mut raw, "i", names("", 0..500));
    assert_eq!(members(&mut raw, "SPOP i 490").len(), 490);
    assert_eq!(encoding(&mut raw, "i"), "$6\r\nintset\r\n");
    assert_eq!(int(&mut raw, "SCARD i"), 10);
    // Popping fewer keeps the hash table.
    sadd_all(&mut raw, "t", names("m", 0..1000));
    assert_eq!(members(&mut raw, "SPOP t 10").len(), 10);
    assert_eq!(encoding(&mut raw, "t"), "$9\r\nhashtable\r\n");
}

#[test]
fn sscan_gives_a_packed_set_at_once_walks_a_hash_table_and_checks_its_options() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("SSCAN nokey 0", "*2\r\n$1\r\n0\r\n*0\r\n"),
            ("SADD s 3 1 2", ":3\r\n"),
            (
                "SSCAN s 0 COUNT 1",
                "*2\r\n$1\r\n0\r\n*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n",
            ),
            ("SSCAN s 0 MATCH 2", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\n2\r\n"),
            (
                "SSCAN s 0 MATCH * COUNT 5 match [13]",
                "*2\r\n$1\r\n0\r\n*2\r\n$1\r\n1\r\n$1\r\n3\r\n",
            ),
        ],
    );
    let all = names("m", 0..1000);
    sadd_all(&mut raw, "big", all.clone());
    let mut conn = node.conn();
    let mut seen = HashSet::new();
    let (mut cursor, mut calls) = (0u64, 0);
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SSCAN")
            .arg("big")
            .arg(cursor)
            .arg("COUNT")
            .arg(20)
            .query(&mut conn)
            .expect("sscan");
        assert!(batch.len() <= 200, "one call gave {}", batch.len());
        seen.extend(batch);
        calls += 1;
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert!(calls > 1, "a hash table is walked in several calls");
    assert_eq!(seen, all.into_iter().collect::<HashSet<_>>());
    // MATCH filters what a call found.
    let matched: HashSet<String> = conn
        .sscan_match::<_, _, String>("big", "m1?")
        .expect("sscan match")
        .collect::<Result<_, _>>()
        .expect("sscan items");
    let expected: HashSet<String> = names("m", 10..20).into_iter().collect();
    assert_eq!(matched, expected);
    let cursor = "-ERR invalid cursor\r\n";
    expect_all(
        &mut raw,
        &[
            ("SSCAN s abc", cursor),
            ("SSCAN nokey abc", cursor),
            ("SSCAN s 18446744073709551616", cursor),
            ("SSCAN s 0 COUNT 0", SYNTAX),
            ("SSCAN s 0 COUNT -1", SYNTAX),
            ("SSCAN s 0 COUNT abc", NOT_INT),
            ("SSCAN s 0 MATCH", SYNTAX),
            ("SSCAN s 0 TYPE string", SYNTAX),
            ("SSCAN s 0 FOO bar", SYNTAX),
            // Options are read only once the key is known to exist.
            ("SSCAN nokey 0 COUNT 0", "*2\r\n$1\r\n0\r\n*0\r\n"),
            (
                "SSCAN s -1",
                "*2\r\n$1\r\n0\r\n*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n",
            ),
        ],
    );
}
