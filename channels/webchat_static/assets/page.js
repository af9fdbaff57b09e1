/* The full-page chat at `/`: reads the server's configuration and mounts the chat. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("amtsbote-config").textContent);
  var root = document.getElementById("amtsbote");
  document.documentElement.style.setProperty("--ab-primary", cfg.primaryColor);
  var chat = window.AmtsboteChat.create(root, {
    config: cfg,
    mode: "page",
    persist: true,
    headingLevel: 1,
    tools: ["lang", "restart"],
    language: new URLSearchParams(window.location.search).get("lang") || null,
    onLanguage: function (lang) {
      document.documentElement.lang = lang;
      document.title = cfg.title[lang] || document.title;
    }
  });
  document.documentElement.lang = chat.lang;
  document.title = cfg.title[chat.lang] || document.title;
  chat.start();
  window.amtsboteChat = chat;
})();
