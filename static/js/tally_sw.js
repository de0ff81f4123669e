/* The tally's service worker: it reopens a tally page (/activities/<id>/tally) and the
   stylesheets and scripts that page loads with no network. Served from
   /activities/tally-sw.js so that its scope is /activities/. Everything else passes
   through untouched.

   It keeps them as it installs, before it reports ready, so the network may go the moment
   the page has opened: the assets are those the page names in the worker's address
   (?asset=/static/js/tally.js&asset=...), the pages are the tally pages open at the time,
   and what an older version kept is carried over. Afterwards every tally page opened is
   kept as it loads. A new version (the CACHE name) fills a cache of its own as it installs
   and drops the older one when it takes over; a page naming other assets (so another
   address) installs a worker that keeps those and drops the ones no page names any more. */
"use strict";

var PREFIX = "inclusive-day-tally-";
var CACHE = "inclusive-day-tally-v2"; // the version: raise it when what is kept changes
var TALLY_PAGE = /^\/activities\/\d+\/tally\/?$/;
var ASSET = /^\/(static|bootstrap)\//;
var PATIENCE_MS = 3000; // on a network that hangs, show the kept copy after this long

// The page's assets, from this worker's address: same-origin ones under /static/ and
// /bootstrap/ only.
var ASSETS = new URL(self.location.href).searchParams
  .getAll("asset")
  .map(function (asset) { return new URL(asset, self.location.origin); })
  .filter(function (url) { return url.origin === self.location.origin && ASSET.test(url.pathname); })
  .map(function (url) { return url.href; });

function pageKey(href) {
  var url = new URL(href);
  return url.origin + url.pathname;
}

// Fetch and keep one URL; a redirect (to the sign-in page) or an error is refused.
function keep(cache, url) {
  return fetch(url, { credentials: "same-origin", cache: "no-cache" }).then(function (response) {
    if (!response.ok || response.redirected) throw new Error(url + " answered " + response.status);
    return cache.put(url, response);
  });
}

// The tally pages open now (the page installing this worker is not yet controlled by it).
function openTallyPages() {
  return self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (clients) {
    return clients
      .map(function (client) { return pageKey(client.url); })
      .filter(function (key) {
        var url = new URL(key);
        return url.origin === self.location.origin && TALLY_PAGE.test(url.pathname);
      });
  });
}

// Copy what an older version kept (its pages, and its assets until they are fetched afresh
// below), so that an update loses nothing it could show offline.
function carryOver(cache) {
  return caches.keys().then(function (names) {
    return Promise.all(
      names
        .filter(function (name) { return name.indexOf(PREFIX) === 0 && name !== CACHE; })
        .map(function (name) {
          return caches.open(name).then(function (old) {
            return old.keys().then(function (requests) {
              return Promise.all(requests.map(function (request) {
                return old.match(request).then(function (response) {
                  return response && cache.put(request.url, response);
                });
              }));
            });
          });
        })
    );
  });
}

function precache() {
  return caches.open(CACHE).then(function (cache) {
    return carryOver(cache).then(function () {
      return Promise.all([
        // Without its assets the page cannot work offline: installing fails (and is tried
        // again the next time a tally page opens).
        Promise.all(ASSETS.map(function (url) { return keep(cache, url); })),
        // A page that cannot be fetched now (another tab, since cancelled or out of reach)
        // is left out; it is kept the next time it opens.
        openTallyPages().then(function (pages) {
          return Promise.all(pages.map(function (url) {
            return keep(cache, url).catch(function () {});
          }));
        }),
      ]);
    });
  });
}

self.addEventListener("install", function (event) {
  event.waitUntil(precache().then(function () { return self.skipWaiting(); }));
});

// Drop older versions' caches, and the assets the pages no longer load (when they named
// theirs: a worker registered without names keeps what there is).
function dropTheOld() {
  var current = new Set(ASSETS);
  return caches.keys().then(function (names) {
    return Promise.all(
      names
        .filter(function (n) { return n.indexOf(PREFIX) === 0 && n !== CACHE; })
        .map(function (n) { return caches.delete(n); })
    );
  }).then(function () {
    return caches.open(CACHE);
  }).then(function (cache) {
    return cache.keys().then(function (requests) {
      return Promise.all(
        requests
          .filter(function (r) {
            return current.size > 0 && ASSET.test(new URL(r.url).pathname) && !current.has(r.url);
          })
          .map(function (r) { return cache.delete(r); })
      );
    });
  });
}

self.addEventListener("activate", function (event) {
  event.waitUntil(dropTheOld().then(function () { return self.clients.claim(); }));
});

function networkFirst(event, isPage) {
  var request = event.request;
  var key = isPage ? pageKey(request.url) : request;
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
