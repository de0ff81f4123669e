/* The live board (stations/live.html): draws the map of every station and, every few seconds,
 * fetches live.json to update the counts, the table's rows and the markers in place.
 *
 * Without JavaScript the page's own render stays: the counts and the table are server-made.
 * The configuration travels in <script type="application/json" id="live-board-config"> (no
 * inline code, for the Content-Security-Policy). A state's colour and name are read from the
 * legend, so the stylesheet and the template say them once. Markers arrive as
 * [id, latitude, longitude, state, silent, name], already in the tile server's system, the
 * coordinates as whole numbers of 1/coord_scale degree.
 */
(function () {
  "use strict";

  var source = document.getElementById("live-board-config");
  if (!source || !window.fetch) return;
  var config = JSON.parse(source.textContent);
  var numberFormat = new Intl.NumberFormat(document.documentElement.lang || undefined);
  var rowsBody = document.querySelector("[data-live-rows]");
  var empty = document.querySelector("[data-live-empty]");
  var rowTemplate = document.getElementById("live-row");
  var states = {};
  document.querySelectorAll("[data-state]").forEach(function (item) {
    var dot = item.querySelector(".live-dot");
    states[item.getAttribute("data-state")] = {
      colour: window.getComputedStyle(dot).backgroundColor,
      label: item.querySelector("[data-state-label]").textContent,
    };
  });

  // ---- Counts and table --------------------------------------------------------------

  function showCounts(data) {
    document.querySelectorAll("[data-live-count]").forEach(function (el) {
      var value = data.counts[el.getAttribute("data-live-count")];
      if (typeof value === "number") el.textContent = numberFormat.format(value);
    });
    document.querySelectorAll("[data-live-updated]").forEach(function (el) {
      el.textContent = data.updated_text;
    });
  }

  function field(row, name) {
    return row.querySelector('[data-field="' + name + '"]');
  }

  function makeRow(r) {
    var row = rowTemplate.content.firstElementChild.cloneNode(true);
    var name = field(row, "name");
    name.textContent = r.name;
    name.href = config.stationUrl + r.id;
    field(row, "code").textContent = r.code;
    field(row, "unit").textContent = r.unit;
    var state = field(row, "state");
    state.className = "badge live-badge is-" + r.state;
    state.textContent = r.state_label;
    field(row, "hours").textContent = r.hours;
    field(row, "on_duty").textContent = r.on_duty.length ? r.on_duty.join("、") : "—";
    field(row, "visitors").textContent = numberFormat.format(r.visitors);
    field(row, "last_scan").textContent = r.last_scan || "—";
    field(row, "silent").hidden = !r.silent;
    return row;
  }

  function showRows(data) {
    if (!rowsBody || !rowTemplate) return;
    rowsBody.replaceChildren.apply(rowsBody, data.rows.map(makeRow));
    if (empty) empty.hidden = data.rows.length > 0;
  }

  // ---- The map -----------------------------------------------------------------------

  var map = null;
  var layers = {};

  function style(state, silent) {
    return {
      radius: silent ? 7 : 6,
      color: silent ? "#111" : "#fff",
      weight: silent ? 3 : 1.5,
      fillColor: (states[state] || {}).colour || "#888",
      fillOpacity: 0.9,
    };
  }

  function popup(marker) {
    var box = document.createElement("div");
    var link = document.createElement("a");
    link.className = "live-popup-name";
    link.href = config.stationUrl + marker[0];
    link.textContent = marker[5];
    box.appendChild(link);
    var line = document.createElement("div");
    line.textContent = (states[marker[3]] || {}).label || "";
    box.appendChild(line);
    return box;
  }

  function setupMap() {
    var element = document.getElementById("live-map");
    if (!element || !window.L) return null; // Leaflet did not load: the table is there.
    element.hidden = false;
    var made = L.map(element, { preferCanvas: true, scrollWheelZoom: false });
    var options = { attribution: config.tiles.attribution, maxZoom: 18 };
    if (config.tiles.subdomains) options.subdomains = config.tiles.subdomains;
    L.tileLayer(config.tiles.url, options).addTo(made);
    made.setView([35, 105], 4);
    return made;
  }

  function showMarkers(data) {
    if (!map) return;
    var first = Object.keys(layers).length === 0;
    var seen = {};
    var bounds = [];
    var scale = data.coord_scale || 1;
    data.markers.forEach(function (m) {
      var id = m[0];
      var at = [m[1] / scale, m[2] / scale];
      seen[id] = true;
      var layer = layers[id];
      if (layer) {
        layer.setLatLng(at);
        layer.setStyle(style(m[3], m[4]));
        layer.setPopupContent(popup(m));
      } else {
        layer = L.circleMarker(at, style(m[3], m[4])).bindPopup(popup(m));
        layer.addTo(map);
        layers[id] = layer;
      }
      bounds.push(at);
    });
    Object.keys(layers).forEach(function (id) {
      if (!seen[id]) {
        map.removeLayer(layers[id]);
        delete layers[id];
      }
    });
    if (first && bounds.length) map.fitBounds(bounds, { padding: [20, 20], maxZoom: 15 });
  }

  // ---- Polling -----------------------------------------------------------------------

  var timer = null;

  function show(data) {
    showCounts(data);
    showRows(data);
    showMarkers(data);
  }

  function poll() {
    timer = null;
    if (document.visibilityState === "hidden") return; // resumed on visibilitychange
    fetch(config.url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401 || response.status === 404) throw new Error("stop");
        return response.ok ? response.json().then(show) : null;
      })
      .then(
        function () { timer = setTimeout(poll, config.every); },
        function (error) {
          if (error && error.message === "stop") return; // signed out or no longer allowed
          timer = setTimeout(poll, config.every); // offline for a moment: try again
        }
      );
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && timer === null) poll();
  });
  map = setupMap();
  poll(); // at once: the markers come with the first answer
})();
