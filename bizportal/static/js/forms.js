// Progressive enhancement of the filing steps; every step works without this script.
// 1. Fields inside a repeating group that depend on another field of the same entry (e.g. the
//    residence title, only for nationals of states outside the EU/EEA) are hidden while their
//    condition does not hold. The server validates and keeps them only when it holds.
// 2. The WZ 2008 picker filters its list while one types (without script: the "Suchen" button);
//    Enter in its search field presses "Suchen" (in any other field, the step's hidden default
//    button "Weiter", first in the form, is pressed without script too).
(function () {
  "use strict";

  function conditionHolds(box) {
    var source = document.getElementById(box.getAttribute("data-show-if-field"));
    if (!source) { return true; }
    if (source.closest("[hidden]")) { return false; }  // depends on a field that is hidden itself
    var value = source.value;
    if (source.tagName === "FIELDSET") {  // yes/no radios
      var checked = source.querySelector("input:checked");
      value = checked ? (checked.value === "yes") : null;
    }
    var values = JSON.parse(box.getAttribute("data-show-if-values"));
    var inList = values.indexOf(value) !== -1;
    return box.hasAttribute("data-show-if-negate") ? !inList : inList;
  }

  function updateConditions() {
    var boxes = document.querySelectorAll("[data-show-if-field]");
    for (var i = 0; i < boxes.length; i++) {
      boxes[i].hidden = !conditionHolds(boxes[i]);
    }
  }

  function fold(text) {
    return text.toLowerCase().replace(/ä/g, "ae").replace(/ö/g, "oe").replace(/ü/g, "ue")
      .replace(/ß/g, "ss").normalize("NFKD").replace(/[\u0300-\u036f]/g, "");
  }

  function setUpPicker(picker) {
    var select = document.getElementById(picker.getAttribute("data-wz-picker"));
    var search = picker.querySelector("[data-wz-search]");
    var count = picker.querySelector("[data-wz-count]");
    if (!select || !search) { return; }
    var all = Array.prototype.slice.call(select.options).map(function (o) {
      return { value: o.value, text: o.text, key: fold(o.text + " " + o.value.replace(/\./g, "")) };
    });
    // the page gives the count's wording for one match and for any other number (ngettext)
    var template = count.getAttribute("data-template") || "";
    var templateOne = count.getAttribute("data-template-one") || template;
    var timer = null;
    function filter() {
      var words = fold(search.value).split(/\s+/).filter(Boolean);
      var chosen = select.value;
      select.options.length = 0;
      var shown = 0;
      all.forEach(function (o) {
        var keep = o.value === "" || o.value === chosen || words.every(function (w) { return o.key.indexOf(w) !== -1; });
        if (keep) {
          select.add(new Option(o.text, o.value, false, o.value === chosen));
          if (o.value !== "") { shown += 1; }
        }
      });
      count.textContent = words.length ? (shown === 1 ? templateOne : template).replace("%(num)s", String(shown)) : "";
    }
    search.addEventListener("input", function () {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(filter, 250);
    });
    var button = picker.querySelector("button[name=action][value^='search:']");
    search.addEventListener("keydown", function (event) {
      if (event.key !== "Enter" || event.isComposing || !button) { return; }
      event.preventDefault();  // not the form's default button ("Weiter"): the search
      button.click();
    });
  }

  document.addEventListener("change", updateConditions);
  updateConditions();
  var pickers = document.querySelectorAll("[data-wz-picker]");
  for (var i = 0; i < pickers.length; i++) { setUpPicker(pickers[i]); }
})();
