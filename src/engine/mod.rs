//! The discrete-event engine: clock, event queue, execution environments, admission and the
//! bookkeeping of statistics. One [`Sim`] runs one [`Model`] with one seed.
//!
//! Time semantics: integer microseconds from 0 to the model's duration. Arrivals stop at the
//! end; whatever is still running, queued or waiting to be retried then is counted as in
//! flight. Events at the same instant run completions first, then timers, then arrivals (see
//! [`queue`]); buckets of the time series close before any event at their end instant.
//!
//! How requests reach a function is one file per invocation model: [`sync`] (clients and
//! their retries), [`asynq`] (the internal event queue), [`sqs`] (the SQS event source
//! mapping) and [`stream`] (Kinesis / DynamoDB streams). They share this file's admission
//! (`attempt`), environments (`start`, `complete`) and request accounting (`finish_request`).
//!
//! Memory grows with live environments and pending requests, never with simulated time: every
//! per-event structure is a slab reused through a free list, and statistics are histograms.

mod asynq;
pub mod queue;
mod sqs;
mod stream;
mod sync;

use crate::admission::{Throttle, TokenBucket};
use crate::load::ArrivalGen;
use crate::model::Model;
use crate::rng::{stream as rng_stream, Rng};
use crate::scenario::{Invocation, Scaling};
use crate::stats::{BucketCounts, BucketRow, Counters, Histogram, Level, Recorder};
use crate::time::Micros;
use queue::{Class, Event, EventQueue};
use rand::RngExt;

pub use asynq::AsyncEvent;

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
}

impl Caller {
    /// Arrival of the request (first message of a batch): decides whether it is counted.
    #[inline]
    fn arrival(&self) -> u64 {
        match *self {
            Caller::Sync { arrival, .. } => arrival,
            Caller::Async(e) => e.arrival,
            Caller::Batch { arrival, .. } => arrival,
        }
    }
}

/// An execution environment. Lives in a slab; ids are reused after it is reclaimed.
#[derive(Clone, Copy, Debug)]
struct Env {
    func: u32,
    provisioned: bool,
    created: u64,
    // The invocation in progress (valid while busy).
    caller: Caller,
    cold: bool,
    outcome: Outcome,
    /// INIT time of this invocation (0 when warm), µs.
    init: u64,
    /// Time spent in the handler (duration, or the timeout), µs.
    run: u64,
}

/// Per-function state.
struct FnState {
    /// Idle provisioned environments (MRU at the end).
    prov_idle: Vec<u32>,
    /// Idle on-demand environments with their reclaim time (MRU at the end; reclaimed lazily).
    idle: Vec<(u32, u64)>,
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
    latency: Histogram,
    latency_cold: Histogram,
    latency_warm: Histogram,
    duration: Histogram,
    bucket_latency: Histogram,
    billed_ondemand_ms: u128,
    billed_provisioned_ms: u128,
    /// Billed ms that INIT of on-demand cold starts adds (or would add, with
    /// `pricing.bill_init = false`) to the invocations' billed duration.
    init_ms: u128,
}

/// A traffic source: its arrival process and the state of its invocation model.
struct SourceState {
    gen: ArrivalGen,
    rng: Rng,
    kind: SourceKind,
}

enum SourceKind {
    Sync(sync::Client),
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
        arrival: u64,
        attempt: u32,
    },
    /// An adaptive client's rate limiter may have a token for its waiting sends (source).
    SyncDrain(u32),
    /// An async event's next attempt.
    Async(AsyncEvent),
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

/// How a request ended, for [`Sim::finish_request`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Succeeded,
    /// The last attempt ran and failed (function error).
    Failed,
    TimedOut,
    /// The last attempt was throttled: the request never ran.
    Throttled,
    Dropped,
    Dlq,
}

