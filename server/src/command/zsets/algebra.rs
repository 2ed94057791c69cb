//! Set algebra on sorted sets: ZUNION ZINTER ZDIFF, their STORE forms, and ZINTERCARD.
//!
//! Inputs may be sorted sets or plain sets (whose members count as score 1); a missing key
//! is an empty input. As in Redis, every input key is looked up (and its type checked)
//! before the options are read; union and intersection then take the inputs from the
//! smallest to the largest, which decides the order scores are combined in.

use super::super::Ctx;
use super::super::parse::{self, is};
use super::{bounds, push_entry, store_zset};
use crate::error::{CommandResult, Error};
use crate::protocol::Reply;
use crate::store::ValueRef;
use crate::store::locked::Access;
use crate::store::set::Set;
use crate::store::zset::{ZSet, compare};
use std::collections::HashMap;

/// Which operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Union,
    Inter,
    Diff,
    /// ZINTERCARD: the size of the intersection only.
    InterCard,
}

/// How the weighted scores of a member found in several inputs combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    fn combine(self, total: &mut f64, value: f64) {
        match self {
            Aggregate::Sum => {
                *total += value;
                // inf + -inf: Redis settles on 0.
                if total.is_nan() {
                    *total = 0.0;
                }
            }
            Aggregate::Min => {
                if value < *total {
                    *total = value;
                }
            }
            Aggregate::Max => {
                if value > *total {
                    *total = value;
                }
            }
        }
    }
}

/// A weighted score, with Redis's rule that NaN (inf × 0) counts as 0.
fn weighted(score: f64, weight: f64) -> f64 {
    let value = score * weight;
    if value.is_nan() { 0.0 } else { value }
}

/// One input, borrowed from the keyspace.
enum Input<'a> {
    Missing,
    Sorted(&'a ZSet),
    Plain(&'a Set),
}

impl Input<'_> {
    fn len(&self) -> usize {
        match self {
            Input::Missing => 0,
            Input::Sorted(z) => z.len(),
            Input::Plain(s) => s.len(),
        }
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Input::Missing => None,
            Input::Sorted(z) => z.score(member),
            Input::Plain(s) => s.contains(member).then_some(1.0),
        }
    }

    fn for_each(&self, mut f: impl FnMut(&[u8], f64)) {
        match self {
            Input::Missing => {}
            Input::Sorted(z) => z.iter().for_each(|e| f(e.member, e.score)),
            Input::Plain(s) => s.iter().for_each(|m| m.with_bytes(|b| f(b, 1.0))),
        }
    }
}

