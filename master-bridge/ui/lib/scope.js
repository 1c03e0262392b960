// Lifecycles: everything a page starts (timers, pollers, listeners) belongs to its scope and
// stops when the page is left. The live counts are on window.locustHttp for tests and debugging.

const live = { timers: new Set(), pollers: new Set(), listeners: 0 };

window.locustHttp = {
  /** Timers (timeouts and intervals) not yet fired or cleared, of every page. */
  timers: () => live.timers.size,
  /** Pollers running, by name: e.g. {"fleet": 1}. */
  pollers: () => {
    const out = {};
    for (const p of live.pollers) out[p] = (out[p] || 0) + 1;
    return out;
  },
  /** Listeners pages added to window/document and not yet removed. */
  listeners: () => live.listeners,
};

/** A scope: what one mounted page owns. `dispose()` stops all of it; later calls are no-ops. */
export function createScope() {
  const timers = new Set();
  const cleanups = [];
  let disposed = false;
  const scope = {
    get disposed() { return disposed; },
    setTimeout(fn, ms) {
      if (disposed) return null;
      const handle = {};
      handle.id = setTimeout(() => { timers.delete(handle); live.timers.delete(handle); if (!disposed) fn(); }, ms);
      timers.add(handle); live.timers.add(handle);
      return handle;
    },
    clearTimeout(handle) {
      if (!handle) return;
      clearTimeout(handle.id); timers.delete(handle); live.timers.delete(handle);
    },
    /**
     * Calls `fn` now and then `ms` after each call finished (never two at once), until disposed,
     * stopped (the function returned) or `fn` returns false.
     */
    poll(name, fn, ms) {
      if (disposed) return () => {};
      const token = new String(name); // a unique entry per poller
      live.pollers.add(token);
      let timer = null;
      let stopped = false;
      const stop = () => { stopped = true; scope.clearTimeout(timer); live.pollers.delete(token); };
      const tick = async () => {
        if (disposed || stopped) return;
        let again = true;
        try { again = (await fn()) !== false; } catch (e) { console.error(e); }
        if (!again) stop();
        else if (!disposed && !stopped) timer = scope.setTimeout(tick, ms);
      };
      cleanups.push(stop);
      tick();
      return stop;
    },
    /** addEventListener, removed on dispose. */
    listen(target, type, fn, opts) {
      if (disposed) return;
      target.addEventListener(type, fn, opts);
      const global = target === window || target === document;
      if (global) live.listeners++;
      cleanups.push(() => { target.removeEventListener(type, fn, opts); if (global) live.listeners--; });
    },
    onDispose(fn) { cleanups.push(fn); },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const t of timers) { clearTimeout(t.id); live.timers.delete(t); }
      timers.clear();
      while (cleanups.length) cleanups.pop()();
    },
  };
  return scope;
}
