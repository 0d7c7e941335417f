// Workspace > Files and a collection's page: several files at once, dropped or chosen, each
// sent on its own to the form's data-upload URL (POST /api/v1/files/, or the collection's
// upload) with its progress and its own result shown. Without JavaScript the plain form
// posts them all to the page instead.

(() => {
  const form = document.querySelector("form[data-upload]");
  if (!form) return;
  const input = form.querySelector('input[type="file"]');
  const button = form.querySelector('[type="submit"]');
  const zone = form.querySelector("[data-drop-zone]");
  const chosen = form.querySelector("[data-chosen]");
  const progressList = form.querySelector("[data-progress]");
  const results = document.querySelector("[data-upload-results]");
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const maxBytes = Number(form.dataset.maxBytes);
  let dropped = null; // files dropped on the zone, when the input cannot hold them

  function megabytes(bytes) {
    return bytes < 1024 * 1024 ? `${Math.ceil(bytes / 1024)} KB` : `${(bytes / 1048576).toFixed(1)} MB`;
  }

  function selectedFiles() {
    return Array.from(dropped || input.files);
  }

  function showChosen() {
    const files = selectedFiles();
    chosen.textContent = files.length
      ? `${files.length} file${files.length === 1 ? "" : "s"} chosen: ${files.map((f) => f.name).join(", ")}`
      : "";
  }

  input.addEventListener("change", () => {
    dropped = null;
    showChosen();
  });

  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    if (!event.dataTransfer || !event.dataTransfer.files.length) return;
    try {
      input.files = event.dataTransfer.files;
      dropped = null;
    } catch (_) {
      dropped = event.dataTransfer.files;
    }
    showChosen();
  });

  function progressRow(file) {
    const item = document.createElement("li");
    const name = document.createElement("span");
    const bar = document.createElement("progress");
    const status = document.createElement("span");
    name.textContent = file.name;
    bar.max = file.size || 1;
    bar.value = 0;
    bar.setAttribute("aria-label", `Upload of ${file.name}`);
    status.className = "upload-status";
    status.textContent = "waiting";
    item.dataset.fileName = file.name;
    item.append(name, " ", bar, " ", status);
    progressList.append(item);
    return { item, bar, status };
  }

  function reason(request) {
    let detail = "";
    try {
      detail = JSON.parse(request.responseText).detail || "";
    } catch (_) {
      detail = "";
    }
    if (request.status === 413 && !detail) detail = form.dataset.tooLarge;
    return `${detail || request.statusText || "the server refused it"} (HTTP ${request.status})`;
  }

  // What became of a file the server accepted: stored and indexed (and added, on a
  // collection's page), stored only when indexing was not asked for, or stored but not
  // indexed, which counts as a failure.
  function acceptedResult(stored) {
    const data = stored.data || {};
    if (data.status === "failed") return [false, `stored, but not indexed: ${data.error || "its text could not be read"}`];
    if (data.status === "pending") return [true, "stored (not indexed)"];
    return [true, form.dataset.done || "stored and indexed"];
  }

  // Resolves to [ok, result]; never rejects.
  function send(file, row) {
    if (file.size > maxBytes) {
      return Promise.resolve([false, `failed: ${megabytes(file.size)}; ${form.dataset.tooLarge}`]);
    }
    return new Promise((resolve) => {
      const request = new XMLHttpRequest();
      const extract = form.querySelector('input[name="extract"]');
      const process = extract && !extract.checked ? "false" : "true";
      request.open("POST", `${form.dataset.upload}?process=${process}`);
      request.setRequestHeader("X-CSRFToken", csrfToken);
      request.setRequestHeader("Accept", "application/json");
      request.upload.onprogress = (event) => {
        row.bar.max = event.total || file.size || 1;
        row.bar.value = event.loaded;
        row.status.textContent = `${megabytes(event.loaded)} of ${megabytes(event.total || file.size)} sent`;
      };
      request.onload = () => {
        if (request.status !== 200) {
          resolve([false, `failed: ${reason(request)}`]);
          return;
        }
        row.bar.value = row.bar.max;
        try {
          resolve(acceptedResult(JSON.parse(request.responseText)));
        } catch (_) {
          resolve([false, "failed: the server's answer could not be read; reload the page to see whether it arrived"]);
        }
      };
      request.onerror = () =>
        resolve([false, "failed: the connection closed before the server answered " +
          "(the file may be over the upload limit, or the server is unreachable)"]);
      const body = new FormData();
      body.append("file", file, file.name);
      request.send(body);
    });
  }

  function flash(category, message) {
    const box = document.createElement("div");
    box.className = `flash flash-${category}`;
    box.setAttribute("role", category === "error" ? "alert" : "status");
    box.textContent = message;
    results.append(box);
  }

  // One line over the per-file list: red whenever any file failed, green only when none did.
  function summarise(total, failed) {
    const files = `${total} file${total === 1 ? "" : "s"}`;
    if (!failed) {
      flash("success", total === 1 ? "The file was uploaded." : `All ${files} were uploaded.`);
    } else if (failed === total) {
      flash("error", `${total === 1 ? "The file" : `All ${files}`} failed; the list below says why.`);
    } else {
      flash("error", `${failed} of ${files} failed; the list below says why. The others were uploaded.`);
    }
  }

  // The file list as the server now renders it, in place of the old one.
  async function refreshList() {
    const response = await fetch(window.location.pathname, { headers: { Accept: "text/html" } });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    const list = fresh.querySelector("#file-list");
    const current = document.querySelector("#file-list");
    if (list && current) {
      current.replaceWith(document.importNode(list, true));
      document.dispatchEvent(new CustomEvent("webui:updated"));
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const files = selectedFiles();
    results.replaceChildren();
    if (!files.length) {
      flash("error", "Choose a file to upload, or drop files on the box.");
      return;
    }
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    progressList.replaceChildren();
    let failed = 0;
    for (const file of files) {
      const row = progressRow(file);
      row.status.textContent = "sending";
      const [ok, result] = await send(file, row);
      row.item.classList.add(ok ? "done" : "failed");
      row.status.textContent = result;
      if (!ok) failed += 1;
    }
    summarise(files.length, failed);
    await refreshList(); // a file stored but not indexed is listed too
    input.value = "";
    dropped = null;
    showChosen();
    button.disabled = false;
    button.removeAttribute("aria-busy");
  });
})();
