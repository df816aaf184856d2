// Customer portal: the pay page's running total of the invoices ticked. The form works without it.
(function () {
  "use strict";

  function update(form) {
    var output = form.querySelector("[data-pay-total]");
    if (!output) { return; }
    var total = 0;
    var count = 0;
    form.querySelectorAll("input[name=invoice]:checked").forEach(function (box) {
      total += Math.round(parseFloat(box.getAttribute("data-amount")) * 100);
      count += 1;
    });
    output.textContent = (total / 100).toFixed(2) + " " + output.getAttribute("data-currency") +
      " (" + count + (count === 1 ? " invoice)" : " invoices)");
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form[data-pay-form]");
    if (form) { update(form); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-pay-form]").forEach(update);
  });
})();
