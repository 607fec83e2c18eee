//! Lambda Managed Instances in the engine: execution environments that run several invocations
//! at once on the instances of a capacity provider, the router that places requests on them,
//! and the scaler that adds and removes environments and instances.
//!
//! Sources: "Scaling Lambda Managed Instances",
//! <https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-scaling.html>
//! (no scaling on arrival and no cold start; asynchronous scaling on CPU utilization and
//! multi-concurrency saturation; three instances and three environments at the start; traffic
//! more than doubling within 5 minutes may be throttled while it scales; gradual scale-down)
//! and docs/platform.md "Lambda Managed Instances" for the assumptions where the
//! documentation gives no number.
//!
//! - **Slots.** An environment holds at most `max_concurrency` invocations (its slots). The
//!   invocation slab already separates invocations from environments, so an environment simply
//!   counts its in-flight invocations here.
//! - **Routing: round robin over environments with a free slot.** Each function keeps a queue
//!   of its environments that have a free slot; a request takes the front one, which goes to
//!   the back if it still has a free slot. O(1) per request, no scan. A completion puts a full
//!   environment back in the queue. With no environment in the queue the request is
//!   throttled with reason `capacity`.
//! - **Scaling.** Every `scaling_interval` the scaler reads, per function, the time-weighted
//!   mean of in-flight requests over the interval against the serving environments: the
//!   saturation (in flight / slots) and the CPU utilization (in flight x cpu_per_request /
//!   vCPUs), whichever is higher (1 when a request was throttled in the interval). It wants
//!   `ceil(environments x utilization / target)` environments (at least 3). New environments
//!   start after `environment_start` on instances with room; instances come after
//!   `instance_launch`, as many as the wanted environments need (vCPUs and memory pooled over
//!   the provider's instances), between `min_instances` and MaxVCpuCount / vCPUs per instance.
//!   Scale-down removes at most `scale_down_fraction` of the surplus per interval (at least
//!   one): environments drain (no new requests, removed when their last one ends), then empty
//!   instances go.
//! - **Latency.** A request that starts while n requests (itself included) run on its
//!   environment takes duration x max(1, n x cpu_per_request / vCPUs): the CPU-sharing model,
//!   fixed at the start ([`crate::scenario::capacity::ManagedFunction::stretch`]).
//!
//! Memory: one small record per live environment and per function; the pending-start lists
//! hold one entry per scaling decision still in progress.

use super::{Sim, Timer};
use crate::scenario::capacity::ManagedFunction;
use crate::stats::{EnvEvent, Level, Recorder};
use std::collections::VecDeque;

/// Environments a function keeps at least (the platform starts three).
const MIN_ENVIRONMENTS: u32 = crate::presets::managed::START_ENVIRONMENTS;

/// Per live environment of a managed function (indexed by environment id).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Slots {
    /// Invocations running on it.
    pub in_flight: u32,
    /// It is in its function's queue of environments with a free slot.
    queued: bool,
    /// Scale-down chose it: no new requests; removed when empty.
    draining: bool,
}

/// A time integral over the scaling interval.
#[derive(Clone, Copy, Debug, Default)]
struct Area {
    value: f64,
    last: u64,
    area: f64,
}

impl Area {
    fn set(&mut self, now: u64, v: f64) {
        self.area += self.value * (now - self.last) as f64;
        self.last = now;
        self.value = v;
    }
    /// The integral since the last call, ending at `now`.
    fn take(&mut self, now: u64) -> f64 {
        self.set(now, self.value);
        std::mem::take(&mut self.area)
    }
}

/// A function on a capacity provider.
pub(super) struct Func {
    pub spec: ManagedFunction,
    /// Environments with a free slot, round robin.
    free: VecDeque<u32>,
    /// Serving environments (not draining).
    serving: Vec<u32>,
    /// Environment starts in progress: (ready at, count).
    starting: VecDeque<(u64, u32)>,
    starting_n: u32,
    /// Environments alive (serving and draining).
    alive: u32,
    /// Environments wanted by the last scaling decision.
    want: u32,
    in_flight: Area,
    serving_area: Area,
    throttled: bool,
    /// Serving environments over time (bucket statistics).
    pub envs: Level,
    /// In-flight requests over time (bucket statistics).
    pub in_flight_level: Level,
    /// Most invocations any one environment held at once.
    pub peak_slots: u32,
}

