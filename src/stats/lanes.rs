//! Execution environment lanes for the `environments` chart: a [`Recorder`] wrapper that keeps,
//! per environment, its INIT and busy segments over a window, and throttled attempts per time
//! bin. Memory is bounded: at most `max_lanes` lanes are kept (the first environments seen in
//! the window, in creation order; the rest are only counted), busy segments closer together
//! than `merge_gap` (about one pixel of the chart) merge into one, so a lane holds at most a few
//! thousand segments however long the run, and throttles go into [`THROTTLE_BINS`] bins.

use super::{BucketRow, Recorder};
use crate::time::Micros;

/// A change of state of one execution environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvEvent {
    /// A cold start began INIT (the environment was created).
    InitStart,
    /// INIT ended (for provisioned environments: reported at t = 0, initialized before).
    InitEnd,
    /// The handler started an invocation.
    BusyStart,
    /// The invocation ended; the environment is idle (or is reclaimed next).
    BusyEnd,
    /// The environment was reclaimed after its idle time, retired or discarded after a timeout.
    Reclaimed,
}

/// What a segment of a lane shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegKind {
    /// INIT running.
    Init,
    /// Serving an invocation.
    Busy,
}

/// A span of one lane, µs, clipped to the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Start, µs.
    pub start: u64,
    /// End, µs.
    pub end: u64,
    /// What the environment was doing.
    pub kind: SegKind,
}

/// One execution environment over the window. Between segments it is idle; after
/// `reclaimed` it is gone.
#[derive(Clone, Debug, PartialEq)]
pub struct Lane {
    /// Function index.
    pub function: u32,
    /// A provisioned environment (else on-demand).
    pub provisioned: bool,
    /// When it was created (INIT began; 0 for provisioned environments), µs (may precede the
    /// window).
    pub created: u64,
    /// When it was reclaimed, if within the window.
    pub reclaimed: Option<u64>,
    /// INIT and busy spans in time order (idle is the gaps).
    pub segments: Vec<Segment>,
}

/// Bins of throttled attempts over the window.
pub const THROTTLE_BINS: usize = 400;
/// Lanes a chart keeps at most (the readable limit of the chart).
pub const MAX_LANES: usize = 200;
/// Segments closer than the window over this many merge (about one per pixel column).
const PIXELS: u64 = 2000;

const NOT_KEPT: u32 = u32::MAX;
const NO_LANE_YET: u32 = u32::MAX - 1;

/// What is known of a live environment.
#[derive(Clone, Copy, Debug)]
struct Live {
    lane: u32,
    function: u32,
    provisioned: bool,
    created: u64,
    /// Start of the segment in progress (INIT or busy), if any.
    open: Option<(u64, SegKind)>,
}

/// The lanes of one run over a window.
#[derive(Clone, Debug)]
pub struct Lanes {
    /// Window start, µs.
    pub from: u64,
    /// Window end, µs.
    pub to: u64,
    /// Only this function's environments (None: all).
    pub function: Option<u32>,
    /// Most lanes kept; later environments are only counted.
    pub max_lanes: usize,
    merge_gap: u64,
    live: Vec<Option<Live>>,
    /// The lanes, in order of first appearance.
    pub lanes: Vec<Lane>,
    /// Environments that existed in the window (of the chosen function), kept or not.
    pub seen: u64,
    /// Throttled attempts per bin of (to - from) / THROTTLE_BINS.
    pub throttles: Vec<u32>,
    /// Stop recording once more than `max_lanes` environments were seen (the automatic chart
    /// of `run`, drawn only for small runs: then it costs nothing more for large ones).
    stop_when_full: bool,
    stopped: bool,
}

impl Lanes {
    /// Lanes of the window `from..to`, of one function or all, at most `max_lanes`.
    pub fn new(from: Micros, to: Micros, function: Option<u32>, max_lanes: usize) -> Lanes {
        let (from, to) = (from.0, to.0.max(from.0 + 1));
        Lanes {
            from,
            to,
            function,
            max_lanes,
            merge_gap: (to - from) / PIXELS,
            live: Vec::new(),
            lanes: Vec::new(),
            seen: 0,
            throttles: vec![0; THROTTLE_BINS],
            stop_when_full: false,
            stopped: false,
        }
    }

