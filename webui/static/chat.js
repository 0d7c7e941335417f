// The Chat page: a conversation (chat_sidebar.js draws the saved chats). Answers stream from
// /api/chat/completions with the browser session (and its CSRF token), are rendered as
// Markdown (marked, raw HTML escaped, then DOMPurify), and each exchange is saved through
// Open WebUI's chats API (/api/v1/chats/...), so a chat survives a reload.
(() => {
  const app = document.getElementById("chat-app");
  if (!app) return;
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const urls = app.dataset;
  const byId = (id) => document.getElementById(id);
  const titleHeading = byId("chat-title");
  // Titles show as plain text; the rule lives in chat_sidebar.js (window.plainTitle).
  const shownTitle = (title) => (window.plainTitle ? window.plainTitle(title) : title);

  // --- talking to the API ----------------------------------------------------------------

  async function errorDetail(response) {
    try {
      const body = await response.json();
      return body.detail || JSON.stringify(body);
    } catch (_) {
      return `The server answered ${response.status}.`;
    }
  }

  async function call(method, url, body) {
    const headers = { "X-CSRFToken": csrfToken };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(await errorDetail(response));
    return response.json();
  }
  window.chatApiCall = call; // the chat list (chat_sidebar.js) calls the API the same way

  // --- Markdown, rendered safely ---------------------------------------------------------

  const escapeHtml = (text) =>
    text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  // Raw HTML in an answer is shown as text, never parsed; DOMPurify then keeps only these.
  // Images are never loaded (a remote image tells its server who reads the chat): each
  // becomes a link named by its alt text, or by its address when it has none.
  const imageAsLink = ({ href, text }) => `<a href="${escapeHtml(href || "")}">${escapeHtml(text || href || "image")}</a>`;
  const markdown = new window.marked.Marked({
    gfm: true,
    renderer: { html: ({ text }) => escapeHtml(text), image: imageAsLink },
  });
  const PURIFY = {
    ALLOWED_TAGS: ["a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
      "hr", "li", "ol", "p", "pre", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul"],
    ALLOWED_ATTR: ["href", "title", "class", "align", "start"],
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|#|\/(?!\/))/i,
    RETURN_DOM_FRAGMENT: true,
  };

  function copyButton(pre) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary copy-code";
    button.textContent = "Copy";
    button.addEventListener("click", async () => {
      await navigator.clipboard.writeText(pre.querySelector("code")?.textContent ?? pre.textContent);
      button.textContent = "Copied";
      setTimeout(() => (button.textContent = "Copy"), 1500);
    });
    return button;
  }

  function scrollableByKeyboard(element, label) {
    element.tabIndex = 0;
    element.setAttribute("aria-label", label);
  }

  function renderMarkdown(target, text) {
    const fragment = window.DOMPurify.sanitize(markdown.parse(text, { async: false }), PURIFY);
    for (const link of fragment.querySelectorAll("a")) {
      link.rel = "noopener noreferrer";
      link.target = "_blank";
    }
    // Code and tables scroll sideways in their own box: keyboard users can reach it.
    for (const table of fragment.querySelectorAll("table")) scrollableByKeyboard(table, "Table");
    for (const pre of fragment.querySelectorAll("pre")) {
      scrollableByKeyboard(pre, "Code");
      const block = document.createElement("div");
      block.className = "code-block";
      pre.replaceWith(block);
      block.append(copyButton(pre), pre);
    }
    target.replaceChildren(fragment);
  }

  // --- the conversation --------------------------------------------------------------------

  const form = byId("chat-form");
  const log = byId("chat-log");
  const input = byId("chat-message");
  const modelSelect = byId("chat-model");
  const sendButton = byId("chat-send");
  const stopButton = byId("chat-stop");
  const errorBox = byId("chat-error");
  const state = { id: urls.chatId || null, title: "", messages: [], controller: null };

  // What a person is told when an answer fails: what happened and what they can do, never
  // the server's internals (connection names, exception classes).
  const SERVER_SILENT = "The model server did not answer. Try again, or tell an administrator if it keeps happening.";
  const NETWORK_LOST = "The connection to this site was lost before the answer came. Check your network and try again.";

  function showError(text) {
    if (!errorBox) return;
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }

  const newId = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`);

  function newMessage(role, content, extra) {
    const previous = state.messages[state.messages.length - 1];
    const message = {
      id: newId(),
      parentId: previous ? previous.id : null,
      childrenIds: [],
      role,
      content,
      timestamp: Math.floor(Date.now() / 1000),
      ...extra,
    };
    if (previous) previous.childrenIds = [...(previous.childrenIds || []), message.id];
    state.messages.push(message);
    return message;
  }

  // The log follows a growing answer while the reader is at its end; scrolled up, it stays
  // put and offers a way back down.
  const toBottom = byId("chat-to-bottom");
  let following = true;
  const atBottom = () => log.scrollHeight - log.scrollTop - log.clientHeight < 24;

  function scrollToBottom() {
    log.scrollTop = log.scrollHeight;
    following = true;
    toBottom.hidden = true;
  }

  function noteScroll() {
    following = atBottom();
    toBottom.hidden = following;
  }

  function sourcesView(sources) {
    const box = document.createElement("div");
    box.className = "message-sources";
    const heading = document.createElement("p");
    heading.textContent = "Sources";
    const list = document.createElement("ul");
    for (const source of sources) {
      (source.metadata || []).forEach((meta, index) => {
        const item = document.createElement("li");
        const details = document.createElement("details");
        const summary = document.createElement("summary");
        summary.textContent = `${meta.name || source.source?.name || "source"} (passage ${meta.chunk_index + 1})`;
        const passage = document.createElement("blockquote");
        passage.textContent = (source.document || [])[index] || "";
        details.append(summary, passage);
        item.append(details);
        list.append(item);
      });
    }
    box.append(heading, list);
    return box;
  }

  function sentAttachments(files) {
    const list = document.createElement("ul");
    list.className = "chat-chips";
    list.setAttribute("aria-label", "Attached");
    list.append(...chipList(files.map((f) => ({ ...f, name: f.name || f.id })), false));
    return list;
  }

  // Shown until the first words of an answer arrive.
  function typingIndicator() {
    const indicator = document.createElement("span");
    indicator.className = "typing";
    indicator.setAttribute("role", "status");
    const words = document.createElement("span");
    words.className = "visually-hidden";
    words.textContent = "The model is writing…";
    indicator.append(words);
    for (let dot = 0; dot < 3; dot += 1) {
      const shape = document.createElement("span");
      shape.className = "typing-dot";
      shape.setAttribute("aria-hidden", "true");
      indicator.append(shape);
    }
    return indicator;
  }

  function failureView(message) {
    const box = document.createElement("div");
    box.className = "message-failed";
    const text = document.createElement("p");
    text.className = "error";
    text.textContent = message.error.content || SERVER_SILENT;
    const again = document.createElement("button");
    again.type = "button";
    again.className = "secondary";
    again.textContent = "Retry";
    again.addEventListener("click", () => retry(message));
    box.append(text, again);
    return box;
  }

  const textOfParts = (parts) =>
    Array.isArray(parts) ? parts.map((part) => (part && typeof part.text === "string" ? part.text : "")).join("\n") : "";

  // Draws one message; returns a function that redraws it as it changes.
  function messageView(message) {
    following = following || message.role === "user";
    const item = document.createElement("div");
    item.className = `message message-${message.role}`;
    item.dataset.messageId = message.id;
    const who = document.createElement("strong");
    who.textContent = message.role === "user" ? "You" : message.model || "Assistant";
    const body = document.createElement("div");
    body.className = "message-text";
    item.append(who, body);
    log.append(item);
    return () => {
      // Imported chats may hold OpenAI content parts instead of a string: show their text.
      const text = typeof message.content === "string" ? message.content : textOfParts(message.content);
      // Only an answer still arriving is marked done: false; saved and imported ones may lack it.
      const streaming = message.role === "assistant" && message.done === false;
      const waiting = streaming && !text;
      if (message.role === "user") {
        body.textContent = text;
        if (message.files && message.files.length && !item.querySelector(".chat-chips")) {
          item.append(sentAttachments(message.files));
        }
      } else if (waiting) body.replaceChildren(typingIndicator());
      else renderMarkdown(body, text);
      body.classList.toggle("streaming", streaming);
      body.classList.toggle("waiting", waiting);
      item.querySelectorAll(".message-note, .message-sources, .message-failed").forEach((node) => node.remove());
      if (message.error) item.append(failureView(message));
      if (message.stopped) {
        const note = document.createElement("p");
        note.className = "message-note";
        note.textContent = "Stopped: the answer was cut short here.";
        item.append(note);
      }
      if (message.sources && message.sources.length) item.append(sourcesView(message.sources));
      if (following) scrollToBottom();
    };
  }

  function show(message) {
    const redraw = messageView(message);
    redraw();
    return redraw;
  }

  function chatObject() {
    const last = state.messages[state.messages.length - 1];
    return {
      title: state.title,
      models: [modelSelect.value],
      messages: state.messages,
      history: {
        messages: Object.fromEntries(state.messages.map((m) => [m.id, m])),
        currentId: last ? last.id : null,
      },
      timestamp: Date.now(),
    };
  }

  async function save() {
    if (!state.title) {
      const first = state.messages.find((m) => m.role === "user");
      state.title = first ? first.content.replace(/\s+/g, " ").trim().slice(0, 60) : "New Chat";
    }
    if (state.id) {
      await call("POST", `${urls.chats}${state.id}`, { chat: chatObject() });
    } else {
      const saved = await call("POST", `${urls.chats}new`, { chat: chatObject() });
      state.id = saved.id;
      history.replaceState(null, "", `${urls.page}/${saved.id}`);
    }
    titleHeading.textContent = shownTitle(state.title);
    document.dispatchEvent(new CustomEvent("chat:saved", { detail: { id: state.id, title: state.title } }));
  }

  // Reads server-sent events; calls onData with each event's data.
  async function readEvents(response, onData) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      const lines = buffer.split("\n");
      buffer = lines.pop();
      for (const line of lines) {
        if (line.startsWith("data:")) onData(line.slice(5).trim());
      }
    }
  }

  class AnswerFailed extends Error {}

  // Our own refusals (400 bad attachment, 403, 429 …) are written for people; 5xx come
  // from the model server and say too much about it.
  async function failureOf(response) {
    if (response.status >= 500) return new AnswerFailed(SERVER_SILENT);
    return new AnswerFailed(await errorDetail(response));
  }

  const failureText = (error) => (error instanceof AnswerFailed ? error.message : NETWORK_LOST);

  // Each model is asked through its own connection's route, as Open WebUI does.
  function completionsRoute() {
    const chosen = modelSelect.selectedOptions[0];
    return chosen && chosen.dataset.connection === "ollama" ? urls.ollamaCompletions : urls.completions;
  }

  function requestBody(files) {
    // A failed answer is shown and saved, but is no part of what the model is asked.
    const history = state.messages
      .filter((m) => m.done !== false && !m.error)
      .map(({ role, content }) => ({ role, content }));
    // include_usage: the upstream reports tokens, recorded like a key's usage.
    const body = { model: modelSelect.value, messages: history, stream: true, stream_options: { include_usage: true } };
    if (files.length) body.files = files.map(({ type, id }) => ({ type, id }));
    return body;
  }

  async function send(text) {
    showError("");
    const files = takeAttachments();
    show(newMessage("user", text, files.length ? { files } : {}));
    await answer(files);
  }

  // While an answer streams, Stop takes Send's place (the composer keeps its height).
  function showStop(streaming) {
    sendButton.disabled = streaming;
    sendButton.hidden = streaming;
    stopButton.hidden = !streaming;
  }

  // Streams an answer to the conversation so far; a failure stays in the chat, with Retry.
  async function answer(files) {
    const reply = newMessage("assistant", "", { model: modelSelect.value, done: false });
    const redraw = show(reply);
    state.controller = new AbortController();
    showStop(true);
    let pending = false;
    const redrawSoon = () => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        redraw();
      });
    };
    try {
      const response = await fetch(completionsRoute(), {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
        body: JSON.stringify(requestBody(files)),
        signal: state.controller.signal,
      });
      if (!response.ok) throw await failureOf(response);
      await readEvents(response, (data) => {
        if (data === "[DONE]") return;
        const event = JSON.parse(data);
        if (event.error) throw new AnswerFailed(SERVER_SILENT);
        if (event.sources) reply.sources = event.sources;
        const delta = event.choices && event.choices[0] && event.choices[0].delta;
        if (delta && delta.content) reply.content += delta.content;
        redrawSoon();
      });
    } catch (error) {
      if (error.name === "AbortError") reply.stopped = true;
      else reply.error = { content: failureText(error) };
    } finally {
      reply.done = true;
      state.controller = null;
      showStop(false);
      redraw();
    }
    try {
      await save();
    } catch (error) {
      showError(`The chat could not be saved: ${error.message}`);
    }
  }

  // Retry drops the failed answer and asks again with the same question and attachments.
  async function retry(failed) {
    const index = state.messages.indexOf(failed);
    if (state.controller || index !== state.messages.length - 1) return;
    state.messages.splice(index, 1);
    const question = state.messages[index - 1];
    if (question) question.childrenIds = (question.childrenIds || []).filter((id) => id !== failed.id);
    log.querySelector(`[data-message-id="${CSS.escape(failed.id)}"]`)?.remove();
    await answer((question && question.files) || []);
  }

  // The server drew the saved chat's messages as plain text; this redraws them from the
  // same chat (in the log's data-saved) with Markdown, and keeps it to save later exchanges.
  function openSavedChat() {
    if (!log || !log.dataset.saved) return;
    const saved = JSON.parse(log.dataset.saved);
    state.title = saved.title;
    const chat = saved.chat || {};
    state.messages = Array.isArray(chat.messages) ? chat.messages : [];
    const model = (chat.models || [])[0];
    if (modelSelect && [...modelSelect.options].some((option) => option.value === model)) {
      modelSelect.value = model;
    }
    log.replaceChildren();
    state.messages.forEach(show);
  }

  // --- attachments -------------------------------------------------------------------------

  // What goes with the next message only: chips by the composer, chosen in the picker or
  // uploaded there. Only files whose text was read are offered; a failed upload is never one.
  const attach = byId("chat-attach");
  const chips = byId("chat-chips");
  const uploadInput = byId("chat-upload");
  const uploadStatus = byId("chat-upload-status");
  const attached = new Map(); // "file:<id>" → { type, id, name }

  const attachmentKey = (item) => `${item.type}:${item.id}`;

  function chipList(items, removable) {
    return items.map((item) => {
      const chip = document.createElement("li");
      chip.className = "chat-chip";
      const name = document.createElement("span");
      name.textContent = item.name;
      chip.append(name);
      if (removable) {
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "link";
        remove.textContent = "×";
        remove.setAttribute("aria-label", `Remove ${item.name}`);
        remove.addEventListener("click", () => setAttached(item, false));
        chip.append(remove);
      }
      return chip;
    });
  }

  function drawAttached() {
    chips.replaceChildren(...chipList([...attached.values()], true));
    chips.hidden = attached.size === 0;
    for (const box of attach.querySelectorAll("input[type=checkbox]")) {
      box.checked = attached.has(`${box.dataset.type}:${box.value}`);
    }
  }

  function setAttached(item, on) {
    if (on) attached.set(attachmentKey(item), item);
    else attached.delete(attachmentKey(item));
    drawAttached();
  }

  function choice(item) {
    const row = document.createElement("li");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.id = `attach-${item.type}-${item.id}`;
    box.dataset.type = item.type;
    box.value = item.id;
    box.checked = attached.has(attachmentKey(item));
    box.addEventListener("change", () => setAttached(item, box.checked));
    const label = document.createElement("label");
    label.htmlFor = box.id;
    label.textContent = item.name;
    row.append(box, label);
    return row;
  }

  // Takes the attachments for a message being sent: the composer starts empty again.
  function takeAttachments() {
    if (!attach) return [];
    const items = [...attached.values()];
    attached.clear();
    drawAttached();
    attach.open = false;
    return items;
  }

  async function loadAttachments() {
    try {
      const [files, collections] = await Promise.all([
        call("GET", `${urls.files}?limit=100`),
        call("GET", urls.knowledge),
      ]);
      const readable = files.items.filter((f) => f.data && f.data.status === "completed");
      byId("chat-files").replaceChildren(
        ...readable.map((f) => choice({ type: "file", id: f.id, name: f.filename })),
      );
      byId("chat-collections").replaceChildren(
        ...collections.items.map((k) => choice({ type: "collection", id: k.id, name: k.name })),
      );
    } catch (error) {
      uploadStatus.textContent = error.message;
    }
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function waitUntilProcessed(fileId) {
    for (let tries = 0; tries < 60; tries += 1) {
      const status = await call("GET", `${urls.files}${fileId}/process/status`);
      if (status.status !== "pending") return status;
      await sleep(500);
    }
    return { status: "pending" };
  }

  function uploadSaid(text, failed) {
    uploadStatus.textContent = text;
    uploadStatus.classList.toggle("error", failed);
  }

  async function upload(file) {
    uploadSaid(`Uploading ${file.name}…`, false);
    const body = new FormData();
    body.append("file", file);
    try {
      const response = await fetch(uploadInput.dataset.endpoint, {
        method: "POST",
        headers: { "X-CSRFToken": csrfToken },
        body,
      });
      if (!response.ok) throw new Error(await errorDetail(response));
      const stored = await response.json();
      const status = await waitUntilProcessed(stored.id);
      if (status.status === "completed") {
        setAttached({ type: "file", id: stored.id, name: stored.filename }, true);
        uploadSaid(`${file.name} is attached.`, false);
      } else if (status.status === "failed") {
        uploadSaid(`${file.name} was stored, but its text could not be read, so it is not attached: ${status.error || "unknown error"}`, true);
      } else {
        uploadSaid(`${file.name} is still being read; attach it from the list when it is ready.`, true);
      }
      await loadAttachments();
    } catch (error) {
      uploadSaid(`${file.name} was not uploaded: ${error.message}`, true);
    } finally {
      uploadInput.value = "";
    }
  }

  // The sidebar (chat_sidebar.js) renames chats: later saves keep the new name.
  document.addEventListener("chat:renamed", (event) => {
    if (event.detail.id !== state.id) return;
    state.title = event.detail.title;
    titleHeading.textContent = shownTitle(event.detail.title);
  });

  // --- wiring ------------------------------------------------------------------------------

  // The app fills the window below the site's header, however tall the header wraps.
  const fitHeight = () => app.style.setProperty("--chat-top", `${app.getBoundingClientRect().top + window.scrollY}px`);
  window.addEventListener("resize", fitHeight);
  fitHeight();

  if (form) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text || state.controller) return;
      input.value = "";
      send(text);
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    log.addEventListener("scroll", noteScroll);
    // The log shrinks when the composer grows (a longer message, the attachment picker).
    new ResizeObserver(() => following && scrollToBottom()).observe(log);
    toBottom.addEventListener("click", scrollToBottom);
    stopButton.addEventListener("click", () => state.controller && state.controller.abort());
    attach.addEventListener("toggle", () => attach.open && loadAttachments());
    if (uploadInput) {
      uploadInput.addEventListener("change", () => uploadInput.files[0] && upload(uploadInput.files[0]));
    }
  }
  if (state.id) openSavedChat();
})();