/// A capacity provider's instances.
pub(super) struct Provider {
    /// Running instances.
    ready: u32,
    /// Launches in progress: (ready at, count).
    launching: VecDeque<(u64, u32)>,
    launching_n: u32,
    /// Instances billed (running or launching) over time.
    pub billed: Level,
    /// Functions on it.
    pub funcs: Vec<usize>,
}

/// The Managed Instances state of a run.
#[derive(Default)]
pub(super) struct Managed {
    pub funcs: Vec<Option<Func>>,
    pub providers: Vec<Provider>,
    pub slots: Vec<Slots>,
    /// Buffers of the bucket being closed (reused: no allocation per bucket).
    bucket_instances: Vec<u32>,
    bucket_levels: Vec<(u32, f64, f64)>,
}

impl Managed {
    pub(super) fn new(m: &crate::model::Model) -> Managed {
        let c = &m.capacity;
        let mut providers: Vec<Provider> = c
            .providers
            .iter()
            .map(|_| Provider {
                ready: 0,
                launching: VecDeque::new(),
                launching_n: 0,
                billed: Level::default(),
                funcs: Vec::new(),
            })
            .collect();
        let funcs = c
            .functions
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let spec = f.clone()?;
                providers[spec.provider].funcs.push(i);
                Some(Func {
                    spec,
                    free: VecDeque::new(),
                    serving: Vec::new(),
                    starting: VecDeque::new(),
                    starting_n: 0,
                    alive: 0,
                    want: MIN_ENVIRONMENTS,
                    in_flight: Area::default(),
                    serving_area: Area::default(),
                    throttled: false,
                    envs: Level::default(),
                    in_flight_level: Level::default(),
                    peak_slots: 0,
                })
            })
            .collect();
        Managed {
            funcs,
            providers,
            slots: Vec::new(),
            bucket_instances: Vec::new(),
            bucket_levels: Vec::new(),
        }
    }

    /// Whether function `f` runs on Managed Instances.
    #[inline]
    pub(super) fn is_managed(&self, f: usize) -> bool {
        matches!(self.funcs.get(f), Some(Some(_)))
    }

    fn func(&mut self, f: usize) -> &mut Func {
        self.funcs[f].as_mut().expect("a managed function")
    }
}

/// (vCPUs, GiB) that `n` environments of `spec` take.
fn size(spec: &ManagedFunction, n: u32) -> (f64, f64) {
    (spec.vcpus * n as f64, spec.memory_gib * n as f64)
}

