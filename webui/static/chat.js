// The Chat page: sends the conversation to /api/chat/completions with the browser
// session (and its CSRF token) and shows the answer as it streams in.
(() => {
  const form = document.getElementById("chat-form");
  if (!form) return;
  const log = document.getElementById("chat-log");
  const input = document.getElementById("chat-message");
  const modelSelect = document.getElementById("chat-model");
  const sendButton = document.getElementById("chat-send");
  const stopButton = document.getElementById("chat-stop");
  const errorBox = document.getElementById("chat-error");
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  let messages = [];
  let controller = null;

  function bubble(role, text) {
    const item = document.createElement("div");
    item.className = `message message-${role}`;
    const who = document.createElement("strong");
    who.textContent = role === "user" ? "You" : modelSelect.value;
    const body = document.createElement("div");
    body.className = "message-text";
    body.textContent = text;
    item.append(who, body);
    log.append(item);
    return body;
  }

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }

  async function errorDetail(response) {
    try {
      const body = await response.json();
      return body.detail || JSON.stringify(body);
    } catch (_) {
      return `The server answered ${response.status}.`;
    }
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

  async function send(text) {
    showError("");
    messages.push({ role: "user", content: text });
    bubble("user", text);
    const answer = bubble("assistant", "");
    answer.classList.add("streaming");
    controller = new AbortController();
    sendButton.disabled = true;
    stopButton.hidden = false;
    try {
      const response = await fetch(form.dataset.endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
        body: JSON.stringify({ model: modelSelect.value, messages, stream: true }),
        signal: controller.signal,
      });
      if (!response.ok) throw new Error(await errorDetail(response));
      await readEvents(response, (data) => {
        if (data === "[DONE]") return;
        const event = JSON.parse(data);
        if (event.error) throw new Error(event.error.message || "The answer broke off.");
        const delta = event.choices && event.choices[0] && event.choices[0].delta;
        if (delta && delta.content) answer.textContent += delta.content;
      });
    } catch (error) {
      if (error.name !== "AbortError") showError(error.message);
    } finally {
      answer.classList.remove("streaming");
      if (answer.textContent) messages.push({ role: "assistant", content: answer.textContent });
      controller = null;
      sendButton.disabled = false;
      stopButton.hidden = true;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || controller) return;
    input.value = "";
    send(text);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  stopButton.addEventListener("click", () => controller && controller.abort());
  document.getElementById("chat-clear").addEventListener("click", () => {
    if (controller) controller.abort();
    messages = [];
    log.replaceChildren();
    showError("");
  });
})();