    /// The automatic chart of a small run: every environment of the run, recording stops
    /// once more than [`MAX_LANES`] environments exist.
    pub fn small_run(duration: Micros) -> Lanes {
        let mut l = Lanes::new(Micros(0), duration, None, MAX_LANES);
        l.stop_when_full = true;
        l
    }

    /// More environments existed than lanes kept (a sample is drawn, or nothing for the
    /// automatic chart).
    pub fn overflowed(&self) -> bool {
        self.seen > self.lanes.len() as u64
    }

    /// Whether the automatic chart stopped recording (more than `max_lanes` environments).
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    fn lane_of(&mut self, env: u32) -> Option<usize> {
        let l = self.live[env as usize].as_mut()?;
        if l.lane == NO_LANE_YET {
            self.seen += 1;
            if self.lanes.len() < self.max_lanes {
                l.lane = self.lanes.len() as u32;
                self.lanes.push(Lane {
                    function: l.function,
                    provisioned: l.provisioned,
                    created: l.created,
                    reclaimed: None,
                    segments: Vec::new(),
                });
            } else {
                l.lane = NOT_KEPT;
                if self.stop_when_full {
                    self.stopped = true;
                    self.live = Vec::new();
                    return None;
                }
            }
        }
        (l.lane != NOT_KEPT).then_some(l.lane as usize)
    }

    fn push(&mut self, lane: usize, start: u64, end: u64, kind: SegKind) {
        if end < self.from || start > self.to {
            return;
        }
        let (start, end) = (start.max(self.from), end.min(self.to));
        let segs = &mut self.lanes[lane].segments;
        if let Some(last) = segs.last_mut() {
            if last.kind == kind && start <= last.end + self.merge_gap {
                last.end = last.end.max(end);
                return;
            }
        }
        segs.push(Segment { start, end, kind });
    }

    /// An environment lifecycle event at `t` µs.
    pub fn env(&mut self, t: u64, env: u32, function: u32, e: EnvEvent, provisioned: bool) {
        if self.stopped || self.function.is_some_and(|f| f != function) {
            return;
        }
        let i = env as usize;
        if i >= self.live.len() {
            self.live.resize(i + 1, None);
        }
        if self.live[i].is_none() {
            self.live[i] = Some(Live {
                lane: NO_LANE_YET,
                function,
                provisioned,
                created: if e == EnvEvent::InitStart { t } else { 0 },
                open: None,
            });
        }
        let Some(l) = self.live[i] else { return };
        if l.created > self.to {
            if e == EnvEvent::Reclaimed {
                self.live[i] = None;
            }
            return;
        }
        let lane = if t >= self.from {
            self.lane_of(env)
        } else {
            None
        };
        if self.stopped {
            return;
        }
        match e {
            EnvEvent::InitStart => self.open(i, t, SegKind::Init),
            EnvEvent::BusyStart => self.open(i, t, SegKind::Busy),
            EnvEvent::InitEnd | EnvEvent::BusyEnd => {
                let open = self.live[i].as_mut().and_then(|l| l.open.take());
                if let (Some(lane), Some((start, kind))) = (lane, open) {
                    self.push(lane, start, t, kind);
                }
            }
            EnvEvent::Reclaimed => {
                if let Some(lane) = lane {
                    if t <= self.to {
                        self.lanes[lane].reclaimed = Some(t);
                    }
                }
                self.live[i] = None;
            }
        }
    }

    fn open(&mut self, i: usize, t: u64, kind: SegKind) {
        if let Some(l) = self.live[i].as_mut() {
            l.open = Some((t, kind));
        }
    }

    /// A throttled attempt at `t` µs.
    pub fn throttle(&mut self, t: u64, function: u32) {
        if self.stopped
            || self.function.is_some_and(|f| f != function)
            || t < self.from
            || t >= self.to
        {
            return;
        }
        let b = ((t - self.from) as u128 * THROTTLE_BINS as u128 / (self.to - self.from) as u128)
            as usize;
        self.throttles[b.min(THROTTLE_BINS - 1)] += 1;
    }

    /// Ends recording: environments alive through the window's end get their lane (an
    /// environment idle through the whole window gets one too).
    pub fn finish(&mut self) {
        if self.stopped {
            return;
        }
        for i in 0..self.live.len() {
            let Some(l) = self.live[i] else { continue };
            if l.created > self.to {
                continue;
            }
            if let Some(lane) = self.lane_of(i as u32) {
                if let Some((start, kind)) = l.open {
                    self.push(lane, start, self.to, kind);
                }
            }
            if self.stopped {
                return;
            }
        }
        self.live = Vec::new();
    }
}

