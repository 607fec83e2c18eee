//! The discrete-event engine: one [`Sim`] runs one [`Model`] with one seed. This file holds the
//! state (slabs of environments, invocations, timers and batches; per-function and per-source
//! state) and the event loop; each concept has its own file:
//!
//! - [`queue`]: the event heap (completions, timers) and the arrival heap over traffic sources;
//! - [`slab`]: the one slab type (slots with a free list) every per-event structure uses;
//! - [`admission`]: the order of admission checks, scaling token buckets, throttle reasons;
//! - [`env`]: the environment lifecycle (INIT, reuse, idle reclaim, max lifetime, billing);
//! - [`account`]: request accounting and bucket closing (time-series rows);
//! - [`finish`]: the end of a run: the in-flight walk and [`RunResult`];
//! - one file per lever: `provisioned` (provisioned concurrency over time), `gateway` (API
//!   Gateway), `deps` (downstream limits), `managed` (Lambda Managed Instances);
//! - one file per invocation model: [`sync`] (clients and their retries), [`asynq`] (the
//!   internal event queue), [`sqs`] (the SQS event source mapping), [`stream`] (Kinesis /
//!   DynamoDB streams).
//!
//! Time semantics: integer microseconds from 0 to the model's duration. Arrivals stop at the
//! end; whatever is still running, queued or waiting to be retried then is counted as in
//! flight. Events at the same instant run completions first, then timers, then arrivals (see
//! [`queue`]); buckets of the time series close before any event at their end instant.
//!
//! Size: a little over 600 lines because the event loop and the state it dispatches on are one
//! concept; everything that can live apart (lifecycle, admission, accounting, each invocation
//! model) already does.
//!
//! Memory grows with live environments and pending requests, never with simulated time: every
//! per-event structure is a slab reused through a free list, and statistics are histograms.

mod account;
pub mod admission;
mod asynq;
mod deps;
mod env;
mod finish;
mod gateway;
mod managed;
mod provisioned;
pub mod queue;
mod slab;
mod sqs;
mod stream;
mod sync;

use crate::load::ArrivalGen;
use crate::model::Model;
use crate::rng::{stream as rng_stream, Rng};
use crate::scenario::{Invocation as InvocationModel, Scaling};
use crate::stats::{BucketCounts, BucketRow, Counters, Histogram, Level, Recorder};
use crate::time::Micros;
use account::End;
use admission::{Pool, TokenBucket};
use env::{Env, Idle, Invocation, Placement};
use queue::{ArrivalQueue, Class, EventQueue};
use slab::Slab;

pub use asynq::AsyncEvent;
pub use finish::{FunctionResult, ProviderResult, RunResult};

/// Random stream purposes, one per kind of draw, so streams stay independent.
mod purpose {
    pub const ARRIVALS: u64 = 1;
    pub const DURATION: u64 = 2;
    pub const INIT: u64 = 3;
    pub const ERRORS: u64 = 4;
    pub const IDLE: u64 = 5;
    pub const RETRY: u64 = 6;
    /// Poison records and stream shard choice.
    pub const RECORDS: u64 = 7;
    /// Which client of a sync fleet sends a request.
    pub const CLIENTS: u64 = 8;
}

/// How an invocation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The handler returned successfully.
    Success,
    /// The handler returned a function error.
    Error,
    /// The invocation hit its timeout.
    Timeout,
}

/// Who is waiting for an invocation's result.
#[derive(Clone, Copy, Debug)]
pub enum Caller {
    /// A sync request: its traffic source, when it first arrived (for end-to-end latency) and
    /// which attempt this is (1 = first try).
    Sync {
        /// Index of the traffic source.
        source: u32,
        /// Which client of the traffic entry's fleet sent it.
        client: u32,
        /// When the request first arrived, µs.
        arrival: u64,
        /// Attempt number, 1 = first try.
        attempt: u32,
    },
    /// An async event from the function's internal queue.
    Async(AsyncEvent),
    /// A batch of an SQS queue or a stream (slot in the batch slab); `arrival` is its first
    /// message's.
    Batch {
        /// Slot of the batch in the batch slab.
        batch: u32,
        /// When the batch's first message arrived, µs.
        arrival: u64,
    },
    /// Nobody: the sync request's API Gateway answered the client at its integration timeout
    /// while the invocation runs on (billed, counted as an invocation, answering no one).
    Detached {
        /// When the request first arrived, µs.
        arrival: u64,
    },
}

