//! Expiry: keys vanish exactly on time for every command, and the active cycle gives back the
//! memory of keys nobody reads again.

use shoal_tests::Shoal;
use std::time::{Duration, Instant};

fn info_field(conn: &mut redis::Connection, section: &str, field: &str) -> String {
    let info: String = redis::cmd("INFO").arg(section).query(conn).expect("info");
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_default()
        .to_string()
}

fn q<T: redis::FromRedisValue>(conn: &mut redis::Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(conn).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

#[test]
fn an_expired_key_is_invisible_to_every_command_before_it_is_reclaimed() {
    let node = Shoal::start();
    let mut c = node.conn();
    let _: () = q(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    let _: () = q(&mut c, &["SET", "gone", "value", "PX", "50"]);
    let _: () = q(&mut c, &["SET", "kept", "value"]);
    std::thread::sleep(Duration::from_millis(200));
    // Not reclaimed yet: DBSIZE counts it, as Redis's does.
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 2);
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "gone"]), None);
    let _: () = q(&mut c, &["SET", "gone2", "value", "PX", "50"]);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "gone2", "kept"]), 1);
    assert_eq!(q::<i64>(&mut c, &["TTL", "gone2"]), -2);
    assert_eq!(q::<i64>(&mut c, &["PTTL", "gone2"]), -2);
    assert_eq!(q::<String>(&mut c, &["TYPE", "gone2"]), "none");
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "gone2"]), 0);
    assert_eq!(
        q::<Vec<Option<String>>>(&mut c, &["MGET", "gone2", "kept"]),
        vec![None, Some("value".into())]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["KEYS", "*"]),
        vec!["kept".to_string()]
    );
    let (_, keys): (String, Vec<String>) = q(&mut c, &["SCAN", "0", "COUNT", "1000"]);
    assert_eq!(keys, vec!["kept".to_string()]);
    assert_eq!(q::<String>(&mut c, &["RANDOMKEY"]), "kept");
    assert!(
        redis::cmd("RENAME")
            .arg("gone2")
            .arg("x")
            .query::<()>(&mut c)
            .is_err()
    );
    assert_eq!(q::<i64>(&mut c, &["COPY", "gone2", "x"]), 0);
    assert_eq!(q::<i64>(&mut c, &["MOVE", "gone2", "1"]), 0);
    assert_eq!(q::<i64>(&mut c, &["PERSIST", "gone2"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "gone2", "100"]), 0);
    assert_eq!(
        q::<Option<String>>(&mut c, &["OBJECT", "ENCODING", "gone2"]),
        None
    );
    assert_eq!(q::<i64>(&mut c, &["SETNX", "gone2", "new"]), 1);
    assert_eq!(q::<i64>(&mut c, &["TTL", "gone2"]), -1);
    // A write to an expired key starts from nothing.
    let _: () = q(&mut c, &["SET", "counter", "41", "PX", "50"]);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(q::<i64>(&mut c, &["INCR", "counter"]), 1);
    let _: () = q(&mut c, &["SET", "text", "abc", "PX", "50"]);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(q::<i64>(&mut c, &["APPEND", "text", "xy"]), 2);
    assert!(q::<i64>(&mut c, &["DEL", "gone"]) == 0);
}

#[test]
fn every_way_of_setting_a_ttl_expires_the_key() {
    let node = Shoal::start();
    let mut c = node.conn();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let at_ms = (now_ms + 1_500).to_string();
    let at_s = (now_ms / 1000 + 2).to_string();
    let _: () = q(&mut c, &["SET", "a", "1", "PX", "300"]);
    let _: () = q(&mut c, &["SET", "b", "1", "EX", "1"]);
    let _: () = q(&mut c, &["SET", "c", "1", "PXAT", &at_ms]);
    let _: () = q(&mut c, &["SET", "d", "1", "EXAT", &at_s]);
    let _: () = q(&mut c, &["SETEX", "e", "1", "1"]);
    let _: () = q(&mut c, &["PSETEX", "f", "300", "1"]);
    for key in ["g", "h", "i", "j", "k"] {
        let _: () = q(&mut c, &["SET", key, "1"]);
    }
    let _: i64 = q(&mut c, &["EXPIRE", "g", "1"]);
    let _: i64 = q(&mut c, &["PEXPIRE", "h", "300"]);
    let _: i64 = q(&mut c, &["EXPIREAT", "i", &at_s]);
    let _: i64 = q(&mut c, &["PEXPIREAT", "j", &at_ms]);
    let _: String = q(&mut c, &["GETEX", "k", "PX", "300"]);
    assert_eq!(
        q::<i64>(
            &mut c,
            &[
                "EXISTS", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"
            ]
        ),
        11
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while q::<i64>(
        &mut c,
        &[
            "EXISTS", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k",
        ],
    ) > 0
    {
        assert!(Instant::now() < deadline, "keys did not expire");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_active_cycle_reclaims_keys_nobody_reads() {
    let node = Shoal::start();
    let mut c = node.conn();
    let mut pipe = redis::pipe();
    for i in 0..50_000 {
        pipe.cmd("SET")
            .arg(format!("key:{i}"))
            .arg("some value")
            .arg("PX")
            .arg(300)
            .ignore();
    }
    for i in 0..1_000 {
        pipe.cmd("SET")
            .arg(format!("keep:{i}"))
            .arg("some value")
            .ignore();
    }
    let empty: u64 = info_field(&mut c, "memory", "used_memory")
        .parse()
        .expect("used_memory");
    // The active cycle is off while filling, so a slow fill (a loaded machine) cannot let it
    // reclaim keys before they are counted; DBSIZE counts expired keys not yet reclaimed.
    let _: () = redis::cmd("DEBUG")
        .arg("SET-ACTIVE-EXPIRE")
        .arg(0)
        .query(&mut c)
        .expect("active expire off");
    let _: () = pipe.query(&mut c).expect("fill");
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 51_000);
    let _: () = redis::cmd("DEBUG")
        .arg("SET-ACTIVE-EXPIRE")
        .arg(1)
        .query(&mut c)
        .expect("active expire on");
    let full: u64 = info_field(&mut c, "memory", "used_memory")
        .parse()
        .expect("used_memory");
    let deadline = Instant::now() + Duration::from_secs(30);
    while q::<i64>(&mut c, &["DBSIZE"]) > 1_000 {
        assert!(Instant::now() < deadline, "expired keys were not reclaimed");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(info_field(&mut c, "stats", "expired_keys"), "50000");
    // The memory comes back too (the emptied tables shrink), not just the key count.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now: u64 = info_field(&mut c, "memory", "used_memory")
            .parse()
            .expect("used_memory");
        if now < empty + (full - empty) / 4 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "memory stayed at {now} (empty {empty}, full {full})"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let keyspace = info_field(&mut c, "keyspace", "db0");
    assert_eq!(keyspace, "keys=1000,expires=0,avg_ttl=0,subexpiry=0");
}

#[test]
fn switching_the_active_cycle_off_leaves_expired_keys_to_lazy_expiry() {
    let node = Shoal::start_with(&["--hz", "100"]);
    let mut c = node.conn();
    let _: () = q(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    for i in 0..100 {
        let _: () = q(&mut c, &["SET", &format!("k{i}"), "v", "PX", "20"]);
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        q::<i64>(&mut c, &["DBSIZE"]),
        100,
        "nothing reclaimed while the cycle is off"
    );
    let _: () = q(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while q::<i64>(&mut c, &["DBSIZE"]) > 0 {
        assert!(
            Instant::now() < deadline,
            "not reclaimed after turning the cycle back on"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
