// Settings › Account: the shown-once key and the key form.

// The shown-once key takes the focus when the page has opened (after the browser scrolled to
// the #new-key-box anchor, which would otherwise reset the focus), so a keyboard or screen
// reader user lands on it. app.js's Copy selects the input, which moves the focus there; once
// it has marked the box as copied, the focus goes back to Copy, where the person pressed.
const newKeyBox = document.getElementById("new-key-box");
if (newKeyBox) {
  window.addEventListener("load", () => document.getElementById("new-key").focus());
  const copyButton = newKeyBox.querySelector("[data-copy]");
  new MutationObserver(() => copyButton.focus()).observe(newKeyBox, {
    attributeFilter: ["data-unsaved-secret"],
  });
}

// The expiry date matters only when "On a date…" is chosen: without that choice its field is
// hidden. (Without scripts it always shows, with its help saying when it is used.)
for (const choice of document.querySelectorAll("[data-expiry-choice]")) {
  const dateField = choice.form.querySelector("[data-expiry-date]").closest(".field");
  const showDate = () => {
    dateField.hidden = choice.value !== "date";
  };
  choice.addEventListener("change", showDate);
  showDate();
}
