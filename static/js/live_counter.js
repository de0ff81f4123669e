/* The live counter on an activity's page (staff only): polls live.json every few seconds and
   updates the figures in place. Without JavaScript the figures of the page's render stay. */
(function () {
  "use strict";

  var box = document.querySelector("[data-live-url]");
  if (!box || !window.fetch) return;
  var url = box.getAttribute("data-live-url");
  var every = parseInt(box.getAttribute("data-live-every"), 10) || 5000;
  var numberFormat = new Intl.NumberFormat(document.documentElement.lang || undefined);
  var timer = null;

  function show(figures) {
    document.querySelectorAll("[data-live]").forEach(function (el) {
      var value = figures[el.getAttribute("data-live")];
      if (typeof value === "number") el.textContent = numberFormat.format(value);
    });
    var groups = figures.by_group || {};
    document.querySelectorAll("[data-live-group]").forEach(function (el) {
      var value = groups[el.getAttribute("data-live-group")];
      if (typeof value === "number") el.textContent = numberFormat.format(value);
    });
  }

  function poll() {
    timer = null;
    if (document.visibilityState === "hidden") return; // resumed on visibilitychange
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401 || response.status === 404) throw new Error("stop");
        return response.ok ? response.json().then(show) : null;
      })
      .then(
        function () { timer = setTimeout(poll, every); },
        function (error) {
          if (error && error.message === "stop") return; // signed out or no longer allowed
          timer = setTimeout(poll, every); // offline for a moment: try again
        }
      );
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && timer === null) poll();
  });
  timer = setTimeout(poll, every);
})();
