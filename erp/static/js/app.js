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

  document.addEventListener("htmx:beforeRequest", function () {
    var box = document.getElementById("htmx-error");
    if (box) { box.classList.add("d-none"); }
  });
})();
