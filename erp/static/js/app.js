// Small behaviours on top of htmx. Loaded as a file: CSP allows no inline script.
(function () {
  "use strict";

  // The texts in the reader's language (base.html's #js-texts), English when missing.
  function text(key, fallback) {
    var node = document.getElementById("js-texts");
    try { return (node && JSON.parse(node.dataset.texts)[key]) || fallback; } catch (e) { return fallback; }
  }
  window.erpText = text;

  // An htmx request that failed (403, 404, 409, 429, 500 ...): show the server's message
  // (its error page, or the message it sent for #flash) in place of the page's old ones,
  // so an earlier success never stays beside the new error.
  document.addEventListener("htmx:responseError", function (event) {
    var box = document.getElementById("htmx-error");
    if (!box) { return; }
    var doc = new DOMParser().parseFromString(event.detail.xhr.responseText || "", "text/html");
    var page = doc.getElementById("error-page");
    var sent = doc.querySelector("#flash .alert");
    var text = page || sent;
    box.textContent = text ? text.textContent.replace(/\s+/g, " ").trim()
                           : text("request_failed", "The request failed ({status}).")
                               .replace("{status}", event.detail.xhr.status);
    box.classList.remove("d-none");
    var flash = document.getElementById("flash");
    if (flash) { flash.replaceChildren(); }
  });

  // A network failure (server down): say so instead of doing nothing.
  document.addEventListener("htmx:sendError", function () {
    var box = document.getElementById("htmx-error");
    if (!box) { return; }
    box.textContent = text("unreachable", "The server could not be reached. Check the connection and try again.");
    box.classList.remove("d-none");
  });

  // The <details> menus (base.html) open without JavaScript; with it, a click elsewhere or
  // Escape closes them as a menu would.
  function closeMenus(except) {
    document.querySelectorAll("details.dropdown[open]").forEach(function (menu) {
      if (menu !== except) { menu.removeAttribute("open"); }
    });
  }
  document.addEventListener("click", function (event) {
    closeMenus(event.target.closest ? event.target.closest("details.dropdown") : null);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { closeMenus(null); }
  });

  document.addEventListener("htmx:beforeRequest", function () {
    var box = document.getElementById("htmx-error");
    if (box) { box.classList.add("d-none"); }
  });

  // Feedback while a change is on its way: the buttons that sent it are disabled (no double
  // submit) and show a spinner (.is-busy, app.css); the bar at the top (#busy) is htmx's
  // indicator for every request (hx-indicator on <body>).
  function submitButtons(elt) {
    if (elt.tagName !== "FORM") {
      return elt.tagName === "BUTTON" ? [elt] : [];
    }
    var buttons = Array.prototype.slice.call(elt.querySelectorAll(
      "button:not([type]), button[type=submit], input[type=submit]"));
    if (elt.id) {  // buttons outside the form that belong to it (form="...")
      buttons = buttons.concat(Array.prototype.slice.call(document.querySelectorAll(
        "button[form='" + elt.id + "'], input[type=submit][form='" + elt.id + "']")));
    }
    return buttons;
  }

  function busy(buttons, on) {
    buttons.forEach(function (button) {
      button.disabled = on;
      button.classList.toggle("is-busy", on);
      if (on) { button.setAttribute("aria-busy", "true"); } else { button.removeAttribute("aria-busy"); }
    });
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.requestConfig && event.detail.requestConfig.verb === "get") { return; }
    var buttons = submitButtons(event.detail.elt);
    event.detail.elt.busyButtons = buttons;
    busy(buttons, true);
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var buttons = event.detail.elt.busyButtons;
    if (buttons) { busy(buttons, false); event.detail.elt.busyButtons = null; }
  });

  // A plain form post (the login, a record's form): its buttons are disabled once the
  // browser has read the form (a disabled button's name would not be sent) ...
  document.addEventListener("submit", function (event) {
    var form = event.target;
    // the attribute, not form.method: a field named "method" (a payment's) shadows it
    if (event.defaultPrevented || (form.getAttribute("method") || "").toLowerCase() !== "post") { return; }
    var buttons = submitButtons(form);
    window.setTimeout(function () { busy(buttons, true); }, 0);
  });

  // A product picker (data-scan-url, the picker macro): Enter does not submit the form with
  // a half-typed product. A keyboard-wedge scanner types the barcode and presses Enter: the
  // code is resolved exactly (barcode or SKU) and put in the box, and the cursor moves to
  // the next field (the quantity); an unknown code is said next to the box. A value that
  // is already a product's SKU is resolved again, cheaply, so Enter never submits from here.
  function scanned(input, message) {
    var box = document.getElementById(input.id + "-scan-error");
    input.classList.toggle("is-invalid", !!message);
    if (box) { box.textContent = message || ""; box.classList.toggle("d-none", !message); }
  }

  function nextField(input) {
    var fields = Array.prototype.slice.call(input.form ? input.form.elements : []).filter(
      function (el) { return !el.disabled && el.type !== "hidden" && el.tagName !== "FIELDSET"; });
    var at = fields.indexOf(input);
    return at >= 0 ? fields[at + 1] : null;
  }

  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (event.key !== "Enter" || !input.matches || !input.matches("input[data-scan-url]")) { return; }
    event.preventDefault();
    var code = input.value.trim();
    if (!code) { scanned(input, text("scan_empty", "Scan or type a barcode or SKU.")); return; }
    input.setAttribute("aria-busy", "true");
    fetch(input.dataset.scanUrl + "?code=" + encodeURIComponent(code),
          {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (response) {
        return response.json().then(function (body) { return {ok: response.ok, body: body}; });
      })
      .then(function (answer) {
        if (!answer.ok || !answer.body.label) {
          scanned(input, answer.body.error || text("no_product", "No such product."));
          input.select();
          return;
        }
        input.value = answer.body.label;
        scanned(input, "");
        input.dispatchEvent(new Event("input", {bubbles: true}));
        var next = nextField(input);
        if (next) { next.focus(); if (next.select) { next.select(); } }
      })
      .catch(function () { scanned(input, text("lookup_failed", "The product could not be looked up. Try again.")); })
      .finally(function () { input.removeAttribute("aria-busy"); });
  });

  // ... and enabled again when the browser shows the page from its cache (Back).
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { busy(Array.prototype.slice.call(document.querySelectorAll(".is-busy")), false); }
  });
})();