impl<R: Recorder> Sim<'_, R> {
    /// At t = 0: every provider runs its minimum instances (more if three environments of
    /// each of its functions need more), each function three serving environments, and the
    /// first scaling decision is one interval away.
    pub(super) fn managed_start(&mut self) {
        let warmup = self.warmup;
        for f in 0..self.funcs.len() {
            if self.managed.is_managed(f) {
                self.funcs[f].pool = super::admission::Pool::Managed;
            }
        }
        for p in 0..self.managed.providers.len() {
            let pm = &self.m.capacity.providers[p];
            let (mut v, mut g) = (0.0, 0.0);
            for &f in &self.managed.providers[p].funcs {
                let s = size(
                    &self.managed.funcs[f].as_ref().expect("managed").spec,
                    MIN_ENVIRONMENTS,
                );
                v += s.0;
                g += s.1;
            }
            let need = (v / pm.vcpus as f64).max(g / pm.memory_gib as f64).ceil() as u32;
            let n = need.max(pm.min_instances).min(pm.max_instances.max(need));
            let prov = &mut self.managed.providers[p];
            prov.ready = n;
            prov.billed.set(0, warmup, n);
            for f in prov.funcs.clone() {
                for _ in 0..MIN_ENVIRONMENTS {
                    self.managed_env_ready(f);
                }
            }
            let at = self.m.capacity.providers[p].interval.0;
            if at < self.end {
                self.push_timer(at, Timer::ManagedTick(p as u32));
            }
        }
    }

    /// A new environment of function `f` serves from now.
    fn managed_env_ready(&mut self, f: usize) {
        let now = self.now;
        let warmup = self.warmup;
        let id = self.new_env(f as u32);
        if self.managed.slots.len() <= id as usize {
            self.managed.slots.resize(id as usize + 1, Slots::default());
        }
        self.managed.slots[id as usize] = Slots {
            in_flight: 0,
            queued: true,
            draining: false,
        };
        self.rec.on_env(now, id, f as u32, EnvEvent::InitEnd, false);
        let mf = self.managed.func(f);
        mf.free.push_back(id);
        mf.serving.push(id);
        mf.alive += 1;
        mf.envs.set(now, warmup, mf.serving.len() as u32);
        mf.serving_area.set(now, mf.serving.len() as f64);
    }

    /// Routes a request of function `f` to an environment with a free slot: the environment
    /// id, or None when every slot is taken (a `capacity` throttle).
    #[inline]
    pub(super) fn managed_route(&mut self, f: usize) -> Option<u32> {
        let now = self.now;
        let warmup = self.warmup;
        let Managed { funcs, slots, .. } = &mut self.managed;
        let mf = funcs[f].as_mut().expect("managed");
        let Some(e) = mf.free.pop_front() else {
            mf.throttled = true;
            return None;
        };
        let s = &mut slots[e as usize];
        s.in_flight += 1;
        mf.peak_slots = mf.peak_slots.max(s.in_flight);
        if s.in_flight < mf.spec.max_concurrency {
            mf.free.push_back(e);
        } else {
            s.queued = false;
        }
        let n = mf.in_flight_level.value + 1;
        mf.in_flight_level.set(now, warmup, n);
        mf.in_flight.set(now, n as f64);
        Some(e)
    }

    /// The duration factor of a request that just started on environment `e` of `f`.
    #[inline]
    pub(super) fn managed_stretch(&self, f: usize, e: u32) -> f64 {
        let spec = &self.managed.funcs[f].as_ref().expect("managed").spec;
        spec.stretch(self.managed.slots[e as usize].in_flight)
    }

    /// An invocation of `f` on environment `e` ended: the slot is free again (a draining
    /// environment goes when its last invocation ends). Returns whether the environment is
    /// now idle (no invocation left).
    pub(super) fn managed_release(&mut self, f: usize, e: u32) -> bool {
        let now = self.now;
        let warmup = self.warmup;
        let Managed { funcs, slots, .. } = &mut self.managed;
        let mf = funcs[f].as_mut().expect("managed");
        let s = &mut slots[e as usize];
        s.in_flight -= 1;
        let n = mf.in_flight_level.value - 1;
        mf.in_flight_level.set(now, warmup, n);
        mf.in_flight.set(now, n as f64);
        let idle = s.in_flight == 0;
        if s.draining {
            if idle {
                mf.alive -= 1;
                self.envs.free(e);
                self.rec
                    .on_env(now, e, f as u32, EnvEvent::Reclaimed, false);
            }
        } else if !s.queued {
            s.queued = true;
            mf.free.push_back(e);
        }
        idle
    }

    /// The scaler's decision for provider `p` (every scaling interval).
    pub(super) fn managed_tick(&mut self, p: usize) {
        let now = self.now;
        let pm = &self.m.capacity.providers[p];
        let next = now + pm.interval.0;
        if next < self.end {
            self.push_timer(next, Timer::ManagedTick(p as u32));
        }
        let (target, fraction) = (pm.target, pm.scale_down_fraction);
        for f in self.managed.providers[p].funcs.clone() {
            let mf = self.managed.func(f);
            let busy = mf.in_flight.take(now);
            let serving_area = mf.serving_area.take(now);
            let serving = mf.serving.len() as u32;
            let util = if mf.throttled {
                1.0
            } else if serving_area > 0.0 {
                let slots = busy / (serving_area * mf.spec.max_concurrency as f64);
                let cpu = busy * mf.spec.cpu_per_request / (serving_area * mf.spec.vcpus);
                slots.max(cpu).min(1.0)
            } else {
                0.0
            };
            mf.throttled = false;
            let wanted = ((serving as f64 * util / target).ceil() as u32).max(MIN_ENVIRONMENTS);
            let current = serving + mf.starting_n;
            if wanted >= current {
                mf.want = wanted;
            } else if mf.starting_n == 0 {
                let surplus = current - wanted;
                let k = ((surplus as f64 * fraction).ceil() as u32).clamp(1, surplus);
                mf.want = current - k;
                self.managed_drain(f, k);
            }
        }
        self.managed_instances(p);
        self.managed_place(p);
    }

    /// Scale-down: `k` serving environments of `f` stop taking requests and go when empty.
    fn managed_drain(&mut self, f: usize, k: u32) {
        let now = self.now;
        let warmup = self.warmup;
        for _ in 0..k {
            let Managed { funcs, slots, .. } = &mut self.managed;
            let mf = funcs[f].as_mut().expect("managed");
            let Some(e) = mf.serving.pop() else { break };
            let s = &mut slots[e as usize];
            s.draining = true;
            if s.queued {
                // O(environments), once per environment removed: never on the request path.
                mf.free.retain(|&x| x != e);
                s.queued = false;
            }
            mf.envs.set(now, warmup, mf.serving.len() as u32);
            mf.serving_area.set(now, mf.serving.len() as f64);
            if s.in_flight == 0 {
                mf.alive -= 1;
                self.envs.free(e);
                self.rec
                    .on_env(now, e, f as u32, EnvEvent::Reclaimed, false);
            }
        }
    }

    /// (vCPUs, GiB) of provider `p` that environments use: alive and starting (`wanted`:
    /// every function's wanted environments instead, when larger).
    fn managed_demand(&self, p: usize, wanted: bool) -> (f64, f64) {
        let (mut v, mut g) = (0.0, 0.0);
        for &f in &self.managed.providers[p].funcs {
            let mf = self.managed.funcs[f].as_ref().expect("managed");
            let mut n = mf.alive + mf.starting_n;
            if wanted {
                n = n.max(mf.want);
            }
            let s = size(&mf.spec, n);
            v += s.0;
            g += s.1;
        }
        (v, g)
    }

    /// Instances of provider `p` follow the environments wanted: launches, or a gradual
    /// termination of empty instances.
    fn managed_instances(&mut self, p: usize) {
        let now = self.now;
        let warmup = self.warmup;
        let pm = &self.m.capacity.providers[p];
        let per =
            |(v, g): (f64, f64)| (v / pm.vcpus as f64).max(g / pm.memory_gib as f64).ceil() as u32;
        let wanted = per(self.managed_demand(p, true)).clamp(pm.min_instances, pm.max_instances);
        let used = per(self.managed_demand(p, false));
        let (launch, fraction) = (pm.instance_launch.0, pm.scale_down_fraction);
        let prov = &mut self.managed.providers[p];
        let current = prov.ready + prov.launching_n;
        if wanted > current {
            let n = wanted - current;
            prov.launching.push_back((now + launch, n));
            prov.launching_n += n;
            prov.billed.set(now, warmup, current + n);
            self.push_timer(now + launch, Timer::ManagedReady(p as u32));
        } else if prov.launching_n == 0 {
            let floor = wanted.max(used);
            if prov.ready > floor {
                let surplus = prov.ready - floor;
                let k = ((surplus as f64 * fraction).ceil() as u32).clamp(1, surplus);
                prov.ready -= k;
                prov.billed.set(now, warmup, prov.ready);
            }
        }
    }

    /// Starts the environments wanted that fit on the running instances of provider `p`.
    fn managed_place(&mut self, p: usize) {
        let now = self.now;
        let pm = &self.m.capacity.providers[p];
        let (cap_v, cap_g) = (
            (self.managed.providers[p].ready * pm.vcpus) as f64,
            (self.managed.providers[p].ready * pm.memory_gib) as f64,
        );
        let start = pm.environment_start.0;
        let (mut used_v, mut used_g) = self.managed_demand(p, false);
        let mut any = false;
        for f in self.managed.providers[p].funcs.clone() {
            let mf = self.managed.func(f);
            let have = mf.serving.len() as u32 + mf.starting_n;
            let (v, g) = size(&mf.spec, 1);
            let mut n = 0;
            while have + n < mf.want && used_v + v <= cap_v + 1e-9 && used_g + g <= cap_g + 1e-9 {
                used_v += v;
                used_g += g;
                n += 1;
            }
            if n > 0 {
                mf.starting.push_back((now + start, n));
                mf.starting_n += n;
                any = true;
            }
        }
        if any {
            self.push_timer(now + start, Timer::ManagedReady(p as u32));
        }
    }

    /// Launches and environment starts of provider `p` that are due now complete.
    pub(super) fn managed_ready(&mut self, p: usize) {
        let now = self.now;
        let prov = &mut self.managed.providers[p];
        while let Some(&(at, n)) = prov.launching.front() {
            if at > now {
                break;
            }
            prov.launching.pop_front();
            prov.launching_n -= n;
            prov.ready += n;
        }
        for f in self.managed.providers[p].funcs.clone() {
            loop {
                let mf = self.managed.func(f);
                let Some(&(at, n)) = mf.starting.front() else {
                    break;
                };
                if at > now {
                    break;
                }
                mf.starting.pop_front();
                mf.starting_n -= n;
                for _ in 0..n {
                    self.managed_env_ready(f);
                }
            }
        }
        self.managed_place(p);
    }
}

