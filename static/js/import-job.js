// A background import's page: asks etat.json every two seconds and moves the progress bar,
// the step and the rows done; reloads the page once the import has ended, which then shows
// its result. Without JavaScript the page reloads itself (meta refresh in <noscript>).
document.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("import-job");
  if (!box || box.dataset.state === "succeeded" || box.dataset.state === "failed") return;
  var bar = document.getElementById("import-job-progress");
  var text = document.getElementById("import-job-text");
  var step = document.getElementById("import-job-step");
  var stepNumber = document.getElementById("import-job-step-number");
  var steps = document.getElementById("import-job-steps");
  var warning = document.getElementById("import-job-warning");
  var number = function (n) { return n.toLocaleString("fr-FR"); };
  var show = function (state) {
    bar.value = state.pourcentage;
    bar.textContent = state.pourcentage + " %";
    var line = state.pourcentage + " % — ";
    line += state.lignes_etape
      ? number(state.lignes_faites) + (state.lignes_faites > 1 ? " lignes" : " ligne") +
        " sur " + number(state.lignes_etape)
      : state.libelle;
    if (state.secondes_restantes) line += ", environ " + state.secondes_restantes + " s restantes";
    text.textContent = line + ".";
    step.textContent = state.etape_libelle || state.libelle;
    stepNumber.textContent = "Étape " + state.etape_numero + " sur " + state.etapes;
    steps.dataset.frCurrentStep = state.etape_numero;
    warning.textContent = state.avertissement;
  };
  var poll = function () {
    fetch(box.dataset.stateUrl, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (state) {
        if (state.termine) {
          window.location.reload();
          return;
        }
        show(state);
        window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  };
  window.setTimeout(poll, 1000);
});
