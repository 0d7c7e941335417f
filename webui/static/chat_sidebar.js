// The chat page's sidebar: the history the server drew (60 newest chats, grouped by UTC day)
// regrouped by the viewer's own day, older pages fetched from /api/v1/chats/?page=N as the
// list scrolls, search, rename and delete. chat.js announces saves with a "chat:saved" event
// ({id, title}); the entry moves to the top. Renames are announced as "chat:renamed".

// Titles may hold Markdown; the list and the tab show them as text. The server's rule is
// plain_title in webui/services/chats.py.
window.plainTitle = (title) => {
  const text = title
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replaceAll("`", "")
    .replace(/(\*\*|~~)(.+?)\1/g, "$2")
    .replace(/(?<![\w*])(__|[*_])(\S(?:.*?\S)?)\1(?![\w*])/g, "$2")
    .replace(/^(?:#{1,6}|>|[-+*]|\d+\.)\s+/, "")
    .split(/\s+/)
    .filter(Boolean)
    .join(" ");
  return text || title;
};

(() => {
  const app = document.getElementById("chat-app");
  const sidebar = document.getElementById("chat-sidebar");
  if (!app || !sidebar) return;
  const urls = app.dataset;
  const list = document.getElementById("chat-list");
  const more = document.getElementById("chat-more");
  const empty = document.getElementById("chat-list-empty");
  const status = document.getElementById("chat-list-status");
  const searchBox = document.getElementById("chat-search");
  const PAGE_SIZE = 60; // the API's page
  const DAY_MS = 24 * 3600 * 1000;
  const monthName = new Intl.DateTimeFormat("en", { month: "long", year: "numeric" });
  const paging = { next: null, loading: false };
  let currentId = urls.chatId || null;

  // chat.js (loaded first) talks to the API; the list uses the same call.
  const call = window.chatApiCall;

  // --- groups: Today, Yesterday, Previous 7 days, Previous 30 days, then by month ----------

  const startOfDay = (moment) => new Date(moment.getFullYear(), moment.getMonth(), moment.getDate());

  function groupLabel(updatedAt) {
    const day = startOfDay(new Date(updatedAt * 1000));
    // Rounded: a day with a daylight-saving change is 23 or 25 hours long.
    const daysAgo = Math.round((startOfDay(new Date()) - day) / DAY_MS);
    if (daysAgo <= 0) return "Today";
    if (daysAgo === 1) return "Yesterday";
    if (daysAgo <= 7) return "Previous 7 days";
    if (daysAgo <= 30) return "Previous 30 days";
    return monthName.format(day);
  }

  function newGroup(label) {
    const group = document.createElement("section");
    group.className = "chat-group";
    const heading = document.createElement("h2");
    heading.className = "chat-group-heading";
    heading.textContent = label;
    group.append(heading, document.createElement("ul"));
    return group;
  }

  const groups = () => [...list.querySelectorAll(".chat-group")];
  const rows = () => [...list.querySelectorAll("li[data-chat-id]")];

  // Rows arrive newest first: each joins the last group, or starts the next one.
  function appendRows(newRows) {
    for (const row of newRows) {
      const label = groupLabel(Number(row.dataset.updatedAt));
      let group = groups().at(-1);
      if (!group || group.firstElementChild.textContent !== label) {
        group = newGroup(label);
        list.insertBefore(group, empty);
      }
      group.querySelector("ul").append(row);
    }
    empty.hidden = rows().length > 0;
  }

  function dropEmptyGroups() {
    for (const group of groups()) if (!group.querySelector("li")) group.remove();
    empty.hidden = rows().length > 0;
  }

  // --- rows -------------------------------------------------------------------------------

  function button(className, text, label, onClick) {
    const control = document.createElement("button");
    control.type = "button";
    control.className = className;
    control.textContent = text;
    control.setAttribute("aria-label", label);
    control.addEventListener("click", onClick);
    return control;
  }

  // Rename and Delete need the script, so the script adds them (to server rows as well).
  function addRowButtons(row) {
    const title = () => row.querySelector(".chat-link").textContent;
    row.querySelectorAll("button").forEach((control) => control.remove());
    row.append(
      button("secondary", "Rename", `Rename ${title()}`, () => renameChat(row)),
      button("danger", "Delete", `Delete ${title()}`, () => deleteChat(row)),
    );
  }

  function newRow(item) {
    const row = document.createElement("li");
    row.dataset.chatId = item.id;
    row.dataset.updatedAt = item.updated_at;
    const link = document.createElement("a");
    link.className = "chat-link";
    link.href = `${urls.page}/${item.id}`;
    link.textContent = window.plainTitle(item.title);
    if (item.id === currentId) link.setAttribute("aria-current", "page");
    row.append(link);
    addRowButtons(row);
    return row;
  }

  const rowOf = (id) => list.querySelector(`li[data-chat-id="${CSS.escape(id)}"]`);

  function showTabTitle(title) {
    const suffix = document.title.lastIndexOf(" · ");
    document.title = `${title}${suffix >= 0 ? document.title.slice(suffix) : ""}`;
  }

  // A saved chat is the newest: its entry goes to the top, under Today.
  function moveToTop(item) {
    rowOf(item.id)?.remove();
    for (const link of list.querySelectorAll("[aria-current]")) link.removeAttribute("aria-current");
    currentId = item.id;
    const row = newRow({ ...item, updated_at: Math.floor(Date.now() / 1000) });
    let group = groups()[0];
    if (!group || group.firstElementChild.textContent !== "Today") {
      group = newGroup("Today");
      list.prepend(group);
    }
    group.querySelector("ul").prepend(row);
    dropEmptyGroups();
    showTabTitle(window.plainTitle(item.title));
  }

  async function renameChat(row) {
    const link = row.querySelector(".chat-link");
    const title = window.prompt("New name for this chat:", link.textContent);
    if (title === null || !title.trim()) return;
    try {
      const saved = await call("POST", `${urls.chats}${row.dataset.chatId}`, { chat: { title } });
      link.textContent = window.plainTitle(saved.title);
      addRowButtons(row);
      if (saved.id === currentId) showTabTitle(link.textContent);
      document.dispatchEvent(new CustomEvent("chat:renamed", { detail: { id: saved.id, title: saved.title } }));
    } catch (error) {
      status.textContent = error.message;
    }
  }

  async function deleteChat(row) {
    const title = row.querySelector(".chat-link").textContent;
    if (!window.confirm(`Delete the chat "${title}"? This cannot be undone.`)) return;
    try {
      await call("DELETE", `${urls.chats}${row.dataset.chatId}`);
      if (row.dataset.chatId === currentId) window.location.assign(urls.page);
      row.remove();
      dropEmptyGroups();
    } catch (error) {
      status.textContent = error.message;
    }
  }

  // --- pages and search -------------------------------------------------------------------

  function clearList() {
    groups().forEach((group) => group.remove());
  }

  function setNextPage(number) {
    paging.next = number;
    more.hidden = number === null;
    if (number !== null) more.href = `${urls.page}?page=${number}`;
  }

  // Near the end of the list (or when it is too short to scroll): the next page.
  function loadIfNearEnd() {
    const shown = sidebar.open && list.clientHeight > 0;
    if (shown && list.scrollHeight - list.scrollTop - list.clientHeight < 200) loadNextPage();
  }

  async function loadNextPage() {
    if (paging.loading || paging.next === null) return;
    paging.loading = true;
    status.textContent = "Loading older chats…";
    try {
      const items = await call("GET", `${urls.chats}?page=${paging.next}`);
      const known = new Set(rows().map((row) => row.dataset.chatId));
      appendRows(items.filter((item) => !known.has(item.id)).map(newRow));
      setNextPage(items.length < PAGE_SIZE ? null : paging.next + 1);
      status.textContent = "";
    } catch (error) {
      status.textContent = `Older chats could not be loaded: ${error.message}`;
      return;
    } finally {
      paging.loading = false;
    }
    loadIfNearEnd();
  }

  async function showSearch() {
    const text = searchBox.value.trim();
    const url = text ? `${urls.chats}search?text=${encodeURIComponent(text)}` : `${urls.chats}?page=1`;
    try {
      const items = await call("GET", url);
      if (searchBox.value.trim() !== text) return; // a later search has taken over
      clearList();
      appendRows(items.map(newRow));
      empty.textContent = text ? "No chat matches." : "No chats yet.";
      // Search answers one page; the plain history pages on.
      setNextPage(!text && items.length === PAGE_SIZE ? 2 : null);
    } catch (error) {
      status.textContent = error.message;
    }
  }

  // --- wiring -----------------------------------------------------------------------------

  // The sidebar folds away on narrow screens and stays open on wide ones.
  const narrow = window.matchMedia("(max-width: 47.99rem)");
  const fitSidebar = () => (sidebar.open = !narrow.matches);
  narrow.addEventListener("change", fitSidebar);
  fitSidebar();

  const drawn = rows();
  clearList();
  appendRows(drawn);
  drawn.forEach(addRowButtons);
  setNextPage(more.hidden ? null : Number(more.dataset.page));
  if (sidebar.dataset.currentTitle) showTabTitle(sidebar.dataset.currentTitle);

  // "More chats" opens the next page without the script; with it, the page is appended here.
  more.addEventListener("click", (event) => {
    event.preventDefault();
    loadNextPage();
  });
  list.addEventListener("scroll", loadIfNearEnd, { passive: true });
  sidebar.addEventListener("toggle", loadIfNearEnd);
  loadIfNearEnd();

  let searchTimer = null;
  searchBox.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(showSearch, 250);
  });

  document.addEventListener("chat:saved", (event) => moveToTop(event.detail));
})();
