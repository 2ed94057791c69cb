//! Unit tests of `Set`: encodings and their conversions, random picks, scans, and a
//! property test against a `HashSet`.

use super::*;
use std::collections::HashSet;

fn set_of(members: &[&str]) -> Set {
    let mut set = Set::new();
    for member in members {
        set.insert(member.as_bytes());
    }
    set
}

fn sorted(set: &Set) -> Vec<Vec<u8>> {
    let mut all: Vec<_> = set.iter().map(Member::to_vec).collect();
    all.sort();
    all
}

fn numbers(range: std::ops::Range<i64>) -> Set {
    let mut set = Set::new();
    for n in range {
        set.insert(n.to_string().as_bytes());
    }
    set
}

#[test]
fn a_small_set_fits_in_one_allocation() {
    assert!(
        std::mem::size_of::<Set>() <= 48,
        "{}",
        std::mem::size_of::<Set>()
    );
    let set = set_of(&["alpha", "beta", "gamma"]);
    assert_eq!(set.free_cost(), 1);
    assert_eq!(set.heap_size(), 0);
    let ints = numbers(0..15);
    assert_eq!((ints.encoding(), ints.free_cost()), ("intset", 1));
}

#[test]
fn integers_stay_sorted_and_widen_as_needed() {
    let mut set = Set::new();
    for n in [5, -3, 70_000, i64::MIN, 2, i64::MAX, -70_000, 300] {
        assert!(set.insert(n.to_string().as_bytes()));
    }
    assert!(!set.insert(b"5"));
    assert_eq!(set.encoding(), "intset");
    let values: Vec<Member<'_>> = set.iter().collect();
    let expected = [i64::MIN, -70_000, -3, 2, 5, 300, 70_000, i64::MAX];
    assert_eq!(values, expected.map(Member::Int).to_vec());
    assert!(set.contains(b"-70000") && !set.contains(b"4") && !set.contains(b"x"));
    assert!(set.remove(b"300") && !set.remove(b"300"));
    assert!(set.remove(i64::MIN.to_string().as_bytes()));
    assert_eq!(set.len(), 6);
}

#[test]
fn only_canonical_integers_go_in_an_intset() {
    for not_int in ["012", "-0", "+1", " 1", "1.0", "99999999999999999999"] {
        let set = set_of(&[not_int]);
        assert_eq!(set.encoding(), "listpack", "{not_int}");
    }
    let mut set = set_of(&["1", "2"]);
    assert!(!set.contains(b"01"));
    set.insert(b"01");
    assert_eq!((set.encoding(), set.len()), ("listpack", 3));
    assert!(set.contains(b"1") && set.contains(b"01"));
}

#[test]
fn an_intset_becomes_a_hash_table_past_512_members() {
    let mut set = numbers(0..512);
    assert_eq!(set.encoding(), "intset");
    set.insert(b"512");
    assert_eq!((set.encoding(), set.len()), ("hashtable", 513));
    assert_eq!(sorted(&set), sorted(&numbers(0..513)));
}

#[test]
fn an_intset_takes_a_string_as_a_listpack_only_while_small() {
    let mut small = numbers(0..127);
    small.insert(b"x");
    assert_eq!((small.encoding(), small.len()), ("listpack", 128));
    let mut big = numbers(0..128);
    big.insert(b"x");
    assert_eq!((big.encoding(), big.len()), ("hashtable", 129));
    let mut long = numbers(0..3);
    long.insert(&[b'x'; 65]);
    assert_eq!(long.encoding(), "hashtable");
}

#[test]
fn a_listpack_becomes_a_hash_table_past_its_limits() {
    let mut set = Set::packed();
    for i in 0..128 {
        set.insert(format!("m{i}").as_bytes());
    }
    assert_eq!(set.encoding(), "listpack");
    assert!(!set.insert(b"m5"));
    set.insert(b"m128");
    assert_eq!((set.encoding(), set.len()), ("hashtable", 129));
    let mut long = set_of(&["a"]);
    long.insert(&[b'y'; 64]);
    assert_eq!(long.encoding(), "listpack");
    long.insert(&[b'z'; 65]);
    assert_eq!((long.encoding(), long.len()), ("hashtable", 3));
    assert!(long.contains(&[b'y'; 64]) && long.contains(b"a"));
}

