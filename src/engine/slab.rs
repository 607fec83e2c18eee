//! The one slab type of the engine: a vector of slots with a free list, so ids are small
//! integers, freed slots are reused (last freed, first reused) and memory follows the most
//! slots ever live at once, never the simulated time.

use std::ops::{Index, IndexMut};

pub(super) struct Slab<T> {
    slots: Vec<T>,
    free: Vec<u32>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Slab<T> {
    /// Stores `v` in a free slot (or a new one) and returns its id.
    #[inline]
    pub fn insert(&mut self, v: T) -> u32 {
        match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = v;
                id
            }
            None => {
                self.slots.push(v);
                (self.slots.len() - 1) as u32
            }
        }
    }

    /// A slot id without overwriting a reused slot: it keeps its old value (and buffers), for
    /// the caller to reset. New slots start as `make()`.
    #[inline]
    pub fn alloc_with(&mut self, make: impl FnOnce() -> T) -> u32 {
        match self.free.pop() {
            Some(id) => id,
            None => {
                self.slots.push(make());
                (self.slots.len() - 1) as u32
            }
        }
    }

    /// Returns slot `id` to the free list (its value stays until the slot is reused).
    #[inline]
    pub fn free(&mut self, id: u32) {
        self.free.push(id);
    }

    /// Asks the CPU to bring slot `id` into the cache (a hint: no effect on results). The
    /// event loop prefetches the invocation of the next completion while it handles the
    /// current event, hiding the cache miss that otherwise dominates at high concurrency.
    #[inline]
    pub fn prefetch(&self, id: u32) {
        #[cfg(target_arch = "x86_64")]
        if let Some(slot) = self.slots.get(id as usize) {
            // SAFETY: prefetching is a hint that never faults and reads nothing observable;
            // the pointer comes from a live reference.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    slot as *const T as *const i8,
                )
            };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = id;
    }

    /// Slots in use.
    #[inline]
    pub fn live(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// The slots in use with their ids (allocates a mask: for end-of-run walks only).
    pub fn iter_live(&self) -> impl Iterator<Item = (u32, &T)> {
        let mut free = vec![false; self.slots.len()];
        for &id in &self.free {
            free[id as usize] = true;
        }
        self.slots
            .iter()
            .enumerate()
            .filter(move |(i, _)| !free[*i])
            .map(|(i, v)| (i as u32, v))
    }
}

impl<T> Index<u32> for Slab<T> {
    type Output = T;
    #[inline]
    fn index(&self, id: u32) -> &T {
        &self.slots[id as usize]
    }
}

impl<T> IndexMut<u32> for Slab<T> {
    #[inline]
    fn index_mut(&mut self, id: u32) -> &mut T {
        &mut self.slots[id as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_ids_are_reused_last_freed_first_and_live_counts_slots_in_use() {
        let mut s = Slab::default();
        let ids: Vec<u32> = (0..4).map(|v| s.insert(v * 10)).collect();
        assert_eq!(ids, vec![0, 1, 2, 3]);
        s.free(1);
        s.free(3);
        assert_eq!(s.live(), 2);
        assert_eq!(s.insert(99), 3);
        assert_eq!(s.insert(98), 1);
        assert_eq!(s.insert(97), 4);
        assert_eq!(s[1], 98);
        s.free(0);
        let live: Vec<(u32, i32)> = s.iter_live().map(|(i, &v)| (i, v)).collect();
        assert_eq!(live, vec![(1, 98), (2, 20), (3, 99), (4, 97)]);
    }
}
