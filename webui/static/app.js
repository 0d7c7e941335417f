// Behaviour every page shares, wired by data-* attributes (the CSP allows no inline script).

// Copy buttons: <button data-copy="#selector"> copies that input's value, says "Copied" for
// two seconds, and marks a surrounding [data-unsaved-secret] box as copied.
const COPIED_FOR_MS = 2000;

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const input = document.querySelector(button.dataset.copy);
  if (!input) return;
  input.select();
  try {
    await navigator.clipboard.writeText(input.value);
  } catch (_) {
    document.execCommand("copy");
  }
  button.dataset.label = button.dataset.label || button.textContent;
  button.textContent = "Copied";
  clearTimeout(button.copiedTimer);
  button.copiedTimer = setTimeout(() => {
    button.textContent = button.dataset.label;
  }, COPIED_FOR_MS);
  const secret = button.closest("[data-unsaved-secret]");
  if (secret) secret.dataset.unsavedSecret = "copied";
});

// A new key shown once: leaving the page before copying it asks first.
window.addEventListener("beforeunload", (event) => {
  if (document.querySelector('[data-unsaved-secret=""]')) {
    event.preventDefault();
    event.returnValue = "";
  }
});

// Confirmed forms: <form data-confirm="Delete …?"> is sent only if the person agrees.
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// The menu button of narrow screens: <button data-menu-button aria-controls="…"> opens and
// closes the header's menu (style.css shows it only when scripts run, below 760 px).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-menu-button]");
  if (!button) return;
  const open = button.closest("header").classList.toggle("open");
  button.setAttribute("aria-expanded", String(open));
});

// Tables marked .stack become cards on narrow screens; each cell shows its column's name,
// taken here from the header so templates need not repeat it (cells spanning columns get none).
for (const table of document.querySelectorAll("table.stack")) {
  const names = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  for (const row of table.querySelectorAll("tbody tr")) {
    [...row.cells].forEach((cell, index) => {
      if (cell.colSpan === 1 && names[index] && !cell.dataset.label) cell.dataset.label = names[index];
    });
  }
}
