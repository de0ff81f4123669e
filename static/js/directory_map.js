/* Public station directory: the "near me" button and the Leaflet map.
 *
 * Everything else on the directory pages works without JavaScript. The map reads its data
 * from <script type="application/json" id="directory-map-data"> (no inline code, so a strict
 * Content-Security-Policy can forbid inline scripts). Marker coordinates arrive already in
 * the tile server's coordinate system (WGS-84, or GCJ-02 for Gaode/AMap tiles).
 */
(function () {
  "use strict";

  function setupNearMe(button) {
    if (!("geolocation" in navigator)) {
      return;
    }
    var form = button.form;
    var status = form.querySelector(".dir-near-status");
    button.hidden = false;
    button.addEventListener("click", function () {
      button.disabled = true;
      status.textContent = button.dataset.locating;
      navigator.geolocation.getCurrentPosition(
        function (position) {
          form.elements.lat.value = position.coords.latitude.toFixed(6);
          form.elements.lon.value = position.coords.longitude.toFixed(6);
          form.submit();
        },
        function (error) {
          status.textContent = error.code === 1 ? button.dataset.denied : button.dataset.failed;
          button.disabled = false;
        },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
      );
    });
  }

  function popupFor(marker, labels) {
    var box = document.createElement("div");
    box.className = "dir-popup";
    var title = document.createElement("a");
    title.className = "dir-popup-name";
    title.href = marker.url;
    title.textContent = marker.name;
    box.appendChild(title);
    if (marker.distance || marker.address) {
      var line = document.createElement("div");
      line.className = "dir-popup-line";
      line.textContent = [marker.distance, marker.address].filter(Boolean).join(" · ");
      box.appendChild(line);
    }
    var open = document.createElement("a");
    open.className = "btn btn-primary btn-sm dir-popup-open";
    open.href = marker.url;
    open.textContent = labels.open;
    box.appendChild(open);
    return box;
  }

  function iconFor(marker, single) {
    var html = single ? "" : String(marker.n);
    return L.divIcon({
      className: "dir-pin" + (marker.suspended ? " is-suspended" : "") + (single ? " is-single" : ""),
      html: "<span><b>" + html + "</b></span>",
      iconSize: [34, 34],
      iconAnchor: [17, 34],
      popupAnchor: [0, -30],
    });
  }

  function watchTiles(layer, notice, delay) {
    var loaded = false;
    function show() {
      if (!loaded && notice) {
        notice.hidden = false;
      }
    }
    layer.on("tileload", function () {
      loaded = true;
      if (notice) {
        notice.hidden = true;
      }
    });
    layer.on("tileerror", show);
    window.setTimeout(show, delay);
  }

  function setupMap(element, data) {
    if (!window.L) {
      element.hidden = true; // Leaflet did not load: the list and the address are on the page.
      return;
    }
    var wrap = element.parentNode;
    var notice = wrap.querySelector("[data-map-notice]");
    var map = L.map(element, { scrollWheelZoom: false });
    var options = { attribution: data.tiles.attribution, maxZoom: 18 };
    if (data.tiles.subdomains) {
      options.subdomains = data.tiles.subdomains;
    }
    var layer = L.tileLayer(data.tiles.url, options);
    watchTiles(layer, notice, data.noticeDelayMs || 4000);
    layer.addTo(map);

    var single = data.markers.length === 1 && data.zoom;
    var bounds = [];
    data.markers.forEach(function (marker) {
      L.marker(marker.at, { icon: iconFor(marker, single), title: marker.name, keyboard: true })
        .bindPopup(function () { return popupFor(marker, data.labels); }) // built when opened
        .addTo(map);
      bounds.push(marker.at);
    });
    if (data.you) {
      L.circleMarker(data.you, { radius: 8, color: "#fff", weight: 3, fillColor: "#1a73e8", fillOpacity: 1 })
        .bindTooltip(data.labels.you)
        .addTo(map);
      bounds.push(data.you);
    }
    if (single) {
      map.setView(data.markers[0].at, data.zoom);
    } else if (bounds.length) {
      map.fitBounds(bounds, { padding: [30, 30], maxZoom: 16 });
    } else {
      map.setView([35, 105], 4);
    }
  }

  document.querySelectorAll("[data-near-me]").forEach(setupNearMe);

  var element = document.getElementById("directory-map");
  var source = document.getElementById("directory-map-data");
  if (element && source) {
    setupMap(element, JSON.parse(source.textContent));
  }
})();
