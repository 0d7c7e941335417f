// The API reference (/docs): starts Swagger UI on the document named by #swagger-ui, and
// makes "Try it out" work with this browser's sign-in. Here rather than inline: the CSP
// allows scripts from our own files only.
(function () {
  var root = document.documentElement;
  var mount = document.getElementById("swagger-ui");
  if (!mount || typeof SwaggerUIBundle !== "function") return;
  var csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  var READS = ["GET", "HEAD", "OPTIONS"];

  // The session cookie goes along by itself (same origin); a write also needs the page's
  // CSRF token, as the app's own pages send it. Other hosts never get the token.
  function withSession(request) {
    var target = new URL(request.url, window.location.href);
    var method = (request.method || "GET").toUpperCase();
    if (target.origin === window.location.origin && READS.indexOf(method) === -1) {
      request.headers = request.headers || {};
      request.headers["X-CSRFToken"] = csrfToken;
    }
    request.credentials = "same-origin";
    return request;
  }

  // Swagger UI has a dark look of its own under html.dark-mode: follow the app's theme
  // (the switch's choice, else the system's), and change with either.
  var darkQuery = window.matchMedia("(prefers-color-scheme: dark)");
  function followTheme() {
    var dark = root.dataset.theme ? root.dataset.theme === "dark" : darkQuery.matches;
    root.classList.toggle("dark-mode", dark);
  }
  followTheme();
  darkQuery.addEventListener("change", followTheme);
  new MutationObserver(followTheme).observe(root, { attributes: true, attributeFilter: ["data-theme"] });

  // Swagger UI puts its operations in a <main> of its own, inside the page's <main>: two main
  // landmarks for a screen reader. Its one becomes a named region (React made it once the
  // document loaded, and leaves attributes it does not manage alone).
  function oneMainLandmark() {
    mount.querySelectorAll("main:not([role])").forEach(function (inner) {
      inner.setAttribute("role", "region");
      inner.setAttribute("aria-label", "Operations");
    });
  }
  new MutationObserver(oneMainLandmark).observe(mount, { childList: true, subtree: true });

  SwaggerUIBundle({
    url: mount.dataset.openapiUrl,
    domNode: mount,
    deepLinking: true,
    // No badge from Swagger's online validator: the page talks to this server only.
    validatorUrl: null,
    displayRequestDuration: true,
    requestInterceptor: withSession,
  });
})();
