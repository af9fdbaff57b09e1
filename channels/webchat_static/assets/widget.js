/* Amtsbote widget: the one <script> an office pastes into its website.
 *
 *   <script src="https://termine.example.de/webchat/widget.js" defer
 *           data-title="Termin-Chat" data-lang="de" data-color="#00508c"
 *           data-position="bottom-right"></script>
 *
 * All data- attributes are optional (defaults come from config.yml). The widget lives in a
 * shadow root, so the host page's styles do not leak in and ours do not leak out. It loads
 * its configuration and the chat client from the Amtsbote server; the host's origin must be
 * listed in channels.webchat.allowed_origins. Nothing connects until the citizen opens it.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__amtsboteWidget) return;
  window.__amtsboteWidget = true;
  var base = script.src.replace(/\/webchat\/widget\.js(\?.*)?$/, "");
  var data = script.dataset;
  var OPEN_KEY = "amtsbote.widget.open";

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = src;
      s.async = true;
      s.onload = resolve;
      s.onerror = function () { reject(new Error("could not load " + src)); };
      document.head.appendChild(s);
    });
  }

  function pageLanguage() {
    var l = (data.lang || document.documentElement.lang || "").slice(0, 2).toLowerCase();
    return l === "en" || l === "de" ? l : null;
  }

  fetch(base + "/webchat/config.json", { credentials: "omit" })
    .then(function (r) {
      if (r.status === 403) {
        throw new Error("this website (" + window.location.origin + ") is not in " +
          "channels.webchat.allowed_origins of the Amtsbote server");
      }
      if (!r.ok) throw new Error("configuration not available (HTTP " + r.status + ")");
      return r.json();
    })
    .then(function (cfg) {
      var chatJs = window.AmtsboteChat ? Promise.resolve()
        : loadScript(base + "/webchat/static/chat.js?v=" + cfg.version);
      return chatJs.then(function () { mount(cfg); });
    })
    .catch(function (err) {
      if (window.console) console.error("Amtsbote widget: " + err.message);
    });

  function mount(cfg) {
    var A = window.AmtsboteChat;
    var h = A.h;
    if (data.title) cfg.title = { de: data.title, en: data.title };
    if (data.color) {
      if (A.usableColor(data.color)) cfg.primaryColor = data.color;
      else if (window.console) console.warn("Amtsbote widget: data-color " + data.color +
        " ignored, white text on it would not be readable (WCAG AA needs 4.5:1)");
    }
    var position = data.position === "bottom-left" || data.position === "bottom-right"
      ? data.position : cfg.position;
    var session = A.storage("sessionStorage");

    var host = document.createElement("div");
    host.id = "amtsbote-widget";
    host.hidden = true;  /* until our stylesheet is there */
    host.style.setProperty("--ab-primary", cfg.primaryColor);
    var shadow = host.attachShadow({ mode: "open" });
    var css = h("link", { rel: "stylesheet", href: base + "/webchat/static/chat.css?v=" + cfg.version });
    css.addEventListener("load", function () { host.hidden = false; });
    shadow.appendChild(css);

    var panelId = "amtsbote-panel";
    var label = h("span", { className: "ab-launcher-text" });
    var launcher = h("button", {
      type: "button", className: "ab-launcher ab-" + position,
      "aria-expanded": "false", "aria-controls": panelId,
      onclick: function () { if (panel.hidden) open(true); else close(); }
    }, [A.icon("chat"), label]);
    var panel = h("div", {
      id: panelId, className: "ab-panel ab-" + position, role: "dialog", "aria-modal": "false",
      hidden: true,
      onkeydown: function (ev) { if (ev.key === "Escape") { ev.stopPropagation(); close(); } }
    });
    var wrap = h("div", { className: "ab-widget" }, [panel, launcher]);
    shadow.appendChild(wrap);
    document.body.appendChild(host);

    var chat = A.create(panel, {
      config: cfg,
      mode: "widget",
      base: base,
      persist: true,
      defaultLanguage: pageLanguage(),
      headingLevel: 2,
      tools: ["lang", "restart", "close"],
      onClose: close,
      onLanguage: setLabels
    });
    panel.setAttribute("aria-labelledby", chat.root.getAttribute("aria-labelledby"));

    function setLabels() {
      label.textContent = chat.t("ui.open");
    }

    function open(focus) {
      panel.hidden = false;
      wrap.classList.add("ab-open");
      launcher.setAttribute("aria-expanded", "true");
      chat.start();
      if (focus) chat.input.focus({ preventScroll: true });
      chat.scroll(true);
      if (session) session.setItem(OPEN_KEY, "1");
    }

    function close() {
      panel.hidden = true;
      wrap.classList.remove("ab-open");
      launcher.setAttribute("aria-expanded", "false");
      launcher.focus();
      if (session) session.removeItem(OPEN_KEY);
    }

    setLabels();
    if ((session && session.getItem(OPEN_KEY)) || data.open === "true") open(false);
    window.amtsboteWidget = { chat: chat, open: open, close: close };
  }
})();
