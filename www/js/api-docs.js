// @ts-check
// The API reference at /api/docs (a page core serves): Swagger UI, vendored into
// /vendor/swagger-ui/ by `cargo xtask build-web`, over this server's OpenAPI description.
// Nothing leaves this origin: no validator badge, no remote spec, authorizations kept in memory
// only (never in localStorage).

const SPEC = "/api/docs/spec.json";

/** @type {any} */
const SwaggerUIBundle = /** @type {any} */ (window).SwaggerUIBundle;
const root = document.getElementById("swagger-ui");

if (root && typeof SwaggerUIBundle === "function") {
  /** @type {any} */ (window).ui = SwaggerUIBundle({
    url: SPEC,
    domNode: root,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    validatorUrl: null,
    persistAuthorization: false,
    displayRequestDuration: true,
    tryItOutEnabled: false,
  });
} else if (root) {
  // The vendored files are missing (the web app was not built with `cargo xtask build-web`).
  const note = document.createElement("p");
  note.className = "api-docs-note";
  note.textContent = "Swagger UI's files are not installed on this server (run `cargo xtask build-web`). ";
  const link = document.createElement("a");
  link.href = SPEC;
  link.textContent = "The OpenAPI description";
  note.append(link, " is served all the same.");
  root.replaceChildren(note);
}
