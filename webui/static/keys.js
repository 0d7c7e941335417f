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
