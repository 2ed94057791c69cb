//! Unit and property tests of the sorted set: both forms are compared, operation by
//! operation, with a naive model (a sorted vector of (member, score)).

use super::*;
use proptest::prelude::*;

/// The obviously correct sorted set.
#[derive(Default, Debug)]
struct Model(Vec<(Vec<u8>, f64)>);

impl Model {
    fn sort(&mut self) {
        self.0.sort_by(|a, b| compare(&a.0, a.1, &b.0, b.1));
    }

    fn insert(&mut self, member: &[u8], score: f64) -> Insert {
        let outcome = match self.0.iter_mut().find(|(m, _)| m == member) {
            Some((_, s)) if *s == score => Insert::Unchanged,
            Some((_, s)) => {
                *s = score;
                Insert::Updated
            }
            None => {
                self.0.push((member.to_vec(), score));
                Insert::Added
            }
        };
        self.sort();
        outcome
    }

    fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let at = self.0.iter().position(|(m, _)| m == member)?;
        Some(self.0.remove(at).1)
    }
}

fn entries(zset: &ZSet) -> Vec<(Vec<u8>, f64)> {
    zset.iter().map(|e| (e.member.to_vec(), e.score)).collect()
}

fn check(zset: &ZSet, model: &Model) {
    assert_eq!(zset.len(), model.0.len());
    assert_eq!(entries(zset), model.0);
    if let Repr::Tree(tree) = &zset.repr {
        tree.check();
    }
}

#[derive(Debug, Clone)]
enum Op {
    Insert(u16, i8),
    Remove(u16),
    RemoveRange(u16, u16),
    Pop(u8, bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<u16>(), any::<i8>()).prop_map(|(m, s)| Op::Insert(m, s)),
        2 => any::<u16>().prop_map(Op::Remove),
        1 => (any::<u16>(), any::<u16>()).prop_map(|(a, b)| Op::RemoveRange(a, b)),
        1 => (any::<u8>(), any::<bool>()).prop_map(|(n, high)| Op::Pop(n, high)),
    ]
}

/// Members from a small space, so inserts often hit existing ones; a few are long enough
/// to force the tree form.
fn member(n: u16, space: u16) -> Vec<u8> {
    let n = n % space;
    if n.is_multiple_of(97) {
        format!("{n}-{}", "x".repeat(70)).into_bytes()
    } else {
        format!("m{n}").into_bytes()
    }
}

