// The chat page. Everything shown comes from textContent: names and
// messages are never parsed as HTML.
(() => {
  "use strict";

  // A user who types nothing for this long stops "typing".
  const TYPING_IDLE_MS = 1000;

  // ?transports=polling (or websocket, or polling,websocket) picks the
  // client's transports; without it, the client's default (polling, then
  // the upgrade to WebSocket).
  const opts = {};
  const transports = new URLSearchParams(location.search).get("transports");
  if (transports) {
    opts.transports = transports.split(",").map((t) => t.trim()).filter(Boolean);
  }
  const socket = io(opts);

  const $ = (id) => document.getElementById(id);
  const log = $("log");
  let username = "";
  let typing = false;
  let typingTimer = 0;
  const typers = new Set();

  function add(li) {
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.append(li);
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  function notice(text) {
    const li = document.createElement("li");
    li.className = "notice";
    li.textContent = text;
    add(li);
  }

  function colorOf(name) {
    let h = 0;
    for (const ch of name) h = (h * 31 + ch.codePointAt(0)) % 360;
    return `hsl(${h} 60% 40%)`;
  }

  function message(name, text, own) {
    const li = document.createElement("li");
    li.className = own ? "message own" : "message";
    const who = document.createElement("span");
    who.className = "user";
    who.textContent = name;
    who.style.color = colorOf(name);
    const body = document.createElement("span");
    body.className = "body";
    body.textContent = text;
    li.append(who, body);
    add(li);
  }

  function setCount(n) {
    $("count").textContent = n === 1 ? "1 user online" : `${n} users online`;
  }

  function showTyping() {
    const names = [...typers];
    $("typing").textContent =
      names.length === 0 ? "" : names.length === 1 ? `${names[0]} is typing…` : `${names.join(", ")} are typing…`;
  }

  function showTransport() {
    const name = socket.io.engine ? socket.io.engine.transport.name : "";
    $("transport").textContent = name;
    $("status").textContent = socket.connected ? `connected (${name})` : "disconnected";
  }

  function show(screen) {
    $("login").hidden = screen !== "login";
    $("chat").hidden = screen !== "chat";
  }

  function stopTyping() {
    clearTimeout(typingTimer);
    if (typing) {
      typing = false;
      socket.emit("stop typing");
    }
  }

  // ---- connection ----

  socket.on("connect", () => {
    showTransport();
    socket.io.engine.once("upgrade", showTransport);
  });
  socket.on("connect_error", (err) => {
    $("status").textContent = `cannot connect: ${err.message}`;
  });
  socket.on("disconnect", (reason) => {
    showTransport();
    typing = false;
    typers.clear();
    showTyping();
    if (username && reason !== "io client disconnect") notice("you have been disconnected");
  });
  socket.io.on("reconnect", () => {
    if (username) {
      notice("you have been reconnected");
      socket.emit("add user", username);
    }
  });

  // ---- what the server says ----

  socket.on("login", ({ numUsers }) => {
    notice(`Welcome to fanio chat, ${username}`);
    setCount(numUsers);
  });
  socket.on("login error", (why) => {
    username = "";
    show("login");
    $("status").textContent = why;
  });
  socket.on("user joined", ({ username: who, numUsers }) => {
    notice(`${who} joined`);
    setCount(numUsers);
  });
  socket.on("user left", ({ username: who, numUsers }) => {
    notice(`${who} left`);
    setCount(numUsers);
    typers.delete(who);
    showTyping();
  });
  socket.on("new message", ({ username: who, message: text }) => {
    typers.delete(who);
    showTyping();
    message(who, text, false);
  });
  socket.on("typing", ({ username: who }) => {
    typers.add(who);
    showTyping();
  });
  socket.on("stop typing", ({ username: who }) => {
    typers.delete(who);
    showTyping();
  });

  // ---- what the user does ----

  $("login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const name = $("name").value.trim();
    if (!name) return;
    username = name;
    show("chat");
    $("message").focus();
    if (!socket.connected) socket.connect(); // after Leave; emits wait for the connection
    socket.emit("add user", name);
  });

  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("message").value.trim();
    if (!text || !username) return;
    $("message").value = "";
    stopTyping();
    message(username, text, true);
    socket.emit("new message", text);
  });

  $("message").addEventListener("input", () => {
    if (!username || !socket.connected) return;
    if (!typing) {
      typing = true;
      socket.emit("typing");
    }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
  });

  $("leave").addEventListener("click", () => {
    stopTyping();
    notice("you left the chat");
    username = "";
    socket.disconnect();
    show("login");
  });
})();
