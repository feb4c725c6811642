// Keep shared URLs short: leave unused filters out of the query string. Without JavaScript the
// form still works; empty parameters are simply ignored by the server.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("filtres");
  if (!form) return;
  form.addEventListener("submit", function () {
    Array.prototype.forEach.call(form.elements, function (field) {
      if (field.name && !field.value) field.disabled = true;
    });
  });
});