impl Caller {
    /// Arrival of the request (first message of a batch): decides whether it is counted.
    #[inline]
    fn arrival(&self) -> u64 {
        match *self {
            Caller::Sync { arrival, .. } => arrival,
            Caller::Async(e) => e.arrival,
            Caller::Batch { arrival, .. } => arrival,
            Caller::Detached { arrival } => arrival,
        }
    }
}

/// Per-function state.
struct FnState {
    /// Idle provisioned environments (MRU at the end).
    prov_idle: Vec<u32>,
    /// Idle on-demand environments with their reclaim time (MRU at the end; reclaimed lazily).
    idle: Vec<Idle>,
    busy: Level,
    busy_prov: Level,
    bucket: Option<TokenBucket>,
    rng_duration: Rng,
    rng_init: Rng,
    rng_errors: Rng,
    rng_idle: Rng,
    // Statistics.
    totals: Counters,
    bucket_counts: BucketCounts,
    /// Which pool the function draws from.
    pool: Pool,
    /// Latency of requests whose last attempt ran in the open bucket (slots: see [`account`]).
    bucket_latency: [Histogram; 3],
    latency_cold: Histogram,
    latency_warm: Histogram,
    duration: Histogram,
    billed_ondemand_ms: u128,
    billed_provisioned_ms: u128,
    /// Billed ms that INIT of on-demand cold starts adds (or would add, with
    /// `pricing.bill_init = false`) to the invocations' billed duration.
    init_ms: u128,
    /// Provisioned concurrency configured (see [`provisioned`]).
    prov_conf: Level,
    /// Provisioned environments alive: initializing, idle or busy.
    prov_alive: u32,
    /// Target tracking state, for functions with `provisioned_autoscaling`.
    tracking: Option<Box<provisioned::Tracking>>,
}

impl FnState {
    /// Folds the closing bucket's counted latencies into the run's and empties its slots.
    fn fold_bucket_latency(&mut self) {
        self.latency_cold
            .merge(&self.bucket_latency[account::LAT_COLD]);
        self.latency_warm
            .merge(&self.bucket_latency[account::LAT_WARM]);
        for h in &mut self.bucket_latency {
            h.clear();
        }
    }
}

/// A traffic source: its arrival process and the state of its invocation model.
struct SourceState {
    gen: ArrivalGen,
    rng: Rng,
    kind: SourceKind,
}

enum SourceKind {
    Sync(sync::Fleet),
    Async(asynq::Queue),
    Sqs(sqs::Mapping),
    Stream(stream::Mapping),
}

/// A delayed action. Timer events index this slab.
#[derive(Clone, Copy, Debug)]
enum Timer {
    /// A sync request's retry after its backoff.
    Sync {
        source: u32,
        client: u32,
        arrival: u64,
        attempt: u32,
    },
    /// An adaptive client's rate limiter may have a token for its waiting sends
    /// (source, client).
    SyncDrain(u32, u32),
    /// An async event's next attempt.
    Async(AsyncEvent),
    /// The head of a source's chain of pure async events is due (asynq::Chain).
    AsyncChain {
        /// The async traffic source.
        source: u32,
        /// Throttle count of the chain, or `asynq::EXPIRE`.
        chain: u16,
    },
    /// The SQS mapping's once-a-second scaling decision (source).
    SqsTick(u32),
    /// The SQS batching window of a source ended.
    SqsWindow(u32),
    /// A throttled SQS poller's pause ended (source).
    SqsWake(u32),
    /// A failed SQS batch's messages become visible again (batch).
    SqsReturn(u32),
    /// A failed stream batch is tried again (batch).
    StreamRetry(u32),
    /// A stream lane's poll, or the end of its batching window.
    StreamPoll {
        /// The stream's traffic source.
        source: u32,
        /// The lane.
        lane: u32,
    },
    /// A scheduled action of a function's provisioned concurrency.
    ProvSchedule {
        /// The function.
        func: u32,
        /// Index of the action in its plan.
        action: u32,
    },
    /// A minute of target tracking of a function's provisioned concurrency (function).
    ProvTick(u32),
    /// A new provisioned environment finished INIT (environment).
    ProvReady(u32),
    /// A sync attempt's API Gateway integration timeout: the client gets a 504.
    GatewayTimeout {
        source: u32,
        client: u32,
        arrival: u64,
        attempt: u32,
        cold: bool,
    },
    /// INIT of an invocation that uses dependencies ended: its handler takes its connections.
    DepStart(u32),
    /// The oldest waiter of a dependency's pool may have run out of time (dependency).
    DepExpire(u32),
    /// A Managed Instances capacity provider's scaling decision (provider).
    ManagedTick(u32),
    /// Instance launches or environment starts of a capacity provider are due (provider).
    ManagedReady(u32),
}

