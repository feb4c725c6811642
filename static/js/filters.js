// Keep shared URLs short: leave unused filters out of the query string. Without JavaScript the
// form still works; empty parameters are simply ignored by the server.
//
// The form reloads the whole page, so a screen reader would not hear the new result count: a
// live region is only announced when it changes after load. When the page loads right after a
// submission of this form (a flag kept for this tab only), the focus goes to the count heading,
// which every screen reader reads out; pages opened from a link or a bookmark keep the usual
// focus at the top.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("filtres");
  if (!form) return;
  var FLAG = "catalogue-filtres-soumis";
  form.addEventListener("submit", function () {
    Array.prototype.forEach.call(form.elements, function (field) {
      if (field.name && !field.value) field.disabled = true;
    });
    try {
      window.sessionStorage.setItem(FLAG, "1");
    } catch (e) {
      // Storage refused (private mode): the count is still the first heading after the h1.
    }
  });
  var submitted = false;
  try {
    submitted = window.sessionStorage.getItem(FLAG) === "1";
    window.sessionStorage.removeItem(FLAG);
  } catch (e) {
    submitted = false;
  }
  var count = document.getElementById("nombre-resultats");
  if (submitted && count) count.focus();
});
