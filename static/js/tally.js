/* The offline tally: each +1 tap is queued in localStorage with a random nonce and synced
   to the server whenever it can be reached (now, on the "online" event, and by periodic
   retry). A retried upload never counts twice: the server skips nonces it already has.
   A service worker keeps the page and its assets so that it reopens with no network. */
(function () {
  "use strict";

  var configEl = document.getElementById("tally-config");
  if (!configEl) return;
  var cfg = JSON.parse(configEl.textContent);
  var KEY = "inclusive-day:tally:" + cfg.activity;
  var BATCH = 500; // taps per upload (the server takes at most TALLY_BATCH_MAX, 500)
  var RETRY_MS = 15000; // retry a failed upload this often
  var REFRESH_MS = 30000; // with nothing queued, fetch the other staff's counts this often
  var SOON_MS = 600; // wait for a burst of taps before uploading

  var statusEl = document.getElementById("tally-status");
  var statusText = document.getElementById("tally-status-text");
  var loginLink = document.getElementById("tally-login");
  var undoButton = document.getElementById("tally-undo");
  var totalEl = document.getElementById("tally-total");
  var numberFormat = new Intl.NumberFormat(document.documentElement.lang || undefined);

  var memory = null; // the state, when localStorage cannot be used
  var inflight = new Set(); // nonces of the upload under way
  var syncing = false;
  var contacted = false; // the server answered at least once since the page opened
  var problem = null; // {state, text} of the last failed upload
  var timer = null;

  function newNonce() {
    if (window.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); })
      .join("");
  }

  function load() {
    var s = memory;
    try {
      var stored = localStorage.getItem(KEY);
      if (stored) s = JSON.parse(stored);
    } catch (e) { /* private mode or damaged: keep what is in memory */ }
    if (!s || typeof s !== "object") s = {};
    s.queue = Array.isArray(s.queue) ? s.queue : [];
    s.server = s.server && typeof s.server === "object" ? s.server : {};
    s.serverAt = s.serverAt || 0;
    s.undo = Array.isArray(s.undo) ? s.undo : [];
    if (cfg.renderedAt > s.serverAt) { // this page is fresher than the stored counts
      s.server = cfg.counts;
      s.serverAt = cfg.renderedAt;
    }
    return s;
  }

  function save(s) {
    memory = s;
    try { localStorage.setItem(KEY, JSON.stringify(s)); } catch (e) { /* kept in memory */ }
  }

  function counts(s) {
    var c = {};
    Object.keys(s.server).forEach(function (g) { c[g] = s.server[g]; });
    s.queue.forEach(function (t) { c[t.group] = Math.max(0, (c[t.group] || 0) + t.delta); });
    return c;
  }

  function label(group) {
    var el = document.querySelector('.tally-button[data-group="' + group + '"] .tally-label');
    return el ? el.textContent : group;
  }

  function render() {
    var s = load();
    var c = counts(s);
    var total = 0;
    document.querySelectorAll("[data-count]").forEach(function (el) {
      var n = c[el.getAttribute("data-count")] || 0;
      total += n;
      el.textContent = numberFormat.format(n);
    });
    totalEl.textContent = numberFormat.format(total);
    var last = s.undo[s.undo.length - 1];
    undoButton.disabled = !last;
    undoButton.textContent = last ? cfg.text.undo.replace("{group}", label(last)) : cfg.text.undoNone;
    showStatus(s.queue.length);
  }

  function showStatus(n) {
    var state, text;
    if (syncing && n) { state = "syncing"; text = cfg.text.syncing; }
    else if (problem && n) { state = problem.state; text = problem.text; }
    else if (!navigator.onLine && n) { state = "offline"; text = cfg.text.offline; }
    else if (n) { state = "queued"; text = cfg.text.queued; }
    else if (contacted) { state = "synced"; text = cfg.text.synced; }
    else { state = "idle"; text = cfg.text.idle; }
    statusEl.setAttribute("data-state", state);
    statusEl.setAttribute("data-queued", String(n));
    statusText.textContent = text.replace("{n}", numberFormat.format(n));
    loginLink.hidden = state !== "signed-out";
  }

  function tap(group) {
    var s = load();
    s.queue.push({ nonce: newNonce(), group: group, delta: 1 });
    s.undo.push(group);
    if (s.undo.length > 200) s.undo.shift();
    save(s);
    if (navigator.vibrate) navigator.vibrate(15);
    render();
    soon(SOON_MS);
  }

  function undo() {
    var s = load();
    var group = s.undo.pop();
    if (!group) return;
    var last = s.queue[s.queue.length - 1];
    if (last && last.group === group && last.delta === 1 && !inflight.has(last.nonce)) {
      s.queue.pop(); // never sent: just forget it
    } else {
      s.queue.push({ nonce: newNonce(), group: group, delta: -1 });
    }
    save(s);
    render();
    soon(SOON_MS);
  }

  function soon(ms) {
    clearTimeout(timer);
    timer = setTimeout(sync, ms);
  }

  function later(ms) {
    soon(ms || (load().queue.length ? RETRY_MS : REFRESH_MS));
  }

  function sync() {
    clearTimeout(timer);
    if (syncing) return;
    if (!navigator.onLine) { render(); later(); return; }
    var batch = load().queue.slice(0, BATCH);
    syncing = true;
    batch.forEach(function (t) { inflight.add(t.nonce); });
    render();
    fetch(cfg.syncUrl, {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({
        taps: batch.map(function (t) { return { nonce: t.nonce, group: t.group, delta: t.delta }; }),
      }),
    })
      .then(function (response) {
        return response.json().then(
          function (body) { return { response: response, body: body }; },
          function () { return { response: response, body: null }; }
        );
      })
      .then(function (answer) {
        var status = answer.response.status;
        var body = answer.body;
        if (answer.response.ok && body && body.counts) {
          var sent = new Set(batch.map(function (t) { return t.nonce; }));
          var s = load();
          s.queue = s.queue.filter(function (t) { return !sent.has(t.nonce); });
          s.server = body.counts;
          s.serverAt = body.at || Date.now();
          save(s);
          problem = null;
          contacted = true;
          return s.queue.length ? 0 : null;
        }
        if (status === 401) {
          problem = { state: "signed-out", text: cfg.text.signedOut };
        } else if (status >= 400 && status < 500 && body && body.error) {
          problem = { state: "error", text: cfg.text.error.replace("{error}", body.error) };
        } else {
          problem = null; // a server or proxy error: just try again later
        }
        return RETRY_MS;
      }, function () {
        problem = null; // the network is down
        return RETRY_MS;
      })
      .then(function (next) {
        syncing = false;
        inflight.clear();
        render();
        if (next === 0) soon(0);
        else later(next);
      });
  }

  // The service worker's address names the stylesheets and scripts of this page, which it
  // keeps as it installs (so before it is ready); it keeps the page itself too.
  function workerUrl() {
    var assets = [];
    document.querySelectorAll('link[rel="stylesheet"][href], script[src]').forEach(function (el) {
      assets.push("asset=" + encodeURIComponent(el.getAttribute("href") || el.getAttribute("src")));
    });
    return cfg.workerUrl + (assets.length ? "?" + assets.join("&") : "");
  }

  document.querySelectorAll(".tally-button[data-group]").forEach(function (button) {
    button.addEventListener("click", function () {
      tap(button.getAttribute("data-group"));
      button.classList.remove("tapped");
      void button.offsetWidth; // restart the animation
      button.classList.add("tapped");
    });
  });
  undoButton.addEventListener("click", undo);
  window.addEventListener("online", function () { problem = null; sync(); });
  window.addEventListener("offline", render);
  window.addEventListener("storage", function (event) { if (event.key === KEY) render(); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") sync();
  });

  if ("serviceWorker" in navigator && cfg.workerUrl) {
    navigator.serviceWorker
      .register(workerUrl(), { scope: cfg.workerScope })
      .catch(function () { /* no worker (plain http, or refused): the open page still works */ });
  }

  render();
  sync();
})();