/// One message or record of an SQS queue or a stream.
#[derive(Clone, Copy, Debug)]
pub struct Msg {
    /// When the message or record arrived, µs.
    pub arrival: u64,
    /// Times received from the queue (SQS).
    pub receives: u32,
    /// Always fails (a poison message or record).
    pub poison: bool,
}

/// A batch of messages or records on its way through an invocation. Slab slots keep their
/// message vector, so batches allocate only until the slab has warmed up.
#[derive(Clone, Debug, Default)]
struct Batch {
    source: u32,
    /// Stream lane.
    lane: u32,
    /// When the batch was received from the queue (SQS).
    received: u64,
    /// Tries of this batch so far (streams).
    tries: u32,
    /// Poison messages in `msgs`.
    poison: u32,
    msgs: Vec<Msg>,
}

/// The simulation of one model: its state and event loop, writing rows to a recorder.
pub struct Sim<'m, R: Recorder> {
    m: &'m Model,
    rec: &'m mut R,
    record: bool,
    now: u64,
    end: u64,
    warmup: u64,
    queue: EventQueue,
    /// Next arrival of every traffic source.
    arrivals: ArrivalQueue,
    envs: Slab<Env>,
    invocations: Slab<Invocation>,
    funcs: Vec<FnState>,
    sources: Vec<SourceState>,
    timers: Slab<Timer>,
    batches: Slab<Batch>,
    /// Busy environments of the whole account.
    account_busy: Level,
    /// Unreserved pool in use: busy on-demand environments of functions without a reservation
    /// plus all provisioned environments of those functions.
    unreserved_used: u32,
    /// Busy environments of functions without a reservation (UnreservedConcurrentExecutions).
    unreserved_busy: Level,
    account_bucket: Option<TokenBucket>,
    rate_second: u64,
    rate_count: u64,
    rate_limit: u64,
    next_compact: u64,
    rows: Vec<BucketRow>,
    /// Per function at a bucket's end: (queue depth, oldest waiting arrival or u64::MAX).
    gauges: Vec<(u64, u64)>,
    /// Some traffic is async, SQS or stream (queue gauges are worth computing).
    queued_sources: bool,
    max_live: usize,
    events: u64,
    /// Token buckets of the model's API Gateways.
    gateways: Vec<gateway::Bucket>,
    /// Per dependency (engine/deps.rs); empty without `[[dependencies]]`.
    deps: Vec<deps::DepState>,
    /// Some function uses a dependency.
    deps_on: bool,
    /// The dependencies' rows of the closing bucket (buffer reused).
    dep_rows: Vec<crate::stats::DependencyRow>,
    /// Lambda Managed Instances state (empty without capacity providers).
    managed: managed::Managed,
}

