// The series form: show only the fields the chosen options use, and add festival dates.
(function () {
  "use strict";
  var form = document.getElementById("series-form");
  if (!form) { return; }

  function current(name) {
    var field = form.elements[name];
    if (!field) { return ""; }
    if (field.length !== undefined && field.tagName !== "SELECT") {
      for (var i = 0; i < field.length; i++) { if (field[i].checked) { return field[i].value; } }
      return "";
    }
    return field.value;
  }

  function refresh() {
    form.querySelectorAll("[data-show]").forEach(function (el) {
      var shown = el.dataset.values.split(" ").indexOf(current(el.dataset.show)) !== -1;
      el.hidden = !shown;
    });
  }
  form.addEventListener("change", refresh);
  refresh();

  var add = document.getElementById("festival-add");
  var result = document.getElementById("festival-result");
  if (!add) { return; }
  add.addEventListener("click", function () {
    var code = document.getElementById("festival").value;
    var year = document.getElementById("festival-year").value;
    var url = add.dataset.url.replace("CODE", encodeURIComponent(code)).replace(/\/0\.json$/, "/" + encodeURIComponent(year) + ".json");
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json().then(function (body) { return [response.ok, body]; }); })
      .then(function (answer) {
        var body = answer[1];
        if (!answer[0]) { result.textContent = body.error; return; }
        var dates = form.elements.dates;
        var listed = dates.value.split(/[\s,，、;；]+/).filter(Boolean);
        if (listed.indexOf(body.date) === -1) { listed.push(body.date); }
        dates.value = listed.join(", ");
        result.textContent = body.name + " " + body.date + (body.lunar ? " (" + body.lunar + ")" : "");
      })
      .catch(function () { result.textContent = add.dataset.offline || ""; });
  });
})();
