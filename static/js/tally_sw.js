/* The tally's service worker: it reopens a tally page (/activities/<id>/tally) and the
   assets that page stored with no network. Served from /activities/tally-sw.js so that
   its scope is /activities/. Everything else passes through untouched. */
"use strict";

var CACHE = "inclusive-day-tally-v1"; // the same name as in tally.js
var TALLY_PAGE = /^\/activities\/\d+\/tally\/?$/;
var ASSET = /^\/(static|bootstrap)\//;
var PATIENCE_MS = 3000; // on a network that hangs, show the kept copy after this long

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches
      .keys()
      .then(function (names) {
        return Promise.all(
          names
            .filter(function (n) { return n.indexOf("inclusive-day-tally-") === 0 && n !== CACHE; })
            .map(function (n) { return caches.delete(n); })
        );
      })
      .then(function () { return self.clients.claim(); })
  );
});

function networkFirst(event, isPage) {
  var request = event.request;
  var url = new URL(request.url);
  var key = isPage ? url.origin + url.pathname : request;
  return caches.open(CACHE).then(function (cache) {
    return cache.match(key).then(function (kept) {
      if (!kept && !isPage) return fetch(request); // not one of the tally's assets
      var network = fetch(request).then(function (response) {
        // A redirect (to the sign-in page) or an error is not the tally: do not keep it.
        if (response.ok && !response.redirected) {
          event.waitUntil(cache.put(key, response.clone()));
        }
        return response;
      });
      if (!kept) return network;
      var patience = new Promise(function (resolve) { setTimeout(resolve, PATIENCE_MS, kept); });
      return Promise.race([network.catch(function () { return kept; }), patience]);
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && TALLY_PAGE.test(url.pathname)) {
    event.respondWith(networkFirst(event, true));
  } else if (ASSET.test(url.pathname)) {
    event.respondWith(networkFirst(event, false));
  }
});