/// What a run produced: totals and distributions for the summary; rows went to the recorder.
pub struct RunResult {
    /// Per function (scenario order).
    pub functions: Vec<FunctionResult>,
    /// Peak account concurrency over the summary window.
    pub account_peak: u32,
    /// Time-weighted mean account concurrency over the summary window.
    pub account_mean: f64,
    /// Most environments alive at once (memory bound check).
    pub max_live_environments: usize,
    /// Events the loop processed.
    pub events: u64,
}

/// What a run produced for one function.
pub struct FunctionResult {
    /// Event counts over the summary window.
    pub totals: Counters,
    /// Invocations still running at the end of the run.
    pub in_flight: u64,
    /// End-to-end latency of requests, µs.
    pub latency: Histogram,
    /// Latency of invocations with a cold start, µs.
    pub latency_cold: Histogram,
    /// Latency of invocations without a cold start, µs.
    pub latency_warm: Histogram,
    /// Handler durations, µs.
    pub duration: Histogram,
    /// Peak concurrency of the function.
    pub concurrency_peak: u32,
    /// Time-weighted mean concurrency of the function.
    pub concurrency_mean: f64,
    /// Time-weighted mean of busy provisioned environments.
    pub provisioned_busy_mean: f64,
    /// Billed milliseconds on on-demand environments.
    pub billed_ondemand_ms: u128,
    /// Billed milliseconds on provisioned environments.
    pub billed_provisioned_ms: u128,
    /// Billed ms that INIT of on-demand cold starts adds, billed or not (for what-ifs).
    pub init_ms: u128,
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
    envs: Vec<Env>,
    free_envs: Vec<u32>,
    funcs: Vec<FnState>,
    sources: Vec<SourceState>,
    timers: Vec<Timer>,
    free_timers: Vec<u32>,
    batches: Vec<Batch>,
    free_batches: Vec<u32>,
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
    account_bucket_latency: Histogram,
    max_live: usize,
    events: u64,
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
                latency: Histogram::new(),
                latency_cold: Histogram::new(),
                latency_warm: Histogram::new(),
                duration: Histogram::new(),
                bucket_latency: Histogram::new(),
                billed_ondemand_ms: 0,
                billed_provisioned_ms: 0,
                init_ms: 0,
            })
            .collect();
        let sources = m
            .sources
            .iter()
            .map(|s| SourceState {
                gen: ArrivalGen::new(s.profile.clone(), s.arrivals, m.duration),
                rng: rng_stream(seed, &s.name, purpose::ARRIVALS),
                kind: match s.invocation {
                    Invocation::Sync => SourceKind::Sync(sync::Client::new(
                        &s.retry,
                        rng_stream(seed, &s.name, purpose::RETRY),
                    )),
                    Invocation::Async => SourceKind::Async(asynq::Queue::default()),
                    Invocation::Sqs => SourceKind::Sqs(sqs::Mapping::new(
                        &s.sqs,
                        rng_stream(seed, &s.name, purpose::RECORDS),
                    )),
                    Invocation::Stream => SourceKind::Stream(stream::Mapping::new(
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
            envs: Vec::new(),
            free_envs: Vec::new(),
            funcs,
            sources,
            timers: Vec::new(),
            free_timers: Vec::new(),
            batches: Vec::new(),
            free_batches: Vec::new(),
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
            queued_sources: m.sources.iter().any(|s| s.invocation != Invocation::Sync),
            account_bucket_latency: Histogram::new(),
            max_live: 0,
            events: 0,
        }
    }

    /// Runs the model to its end.
    pub fn run(mut self) -> RunResult {
        self.create_provisioned();
        for i in 0..self.sources.len() {
            self.schedule_arrival(i);
            if matches!(self.sources[i].kind, SourceKind::Sqs(_)) {
                self.push_timer(Micros::SECOND.0, Timer::SqsTick(i as u32));
            }
        }
        let bucket = self.m.bucket.0.max(1);
        let mut bucket_end = bucket.min(self.end);
        let mut bucket_start = 0;
        while let Some(t) = self.queue.peek_time() {
            if t >= self.end {
                break;
            }
            while t >= bucket_end {
                self.close_bucket(bucket_start, bucket_end);
                bucket_start = bucket_end;
                bucket_end = (bucket_end + bucket).min(self.end);
            }
            let ev = self.queue.pop().expect("peeked");
            self.now = ev.time;
            self.events += 1;
            match ev.class() {
                Class::Complete => self.complete(ev.id()),
                Class::Arrival => self.arrival(ev.id()),
                Class::Timer => self.timer(ev.id()),
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

    /// Provisioned environments are initialized before t = 0 and take no scaling tokens.
    fn create_provisioned(&mut self) {
        for f in 0..self.funcs.len() {
            let fm = &self.m.functions[f];
            let n = fm.provisioned;
            let unreserved = fm.reserved.is_none();
            for _ in 0..n {
                let id = self.new_env(f as u32, true);
                self.funcs[f].prov_idle.push(id);
            }
            if unreserved {
                self.unreserved_used += n;
            }
        }
    }

    fn new_env(&mut self, func: u32, provisioned: bool) -> u32 {
        let env = Env {
            func,
            provisioned,
            created: self.now,
            caller: Caller::Batch {
                batch: 0,
                arrival: 0,
            },
            cold: false,
            outcome: Outcome::Success,
            init: 0,
            run: 0,
        };
        let id = if let Some(id) = self.free_envs.pop() {
            self.envs[id as usize] = env;
            id
        } else {
            self.envs.push(env);
            (self.envs.len() - 1) as u32
        };
        self.max_live = self.max_live.max(self.envs.len() - self.free_envs.len());
        id
    }

    #[inline]
    fn free_env(&mut self, id: u32) {
        self.free_envs.push(id);
    }

    /// Schedules `t` at time `at`.
    fn push_timer(&mut self, at: u64, t: Timer) {
        let id = match self.free_timers.pop() {
            Some(id) => {
                self.timers[id as usize] = t;
                id
            }
            None => {
                self.timers.push(t);
                (self.timers.len() - 1) as u32
            }
        };
        self.queue.push(Event::new(at, Class::Timer, id));
    }

    fn timer(&mut self, id: u32) {
        let t = self.timers[id as usize];
        self.free_timers.push(id);
        match t {
            Timer::Sync {
                source,
                arrival,
                attempt,
            } => self.sync_retry(source, arrival, attempt),
            Timer::SyncDrain(s) => self.sync_drain(s),
            Timer::Async(e) => self.async_timer(e),
            Timer::SqsTick(s) => self.sqs_tick(s),
            Timer::SqsWindow(s) => self.sqs_pump(s),
            Timer::SqsWake(s) => self.sqs_wake(s),
            Timer::SqsReturn(b) => self.sqs_return(b),
            Timer::StreamRetry(b) => self.stream_try(b),
        }
    }

    /// A batch slot with an empty message vector.
    fn new_batch(&mut self, source: u32, lane: u32) -> u32 {
        let now = self.now;
        let id = match self.free_batches.pop() {
            Some(id) => id,
            None => {
                self.batches.push(Batch::default());
                (self.batches.len() - 1) as u32
            }
        };
        let b = &mut self.batches[id as usize];
        b.source = source;
        b.lane = lane;
        b.received = now;
        b.tries = 0;
        b.poison = 0;
        b.msgs.clear();
        id
    }

    fn free_batch(&mut self, id: u32) {
        self.batches[id as usize].msgs.clear();
        self.free_batches.push(id);
    }

    fn schedule_arrival(&mut self, i: usize) {
        let s = &mut self.sources[i];
        if let Some(t) = s.gen.next(&mut s.rng) {
            // Arrival generation is monotone; guard against rounding to an earlier microsecond.
            let t = t.0.max(self.now);
            self.queue.push(Event::new(t, Class::Arrival, i as u32));
        }
    }

    fn arrival(&mut self, i: u32) {
        self.schedule_arrival(i as usize);
        let src = &self.m.sources[i as usize];
        let f = src.function;
        if self.now >= self.warmup {
            self.funcs[f].totals.requests += 1;
        }
        match src.invocation {
            Invocation::Sync => self.sync_send(i, self.now, 1),
            Invocation::Async => self.async_try(AsyncEvent::new(i, self.now)),
            Invocation::Sqs => self.sqs_arrival(i),
            Invocation::Stream => self.stream_arrival(i),
        }
    }

    /// Function of traffic source `s`.
    #[inline]
    fn function_of(&self, s: u32) -> usize {
        self.m.sources[s as usize].function
    }

    /// One try to invoke function `f`: admission, then a warm or cold start.
    /// Returns the throttle reason when the attempt was refused.
    fn attempt(&mut self, f: usize, caller: Caller) -> Result<(), Throttle> {
        let counted = caller.arrival() >= self.warmup;
        if counted {
            self.funcs[f].totals.attempts += 1;
        }
        match self.admit(f) {
            Ok((env, cold)) => {
                self.start(env, cold, caller, counted);
                Ok(())
            }
            Err(reason) => {
                let fs = &mut self.funcs[f];
                fs.bucket_counts.throttles[reason as usize] += 1;
                if counted {
                    fs.totals.throttles[reason as usize] += 1;
                }
                Err(reason)
            }
        }
    }

    /// The admission order (docs/platform.md "Concurrency limits" and "Scaling quotas").
    /// Returns (environment, cold start) or the reason.
    ///
    /// The account-pool check (step 5) runs before warm reuse of an idle on-demand environment
    /// (step 4) as well as before a cold start, because reusing a warm environment also adds a
    /// concurrent execution, and concurrency must never exceed the account limit
    /// (docs/platform.md "Concurrency limits").
    #[inline]
    fn admit(&mut self, f: usize) -> Result<(u32, bool), Throttle> {
        let now = self.now;
        let fm = &self.m.functions[f];
        // 1. Requests-per-second limit of the account (docs/platform.md "Concurrency limits").
        if self.rate_limit > 0 {
            let sec = now / 1_000_000;
            if sec != self.rate_second {
                self.rate_second = sec;
                self.rate_count = 0;
            }
            if self.rate_count >= self.rate_limit {
                return Err(Throttle::Rate);
            }
        }
        let fs = &mut self.funcs[f];
        // 2. Reserved concurrency caps the function (0 switches it off).
        if let Some(r) = fm.reserved {
            if fs.busy.value >= r {
                return Err(Throttle::Reserved);
            }
        }
        // 3. An idle provisioned environment: warm.
        if let Some(id) = fs.prov_idle.pop() {
            self.rate_count += 1;
            return Ok((id, false));
        }
        // 5 (before 4, see above). The unreserved pool, for functions without a reservation.
        let unreserved = fm.reserved.is_none();
        if unreserved && self.unreserved_used >= self.m.account.unreserved_pool {
            return Err(Throttle::Account);
        }
        // 4. The most recently used idle on-demand environment that is not yet reclaimed.
        while let Some((id, reclaim_at)) = fs.idle.pop() {
            if reclaim_at > now {
                self.rate_count += 1;
                if unreserved {
                    self.unreserved_used += 1;
                }
                return Ok((id, false));
            }
            self.free_envs.push(id);
        }
        // 6. A new environment costs one scaling token.
        let bucket = match fs.bucket.as_mut() {
            Some(b) => b,
            None => self
                .account_bucket
                .as_mut()
                .expect("burst mode has an account bucket"),
        };
        if !bucket.take(now) {
            return Err(Throttle::Burst);
        }
        self.rate_count += 1;
        if unreserved {
            self.unreserved_used += 1;
        }
        let id = self.new_env(f as u32, false);
        Ok((id, true))
    }

    /// Starts an invocation on environment `id`.
    fn start(&mut self, id: u32, cold: bool, caller: Caller, counted: bool) {
        let now = self.now;
        let warmup = self.warmup;
        let f = self.envs[id as usize].func as usize;
        // A batch with a poison message fails as a whole, unless the SQS function reports
        // item failures (then the invocation succeeds and only the poison messages return).
        let poisoned = match caller {
            Caller::Batch { batch, .. } => {
                let b = &self.batches[batch as usize];
                b.poison > 0
                    && !matches!(&self.sources[b.source as usize].kind,
                        SourceKind::Sqs(q) if q.partial)
            }
            _ => false,
        };
        let fm = &self.m.functions[f];
        let fs = &mut self.funcs[f];
        let provisioned = self.envs[id as usize].provisioned;
        let init = if cold {
            fm.init.sample(&mut fs.rng_init).0
        } else {
            0
        };
        let duration = fm.duration.sample(&mut fs.rng_duration).0;
        let (outcome, run) = if duration > fm.timeout.0 {
            (Outcome::Timeout, fm.timeout.0)
        } else if poisoned || (fm.error_rate > 0.0 && fs.rng_errors.random::<f64>() < fm.error_rate)
        {
            (Outcome::Error, duration)
        } else {
            (Outcome::Success, duration)
        };
        fs.bucket_counts.invocations += 1;
        let spill = !provisioned && fm.provisioned > 0;
        if cold {
            fs.bucket_counts.cold_starts += 1;
        }
        if spill {
            fs.bucket_counts.spillover += 1;
        }
        if counted {
            fs.totals.invocations += 1;
            fs.totals.cold_starts += cold as u64;
            fs.totals.environments_created += cold as u64;
            fs.totals.spillover += spill as u64;
        }
        fs.busy.inc(now, warmup);
        if provisioned {
            fs.busy_prov.inc(now, warmup);
        }
        self.account_busy.inc(now, warmup);
        if fm.reserved.is_none() {
            self.unreserved_busy.inc(now, warmup);
        }
        let env = &mut self.envs[id as usize];
        env.caller = caller;
        env.cold = cold;
        env.outcome = outcome;
        env.init = init;
        env.run = run;
        self.queue
            .push(Event::new(now + init + run, Class::Complete, id));
    }

    /// An invocation ended: billing, the environment goes idle (or away), then the caller's
    /// invocation model decides what happens to the request.
    fn complete(&mut self, id: u32) {
        let now = self.now;
        let warmup = self.warmup;
        let env = self.envs[id as usize];
        let f = env.func as usize;
        let fm = &self.m.functions[f];
        let fs = &mut self.funcs[f];
        // Billing: per ms, INIT of on-demand cold starts included (docs/platform.md "Prices").
        let ondemand_cold = env.cold && !env.provisioned;
        let billed_us = if ondemand_cold && self.m.pricing.bill_init {
            env.init + env.run
        } else {
            env.run
        };
        let billed_ms = billed_us.div_ceil(1000);
        let init_ms = if ondemand_cold {
            (env.init + env.run).div_ceil(1000) - env.run.div_ceil(1000)
        } else {
            0
        };
        if env.outcome != Outcome::Success {
            fs.bucket_counts.errors += 1;
        }
        if env.caller.arrival() >= warmup {
            if env.outcome != Outcome::Success {
                fs.totals.errors += 1;
            }
            fs.duration.record(billed_ms * 1000);
            if env.provisioned {
                fs.billed_provisioned_ms += billed_ms as u128;
            } else {
                fs.billed_ondemand_ms += billed_ms as u128;
            }
            fs.init_ms += init_ms as u128;
        }
        // The environment is free again (or gone): concurrency drops.
        fs.busy.dec(now, warmup);
        if env.provisioned {
            fs.busy_prov.dec(now, warmup);
        }
        self.account_busy.dec(now, warmup);
        let unreserved = fm.reserved.is_none();
        if unreserved {
            self.unreserved_busy.dec(now, warmup);
        }
        if env.provisioned {
            // Provisioned environments are never reclaimed; after a timeout one is
            // re-initialized in the background (docs/platform.md "Concurrency limits").
            fs.prov_idle.push(id);
        } else {
            if unreserved {
                self.unreserved_used -= 1;
            }
            // After a timeout the environment is discarded (docs/platform.md "Execution
            // environments").
            let retire_at = env.created + fm.max_lifetime.0;
            if env.outcome == Outcome::Timeout || now >= retire_at {
                self.free_env(id);
            } else {
                let idle_for = fm.idle_timeout.sample(&mut fs.rng_idle).0;
                let reclaim_at = (now + idle_for).min(retire_at);
                fs.idle.push((id, reclaim_at));
            }
        }
        match env.caller {
            Caller::Sync {
                source, arrival, ..
            } => self.sync_done(source, arrival, env.outcome, env.cold),
            Caller::Async(e) => self.async_done(e, env.outcome, env.cold),
            Caller::Batch { batch, .. } => {
                let s = self.batches[batch as usize].source;
                match self.sources[s as usize].kind {
                    SourceKind::Sqs(_) => self.sqs_done(batch, env.outcome, env.cold),
                    _ => self.stream_done(batch, env.outcome, env.cold),
                }
            }
        }
    }

    /// A request of function `f` that arrived at `arrival` has ended. `cold`: whether its last
    /// attempt ran on a cold environment (for the cold/warm latency split).
    #[inline]
    fn finish_request(&mut self, f: usize, arrival: u64, end: End, cold: bool) {
        let latency = self.now - arrival;
        let ran = matches!(end, End::Succeeded | End::Failed | End::TimedOut);
        let fs = &mut self.funcs[f];
        match end {
            End::Dlq => fs.bucket_counts.dead_letters += 1,
            End::Dropped => fs.bucket_counts.dropped += 1,
            _ => {}
        }
        if ran && self.record {
            fs.bucket_latency.record(latency);
            self.account_bucket_latency.record(latency);
        }
        if arrival < self.warmup {
            return;
        }
        let t = &mut fs.totals;
        match end {
            End::Succeeded => t.succeeded += 1,
            End::Failed => t.failed += 1,
            End::Throttled => {
                t.failed += 1;
                t.failed_throttled += 1;
            }
            End::TimedOut => {
                t.failed += 1;
                t.timed_out += 1;
            }
            End::Dropped => t.dropped += 1,
            End::Dlq => t.dlq += 1,
        }
        if ran {
            fs.latency.record(latency);
            if cold {
                fs.latency_cold.record(latency);
            } else {
                fs.latency_warm.record(latency);
            }
        }
    }

    /// Emits the rows of the bucket [start, end) and resets the per-bucket counts.
    fn close_bucket(&mut self, start: u64, end: u64) {
        let warmup = self.warmup;
        let len = end - start;
        if end >= self.next_compact {
            self.compact_idle(end);
            self.next_compact = end + 10_000_000;
        }
        let account_tokens = self.account_bucket.as_mut().map(|b| b.available(end));
        if !self.record {
            // Keep the time integrals consistent; nothing else is needed.
            for fs in &mut self.funcs {
                fs.busy.close_bucket(end, warmup, len);
                fs.busy_prov.close_bucket(end, warmup, len);
                fs.bucket_counts = BucketCounts::default();
            }
            self.account_busy.close_bucket(end, warmup, len);
            self.unreserved_busy.close_bucket(end, warmup, len);
            return;
        }
        // Queue gauges per function (depth, oldest arrival), from its queued sources; the
        // buffer is reused and sync-only runs skip the walk.
        self.gauges.clear();
        self.gauges.resize(self.funcs.len(), (0, u64::MAX));
        if self.queued_sources {
            for (i, s) in self.sources.iter().enumerate() {
                let f = self.m.sources[i].function;
                let (d, o) = match &s.kind {
                    SourceKind::Sync(_) => (0, None),
                    SourceKind::Async(q) => (q.waiting, None),
                    SourceKind::Sqs(q) => (q.depth(), q.oldest()),
                    SourceKind::Stream(st) => (st.depth(), st.oldest(&self.batches)),
                };
                let g = &mut self.gauges[f];
                g.0 += d;
                if let Some(o) = o {
                    g.1 = g.1.min(o);
                }
            }
        }
        let age_ms = |o: u64| {
            if o == u64::MAX {
                0.0
            } else {
                end.saturating_sub(o) as f64 / 1e3
            }
        };
        self.rows.clear();
        let mut acc = BucketRow {
            start: Micros(start),
            function: None,
            ..Default::default()
        };
        let mut prov_total = 0u64;
        let mut prov_busy_area = 0.0;
        for (i, fs) in self.funcs.iter_mut().enumerate() {
            let fm = &self.m.functions[i];
            let (cmax, cmean) = fs.busy.close_bucket(end, warmup, len);
            let (_, pmean) = fs.busy_prov.close_bucket(end, warmup, len);
            let c = std::mem::take(&mut fs.bucket_counts);
            let tokens = fs
                .bucket
                .as_mut()
                .map(|b| b.available(end))
                .or(account_tokens)
                .unwrap_or(0);
            let row = BucketRow {
                start: Micros(start),
                function: Some(i as u32),
                invocations: c.invocations,
                errors: c.errors,
                throttles: c.throttles,
                cold_starts: c.cold_starts,
                concurrency_max: cmax,
                concurrency_mean: cmean,
                provisioned_utilization: if fm.provisioned > 0 {
                    pmean / fm.provisioned as f64
                } else {
                    0.0
                },
                spillover: c.spillover,
                unreserved_concurrency: if fm.reserved.is_none() { cmax } else { 0 },
                scaling_tokens: tokens,
                latency_p50_ms: fs.bucket_latency.quantile(0.5) / 1e3,
                latency_p90_ms: fs.bucket_latency.quantile(0.9) / 1e3,
                latency_p99_ms: fs.bucket_latency.quantile(0.99) / 1e3,
                async_event_age_ms: c.async_age_max as f64 / 1e3,
                iterator_age_ms: c.iterator_age_max as f64 / 1e3,
                dead_letters: c.dead_letters,
                dropped: c.dropped,
                queue_depth: self.gauges[i].0,
                queue_oldest_age_ms: age_ms(self.gauges[i].1),
            };
            fs.bucket_latency.clear();
            acc.add_counts(&row);
            acc.async_event_age_ms = acc.async_event_age_ms.max(row.async_event_age_ms);
            acc.iterator_age_ms = acc.iterator_age_ms.max(row.iterator_age_ms);
            acc.queue_depth += row.queue_depth;
            acc.queue_oldest_age_ms = acc.queue_oldest_age_ms.max(row.queue_oldest_age_ms);
            if fs.bucket.is_some() {
                acc.scaling_tokens += tokens;
            }
            prov_total += fm.provisioned as u64;
            prov_busy_area += pmean;
            self.rows.push(row);
        }
        let (amax, amean) = self.account_busy.close_bucket(end, warmup, len);
        let (umax, _) = self.unreserved_busy.close_bucket(end, warmup, len);
        acc.concurrency_max = amax;
        acc.concurrency_mean = amean;
        acc.unreserved_concurrency = umax;
        acc.provisioned_utilization = if prov_total > 0 {
            prov_busy_area / prov_total as f64
        } else {
            0.0
        };
        if let Some(t) = account_tokens {
            acc.scaling_tokens = t;
        }
        acc.latency_p50_ms = self.account_bucket_latency.quantile(0.5) / 1e3;
        acc.latency_p90_ms = self.account_bucket_latency.quantile(0.9) / 1e3;
        acc.latency_p99_ms = self.account_bucket_latency.quantile(0.99) / 1e3;
        self.account_bucket_latency.clear();
        self.rows.push(acc);
        self.rec.bucket(&self.rows);
    }

    /// Frees idle environments whose reclaim time has passed, so memory follows live
    /// environments even when nothing pops them (load fell to zero).
    fn compact_idle(&mut self, now: u64) {
        for fs in &mut self.funcs {
            let free = &mut self.free_envs;
            fs.idle.retain(|&(id, at)| {
                if at <= now {
                    free.push(id);
                    false
                } else {
                    true
                }
            });
        }
    }

    /// Counted requests still alive at the end, per function, found by walking the live state
    /// (running sync and async invocations, pending retries, queued messages and records,
    /// batches): an independent check of the counters, so conservation can catch a lost request.
    fn in_flight(&self) -> Vec<u64> {
        let warmup = self.warmup;
        let mut in_flight = vec![0u64; self.funcs.len()];
        let mut env_free = vec![false; self.envs.len()];
        for &id in &self.free_envs {
            env_free[id as usize] = true;
        }
        for fs in &self.funcs {
            for &id in &fs.prov_idle {
                env_free[id as usize] = true;
            }
            for &(id, _) in &fs.idle {
                env_free[id as usize] = true;
            }
        }
        for (id, e) in self.envs.iter().enumerate() {
            let counted = e.caller.arrival() >= warmup;
            if !env_free[id] && counted && !matches!(e.caller, Caller::Batch { .. }) {
                in_flight[e.func as usize] += 1;
            }
        }
        let mut timer_free = vec![false; self.timers.len()];
        for &id in &self.free_timers {
            timer_free[id as usize] = true;
        }
        for (t, free) in self.timers.iter().zip(timer_free) {
            let (source, arrival) = match *t {
                Timer::Sync {
                    source, arrival, ..
                } => (source, arrival),
                Timer::Async(e) => (e.source, e.arrival),
                _ => continue,
            };
            if !free && arrival >= warmup {
                in_flight[self.function_of(source)] += 1;
            }
        }
        let mut batch_free = vec![false; self.batches.len()];
        for &id in &self.free_batches {
            batch_free[id as usize] = true;
        }
        let counted = |msgs: &mut dyn Iterator<Item = &Msg>| {
            msgs.filter(|m| m.arrival >= warmup).count() as u64
        };
        for (b, free) in self.batches.iter().zip(batch_free) {
            if !free {
                in_flight[self.function_of(b.source)] += counted(&mut b.msgs.iter());
            }
        }
        for (i, s) in self.sources.iter().enumerate() {
            let f = self.m.sources[i].function;
            match &s.kind {
                SourceKind::Sync(c) => {
                    in_flight[f] += c.waiting().filter(|&a| a >= warmup).count() as u64
                }
                SourceKind::Sqs(q) => in_flight[f] += counted(&mut q.visible.iter()),
                SourceKind::Stream(st) => {
                    for lane in &st.lanes {
                        in_flight[f] += counted(&mut lane.queue.iter());
                    }
                }
                _ => {}
            }
        }
        in_flight
    }

    fn finish(mut self) -> RunResult {
        let now = self.end;
        let warmup = self.warmup;
        let in_flight = self.in_flight();
        let account_mean = self.account_busy.window_mean(now, warmup);
        let functions = self
            .funcs
            .into_iter()
            .enumerate()
            .map(|(i, mut fs)| {
                let prov = self.m.functions[i].provisioned;
                FunctionResult {
                    totals: fs.totals,
                    in_flight: in_flight[i],
                    concurrency_mean: fs.busy.window_mean(now, warmup),
                    concurrency_peak: fs.busy.peak,
                    provisioned_busy_mean: if prov > 0 {
                        fs.busy_prov.window_mean(now, warmup)
                    } else {
                        0.0
                    },
                    latency: fs.latency,
                    latency_cold: fs.latency_cold,
                    latency_warm: fs.latency_warm,
                    duration: fs.duration,
                    billed_ondemand_ms: fs.billed_ondemand_ms,
                    billed_provisioned_ms: fs.billed_provisioned_ms,
                    init_ms: fs.init_ms,
                }
            })
            .collect();
        RunResult {
            functions,
            account_peak: self.account_busy.peak,
            account_mean,
            max_live_environments: self.max_live,
            events: self.events,
        }
    }
}
