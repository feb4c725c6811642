// Suggestions for « Ma commune, mon territoire » (ARIA 1.2 combobox with a listbox). Without
// JavaScript the form still works: it lists the territories of the typed name.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-territory-search]").forEach(function (form) {
    var input = form.querySelector("[role=combobox]");
    var listbox = document.getElementById(input.getAttribute("aria-controls"));
    var status = document.getElementById(input.getAttribute("aria-describedby"));
    var options = [];
    var active = -1;
    var request = 0;
    var timer = null;

    function close() {
      listbox.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      options.forEach(function (option, i) {
        option.element.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      active = index;
      if (index < 0) {
        input.removeAttribute("aria-activedescendant");
      } else {
        input.setAttribute("aria-activedescendant", options[index].element.id);
        options[index].element.scrollIntoView({ block: "nearest" });
      }
    }

    function show(results) {
      listbox.textContent = "";
      options = results.map(function (result, i) {
        var element = document.createElement("li");
        element.id = listbox.id + "-" + i;
        element.setAttribute("role", "option");
        element.setAttribute("aria-selected", "false");
        var details = result.kind + (result.departement ? ", " + result.departement : "");
        element.textContent = result.name + " — " + details;
        element.addEventListener("mousedown", function (event) {
          event.preventDefault(); // keep the focus in the field
          window.location.assign(result.url);
        });
        listbox.appendChild(element);
        return { element: element, result: result };
      });
      active = -1;
      input.removeAttribute("aria-activedescendant");
      if (options.length) {
        listbox.hidden = false;
        input.setAttribute("aria-expanded", "true");
        status.textContent = options.length + (options.length > 1 ? " suggestions" : " suggestion") +
          " : flèches haut et bas pour choisir, Entrée pour valider.";
      } else {
        close();
        status.textContent = "Aucune suggestion.";
      }
    }

    function suggest() {
      var text = input.value.trim();
      if (text.length < 2) { close(); listbox.textContent = ""; options = []; return; }
      var mine = ++request;
      fetch(form.getAttribute("data-suggestions") + "?q=" + encodeURIComponent(text), {
        headers: { Accept: "application/json" },
      })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (data) { if (mine === request) show(data.results || []); })
        .catch(function () { if (mine === request) close(); });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(suggest, 150);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") {
        if (!options.length) return;
        event.preventDefault();
        if (listbox.hidden) { listbox.hidden = false; input.setAttribute("aria-expanded", "true"); }
        highlight((active + 1) % options.length);
      } else if (event.key === "ArrowUp") {
        if (!options.length) return;
        event.preventDefault();
        if (listbox.hidden) { listbox.hidden = false; input.setAttribute("aria-expanded", "true"); }
        highlight(active <= 0 ? options.length - 1 : active - 1);
      } else if (event.key === "Enter") {
        if (!listbox.hidden && active >= 0) {
          event.preventDefault();
          window.location.assign(options[active].result.url);
        }
      } else if (event.key === "Escape") {
        if (!listbox.hidden) { event.preventDefault(); close(); }
      }
    });
    input.addEventListener("blur", close);
  });
});
