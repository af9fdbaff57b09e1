/* The kiosk at /kiosk ("Bürgerterminal"): a start screen, large touch targets, and no history
 * for the next person. After `kioskIdleSeconds` without a touch the session ends (a countdown
 * shows for the last `kioskCountdownSeconds`); "Fertig" ends it at once. Ending a session
 * abandons the conversation on the server, takes a new sender id and wipes the screen. */
(function () {
  "use strict";
  var A = window.AmtsboteChat;
  var h = A.h;
  var cfg = JSON.parse(document.getElementById("amtsbote-config").textContent);
  var root = document.getElementById("amtsbote");
  document.documentElement.style.setProperty("--ab-primary", cfg.primaryColor);

  var lang = cfg.language;
  var active = false;
  var lastActivity = Date.now();
  var bindings = [];

  function t(key, params) {
    var text = (cfg.strings[lang] || {})[key] || cfg.strings.de[key] || key;
    return params ? A.format(text, params) : text;
  }

  function bind(node, key, params) {
    bindings.push([node, key, params]);
    return node;
  }

  function applyStrings() {
    bindings.forEach(function (b) {
      b[0].textContent = t(b[1], typeof b[2] === "function" ? b[2]() : b[2]);
    });
    document.documentElement.lang = lang;
    document.title = cfg.title[lang] || document.title;
  }

  /* "2 Minuten" / "2 minutes" (or seconds for a short test setting) in language `code`. */
  function idleTime(code) {
    var secs = cfg.kioskIdleSeconds;
    var strings = cfg.strings[code];
    return secs < 90 ? A.format(strings["kiosk.unit_seconds"], { n: secs })
      : A.format(strings["kiosk.unit_minutes"], { n: Math.round(secs / 60) });
  }

  /* -- start screen: German first, English second ------------------------------------ */
  function dual(tag, key, className, params) {
    return h(tag, { className: className }, ["de", "en"].map(function (code) {
      var text = A.format(cfg.strings[code][key] || key, params ? params(code) : {});
      return h("span", { lang: code, className: "ab-dual-" + code, text: text });
    }));
  }

  var ended = h("div", { className: "ab-kiosk-ended", role: "status" });
  var startButtons = ["de", "en"].map(function (code) {
    return h("button", {
      type: "button", className: "ab-kiosk-lang", lang: code,
      onclick: function () { begin(code); }
    }, [h("span", { className: "ab-kiosk-lang-name", text: code === "de" ? "Deutsch" : "English" }),
        h("span", { className: "ab-kiosk-lang-hint", text: cfg.strings[code]["kiosk.start_button"] })]);
  });
  var start = h("main", { className: "ab-kiosk-start" }, [
    h("div", { className: "ab-kiosk-card" }, [
      h("span", { className: "ab-logo ab-logo-large", "aria-hidden": "true" }, [A.icon("chat")]),
      dual("h1", "kiosk.start_title", "ab-kiosk-title"),
      dual("p", "kiosk.start_lead", "ab-kiosk-lead"),
      dual("p", "kiosk.start_hint", "ab-kiosk-hint"),
      h("div", { className: "ab-kiosk-langs" }, startButtons),
      dual("p", "kiosk.privacy", "ab-kiosk-privacy", function (code) {
        return { time: idleTime(code) };
      }),
      ended
    ])
  ]);

  /* -- chat ---------------------------------------------------------------------------- */
  var chatBox = h("main", { className: "ab-kiosk-chat", hidden: true });
  root.appendChild(start);
  root.appendChild(chatBox);
  var chat = A.create(chatBox, {
    config: cfg,
    mode: "kiosk",
    persist: false,
    headingLevel: 1,
    tools: ["lang", "done"],
    onDone: function () { end(); },
    onActivity: function () { lastActivity = Date.now(); },
    onLanguage: function (code) { lang = code; applyStrings(); }
  });

  /* -- "are you still there?" ---------------------------------------------------------- */
  var seconds = h("span", { className: "ab-countdown-seconds" });
  var countdownText = h("p", { id: "ab-idle-text" });
  var stay = h("button", { type: "button", className: "ab-choice ab-primary-button", onclick: stayHere });
  var dialog = h("div", { className: "ab-overlay", hidden: true }, [
    h("div", {
      className: "ab-dialog", role: "alertdialog", "aria-modal": "true",
      "aria-labelledby": "ab-idle-title", "aria-describedby": "ab-idle-text"
    }, [
      bind(h("h2", { id: "ab-idle-title" }), "kiosk.idle_title"),
      countdownText,
      h("div", { className: "ab-timer", role: "timer", "aria-live": "off" }, [seconds]),
      h("div", { className: "ab-dialog-buttons" }, [
        bind(stay, "kiosk.continue"),
        bind(h("button", { type: "button", className: "ab-choice", onclick: function () { end(); } }),
          "kiosk.end_now")
      ])
    ])
  ]);
  root.appendChild(dialog);

  function begin(code) {
    lang = code;
    while (ended.firstChild) ended.removeChild(ended.firstChild);
    start.hidden = true;
    chatBox.hidden = false;
    active = true;
    lastActivity = Date.now();
    chat.begin(code);
    chat.input.focus();
  }

  function end() {
    active = false;
    dialog.hidden = true;
    chat.reset();
    chatBox.hidden = true;
    lang = cfg.language;
    chat.setLanguage(lang);
    start.hidden = false;
    ended.appendChild(dual("p", "kiosk.ended", "ab-kiosk-ended-text"));
    startButtons[lang === "en" ? 1 : 0].focus();
  }

  function stayHere() {
    lastActivity = Date.now();
    dialog.hidden = true;
    chat.input.focus();
  }

  function tick() {
    if (!active) return;
    var left = Math.ceil(cfg.kioskIdleSeconds - (Date.now() - lastActivity) / 1000);
    if (left <= 0) {
      end();
    } else if (left <= cfg.kioskCountdownSeconds) {
      seconds.textContent = String(left);
      countdownText.textContent = t("kiosk.idle_text", { seconds: left });
      if (dialog.hidden) {
        dialog.hidden = false;
        stay.focus();
      }
    } else if (!dialog.hidden) {
      dialog.hidden = true;
    }
  }

  ["pointerdown", "keydown", "input", "wheel"].forEach(function (type) {
    document.addEventListener(type, function () {
      if (dialog.hidden) lastActivity = Date.now();
    }, true);
  });
  setInterval(tick, 250);

  applyStrings();
  window.amtsboteKiosk = { chat: chat, begin: begin, end: end };
})();
