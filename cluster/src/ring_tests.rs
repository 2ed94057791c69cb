//! Ring properties: balance, movement on join/leave, determinism, edge cases.

use std::collections::BTreeSet;

use rand::seq::SliceRandom;
use rand::{SeedableRng, rngs::StdRng};

use super::*;
use crate::config::{DEFAULT_REPLICAS, DEFAULT_TOKENS_PER_NODE};

const V: u16 = DEFAULT_TOKENS_PER_NODE;
const R: usize = DEFAULT_REPLICAS;
const SIZES: [usize; 9] = [3, 4, 5, 8, 10, 16, 24, 32, 64];

fn ids(rng: &mut StdRng, n: usize) -> Vec<NodeId> {
    (0..n).map(|_| NodeId::random(rng)).collect()
}

/// max/avg primary slots per node.
fn imbalance(table: &SlotTable) -> f64 {
    let max = table
        .nodes()
        .iter()
        .map(|id| table.counts(id).primary)
        .max()
        .unwrap_or(0);
    f64::from(max) * table.nodes().len() as f64 / f64::from(SLOTS)
}

fn owner_set(table: &SlotTable, slot: Slot) -> BTreeSet<NodeId> {
    table.owner_ids(slot).copied().collect()
}

#[test]
fn balance_with_the_default_tokens() {
    let mut rng = StdRng::seed_from_u64(0xF0CA);
    println!("V = {V}: max/avg primary slots per node (mean and worst of 10 clusters), ranges");
    for n in SIZES {
        let mut sum = 0.0;
        let mut worst: f64 = 0.0;
        let mut ranges = 0;
        for _ in 0..10 {
            let table = SlotTable::build(ids(&mut rng, n), V, R);
            let ratio = imbalance(&table);
            sum += ratio;
            worst = worst.max(ratio);
            ranges = table.ranges().len();
        }
        println!(
            "N = {n:2}: mean {:.3}, worst {worst:.3}, {ranges} ranges",
            sum / 10.0
        );
        // Loose bound: the busiest node carries at most 30% more than the mean.
        assert!(worst < 1.3, "N = {n}: max/avg {worst:.3}");
        assert!(ranges <= n * usize::from(V));
    }
}

/// The measurement behind the default V (see the module docs); slow in debug builds.
#[test]
#[ignore = "measurement: run with --ignored --nocapture"]
fn balance_by_tokens() {
    let mut rng = StdRng::seed_from_u64(7);
    for v in [16u16, 32, 64, 128, 256, 512] {
        let mut line = format!("V = {v:3}:");
        for n in [3, 5, 10, 16, 32, 64] {
            let runs = 20;
            let sum: f64 = (0..runs)
                .map(|_| imbalance(&SlotTable::build(ids(&mut rng, n), v, R)))
                .sum();
            line += &format!("  N={n}: {:.2}", sum / f64::from(runs));
        }
        println!("{line}");
    }
}

/// Checks one membership change `before` → `after`, where `changed` joined (or left).
fn assert_movement(before: &SlotTable, after: &SlotTable, changed: &NodeId, joined: bool) {
    let bigger = if joined { after } else { before };
    let n = bigger.nodes().len();
    let ideal_primary = f64::from(SLOTS) / n as f64;
    let ideal_sets = ideal_primary * bigger.replication() as f64;
    let (mut primaries, mut sets) = (0u32, 0u32);
    for slot in 0..SLOTS {
        if before.primary(slot) != after.primary(slot) {
            primaries += 1;
            // Only the new node gains primaries; only the removed node's are handed over.
            let involved = if joined {
                after.primary(slot)
            } else {
                before.primary(slot)
            };
            assert_eq!(
                involved,
                Some(changed),
                "slot {slot} moved between bystanders"
            );
        }
        let (old, new) = (owner_set(before, slot), owner_set(after, slot));
        if old != new {
            sets += 1;
            let (gained, lost): (Vec<_>, Vec<_>) = (
                new.difference(&old).collect(),
                old.difference(&new).collect(),
            );
            if joined {
                assert_eq!(
                    gained,
                    [changed],
                    "slot {slot}: replica set changed otherwise"
                );
                assert!(lost.len() <= 1);
            } else {
                assert_eq!(
                    lost,
                    [changed],
                    "slot {slot}: replica set changed otherwise"
                );
                assert!(gained.len() <= 1);
            }
        }
    }
    let p = f64::from(primaries) / ideal_primary;
    let s = f64::from(sets) / ideal_sets;
    println!(
        "N = {n:2} {}: primaries moved {primaries} ({p:.2}× ideal), replica sets changed {sets} ({s:.2}× ideal)",
        if joined { "join " } else { "leave" }
    );
    assert!(p <= 1.2, "primaries moved {p:.2}× ideal");
    assert!(s <= 1.2, "replica sets changed {s:.2}× ideal");
}

