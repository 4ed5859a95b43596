// Evaluated once the page has settled: what the page holds now.
(cfg) => {
  const S = window.__diagnose || { inits: [], writes: [], blocked: [], replaced: [], injectedBy: [] };
  let name = null, obj = null;
  for (const n of ["growsumo", "partnerstack"]) {
    try { if (window[n] && typeof window[n]._initialize === "function") { name = n; obj = window[n]; break; } } catch (e) {}
  }
  if (!obj) {
    for (const n of ["growsumo", "partnerstack"]) { try { if (window[n]) { name = n; obj = window[n]; break; } } catch (e) {} }
  }
  let dataPartnerKey = null, hasData = false;
  try {
    const d = obj && obj.data;
    hasData = !!d && typeof d === "object";
    if (d && d.partner_key != null && d.partner_key !== "") dataPartnerKey = String(d.partner_key);
  } catch (e) {}
  const isSnippetSrc = (src) => {
    try {
      const u = new URL(String(src), location.href);
      return cfg.hosts.includes(u.hostname.toLowerCase()) || /^\/pr\/js(\/|$)/.test(u.pathname);
    } catch (e) { return false; }
  };
  const initRe = /(growsumo|partnerstack)\s*\.\s*_initialize\s*\(/;
  const snippets = [];
  for (const s of Array.from(document.scripts)) {
    const inHead = !!s.closest("head");
    const type = s.getAttribute("type");
    if (s.src && isSnippetSrc(s.src)) snippets.push({ kind: "script-src", src: s.src, type, in_head: inHead, text: null });
    else if (!s.src && initRe.test(s.text || "")) snippets.push({ kind: "inline", src: null, type, in_head: inHead, text: (s.text || "").trim().slice(0, 300) });
  }
  const globals = cfg.cmpGlobals.filter((g) => { try { return typeof window[g] !== "undefined"; } catch (e) { return false; } });
  const srcs = Array.from(document.scripts).map((s) => s.src).filter(Boolean).slice(0, 300);
  const out = {
    href: location.href,
    title: document.title || null,
    global_name: name,
    has_initialize: !!(obj && typeof obj._initialize === "function"),
    has_data: hasData,
    data_partner_key: dataPartnerKey,
    inits: S.inits, writes: S.writes, blocked: S.blocked, replaced: S.replaced, injected_by: S.injectedBy,
    snippets, globals, script_srcs: srcs,
  };
  // read last: the reading above may itself have sent the page elsewhere (a hostile title getter)
  try { out.leaving = S.leaving ? S.leaving() : null; } catch (e) { out.leaving = null; }
  return out;
}