/// One bucket's Managed Instances levels, closed once per bucket and read into the rows.
pub(super) struct BucketLevels<'a> {
    managed: &'a Managed,
    /// Per provider: most instances billed in the bucket.
    instances: &'a [u32],
    /// Per function: (most serving environments, their mean, mean in flight).
    levels: &'a [(u32, f64, f64)],
}

impl BucketLevels<'_> {
    /// Writes function `i`'s Managed Instances cells into its row.
    pub(super) fn fill(&mut self, i: usize, row: &mut crate::stats::BucketRow) {
        let Some(mf) = &self.managed.funcs[i] else {
            return;
        };
        let (emax, emean, busy) = self.levels[i];
        row.managed = true;
        row.managed_instances = self.instances[mf.spec.provider];
        row.managed_environments = emax;
        if emean > 0.0 {
            row.managed_in_flight_per_environment = busy / emean;
            row.managed_vcpu_utilization = mf.spec.cpu_utilization(busy / emean);
        }
    }

    /// The account row: every provider's instances and every function's environments; the
    /// ratios over all managed environments.
    pub(super) fn fill_account(&mut self, acc: &mut crate::stats::BucketRow) {
        let (mut envs, mut emean, mut busy, mut cpu, mut vcpus) = (0, 0.0, 0.0, 0.0, 0.0);
        for (i, f) in self.managed.funcs.iter().enumerate() {
            let Some(mf) = f else { continue };
            let (emax, m, b) = self.levels[i];
            envs += emax;
            emean += m;
            busy += b;
            cpu += (b * mf.spec.cpu_per_request).min(m * mf.spec.vcpus);
            vcpus += m * mf.spec.vcpus;
        }
        if self.instances.is_empty() || !self.managed.funcs.iter().any(Option::is_some) {
            return;
        }
        acc.managed = true;
        acc.managed_instances = self.instances.iter().sum();
        acc.managed_environments = envs;
        if emean > 0.0 {
            acc.managed_in_flight_per_environment = busy / emean;
            acc.managed_vcpu_utilization = cpu / vcpus;
        }
    }
}

impl Managed {
    /// Closes the bucket ending at `end` (length `len`) of the Managed Instances levels.
    pub(super) fn close_bucket(&mut self, end: u64, warmup: u64, len: u64) -> BucketLevels<'_> {
        self.bucket_instances.clear();
        for p in &mut self.providers {
            self.bucket_instances
                .push(p.billed.close_bucket(end, warmup, len).0);
        }
        self.bucket_levels.clear();
        for f in &mut self.funcs {
            self.bucket_levels.push(match f {
                Some(mf) => {
                    let (emax, emean) = mf.envs.close_bucket(end, warmup, len);
                    let (_, busy) = mf.in_flight_level.close_bucket(end, warmup, len);
                    (emax, emean, busy)
                }
                None => (0, 0.0, 0.0),
            });
        }
        BucketLevels {
            managed: self,
            instances: &self.bucket_instances,
            levels: &self.bucket_levels,
        }
    }
}
