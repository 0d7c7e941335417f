// Loaded synchronously in <head>, before the body is painted: marks the page as scripted
// (style.css folds the menu only then) and applies the theme a person chose earlier, so a
// dark page never flashes light. Without a choice, prefers-color-scheme decides in CSS.
(function () {
  var root = document.documentElement;
  var KEY = "webui-theme";
  root.classList.add("js");
  try {
    var saved = localStorage.getItem(KEY);
    if (saved === "light" || saved === "dark") root.dataset.theme = saved;
  } catch (_) {
    // Storage refused (private mode, policy): the system preference applies.
  }

  function shown() {
    if (root.dataset.theme) return root.dataset.theme;
    return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  function describe() {
    var next = shown() === "dark" ? "light" : "dark";
    document.querySelectorAll("[data-theme-toggle]").forEach(function (button) {
      button.setAttribute("aria-label", "Switch to the " + next + " theme");
      button.title = "Switch to the " + next + " theme";
      button.textContent = next === "dark" ? "\u263E" : "\u2600";
    });
  }

  document.addEventListener("click", function (event) {
    if (!event.target.closest("[data-theme-toggle]")) return;
    root.dataset.theme = shown() === "dark" ? "light" : "dark";
    try {
      localStorage.setItem(KEY, root.dataset.theme);
    } catch (_) {
      // Not remembered, still applied to this page.
    }
    describe();
  });
  document.addEventListener("DOMContentLoaded", describe);
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", describe);
})();
