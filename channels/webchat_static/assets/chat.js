/* Amtsbote web chat client, shared by the full page (/), the kiosk (/kiosk) and the widget.
 *
 * Talks JSON frames over the WebSocket /webchat/ws and falls back to POST /webchat/message;
 * reconnects after a network drop and re-sends unanswered messages with the same id (the
 * server answers a repeated id from its stored reply). Everything from the bot or the citizen
 * is rendered with textContent, never as HTML. No build step: plain ES2017.
 */
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";
  var URL_RE = /\bhttps?:\/\/[^\s<>"'„“”]+/gi;
  var TRAILING = /[.,;:!?)\]]+$/;
  var STORE_VERSION = 1;
  var MAX_STORED = 80;
  var ICONS = {
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
    send: "M3 20.5 21 12 3 3.5 3 10l12 2-12 2z",
    close: "M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19 12 13.4 17.6 19 19 17.6 13.4 12 19 6.4 17.6 5 12 10.6z",
    restart: "M12 5V2L7 6l5 4V7a5 5 0 1 1-5 5H5a7 7 0 1 0 7-7z",
    globe: "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm6.9 6h-3a15.7 15.7 0 0 0-1.4-3.6A8 8 0 0 1 18.9 8zM12 4c.8 1.2 1.5 2.5 1.9 4h-3.8c.4-1.5 1.1-2.8 1.9-4zM4.3 14a8.2 8.2 0 0 1 0-4h3.4a16.5 16.5 0 0 0 0 4H4.3zm.8 2h3a15.7 15.7 0 0 0 1.4 3.6A8 8 0 0 1 5.1 16zm3-8h-3a8 8 0 0 1 4.4-3.6C8.9 5.5 8.4 6.7 8.1 8zM12 20c-.8-1.2-1.5-2.5-1.9-4h3.8c-.4 1.5-1.1 2.8-1.9 4zm2.3-6H9.7a14.7 14.7 0 0 1 0-4h4.6a14.7 14.7 0 0 1 0 4zm.3 5.6c.6-1.1 1.1-2.3 1.4-3.6h3a8 8 0 0 1-4.4 3.6zm1.7-5.6a16.5 16.5 0 0 0 0-4h3.4a8.2 8.2 0 0 1 0 4h-3.4z",
    check: "M9 16.2 4.8 12l-1.4 1.4L9 19 21 7l-1.4-1.4z"
  };

  /* A DOM element; `text` sets textContent, `on*` adds listeners, the rest are attributes. */
  function h(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      var value = props[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
      else node.setAttribute(key === "className" ? "class" : key, value === true ? "" : value);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function icon(name) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "ab-icon");
    var path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", ICONS[name]);
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  function randomId(bytes) {
    var a = new Uint8Array(bytes || 12);
    (window.crypto || window.msCrypto).getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); })
      .join("");
  }

  function format(text, params) {
    return text.replace(/\{(\w+)\}/g, function (all, key) {
      return Object.prototype.hasOwnProperty.call(params || {}, key) ? String(params[key]) : all;
    });
  }

  /* WCAG contrast ratio of two #rrggbb colours (for colours given in data- attributes). */
  function contrast(a, b) {
    function lum(c) {
      var v = [1, 3, 5].map(function (i) {
        var x = parseInt(c.slice(i, i + 2), 16) / 255;
        return x <= 0.04045 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
      });
      return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
    }
    var x = lum(a), y = lum(b);
    return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
  }

  function usableColor(color) {
    return /^#[0-9a-f]{6}$/i.test(color || "") && contrast(color, "#ffffff") >= 4.5;
  }

  function reducedMotion() {
    return window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  }

  function storage(kind) {
    try {
      var s = window[kind];
      var probe = "amtsbote.probe";
      s.setItem(probe, "1");
      s.removeItem(probe);
      return s;
    } catch (e) {
      return null;  /* private mode, blocked cookies: the chat still works, just forgets */
    }
  }

  /* Appends `text` to `parent`, turning http(s) URLs into safe links. */
  function appendText(parent, text, hint) {
    var last = 0;
    text.replace(URL_RE, function (match, offset) {
      var url = match.replace(TRAILING, "");
      var parsed = null;
      try { parsed = new URL(url); } catch (e) { parsed = null; }
      if (!parsed || (parsed.protocol !== "https:" && parsed.protocol !== "http:")) return match;
      parent.appendChild(document.createTextNode(text.slice(last, offset)));
      parent.appendChild(h("a", { href: parsed.href, target: "_blank", rel: "noopener noreferrer" }, [
        document.createTextNode(url), h("span", { className: "ab-sr", text: " " + hint })
      ]));
      last = offset + url.length;
      return match;
    });
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function Chat(root, options) {
    var cfg = options.config;
    this.cfg = cfg;
    this.opts = options;
    this.mode = options.mode || cfg.mode || "page";
    this.base = (options.base || "").replace(/\/$/, "");
    this.lang = options.language || options.defaultLanguage || cfg.language || "de";
    this.store = options.persist ? storage("localStorage") : null;
    this.storeKey = "amtsbote.webchat:" + (this.base || window.location.origin);
    this.sender = null;
    this.entries = [];      /* the transcript: {who: "bot"|"user"|"note", text, lang, qr} */
    this.choices = [];      /* buttons of the last bot message */
    this.pending = [];      /* messages not answered yet: {id, text, display, silent, via} */
    this.ws = null;
    this.ready = false;
    this.started = false;
    this.httpAllowed = !("WebSocket" in window);
    this.httpBusy = false;
    this.backoff = 1000;
    this.timers = {};
    this.bindings = [];
    this.restore();
    this.build();
    this.renderAll();  /* before the log is in the page: screen readers do not re-read it all */
    root.appendChild(this.root);
    this.scroll(true);
  }

  Chat.prototype.t = function (key, params) {
    var strings = this.cfg.strings || {};
    var text = (strings[this.lang] || {})[key] || (strings.de || {})[key] || key;
    return params ? format(text, params) : text;
  };

  /* -- building the DOM ------------------------------------------------------------------ */

  Chat.prototype.bind = function (node, key, attr) {
    this.bindings.push([node, key, attr]);
    return node;
  };

  Chat.prototype.applyStrings = function () {
    var self = this;
    this.bindings.forEach(function (b) {
      if (b[2]) b[0].setAttribute(b[2], self.t(b[1]));
      else b[0].textContent = self.t(b[1]);
    });
    this.titleNode.textContent = this.title();
    this.langButton.setAttribute("lang", this.otherLang());
    this.langLabel.textContent = this.t("ui.other_language");
    this.root.setAttribute("lang", this.lang);
  };

  Chat.prototype.title = function () {
    return (this.cfg.title || {})[this.lang] || (this.cfg.title || {}).de || "Amtsbote";
  };

  Chat.prototype.otherLang = function () { return this.lang === "de" ? "en" : "de"; };

  Chat.prototype.build = function () {
    var self = this;
    var uid = "ab-" + randomId(4);
    var tools = this.opts.tools || ["lang", "restart"];
    this.titleNode = h("h" + (this.opts.headingLevel || 1), { className: "ab-title", id: uid + "-title" });
    this.langLabel = h("span", {});
    this.langButton = h("button", {
      type: "button", className: "ab-tool ab-lang",
      onclick: function () { self.switchLanguage(); }
    }, [icon("globe"), this.langLabel]);
    var toolNodes = [];
    if (tools.indexOf("lang") >= 0) toolNodes.push(this.langButton);
    if (tools.indexOf("restart") >= 0) {
      toolNodes.push(this.bind(h("button", {
        type: "button", className: "ab-tool ab-restart", onclick: function () { self.restart(); }
      }, [icon("restart"), this.bind(h("span", { className: "ab-tool-text" }), "ui.restart")]),
      "ui.restart", "title"));
    }
    if (tools.indexOf("done") >= 0) {
      toolNodes.push(h("button", {
        type: "button", className: "ab-tool ab-done",
        onclick: function () { if (self.opts.onDone) self.opts.onDone(); }
      }, [icon("check"), this.bind(h("span", {}), "kiosk.done")]));
    }
    var closeButton = null;
    if (tools.indexOf("close") >= 0) {
      closeButton = this.bind(h("button", {
        type: "button", className: "ab-tool ab-close",
        onclick: function () { if (self.opts.onClose) self.opts.onClose(); }
      }, [icon("close")]), "ui.close", "aria-label");
    }
    var header = h("header", { className: "ab-header" }, [
      h("div", { className: "ab-brand" }, [
        h("span", { className: "ab-logo", "aria-hidden": "true" }, [icon("chat")]),
        h("div", {}, [this.titleNode, this.bind(h("p", { className: "ab-subtitle" }), "ui.subtitle")])
      ]),
      h("div", { className: "ab-tools" }, toolNodes),
      closeButton
    ]);
    this.status = h("div", { className: "ab-status", role: "status" });
    this.log = this.bind(h("div", {
      className: "ab-log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
      tabindex: "0"
    }), "ui.log_label", "aria-label");
    this.typing = h("div", { className: "ab-typing", hidden: true }, [
      h("span", { className: "ab-dots", "aria-hidden": "true" }, [h("span"), h("span"), h("span")]),
      this.bind(h("span", { className: "ab-typing-text" }), "ui.typing")
    ]);
    this.choiceBox = this.bind(h("div", { className: "ab-choices", role: "group", hidden: true }),
      "ui.choices_label", "aria-label");
    this.input = this.bind(h("input", {
      id: uid + "-input", className: "ab-input", type: "text", autocomplete: "off",
      maxlength: String(this.cfg.maxChars || 2000), enterkeyhint: "send", spellcheck: "true"
    }), "ui.placeholder", "placeholder");
    this.form = h("form", {
      className: "ab-form", novalidate: true,
      onsubmit: function (ev) {
        ev.preventDefault();
        var text = self.input.value;
        if (!text.trim()) { self.input.focus(); return; }
        self.input.value = "";
        self.send(text, text, false);
      }
    }, [
      this.bind(h("label", { className: "ab-sr", "for": uid + "-input" }), "ui.input_label"),
      this.input,
      this.bind(h("button", { type: "submit", className: "ab-send" }, [
        icon("send"), this.bind(h("span", { className: "ab-send-text" }), "ui.send")
      ]), "ui.send", "title")
    ]);
    var links = [];
    if (this.cfg.privacyUrl) {
      links.push(this.bind(h("a", { href: this.cfg.privacyUrl, target: "_blank", rel: "noopener" }), "ui.privacy"));
    }
    if (this.cfg.imprintUrl) {
      links.push(this.bind(h("a", { href: this.cfg.imprintUrl, target: "_blank", rel: "noopener" }), "ui.imprint"));
    }
    var note = h("p", { className: "ab-note" }, [this.bind(h("span"), "ui.note")].concat(links));
    this.root = h("section", {
      className: "ab-chat ab-mode-" + this.mode, "aria-labelledby": uid + "-title"
    }, [header, this.status, this.log, this.typing, this.choiceBox, this.form, note]);
    this.applyStrings();
  };

  /* -- rendering ------------------------------------------------------------------------- */

  Chat.prototype.renderAll = function () {
    var self = this;
    while (this.log.firstChild) this.log.removeChild(this.log.firstChild);
    this.entries.forEach(function (e) { self.log.appendChild(self.entryNode(e)); });
    this.renderChoices();
    this.pending.forEach(function (m) { if (!m.silent) self.log.appendChild(m.node = self.entryNode({ who: "user", text: m.display }, true)); });
    this.scroll();
  };

  Chat.prototype.entryNode = function (e, sending) {
    var who = e.who === "user" ? this.t("ui.you") : this.t("ui.bot");
    var bubble = h("div", { className: "ab-bubble" }, [h("span", { className: "ab-sr", text: who + ": " })]);
    var text = h("span", { className: "ab-text" });
    appendText(text, e.text, this.t("ui.new_window"));
    bubble.appendChild(text);
    if (e.qr && /^data:image\/svg\+xml[;,]/.test(e.qr.src)) {
      bubble.appendChild(h("figure", { className: "ab-qr" }, [
        h("img", { src: e.qr.src, alt: e.qr.alt, width: "220", height: "220" }),
        h("figcaption", { text: this.t("ui.qr_caption") })
      ]));
    }
    if (sending) bubble.appendChild(h("span", { className: "ab-state", text: this.t("ui.sending") }));
    return h("div", { className: "ab-row ab-" + e.who, lang: e.lang || null }, [bubble]);
  };

  Chat.prototype.renderChoices = function () {
    var self = this;
    var box = this.choiceBox;
    while (box.firstChild) box.removeChild(box.firstChild);
    this.choices.forEach(function (b) {
      box.appendChild(h("button", {
        type: "button", className: "ab-choice", text: b.title,
        onclick: function () { self.choose(b); }
      }));
    });
    box.hidden = this.choices.length === 0;
  };

  Chat.prototype.scroll = function (instant) {
    var behavior = instant || reducedMotion() ? "auto" : "smooth";
    var log = this.log;
    if (log.scrollHeight > log.clientHeight) log.scrollTo({ top: log.scrollHeight, behavior: behavior });
    /* In short windows the whole page (or the widget's panel) scrolls instead of the log. */
    var outer = this.mode === "widget" ? this.root.parentNode
      : document.scrollingElement || document.documentElement;
    if (outer && outer.scrollHeight > outer.clientHeight + 1) {
      outer.scrollTo({ top: outer.scrollHeight, behavior: behavior });
    }
  };

  Chat.prototype.add = function (entry) {
    this.entries.push(entry);
    if (this.entries.length > MAX_STORED) this.entries.shift();
    this.log.appendChild(this.entryNode(entry));
    this.scroll();
  };

  Chat.prototype.setTyping = function (on) {
    this.typing.hidden = !on;
    if (on) this.scroll();
  };

  Chat.prototype.setStatus = function (state) {
    var self = this;
    clearTimeout(this.timers.status);
    if (state === "offline") {
      this.timers.status = setTimeout(function () {
        self.wasOffline = true;
        self.status.textContent = self.t("ui.offline");
        self.status.className = "ab-status ab-status-offline";
      }, 1500);
    } else if (this.wasOffline) {
      this.wasOffline = false;
      this.status.textContent = this.t("ui.reconnected");
      this.status.className = "ab-status ab-status-ok";
      this.timers.status = setTimeout(function () {
        self.status.textContent = "";
        self.status.className = "ab-status";
      }, 4000);
    }
  };

  /* -- persistence (page and widget only; the kiosk keeps nothing) ----------------------- */

  Chat.prototype.restore = function () {
    if (!this.store) return;
    var data = null;
    try { data = JSON.parse(this.store.getItem(this.storeKey) || "null"); } catch (e) { data = null; }
    if (!data || data.v !== STORE_VERSION) return;
    var maxAge = (this.cfg.historyMinutes || 0) * 60000;
    if (typeof data.sender === "string") this.sender = data.sender;
    if (typeof data.lang === "string" && !this.opts.language) this.lang = data.lang;
    if (Date.now() - (data.updated || 0) <= maxAge && Array.isArray(data.entries)) {
      this.entries = data.entries.filter(function (e) { return e && typeof e.text === "string"; });
      this.choices = Array.isArray(data.choices) ? data.choices : [];
      /* messages not answered before the page was left: sent again, same id, answered once */
      this.pending = (Array.isArray(data.pending) ? data.pending : []).filter(function (m) {
        return m && typeof m.id === "string" && typeof m.text === "string";
      }).map(function (m) {
        return { id: m.id, text: m.text, display: String(m.display || ""), silent: !!m.silent, via: null };
      });
    } else {
      this.sender = null;  /* an old conversation: start a new one */
    }
  };

  Chat.prototype.save = function () {
    if (!this.store) return;
    var keep = (this.cfg.historyMinutes || 0) > 0;
    try {
      this.store.setItem(this.storeKey, JSON.stringify({
        v: STORE_VERSION, sender: this.sender, lang: this.lang, updated: Date.now(),
        entries: keep ? this.entries.map(function (e) {
          return { who: e.who, text: e.text, lang: e.lang };
        }) : [],
        choices: keep ? this.choices : [],
        pending: keep ? this.pending.map(function (m) {
          return { id: m.id, text: m.text, display: m.display, silent: m.silent };
        }) : []
      }));
    } catch (e) { /* storage full or blocked */ }
  };

  /* -- conversation ---------------------------------------------------------------------- */

  /* Connect and greet when the transcript is empty. */
  Chat.prototype.start = function () {
    var self = this;
    if (!this.started) {
      this.started = true;
      this.connect();
      this.timers.fallback = setTimeout(function () {
        if (!self.ready) { self.httpAllowed = true; self.flush(); }
      }, 4000);
      window.addEventListener("online", function () { self.connectNow(); });
    }
    if (this.entries.length === 0 && this.pending.length === 0) this.send("/greet", "", true);
    else if (this.pending.length) { this.setTyping(true); this.flush(); }
  };

  /* Kiosk: start a fresh conversation in `lang`. */
  Chat.prototype.begin = function (lang) {
    this.setLanguage(lang);
    this.start();
  };

  Chat.prototype.send = function (text, display, silent) {
    var msg = { id: randomId(10), text: text, display: display, silent: !!silent, via: null };
    if (!silent) {
      msg.node = this.entryNode({ who: "user", text: display }, true);
      this.log.appendChild(msg.node);
      this.scroll();
    }
    this.choices = [];
    this.renderChoices();
    this.pending.push(msg);
    this.setTyping(true);
    this.activity();
    this.save();
    this.flush();
  };

  Chat.prototype.choose = function (button) {
    this.input.focus();  /* the clicked button disappears; keep the focus in the chat */
    this.send(button.payload, button.title, false);
  };

  Chat.prototype.switchLanguage = function () {
    var next = this.otherLang();
    var label = this.t("ui.other_language");
    this.setLanguage(next);
    this.send('/set_language{"language": "' + next + '"}', label, false);
  };

  Chat.prototype.setLanguage = function (lang) {
    if (lang !== "de" && lang !== "en") return;
    this.lang = lang;
    this.applyStrings();
    if (this.opts.onLanguage) this.opts.onLanguage(lang);
  };

  /* "Neu beginnen" / kiosk "Fertig": abandon the conversation on the server (held slots are
     released), take a new sender id and wipe the screen. */
  Chat.prototype.restart = function () {
    this.reset();
    this.start();
    this.input.focus();
  };

  Chat.prototype.reset = function () {
    var old = this.sender;
    if (old) {
      if (this.ready && this.ws && this.ws.readyState === 1) {
        this.ready = false;
        this.ending = true;  /* the server answers with a new sender id */
        this.ws.send(JSON.stringify({ type: "end" }));
        this.sender = null;
      } else {
        this.post({ type: "end", sender: old, language: this.lang }).catch(function () {});
        this.sender = null;
      }
    }
    this.entries = [];
    this.choices = [];
    this.pending = [];
    this.input.value = "";
    this.setTyping(false);
    this.renderAll();
    this.save();
  };

  Chat.prototype.activity = function () {
    if (this.opts.onActivity) this.opts.onActivity();
  };

  Chat.prototype.onReply = function (id, messages) {
    var self = this;
    if (id !== null && id !== undefined) {
      var msg = this.take(id);
      if (!msg) return;  /* answered already (a repeated delivery) */
      if (msg.node) {
        var state = msg.node.querySelector(".ab-state");
        if (state) state.parentNode.removeChild(state);
        this.entries.push({ who: "user", text: msg.display });
      }
    }
    var list = Array.isArray(messages) ? messages : [];
    list.forEach(function (m) {
      if (!m || typeof m.text !== "string") return;
      if (m.text) self.add({ who: "bot", text: m.text, lang: m.language, qr: m.qr });
      if (Array.isArray(m.buttons) && m.buttons.length) {
        self.choices = m.buttons.filter(function (b) {
          return b && typeof b.title === "string" && typeof b.payload === "string";
        });
      }
    });
    var last = list[list.length - 1];
    if (last && last.language && last.language !== this.lang) this.setLanguage(last.language);
    this.renderChoices();
    this.setTyping(this.pending.length > 0);
    this.scroll();
    this.activity();
    this.save();
  };

  Chat.prototype.onError = function (frame) {
    var msg = frame.id ? this.take(frame.id) : null;
    if (msg && msg.node) {
      var state = msg.node.querySelector(".ab-state");
      if (state) state.textContent = this.t("ui.not_sent");
    }
    if (frame.text) this.add({ who: "note", text: frame.text, lang: this.lang });
    this.setTyping(this.pending.length > 0);
    this.save();
  };

  Chat.prototype.take = function (id) {
    for (var i = 0; i < this.pending.length; i++) {
      if (this.pending[i].id === id) return this.pending.splice(i, 1)[0];
    }
    return null;
  };

  /* -- transport: WebSocket first, HTTP when it is not available ------------------------- */

  Chat.prototype.wsUrl = function () {
    var base = this.base || window.location.origin;
    return base.replace(/^http/, "ws") + "/webchat/ws";
  };

  Chat.prototype.connectNow = function () {
    clearTimeout(this.timers.reconnect);
    this.backoff = 1000;
    if (!this.ws) this.connect();
  };

  Chat.prototype.connect = function () {
    var self = this;
    if (!("WebSocket" in window)) return;
    var ws;
    try { ws = new WebSocket(this.wsUrl()); } catch (e) { this.scheduleReconnect(); return; }
    this.ws = ws;
    ws.onopen = function () {
      ws.send(JSON.stringify({ type: "hello", sender: self.sender, language: self.lang, mode: self.mode }));
    };
    ws.onmessage = function (ev) {
      var frame;
      try { frame = JSON.parse(ev.data); } catch (e) { return; }
      self.onFrame(frame);
    };
    ws.onclose = function () {
      if (self.ws !== ws) return;
      self.ws = null;
      self.ready = false;
      self.ending = false;
      self.httpAllowed = true;
      self.pending.forEach(function (m) { if (m.via === "ws") m.via = null; });
      self.setStatus("offline");
      self.scheduleReconnect();
      self.flush();
    };
  };

  Chat.prototype.scheduleReconnect = function () {
    var self = this;
    clearTimeout(this.timers.reconnect);
    var delay = this.backoff * (0.75 + Math.random() * 0.5);
    this.backoff = Math.min(this.backoff * 2, 30000);
    this.timers.reconnect = setTimeout(function () { self.connect(); }, delay);
  };

  Chat.prototype.onFrame = function (frame) {
    if (frame.type === "ready") {
      if (this.sender && frame.sender !== this.sender && !this.ending && !this.rehello) {
        this.rehello = true;
        /* the HTTP fallback got a sender id meanwhile: continue that conversation */
        this.ws.send(JSON.stringify({ type: "hello", sender: this.sender, language: this.lang, mode: this.mode }));
        return;
      }
      this.ending = false;
      this.sender = frame.sender;
      this.ready = true;
      this.backoff = 1000;
      this.setStatus("ok");
      this.save();
      this.flush();
    } else if (frame.type === "typing") {
      this.setTyping(true);
    } else if (frame.type === "reply") {
      this.onReply(frame.id, frame.messages);
    } else if (frame.type === "error") {
      if (frame.code === "retry" || frame.code === "busy") {
        var self = this;
        this.pending.forEach(function (m) { if (m.id === frame.id) m.via = null; });
        setTimeout(function () { self.flush(); }, 2000);
        return;
      }
      this.onError(frame);
    }
  };

  Chat.prototype.flush = function () {
    var self = this;
    this.pending.forEach(function (m) {
      if (m.via) return;
      if (self.ready && self.ws && self.ws.readyState === 1) {
        m.via = "ws";
        self.ws.send(JSON.stringify({ type: "message", id: m.id, text: m.text, language: self.lang }));
      }
    });
    if (this.httpAllowed && !this.ready && !this.ending && !this.httpBusy) {
      var next = this.pending.filter(function (m) { return !m.via; })[0];
      if (next) this.sendHttp(next);
    }
  };

  Chat.prototype.post = function (body) {
    return fetch(this.base + "/webchat/message", {
      method: "POST", credentials: "omit", keepalive: body.type === "end",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        return { status: r.status, data: data || {} };
      });
    });
  };

  Chat.prototype.sendHttp = function (msg) {
    var self = this;
    this.httpBusy = true;
    msg.via = "http";
    this.post({ sender: this.sender, id: msg.id, text: msg.text, language: this.lang, mode: this.mode })
      .then(function (res) {
        self.httpBusy = false;
        if (res.data && typeof res.data.sender === "string" && !self.sender) {
          self.sender = res.data.sender;
        }
        if (res.status === 200) {
          self.setStatus("ok");
          self.onReply(msg.id, res.data.messages);
        } else if (res.status === 409 || res.status === 503) {
          msg.via = null;
          setTimeout(function () { self.flush(); }, 2000);
          return;
        } else {
          self.onError({ id: msg.id, text: res.data.text || self.t("ui.error_generic") });
        }
        self.flush();
      })
      .catch(function () {
        self.httpBusy = false;
        msg.via = null;
        self.setStatus("offline");  /* retried when the WebSocket is back or on `online` */
        clearTimeout(self.timers.http);
        self.timers.http = setTimeout(function () { self.flush(); }, Math.min(self.backoff, 15000));
      });
  };

  window.AmtsboteChat = {
    create: function (root, options) { return new Chat(root, options); },
    h: h,
    icon: icon,
    format: format,
    usableColor: usableColor,
    storage: storage
  };
})();
