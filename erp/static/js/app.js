// Small behaviours on top of htmx. Loaded as a file: CSP allows no inline script.
(function () {
  "use strict";

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
                           : "The request failed (" + event.detail.xhr.status + ").";
    box.classList.remove("d-none");
    var flash = document.getElementById("flash");
    if (flash) { flash.replaceChildren(); }
  });

  // A network failure (server down): say so instead of doing nothing.
  document.addEventListener("htmx:sendError", function () {
    var box = document.getElementById("htmx-error");
    if (!box) { return; }
    box.textContent = "The server could not be reached. Check the connection and try again.";
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
    if (event.defaultPrevented || (form.method || "").toLowerCase() !== "post") { return; }
    var buttons = submitButtons(form);
    window.setTimeout(function () { busy(buttons, true); }, 0);
  });

  // ... and enabled again when the browser shows the page from its cache (Back).
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { busy(Array.prototype.slice.call(document.querySelectorAll(".is-busy")), false); }
  });
})();