fn run(ops: &[Op], space: u16) {
    let mut zset = ZSet::new();
    let mut model = Model::default();
    for op in ops {
        match *op {
            Op::Insert(m, s) => {
                let m = member(m, space);
                let score = f64::from(s) / 4.0;
                assert_eq!(zset.insert(&m, score), model.insert(&m, score));
            }
            Op::Remove(m) => {
                let m = member(m, space);
                assert_eq!(zset.remove(&m), model.remove(&m));
            }
            Op::RemoveRange(a, b) => {
                let len = model.0.len().max(1);
                let start = usize::from(a) % len;
                let end = start + usize::from(b) % 300;
                let removed = zset.remove_range(start, end);
                let end = end.min(model.0.len());
                let expected = end.saturating_sub(start);
                if start < end {
                    model.0.drain(start..end);
                }
                assert_eq!(removed, expected);
            }
            Op::Pop(n, highest) => {
                let n = usize::from(n);
                let popped = zset.pop(n, highest);
                let n = n.min(model.0.len());
                let expected: Vec<_> = if highest {
                    model.0.drain(model.0.len() - n..).rev().collect()
                } else {
                    model.0.drain(..n).collect()
                };
                assert_eq!(popped, expected);
            }
        }
        check(&zset, &model);
    }
    // Every query agrees with the model at the end.
    for (rank, (member, score)) in model.0.iter().enumerate() {
        assert_eq!(zset.rank(member), Some(rank));
        assert_eq!(zset.score(member), Some(*score));
        let got = zset.get(rank).map(|e| (e.member.to_vec(), e.score));
        assert_eq!(got, Some((member.clone(), *score)));
    }
    let len = model.0.len();
    for start in [0, len / 3, len / 2, len.saturating_sub(1)] {
        for end in [start, start + 1, len / 2, len, len + 5] {
            let got: Vec<_> = zset
                .range(start, end)
                .map(|e| (e.member.to_vec(), e.score))
                .collect();
            let end = end.min(len);
            let want = if start < end {
                model.0[start..end].to_vec()
            } else {
                Vec::new()
            };
            assert_eq!(got, want, "range {start}..{end}");
            let back: Vec<_> = zset
                .range(start, end)
                .rev()
                .map(|e| (e.member.to_vec(), e.score))
                .collect();
            assert_eq!(back, want.into_iter().rev().collect::<Vec<_>>());
        }
    }
    for bound in [-40.0, -1.0, 0.0, 0.25, 10.0, 40.0] {
        let want = model.0.iter().filter(|(_, s)| *s < bound).count();
        assert_eq!(zset.count_while(|e| e.score < bound), want, "< {bound}");
        let want = model.0.iter().filter(|(_, s)| *s <= bound).count();
        assert_eq!(zset.count_while(|e| e.score <= bound), want, "<= {bound}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn small_sets_behave_like_a_sorted_vector(ops in prop::collection::vec(op(), 0..200)) {
        run(&ops, 150);
    }

    #[test]
    fn large_sets_behave_like_a_sorted_vector(ops in prop::collection::vec(op(), 0..3000)) {
        run(&ops, 5000);
    }
}

#[test]
fn a_set_stays_packed_within_the_limits_and_converts_past_them() {
    let mut zset = ZSet::new();
    for i in 0..MAX_PACKED_MEMBERS {
        zset.insert(format!("m{i}").as_bytes(), i as f64);
    }
    assert_eq!(zset.encoding(), "listpack");
    zset.insert(b"one more", 0.0);
    assert_eq!(zset.encoding(), "skiplist");
    // It never goes back by itself.
    zset.remove_range(0, 120);
    assert_eq!(zset.encoding(), "skiplist");

    let mut long = ZSet::new();
    long.insert(&[b'x'; MAX_PACKED_LEN], 1.0);
    assert_eq!(long.encoding(), "listpack");
    long.insert(&[b'y'; MAX_PACKED_LEN + 1], 1.0);
    assert_eq!(long.encoding(), "skiplist");
    assert_eq!(long.len(), 2);
}

#[test]
fn built_sets_are_packed_only_within_the_limits() {
    let small = ZSet::from_entries(vec![(b"b".to_vec(), 2.0), (b"a".to_vec(), 2.0)]);
    assert_eq!(small.encoding(), "listpack");
    assert_eq!(small.get(0).map(|e| e.member), Some(&b"a"[..]));
    let many: Vec<_> = (0..129)
        .map(|i| (vec![b'a'; i % 5 + 1], i as f64))
        .collect();
    assert_eq!(ZSet::from_entries(many).encoding(), "skiplist");
    let long = ZSet::from_entries(vec![(vec![b'a'; 65], 1.0)]);
    assert_eq!(long.encoding(), "skiplist");
}

#[test]
fn equal_scores_order_by_member_bytes_and_negative_zero_equals_zero() {
    let mut zset = ZSet::new();
    zset.insert(b"b", 0.0);
    zset.insert(b"ab", 0.0);
    zset.insert(b"a", -0.0);
    let order: Vec<_> = zset.iter().map(|e| e.member.to_vec()).collect();
    assert_eq!(order, vec![b"a".to_vec(), b"ab".to_vec(), b"b".to_vec()]);
    assert_eq!(zset.insert(b"b", -0.0), Insert::Unchanged);
    assert_eq!(zset.insert(b"b", f64::INFINITY), Insert::Updated);
    assert_eq!(zset.rank(b"b"), Some(2));
}

#[test]
fn a_million_ordered_inserts_fill_blocks_and_rank_correctly() {
    let mut zset = ZSet::new();
    let n = 1_000_000;
    for i in 0..n {
        zset.insert(format!("{i:07}").as_bytes(), i as f64);
    }
    assert_eq!(zset.len(), n);
    for i in [0, 1, 4_095, 500_000, n - 1] {
        assert_eq!(zset.rank(format!("{i:07}").as_bytes()), Some(i));
        assert_eq!(zset.get(i).map(|e| e.score), Some(i as f64));
    }
    let Repr::Tree(tree) = &zset.repr else {
        panic!("a million members are not packed");
    };
    tree.check();
    // In-order appends leave full blocks: about 24 bytes of block space per entry.
    let per_member = zset.heap_size() / n;
    assert!(per_member < 150, "{per_member} bytes per member");
}

#[test]
fn random_picks_come_from_the_set() {
    let mut rng = rand::rng();
    for size in [0, 3, 500] {
        let entries: Vec<_> = (0..size)
            .map(|i| (format!("m{i}").into_bytes(), 1.0))
            .collect();
        let zset = ZSet::from_entries(entries);
        assert_eq!(zset.random(&mut rng).is_some(), size > 0);
        let many = zset.random_many(&mut rng, 50);
        assert_eq!(many.len(), if size > 0 { 50 } else { 0 });
        let distinct = zset.random_distinct(&mut rng, 10);
        let mut members: Vec<_> = distinct.iter().map(|e| e.member).collect();
        members.sort();
        members.dedup();
        assert_eq!(members.len(), size.min(10));
    }
}

#[test]
fn a_full_scan_sees_every_member_even_while_the_set_grows() {
    let entries: Vec<_> = (0..1000)
        .map(|i| (format!("m{i}").into_bytes(), 1.0))
        .collect();
    let mut zset = ZSet::from_entries(entries);
    let mut seen = std::collections::HashSet::new();
    let mut cursor = 0;
    let mut extra = 0;
    loop {
        let mut out = Vec::new();
        cursor = zset.scan(cursor, 10, &mut out);
        seen.extend(out.iter().map(|e| e.member.to_vec()));
        if cursor == 0 {
            break;
        }
        // Growing the set moves members to other buckets: the scan must still see all.
        for _ in 0..3 {
            zset.insert(format!("new{extra}").as_bytes(), 2.0);
            extra += 1;
        }
    }
    for i in 0..1000 {
        assert!(seen.contains(format!("m{i}").as_bytes()), "m{i} missed");
    }
}