#[test]
fn new_sets_start_in_the_encoding_redis_picks() {
    assert_eq!(Set::for_first(b"1", 512).encoding(), "intset");
    assert_eq!(Set::for_first(b"1", 513).encoding(), "hashtable");
    assert_eq!(Set::for_first(b"a", 128).encoding(), "listpack");
    assert_eq!(Set::for_first(b"a", 129).encoding(), "hashtable");
    let mut set = set_of(&["a"]);
    set.prepare_for(128);
    assert_eq!(set.encoding(), "listpack");
    set.prepare_for(129);
    assert_eq!((set.encoding(), set.len()), ("hashtable", 1));
    let mut ints = numbers(0..3);
    ints.prepare_for(513);
    assert_eq!((ints.encoding(), ints.len()), ("hashtable", 3));
}

#[test]
fn compact_ints_turns_a_set_of_few_integers_into_an_intset() {
    let mut set = Set::packed();
    for member in ["3", "1", "2"] {
        set.insert(member.as_bytes());
    }
    set.compact_ints();
    assert_eq!(set.encoding(), "intset");
    assert_eq!(set.iter().collect::<Vec<_>>(), [1, 2, 3].map(Member::Int));
    let mut mixed = set_of(&["1", "a"]);
    mixed.compact_ints();
    assert_eq!(mixed.encoding(), "listpack");
    let mut table = numbers(0..300);
    table.prepare_for(1000);
    assert_eq!(table.encoding(), "hashtable");
    table.compact_ints();
    assert_eq!((table.encoding(), table.len()), ("intset", 300));
    let mut big = numbers(0..513);
    big.compact_ints();
    assert_eq!(big.encoding(), "hashtable");
}

#[test]
fn chunks_visit_every_member_once_in_each_encoding() {
    let many: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
    for set in [numbers(-20..20), set_of(&["a", "b", "c", "d", "e"]), {
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        set_of(&refs)
    }] {
        let (mut out, mut at) = (Vec::new(), Some(0));
        while let Some(from) = at {
            at = set.chunk(from, 7, &mut out);
        }
        let mut got: Vec<_> = out.iter().map(|m| m.as_member().to_vec()).collect();
        got.sort();
        assert_eq!(got, sorted(&set), "{}", set.encoding());
    }
}

#[test]
fn a_scan_gives_every_member_even_when_the_table_grows_meanwhile() {
    // 1700 members nearly fill a table of 2048 buckets: the additions made while scanning
    // rebuild it once, which starts the walk over.
    let mut set = Set::new();
    for i in 0..1700 {
        set.insert(format!("m{i}").as_bytes());
    }
    let generation = |set: &Set| match &set.repr {
        Repr::Table(table) => table.generation,
        _ => 0,
    };
    let before = generation(&set);
    let (mut seen, mut cursor, mut extra) = (HashSet::new(), 0, 0);
    loop {
        let mut out = Vec::new();
        cursor = set.scan(cursor, 10, &mut out);
        seen.extend(out.iter().map(|m| m.as_member().to_vec()));
        set.insert(format!("new{extra}").as_bytes());
        extra += 1;
        if cursor == 0 {
            break;
        }
    }
    assert_ne!(
        generation(&set),
        before,
        "the table was rebuilt during the scan"
    );
    for i in 0..1700 {
        assert!(seen.contains(format!("m{i}").as_bytes()), "m{i} missed");
    }
    let mut small = Vec::new();
    assert_eq!(numbers(0..5).scan(12345, 1, &mut small), 0);
    assert_eq!(small.len(), 5);
}

#[test]
fn random_picks_reach_every_member() {
    let many: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let mut rng = rand::rng();
    for set in [numbers(0..3), set_of(&["a", "b", "c"]), set_of(&refs)] {
        let mut seen = HashSet::new();
        for _ in 0..20_000 {
            seen.insert(set.random(&mut rng).map(Member::to_vec));
        }
        assert_eq!(seen.len(), set.len(), "{}", set.encoding());
    }
    assert_eq!(Set::new().random(&mut rng), None);
}

