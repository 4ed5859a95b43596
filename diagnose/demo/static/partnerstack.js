/* A stand-in for PartnerStackJS (formerly GrowSumo), for the tests and the demo only.
 *
 * Behaves as shared/reference/partnerstack.md describes the real script: reads gspk /
 * ps_partner_key and gsxid / ps_xid from the landing URL, decodes the partner key (base64,
 * unpadded or URL-safe tolerated), writes growSumoPartnerKey (decoded), ps_partner_key, gsxid and
 * ps_xid for 90 days on the landing host with document.cookie, and defines window.growsumo with
 * _initialize(publicKey), data and createSignup(callback). Last click wins: a new key in the URL
 * replaces the cookies. It talks to no server.
 */
(function () {
  "use strict";
  var DAYS = 90;

  function param(names) {
    var query = window.location.search.replace(/^\?/, "");
    var pairs = query ? query.split("&") : [];
    for (var n = 0; n < names.length; n++) {
      for (var i = 0; i < pairs.length; i++) {
        var kv = pairs[i].split("=");
        if (decodeURIComponent(kv[0]) === names[n] && kv.length > 1) {
          try { return decodeURIComponent(kv.slice(1).join("=").replace(/\+/g, " ")); } catch (e) { return null; }
        }
      }
    }
    return null;
  }

  function decodeKey(value) {
    if (!value) return null;
    var body = value.trim().replace(/ /g, "+").replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
    while (body.length % 4) body += "=";
    try {
      var text = decodeURIComponent(escape(window.atob(body)));
      return /^[\x20-\x7e\u00a0-\uffff]+$/.test(text) ? text : null;
    } catch (e) {
      return null;
    }
  }

  function readCookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) return decodeURIComponent(parts[i].slice(eq + 1));
    }
    return null;
  }

  function writeCookie(name, value) {
    var expires = new Date(Date.now() + DAYS * 864e5).toUTCString();
    document.cookie = name + "=" + encodeURIComponent(value) + "; expires=" + expires + "; path=/; SameSite=Lax";
  }

  var existing = window.growsumo && typeof window.growsumo === "object" ? window.growsumo : {};
  var data = existing.data || {};
  var gs = existing;

  gs.data = data;
  gs._initialize = function (publicKey) {
    gs.public_key = publicKey;
    var encoded = param(["gspk", "ps_partner_key"]);
    var partnerKey = decodeKey(encoded);
    var xid = param(["gsxid", "ps_xid"]);
    if (partnerKey) {
      writeCookie("growSumoPartnerKey", partnerKey);
      writeCookie("ps_partner_key", partnerKey);
      if (xid) {
        writeCookie("gsxid", xid);
        writeCookie("ps_xid", xid);
      }
    } else {
      partnerKey = readCookie("growSumoPartnerKey") || readCookie("ps_partner_key");
      xid = xid || readCookie("gsxid") || readCookie("ps_xid");
    }
    gs.data.partner_key = partnerKey || undefined;
    gs.data.xid = xid || undefined;
    gs.data.provider_key = gs.data.provider_key || undefined;
  };
  gs.createSignup = function (callback) {
    var d = gs.data || {};
    var signup = { name: d.name, email: d.email, customer_key: d.customer_key, partner_key: d.partner_key,
                   xid: d.xid, public_key: gs.public_key };
    gs.lastSignup = signup;
    if (typeof callback === "function") window.setTimeout(function () { callback(signup); }, 0);
  };
  window.growsumo = gs;
})();
