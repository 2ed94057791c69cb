//! Random picks: SPOP and SRANDMEMBER with and without counts, and how the picks spread.

use super::*;

#[test]
fn spop_without_a_count_removes_one_random_member() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "SPOP nokey", "$-1\r\n");
    expect(&mut raw, "SADD s a b c", ":3\r\n");
    let mut popped = Vec::new();
    for _ in 0..3 {
        let reply = raw.call(&["SPOP", "s"]);
        let member = reply.split("\r\n").nth(1).expect("a bulk").to_string();
        assert_eq!(reply, format!("$1\r\n{member}\r\n"));
        popped.push(member);
    }
    popped.sort();
    assert_eq!(popped.join(" "), "a b c");
    expect_all(
        &mut raw,
        &[
            ("EXISTS s", ":0\r\n"),
            ("SPOP s", "$-1\r\n"),
            ("SADD n 7", ":1\r\n"),
            ("SPOP n", "$1\r\n7\r\n"),
            ("EXISTS n", ":0\r\n"),
        ],
    );
}

#[test]
fn spop_with_a_count_answers_distinct_members_and_refuses_bad_counts() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("SPOP nokey 3", EMPTY),
            ("SADD s a b c d e", ":5\r\n"),
            ("SPOP s 0", EMPTY),
            ("SCARD s", ":5\r\n"),
        ],
    );
    let two = members(&mut raw, "SPOP s 2");
    assert_eq!(two.len(), 2);
    assert_eq!(int(&mut raw, "SCARD s"), 3);
    let rest = members(&mut raw, "SPOP s 10");
    assert_eq!(rest.len(), 3);
    let mut all: Vec<String> = two.into_iter().chain(rest).collect();
    all.sort();
    assert_eq!(all.join(" "), "a b c d e");
    expect(&mut raw, "EXISTS s", ":0\r\n");
    // Both strategies on a big set: few taken, and few left behind.
    let big: Vec<String> = names("m", 0..1000);
    sadd_all(&mut raw, "big", big.clone());
    let mut taken: Vec<String> = members(&mut raw, "SPOP big 10");
    taken.extend(members(&mut raw, "SPOP big 985"));
    assert_eq!(int(&mut raw, "SCARD big"), 5);
    taken.extend(members(&mut raw, "SMEMBERS big"));
    taken.sort();
    let mut expected = big;
    expected.sort();
    assert_eq!(taken, expected);
    let positive = "-ERR value is out of range, must be positive\r\n";
    expect_all(
        &mut raw,
        &[
            ("SADD s a", ":1\r\n"),
            ("SPOP s -1", positive),
            ("SPOP s abc", positive),
            ("SPOP s 1.5", positive),
            ("SPOP nokey -1", positive),
            ("SPOP s 1 2", SYNTAX),
            ("SCARD s", ":1\r\n"),
        ],
    );
}

#[test]
fn srandmember_answers_distinct_members_for_a_positive_count() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect_all(
        &mut raw,
        &[
            ("SRANDMEMBER nokey", "$-1\r\n"),
            ("SRANDMEMBER nokey 5", EMPTY),
            ("SRANDMEMBER nokey -5", EMPTY),
            ("SADD s a b c d e", ":5\r\n"),
            ("SRANDMEMBER s 0", EMPTY),
        ],
    );
    for count in [1, 2, 4, 5, 9] {
        let got = members(&mut raw, &format!("SRANDMEMBER s {count}"));
        let distinct: HashSet<&String> = got.iter().collect();
        assert_eq!(got.len(), count.min(5), "count {count}");
        assert_eq!(distinct.len(), got.len(), "count {count}");
    }
    assert_eq!(joined(&mut raw, "SRANDMEMBER s 5"), "a b c d e");
    expect(&mut raw, "SCARD s", ":5\r\n");
    // The same on a hash table, where a small count is probed and a large one sampled.
    let big: Vec<String> = names("m", 0..300);
    sadd_all(&mut raw, "big", big);
    for count in [10, 150, 299, 300, 1000] {
        let got = members(&mut raw, &format!("SRANDMEMBER big {count}"));
        let distinct: HashSet<&String> = got.iter().collect();
        assert_eq!(
            (got.len(), distinct.len()),
            (count.min(300), count.min(300))
        );
    }
}

#[test]
fn srandmember_with_a_negative_count_may_repeat_members() {
    let node = Shoal::start();
    let mut raw = node.raw();
    expect(&mut raw, "SADD s a b", ":2\r\n");
    let got = members(&mut raw, "SRANDMEMBER s -100");
    assert_eq!(got.len(), 100);
    assert!(got.iter().all(|m| m == "a" || m == "b"));
    let distinct: HashSet<&String> = got.iter().collect();
    assert_eq!(distinct.len(), 2, "100 picks of two members found both");
    expect(&mut raw, "SADD one x", ":1\r\n");
    expect(
        &mut raw,
        "SRANDMEMBER one -3",
        "*3\r\n$1\r\nx\r\n$1\r\nx\r\n$1\r\nx\r\n",
    );
    expect_all(
        &mut raw,
        &[
            ("SRANDMEMBER s abc", NOT_INT),
            ("SRANDMEMBER nokey abc", NOT_INT),
            (
                "SRANDMEMBER s -9223372036854775808",
                "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n",
            ),
            ("SRANDMEMBER s 1 2", SYNTAX),
        ],
    );
}

#[test]
fn random_picks_spread_over_every_member() {
    let node = Shoal::start();
    let mut raw = node.raw();
    for (key, count) in [("ints", 10), ("small", 10), ("big", 600)] {
        let prefix = if key == "ints" { "" } else { "m" };
        sadd_all(&mut raw, key, names(prefix, 0..count));
        let mut seen: HashMap<String, usize> = HashMap::new();
        let picks = count * 40;
        for member in members(&mut raw, &format!("SRANDMEMBER {key} -{picks}")) {
            *seen.entry(member).or_default() += 1;
        }
        // Every member turns up; none takes a share far beyond its 1/count.
        assert_eq!(
            seen.len() as i64,
            count,
            "{key}: {} of {count} seen",
            seen.len()
        );
        assert!(seen.values().all(|&n| n < 200), "{key}: {seen:?}");
        let single: HashSet<String> = (0..200).map(|_| raw.call(&["SRANDMEMBER", key])).collect();
        assert!(
            single.len() > 1,
            "{key}: SRANDMEMBER always gave {single:?}"
        );
    }
    let popped: HashSet<String> = (0..20)
        .map(|_| {
            let mut raw = node.raw();
            sadd_all(&mut raw, "p", names("x", 0..10));
            let member = raw.call(&["SPOP", "p"]);
            raw.call(&["DEL", "p"]);
            member
        })
        .collect();
    assert!(popped.len() > 1, "SPOP always took {popped:?}");
}