impl<'m, R: Recorder> Sim<'m, R> {
    /// A simulation of `m` at time zero, writing to `rec`.
    pub fn new(m: &'m Model, rec: &'m mut R) -> Sim<'m, R> {
        let seed = m.seed;
        let a = &m.account;
        let new_bucket = || {
            TokenBucket::new(
                a.bucket_capacity,
                a.scale_step,
                a.scale_interval,
                a.scale_refill,
            )
        };
        let funcs = m
            .functions
            .iter()
            .map(|f| FnState {
                prov_idle: Vec::new(),
                idle: Vec::new(),
                busy: Level::default(),
                busy_prov: Level::default(),
                bucket: (a.scaling == Scaling::PerFunction).then(new_bucket),
                rng_duration: rng_stream(seed, &f.name, purpose::DURATION),
                rng_init: rng_stream(seed, &f.name, purpose::INIT),
                rng_errors: rng_stream(seed, &f.name, purpose::ERRORS),
                rng_idle: rng_stream(seed, &f.name, purpose::IDLE),
                totals: Counters::default(),
                bucket_counts: BucketCounts::default(),
                pool: match f.reserved {
                    Some(r) => Pool::Reserved(r),
                    None => Pool::Unreserved,
                },
                bucket_latency: Default::default(),
                latency_cold: Histogram::new(),
                latency_warm: Histogram::new(),
                duration: Histogram::new(),
                billed_ondemand_ms: 0,
                billed_provisioned_ms: 0,
                init_ms: 0,
                prov_conf: Level::default(),
                prov_alive: 0,
                tracking: None,
            })
            .collect();
        let sources = m
            .sources
            .iter()
            .map(|s| SourceState {
                gen: ArrivalGen::new(s.profile.clone(), s.arrivals, m.duration),
                rng: rng_stream(seed, &s.name, purpose::ARRIVALS),
                kind: match s.invocation {
                    InvocationModel::Sync => SourceKind::Sync(sync::Fleet::new(
                        &s.retry,
                        rng_stream(seed, &s.name, purpose::RETRY),
                        rng_stream(seed, &s.name, purpose::CLIENTS),
                    )),
                    InvocationModel::Async => SourceKind::Async(asynq::Queue::new(sqs::Fifo::new(
                        ArrivalGen::new(s.profile.clone(), s.arrivals, m.duration),
                        rng_stream(seed, &s.name, purpose::ARRIVALS),
                    ))),
                    InvocationModel::Sqs => SourceKind::Sqs(sqs::Mapping::new(
                        &s.sqs,
                        rng_stream(seed, &s.name, purpose::RECORDS),
                        sqs::Fifo::new(
                            ArrivalGen::new(s.profile.clone(), s.arrivals, m.duration),
                            rng_stream(seed, &s.name, purpose::ARRIVALS),
                        ),
                    )),
                    InvocationModel::Stream => SourceKind::Stream(stream::Mapping::new(
                        &s.stream,
                        rng_stream(seed, &s.name, purpose::RECORDS),
                    )),
                },
            })
            .collect();
        let record = rec.enabled();
        Sim {
            m,
            rec,
            record,
            now: 0,
            end: m.duration.0,
            warmup: m.warmup.0,
            queue: EventQueue::with_capacity(1024),
            arrivals: ArrivalQueue::default(),
            envs: Slab::default(),
            invocations: Slab::default(),
            funcs,
            sources,
            timers: Slab::default(),
            batches: Slab::default(),
            account_busy: Level::default(),
            unreserved_used: 0,
            unreserved_busy: Level::default(),
            account_bucket: (a.scaling == Scaling::Burst).then(new_bucket),
            rate_second: 0,
            rate_count: 0,
            rate_limit: a.rps_limit(),
            next_compact: 0,
            rows: Vec::with_capacity(m.functions.len() + 1),
            gauges: Vec::with_capacity(m.functions.len()),
            queued_sources: m
                .sources
                .iter()
                .any(|s| s.invocation != InvocationModel::Sync),
            max_live: 0,
            events: 0,
            gateways: m.gateways.iter().map(gateway::Bucket::new).collect(),
            deps: m
                .dependencies
                .deps
                .iter()
                .map(|d| deps::DepState::new(d.max_connections, d.pool_timeout))
                .collect(),
            deps_on: m.dependencies.any_used(),
            dep_rows: Vec::with_capacity(m.dependencies.deps.len()),
            managed: managed::Managed::new(m),
        }
    }

    /// Runs the model to its end.
    pub fn run(mut self) -> RunResult {
        self.create_provisioned();
        self.start_provisioned_plans();
        self.managed_start();
        for i in 0..self.sources.len() {
            let s = &mut self.sources[i];
            if let Some(t) = s.gen.next(&mut s.rng) {
                self.arrivals.push(t.0, i as u32);
            }
            if matches!(self.sources[i].kind, SourceKind::Sqs(_)) {
                self.push_timer(Micros::SECOND.0, Timer::SqsTick(i as u32));
            }
        }
        let bucket = self.m.bucket.0.max(1);
        let mut bucket_end = bucket.min(self.end);
        let mut bucket_start = 0;
        loop {
            // The earliest of the event heap and the sources; events first at one instant.
            let te = self.queue.peek_time();
            let (ta, source) = self.arrivals.peek();
            let t = te.min(ta);
            if t >= self.end {
                break;
            }
            while t >= bucket_end {
                self.close_bucket(bucket_start, bucket_end);
                bucket_start = bucket_end;
                bucket_end = (bucket_end + bucket).min(self.end);
            }
            self.now = t;
            self.events += 1;
            if te <= ta {
                let ev = self.queue.pop().expect("peeked");
                if let Some(next) = self.queue.peek_completion() {
                    self.invocations.prefetch(next);
                }
                match ev.class {
                    Class::Complete => self.complete(ev.payload),
                    Class::Timer => self.timer(ev.payload),
                }
            } else {
                self.arrival(source);
            }
        }
        while bucket_start < self.end {
            self.close_bucket(bucket_start, bucket_end);
            bucket_start = bucket_end;
            bucket_end = (bucket_end + bucket).min(self.end);
        }
        self.now = self.end;
        self.finish()
    }

    /// Schedules `t` at time `at`.
    fn push_timer(&mut self, at: u64, t: Timer) {
        let id = self.timers.insert(t);
        self.queue.push_timer(at, id);
    }

    fn timer(&mut self, id: u32) {
        let t = self.timers[id];
        self.timers.free(id);
        match t {
            Timer::Sync {
                source,
                client,
                arrival,
                attempt,
            } => self.sync_retry(source, client, arrival, attempt),
            Timer::SyncDrain(s, c) => self.sync_drain(s, c),
            Timer::Async(e) => self.async_timer(e),
            Timer::AsyncChain { source, chain } => self.async_chain(source, chain),
            Timer::SqsTick(s) => self.sqs_tick(s),
            Timer::SqsWindow(s) => self.sqs_pump(s),
            Timer::SqsWake(s) => self.sqs_wake(s),
            Timer::SqsReturn(b) => self.sqs_return(b),
            Timer::StreamRetry(b) => self.stream_try(b),
            Timer::StreamPoll { source, lane } => self.stream_poll(source, lane),
            Timer::ProvSchedule { func, action } => self.prov_schedule(func, action),
            Timer::ProvTick(f) => self.prov_tick(f),
            Timer::ProvReady(env) => self.prov_ready(env),
            Timer::GatewayTimeout {
                source,
                client,
                arrival,
                attempt,
                cold,
            } => self.gateway_timeout(source, client, arrival, attempt, cold),
            Timer::DepStart(inv) => self.deps_acquire(inv, 0, self.now),
            Timer::DepExpire(d) => self.deps_timer(d),
            Timer::ManagedTick(p) => self.managed_tick(p as usize),
            Timer::ManagedReady(p) => self.managed_ready(p as usize),
        }
    }

    /// A batch slot with an empty message vector (a reused slot keeps its vector's capacity).
    fn new_batch(&mut self, source: u32, lane: u32) -> u32 {
        let now = self.now;
        let id = self.batches.alloc_with(Batch::default);
        let b = &mut self.batches[id];
        b.source = source;
        b.lane = lane;
        b.received = now;
        b.tries = 0;
        b.poison = 0;
        b.msgs.clear();
        id
    }

    fn free_batch(&mut self, id: u32) {
        self.batches[id].msgs.clear();
        self.batches.free(id);
    }

    /// Source `i`'s arrival is now: its next one is drawn, then the request goes to its
    /// invocation model.
    fn arrival(&mut self, i: u32) {
        let s = &mut self.sources[i as usize];
        // Arrival generation is monotone; guard against rounding to an earlier microsecond.
        let next = s.gen.next(&mut s.rng).map(|t| t.0.max(self.now));
        self.arrivals.advance_top(next);
        let src = &self.m.sources[i as usize];
        let f = src.function;
        self.funcs[f].bucket_counts.arrivals += 1;
        if self.now >= self.warmup {
            self.funcs[f].totals.requests += 1;
        }
        match src.invocation {
            InvocationModel::Sync => self.sync_arrival(i),
            InvocationModel::Async => {
                self.funcs[f].bucket_counts.async_received += 1;
                self.async_arrival(i)
            }
            InvocationModel::Sqs => self.sqs_arrival(i),
            InvocationModel::Stream => self.stream_arrival(i),
        }
    }

    /// Function of traffic source `s`.
    #[inline]
    fn function_of(&self, s: u32) -> usize {
        self.m.sources[s as usize].function
    }
}
