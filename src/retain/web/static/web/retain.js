/* retain's own page behaviour, in a file rather than inline handlers, so the
   Content-Security-Policy can refuse every script that is not retain's (no inline code).
   Delegated from the document, so it also works in rows htmx swaps in. */
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("select[data-submit-on-change]") && el.form) {
      el.form.submit();
    }
    if (el.matches && el.matches("select.cond-field")) {
      var value = el.parentNode.querySelector(".cond-value");
      if (value) value.setAttribute("list", "values-" + el.value);
    }
  });
  document.addEventListener("click", function (event) {
    var box = event.target;
    if (box.matches && box.matches("input[type=checkbox][data-check-all]")) {
      document.querySelectorAll(box.dataset.checkAll).forEach(function (c) {
        c.checked = box.checked;
      });
    }
  });
})();
