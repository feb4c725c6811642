// Import preview, « Noms de territoires inconnus »: typing a code or choosing a kind ticks the
// option it belongs to, so that a choice made in the field is never lost for a forgotten click.
// Without JavaScript the radio buttons work as they are.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("import-learn");
  if (!form) return;
  var tick = function (event) {
    var field = event.target;
    if (!field.matches("input[type=text], select")) return;
    var radio = field.closest("p").querySelector("input[type=radio]");
    if (radio && (field.tagName === "SELECT" || field.value.trim() !== "")) radio.checked = true;
  };
  form.addEventListener("input", tick);
  form.addEventListener("change", tick);
});
