// Times in the viewer's own time zone: the server writes
// <time datetime="…Z" title="… UTC">… UTC</time>; this shows the local time with a hint
// such as "3 days ago" or "in 2 hours", and leaves the UTC time in the title.

(() => {
  const UNITS = [
    ["year", 365 * 24 * 3600],
    ["month", 30 * 24 * 3600],
    ["week", 7 * 24 * 3600],
    ["day", 24 * 3600],
    ["hour", 3600],
    ["minute", 60],
  ];
  const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  const local = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

  function hint(seconds) {
    for (const [unit, size] of UNITS) {
      if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
    }
    return seconds <= 0 ? "just now" : "in a moment";
  }

  function localise(element) {
    const moment = new Date(element.getAttribute("datetime"));
    if (Number.isNaN(moment.getTime())) return;
    const seconds = (moment.getTime() - Date.now()) / 1000;
    element.textContent = `${local.format(moment)} (${hint(seconds)})`;
    element.dataset.localised = "true";
  }

  function localiseAll() {
    document.querySelectorAll("time[datetime]:not([data-localised])").forEach(localise);
  }

  localiseAll();
  // Scripts that replace part of a page (upload.js) announce it.
  document.addEventListener("webui:updated", localiseAll);
})();