/// Runs `f` on the input at `key`; WRONGTYPE unless it is a set or a sorted set.
fn with_input<R>(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    access: Access,
    f: impl FnOnce(Input<'_>) -> R,
) -> Result<R, Error> {
    let db = ctx.db();
    let Some(entry) = ctx.keys.lookup(db, key, access) else {
        return Ok(f(Input::Missing));
    };
    match entry.value() {
        ValueRef::ZSet(z) => Ok(f(Input::Sorted(z))),
        ValueRef::Set(s) => Ok(f(Input::Plain(s))),
        _ => Err(Error::WrongType),
    }
}

/// The options after the input keys.
struct Options {
    weights: Option<Vec<f64>>,
    aggregate: Aggregate,
    withscores: bool,
    limit: usize,
}

fn options(args: &[&[u8]], inputs: usize, op: Op, store: bool) -> Result<Options, Error> {
    let mut options = Options {
        weights: None,
        aggregate: Aggregate::Sum,
        withscores: false,
        limit: 0,
    };
    let weighted_op = matches!(op, Op::Union | Op::Inter);
    let mut at = 0;
    while at < args.len() {
        let arg = args[at];
        let left = args.len() - at;
        if weighted_op && left > inputs && is(arg, "weights") {
            let weights = args[at + 1..at + 1 + inputs]
                .iter()
                .map(|w| bounds::score(w).ok_or(Error::msg("ERR weight value is not a float")))
                .collect::<Result<Vec<_>, Error>>()?;
            options.weights = Some(weights);
            at += 1 + inputs;
        } else if weighted_op && left >= 2 && is(arg, "aggregate") {
            let how = args[at + 1];
            options.aggregate = if is(how, "sum") {
                Aggregate::Sum
            } else if is(how, "min") {
                Aggregate::Min
            } else if is(how, "max") {
                Aggregate::Max
            } else {
                return Err(Error::Syntax);
            };
            at += 2;
        } else if !store && op != Op::InterCard && is(arg, "withscores") {
            options.withscores = true;
            at += 1;
        } else if op == Op::InterCard && left >= 2 && is(arg, "limit") {
            let limit = parse::int(args[at + 1])
                .ok()
                .filter(|n| *n >= 0)
                .ok_or(Error::msg("ERR LIMIT can't be negative"))?;
            options.limit = usize::try_from(limit).unwrap_or(usize::MAX);
            at += 2;
        } else {
            return Err(Error::Syntax);
        }
    }
    Ok(options)
}

/// Every command of this module. `numkeys_at` is the index of the key count, `store` the
/// destination of the STORE forms, `name` the command name for error messages.
fn generic(
    ctx: &mut Ctx<'_, '_>,
    args: &[&[u8]],
    numkeys_at: usize,
    store: Option<&[u8]>,
    op: Op,
    name: &str,
) -> CommandResult {
    let numkeys = parse::int(args[numkeys_at])?;
    if numkeys < 1 {
        return Err(Error::err(format!(
            "at least 1 input key is needed for '{name}' command"
        )));
    }
    let after = args.len() - numkeys_at - 1;
    let numkeys = usize::try_from(numkeys).unwrap_or(usize::MAX);
    if numkeys > after {
        return Err(Error::Syntax);
    }
    let keys = &args[numkeys_at + 1..numkeys_at + 1 + numkeys];
    // Every key is read (and its type checked) before the options, as Redis does.
    let mut sizes = Vec::with_capacity(keys.len());
    for key in keys {
        sizes.push(with_input(ctx, key, Access::Read, |input| input.len())?);
    }
    let options = options(
        &args[numkeys_at + 1 + numkeys..],
        numkeys,
        op,
        store.is_some(),
    )?;
    let weights = options.weights.unwrap_or_else(|| vec![1.0; numkeys]);
    // Inputs as (key, weight, size); union and intersection go from the smallest.
    let mut inputs: Vec<(&[u8], f64, usize)> = keys
        .iter()
        .zip(weights)
        .zip(sizes)
        .map(|((key, weight), size)| (*key, weight, size))
        .collect();
    if op != Op::Diff {
        inputs.sort_by_key(|(_, _, size)| *size);
    }
    let result = match op {
        Op::Union => union(ctx, &inputs, options.aggregate)?,
        Op::Inter | Op::InterCard => intersection(ctx, &inputs, options.aggregate)?,
        Op::Diff => difference(ctx, &inputs)?,
    };
    if op == Op::InterCard {
        let count = if options.limit > 0 {
            result.len().min(options.limit)
        } else {
            result.len()
        };
        return Ok(Reply::Int(count as i64));
    }
    if let Some(dst) = store {
        let event = match op {
            Op::Union => "zunionstore",
            Op::Diff => "zdiffstore",
            Op::Inter | Op::InterCard => "zinterstore",
        };
        let stored = store_zset(ctx, dst, ZSet::from_entries(result), event);
        return Ok(Reply::Int(stored as i64));
    }
    let mut result = result;
    result.sort_by(|a, b| compare(&a.0, a.1, &b.0, b.1));
    let protocol = ctx.client.protocol;
    let mut out = Vec::with_capacity(result.len() * if options.withscores { 2 } else { 1 });
    for (member, score) in &result {
        push_entry(&mut out, member, *score, options.withscores, protocol);
    }
    Ok(Reply::Array(out))
}

type Members = Vec<(Vec<u8>, f64)>;

fn union(
    ctx: &mut Ctx<'_, '_>,
    inputs: &[(&[u8], f64, usize)],
    aggregate: Aggregate,
) -> Result<Members, Error> {
    let largest = inputs.last().map_or(0, |(_, _, size)| *size);
    let mut totals: HashMap<Vec<u8>, f64, foldhash::fast::RandomState> =
        HashMap::with_capacity_and_hasher(largest, Default::default());
    for &(key, weight, size) in inputs {
        if size == 0 {
            continue;
        }
        with_input(ctx, key, Access::Peek, |input| {
            input.for_each(|member, score| {
                let value = weighted(score, weight);
                match totals.get_mut(member) {
                    Some(total) => aggregate.combine(total, value),
                    None => {
                        totals.insert(member.to_vec(), value);
                    }
                }
            })
        })?;
    }
    Ok(totals.into_iter().collect())
}

fn intersection(
    ctx: &mut Ctx<'_, '_>,
    inputs: &[(&[u8], f64, usize)],
    aggregate: Aggregate,
) -> Result<Members, Error> {
    let Some(&(first, first_weight, first_size)) = inputs.first() else {
        return Ok(Vec::new());
    };
    if first_size == 0 {
        return Ok(Vec::new());
    }
    let mut result = Vec::with_capacity(first_size);
    with_input(ctx, first, Access::Peek, |input| {
        input
            .for_each(|member, score| result.push((member.to_vec(), weighted(score, first_weight))))
    })?;
    for &(key, weight, _) in &inputs[1..] {
        if result.is_empty() {
            break;
        }
        with_input(ctx, key, Access::Peek, |input| {
            result.retain_mut(|(member, total)| match input.score(member) {
                Some(score) => {
                    aggregate.combine(total, score * weight);
                    true
                }
                None => false,
            })
        })?;
    }
    Ok(result)
}

fn difference(ctx: &mut Ctx<'_, '_>, inputs: &[(&[u8], f64, usize)]) -> Result<Members, Error> {
    let Some(&(first, _, first_size)) = inputs.first() else {
        return Ok(Vec::new());
    };
    let mut result = Vec::with_capacity(first_size);
    with_input(ctx, first, Access::Peek, |input| {
        input.for_each(|member, score| result.push((member.to_vec(), score)))
    })?;
    for &(key, _, size) in &inputs[1..] {
        if result.is_empty() {
            break;
        }
        if size == 0 {
            continue;
        }
        with_input(ctx, key, Access::Peek, |input| {
            result.retain(|(member, _)| input.score(member).is_none())
        })?;
    }
    Ok(result)
}

pub(super) fn zunion(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    generic(ctx, args, 1, None, Op::Union, "zunion")
}

pub(super) fn zinter(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    generic(ctx, args, 1, None, Op::Inter, "zinter")
}

pub(super) fn zdiff(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    generic(ctx, args, 1, None, Op::Diff, "zdiff")
}

pub(super) fn zintercard(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    generic(ctx, args, 1, None, Op::InterCard, "zintercard")
}

pub(super) fn zunionstore(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    generic(ctx, args, 2, Some(args[1]), Op::Union, "zunionstore")
}

pub(super) fn zinterstore(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    generic(ctx, args, 2, Some(args[1]), Op::Inter, "zinterstore")
}

pub(super) fn zdiffstore(ctx: &mut Ctx<'_, '_>, args: &[&[u8]]) -> CommandResult {
    generic(ctx, args, 2, Some(args[1]), Op::Diff, "zdiffstore")
}
