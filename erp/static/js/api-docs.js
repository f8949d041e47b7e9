// The interactive API documentation (admin page): Swagger UI, vendored, on the document
// named by #swagger-ui's data-spec-url. No inline script (CSP).
document.addEventListener("DOMContentLoaded", function () {
  var element = document.getElementById("swagger-ui");
  if (!element || typeof SwaggerUIBundle === "undefined") { return; }
  SwaggerUIBundle({ url: element.dataset.specUrl, domNode: element, deepLinking: false,
                    persistAuthorization: false });
});