#[test]
fn one_join_or_leave_moves_about_one_nth_and_nothing_else() {
    let mut rng = StdRng::seed_from_u64(42);
    for n in SIZES {
        let members = ids(&mut rng, n);
        let before = SlotTable::build(members.clone(), V, R);

        let newcomer = NodeId::random(&mut rng);
        let grown = SlotTable::build(members.iter().copied().chain([newcomer]), V, R);
        assert_movement(&before, &grown, &newcomer, true);

        let leaver = members[n / 2];
        let shrunk = SlotTable::build(members.iter().copied().filter(|&m| m != leaver), V, R);
        assert_movement(&before, &shrunk, &leaver, false);
    }
}

#[test]
fn the_same_members_in_any_order_give_the_same_table() {
    let mut rng = StdRng::seed_from_u64(3);
    let mut members = ids(&mut rng, 12);
    let reference = SlotTable::build(members.clone(), V, R);
    for _ in 0..5 {
        members.shuffle(&mut rng);
        let mut with_duplicates = members.clone();
        with_duplicates.push(members[0]);
        assert_eq!(SlotTable::build(with_duplicates, V, R), reference);
    }
}

#[test]
fn a_one_node_cluster_owns_every_slot() {
    let mut rng = StdRng::seed_from_u64(4);
    let me = NodeId::random(&mut rng);
    let table = SlotTable::build([me], V, 3);
    assert_eq!(table.replication(), 1);
    assert_eq!(
        table.ranges(),
        [SlotRange {
            start: 0,
            end: SLOTS - 1
        }]
    );
    assert_eq!(
        table.counts(&me),
        SlotCounts {
            primary: 16384,
            replica: 0
        }
    );
    assert!((0..SLOTS).all(|s| table.primary(s) == Some(&me)));
    assert_eq!(
        table.primary_ranges(&me),
        [SlotRange {
            start: 0,
            end: 16383
        }]
    );
}

#[test]
fn replication_is_capped_and_owners_are_distinct() {
    let mut rng = StdRng::seed_from_u64(5);
    let members = ids(&mut rng, 2);
    let table = SlotTable::build(members.clone(), V, 3);
    assert_eq!(table.replication(), 2);
    let table = SlotTable::build(ids(&mut rng, 5), V, 3);
    for slot in 0..SLOTS {
        let owners = owner_set(&table, slot);
        assert_eq!(owners.len(), 3);
    }
    let total: u32 = table
        .nodes()
        .iter()
        .map(|id| table.counts(id).primary)
        .sum();
    assert_eq!(total, 16384);
    let replicas: u32 = table
        .nodes()
        .iter()
        .map(|id| table.counts(id).replica)
        .sum();
    assert_eq!(replicas, 2 * 16384);
}

#[test]
fn ranges_tile_the_slots_and_per_node_ranges_match_counts() {
    let mut rng = StdRng::seed_from_u64(6);
    let table = SlotTable::build(ids(&mut rng, 4), V, R);
    let mut expected = 0;
    for range in table.ranges() {
        assert_eq!(range.start, expected);
        assert!(range.end >= range.start);
        expected = range.end + 1;
    }
    assert_eq!(expected, SLOTS);
    for id in table.nodes() {
        let primary: u32 = table
            .primary_ranges(id)
            .iter()
            .map(|r| u32::from(r.end - r.start + 1))
            .sum();
        let replica: u32 = table
            .replica_ranges(id)
            .iter()
            .map(|r| u32::from(r.end - r.start + 1))
            .sum();
        assert_eq!(SlotCounts { primary, replica }, table.counts(id));
    }
}

#[test]
fn an_empty_table_has_no_owners() {
    let table = SlotTable::build([], V, R);
    assert!(table.owners(5).is_empty());
    assert_eq!(table.primary(5), None);
    assert!(table.ranges().is_empty());
}
