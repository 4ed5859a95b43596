// Init script of `diagnose cookie`: runs in every frame before any page script.
// Records, without changing what the page does (except under the no-cookies policy):
//  - every call of growsumo._initialize / partnerstack._initialize (public key, caller);
//  - site code replacing growsumo / growsumo.data after _initialize ran (case 7);
//  - document.cookie writes (names), or drops them when cookies are blocked;
//  - who inserted a PartnerStack script element (caller of .src / setAttribute('src'));
//  - what may still run later (timers, animation frames, idle callbacks; sockets and workers), so
//    that settling a page without PartnerStack on it ends once nothing can (S.idleWithin).
(() => {
  const CFG = __DIAGNOSE_CONFIG__;
  if (window.__diagnose) return;
  const S = { inits: [], writes: [], blocked: [], replaced: [], injectedBy: [], initDone: false };
  try { Object.defineProperty(window, "__diagnose", { value: S, enumerable: false }); } catch (e) { return; }

  const caller = () => {
    const lines = String(new Error().stack || "").split("\n").slice(2);
    for (const line of lines) {
      const m = line.match(/\(?((?:https?|file):\/\/[^\s()]+)\)?\s*$/);
      if (m) return m[1];
    }
    return null;
  };
  const isSnippetSrc = (src) => {
    try {
      const u = new URL(String(src), location.href);
      return CFG.hosts.includes(u.hostname.toLowerCase()) || /^\/pr\/js(\/|$)/.test(u.pathname);
    } catch (e) { return false; }
  };

  // -- document.cookie --
  try {
    const desc = Object.getOwnPropertyDescriptor(Document.prototype, "cookie");
    if (desc && desc.configurable) {
      Object.defineProperty(Document.prototype, "cookie", {
        configurable: true, enumerable: desc.enumerable,
        get() { return CFG.blockCookies ? "" : desc.get.call(this); },
        set(v) {
          const name = String(v).split(";")[0].split("=")[0].trim();
          if (CFG.blockCookies) { if (S.blocked.length < 200) S.blocked.push(name); return; }
          if (S.writes.length < 200) S.writes.push(name);
          desc.set.call(this, v);
        },
      });
    }
  } catch (e) {}

  // -- growsumo / partnerstack --
  const hooked = new WeakSet();
  const hookObj = (obj, name) => {
    if (!obj || (typeof obj !== "object" && typeof obj !== "function") || hooked.has(obj)) return;
    hooked.add(obj);
    let ownInit = Object.prototype.hasOwnProperty.call(obj, "_initialize") ? obj._initialize : undefined;
    const wraps = new WeakMap();
    const wrap = (fn) => {
      if (typeof fn !== "function") return fn;
      if (wraps.has(fn)) return wraps.get(fn);
      const w = function (...args) {
        const a = args[0];
        const rec = {
          object: name,
          key: typeof a === "string" ? a : (a === undefined || a === null ? null : String(a)),
          arg_type: a === null ? "null" : typeof a,
          from: caller(),
          data_partner_key_after: null,
        };
        if (S.inits.length < 50) S.inits.push(rec);
        const result = fn.apply(this, args);
        try {
          const d = (this || obj).data;
          rec.data_partner_key_after = d && d.partner_key != null ? String(d.partner_key) : null;
        } catch (e) {}
        S.initDone = true;
        return result;
      };
      wraps.set(fn, w);
      return w;
    };
    try {
      Object.defineProperty(obj, "_initialize", {
        configurable: true, enumerable: true,
        get() {
          if (ownInit !== undefined) return wrap(ownInit);
          const p = Object.getPrototypeOf(obj);
          return p ? wrap(p._initialize) : undefined;
        },
        set(v) { ownInit = v; },
      });
    } catch (e) {}
    let data = obj.data;
    try {
      Object.defineProperty(obj, "data", {
        configurable: true, enumerable: true,
        get() { return data; },
        set(v) {
          if (S.initDone && v !== data && S.replaced.length < 50) {
            S.replaced.push({ what: name + ".data", keeps_partner_key: !!(v && v.partner_key), from: caller() });
          }
          data = v;
        },
      });
    } catch (e) {}
  };
  for (const name of ["growsumo", "partnerstack"]) {
    let value = window[name];
    hookObj(value, name);
    try {
      Object.defineProperty(window, name, {
        configurable: true, enumerable: true,
        get() { return value; },
        set(v) {
          if (S.initDone && v !== value && S.replaced.length < 50) {
            let keeps = false;
            try { keeps = !!(v && v.data && v.data.partner_key); } catch (e) {}
            S.replaced.push({ what: name, keeps_partner_key: keeps, from: caller() });
          }
          value = v;
          hookObj(v, name);
        },
      });
    } catch (e) {}
  }

  // -- what may still run later --
  const timers = new Map();  // timer id -> when it fires (performance.now() ms); an interval: always due
  const frames = new Set();  // animation frame and idle callback ids not run yet
  let opaque = false, live = 0;  // a timer given code as a string; sockets, event sources, workers
  const define = (name, value, named) => {  // in place of window[name], as the page would find it
    try {
      const was = Object.getOwnPropertyDescriptor(window, name) || { enumerable: true };
      if (named) {
        Object.defineProperty(value, "name", { value: name, configurable: true });
        Object.defineProperty(value, "length", { value: window[name].length, configurable: true });
      }
      Object.defineProperty(window, name, { value, configurable: true, writable: true, enumerable: !!was.enumerable });
    } catch (e) { opaque = true; }
  };
  const wrapTimer = (setName, clearName, repeat) => {
    const set = window[setName], clear = window[clearName];
    if (typeof set !== "function" || typeof clear !== "function") return;
    define(setName, function (handler, delay, ...args) {
      if (typeof handler !== "function") { opaque = true; return set.call(window, handler, delay, ...args); }
      let id = null;
      const run = function (...a) { if (!repeat) timers.delete(id); return handler.apply(this, a); };
      id = set.call(window, run, delay, ...args);
      timers.set(id, repeat ? -Infinity : performance.now() + (Number(delay) || 0));
      return id;
    }, true);
    define(clearName, function (id) { timers.delete(id); return clear.call(window, id); }, true);
  };
  const wrapFrame = (requestName, cancelName) => {
    const request = window[requestName], cancel = window[cancelName];
    if (typeof request !== "function" || typeof cancel !== "function") return;
    define(requestName, function (callback, ...args) {
      if (typeof callback !== "function") return request.call(window, callback, ...args);
      let id = null;
      id = request.call(window, function (...a) { frames.delete(id); return callback.apply(this, a); }, ...args);
      frames.add(id);
      return id;
    }, true);
    define(cancelName, function (id) { frames.delete(id); return cancel.call(window, id); }, true);
  };
  try {
    wrapTimer("setTimeout", "clearTimeout", false);
    wrapTimer("setInterval", "clearInterval", true);
    wrapFrame("requestAnimationFrame", "cancelAnimationFrame");
    wrapFrame("requestIdleCallback", "cancelIdleCallback");
    for (const name of ["WebSocket", "EventSource", "Worker", "SharedWorker"]) {
      const C = window[name];
      if (typeof C === "function") {
        define(name, new Proxy(C, { construct(target, args, newTarget) { live++; return Reflect.construct(target, args, newTarget); } }));
      }
    }
  } catch (e) { opaque = true; }
  // true when nothing the page set up can run within `ms`: no timer due, no frame or idle callback,
  // no socket or worker that could deliver a message, no running animation or playing media whose
  // end an event reports, no frame of its own (whose scripts could send it elsewhere)
  try {
    Object.defineProperty(S, "idleWithin", { enumerable: false, value: (ms) => {
      if (opaque || live || frames.size || window.frames.length) return false;
      const end = performance.now() + ms;
      for (const at of timers.values()) if (at <= end) return false;
      if (document.getAnimations && document.getAnimations().some((a) => a.playState !== "finished" && a.playState !== "idle")) return false;
      for (const m of document.querySelectorAll("video, audio")) if (!m.paused) return false;
      return true;
    } });
  } catch (e) {}

  // -- the main frame leaving: a navigation to another document that a script (or the check's own
  // reading, through a getter) began; its request may reach the check only after the page was read.
  // Read through the getters as they were before any page script, so that the page cannot hide it.
  // (Not seen: a document with an opaque origin, e.g. CSP sandbox, gets no navigate events; nor does
  // a cross-origin frame setting top.location. A form submission fires a task later.) --
  try {
    let leaving = null, count = 0;
    const doc = performance.timeOrigin;  // (tells this document's navigations from a later one's)
    const apply = Reflect.apply;
    const getter = (proto, name) => Object.getOwnPropertyDescriptor(proto, name).get;
    if (window.top === window && window.navigation && typeof NavigateEvent === "function") {
      const dest = getter(NavigateEvent.prototype, "destination");
      const download = getter(NavigateEvent.prototype, "downloadRequest");
      const same = getter(NavigationDestination.prototype, "sameDocument");
      const url = getter(NavigationDestination.prototype, "url");
      const prevented = getter(Event.prototype, "defaultPrevented");
      const slice = String.prototype.slice;
      apply(EventTarget.prototype.addEventListener, window.navigation, ["navigate", (e) => {
        try {
          if (!e.isTrusted) return;  // (an own, unforgeable property)
          const d = apply(dest, e, []);
          if (apply(same, d, []) || apply(download, e, []) !== null) return;
          count += 1;
          leaving = { e, n: count, url: apply(slice, `${apply(url, d, [])}`, [0, 2000]) };
        } catch (err) {}
      }]);
      // "DOC N URL" (the check tells one navigation from the next), or null when the page cancelled
      // it or began none
      Object.defineProperty(S, "leaving", { enumerable: false, value: () => {
        try { return leaving && !apply(prevented, leaving.e, []) ? `${doc} ${leaving.n} ${leaving.url}` : null; }
        catch (e) { return null; }
      } });
    }
  } catch (e) {}

  // -- who inserts the PartnerStack script --
  try {
    const srcDesc = Object.getOwnPropertyDescriptor(HTMLScriptElement.prototype, "src");
    Object.defineProperty(HTMLScriptElement.prototype, "src", {
      configurable: true, enumerable: srcDesc.enumerable, get: srcDesc.get,
      set(v) {
        if (isSnippetSrc(v) && S.injectedBy.length < 20) S.injectedBy.push({ src: String(v), from: caller() });
        srcDesc.set.call(this, v);
      },
    });
    const setAttr = Element.prototype.setAttribute;
    Element.prototype.setAttribute = function (n, v) {
      if (this instanceof HTMLScriptElement && String(n).toLowerCase() === "src" && isSnippetSrc(v)
          && S.injectedBy.length < 20) S.injectedBy.push({ src: String(v), from: caller() });
      return setAttr.call(this, n, v);
    };
  } catch (e) {}
})();
