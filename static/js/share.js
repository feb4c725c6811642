// « Copier le lien » on a cooperation page. Without JavaScript the button stays hidden and the
// permanent link remains readable and selectable in its field.
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("copier-lien");
  if (!button) return;
  var field = document.getElementById(button.getAttribute("data-copy-target"));
  var status = document.getElementById("copier-lien-etat");
  if (!field) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var done = function () { status.textContent = "Lien copié dans le presse-papiers."; };
    var fallback = function () {
      field.focus();
      field.select();
      status.textContent = document.execCommand && document.execCommand("copy")
        ? "Lien copié dans le presse-papiers."
        : "Le lien est sélectionné : copiez-le avec Ctrl+C (ou Cmd+C).";
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, fallback);
    } else {
      fallback();
    }
  });
});
