// O2C: the little JavaScript the shell needs. Everything works without it; this only makes a
// failed htmx request visible (htmx 2 does not swap 4xx/5xx responses, so otherwise nothing
// would happen on screen) by adding a message to the #messages region in base.html.
(function () {
  "use strict";

  function say(text) {
    var region = document.getElementById("messages");
    if (!region) { return; }
    var list = region.querySelector("ul.messages");
    if (!list) {
      list = document.createElement("ul");
      list.className = "messages";
      region.appendChild(list);
    }
    var item = document.createElement("li");
    item.className = "error";
    item.textContent = text; // never innerHTML: the text may come from the server response
    list.appendChild(item);
    region.scrollIntoView({ block: "nearest" });
  }

  function reasonFrom(xhr) {
    // 403.html puts the refusal reason in [data-error-reason]; show it rather than a code.
    try {
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var node = doc.querySelector("[data-error-reason]");
      return node ? node.textContent.trim() : "";
    } catch (e) {
      return "";
    }
  }

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var reason = reasonFrom(xhr);
    if (xhr.status === 403) {
      say(reason || "You do not have permission to do that.");
    } else if (xhr.status === 404) {
      say("That record could not be found. It may have been removed; reload the page.");
    } else if (xhr.status >= 500) {
      say("The server could not complete that request. Please try again; if it keeps happening, tell an administrator.");
    } else {
      say(reason || "That request was refused (" + xhr.status + "). Reload the page and try again.");
    }
  });

  document.addEventListener("htmx:sendError", function () {
    say("Could not reach the server. Check your connection and try again.");
  });

  // <select data-autosubmit>: choosing an option submits its form (no inline handlers: the
  // Content-Security-Policy forbids them). Without JavaScript a <noscript> button does it.
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.matches && field.matches("[data-autosubmit]") && field.form) {
      field.form.requestSubmit();
    }
  });

  // <input type="checkbox" data-check-all="SELECTOR">: ticks or clears every box it selects.
  document.addEventListener("change", function (event) {
    var box = event.target;
    var selector = box.getAttribute && box.getAttribute("data-check-all");
    if (!selector) { return; }
    document.querySelectorAll(selector).forEach(function (other) { other.checked = box.checked; });
  });
})();