#[test]
fn samples_are_distinct_members() {
    let many: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let mut rng = rand::rng();
    for set in [numbers(0..10), set_of(&["a", "b", "c", "d"]), set_of(&refs)] {
        for count in [1, 2, set.len() / 3, set.len() - 1, set.len(), set.len() + 5] {
            let sample = set.sample(count, &mut rng);
            let distinct: HashSet<_> = sample.iter().map(|m| m.to_vec()).collect();
            assert_eq!(sample.len(), count.min(set.len()));
            assert_eq!(distinct.len(), sample.len());
            assert!(sample.iter().all(|m| set.contains_member(*m)));
        }
    }
}

#[test]
fn pop_many_takes_random_members_and_keeps_the_rest() {
    let many: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let mut rng = rand::rng();
    let cases = [
        (numbers(0..100), 10, "intset"),
        (numbers(0..100), 95, "intset"),
        (set_of(&["a", "b", "c", "d", "e", "f"]), 5, "listpack"),
        (set_of(&refs), 20, "hashtable"),
        // Few survivors: they move to a new listpack.
        (set_of(&refs), 290, "listpack"),
        (numbers(0..1000), 990, "listpack"),
    ];
    for (mut set, count, encoding) in cases {
        let before = sorted(&set);
        let popped = set.pop_many(count, &mut rng);
        assert_eq!((popped.len(), set.len()), (count, before.len() - count));
        assert_eq!(set.encoding(), encoding);
        let mut all: Vec<_> = popped.iter().map(|m| m.as_member().to_vec()).collect();
        all.extend(set.iter().map(Member::to_vec));
        all.sort();
        assert_eq!(all, before);
    }
}

#[test]
fn popping_everything_one_by_one_empties_the_set() {
    let mut rng = rand::rng();
    let many: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let mut set = set_of(&refs);
    let mut seen = HashSet::new();
    while let Some(member) = set.pop_random(&mut rng) {
        assert!(seen.insert(member.as_member().to_vec()));
    }
    assert_eq!((seen.len(), set.len()), (300, 0));
    assert!(
        set.heap_size() < 4096,
        "the table shrank: {}",
        set.heap_size()
    );
}

#[test]
fn into_members_gives_everything() {
    let set = numbers(0..600);
    assert_eq!(set.encoding(), "hashtable");
    assert_eq!(set.clone().into_members().len(), 600);
    assert_eq!(set, numbers(0..600));
    assert_ne!(set, numbers(0..599));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(Vec<u8>),
        Remove(Vec<u8>),
        Pop,
    }

    fn member() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            (-40i64..40).prop_map(|n| n.to_string().into_bytes()),
            any::<i64>().prop_map(|n| n.to_string().into_bytes()),
            proptest::collection::vec(any::<u8>(), 0..4),
            proptest::collection::vec(b'a'..b'c', 60..70),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => member().prop_map(Op::Insert),
            3 => member().prop_map(Op::Remove),
            1 => Just(Op::Pop),
        ]
    }

    proptest! {
        #[test]
        fn a_set_behaves_like_a_hash_set(ops in proptest::collection::vec(op(), 0..700)) {
            let mut rng = rand::rng();
            let (mut set, mut model) = (Set::new(), HashSet::new());
            for op in ops {
                match op {
                    Op::Insert(m) => {
                        prop_assert_eq!(set.insert(&m), model.insert(m.clone()));
                    }
                    Op::Remove(m) => prop_assert_eq!(set.remove(&m), model.remove(&m)),
                    Op::Pop => match set.pop_random(&mut rng) {
                        Some(m) => prop_assert!(model.remove(&m.as_member().to_vec())),
                        None => prop_assert!(model.is_empty()),
                    },
                }
                prop_assert_eq!(set.len(), model.len());
            }
            let mut expected: Vec<_> = model.into_iter().collect();
            expected.sort();
            prop_assert_eq!(sorted(&set), expected);
        }
    }
}