/// A recorder that passes everything to `inner` and keeps environment lanes beside.
pub struct LaneRecorder<'a, R: Recorder> {
    /// The recorder every other call goes to.
    pub inner: &'a mut R,
    /// The lanes gathered so far.
    pub lanes: Lanes,
}

impl<R: Recorder> Recorder for LaneRecorder<'_, R> {
    fn enabled(&self) -> bool {
        self.inner.enabled()
    }
    fn bucket(&mut self, rows: &[BucketRow]) {
        self.inner.bucket(rows)
    }
    fn delivered(&mut self, source: u32, lane: u32, arrival: Micros) {
        self.inner.delivered(source, lane, arrival)
    }
    #[inline]
    fn on_env(&mut self, t: u64, env: u32, function: u32, e: EnvEvent, provisioned: bool) {
        self.lanes.env(t, env, function, e, provisioned)
    }
    #[inline]
    fn on_throttle(&mut self, t: u64, function: u32) {
        self.lanes.throttle(t, function)
    }
    fn dependencies(&mut self, rows: &[super::DependencyRow]) {
        self.inner.dependencies(rows);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EnvEvent::*;

    #[test]
    fn a_cold_start_then_reuse_then_reclaim_makes_one_lane() {
        let mut l = Lanes::new(Micros(0), Micros(100), None, 10);
        l.env(0, 0, 0, InitStart, false);
        l.env(10, 0, 0, InitEnd, false);
        l.env(10, 0, 0, BusyStart, false);
        l.env(30, 0, 0, BusyEnd, false);
        l.env(60, 0, 0, BusyStart, false);
        l.env(70, 0, 0, BusyEnd, false);
        l.env(90, 0, 0, Reclaimed, false);
        // Id 0 reused by a new environment: a second lane.
        l.env(95, 0, 0, InitStart, false);
        l.finish();
        assert_eq!(l.lanes.len(), 2);
        let a = &l.lanes[0];
        assert_eq!(a.reclaimed, Some(90));
        let spans: Vec<(u64, u64, SegKind)> = a
            .segments
            .iter()
            .map(|s| (s.start, s.end, s.kind))
            .collect();
        assert_eq!(
            spans,
            vec![
                (0, 10, SegKind::Init),
                (10, 30, SegKind::Busy),
                (60, 70, SegKind::Busy)
            ]
        );
        // The second is in INIT at the window's end.
        assert_eq!(
            l.lanes[1].segments,
            vec![Segment {
                start: 95,
                end: 100,
                kind: SegKind::Init
            }]
        );
    }

    #[test]
    fn past_the_cap_environments_are_counted_not_kept() {
        let mut l = Lanes::new(Micros(0), Micros(1000), None, 3);
        for e in 0..5 {
            l.env(e as u64, e, 0, InitStart, false);
        }
        l.finish();
        assert_eq!(l.lanes.len(), 3);
        assert_eq!(l.seen, 5);
        assert!(l.overflowed());
        let mut auto = Lanes::small_run(Micros(1000));
        auto.max_lanes = 3;
        for e in 0..5 {
            auto.env(e as u64, e, 0, InitStart, false);
        }
        assert!(auto.stopped());
    }

    #[test]
    fn a_window_clips_and_skips_environments_gone_before_it() {
        let mut l = Lanes::new(Micros(100), Micros(200), Some(1), 10);
        l.env(0, 0, 1, InitStart, false);
        l.env(50, 0, 1, Reclaimed, false); // gone before the window: no lane
        l.env(90, 1, 1, InitStart, false);
        l.env(95, 1, 1, InitEnd, false);
        l.env(95, 1, 1, BusyStart, false);
        l.env(150, 1, 1, BusyEnd, false);
        l.env(120, 2, 0, InitStart, false); // another function
        l.throttle(150, 1);
        l.throttle(150, 0);
        l.finish();
        assert_eq!(l.lanes.len(), 1);
        assert_eq!(
            l.lanes[0].segments,
            vec![Segment {
                start: 100,
                end: 150,
                kind: SegKind::Busy
            }]
        );
        assert_eq!(l.throttles.iter().sum::<u32>(), 1);
    }
}
